//! Bad input never panics: mutated source programs get diagnostics, and
//! mutated bytecode (with its checksum fixed up, so the damage reaches the
//! decoder, the verifier and the interpreter) is rejected or runs to a clean
//! result under small limits. Deterministic: a fixed-seed generator.
//! (Coverage-guided fuzzing is a separate, longer-running effort.)

use std::panic::{catch_unwind, AssertUnwindSafe};
use tern_tests::*;
use tern_vm::module::Module;
use tern_vm::verify::{self, WORK_PER_BYTE};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Loads `bytes` and, if they verify, runs them: whether they ran.
fn load_and_run(bytes: &[u8], limits: &tern_vm::Limits) -> bool {
    match tern_sandbox::Module::from_bytes(bytes) {
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
        Ok(p) => {
            run_program(&p, &[], limits.clone());
            true
        }
    }
}

const PIECES: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    ".",
    "..",
    "=",
    "==",
    "+",
    "-",
    "*",
    "/",
    "%",
    "<<",
    "!",
    "&&",
    "fn",
    "let",
    "var",
    "if",
    "else",
    "match",
    "return",
    "=>",
    "_",
    "\"",
    "0",
    "9223372036854775808",
    "1.5",
    "x",
    "self",
    "struct",
    "enum",
    "impl",
    "import",
    "for",
    "in",
    "while",
    "break",
    "->",
    ":",
    "int",
    "[int]",
];

fn mutate_source(src: &str, rng: &mut Rng) -> String {
    let mut s: Vec<char> = src.chars().collect();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(s.len() + 1);
        match rng.below(3) {
            0 if !s.is_empty() => {
                let n = 1 + rng.below(8);
                let end = (at + n).min(s.len());
                s.drain(at.min(s.len())..end);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (k, c) in piece.chars().enumerate() {
                    s.insert(at + k, c);
                }
            }
            _ => s.truncate(at),
        }
    }
    s.into_iter().collect()
}

