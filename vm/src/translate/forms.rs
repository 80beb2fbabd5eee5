//! The register forms: what each simple canonical instruction becomes,
//! given where its operands are (see `super`): stores into the
//! destination of the instruction before, arithmetic with immediates and
//! constants, compare-and-branch, step-and-branch, field reads, calls.

use super::*;

impl Translator<'_> {
    /// `store x`: the instruction that made the value writes `x` itself
    /// when it can.
    pub(super) fn store(&mut self, x: u32, i: usize) {
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
    pub(super) fn unit_variant(&self, ty: u32, variant: u16) -> Option<u16> {
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
    pub(super) fn call(&mut self, func: u32, i: usize) {
        let h = self.h;
        let np = self.params.get(func as usize).copied().unwrap_or(0);
        let args = self.own(h - np) as Slot;
        let after = self.height_after(i);
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
    pub(super) fn record_map(&mut self, i: usize) {
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
    pub(super) fn get_field(&mut self, f: u16, i: usize) {
        let h = self.h;
        let o = self.slot(h - 1, i);
        let d = self.own(h - 1) as Slot;
        let n = self.out.ops.len();
        // `o.f.g` with `o.f` kept for an update after: one instruction.
        if n > self.barrier && o != d && o as u32 >= self.locals {
            if let Op::GetField {
                d: m,
                o: o0,
                f: f0,
                ty,
            } = self.out.ops[n - 1]
            {
                let count = self.out.counts[n - 1] as u32 + self.pending + 1;
                if m == o && o0 != m && count <= u8::MAX as u32 {
                    self.out.ops[n - 1] = Op::GetFieldKeep {
                        d,
                        m,
                        o: o0,
                        f: f0,
                        g: f,
                        ty,
                    };
                    self.out.counts[n - 1] = count as u8;
                    self.out.origin[n - 1] = i as u32;
                    self.pending = 0;
                    self.pop_n(1);
                    self.h += 1;
                    return;
                }
            }
        }
        if self.pending == 0 && n > self.barrier && o == d {
            if let Op::GetField {
                d: d0,
                o: o0,
                f: f0,
                ty,
            } = self.out.ops[n - 1]
            {
                if d0 == d && self.out.counts[n - 1] < u8::MAX {
                    self.out.ops[n - 1] = Op::GetField2 {
                        d,
                        o: o0,
                        f: f0,
                        g: f,
                        ty,
                    };
                    self.out.counts[n - 1] += 1;
                    self.out.origin[n - 1] = i as u32;
                    return;
                }
            }
        }
        let ty = self.owner(i);
        self.produce(h - 1, Op::GetField { d, o, f, ty }, 1, i);
    }

    pub(super) fn unary(&mut self, i: usize, make: impl Fn(Slot, Slot) -> Op) {
        let h = self.h;
        let a = self.slot(h - 1, i);
        let d = self.own(h - 1) as Slot;
        self.produce(h - 1, make(d, a), 1, i);
    }

    pub(super) fn int_binary(&mut self, ins: Instr, i: usize, divisors: &mut Divisors) {
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
        let (op, own) = self.multiply_add(op, ka);
        self.produce(ka, op, own, i);
    }

    pub(super) fn float_binary(&mut self, ins: Instr, i: usize) {
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
        let (op, own) = self.multiply_add(op, ka);
        self.produce(ka, op, own, i);
    }

    /// An addition or subtraction `op` (its operands at stack positions
    /// `ka` and up) that reads the product the instruction before left in
    /// a stack slot: one multiply-add, with the canonical instructions
    /// it stands for (`op`'s own one included; loads in between stay
    /// pending, for `emit`).
    fn multiply_add(&mut self, op: Op, ka: usize) -> (Op, u32) {
        let n = self.out.ops.len();
        if n == 0 || n - 1 < self.barrier {
            return (op, 1);
        }
        let (t, x, y, float) = match self.out.ops[n - 1] {
            Op::IMul { d, a, b } => (d, a, b, false),
            Op::FMul { d, a, b } => (d, a, b, true),
            _ => return (op, 1),
        };
        // The product must be a temporary of the operand stack that only
        // `op` reads: one of the two slots it pops, not aliased.
        let popped = [self.own(ka), self.own(ka + 1)];
        if !popped.contains(&(t as u32)) || self.virt.iter().any(|&(_, v)| v == Val::At(t as u32)) {
            return (op, 1);
        }
        let (a, b) = (x, y);
        let fused = match (op, float) {
            (Op::IAdd { d, a: p, b: c }, false) | (Op::IAdd { d, a: c, b: p }, false)
                if p == t && c != t =>
            {
                Op::IMulAdd { d, a, b, c }
            }
            (Op::FAdd { d, a: p, b: c }, true) | (Op::FAdd { d, a: c, b: p }, true)
                if p == t && c != t =>
            {
                Op::FMulAdd { d, a, b, c }
            }
            (Op::FSub { d, a: p, b: c }, true) if p == t && c != t => Op::FMulSub { d, a, b, c },
            (Op::FSub { d, a: c, b: p }, true) if p == t && c != t => Op::FSubMul { d, a, b, c },
            _ => return (op, 1),
        };
        let (count, _) = self.pop_last();
        (fused, count as u32 + 1)
    }

    /// A comparison; with the conditional jump right after it (no label
    /// between), one compare-and-branch.
    pub(super) fn compare(&mut self, ins: Instr, i: usize) -> usize {
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
    pub(super) fn fuse_step(&mut self) {
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
        let (_, origin) = self.pop_last();
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
