//! Heap instructions done inline: element, length, field, variant and
//! cell reads and writes, as machine instructions over the layout
//! `layout` found (no call, no allocation, no fuel beyond the count).
//!
//! Each access checks what the interpreter's `Heap` methods check, and
//! a little more: the handle is inside the object table and the object is
//! of the kind the instruction expects (the verifier proves both: the
//! checks keep compiled code memory-safe should it not), the index inside
//! the array, the field inside a big record, the variant the one named.
//! A store into an old object not yet remembered needs the write barrier.
//! Wherever a check fails the access jumps to `miss`, where compiled code
//! calls the instruction's `heap_ops` shim, the interpreter's own code,
//! which does the rare case or declines where the interpreter traps.
//!
//! Nothing is written to a slot or to the heap before every check has
//! passed, so the shim starts from the state the instruction found. An
//! object looked up is remembered in a context entry for the accesses
//! after it in the same block, and around loops (see `data`,
//! `establish`), and so is the inner record of `a.b.c` (`inner`), until a
//! field `b` of any record is written; where a shim runs, every entry the
//! code after it trusts is looked up again before compiled code goes on.

use crate::layout::HeapLayout;
use crate::masm::{Entries, LookedUp, Masm, Operand, Reg, Test};
use crate::Ctx;
use crate::OBJECT_ENTRIES;
use tern_vm::heap::{layout, INLINE_FIELDS};
use tern_vm::internal::Op;

/// An instruction done inline: its operand slots.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    /// `d = a[i]`.
    Element { d: u16, a: u16, i: u16 },
    /// `a[i] = v`.
    SetElement { a: u16, i: u16, v: Value },
    /// `d = len(a)`.
    Length { d: u16, a: u16 },
    /// `d = o.f`, or `d = o.f.g`, with `keep` `keep = o.f` too.
    Field {
        d: u16,
        o: u16,
        f: u16,
        g: Option<u16>,
        keep: Option<u16>,
    },
    /// `o.f = v`.
    SetField { o: u16, f: u16, v: u16 },
    /// `d = s`'s variant.
    Tag { d: u16, s: u16 },
    /// `d = field` of `s`, which must be of `variant`.
    Payload {
        d: u16,
        s: u16,
        variant: u16,
        field: u16,
    },
    /// `d = c`'s value.
    CellGet { d: u16, c: u16 },
    /// `c`'s value = `v`.
    CellSet { c: u16, v: u16 },
}

impl Access {
    /// The slots it reads.
    pub(crate) fn reads(&self) -> [Option<u16>; 3] {
        let value = |v: Value| match v {
            Value::Slot(v) => Some(v),
            Value::Imm(_) => None,
        };
        match *self {
            Access::Element { a, i, .. } => [Some(a), Some(i), None],
            Access::SetElement { a, i, v } => [Some(a), Some(i), value(v)],
            Access::Length { a, .. } => [Some(a), None, None],
            Access::Field { o, .. } => [Some(o), None, None],
            Access::SetField { o, v, .. } => [Some(o), Some(v), None],
            Access::Tag { s, .. } | Access::Payload { s, .. } => [Some(s), None, None],
            Access::CellGet { c, .. } => [Some(c), None, None],
            Access::CellSet { c, v } => [Some(c), Some(v), None],
        }
    }

    /// The slots it writes.
    pub(crate) fn writes(&self) -> [Option<u16>; 2] {
        match *self {
            Access::Element { d, .. }
            | Access::Length { d, .. }
            | Access::Tag { d, .. }
            | Access::Payload { d, .. }
            | Access::CellGet { d, .. } => [Some(d), None],
            Access::Field { d, keep, .. } => [Some(d), keep],
            Access::SetElement { .. } | Access::SetField { .. } | Access::CellSet { .. } => {
                [None, None]
            }
        }
    }
}

/// A value stored: a slot's, or an immediate.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    Slot(u16),
    Imm(i64),
}

