//! The heap instructions compiled code calls directly: the ones that
//! neither allocate nor charge fuel (most done inline by `access`, which
//! calls these where its checks fail, and always when `layout` found the
//! heap unreadable), and the quick paths of some that may (allocations
//! where no collection is due, map instructions whose lookup charges
//! nothing, numeric built-ins; `text_ops` has the string ones). Each is
//! an `extern "C"` function of the
//! heap, the frame and the instruction's operands packed in two words
//! ([`pack`]), doing what the interpreter's dispatch arm does with the
//! same `Heap` methods and `semantics` rules. Each returns 1 when done,
//! or 0, having changed nothing, where the interpreter would trap (an
//! index out of bounds, a payload read for the wrong variant): compiled
//! code then leaves the instruction to the interpreter, uncounted, which
//! traps with its own message and trace.
//!
//! A panic (a handle that is not what the verifier proved: a bug) is
//! caught here and also answers 0; the interpreter then meets the same
//! bug in Rust code, where it unwinds as usual.

use crate::alloc::NewRecord;
use crate::masm::{Arg, HeapFn};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tern_vm::builtins::{eval_number, Builtin};
use tern_vm::heap::{array_bytes, new_text, str_size, Heap, KeyRef, INLINE_FIELDS, OBJECT_BYTES};
use tern_vm::internal::Op;
use tern_vm::semantics;

/// Operands packed 16 bits each, first in the lowest bits.
pub(crate) fn pack(parts: &[u64]) -> u64 {
    parts
        .iter()
        .enumerate()
        .fold(0, |acc, (k, &p)| acc | (p & 0xffff) << (16 * k))
}

/// Part `k` of a packed word.
pub(crate) fn part(x: u64, k: u32) -> usize {
    ((x >> (16 * k)) & 0xffff) as usize
}

/// The shim for a map instruction's quick path, if `op` (`pc` of `prog`)
/// is one, and its operand words: the second is whether the instance
/// meters. Reads and writes: a key that is there, or a read with
/// a default (no allocation), whose lookup charges nothing (an int or a
/// bool key, or a string where the instance does not meter). Iteration
/// (`map.next`, `map.keyof`, `map.valof`): no allocation but a string
/// key's copy, and no charge but `map.next`'s (for the removed entries it
/// steps over) and a string key's copy: those the shims leave to the
/// runtime where the instance meters, since every charge is a point
/// where fuel may run out. Where a shim declines, compiled code runs the
/// instruction through the runtime, as the interpreter runs its slow path
/// after the same quick attempt. `map.has` and `len` of a map are reads
/// too.
pub(crate) fn map_shim(op: &Op, prog: &tern_vm::Program, pc: u32) -> Option<(HeapFn, u64, Arg)> {
    use tern_vm::Instr;
    let p = |parts: &[u16]| pack(&parts.iter().map(|&s| s as u64).collect::<Vec<_>>());
    let top = |k: usize| stack_top(prog, pc, k).map(u64::from);
    let (f, x): (HeapFn, u64) = match *op {
        Op::MGet { d, m, k, .. } => (map_get, p(&[d, m, k])),
        Op::MGetOr { d, m, k, v, .. } => (map_get_or, p(&[d, m, k, v])),
        Op::MSet { m, k, v, .. } => (map_set, p(&[m, k, v])),
        Op::Stack(Instr::MHas {}) => (map_has, pack(&[top(2)?, top(1)?])),
        Op::Stack(Instr::MLen {}) => (map_len, top(1)?),
        Op::Stack(Instr::MNext {}) => (map_next, pack(&[top(2)?, top(1)?])),
        Op::Stack(Instr::MKeyOf {}) => (map_of, pack(&[top(2)?, top(1)?, 1])),
        Op::Stack(Instr::MValOf {}) => (map_of, pack(&[top(2)?, top(1)?, 0])),
        _ => return None,
    };
    Some((f, x, Arg::Metered))
}

