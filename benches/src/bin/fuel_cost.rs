//! What a unit of fuel buys: runs programs that lean on one kind of
//! expensive instruction each (the worst cases of the cost model in
//! `spec/sandbox.md`) and prints the time per fuel unit, best of five.
//!
//! `cargo run --release -p tern-benches --bin fuel_cost`

use std::time::Instant;
use tern_benches::program;
use tern_vm::{Limits, Vm};

const CASES: &[(&str, &str)] = &[
    (
        "arithmetic loop",
        "fn main() -> int { var s = 0; for i in 0..3000000 { s = (s + i * 3) % 1000; } return s; }",
    ),
    (
        "find in 16 MiB",
        r#"fn main() -> int { var s = "a"; for i in 0..24 { s = s + s; }
           var h = 0; for i in 0..20 { h += s.find("ab"); } return h; }"#,
    ),
    (
        "compare 16 MiB",
        r#"fn main() -> int { var s = "a"; for i in 0..24 { s = s + s; }
           let t = s.slice(0, len(s)); var h = 0;
           for i in 0..20 { if s == t { h += 1; } } return h; }"#,
    ),
    (
        "split into characters",
        r#"fn main() -> int { var s = "abcdefgh"; for i in 0..17 { s = s + s; }
           var n = 0; for i in 0..4 { n += len(s.split("")); } return n % 256; }"#,
    ),
    (
        "split on commas",
        r#"fn main() -> int { var s = "abc,"; for i in 0..18 { s = s + s; }
           var n = 0; for i in 0..4 { n += len(s.split(",")); } return n % 256; }"#,
    ),
    (
        "join",
        r#"fn main() -> int { var p: [str] = []; for i in 0..200000 { p.push(str(i)); }
           var n = 0; for i in 0..10 { n += len(p.join(",")); } return n % 256; }"#,
    ),
    (
        "keys of a string map",
        r#"fn main() -> int { var m: {str: int} = {}; for i in 0..100000 { m["key " + str(i)] = i; }
           var n = 0; for i in 0..10 { n += len(m.keys()); } return n % 256; }"#,
    ),
    (
        "[x; n]",
        "fn main() -> int { var n = 0; for i in 0..20 { n += len([i; 1000000]); } return n % 256; }",
    ),
    (
        "map insert, string keys",
        r#"fn main() -> int { var m: {str: int} = {}; for i in 0..300000 { m["some key " + str(i)] = i; }
           return len(m) % 256; }"#,
    ),
    (
        "map insert and remove, int keys",
        r#"fn main() -> int { var m: {int: int} = {}; for i in 0..300000 { m[i * 7919] = i; }
           for i in 0..300000 { m.remove(i * 7919); } return len(m); }"#,
    ),
    (
        "remove while iterating",
        r#"fn main() -> int { var m: {int: int} = {}; for i in 0..20000 { m[i * 13] = i; }
           var n = 0; while len(m) > 0 { for k, v in m { m.remove(k); n += 1; break; } }
           return n % 256; }"#,
    ),
    (
        "int of leading zeros",
        r#"fn main() -> int { var s = "0"; for i in 0..20 { s = s + s; } s = s + "7";
           var n = 0; for i in 0..20 { n += int(s).unwrap(); } return n % 256; }"#,
    ),
    (
        "trees (allocation, collection)",
        "enum T { Leaf, Node(T, T) }
         fn make(d: int) -> T { if d == 0 { return Leaf; } return Node(make(d - 1), make(d - 1)); }
         fn count(t: T) -> int { match t { Leaf => { return 1; } Node(a, b) => { return count(a) + count(b); } } }
         fn main() -> int { var n = 0; for i in 0..20 { n += count(make(15)); } return n % 256; }",
    ),
];

fn main() {
    println!("| program | fuel units | ms | ns per unit |");
    println!("|---|---|---|---|");
    for (name, src) in CASES {
        let p = program(src);
        let limits = Limits {
            count_instructions: true,
            ..Limits::default()
        };
        let mut best = f64::MAX;
        let mut units = 0;
        for _ in 0..5 {
            let mut vm = Vm::new(std::sync::Arc::clone(&p), limits.clone());
            let start = Instant::now();
            vm.run_main(&[]).expect("the program runs");
            best = best.min(start.elapsed().as_secs_f64());
            units = vm.stats().fuel;
        }
        println!(
            "| {name} | {units} | {:.1} | {:.2} |",
            best * 1e3,
            best * 1e9 / units as f64
        );
    }
}
