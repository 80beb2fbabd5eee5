//! Shared helpers for the workspace-level tests: find the golden programs,
//! run them exactly as `vmrun` would (in process, output captured), and
//! render a run as the text a snapshot holds.

pub mod gen;
pub mod harness;
pub mod hostile;
pub mod structural;

use std::path::{Path, PathBuf};
use tern_vm::Limits;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Program entry files under `dir`: each `*.src` directly in it, and the
/// `main.src` of each subfolder (a multi-file program).
pub fn programs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            let main = p.join("main.src");
            if main.exists() {
                out.push(main);
            }
        } else if p.extension().is_some_and(|e| e == "src") {
            out.push(p);
        }
    }
    out
}

/// A snapshot name for a program: `folder__stem` or `folder__sub`.
pub fn snapshot_name(path: &Path) -> String {
    let stem = path.file_stem().unwrap().to_string_lossy().to_string();
    let parent = path.parent().unwrap();
    let pname = parent.file_name().unwrap().to_string_lossy().to_string();
    if stem == "main" {
        let grand = parent
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        format!("{grand}__{pname}")
    } else {
        format!("{pname}__{stem}")
    }
}

/// Arguments a program asks for in a `// args: a b c` line.
pub fn program_args(source: &str) -> Vec<String> {
    source
        .lines()
        .find_map(|l| l.trim().strip_prefix("// args:"))
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub exit: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The snapshot form of a run.
    pub fn render(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.exit, self.stdout, self.stderr
        )
    }
}

/// Limits a program asks for in `// max-heap: N`, `// max-depth: N` or
/// `// fuel: N` lines (the same limits `vmrun` takes as flags).
pub fn program_limits(source: &str) -> Limits {
    let mut l = Limits::default();
    for line in source.lines() {
        let line = line.trim();
        let num = |key: &str| {
            line.strip_prefix(key)
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let Some(n) = num("// max-heap:") {
            l.max_heap = n as usize;
        }
        if let Some(n) = num("// max-depth:") {
            l.max_depth = n as usize;
        }
        if let Some(n) = num("// fuel:") {
            l.fuel = n;
        }
    }
    l
}

/// Runs a loaded program as vmrun does (granting only standard output and
/// error), with the output captured.
pub fn run_program(module: &tern_sandbox::Module, args: &[String], limits: Limits) -> Run {
    run_captured(module, args, limits, usize::MAX)
}

/// [`run_program`] with at most `output_limit` bytes of output captured
/// (more is a runtime error of the program).
pub fn run_captured(
    module: &tern_sandbox::Module,
    args: &[String],
    limits: Limits,
    output_limit: usize,
) -> Run {
    run_counted(module, args, limits, output_limit).0
}

/// [`run_captured`], also returning the instance's statistics (instruction
/// counts are kept if `limits` ask for them).
pub fn run_counted(
    module: &tern_sandbox::Module,
    args: &[String],
    limits: Limits,
    output_limit: usize,
) -> (Run, tern_vm::Stats) {
    run_with_input(module, args, limits, output_limit, Vec::new())
}

/// [`run_counted`] with `input` as the program's standard input.
pub fn run_with_input(
    module: &tern_sandbox::Module,
    args: &[String],
    limits: Limits,
    output_limit: usize,
    input: Vec<u8>,
) -> (Run, tern_vm::Stats) {
    let mut linker = tern_sandbox::Linker::new();
    linker
        .stdin(tern_sandbox::Input::Bytes(input))
        .stdout(tern_sandbox::Output::Capture)
        .stderr(tern_sandbox::Output::Capture)
        .output_limit(output_limit);
    let mut instance = match linker.instantiate(module, limits) {
        Ok(i) => i,
        Err(e) => {
            let run = Run {
                exit: e.exit_code(),
                stdout: String::new(),
                stderr: tern_sandbox::report(&e),
            };
            return (run, tern_vm::Stats::default());
        }
    };
    let r = instance.run_main(args);
    let stdout = instance.take_stdout();
    let mut stderr = instance.take_stderr();
    let exit = match r {
        Ok(code) => (code & 0xFF) as i32,
        Err(e) => {
            stderr.push_str(&tern_sandbox::report(&e));
            e.exit_code()
        }
    };
    let run = Run {
        exit,
        stdout,
        stderr,
    };
    (run, instance.stats())
}

/// Compiles and runs a source program as `vmrun app.src` does.
pub fn run_source(path: &Path, gc_stress: bool) -> Run {
    run_source_in(
        path,
        Mode {
            gc_stress,
            ..Mode::default()
        },
    )
    .0
}

/// How a program is run: the JIT's mode, the collector's, and whether
/// instructions are counted (which makes the instance metered).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    pub jit: tern_vm::JitMode,
    pub gc_stress: bool,
    pub counted: bool,
}

impl Mode {
    /// Every way the golden tests run a program: each must print the
    /// same bytes, exit the same and (counted) count the same
    /// instructions as the interpreter alone.
    pub fn all() -> Vec<Mode> {
        use tern_vm::JitMode::*;
        let mut out = Vec::new();
        for (jit, gc_stress) in [(Off, false), (On, false), (Eager, false), (Eager, true)] {
            for counted in [false, true] {
                out.push(Mode {
                    jit,
                    gc_stress,
                    counted,
                });
            }
        }
        out
    }
}

/// [`run_source`] in `mode`, with the instance's statistics.
pub fn run_source_in(path: &Path, mode: Mode) -> (Run, tern_vm::Stats) {
    let source = std::fs::read_to_string(path).unwrap_or_default();
    let args = program_args(&source);
    let limits = Limits {
        gc_stress: mode.gc_stress,
        count_instructions: mode.counted,
        jit: mode.jit,
        ..program_limits(&source)
    };
    let input = program_input(path);
    let (mut run, stats) = match tern_sandbox::Module::from_file(path) {
        Ok(m) => run_with_input(&m, &args, limits, usize::MAX, input),
        Err(e) => (
            Run {
                exit: e.exit_code(),
                stdout: String::new(),
                stderr: tern_sandbox::report(&e),
            },
            tern_vm::Stats::default(),
        ),
    };
    run.stderr = beside(path, &run.stderr);
    (run, stats)
}

/// A program's standard input: the file beside it named `.stdin` (as
/// `vmrun app.src < app.stdin`), or nothing.
pub fn program_input(path: &Path) -> Vec<u8> {
    std::fs::read(path.with_extension("stdin")).unwrap_or_default()
}

/// `text` with the directory of `path` taken out of the file names in it:
/// diagnostics and traces name files as the path was given, and expected
/// outputs name them as `vmrun app.src` run in their folder would.
pub fn beside(path: &Path, text: &str) -> String {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            text.replace(&format!("{}/", dir.display()), "")
        }
        _ => text.to_string(),
    }
}

/// Compiles a program to `.bc` bytes.
pub fn build(path: &Path) -> Vec<u8> {
    match tern_compiler::compile(path) {
        Ok(mut c) => {
            for name in &mut c.module.sources {
                *name = beside(path, name);
            }
            tern_vm::encode(&c.module)
        }
        Err(e) => panic!("{} does not compile:\n{}", path.display(), e.render()),
    }
}
