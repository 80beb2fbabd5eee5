//! What the JIT compiles: each internal instruction of the subset decoded
//! once into a [`Form`] (what it does, its operands as slots, immediates
//! and constants), for both the check that a function can be compiled
//! ([`lowerable`]) and the emission (`lower`), with what the lowering asks
//! of each form (the slots it uses and writes, where it branches).

use crate::access::{access, Access};
use crate::alloc::Quick;
use crate::masm::{
    Arg, ClosureCall, Cmp, FSrc, FloatFn, FloatOp, HeapFn, IntOp, NativeCall, Src, Use,
};
use tern_vm::internal::Op;
use tern_vm::jit::Fixed;
use tern_vm::module::TypeDesc;
use tern_vm::{semantics, Program};

/// What one instruction of the subset does, decoded once for both the
/// check and the emission.
pub(crate) enum Form {
    /// An instruction the runtime runs ([`tern_vm::jit::needs_runtime`]).
    Runtime,
    /// A heap instruction called directly (see `heap_ops`).
    Heap {
        f: HeapFn,
        x: u64,
        y: u64,
    },
    /// A heap instruction done inline (see `access`), its shim called
    /// where a check fails.
    Inline {
        access: Access,
        f: HeapFn,
        x: u64,
        y: u64,
    },
    /// A map instruction's, a record allocation's, an array push's or
    /// pop's or a captured variable's read's quick path called directly,
    /// else run through the runtime (see `heap_ops::map_shim`,
    /// `heap_ops::stack_shim`, `heap_ops::capture`). `y` is `None` where
    /// the shim takes the running frame's closure instead.
    HeapOr {
        f: HeapFn,
        x: u64,
        y: Arg,
        /// What compiled code does itself before it calls `f`, where
        /// the heap's layout allows (see `alloc`).
        quick: Option<Quick>,
    },
    /// `d = globals[g]`: leaves for the interpreter (which traps) if the
    /// global is not set yet.
    Global {
        d: u16,
        g: u32,
    },
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
    /// `d = a * b + c` (wrapping).
    MulAdd {
        d: u16,
        a: u16,
        b: u16,
        c: u16,
    },
    Neg {
        d: u16,
        a: u16,
    },
    Abs {
        d: u16,
        a: u16,
    },
    Compare {
        cond: Cmp,
        d: u16,
        a: u16,
        b: u16,
    },
    /// `d = a / b` or `a % b`: leaves for a divisor of 0 or -1.
    Div {
        rem: bool,
        d: u16,
        a: u16,
        b: Src,
    },
    /// `d = a / k` or `a % k` for a constant divisor (see `divisor`).
    DivBy {
        rem: bool,
        d: u16,
        a: u16,
        k: u32,
    },
    Branch {
        cond: Cmp,
        a: u16,
        b: Src,
        t: u32,
    },
    /// `x = x + by`, then jump if `x cond e`.
    Step {
        cond: Cmp,
        x: u16,
        by: Src,
        e: Src,
        t: u32,
    },
    Jump {
        t: u32,
    },
    Return {
        slot: Option<u16>,
    },
    /// A call: made by compiled code itself where it can, else by the
    /// driver ([`Exit::Call`]).
    Call(Call),
    /// An inlined call's checks: call depth, value stack, fuel.
    Enter {
        func: u32,
        args: u16,
        depth: u8,
    },
    Float {
        op: FloatOp,
        d: u16,
        a: u16,
        b: FSrc,
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
    FloatUnary {
        op: FUnary,
        d: u16,
        a: u16,
    },
    /// `d = f(a, b)`, Rust's code for it.
    FloatCall {
        f: FloatFn,
        d: u16,
        a: u16,
        b: u16,
    },
    FloatCompare {
        cond: Cmp,
        d: u16,
        a: u16,
        b: u16,
    },
    FloatBranch {
        cond: Cmp,
        negated: bool,
        a: u16,
        b: FSrc,
        t: u32,
    },
    IntToFloat {
        d: u16,
        a: u16,
    },
    FloatToInt {
        d: u16,
        a: u16,
    },
}

impl Form {
    /// The slots it writes, if it runs only in compiled code (else
    /// `None`: it calls out, and what compiled code knows is forgotten).
    pub(crate) fn writes(&self) -> Option<Vec<u16>> {
        Some(match *self {
            Form::Move { d, .. }
            | Form::Imm { d, .. }
            | Form::Binary { d, .. }
            | Form::MulAdd { d, .. }
            | Form::Neg { d, .. }
            | Form::Abs { d, .. }
            | Form::Compare { d, .. }
            | Form::Div { d, .. }
            | Form::DivBy { d, .. }
            | Form::Float { d, .. }
            | Form::MulThen { d, .. }
            | Form::FloatUnary { d, .. }
            | Form::FloatCompare { d, .. }
            | Form::IntToFloat { d, .. }
            | Form::FloatToInt { d, .. }
            | Form::Global { d, .. } => vec![d],
            Form::Step { x, .. } => vec![x],
            Form::Inline { access, .. } => access.writes().into_iter().flatten().collect(),
            Form::Nothing
            | Form::Branch { .. }
            | Form::Jump { .. }
            | Form::FloatBranch { .. }
            | Form::Enter { .. } => vec![],
            Form::Runtime
            | Form::Heap { .. }
            | Form::HeapOr { .. }
            | Form::Return { .. }
            | Form::Call(_)
            | Form::FloatCall { .. } => return None,
        })
    }

