//! Criterion benchmarks for the interpreter's hot paths: dispatch, calls,
//! field access and allocation, plus the cost of fuel metering and of a
//! timeout. Each
//! program returns its result as main's int so nothing is printed.
//!
//! `cargo bench -p tern-benches` (release profile).

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tern_benches::{program, run};
use tern_vm::Limits;

const DISPATCH: &str = "
fn main() -> int {
    var s = 0;
    for i in 0..100000 {
        s = (s + i * 3) % 1000;
    }
    return s;
}";

const CALLS: &str = "
fn fib(n: int) -> int {
    if n < 2 { return n; }
    return fib(n - 1) + fib(n - 2);
}
fn main() -> int { return fib(20) % 256; }";

const FIELDS: &str = "
struct P { x: float, y: float, n: int }
fn main() -> int {
    let p = P { x: 0.0, y: 1.0, n: 0 };
    for i in 0..50000 {
        p.x = p.x + p.y * 0.5;
        p.n += 1;
    }
    return p.n % 256;
}";

const ALLOC: &str = "
enum T { Leaf, Node(T, T) }
fn make(d: int) -> T {
    if d == 0 { return Leaf; }
    return Node(make(d - 1), make(d - 1));
}
fn main() -> int {
    var n = 0;
    for i in 0..20 {
        match make(10) {
            Node(a, b) => { n += 1; }
            Leaf => {}
        }
    }
    var xs: [[int]] = [];
    for i in 0..2000 {
        xs.push([i, i + 1]);
    }
    return n + len(xs) % 7;
}";

fn benches(c: &mut Criterion) {
    let cases = [
        ("dispatch", DISPATCH),
        ("calls", CALLS),
        ("fields", FIELDS),
        ("alloc", ALLOC),
    ];
    for (name, src) in cases {
        let p = program(src);
        c.bench_function(name, |b| b.iter(|| black_box(run(&p, Limits::default()))));
    }
    // Metering: the same loop with a fuel limit (counting every instruction).
    let p = program(DISPATCH);
    let metered = Limits {
        fuel: u64::MAX - 1,
        ..Limits::default()
    };
    c.bench_function("dispatch_with_fuel", |b| {
        b.iter(|| black_box(run(&p, metered.clone())))
    });
    // A timeout adds a clock read every POLL_INTERVAL instructions.
    let timed = Limits {
        timeout: Some(std::time::Duration::from_secs(3600)),
        ..Limits::default()
    };
    c.bench_function("dispatch_with_timeout", |b| {
        b.iter(|| black_box(run(&p, timed.clone())))
    });
}

criterion_group!(interp, benches);
criterion_main!(interp);
