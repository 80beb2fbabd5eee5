//! Fusion is invisible: every golden program and example, compiled with
//! fused instructions and without (every instruction canonical), and the
//! canonical build run with the VM's translation (which fuses after
//! verification) and without, prints the same bytes, exits the same way,
//! raises the same errors with the same traces, and counts the same
//! instructions and fuel (which count canonical instructions,
//! `tern_vm::fused`).

use std::path::Path;
use tern_compiler::codegen::Options;
use tern_compiler::driver::{compile_with_options, FsLoader};
use tern_tests::*;
use tern_vm::Limits;

/// The program compiled with or without fusion, loaded with or without
/// translation, and how many fused instructions the compiler emitted.
fn module(path: &Path, fuse: bool, translate: bool) -> Option<(tern_sandbox::Module, usize)> {
    let compiled = compile_with_options(path, &FsLoader, Options { fuse }).ok()?;
    let fused = compiled
        .module
        .functions
        .iter()
        .flat_map(|f| &f.code)
        .filter(|i| i.opcode().is_fused())
        .count();
    let bytes = tern_vm::encode(&compiled.module);
    let module = tern_vm::decode(&bytes).expect("compiled code decodes");
    let program = if translate {
        tern_vm::Program::new(module)
    } else {
        tern_vm::Program::new_untranslated(module)
    };
    let program = program.expect("compiled code verifies");
    Some((tern_sandbox::Module::from_program(program), fused))
}

#[test]
fn fused_and_canonical_code_behave_and_count_the_same() {
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut fused_total = 0;
    for folder in ["examples", "tests/golden/run", "tests/golden/runtime_error"] {
        for path in programs(&root().join(folder)) {
            let (Some((fused, n)), Some((canonical, zero)), Some((translated, _))) = (
                module(&path, true, false),
                module(&path, false, false),
                module(&path, false, true),
            ) else {
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
            let b = run_counted(&canonical, &args, limits.clone(), usize::MAX);
            let c = run_counted(&translated, &args, limits, usize::MAX);
            compared += 1;
            for (what, other) in [("canonical", &b), ("translated", &c)] {
                if a != *other {
                    failures.push(format!(
                        "{}:\nfused by the compiler: {}\n{:?}\n{what}: {}\n{:?}",
                        path.display(),
                        a.0.render(),
                        a.1,
                        other.0.render(),
                        other.1
                    ));
                }
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
