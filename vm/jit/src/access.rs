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
//!
//! A record looked up through a local is checked once for every field
//! the function reads through that local (`Widest`); the entry says so
//! (`LookedUp::words`), and reads through it check nothing more. Where
//! an entry is looked up again for code that trusts that (`establish`),
//! a record without those fields (which a verified program never has)
//! leaves compiled code.

use crate::layout::HeapLayout;
use crate::masm::{Entries, LookedUp, Masm, Operand, Reg, Test, Word};
use crate::Ctx;
use crate::OBJECT_ENTRIES;
use std::collections::HashMap;
use tern_vm::heap::{layout, INLINE_FIELDS};
use tern_vm::internal::Op;

/// The widest field a function reads or writes inline through each of
/// its locals (`(slot, None)`) and through each field of one (`(slot,
/// Some(f))`: `slot.f.g`). A local keeps its declared type (the verifier
/// checks every store), so every record in it has a field that wide:
/// looking one up can check for all of them at once. Stack slots hold
/// values of different types at different points and are left out.
///
/// It also keeps the slots the function stores through inline (any
/// slot, sorted), and the inner records `(slot, field)` a copy of which
/// is kept in one of them: only an object looked up under one of their
/// names needs its length for stores worked out (see `fill`).
#[derive(Default)]
pub(crate) struct Widest {
    widest: HashMap<(u16, Option<u16>), u16>,
    stored: Vec<u16>,
    kept: Vec<(u16, u16)>,
}

impl Widest {
    /// Of `accesses`, in a function of `locals` parameters and locals.
    pub(crate) fn of(accesses: impl Iterator<Item = Access>, locals: usize) -> Widest {
        let mut w = Widest::default();
        let mut stored = Vec::new();
        let mut keeps = Vec::new();
        let mut note = |slot: u16, through: Option<u16>, f: u16| {
            if (slot as usize) < locals {
                let at = w.widest.entry((slot, through)).or_insert(f);
                *at = (*at).max(f);
            }
        };
        for a in accesses {
            match a {
                Access::Field { o, f, g, .. } => {
                    note(o, None, f);
                    if let Some(g) = g {
                        note(o, Some(f), g);
                    }
                }
                Access::SetField { o, f, .. } => note(o, None, f),
                _ => {}
            }
            match a {
                Access::SetField { o: s, .. } | Access::SetElement { a: s, .. } => stored.push(s),
                Access::Field {
                    o,
                    f,
                    keep: Some(k),
                    ..
                } => keeps.push((k, o, f)),
                _ => {}
            }
        }
        stored.sort_unstable();
        stored.dedup();
        // An inner record `o.f` is also stored through where a copy of it
        // kept in a slot is: an entry for it found again by `inner` takes
        // that copy's name without being filled again.
        let mut kept: Vec<(u16, u16)> = keeps
            .into_iter()
            .filter(|(k, _, _)| stored.binary_search(k).is_ok())
            .map(|(_, o, f)| (o, f))
            .collect();
        kept.sort_unstable();
        kept.dedup();
        w.stored = stored;
        w.kept = kept;
        w
    }

    /// Whether a store may go through the object looked up as `name`:
    /// one of its names is a slot the function stores through, or it is
    /// an inner record a stored-through copy is kept of.
    fn stored(&self, name: &LookedUp) -> bool {
        let through = |s: u16| self.stored.binary_search(&s).is_ok();
        let slot = match name.field {
            None => through(name.slot),
            Some(f) => self.kept.binary_search(&(name.slot, f)).is_ok(),
        };
        slot || name.copy.is_some_and(through)
    }

    /// The object in `slot` as looked up: a record checked for the
    /// fields the function uses through `slot`.
    /// An array (of bytes, with `bytes`) if `array`.
    fn named(&self, slot: u16, (array, bytes): (bool, bool)) -> LookedUp {
        let words = if array { 0 } else { self.words(slot, None) };
        LookedUp {
            words,
            bytes,
            ..LookedUp::slot(slot, array)
        }
    }

