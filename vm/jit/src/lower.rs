//! The one lowering both backends share: each internal instruction of the
//! compiled subset, as macro-assembler operations (see `masm`).
//!
//! Each instruction is laid out as the interpreter runs it: its label
//! (where the driver may enter: the start, jump targets and where calls
//! resume), the checks that leave for the interpreter before it is
//! counted ([`Exit::Leave`]: a division by zero or by -1, a conversion
//! this machine does differently, an inlined call past a limit, a heap
//! access the interpreter would trap on), its count, its work. Counts of
//! instructions that cannot leave are held back and added with the next
//! that can, or before a label. A backward branch taken, and an inlined
//! call's checks, poll when the count reaches the state's limit
//! ([`Exit::Poll`]), where the interpreter's `check_fuel!` does.
//!
//! What registers hold (see `reuse`) goes around loops: a loop header
//! that only backward branches reach, and the instruction after an
//! inlined call's checks, keep what was known when control fell in
//! ([`Masm::bind_header`]); each back edge makes the registers and the
//! context's object entries hold that again, and the driver enters
//! through a stub that loads it all (the header keeps only what the loop
//! reads, after loading what the loop reads and nothing else in it
//! competes for). A join, an instruction only forward branches and the
//! instruction before reach, keeps what all of them held
//! ([`Held::meet`]). Before a loop that calls nothing out, the objects it
//! accesses through slots it never writes are looked up once
//! (`access::invariant`), and the limit checks of the calls inlined in it
//! are made once.

use crate::access::Widest;
use crate::form::{form, without_instance, Call, FUnary, Form};
use crate::masm::{Arg, Cmp, Entries, HeapFn, Held, IntOp, Masm, Operand, Reg, Src, Test, Use, LA};
use crate::reuse::Reuse;
use crate::Ctx;
use std::cell::RefCell;
use tern_vm::jit::{Exit, Fixed};
use tern_vm::Program;

/// The longest loop body (in instructions) whose invariant objects are
/// looked up before the loop.
const LOOP_SCAN: usize = 256;

/// The most counts [`lower`] holds back before adding them (so every
/// backend adds them with one instruction).
const PENDING_MAX: u32 = 3840;

/// How far `lower` looks for the next use of a value read from the heap.
const NEXT_READ_WINDOW: usize = 16;

/// The inline heap accesses among `forms`.
fn inline(forms: &[Form]) -> impl Iterator<Item = crate::access::Access> + '_ {
    forms.iter().filter_map(|f| match f {
        Form::Inline { access, .. } => Some(*access),
        _ => None,
    })
}

/// `cond`, or with `inverted` its negation (for ints: no NaN).
fn inv_if(cond: Cmp, inverted: bool) -> Cmp {
    if inverted {
        cond.negated()
    } else {
        cond
    }
}

/// The slow path of an inline heap access (see `access`): where a check
/// failed, the shim called there with its operands, where to go on after
/// it, and where to leave for the interpreter if it declines.
struct Miss<L> {
    at: L,
    f: HeapFn,
    x: u64,
    y: u64,
    resume: L,
    /// What registers hold at `resume`, loaded again after the shim.
    held: Held,
    leave: L,
    /// The instruction after, and the counts held back there.
    after: (u32, u32),
}

/// [`lower`] for no instance (see `without_instance`): for listings and
/// for tests of a machine other than the host.
pub(crate) fn lower_for_listing<M: Masm>(
    m: &mut M,
    prog: &Program,
    func: u32,
) -> Option<Vec<(M::Label, bool)>> {
    without_instance(prog, |fixed| lower(m, prog, func, fixed))
}

