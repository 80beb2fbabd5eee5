//! Inlining: a `call` of a small leaf function is translated as the
//! callee's body, in the caller's code, its frame where the call's would
//! be (its arguments' slots on), so the call and return cost nothing.
//!
//! What the call does stays: [`Op::Enter`] makes a call's checks (call
//! depth, fuel poll, the value stack for the callee's frame) at the call,
//! so a stack overflow or a fuel trap happens where it would; a `ret`
//! becomes a move of the result into the call's result slot and a jump to
//! the end of the body. Counts are canonical as ever (the callee's
//! instructions count as themselves, the call and the return each as one),
//! and [`Code::inlined`] keeps the callee's own origins, so a trap inside
//! the body has the callee's frame in its trace, at its own line.
//!
//! Only functions with no safepoint are inlined (no allocation, no call),
//! so a collection never runs inside an inlined body and the caller's
//! stack maps need nothing new; nor a closure's body (it reads its
//! frame's captures). Each function may inline at most four times its own
//! size in callee code, so translation stays linear in the module's size.

use super::*;
use crate::internal::Inlined;

/// Callees of at most this many canonical instructions are inlined.
const MAX_BODY: usize = 128;

/// Canonical instructions of callees that function `f` may inline: a
/// multiple of its own size, never a constant per function, so that a
/// module's translation stays within a few times its size however its
/// code is split into functions.
pub(super) fn budget(f: &Function) -> usize {
    4 * f.code.len()
}

/// Whether a call of `f` can be translated as its body.
fn inlinable(f: &Function, info: &FuncInfo) -> bool {
    f.code.len() <= MAX_BODY
        && info.safepoints.is_empty()
        && f.captures.is_empty()
        && !f.code.iter().any(|ins| {
            matches!(
                ins,
                Instr::Call { .. }
                    | Instr::CallClosure { .. }
                    | Instr::CallHost { .. }
                    | Instr::LoadCapture { .. }
            )
        })
}

impl Translator<'_> {
    /// Translates `call func` (instruction `i`) as the body of `func` if it
    /// can be inlined here; false if not (nothing emitted then).
    pub(super) fn inline(&mut self, func: u32, i: usize, divisors: &mut Divisors) -> bool {
        if !self.fuse || self.inline_ret.is_some() {
            return false;
        }
        let (Some(g), Some(info)) = (
            self.module.functions.get(func as usize),
            self.infos.get(func as usize),
        ) else {
            return false;
        };
        if !inlinable(g, info) || g.code.len() > self.inline_budget {
            return false;
        }
        let h = self.h;
        let np = g.params.len();
        let args = self.own(h - np);
        let frame = g.num_slots() + info.max_stack as usize;
        if args as usize + frame > 1 << 16 {
            return false;
        }
        let mut body = Translator::new(
            g,
            info,
            self.consts,
            self.known,
            self.module,
            self.params,
            true,
        );
        body.base = args;
        body.locals = args + g.num_slots() as u32;
        body.inline_ret = Some(args as Slot);
        let code = body.run(divisors);
        // Everything in the body must be a register instruction: one run
        // as itself would find its locals from the caller's frame base.
        if code.ops.iter().any(|op| matches!(op, Op::Stack(_))) {
            return false;
        }
        self.inline_budget -= g.code.len();

        // The arguments go to their slots, the callee's first locals.
        let first = h - np;
        let above: Vec<usize> = self
            .virt
            .iter()
            .filter(|&&(k, _)| k >= first)
            .map(|&(k, _)| k)
            .collect();
        for k in above {
            self.materialize(k, i);
        }
        self.emit(
            Op::Enter {
                func,
                args: args as Slot,
            },
            1,
            i,
        );
        let start = self.out.ops.len() as u32;
        for (k, mut op) in code.ops.into_iter().enumerate() {
            if let Some(t) = op.target_mut() {
                *t += start;
            }
            self.out.ops.push(op);
            self.out.counts.push(code.counts[k]);
            self.out.sp.push(code.sp[k]);
            self.out.origin.push(i as u32);
        }
        self.out.tails.extend(code.tails.iter().map(|t| t + start));
        self.out.inlined.push(Inlined {
            start,
            end: self.out.ops.len() as u32,
            func,
            origin: code.origin,
        });

        // The result is in its own slot, where the body's `ret` put it;
        // the end of the body is where its returns jump to.
        let after = self.height_after(i);
        self.pop_n(np);
        self.h = after;
        self.barrier = self.out.ops.len();
        true
    }

    /// `ret` in an inlined body: the result to the call's result slot,
    /// then to the end of the body.
    pub(super) fn inline_return(&mut self, i: usize) {
        let end = self.code.len() as u32;
        let d = self.inline_ret.expect("an inlined body");
        if self.f.ret == UNIT {
            self.emit(Op::Jmp { t: end }, 1, i);
        } else {
            let s = self.slot(self.h - 1, i);
            self.emit(Op::Move { d, s }, 1, i);
            self.emit(Op::Jmp { t: end }, 0, i);
        }
        self.live = false;
    }

    /// An inlined body's last instruction, if it is the jump of a `ret`
    /// to the end right after it, is not needed (a count it carries stays,
    /// on a `nop`).
    pub(super) fn drop_last_return_jump(&mut self, end: usize) {
        let Some(last) = self.out.ops.len().checked_sub(1) else {
            return;
        };
        let mut op = self.out.ops[last];
        if !matches!(op, Op::Jmp { .. }) || op.target_mut().map(|t| *t as usize) != Some(end) {
            return;
        }
        if self.out.counts[last] == 0 {
            self.out.ops.pop();
            self.out.counts.pop();
            self.out.sp.pop();
            self.out.origin.pop();
        } else {
            self.out.ops[last] = Op::Nop;
        }
    }
}
