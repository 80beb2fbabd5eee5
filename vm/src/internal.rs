//! The internal code: what the interpreter runs (and the JIT will
//! compile), made from verified canonical code by `crate::translate`.
//!
//! It is register-based. The verifier knows the operand stack's height at
//! every instruction, so stack position `h` is a fixed frame slot
//! (`locals + h`), and most instructions name the frame slots they read
//! and write (`d` the destination, `a`, `b`, `s` the sources). A `load`
//! of a local becomes a read of the local's slot by the instruction that
//! uses the value, a `store` the destination of the instruction that made
//! it; a constant becomes an immediate. Every instruction that is not
//! simple enough for that runs as its canonical self ([`Op::Stack`]) with
//! its operands in their stack slots and the stack pointer it had.
//!
//! Each internal instruction stands for a run of canonical instructions
//! that ends at, or one after, its *origin*: the canonical instruction
//! where it can trap, call or poll. [`Code`] keeps, per internal
//! instruction, how many canonical instructions it stands for and its
//! origin, so fuel, instruction counts, lines, traces and stack maps all
//! speak canonical instructions whatever the translation chose. The
//! safepoints (canonical safepoints run as themselves, `Call`, `MSet`)
//! have the verifier's stack map of their canonical instruction, less the
//! slots of values that stayed in the locals they were loaded from.
//!
//! Every register instruction means what its canonical expansion means,
//! written in each variant's doc (`rX` is frame slot X: a local, or an
//! operand stack slot). Slots are `u16`: a function whose frame is larger
//! runs as canonical code (all `Stack`).

use crate::opcodes::Instr;
use crate::verify::Safepoint;
use std::fmt;

/// A frame slot, relative to the frame's base.
pub type Slot = u16;

/// One internal instruction, 16 bytes. `repr(u8)`: the tag is a byte of
/// its own, so dispatch reads it and jumps (a niche in the canonical
/// instruction's tag would save nothing and cost a decode).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(u8)]
#[rustfmt::skip]
pub enum Op {
    /// Nothing (stands for canonical instructions whose work vanished,
    /// such as `load x; pop`).
    Nop,
    /// A canonical instruction run as itself, with the stack pointer at
    /// the slot [`Code::sp`] gives.
    Stack(Instr),
    /// `rd = rs` (`load s; store d`).
    Move { d: Slot, s: Slot },
    /// `rd = v` (`const`/`bool` of a small int or bool).
    Int { d: Slot, v: i32 },
    /// `rd = constant k` (`const k`).
    Const { d: Slot, k: u32 },
    /// `rd = global g` (`global.get g`; traps if not yet set).
    GlobalGet { d: Slot, g: u32 },
    /// `global g = rs` (`global.set g`).
    GlobalSet { g: u32, s: Slot },
    /// `rd = capture index` (`capture index`).
    Capture { d: Slot, index: u16 },

    /// `rd = ra + rb` (ints, wrapping; `iadd`).
    IAdd { d: Slot, a: Slot, b: Slot },
    /// `rd = ra - rb` (`isub`).
    ISub { d: Slot, a: Slot, b: Slot },
    /// `rd = ra * rb` (`imul`).
    IMul { d: Slot, a: Slot, b: Slot },
    /// `rd = ra / rb` (`idiv`; traps on zero).
    IDiv { d: Slot, a: Slot, b: Slot },
    /// `rd = ra % rb` (`irem`; traps on zero).
    IRem { d: Slot, a: Slot, b: Slot },
    /// `rd = ra & rb` (`iand`).
    IAnd { d: Slot, a: Slot, b: Slot },
    /// `rd = ra | rb` (`ior`).
    IOr { d: Slot, a: Slot, b: Slot },
    /// `rd = ra ^ rb` (`ixor`).
    IXor { d: Slot, a: Slot, b: Slot },
    /// `rd = ra << rb` (`ishl`).
    IShl { d: Slot, a: Slot, b: Slot },
    /// `rd = ra >> rb` (`ishr`).
    IShr { d: Slot, a: Slot, b: Slot },
    /// `rd = ra + v` (`iadd` of a constant; `isub` of its negation).
    IAddImm { d: Slot, a: Slot, v: i32 },
    /// `rd = ra * v` (`imul` by a constant).
    IMulImm { d: Slot, a: Slot, v: i32 },
    /// `rd = ra / v`, `v` not zero (`idiv` by a constant).
    IDivImm { d: Slot, a: Slot, v: i32 },
    /// `rd = ra % v`, `v` not zero (`irem` by a constant).
    IRemImm { d: Slot, a: Slot, v: i32 },
    /// `rd = ra / v` and `rd = ra % v` for a constant `v` with `|v| >= 2`,
    /// by multiplication: `k` indexes the program's divisors (see
    /// [`crate::divisor`]).
    IDivBy { d: Slot, a: Slot, k: u32 },
    IRemBy { d: Slot, a: Slot, k: u32 },
    /// `rd = -ra` (`ineg`).
    INeg { d: Slot, a: Slot },
    /// `rd = ra < rb` (ints; `ilt`), and so on.
    ILt { d: Slot, a: Slot, b: Slot },
    ILe { d: Slot, a: Slot, b: Slot },
    IGt { d: Slot, a: Slot, b: Slot },
    IGe { d: Slot, a: Slot, b: Slot },
    IEq { d: Slot, a: Slot, b: Slot },
    INe { d: Slot, a: Slot, b: Slot },

