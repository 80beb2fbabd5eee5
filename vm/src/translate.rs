//! Translation after verification: verified canonical code becomes the
//! register-based internal code the interpreter runs (see
//! [`crate::internal`]).
//!
//! One pass over each function, in order, keeps an abstract operand
//! stack: each entry is where its value is, a frame slot (its own stack
//! slot, or a local or lower stack slot it aliases) or a constant. A
//! `load`, a constant or a `dup` only pushes an entry; an operation reads
//! its operands' slots and writes its own stack slot, and a `store` right
//! after it becomes its destination. So `load a; load b; iadd; store c`
//! is one instruction, `iadd d=c a=a b=b`. An entry is *materialized*
//! (written to its own slot) wherever the value must really be there:
//!
//! - before a `store` to a local that entries below alias;
//! - before a jump, and where jumps land (every path then agrees on what
//!   is in each slot: a label starts with every entry in its own slot);
//! - before any instruction that runs as itself ([`Op::Stack`]: calls,
//!   allocation, strings, maps), which reads its operands from the stack
//!   and may collect; so every safepoint has the verifier's stack map.
//!
//! A comparison followed by a conditional jump becomes one
//! compare-and-branch, and a counter's `+ 1` followed by its loop test one
//! step-and-branch. Reads of constants the init function sets first thing
//! become the constants themselves (see `known_globals`), so `while i <
//! N` over a named `const N` runs as `while i < 30000000` does.
//!
//! Accounting stays canonical: a `load` or constant is counted by the next
//! instruction emitted (it ran before that one in canonical code), each
//! instruction's origin is its trap or poll point, and one that took in a
//! `store` after a trap point says so (see [`Code`]). Translation is one
//! pass, linear in the code's size.

use crate::divisor::Divisor;
use crate::internal::{Code, Op, Slot};
use crate::module::{Const, Function, Layout, Module, TypeDesc, UNIT};
use crate::opcodes::{Cmp, Instr};
use crate::verify::FuncInfo;
use std::collections::HashMap;

const NONE: u32 = u32::MAX;

/// The most stack entries kept out of their own slots: past it the oldest
/// is written to its slot, so translation stays linear however deep the
/// stack.
const MAX_VIRTUAL: usize = 16;

/// The globals whose value is known once the program is loaded, with the
/// instruction that pushes it: the init function sets them first thing,
/// each from a constant (`const k; global.set g` or `bool v; global.set
/// g`, before any other instruction, so nothing can run, fail or be
/// interrupted before they are set), and nothing else sets them. Init runs
/// before any other code, so a read anywhere else sees that value.
fn known_globals(module: &Module) -> Vec<Option<Instr>> {
    let mut known = vec![None; module.globals.len()];
    let Some(init) = module.init.and_then(|i| module.functions.get(i as usize)) else {
        return known;
    };
    for pair in init.code.chunks_exact(2) {
        match *pair {
            [value @ (Instr::Const { .. } | Instr::Bool { .. }), Instr::GlobalSet { global }] => {
                if let Some(slot) = known.get_mut(global as usize) {
                    *slot = Some(value);
                }
            }
            _ => break,
        }
    }
    let mut sets = vec![0u32; module.globals.len()];
    for ins in module.functions.iter().flat_map(|f| &f.code) {
        if let Instr::GlobalSet { global } = ins {
            if let Some(n) = sets.get_mut(*global as usize) {
                *n += 1;
            }
        }
    }
    for (g, n) in sets.iter().enumerate() {
        if *n != 1 {
            known[g] = None;
        }
    }
    known
}

/// Translates every function of a verified module. Without `fuse`, each
/// canonical instruction runs as itself (for tests that translation
/// changes nothing a program does).
pub(crate) fn translate(
    module: &Module,
    info: &[FuncInfo],
    fuse: bool,
) -> (Vec<Code>, Vec<Divisor>) {
    let mut divisors = Divisors::default();
    let known = if fuse {
        known_globals(module)
    } else {
        Vec::new()
    };
    let params: Vec<usize> = module.functions.iter().map(|f| f.params.len()).collect();
    let code = module
        .functions
        .iter()
        .zip(info)
        .enumerate()
        .map(|(i, (f, fi))| {
            // Init sets the known globals: there they are not known yet.
            let known: &[Option<Instr>] = if Some(i as u32) == module.init {
                &[]
            } else {
                &known
            };
            let frame = f.num_slots() + fi.max_stack as usize;
            let fuse = fuse && frame <= 1 << 16;
            Translator::new(f, fi, &module.consts, known, module, &params, fuse).run(&mut divisors)
        })
        .collect();
    (code, divisors.list)
}

/// The constant divisors of a program, each once.
#[derive(Default)]
struct Divisors {
    list: Vec<Divisor>,
    index: HashMap<i64, u32>,
}

impl Divisors {
    fn index(&mut self, d: Divisor) -> u32 {
        *self.index.entry(d.divisor()).or_insert_with(|| {
            self.list.push(d);
            self.list.len() as u32 - 1
        })
    }
}

