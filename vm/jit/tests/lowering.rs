//! The first stage's functions, compiled from Tern source: the machine
//! code must compute what the interpreter does (run here on x86-64 hosts,
//! and on aarch64 under qemu), and assemble for the other architecture.

use std::path::Path;
use tern_vm::Program;

/// The program of `src`, and the index of its function `name`.
fn function(src: &str, name: &str) -> (Program, u32) {
    let path = Path::new("jit.src");
    let compiled = tern_compiler::compile_with(path, &tern_compiler::OneFile { path, text: src })
        .unwrap_or_else(|_| panic!("compiles"));
    let program = Program::new(compiled.module).expect("verifies");
    let f = program
        .module()
        .functions
        .iter()
        .position(|f| f.name == name)
        .expect("the function") as u32;
    (program, f)
}

const SUM: &str = "
fn sum(n: int) -> int {
    var s = 0;
    for i in 0..n {
        s = s + i * 3 - (i ^ 5);
    }
    return s;
}
fn main() { println(str(sum(10))); }
";

fn sum(n: i64) -> i64 {
    (0..n).fold(0i64, |s, i| {
        s.wrapping_add(i.wrapping_mul(3)).wrapping_sub(i ^ 5)
    })
}

const COLLATZ: &str = "
fn steps(n: int) -> int {
    var x = n;
    var k = 0;
    while x != 1 {
        if x & 1 == 0 { x = x / 2; } else { x = 3 * x + 1; }
        k += 1;
    }
    return k;
}
fn main() { println(str(steps(27))); }
";

#[test]
fn integer_loops_compile_for_both_machines() {
    let (p, f) = function(SUM, "sum");
    let ops = p.ops_of(f);
    assert!(tern_jit::lowerable(ops));
    let x64 = tern_jit::x64::assemble(ops, p.start_of(f)).expect("x86-64 code");
    let a64 = tern_jit::aarch64::assemble(ops, p.start_of(f)).expect("aarch64 code");
    assert!(!x64.is_empty() && !a64.is_empty());
    assert_eq!(a64.len() % 4, 0, "aarch64 instructions are 4 bytes");
}

#[test]
fn compiled_code_computes_what_the_interpreter_does() {
    let (p, f) = function(SUM, "sum");
    let code = tern_jit::compile(p.ops_of(f), p.start_of(f));
    if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        // A host the JIT does not target.
        assert!(code.is_none());
        return;
    }
    let code = code.expect("compiled for this host");
    for n in [0i64, 1, 2, 10, 1000, -5] {
        let mut frame = vec![0u64; 64];
        frame[0] = n as u64;
        let exit = code.run(&mut frame).expect("the frame is large enough");
        assert_ne!(exit, tern_jit::UNIT);
        assert_eq!(frame[exit as usize] as i64, sum(n), "sum({n})");
    }
    // A frame shorter than the slots the code uses is refused.
    assert_eq!(code.run(&mut [0u64; 1]), None);
}

#[test]
fn functions_outside_the_subset_are_not_compiled() {
    // Division can trap (by zero): not compiled yet.
    let (p, f) = function(COLLATZ, "steps");
    assert!(!tern_jit::lowerable(p.ops_of(f)));
    assert!(tern_jit::compile(p.ops_of(f), p.start_of(f)).is_none());
    assert!(tern_jit::x64::assemble(p.ops_of(f), p.start_of(f)).is_none());
}

const FLOATS: &str = "
fn classify(a: float, b: float) -> int {
    var r = 0;
    if a < b { r = r + 1; }
    if a <= b { r = r + 2; }
    if a > b { r = r + 4; }
    if a >= b { r = r + 8; }
    if a == b { r = r + 16; }
    if a != b { r = r + 32; }
    if !(a < b) { r = r + 64; }
    if !(a <= b) { r = r + 128; }
    if !(a > b) { r = r + 256; }
    if !(a >= b) { r = r + 512; }
    return r;
}
fn madd(a: float, b: float, c: float) -> float { return a * b + c; }
fn msub(a: float, b: float, c: float) -> float { return a * b - c; }
fn rsub(a: float, b: float, c: float) -> float { return c - a * b; }
fn horner(n: int, x: float, s0: float) -> float {
    var s = s0;
    var i = 0;
    while i < n {
        s = s * x + float(i);
        i += 1;
    }
    return s / x;
}
fn main() {}
";

