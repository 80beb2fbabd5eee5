//! Tiering: when a function runs as machine code, and the driver that runs
//! it (see [`crate::jit`] for what compiled code may do and how it stops).
//!
//! The interpreter offers a frame to compiled code where a function is
//! entered (a call, a return into it) and at backward branches: with the
//! JIT on, each offer counts the function's heat, and at [`HOT`] the
//! backend compiles it (once: a function it refuses stays interpreted).
//! The driver then runs compiled frames, doing for them what the
//! interpreter's call and return paths do (the same checks in the same
//! order, the same frame records), until a frame needs the interpreter or
//! the run is over.
//!
//! Invariant at every handoff, both ways: the top frame's `pc` is an
//! instruction boundary, and the fuel count (`fuel_used` when metered)
//! counts every instruction before it and none from it.

use super::*;
use crate::internal::Op;
use crate::jit::{Exit, JitState, HOT};

/// The heat of a function compiled: it runs as machine code.
const COMPILED: u32 = u32::MAX;
/// The heat of a function the backend refused: it stays interpreted.
const INTERPRETED: u32 = u32::MAX - 1;
/// The starting heat in [`crate::JitMode::Eager`]: the first offer
/// compiles.
pub(super) const HOT_NOW: u32 = HOT - 1;

/// What the interpreter does after compiled code ran.
enum Handoff {
    /// Go on with the top frame at its `pc`.
    Interpret,
    /// The run is over (the frame stack is back to its `stop`): its
    /// result.
    Done(Option<u64>),
}

