//! The instructions whose work is more than a few machine instructions:
//! strings, conversions to text, maps, repeated arrays and host calls, each
//! one function out of the dispatch loop (so the loop's hot paths keep
//! their registers), called with the running frame's `pc` and the fuel
//! count already saved in `self`.
//!
//! Each takes the value stack and the stack pointer and returns the new
//! stack pointer; its operands are popped and its result pushed exactly as
//! the instruction table says. Each charges the fuel for its work before
//! doing it ([`Vm::charge`]), makes room on the heap at its one safepoint
//! before it pops anything ([`Vm::reserve`]), and passes the watch to every
//! part of the work that grows with its data.

use super::Vm;
use crate::heap::{
    array_bytes, element_bytes, new_text, str_size, Items, Key, KeyRef, Object, MAP_HEADER_BYTES,
    OBJECT_BYTES,
};
use crate::host::Value;
use crate::limits::{work_units, Stop, CHUNK_BYTES, CHUNK_ELEMENTS, ELEMENTS_PER_UNIT};
use crate::map::Lookup;
use crate::module::{TypeDesc, TypeId, STR, UNIT};
use crate::opcodes::Instr;
use crate::stack::ValueStack;
use crate::strings::{self, SliceError};
use crate::text;
use crate::trap::{Trap, TrapKind};
use compact_str::{CompactString, ToCompactString};