extern "C" fn map_has(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (m, k) = (fr.get(part(x, 0)), fr.get(part(x, 1)));
        let found = heap.map_get_free(m, k, metered == 0)?;
        fr.set(part(x, 0), found.is_some() as u64);
        Some(())
    })
}

extern "C" fn map_len(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let s = part(x, 0);
        let n = heap.map(fr.get(s)).len();
        fr.set(s, n as u64);
        Some(())
    })
}

extern "C" fn map_next(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        // Metered, the interpreter charges each step (removed entries
        // stepped over, even none), and a charge is where fuel may run
        // out: the runtime takes it.
        if metered != 0 {
            return None;
        }
        let (next, _) = heap.map(fr.get(part(x, 0))).next_slot(fr.get(part(x, 1)));
        fr.set(part(x, 0), next);
        Some(())
    })
}

extern "C" fn map_of(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let key = part(x, 2) == 1;
        let entry = heap
            .map(fr.get(part(x, 0)))
            .entry_of_slot(fr.get(part(x, 1)))?;
        let word = match (tern_vm::map::entry_word(entry, key), entry.0) {
            (Some(word), _) => word,
            // A string key: copied into a new string, as the interpreter's
            // `entry_slot` does where no collection is due.
            (None, KeyRef::Str(s)) if metered == 0 && !heap.may_collect(str_size(s.len())) => {
                let text = new_text(s);
                heap.alloc_text(text)
            }
            (None, _) => return None,
        };
        fr.set(part(x, 0), word);
        Some(())
    })
}

/// The shim for `builtin id` of a numeric built-in (`pc` of `prog`), if
/// `op` is one: its arguments are the top of the operand stack, its
/// result replaces the first. It reads no heap: [`eval_number`] is the
/// interpreter's own, and where that answers a runtime error the shim
/// declines and the runtime traps.
pub(crate) fn builtin_shim(
    op: &Op,
    prog: &tern_vm::Program,
    pc: u32,
) -> Option<(HeapFn, u64, Arg)> {
    let Op::Stack(tern_vm::Instr::Builtin { id }) = *op else {
        return None;
    };
    let b = Builtin::from_id(id).filter(|b| b.is_number())?;
    let n = b.params().len();
    let x = pack(&[stack_top(prog, pc, n)?.into(), n as u64, id.into()]);
    Some((builtin, x, Arg::Imm(0)))
}

extern "C" fn builtin(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |_, fr| {
        let (base, n) = (part(x, 0), part(x, 1));
        let b = Builtin::from_id(part(x, 2) as u16)?;
        let v = eval_number(b, fr.slots(base, n)?)?.ok()?;
        fr.set(base, v);
        Some(())
    })
}

/// The most fields a record [`new_record`] allocates has (more go through
/// the runtime).
const NEW_FIELDS: usize = 8;

/// The most items an array literal, or captures a closure, that
/// [`new_array`] and [`new_closure`] make has (more go through the
/// runtime).
const NEW_ITEMS: usize = 64;

/// The shim for the quick path of canonical instruction `op` (`pc` of
/// `prog`), if it has one: a record allocation or an array push where no
/// collection may be due (the interpreter's `Vm::reserve` collects only
/// where `Heap::may_collect` says one may be due), done as the
/// interpreter does it, and a pop from an array that is not empty. Where
/// it declines, compiled code runs the instruction through the runtime,
/// which collects first, or traps.
pub(crate) fn stack_shim(op: &Op, prog: &tern_vm::Program, pc: u32) -> Option<(HeapFn, u64, u64)> {
    use tern_vm::Instr;
    let top = |k: usize| stack_top(prog, pc, k).map(u64::from);
    match *op {
        Op::Stack(Instr::APush {}) => Some((array_push, pack(&[top(2)?, top(1)?]), 0)),
        Op::Stack(Instr::APop {}) => Some((array_pop, top(1)?, 0)),
        Op::Stack(Instr::NewArray { ty, len }) if len as usize <= NEW_ITEMS => {
            let n = len as usize;
            let (refs, bytes) = (prog.holds_refs(ty), prog.byte_items(ty));
            let x = pack(&[top(n)?, n as u64, refs as u64, bytes as u64]);
            Some((new_array, x, 0))
        }
        Op::Stack(Instr::NewClosure { func, .. }) => {
            let n = prog.module().functions.get(func as usize)?.captures.len();
            (n <= NEW_ITEMS).then_some(())?;
            Some((new_closure, pack(&[top(n)?, n as u64]), func.into()))
        }
        Op::Stack(Instr::NewCell { ty }) => {
            Some((new_cell, pack(&[top(1)?, prog.holds_refs(ty) as u64]), 0))
        }
        _ => {
            let r = record(op, prog, pc, NEW_FIELDS)?;
            let x = pack(&[r.at as u64, r.n as u64, r.variant as u64]);
            Some((new_record, x, r.layout as u64))
        }
    }
}

