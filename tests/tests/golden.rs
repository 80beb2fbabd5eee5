//! Golden tests: every program in `examples/` and `tests/golden/*/` is run
//! and its exit code, stdout and stderr compared with the snapshot in
//! `tests/golden/snapshots/`. Each one runs again in every mode
//! ([`Mode::all`]: the JIT off, on and eager, the collector in stress mode
//! with every function compiled, each counted and not) and must print the
//! same bytes, exit the same and, counted, count the same instructions
//! and fuel units.
//!
//! Bless new or changed snapshots with `INSTA_UPDATE=always cargo test -p
//! tern-tests --test golden`, then review the `.snap` files.

use std::path::Path;
use tern_tests::*;

fn check_folder(folder: &Path) {
    let programs = programs(folder);
    assert!(!programs.is_empty(), "no programs in {}", folder.display());
    let mut failures = Vec::new();
    for path in programs {
        let name = snapshot_name(&path);
        let normal = run_source(&path, false);
        let text = normal.render();
        let snap = std::panic::catch_unwind(|| {
            insta::with_settings!({
                snapshot_path => root().join("tests/golden/snapshots"),
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(name.as_str(), text);
            });
        });
        if snap.is_err() {
            failures.push(format!("{name}: differs from its snapshot"));
            continue;
        }
        let counted = Mode {
            jit: tern_vm::JitMode::Off,
            counted: true,
            gc_stress: false,
        };
        let (_, want) = run_source_in(&path, counted);
        for mode in Mode::all() {
            let (run, stats) = run_source_in(&path, mode);
            if run != normal {
                failures.push(format!(
                    "{name}: differs in {mode:?}:\n{}\nversus\n{}",
                    normal.render(),
                    run.render()
                ));
            } else if mode.counted
                && (stats.instructions, stats.fuel) != (want.instructions, want.fuel)
            {
                failures.push(format!(
                    "{name}: {} instructions and {} fuel units in {mode:?}, {} and {} interpreted",
                    stats.instructions, stats.fuel, want.instructions, want.fuel
                ));
            } else if !mode.gc_stress && heap_stats(&stats) != heap_stats(&want) {
                // Compiled code allocates some objects itself: it must
                // account for them, and collect, as the interpreter does.
                failures.push(format!(
                    "{name}: heap {:?} in {mode:?}, {:?} interpreted",
                    heap_stats(&stats),
                    heap_stats(&want)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Collections, bytes allocated and the peak heap.
fn heap_stats(s: &tern_vm::Stats) -> (u64, u64, u64) {
    (s.collections, s.allocated_bytes, s.peak_heap_bytes)
}

#[test]
fn examples() {
    check_folder(&root().join("examples"));
}

#[test]
fn run_programs() {
    check_folder(&root().join("tests/golden/run"));
}

#[test]
fn compile_errors() {
    check_folder(&root().join("tests/golden/compile_error"));
}

#[test]
fn runtime_errors() {
    check_folder(&root().join("tests/golden/runtime_error"));
}
