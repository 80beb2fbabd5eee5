//! The aarch64 backend: the frame base arrives in `x0`, `A` is `x1`
//! (floats `d1`), `B` is `x2` (`d2`), `x3` holds a slot offset too large for a load's scaled 12-bit
//! field, and the exit is returned in `x0`.
//!
//! Code made here must reach the instruction cache before it runs:
//! dynasmrt's executable buffers are synchronized when finalized. qemu
//! does not catch a missing flush, so tests under qemu cannot prove one is
//! there.

// `dynasm!` converts a dynamic register operand with `.into()`, also when
// it already has the register type.
#![allow(clippy::useless_conversion)]

use crate::lower::lower;
use crate::masm::{Cmp, FloatOp, IntOp, Masm, NewLabel, Reg};
use dynasmrt::aarch64::Aarch64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmLabelApi};
use tern_vm::internal::Op;

/// Emits aarch64 code into any dynasmrt assembler for it.
pub struct Aarch64<'a, A>(pub &'a mut A);

fn reg(r: Reg) -> u8 {
    match r {
        Reg::A => 1,
        Reg::B => 2,
    }
}

/// The largest slot a load or store reaches with its immediate offset
/// (8-byte accesses scale a 12-bit field).
const DIRECT_SLOTS: u16 = 4096;

impl<A: DynasmLabelApi<Relocation = Aarch64Relocation>> Aarch64<'_, A> {
    /// The base register and offset that address `slot`: `x0` and the
    /// slot's offset when a load's scaled 12-bit field holds it, else
    /// `x3`, set to the slot's address, and 0.
    fn slot_address(&mut self, slot: u16) -> (u8, u32) {
        if slot < DIRECT_SLOTS {
            return (0, slot as u32 * 8);
        }
        self.imm64(3, slot as u64 * 8);
        dynasm!(self.0 ; .arch aarch64 ; add x3, x0, x3);
        (3, 0)
    }

    /// `X(r) = v`, four 16-bit pieces (every 64-bit value encodes).
    fn imm64(&mut self, r: u8, v: u64) {
        let ops = &mut *self.0;
        let p = |k: u32| ((v >> (16 * k)) & 0xffff) as u32;
        dynasm!(ops
            ; .arch aarch64
            ; movz X(r), p(0)
            ; movk X(r), p(1), lsl 16
            ; movk X(r), p(2), lsl 32
            ; movk X(r), p(3), lsl 48
        );
    }
}

