//! The one lowering both backends share: each internal instruction of the
//! compiled subset, as macro-assembler operations (see `masm`).

use crate::masm::{Cmp, FloatOp, IntOp, Masm, Reg};
use crate::UNIT;
use tern_vm::internal::Op;

/// What one instruction of the subset does, decoded once for both the
/// check and the emission.
enum Form {
    Nothing,
    Move {
        d: u16,
        s: u16,
    },
    Imm {
        d: u16,
        v: i64,
    },
    Binary {
        op: IntOp,
        d: u16,
        a: u16,
        b: Src,
    },
    Branch {
        cond: Cmp,
        a: u16,
        b: Src,
        t: u32,
    },
    /// `x = x + 1`, then jump if `x cond e`.
    Step {
        cond: Cmp,
        x: u16,
        e: Src,
        t: u32,
    },
    Jump {
        t: u32,
    },
    Return {
        exit: u64,
    },
    Float {
        op: FloatOp,
        d: u16,
        a: u16,
        b: u16,
    },
    /// `d = (a * b) op c` or, with `swap`, `d = c op (a * b)`: two
    /// roundings.
    MulThen {
        op: FloatOp,
        swap: bool,
        d: u16,
        a: u16,
        b: u16,
        c: u16,
    },
    FloatBranch {
        cond: Cmp,
        negated: bool,
        a: u16,
        b: u16,
        t: u32,
    },
    IntToFloat {
        d: u16,
        a: u16,
    },
}

/// A second operand: a slot or an immediate.
#[derive(Clone, Copy)]
enum Src {
    Slot(u16),
    Imm(i64),
}

fn mul_then(op: FloatOp, swap: bool, d: u16, a: u16, b: u16, c: u16) -> Form {
    Form::MulThen {
        op,
        swap,
        d,
        a,
        b,
        c,
    }
}

fn fbr(cond: Cmp, negated: bool, a: u16, b: u16, t: u32) -> Form {
    Form::FloatBranch {
        cond,
        negated,
        a,
        b,
        t,
    }
}

fn form(op: &Op) -> Option<Form> {
    use Op::*;
    let bin = |op, d, a, b| Form::Binary {
        op,
        d,
        a,
        b: Src::Slot(b),
    };
    let br = |cond, a, b, t| Form::Branch {
        cond,
        a,
        b: Src::Slot(b),
        t,
    };
    let bri = |cond, a, v: i32, t| Form::Branch {
        cond,
        a,
        b: Src::Imm(v as i64),
        t,
    };
    Some(match *op {
        Nop => Form::Nothing,
        Move { d, s } => Form::Move { d, s },
        Int { d, v } => Form::Imm { d, v: v as i64 },
        IAdd { d, a, b } => bin(IntOp::Add, d, a, b),
        ISub { d, a, b } => bin(IntOp::Sub, d, a, b),
        IMul { d, a, b } => bin(IntOp::Mul, d, a, b),
        IAnd { d, a, b } => bin(IntOp::And, d, a, b),
        IOr { d, a, b } => bin(IntOp::Or, d, a, b),
        IXor { d, a, b } => bin(IntOp::Xor, d, a, b),
        IAddImm { d, a, v } => Form::Binary {
            op: IntOp::Add,
            d,
            a,
            b: Src::Imm(v as i64),
        },
        IMulImm { d, a, v } => Form::Binary {
            op: IntOp::Mul,
            d,
            a,
            b: Src::Imm(v as i64),
        },
        Jmp { t } => Form::Jump { t },
        BrILt { a, b, t } => br(Cmp::Lt, a, b, t),
        BrILe { a, b, t } => br(Cmp::Le, a, b, t),
        BrIGt { a, b, t } => br(Cmp::Gt, a, b, t),
        BrIGe { a, b, t } => br(Cmp::Ge, a, b, t),
        BrIEq { a, b, t } => br(Cmp::Eq, a, b, t),
        BrINe { a, b, t } => br(Cmp::Ne, a, b, t),
        BrILtImm { a, v, t } => bri(Cmp::Lt, a, v, t),
        BrILeImm { a, v, t } => bri(Cmp::Le, a, v, t),
        BrIGtImm { a, v, t } => bri(Cmp::Gt, a, v, t),
        BrIGeImm { a, v, t } => bri(Cmp::Ge, a, v, t),
        BrIEqImm { a, v, t } => bri(Cmp::Eq, a, v, t),
        BrINeImm { a, v, t } => bri(Cmp::Ne, a, v, t),
        StepLt { x, e, t } => Form::Step {
            cond: Cmp::Lt,
            x,
            e: Src::Slot(e),
            t,
        },
        StepLe { x, e, t } => Form::Step {
            cond: Cmp::Le,
            x,
            e: Src::Slot(e),
            t,
        },
        StepLtImm { x, v, t } => Form::Step {
            cond: Cmp::Lt,
            x,
            e: Src::Imm(v as i64),
            t,
        },
        FAdd { d, a, b } => Form::Float {
            op: FloatOp::Add,
            d,
            a,
            b,
        },
        FSub { d, a, b } => Form::Float {
            op: FloatOp::Sub,
            d,
            a,
            b,
        },
        FMul { d, a, b } => Form::Float {
            op: FloatOp::Mul,
            d,
            a,
            b,
        },
        FDiv { d, a, b } => Form::Float {
            op: FloatOp::Div,
            d,
            a,
            b,
        },
        FMulAdd { d, a, b, c } => mul_then(FloatOp::Add, false, d, a, b, c),
        FMulSub { d, a, b, c } => mul_then(FloatOp::Sub, false, d, a, b, c),
        FSubMul { d, a, b, c } => mul_then(FloatOp::Sub, true, d, a, b, c),
        BrFLt { a, b, t } => fbr(Cmp::Lt, false, a, b, t),
        BrFLe { a, b, t } => fbr(Cmp::Le, false, a, b, t),
        BrFGt { a, b, t } => fbr(Cmp::Gt, false, a, b, t),
        BrFGe { a, b, t } => fbr(Cmp::Ge, false, a, b, t),
        BrFEq { a, b, t } => fbr(Cmp::Eq, false, a, b, t),
        BrFNe { a, b, t } => fbr(Cmp::Ne, false, a, b, t),
        BrNotFLt { a, b, t } => fbr(Cmp::Lt, true, a, b, t),
        BrNotFLe { a, b, t } => fbr(Cmp::Le, true, a, b, t),
        BrNotFGt { a, b, t } => fbr(Cmp::Gt, true, a, b, t),
        BrNotFGe { a, b, t } => fbr(Cmp::Ge, true, a, b, t),
        I2F { d, a } => Form::IntToFloat { d, a },
        Ret { s } => Form::Return { exit: s as u64 },
        RetUnit => Form::Return { exit: UNIT },
        _ => return None,
    })
}

