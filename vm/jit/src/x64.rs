//! The x86-64 backend: the frame base arrives in `rdi` (System V), `A` is
//! `rax` (floats `xmm0`), `B` is `rcx` (`xmm1`), the exit is returned in
//! `rax`. Float comparisons use `ucomisd`, whose unordered result (a NaN)
//! sets the zero, parity and carry flags: each condition is the jump that
//! is false for it (see `fbranch`). No VEX instruction is emitted, so no
//! fused multiply-add. A slot's offset
//! (at most 65,535 * 8) always fits a 32-bit displacement.

// `dynasm!` converts a dynamic register operand with `.into()`, also when
// it already has the register type.
#![allow(clippy::useless_conversion)]

use crate::masm::{Cmp, FloatOp, IntOp, Masm, NewLabel, Reg};
use crate::{lower::lower, Compiled};
use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};
use tern_vm::internal::Op;

/// Emits x86-64 code into any dynasmrt assembler for it.
pub struct X64<'a, A>(pub &'a mut A);

fn reg(r: Reg) -> u8 {
    match r {
        Reg::A => 0, // rax
        Reg::B => 1, // rcx
    }
}

impl<A: DynasmLabelApi<Relocation = X64Relocation> + NewLabel> Masm for X64<'_, A> {
    type Label = DynamicLabel;

    fn new_label(&mut self) -> DynamicLabel {
        self.0.new_label()
    }

    fn bind(&mut self, label: DynamicLabel) {
        dynasm!(self.0 ; .arch x64 ; =>label);
    }

    fn load(&mut self, r: Reg, slot: u16) {
        let off = slot as i32 * 8;
        dynasm!(self.0 ; .arch x64 ; mov Rq(reg(r)), QWORD [rdi + off]);
    }

    fn store(&mut self, slot: u16, r: Reg) {
        let off = slot as i32 * 8;
        dynasm!(self.0 ; .arch x64 ; mov QWORD [rdi + off], Rq(reg(r)));
    }

    fn load_imm(&mut self, r: Reg, v: i64) {
        dynasm!(self.0 ; .arch x64 ; mov Rq(reg(r)), QWORD v);
    }

    fn int_op(&mut self, op: IntOp) {
        let ops = &mut *self.0;
        match op {
            IntOp::Add => dynasm!(ops ; .arch x64 ; add rax, rcx),
            IntOp::Sub => dynasm!(ops ; .arch x64 ; sub rax, rcx),
            IntOp::Mul => dynasm!(ops ; .arch x64 ; imul rax, rcx),
            IntOp::And => dynasm!(ops ; .arch x64 ; and rax, rcx),
            IntOp::Or => dynasm!(ops ; .arch x64 ; or rax, rcx),
            IntOp::Xor => dynasm!(ops ; .arch x64 ; xor rax, rcx),
        }
    }

    fn branch(&mut self, cond: Cmp, l: DynamicLabel) {
        let ops = &mut *self.0;
        dynasm!(ops ; .arch x64 ; cmp rax, rcx);
        match cond {
            Cmp::Lt => dynasm!(ops ; .arch x64 ; jl =>l),
            Cmp::Le => dynasm!(ops ; .arch x64 ; jle =>l),
            Cmp::Gt => dynasm!(ops ; .arch x64 ; jg =>l),
            Cmp::Ge => dynasm!(ops ; .arch x64 ; jge =>l),
            Cmp::Eq => dynasm!(ops ; .arch x64 ; je =>l),
            Cmp::Ne => dynasm!(ops ; .arch x64 ; jne =>l),
        }
    }

    fn jump(&mut self, l: DynamicLabel) {
        dynasm!(self.0 ; .arch x64 ; jmp =>l);
    }

    fn ret(&mut self, exit: u64) {
        dynasm!(self.0 ; .arch x64 ; mov rax, QWORD exit as i64 ; ret);
    }

    fn fload(&mut self, r: Reg, slot: u16) {
        let off = slot as i32 * 8;
        dynasm!(self.0 ; .arch x64 ; movsd Rx(reg(r)), QWORD [rdi + off]);
    }

    fn fstore(&mut self, slot: u16, r: Reg) {
        let off = slot as i32 * 8;
        dynasm!(self.0 ; .arch x64 ; movsd QWORD [rdi + off], Rx(reg(r)));
    }

    fn fmove(&mut self, dst: Reg, src: Reg) {
        dynasm!(self.0 ; .arch x64 ; movapd Rx(reg(dst)), Rx(reg(src)));
    }

    fn float_op(&mut self, op: FloatOp) {
        let ops = &mut *self.0;
        match op {
            FloatOp::Add => dynasm!(ops ; .arch x64 ; addsd xmm0, xmm1),
            FloatOp::Sub => dynasm!(ops ; .arch x64 ; subsd xmm0, xmm1),
            FloatOp::Mul => dynasm!(ops ; .arch x64 ; mulsd xmm0, xmm1),
            FloatOp::Div => dynasm!(ops ; .arch x64 ; divsd xmm0, xmm1),
        }
    }

    fn fbranch(&mut self, cond: Cmp, negated: bool, l: DynamicLabel) {
        let ops = &mut *self.0;
        // `a < b` is `b > a`: `ucomisd b, a; ja` (carry and zero clear,
        // never on unordered); its negation `jbe` (always on unordered).
        match (cond, negated) {
            (Cmp::Lt, false) => dynasm!(ops ; .arch x64 ; ucomisd xmm1, xmm0 ; ja =>l),
            (Cmp::Lt, true) => dynasm!(ops ; .arch x64 ; ucomisd xmm1, xmm0 ; jbe =>l),
            (Cmp::Le, false) => dynasm!(ops ; .arch x64 ; ucomisd xmm1, xmm0 ; jae =>l),
            (Cmp::Le, true) => dynasm!(ops ; .arch x64 ; ucomisd xmm1, xmm0 ; jb =>l),
            (Cmp::Gt, false) => dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; ja =>l),
            (Cmp::Gt, true) => dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; jbe =>l),
            (Cmp::Ge, false) => dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; jae =>l),
            (Cmp::Ge, true) => dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; jb =>l),
            // Equal: zero set and parity clear.
            (Cmp::Eq, false) => {
                let skip = ops.new_label();
                dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; jp =>skip ; je =>l ; =>skip);
            }
            (Cmp::Eq, true) | (Cmp::Ne, false) => {
                dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; jp =>l ; jne =>l);
            }
            (Cmp::Ne, true) => {
                let skip = ops.new_label();
                dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; jp =>skip ; je =>l ; =>skip);
            }
        }
    }

    fn int_to_float(&mut self) {
        // `xorpd` first: `cvtsi2sd` keeps the register's upper half, a
        // false dependency on whatever was there.
        dynasm!(self.0 ; .arch x64 ; xorpd xmm0, xmm0 ; cvtsi2sd xmm0, rax);
    }
}

/// The machine code of `ops` (targets from `start`), assembled on any
/// host: for tests and listings.
pub fn assemble(ops: &[Op], start: u32) -> Option<Vec<u8>> {
    let mut asm = dynasmrt::VecAssembler::<X64Relocation>::new(0);
    lower(&mut X64(&mut asm), ops, start)?;
    asm.finalize().ok()
}

/// `ops` compiled for this (x86-64) host.
pub fn compile(ops: &[Op], start: u32) -> Option<Compiled> {
    let mut asm = dynasmrt::x64::Assembler::new().ok()?;
    let entry = asm.offset();
    let slots = lower(&mut X64(&mut asm), ops, start)?;
    let code = asm.finalize().ok()?;
    Some(Compiled { code, entry, slots })
}