    /// How many fields to check a record for when it is looked up
    /// through `slot` (with `through`, as `slot.through`): 0 for none.
    fn words(&self, slot: u16, through: Option<u16>) -> u32 {
        let words = self
            .widest
            .get(&(slot, through))
            .map_or(0, |&w| w as u32 + 1);
        #[cfg(test)]
        let words = match words {
            0 => 0,
            w => w + tests::OVERCLAIM.with(|c| c.get()),
        };
        words
    }
}

/// An instruction done inline: its operand slots.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    /// `d = a[i]`; with `bytes`, `a` is a `[bool]` (see `Op::AGet`).
    Element { d: u16, a: u16, i: u16, bytes: bool },
    /// `a[i] = v`.
    SetElement {
        a: u16,
        i: u16,
        v: Value,
        bytes: bool,
    },
    /// `d = len(a)`.
    Length { d: u16, a: u16, bytes: bool },
    /// `d = o.f`, or `d = o.f.g`, with `keep` `keep = o.f` too; `o`
    /// holds a record of struct type `ty` (`NO_OWNER`: not known).
    Field {
        d: u16,
        o: u16,
        f: u16,
        g: Option<u16>,
        keep: Option<u16>,
        ty: u16,
    },
    /// `o.f = v`, `o` of struct type `ty`.
    SetField { o: u16, f: u16, v: u16, ty: u16 },
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
            Access::SetElement { a, i, v, .. } => [Some(a), Some(i), value(v)],
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
        Op::AGet { d, a, i, bytes } => Access::Element { d, a, i, bytes },
        Op::ASet { a, i, v, bytes } => Access::SetElement {
            a,
            i,
            v: Value::Slot(v),
            bytes,
        },
        Op::ASetImm { a, i, v, bytes } => Access::SetElement {
            a,
            i,
            v: Value::Imm(v as i64),
            bytes,
        },
        Op::ALen { d, a, bytes } => Access::Length { d, a, bytes },
        Op::GetField { d, o, f, ty } => Access::Field {
            d,
            o,
            f,
            g: None,
            keep: None,
            ty,
        },
        Op::GetField2 { d, o, f, g, ty } => Access::Field {
            d,
            o,
            f,
            g: Some(g),
            keep: None,
            ty,
        },
        // Writing `m` before the second read could check it means the
        // shim would read a changed `o` if the two are one slot.
        Op::GetFieldKeep { d, m, o, f, g, ty } if m != o => Access::Field {
            d,
            o,
            f,
            g: Some(g),
            keep: Some(m),
            ty,
        },
        Op::SetField { o, f, v, ty } => Access::SetField { o, f, v, ty },
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

