//! A small record allocated by compiled code itself: the quick path of
//! `new.struct`/`new.enum` (`heap_ops::new_record`) with no call, written
//! once for both backends; and likewise an array push that needs no more
//! capacity and a pop that gives none back (`heap_ops::array_push`'s and
//! `array_pop`'s quick paths: [`push`], [`pop`]). And one quick path that
//! allocates nothing but shares their way of falling back to the shim:
//! a captured variable read from the running closure's object
//! ([`capture`]).
//!
//! It does exactly what `Heap::alloc_small_record` does once
//! `Heap::may_collect` has said no collection may be due, in the order
//! `tern_vm::heap::layout` states, and only where no `Vec` would grow: a
//! handle is popped off the free list (empty until a collection has
//! freed something), the record written into its table entry, its flags
//! cleared, the handle pushed onto the young list, and the sizes added.
//! Every test comes before the first write, so where one fails nothing
//! has changed and the shim runs (it allocates, or declines and the
//! runtime collects first). `layout::alloc_probe` checked these writes
//! against a live heap before any code was compiled to make them.

use crate::layout::{record_header, AllocLayout, HeapLayout};
use crate::masm::{IntOp, Masm, Operand, Reg, Test};
use crate::Ctx;
use tern_vm::heap::{layout, INLINE_FIELDS, OBJECT_BYTES};
use tern_vm::internal::Op;
use tern_vm::{Instr, Program};

/// A record allocation: fields `frame[at..at + n]`, the new handle into
/// `frame[at]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NewRecord {
    pub at: u16,
    pub n: u8,
    pub variant: u32,
    pub layout: u32,
}

/// What compiled code does itself of a heap instruction whose shim it
/// calls otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quick {
    /// A small record's allocation ([`record`]).
    Record(NewRecord),
    /// `a.push(v)` ([`push`]).
    Push { a: u16, v: u16 },
    /// `s = s.pop()` ([`pop`]).
    Pop { s: u16 },
    /// `d` = captured variable `index` of the running closure, one of at
    /// most `layout::INLINE_CAPTURES` ([`capture`]).
    Capture { d: u16, index: u16 },
    /// A map read or write of a dense index (`dense`).
    Map(crate::dense::MapQuick),
}

/// What compiled code may do itself of `op`, instruction `pc` of `prog`.
pub(crate) fn quick(op: &Op, prog: &Program, pc: u32) -> Option<Quick> {
    let top = |k| crate::heap_ops::stack_top(prog, pc, k);
    match *op {
        Op::Stack(Instr::APush {}) => Some(Quick::Push {
            a: top(2)?,
            v: top(1)?,
        }),
        Op::Stack(Instr::APop {}) => Some(Quick::Pop { s: top(1)? }),
        _ => crate::heap_ops::record(op, prog, pc, INLINE_FIELDS).map(Quick::Record),
    }
}

/// Emits `quick`, or a jump to `miss` where it cannot be done here (the
/// shim there does it). Registers must hold nothing (`Masm::settle`).
pub(crate) fn emit<M: Masm>(m: &mut M, l: &HeapLayout, quick: Quick, miss: M::Label) {
    match quick {
        Quick::Capture { d, index } => return capture(m, l, d, index, miss),
        Quick::Map(q) => return crate::dense::emit(m, l, q, miss),
        _ => {}
    }
    let Some(a) = l.alloc else {
        m.jump(miss);
        return;
    };
    match quick {
        Quick::Record(r) => record(m, l, &a, r, miss),
        Quick::Push { a: array, v } => push(m, l, &a, (array, v), miss),
        Quick::Pop { s } => pop(m, l, &a, s, miss),
        Quick::Capture { .. } | Quick::Map(_) => m.jump(miss),
    }
}

/// Reads a captured variable of the running closure where its table
/// entry keeps it (it has at most `INLINE_CAPTURES`: `form` checks the
/// function's count, which every closure of it has), or jumps to `miss`.
fn capture<M: Masm>(m: &mut M, l: &HeapLayout, d: u16, index: u16, miss: M::Label) {
    let Some(first) = l.captures else {
        m.jump(miss);
        return;
    };
    m.load_env(Reg::A);
    crate::access::object(m, l, Some(layout::CLOSURE), miss);
    m.load_word_to(d, Reg::C, first + 8 * index as i32);
}

