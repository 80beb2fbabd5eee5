//! A macro-assembler that wraps another and keeps the values of recently
//! stored or loaded slots in registers, to use instead of loading the
//! slot again: in a chain of arithmetic each result would otherwise go to
//! its slot and come straight back, a store-to-load round trip on the
//! critical path of every dependent operation.
//!
//! Two kinds of holding: `A` itself (what the instruction before just
//! stored or loaded: no instruction at all), and the backend's cache
//! registers ([`Masm::cache_size`]), filled round-robin by every load and
//! store of a slot, read with one register move. The cache is
//! write-through: every store still writes the slot, so a value in a
//! register is only ever a copy, and nothing needs writing back when
//! compiled code exits, calls or lets the runtime run.
//!
//! Everything held is forgotten wherever control can arrive from
//! elsewhere (every label bound, except an instruction's own label where
//! nothing else enters: see `Masm::bind_instruction`) and around every
//! call out of compiled code (the runtime, a heap shim, a float function,
//! a compiled callee: they may change slots, and they do not preserve the
//! cache registers); `A`'s value also after every operation that may
//! change `A`. A slot is held as an int or as a float, never both: a
//! load of the other kind reads memory.

use crate::masm::{Cmp, FloatFn, FloatOp, HeapFn, IntOp, Masm, NativeCall, Operand, Reg, Test};

pub(crate) struct Reuse<'a, M> {
    m: &'a mut M,
    /// The slot whose value `A` holds, and whether as a float.
    held: Option<(bool, u16)>,
    /// The slot each int and float cache register holds.
    ints: Vec<Option<u16>>,
    floats: Vec<Option<u16>>,
    /// The cache registers to fill next.
    next_int: usize,
    next_float: usize,
}

