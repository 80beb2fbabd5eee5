//! A macro-assembler that wraps another and keeps the values of recently
//! stored or loaded slots in registers, to use instead of the slot: in a
//! chain of arithmetic each result would otherwise go to its slot and come
//! straight back, a store-to-load round trip on the critical path of every
//! dependent operation, and a temporary written again and again would be
//! stored each time.
//!
//! Two kinds of holding: `A` itself (what the instruction before just
//! stored or loaded: no instruction at all), and the backend's cache
//! registers ([`Masm::cache_size`]), filled by every load and store of a
//! slot (each slot has one register of each kind: slot mod their number).
//! Operations on slots use the cache registers themselves as operands and
//! destinations (see `slots`). It also keeps track of which object each
//! context entry holds (see `access`).
//!
//! The cache is write-back: a store only sets a cache register, marked
//! dirty, and the slot is written when the register is taken for another
//! slot, or when anything could look at the slots in memory: before every
//! branch, jump, label, exit and call out of compiled code (so where
//! control goes, or whoever runs next, finds every slot in memory, as if
//! each instruction had stored its result). A branch to an
//! [`Masm::out_label`] (a slow path, an exit) writes back in a stub on its
//! way there (see `way_to`), not on the path that goes on; one to a
//! [`Masm::local_label`] (inside an access, where no slot is touched)
//! writes back nothing. A slot written twice between two of those is
//! stored once.
//!
//! Everything held is forgotten wherever control can arrive from
//! elsewhere (every label bound, except an instruction's own label where
//! nothing else enters: see `Masm::bind_instruction`; the labels of
//! [`Masm::bind_local`], [`Masm::bind_resume`], [`Masm::bind_header`] and
//! [`Masm::bind_with`], where every way in brings the same state, or the
//! stub on the way loads it; see each) and around every call out of
//! compiled code (the runtime, a heap shim, a float function, a compiled
//! callee: they may change slots, move objects, and they do not preserve
//! the cache registers); `A`'s value also after every operation that may
//! change `A`. A slot may be held as an int and as a float at once (the
//! same bits: a load of the other kind moves them across registers);
//! only one of the two is ever dirty.

use crate::masm::{
    Arg, ClosureCall, Cmp, Entries, FSrc, FloatFn, FloatOp, HeapFn, Held, IntOp, Loc, LookedUp,
    Masm, NativeCall, Operand, Reg, Spill, Src, Test, Use, Word, LA,
};
use crate::OBJECT_ENTRIES;
use std::collections::{HashMap, HashSet};

mod slots;

/// The cache registers of one kind: the slot each holds, and whether it
/// holds a value its slot does not have yet.
struct Bank {
    slots: Vec<Option<u16>>,
    dirty: Vec<bool>,
}

impl Bank {
    fn new(n: u8) -> Bank {
        Bank {
            slots: vec![None; n as usize],
            dirty: vec![false; n as usize],
        }
    }

    /// Direct-mapped: a slot has one register of each kind, so the state
    /// at a loop's back edge tends to match its header's. `None` if the
    /// backend lends none.
    fn register(&self, slot: u16) -> Option<usize> {
        (!self.slots.is_empty()).then(|| slot as usize % self.slots.len())
    }

    /// The register holding `slot`'s value.
    fn holding(&self, slot: u16) -> Option<u8> {
        let k = self.register(slot)?;
        (self.slots[k] == Some(slot)).then_some(k as u8)
    }

    /// No register holds `slot`'s value (a dirty one's is overwritten:
    /// never stored).
    fn drop(&mut self, slot: u16) {
        if let Some(k) = self.holding(slot) {
            self.slots[k as usize] = None;
            self.dirty[k as usize] = false;
        }
    }

    /// Holds `slots`, those `dirty` says with values their slots may not
    /// have yet (none, where it is empty).
    fn set(&mut self, slots: &[Option<u16>], dirty: &[bool]) {
        self.slots.clone_from_slice(slots);
        self.dirty.fill(false);
        for (d, &x) in self.dirty.iter_mut().zip(dirty) {
            *d = x;
        }
    }
}

/// Whether register `k` (float or int) holding `slot` holds what `held`
/// wants there.
fn keeps(held: &Held, float: bool, k: usize, slot: Option<u16>) -> bool {
    let want = if float { &held.floats } else { &held.ints };
    slot.is_some() && want.get(k) == Some(&slot)
}