    /// `rd = ra + rb` (floats; `fadd`), and so on.
    FAdd { d: Slot, a: Slot, b: Slot },
    FSub { d: Slot, a: Slot, b: Slot },
    FMul { d: Slot, a: Slot, b: Slot },
    FDiv { d: Slot, a: Slot, b: Slot },
    /// `rd = ra + constant k` (`fadd` of a float constant), and so on.
    FAddK { d: Slot, a: Slot, k: u32 },
    FSubK { d: Slot, a: Slot, k: u32 },
    FMulK { d: Slot, a: Slot, k: u32 },
    FDivK { d: Slot, a: Slot, k: u32 },
    /// `rd = -ra` (`fneg`).
    FNeg { d: Slot, a: Slot },
    /// `rd = sqrt(ra)` (`fsqrt`), and the other one-operand math
    /// instructions (`fabs`, `ffloor`, `fceil`, `iabs`).
    FSqrt { d: Slot, a: Slot },
    FAbs { d: Slot, a: Slot },
    FFloor { d: Slot, a: Slot },
    FCeil { d: Slot, a: Slot },
    IAbs { d: Slot, a: Slot },
    /// `rd = min(ra, rb)` (`fmin`), and so on (`fmax`, `imin`, `imax`).
    FMin { d: Slot, a: Slot, b: Slot },
    FMax { d: Slot, a: Slot, b: Slot },
    IMin { d: Slot, a: Slot, b: Slot },
    IMax { d: Slot, a: Slot, b: Slot },
    /// `rd = ra * rb + rc` (ints, wrapping: `imul` into a stack slot, then
    /// `iadd` of it and `rc`, either order).
    IMulAdd { d: Slot, a: Slot, b: Slot, c: Slot },
    /// `rd = ra * rb + rc` (`fmul` into a stack slot, then `fadd` of it and
    /// `rc`, either order): the product rounded, then the sum, as the two
    /// instructions do; never a fused multiply-add.
    FMulAdd { d: Slot, a: Slot, b: Slot, c: Slot },
    /// `rd = ra * rb - rc` (`fmul` into a stack slot, then `fsub` of it
    /// minus `rc`).
    FMulSub { d: Slot, a: Slot, b: Slot, c: Slot },
    /// `rd = rc - ra * rb` (`fmul` into a stack slot, then `fsub` of `rc`
    /// minus it).
    FSubMul { d: Slot, a: Slot, b: Slot, c: Slot },
    /// `rd = ra < rb` (floats; `flt`), and so on.
    FLt { d: Slot, a: Slot, b: Slot },
    FLe { d: Slot, a: Slot, b: Slot },
    FGt { d: Slot, a: Slot, b: Slot },
    FGe { d: Slot, a: Slot, b: Slot },
    FEq { d: Slot, a: Slot, b: Slot },
    FNe { d: Slot, a: Slot, b: Slot },
    /// `rd = float(ra)` (`i2f`).
    I2F { d: Slot, a: Slot },
    /// `rd = int(ra)` (`f2i`).
    F2I { d: Slot, a: Slot },
    /// `rd = !ra` (`bnot`).
    BNot { d: Slot, a: Slot },