#[test]
fn mutated_sources_get_diagnostics_not_panics() {
    let dir = std::env::temp_dir().join(format!("tern-robust-src-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(0x7e57_0001);
    let mut compiled = 0;
    for path in programs(&root().join("examples")) {
        let src = std::fs::read_to_string(&path).unwrap();
        for k in 0..100 {
            let text = mutate_source(&src, &mut rng);
            let file = dir.join("m.src");
            std::fs::write(&file, &text).unwrap();
            let r = catch_unwind(|| {
                tern_compiler::compile(&file)
                    .map(|_| ())
                    .map_err(|e| e.render())
            });
            match r {
                Err(_) => panic!(
                    "compiler panicked on mutation {k} of {}:\n{text}",
                    path.display()
                ),
                Ok(Ok(())) => compiled += 1,
                Ok(Err(msg)) => assert!(msg.contains("error"), "{msg}"),
            }
        }
    }
    assert!(compiled > 0, "some mutations should still compile");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mutated_bytecode_is_rejected_or_runs_cleanly() {
    let mut rng = Rng(0x7e57_0002);
    let limits = tern_vm::Limits {
        fuel: 200_000,
        max_heap: 1 << 20,
        max_depth: 200,
        ..Default::default()
    };
    let (mut rejected, mut ran) = (0, 0);
    for path in programs(&root().join("examples")) {
        let good = build(&path);
        for k in 0..300 {
            let mut bytes = good.clone();
            for _ in 0..1 + rng.below(4) {
                let at = tern_vm::format::HEADER_LEN
                    + rng.below(bytes.len() - tern_vm::format::HEADER_LEN);
                bytes[at] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                let n = tern_vm::format::HEADER_LEN
                    + rng.below(bytes.len() - tern_vm::format::HEADER_LEN);
                bytes.truncate(n);
            }
            tern_vm::format::reseal(&mut bytes);
            let r = catch_unwind(AssertUnwindSafe(|| load_and_run(&bytes, &limits)));
            match r {
                Err(_) => panic!("VM panicked on mutation {k} of {}", path.display()),
                Ok(true) => ran += 1,
                Ok(false) => rejected += 1,
            }
        }
    }
    assert!(rejected > 0 && ran > 0, "rejected {rejected}, ran {ran}");
}

/// Replaces one instruction of a valid module with a random instruction
/// (random opcode, small random operands), so that what reaches the
/// verifier is well formed but ill typed in every way the table allows.
#[test]
fn mutated_instructions_are_rejected_or_run_cleanly() {
    let mut rng = Rng(0x7e57_0033);
    let limits = tern_vm::Limits {
        fuel: 100_000,
        max_heap: 1 << 20,
        max_depth: 100,
        ..Default::default()
    };
    let ops = tern_vm::Opcode::ALL;
    let (mut rejected, mut ran) = (0, 0);
    for path in programs(&root().join("examples")) {
        let good = tern_vm::decode(&build(&path)).unwrap();
        for k in 0..200 {
            let mut m = good.clone();
            let f = rng.below(m.functions.len());
            let code = &mut m.functions[f].code;
            if rng.below(3) == 0 && code.len() > 1 {
                // A second change in the same function: pairs that each
                // verify alone can fail together.
                let other = rng.below(code.len());
                let with = rng.below(code.len());
                code.swap(other, with);
            }
            let at = rng.below(code.len());
            let op = ops[rng.below(ops.len())];
            let mut bytes = vec![op as u8];
            for _ in 1..op.encoded_len() {
                // Mostly small operands, so indices are often in range.
                bytes.push(if rng.below(4) == 0 {
                    rng.next() as u8
                } else {
                    rng.below(6) as u8
                });
            }
            let mut ins = tern_vm::Instr::decode(&bytes).unwrap();
            if let Some(t) = ins.target_mut() {
                *t = rng.below(code.len() + 2) as u32;
            }
            code[at] = ins;
            let bytes = tern_vm::encode(&m);
            let r = catch_unwind(AssertUnwindSafe(|| load_and_run(&bytes, &limits)));
            match r {
                Err(_) => panic!(
                    "VM panicked on instruction mutation {k} of {} ({:?} in function {f})",
                    path.display(),
                    ins
                ),
                Ok(true) => ran += 1,
                Ok(false) => rejected += 1,
            }
        }
    }
    assert!(rejected > 0 && ran > 0, "rejected {rejected}, ran {ran}");
}

/// The verifier's work budget ([`WORK_PER_BYTE`] units per byte of a
/// function) must leave a wide margin for compiled code: no function of
/// any example, golden or benchmark program uses more than an eighth of
/// it.
#[test]
fn compiled_programs_use_a_small_part_of_the_verification_budget() {
    let root = root();
    let mut peak = (0.0f64, String::new());
    for dir in [
        "examples",
        "tests/golden/run",
        "tests/golden/runtime_error",
        "benches/programs",
        "benches/programs/style2",
    ] {
        for path in programs(&root.join(dir)) {
            let Ok(c) = tern_compiler::compile(&path) else {
                continue;
            };
            let (r, stats) = verify::verify_with_stats(&c.module);
            assert!(r.is_ok(), "{} does not verify", path.display());
            let per_byte = stats.peak_work_per_byte();
            if per_byte > peak.0 {
                peak = (per_byte, path.display().to_string());
            }
        }
    }
    assert!(peak.0 > 0.0, "no program measured");
    assert!(
        peak.0 <= WORK_PER_BYTE as f64 / 8.0,
        "{} uses {:.1} units per byte of a function",
        peak.1,
        peak.0
    );
}

/// The benchmark suite written a second time, in another style
/// (`benches/programs/style2/`: while loops, named constants, helper
/// functions and methods), prints exactly what the first style prints, so
/// the second style cannot rot. Both run at full size: about 6 s in the
/// test profile.
#[test]
fn second_style_benchmarks_print_what_the_first_style_prints() {
    let first = root().join("benches/programs");
    let second = programs(&first.join("style2"));
    assert_eq!(
        second.len(),
        programs(&first).len(),
        "one second-style program for each benchmark"
    );
    for path in second {
        let want = run_source(&first.join(path.file_name().unwrap()), false);
        assert_eq!(want.exit, 0, "{}", want.stderr);
        let got = run_source(&path, false);
        assert_eq!(got, want, "{} differs from the first style", path.display());
    }
}

/// Verifies `m` (whose only function is `main`), checking that the work
/// counted stayed within the budget; the result and the work per byte.
fn verify_counted(m: &Module) -> (Result<(), String>, f64) {
    let (r, stats) = verify::verify_with_stats(m);
    let bytes = tern_vm::format::encoded_function_len(&m.functions[0]) as u64;
    assert_eq!(stats.budget(), WORK_PER_BYTE * bytes);
    assert!(stats.work() <= stats.budget());
    (
        r.map(|_| ()).map_err(|e| e.to_string()),
        stats.work() as f64 / bytes as f64,
    )
}

/// Hostile functions near the format's limits: verification work stays
/// within the budget, linear in the function's size, and each is either
/// accepted or rejected with the error the spec documents. The shapes that
/// cost the old verifier time quadratic or cubic in their size (many
/// locals times long chains of jumps) are accepted at a small fraction of
/// the budget; the shapes no analysis can do in linear time are stopped by
/// the budget or by the memory cap.
#[test]
fn verification_work_is_linear_in_the_size_of_hostile_functions() {
    let too_complex = "verification failed in function 0 ('main') at offset";
    let over_budget = format!(
        "function is too complex to verify (it needs more than {{}} units of verification work, {WORK_PER_BYTE} per byte of the function)"
    );
    let over_budget =
        |bytes: usize| over_budget.replace("{}", &(WORK_PER_BYTE * bytes as u64).to_string());
    let main_bytes = |m: &Module| tern_vm::format::encoded_function_len(&m.functions[0]);

    // The shape and size (0.52 MB, 4.7 s before): 128 locals, a
    // long chain of jumps revisited once per local by a last-in, first-out
    // worklist. In reverse post-order it is one pass.
    let m = hostile::ladder(128, 128, 103_000);
    assert!(tern_vm::encode(&m).len() > 500_000);
    let (r, per_byte) = verify_counted(&m);
    assert_eq!(r, Ok(()));
    assert!(per_byte < 12.0, "{per_byte} units per byte");

    // The most locals a function may have, initialized, then 2,000 jumps:
    // 1,024 words of state at each.
    let (r, per_byte) = verify_counted(&hostile::chain(65_535, 2_000));
    assert_eq!(r, Ok(()));
    assert!(per_byte < 12.0, "{per_byte} units per byte");

    // 800,000 jumps (4 MB of code) with 64 locals: the fixed cost of a
    // block.
    let (r, per_byte) = verify_counted(&hostile::chain(64, 800_000));
    assert_eq!(r, Ok(()));
    assert!(per_byte < 12.0, "{per_byte} units per byte");

    // 60,000 strings in locals, mapped at 100 safepoints.
    let (r, per_byte) = verify_counted(&hostile::many_refs(60_000, 100));
    assert_eq!(r, Ok(()));
    assert!(per_byte < 12.0, "{per_byte} units per byte");

    // Irreducible loops that make the analysis go round once per local:
    // 2,000 rounds of a chain of 50,000 jumps, stopped by the budget.
    let m = hostile::stairs(2_000, 50_000);
    let (r, per_byte) = verify_counted(&m);
    let e = r.unwrap_err();
    assert!(e.starts_with(too_complex), "{e}");
    assert!(e.ends_with(&over_budget(main_bytes(&m))), "{e}");
    assert!(per_byte > WORK_PER_BYTE as f64 - 1.0);

    // The deepest stack, kept at 1,000 merge points: stopped by the
    // budget before the memory cap.
    let m = hostile::deep_stack(65_000, 1_000);
    let (r, _) = verify_counted(&m);
    let e = r.unwrap_err();
    assert!(e.ends_with(&over_budget(main_bytes(&m))), "{e}");

    // The most locals, and a jump every 5 bytes of a megabyte of code:
    // stopped by the memory cap on the states kept.
    let (r, _) = verify_counted(&hostile::chain(65_535, 200_000));
    let e = r.unwrap_err();
    assert!(
        e.ends_with(
            "function is too complex to verify (too many branches times stack and local slots)"
        ),
        "{e}"
    );
}

/// Translation after verification is linear in the code too: a function
/// that keeps a deep stack while a megabyte of instructions that run as
/// themselves goes by loads in well under a second (quadratic work,
/// 50,000 stack slots at each of 150,000 instructions, would take
/// minutes).
#[test]
fn translation_work_does_not_grow_with_the_stack_at_each_instruction() {
    let m = hostile::deep_stack_ops(50_000, 150_000);
    assert!(tern_vm::encode(&m).len() > 1_000_000);
    let start = std::time::Instant::now();
    let p = tern_vm::Program::new(m);
    let took = start.elapsed();
    assert!(p.is_ok(), "{:?}", p.err());
    assert!(took.as_secs_f64() < 10.0, "{took:?}");
}

/// A frame larger than the register instructions can name (65,535 locals
/// and an operand stack: more than 2^16 slots) runs as canonical code, and
/// runs right: its last local and its operand stack above every local.
#[test]
fn a_frame_too_large_for_register_slots_runs_as_canonical_code() {
    use tern_vm::module::INT;
    use tern_vm::Instr::*;
    let code = vec![
        Const { index: 0 },
        Store { local: 65_534 },
        Load { local: 65_534 },
        Load { local: 65_534 },
        IMul {},
        Const { index: 0 },
        IAdd {},
        Store { local: 65_533 },
        Load { local: 65_533 },
        Ret {},
    ];
    let mut m = hostile::module_with(vec![INT; 65_535], code);
    m.consts = vec![tern_vm::module::Const::Int(7)];
    m.functions[0].ret = INT;
    let program = tern_vm::Program::new(m).expect("verifies");
    assert!(program
        .ops_of(0)
        .iter()
        .all(|op| matches!(op, tern_vm::internal::Op::Stack(_))));
    let module = tern_sandbox::Module::from_program(program);
    let (run, _) = run_counted(&module, &[], tern_vm::Limits::default(), 1 << 10);
    assert_eq!(run.exit, 56, "{}", run.stderr);
}

/// Inlining stays within a few times the code's size: a module whose main
/// calls a callee of 120 instructions at each of 100,000 call sites (2
/// instructions each) loads into at most five times its instructions.
#[test]
fn inlining_keeps_translation_linear_in_the_code() {
    use tern_vm::module::INT;
    use tern_vm::Instr::*;
    let mut leaf = vec![tern_vm::Instr::Const { index: 0 }];
    for _ in 0..59 {
        leaf.extend([tern_vm::Instr::Const { index: 0 }, IAdd {}]);
    }
    leaf.push(Ret {});
    let calls = 100_000;
    let mut main = Vec::new();
    for _ in 0..calls {
        main.extend([Call { func: 1 }, Pop {}]);
    }
    main.push(Ret {});
    let mut m = hostile::module_with(vec![], main);
    m.consts = vec![tern_vm::module::Const::Int(7)];
    let mut f = m.functions[0].clone();
    f.name = "leaf".into();
    f.ret = INT;
    f.code = leaf;
    m.functions.push(f);
    let canonical: usize = m.functions.iter().map(|f| f.code.len()).sum();
    let start = std::time::Instant::now();
    let program = tern_vm::Program::new(m).expect("verifies");
    assert!(start.elapsed().as_secs_f64() < 10.0);
    let ops = program.ops_of(0).len() + program.ops_of(1).len();
    assert!(
        ops <= 5 * canonical,
        "{ops} internal for {canonical} canonical"
    );
    // Some calls were inlined, and the rest are calls.
    let entered = program
        .ops_of(0)
        .iter()
        .filter(|op| matches!(op, tern_vm::internal::Op::Enter { .. }))
        .count();
    assert!(entered > 0 && entered < calls, "{entered}");
    let module = tern_sandbox::Module::from_program(program);
    let (run, _) = run_counted(&module, &[], tern_vm::Limits::default(), 1 << 10);
    assert_eq!(run.exit, 0, "{}", run.stderr);
}