/// Emits the allocation, or a jump to `miss` where it cannot be made
/// here. Registers must hold nothing (`Masm::settle`); they hold nothing
/// after it either.
fn record<M: Masm>(m: &mut M, l: &HeapLayout, a: &AllocLayout, r: NewRecord, miss: M::Label) {
    debug_assert!(r.n as usize <= INLINE_FIELDS);
    let size = (OBJECT_BYTES + 8 * r.n as usize) as i32;
    let heap = |m: &mut M| m.ctx_word(Reg::C, Ctx::HEAP);
    heap(m);
    // young_bytes + size < budget (both far below overflow: bytes that
    // exist), young.len() < nursery_objects, and room in both lists.
    m.load_word(Reg::A, Reg::C, a.young_bytes);
    m.add_offset(Reg::A, Reg::A, size);
    m.load_word(Reg::B, Reg::C, a.budget);
    m.branch_if(Reg::B, Test::Ule, Operand::Reg(Reg::A), miss);
    m.load_word(Reg::A, Reg::C, a.young_len);
    m.load_word(Reg::B, Reg::C, a.nursery_objects);
    m.branch_if(Reg::B, Test::Ule, Operand::Reg(Reg::A), miss);
    m.load_word(Reg::B, Reg::C, a.young_cap);
    m.branch_if(Reg::B, Test::Ule, Operand::Reg(Reg::A), miss);
    m.load_word(Reg::B, Reg::C, a.free_len);
    m.branch_if(Reg::B, Test::Eq, Operand::Imm(0), miss);

    // The sizes, as `Heap::grow`.
    for count in [a.young_bytes, a.allocated, a.bytes] {
        m.load_word(Reg::A, Reg::C, count);
        m.add_offset(Reg::A, Reg::A, size);
        m.store_word(Reg::C, count, Reg::A);
    }
    let below = m.local_label();
    m.load_word(Reg::B, Reg::C, a.peak);
    m.branch_if(Reg::A, Test::Ule, Operand::Reg(Reg::B), below);
    m.store_word(Reg::C, a.peak, Reg::A);
    m.bind_local(below);

    // A = the handle, popped off the free list.
    m.load_word(Reg::B, Reg::C, a.free_len);
    m.add_offset(Reg::B, Reg::B, -1);
    m.store_word(Reg::C, a.free_len, Reg::B);
    m.load_word(Reg::A, Reg::C, a.free_ptr);
    m.add_scaled(Reg::A, Reg::B, 4);
    m.load_narrow(Reg::A, Reg::A, 0, 4);

    // Pushed onto the young list.
    m.load_word(Reg::B, Reg::C, a.young_len);
    m.load_word(Reg::C, Reg::C, a.young_ptr);
    m.add_scaled(Reg::C, Reg::B, 4);
    m.store_narrow(Reg::C, 0, Reg::A, 4);
    heap(m);
    m.add_offset(Reg::B, Reg::B, 1);
    m.store_word(Reg::C, a.young_len, Reg::B);

    // Its flags: young, not remembered.
    m.load_word(Reg::B, Reg::C, l.flags_ptr);
    m.add_scaled(Reg::B, Reg::A, 1);
    m.load_imm(Reg::C, 0);
    m.store_narrow(Reg::B, 0, Reg::C, 1);

    // The record, into its (free, so empty) table entry: header, the
    // fields, zeros past them.
    heap(m);
    m.load_word(Reg::B, Reg::C, l.table_ptr);
    m.add_scaled(Reg::B, Reg::A, l.stride);
    for (k, w) in record_header(r.layout, r.variant, r.n)
        .into_iter()
        .enumerate()
    {
        m.load_imm(Reg::C, w as i64);
        m.store_word(Reg::B, 8 * k as i32, Reg::C);
    }
    for k in 0..INLINE_FIELDS as u16 {
        match k < r.n as u16 {
            true => m.load(Reg::C, r.at + k),
            false if k == r.n as u16 => m.load_imm(Reg::C, 0),
            false => {}
        }
        m.store_word(Reg::B, l.fields + 8 * k as i32, Reg::C);
    }
    m.store(r.at, Reg::A);
    m.settle();
}