    /// Jump to `t` (`jmp`).
    Jmp { t: u32 },
    /// Jump if `rs` is true (`jmp.if`) or false (`jmp.ifnot`).
    BrTrue { s: Slot, t: u32 },
    BrFalse { s: Slot, t: u32 },
    /// Jump if `ra < rb` (ints; `ilt; jmp.if`, or the opposite comparison
    /// and `jmp.ifnot`), and so on.
    BrILt { a: Slot, b: Slot, t: u32 },
    BrILe { a: Slot, b: Slot, t: u32 },
    BrIGt { a: Slot, b: Slot, t: u32 },
    BrIGe { a: Slot, b: Slot, t: u32 },
    BrIEq { a: Slot, b: Slot, t: u32 },
    BrINe { a: Slot, b: Slot, t: u32 },
    /// Jump if `ra < v` (an int constant), and so on.
    BrILtImm { a: Slot, v: i32, t: u32 },
    BrILeImm { a: Slot, v: i32, t: u32 },
    BrIGtImm { a: Slot, v: i32, t: u32 },
    BrIGeImm { a: Slot, v: i32, t: u32 },
    BrIEqImm { a: Slot, v: i32, t: u32 },
    BrINeImm { a: Slot, v: i32, t: u32 },
    /// Jump if `ra < rb` (floats; `flt; jmp.if`), and so on.
    BrFLt { a: Slot, b: Slot, t: u32 },
    BrFLe { a: Slot, b: Slot, t: u32 },
    BrFGt { a: Slot, b: Slot, t: u32 },
    BrFGe { a: Slot, b: Slot, t: u32 },
    BrFEq { a: Slot, b: Slot, t: u32 },
    BrFNe { a: Slot, b: Slot, t: u32 },
    /// Jump unless `ra < rb` (floats; `flt; jmp.ifnot`: NaN jumps), and
    /// so on.
    BrNotFLt { a: Slot, b: Slot, t: u32 },
    BrNotFLe { a: Slot, b: Slot, t: u32 },
    BrNotFGt { a: Slot, b: Slot, t: u32 },
    BrNotFGe { a: Slot, b: Slot, t: u32 },
    /// The same against float constant `k`: jump if `ra < constant k`,
    /// and so on.
    BrFLtK { a: Slot, k: u32, t: u32 },
    BrFLeK { a: Slot, k: u32, t: u32 },
    BrFGtK { a: Slot, k: u32, t: u32 },
    BrFGeK { a: Slot, k: u32, t: u32 },
    BrFEqK { a: Slot, k: u32, t: u32 },
    BrFNeK { a: Slot, k: u32, t: u32 },
    BrNotFLtK { a: Slot, k: u32, t: u32 },
    BrNotFLeK { a: Slot, k: u32, t: u32 },
    BrNotFGtK { a: Slot, k: u32, t: u32 },
    BrNotFGeK { a: Slot, k: u32, t: u32 },
    /// A counting loop's step and test: `rx = rx + 1`, then jump if
    /// `rx < re` (`iadd` of 1 into `x`, then `ilt; jmp.if`).
    StepLt { x: Slot, e: Slot, t: u32 },
    /// `rx = rx + 1`, then jump if `rx < v`.
    StepLtImm { x: Slot, v: i32, t: u32 },
    /// `rx = rx + 1`, then jump if `rx <= re`.
    StepLe { x: Slot, e: Slot, t: u32 },
    /// `rx = rx + ry`, then jump if `rx < re` (`iadd` of a slot into `x`,
    /// then `ilt; jmp.if`), and the same with `<=`.
    AddBrLt { x: Slot, y: Slot, e: Slot, t: u32 },
    AddBrLe { x: Slot, y: Slot, e: Slot, t: u32 },

