//! The inline heap accesses' tests: programs run in every mode, and
//! hand-made bytecode the compiler never emits.

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use tern_vm::{JitMode, Limits, Program, Value, Vm};

thread_local! {
    /// Fields claimed past a record's widest (see `Widest::words`):
    /// every record looked up through a local then lacks them.
    pub(super) static OVERCLAIM: Cell<u32> = const { Cell::new(0) };
}

/// Records read and written through locals, inner records, calls
/// out that make every entry be looked up again, in loops; and a
/// loop that calls nothing, whose records are looked up before it.
const SRC: &str = "
struct P { a: int, b: int, c: int, d: int, e: float }
struct Q { p: P, n: int, m: int, k: int }
fn first(p: P) -> int { return p.a; }
fn sum(p: P, q: Q, n: int) -> int {
    var s = 0;
    for i in 0..n {
        s += p.a + p.d + q.p.c + q.k;
        q.k += 1;
    }
    return s;
}
fn build(n: int) -> int {
    let p = P { a: 1, b: 2, c: 3, d: 4, e: 0.5 };
    return sum(p, Q { p: p, n: 0, m: 0, k: 0 }, n);
}
fn run(n: int) -> int {
    let p = P { a: 1, b: 2, c: 3, d: 4, e: 0.5 };
    let q = Q { p: p, n: 0, m: 0, k: 0 };
    var s = 0;
    for i in 0..n {
        s += p.a + p.b + p.c + p.d;
        p.b += 1;
        s += q.p.c + q.p.d;
        q.n += i;
        s += len(str(i)) + first(p);
        if i % 3 == 0 {
            p.e = p.e * 2.0;
            let big: [P] = [p, p];
            s += big[1].c;
        }
    }
    return s + q.n + q.p.b + int(p.e) + sum(p, q, n);
}
fn main() {}
";

/// `name(n)` with the JIT in `mode`: the result, and how many
/// instructions ran.
fn run(name: &str, mode: JitMode, n: i64) -> String {
    let path = Path::new("widest.src");
    let compiled = tern_compiler::compile_with(path, &tern_compiler::OneFile { path, text: SRC })
        .unwrap_or_else(|_| panic!("compiles"));
    let program = Program::new(compiled.module).expect("verifies");
    let f = program
        .module()
        .functions
        .iter()
        .position(|f| f.name == name);
    let limits = Limits {
        jit: mode,
        count_instructions: true,
        ..Limits::default()
    };
    let mut vm = Vm::new(Arc::new(program), limits);
    vm.set_jit(Box::new(crate::Jit::new()));
    let r = vm.call_function(f.expect("the function") as u32, &[Value::Int(n)]);
    format!("{r:?} after {} instructions", vm.stats().instructions)
}

#[test]
fn a_copy_left_as_an_entrys_only_name_claims_no_fields() {
    use crate::masm::LookedUp;
    use tern_vm::verify::NO_OWNER;
    // `q.p` kept in stack slot 5, checked for 3 fields through `q.p`.
    let inner = LookedUp {
        field: Some(0),
        copy: Some(5),
        words: 3,
        ..LookedUp::slot(1, false)
    };
    // Once only the copy names it (a field 0 written, or `q`), a
    // later lookup through slot 5, which may then hold anything,
    // must not be trusted to find 3 fields (nor leave where it
    // finds none).
    let copy = Some(LookedUp::slot(5, false));
    assert_eq!(inner.without_field(NO_OWNER, 0), copy);
    assert_eq!(inner.without_slot(1), copy);
    assert_eq!(inner.without_names_of(&inner), None);
    // While `q.p` names it, the claim stays.
    let kept = LookedUp {
        copy: None,
        ..inner
    };
    assert_eq!(inner.without_slot(5), Some(kept));
    assert_eq!(inner.without_field(NO_OWNER, 1), Some(inner));
}

