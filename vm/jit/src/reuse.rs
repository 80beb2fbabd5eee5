//! A macro-assembler that wraps another and skips loading into `A` a slot
//! whose value `A` already holds: what the instruction before just
//! stored, or just loaded. In a chain of arithmetic each result would
//! otherwise go to its slot and come straight back, a store-to-load
//! round trip on the critical path of every dependent operation.
//!
//! What `A` holds is forgotten wherever control can arrive from elsewhere
//! (every label bound, except an instruction's own label where nothing
//! else enters: see `Masm::bind_instruction`) and after every
//! operation that may change `A` (anything but loads and stores, counts,
//! comparisons and branches, and loads of `B`). One value is tracked,
//! int or float: the two live in different registers, but keeping one
//! keeps the rule simple.

use crate::masm::{Cmp, FloatFn, FloatOp, HeapFn, IntOp, Masm, NativeCall, Operand, Reg, Test};

pub(crate) struct Reuse<'a, M> {
    m: &'a mut M,
    /// The slot whose value `A` holds, and whether as a float.
    held: Option<(bool, u16)>,
}

impl<'a, M: Masm> Reuse<'a, M> {
    pub(crate) fn new(m: &'a mut M) -> Reuse<'a, M> {
        Reuse { m, held: None }
    }

    fn forget(&mut self) {
        self.held = None;
    }

    /// An operation is about to write `r`.
    fn writes(&mut self, r: Reg) {
        if r == Reg::A {
            self.forget();
        }
    }
}

impl<M: Masm> Masm for Reuse<'_, M> {
    type Label = M::Label;

    fn new_label(&mut self) -> M::Label {
        self.m.new_label()
    }
    fn bind(&mut self, label: M::Label) {
        self.forget();
        self.m.bind(label);
    }
    /// Where the driver may enter or a jump may land, `A` is unknown; else
    /// control only falls in from the instruction before, and `A` is what
    /// it left.
    fn bind_instruction(&mut self, label: M::Label, entry: bool) {
        if entry {
            self.forget();
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
        self.m.load(r, slot);
    }
    fn store(&mut self, slot: u16, r: Reg) {
        match r {
            Reg::A => self.held = Some((false, slot)),
            _ if self.held.is_some_and(|(_, s)| s == slot) => self.forget(),
            _ => {}
        }
        self.m.store(slot, r);
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
        self.forget();
        self.m.entry();
    }
    fn runtime(&mut self, pc: u32, trapped: M::Label) {
        self.forget();
        self.m.runtime(pc, trapped);
    }
    fn call_heap(&mut self, f: HeapFn, x: u64, y: u64, leave: M::Label) {
        self.forget();
        self.m.call_heap(f, x, y, leave);
    }
    fn exit_path(&mut self) {
        self.forget();
        self.m.exit_path();
    }
    fn exit(&mut self, exit: u64) {
        self.forget();
        self.m.exit(exit);
    }
    fn count(&mut self, n: u8) {
        self.m.count(n);
    }
    fn exit_if_due(&mut self, exit: u64) {
        self.m.exit_if_due(exit);
    }
    fn enter_checks(&mut self, depth: u8, need: u32, leave: M::Label) {
        self.forget();
        self.m.enter_checks(depth, need, leave);
    }
    fn native_call(&mut self, call: &NativeCall, exit: M::Label) {
        self.forget();
        self.m.native_call(call, exit);
    }
    fn ret(&mut self, slot: Option<u16>, exit: u64) {
        self.forget();
        self.m.ret(slot, exit);
    }
    fn fload(&mut self, r: Reg, slot: u16) {
        if r == Reg::A {
            if self.held == Some((true, slot)) {
                return;
            }
            self.held = Some((true, slot));
        }
        self.m.fload(r, slot);
    }
    fn fstore(&mut self, slot: u16, r: Reg) {
        match r {
            Reg::A => self.held = Some((true, slot)),
            _ if self.held.is_some_and(|(_, s)| s == slot) => self.forget(),
            _ => {}
        }
        self.m.fstore(slot, r);
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
        self.forget();
        self.m.call_float(f);
    }
}