/// The inline form of `op`, if it has one.
pub(crate) fn access(op: &Op) -> Option<Access> {
    Some(match *op {
        Op::AGet { d, a, i } => Access::Element { d, a, i },
        Op::ASet { a, i, v } => Access::SetElement {
            a,
            i,
            v: Value::Slot(v),
        },
        Op::ASetImm { a, i, v } => Access::SetElement {
            a,
            i,
            v: Value::Imm(v as i64),
        },
        Op::ALen { d, a } => Access::Length { d, a },
        Op::GetField { d, o, f } => Access::Field {
            d,
            o,
            f,
            g: None,
            keep: None,
        },
        Op::GetField2 { d, o, f, g } => Access::Field {
            d,
            o,
            f,
            g: Some(g),
            keep: None,
        },
        // Writing `m` before the second read could check it means the
        // shim would read a changed `o` if the two are one slot.
        Op::GetFieldKeep { d, m, o, f, g } if m != o => Access::Field {
            d,
            o,
            f,
            g: Some(g),
            keep: Some(m),
        },
        Op::SetField { o, f, v } => Access::SetField { o, f, v },
        Op::EnumTag { d, s } => Access::Tag { d, s },
        Op::EnumField {
            d,
            s,
            variant,
            field,
        } => Access::Payload {
            d,
            s,
            variant,
            field,
        },
        Op::CellGet { d, c } => Access::CellGet { d, c },
        Op::CellSet { c, v } => Access::CellSet { c, v },
        _ => return None,
    })
}

/// Emits `access`, jumping to `miss` where a check fails.
pub(crate) fn emit<M: Masm>(m: &mut M, l: &HeapLayout, access: Access, miss: M::Label) {
    use Reg::{A, B, C};
    match access {
        Access::Element { d, a, i } => {
            data(m, l, a, (true, false, false), miss);
            m.load(A, i);
            m.branch_if(B, Test::Ule, Operand::Reg(A), miss);
            m.load_element_to(d, C, A);
        }
        Access::SetElement { a, i, v } => {
            data(m, l, a, (true, true, false), miss);
            m.load(A, i);
            m.branch_if(B, Test::Ule, Operand::Reg(A), miss);
            match v {
                Value::Slot(v) => m.load(B, v),
                Value::Imm(v) => m.load_imm(B, v),
            }
            m.store_element(C, A, B);
        }
        Access::Length { d, a } => {
            data(m, l, a, (true, false, true), miss);
            m.store(d, B);
        }
        Access::Field { d, o, f, g, keep } => match g {
            Some(g) => {
                inner(m, l, o, f, keep, miss);
                read_field_to(m, d, g, miss);
            }
            None => {
                data(m, l, o, (false, false, false), miss);
                read_field_to(m, d, f, miss);
            }
        },
        Access::SetField { o, f, v } => {
            data(m, l, o, (false, true, false), miss);
            m.branch_if(B, Test::Ule, Operand::Imm(f as u32), miss);
            m.load(A, v);
            m.store_word(C, 8 * f as i32, A);
            m.field_written(f);
        }
        Access::Tag { d, s } => {
            m.load(A, s);
            object(m, l, None, miss);
            record(m, miss);
            m.load_narrow(A, C, l.variant, 4);
            m.store(d, A);
        }
        Access::Payload {
            d,
            s,
            variant,
            field: f,
        } => {
            m.load(A, s);
            object(m, l, None, miss);
            record(m, miss);
            m.load_narrow(B, C, l.variant, 4);
            m.branch_if(B, Test::Ne, Operand::Imm(variant as u32), miss);
            m.load_narrow(B, C, 0, 1);
            fields(m, l, miss);
            read_field_to(m, d, f, miss);
        }
        Access::CellGet { d, c } => {
            m.load(A, c);
            object(m, l, Some(layout::CELL), miss);
            m.load_word_to(d, C, l.cell_value);
        }
        Access::CellSet { c, v } => {
            m.load(A, c);
            object(m, l, Some(layout::CELL), miss);
            barrier(m, l, miss);
            m.load(A, v);
            m.store_word(C, l.cell_value, A);
        }
    }
}

/// `C` = where the data of the object in `slot` is (an array's items, a
/// record's fields), `B` = how many words of it there are (a small
/// record's inline slots: all of them, as `Heap::field` reads them), or
/// with `write`, how many a store may write: none if the object needs the
/// write barrier. Read from the context entry the object was looked up
/// into before in this block, or looked up now and remembered there (see
/// `Masm::find_object`): an array's items move only when it grows, a
/// small record's fields only when the object table does, and an object
/// comes to need the barrier only in a collection, all in calls out,
/// after which nothing looked up is known. With `fresh`, looked up
/// whatever is remembered: an entry whose lookup failed reads as no data,
/// which only a use that checks the length may rely on.
fn data<M: Masm>(
    m: &mut M,
    l: &HeapLayout,
    slot: u16,
    (array, write, fresh): (bool, bool, bool),
    miss: M::Label,
) {
    use Reg::{B, C};
    if let Some(i) = m.find_object(slot, array).filter(|_| !fresh) {
        let (items, len, write_len) = Ctx::object(i);
        m.ctx_word(B, if write { write_len } else { len });
        m.ctx_word(C, items);
        return;
    }
    lookup(m, l, slot, array, write, miss);
    if let Some(i) = m.new_object() {
        fill(m, l, i, write);
        m.note_object(i, LookedUp::slot(slot, array));
    }
}