    /// `rd = field f of ro` (`field.get f`). `ty`, here and below, is
    /// the struct type `ro` holds (the verifier's; see
    /// `FuncInfo::owners`), which the interpreter ignores.
    GetField { d: Slot, o: Slot, f: u16, ty: u16 },
    /// `rd = field g of field f of ro` (`field.get f; field.get g`).
    GetField2 { d: Slot, o: Slot, f: u16, g: u16, ty: u16 },
    /// `rm = field f of ro; rd = field g of rm` (`field.get f` kept in a
    /// slot, then perhaps `dup`, and `field.get g` of it: a nested field
    /// about to be updated, `o.f.g op= e`).
    GetFieldKeep { d: Slot, m: Slot, o: Slot, f: u16, g: u16, ty: u16 },
    /// `field f of ro = rv` (`field.set f`).
    SetField { o: Slot, f: u16, v: Slot, ty: u16 },
    /// `rd = ra[ri]` (`array.get`; traps out of bounds). With `bytes`,
    /// the verifier proved `ra` a `[bool]`, whose elements are bytes (the
    /// interpreter looks at the array itself; compiled code trusts this
    /// only after checking the array's kind).
    AGet { d: Slot, a: Slot, i: Slot, bytes: bool },
    /// `ra[ri] = rv` (`array.set`; traps out of bounds).
    ASet { a: Slot, i: Slot, v: Slot, bytes: bool },
    /// `ra[ri] = v`, an int or bool constant.
    ASetImm { a: Slot, i: Slot, v: i32, bytes: bool },
    /// `rd = len(ra)` (`array.len`).
    ALen { d: Slot, a: Slot, bytes: bool },
    /// `rd = len(rs)` (`str.len`).
    SLen { d: Slot, s: Slot },
    /// `rd = byte ri of rs` (`str.byte`; traps out of bounds).
    SByte { d: Slot, s: Slot, i: Slot },
    /// `rd = the value of variant `variant` of enum layout `layout`, which
    /// has no payload (`enum.new` of such a variant: one shared value,
    /// nothing allocated).
    EnumUnit { d: Slot, layout: u16, variant: u16 },
    /// `rd = tag of rs` (`enum.tag`).
    EnumTag { d: Slot, s: Slot },
    /// `rd = payload field of rs, which must be variant` (`enum.field`).
    EnumField { d: Slot, s: Slot, variant: u16, field: u16 },
    /// `rd = rm[rk]` (`map.get`; traps on a missing key), and `rd =
    /// rm.get(rk, rv)` (`map.getor`). `s` is the slot the canonical
    /// instruction's first operand is in: a lookup that needs more than the
    /// quick path runs as the canonical instruction there.
    MGet { d: Slot, m: Slot, k: Slot, s: Slot },
    MGetOr { d: Slot, m: Slot, k: Slot, v: Slot, s: Slot },
    /// `rm[rk] = rv` (`map.set`); a safepoint (a new entry allocates), its
    /// stack map the canonical instruction's. `s` as for `MGet`.
    MSet { m: Slot, k: Slot, v: Slot, s: Slot },
    /// `rd = content of cell rc` (`cell.get`).
    CellGet { d: Slot, c: Slot },
    /// `content of cell rc = rv` (`cell.set`).
    CellSet { c: Slot, v: Slot },

    /// Call function `func` with its arguments in the slots from `args`
    /// up (`call func`); its result goes to `ret`, which is `args` or, when
    /// a `store` followed the call, that local (`after` is then 1: the
    /// store is counted when the call returns, where it runs).
    Call { func: u32, args: Slot, ret: Slot, after: u8 },
    /// A `call func` whose body follows inline, its frame at `args` (see
    /// [`Code::inlined`]), inside `depth` inlined bodies: the checks a
    /// call makes (call depth, counting those bodies' frames; a fuel poll;
    /// the value stack for `func`'s frame), then on.
    Enter { func: u32, args: Slot, depth: u8 },
    /// Return `rs` (`ret` of a value).
    Ret { s: Slot },
    /// Return nothing (`ret` of a unit function).
    RetUnit,
}