/// Where an abstract stack entry's value is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Val {
    /// In this frame slot.
    At(u32),
    /// This int (or bool) constant.
    Int(i32),
    /// Constant-pool entry `k`.
    Const(u32),
}

struct Translator<'a> {
    f: &'a Function,
    code: &'a [Instr],
    info: &'a FuncInfo,
    consts: &'a [Const],
    known: &'a [Option<Instr>],
    types: &'a [TypeDesc],
    layouts: &'a [Layout],
    /// The parameter count of each function.
    params: &'a [usize],
    fuse: bool,
    locals: u32,
    label: Vec<bool>,
    out: Code,
    /// The internal index of each canonical instruction.
    index_of: Vec<u32>,
    /// The abstract operand stack: its height, and the entries that are
    /// not in their own slot, ascending by height (at most
    /// `MAX_VIRTUAL`, so that every operation on them is constant work).
    h: usize,
    virt: Vec<(usize, Val)>,
    /// Whether control reaches the instruction being translated from the
    /// one before it.
    live: bool,
    /// Canonical instructions run but not yet counted by an instruction.
    pending: u32,
    /// The first internal index after the last label: instructions before
    /// it are not rewritten.
    barrier: usize,
}

impl<'a> Translator<'a> {
    fn new(
        f: &'a Function,
        info: &'a FuncInfo,
        consts: &'a [Const],
        known: &'a [Option<Instr>],
        module: &'a Module,
        params: &'a [usize],
        fuse: bool,
    ) -> Translator<'a> {
        let code = &f.code[..];
        let mut label = vec![false; code.len() + 1];
        for ins in code {
            if let Some(t) = ins.target() {
                if let Some(l) = label.get_mut(t as usize) {
                    *l = true;
                }
            }
        }
        Translator {
            f,
            code,
            info,
            consts,
            known,
            types: &module.types,
            layouts: &module.layouts,
            params,
            fuse,
            locals: f.num_slots() as u32,
            label,
            out: Code::default(),
            index_of: vec![0; code.len() + 1],
            h: 0,
            virt: Vec::new(),
            live: true,
            pending: 0,
            barrier: 0,
        }
    }

    fn run(mut self, divisors: &mut Divisors) -> Code {
        let n = self.code.len();
        let mut i = 0;
        while i < n {
            let h = self.info.heights.get(i).copied().unwrap_or(NONE);
            if h == NONE {
                // No path reaches it.
                self.index_of[i] = self.out.ops.len() as u32;
                i += 1;
                continue;
            }
            if self.label[i] || !self.live {
                self.enter_block(i, h as usize);
            }
            self.index_of[i] = self.out.ops.len() as u32;
            debug_assert_eq!(self.h, h as usize);
            i += if self.fuse {
                self.step(i, divisors)
            } else {
                self.as_itself(i);
                1
            };
        }
        self.index_of[n] = self.out.ops.len() as u32;
        let index_of = std::mem::take(&mut self.index_of);
        for op in &mut self.out.ops {
            if let Some(t) = op.target_mut() {
                *t = index_of[*t as usize];
            }
        }
        self.out
    }

    fn own(&self, k: usize) -> u32 {
        self.locals + k as u32
    }

    /// Starts a block at instruction `i`, where the stack is `h` high:
    /// the path falling in puts every value in its own slot, as the paths
    /// jumping in do.
    fn enter_block(&mut self, i: usize, h: usize) {
        if self.live {
            self.materialize_all(i);
            if self.pending > 0 {
                self.emit(Op::Nop, 0, i);
            }
        }
        self.pending = 0;
        self.reset(h);
        self.live = true;
        self.barrier = self.out.ops.len();
    }

    fn push(&mut self, op: Op, count: u8, origin: usize) {
        let sp = match op {
            Op::Stack(_) => self.own(self.h),
            _ => 0,
        };
        self.out.ops.push(op);
        self.out.sp.push(sp);
        self.out.counts.push(count);
        self.out.origin.push(origin as u32);
    }

    /// Appends `op`, which stands for `own` canonical instructions plus
    /// the ones pending.
    fn emit(&mut self, op: Op, own: u32, origin: usize) {
        let mut count = self.pending + own;
        while count > u8::MAX as u32 {
            self.push(Op::Nop, u8::MAX, origin);
            count -= u8::MAX as u32;
        }
        self.pending = 0;
        self.push(op, count as u8, origin);
    }

    /// Where entry `k` is.
    fn get(&self, k: usize) -> Val {
        match self.virt.iter().rev().find(|(j, _)| *j == k) {
            Some(&(_, v)) => v,
            None => Val::At(self.own(k)),
        }
    }

    /// Pushes an entry, writing the oldest one out of its slot to its
    /// slot if there are too many.
    fn push_val(&mut self, v: Val, origin: usize) {
        let k = self.h;
        self.h += 1;
        if v != Val::At(self.own(k)) {
            self.virt.push((k, v));
            if self.virt.len() > MAX_VIRTUAL {
                let (oldest, _) = self.virt[0];
                self.materialize(oldest, origin);
            }
        }
    }

    /// A stack of height `h` with every entry in its own slot.
    fn reset(&mut self, h: usize) {
        self.h = h;
        self.virt.clear();
    }

    /// Writes entry `k` to its own slot.
    fn materialize(&mut self, k: usize, origin: usize) {
        let Some(pos) = self.virt.iter().position(|(j, _)| *j == k) else {
            return;
        };
        let (_, v) = self.virt.remove(pos);
        let d = self.own(k) as Slot;
        let op = match v {
            Val::At(s) => Op::Move { d, s: s as Slot },
            Val::Int(v) => Op::Int { d, v },
            Val::Const(c) => Op::Const { d, k: c },
        };
        self.emit(op, 0, origin);
    }

    fn materialize_all(&mut self, origin: usize) {
        while let Some(&(k, _)) = self.virt.first() {
            self.materialize(k, origin);
        }
    }

    /// The slot holding entry `k` (materializing a constant).
    fn slot(&mut self, k: usize, origin: usize) -> Slot {
        if !matches!(self.get(k), Val::At(_)) {
            self.materialize(k, origin);
        }
        match self.get(k) {
            Val::At(s) => s as Slot,
            _ => unreachable!("materialized above"),
        }
    }

    fn pop_n(&mut self, n: usize) {
        self.h -= n;
        while self.virt.last().is_some_and(|(j, _)| *j >= self.h) {
            self.virt.pop();
        }
    }

    /// Emits `op`, which writes the own slot of the entry at height `k`
    /// and replaces the entries from `k` up.
    fn produce(&mut self, k: usize, op: Op, own: u32, origin: usize) {
        self.emit(op, own, origin);
        self.pop_n(self.h - k);
        self.h += 1;
    }

    fn int_of(&self, v: Val) -> Option<i32> {
        match v {
            Val::Int(v) => Some(v),
            _ => None,
        }
    }

    fn float_const(&self, v: Val) -> Option<u32> {
        match v {
            Val::Const(k) if matches!(self.consts.get(k as usize), Some(Const::Float(_))) => {
                Some(k)
            }
            _ => None,
        }
    }

    /// The instruction as itself, its operands in their stack slots.
    fn as_itself(&mut self, i: usize) {
        let ins = self.code[i];
        self.live = ins.falls_through();
        let after = match self.info.heights.get(i + 1) {
            Some(&h) if h != NONE && self.live => h as usize,
            _ => 0,
        };
        if !self.live {
            self.materialize_all(i);
        }
        self.run_itself(Op::Stack(ins), i, after);
    }

    /// Emits `op`, an instruction that reads its operands from their own
    /// stack slots and leaves the stack `after` high. Canonical
    /// instructions push at most one value, so its operands are among the
    /// entries from `after - 1` up: those are written to their slots.
    /// Entries below may stay where they are (nothing it does can change
    /// a local or a lower slot), and the collector does not scan their
    /// slots.
    fn run_itself(&mut self, op: Op, i: usize, after: usize) {
        let from = after.saturating_sub(1);
        let above: Vec<usize> = self
            .virt
            .iter()
            .filter(|(k, _)| *k >= from)
            .map(|(k, _)| *k)
            .collect();
        for k in above {
            self.materialize(k, i);
        }
        self.emit(op, 1, i);
        let safepoint = match op {
            Op::Stack(ins) => ins.opcode().is_safepoint(),
            _ => true,
        };
        if safepoint {
            self.record_map(i);
        }
        self.pop_n(self.h - from.min(self.h));
        self.h = after;
    }

    /// Translates the instruction at `i` (and perhaps the ones after it);
    /// returns how many it took.
    fn step(&mut self, i: usize, divisors: &mut Divisors) -> usize {
        use Instr::*;
        let ins = self.code[i];
        let h = self.h;
        match ins {
            Nop {} => self.pending += 1,
            Load { local } => {
                self.push_val(Val::At(local as u32), i);
                self.pending += 1;
            }
            Const { index } => {
                let v = match self.consts.get(index as usize) {
                    Some(crate::module::Const::Int(v)) if i32::try_from(*v).is_ok() => {
                        Val::Int(*v as i32)
                    }
                    _ => Val::Const(index),
                };
                self.push_val(v, i);
                self.pending += 1;
            }
            Bool { value } => {
                self.push_val(Val::Int(value as i32), i);
                self.pending += 1;
            }
            Dup {} => {
                let top = self.get(h - 1);
                self.push_val(top, i);
                self.pending += 1;
            }
            Pop {} => {
                self.pop_n(1);
                self.pending += 1;
            }
            Store { local } => self.store(local as u32, i),
            GlobalGet { global } => match self.known.get(global as usize) {
                Some(Some(value)) => return self.step_with(*value, i),
                _ => {
                    let d = self.own(h) as Slot;
                    self.produce(h, Op::GlobalGet { d, g: global }, 1, i);
                }
            },
            GlobalSet { global } => {
                let s = self.slot(h - 1, i);
                self.emit(Op::GlobalSet { g: global, s }, 1, i);
                self.pop_n(1);
            }
            LoadCapture { index } => {
                let d = self.own(h) as Slot;
                self.produce(h, Op::Capture { d, index }, 1, i);
            }
            IAdd {}
            | ISub {}
            | IMul {}
            | IDiv {}
            | IRem {}
            | IAnd {}
            | IOr {}
            | IXor {}
            | IShl {}
            | IShr {} => self.int_binary(ins, i, divisors),
            FAdd {} | FSub {} | FMul {} | FDiv {} => self.float_binary(ins, i),
            ILt {}
            | ILe {}
            | IGt {}
            | IGe {}
            | IEq {}
            | INe {}
            | BEq {}
            | BNe {}
            | FLt {}
            | FLe {}
            | FGt {}
            | FGe {}
            | FEq {}
            | FNe {} => return self.compare(ins, i),
            INeg {} => self.unary(i, |d, a| Op::INeg { d, a }),
            FSqrt {} => self.unary(i, |d, a| Op::FSqrt { d, a }),
            FAbs {} => self.unary(i, |d, a| Op::FAbs { d, a }),
            FFloor {} => self.unary(i, |d, a| Op::FFloor { d, a }),
            FCeil {} => self.unary(i, |d, a| Op::FCeil { d, a }),
            IAbs {} => self.unary(i, |d, a| Op::IAbs { d, a }),
            FMin {} | FMax {} | IMin {} | IMax {} => {
                let b = self.slot(h - 1, i);
                let a = self.slot(h - 2, i);
                let d = self.own(h - 2) as Slot;
                let op = match ins {
                    FMin {} => Op::FMin { d, a, b },
                    FMax {} => Op::FMax { d, a, b },
                    IMin {} => Op::IMin { d, a, b },
                    _ => Op::IMax { d, a, b },
                };
                self.produce(h - 2, op, 1, i);
            }
            Call { func } => self.call(func, i),
            NewEnum { ty, variant } => match self.unit_variant(ty, variant) {
                Some(layout) => {
                    let d = self.own(h) as Slot;
                    self.produce(h, Op::EnumUnit { d, layout, variant }, 1, i);
                }
                None => self.as_itself(i),
            },
            FNeg {} => self.unary(i, |d, a| Op::FNeg { d, a }),
            I2F {} => self.unary(i, |d, a| Op::I2F { d, a }),
            F2I {} => self.unary(i, |d, a| Op::F2I { d, a }),
            BNot {} => self.unary(i, |d, a| Op::BNot { d, a }),
            ALen {} => self.unary(i, |d, a| Op::ALen { d, a }),
            SLen {} => self.unary(i, |d, s| Op::SLen { d, s }),
            EnumTag {} => self.unary(i, |d, s| Op::EnumTag { d, s }),
            CellGet {} => self.unary(i, |d, c| Op::CellGet { d, c }),
            GetField { field } => self.get_field(field, i),
            EnumField { variant, field } => self.unary(i, |d, s| Op::EnumField {
                d,
                s,
                variant,
                field,
            }),
            AGet {} => {
                let idx = self.slot(h - 1, i);
                let a = self.slot(h - 2, i);
                let d = self.own(h - 2) as Slot;
                self.produce(h - 2, Op::AGet { d, a, i: idx }, 1, i);
            }
            SByte {} => {
                let idx = self.slot(h - 1, i);
                let s = self.slot(h - 2, i);
                let d = self.own(h - 2) as Slot;
                self.produce(h - 2, Op::SByte { d, s, i: idx }, 1, i);
            }
            ASet {} => {
                let constant = self.int_of(self.get(h - 1));
                let idx = self.slot(h - 2, i);
                let a = self.slot(h - 3, i);
                let op = match constant {
                    Some(v) => Op::ASetImm { a, i: idx, v },
                    None => Op::ASet {
                        a,
                        i: idx,
                        v: self.slot(h - 1, i),
                    },
                };
                self.emit(op, 1, i);
                self.pop_n(3);
            }
            SetField { field } => {
                let v = self.slot(h - 1, i);
                let o = self.slot(h - 2, i);
                self.emit(Op::SetField { o, f: field, v }, 1, i);
                self.pop_n(2);
            }
            CellSet {} => {
                let v = self.slot(h - 1, i);
                let c = self.slot(h - 2, i);
                self.emit(Op::CellSet { c, v }, 1, i);
                self.pop_n(2);
            }
            Jmp { target } => {
                self.materialize_all(i);
                self.emit(Op::Jmp { t: target }, 1, i);
                self.live = false;
            }
            JmpIf { target } | JmpIfNot { target } => {
                let s = self.slot(h - 1, i);
                self.pop_n(1);
                self.materialize_all(i);
                let op = if matches!(ins, JmpIf { .. }) {
                    Op::BrTrue { s, t: target }
                } else {
                    Op::BrFalse { s, t: target }
                };
                self.emit(op, 1, i);
            }
            Ret {} => {
                let op = if self.f.ret == UNIT {
                    Op::RetUnit
                } else {
                    Op::Ret {
                        s: self.slot(h - 1, i),
                    }
                };
                self.emit(op, 1, i);
                self.live = false;
            }
            _ => self.as_itself(i),
        }
        1
    }

    /// Translates the instruction at `i` as if it were `ins` (a known
    /// global's read as its constant).
    fn step_with(&mut self, ins: Instr, i: usize) -> usize {
        match ins {
            Instr::Const { index } => {
                let v = match self.consts.get(index as usize) {
                    Some(Const::Int(v)) if i32::try_from(*v).is_ok() => Val::Int(*v as i32),
                    _ => Val::Const(index),
                };
                self.push_val(v, i);
            }
            Instr::Bool { value } => self.push_val(Val::Int(value as i32), i),
            _ => unreachable!("known globals are constants"),
        }
        self.pending += 1;
        1
    }

    /// `store x`: the instruction that made the value writes `x` itself
    /// when it can.
    fn store(&mut self, x: u32, i: usize) {
        let h = self.h;
        let top = self.get(h - 1);
        let aliased = self.virt.iter().any(|&(k, v)| k < h - 1 && v == Val::At(x));
        let own = self.own(h - 1);
        let last = self.out.ops.len().wrapping_sub(1);
        if !aliased
            && top == Val::At(own)
            && self.pending == 0
            && self.out.ops.len() > self.barrier
            && self.out.counts[last] < u8::MAX
            && self.out.ops[last].dest_mut().map(|d| *d as u32) == Some(own)
        {
            let op = &mut self.out.ops[last];
            *op.dest_mut().expect("checked above") = x as Slot;
            if let Op::Call { after, .. } = op {
                *after = 1;
            } else {
                if op.can_trap() {
                    self.out.tails.push(last as u32);
                }
                self.out.counts[last] += 1;
            }
            self.pop_n(1);
            return;
        }
        // Entries that read `x` keep the value it has now.
        let reading: Vec<usize> = self
            .virt
            .iter()
            .filter(|&&(k, v)| k < h - 1 && v == Val::At(x))
            .map(|&(k, _)| k)
            .collect();
        for k in reading {
            self.materialize(k, i);
        }
        let d = x as Slot;
        let op = match top {
            Val::At(s) => Op::Move { d, s: s as Slot },
            Val::Int(v) => Op::Int { d, v },
            Val::Const(k) => Op::Const { d, k },
        };
        self.emit(op, 1, i);
        self.pop_n(1);
    }

    /// The layout of enum type `ty` if its variant `variant` has no
    /// payload (and the layout index fits an operand).
    fn unit_variant(&self, ty: u32, variant: u16) -> Option<u16> {
        let TypeDesc::Enum(l) = self.types.get(ty as usize)? else {
            return None;
        };
        match self.layouts.get(*l as usize)? {
            Layout::Enum { variants, .. } => variants
                .get(variant as usize)
                .filter(|v| v.fields.is_empty())
                .and_then(|_| u16::try_from(*l).ok()),
            Layout::Struct { .. } => None,
        }
    }

    /// `call func`: its arguments in their own slots, the result in the
    /// first one's.
    fn call(&mut self, func: u32, i: usize) {
        let h = self.h;
        let np = self.params.get(func as usize).copied().unwrap_or(0);
        let args = self.own(h - np) as Slot;
        let after = match self.info.heights.get(i + 1) {
            Some(&h) if h != NONE => h as usize,
            _ => 0,
        };
        // The arguments are the entries from `h - np` up, all within
        // `after - 1` up (a call pushes at most its result).
        let op = Op::Call {
            func,
            args,
            ret: args,
            after: 0,
        };
        self.run_itself(op, i, after);
    }

    /// The verifier's stack map for safepoint `i`, for the instruction
    /// just emitted, without the slots of entries that are not in them
    /// (their values are in the locals they read, which the map has).
    fn record_map(&mut self, i: usize) {
        if let Ok(k) = self
            .info
            .safepoints
            .binary_search_by_key(&(i as u32), |(p, _)| *p)
        {
            let at = self.out.ops.len() as u32 - 1;
            let refs = &self.info.safepoints[k].1;
            let refs = if self.virt.is_empty() {
                refs.clone()
            } else {
                refs.iter()
                    .copied()
                    .filter(|&s| !self.virt.iter().any(|&(k, _)| self.own(k) == s))
                    .collect()
            };
            self.out.safepoints.push((at, refs));
        }
    }

    /// `field.get f`; a read of a field of a field just read is one
    /// instruction.
    fn get_field(&mut self, f: u16, i: usize) {
        let h = self.h;
        let o = self.slot(h - 1, i);
        let d = self.own(h - 1) as Slot;
        let n = self.out.ops.len();
        if self.pending == 0 && n > self.barrier && o == d {
            if let Op::GetField {
                d: d0,
                o: o0,
                f: f0,
            } = self.out.ops[n - 1]
            {
                if d0 == d && self.out.counts[n - 1] < u8::MAX {
                    self.out.ops[n - 1] = Op::GetField2 {
                        d,
                        o: o0,
                        f: f0,
                        g: f,
                    };
                    self.out.counts[n - 1] += 1;
                    self.out.origin[n - 1] = i as u32;
                    return;
                }
            }
        }
        self.produce(h - 1, Op::GetField { d, o, f }, 1, i);
    }

    fn unary(&mut self, i: usize, make: impl Fn(Slot, Slot) -> Op) {
        let h = self.h;
        let a = self.slot(h - 1, i);
        let d = self.own(h - 1) as Slot;
        self.produce(h - 1, make(d, a), 1, i);
    }

    fn int_binary(&mut self, ins: Instr, i: usize, divisors: &mut Divisors) {
        use Instr::*;
        let h = self.h;
        let (ka, kb) = (h - 2, h - 1);
        let d = self.own(ka) as Slot;
        let (va, vb) = (self.int_of(self.get(ka)), self.int_of(self.get(kb)));
        let commutes = matches!(ins, IAdd {} | IMul {});
        // An immediate operand: the right one, or the left of a
        // commutative operation.
        let imm = match (vb, va) {
            (Some(v), _) => Some((ka, v)),
            (None, Some(v)) if commutes => Some((kb, v)),
            _ => None,
        };
        if let Some((k, v)) = imm {
            let by = Divisor::new(v as i64);
            let mut with = |a: Slot| match (ins, by) {
                (IAdd {}, _) => Some(Op::IAddImm { d, a, v }),
                (ISub {}, _) => v.checked_neg().map(|v| Op::IAddImm { d, a, v }),
                (IMul {}, _) => Some(Op::IMulImm { d, a, v }),
                (IDiv {}, Some(by)) => Some(Op::IDivBy {
                    d,
                    a,
                    k: divisors.index(by),
                }),
                (IRem {}, Some(by)) => Some(Op::IRemBy {
                    d,
                    a,
                    k: divisors.index(by),
                }),
                (IDiv {}, None) if v != 0 => Some(Op::IDivImm { d, a, v }),
                (IRem {}, None) if v != 0 => Some(Op::IRemImm { d, a, v }),
                _ => None,
            };
            if with(0).is_some() {
                let a = self.slot(k, i);
                let op = with(a).expect("checked above");
                self.produce(ka, op, 1, i);
                return;
            }
        }
        let b = self.slot(kb, i);
        let a = self.slot(ka, i);
        let op = match ins {
            IAdd {} => Op::IAdd { d, a, b },
            ISub {} => Op::ISub { d, a, b },
            IMul {} => Op::IMul { d, a, b },
            IDiv {} => Op::IDiv { d, a, b },
            IRem {} => Op::IRem { d, a, b },
            IAnd {} => Op::IAnd { d, a, b },
            IOr {} => Op::IOr { d, a, b },
            IXor {} => Op::IXor { d, a, b },
            IShl {} => Op::IShl { d, a, b },
            IShr {} => Op::IShr { d, a, b },
            _ => unreachable!("an int binary operation"),
        };
        self.produce(ka, op, 1, i);
    }

    fn float_binary(&mut self, ins: Instr, i: usize) {
        use Instr::*;
        let h = self.h;
        let (ka, kb) = (h - 2, h - 1);
        let d = self.own(ka) as Slot;
        let commutes = matches!(ins, FAdd {} | FMul {});
        let (ca, cb) = (
            self.float_const(self.get(ka)),
            self.float_const(self.get(kb)),
        );
        let imm = match (cb, ca) {
            (Some(k), _) => Some((ka, k)),
            (None, Some(k)) if commutes => Some((kb, k)),
            _ => None,
        };
        if let Some((other, k)) = imm {
            let a = self.slot(other, i);
            let op = match ins {
                FAdd {} => Op::FAddK { d, a, k },
                FSub {} => Op::FSubK { d, a, k },
                FMul {} => Op::FMulK { d, a, k },
                _ => Op::FDivK { d, a, k },
            };
            self.produce(ka, op, 1, i);
            return;
        }
        let b = self.slot(kb, i);
        let a = self.slot(ka, i);
        let op = match ins {
            FAdd {} => Op::FAdd { d, a, b },
            FSub {} => Op::FSub { d, a, b },
            FMul {} => Op::FMul { d, a, b },
            _ => Op::FDiv { d, a, b },
        };
        self.produce(ka, op, 1, i);
    }

    /// A comparison; with the conditional jump right after it (no label
    /// between), one compare-and-branch.
    fn compare(&mut self, ins: Instr, i: usize) -> usize {
        let (cmp, float) = Cmp::of(ins).expect("a comparison");
        let h = self.h;
        let (ka, kb) = (h - 2, h - 1);
        let jump = match self.code.get(i + 1) {
            Some(Instr::JmpIf { target }) if !self.label[i + 1] => Some((true, *target)),
            Some(Instr::JmpIfNot { target }) if !self.label[i + 1] => Some((false, *target)),
            _ => None,
        };
        let Some((when, t)) = jump else {
            let b = self.slot(kb, i);
            let a = self.slot(ka, i);
            let d = self.own(ka) as Slot;
            let op = match (float, cmp) {
                (false, Cmp::Lt) => Op::ILt { d, a, b },
                (false, Cmp::Le) => Op::ILe { d, a, b },
                (false, Cmp::Gt) => Op::IGt { d, a, b },
                (false, Cmp::Ge) => Op::IGe { d, a, b },
                (false, Cmp::Eq) => Op::IEq { d, a, b },
                (false, Cmp::Ne) => Op::INe { d, a, b },
                (true, Cmp::Lt) => Op::FLt { d, a, b },
                (true, Cmp::Le) => Op::FLe { d, a, b },
                (true, Cmp::Gt) => Op::FGt { d, a, b },
                (true, Cmp::Ge) => Op::FGe { d, a, b },
                (true, Cmp::Eq) => Op::FEq { d, a, b },
                (true, Cmp::Ne) => Op::FNe { d, a, b },
            };
            self.produce(ka, op, 1, i);
            return 1;
        };
        let constant = match (
            self.float_const(self.get(kb)),
            self.float_const(self.get(ka)),
        ) {
            (Some(k), _) => Some((ka, k, cmp)),
            // `k < a` is `a > k`, NaN or not.
            (None, Some(k)) => Some((kb, k, cmp.swapped())),
            _ => None,
        };
        let op = if let (true, Some((other, k, cmp))) = (float, constant) {
            let a = self.slot(other, i);
            match (when, cmp) {
                (true, Cmp::Lt) => Op::BrFLtK { a, k, t },
                (true, Cmp::Le) => Op::BrFLeK { a, k, t },
                (true, Cmp::Gt) => Op::BrFGtK { a, k, t },
                (true, Cmp::Ge) => Op::BrFGeK { a, k, t },
                (true, Cmp::Eq) | (false, Cmp::Ne) => Op::BrFEqK { a, k, t },
                (true, Cmp::Ne) | (false, Cmp::Eq) => Op::BrFNeK { a, k, t },
                (false, Cmp::Lt) => Op::BrNotFLtK { a, k, t },
                (false, Cmp::Le) => Op::BrNotFLeK { a, k, t },
                (false, Cmp::Gt) => Op::BrNotFGtK { a, k, t },
                (false, Cmp::Ge) => Op::BrNotFGeK { a, k, t },
            }
        } else if float {
            let b = self.slot(kb, i);
            let a = self.slot(ka, i);
            match (when, cmp) {
                (true, Cmp::Lt) => Op::BrFLt { a, b, t },
                (true, Cmp::Le) => Op::BrFLe { a, b, t },
                (true, Cmp::Gt) => Op::BrFGt { a, b, t },
                (true, Cmp::Ge) => Op::BrFGe { a, b, t },
                (true, Cmp::Eq) | (false, Cmp::Ne) => Op::BrFEq { a, b, t },
                (true, Cmp::Ne) | (false, Cmp::Eq) => Op::BrFNe { a, b, t },
                (false, Cmp::Lt) => Op::BrNotFLt { a, b, t },
                (false, Cmp::Le) => Op::BrNotFLe { a, b, t },
                (false, Cmp::Gt) => Op::BrNotFGt { a, b, t },
                (false, Cmp::Ge) => Op::BrNotFGe { a, b, t },
            }
        } else {
            let cmp = if when { cmp } else { cmp.negated() };
            let (vb, va) = (self.int_of(self.get(kb)), self.int_of(self.get(ka)));
            match (vb, va) {
                (Some(v), _) => {
                    let a = self.slot(ka, i);
                    br_imm(cmp, a, v, t)
                }
                (None, Some(v)) => {
                    let a = self.slot(kb, i);
                    br_imm(cmp.swapped(), a, v, t)
                }
                _ => {
                    let b = self.slot(kb, i);
                    let a = self.slot(ka, i);
                    br_int(cmp, a, b, t)
                }
            }
        };
        self.pop_n(2);
        self.materialize_all(i + 1);
        self.emit(op, 2, i + 1);
        self.fuse_step();
        2
    }

    /// `x = x + 1` then a branch on `x < e`: one step-and-branch.
    fn fuse_step(&mut self) {
        let n = self.out.ops.len();
        if n < 2 || n - 2 < self.barrier {
            return;
        }
        let step = match (self.out.ops[n - 2], self.out.ops[n - 1]) {
            (Op::IAddImm { d, a, v: 1 }, Op::BrILt { a: x, b: e, t })
                if d == a && a == x && e != x =>
            {
                Op::StepLt { x, e, t }
            }
            (Op::IAddImm { d, a, v: 1 }, Op::BrILe { a: x, b: e, t })
                if d == a && a == x && e != x =>
            {
                Op::StepLe { x, e, t }
            }
            (Op::IAddImm { d, a, v: 1 }, Op::BrILtImm { a: x, v, t }) if d == a && a == x => {
                Op::StepLtImm { x, v, t }
            }
            // `x = x + y` or `x = y + x`, then a test of `x`.
            (Op::IAdd { d, a, b }, Op::BrILt { a: x, b: e, t } | Op::BrILe { a: x, b: e, t })
                if d == x && (a == x || b == x) && e != x =>
            {
                let y = if a == x { b } else { a };
                if y == x {
                    return;
                }
                match self.out.ops[n - 1] {
                    Op::BrILt { .. } => Op::AddBrLt { x, y, e, t },
                    _ => Op::AddBrLe { x, y, e, t },
                }
            }
            _ => return,
        };
        let count = self.out.counts[n - 2] as u32 + self.out.counts[n - 1] as u32;
        if count > u8::MAX as u32 {
            return;
        }
        self.out.ops.truncate(n - 1);
        self.out.counts.truncate(n - 1);
        self.out.sp.truncate(n - 1);
        let origin = self.out.origin.pop().expect("two instructions");
        self.out.ops[n - 2] = step;
        self.out.counts[n - 2] = count as u8;
        self.out.origin[n - 2] = origin;
    }
}