/// Slot `sp - k` of instruction `pc` of `prog` (its operand stack's
/// `k`th value from the top), if it is one a `u16` names.
pub(crate) fn stack_top(prog: &tern_vm::Program, pc: u32, k: usize) -> Option<u16> {
    u16::try_from((prog.sp_at(pc) as usize).checked_sub(k)?).ok()
}

/// The record allocation `op` (instruction `pc` of `prog`) makes, if it
/// makes one of at most `most` fields: a variant without fields may be
/// the instance's unit value, and is left to the runtime.
pub(crate) fn record(op: &Op, prog: &tern_vm::Program, pc: u32, most: usize) -> Option<NewRecord> {
    use tern_vm::Instr;
    let (ty, variant) = match *op {
        Op::Stack(Instr::NewStruct { ty }) => (ty, 0),
        Op::Stack(Instr::NewEnum { ty, variant }) => (ty, u32::from(variant)),
        _ => return None,
    };
    let (layout, counts) = prog.shape(ty);
    let n = *counts.get(variant as usize)? as usize;
    if n == 0 || n > most {
        return None;
    }
    Some(NewRecord {
        at: stack_top(prog, pc, n)?,
        n: n as u8,
        variant,
        layout,
    })
}

/// `Capture`'s quick path: captured variable `index` of `env`, the
/// running frame's closure, into slot `d` (`x` packs both), as the
/// interpreter reads it.
pub(crate) extern "C" fn capture(heap: *mut Heap, frame: *mut u64, x: u64, env: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let v = *heap.closure(env).1.get(part(x, 1))?;
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn array_push(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (a, v) = (fr.get(part(x, 0)), fr.get(part(x, 1)));
        if heap.may_collect(heap.array_push_need(a)) {
            return None;
        }
        // Fails only where the host cannot allocate, before any change.
        heap.array_push(a, v).ok()
    })
}

extern "C" fn array_pop(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let s = part(x, 0);
        let v = heap.array_pop(fr.get(s))?;
        fr.set(s, v);
        Some(())
    })
}

extern "C" fn new_array(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (at, n) = (part(x, 0), part(x, 1));
        let (refs, bytes) = (part(x, 2) == 1, part(x, 3) == 1);
        if n > NEW_ITEMS || heap.may_collect(array_bytes(bytes, n)) {
            return None;
        }
        let h = heap.alloc_array_of(refs, bytes, fr.slots(at, n)?);
        fr.set(at, h);
        Some(())
    })
}

extern "C" fn new_closure(heap: *mut Heap, frame: *mut u64, x: u64, func: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (at, n) = (part(x, 0), part(x, 1));
        if n > NEW_ITEMS || heap.may_collect(OBJECT_BYTES + 8 * n) {
            return None;
        }
        let h = heap.alloc_closure(u32::try_from(func).ok()?, fr.slots(at, n)?);
        fr.set(at, h);
        Some(())
    })
}

extern "C" fn new_cell(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        if heap.may_collect(OBJECT_BYTES) {
            return None;
        }
        let s = part(x, 0);
        let h = heap.alloc_cell(part(x, 1) == 1, fr.get(s));
        fr.set(s, h);
        Some(())
    })
}