/// Emits `access` (of a function whose locals' fields are `widest`),
/// jumping to `miss` where a check fails.
pub(crate) fn emit<M: Masm>(
    m: &mut M,
    l: &HeapLayout,
    widest: &Widest,
    access: Access,
    miss: M::Label,
) {
    use Reg::{A, B, C};
    match access {
        Access::Element { d, a, i, bytes } => {
            data(m, l, widest, a, (true, bytes, false, d != a), None, miss);
            m.load(A, i);
            m.branch_if(B, Test::Ule, Operand::Reg(A), miss);
            if bytes {
                // Read each time: `reuse` keeps words read through
                // `read_to`, never bytes (the value read goes to `d` as
                // any result does).
                m.add_scaled(C, A, 1);
                m.load_narrow(A, C, 0, 1);
                m.store(d, A);
            } else {
                m.load_element_to(d, C, A);
            }
        }
        Access::SetElement { a, i, v, bytes } => {
            data(m, l, widest, a, (true, bytes, true, true), None, miss);
            m.load(A, i);
            m.branch_if(B, Test::Ule, Operand::Reg(A), miss);
            match (v, bytes) {
                (Value::Slot(v), false) => m.store_slot_to(C, Word::Element(A), v, B),
                (Value::Imm(v), false) => m.store_element_imm(C, A, v, B),
                (v, true) => {
                    // A bool is 0 or 1: its low byte is the element.
                    match v {
                        Value::Slot(v) => m.load(B, v),
                        Value::Imm(v) => m.load_imm(B, v),
                    }
                    m.add_scaled(C, A, 1);
                    m.store_narrow(C, 0, B, 1);
                }
            }
        }
        Access::Length { d, a, bytes } => {
            data(m, l, widest, a, (true, bytes, false, d != a), None, miss);
            m.store(d, B);
        }
        Access::Field {
            d,
            o,
            f,
            g,
            keep,
            ty,
        } => match g {
            Some(g) => {
                let known = inner(m, l, widest, (o, ty), (f, g), keep, miss);
                has_field(m, known, g, miss);
                m.load_word_to(d, C, 8 * g as i32);
            }
            None => {
                let through = (false, false, false, d != o);
                let known = data(m, l, widest, o, through, Some(f), miss);
                has_field(m, known, f, miss);
                m.load_word_to(d, C, 8 * f as i32);
            }
        },
        Access::SetField { o, f, v, ty } => {
            let known = data(m, l, widest, o, (false, false, true, true), Some(f), miss);
            has_field(m, known, f, miss);
            m.store_slot_to(C, Word::At(8 * f as i32), v, A);
            m.field_written(ty, f);
        }
        Access::Tag { d, s } => {
            m.load(A, s);
            object(m, l, None, miss);
            record(m, miss);
            // The match arm's payload reads after it find the object's
            // entry here (see `lookup`).
            m.set_ctx_word(Ctx::TAGGED, C);
            m.note_tagged(s);
            m.load_narrow(A, C, l.variant, 4);
            m.store(d, A);
        }
        Access::Payload {
            d,
            s,
            variant,
            field: f,
        } => {
            // A record whose variant a check here found is read through
            // its entry; else checked, and remembered as of `variant`.
            let of_variant = |o: LookedUp| o.variant == Some(variant);
            let known = match m.find_object(s, (false, false)) {
                Some(i) if m.object_at(i).is_some_and(of_variant) => {
                    from_entry(m, i, false, Some(f))
                }
                _ => {
                    let name = LookedUp {
                        variant: Some(variant),
                        ..widest.named(s, (false, false))
                    };
                    remember(m, l, widest, name, (false, d != s), miss)
                }
            };
            has_field(m, known, f, miss);
            m.load_word_to(d, C, 8 * f as i32);
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
            m.store_slot_to(C, Word::At(l.cell_value), v, A);
        }
    }
}

/// `C` = where the data of the object in `slot` is (an array's items,
/// with `bytes` an array of bytes', a record's fields), `B` = how many
/// elements or words of it there are (a small
/// record's inline slots: all of them, as `Heap::field` reads them), or
/// with `write`, how many a store may write: none if the object needs the
/// write barrier. Read from the context entry the object was looked up
/// into before in this block, or looked up now and remembered there (see
/// `Masm::find_object`): an array's items move only when it grows, a
/// small record's fields only when the object table does, and an object
/// comes to need the barrier only in a collection, all in calls out,
/// after which nothing looked up is known. Every entry holds an object's
/// data (an entry is noted only where its lookup succeeded).
///
/// A record looked up now is checked for the fields `widest` says (to
/// `miss` if it lacks one). The words of its data known to be there for
/// the access (field `f`, if one): those checked now, or the entry's for
/// a read (a store's length may be 0: see `fill`), and `B` is not
/// loaded if field `f` is among them.
fn data<M: Masm>(
    m: &mut M,
    l: &HeapLayout,
    widest: &Widest,
    slot: u16,
    (array, bytes, write, keep): (bool, bool, bool, bool),
    f: Option<u16>,
    miss: M::Label,
) -> u32 {
    let kind = (array, bytes);
    if let Some(i) = m.find_object(slot, kind) {
        return from_entry(m, i, write, f);
    }
    remember(m, l, widest, widest.named(slot, kind), (write, keep), miss)
}

