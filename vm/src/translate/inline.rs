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
//! Only functions with no safepoint but their calls are inlined (no
//! allocation), and only if those calls are of leaf functions, inlined in
//! turn: so no call is made and no collection runs inside an inlined body,
//! and the caller's stack maps need nothing new; nor a closure's body (it
//! reads its frame's captures). Each function may inline at most four times its own
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

/// How deep inlined bodies nest: a body may itself inline calls of leaf
/// functions, and no more (so a trace's frames inside one body are at most
/// three: the caller's, and two inlined).
pub(super) const MAX_LEVELS: u8 = 2;

/// For each function, how many levels of inlined bodies a call of it may
/// bring (0: it is not inlined; 1: a leaf; 2: its calls are all of leaves).
/// Computed once per module, so deciding a call is constant work.
pub(super) fn levels(module: &Module, infos: &[FuncInfo]) -> Vec<u8> {
    let plain = |f: &Function| {
        f.code.len() <= MAX_BODY
            && f.captures.is_empty()
            && !f.code.iter().any(|ins| {
                matches!(
                    ins,
                    Instr::CallClosure { .. } | Instr::CallHost { .. } | Instr::LoadCapture { .. }
                )
            })
    };
    let calls = |f: &Function| {
        f.code
            .iter()
            .filter_map(|ins| match ins {
                Instr::Call { func } => Some(*func as usize),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // Every safepoint must be a call (which inlining removes): no
    // allocation, so no collection inside a body.
    let only_calls = |f: &Function, info: &FuncInfo| {
        info.safepoints
            .iter()
            .all(|&(p, _)| matches!(f.code.get(p as usize), Some(Instr::Call { .. })))
    };
    // Each function looked at once: whether it may be inlined at all
    // (no allocation, only calls), and what it calls.
    let (plain, calls): (Vec<bool>, Vec<Vec<usize>>) = module
        .functions
        .iter()
        .zip(infos)
        .map(|(f, info)| (plain(f) && only_calls(f, info), calls(f)))
        .unzip();
    let leaf = |k: usize| plain[k] && calls[k].is_empty();
    (0..module.functions.len())
        .map(|k| {
            if leaf(k) {
                1
            } else if plain[k] && calls[k].iter().all(|&g| g < plain.len() && leaf(g)) {
                2
            } else {
                0
            }
        })
        .collect()
}

impl Translator<'_> {
    /// Translates `call func` (instruction `i`) as the body of `func` if it
    /// can be inlined here; false if not (nothing emitted then).
    pub(super) fn inline(&mut self, func: u32, i: usize, divisors: &mut Divisors) -> bool {
        let (Some(g), Some(info), Some(&levels)) = (
            self.module.functions.get(func as usize),
            self.infos.get(func as usize),
            self.levels.get(func as usize),
        ) else {
            return false;
        };
        if !self.fuse
            || levels == 0
            || self.inline_depth + levels > MAX_LEVELS
            || g.code.len() > self.inline_budget
        {
            return false;
        }
        let h = self.h;
        let np = g.params.len();
        let args = self.own(h - np);
        let frame = g.num_slots() + info.max_stack as usize;
        if args as usize + frame > 1 << 16 {
            return false;
        }
        // Arguments the callee only reads are read where they are (a local
        // of the caller, a slot below the arguments, a constant); the rest
        // are copied to their parameters' slots.
        let first = h - np;
        let args_at: Vec<Option<Val>> = (0..np)
            .map(|x| {
                let stored = g
                    .code
                    .iter()
                    .any(|ins| matches!(ins, Instr::Store { local } if *local as usize == x));
                match self.get(first + x) {
                    Val::At(s) if s >= args || stored => None,
                    v if stored || v == Val::At(self.own(first + x)) => None,
                    v => Some(v),
                }
            })
            .collect();
        let reached = |k: usize| info.heights.get(k).is_some_and(|&h| h != NONE);
        let rets: Vec<usize> = (0..g.code.len())
            .filter(|&k| matches!(g.code[k], Instr::Ret {}) && reached(k))
            .collect();
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
        body.args = args_at.clone();
        body.tail_ret = rets == [g.code.len() - 1];
        body.infos = self.infos;
        body.levels = self.levels;
        body.inline_depth = self.inline_depth + 1;
        body.inline_budget = budget(g);
        body.translate_all(divisors);
        let left = body.pending;
        let code = body.out;
        // Everything in the body must be a register instruction (one run
        // as itself would find its locals from the caller's frame base),
        // and no call may be left (its calls were to be inlined).
        if !code.safepoints.is_empty()
            || code
                .ops
                .iter()
                .any(|op| matches!(op, Op::Stack(_) | Op::Call { .. }))
        {
            return false;
        }
        self.inline_budget = self.inline_budget.saturating_sub(code.ops.len());

        // The arguments not read in place go to their slots.
        for (x, v) in args_at.iter().enumerate() {
            if v.is_none() {
                self.materialize(first + x, i);
            }
        }
        self.emit(
            Op::Enter {
                func,
                args: args as Slot,
                depth: self.inline_depth,
            },
            1,
            i,
        );
        let start = self.out.ops.len() as u32;
        // (No instruction of the body runs as itself, so none has a stack
        // pointer of its own for `push` to work out.)
        for (k, mut op) in code.ops.into_iter().enumerate() {
            if let Some(t) = op.target_mut() {
                *t += start;
            }
            self.push(op, code.counts[k], i);
        }
        self.out.tails.extend(code.tails.iter().map(|t| t + start));
        // The body's own inlined calls nest inside it: after it, ascending.
        self.out.inlined.push(Inlined {
            start,
            end: self.out.ops.len() as u32,
            func,
            origin: code.origin,
        });
        self.out
            .inlined
            .extend(code.inlined.into_iter().map(|b| Inlined {
                start: b.start + start,
                end: b.end + start,
                ..b
            }));

        // The result is in its own slot, where the body's `ret` put it;
        // the end of the body is where its returns jump to, unless its one
        // return is its last instruction: then a `store` of the result may
        // become that move's destination. What the body left uncounted is
        // counted by what follows.
        let after = self.height_after(i);
        self.pop_n(np);
        self.h = after;
        let n = self.out.ops.len();
        let tail_move = rets.len() == 1
            && rets[0] == g.code.len() - 1
            && g.ret != UNIT
            && matches!(self.out.ops.last(), Some(Op::Move { d, .. }) if *d == args as Slot);
        self.barrier = if tail_move { n - 1 } else { n };
        self.pending += left;
        true
    }

    /// `ret` in an inlined body: the result to the call's result slot,
    /// then to the end of the body (no jump for a last `ret`; a unit one
    /// leaves its count pending, for what follows the body).
    pub(super) fn inline_return(&mut self, i: usize) {
        let end = self.code.len() as u32;
        let d = self.inline_ret.expect("an inlined body");
        let last = self.tail_ret && i + 1 == self.code.len();
        if self.f.ret == UNIT {
            if last {
                self.pending += 1;
            } else {
                self.emit(Op::Jmp { t: end }, 1, i);
            }
        } else {
            let s = self.slot(self.h - 1, i);
            self.emit(Op::Move { d, s }, 1, i);
            if !last {
                self.emit(Op::Jmp { t: end }, 0, i);
            }
        }
        self.live = false;
    }
}

impl Translator<'_> {
    /// An inlined body's last instruction, if it is the jump of a `ret`
    /// to the end right after it, is not needed (a count it carries stays,
    /// on a `nop`: the other returns jump past it).
    pub(super) fn drop_last_return_jump(&mut self, end: usize) {
        let Some(last) = self.out.ops.len().checked_sub(1) else {
            return;
        };
        let mut op = self.out.ops[last];
        if !matches!(op, Op::Jmp { .. }) || op.target_mut().map(|t| *t as usize) != Some(end) {
            return;
        }
        if self.out.counts[last] == 0 {
            self.pop_last();
        } else {
            self.out.ops[last] = Op::Nop;
        }
    }
}