impl Op {
    /// The jump target, if the instruction has one.
    pub fn target_mut(&mut self) -> Option<&mut u32> {
        use Op::*;
        match self {
            Stack(ins) => ins.target_mut(),
            Jmp { t }
            | BrTrue { t, .. }
            | BrFalse { t, .. }
            | BrILt { t, .. }
            | BrILe { t, .. }
            | BrIGt { t, .. }
            | BrIGe { t, .. }
            | BrIEq { t, .. }
            | BrINe { t, .. }
            | BrILtImm { t, .. }
            | BrILeImm { t, .. }
            | BrIGtImm { t, .. }
            | BrIGeImm { t, .. }
            | BrIEqImm { t, .. }
            | BrINeImm { t, .. }
            | BrFLt { t, .. }
            | BrFLe { t, .. }
            | BrFGt { t, .. }
            | BrFGe { t, .. }
            | BrFEq { t, .. }
            | BrFNe { t, .. }
            | BrNotFLt { t, .. }
            | BrNotFLe { t, .. }
            | BrNotFGt { t, .. }
            | BrNotFGe { t, .. }
            | BrFLtK { t, .. }
            | BrFLeK { t, .. }
            | BrFGtK { t, .. }
            | BrFGeK { t, .. }
            | BrFEqK { t, .. }
            | BrFNeK { t, .. }
            | BrNotFLtK { t, .. }
            | BrNotFLeK { t, .. }
            | BrNotFGtK { t, .. }
            | BrNotFGeK { t, .. }
            | StepLt { t, .. }
            | StepLtImm { t, .. }
            | StepLe { t, .. }
            | AddBrLt { t, .. }
            | AddBrLe { t, .. } => Some(t),
            _ => None,
        }
    }

    /// Whether the instruction can trap where it stands (so a canonical
    /// `store` it took in as its destination has not run then).
    pub fn can_trap(&self) -> bool {
        matches!(
            self,
            Op::IDiv { .. }
                | Op::Enter { .. }
                | Op::IRem { .. }
                | Op::GlobalGet { .. }
                | Op::AGet { .. }
                | Op::ASet { .. }
                | Op::ASetImm { .. }
                | Op::SByte { .. }
                | Op::EnumField { .. }
                | Op::MGet { .. }
                | Op::MGetOr { .. }
        )
    }

    /// The destination slot of a register instruction that writes one.
    pub fn dest_mut(&mut self) -> Option<&mut Slot> {
        use Op::*;
        match self {
            Move { d, .. }
            | Int { d, .. }
            | Const { d, .. }
            | GlobalGet { d, .. }
            | Capture { d, .. }
            | IAdd { d, .. }
            | ISub { d, .. }
            | IMul { d, .. }
            | IDiv { d, .. }
            | IRem { d, .. }
            | IAnd { d, .. }
            | IOr { d, .. }
            | IXor { d, .. }
            | IShl { d, .. }
            | IShr { d, .. }
            | IAddImm { d, .. }
            | IMulImm { d, .. }
            | IDivImm { d, .. }
            | IRemImm { d, .. }
            | IDivBy { d, .. }
            | IRemBy { d, .. }
            | INeg { d, .. }
            | ILt { d, .. }
            | ILe { d, .. }
            | IGt { d, .. }
            | IGe { d, .. }
            | IEq { d, .. }
            | INe { d, .. }
            | FAdd { d, .. }
            | FSub { d, .. }
            | FMul { d, .. }
            | FDiv { d, .. }
            | FAddK { d, .. }
            | FSubK { d, .. }
            | FMulK { d, .. }
            | FDivK { d, .. }
            | FNeg { d, .. }
            | FSqrt { d, .. }
            | FAbs { d, .. }
            | FFloor { d, .. }
            | FCeil { d, .. }
            | IAbs { d, .. }
            | FMin { d, .. }
            | FMax { d, .. }
            | IMin { d, .. }
            | IMax { d, .. }
            | IMulAdd { d, .. }
            | FMulAdd { d, .. }
            | FMulSub { d, .. }
            | FSubMul { d, .. }
            | FLt { d, .. }
            | FLe { d, .. }
            | FGt { d, .. }
            | FGe { d, .. }
            | FEq { d, .. }
            | FNe { d, .. }
            | I2F { d, .. }
            | F2I { d, .. }
            | BNot { d, .. }
            | GetField { d, .. }
            | GetField2 { d, .. }
            | GetFieldKeep { d, .. }
            | AGet { d, .. }
            | ALen { d, .. }
            | SLen { d, .. }
            | SByte { d, .. }
            | EnumTag { d, .. }
            | EnumUnit { d, .. }
            | EnumField { d, .. }
            | CellGet { d, .. }
            | MGet { d, .. }
            | MGetOr { d, .. }
            | Call { ret: d, .. } => Some(d),
            _ => None,
        }
    }
}