    /// The slots it reads and writes in registers, each as an int or a
    /// float (as the lowering loads or stores it); what calls out of
    /// compiled code read and write, they do in memory.
    pub(crate) fn uses(&self) -> Vec<Use> {
        let r = |slot| Use::read(false, slot);
        let fr = |slot| Use::read(true, slot);
        let w = |slot| Use::write(false, slot);
        let fw = |slot| Use::write(true, slot);
        let src = |b: Src| match b {
            Src::Slot(s) => Some(r(s)),
            Src::Imm(_) => None,
        };
        let fsrc = |b: FSrc| match b {
            FSrc::Slot(s) => Some(fr(s)),
            FSrc::Bits(_) => None,
        };
        let mut uses: Vec<Use> = match *self {
            Form::Nothing | Form::Jump { .. } | Form::Enter { .. } => vec![],
            Form::Move { d, s } => vec![r(s), w(d)],
            Form::Imm { d, .. } | Form::Global { d, .. } => vec![w(d)],
            Form::Binary { d, a, b, .. } | Form::Div { d, a, b, .. } => {
                [Some(r(a)), src(b), Some(w(d))]
                    .into_iter()
                    .flatten()
                    .collect()
            }
            Form::MulAdd { d, a, b, c } => vec![r(a), r(b), r(c), w(d)],
            Form::Neg { d, a } | Form::Abs { d, a } | Form::DivBy { d, a, .. } => {
                vec![r(a), w(d)]
            }
            Form::Compare { d, a, b, .. } => vec![r(a), r(b), w(d)],
            Form::Branch { a, b, .. } => [Some(r(a)), src(b)].into_iter().flatten().collect(),
            Form::Step { x, by, e, .. } => [Some(r(x)), src(by), src(e), Some(w(x))]
                .into_iter()
                .flatten()
                .collect(),
            Form::Float { d, a, b, .. } => [Some(fr(a)), fsrc(b), Some(fw(d))]
                .into_iter()
                .flatten()
                .collect(),
            Form::MulThen { d, a, b, c, .. } => vec![fr(a), fr(b), fr(c), fw(d)],
            Form::FloatUnary { d, a, .. } => vec![fr(a), fw(d)],
            Form::FloatCall { d, a, b, .. } => vec![fr(a), fr(b), fw(d)],
            Form::FloatCompare { d, a, b, .. } => vec![fr(a), fr(b), w(d)],
            Form::FloatBranch { a, b, .. } => {
                [Some(fr(a)), fsrc(b)].into_iter().flatten().collect()
            }
            Form::IntToFloat { d, a } => vec![r(a), fw(d)],
            Form::FloatToInt { d, a } => vec![fr(a), w(d)],
            Form::Inline { access, .. } => {
                let mut uses: Vec<Use> = access.reads().into_iter().flatten().map(r).collect();
                uses.extend(access.writes().into_iter().flatten().map(w));
                uses
            }
            Form::Return { slot } => slot.map(r).into_iter().collect(),
            Form::Call(Call::Direct(c)) => c.result.map(w).into_iter().collect(),
            Form::Call(Call::Closure(c)) => c.result.map(w).into_iter().collect(),
            Form::Call(Call::Driver) => vec![],
            Form::Runtime | Form::Heap { .. } | Form::HeapOr { .. } => vec![],
        };
        uses.dedup();
        uses
    }

