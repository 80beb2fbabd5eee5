//! Map reads and writes of an int or bool key done by compiled code
//! itself, where the map's index is dense (`tern_vm::map`: a table from
//! key to entry number, which int maps keyed by small numbers have): the
//! quick paths of `map.get` (`m[k]`), `map.get` with a default, `map.has`
//! and `map.set` of a key that is there. A lookup in a dense index is two
//! loads, where the shim (`heap_ops::map_get_or` and the others) costs a
//! call and some eighty instructions.
//!
//! It does exactly what `Heap::map_get_free` and `Heap::map_set_free` do
//! for such a map, as `tern_vm::map::layout` states it, and nothing
//! else: any other map (a string key's, a sparse one's, hashed), a key
//! that is absent where the instruction needs it (`m[k]` traps, `map.set`
//! inserts) and a store into a map that needs the write barrier go to
//! the shim, before anything is written. None of these charges fuel: an
//! int key's lookup is free of work units (`spec/sandbox.md`).

use crate::layout::{HeapLayout, MapLayout};
use crate::masm::{Masm, Operand, Reg, Test};
use tern_vm::heap::layout;
use tern_vm::internal::Op;
use tern_vm::map::layout as map;
use tern_vm::{Instr, Program};

/// A map instruction compiled code may do itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapQuick {
    /// `d = m[k]`, or, where `k` is absent, `d = frame[or]` if `or` is
    /// given (`map.get` with a default), else the shim's (which traps).
    Get {
        d: u16,
        m: u16,
        k: u16,
        or: Option<u16>,
    },
    /// `d = m.has(k)`.
    Has { d: u16, m: u16, k: u16 },
    /// `m[k] = v` where `k` is present.
    Set { m: u16, k: u16, v: u16 },
}

/// What compiled code may do itself of `op`, instruction `pc` of `prog`.
pub(crate) fn quick(op: &Op, prog: &Program, pc: u32) -> Option<MapQuick> {
    let top = |k| crate::heap_ops::stack_top(prog, pc, k);
    Some(match *op {
        Op::MGet { d, m, k, .. } => MapQuick::Get { d, m, k, or: None },
        Op::MGetOr { d, m, k, v, .. } => MapQuick::Get {
            d,
            m,
            k,
            or: Some(v),
        },
        Op::MSet { m, k, v, .. } => MapQuick::Set { m, k, v },
        Op::Stack(Instr::MHas {}) => {
            let (m, k) = (top(2)?, top(1)?);
            MapQuick::Has { d: m, m, k }
        }
        _ => return None,
    })
}

/// Emits `q`, jumping to `miss` where the shim must do it (nothing
/// written yet). Registers must hold nothing (`Masm::settle`); they hold
/// nothing after it either.
pub(crate) fn emit<M: Masm>(m: &mut M, l: &HeapLayout, q: MapQuick, miss: M::Label) {
    let Some(ml) = l.map else {
        m.jump(miss);
        return;
    };
    match q {
        MapQuick::Get { d, m: map, k, or } => {
            let absent = match or {
                Some(_) => m.local_label(),
                None => miss,
            };
            find(m, l, &ml, (map, k), (miss, absent), false);
            // B = the entry number, C = the map object.
            m.load_word(Reg::C, Reg::C, ml.values_ptr);
            m.load_element(Reg::A, Reg::C, Reg::B);
            if let Some(v) = or {
                let join = m.local_label();
                m.jump(join);
                m.bind_local(absent);
                m.load(Reg::A, v);
                // What loading `v` put in a register is not there on the
                // other way in.
                m.settle();
                m.bind_local(join);
            }
            m.store(d, Reg::A);
        }
        MapQuick::Has { d, m: map, k } => {
            let (absent, join) = (m.local_label(), m.local_label());
            find(m, l, &ml, (map, k), (miss, absent), false);
            m.load_imm(Reg::A, 1);
            m.jump(join);
            m.bind_local(absent);
            m.load_imm(Reg::A, 0);
            m.bind_local(join);
            m.store(d, Reg::A);
        }
        MapQuick::Set { m: map, k, v } => {
            find(m, l, &ml, (map, k), (miss, miss), true);
            m.load_word(Reg::C, Reg::C, ml.values_ptr);
            m.load(Reg::A, v);
            m.store_element(Reg::C, Reg::B, Reg::A);
        }
    }
    m.settle();
}

/// `B` = the entry number of the key in slot `k` of the map in slot
/// `map`, `C` = the map object, or a jump to `miss` unless the map's
/// index is dense (and, with `write`, the map needs no write barrier),
/// or to `absent` if the key is not there.
fn find<M: Masm>(
    m: &mut M,
    l: &HeapLayout,
    ml: &MapLayout,
    (map, k): (u16, u16),
    (miss, absent): (M::Label, M::Label),
    write: bool,
) {
    m.load(Reg::A, map);
    crate::access::object(m, l, Some(layout::MAP), miss);
    if write {
        crate::access::barrier(m, l, miss);
    }
    m.load_word(Reg::C, Reg::C, ml.boxed);
    m.load_narrow(Reg::B, Reg::C, ml.index_kind, 1);
    m.branch_if(Reg::B, Test::Ne, Operand::Imm(map::DENSE as u32), miss);
    // A negative key is a large unsigned one: past every dense index.
    m.load(Reg::A, k);
    m.load_word(Reg::B, Reg::C, ml.index_len);
    m.branch_if(Reg::B, Test::Ule, Operand::Reg(Reg::A), absent);
    m.load_word(Reg::B, Reg::C, ml.index_ptr);
    m.add_scaled(Reg::B, Reg::A, 4);
    m.load_narrow(Reg::B, Reg::B, 0, 4);
    m.branch_if(Reg::B, Test::Eq, Operand::Imm(map::EMPTY), absent);
}