/// A branch to a join (see `Reuse::way_to`): its label, and what the
/// registers held then (int and float), and which were dirty.
struct Edge<L> {
    at: L,
    slots: [Vec<Option<u16>>; 2],
    dirty: [Vec<bool>; 2],
}

/// A stub on the way to an out label (see `Reuse::way_to`): its label,
/// the registers it writes back (float, register, slot), where it goes.
struct Way<L> {
    at: L,
    spills: Vec<Spill>,
    to: L,
}

pub(crate) struct Reuse<'a, M: Masm> {
    m: &'a mut M,
    /// The slot whose value `A` holds, and whether as a float.
    held: Option<(bool, u16)>,
    ints: Bank,
    floats: Bank,
    /// The object each context entry holds (see `Masm::find_object`).
    objects: Entries,
    /// See `Held::tagged`.
    tagged: Option<u16>,
    next_object: usize,
    /// Labels made by [`Masm::out_label`].
    outs: HashSet<M::Label>,
    /// Labels made by [`Masm::local_label`].
    locals: HashSet<M::Label>,
    /// Joins ([`Masm::mark_out`]), and the branches to each so far.
    joins: HashSet<M::Label>,
    edges: HashMap<M::Label, Vec<Edge<M::Label>>>,
    /// Stubs of branches to them (see `way_to`), emitted at the end.
    ways: Vec<Way<M::Label>>,
    /// The slots read only as floats (see `Masm::read_as_floats`).
    float_only: Vec<bool>,
    /// How the next heap read into a slot goes (see `Masm::read_kind`).
    next_kind: Option<(u16, bool)>,
}