impl Vm<'_> {
    /// Charges `bytes` and `elements` of work to the fuel, before the
    /// work: out of fuel, the instruction traps without doing it.
    #[inline]
    pub(super) fn charge<const METER: bool>(
        &mut self,
        bytes: usize,
        elements: usize,
    ) -> Result<(), Trap> {
        if METER {
            self.add_work(work_units(bytes, elements))?;
        }
        Ok(())
    }

    /// Makes room for `need` accounted bytes (collecting if due), or traps.
    #[inline]
    pub(super) fn reserve(&mut self, stack: &ValueStack, need: usize) -> Result<(), Trap> {
        if self.heap.may_collect(need) {
            let pc = self.frames.last().expect("running frame").pc as usize;
            self.safepoint(Some(stack), pc, need)?;
        }
        Ok(())
    }

    /// The result of work the watch may stop.
    #[inline]
    pub(super) fn watched<T>(&mut self, r: Result<T, Stop>) -> Result<T, Trap> {
        r.map_err(|s| self.stopped(s))
    }

    #[cold]
    pub(super) fn fail(&mut self, kind: TrapKind, message: String) -> Trap {
        self.make_trap(kind, message)
    }

    /// `seq`, `sne`, `slt`, `sle`, `sgt`, `sge`.
    #[inline(never)]
    pub(super) fn op_str_compare<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ins: Instr,
    ) -> Result<usize, Trap> {
        let (a, b) = (stack[sp - 2], stack[sp - 1]);
        if METER {
            let (la, lb) = (self.heap.str(a).len(), self.heap.str(b).len());
            match ins {
                // Strings of different lengths differ at once.
                Instr::SEq {} | Instr::SNe {} if la != lb => {}
                Instr::SEq {} | Instr::SNe {} => self.charge::<METER>(la, 0)?,
                _ => self.charge::<METER>(la.min(lb), 0)?,
            }
        }
        let r = self.heap.str_compare(ins, a, b, &self.watch);
        stack[sp - 2] = self.watched(r)? as u64;
        Ok(sp - 1)
    }

    #[inline(never)]
    pub(super) fn op_concat<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (a, b) = (stack[sp - 2], stack[sp - 1]);
        let (need, copied) = self.heap.concat_need(a, b);
        self.charge::<METER>(copied, 0)?;
        self.reserve(stack, need)?;
        let r = self.heap.concat(a, b, &self.watch);
        stack[sp - 2] = self.watched(r)?;
        Ok(sp - 1)
    }

    #[inline(never)]
    pub(super) fn op_slice<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (h, a, b) = (stack[sp - 3], stack[sp - 2] as i64, stack[sp - 1] as i64);
        let s = self.heap.str(h);
        let range = match strings::slice_range(s, a, b) {
            Ok(range) => range,
            Err(SliceError::OutOfRange) => {
                let msg = format!("slice {a}..{b} out of range for length {}", s.len());
                return Err(self.fail(TrapKind::IndexOutOfBounds, msg));
            }
            Err(SliceError::NotOnBoundary) => {
                let msg = format!("slice {a}..{b} is not on a character boundary");
                return Err(self.fail(TrapKind::InvalidArgument, msg));
            }
        };
        self.charge::<METER>(range.len(), 0)?;
        self.reserve(stack, str_size(range.len()))?;
        let r = self.heap.slice(h, range, &self.watch);
        stack[sp - 3] = self.watched(r)?;
        Ok(sp - 2)
    }

    /// `ssplit`: the pieces are made as they are found, into an array
    /// pinned as a root, each behind a safepoint; so the limit is checked
    /// piece by piece and nothing is held off the heap.
    #[inline(never)]
    pub(super) fn op_split<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (s, sep) = (stack[sp - 2], stack[sp - 1]);
        // Every byte is scanned once and copied at most once.
        self.charge::<METER>(2 * self.heap.str(s).len(), 0)?;
        self.reserve(stack, OBJECT_BYTES)?;
        let pieces = self.heap.alloc(Object::Array {
            refs: true,
            items: Items::default(),
        });
        let mark = self.pinned.len();
        self.pinned.push(pieces);
        let r = self.split_into::<METER>(stack, s, sep, pieces);
        self.pinned.truncate(mark);
        r?;
        stack[sp - 2] = pieces;
        Ok(sp - 1)
    }

    /// Finds the pieces a batch at a time (at most 256 pieces, or as many
    /// as 64 KiB of text holds), makes room for the whole batch at one
    /// safepoint, then makes them and appends them to `pieces`; the watch
    /// is checked between batches, and within a long search or copy.
    fn split_into<const METER: bool>(
        &mut self,
        stack: &ValueStack,
        s: u64,
        sep: u64,
        pieces: u64,
    ) -> Result<(), Trap> {
        const BATCH: usize = 256;
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::with_capacity(BATCH);
        let mut slots: Vec<u64> = Vec::with_capacity(BATCH);
        let mut pos = Some(0);
        while let Some(start) = pos {
            ranges.clear();
            let (text, sep_text) = (self.heap.str(s), self.heap.str(sep));
            let mut at = start;
            let mut stopped = None;
            pos = None;
            while ranges.len() < BATCH {
                let found = match strings::next_piece_watched(text, sep_text, at, &self.watch) {
                    Ok(found) => found,
                    Err(stop) => {
                        stopped = Some(stop);
                        break;
                    }
                };
                let Some((range, next)) = found else {
                    break;
                };
                ranges.push(range);
                match next {
                    Some(n) => at = n,
                    None => break,
                }
                if ranges.len() == BATCH || at - start >= CHUNK_BYTES {
                    pos = Some(at);
                    break;
                }
            }
            if let Some(stop) = stopped {
                return Err(self.stopped(stop));
            }
            if ranges.is_empty() {
                break;
            }
            // A unit for each piece: each is a new object.
            self.charge::<METER>(0, ranges.len() * ELEMENTS_PER_UNIT)?;
            let need = ranges.iter().map(|r| str_size(r.len())).sum::<usize>()
                + self.heap.array_extend_need(pieces, ranges.len());
            self.reserve(stack, need)?;
            slots.clear();
            for r in ranges.drain(..) {
                let piece = if r.len() <= CHUNK_BYTES {
                    new_text(&self.heap.str(s)[r])
                } else {
                    let mut t = CompactString::with_capacity(r.len());
                    let copied = strings::push_watched(&mut t, &self.heap.str(s)[r], &self.watch);
                    self.watched(copied)?;
                    t
                };
                slots.push(self.heap.alloc_text(piece));
            }
            let r = self.heap.array_extend(pieces, &slots);
            self.watched(r)?;
            let r = self.watch.check();
            self.watched(r)?;
        }
        Ok(())
    }

    #[inline(never)]
    pub(super) fn op_find<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (a, b) = (stack[sp - 2], stack[sp - 1]);
        self.charge::<METER>(self.heap.str(a).len() + self.heap.str(b).len(), 0)?;
        let r = self.heap.find(a, b, &self.watch);
        stack[sp - 2] = self.watched(r)? as u64;
        Ok(sp - 1)
    }

    #[inline(never)]
    pub(super) fn op_join<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (a, sep) = (stack[sp - 2], stack[sp - 1]);
        self.charge::<METER>(0, self.heap.array(a).len())?;
        let len = self.heap.join_len(a, sep, &self.watch);
        let len = self.watched(len)?;
        self.charge::<METER>(len, 0)?;
        self.reserve(stack, str_size(len))?;
        let r = self.heap.join(a, sep, len, &self.watch);
        stack[sp - 2] = self.watched(r)?;
        Ok(sp - 1)
    }

    /// `itos`, `ftos`, `btos`, `stoi`, `stof`, `ffixed`.
    #[inline(never)]
    pub(super) fn op_text<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ins: Instr,
    ) -> Result<usize, Trap> {
        let top = stack[sp - 1];
        let (at, v) = match ins {
            Instr::IToS {} => {
                self.reserve(stack, OBJECT_BYTES)?;
                let t = (top as i64).to_compact_string();
                (sp - 1, self.heap.alloc_text(t))
            }
            Instr::FToS {} => {
                self.reserve(stack, str_size(text::MAX_FLOAT_CHARS))?;
                let s = text::FloatText::new(f64::from_bits(top));
                (sp - 1, self.heap.alloc_str(s.as_str()))
            }
            Instr::BToS {} => {
                self.reserve(stack, OBJECT_BYTES)?;
                let s = if top != 0 { "true" } else { "false" };
                (sp - 1, self.heap.alloc_str(s))
            }
            Instr::SToI {} => {
                self.charge::<METER>(self.heap.str(top).len(), 0)?;
                let parsed = text::parse_int(self.heap.str(top), &self.watch);
                match self.watched(parsed)? {
                    Ok(i) => (sp - 1, i as u64),
                    Err(e) => return Err(self.fail(TrapKind::InvalidArgument, e)),
                }
            }
            Instr::SToF {} => {
                let len = self.heap.str(top).len();
                self.charge::<METER>(len.min(text::MAX_FLOAT_TEXT), 0)?;
                match text::parse_float(self.heap.str(top)) {
                    Ok(x) => (sp - 1, x.to_bits()),
                    Err(e) => return Err(self.fail(TrapKind::InvalidArgument, e)),
                }
            }
            Instr::FFixed {} => {
                self.reserve(stack, str_size(text::MAX_FIXED_CHARS))?;
                let x = f64::from_bits(stack[sp - 2]);
                match text::fixed(x, top as i64) {
                    Ok(s) => (sp - 2, self.heap.alloc_str(&s)),
                    Err(e) => return Err(self.fail(TrapKind::InvalidArgument, e)),
                }
            }
            _ => unreachable_op(),
        };
        stack[at] = v;
        Ok(at + 1)
    }

    /// `array.rep`: `[x; n]`, filled a chunk at a time.
    #[inline(never)]
    pub(super) fn op_array_rep<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        let n = stack[sp - 1] as i64;
        if n < 0 {
            let msg = format!("negative repeat count: {n}");
            return Err(self.fail(TrapKind::InvalidArgument, msg));
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        self.charge::<METER>(0, n)?;
        let bytes = self.prog.byte_items(ty);
        self.reserve(
            stack,
            n.saturating_mul(element_bytes(bytes))
                .saturating_add(OBJECT_BYTES),
        )?;
        let mut items = Items::of(bytes, Vec::new());
        if items.try_reserve_exact(n).is_err() {
            let msg = format!("out of memory: the host cannot allocate an array of {n} elements");
            return Err(self.fail(TrapKind::OutOfMemory, msg));
        }
        let v = stack[sp - 2];
        while items.len() < n {
            let k = (n - items.len()).min(CHUNK_BYTES);
            items.extend_repeat(v, k);
            if items.len() < n {
                let r = self.watch.check();
                self.watched(r)?;
            }
        }
        stack[sp - 2] = self.heap.alloc(Object::Array {
            refs: self.prog.holds_refs(ty),
            items,
        });
        Ok(sp - 1)
    }

    #[inline(never)]
    pub(super) fn op_new_map(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        self.reserve(stack, OBJECT_BYTES + MAP_HEADER_BYTES)?;
        let key_ty = match self.prog.module().ty(ty) {
            TypeDesc::Map(k, _) => *k,
            _ => unreachable_op(),
        };
        let map = self.heap.new_map(key_ty, self.prog.holds_refs(ty));
        stack[sp] = self.heap.alloc(map);
        Ok(sp + 1)
    }

    /// Charges for hashing and comparing key slot `k` of map `mh`.
    #[inline]
    fn charge_key<const METER: bool>(&mut self, mh: u64, k: u64) -> Result<(), Trap> {
        if METER && self.heap.map_key_ty(mh) == STR {
            self.charge::<METER>(2 * self.heap.str(k).len(), 0)?;
        }
        Ok(())
    }

    /// `map.get`, `map.getor`, `map.has`.
    #[inline(never)]
    pub(super) fn op_map_read<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ins: Instr,
    ) -> Result<usize, Trap> {
        let default = matches!(ins, Instr::MGetOr {});
        let sp = if default { sp - 1 } else { sp };
        let (mh, k) = (stack[sp - 2], stack[sp - 1]);
        self.charge_key::<METER>(mh, k)?;
        let e = match self.heap.map_lookup(mh, k, &self.watch) {
            Ok(Lookup::Found(e)) => Some(e),
            Ok(Lookup::Vacant(_)) => None,
            Err(stop) => return Err(self.stopped(stop)),
        };
        stack[sp - 2] = match (ins, e) {
            (Instr::MHas {}, e) => e.is_some() as u64,
            (_, Some(e)) => self.heap.map_value(mh, e),
            (Instr::MGetOr {}, None) => stack[sp],
            _ => {
                let key = self.heap.key_ref(self.heap.map_key_ty(mh), k);
                let msg = format!("key not found: {key}");
                return Err(self.fail(TrapKind::KeyNotFound, msg));
            }
        };
        Ok(sp - 1)
    }

    /// `map.set`; `vacant`: where the key would go, when the caller
    /// already looked it up and found it missing.
    #[inline(never)]
    pub(super) fn op_map_set<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        vacant: Option<crate::map::Vacant>,
    ) -> Result<usize, Trap> {
        let (mh, k, v) = (stack[sp - 3], stack[sp - 2], stack[sp - 1]);
        self.charge_key::<METER>(mh, k)?;
        let found = match vacant {
            Some(vacant) => Lookup::Vacant(vacant),
            None => {
                let found = self.heap.map_lookup(mh, k, &self.watch);
                self.watched(found)?
            }
        };
        match found {
            Lookup::Found(e) => self.heap.map_mut(mh).set_value_at(e, v),
            Lookup::Vacant(vacant) => {
                // A new entry: the only case that allocates.
                let need = self.heap.map_insert_bound(mh, k);
                self.reserve(stack, need)?;
                let key = match self.heap.key_ref(self.heap.map_key_ty(mh), k) {
                    KeyRef::Str(s) => {
                        let copy = strings::boxed_watched(s, &self.watch);
                        Key::Str(self.watched(copy)?)
                    }
                    other => other.to_key(),
                };
                let r = self.heap.map_insert(mh, vacant, key, v, &self.watch);
                self.watched(r)?;
            }
        }
        Ok(sp - 3)
    }

    #[inline(never)]
    pub(super) fn op_map_remove<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (mh, k) = (stack[sp - 2], stack[sp - 1]);
        self.charge_key::<METER>(mh, k)?;
        let found = self.heap.map_lookup(mh, k, &self.watch);
        if let Lookup::Found(e) = self.watched(found)? {
            // A collection the reservation may run moves nothing in a map:
            // the entry number holds.
            self.reserve(stack, self.heap.map_remove_bound(mh))?;
            let watch = &self.watch;
            let r = self.heap.with_map(mh, |m| m.remove_at(e, watch));
            self.watched(r)?;
        }
        Ok(sp - 2)
    }

    /// Makes positional reads of map `mh` O(1): removals leave tombstones,
    /// which this drops, charging for the entries it moves.
    fn map_positions<const METER: bool>(&mut self, mh: u64) -> Result<(), Trap> {
        let moved = self.heap.map(mh).tombstones();
        if moved > 0 {
            self.charge::<METER>(0, self.heap.map(mh).len() + moved)?;
            let r = self.heap.compact_map(mh, &self.watch);
            self.watched(r)?;
        }
        Ok(())
    }

    /// A new string holding a copy of `s` (a map key), copied a chunk at
    /// a time. Room for it was made.
    fn key_string(&mut self, mh: u64, position: usize) -> Result<u64, Trap> {
        let Some((KeyRef::Str(s), _)) = self.heap.map(mh).nth(position) else {
            unreachable_op()
        };
        let mut t = CompactString::with_capacity(s.len());
        let r = strings::push_watched(&mut t, s, &self.watch);
        self.watched(r)?;
        Ok(self.heap.alloc_text(t))
    }

    /// `map.keys` and `map.values`: the keys or values in order, as a new
    /// array of type `ty`.
    #[inline(never)]
    pub(super) fn op_map_list<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
        keys: bool,
    ) -> Result<usize, Trap> {
        let mh = stack[sp - 1];
        self.map_positions::<METER>(mh)?;
        let n = self.heap.map(mh).len();
        self.charge::<METER>(0, n)?;
        let (mut text, mut strs, mut objects) = (0usize, 0usize, 0usize);
        if keys {
            for k in self.heap.map(mh).keys() {
                if let KeyRef::Str(s) = k {
                    text += s.len();
                    strs += str_size(s.len());
                    objects += 1;
                }
            }
        }
        // A unit for each key string made: each is a new object.
        self.charge::<METER>(text, objects * ELEMENTS_PER_UNIT)?;
        let bytes = self.prog.byte_items(ty);
        self.reserve(stack, array_bytes(bytes, n) + strs)?;
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            let slot = match self.heap.map(mh).nth(i) {
                Some((_, v)) if !keys => v,
                Some((KeyRef::Int(k), _)) => k as u64,
                Some((KeyRef::Bool(b), _)) => b as u64,
                Some((KeyRef::Str(_), _)) => self.key_string(mh, i)?,
                None => unreachable_op(),
            };
            items.push(slot);
            if i % CHUNK_ELEMENTS == CHUNK_ELEMENTS - 1 {
                let r = self.watch.check();
                self.watched(r)?;
            }
        }
        stack[sp - 1] = self.heap.alloc(Object::Array {
            refs: self.prog.holds_refs(ty),
            items: Items::of(bytes, items),
        });
        Ok(sp)
    }

    /// `map.next`: the next order number, charging for the removed entries
    /// stepped over.
    #[inline(never)]
    pub(super) fn op_map_next<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (next, skipped) = self.heap.map(stack[sp - 2]).next_slot(stack[sp - 1]);
        self.charge::<METER>(0, skipped)?;
        stack[sp - 2] = next;
        Ok(sp - 1)
    }

    /// `map.keyof` and `map.valof`: the key or value of the entry with an
    /// order number (from `map.next`).
    #[inline(never)]
    pub(super) fn op_map_of<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        key: bool,
    ) -> Result<usize, Trap> {
        let (mh, seq) = (stack[sp - 2], stack[sp - 1]);
        let Some(slot) = self.entry_slot::<METER>(stack, mh, key, |m| m.entry_of_slot(seq))? else {
            let msg = format!("no map entry has order number {}", stack[sp - 1] as i64);
            return Err(self.fail(TrapKind::KeyNotFound, msg));
        };
        stack[sp - 2] = slot;
        Ok(sp - 1)
    }

    /// The key (`key`) or value of the entry of map `mh` that `entry`
    /// finds, as a stack slot: a string key is copied into a new string
    /// (paid for, and made room for first). `None` if there is no entry.
    fn entry_slot<const METER: bool>(
        &mut self,
        stack: &ValueStack,
        mh: u64,
        key: bool,
        entry: impl Fn(&crate::map::TernMap) -> Option<(KeyRef<'_>, u64)>,
    ) -> Result<Option<u64>, Trap> {
        let len = match entry(self.heap.map(mh)) {
            None => return Ok(None),
            Some(e) => match (crate::map::entry_word(e, key), e.0) {
                (Some(word), _) => return Ok(Some(word)),
                (None, KeyRef::Str(s)) => s.len(),
                (None, _) => unreachable_op(),
            },
        };
        self.charge::<METER>(len, 0)?;
        self.reserve(stack, str_size(len))?;
        // Reserving may collect, which never moves map entries.
        let Some((KeyRef::Str(s), _)) = entry(self.heap.map(mh)) else {
            unreachable_op()
        };
        let mut t = CompactString::with_capacity(s.len());
        let r = strings::push_watched(&mut t, s, &self.watch);
        self.watched(r)?;
        Ok(Some(self.heap.alloc_text(t)))
    }

    /// `map.keyat` and `map.valat`: the key or value at a position.
    #[inline(never)]
    pub(super) fn op_map_at<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        key: bool,
    ) -> Result<usize, Trap> {
        let (mh, i) = (stack[sp - 2], stack[sp - 1] as i64);
        self.map_positions::<METER>(mh)?;
        let n = self.heap.map(mh).len();
        let at = usize::try_from(i).unwrap_or(usize::MAX);
        let Some(slot) = self.entry_slot::<METER>(stack, mh, key, |m| m.nth(at))? else {
            let msg = format!("index {i} out of bounds for length {n}");
            return Err(self.fail(TrapKind::IndexOutOfBounds, msg));
        };
        stack[sp - 2] = slot;
        Ok(sp - 1)
    }

    /// `call.host`: the arguments copied out, the host function called,
    /// its result checked and copied in.
    #[inline(never)]
    pub(super) fn op_call_host(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        import: u32,
    ) -> Result<usize, Trap> {
        self.reserve(stack, 0)?;
        let prog = std::sync::Arc::clone(&self.prog);
        let im = &prog.module().imports[import as usize];
        let np = im.params.len();
        let mut args = Vec::with_capacity(np);
        for (t, v) in im.params.iter().zip(sp - np..sp) {
            args.push(self.copy_out(*t, stack[v])?);
        }
        let result = self.host.call(import, args);
        let pc = self.frames.last().expect("running frame").pc as usize;
        let slot = match result {
            Err(e) => return Err(self.fail(TrapKind::Host, e)),
            Ok(v) if im.ret == UNIT => {
                if v != Value::Unit {
                    let msg = format!(
                        "host function {}.{} returned a value for a unit result",
                        im.module, im.name
                    );
                    return Err(self.fail(TrapKind::Host, msg));
                }
                None
            }
            Ok(v) => {
                if let Err(e) = crate::host::check_type(prog.module(), im.ret, &v) {
                    let msg = format!(
                        "host function {}.{} returned the wrong type: {e}",
                        im.module, im.name
                    );
                    return Err(self.fail(TrapKind::Host, msg));
                }
                Some(self.copy_in(Some(stack), pc, im.ret, &v)?)
            }
        };
        let mut sp = sp - np;
        if let Some(slot) = slot {
            stack[sp] = slot;
            sp += 1;
        }
        Ok(sp)
    }
}

#[cold]
pub(super) fn unreachable_op() -> ! {
    panic!("the verifier admitted an ill-typed instruction")
}