extern "C" fn new_record(heap: *mut Heap, frame: *mut u64, x: u64, layout: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (at, n, variant) = (part(x, 0), part(x, 1), part(x, 2));
        if n > NEW_FIELDS || heap.may_collect(OBJECT_BYTES + 8 * n) {
            return None;
        }
        if n <= INLINE_FIELDS {
            let fields = std::array::from_fn(|k| if k < n { fr.get(at + k) } else { 0 });
            let h = heap.alloc_small_record(layout as u32, variant as u32, n, fields);
            fr.set(at, h);
            return Some(());
        }
        // A fixed-length copy: one of run-time length becomes a call to
        // `memcpy`, which costs more than the copy.
        let fields: [u64; NEW_FIELDS] =
            std::array::from_fn(|k| if k < n { fr.get(at + k) } else { 0 });
        let h = heap.alloc_record(layout as u32, variant as u32, &fields[..n]);
        fr.set(at, h);
        Some(())
    })
}

/// The shim for `op` and its two operand words, if `op` is one.
pub(crate) fn shim(op: &Op) -> Option<(HeapFn, u64, u64)> {
    let p = |parts: &[u16]| pack(&parts.iter().map(|&s| s as u64).collect::<Vec<_>>());
    Some(match *op {
        Op::AGet { d, a, i, .. } => (aget, p(&[d, a, i]), 0),
        Op::ASet { a, i, v, .. } => (aset, p(&[a, i, v]), 0),
        Op::ASetImm { a, i, v, .. } => (aset_imm, p(&[a, i]), v as i64 as u64),
        Op::ALen { d, a, .. } => (alen, p(&[d, a]), 0),
        Op::SLen { d, s } => (slen, p(&[d, s]), 0),
        Op::SByte { d, s, i } => (sbyte, p(&[d, s, i]), 0),
        Op::GetField { d, o, f, .. } => (get_field, p(&[d, o, f]), 0),
        Op::GetField2 { d, o, f, g, .. } => (get_field2, p(&[d, o, f, g]), 0),
        Op::GetFieldKeep { d, m, o, f, g, .. } => (get_field_keep, p(&[d, o, f, g]), m as u64),
        Op::SetField { o, f, v, .. } => (set_field, p(&[o, f, v]), 0),
        Op::EnumTag { d, s } => (enum_tag, p(&[d, s]), 0),
        Op::EnumField {
            d,
            s,
            variant,
            field,
        } => (enum_field, p(&[d, s, variant, field]), 0),
        Op::CellGet { d, c } => (cell_get, p(&[d, c]), 0),
        Op::CellSet { c, v } => (cell_set, p(&[c, v]), 0),
        _ => return None,
    })
}

/// Runs `body` on the heap and the frame, answering 1 if it finished and
/// 0 if it declined or panicked.
pub(crate) fn guard(
    heap: *mut Heap,
    frame: *mut u64,
    body: impl FnOnce(&mut Heap, &mut Frame) -> Option<()>,
) -> u64 {
    // SAFETY: compiled code passes the heap pointer its context holds
    // (the running instance's heap, see `Ctx::heap`) and its frame base;
    // neither is otherwise referenced while this runs (the instance is
    // inside `Jit::enter`, waiting for the machine code).
    let (heap, mut frame) = unsafe { (&mut *heap, Frame(frame)) };
    match catch_unwind(AssertUnwindSafe(|| body(heap, &mut frame))) {
        Ok(Some(())) => 1,
        _ => 0,
    }
}

/// A frame's slots, from its base: every `u16` slot lies inside the
/// value stack (see `tern_vm::jit::FRAME_SLOTS`).
pub(crate) struct Frame(*mut u64);

impl Frame {
    pub(crate) fn get(&self, s: usize) -> u64 {
        // SAFETY: `s < 2^16`, and `FRAME_SLOTS` slots follow every base.
        unsafe { *self.0.add(s) }
    }

    pub(crate) fn set(&mut self, s: usize, v: u64) {
        // SAFETY: as `get`.
        unsafe { *self.0.add(s) = v }
    }

