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