impl<'a, M: Masm> Reuse<'a, M> {
    pub(crate) fn new(m: &'a mut M) -> Reuse<'a, M> {
        let (ints, floats) = m.cache_size();
        Reuse {
            m,
            held: None,
            ints: Bank::new(ints),
            floats: Bank::new(floats),
            objects: [None; OBJECT_ENTRIES],
            tagged: None,
            next_object: 0,
            outs: HashSet::new(),
            locals: HashSet::new(),
            joins: HashSet::new(),
            edges: HashMap::new(),
            ways: Vec::new(),
            float_only: Vec::new(),
            next_kind: None,
        }
    }

    fn bank(&mut self, float: bool) -> &mut Bank {
        if float {
            &mut self.floats
        } else {
            &mut self.ints
        }
    }

    /// `A`'s value is no longer known.
    fn forget(&mut self) {
        self.held = None;
    }

    /// Writes every dirty cache register to its slot.
    fn flush(&mut self) {
        for k in 0..self.ints.slots.len() {
            self.write_back(false, k);
        }
        for k in 0..self.floats.slots.len() {
            self.write_back(true, k);
        }
    }

    /// Writes cache register `k` to its slot if it is dirty.
    fn write_back(&mut self, float: bool, k: usize) {
        let bank = self.bank(float);
        if let (Some(slot), true) = (bank.slots[k], bank.dirty[k]) {
            bank.dirty[k] = false;
            match float {
                false => self.m.spill(slot, k as u8),
                true => self.m.fspill(slot, k as u8),
            }
        }
    }

    /// Nothing held is known any longer (every slot written first).
    fn forget_all(&mut self) {
        self.flush();
        self.held = None;
        self.ints.slots.fill(None);
        self.floats.slots.fill(None);
        self.objects = [None; OBJECT_ENTRIES];
        self.tagged = None;
    }

    /// Where a branch to `label` goes: `label` itself, every dirty
    /// register written back first; or, where `label` is an
    /// [`Masm::out_label`], a stub emitted at the end that writes back
    /// what is dirty now and jumps there (nothing on the path that goes
    /// on); or, where it is a join ([`Masm::mark_out`]), a label bound
    /// where the join is, if what is dirty now stays held there, else a
    /// stub that writes back the rest (see `bind_edges`).
    fn way_to(&mut self, label: M::Label) -> M::Label {
        if self.locals.contains(&label) {
            // Every way there holds what this one does (`bind_local`).
            return label;
        }
        if self.joins.contains(&label) {
            // What it writes back is known where the join is bound.
            let at = self.m.new_label();
            let edge = Edge {
                at,
                slots: [self.ints.slots.clone(), self.floats.slots.clone()],
                dirty: [self.ints.dirty.clone(), self.floats.dirty.clone()],
            };
            self.edges.entry(label).or_default().push(edge);
            return at;
        }
        if !self.outs.contains(&label) {
            self.flush();
            return label;
        }
        let spills = self.dirty();
        if spills.is_empty() {
            return label;
        }
        let at = self.m.new_label();
        self.ways.push(Way {
            at,
            spills,
            to: label,
        });
        at
    }

    /// Binds `label`, where registers hold what `held` says, dirty where
    /// `dirty` says (the way that falls in) or where a branch here left
    /// one dirty that holds the same slot here. Each branch's label is
    /// bound here too, or, where the branch left dirty a register that
    /// holds something else here, to a stub at the end that writes it
    /// back and comes here.
    fn bind_edges(&mut self, label: M::Label, held: &Held, mut dirty: [Vec<bool>; 2]) {
        for edge in self.edges.remove(&label).unwrap_or_default() {
            let mut spills = Vec::new();
            for float in [false, true] {
                let (slots, was) = (&edge.slots[float as usize], &edge.dirty[float as usize]);
                for (k, (&slot, &d)) in slots.iter().zip(was).enumerate() {
                    match (slot, d, keeps(held, float, k, slot)) {
                        (Some(_), true, true) => dirty[float as usize][k] = true,
                        (Some(slot), true, false) => spills.push((float, k as u8, slot)),
                        _ => {}
                    }
                }
            }
            match spills.is_empty() {
                true => self.m.bind(edge.at),
                false => self.ways.push(Way {
                    at: edge.at,
                    spills,
                    to: label,
                }),
            }
        }
        self.m.bind(label);
        let [int_dirty, float_dirty] = dirty;
        self.assume(&Held {
            int_dirty,
            float_dirty,
            ..held.clone()
        });
    }

    /// The dirty registers, as what writes them back.
    fn dirty(&self) -> Vec<Spill> {
        let mut spills = Vec::new();
        for (float, bank) in [(false, &self.ints), (true, &self.floats)] {
            for (k, (slot, &dirty)) in bank.slots.iter().zip(&bank.dirty).enumerate() {
                if let (Some(slot), true) = (*slot, dirty) {
                    spills.push((float, k as u8, slot));
                }
            }
        }
        spills
    }

    /// An operation is about to write `dst`, an int or a float register:
    /// what it held is no longer known (a cache register's written back
    /// first).
    fn clobber(&mut self, float: bool, dst: Loc) {
        match dst {
            Loc::Scratch(r) => self.writes(r),
            Loc::Cached(k) => {
                self.write_back(float, k as usize);
                self.bank(float).slots[k as usize] = None;
            }
        }
    }

    /// An operation is about to write `r`.
    fn writes(&mut self, r: Reg) {
        if r == Reg::A {
            self.forget();
        }
    }

    /// `slot` is about to be written: nothing holds its value.
    fn drop_slot(&mut self, slot: u16) {
        self.ints.drop(slot);
        self.floats.drop(slot);
        if self.held.is_some_and(|(_, s)| s == slot) {
            self.held = None;
        }
        if self.tagged == Some(slot) {
            self.tagged = None;
        }
        for o in &mut self.objects {
            *o = o.and_then(|o| o.without_slot(slot));
        }
    }

    /// Copies `r`, which holds `slot`'s value, into its cache register
    /// (`dirty` if the slot does not have it yet); `false` if the
    /// backend lends none.
    fn keep(&mut self, float: bool, slot: u16, r: Reg, dirty: bool) -> bool {
        let Some(k) = self.bank(float).register(slot) else {
            return false;
        };
        self.write_back(float, k);
        let bank = self.bank(float);
        bank.slots[k] = Some(slot);
        bank.dirty[k] = dirty;
        self.m.copy(float, Loc::Cached(k as u8), r.into());
        true
    }

    /// `d` = the word `at` from `base`, loaded straight into `d`'s
    /// register: a float one if the function reads `d` only as a float.
    fn read_to(&mut self, d: u16, base: Reg, at: Word) {
        let float = match self.next_kind.take() {
            Some((s, float)) if s == d => float,
            _ => self.float_only.get(d as usize) == Some(&true),
        };
        let Some(k) = self.own_register(float, d) else {
            match at {
                Word::Element(index) => self.load_element(Reg::A, base, index),
                Word::At(off) => self.load_word(Reg::A, base, off),
            }
            self.store(d, Reg::A);
            return;
        };
        self.m.read_cached(float, k, base, at);
        self.result(float, d, Loc::Cached(k));
    }

    /// `r = frame[slot]` from memory, as an int or a float, nothing noted.
    fn load_raw(&mut self, float: bool, r: Reg, slot: u16) {
        match float {
            false => self.m.load(r, slot),
            true => self.m.fload(r, slot),
        }
    }

    /// Loads into its register each slot a loop's body reads (`uses`)
    /// that is the only slot of that kind the body uses in the register.
    fn preload(&mut self, uses: &[Use]) {
        for float in [false, true] {
            let n = self.bank(float).slots.len();
            if n == 0 {
                continue;
            }
            let mut only: Vec<Option<Option<u16>>> = vec![None; n];
            for u in uses.iter().filter(|u| u.float == float) {
                let k = u.slot as usize % n;
                only[k] = match only[k] {
                    None => Some(Some(u.slot)),
                    Some(Some(s)) if s == u.slot => Some(Some(s)),
                    Some(_) => Some(None),
                };
            }
            for slot in only.into_iter().flatten().flatten() {
                let read = uses.contains(&Use::read(float, slot));
                if !read || self.bank(float).holding(slot).is_some() {
                    continue;
                }
                if self.held == Some((float, slot)) {
                    self.keep(float, slot, Reg::A, false);
                } else {
                    // Into the register (`B` is not used: it may go).
                    self.operand(float, slot, Reg::B, None);
                }
            }
        }
    }

    /// What registers and context entries hold.
    fn state(&self) -> Held {
        Held {
            a: self.held,
            ints: self.ints.slots.clone(),
            floats: self.floats.slots.clone(),
            objects: self.objects,
            tagged: self.tagged,
            ..Held::default()
        }
    }

    /// What registers and context entries hold, as `held` says (every
    /// value also in its slot): no instruction.
    fn assume(&mut self, held: &Held) {
        self.held = held.a;
        self.ints.set(&held.ints, &held.int_dirty);
        self.floats.set(&held.floats, &held.float_dirty);
        self.objects = held.objects;
        self.tagged = held.tagged;
    }

    /// `r = frame[slot]`, as an int or a float: from wherever
    /// [`Reuse::operand`] finds or loads it.
    fn load_as(&mut self, float: bool, r: Reg, slot: u16) {
        let at = self.operand(float, slot, r, None);
        self.m.copy(float, r.into(), at);
        if r == Reg::A {
            self.held = Some((float, slot));
        }
    }

    /// `frame[slot] = r`, as an int or a float: into a cache register,
    /// dirty, or memory if the backend lends none.
    fn store_as(&mut self, float: bool, slot: u16, r: Reg) {
        self.drop_slot(slot);
        if r == Reg::A {
            self.held = Some((float, slot));
        }
        if !self.keep(float, slot, r, true) {
            match float {
                false => self.m.store(slot, r),
                true => self.m.fstore(slot, r),
            }
        }
    }
}

impl<M: Masm> Masm for Reuse<'_, M> {
    type Label = M::Label;

