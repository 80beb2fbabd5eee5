//! Fusion is invisible: every golden program and example, compiled with
//! fused instructions and without (every instruction canonical), prints
//! the same bytes, exits the same way, raises the same errors with the
//! same traces, and counts the same instructions and fuel (which count
//! canonical instructions, `tern_vm::fused`).

use std::path::Path;
use tern_compiler::codegen::Options;
use tern_compiler::driver::{compile_with_options, FsLoader};
use tern_tests::*;
use tern_vm::Limits;

fn module(path: &Path, fuse: bool) -> Option<(tern_sandbox::Module, usize)> {
    let compiled = compile_with_options(path, &FsLoader, Options { fuse }).ok()?;
    let fused = compiled
        .module
        .functions
        .iter()
        .flat_map(|f| &f.code)
        .filter(|i| i.opcode().is_fused())
        .count();
    let bytes = tern_vm::encode(&compiled.module);
    let program = tern_vm::load(&bytes).expect("compiled code verifies");
    Some((tern_sandbox::Module::from_program(program), fused))
}

#[test]
fn fused_and_canonical_code_behave_and_count_the_same() {
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut fused_total = 0;
    for folder in ["examples", "tests/golden/run", "tests/golden/runtime_error"] {
        for path in programs(&root().join(folder)) {
            let (Some((fused, n)), Some((canonical, zero))) =
                (module(&path, true), module(&path, false))
            else {
                continue;
            };
            assert_eq!(
                zero,
                0,
                "{}: fused instructions without fusion",
                path.display()
            );
            fused_total += n;
            let source = std::fs::read_to_string(&path).unwrap();
            let args = program_args(&source);
            let limits = Limits {
                count_instructions: true,
                ..program_limits(&source)
            };
            let a = run_counted(&fused, &args, limits.clone(), usize::MAX);
            let b = run_counted(&canonical, &args, limits, usize::MAX);
            compared += 1;
            if a != b {
                failures.push(format!(
                    "{}:\nfused: {}\n{:?}\ncanonical: {}\n{:?}",
                    path.display(),
                    a.0.render(),
                    a.1,
                    b.0.render(),
                    b.1
                ));
            }
        }
    }
    assert!(compared >= 40, "only {compared} programs compared");
    assert!(
        fused_total > 1000,
        "the fused builds fused only {fused_total}"
    );
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
