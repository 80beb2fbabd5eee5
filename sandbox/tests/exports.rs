//! Calling guest exports from Rust with copied, type-checked values.

use std::path::Path;
use std::sync::Arc;
use tern_vm::{Limits, Program, Value, Vm};

fn program(src: &'static str) -> Arc<Program> {
    let path = Path::new("plugin.src");
    let c = tern_compiler::compile_with(path, &tern_compiler::OneFile { path, text: src }).unwrap();
    Arc::new(Program::new(c.module).unwrap())
}

const PLUGIN: &str = "
const BONUS: int = 10;
fn score(words: [str], weights: {str: int}) -> int {
    var total = BONUS;
    for w in words {
        total += weights.get(w, 1);
    }
    return total;
}
fn shout(s: str) -> str { return s + \"!\"; }
fn histogram(xs: [int]) -> {int: int} {
    var h: {int: int} = {};
    for x in xs { h[x] = h.get(x, 0) + 1; }
    return h;
}
fn main() {}
";

#[test]
fn exports_take_and_return_copied_values() {
    let p = program(PLUGIN);
    let mut vm = Vm::new(p, Limits::default());
    let words = Value::Array(vec![
        Value::Str("a".into()),
        Value::Str("b".into()),
        Value::Str("z".into()),
    ]);
    let weights = Value::Map(vec![
        (Value::Str("a".into()), Value::Int(5)),
        (Value::Str("b".into()), Value::Int(7)),
    ]);
    assert_eq!(
        vm.call_export("score", &[words, weights]),
        Ok(Value::Int(10 + 5 + 7 + 1))
    );
    assert_eq!(
        vm.call_export("shout", &[Value::Str("hey".into())]),
        Ok(Value::Str("hey!".into()))
    );
    let h = vm.call_export(
        "histogram",
        &[Value::Array(vec![
            Value::Int(3),
            Value::Int(1),
            Value::Int(3),
        ])],
    );
    assert_eq!(
        h,
        Ok(Value::Map(vec![
            (Value::Int(3), Value::Int(2)),
            (Value::Int(1), Value::Int(1))
        ]))
    );
}

#[test]
fn wrong_calls_are_errors() {
    let p = program(PLUGIN);
    let mut vm = Vm::new(p, Limits::default());
    let e = vm.call_export("nope", &[]).unwrap_err();
    assert_eq!(e.message, "no export named 'nope'");
    let e = vm.call_export("shout", &[]).unwrap_err();
    assert_eq!(e.message, "'shout' takes 1 arguments, 0 given");
    let e = vm.call_export("shout", &[Value::Int(3)]).unwrap_err();
    assert_eq!(e.message, "expected str, got int");
}