    /// Slots `s..s + n`, if they are all slots a `u16` names.
    pub(crate) fn slots(&self, s: usize, n: usize) -> Option<&[u64]> {
        if s + n > 1 << 16 {
            return None;
        }
        // SAFETY: as `get`, for each of them; nothing writes the frame
        // while the slice lives (the shim holds `&self`).
        Some(unsafe { std::slice::from_raw_parts(self.0.add(s), n) })
    }
}

extern "C" fn aget(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let items = heap.array(fr.get(part(x, 1)));
        let k = semantics::element(fr.get(part(x, 2)), items.len())?;
        let v = items.get(k);
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn aset(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (h, i, v) = (fr.get(part(x, 0)), fr.get(part(x, 1)), fr.get(part(x, 2)));
        // Checked before `array_mut`, whose write barrier is a change.
        let k = semantics::element(i, heap.array(h).len())?;
        heap.array_mut(h).set(k, v);
        Some(())
    })
}

extern "C" fn aset_imm(heap: *mut Heap, frame: *mut u64, x: u64, v: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (h, i) = (fr.get(part(x, 0)), fr.get(part(x, 1)));
        let k = semantics::element(i, heap.array(h).len())?;
        heap.array_mut(h).set(k, v);
        Some(())
    })
}

extern "C" fn alen(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let n = heap.array(fr.get(part(x, 1))).len();
        fr.set(part(x, 0), n as u64);
        Some(())
    })
}

extern "C" fn slen(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let n = heap.str(fr.get(part(x, 1))).len();
        fr.set(part(x, 0), n as u64);
        Some(())
    })
}

extern "C" fn sbyte(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let bytes = heap.str(fr.get(part(x, 1))).as_bytes();
        let k = semantics::element(fr.get(part(x, 2)), bytes.len())?;
        let b = bytes[k];
        fr.set(part(x, 0), b as u64);
        Some(())
    })
}

extern "C" fn get_field(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let v = heap.field(fr.get(part(x, 1)), part(x, 2));
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn get_field2(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let inner = heap.field(fr.get(part(x, 1)), part(x, 2));
        let v = heap.field(inner, part(x, 3));
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn get_field_keep(heap: *mut Heap, frame: *mut u64, x: u64, m: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let inner = heap.field(fr.get(part(x, 1)), part(x, 2));
        let v = heap.field(inner, part(x, 3));
        fr.set(m as usize, inner);
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn set_field(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let v = fr.get(part(x, 2));
        heap.set_field(fr.get(part(x, 0)), part(x, 1), v);
        Some(())
    })
}

extern "C" fn enum_tag(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let t = heap.tag(fr.get(part(x, 1)));
        fr.set(part(x, 0), t as u64);
        Some(())
    })
}

extern "C" fn enum_field(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let v = heap
            .variant_field(fr.get(part(x, 1)), part(x, 2) as u32, part(x, 3))
            .ok()?;
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn cell_get(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let v = heap.cell(fr.get(part(x, 1)));
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn cell_set(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let v = fr.get(part(x, 1));
        heap.set_cell(fr.get(part(x, 0)), v);
        Some(())
    })
}

extern "C" fn map_get(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (m, k) = (fr.get(part(x, 1)), fr.get(part(x, 2)));
        let v = heap.map_get_free(m, k, metered == 0)??;
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn map_get_or(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (m, k) = (fr.get(part(x, 1)), fr.get(part(x, 2)));
        let found = heap.map_get_free(m, k, metered == 0)?;
        let v = found.unwrap_or(fr.get(part(x, 3)));
        fr.set(part(x, 0), v);
        Some(())
    })
}

extern "C" fn map_set(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (m, k, v) = (fr.get(part(x, 0)), fr.get(part(x, 1)), fr.get(part(x, 2)));
        heap.map_set_free(m, k, v, metered == 0).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_pack_sixteen_bits_each() {
        let x = pack(&[1, 0xffff, 7, 0x1234]);
        assert_eq!(
            (part(x, 0), part(x, 1), part(x, 2), part(x, 3)),
            (1, 0xffff, 7, 0x1234)
        );
    }
}
