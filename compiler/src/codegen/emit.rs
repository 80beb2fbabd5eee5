//! Emitting instructions into the function being generated: its line
//! table, jump patching, locals and temporaries, and the peephole that
//! fuses adjacent instructions (never across a jump target; off without
//! `Options::fuse`).

use super::*;

/// The one-instruction form of `load a; load b; op`, if there is one.
pub(super) fn both_locals(op: Instr, a: u16, b: u16) -> Option<Instr> {
    Some(match op {
        Instr::IAdd {} => Instr::IAddLL { a, b },
        Instr::ISub {} => Instr::ISubLL { a, b },
        Instr::IMul {} => Instr::IMulLL { a, b },
        Instr::FAdd {} => Instr::FAddLL { a, b },
        Instr::FSub {} => Instr::FSubLL { a, b },
        Instr::FMul {} => Instr::FMulLL { a, b },
        _ => return None,
    })
}

/// The one-instruction form of `load local; op`, if there is one.
pub(super) fn with_local(op: Instr, local: u16) -> Option<Instr> {
    Some(match op {
        Instr::IAddImm { value } => Instr::LoadAddImm { local, value },
        Instr::GetField { field } => Instr::LoadField { local, field },
        Instr::EnumField { variant, field } => Instr::LoadEnumField {
            local,
            variant,
            field,
        },
        Instr::IAdd {} => Instr::IAddL { local },
        Instr::ISub {} => Instr::ISubL { local },
        Instr::IMul {} => Instr::IMulL { local },
        Instr::FAdd {} => Instr::FAddL { local },
        Instr::FSub {} => Instr::FSubL { local },
        Instr::FMul {} => Instr::FMulL { local },
        Instr::FDiv {} => Instr::FDivL { local },
        Instr::Ret {} => Instr::RetL { local },
        _ => return None,
    })
}

/// Picks, by comparison, one of six instructions with the same operands.
macro_rules! cmp_instr {
    ($cmp:expr, $lt:ident, $le:ident, $gt:ident, $ge:ident, $eq:ident, $ne:ident { $($f:tt)* }) => {
        match $cmp {
            Cmp::Lt => Instr::$lt { $($f)* },
            Cmp::Le => Instr::$le { $($f)* },
            Cmp::Gt => Instr::$gt { $($f)* },
            Cmp::Ge => Instr::$ge { $($f)* },
            Cmp::Eq => Instr::$eq { $($f)* },
            Cmp::Ne => Instr::$ne { $($f)* },
        }
    };
}

/// An int comparison, and the branch instructions that test it.
#[derive(Clone, Copy)]
pub(super) enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    /// The comparison an int comparison instruction makes.
    pub(super) fn of(i: Instr) -> Option<Cmp> {
        Some(match i {
            Instr::ILt {} => Cmp::Lt,
            Instr::ILe {} => Cmp::Le,
            Instr::IGt {} => Cmp::Gt,
            Instr::IGe {} => Cmp::Ge,
            Instr::IEq {} => Cmp::Eq,
            Instr::INe {} => Cmp::Ne,
            _ => return None,
        })
    }

    /// The comparison that holds exactly when this one does not (exact for
    /// ints, which have no NaN).
    pub(super) fn negate(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Ge,
            Cmp::Le => Cmp::Gt,
            Cmp::Gt => Cmp::Le,
            Cmp::Ge => Cmp::Lt,
            Cmp::Eq => Cmp::Ne,
            Cmp::Ne => Cmp::Eq,
        }
    }

    /// Pops two ints; pushes whether the comparison holds.
    pub(super) fn instr(self) -> Instr {
        cmp_instr!(self, ILt, ILe, IGt, IGe, IEq, INe {})
    }

    /// Pops two ints; branches when the comparison holds.
    pub(super) fn branch(self) -> Instr {
        cmp_instr!(self, BrILt, BrILe, BrIGt, BrIGe, BrIEq, BrINe { target: 0 })
    }

    /// Branches when int local `a` compares so with int local `b`.
    pub(super) fn branch_locals(self, a: u16, b: u16) -> Instr {
        cmp_instr!(
            self,
            BrLLLt,
            BrLLLe,
            BrLLGt,
            BrLLGe,
            BrLLEq,
            BrLLNe { a, b, target: 0 }
        )
    }

    /// Branches when int local `local` compares so with `value`.
    pub(super) fn branch_local_imm(self, local: u16, value: i32) -> Instr {
        cmp_instr!(
            self,
            BrLImmLt,
            BrLImmLe,
            BrLImmGt,
            BrLImmGe,
            BrLImmEq,
            BrLImmNe {
                local,
                value,
                target: 0
            }
        )
    }

    /// Pops one int; branches when it compares so with `value`.
    pub(super) fn branch_imm(self, value: i32) -> Instr {
        cmp_instr!(
            self,
            BrILtImm,
            BrILeImm,
            BrIGtImm,
            BrIGeImm,
            BrIEqImm,
            BrINeImm { value, target: 0 }
        )
    }
}

