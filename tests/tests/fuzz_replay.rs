//! Replays every fuzz target's committed corpus (`fuzz/corpus/TARGET/`) and
//! regression files (`tests/fuzz-regressions/TARGET/`) through the same
//! code the fuzzers run (`tern_tests::harness`): deterministic, on stable,
//! in every CI run. A crash the fuzzers once found stays fixed.

use tern_tests::harness::{inputs, TARGETS};
use tern_tests::root;

#[test]
fn corpora_and_regressions_replay_cleanly() {
    // Under an emulator (the aarch64 run) every input would take ten
    // times as long: replay the regressions and a tenth of the corpus
    // there; the native run replays everything.
    let step = if std::env::var_os("TERN_TEST_RUNNER").is_some() {
        10
    } else {
        1
    };
    let mut total = 0;
    for (name, run) in TARGETS {
        for (dir, step) in [
            (root().join("fuzz/corpus").join(name), step),
            (root().join("tests/fuzz-regressions").join(name), 1),
        ] {
            for input in inputs(&dir).into_iter().step_by(step) {
                // (A fuzzer running on the corpus may remove a file meanwhile.)
                let Ok(data) = std::fs::read(&input) else {
                    continue;
                };
                let r = std::panic::catch_unwind(|| run(&data));
                assert!(r.is_ok(), "{name}: {} panicked", input.display());
                total += 1;
            }
        }
    }
    assert!(total > 0, "no corpus found");
}

#[test]
fn generated_programs_compile_and_agree_under_gc_stress() {
    // A fixed spread of inputs, so the generator itself is tested even
    // without a corpus.
    for data in tern_tests::harness::spread(0x9e37_79b9_7f4a_7c15, 300, 200) {
        tern_tests::harness::generated(&data);
    }
}
