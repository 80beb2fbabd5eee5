//! Embedding Tern: loading programs, granting capabilities, running them.
//!
//! This is the minimal host the core toolchain needs, and the one `vmrun`
//! is built on: standard output and standard error are the only
//! capabilities it grants (`stdout.print`, `stdout.println`,
//! `stderr.print`, `stderr.println`). A module that imports anything else
//! is refused before any of its code runs.
//!
//! Exit codes are part of the contract (see `spec/sandbox.md`):
//! [`exit`] lists them.

use std::io::Write;
use std::path::Path;
use tern_vm::{Host, Limits, Program, Value, Vm};

pub use tern_compiler::cli::{exit, io_reason};

/// Why a program could not be loaded, with the exit code it maps to.
#[derive(Debug)]
pub struct LoadFailure {
    pub code: i32,
    /// The full text to show (may be several lines for compile errors).
    pub message: String,
}

/// Loads `path`: a `.bc` file is decoded and verified, a `.src` file is
/// compiled in memory (and verified the same way).
pub fn load_program(path: &Path) -> Result<Program, LoadFailure> {
    let is_src = path.extension().is_some_and(|e| e == "src");
    if is_src {
        let compiled = tern_compiler::compile(path).map_err(|e| LoadFailure {
            code: match e {
                tern_compiler::CompileError::Io(_) => exit::IO_ERROR,
                _ => exit::COMPILE_ERROR,
            },
            message: e.render(),
        })?;
        return Program::new(compiled.module).map_err(|e| LoadFailure {
            code: exit::INVALID_BYTECODE,
            message: format!("error: {}: {e}\n", path.display()),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| LoadFailure {
        code: exit::IO_ERROR,
        message: format!("error: cannot read {}: {}\n", path.display(), io_reason(&e)),
    })?;
    tern_vm::load(&bytes).map_err(|e| LoadFailure {
        code: exit::INVALID_BYTECODE,
        message: format!("error: {}: {e}\n", path.display()),
    })
}

#[derive(Clone, Copy)]
enum Grant {
    Print,
    Println,
    ErrPrint,
    ErrPrintln,
}

/// The standard host: output to two writers.
pub struct StdioHost<'w> {
    grants: Vec<Grant>,
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
}

impl<'w> StdioHost<'w> {
    /// Resolves every import of `program`, or names the ones not granted.
    pub fn new(
        program: &Program,
        out: &'w mut dyn Write,
        err: &'w mut dyn Write,
    ) -> Result<Self, Vec<String>> {
        let mut grants = Vec::new();
        let mut missing = Vec::new();
        for im in &program.module.imports {
            let g = match (im.module.as_str(), im.name.as_str()) {
                ("stdout", "print") => Some(Grant::Print),
                ("stdout", "println") => Some(Grant::Println),
                ("stderr", "print") => Some(Grant::ErrPrint),
                ("stderr", "println") => Some(Grant::ErrPrintln),
                _ => None,
            };
            let shape_ok = im.params == [tern_vm::module::STR] && im.ret == tern_vm::module::UNIT;
            match g {
                Some(g) if shape_ok => grants.push(g),
                _ => missing.push(format!("{}.{}", im.module, im.name)),
            }
        }
        if missing.is_empty() {
            Ok(StdioHost { grants, out, err })
        } else {
            Err(missing)
        }
    }
}

impl Host for StdioHost<'_> {
    fn call(&mut self, import: u32, args: Vec<Value>) -> Result<Value, String> {
        let text = match args.first() {
            Some(Value::Str(s)) => s.as_str(),
            _ => return Err("output functions take one str".into()),
        };
        let r = match self.grants[import as usize] {
            Grant::Print => self.out.write_all(text.as_bytes()),
            Grant::Println => self
                .out
                .write_all(text.as_bytes())
                .and_then(|_| self.out.write_all(b"\n")),
            Grant::ErrPrint => self
                .out
                .flush()
                .and_then(|_| self.err.write_all(text.as_bytes())),
            Grant::ErrPrintln => self
                .out
                .flush()
                .and_then(|_| self.err.write_all(text.as_bytes()))
                .and_then(|_| self.err.write_all(b"\n")),
        };
        // A closed pipe is the reader's choice, not the guest's error.
        match r {
            Ok(()) => Ok(Value::Unit),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Value::Unit),
            Err(e) => Err(format!("output failed: {e}")),
        }
    }
}

/// What a run produced besides its output.
pub struct Outcome {
    pub exit_code: i32,
    pub stats: tern_vm::Stats,
}

/// Runs `main` the way `vmrun` does: output to `out` and `err`, a runtime
/// error printed to `err` with its trace, and the process exit code.
pub fn run_main(
    program: &Program,
    args: &[String],
    limits: Limits,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Outcome {
    let result = {
        let host = match StdioHost::new(program, &mut *out, &mut *err) {
            Ok(h) => h,
            Err(missing) => {
                let _ = writeln!(
                    err,
                    "error: the program needs capabilities this host does not grant: {}",
                    missing.join(", ")
                );
                return Outcome {
                    exit_code: exit::MISSING_CAPABILITY,
                    stats: Default::default(),
                };
            }
        };
        let mut vm = Vm::with_host(program, limits, Box::new(host));
        let r = vm.run_main(args);
        (r, vm.stats())
    };
    let _ = out.flush();
    let (r, stats) = result;
    let exit_code = match r {
        Ok(code) => (code & 0xFF) as i32,
        Err(trap) => {
            let _ = write!(err, "{trap}");
            exit::RUNTIME_ERROR
        }
    };
    let _ = err.flush();
    Outcome { exit_code, stats }
}