fn br_int(cmp: Cmp, a: Slot, b: Slot, t: u32) -> Op {
    match cmp {
        Cmp::Lt => Op::BrILt { a, b, t },
        Cmp::Le => Op::BrILe { a, b, t },
        Cmp::Gt => Op::BrIGt { a, b, t },
        Cmp::Ge => Op::BrIGe { a, b, t },
        Cmp::Eq => Op::BrIEq { a, b, t },
        Cmp::Ne => Op::BrINe { a, b, t },
    }
}

fn br_imm(cmp: Cmp, a: Slot, v: i32, t: u32) -> Op {
    match cmp {
        Cmp::Lt => Op::BrILtImm { a, v, t },
        Cmp::Le => Op::BrILeImm { a, v, t },
        Cmp::Gt => Op::BrIGtImm { a, v, t },
        Cmp::Ge => Op::BrIGeImm { a, v, t },
        Cmp::Eq => Op::BrIEqImm { a, v, t },
        Cmp::Ne => Op::BrINeImm { a, v, t },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::{Const, Function, Module, INT};

    fn function(code: Vec<Instr>) -> Function {
        Function {
            name: "f".into(),
            params: vec![],
            ret: crate::module::UNIT,
            locals: vec![],
            captures: vec![],
            max_stack: 2,
            code,
            source: 0,
            lines: vec![],
        }
    }

    fn module(init: Vec<Instr>, other: Vec<Instr>) -> Module {
        let mut m = Module::new();
        m.consts = vec![Const::Int(7), Const::Int(8)];
        m.globals = vec![INT, INT, INT];
        m.functions = vec![function(other), function(init)];
        m.init = Some(1);
        m
    }

    const SET0: [Instr; 2] = [Instr::Const { index: 0 }, Instr::GlobalSet { global: 0 }];

    #[test]
    fn globals_set_first_from_constants_are_known() {
        let mut init = SET0.to_vec();
        init.extend([Instr::Bool { value: 1 }, Instr::GlobalSet { global: 1 }]);
        init.extend([Instr::Const { index: 1 }, Instr::GlobalSet { global: 2 }]);
        init.push(Instr::Ret {});
        let known = known_globals(&module(init, vec![]));
        assert_eq!(
            known,
            vec![
                Some(Instr::Const { index: 0 }),
                Some(Instr::Bool { value: 1 }),
                Some(Instr::Const { index: 1 }),
            ]
        );
    }

    #[test]
    fn a_global_set_after_other_code_or_twice_is_not_known() {
        // After a call (which may read it first), or set again elsewhere.
        let mut init = SET0.to_vec();
        init.extend([Instr::Call { func: 0 }, Instr::Pop {}]);
        init.extend([Instr::Const { index: 1 }, Instr::GlobalSet { global: 1 }]);
        init.push(Instr::Ret {});
        let other = vec![Instr::Const { index: 1 }, Instr::GlobalSet { global: 0 }];
        let known = known_globals(&module(init, other));
        assert_eq!(known, vec![None, None, None]);
        // No init function: nothing is known.
        let mut m = module(SET0.to_vec(), vec![]);
        m.init = None;
        assert_eq!(known_globals(&m), vec![None, None, None]);
    }
}
