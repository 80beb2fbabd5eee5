//! Functions compiled from Tern source and run through an instance with
//! the JIT installed and every function compiled before it runs: the
//! machine code must compute what Rust computes under the language's
//! rules (run here on x86-64 hosts, and on aarch64 under qemu), and
//! assemble for the other architecture.

use std::path::Path;
use std::sync::Arc;
use tern_vm::{JitMode, Limits, Program, Value, Vm};

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

/// Calls `name` of `src` with `args` in `mode` (with the JIT installed);
/// the result (or the trap) and the functions compiled.
fn try_call_in(src: &str, name: &str, args: &[Value], mode: JitMode, fuel: u64) -> (String, u64) {
    let limits = Limits {
        fuel,
        ..Limits::default()
    };
    try_call_with(src, name, args, mode, limits)
}

/// [`try_call_in`] under `limits`, counted.
fn try_call_with(
    src: &str,
    name: &str,
    args: &[Value],
    mode: JitMode,
    limits: Limits,
) -> (String, u64) {
    let (p, f) = function(src, name);
    let limits = Limits {
        jit: mode,
        count_instructions: true,
        ..limits
    };
    let mut vm = Vm::new(Arc::new(p), limits);
    vm.set_jit(Box::new(tern_jit::Jit::new()));
    let r = vm.call_function(f, args);
    let stats = vm.stats();
    (
        format!("{r:?} after {} instructions", stats.instructions),
        vm.compiled_functions(),
    )
}

/// Calls `name` of `src` with `args` with every function compiled and
/// interpreted, with and without collecting at every allocation: the
/// same result or trap after the same count; and compiled where the JIT
/// targets the host.
fn same_with_and_without_gc_stress(src: &str, name: &str, args: &[Value]) {
    for stress in [false, true] {
        let limits = Limits {
            gc_stress: stress,
            ..Limits::default()
        };
        let (jit, compiled) = try_call_with(src, name, args, JitMode::Eager, limits.clone());
        let (interp, _) = try_call_with(src, name, args, JitMode::Off, limits);
        assert_eq!(jit, interp, "{name}({args:?}), stress {stress}");
        let targeted = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
        assert_eq!(compiled > 0, targeted, "{name} compiled");
    }
}

/// Calls `name` of `src` with `args` in `mode` (with the JIT installed);
/// the result and the functions compiled.
fn call_in(src: &str, name: &str, args: &[Value], mode: JitMode) -> (Value, u64) {
    let (p, f) = function(src, name);
    let limits = Limits {
        jit: mode,
        ..Limits::default()
    };
    let mut vm = Vm::new(Arc::new(p), limits);
    vm.set_jit(Box::new(tern_jit::Jit::new()));
    let v = vm.call_function(f, args).expect("runs");
    (v, vm.compiled_functions())
}

/// Calls `name` compiled, checking that it was compiled (on a host the
/// JIT targets) and that the interpreter gives the same result.
fn call(src: &str, name: &str, args: &[Value]) -> Value {
    let (v, compiled) = call_in(src, name, args, JitMode::Eager);
    let targeted = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
    assert_eq!(compiled > 0, targeted, "{name} compiled");
    let (interpreted, _) = call_in(src, name, args, JitMode::Off);
    assert_eq!(
        format!("{v:?}"),
        format!("{interpreted:?}"),
        "{name}({args:?}) compiled and interpreted"
    );
    v
}

fn int(v: Value) -> i64 {
    match v {
        Value::Int(i) => i,
        other => panic!("not an int: {other:?}"),
    }
}

fn float(v: Value) -> u64 {
    match v {
        Value::Float(f) => f.to_bits(),
        other => panic!("not a float: {other:?}"),
    }
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
    assert!(tern_jit::lowerable(&p, f));
    let x64 = tern_jit::x64::assemble(&p, f).expect("x86-64 code");
    let a64 = tern_jit::aarch64::assemble(&p, f).expect("aarch64 code");
    assert!(!x64.is_empty() && !a64.is_empty());
    assert_eq!(a64.len() % 4, 0, "aarch64 instructions are 4 bytes");
}