pub(super) enum Operand {
    Int(i32),
    Float(f64),
}

/// A constant right operand that an immediate form of `op` can take.
pub(super) fn const_operand(op: Instr, k: &Expr) -> Option<Operand> {
    match (op, &k.kind) {
        (Instr::IMul {}, ExprKind::Int(v)) => i32::try_from(*v).ok().map(Operand::Int),
        (Instr::IRem {}, ExprKind::Int(v)) if *v != 0 => i32::try_from(*v).ok().map(Operand::Int),
        (Instr::FAdd {} | Instr::FMul {}, ExprKind::Float(f)) => Some(Operand::Float(*f)),
        _ => None,
    }
}

/// An int literal that fits 32 bits, or a bool literal as 0 or 1: the
/// operand of the instructions that take a literal (`ret.imm`,
/// `array.store.imm`).
pub(super) fn imm_literal(e: &Expr) -> Option<i32> {
    match e.kind {
        ExprKind::Int(v) => i32::try_from(v).ok(),
        ExprKind::Bool(b) => Some(b as i32),
        _ => None,
    }
}

/// The immediate for `x + k` or `x - k` with an int constant `k` that fits.
pub(super) fn imm_operand(op: Instr, k: &Expr) -> Option<i32> {
    let k = match k.kind {
        ExprKind::Int(k) => k,
        _ => return None,
    };
    match op {
        Instr::IAdd {} => i32::try_from(k).ok(),
        Instr::ISub {} => k.checked_neg().and_then(|n| i32::try_from(n).ok()),
        _ => None,
    }
}

impl FnGen {
    pub(super) fn set_line(&mut self, line: u32) {
        if line != 0 && line != self.line {
            self.line = line;
            let at = self.code.len() as u32;
            match self.lines.last_mut() {
                Some(last) if last.0 == at => last.1 = line,
                _ => self.lines.push((at, line)),
            }
        }
    }

    /// Emits an instruction, fusing it with the one before where a
    /// single instruction does the same (never across a jump target).
    pub(super) fn emit(&mut self, i: Instr) {
        // `store.load s a; load b; op` where `op` takes both locals:
        // `store s; op(a, b)`.
        let n = self.code.len();
        if self.fuse && n >= 2 && n - 2 >= self.barrier {
            if let (Instr::StoreLoad { store, load: a }, Instr::Load { local: b }) =
                (self.code[n - 2], self.code[n - 1])
            {
                let fused = match i {
                    Instr::AGet {} => Some(Instr::LoadElem { array: a, index: b }),
                    op => both_locals(op, a, b),
                };
                if let Some(f) = fused {
                    self.code.truncate(n - 2);
                    self.trim_lines();
                    self.code.push(Instr::Store { local: store });
                    self.code.push(f);
                    return;
                }
            }
        }
        let prev = if self.code.len() > self.barrier {
            self.code.last().copied()
        } else {
            None
        };
        let fused = match (prev, i) {
            // `!(a < b)` is `a >= b` for ints; `!!x` is `x`.
            (Some(last), Instr::BNot {}) if Cmp::of(last).is_some() => {
                Cmp::of(last).map(|c| vec![c.negate().instr()])
            }
            (Some(Instr::BNot {}), Instr::BNot {}) => Some(vec![]),
            // The rest fuse.
            _ if !self.fuse => None,
            (Some(Instr::Load { local: a }), Instr::Load { local: b }) => {
                Some(vec![Instr::Load2 { a, b }])
            }
            (Some(Instr::Store { local: store }), Instr::Load { local: load }) => {
                Some(vec![Instr::StoreLoad { store, load }])
            }
            // Element moves between locals and arrays held in locals.
            (Some(Instr::Load { local }), Instr::StoreElem { array, index }) => {
                Some(vec![Instr::StoreElemL {
                    array,
                    index,
                    local,
                }])
            }
            (
                Some(Instr::LoadElem {
                    array: src_array,
                    index: src_index,
                }),
                Instr::StoreElem { array, index },
            ) => Some(vec![Instr::CopyElem {
                array,
                index,
                src_array,
                src_index,
            }]),
            (Some(Instr::LoadElem { array, index }), Instr::Store { local: dst }) => {
                Some(vec![Instr::MoveElem { dst, array, index }])
            }
            (Some(Instr::Store { local: store }), Instr::ForStep { local, end, target }) => {
                Some(vec![Instr::StoreForStep {
                    store,
                    local,
                    end,
                    target,
                }])
            }
            (
                Some(Instr::LoadEnumField {
                    local: src,
                    variant,
                    field,
                }),
                Instr::Store { local: dst },
            ) => Some(vec![Instr::MoveEnumField {
                dst,
                src,
                variant,
                field,
            }]),
            (Some(Instr::StoreLoad { store, load }), op) => {
                with_local(op, load).map(|f| vec![Instr::Store { local: store }, f])
            }
            (Some(Instr::Load { local }), op) => with_local(op, local).map(|f| vec![f]),
            (Some(Instr::Load2 { a, b }), Instr::AGet {}) => {
                Some(vec![Instr::LoadElem { array: a, index: b }])
            }
            (Some(Instr::Load2 { a, b }), op) => match both_locals(op, a, b) {
                Some(f) => Some(vec![f]),
                None => with_local(op, b).map(|f| vec![Instr::Load { local: a }, f]),
            },
            _ => None,
        };
        match fused {
            Some(seq) => {
                self.code.pop();
                self.trim_lines();
                self.code.extend(seq);
            }
            None => self.code.push(i),
        }
    }