#[test]
fn a_field_written_of_another_struct_type_keeps_an_inner_record() {
    use crate::masm::LookedUp;
    use tern_vm::verify::NO_OWNER;
    // `q.p` where `q` holds a record of struct type 7.
    let inner = LookedUp {
        field: Some(0),
        owner: 7,
        ..LookedUp::slot(1, false)
    };
    // Field 0 of a type-8 record is another record's field.
    assert_eq!(inner.without_field(8, 0), Some(inner));
    // Field 0 of a type-7 record may be `q`'s; so may one of a type not
    // known, and a name of no known type goes with any field 0.
    assert_eq!(inner.without_field(7, 0), None);
    assert_eq!(inner.without_field(NO_OWNER, 0), None);
    let unknown = LookedUp {
        owner: NO_OWNER,
        ..inner
    };
    assert_eq!(unknown.without_field(8, 0), None);
    assert_eq!(unknown.without_field(8, 1), Some(unknown));
}

/// A module of one function `f(int) -> int` with locals `locals`
/// (after the parameter) and code `code`, over one enum `E` whose
/// variants are named `variants`, each with one int field; and the
/// enum's type id, for the code to name.
fn enum_module(
    variants: &[&str],
    consts: Vec<tern_vm::module::Const>,
    locals: impl FnOnce(tern_vm::module::TypeId) -> Vec<tern_vm::module::TypeId>,
    code: impl FnOnce(tern_vm::module::TypeId) -> Vec<tern_vm::Instr>,
) -> Arc<Program> {
    use tern_vm::module::*;
    let mut m = Module::new();
    m.sources = vec!["t.src".into()];
    m.layouts = vec![Layout::Enum {
        name: "E".into(),
        variants: variants
            .iter()
            .map(|&n| Variant {
                name: n.into(),
                fields: vec![INT],
            })
            .collect(),
    }];
    m.types.push(TypeDesc::Enum(0));
    let e = (m.types.len() - 1) as TypeId;
    m.consts = consts;
    m.functions = vec![Function {
        name: "f".into(),
        params: vec![INT],
        ret: INT,
        locals: locals(e),
        captures: vec![],
        max_stack: 4,
        code: code(e),
        source: 0,
        lines: vec![(0, 1)],
    }];
    Arc::new(Program::new(m).expect("verifies"))
}

/// `f(arg)` of `program` in `mode`, counted: its result and count.
fn call(program: &Arc<Program>, mode: JitMode, arg: i64) -> String {
    let limits = Limits {
        jit: mode,
        count_instructions: true,
        ..Limits::default()
    };
    let mut vm = Vm::new(Arc::clone(program), limits);
    vm.set_jit(Box::new(crate::Jit::new()));
    let r = vm.call_function(0, &[Value::Int(arg)]);
    format!("{r:?} after {} instructions", vm.stats().instructions)
}

/// `f(n)`: `t = A(5)`, its payload read once before a loop and then
/// at the loop's top with no tag check (which only hand-made bytecode
/// does; the compiler always checks the tag first), `t = B(i)` at the
/// bottom. The second read must trap in every mode: the variant the
/// read before the loop checked is not known at the loop's header,
/// where the back edge brings another.
#[test]
fn a_payload_read_at_a_loop_header_checks_the_variant_again() {
    use tern_vm::module::{Const, INT};
    use tern_vm::Instr as I;
    let consts = vec![Const::Int(5), Const::Int(0), Const::Int(1)];
    let program = enum_module(
        &["A", "B"],
        consts,
        |e| vec![e, INT, INT],
        |e| {
            vec![
                I::Const { index: 0 },
                I::NewEnum { ty: e, variant: 0 },
                I::Store { local: 1 },
                I::Load { local: 1 },
                I::EnumField {
                    variant: 0,
                    field: 0,
                },
                I::Store { local: 2 },
                I::Const { index: 1 },
                I::Store { local: 3 },
                // The loop, instruction 8:
                I::Load { local: 1 },
                I::EnumField {
                    variant: 0,
                    field: 0,
                },
                I::Load { local: 2 },
                I::IAdd {},
                I::Store { local: 2 },
                I::Load { local: 3 },
                I::NewEnum { ty: e, variant: 1 },
                I::Store { local: 1 },
                I::Load { local: 3 },
                I::Const { index: 2 },
                I::IAdd {},
                I::Store { local: 3 },
                I::Load { local: 3 },
                I::Load { local: 0 },
                I::ILt {},
                I::JmpIf { target: 8 }, // the load at the loop's top
                I::Load { local: 2 },
                I::Ret {},
            ]
        },
    );
    let interpreted = call(&program, JitMode::Off, 10);
    assert!(interpreted.contains("variant"), "{interpreted}");
    for mode in [JitMode::Eager, JitMode::On] {
        assert_eq!(call(&program, mode, 10), interpreted);
    }
}