impl<A: DynasmLabelApi<Relocation = Aarch64Relocation> + NewLabel> Masm for Aarch64<'_, A> {
    type Label = DynamicLabel;

    fn new_label(&mut self) -> DynamicLabel {
        self.0.new_label()
    }

    fn bind(&mut self, label: DynamicLabel) {
        dynasm!(self.0 ; .arch aarch64 ; =>label);
    }

    fn load(&mut self, r: Reg, slot: u16) {
        let (base, off) = self.slot_address(slot);
        dynasm!(self.0 ; .arch aarch64 ; ldr X(reg(r)), [X(base), off]);
    }

    fn store(&mut self, slot: u16, r: Reg) {
        let (base, off) = self.slot_address(slot);
        dynasm!(self.0 ; .arch aarch64 ; str X(reg(r)), [X(base), off]);
    }

    fn load_imm(&mut self, r: Reg, v: i64) {
        self.imm64(reg(r), v as u64);
    }

    fn int_op(&mut self, op: IntOp) {
        let ops = &mut *self.0;
        match op {
            IntOp::Add => dynasm!(ops ; .arch aarch64 ; add x1, x1, x2),
            IntOp::Sub => dynasm!(ops ; .arch aarch64 ; sub x1, x1, x2),
            IntOp::Mul => dynasm!(ops ; .arch aarch64 ; mul x1, x1, x2),
            IntOp::And => dynasm!(ops ; .arch aarch64 ; and x1, x1, x2),
            IntOp::Or => dynasm!(ops ; .arch aarch64 ; orr x1, x1, x2),
            IntOp::Xor => dynasm!(ops ; .arch aarch64 ; eor x1, x1, x2),
        }
    }

    fn branch(&mut self, cond: Cmp, l: DynamicLabel) {
        let ops = &mut *self.0;
        dynasm!(ops ; .arch aarch64 ; cmp x1, x2);
        match cond {
            Cmp::Lt => dynasm!(ops ; .arch aarch64 ; b.lt =>l),
            Cmp::Le => dynasm!(ops ; .arch aarch64 ; b.le =>l),
            Cmp::Gt => dynasm!(ops ; .arch aarch64 ; b.gt =>l),
            Cmp::Ge => dynasm!(ops ; .arch aarch64 ; b.ge =>l),
            Cmp::Eq => dynasm!(ops ; .arch aarch64 ; b.eq =>l),
            Cmp::Ne => dynasm!(ops ; .arch aarch64 ; b.ne =>l),
        }
    }

    fn jump(&mut self, l: DynamicLabel) {
        dynasm!(self.0 ; .arch aarch64 ; b =>l);
    }

    fn ret(&mut self, exit: u64) {
        self.imm64(0, exit);
        dynasm!(self.0 ; .arch aarch64 ; ret);
    }

    fn fload(&mut self, r: Reg, slot: u16) {
        let (base, off) = self.slot_address(slot);
        dynasm!(self.0 ; .arch aarch64 ; ldr D(reg(r)), [X(base), off]);
    }

    fn fstore(&mut self, slot: u16, r: Reg) {
        let (base, off) = self.slot_address(slot);
        dynasm!(self.0 ; .arch aarch64 ; str D(reg(r)), [X(base), off]);
    }

    fn fmove(&mut self, dst: Reg, src: Reg) {
        dynasm!(self.0 ; .arch aarch64 ; fmov D(reg(dst)), D(reg(src)));
    }

    fn float_op(&mut self, op: FloatOp) {
        // One operation each: never `fmadd`/`fmsub`.
        let ops = &mut *self.0;
        match op {
            FloatOp::Add => dynasm!(ops ; .arch aarch64 ; fadd d1, d1, d2),
            FloatOp::Sub => dynasm!(ops ; .arch aarch64 ; fsub d1, d1, d2),
            FloatOp::Mul => dynasm!(ops ; .arch aarch64 ; fmul d1, d1, d2),
            FloatOp::Div => dynasm!(ops ; .arch aarch64 ; fdiv d1, d1, d2),
        }
    }

    fn fbranch(&mut self, cond: Cmp, negated: bool, l: DynamicLabel) {
        // After `fcmp`, unordered sets C and V: `mi`, `ls`, `gt`, `ge`
        // and `eq` are false for it, their negations `pl`, `hi`, `le`,
        // `lt` and `ne` true.
        let ops = &mut *self.0;
        dynasm!(ops ; .arch aarch64 ; fcmp d1, d2);
        match (cond, negated) {
            (Cmp::Lt, false) => dynasm!(ops ; .arch aarch64 ; b.mi =>l),
            (Cmp::Lt, true) => dynasm!(ops ; .arch aarch64 ; b.pl =>l),
            (Cmp::Le, false) => dynasm!(ops ; .arch aarch64 ; b.ls =>l),
            (Cmp::Le, true) => dynasm!(ops ; .arch aarch64 ; b.hi =>l),
            (Cmp::Gt, false) => dynasm!(ops ; .arch aarch64 ; b.gt =>l),
            (Cmp::Gt, true) => dynasm!(ops ; .arch aarch64 ; b.le =>l),
            (Cmp::Ge, false) => dynasm!(ops ; .arch aarch64 ; b.ge =>l),
            (Cmp::Ge, true) => dynasm!(ops ; .arch aarch64 ; b.lt =>l),
            (Cmp::Eq, false) | (Cmp::Ne, true) => dynasm!(ops ; .arch aarch64 ; b.eq =>l),
            (Cmp::Eq, true) | (Cmp::Ne, false) => dynasm!(ops ; .arch aarch64 ; b.ne =>l),
        }
    }

    fn int_to_float(&mut self) {
        dynasm!(self.0 ; .arch aarch64 ; scvtf d1, x1);
    }
}

/// The machine code of `ops` (targets from `start`), assembled on any
/// host: for tests on x86-64 and for listings.
pub fn assemble(ops: &[Op], start: u32) -> Option<Vec<u8>> {
    let mut asm = dynasmrt::VecAssembler::<Aarch64Relocation>::new(0);
    lower(&mut Aarch64(&mut asm), ops, start)?;
    asm.finalize().ok()
}

/// `ops` compiled for this (aarch64) host.
#[cfg(target_arch = "aarch64")]
pub fn compile(ops: &[Op], start: u32) -> Option<crate::Compiled> {
    use dynasmrt::DynasmApi;
    let mut asm = dynasmrt::aarch64::Assembler::new().ok()?;
    let entry = asm.offset();
    let slots = lower(&mut Aarch64(&mut asm), ops, start)?;
    let code = asm.finalize().ok()?;
    Some(crate::Compiled { code, entry, slots })
}
