//! Whole programs (the golden programs and examples) with compiled and
//! interpreted functions mixed: a seeded subset of functions compiled,
//! the rest refused, so that every transition between the tiers (calls
//! and returns either way, loop entries, exits to the interpreter) is
//! crossed; and fuel cut at many points. The output, the result or trap
//! (kind, message, trace) and the instruction count must be the
//! interpreter's.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tern_vm::jit::{Backend, Exit, Fixed, JitState, Runtime};
use tern_vm::{Host, JitMode, Limits, Program, Value, Vm};

/// The JIT, refusing the functions a seed picks (a hash of the seed and
/// the function's index; seed 0 refuses none).
struct Subset {
    jit: tern_jit::Jit,
    seed: u64,
}

impl Backend for Subset {
    fn compile(&mut self, prog: &Program, func: u32, fixed: &Fixed) -> bool {
        let h = (func as u64 ^ self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61;
        (self.seed == 0 || h % 2 == 0) && self.jit.compile(prog, func, fixed)
    }

    fn enter(&mut self, func: u32, pc: u32, rt: &mut dyn Runtime, state: &mut JitState) -> Exit {
        self.jit.enter(func, pc, rt, state)
    }
}

/// Records every host call (the programs here only print).
struct Record(Arc<Mutex<String>>);

impl Host for Record {
    fn call(&mut self, import: u32, args: Vec<Value>) -> Result<Value, String> {
        let mut out = self.0.lock().unwrap();
        out.push_str(&format!("{import} {args:?}\n"));
        Ok(Value::Unit)
    }
}

/// A program: its path, its code, its arguments and its limits (from
/// `// args:`, `// fuel:`, `// max-depth:`, `// max-heap:` lines).
struct Case {
    path: PathBuf,
    prog: Arc<Program>,
    args: Vec<String>,
    limits: Limits,
}

fn limits_of(source: &str) -> Limits {
    let mut l = Limits {
        count_instructions: true,
        max_depth: 2000,
        max_heap: 64 << 20,
        jit: JitMode::Eager,
        ..Limits::default()
    };
    for line in source.lines() {
        let num = |key: &str| line.trim().strip_prefix(key)?.trim().parse::<u64>().ok();
        if let Some(n) = num("// fuel:") {
            l.fuel = n;
        }
        if let Some(n) = num("// max-depth:") {
            l.max_depth = n as usize;
        }
        if let Some(n) = num("// max-heap:") {
            l.max_heap = n as usize;
        }
    }
    l
}

/// The programs to run: those whose imports all return nothing.
fn programs() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["examples", "tests/golden/run", "tests/golden/runtime_error"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "src"))
            .collect();
        paths.sort();
        for p in paths {
            let Ok(c) = tern_compiler::compile(&p) else {
                continue;
            };
            let m = &c.module;
            if m.entry.is_none() || m.imports.iter().any(|i| i.ret != tern_vm::module::UNIT) {
                continue;
            }
            let source = std::fs::read_to_string(&p).unwrap();
            let args = source
                .lines()
                .find_map(|l| l.trim().strip_prefix("// args:"))
                .map(|a| a.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            let prog = Program::new(c.module).expect("verifies");
            out.push(Case {
                path: p,
                prog: Arc::new(prog),
                args,
                limits: limits_of(&source),
            });
        }
    }
    assert!(out.len() > 20, "found the programs");
    out
}

/// Runs `prog` with `backend` (or none), counted: what it printed, how it
/// ended, and its instruction count.
fn run(case: &Case, backend: Option<Subset>, fuel: u64) -> (String, u64) {
    let out = Arc::new(Mutex::new(String::new()));
    let limits = Limits {
        fuel: fuel.min(case.limits.fuel),
        ..case.limits.clone()
    };
    let prog = Arc::clone(&case.prog);
    let mut vm = Vm::with_host(prog, limits, Box::new(Record(Arc::clone(&out))));
    if let Some(b) = backend {
        vm.set_jit(Box::new(b));
    }
    let r = vm.run_main(&case.args);
    let printed = out.lock().unwrap().clone();
    let n = vm.stats().instructions;
    (format!("{printed}{r:?} after {n} instructions"), n)
}

fn subset(seed: u64) -> Option<Subset> {
    Some(Subset {
        jit: tern_jit::Jit::new(),
        seed,
    })
}

#[test]
fn mixed_tiers_behave_as_the_interpreter() {
    for case in programs() {
        let (want, _) = run(&case, None, u64::MAX);
        for seed in 0..4 {
            let (got, _) = run(&case, subset(seed), u64::MAX);
            assert_eq!(got, want, "{} with seed {seed}", case.path.display());
        }
    }
}

#[test]
fn fuel_runs_out_at_the_same_instruction_in_every_tier() {
    for case in programs() {
        let (_, n) = run(&case, None, u64::MAX);
        if n > 20_000 {
            continue;
        }
        let step = (n / 40).max(1) as usize;
        for fuel in (1..=n + 1).step_by(step) {
            let (want, _) = run(&case, None, fuel);
            for seed in [0, 3] {
                let (got, _) = run(&case, subset(seed), fuel);
                let path = case.path.display();
                assert_eq!(got, want, "{path} with fuel {fuel}, seed {seed}");
            }
        }
    }
}