/// Looks up the object `name` names (checked for its claims: the fields,
/// the variant) into a new context entry, as `data` says, unless not
/// `keep` (the access overwrites the slot it went through, which would
/// forget the entry at once); the words of its data known to be there.
fn remember<M: Masm>(
    m: &mut M,
    l: &HeapLayout,
    widest: &Widest,
    name: LookedUp,
    (write, keep): (bool, bool),
    miss: M::Label,
) -> u32 {
    let claims = (name.words, name.variant);
    lookup(
        m,
        l,
        (name.slot, name.array, name.bytes),
        write,
        claims,
        miss,
    );
    if let Some(i) = keep.then(|| m.new_object()).flatten() {
        fill(m, l, i, write, widest.stored(&name));
        m.note_object(i, name);
    }
    match name.array {
        true => name.words,
        false => readable(name.words),
    }
}

/// The words of a record's data known to be there, `words` of them
/// checked: at least `INLINE_FIELDS`, which every record's data has (a
/// small record's inline slots, zero past its length as `Heap::field`
/// reads them; a big record has more fields than that, or it would be
/// small). An entry is only ever a looked-up object's, never empty.
fn readable(words: u32) -> u32 {
    words.max(INLINE_FIELDS as u32)
}

/// `C` = the data of the object context entry `i` holds, `B` = its
/// length (with `write`, its length for stores), unless field `f` is
/// among the words the entry is known to have (`LookedUp::words`; a
/// store's length may be 0: see `fill`). Those words: what `data` says.
fn from_entry<M: Masm>(m: &mut M, i: u8, write: bool, f: Option<u16>) -> u32 {
    let (items, len, write_len) = Ctx::object(i);
    let known = match (write, m.object_at(i)) {
        (false, Some(o)) if o.array => o.words,
        (false, Some(o)) => readable(o.words),
        _ => 0,
    };
    if !f.is_some_and(|f| known > f as u32) {
        m.ctx_word(Reg::B, if write { write_len } else { len });
    }
    m.ctx_word(Reg::C, items);
    known
}

/// To `miss` unless `B`, a record's length, is at least `words`.
fn at_least<M: Masm>(m: &mut M, words: u32, miss: M::Label) {
    if words > 0 {
        m.branch_if(Reg::B, Test::Ule, Operand::Imm(words - 1), miss);
    }
}

/// `C` = the fields of the record in field `f` of the record in `o`, `B`
/// = how many (as `data` says, for a read of its field `g`); with `keep`,
/// that record's handle stored in slot `keep` too. Read from the context
/// entry it was looked up into before (see `Masm::find_inner`): it stays
/// the one there until a field `f` is written, `o` is, or a call out, and
/// a copy in `keep` keeps its entry past the first two. Else looked up
/// now and remembered there. The words known to be there (as `data`).
fn inner<M: Masm>(
    m: &mut M,
    l: &HeapLayout,
    widest: &Widest,
    (o, owner): (u16, u16),
    (f, g): (u16, u16),
    keep: Option<u16>,
    miss: M::Label,
) -> u32 {
    use Reg::{A, C};
    if keep.is_some() || m.find_inner(o, f).is_none() {
        let known = data(m, l, widest, o, (false, false, false, true), Some(f), miss);
        has_field(m, known, f, miss);
        m.load_word(A, C, 8 * f as i32);
        if let Some(keep) = keep {
            m.store(keep, A);
        }
    }
    let name = LookedUp {
        field: Some(f),
        owner,
        copy: keep,
        ..LookedUp::slot(o, false)
    };
    if let Some(i) = m.find_inner(o, f) {
        let words = m.object_at(i).map_or(0, |e| e.words);
        let known = from_entry(m, i, false, Some(g));
        m.note_object(i, LookedUp { words, ..name });
        return known;
    }
    object(m, l, None, miss);
    // The claim is for `o.f` (a `keep` copy is a stack slot).
    let words = widest.words(name.slot, name.field);
    fields(m, l, words, miss);
    if let Some(i) = m.new_object() {
        fill(m, l, i, false, widest.stored(&name));
        m.note_object(i, LookedUp { words, ..name });
    }
    readable(words)
}

