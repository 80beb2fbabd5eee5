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
use crate::jit::{Addresses, Exit, Frames, JitState, Runtime, HOT};

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
            Some(jit) => {
                let fixed = crate::jit::Fixed {
                    consts: &self.consts,
                    units: &self.units,
                };
                jit.compile(&self.prog, func, &fixed)
            }
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
        // The poll point, as the interpreter sets it when it starts
        // (`fuel` there): with an interrupt handle, at once, so a pending
        // interrupt stops the first backward branch or call.
        let mut fuel = if !metered {
            u64::MAX
        } else if self.watch.interrupt.is_some() {
            self.fuel_used
        } else {
            self.next_poll(self.fuel_used)
        };
        let mut state = JitState {
            count: self.fuel_used,
            limit: fuel,
            metered: metered as u64,
        };
        let mut pc = self.frames.last().expect("running frame").pc;
        loop {
            let fr = *self.frames.last().expect("running frame");
            let mut jit = self.jit.take().expect("run_compiled needs the JIT");
            let mut rt = Rt {
                vm: self,
                stack,
                metered,
                stop,
                trap: None,
            };
            let exit = jit.enter(fr.func, pc, &mut rt, &mut state);
            let trap = rt.trap.take();
            self.jit = Some(jit);
            match exit {
                Exit::Trapped => {
                    return Err(trap.expect("a runtime instruction that trapped keeps its trap"))
                }
                Exit::Return(slot) => {
                    // Not always the frame entered: compiled code may have
                    // returned from that one itself (see `Frames::stop`).
                    let fr = self.frames.pop().expect("a returning frame");
                    let result = slot.map(|s| stack[fr.base as usize + s as usize]);
                    if let Some(v) = result {
                        stack[fr.ret as usize] = v;
                    }
                    if self.frames.len() == stop {
                        if metered {
                            self.fuel_used = state.count;
                        }
                        return Ok(Handoff::Done(result));
                    }
                    // A `store` the call took in runs now (see `Op::Call`;
                    // compiled code returning itself does the same).
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
                    // Calls compiled code made itself may have pushed
                    // frames since: the caller is the top one.
                    let fr = *self.frames.last().expect("running frame");
                    let (func, args, ret, env) = self.callee(stack, &prog, fr.base, at);
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
                        ret: fr.base + ret,
                        ret_base: fr.base,
                        ret_pc: at,
                        env,
                    });
                    pc = start;
                    if !self.compiled(func) {
                        return Ok(self.interpret_at(pc, state.count, metered));
                    }
                }
            }
        }
    }

    /// The call compiled code stopped at (at `at`, in the frame at
    /// `base`): the function, where its frame starts and where its result
    /// goes (slots from `base`), and its closure (or `NO_ENV`).
    fn callee(
        &self,
        stack: &ValueStack,
        prog: &Program,
        base: u32,
        at: u32,
    ) -> (u32, u32, u32, u64) {
        match prog.ops[at as usize] {
            Op::Call {
                func, args, ret, ..
            } => (func, args as u32, ret as u32, NO_ENV),
            Op::Stack(Instr::Call { func }) => {
                let args = prog.sp_at(at) - prog.meta[func as usize].params;
                (func, args, args, NO_ENV)
            }
            Op::Stack(Instr::CallClosure { ty }) => {
                let np = match prog.module().ty(ty) {
                    TypeDesc::Fn { params, .. } => params.len() as u32,
                    _ => unreachable_verified(),
                };
                let args = prog.sp_at(at) - np;
                let clo = stack[base as usize + args as usize - 1];
                (self.heap.closure(clo).0, args, args - 1, clo)
            }
            _ => panic!("compiled code called at {at}, which is not a call"),
        }
    }

    /// Runs instruction `pc` of the running frame for compiled code (see
    /// `Rt`), as the dispatch loop runs it; `sync!` has been done. Only
    /// the instructions [`crate::jit::needs_runtime`] names come here.
    // Inlined into its one caller, `Rt::run`: a runtime instruction's
    // overhead is mostly the calls on its way.
    #[inline(always)]
    fn run_for_jit(&mut self, stack: &mut ValueStack, pc: u32, metered: bool) -> Result<(), Trap> {
        let op = self.prog.ops[pc as usize];
        let base = self.frames.last().expect("running frame").base as usize;
        macro_rules! trap {
            ($kind:expr, $($msg:tt)*) => {{
                let msg = format!($($msg)*);
                return Err(self.make_trap($kind, msg));
            }};
        }
        macro_rules! r {
            ($s:expr) => {
                stack[base + $s as usize]
            };
        }
        // The interpreter's slow paths, `METER` as the instance is.
        macro_rules! slow {
            ($op:ident, $sp:expr $(, $arg:expr)*) => {{
                if metered {
                    self.$op::<true>(stack, $sp $(, $arg)*)?
                } else {
                    self.$op::<false>(stack, $sp $(, $arg)*)?
                }
            }};
        }
        match op {
            Op::Stack(ins) => {
                let sp = base + self.prog.sp_at(pc) as usize;
                slow!(run_canonical, base, sp, ins);
            }
            Op::GlobalGet { d, g } => {
                if !self.global_set[g as usize] {
                    trap!(
                        TrapKind::UninitializedGlobal,
                        "global {} read before it was initialized",
                        g
                    );
                }
                r!(d) = self.globals[g as usize];
            }
            Op::GlobalSet { g, s } => {
                self.globals[g as usize] = r!(s);
                self.global_set[g as usize] = true;
            }
            Op::Capture { d, index } => {
                let env = self.frames.last().expect("running frame").env;
                r!(d) = self.heap.closure(env).1[index as usize];
            }
            Op::EnumUnit { d, layout, variant } => {
                r!(d) = self.units[layout as usize][variant as usize]
            }
            Op::MGet { d, m, k, s } => {
                let (mh, key) = (r!(m), r!(k));
                match self.heap.map_get_free(mh, key, !metered) {
                    Some(Some(v)) => r!(d) = v,
                    _ => {
                        (r!(s), r!(s + 1)) = (mh, key);
                        slow!(op_map_read, base + s as usize + 2, Instr::MGet {});
                        r!(d) = r!(s);
                    }
                }
            }
            Op::MGetOr { d, m, k, v, s } => {
                let (mh, key, dv) = (r!(m), r!(k), r!(v));
                match self.heap.map_get_free(mh, key, !metered) {
                    Some(found) => r!(d) = found.unwrap_or(dv),
                    None => {
                        (r!(s), r!(s + 1), r!(s + 2)) = (mh, key, dv);
                        slow!(op_map_read, base + s as usize + 3, Instr::MGetOr {});
                        r!(d) = r!(s);
                    }
                }
            }
            Op::MSet { m, k, v, s } => {
                let (mh, key, value) = (r!(m), r!(k), r!(v));
                if let Err(vacant) = self.heap.map_set_free(mh, key, value, !metered) {
                    (r!(s), r!(s + 1), r!(s + 2)) = (mh, key, value);
                    slow!(op_map_set, base + s as usize + 3, vacant);
                }
            }
            op => panic!("compiled code asked the runtime to run {op}"),
        }
        Ok(())
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

/// The instance as compiled code's [`Runtime`] while it runs: the value
/// stack (taken out of the instance while the loop runs) and whether the
/// instance counts.
struct Rt<'a, 'h> {
    vm: &'a mut Vm<'h>,
    stack: &'a mut ValueStack,
    metered: bool,
    /// The frame count at which the driver's run ends (`run_compiled`).
    stop: usize,
    trap: Option<Trap>,
}

impl Runtime for Rt<'_, '_> {
    fn run(&mut self, pc: u32, state: &mut JitState) -> bool {
        // As the dispatch loop's `slow!`: saved, run, taken back.
        let vm = &mut *self.vm;
        vm.sync_at(pc, state.count, self.metered);
        let r = vm.run_for_jit(self.stack, pc, self.metered);
        if self.metered {
            state.count = vm.fuel_used + vm.tail_now();
        }
        match r {
            Ok(()) => true,
            Err(t) => {
                self.trap = Some(t);
                false
            }
        }
    }

    fn frames(&mut self) -> Frames {
        let max_depth = self.vm.limits.max_depth;
        let (records, depth, room) = self.vm.frames.room(max_depth);
        Frames {
            records: records.cast(),
            depth,
            room,
            max_depth,
            stop: self.stop,
        }
    }

    fn addresses(&mut self) -> Addresses {
        let base = self.vm.frames.last().expect("running frame").base as usize;
        Addresses {
            frame: self.stack.frame_ptr(base),
            heap: &mut self.vm.heap,
            globals: self.vm.globals.as_ptr(),
            // `bool` is one byte, 0 or 1.
            global_set: self.vm.global_set.as_ptr().cast(),
        }
    }
}