/// How an instruction reads in a listing: `iadd d=3 a=0 b=1`, and a
/// canonical one as itself.
impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Op::Stack(ins) = self {
            write!(f, "{}", ins.opcode().mnemonic())?;
            for (_, v) in ins.operands() {
                write!(f, " {v}")?;
            }
            return Ok(());
        }
        // `IAdd { d: 3, a: 0, b: 1 }` -> `iadd d=3 a=0 b=1`
        let debug = format!("{self:?}");
        let (name, rest) = debug.split_once(' ').unwrap_or((&debug, ""));
        let mut mnemonic = String::new();
        for (k, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && k > 0 {
                let prev = name.as_bytes()[k - 1];
                if prev.is_ascii_lowercase() {
                    mnemonic.push('.');
                }
            }
            mnemonic.push(c.to_ascii_lowercase());
        }
        write!(f, "{mnemonic}")?;
        let fields = rest.trim_matches(|c| c == '{' || c == '}' || c == ' ');
        for field in fields.split(", ").filter(|s| !s.is_empty()) {
            write!(f, " {}", field.replace(": ", "="))?;
        }
        Ok(())
    }
}

/// One function's internal code and what it says about canonical code.
///
/// The translator fills every field; loading moves `ops`, `counts` and
/// `sp` into the program's one code array (see `Program::ops_of`), so in
/// a loaded program they are empty and the rest index the function's
/// instructions from 0.
#[derive(Debug, Clone, Default)]
pub struct Code {
    pub ops: Vec<Op>,
    /// For each instruction, how many canonical instructions it stands
    /// for (fuel and `--stats` count these).
    pub counts: Vec<u8>,
    /// For each [`Op::Stack`] instruction, the slot its stack pointer is
    /// at (the frame's locals plus the canonical stack height); 0 for the
    /// others.
    pub sp: Vec<u32>,
    /// For each instruction, its origin: the canonical instruction where
    /// it traps, calls or polls (its line is the trap's line).
    pub origin: Vec<u32>,
    /// The instructions (ascending) that stand for one canonical
    /// instruction after their origin, a `store` that does not run when
    /// they trap.
    pub tails: Vec<u32>,
    /// The stack map of each safepoint, by internal index, ascending.
    pub safepoints: Vec<Safepoint>,
    /// The bodies of functions inlined here, ascending by start, a body
    /// inlined in one right after it: their instructions' origins are the
    /// call's (a trace's line in this function), and these give the
    /// callee's own.
    pub inlined: Vec<Inlined>,
}

/// The body of function `func` inlined at instructions `start..end`.
#[derive(Debug, Clone, Default)]
pub struct Inlined {
    pub start: u32,
    pub end: u32,
    pub func: u32,
    /// For each instruction of the body, its origin in `func`'s code.
    pub origin: Vec<u32>,
}

impl Code {
    /// The slots holding references before safepoint `pc` runs.
    pub fn refs_at(&self, pc: u32) -> &[u32] {
        crate::verify::refs_at(&self.safepoints, pc)
    }

    /// The functions inlined at instruction `pc`, outermost first, each
    /// with the instruction's origin in its code (a nested body's call is
    /// the origin in the body around it).
    pub fn inlined_at(&self, pc: u32) -> Vec<(u32, u32)> {
        self.inlined
            .iter()
            .filter(|b| b.start <= pc && pc < b.end)
            .map(|b| (b.func, b.origin[(pc - b.start) as usize]))
            .collect()
    }

    /// The canonical instructions counted for instruction `pc` that do not
    /// run when it traps.
    pub fn tail(&self, pc: u32) -> u64 {
        self.tails.binary_search(&pc).is_ok() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_stay_small() {
        assert!(
            std::mem::size_of::<Op>() <= 16,
            "{}",
            std::mem::size_of::<Op>()
        );
    }

    #[test]
    fn listing_names_each_operand() {
        let op = Op::IAddImm { d: 3, a: 0, v: -1 };
        assert_eq!(op.to_string(), "iadd.imm d=3 a=0 v=-1");
        let op = Op::BrNotFLt { a: 1, b: 2, t: 9 };
        assert_eq!(op.to_string(), "br.not.flt a=1 b=2 t=9");
        assert_eq!(Op::RetUnit.to_string(), "ret.unit");
        let op = Op::Stack(Instr::Call { func: 2 });
        assert_eq!(op.to_string(), "call 2");
    }
}