#[test]
fn compiled_code_computes_what_the_interpreter_does() {
    for n in [0i64, 1, 2, 10, 1000, -5] {
        assert_eq!(int(call(SUM, "sum", &[Value::Int(n)])), sum(n), "sum({n})");
    }
    assert_eq!(int(call(COLLATZ, "steps", &[Value::Int(27)])), 111);
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

/// Runs `name` of `FLOATS` on `args`, compiled.
fn run_float(name: &str, args: &[Value]) -> Value {
    let (p, f) = function(FLOATS, name);
    assert!(tern_jit::aarch64::assemble(&p, f).is_some(), "{name}");
    assert!(tern_jit::x64::assemble(&p, f).is_some(), "{name}");
    call(FLOATS, name, args)
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
            let got = int(run_float("classify", &[Value::Float(a), Value::Float(b)]));
            assert_eq!(got, classify(a, b), "classify({a}, {b})");
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
        let args = [Value::Float(a), Value::Float(b), Value::Float(c)];
        for (name, want) in [
            ("madd", a * b + c),
            ("msub", a * b - c),
            ("rsub", c - a * b),
        ] {
            let got = float(run_float(name, &args));
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
        let args = [Value::Int(n), Value::Float(x), Value::Float(s0)];
        let got = float(run_float("horner", &args));
        let want = horner(n, x, s0);
        assert!(
            got == want.to_bits() || (want.is_nan() && f64::from_bits(got).is_nan()),
            "horner({n}, {x}, {s0}) = {} not {want}",
            f64::from_bits(got)
        );
    }
}

const EDGES: &str = "
import math;
fn arith(a: int, b: int) -> int {
    var r = a / b + a % b;
    r = r ^ (a << b) ^ (a >> b);
    r = r + -a + math.abs(a) + math.min(a, b) * 3 - math.max(a, b);
    if a < b { r += 1; }
    let c = a == b;
    if !c { r += 2; }
    r = r + a / 7 + a % 7 + a / -3 + a % -3 + a / -1 + a % -1;
    return r;
}
fn conv(x: float, y: float) -> int {
    var r = int(x) + int(-x) + int(math.floor(x)) + int(math.ceil(x));
    if x < y { r += 1; }
    let m = math.min(x, y) + math.max(x, y) + math.sqrt(math.abs(x)) - -y;
    if m != m { r += 100; } else { r += int(m); }
    return r;
}
fn main() {}
";

#[test]
fn integer_edges_trap_and_wrap_as_interpreted() {
    let values = [0i64, 1, -1, 2, -7, 63, 64, 65, i64::MIN, i64::MAX, 1 << 40];
    let targeted = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
    for &a in &values {
        for &b in &values {
            let args = [Value::Int(a), Value::Int(b)];
            let (jit, compiled) = try_call_in(EDGES, "arith", &args, JitMode::Eager, u64::MAX);
            let (interp, _) = try_call_in(EDGES, "arith", &args, JitMode::Off, u64::MAX);
            assert_eq!(compiled > 0, targeted);
            assert_eq!(jit, interp, "arith({a}, {b})");
        }
    }
}

#[test]
fn division_by_constants_truncates_toward_zero() {
    // Powers of two divide with shifts, the others by multiplication.
    let divisors: [i64; 14] = [
        2,
        4,
        8,
        1 << 20,
        1 << 61,
        1 << 62,
        3,
        7,
        10,
        -2,
        -8,
        -(1 << 62),
        i64::MAX,
        i64::MIN + 1,
    ];
    let mut src = String::new();
    for (i, d) in divisors.iter().enumerate() {
        // `0 - x`: the literal after a minus is never past `i64::MAX`.
        let d = if *d < 0 {
            format!("(0 - {})", -d)
        } else {
            d.to_string()
        };
        src += &format!("fn q{i}(n: int) -> int {{ return n / {d}; }}\n");
        src += &format!("fn r{i}(n: int) -> int {{ return n % {d}; }}\n");
    }
    src += "fn main() {}\n";
    let ns = [
        0i64,
        1,
        -1,
        2,
        -2,
        3,
        -3,
        7,
        -7,
        (1 << 62) + 5,
        -(1 << 62) - 5,
        12_345_678_901,
        -12_345_678_901,
        i64::MAX,
        i64::MAX - 1,
        i64::MIN,
        i64::MIN + 1,
    ];
    for (i, &d) in divisors.iter().enumerate() {
        for &n in &ns {
            let q = int(call(&src, &format!("q{i}"), &[Value::Int(n)]));
            assert_eq!(q, n.wrapping_div(d), "{n} / {d}");
            let r = int(call(&src, &format!("r{i}"), &[Value::Int(n)]));
            assert_eq!(r, n.wrapping_rem(d), "{n} % {d}");
        }
    }
}

#[test]
fn float_conversions_saturate_as_interpreted() {
    let values = [
        0.0,
        -0.0,
        2.5,
        -2.5,
        1e300,
        -1e300,
        9.3e18,
        -9.3e18,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for &x in &values {
        for &y in &values {
            let args = [Value::Float(x), Value::Float(y)];
            let (jit, compiled) = try_call_in(EDGES, "conv", &args, JitMode::Eager, u64::MAX);
            let (interp, _) = try_call_in(EDGES, "conv", &args, JitMode::Off, u64::MAX);
            let targeted = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
            assert_eq!(compiled > 0, targeted);
            assert_eq!(jit, interp, "conv({x}, {y})");
        }
    }
}

#[test]
fn fuel_runs_out_at_the_same_instruction() {
    // Every budget up to the whole run: the same trap (kind, message,
    // trace) after the same count, compiled or not.
    let args = [Value::Int(6)];
    let (whole, _) = try_call_in(SUM, "sum", &args, JitMode::Off, u64::MAX);
    let n: u64 = whole
        .rsplit(' ')
        .nth(1)
        .and_then(|w| w.parse().ok())
        .expect("a count");
    for fuel in 1..=n + 1 {
        let (jit, _) = try_call_in(SUM, "sum", &args, JitMode::Eager, fuel);
        let (interp, _) = try_call_in(SUM, "sum", &args, JitMode::Off, fuel);
        assert_eq!(jit, interp, "fuel {fuel}");
    }
}

const CALLS: &str = "
fn fib(n: int) -> int {
    if n < 2 { return n; }
    return fib(n - 1) + fib(n - 2);
}
fn down(n: int) -> int {
    if n == 0 { return 0; }
    let r = down(n - 1);
    return r + 1;
}
fn main() {}
";

#[test]
fn calls_between_compiled_functions_count_and_trap_as_interpreted() {
    assert_eq!(int(call(CALLS, "fib", &[Value::Int(20)])), 6765);
    // Deeper than compiled code nests calls itself (`NATIVE_DEPTH`), and
    // past the depth limit: the same trap and trace after the same count.
    for (n, depth) in [
        (1000, 100_000),
        (1000, 1000),
        (1000, 999),
        (300, 257),
        (5, 3),
    ] {
        let limits = Limits {
            max_depth: depth,
            ..Limits::default()
        };
        let args = [Value::Int(n)];
        let (jit, _) = try_call_with(CALLS, "down", &args, JitMode::Eager, limits.clone());
        let (interp, _) = try_call_with(CALLS, "down", &args, JitMode::Off, limits);
        assert_eq!(jit, interp, "down({n}) with depth {depth}");
    }
    for fuel in (1..400).step_by(7) {
        let (jit, _) = try_call_in(CALLS, "fib", &[Value::Int(8)], JitMode::Eager, fuel);
        let (interp, _) = try_call_in(CALLS, "fib", &[Value::Int(8)], JitMode::Off, fuel);
        assert_eq!(jit, interp, "fib(8) with fuel {fuel}");
    }
}

#[test]
fn a_pending_interrupt_stops_compiled_code_at_its_first_branch() {
    let src = "fn f() -> int { var i = 0; while i < 100 { i = i + 1; } return i; }";
    for mode in [JitMode::Off, JitMode::Eager] {
        let (p, f) = function(src, "f");
        let limits = Limits {
            jit: mode,
            ..Limits::default()
        };
        let mut vm = Vm::new(Arc::new(p), limits);
        vm.set_jit(Box::new(tern_jit::Jit::new()));
        vm.interrupt_handle().interrupt();
        let r = vm.call_function(f, &[]);
        let Err(t) = r else {
            panic!("{mode:?}: not interrupted: {r:?}")
        };
        assert_eq!(t.kind, tern_vm::TrapKind::Interrupted, "{mode:?}");
    }
}

#[test]
fn a_function_too_large_for_short_branches_is_compiled_or_refused_never_a_crash() {
    // Each line concatenates (an instruction the runtime runs, branching
    // to the one exit after the body when it traps): past aarch64's 1 MiB
    // conditional branch reach.
    let mut src = String::from("fn big() -> int {\n    var s = \"\";\n");
    for _ in 0..20000 {
        src.push_str("    s = s + \"a\";\n");
    }
    src.push_str("    return len(s);\n}\nfn main() {}\n");
    let (interpreted, _) = try_call_in(&src, "big", &[], JitMode::Off, u64::MAX);
    let (compiled, _) = try_call_in(&src, "big", &[], JitMode::Eager, u64::MAX);
    assert_eq!(compiled, interpreted);
}

const HEAP: &str = "
struct Small { a: int, b: int }
struct Big { a: int, b: int, c: int, d: int, e: int, f: Small }
struct Outer { big: Big, n: int }
enum Shape { Dot, Circle(int), Rect(int, int), Many(int, int, int, int, int) }

fn area(s: Shape) -> int {
    match s {
        Dot => { return 0; }
        Circle(r) => { return 3 * r * r; }
        Rect(w, h) => { return w * h; }
        Many(a, b, c, d, e) => { return a + b + c + d + e; }
    }
}

fn heap(n: int, at: int) -> int {
    var xs = [0; n];
    let o = Outer { big: Big { a: 1, b: 2, c: 3, d: 4, e: 5, f: Small { a: 6, b: 7 } }, n: n };
    var hits = 0;
    let bump = fn(k: int) { hits += k; };
    var keep: [Small] = [];
    var total = 0;
    for i in 0..n {
        xs[i] = i * i;
        o.big.e = o.big.e + xs[i];
        o.big.a = o.big.a + 1;
        o.big.f.b = o.big.f.b + o.big.f.a;
        keep.push(Small { a: i, b: len(xs) });
        let shapes = [Dot, Circle(i), Rect(i, 2), Many(i, 1, 2, 3, 4)];
        for s in shapes { total += area(s); }
        bump(o.big.f.a);
    }
    total += xs[at];
    return total + o.big.e + o.big.a + o.big.f.b + hits + keep[n - 1].b + o.n;
}
fn main() {}
";

#[test]
fn heap_accesses_inline_compute_fall_back_and_trap_as_interpreted() {
    // Small and big records (fields inside the object and boxed), nested
    // field chains, enum tags and payloads, captured cells, array reads,
    // writes and lengths; in bounds, past the end and negative (the
    // interpreter's trap); and with every safepoint collecting, so stores
    // into old objects take the write barrier.
    let args = |n, at| [Value::Int(n), Value::Int(at)];
    for (n, at) in [(50, 3), (50, 49), (50, 50), (50, -1), (0, 0), (300, 299)] {
        same_with_and_without_gc_stress(HEAP, "heap", &args(n, at));
    }
    let (ok, _) = try_call_in(HEAP, "heap", &args(50, 3), JitMode::Eager, u64::MAX);
    assert!(ok.starts_with("Ok(Int("), "{ok}");
    let (trap, _) = try_call_in(HEAP, "heap", &args(50, 50), JitMode::Eager, u64::MAX);
    assert!(trap.contains("out of bounds"), "{trap}");
}

const IMMEDIATES: &str = "
fn imm(x: int) -> int {
    var r = x * -7 + (x + -4096) * 3 + (x - 5000) + (x * 4097) - 1;
    if x < -4095 { r += 1; }
    if x >= -4096 { r += 10; }
    if x == 4096 { r += 100; }
    if x != 4095 { r += 1000; }
    if x > 2147483647 { r += 10000; }
    if x <= -2147483649 { r += 100000; }
    if x > -1 { r += 1000000; }
    return r;
}
fn main() {}
";

#[test]
fn immediate_operands_encode_at_every_size() {
    // Immediates each machine encodes in the instruction, as a negated
    // one, or in a register: around 12 bits (aarch64) and 32 (x86-64).
    for x in [
        0,
        -1,
        1,
        4095,
        4096,
        -4095,
        -4096,
        -4097,
        2147483647,
        2147483648,
        -2147483648,
        -2147483649,
        i64::MAX,
        i64::MIN,
    ] {
        let (jit, _) = try_call_in(
            IMMEDIATES,
            "imm",
            &[Value::Int(x)],
            JitMode::Eager,
            u64::MAX,
        );
        let (interp, _) = try_call_in(IMMEDIATES, "imm", &[Value::Int(x)], JitMode::Off, u64::MAX);
        assert_eq!(jit, interp, "imm({x})");
    }
}

const REMEMBERED: &str = "
struct P { x: int, y: int }
struct Q { a: int, b: int, c: int, d: int, e: int }
fn block(n: int) -> int {
    var xs = [1, 2, 3];
    var ys = [10, 20];
    let p = P { x: 1, y: 2 };
    let q = Q { a: 1, b: 2, c: 3, d: 4, e: 5 };
    var t = 0;
    for i in 0..n {
        var junk = [i, i, i];
        // Reads, writes and lengths of the same objects in one block,
        // between them a store that may take the write barrier, a push
        // that moves the items, and a slot given another array.
        t += xs[0] + xs[2] + len(xs) + p.x + q.e;
        xs[1] = t % 7;
        p.y = xs[1] + q.d;
        q.c = p.y + len(xs);
        t += xs[1] + p.y + q.c + len(xs);
        xs.push(i);
        t += xs[len(xs) - 1] + len(xs);
        xs = ys;
        t += xs[1] + len(xs);
        xs[0] = t % 11;
        t += xs[0] + len(xs) + len(junk);
        ys = [t % 5, 4, 5, 6];
        t += ys[3] + xs[0] + len(ys) + len(xs);
        xs = [t % 3, len(junk)];
        t = t % 1000003;
    }
    return t;
}
fn main() {}
";

#[test]
fn remembered_objects_follow_stores_pushes_and_the_write_barrier() {
    for n in [1, 2, 50] {
        same_with_and_without_gc_stress(REMEMBERED, "block", &[Value::Int(n)]);
    }
}

const AROUND: &str = "
struct Acc { total: int, count: int, last: int, max: int }
fn fill(xs: [int], acc: Acc, n: int) {
    let m = len(xs);
    var i = 0;
    while i < n {
        xs[i % m] = xs[(i + 1) % m] + i;
        acc.total = acc.total + xs[i % m];
        acc.count += 1;
        if xs[i % m] > acc.max { acc.max = xs[i % m]; }
        i += 1;
    }
    acc.last = xs[0];
}
fn shuffle(olds: [[str]], r: int, n: int) {
    // Under GC stress every allocation collects first, so the last
    // object allocated is the one young object: reachable after this
    // returns only through `olds`, which is old.
    let young = [str(r), str(r * 2)];
    if n < 0 {
        // Recursive, so not inlined: `young` dies with this frame.
        shuffle(olds, r, n + 1);
    }
    let m = len(olds);
    for i in 0..n {
        if i % 2 == 0 { olds[i % m] = young; }
    }
}
fn run(rounds: int) -> int {
    let olds = [[str(1)], [str(2)], [str(3)]];
    let xs = [1, 2, 3, 4, 5, 6, 7];
    let acc = Acc { total: 0, count: 0, last: 0, max: 0 };
    var garbage = 0;
    for r in 0..rounds {
        // Allocation between the loops: under GC stress `xs` and `acc`
        // are old and not remembered when each loop starts.
        let g = [r, r + 1];
        garbage += len(g);
        fill(xs, acc, 20 + r);
        // Young strings stored into an old array by a loop that
        // allocates nothing: only the write barrier keeps them alive.
        shuffle(olds, r, 7 + r);
    }
    // A collection after the last store: `olds` must still reach it.
    let after = [garbage, rounds];
    var text = len(after);
    for o in olds { text += len(o) + int(o[0]).unwrap() + int(o[len(o) - 1]).unwrap(); }
    return acc.total % 1000003 + acc.count + acc.last + acc.max + garbage + text;
}
fn main() {}
";

#[test]
fn objects_kept_around_loops_take_the_write_barrier_after_collections() {
    for rounds in [1, 5, 40] {
        same_with_and_without_gc_stress(AROUND, "run", &[Value::Int(rounds)]);
    }
}
