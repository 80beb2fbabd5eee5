//! The standard library's catalogue (`tern-stdlib`) against the VM's
//! table of built-in functions: every name the catalogue lowers to a
//! built-in exists there, with the same parameter and result types.

use tern_stdlib::{Intrinsic, Param, Prim, Receiver};
use tern_vm::builtins::{Builtin, Ret};
use tern_vm::opcodes::Slot;

fn slot(p: Prim) -> Slot {
    match p {
        Prim::Int => Slot::I,
        Prim::Float => Slot::F,
        Prim::Bool => Slot::B,
        Prim::Str => Slot::S,
        Prim::Unit => panic!("no built-in takes or returns unit"),
    }
}

fn param(p: &Param) -> Slot {
    match p {
        Param::Prim(p) => slot(*p),
        // The error text of parsing (then the conversion instruction).
        Param::Parsed(_) => Slot::S,
        other => panic!("built-ins take primitives, not {other:?}"),
    }
}

fn check(name: &str, params: Vec<Slot>, ret: Ret) {
    let b = Builtin::by_name(name).unwrap_or_else(|| panic!("the VM has no built-in `{name}`"));
    assert_eq!(b.params(), params.as_slice(), "parameters of `{name}`");
    assert_eq!(b.result(), ret, "result of `{name}`");
}

fn list(p: &Param) -> Ret {
    match p {
        Param::StrArray => Ret::List(Slot::S),
        Param::IntArray => Ret::List(Slot::I),
        other => panic!("a list built-in makes an array, not {other:?}"),
    }
}

#[test]
fn catalogue_builtins_match_the_vm_table() {
    let mut seen = 0;
    for m in tern_stdlib::MODULES {
        for f in m.fns {
            if let tern_stdlib::Lowering::Op(Intrinsic::Builtin(name)) = f.lower {
                check(
                    name,
                    f.params.iter().map(|&p| slot(p)).collect(),
                    Ret::One(slot(f.ret)),
                );
                seen += 1;
            }
        }
    }
    for b in tern_stdlib::BUILTINS {
        if let Some(Intrinsic::Builtin(name)) = b.op {
            let params = b.params.iter().map(param).collect();
            check(name, params, Ret::One(param(&b.ret)));
            seen += 1;
        }
    }
    for m in tern_stdlib::METHODS {
        if let Intrinsic::Builtin(name) | Intrinsic::BuiltinList(name) = m.op {
            assert_eq!(m.receiver, Receiver::Str, "`{name}` is a string method");
            let mut params = vec![Slot::S];
            params.extend(m.params.iter().map(param));
            let ret = match m.op {
                Intrinsic::BuiltinList(_) => list(&m.ret),
                _ => Ret::One(param(&m.ret)),
            };
            check(name, params, ret);
            seen += 1;
        }
    }
    // Every built-in of the VM is reachable from the language.
    assert_eq!(seen, Builtin::ALL.len());
}