/// Emits function `func` of `prog` (for the instance that fixed
/// `fixed`) into `m`: the entry stub, then each instruction, then the
/// exits taken rarely, then the exit path. The label of each instruction
/// (where the driver enters), or `None` if an instruction is not in the
/// subset or a target lies outside the function.
pub(crate) fn lower<M: Masm>(
    m: &mut M,
    prog: &Program,
    func: u32,
    fixed: &Fixed,
) -> Option<Vec<(M::Label, bool)>> {
    lower_into(&mut Reuse::new(m), prog, func, fixed)
}

fn lower_into<M: Masm>(
    m: &mut M,
    prog: &Program,
    func: u32,
    fixed: &Fixed,
) -> Option<Vec<(M::Label, bool)>> {
    let ops = prog.ops_of(func);
    let counts = prog.counts_of(func);
    let start = prog.start_of(func);
    let forms: Vec<Form> = (start..)
        .zip(ops)
        .map(|(pc, op)| form(op, prog, func, pc, fixed))
        .collect::<Option<_>>()?;
    // Verified code never runs off its end; code that ends otherwise
    // than in a jump or a return is not compiled, so no path can.
    if !matches!(forms.last(), Some(Form::Jump { .. } | Form::Return { .. })) {
        return None;
    }
    // The slots read only as floats (a copy reads as neither): values
    // loaded from the heap into them go straight to float registers.
    let (mut float_read, mut int_read) = (Vec::new(), Vec::new());
    for f in forms.iter().filter(|f| !matches!(f, Form::Move { .. })) {
        for u in f.uses().into_iter().filter(|u| !u.write) {
            let s = u.slot as usize;
            if float_read.len() <= s {
                float_read.resize(s + 1, false);
                int_read.resize(s + 1, false);
            }
            match u.float {
                true => float_read[s] = true,
                false => int_read[s] = true,
            }
        }
    }
    m.read_as_floats(
        float_read
            .iter()
            .zip(&int_read)
            .map(|(&f, &i)| f && !i)
            .collect(),
    );
    let labels: Vec<M::Label> = (0..ops.len()).map(|_| m.new_label()).collect();
    // Where control arrives other than from the instruction before: the
    // start, jump targets, and where the driver resumes compiled code
    // (after a call returns, after an inlined call's poll).
    let mut entry = vec![false; ops.len()];
    entry[0] = true;
    // Headers (see `Masm::bind_header`): instructions where what compiled
    // code knows is kept although the driver may enter there: loop
    // headers only backward branches jump to (a forward jump would not
    // bring the state), the instruction after an inlined call's checks,
    // where the driver resumes after a poll, and the one after a call no
    // branch goes to, where it resumes after a return it made (what is
    // known there is the result, in a register).
    let mut backward = vec![false; ops.len()];
    let mut targeted = vec![false; ops.len()];
    let mut forward = vec![false; ops.len()];
    let mut after_enter = vec![false; ops.len()];
    let mut after_call = vec![false; ops.len()];
    // Each loop header's last back edge: its body runs from it to there.
    let mut last_edge = vec![0; ops.len()];
    for (k, f) in forms.iter().enumerate() {
        if let Some(t) = f.target().and_then(|t| t.checked_sub(start)) {
            let t = t as usize;
            if let Some(e) = entry.get_mut(t) {
                *e = true;
                targeted[t] = true;
                if t <= k {
                    backward[t] = true;
                    last_edge[t] = k;
                } else {
                    forward[t] = true;
                }
            }
        }
        if let Some(e) = entry.get_mut(k + 1) {
            match f {
                Form::Call(_) => {
                    *e = true;
                    forward[k + 1] = true;
                    after_call[k + 1] = true;
                }
                Form::Enter { .. } => {
                    *e = true;
                    after_enter[k + 1] = true;
                }
                _ => {}
            }
        }
    }
    let header: Vec<bool> = (0..ops.len())
        .map(|k| {
            k > 0
                && (((backward[k] || after_enter[k]) && !forward[k])
                    || (after_call[k] && !targeted[k]))
        })
        .collect();
    // Joins (see `Masm::bind_with`): instructions only forward branches
    // and jumps (and the instruction before) reach, all emitted before
    // them: what registers hold there is what all of those held.
    let join: Vec<bool> = (0..ops.len())
        .map(|k| k > 0 && forward[k] && !backward[k] && !after_call[k] && !after_enter[k])
        .collect();
    // What each join's way in so far held. A branch there writes
    // registers back on its way (so the way that falls in need not).
    let mut incoming: Vec<Option<Held>> = vec![None; ops.len()];
    for (k, _) in join.iter().enumerate().filter(|(_, &j)| j) {
        m.mark_out(labels[k]);
    }
    // The body of the loop whose header is `k` (from it to its last back
    // edge), where it is short enough to look through: only short bodies
    // are, so that compilation stays linear in the function (in a long
    // one, what is not done ahead costs little per iteration).
    let body = |k: usize| -> Option<&[Form]> {
        if !header[k] || !backward[k] {
            return None;
        }
        forms.get(k..=last_edge[k]).filter(|b| b.len() <= LOOP_SCAN)
    };
    // The slots a loop's body writes (sorted), if it calls nothing out.
    let written = |body: &[Form]| -> Option<Vec<u16>> {
        let mut written = body
            .iter()
            .map(Form::writes)
            .collect::<Option<Vec<_>>>()?
            .concat();
        written.sort_unstable();
        Some(written)
    };
    // The slots each loop's body uses (see `Masm::bind_header`).
    let uses: Vec<Option<Vec<Use>>> = (0..ops.len())
        .map(|k| {
            let body = body(k)?;
            let mut uses: Vec<Use> = body
                .iter()
                .filter(|f| !matches!(f, Form::Move { .. }))
                .flat_map(Form::uses)
                .collect();
            // A move copies a value as the kind a register holds it as
            // (see `Masm::copy_slot`): a float if the body uses either
            // slot as one elsewhere.
            let floats: Vec<u16> = uses.iter().filter(|u| u.float).map(|u| u.slot).collect();
            for f in body {
                if let Form::Move { d, s } = *f {
                    let float = floats.contains(&d) || floats.contains(&s);
                    uses.extend([Use::read(float, s), Use::write(float, d)]);
                }
            }
            uses.sort_unstable_by_key(|u| (u.slot, u.float, u.write));
            uses.dedup();
            Some(uses)
        })
        .collect();
    // Whether the next instruction (within a few) to use slot `d` after
    // instruction `k` reads it as a float; `None` if it writes it first,
    // copies it, or none does (see `Masm::read_kind`).
    let next_read = |k: usize, d: u16| -> Option<bool> {
        for f in forms.iter().skip(k + 1).take(NEXT_READ_WINDOW) {
            if let Some(u) = f.uses().into_iter().find(|u| u.slot == d) {
                let copy = matches!(f, Form::Move { .. });
                return (!u.write && !copy).then_some(u.float);
            }
        }
        None
    };
    // The widest field read through each local (see `access::Widest`).
    let locals = prog.module().functions.get(func as usize)?.num_slots();
    let widest = Widest::of(inline(&forms), locals);
    // The objects to look up before each loop header (see
    // `access::invariant`).
    let layout = crate::layout::heap();
    let wants: Vec<Option<Entries>> = (0..ops.len())
        .map(|k| {
            layout?;
            let body = body(k)?;
            let written = written(body)?;
            Some(crate::access::invariant(inline(body), &written, &widest))
        })
        .collect();
    // The first and last instruction branching to each.
    let mut sources: Vec<Option<(usize, usize)>> = vec![None; ops.len()];
    for (s, f) in forms.iter().enumerate() {
        if let Some(t) = f.target().and_then(|t| t.checked_sub(start)) {
            if let Some(r) = sources.get_mut(t as usize) {
                *r = Some(r.map_or((s, s), |(a, b)| (a.min(s), b.max(s))));
            }
        }
    }
    // The limit checks of the inlined calls in each loop that calls
    // nothing out, made once before it instead of each time round: the
    // depth and the value stack do not change in such a loop, so if the
    // deepest call and the largest frame pass before it, every call in it
    // passes. Where they fail, the interpreter runs the loop (and makes
    // the checks itself where it gets to them). Only for a loop that
    // control enters by falling into its header, never by a branch from
    // outside into its body, and where the driver enters its body only
    // through stubs (loop headers', joins'), which make the checks too
    // (`covered`).
    let mut checked = vec![false; ops.len()];
    let mut covered: Vec<Option<(u8, u32)>> = vec![None; ops.len()];
    let hoisted: Vec<Option<(u8, u32)>> = (0..ops.len())
        .map(|k| {
            let body = body(k)?;
            written(body)?;
            let end = k + body.len() - 1;
            let falls_in = !matches!(forms[k - 1], Form::Jump { .. } | Form::Return { .. });
            let inside = |j: usize| {
                sources[j].map_or(true, |(a, b)| a >= k && b <= end)
                    && (!entry[j] || header[j] || join[j])
            };
            if !falls_in || !(k + 1..=end).all(inside) {
                return None;
            }
            let mut most: Option<(u8, u32)> = None;
            for (j, f) in body.iter().enumerate() {
                if let Form::Enter { func, args, depth } = *f {
                    let need = (args as u64 + prog.frame_size(func) as u64).min(u32::MAX as u64);
                    let (d, n) = most.unwrap_or((0, 0));
                    most = Some((d.max(depth), n.max(need as u32)));
                    checked[k + j] = true;
                }
            }
            if let Some((d, n)) = most {
                for c in &mut covered[k + 1..=end] {
                    let (cd, cn) = c.unwrap_or((0, 0));
                    *c = Some((cd.max(d), cn.max(n)));
                }
            }
            most
        })
        .collect();
    // Each loop header's and join's driver entry (a stub that loads what
    // the registers hold there) and that state.
    let mut headers: Vec<Option<(M::Label, Held)>> = (0..ops.len()).map(|_| None).collect();
    // Where each loop header's hoisted checks leave.
    let mut header_checks: Vec<Option<M::Label>> = vec![None; ops.len()];
    let target = |t: u32| -> Option<M::Label> {
        let k = t.checked_sub(start)? as usize;
        labels.get(k).copied()
    };
    let second = |m: &mut M, b: Src| match b {
        Src::Slot(s) => m.load(Reg::B, s),
        Src::Imm(v) => m.load_imm(Reg::B, v),
    };
    // Exits emitted after the body: to the interpreter before an
    // instruction is counted, to poll, for the driver to make a call;
    // each with the counts held back where it leaves, added on its way.
    let mut exits: Vec<(M::Label, Exit, u32)> = Vec::new();
    // Inline heap accesses' slow paths, after the body.
    let mut misses: Vec<Miss<M::Label>> = Vec::new();
    // Exits where a record looked up again lacks the fields the code
    // after trusts it to have (see `access::establish`): made where
    // `exits` is borrowed, added to it at the end.
    let lacking: RefCell<Vec<(M::Label, Exit, u32)>> = RefCell::new(Vec::new());
    // Makes the context entries hold the objects wanted (see
    // `access::establish`); leaving, where one lacks fields, for the
    // interpreter to run the instruction at `pc` with `held_back` counts
    // added.
    let establish = |m: &mut M, want: &Entries, force: bool, (pc, held_back): (u32, u32)| {
        let Some(layout) = layout else {
            return Some(());
        };
        let leave = crate::access::needs_leave(m, want, force).then(|| {
            let leave = m.out_label();
            lacking
                .borrow_mut()
                .push((leave, Exit::Leave(pc), held_back));
            leave
        });
        crate::access::establish(m, layout, &widest, want, force, leave)
    };
    // Makes the entries and the registers hold what `held` says: `force`
    // where what compiled code knows is nothing (a stub after a call out).
    let restore = |m: &mut M, held: &Held, force: bool, at: (u32, u32)| {
        establish(m, &held.objects, force, at)?;
        if let (Some(s), Some(l)) = (held.tagged, layout) {
            if force || m.tagged() != Some(s) {
                let leave = m.out_label();
                lacking.borrow_mut().push((leave, Exit::Leave(at.0), at.1));
                crate::access::retag(m, l, s, leave);
            }
        }
        m.adopt(held);
        Some(())
    };
    // Where an instruction the runtime ran trapped.
    let trapped = m.new_label();
    m.entry();
    // Instructions counted but not yet added: a run of instructions that
    // cannot leave compiled code adds its counts once, before the next
    // that can (or a label control may arrive at), where they are due.
    let mut pending: u32 = 0;
    let flush = |m: &mut M, pending: &mut u32| {
        if *pending > 0 {
            m.count(*pending);
            *pending = 0;
        }
    };
    for (k, f) in forms.iter().enumerate() {
        let pc = start + k as u32;
        let n = counts[k];
        let count = |m: &mut M| {
            if n > 0 {
                m.count(n as u32);
            }
        };
        let pure = f.stays();
        if entry[k] || f.counts_first() || pending >= PENDING_MAX {
            flush(m, &mut pending);
        }
        if header[k] {
            if let Some((depth, need)) = hoisted[k] {
                let leave = m.new_label();
                exits.push((leave, Exit::Leave(pc), pending));
                m.enter_checks(depth, need, leave);
                header_checks[k] = Some(leave);
            }
            if let Some(want) = &wants[k] {
                establish(m, want, false, (pc, pending))?;
            }
            // After an inlined call's poll or a call, only the driver
            // comes in besides the way that falls in, through a stub that
            // loads the registers: nothing need be written back here.
            let held = match backward[k] {
                true => m.bind_header(labels[k], uses[k].as_deref()),
                false => m.bind_resume(labels[k]),
            };
            headers[k] = Some((m.new_label(), held));
        } else if join[k] {
            let falls_in = !matches!(forms[k - 1], Form::Jump { .. } | Form::Return { .. });
            let fell = falls_in.then(|| m.peek());
            let held = match (incoming[k].take(), fell) {
                (Some(a), Some(b)) => Some(a.meet(&b)),
                (a, b) => a.or(b),
            };
            match held {
                Some(held) => {
                    match falls_in {
                        true => m.bind_join(labels[k], &held),
                        false => m.bind_with(labels[k], &held),
                    }
                    headers[k] = Some((m.new_label(), held));
                }
                // Only the driver enters here, through a stub too.
                None => {
                    m.bind_instruction(labels[k], true);
                    let held = m.snapshot();
                    headers[k] = Some((m.new_label(), held));
                }
            }
        } else {
            m.bind_instruction(labels[k], entry[k]);
        }
        // Where a poll leaves: for an inlined call's checks and a backward
        // branch or jump.
        let polls = matches!(f, Form::Enter { .. }) || f.target().is_some_and(|t| t <= pc);
        let due = polls.then(|| m.out_label());
        if let Some(due) = due {
            exits.push((due, Exit::Poll(pc), 0));
        }
        let poll = |m: &mut M| {
            if let Some(due) = due {
                m.branch_if_due(due);
            }
        };
        // The state a loop header at `t` expects, if `t` is one.
        let expects = |t: u32| {
            let k = t.checked_sub(start)? as usize;
            headers.get(k)?.as_ref().map(|(_, held)| held)
        };
        // A backward jump to `t` (label `l`): a poll, then the registers
        // made to hold what a loop header there expects (what it allows
        // to be dirty left so).
        let back_to = |m: &mut M, t: u32, l: M::Label| {
            poll(m);
            match expects(t) {
                Some(held) => {
                    // Counted: the interpreter would go on at `t`.
                    restore(m, held, false, (t, 0))?;
                    m.jump_adopted(l);
                }
                None => m.jump(l),
            }
            Some(())
        };
        // A branch to `t` (`emit(m, label, inverted)` branches to `label`
        // if the condition holds, or with `inverted` if it does not):
        // backward ones poll when taken, the poll on the fall-through
        // path of the inverted branch, so a loop that goes on takes one
        // jump.
        let branch_to = |m: &mut M, t: u32, emit: &dyn Fn(&mut M, M::Label, bool)| -> Option<()> {
            let l = target(t)?;
            if t > pc {
                emit(m, l, false);
            } else {
                // Leaving the loop writes registers back on its way, so
                // the loop goes on with them as they are.
                let skip = m.out_label();
                emit(m, skip, true);
                let goes_on = m.peek();
                back_to(m, t, l)?;
                m.bind_with(skip, &goes_on);
            }
            Some(())
        };
        // A branch to `t` if `a cond b`.
        let compare_to = |m: &mut M, t: u32, cond: Cmp, a: u16, b: Src| {
            branch_to(m, t, &|m, l, inv| {
                m.branch_slots(inv_if(cond, inv), a, b, l)
            })
        };
        match *f {
            // Checks that leave before the count come first; past them,
            // the count is held back with the others (`pending`).
            Form::Enter { func, args, depth } => {
                // The interpreter's order is depth, fuel, value stack;
                // both limit checks leave before the count, so the
                // interpreter makes them (and a poll between them).
                if !checked[k] {
                    let leave = m.new_label();
                    exits.push((leave, Exit::Leave(pc), pending));
                    let need = (args as u64 + prog.frame_size(func) as u64).min(u32::MAX as u64);
                    m.enter_checks(depth, need as u32, leave);
                }
                pending += n as u32;
                flush(m, &mut pending);
                poll(m);
            }
            Form::Div { rem, d, a, b } => {
                if let Src::Slot(b) = b {
                    // 0 and -1 are the divisors `b + 1 <= 1` unsigned.
                    let leave = m.out_label();
                    exits.push((leave, Exit::Leave(pc), pending));
                    m.load(Reg::A, b);
                    m.int_op3_imm(IntOp::Add, LA, LA, 1);
                    m.branch_if(Reg::A, Test::Ule, Operand::Imm(1), leave);
                }
                pending += n as u32;
                m.load(Reg::A, a);
                second(m, b);
                m.div(rem);
                m.store(d, Reg::A);
            }
            Form::Global { d, g } => {
                let leave = m.out_label();
                exits.push((leave, Exit::Leave(pc), pending));
                m.ctx_word(Reg::C, Ctx::GLOBAL_SET);
                m.load_narrow(Reg::B, Reg::C, g as i32, 1);
                m.branch_if(Reg::B, Test::Eq, Operand::Imm(0), leave);
                pending += n as u32;
                m.ctx_word(Reg::C, Ctx::GLOBALS);
                m.load_word_to(d, Reg::C, 8 * g as i32);
            }
            Form::FloatToInt { d, a } => {
                let leave = m.new_label();
                exits.push((leave, Exit::Leave(pc), pending));
                m.fload(Reg::A, a);
                m.float_to_int(leave);
                pending += n as u32;
                m.store(d, Reg::A);
            }
            // Done before the count: where it declines, the interpreter
            // runs (and counts) the instruction.
            Form::Heap { f, x, y } => {
                let leave = m.new_label();
                exits.push((leave, Exit::Leave(pc), pending));
                m.call_heap(f, x, Arg::Imm(y), leave);
                pending += n as u32;
            }
            Form::Inline { access, f, x, y } => {
                // Inline forms are made only where the layout is known.
                let layout = layout?;
                let (miss, resume, leave) = (m.out_label(), m.new_label(), m.new_label());
                exits.push((leave, Exit::Leave(pc), pending));
                m.read_kind(access.writes()[0].and_then(|d| Some((d, next_read(k, d)?))));
                crate::access::emit(m, layout, &widest, access, miss);
                m.read_kind(None);
                let held = m.bind_resume(resume);
                pending += n as u32;
                misses.push(Miss {
                    at: miss,
                    resume,
                    held,
                    leave,
                    f,
                    x,
                    y,
                    after: (pc + 1, pending),
                });
            }
            Form::HeapOr {
                f: shim,
                x,
                y,
                quick,
            } => {
                let (slow, done) = (m.new_label(), m.new_label());
                // Made inline where it can be, else by the shim.
                if let (Some(quick), Some(l)) = (quick, layout) {
                    let call = m.new_label();
                    m.settle();
                    crate::alloc::emit(m, l, quick, call);
                    count(m);
                    m.jump(done);
                    m.bind(call);
                }
                m.call_heap(shim, x, y, slow);
                count(m);
                m.jump(done);
                m.bind(slow);
                count(m);
                m.runtime(pc, trapped);
                m.bind(done);
            }
            // Counted with what is held back, before it can leave.
            _ => {
                pending += n as u32;
                if !pure {
                    flush(m, &mut pending);
                }
            }
        }
        match *f {
            Form::Nothing
            | Form::Enter { .. }
            | Form::Div { .. }
            | Form::Global { .. }
            | Form::FloatToInt { .. }
            | Form::Heap { .. }
            | Form::Inline { .. }
            | Form::HeapOr { .. } => {}
            Form::Move { d, s } => m.copy_slot(d, s),
            // Into a float register where it is next read as a float (a
            // float constant: from the pool, no integer register taken).
            Form::Imm { d, v } => match next_read(k, d) {
                Some(true) => {
                    m.fload_imm(Reg::A, v as u64);
                    m.fstore(d, Reg::A);
                }
                _ => {
                    m.load_imm(Reg::A, v);
                    m.store(d, Reg::A);
                }
            },
            Form::Binary { op, d, a, b } => m.int_slots(op, d, a, b),
            Form::MulAdd { d, a, b, c } => m.mul_add_slots(d, a, b, c),
            Form::Neg { d, a } => {
                m.load(Reg::A, a);
                m.neg();
                m.store(d, Reg::A);
            }
            Form::Abs { d, a } => {
                m.load(Reg::A, a);
                m.abs();
                m.store(d, Reg::A);
            }
            Form::Compare { cond, d, a, b } => {
                m.load(Reg::A, a);
                m.load(Reg::B, b);
                m.set_cond(cond);
                m.store(d, Reg::A);
            }
            Form::DivBy { rem, d, a, k } => {
                let div = prog.divisor(k);
                m.load(Reg::A, a);
                m.div_magic(div.divisor(), div.magic(), rem);
                m.store(d, Reg::A);
            }
            Form::Branch { cond, a, b, t } => compare_to(m, t, cond, a, b)?,
            Form::Step { cond, x, by, e, t } => {
                m.int_slots(IntOp::Add, x, x, by);
                compare_to(m, t, cond, x, e)?;
            }
            Form::Jump { t } => {
                let l = target(t)?;
                match t <= pc {
                    true => back_to(m, t, l)?,
                    false => m.jump(l),
                }
            }
            Form::Float { op, d, a, b } => m.float_slots(op, d, a, b),
            Form::MulThen {
                op,
                swap,
                d,
                a,
                b,
                c,
            } => m.mul_then_slots(op, swap, d, [a, b, c]),
            Form::FloatUnary { op, d, a } => {
                m.fload(Reg::A, a);
                match op {
                    FUnary::Neg => m.fneg(),
                    FUnary::Abs => m.fabs(),
                    FUnary::Sqrt => m.fsqrt(),
                }
                m.fstore(d, Reg::A);
            }
            Form::FloatCall { f, d, a, b } => {
                m.fload(Reg::A, a);
                m.fload(Reg::B, b);
                m.call_float(f);
                m.fstore(d, Reg::A);
            }
            Form::FloatCompare { cond, d, a, b } => {
                m.fload(Reg::A, a);
                m.fload(Reg::B, b);
                m.fset_cond(cond);
                m.store(d, Reg::A);
            }
            Form::FloatBranch {
                cond,
                negated,
                a,
                b,
                t,
            } => {
                branch_to(m, t, &|m, l, inv| {
                    m.fbranch_slots(cond, negated != inv, a, b, l)
                })?;
            }
            Form::IntToFloat { d, a } => {
                m.load(Reg::A, a);
                m.int_to_float();
                m.fstore(d, Reg::A);
            }
            Form::Return { slot } => {
                if let Some(s) = slot {
                    m.load(Reg::A, s);
                }
                m.ret(slot, Exit::Return(slot).encode());
            }
            Form::Call(Call::Direct(call)) => {
                let exit = m.new_label();
                exits.push((exit, Exit::Call(pc), 0));
                let own = (call.func == func).then_some(labels[0]);
                m.native_call(&call, exit, own);
                if let Some(r) = call.result {
                    m.store(r, Reg::A);
                }
                if call.after > 0 {
                    m.count(call.after as u32);
                }
            }
            Form::Call(Call::Closure(call)) => {
                let exit = m.new_label();
                exits.push((exit, Exit::Call(pc), 0));
                m.closure_call(&call, exit);
                if let Some(r) = call.result {
                    m.store(r, Reg::A);
                }
            }
            Form::Call(Call::Driver) => m.exit(Exit::Call(pc).encode()),
            Form::Runtime => m.runtime(pc, trapped),
        }
        // A forward branch or jump (the instruction's last code) brings
        // what registers hold now to its join.
        if let Some(t) = f.target().filter(|&t| t > pc) {
            let j = (t - start) as usize;
            if join.get(j) == Some(&true) {
                let held = m.peek();
                incoming[j] = Some(match incoming[j].take() {
                    Some(h) => h.meet(&held),
                    None => held,
                });
            }
        }
    }
    for miss in misses {
        m.bind(miss.at);
        m.call_heap(miss.f, miss.x, Arg::Imm(miss.y), miss.leave);
        // The access may have missed half way through remembering an
        // object: every entry the code after it trusts is looked up again.
        restore(m, &miss.held, true, miss.after)?;
        m.jump(miss.resume);
    }
    // The driver enters a loop header through a stub that loads what the
    // registers hold there.
    for (k, h) in headers.iter().enumerate() {
        if let Some((stub, held)) = h {
            m.bind(*stub);
            if let Some(leave) = header_checks[k] {
                let (depth, need) = hoisted[k]?;
                m.enter_checks(depth, need, leave);
            }
            // Inside the body of a loop whose checks were made before it.
            if let Some((depth, need)) = covered[k] {
                let leave = m.new_label();
                exits.push((leave, Exit::Leave(start + k as u32), 0));
                m.enter_checks(depth, need, leave);
            }
            restore(m, held, true, (start + k as u32, 0))?;
            m.jump(labels[k]);
        }
    }
    m.bind(trapped);
    m.exit(Exit::Trapped.encode());
    exits.extend(lacking.into_inner());
    for (label, exit, held_back) in exits {
        m.bind(label);
        if held_back > 0 {
            m.count(held_back);
        }
        m.exit(exit.encode());
    }
    m.exit_path();
    let driver = |k: usize, l: M::Label| headers[k].as_ref().map_or(l, |(stub, _)| *stub);
    Some(
        labels
            .into_iter()
            .enumerate()
            .map(|(k, l)| driver(k, l))
            .zip(entry)
            .collect(),
    )
}