/// `C` = the data of the object in `slot`, `B` = its length (as `data`
/// says), `A` = the object's handle, looked up in the object table; to
/// `fail` where a check fails (with `write`, also if the object needs the
/// write barrier; a record, also if it has fewer than `words` fields or,
/// with `variant`, is not of that variant).
fn lookup<M: Masm>(
    m: &mut M,
    l: &HeapLayout,
    (slot, array, bytes): (u16, bool, bool),
    write: bool,
    (words, variant): (u32, Option<u16>),
    fail: M::Label,
) {
    use Reg::{A, B, C};
    m.load(A, slot);
    if !array && m.tagged() == Some(slot) {
        // Its tag was read: the entry is the one found then (the slot
        // has not been written since, nor the object table moved).
        m.ctx_word(C, Ctx::TAGGED);
        m.load_narrow(B, C, 0, 1);
    } else if array {
        self::array(m, l, bytes, fail);
    } else {
        object(m, l, None, fail);
    }
    if write {
        barrier(m, l, fail);
        m.load_narrow(B, C, 0, 1);
    }
    if array {
        m.load_word(B, C, l.items_len);
        m.load_word(C, C, l.items_ptr);
    } else {
        if let Some(v) = variant {
            // Whatever the entry holds, its variant's word is inside it;
            // one that is no record fails in `fields` (the variant read
            // from it is not looked at otherwise).
            m.load_narrow(B, C, l.variant, 4);
            m.branch_if(B, Test::Ne, Operand::Imm(v as u32), fail);
            m.load_narrow(B, C, 0, 1);
        }
        fields(m, l, words, fail);
    }
}

/// `C` = the fields of the record whose table entry is at `C` (its
/// discriminant in `B`), `B` = how many may be read: a small record's
/// inline slots, all of them (past its length they are zero, as
/// `Heap::field` reads them), a big record's length; to `fail` if it is
/// not a record, or has fewer than `words` (a small record has all it
/// may have, so only a big one's length is compared).
fn fields<M: Masm>(m: &mut M, l: &HeapLayout, words: u32, fail: M::Label) {
    use Reg::{B, C};
    let (big, done) = (m.local_label(), m.local_label());
    if words as usize > INLINE_FIELDS {
        // (A branch: a jump to a label not local writes registers back.)
        m.branch_if(B, Test::Eq, Operand::Imm(layout::RECORD as u32), fail);
    } else {
        m.branch_if(B, Test::Ne, Operand::Imm(layout::RECORD as u32), big);
        m.add_offset(C, C, l.fields);
        m.load_imm(B, INLINE_FIELDS as i64);
        m.jump(done);
    }
    m.bind_local(big);
    m.branch_if(B, Test::Ne, Operand::Imm(layout::BIG_RECORD as u32), fail);
    m.load_word(B, C, l.big_len);
    m.load_word(C, C, l.big_ptr);
    at_least(m, words, fail);
    m.bind_local(done);
}

/// `A` = field `f` of the fields at `C`, `B` of them; to `miss` if there
/// is no field `f`.
fn read_field<M: Masm>(m: &mut M, f: u16, miss: M::Label) {
    m.branch_if(Reg::B, Test::Ule, Operand::Imm(f as u32), miss);
    m.load_word(Reg::A, Reg::C, 8 * f as i32);
}

