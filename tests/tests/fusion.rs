//! Translation is invisible: every golden program and example, run as
//! its canonical instructions one by one (`Program::new_untranslated`)
//! and as the register code the VM translates it to after verification
//! (`tern_vm::internal`), prints the same bytes, exits the same way,
//! raises the same errors with the same traces, and counts the same
//! instructions and fuel (which count canonical instructions), also with
//! a collection at every safepoint. With fuel cut short, both run out at
//! the same canonical instruction: the same trace, line and count.

use std::path::Path;
use tern_tests::*;
use tern_vm::internal::Op;
use tern_vm::Limits;

/// The program loaded with or without translation, and how many of its
/// instructions are register instructions (not canonical ones run as
/// themselves).
fn module(path: &Path, translate: bool) -> Option<(tern_sandbox::Module, usize)> {
    let compiled = tern_compiler::compile(path).ok()?;
    let bytes = tern_vm::encode(&compiled.module);
    let module = tern_vm::decode(&bytes).expect("compiled code decodes");
    let n = module.functions.len() as u32;
    let program = if translate {
        tern_vm::Program::new(module)
    } else {
        tern_vm::Program::new_untranslated(module)
    };
    let program = program.expect("compiled code verifies");
    let registers = (0..n)
        .flat_map(|f| program.ops_of(f))
        .filter(|op| !matches!(op, Op::Stack(_)))
        .count();
    Some((tern_sandbox::Module::from_program(program), registers))
}

#[test]
fn translated_and_canonical_code_behave_and_count_the_same() {
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut registers = 0;
    let mut fuel_cuts = 0;
    for folder in ["examples", "tests/golden/run", "tests/golden/runtime_error"] {
        for path in programs(&root().join(folder)) {
            let (Some((canonical, zero)), Some((translated, n))) =
                (module(&path, false), module(&path, true))
            else {
                continue;
            };
            assert_eq!(
                zero,
                0,
                "{}: translated without translation",
                path.display()
            );
            registers += n;
            let source = std::fs::read_to_string(&path).unwrap();
            let args = program_args(&source);
            let limits = Limits {
                count_instructions: true,
                ..program_limits(&source)
            };
            let a = run_counted(&canonical, &args, limits.clone(), usize::MAX);
            let b = run_counted(&translated, &args, limits.clone(), usize::MAX);
            compared += 1;
            let mut differ =
                |what: String, a: &(Run, tern_vm::Stats), b: &(Run, tern_vm::Stats)| {
                    if a != b {
                        failures.push(format!(
                            "{} ({what}):\ncanonical: {}\n{:?}\ntranslated: {}\n{:?}",
                            path.display(),
                            a.0.render(),
                            a.1,
                            b.0.render(),
                            b.1
                        ));
                    }
                };
            differ("as written".into(), &a, &b);
            // With a collection at every safepoint: the stack maps of the
            // translated code hold what they must (and no slot whose value
            // stayed in a local).
            let stressed = Limits {
                gc_stress: true,
                ..limits.clone()
            };
            let mut c = run_counted(&translated, &args, stressed, usize::MAX);
            c.1.collections = a.1.collections;
            c.1.peak_heap_bytes = a.1.peak_heap_bytes;
            differ("under GC stress".into(), &a, &c);
            // Out of fuel part way, at a few points spread over the run.
            let used = a.1.fuel;
            if limits.fuel == u64::MAX && used > 10 {
                for cut in [used / 3, used / 2 + 7, used - 5] {
                    let limits = Limits {
                        fuel: cut,
                        ..limits.clone()
                    };
                    let a = run_counted(&canonical, &args, limits.clone(), usize::MAX);
                    let b = run_counted(&translated, &args, limits, usize::MAX);
                    differ(format!("fuel {cut}"), &a, &b);
                    fuel_cuts += 1;
                }
            }
        }
    }
    assert!(compared >= 40, "only {compared} programs compared");
    assert!(fuel_cuts >= 100, "only {fuel_cuts} runs out of fuel");
    assert!(
        registers > 1000,
        "translation made only {registers} register instructions"
    );
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