    /// Emits a direct call. When the last argument was just loaded from a
    /// local (plus an immediate), the call reads it from there instead.
    /// Only with arguments: otherwise the load before the call is some
    /// other value.
    pub(super) fn call(&mut self, func: u32, has_args: bool) {
        if self.fuse && has_args && self.code.len() > self.barrier {
            let fused = match self.code.last().copied() {
                Some(Instr::Load { local }) => Some((None, Instr::CallL { func, local })),
                Some(Instr::LoadAddImm { local, value }) => {
                    Some((None, Instr::CallLAddImm { func, local, value }))
                }
                Some(Instr::Load2 { a, b }) => Some((
                    Some(Instr::Load { local: a }),
                    Instr::CallL { func, local: b },
                )),
                Some(Instr::StoreLoad { store, load }) => Some((
                    Some(Instr::Store { local: store }),
                    Instr::CallL { func, local: load },
                )),
                _ => None,
            };
            if let Some((first, call)) = fused {
                self.code.pop();
                self.trim_lines();
                self.code.extend(first);
                self.code.push(call);
                return;
            }
        }
        self.code.push(Instr::Call { func });
    }

    /// The position of a loop's step: a jump target only if the body has a
    /// `continue`, so otherwise the step may fuse with the body's last
    /// instruction (`store.for.step`).
    pub(super) fn step_label(&mut self) -> usize {
        match self.loops.last() {
            Some(lp) if lp.continues.is_empty() => self.code.len(),
            _ => self.here(),
        }
    }

    /// The current position, as a jump target.
    pub(super) fn here(&mut self) -> usize {
        self.barrier = self.code.len();
        self.code.len()
    }