    fn new_label(&mut self) -> M::Label {
        self.m.new_label()
    }
    fn bind(&mut self, label: M::Label) {
        self.forget_all();
        self.m.bind(label);
    }
    /// Where the driver may enter or a jump may land, `A` is unknown; else
    /// control only falls in from the instruction before, and `A` is what
    /// it left.
    fn bind_instruction(&mut self, label: M::Label, entry: bool) {
        if entry {
            self.forget_all();
        }
        self.m.bind(label);
    }
    fn bind_local(&mut self, label: M::Label) {
        // Every way in holds what this one does, dirty or not.
        debug_assert!(
            self.locals.contains(&label),
            "bind_local of a label not local"
        );
        self.forget();
        self.m.bind(label);
    }
    fn local_label(&mut self) -> M::Label {
        let label = self.m.new_label();
        self.locals.insert(label);
        label
    }
    /// Nothing is written back: the stub that also comes here loads
    /// what the registers hold from the slots, where the call out left
    /// it (so there they are clean, and writing them back again later is
    /// only redundant).
    fn bind_resume(&mut self, label: M::Label) -> Held {
        self.m.bind(label);
        self.state()
    }
    fn out_label(&mut self) -> M::Label {
        let label = self.m.new_label();
        self.outs.insert(label);
        label
    }
    fn find_object(&self, slot: u16, kind: (bool, bool)) -> Option<u8> {
        let at = |o: &Option<LookedUp>| o.is_some_and(|o| o.is_in(slot, kind));
        self.objects.iter().position(at).map(|i| i as u8)
    }
    fn find_inner(&self, slot: u16, field: u16) -> Option<u8> {
        let at = |o: &Option<LookedUp>| {
            o.is_some_and(|o| o.slot == slot && o.field == Some(field) && !o.array)
        };
        self.objects.iter().position(at).map(|i| i as u8)
    }
    fn field_written(&mut self, owner: u16, f: u16) {
        for o in &mut self.objects {
            *o = o.and_then(|o| o.without_field(owner, f));
        }
    }
    fn object_at(&self, i: u8) -> Option<LookedUp> {
        self.objects[i as usize]
    }
    fn tagged(&self) -> Option<u16> {
        self.tagged
    }
    fn note_tagged(&mut self, slot: u16) {
        self.tagged = Some(slot);
    }
    fn new_object(&mut self) -> Option<u8> {
        // A free entry if there is one (so objects kept around a loop
        // stay), else each in turn.
        let i = match self.objects.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                let i = self.next_object;
                self.next_object = (i + 1) % OBJECT_ENTRIES;
                i
            }
        };
        self.objects[i] = None;
        Some(i as u8)
    }
    fn note_object(&mut self, i: u8, o: LookedUp) {
        // One entry per name: the others let go of the names `o` has.
        for e in &mut self.objects {
            *e = e.and_then(|e| e.without_names_of(&o));
        }
        self.objects[i as usize] = Some(o);
    }
    fn add_offset(&mut self, r: Reg, base: Reg, off: i32) {
        self.writes(r);
        self.m.add_offset(r, base, off);
    }
    fn ctx_word(&mut self, r: Reg, off: i32) {
        self.writes(r);
        self.m.ctx_word(r, off);
    }
    fn set_ctx_word(&mut self, off: i32, r: Reg) {
        self.m.set_ctx_word(off, r);
    }
    fn load_env(&mut self, r: Reg) {
        self.writes(r);
        self.m.load_env(r);
    }
    fn bind_header(&mut self, label: M::Label, uses: Option<&[Use]>) -> Held {
        if let Some(uses) = uses {
            self.preload(uses);
        }
        let mut held = self.snapshot();
        // A back edge looks each entry up again where it may have changed
        // (`access::establish`), but a copy of an inner record it cannot
        // check: the body may have given the field another record while
        // the copy's slot still holds the old one. Nor the variant it
        // checked: the body or the interpreter (which the driver enters
        // here from) may have put a value of another variant in the slot.
        for o in held.objects.iter_mut().flatten() {
            o.copy = None;
            o.variant = None;
        }
        self.objects = held.objects;
        // Nor which object's entry the context has: the body may have
        // read another's tag.
        held.tagged = None;
        self.tagged = None;
        if let Some(uses) = uses {
            // Every register is clean after the snapshot: one not kept
            // is merely no longer trusted.
            let read = |float: bool, slot: &Option<u16>| {
                slot.filter(|&s| uses.contains(&Use::read(float, s)))
            };
            held.ints = held.ints.iter().map(|s| read(false, s)).collect();
            held.floats = held.floats.iter().map(|s| read(true, s)).collect();
            // What the loop writes its back edges may leave dirty.
            let written = |float: bool, slots: &[Option<u16>]| -> Vec<bool> {
                slots
                    .iter()
                    .map(|s| s.is_some_and(|s| uses.contains(&Use::write(float, s))))
                    .collect()
            };
            held.int_dirty = written(false, &held.ints);
            held.float_dirty = written(true, &held.floats);
            self.ints.set(&held.ints, &held.int_dirty);
            self.floats.set(&held.floats, &held.float_dirty);
        }
        self.forget();
        self.m.bind(label);
        Held { a: None, ..held }
    }
    /// A register that holds what `held` wants stays as it is, dirty
    /// where `held` allows; every other dirty one is written back first,
    /// and then the others are loaded: from a register of the other kind
    /// that keeps the same slot's value (perhaps not yet in the slot),
    /// else from the slot, which holds what its register should (or what
    /// a call out wrote where compiled code would have).
    fn adopt(&mut self, held: &Held) {
        let wants = |float: bool| if float { &held.floats } else { &held.ints };
        let want = |float: bool, k: usize| wants(float).get(k).copied().flatten();
        let allows = |float: bool, k: usize| {
            let d = if float {
                &held.float_dirty
            } else {
                &held.int_dirty
            };
            d.get(k) == Some(&true)
        };
        for float in [false, true] {
            for k in 0..self.bank(float).slots.len() {
                if !keeps(held, float, k, self.bank(float).slots[k]) || !allows(float, k) {
                    self.write_back(float, k);
                }
            }
        }
        let before = [self.ints.slots.clone(), self.floats.slots.clone()];
        for float in [false, true] {
            for (k, wanted) in wants(float).iter().enumerate() {
                let Some(slot) = *wanted else { continue };
                if before[float as usize][k] == Some(slot) {
                    continue;
                }
                // The same slot in the other kind's register, kept there.
                let other = self.bank(!float).register(slot).filter(|&j| {
                    before[!float as usize][j] == Some(slot) && want(!float, j) == Some(slot)
                });
                match other {
                    Some(j) => self
                        .m
                        .copy_bits(float, Loc::Cached(k as u8), Loc::Cached(j as u8)),
                    None => self.m.load_cached(float, k as u8, slot),
                }
            }
        }
        if let Some((float, slot)) = held.a.filter(|&a| self.held != Some(a)) {
            // From its register where it has one now (its slot may be
            // behind), else from the slot.
            let has = |float: bool, k: usize| want(float, k) == Some(slot);
            let mine = self.bank(float).register(slot).filter(|&k| has(float, k));
            let other = self.bank(!float).register(slot).filter(|&j| has(!float, j));
            match (mine, other) {
                (Some(k), _) => self.m.copy(float, LA, Loc::Cached(k as u8)),
                (None, Some(j)) => self.m.copy_bits(float, LA, Loc::Cached(j as u8)),
                (None, None) => self.load_raw(float, Reg::A, slot),
            }
        }
        // The caller made the entries hold these (`access::establish`).
        self.assume(held);
    }
    fn snapshot(&mut self) -> Held {
        self.flush();
        self.state()
    }
    fn peek(&mut self) -> Held {
        self.state()
    }
    fn jump_adopted(&mut self, label: M::Label) {
        self.m.jump(label);
    }
    fn mark_out(&mut self, label: M::Label) {
        self.joins.insert(label);
    }
    fn bind_join(&mut self, label: M::Label, held: &Held) {
        for float in [false, true] {
            for k in 0..self.bank(float).slots.len() {
                if !keeps(held, float, k, self.bank(float).slots[k]) {
                    self.write_back(float, k);
                }
            }
        }
        let dirty = [self.ints.dirty.clone(), self.floats.dirty.clone()];
        self.bind_edges(label, held, dirty);
    }
    fn bind_with(&mut self, label: M::Label, held: &Held) {
        self.flush();
        let clean = [
            vec![false; self.ints.slots.len()],
            vec![false; self.floats.slots.len()],
        ];
        self.bind_edges(label, held, clean);
    }
    fn load(&mut self, r: Reg, slot: u16) {
        self.load_as(false, r, slot);
    }
    fn store(&mut self, slot: u16, r: Reg) {
        self.store_as(false, slot, r);
    }
    fn load_imm(&mut self, r: Reg, v: i64) {
        if r == Reg::A {
            self.forget();
        }
        self.m.load_imm(r, v);
    }
    /// None to lend: the cache registers are its own.
    fn cache_size(&self) -> (u8, u8) {
        (0, 0)
    }
    fn copy(&mut self, float: bool, dst: Loc, src: Loc) {
        self.clobber(float, dst);
        self.m.copy(float, dst, src);
    }
    fn copy_bits(&mut self, to_float: bool, dst: Loc, src: Loc) {
        self.clobber(to_float, dst);
        self.m.copy_bits(to_float, dst, src);
    }
    fn load_cached(&mut self, float: bool, k: u8, slot: u16) {
        self.clobber(float, Loc::Cached(k));
        self.m.load_cached(float, k, slot);
    }
    fn spill(&mut self, slot: u16, k: u8) {
        self.m.spill(slot, k);
    }
    fn fspill(&mut self, slot: u16, k: u8) {
        self.m.fspill(slot, k);
    }
    fn int_op3(&mut self, op: IntOp, dst: Loc, a: Loc, b: Loc) {
        self.clobber(false, dst);
        self.m.int_op3(op, dst, a, b);
    }
    fn int_op3_imm(&mut self, op: IntOp, dst: Loc, a: Loc, v: i64) {
        self.clobber(false, dst);
        self.m.int_op3_imm(op, dst, a, v);
    }
    fn branch3(&mut self, cond: Cmp, a: Loc, b: Loc, label: M::Label) {
        let label = self.way_to(label);
        self.m.branch3(cond, a, b, label);
    }
    fn branch3_imm(&mut self, cond: Cmp, a: Loc, v: i64, label: M::Label) {
        let label = self.way_to(label);
        self.m.branch3_imm(cond, a, v, label);
    }
    fn int_slots(&mut self, op: IntOp, d: u16, a: u16, b: Src) {
        self.int_binary(op, d, a, b);
    }
    fn mul_add_slots(&mut self, d: u16, a: u16, b: u16, c: u16) {
        self.mul_add(d, a, b, c);
    }
    fn float_slots(&mut self, op: FloatOp, d: u16, a: u16, b: FSrc) {
        self.float_binary(op, d, a, b);
    }
    fn mul_then_slots(&mut self, op: FloatOp, swap: bool, d: u16, abc: [u16; 3]) {
        self.mul_then(op, swap, d, abc);
    }
    fn copy_slot(&mut self, d: u16, s: u16) {
        self.copy_value(d, s);
    }
    fn branch_slots(&mut self, cond: Cmp, a: u16, b: Src, label: M::Label) {
        self.compare_branch(cond, a, b, label);
    }
    fn fbranch_slots(&mut self, cond: Cmp, negated: bool, a: u16, b: FSrc, label: M::Label) {
        self.fcompare_branch(cond, negated, a, b, label);
    }
    fn branch_if(&mut self, x: Reg, test: Test, y: Operand, label: M::Label) {
        let label = self.way_to(label);
        self.m.branch_if(x, test, y, label);
    }
    fn heap_word(&mut self, r: Reg, off: i32) {
        self.writes(r);
        self.m.heap_word(r, off);
    }
    fn load_word(&mut self, r: Reg, base: Reg, off: i32) {
        self.writes(r);
        self.m.load_word(r, base, off);
    }
    fn store_word(&mut self, base: Reg, off: i32, r: Reg) {
        self.m.store_word(base, off, r);
    }
    fn load_narrow(&mut self, r: Reg, base: Reg, off: i32, bytes: u8) {
        self.writes(r);
        self.m.load_narrow(r, base, off, bytes);
    }
    fn store_narrow(&mut self, base: Reg, off: i32, r: Reg, bytes: u8) {
        self.m.store_narrow(base, off, r, bytes);
    }
    fn settle(&mut self) {
        self.forget_all();
    }
    fn load_element(&mut self, r: Reg, base: Reg, index: Reg) {
        self.writes(r);
        self.m.load_element(r, base, index);
    }
    fn read_cached(&mut self, float: bool, k: u8, base: Reg, at: Word) {
        self.clobber(float, Loc::Cached(k));
        self.m.read_cached(float, k, base, at);
    }
    fn read_as_floats(&mut self, floats: Vec<bool>) {
        self.float_only = floats;
    }
    fn read_kind(&mut self, next: Option<(u16, bool)>) {
        self.next_kind = next;
    }
    fn load_element_to(&mut self, d: u16, base: Reg, index: Reg) {
        self.read_to(d, base, Word::Element(index));
    }
    fn load_word_to(&mut self, d: u16, base: Reg, off: i32) {
        self.read_to(d, base, Word::At(off));
    }
    fn store_element(&mut self, base: Reg, index: Reg, r: Reg) {
        self.m.store_element(base, index, r);
    }
    fn store_element_imm(&mut self, base: Reg, index: Reg, v: i64, via: Reg) {
        self.writes(via);
        self.m.store_element_imm(base, index, v, via);
    }
    fn write_cached(&mut self, float: bool, k: u8, base: Reg, at: Word) {
        self.m.write_cached(float, k, base, at);
    }
    /// From the register that holds `v`'s value, if one does (either
    /// kind: the same bits).
    fn store_slot_to(&mut self, base: Reg, at: Word, v: u16, via: Reg) {
        for float in [true, false] {
            if let Some(k) = self.bank(float).holding(v) {
                self.m.write_cached(float, k, base, at);
                return;
            }
        }
        crate::masm::store_via(self, base, at, v, via);
    }
    fn add_scaled(&mut self, r: Reg, index: Reg, stride: u32) {
        self.writes(r);
        self.m.add_scaled(r, index, stride);
    }
    fn set_cond(&mut self, cond: Cmp) {
        self.forget();
        self.m.set_cond(cond);
    }
    fn neg(&mut self) {
        self.forget();
        self.m.neg();
    }
    fn abs(&mut self) {
        self.forget();
        self.m.abs();
    }
    fn div(&mut self, rem: bool) {
        self.forget();
        self.m.div(rem);
    }
    fn div_magic(&mut self, d: i64, magic: (i64, u32, bool, bool), rem: bool) {
        self.forget();
        self.m.div_magic(d, magic, rem);
    }
    fn jump(&mut self, label: M::Label) {
        if !self.locals.contains(&label) {
            self.flush();
        }
        self.m.jump(label);
    }
    fn entry(&mut self) {
        self.forget_all();
        self.m.entry();
    }
    fn runtime(&mut self, pc: u32, trapped: M::Label) {
        self.forget_all();
        self.m.runtime(pc, trapped);
    }
    fn call_heap(&mut self, f: HeapFn, x: u64, y: Arg, leave: M::Label) {
        self.forget_all();
        self.m.call_heap(f, x, y, leave);
    }
    fn exit_path(&mut self) {
        self.forget_all();
        for Way { at, spills, to } in std::mem::take(&mut self.ways) {
            self.m.bind(at);
            for (float, k, slot) in spills {
                match float {
                    false => self.m.spill(slot, k),
                    true => self.m.fspill(slot, k),
                }
            }
            self.m.jump(to);
        }
        self.m.exit_path();
    }
    fn exit(&mut self, exit: u64) {
        self.forget_all();
        self.m.exit(exit);
    }
    fn count(&mut self, n: u32) {
        self.m.count(n);
    }
    fn branch_if_due(&mut self, due: M::Label) {
        let due = self.way_to(due);
        self.m.branch_if_due(due);
    }
    fn enter_checks(&mut self, depth: u8, need: u32, leave: M::Label) {
        self.flush();
        self.forget();
        self.m.enter_checks(depth, need, leave);
    }
    fn native_call(&mut self, call: &NativeCall, exit: M::Label, own: Option<M::Label>) {
        self.forget_all();
        self.m.native_call(call, exit, own);
    }
    fn closure_call(&mut self, call: &ClosureCall, exit: M::Label) {
        self.forget_all();
        self.m.closure_call(call, exit);
    }
    fn ret(&mut self, slot: Option<u16>, exit: u64) {
        // The frame ends here: no slot of it is read again but the
        // result's, which the driver reads (`Masm::ret` stores it there
        // on that way), so what is dirty is dropped, not written back.
        self.ints.dirty.fill(false);
        self.floats.dirty.fill(false);
        self.forget_all();
        self.m.ret(slot, exit);
    }
    fn fload(&mut self, r: Reg, slot: u16) {
        self.load_as(true, r, slot);
    }
    fn fstore(&mut self, slot: u16, r: Reg) {
        self.store_as(true, slot, r);
    }
    fn float_op3(&mut self, op: FloatOp, dst: Loc, a: Loc, b: Loc) {
        self.clobber(true, dst);
        self.m.float_op3(op, dst, a, b);
    }
    fn fbranch3(&mut self, cond: Cmp, negated: bool, a: Loc, b: Loc, label: M::Label) {
        let label = self.way_to(label);
        self.m.fbranch3(cond, negated, a, b, label);
    }
    fn int_to_float(&mut self) {
        self.forget();
        self.m.int_to_float();
    }
    fn float_to_int(&mut self, leave: M::Label) {
        self.flush();
        self.forget();
        self.m.float_to_int(leave);
    }
    fn fload_imm(&mut self, r: Reg, bits: u64) {
        if r == Reg::A {
            self.forget();
        }
        self.m.fload_imm(r, bits);
    }
    fn fset_cond(&mut self, cond: Cmp) {
        self.forget();
        self.m.fset_cond(cond);
    }
    fn fneg(&mut self) {
        self.forget();
        self.m.fneg();
    }
    fn fabs(&mut self) {
        self.forget();
        self.m.fabs();
    }
    fn fsqrt(&mut self) {
        self.forget();
        self.m.fsqrt();
    }
    fn call_float(&mut self, f: FloatFn) {
        self.forget_all();
        self.m.call_float(f);
    }
}