impl<'a, M: Masm> Reuse<'a, M> {
    pub(crate) fn new(m: &'a mut M) -> Reuse<'a, M> {
        let (ints, floats) = m.cache_size();
        Reuse {
            m,
            held: None,
            ints: vec![None; ints as usize],
            floats: vec![None; floats as usize],
            next_int: 0,
            next_float: 0,
        }
    }

    /// `A`'s value is no longer known.
    fn forget(&mut self) {
        self.held = None;
    }

    /// Nothing held is known any longer.
    fn forget_all(&mut self) {
        self.held = None;
        self.ints.fill(None);
        self.floats.fill(None);
    }

    /// An operation is about to write `r`.
    fn writes(&mut self, r: Reg) {
        if r == Reg::A {
            self.forget();
        }
    }

    /// `slot` is about to be written: no register holds its value.
    fn drop_slot(&mut self, slot: u16) {
        for s in self.ints.iter_mut().chain(self.floats.iter_mut()) {
            if *s == Some(slot) {
                *s = None;
            }
        }
        if self.held.is_some_and(|(_, s)| s == slot) {
            self.held = None;
        }
    }

    /// Copies `r`, which holds `slot`'s value, into a cache register.
    fn keep(&mut self, float: bool, slot: u16, r: Reg) {
        let (regs, next) = match float {
            false => (&mut self.ints, &mut self.next_int),
            true => (&mut self.floats, &mut self.next_float),
        };
        if regs.is_empty() {
            return;
        }
        let k = *next;
        *next = (k + 1) % regs.len();
        regs[k] = Some(slot);
        match float {
            false => self.m.save(k as u8, r),
            true => self.m.fsave(k as u8, r),
        }
    }

    /// The cache register holding `slot`'s value as an int or a float.
    fn cached(&self, float: bool, slot: u16) -> Option<u8> {
        let regs = if float { &self.floats } else { &self.ints };
        regs.iter().position(|&s| s == Some(slot)).map(|k| k as u8)
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
    fn load(&mut self, r: Reg, slot: u16) {
        if r == Reg::A {
            if self.held == Some((false, slot)) {
                return;
            }
            self.held = Some((false, slot));
        }
        match self.cached(false, slot) {
            Some(k) => self.m.restore(r, k),
            None => {
                self.m.load(r, slot);
                self.keep(false, slot, r);
            }
        }
    }
    fn store(&mut self, slot: u16, r: Reg) {
        self.drop_slot(slot);
        if r == Reg::A {
            self.held = Some((false, slot));
        }
        self.m.store(slot, r);
        self.keep(false, slot, r);
    }
    fn load_imm(&mut self, r: Reg, v: i64) {
        if r == Reg::A {
            self.forget();
        }
        self.m.load_imm(r, v);
    }
    fn int_op(&mut self, op: IntOp) {
        self.forget();
        self.m.int_op(op);
    }
    fn int_op_imm(&mut self, op: IntOp, v: i64) {
        self.forget();
        self.m.int_op_imm(op, v);
    }
    fn branch_imm(&mut self, cond: Cmp, v: i64, label: M::Label) {
        self.m.branch_imm(cond, v, label);
    }
    fn branch(&mut self, cond: Cmp, label: M::Label) {
        self.m.branch(cond, label);
    }
    fn branch_unsigned_le(&mut self, label: M::Label) {
        self.m.branch_unsigned_le(label);
    }
    fn branch_if(&mut self, x: Reg, test: Test, y: Operand, label: M::Label) {
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
    fn load_element(&mut self, r: Reg, base: Reg, index: Reg) {
        self.writes(r);
        self.m.load_element(r, base, index);
    }
    fn store_element(&mut self, base: Reg, index: Reg, r: Reg) {
        self.m.store_element(base, index, r);
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
    fn call_heap(&mut self, f: HeapFn, x: u64, y: u64, leave: M::Label) {
        self.forget_all();
        self.m.call_heap(f, x, y, leave);
    }
    fn exit_path(&mut self) {
        self.forget_all();
        self.m.exit_path();
    }
    fn exit(&mut self, exit: u64) {
        self.forget_all();
        self.m.exit(exit);
    }
    fn count(&mut self, n: u32) {
        self.m.count(n);
    }
    fn exit_if_due(&mut self, exit: u64) {
        self.m.exit_if_due(exit);
    }
    fn enter_checks(&mut self, depth: u8, need: u32, leave: M::Label) {
        self.forget_all();
        self.m.enter_checks(depth, need, leave);
    }
    fn native_call(&mut self, call: &NativeCall, exit: M::Label) {
        self.forget_all();
        self.m.native_call(call, exit);
    }
    fn ret(&mut self, slot: Option<u16>, exit: u64) {
        self.forget_all();
        self.m.ret(slot, exit);
    }
    fn fload(&mut self, r: Reg, slot: u16) {
        if r == Reg::A {
            if self.held == Some((true, slot)) {
                return;
            }
            self.held = Some((true, slot));
        }
        match self.cached(true, slot) {
            Some(k) => self.m.frestore(r, k),
            None => {
                self.m.fload(r, slot);
                self.keep(true, slot, r);
            }
        }
    }
    fn fstore(&mut self, slot: u16, r: Reg) {
        self.drop_slot(slot);
        if r == Reg::A {
            self.held = Some((true, slot));
        }
        self.m.fstore(slot, r);
        self.keep(true, slot, r);
    }
    fn fmove(&mut self, dst: Reg, src: Reg) {
        if dst == Reg::A {
            self.forget();
        }
        self.m.fmove(dst, src);
    }
    fn float_op(&mut self, op: FloatOp) {
        self.forget();
        self.m.float_op(op);
    }
    fn fbranch(&mut self, cond: Cmp, negated: bool, label: M::Label) {
        self.m.fbranch(cond, negated, label);
    }
    fn int_to_float(&mut self) {
        self.forget();
        self.m.int_to_float();
    }
    fn float_to_int(&mut self, leave: M::Label) {
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