    /// Emits a jump (target patched later); an int comparison followed by
    /// a conditional jump becomes one compare-and-branch instruction.
    pub(super) fn jump(&mut self, i: Instr) -> usize {
        // `bnot; jmp.if` is `jmp.ifnot` (and the other way round), which may
        // fuse further with what computed the operand.
        if self.code.len() > self.barrier && self.code.last() == Some(&Instr::BNot {}) {
            let inverse = match i {
                Instr::JmpIf { target } => Some(Instr::JmpIfNot { target }),
                Instr::JmpIfNot { target } => Some(Instr::JmpIf { target }),
                _ => None,
            };
            if let Some(inverse) = inverse {
                self.code.pop();
                self.trim_lines();
                return self.jump(inverse);
            }
        }
        if !self.fuse {
            // `ilt; jmp.ifnot` is `ige; jmp.if` for ints: one form for the
            // VM's translation to recognize.
            if let (Instr::JmpIfNot { target }, Some(&last)) = (i, self.code.last()) {
                if let Some(c) = Cmp::of(last).filter(|_| self.code.len() > self.barrier) {
                    *self.code.last_mut().expect("a comparison") = c.negate().instr();
                    self.code.push(Instr::JmpIf { target });
                    return self.code.len() - 1;
                }
            }
            self.code.push(i);
            return self.code.len() - 1;
        }
        // `load2 a b; icmp; jmp.if` compares two locals in one instruction.
        let n = self.code.len();
        if n >= 2
            && n - 2 >= self.barrier
            && matches!(i, Instr::JmpIf { .. } | Instr::JmpIfNot { .. })
        {
            if let (Instr::Load2 { a, b }, Some(cmp)) =
                (self.code[n - 2], Cmp::of(self.code[n - 1]))
            {
                let cmp = if matches!(i, Instr::JmpIf { .. }) {
                    cmp
                } else {
                    cmp.negate()
                };
                self.code.truncate(n - 2);
                self.trim_lines();
                // A loop's step just before its test: `i += 1` then
                // `i < n` is `for.step`; `i += k` then `i <= n` is
                // `addl.br.le`.
                let prev = if self.code.len() > self.barrier {
                    self.code.last()
                } else {
                    None
                };
                let step = match (prev, cmp) {
                    (Some(&Instr::IncLocal { local, value: 1 }), Cmp::Lt) if local == a => {
                        Some(Instr::ForStep {
                            local,
                            end: b,
                            target: 0,
                        })
                    }
                    (Some(&Instr::LocalAddL { dst, src }), Cmp::Le) if dst == a => {
                        Some(Instr::AddLBrLe {
                            local: dst,
                            step: src,
                            end: b,
                            target: 0,
                        })
                    }
                    _ => None,
                };
                match step {
                    Some(fused) => {
                        self.code.pop();
                        self.trim_lines();
                        self.code.push(fused);
                    }
                    None => self.code.push(cmp.branch_locals(a, b)),
                }
                return self.code.len() - 1;
            }
        }
        let fused = match (self.code.last(), i) {
            (Some(&Instr::Load { local }), Instr::BrTagNe { variant, .. })
                if self.code.len() > self.barrier =>
            {
                Some(Instr::BrLTagNe {
                    local,
                    variant,
                    target: 0,
                })
            }
            (Some(&last), Instr::JmpIf { .. } | Instr::JmpIfNot { .. })
                if self.code.len() > self.barrier =>
            {
                Cmp::of(last).map(|c| {
                    if matches!(i, Instr::JmpIf { .. }) {
                        c
                    } else {
                        c.negate()
                    }
                    .branch()
                })
            }
            _ => None,
        };
        if let Some(f) = fused {
            self.code.pop();
            self.trim_lines();
            self.code.push(f);
        } else {
            self.code.push(i);
        }
        self.code.len() - 1
    }

    /// Drops line entries past the end after an instruction was removed,
    /// keeping the earliest line for the position.
    pub(super) fn trim_lines(&mut self) {
        let len = self.code.len() as u32;
        while self.lines.len() >= 2 && self.lines[self.lines.len() - 2].0 >= len {
            self.lines.pop();
        }
        if let Some(last) = self.lines.last_mut() {
            if last.0 > len {
                last.0 = len;
            }
        }
        self.line = self.lines.last().map_or(0, |l| l.1);
    }

    pub(super) fn patch(&mut self, at: usize, target: usize) {
        *self.code[at].target_mut().expect("patching a jump") = target as u32;
    }

    pub(super) fn patch_here(&mut self, at: usize) {
        let here = self.here();
        self.patch(at, here);
    }

    pub(super) fn patch_all_here(&mut self, at: &[usize]) {
        let here = self.here();
        for &j in at {
            self.patch(j, here);
        }
    }

    pub(super) fn temp(&mut self, ty: TypeId) -> u16 {
        self.slots.push(ty);
        self.boxed.push(false);
        (self.slots.len() - 1) as u16
    }

    pub(super) fn is_boxed(&self, id: LocalId) -> bool {
        self.boxed[id as usize] || self.redirect.iter().any(|(p, _)| *p as LocalId == id)
    }

    /// The slot holding local `id` (or its cell).
    pub(super) fn slot(&self, id: LocalId) -> u16 {
        self.redirect
            .iter()
            .find(|(p, _)| *p as LocalId == id)
            .map_or(id as u16, |(_, c)| *c)
    }

    pub(super) fn load_slot(&mut self, id: LocalId) {
        let s = self.slot(id);
        self.emit(Instr::Load { local: s });
    }

    pub(super) fn load_local(&mut self, id: LocalId) {
        self.load_slot(id);
        if self.is_boxed(id) {
            self.emit(Instr::CellGet {});
        }
    }

    pub(super) fn store_local(&mut self, id: LocalId) {
        let s = self.slot(id);
        self.emit(Instr::Store { local: s });
    }
}