/// Emits `a.push(v)` for the array in slot `a` where it has room (a push
/// then allocates nothing, and the heap's accounting, by capacity, does
/// not change) and no collection may be due (`Heap::may_collect(0)`: the
/// interpreter collects first otherwise), or a jump to `miss`. Exactly
/// `Vec::push` within capacity, after the write barrier the heap's
/// `array_mut` takes (an old array not yet remembered misses, and the
/// shim remembers it). Registers must hold nothing (`Masm::settle`).
fn push<M: Masm>(m: &mut M, l: &HeapLayout, al: &AllocLayout, (a, v): (u16, u16), miss: M::Label) {
    m.ctx_word(Reg::C, Ctx::HEAP);
    m.load_word(Reg::A, Reg::C, al.young_bytes);
    m.load_word(Reg::B, Reg::C, al.budget);
    m.branch_if(Reg::B, Test::Ule, Operand::Reg(Reg::A), miss);
    m.load_word(Reg::A, Reg::C, al.young_len);
    m.load_word(Reg::B, Reg::C, al.nursery_objects);
    m.branch_if(Reg::B, Test::Ule, Operand::Reg(Reg::A), miss);
    m.load(Reg::A, a);
    crate::access::array(m, l, false, miss);
    crate::access::barrier(m, l, miss);
    m.load_word(Reg::B, Reg::C, l.items_len);
    m.load_word(Reg::A, Reg::C, al.items_cap);
    m.branch_if(Reg::A, Test::Ule, Operand::Reg(Reg::B), miss);
    m.add_offset(Reg::B, Reg::B, 1);
    m.store_word(Reg::C, l.items_len, Reg::B);
    m.load_word(Reg::A, Reg::C, l.items_ptr);
    m.add_scaled(Reg::A, Reg::B, 8);
    m.load(Reg::B, v);
    m.store_word(Reg::A, -8, Reg::B);
}

/// Emits `s = s.pop()` for the array in slot `s` where it is not empty and
/// keeps its capacity (`Heap::array_pop` halves a capacity over 16 that
/// the pop leaves three quarters empty, which changes the accounting), or
/// a jump to `miss`: `Vec::pop`, after the write barrier the heap's
/// `array_mut` takes. Registers must hold nothing (`Masm::settle`).
fn pop<M: Masm>(m: &mut M, l: &HeapLayout, al: &AllocLayout, s: u16, miss: M::Label) {
    let la = Reg::A.into();
    m.load(Reg::A, s);
    crate::access::array(m, l, false, miss);
    crate::access::barrier(m, l, miss);
    // Shrinks where the length after, `len - 1`, is at most `cap / 4`
    // (`len * 4 <= cap` for integers); an empty array's wraps around.
    let keeps = m.local_label();
    m.load_word(Reg::A, Reg::C, al.items_cap);
    m.branch_if(Reg::A, Test::Ule, Operand::Imm(16), keeps);
    m.int_op3_imm(IntOp::Shr, la, la, 2);
    m.load_word(Reg::B, Reg::C, l.items_len);
    m.add_offset(Reg::B, Reg::B, -1);
    m.branch_if(Reg::B, Test::Ule, Operand::Reg(Reg::A), miss);
    m.bind_local(keeps);
    m.load_word(Reg::B, Reg::C, l.items_len);
    m.branch_if(Reg::B, Test::Eq, Operand::Imm(0), miss);
    m.add_offset(Reg::B, Reg::B, -1);
    m.store_word(Reg::C, l.items_len, Reg::B);
    m.load_word(Reg::A, Reg::C, l.items_ptr);
    m.load_element(Reg::A, Reg::A, Reg::B);
    m.store(s, Reg::A);
    m.settle();
}