#[test]
fn a_payload_read_after_its_slot_is_given_another_object_reads_that_one() {
    // Hand-made: the compiler binds a match arm's payload right after
    // the tag test. Here the slot whose tag was read gets another
    // value of the same variant (a move: no call, no allocation)
    // before its payload is read, which must come from the new one,
    // not through the table entry the tag read kept.
    use tern_vm::module::Const;
    use tern_vm::Instr as I;
    let consts = vec![Const::Int(5), Const::Int(7)];
    let program = enum_module(
        &["A"],
        consts,
        |e| vec![e, tern_vm::module::INT, e],
        |e| {
            vec![
                I::Const { index: 1 },
                I::NewEnum { ty: e, variant: 0 },
                I::Store { local: 3 },
                I::Const { index: 0 },
                I::NewEnum { ty: e, variant: 0 },
                I::Store { local: 1 },
                I::Load { local: 1 },
                I::EnumTag {},
                I::Store { local: 2 },
                I::Load { local: 3 },
                I::Store { local: 1 },
                I::Load { local: 1 },
                I::EnumField {
                    variant: 0,
                    field: 0,
                },
                I::Load { local: 2 },
                I::IAdd {},
                I::Ret {},
            ]
        },
    );
    let interpreted = call(&program, JitMode::Off, 0);
    assert!(interpreted.contains('7'), "{interpreted}");
    assert_eq!(call(&program, JitMode::Eager, 0), interpreted);
}

#[test]
fn only_objects_named_by_a_slot_stored_through_get_a_store_length() {
    use super::{Access, Widest};
    use crate::masm::LookedUp;
    let accesses = [
        Access::SetField {
            o: 3,
            f: 0,
            v: 9,
            ty: 0,
        },
        Access::Field {
            d: 8,
            o: 2,
            f: 1,
            g: Some(0),
            keep: None,
            ty: 0,
        },
    ];
    let w = Widest::of(accesses.into_iter(), 4);
    assert!(w.stored(&LookedUp::slot(3, false)));
    // `1.2`, a copy of which is kept in slot 3 (stored through), is
    // stored through even when found without that name.
    let kept = Widest::of(
        [
            Access::Field {
                d: 7,
                o: 1,
                f: 2,
                g: Some(0),
                keep: Some(3),
                ty: 0,
            },
            Access::SetField {
                o: 3,
                f: 0,
                v: 7,
                ty: 0,
            },
        ]
        .into_iter(),
        4,
    );
    let inner_of = |slot: u16, f: u16| LookedUp {
        field: Some(f),
        ..LookedUp::slot(slot, false)
    };
    assert!(kept.stored(&inner_of(1, 2)));
    assert!(!kept.stored(&inner_of(1, 1)));
    assert!(!w.stored(&inner_of(2, 1)));
    assert!(!w.stored(&LookedUp::slot(2, false)));
    // `2.1` kept in slot 3: stored through as 3.
    let inner = LookedUp {
        field: Some(1),
        ..LookedUp::slot(2, false)
    };
    assert!(!w.stored(&inner));
    assert!(w.stored(&LookedUp {
        copy: Some(3),
        ..inner
    }));
    // `3.1` is not the object in 3.
    assert!(!w.stored(&LookedUp {
        field: Some(1),
        ..LookedUp::slot(3, false)
    }));
}

#[test]
fn records_lacking_the_fields_claimed_leave_for_the_interpreter() {
    for name in ["run", "build"] {
        let interpreted = run(name, JitMode::Off, 300);
        assert!(interpreted.starts_with("Ok(Int("), "{interpreted}");
        for mode in [JitMode::Eager, JitMode::On] {
            assert_eq!(run(name, mode, 300), interpreted);
            // Every lookup through a local misses, and every entry
            // looked up again for code that trusts it leaves: after a
            // miss, before a loop, where the driver enters a loop.
            OVERCLAIM.with(|c| c.set(1000));
            assert_eq!(run(name, mode, 300), interpreted);
            OVERCLAIM.with(|c| c.set(0));
        }
    }
}
