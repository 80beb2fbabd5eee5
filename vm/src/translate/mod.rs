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
//!
//! Small leaf functions are inlined where they are called (see `inline`).
//!
//! This file keeps the pass and the abstract stack; `forms` what each
//! simple instruction becomes; `globals` the globals known at load time;
//! `inline` calls translated as the callee's body.

use crate::divisor::Divisor;
use crate::internal::{Code, Op, Slot};
use crate::module::{Const, Function, Layout, Module, TypeDesc, UNIT};
use crate::opcodes::{Cmp, Instr};
use crate::verify::FuncInfo;
use std::collections::HashMap;

mod forms;
mod globals;
mod inline;

use globals::known_globals;

const NONE: u32 = u32::MAX;

/// The most stack entries kept out of their own slots: past it the oldest
/// is written to its slot, so translation stays linear however deep the
/// stack.
const MAX_VIRTUAL: usize = 16;

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
    let levels = inline::levels(module, info);
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
            let mut t = Translator::new(f, fi, &module.consts, known, module, &params, fuse);
            t.infos = info;
            t.levels = &levels;
            t.inline_budget = inline::budget(f);
            t.run(&mut divisors)
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
    module: &'a Module,
    /// Every function's verifier facts (for inlining; empty inside an
    /// inlined body, which inlines nothing).
    infos: &'a [FuncInfo],
    /// Canonical instructions of callees this function may still inline.
    inline_budget: usize,
    /// Per function, the inlined levels a call of it brings (see
    /// `inline::levels`).
    levels: &'a [u8],
    /// How many inlined bodies this code is inside (0 for a function's
    /// own code).
    inline_depth: u8,
    /// The frame slot of the function's local 0: 0, or where an inlined
    /// body's frame starts in its caller's.
    base: u32,
    /// In an inlined body, where `ret` puts the result (then it jumps to
    /// the end of the body).
    inline_ret: Option<Slot>,
    /// In an inlined body, the parameters read where the caller has
    /// their values (never stored to, so no copy is needed).
    args: Vec<Option<Val>>,
    /// In an inlined body, whether its one `ret` is its last instruction.
    tail_ret: bool,
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
            module,
            infos: &[],
            inline_budget: 0,
            levels: &[],
            inline_depth: 0,
            base: 0,
            inline_ret: None,
            args: Vec::new(),
            tail_ret: false,
        }
    }

    fn run(mut self, divisors: &mut Divisors) -> Code {
        self.translate_all(divisors);
        self.out
    }

    /// The pass itself (what `run` does, leaving the translator for an
    /// inlined body's caller to read what it left pending).
    fn translate_all(&mut self, divisors: &mut Divisors) {
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
        if self.inline_ret.is_some() {
            self.drop_last_return_jump(n);
        }
        self.index_of[n] = self.out.ops.len() as u32;
        let index_of = std::mem::take(&mut self.index_of);
        // Inlined bodies' jumps are already internal indices.
        let mut bodies = self.out.inlined.iter().peekable();
        for (k, op) in self.out.ops.iter_mut().enumerate() {
            while bodies.next_if(|b| b.end as usize <= k).is_some() {}
            if bodies.peek().is_some_and(|b| b.start as usize <= k) {
                continue;
            }
            if let Some(t) = op.target_mut() {
                *t = index_of[*t as usize];
            }
        }
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

    /// Takes the last instruction back out: its count and origin.
    fn pop_last(&mut self) -> (u8, u32) {
        self.out.ops.pop();
        self.out.sp.pop();
        let count = self.out.counts.pop().expect("an instruction");
        let origin = self.out.origin.pop().expect("an instruction");
        (count, origin)
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

    /// The struct type field access `i` is of (see `FuncInfo::owners`).
    fn owner(&self, i: usize) -> u16 {
        self.info
            .owners
            .get(i)
            .copied()
            .unwrap_or(crate::verify::NO_OWNER)
    }

    /// Whether element access `i` is to a `[bool]`, whose elements are
    /// bytes (see `FuncInfo::byte_elements`).
    fn bytes(&self, i: usize) -> bool {
        self.info.byte_elements.get(i).copied().unwrap_or(false)
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
        let after = if self.live { self.height_after(i) } else { 0 };
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
                let v = match self.args.get(local as usize) {
                    Some(&Some(v)) => v,
                    _ => Val::At(self.base + local as u32),
                };
                self.push_val(v, i);
                self.pending += 1;
            }
            Const { .. } | Bool { .. } => {
                let v = self.constant(ins);
                self.push_val(v, i);
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
            Store { local } => self.store(self.base + local as u32, i),
            GlobalGet { global } => match self.known.get(global as usize) {
                Some(Some(value)) => {
                    let v = self.constant(*value);
                    self.push_val(v, i);
                    self.pending += 1;
                }
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
            Call { func } => {
                if !self.inline(func, i, divisors) {
                    self.call(func, i);
                }
            }
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
            ALen {} => {
                let bytes = self.bytes(i);
                self.unary(i, |d, a| Op::ALen { d, a, bytes })
            }
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
                let bytes = self.bytes(i);
                self.produce(
                    h - 2,
                    Op::AGet {
                        d,
                        a,
                        i: idx,
                        bytes,
                    },
                    1,
                    i,
                );
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
                let bytes = self.bytes(i);
                let op = match constant {
                    Some(v) => Op::ASetImm {
                        a,
                        i: idx,
                        v,
                        bytes,
                    },
                    None => Op::ASet {
                        a,
                        i: idx,
                        v: self.slot(h - 1, i),
                        bytes,
                    },
                };
                self.emit(op, 1, i);
                self.pop_n(3);
            }
            SetField { field } => {
                let v = self.slot(h - 1, i);
                let o = self.slot(h - 2, i);
                let ty = self.owner(i);
                self.emit(Op::SetField { o, f: field, v, ty }, 1, i);
                self.pop_n(2);
            }
            MGet {} => {
                let k = self.slot(h - 1, i);
                let m = self.slot(h - 2, i);
                let s = self.own(h - 2) as Slot;
                self.produce(h - 2, Op::MGet { d: s, m, k, s }, 1, i);
            }
            MSet {} => {
                let v = self.slot(h - 1, i);
                let k = self.slot(h - 2, i);
                let m = self.slot(h - 3, i);
                let s = self.own(h - 3) as Slot;
                self.emit(Op::MSet { m, k, v, s }, 1, i);
                self.record_map(i);
                self.pop_n(3);
            }
            MGetOr {} => {
                let v = self.slot(h - 1, i);
                let k = self.slot(h - 2, i);
                let m = self.slot(h - 3, i);
                let s = self.own(h - 3) as Slot;
                self.produce(h - 3, Op::MGetOr { d: s, m, k, v, s }, 1, i);
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
            Ret {} if self.inline_ret.is_some() => self.inline_return(i),
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

    /// The value a `const` or `bool` instruction pushes (also what a
    /// known global's read pushes).
    fn constant(&self, ins: Instr) -> Val {
        match ins {
            Instr::Const { index } => match self.consts.get(index as usize) {
                Some(Const::Int(v)) if i32::try_from(*v).is_ok() => Val::Int(*v as i32),
                _ => Val::Const(index),
            },
            Instr::Bool { value } => Val::Int(value as i32),
            _ => unreachable!("only constants push a known value"),
        }
    }

    /// The stack height after instruction `i`, which falls through (0
    /// where nothing follows).
    pub(super) fn height_after(&self, i: usize) -> usize {
        match self.info.heights.get(i + 1) {
            Some(&h) if h != NONE => h as usize,
            _ => 0,
        }
    }
}