/// `C` = the fields of the record in field `f` of the record in `o`, `B`
/// = how many (as `data` says); with `keep`, that record's handle stored
/// in slot `keep` too. Read from the context entry it was looked up into
/// before (see `Masm::find_inner`): it stays the one there until a field
/// `f` is written, `o` is, or a call out, and a copy in `keep` keeps its
/// entry past the first two. Else looked up now and remembered there.
fn inner<M: Masm>(m: &mut M, l: &HeapLayout, o: u16, f: u16, keep: Option<u16>, miss: M::Label) {
    use Reg::{A, B, C};
    if keep.is_some() || m.find_inner(o, f).is_none() {
        data(m, l, o, (false, false, false), miss);
        read_field(m, f, miss);
        if let Some(keep) = keep {
            m.store(keep, A);
        }
    }
    let name = LookedUp {
        slot: o,
        array: false,
        field: Some(f),
        copy: keep,
    };
    if let Some(i) = m.find_inner(o, f) {
        let (items, len, _) = Ctx::object(i);
        m.ctx_word(B, len);
        m.ctx_word(C, items);
        m.note_object(i, name);
        return;
    }
    object(m, l, None, miss);
    fields(m, l, miss);
    if let Some(i) = m.new_object() {
        fill(m, l, i, false);
        m.note_object(i, name);
    }
}

/// `C` = the data of the object in `slot`, `B` = its length (as `data`
/// says), `A` = the object's handle, looked up in the object table; to
/// `fail` where a check fails (with `write`, also if the object needs the
/// write barrier).
fn lookup<M: Masm>(m: &mut M, l: &HeapLayout, slot: u16, array: bool, write: bool, fail: M::Label) {
    use Reg::{A, B, C};
    m.load(A, slot);
    object(m, l, array.then_some(layout::ARRAY), fail);
    if write {
        barrier(m, l, fail);
        m.load_narrow(B, C, 0, 1);
    }
    if array {
        m.load_word(B, C, l.items_len);
        m.load_word(C, C, l.items_ptr);
    } else {
        fields(m, l, fail);
    }
}

/// `C` = the fields of the record whose table entry is at `C` (its
/// discriminant in `B`), `B` = how many may be read: a small record's
/// inline slots, all of them (past its length they are zero, as
/// `Heap::field` reads them), a big record's length; to `fail` if it is
/// not a record.
fn fields<M: Masm>(m: &mut M, l: &HeapLayout, fail: M::Label) {
    use Reg::{B, C};
    let (big, done) = (m.new_label(), m.new_label());
    m.branch_if(B, Test::Ne, Operand::Imm(layout::RECORD as u32), big);
    m.add_offset(C, C, l.fields);
    m.load_imm(B, INLINE_FIELDS as i64);
    m.jump(done);
    m.bind_local(big);
    m.branch_if(B, Test::Ne, Operand::Imm(layout::BIG_RECORD as u32), fail);
    m.load_word(B, C, l.big_len);
    m.load_word(C, C, l.big_ptr);
    m.bind_local(done);
}

/// `A` = field `f` of the fields at `C`, `B` of them; to `miss` if there
/// is no field `f`.
fn read_field<M: Masm>(m: &mut M, f: u16, miss: M::Label) {
    m.branch_if(Reg::B, Test::Ule, Operand::Imm(f as u32), miss);
    m.load_word(Reg::A, Reg::C, 8 * f as i32);
}

/// Slot `d` = field `f` of the fields at `C`, `B` of them; to `miss` if
/// there is no field `f`.
fn read_field_to<M: Masm>(m: &mut M, d: u16, f: u16, miss: M::Label) {
    m.branch_if(Reg::B, Test::Ule, Operand::Imm(f as u32), miss);
    m.load_word_to(d, Reg::C, 8 * f as i32);
}