/// To `miss` unless the fields at `C`, `B` of them, have a field `f`:
/// no check if `known` words of them are known to be there and `f` is
/// among them (`data` then left `B` unset).
fn has_field<M: Masm>(m: &mut M, known: u32, f: u16, miss: M::Label) {
    if known <= f as u32 {
        m.branch_if(Reg::B, Test::Ule, Operand::Imm(f as u32), miss);
    }
}

/// Context entry `i` = the data and length in `C` and `B` of the object
/// whose handle is in `A`; its length for stores the same, or 0 if the
/// object needs the write barrier (known not to with `checked`), or 0
/// without looking where no store goes through it (`stored` false: see
/// `Widest::stored`; one that does anyway misses, and the shim does it).
/// `B` and `C` are kept, `A` is not.
fn fill<M: Masm>(m: &mut M, l: &HeapLayout, i: u8, checked: bool, stored: bool) {
    use Reg::{A, B, C};
    let (items, len, write_len) = Ctx::object(i);
    m.set_ctx_word(items, C);
    m.set_ctx_word(len, B);
    if checked {
        m.set_ctx_word(write_len, B);
        return;
    }
    if !stored {
        m.load_imm(A, 0);
        m.set_ctx_word(write_len, A);
        return;
    }
    let (old, done) = (m.local_label(), m.local_label());
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
/// known), looking the objects up. Where a lookup fails (the slot holds
/// no object of the kind, or a record without the `words` fields the
/// code after trusts it to have), compiled code goes to `leave` (see
/// `needs_leave`; `None` if there is none where one is needed).
pub(crate) fn establish<M: Masm>(
    m: &mut M,
    l: &HeapLayout,
    widest: &Widest,
    want: &Entries,
    force: bool,
    leave: Option<M::Label>,
) -> Option<()> {
    for (i, w) in want.iter().enumerate() {
        let Some(w) = *w else { continue };
        let i = i as u8;
        if !stale(m, i, w, force) {
            continue;
        }
        // Every failure leaves: an entry is only ever an object's (see
        // `readable`), and no verified program fails here (a slot a loop
        // does not write holds what it held before the loop, of its type).
        let fail = leave?;
        // The claims are for the record found last (`w.slot.f` if a
        // field; an inner record is never named with a variant).
        let outer = match w.field {
            Some(_) => (0, None),
            None => (w.words, w.variant),
        };
        lookup(m, l, (w.slot, w.array, w.bytes), false, outer, fail);
        if let Some(f) = w.field {
            read_field(m, f, fail);
            object(m, l, None, fail);
            fields(m, l, w.words, fail);
        }
        fill(m, l, i, false, widest.stored(&w));
        m.note_object(i, w);
    }
    Some(())
}

/// Makes `Ctx::TAGGED` hold the table entry of the object in `slot`
/// again (where code after trusts it to: see `Held::tagged`); to `fail`
/// where it is not in the table (which no verified program meets).
pub(crate) fn retag<M: Masm>(m: &mut M, l: &HeapLayout, slot: u16, fail: M::Label) {
    m.load(Reg::A, slot);
    object(m, l, None, fail);
    m.set_ctx_word(Ctx::TAGGED, Reg::C);
    m.note_tagged(slot);
}

/// Whether `establish`ing `want` (with `force` or not) needs somewhere
/// to leave to: where it looks an entry up.
pub(crate) fn needs_leave<M: Masm>(m: &M, want: &Entries, force: bool) -> bool {
    (0..OBJECT_ENTRIES as u8)
        .zip(want)
        .any(|(i, w)| w.is_some_and(|w| stale(m, i, w, force)))
}

/// Whether `establish` looks entry `i` up to hold `w`: with `force`, or
/// where it holds something else (the same object with its variant
/// known where `w` does not say is the same).
fn stale<M: Masm>(m: &M, i: u8, w: LookedUp, force: bool) -> bool {
    let holds = m
        .object_at(i)
        .is_some_and(|o| o == w || (w.variant.is_none() && LookedUp { variant: None, ..o } == w));
    force || !holds
}

/// The objects worth looking up before a loop, to keep in context
/// entries around it: those its body (`accesses`) reads or writes inline
/// through slots it never writes (`written`, sorted), records checked
/// for the fields `widest` says. A store into one that needs the write
/// barrier misses once: the shim takes the barrier, and the entry is
/// looked up again after it (`establish`), now writable.
pub(crate) fn invariant(
    accesses: impl Iterator<Item = Access>,
    written: &[u16],
    widest: &Widest,
) -> Entries {
    let mut want: Entries = [None; OBJECT_ENTRIES];
    let mut n = 0;
    for a in accesses {
        let (slot, kind) = match a {
            Access::Element { a, bytes, .. } | Access::SetElement { a, bytes, .. } => {
                (a, (true, bytes))
            }
            Access::Field { o, .. } | Access::SetField { o, .. } => (o, (false, false)),
            _ => continue,
        };
        if n == OBJECT_ENTRIES || written.binary_search(&slot).is_ok() {
            continue;
        }
        if !want[..n].iter().flatten().any(|o| o.slot == slot) {
            want[n] = Some(widest.named(slot, kind));
            n += 1;
        }
    }
    want
}

/// `C` = the table entry of the handle in `A`, `B` = its discriminant,
/// which must be `kind` if given; `A` is kept.
pub(crate) fn object<M: Masm>(m: &mut M, l: &HeapLayout, kind: Option<u8>, miss: M::Label) {
    m.ctx_word(Reg::C, Ctx::HEAP);
    m.load_word(Reg::B, Reg::C, l.table_len);
    m.branch_if(Reg::B, Test::Ule, Operand::Reg(Reg::A), miss);
    m.load_word(Reg::C, Reg::C, l.table_ptr);
    m.add_scaled(Reg::C, Reg::A, l.stride);
    m.load_narrow(Reg::B, Reg::C, 0, 1);
    if let Some(kind) = kind {
        m.branch_if(Reg::B, Test::Ne, Operand::Imm(kind as u32), miss);
    }
}

/// `C` = the table entry of the handle in `A`, to `miss` unless it is
/// an array whose elements are bytes (with `bytes`) or words (without):
/// where an element's width is worked out, no other check is needed.
/// `A` is kept, `B` clobbered.
pub(crate) fn array<M: Masm>(m: &mut M, l: &HeapLayout, bytes: bool, miss: M::Label) {
    object(m, l, Some(layout::ARRAY), miss);
    let kind = match bytes {
        true => layout::ITEMS_BYTES,
        false => layout::ITEMS_WORDS,
    };
    m.load_narrow(Reg::B, Reg::C, l.items_kind, 1);
    m.branch_if(Reg::B, Test::Ne, Operand::Imm(kind as u32), miss);
}

/// To `miss` if the object whose handle is in `A` needs the write
/// barrier (`flags` is as long as the table, which `object` checked);
/// `B` is clobbered.
pub(crate) fn barrier<M: Masm>(m: &mut M, l: &HeapLayout, miss: M::Label) {
    m.heap_word(Reg::B, l.flags_ptr);
    m.add_scaled(Reg::B, Reg::A, 1);
    m.load_narrow(Reg::B, Reg::B, 0, 1);
    m.branch_if(Reg::B, Test::Eq, Operand::Imm(layout::BARRIER as u32), miss);
}

/// To `miss` unless the discriminant in `B` is a record's, small or big.
fn record<M: Masm>(m: &mut M, miss: M::Label) {
    let ok = m.local_label();
    m.branch_if(Reg::B, Test::Eq, Operand::Imm(layout::RECORD as u32), ok);
    m.branch_if(
        Reg::B,
        Test::Ne,
        Operand::Imm(layout::BIG_RECORD as u32),
        miss,
    );
    m.bind_local(ok);
}

#[cfg(test)]
mod tests;