// `!(a < b)` is meant: with a NaN it is true.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn classify(a: f64, b: f64) -> i64 {
    let bits = [
        a < b,
        a <= b,
        a > b,
        a >= b,
        a == b,
        a != b,
        !(a < b),
        !(a <= b),
        !(a > b),
        !(a >= b),
    ];
    bits.iter().enumerate().map(|(k, &b)| (b as i64) << k).sum()
}

/// Runs `name` of `FLOATS` on `args` (ints and floats as their bits).
fn run_float(name: &str, args: &[u64]) -> Option<u64> {
    let (p, f) = function(FLOATS, name);
    assert!(tern_jit::lowerable(p.ops_of(f)), "{name}");
    assert!(tern_jit::aarch64::assemble(p.ops_of(f), p.start_of(f)).is_some());
    assert!(tern_jit::x64::assemble(p.ops_of(f), p.start_of(f)).is_some());
    let code = tern_jit::compile(p.ops_of(f), p.start_of(f))?;
    let mut frame = vec![0u64; 64];
    frame[..args.len()].copy_from_slice(args);
    let exit = code.run(&mut frame).expect("the frame is large enough");
    Some(frame[exit as usize])
}

#[test]
fn float_comparisons_follow_ieee_with_nan_and_signed_zeros() {
    let values = [
        0.0,
        -0.0,
        1.0,
        -1.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
    ];
    for &a in &values {
        for &b in &values {
            let Some(got) = run_float("classify", &[a.to_bits(), b.to_bits()]) else {
                return;
            };
            assert_eq!(got as i64, classify(a, b), "classify({a}, {b})");
        }
    }
}

#[test]
fn multiply_add_rounds_twice_never_fused() {
    // 0.1 * 10.0 rounds to exactly 1.0: a fused multiply-add (one
    // rounding) would leave 5.551115123125783e-17.
    let cases = [
        (0.1, 10.0, -1.0),
        (0.1, 10.0, 1.0),
        (1e308, 10.0, -1e308),
        (-0.0, 1.0, -0.0),
        (0.0, f64::INFINITY, 1.0),
        (3.0, 7.0, f64::NAN),
    ];
    for (a, b, c) in cases {
        let args = [f64::to_bits(a), f64::to_bits(b), f64::to_bits(c)];
        for (name, want) in [
            ("madd", a * b + c),
            ("msub", a * b - c),
            ("rsub", c - a * b),
        ] {
            let Some(got) = run_float(name, &args) else {
                return;
            };
            assert_eq!(
                got,
                want.to_bits(),
                "{name}({a}, {b}, {c}) = {}",
                f64::from_bits(got)
            );
        }
    }
}

#[test]
fn ints_become_floats_in_loops() {
    let horner = |n: i64, x: f64, s0: f64| {
        let mut s = s0;
        for i in 0..n {
            s = s * x + i as f64;
        }
        s / x
    };
    for (n, x, s0) in [
        (0, 2.0, 1.0),
        (10, 0.5, -3.0),
        (100, 1.0001, 0.25),
        (5, 0.0, 1.0),
    ] {
        let args = [n as u64, f64::to_bits(x), f64::to_bits(s0)];
        let Some(got) = run_float("horner", &args) else {
            return;
        };
        let want = horner(n, x, s0);
        assert!(
            got == want.to_bits() || (want.is_nan() && f64::from_bits(got).is_nan()),
            "horner({n}, {x}, {s0}) = {} not {want}",
            f64::from_bits(got)
        );
    }
}