    /// The instruction a branch or jump goes to.
    pub(crate) fn target(&self) -> Option<u32> {
        match *self {
            Form::Branch { t, .. }
            | Form::Step { t, .. }
            | Form::Jump { t }
            | Form::FloatBranch { t, .. } => Some(t),
            _ => None,
        }
    }

    /// Whether the counts held back must be added before the instruction
    /// starts: where its shim declines, it runs through the runtime,
    /// which reads the count. Others that leave before their own count
    /// (failed checks) add what is held back on their way out.
    pub(crate) fn counts_first(&self) -> bool {
        matches!(self, Form::HeapOr { .. })
    }

    /// Whether the instruction can neither leave compiled code nor branch
    /// nor call: it computes slots from slots, and control goes on to the
    /// next instruction.
    pub(crate) fn stays(&self) -> bool {
        matches!(
            self,
            Form::Nothing
                | Form::Move { .. }
                | Form::Imm { .. }
                | Form::Binary { .. }
                | Form::MulAdd { .. }
                | Form::Neg { .. }
                | Form::Abs { .. }
                | Form::Compare { .. }
                | Form::DivBy { .. }
                | Form::Float { .. }
                | Form::MulThen { .. }
                | Form::FloatUnary { .. }
                | Form::FloatCall { .. }
                | Form::FloatCompare { .. }
                | Form::IntToFloat { .. }
        )
    }
}

#[derive(Clone, Copy)]
pub(crate) enum FUnary {
    Neg,
    Abs,
    Sqrt,
}

extern "C" fn float_min(a: f64, b: f64) -> f64 {
    semantics::float_min(a, b)
}

extern "C" fn float_max(a: f64, b: f64) -> f64 {
    semantics::float_max(a, b)
}

// The portable libm the interpreter calls (`semantics`), never the
// host's: the same bits on every machine.
extern "C" fn sin(a: f64, _: f64) -> f64 {
    semantics::sin(a)
}

extern "C" fn cos(a: f64, _: f64) -> f64 {
    semantics::cos(a)
}

extern "C" fn exp(a: f64, _: f64) -> f64 {
    semantics::exp(a)
}

extern "C" fn log(a: f64, _: f64) -> f64 {
    semantics::log(a)
}

extern "C" fn pow(a: f64, b: f64) -> f64 {
    semantics::pow(a, b)
}

extern "C" fn floor(a: f64, _: f64) -> f64 {
    semantics::floor(a)
}

extern "C" fn ceil(a: f64, _: f64) -> f64 {
    semantics::ceil(a)
}

/// The form of `op`, instruction `pc` of function `func`, or `None`
/// outside the subset, for the instance that fixed `fixed`.
pub(crate) fn form(op: &Op, prog: &Program, func: u32, pc: u32, fixed: &Fixed) -> Option<Form> {
    use tern_vm::Instr;
    use Op::*;
    if let Some((f, x, y)) = crate::heap_ops::shim(op) {
        if let (Some(access), Some(_)) = (access(op), crate::layout::heap()) {
            return Some(Form::Inline { access, f, x, y });
        }
        return Some(Form::Heap { f, x, y });
    }
    let direct = [
        crate::heap_ops::map_shim,
        crate::heap_ops::builtin_shim,
        crate::text_ops::shim,
    ];
    if let Some((f, x, y)) = direct.iter().find_map(|shim| shim(op, prog, pc)) {
        let dense = crate::layout::heap().is_some_and(|l| l.map.is_some());
        return Some(Form::HeapOr {
            f,
            x,
            y,
            quick: crate::dense::quick(op, prog, pc)
                .filter(|_| dense)
                .map(Quick::Map),
        });
    }
    if let Some((f, x, y)) = crate::heap_ops::stack_shim(op, prog, pc) {
        let inline = crate::layout::heap().is_some_and(|l| l.alloc.is_some());
        return Some(Form::HeapOr {
            f,
            x,
            y: Arg::Imm(y),
            quick: crate::alloc::quick(op, prog, pc).filter(|_| inline),
        });
    }
    // A global's offset is a 32-bit displacement.
    if let GlobalGet { d, g } = *op {
        if g < 1 << 28 {
            return Some(Form::Global { d, g });
        }
    }
    if let Capture { d, index } = *op {
        let x = crate::heap_ops::pack(&[d as u64, index as u64]);
        // Every closure of this function has its number of captures.
        let n = prog.module().functions.get(func as usize)?.captures.len();
        let inline = n <= crate::layout::INLINE_CAPTURES && (index as usize) < n;
        return Some(Form::HeapOr {
            f: crate::heap_ops::capture,
            x,
            y: Arg::Env,
            quick: inline.then_some(crate::alloc::Quick::Capture { d, index }),
        });
    }
    // A unit value is a handle the instance made once, for its life.
    if let EnumUnit { d, layout, variant } = *op {
        if let Some(v) = fixed.unit(layout as u32, variant as u32) {
            return Some(Form::Imm { d, v: v as i64 });
        }
    }
    // The libm functions the translator leaves canonical: on the top of
    // the operand stack, as slots.
    let libm: Option<(FloatFn, usize)> = match *op {
        Stack(Instr::FSin {}) => Some((sin, 1)),
        Stack(Instr::FCos {}) => Some((cos, 1)),
        Stack(Instr::FExp {}) => Some((exp, 1)),
        Stack(Instr::FLog {}) => Some((log, 1)),
        Stack(Instr::FPow {}) => Some((pow, 2)),
        _ => None,
    };
    if let Some((f, n)) = libm {
        let sp = prog.sp_at(pc) as usize;
        let a = u16::try_from(sp.checked_sub(n)?).ok()?;
        let b = u16::try_from(sp - 1).ok()?;
        return Some(Form::FloatCall { f, d: a, a, b });
    }
    if tern_vm::jit::needs_runtime(op) {
        return Some(Form::Runtime);
    }
    // The top of a canonical instruction's operand stack, as a slot.
    let top = || u16::try_from(prog.sp_at(pc).checked_sub(1)?).ok();
    let konst = |k: u32| fixed.consts.get(k as usize).copied();
    let bin = |op, d, a, b| Form::Binary {
        op,
        d,
        a,
        b: Src::Slot(b),
    };
    let imm = |op, d, a, v: i32| Form::Binary {
        op,
        d,
        a,
        b: Src::Imm(v as i64),
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
    let fl = |op, d, a, b| Form::Float {
        op,
        d,
        a,
        b: FSrc::Slot(b),
    };
    let flk = |op, d, a, k| -> Option<Form> {
        Some(Form::Float {
            op,
            d,
            a,
            b: FSrc::Bits(konst(k)?),
        })
    };
    let fbr = |cond, negated, a, b, t| Form::FloatBranch {
        cond,
        negated,
        a,
        b: FSrc::Slot(b),
        t,
    };
    let fbrk = |cond, negated, a, k, t| -> Option<Form> {
        Some(Form::FloatBranch {
            cond,
            negated,
            a,
            b: FSrc::Bits(konst(k)?),
            t,
        })
    };
    let mul_then = |op, swap, d, a, b, c| Form::MulThen {
        op,
        swap,
        d,
        a,
        b,
        c,
    };
    let cmp = |cond, d, a, b| Form::Compare { cond, d, a, b };
    let fcmp = |cond, d, a, b| Form::FloatCompare { cond, d, a, b };
    let fun = |op, d, a| Form::FloatUnary { op, d, a };
    let fcall = |f: FloatFn, d, a, b| Form::FloatCall { f, d, a, b };
    let step = |cond, x, by, e, t| Form::Step { cond, x, by, e, t };
    // A constant divisor of -1 divides as a negation (`MIN / -1` is
    // `MIN`) and leaves no remainder; the translator makes no 0.
    let div_imm = |rem: bool, d, a, v: i32| match (v, rem) {
        (0, _) => None,
        (-1, false) => Some(Form::Neg { d, a }),
        (-1, true) => Some(Form::Imm { d, v: 0 }),
        _ => Some(Form::Div {
            rem,
            d,
            a,
            b: Src::Imm(v as i64),
        }),
    };
    Some(match *op {
        Nop => Form::Nothing,
        Move { d, s } => Form::Move { d, s },
        Int { d, v } => Form::Imm { d, v: v as i64 },
        Const { d, k } => Form::Imm {
            d,
            v: konst(k)? as i64,
        },
        IAdd { d, a, b } => bin(IntOp::Add, d, a, b),
        ISub { d, a, b } => bin(IntOp::Sub, d, a, b),
        IMul { d, a, b } => bin(IntOp::Mul, d, a, b),
        IAnd { d, a, b } => bin(IntOp::And, d, a, b),
        IOr { d, a, b } => bin(IntOp::Or, d, a, b),
        IXor { d, a, b } => bin(IntOp::Xor, d, a, b),
        IShl { d, a, b } => bin(IntOp::Shl, d, a, b),
        IShr { d, a, b } => bin(IntOp::Shr, d, a, b),
        IMin { d, a, b } => bin(IntOp::Min, d, a, b),
        IMax { d, a, b } => bin(IntOp::Max, d, a, b),
        IAddImm { d, a, v } => imm(IntOp::Add, d, a, v),
        IMulImm { d, a, v } => imm(IntOp::Mul, d, a, v),
        BNot { d, a } => imm(IntOp::Xor, d, a, 1),
        IMulAdd { d, a, b, c } => Form::MulAdd { d, a, b, c },
        INeg { d, a } => Form::Neg { d, a },
        IAbs { d, a } => Form::Abs { d, a },
        IDiv { d, a, b } => Form::Div {
            rem: false,
            d,
            a,
            b: Src::Slot(b),
        },
        IRem { d, a, b } => Form::Div {
            rem: true,
            d,
            a,
            b: Src::Slot(b),
        },
        IDivImm { d, a, v } => div_imm(false, d, a, v)?,
        IRemImm { d, a, v } => div_imm(true, d, a, v)?,
        IDivBy { d, a, k } => Form::DivBy {
            rem: false,
            d,
            a,
            k,
        },
        IRemBy { d, a, k } => Form::DivBy { rem: true, d, a, k },
        ILt { d, a, b } => cmp(Cmp::Lt, d, a, b),
        ILe { d, a, b } => cmp(Cmp::Le, d, a, b),
        IGt { d, a, b } => cmp(Cmp::Gt, d, a, b),
        IGe { d, a, b } => cmp(Cmp::Ge, d, a, b),
        IEq { d, a, b } => cmp(Cmp::Eq, d, a, b),
        INe { d, a, b } => cmp(Cmp::Ne, d, a, b),
        Jmp { t } => Form::Jump { t },
        BrTrue { s, t } => bri(Cmp::Ne, s, 0, t),
        BrFalse { s, t } => bri(Cmp::Eq, s, 0, t),
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
        StepLt { x, e, t } => step(Cmp::Lt, x, Src::Imm(1), Src::Slot(e), t),
        StepLe { x, e, t } => step(Cmp::Le, x, Src::Imm(1), Src::Slot(e), t),
        StepLtImm { x, v, t } => step(Cmp::Lt, x, Src::Imm(1), Src::Imm(v as i64), t),
        AddBrLt { x, y, e, t } => step(Cmp::Lt, x, Src::Slot(y), Src::Slot(e), t),
        AddBrLe { x, y, e, t } => step(Cmp::Le, x, Src::Slot(y), Src::Slot(e), t),
        FAdd { d, a, b } => fl(FloatOp::Add, d, a, b),
        FSub { d, a, b } => fl(FloatOp::Sub, d, a, b),
        FMul { d, a, b } => fl(FloatOp::Mul, d, a, b),
        FDiv { d, a, b } => fl(FloatOp::Div, d, a, b),
        FAddK { d, a, k } => flk(FloatOp::Add, d, a, k)?,
        FSubK { d, a, k } => flk(FloatOp::Sub, d, a, k)?,
        FMulK { d, a, k } => flk(FloatOp::Mul, d, a, k)?,
        FDivK { d, a, k } => flk(FloatOp::Div, d, a, k)?,
        FMulAdd { d, a, b, c } => mul_then(FloatOp::Add, false, d, a, b, c),
        FMulSub { d, a, b, c } => mul_then(FloatOp::Sub, false, d, a, b, c),
        FSubMul { d, a, b, c } => mul_then(FloatOp::Sub, true, d, a, b, c),
        FNeg { d, a } => fun(FUnary::Neg, d, a),
        FAbs { d, a } => fun(FUnary::Abs, d, a),
        FSqrt { d, a } => fun(FUnary::Sqrt, d, a),
        FFloor { d, a } => fcall(floor, d, a, a),
        FCeil { d, a } => fcall(ceil, d, a, a),
        FMin { d, a, b } => fcall(float_min, d, a, b),
        FMax { d, a, b } => fcall(float_max, d, a, b),
        FLt { d, a, b } => fcmp(Cmp::Lt, d, a, b),
        FLe { d, a, b } => fcmp(Cmp::Le, d, a, b),
        FGt { d, a, b } => fcmp(Cmp::Gt, d, a, b),
        FGe { d, a, b } => fcmp(Cmp::Ge, d, a, b),
        FEq { d, a, b } => fcmp(Cmp::Eq, d, a, b),
        FNe { d, a, b } => fcmp(Cmp::Ne, d, a, b),
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
        BrFLtK { a, k, t } => fbrk(Cmp::Lt, false, a, k, t)?,
        BrFLeK { a, k, t } => fbrk(Cmp::Le, false, a, k, t)?,
        BrFGtK { a, k, t } => fbrk(Cmp::Gt, false, a, k, t)?,
        BrFGeK { a, k, t } => fbrk(Cmp::Ge, false, a, k, t)?,
        BrFEqK { a, k, t } => fbrk(Cmp::Eq, false, a, k, t)?,
        BrFNeK { a, k, t } => fbrk(Cmp::Ne, false, a, k, t)?,
        BrNotFLtK { a, k, t } => fbrk(Cmp::Lt, true, a, k, t)?,
        BrNotFLeK { a, k, t } => fbrk(Cmp::Le, true, a, k, t)?,
        BrNotFGtK { a, k, t } => fbrk(Cmp::Gt, true, a, k, t)?,
        BrNotFGeK { a, k, t } => fbrk(Cmp::Ge, true, a, k, t)?,
        I2F { d, a } => Form::IntToFloat { d, a },
        F2I { d, a } => Form::FloatToInt { d, a },
        Ret { s } => Form::Return { slot: Some(s) },
        RetUnit => Form::Return { slot: None },
        Call {
            func: f,
            args,
            ret,
            after,
        } => Form::Call(native_call(prog, f, pc, args as u32, ret, after)),
        Enter { func, args, depth } => Form::Enter { func, args, depth },
        Stack(Instr::Jmp { target }) => Form::Jump { t: target },
        Stack(Instr::JmpIf { target }) => bri(Cmp::Ne, top()?, 0, target),
        Stack(Instr::JmpIfNot { target }) => bri(Cmp::Eq, top()?, 0, target),
        Stack(Instr::Call { func: f }) => {
            let args = prog
                .sp_at(pc)
                .checked_sub(prog.module().functions.get(f as usize)?.params.len() as u32)?;
            let ret = u16::try_from(args).ok()?;
            Form::Call(native_call(prog, f, pc, args, ret, 0))
        }
        Stack(Instr::CallClosure { ty }) => {
            let TypeDesc::Fn { params, ret } = prog.module().ty(ty) else {
                return None;
            };
            let args = prog.sp_at(pc).checked_sub(params.len() as u32)?;
            let args = u16::try_from(args).ok().filter(|&a| a > 0)?;
            let returns = !matches!(prog.module().ty(*ret), TypeDesc::Unit);
            Form::Call(self::Call::Closure(ClosureCall {
                pc,
                args,
                result: returns.then_some(args - 1),
            }))
        }
        Stack(Instr::Ret {}) => Form::Return {
            slot: match prog.returns_value(func) {
                true => Some(top()?),
                false => None,
            },
        },
        _ => return None,
    })
}

/// How a call is made.
#[derive(Clone, Copy)]
pub(crate) enum Call {
    /// By compiled code itself, of a known function.
    Direct(NativeCall),
    /// By compiled code itself where it can (see [`ClosureCall`]).
    Closure(ClosureCall),
    /// By the driver.
    Driver,
}

/// The call of `func` at `pc`: compiled code makes it itself if its
/// operands fit the forms it is made with.
fn native_call(prog: &Program, func: u32, pc: u32, args: u32, ret: u16, after: u8) -> Call {
    let need = args as u64 + prog.frame_size(func) as u64;
    // `func * 8` and `need` are displacements of 32-bit fields.
    let (Ok(args), true) = (u16::try_from(args), func < 1 << 28 && need < 1 << 31) else {
        return Call::Driver;
    };
    Call::Direct(NativeCall {
        func,
        start: prog.start_of(func),
        pc,
        args,
        ret,
        result: prog.returns_value(func).then_some(ret),
        need: need as u32,
        after,
    })
}

/// Whether every instruction of function `func` is one the JIT compiles.
pub fn lowerable(prog: &Program, func: u32) -> bool {
    let start = prog.start_of(func);
    without_instance(prog, |fixed| {
        (start..)
            .zip(prog.ops_of(func))
            .all(|(pc, op)| form(op, prog, func, pc, fixed).is_some())
    })
}

/// `f` of what an instance would fix, for none: every constant 0, no
/// unit values (their instructions run through the runtime).
pub(crate) fn without_instance<R>(prog: &Program, f: impl FnOnce(&Fixed) -> R) -> R {
    let consts = vec![0; prog.module().consts.len()];
    f(&Fixed {
        consts: &consts,
        units: &[],
    })
}