impl Vm<'_> {
    /// Runs until the frame stack is back to `stop` frames, interpreted
    /// and compiled by turns: the loop stops where it offers a frame to
    /// compiled code (`handoff`), the driver runs compiled frames, and
    /// the loop starts again at the top frame.
    pub(super) fn run_tiered<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        stop: usize,
    ) -> Result<Option<u64>, Trap> {
        // The frame the host called is offered first, as a call is.
        let func = self.frames.last().expect("execute needs a frame").func;
        if self.compiled(func) {
            if let Handoff::Done(r) = self.run_compiled(stack, stop, METER)? {
                return Ok(r);
            }
        }
        loop {
            let r = self.run::<METER, true>(stack, stop)?;
            if !std::mem::take(&mut self.handoff) {
                return Ok(r);
            }
            if let Handoff::Done(r) = self.run_compiled(stack, stop, METER)? {
                return Ok(r);
            }
        }
    }

    /// Whether `func` runs compiled from here: counts an offer and
    /// compiles it when it becomes hot. Only with a JIT installed.
    #[inline]
    pub(super) fn compiled(&mut self, func: u32) -> bool {
        let heat = self.heat[func as usize];
        if heat == COMPILED {
            return true;
        }
        if heat == INTERPRETED {
            return false;
        }
        if heat + 1 < HOT {
            self.heat[func as usize] = heat + 1;
            return false;
        }
        self.compile(func)
    }

    /// Functions compiled to machine code so far (the one thing that
    /// differs between JIT modes, so not part of [`Vm::stats`]).
    pub fn compiled_functions(&self) -> u64 {
        self.heat.iter().filter(|&&h| h == COMPILED).count() as u64
    }

    /// Whether `func` is not known to stay interpreted.
    #[inline]
    pub(super) fn may_compile(&self, func: u32) -> bool {
        self.heat[func as usize] != INTERPRETED
    }

    #[cold]
    #[inline(never)]
    fn compile(&mut self, func: u32) -> bool {
        let ok = match self.jit.as_mut() {
            Some(jit) => jit.compile(&self.prog, func, &self.consts),
            None => false,
        };
        self.heat[func as usize] = if ok { COMPILED } else { INTERPRETED };
        ok
    }

    /// Runs the top frame, compiled, from its `pc` (see the invariant),
    /// and whatever it calls or returns to that is compiled, until a frame
    /// needs the interpreter or the frame stack is back to `stop`;
    /// `metered` whether the instance counts.
    #[inline(never)]
    fn run_compiled(
        &mut self,
        stack: &mut ValueStack,
        stop: usize,
        metered: bool,
    ) -> Result<Handoff, Trap> {
        let prog = Arc::clone(&self.prog);
        let max_depth = self.limits.max_depth;
        // The poll point, as the interpreter keeps it (`fuel` there).
        let mut fuel = if metered {
            self.next_poll(self.fuel_used)
        } else {
            u64::MAX
        };
        let mut state = JitState {
            count: self.fuel_used,
            limit: fuel,
            depth_room: 0,
            stack_room: 0,
        };
        let mut pc = self.frames.last().expect("running frame").pc;
        loop {
            let fr = *self.frames.last().expect("running frame");
            state.depth_room = max_depth.saturating_sub(self.frames.len()) as u64;
            state.stack_room = (MAX_STACK_SLOTS - fr.base as usize) as u64;
            let jit = self.jit.as_mut().expect("run_compiled needs the JIT");
            let exit = jit.enter(fr.func, pc, stack.frame(fr.base as usize), &mut state);
            match exit {
                Exit::Return(slot) => {
                    let result = slot.map(|s| stack[fr.base as usize + s as usize]);
                    self.frames.pop();
                    if let Some(v) = result {
                        stack[fr.ret as usize] = v;
                    }
                    if self.frames.len() == stop {
                        if metered {
                            self.fuel_used = state.count;
                        }
                        return Ok(Handoff::Done(result));
                    }
                    // A `store` the call took in runs now (see `Op::Call`).
                    if let Op::Call { after, .. } = prog.ops[fr.ret_pc as usize] {
                        state.count += after as u64;
                    }
                    pc = fr.ret_pc + 1;
                    let caller = self.frames.last().expect("a caller").func;
                    if !self.compiled(caller) {
                        return Ok(self.interpret_at(pc, state.count, metered));
                    }
                }
                Exit::Leave(at) => return Ok(self.interpret_at(at, state.count, metered)),
                Exit::Poll(at) => {
                    self.sync_at(at, state.count, metered);
                    fuel = self.poll(state.count)?;
                    state.limit = fuel;
                    pc = resume_after(prog.ops[at as usize], at);
                }
                Exit::Call(at) => {
                    let Op::Call {
                        func, args, ret, ..
                    } = prog.ops[at as usize]
                    else {
                        panic!("compiled code called at {at}, which is not a call");
                    };
                    // The interpreter's call checks (`call_checks!`), in
                    // its order: depth, fuel, value stack.
                    if self.frames.len() >= max_depth {
                        self.sync_at(at, state.count, metered);
                        return Err(self.depth_trap());
                    }
                    if metered && state.count >= fuel {
                        self.sync_at(at, state.count, metered);
                        fuel = self.poll(state.count)?;
                        state.limit = fuel;
                    }
                    let new_base = fr.base as usize + args as usize;
                    if new_base + prog.frame_size(func) as usize > MAX_STACK_SLOTS {
                        self.sync_at(at, state.count, metered);
                        return Err(self.make_trap(TrapKind::StackOverflow, value_stack_overflow()));
                    }
                    let start = prog.start_of(func);
                    self.frames.push(Frame {
                        func,
                        pc: start,
                        base: new_base as u32,
                        ret: fr.base + ret as u32,
                        ret_base: fr.base,
                        ret_pc: at,
                        env: NO_ENV,
                    });
                    pc = start;
                    if !self.compiled(func) {
                        return Ok(self.interpret_at(pc, state.count, metered));
                    }
                }
            }
        }
    }

    /// What the interpreter's `sync!` saves at instruction `pc` with the
    /// count `count` (which includes it).
    fn sync_at(&mut self, pc: u32, count: u64, metered: bool) {
        self.frames.last_mut().expect("running frame").pc = pc;
        if metered {
            self.fuel_used = count;
            self.leave_out_tail();
        }
    }

    /// Hands the top frame to the interpreter at `pc`, `count` counting
    /// the instructions before it.
    fn interpret_at(&mut self, pc: u32, count: u64, metered: bool) -> Handoff {
        self.frames.last_mut().expect("running frame").pc = pc;
        if metered {
            self.fuel_used = count;
        }
        Handoff::Interpret
    }
}

/// Where compiled code goes on after a poll at `op` (at `at`): an inlined
/// call's checks go on with the next instruction, a branch at its target.
fn resume_after(op: Op, at: u32) -> u32 {
    let mut op = op;
    match op {
        Op::Enter { .. } => at + 1,
        _ => *op
            .target_mut()
            .unwrap_or_else(|| panic!("compiled code polled at {at}, which does not branch")),
    }
}
