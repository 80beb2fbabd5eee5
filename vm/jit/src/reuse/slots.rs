//! Operations on slots done in the registers that hold their values: an
//! operand a cache register holds is used where it is, and a result is
//! computed straight into its slot's cache register, so `d = a op b` with
//! everything held is one or two machine instructions, not a copy into
//! `A`, another into `B`, the operation and a copy back.
//!
//! Two registers may be one: a result's register may hold an operand (of
//! the same slot, or of another that shares the register), and two
//! operands' slots may share one. Each operation orders its moves so that
//! no operand is overwritten before it is read, and computes in `A`
//! where that cannot be done; a register taken from another slot has its
//! value written back first, as everywhere in `reuse`. Float operands are
//! never swapped, even where the operation commutes: which NaN an
//! operation passes on depends on the order, and the interpreter's is
//! the instruction's.

use super::Reuse;
use crate::masm::{Cmp, FSrc, FloatOp, IntOp, Loc, Masm, Reg, Src, LA, LB};

impl<M: Masm> Reuse<'_, M> {
    /// Where `slot`'s value is, as an int or a float: the cache register
    /// holding it, or `A` holding it where `scratch` is `A`; else loaded
    /// into its cache register, or into `scratch` where that register is
    /// `avoid` (an operand already taken).
    pub(super) fn operand(
        &mut self,
        float: bool,
        slot: u16,
        scratch: Reg,
        avoid: Option<Loc>,
    ) -> Loc {
        if let Some(k) = self.bank(float).holding(slot) {
            return Loc::Cached(k);
        }
        if self.held == Some((float, slot)) {
            if scratch != Reg::A {
                self.m.copy(float, scratch.into(), LA);
            }
            return scratch.into();
        }
        let other = self.bank(!float).holding(slot);
        let own = self.bank(float).register(slot).map(|k| k as u8);
        // Into its own register where it may go, else into `scratch`.
        let dst = match own.map(Loc::Cached).filter(|&o| Some(o) != avoid) {
            Some(o) => o,
            None => scratch.into(),
        };
        if let Loc::Cached(k) = dst {
            self.write_back(float, k as usize);
        }
        match (other, dst) {
            (Some(j), _) => self.m.copy_bits(float, dst, Loc::Cached(j)),
            (None, Loc::Cached(k)) => self.m.load_cached(float, k, slot),
            (None, Loc::Scratch(r)) => self.load_raw(float, r, slot),
        }
        match dst {
            Loc::Cached(k) => {
                let bank = self.bank(float);
                bank.slots[k as usize] = Some(slot);
                bank.dirty[k as usize] = false;
            }
            Loc::Scratch(r) => {
                if r == Reg::A {
                    self.held = Some((float, slot));
                }
            }
        }
        dst
    }

    /// Where to compute `d = a op b` from operands `a` and `b`: `d`'s
    /// cache register, unless it holds `b` and not `a` (writing `a` into
    /// it first would lose `b`): then with the operands swapped where
    /// `commutes`, else in `A`. The register's value of another slot is
    /// written back first.
    fn target(&mut self, float: bool, d: u16, a: Loc, b: Option<Loc>, commutes: bool) -> [Loc; 3] {
        let b_or = |b: Option<Loc>| b.unwrap_or(a);
        let Some(k) = self.bank(float).register(d) else {
            self.forget();
            // No cache registers: operands are in `A` and `B`; where `b`
            // is `A`, the result goes to `a`'s register.
            return match b {
                Some(LA) if a != LA => [a, a, LA],
                _ => [LA, a, b_or(b)],
            };
        };
        let own = Loc::Cached(k as u8);
        let [x, y] = match b {
            Some(b) if b == own && a != own => {
                if !commutes {
                    self.forget();
                    return [LA, a, b];
                }
                [b, a]
            }
            _ => [a, b_or(b)],
        };
        if self.bank(float).slots[k] != Some(d) {
            self.write_back(float, k);
        }
        [own, x, y]
    }

    /// The cache register, an int or a float one, `d`'s value goes to,
    /// another slot's value written back from it first, if the backend
    /// lends one.
    pub(super) fn own_register(&mut self, float: bool, d: u16) -> Option<u8> {
        let k = self.bank(float).register(d)?;
        if self.bank(float).slots[k] != Some(d) {
            self.write_back(float, k);
        }
        Some(k as u8)
    }

    /// `d`'s value is now in `dst` (as [`Reuse::target`] chose it).
    pub(super) fn result(&mut self, float: bool, d: u16, dst: Loc) {
        match dst {
            Loc::Cached(k) => {
                self.drop_slot(d);
                let bank = self.bank(float);
                bank.slots[k as usize] = Some(d);
                bank.dirty[k as usize] = true;
            }
            Loc::Scratch(r) => self.store_as(float, d, r),
        }
    }

    /// A second int operand: a slot's register (not `avoid`'s), or the
    /// immediate.
    fn second(&mut self, b: Src, avoid: Loc) -> Result<Loc, i64> {
        match b {
            Src::Slot(b) => Ok(self.operand(false, b, Reg::B, Some(avoid))),
            Src::Imm(v) => Err(v),
        }
    }

    /// A second float operand: a slot's register (not `avoid`'s), or the
    /// constant loaded into `B`.
    fn fsecond(&mut self, b: FSrc, avoid: Loc) -> Loc {
        match b {
            FSrc::Slot(b) => self.operand(true, b, Reg::B, Some(avoid)),
            FSrc::Bits(bits) => {
                self.m.fload_imm(Reg::B, bits);
                LB
            }
        }
    }

    pub(super) fn int_binary(&mut self, op: IntOp, d: u16, a: u16, b: Src) {
        let ra = self.operand(false, a, Reg::A, None);
        let commutes = !matches!(op, IntOp::Sub | IntOp::Shl | IntOp::Shr);
        match self.second(b, ra) {
            Ok(rb) => {
                let [dst, x, y] = self.target(false, d, ra, Some(rb), commutes);
                self.m.int_op3(op, dst, x, y);
                self.result(false, d, dst);
            }
            Err(v) => {
                let [dst, x, _] = self.target(false, d, ra, None, commutes);
                self.m.int_op3_imm(op, dst, x, v);
                self.result(false, d, dst);
            }
        }
    }

    pub(super) fn mul_add(&mut self, d: u16, a: u16, b: u16, c: u16) {
        let ra = self.operand(false, a, Reg::A, None);
        let rb = self.operand(false, b, Reg::B, Some(ra));
        self.forget();
        self.m.int_op3(IntOp::Mul, LA, ra, rb);
        let rc = self.operand(false, c, Reg::B, None);
        let [dst, x, y] = self.target(false, d, LA, Some(rc), true);
        self.m.int_op3(IntOp::Add, dst, x, y);
        self.result(false, d, dst);
    }

    pub(super) fn float_binary(&mut self, op: FloatOp, d: u16, a: u16, b: FSrc) {
        let ra = self.operand(true, a, Reg::A, None);
        let rb = self.fsecond(b, ra);
        let [dst, x, y] = self.target(true, d, ra, Some(rb), false);
        self.m.float_op3(op, dst, x, y);
        self.result(true, d, dst);
    }

    pub(super) fn mul_then(&mut self, op: FloatOp, swap: bool, d: u16, [a, b, c]: [u16; 3]) {
        let ra = self.operand(true, a, Reg::A, None);
        let rb = self.operand(true, b, Reg::B, Some(ra));
        self.forget();
        self.m.float_op3(FloatOp::Mul, LA, ra, rb);
        let rc = self.operand(true, c, Reg::B, None);
        let (x, y) = if swap { (rc, LA) } else { (LA, rc) };
        let [dst, x, y] = self.target(true, d, x, Some(y), false);
        self.m.float_op3(op, dst, x, y);
        self.result(true, d, dst);
    }

    /// `d = s`, copied as the kind a register holds `s`'s value as (a
    /// float only where no int register holds it).
    pub(super) fn copy_value(&mut self, d: u16, s: u16) {
        if d == s {
            return;
        }
        let as_float = self.ints.holding(s).is_none()
            && (self.floats.holding(s).is_some() || self.held == Some((true, s)));
        let rs = self.operand(as_float, s, Reg::A, None);
        let [dst, x, _] = self.target(as_float, d, rs, None, false);
        self.m.copy(as_float, dst, x);
        self.result(as_float, d, dst);
    }

    pub(super) fn compare_branch(&mut self, cond: Cmp, a: u16, b: Src, label: M::Label) {
        let ra = self.operand(false, a, Reg::A, None);
        let rb = self.second(b, ra);
        let label = self.way_to(label);
        match rb {
            Ok(rb) => self.m.branch3(cond, ra, rb, label),
            Err(v) => self.m.branch3_imm(cond, ra, v, label),
        }
    }

    pub(super) fn fcompare_branch(
        &mut self,
        cond: Cmp,
        negated: bool,
        a: u16,
        b: FSrc,
        label: M::Label,
    ) {
        let ra = self.operand(true, a, Reg::A, None);
        let rb = self.fsecond(b, ra);
        let label = self.way_to(label);
        self.m.fbranch3(cond, negated, ra, rb, label);
    }
}
