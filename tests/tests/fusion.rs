//! Fusion is invisible: every golden program and example, run as `vmc`
//! writes it (canonical instructions only) and as the VM translates it
//! after verification (with the fused instructions it chooses), prints the
//! same bytes, exits the same way, raises the same errors with the same
//! traces, and counts the same instructions and fuel (which count
//! canonical instructions, `tern_vm::fused`).

use std::path::Path;
use tern_tests::*;
use tern_vm::Limits;

/// The program loaded with or without translation, and how many fused
/// instructions it runs.
fn module(path: &Path, translate: bool) -> Option<(tern_sandbox::Module, usize)> {
    let compiled = tern_compiler::compile(path).ok()?;
    let bytes = tern_vm::encode(&compiled.module);
    let module = tern_vm::decode(&bytes).expect("compiled code decodes");
    let program = if translate {
        tern_vm::Program::new(module)
    } else {
        tern_vm::Program::new_untranslated(module)
    };
    let program = program.expect("compiled code verifies");
    let fused = program
        .module()
        .functions
        .iter()
        .flat_map(|f| &f.code)
        .filter(|i| i.opcode().is_fused())
        .count();
    Some((tern_sandbox::Module::from_program(program), fused))
}

#[test]
fn translated_and_canonical_code_behave_and_count_the_same() {
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut fused_total = 0;
    for folder in ["examples", "tests/golden/run", "tests/golden/runtime_error"] {
        for path in programs(&root().join(folder)) {
            let (Some((canonical, zero)), Some((translated, n))) =
                (module(&path, false), module(&path, true))
            else {
                continue;
            };
            assert_eq!(zero, 0, "{}: vmc wrote fused instructions", path.display());
            fused_total += n;
            let source = std::fs::read_to_string(&path).unwrap();
            let args = program_args(&source);
            let limits = Limits {
                count_instructions: true,
                ..program_limits(&source)
            };
            let a = run_counted(&canonical, &args, limits.clone(), usize::MAX);
            let b = run_counted(&translated, &args, limits, usize::MAX);
            compared += 1;
            if a != b {
                failures.push(format!(
                    "{}:\ncanonical: {}\n{:?}\ntranslated: {}\n{:?}",
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
    assert!(fused_total > 1000, "translation fused only {fused_total}");
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