/// Context entry `i` = the data and length in `C` and `B` of the object
/// whose handle is in `A`; its length for stores the same, or 0 if the
/// object needs the write barrier (known not to with `checked`). `B` and
/// `C` are kept.
fn fill<M: Masm>(m: &mut M, l: &HeapLayout, i: u8, checked: bool) {
    use Reg::{B, C};
    let (items, len, write_len) = Ctx::object(i);
    m.set_ctx_word(items, C);
    m.set_ctx_word(len, B);
    if checked {
        m.set_ctx_word(write_len, B);
        return;
    }
    let (old, done) = (m.new_label(), m.new_label());
    barrier(m, l, old);
    m.ctx_word(B, len);
    m.set_ctx_word(write_len, B);
    m.jump(done);
    m.bind_local(old);
    m.load_imm(B, 0);
    m.set_ctx_word(write_len, B);
    m.ctx_word(B, len);
    m.bind_local(done);
}

/// Makes context entry `i` hold `want[i]` wherever one is wanted (with
/// `force`, also where `reuse` says it does: a shim ran, or nothing is
/// known), looking the objects up. One whose lookup fails (a value the
/// slot does not hold yet) is set to no data, so that accesses through
/// it miss.
pub(crate) fn establish<M: Masm>(m: &mut M, l: &HeapLayout, want: &Entries, force: bool) {
    for (i, w) in want.iter().enumerate() {
        let Some(w) = *w else { continue };
        let i = i as u8;
        if !force && m.object_at(i) == Some(w) {
            continue;
        }
        let (fail, done) = (m.new_label(), m.new_label());
        lookup(m, l, w.slot, w.array, false, fail);
        if let Some(f) = w.field {
            read_field(m, f, fail);
            object(m, l, None, fail);
            fields(m, l, fail);
        }
        fill(m, l, i, false);
        m.jump(done);
        m.bind_local(fail);
        m.load_imm(Reg::B, 0);
        let (_, len, write_len) = Ctx::object(i);
        m.set_ctx_word(len, Reg::B);
        m.set_ctx_word(write_len, Reg::B);
        m.bind_local(done);
        m.note_object(i, w);
    }
}

/// The objects worth looking up before a loop, to keep in context
/// entries around it: those its body (`accesses`) reads or writes inline
/// through slots it never writes (`written`, sorted). A store into one
/// that needs the write barrier misses once: the shim takes the barrier,
/// and the entry is looked up again after it (`establish`), now writable.
pub(crate) fn invariant(accesses: impl Iterator<Item = Access>, written: &[u16]) -> Entries {
    let mut want: Entries = [None; OBJECT_ENTRIES];
    let mut n = 0;
    for a in accesses {
        let (slot, array) = match a {
            Access::Element { a, .. } | Access::SetElement { a, .. } => (a, true),
            Access::Field { o, .. } | Access::SetField { o, .. } => (o, false),
            _ => continue,
        };
        if n == OBJECT_ENTRIES || written.binary_search(&slot).is_ok() {
            continue;
        }
        if !want[..n].iter().flatten().any(|o| o.slot == slot) {
            want[n] = Some(LookedUp::slot(slot, array));
            n += 1;
        }
    }
    want
}

/// `C` = the table entry of the handle in `A`, `B` = its discriminant,
/// which must be `kind` if given; `A` is kept.
fn object<M: Masm>(m: &mut M, l: &HeapLayout, kind: Option<u8>, miss: M::Label) {
    m.heap_word(Reg::C, l.table_len);
    m.branch_if(Reg::C, Test::Ule, Operand::Reg(Reg::A), miss);
    m.heap_word(Reg::C, l.table_ptr);
    m.add_scaled(Reg::C, Reg::A, l.stride);
    m.load_narrow(Reg::B, Reg::C, 0, 1);
    if let Some(kind) = kind {
        m.branch_if(Reg::B, Test::Ne, Operand::Imm(kind as u32), miss);
    }
}

/// To `miss` if the object whose handle is in `A` needs the write
/// barrier (`flags` is as long as the table, which `object` checked);
/// `B` is clobbered.
fn barrier<M: Masm>(m: &mut M, l: &HeapLayout, miss: M::Label) {
    m.heap_word(Reg::B, l.flags_ptr);
    m.add_scaled(Reg::B, Reg::A, 1);
    m.load_narrow(Reg::B, Reg::B, 0, 1);
    m.branch_if(Reg::B, Test::Eq, Operand::Imm(layout::BARRIER as u32), miss);
}

/// To `miss` unless the discriminant in `B` is a record's, small or big.
fn record<M: Masm>(m: &mut M, miss: M::Label) {
    let ok = m.new_label();
    m.branch_if(Reg::B, Test::Eq, Operand::Imm(layout::RECORD as u32), ok);
    m.branch_if(
        Reg::B,
        Test::Ne,
        Operand::Imm(layout::BIG_RECORD as u32),
        miss,
    );
    m.bind_local(ok);
}