/// Whether every instruction of `ops` is one the JIT compiles.
pub fn lowerable(ops: &[Op]) -> bool {
    ops.iter().all(|op| form(op).is_some())
}

/// Emits `ops` (jump targets counted from `start`) into `m`; the number
/// of frame slots the code touches, or `None` if an instruction is not in
/// the subset or a target lies outside the function.
pub(crate) fn lower<M: Masm>(m: &mut M, ops: &[Op], start: u32) -> Option<usize> {
    let forms: Vec<Form> = ops.iter().map(form).collect::<Option<_>>()?;
    let labels: Vec<M::Label> = (0..ops.len()).map(|_| m.new_label()).collect();
    let target = |t: u32| -> Option<M::Label> {
        let k = t.checked_sub(start)? as usize;
        labels.get(k).copied()
    };
    let mut slots = 0usize;
    let mut touch = |s: u16| slots = slots.max(s as usize + 1);
    let second = |m: &mut M, b: Src, touch: &mut dyn FnMut(u16)| match b {
        Src::Slot(s) => {
            touch(s);
            m.load(Reg::B, s);
        }
        Src::Imm(v) => m.load_imm(Reg::B, v),
    };
    for (k, f) in forms.iter().enumerate() {
        m.bind(labels[k]);
        match *f {
            Form::Nothing => {}
            Form::Move { d, s } => {
                touch(d);
                touch(s);
                m.load(Reg::A, s);
                m.store(d, Reg::A);
            }
            Form::Imm { d, v } => {
                touch(d);
                m.load_imm(Reg::A, v);
                m.store(d, Reg::A);
            }
            Form::Binary { op, d, a, b } => {
                touch(d);
                touch(a);
                m.load(Reg::A, a);
                second(m, b, &mut touch);
                m.int_op(op);
                m.store(d, Reg::A);
            }
            Form::Branch { cond, a, b, t } => {
                let l = target(t)?;
                touch(a);
                m.load(Reg::A, a);
                second(m, b, &mut touch);
                m.branch(cond, l);
            }
            Form::Step { cond, x, e, t } => {
                let l = target(t)?;
                touch(x);
                m.load(Reg::A, x);
                m.load_imm(Reg::B, 1);
                m.int_op(IntOp::Add);
                m.store(x, Reg::A);
                second(m, e, &mut touch);
                m.branch(cond, l);
            }
            Form::Jump { t } => m.jump(target(t)?),
            Form::Float { op, d, a, b } => {
                for s in [d, a, b] {
                    touch(s);
                }
                m.fload(Reg::A, a);
                m.fload(Reg::B, b);
                m.float_op(op);
                m.fstore(d, Reg::A);
            }
            Form::MulThen {
                op,
                swap,
                d,
                a,
                b,
                c,
            } => {
                for s in [d, a, b, c] {
                    touch(s);
                }
                m.fload(Reg::A, a);
                m.fload(Reg::B, b);
                m.float_op(FloatOp::Mul);
                if swap {
                    // `c - p`: the product to B, `c` to A.
                    m.fmove(Reg::B, Reg::A);
                    m.fload(Reg::A, c);
                } else {
                    m.fload(Reg::B, c);
                }
                m.float_op(op);
                m.fstore(d, Reg::A);
            }
            Form::FloatBranch {
                cond,
                negated,
                a,
                b,
                t,
            } => {
                let l = target(t)?;
                touch(a);
                touch(b);
                m.fload(Reg::A, a);
                m.fload(Reg::B, b);
                m.fbranch(cond, negated, l);
            }
            Form::IntToFloat { d, a } => {
                touch(d);
                touch(a);
                m.load(Reg::A, a);
                m.int_to_float();
                m.fstore(d, Reg::A);
            }
            Form::Return { exit } => {
                if exit != UNIT {
                    touch(exit as u16);
                }
                m.ret(exit);
            }
        }
    }
    // Falling off the end cannot happen in verified code (its last
    // instruction jumps or returns); a return here keeps it so anyway.
    m.ret(UNIT);
    Some(slots)
}
