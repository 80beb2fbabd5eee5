//! The interpreter: runs verified code over one instance's heap.
//!
//! State is a value stack of untyped 64-bit slots (see `ValueStack`) plus a
//! frame stack, both owned by the [`Vm`], so guest recursion never recurses on
//! the host and a paused program is fully described by frames (function,
//! instruction index, base slot) and the heap.
//!
//! A frame's slots start at `base`: first its parameters and locals, then its
//! operand stack. A call leaves the arguments where they are and they become
//! the callee's first locals. Slot contents: ints as two's complement, floats
//! as IEEE bits, bools as 0/1, references as heap handles.
//!
//! This module holds the instance: its setup, calls in from the host,
//! copies across the boundary, fuel and polling, traces, and the
//! collector's roots and safepoints. `dispatch` is the loop that runs
//! instructions, `canonical` the canonical instructions that run as
//! themselves; `ops` and `alloc` hold the instructions too large for them.

// The rules the dispatch loop and `canonical` share, each given the
// function's own `trap!` (the loop's saves `pc` and the count first).

/// The element index `$i` names in `$items`, or the out-of-bounds trap
/// (see `semantics::element`).
macro_rules! element {
    ($trap:ident, $items:expr, $i:expr) => {{
        let i = $i;
        match crate::semantics::element(i, $items.len()) {
            Some(k) => k,
            None => {
                let n = $items.len();
                $trap!(
                    TrapKind::IndexOutOfBounds,
                    "index {} out of bounds for length {}",
                    i as i64,
                    n
                )
            }
        }
    }};
}

/// A payload field of an enum value (see `Heap::variant_field`).
macro_rules! variant_field {
    ($trap:ident, $heap:expr, $h:expr, $variant:expr, $field:expr) => {{
        match $heap.variant_field($h, $variant as u32, $field as usize) {
            Ok(v) => v,
            Err(tag) => $trap!(
                TrapKind::InvalidArgument,
                "{}",
                wrong_variant($variant, tag)
            ),
        }
    }};
}

mod alloc;
mod arrays;
pub(crate) mod builtins;
mod canonical;
mod dispatch;
mod frames;
mod ops;
mod tier;

use crate::heap::{Collection, Heap, Object};
use crate::host::{CopyError, CopyOut, Host, NoHost, Value};
use crate::limits::*;
use crate::module::*;
use crate::opcodes::Instr;
use crate::program::Program;
use crate::stack::{value_stack_overflow, ValueStack, MAX_STACK_SLOTS};
use crate::trap::{kept_frames, TraceFrame, Trap, TrapKind};
use frames::{Frame, FrameStack, NO_ENV};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A bad call from the host (not a guest error): no trace.
fn invalid_call(message: String) -> Trap {
    Trap::without_trace(TrapKind::InvalidArgument, message)
}

use crate::jit::NO_UNIT;

/// Counters for `vmrun --stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Instructions executed (when counted: with fuel, a timeout, an
    /// interrupt handle or `count_instructions`).
    pub instructions: u64,
    /// Fuel units used: the instructions plus the work units of the
    /// instructions whose work grows with their data.
    pub fuel: u64,
    pub collections: u64,
    pub allocated_bytes: u64,
    pub peak_heap_bytes: u64,
}

/// One instance: a heap, a stack, globals, limits, and a host. Its heap is
/// its own: a host reads it only through copies.
///
/// ```compile_fail
/// let p = std::sync::Arc::new(tern_vm::Program::new(tern_vm::Module::new()).unwrap());
/// let vm = tern_vm::Vm::new(p, tern_vm::Limits::default());
/// let _ = vm.heap.bytes;
/// ```
pub struct Vm<'h> {
    prog: Arc<Program>,
    heap: Heap,
    /// Taken out while the loop runs; `None` until the first run.
    stack: Option<ValueStack>,
    frames: FrameStack,
    globals: Vec<u64>,
    global_set: Vec<bool>,
    /// Constant pool as slots; strings are allocated once and pinned.
    consts: Vec<u64>,
    /// `[layout][variant]`: the one shared value of each variant without a
    /// payload (`NO_UNIT` for the others). Enum values are immutable and
    /// have no identity a program can observe, so `Leaf` need not allocate.
    units: Vec<Vec<u64>>,
    host: Box<dyn Host + 'h>,
    limits: Limits,
    /// Fuel units used (when metered): instructions plus `work`.
    fuel_used: u64,
    /// The fuel units of work beyond the instructions' own.
    work: u64,
    /// Values the embedder holds across calls: always roots.
    pinned: Vec<u64>,
    initialized: bool,
    /// The current call's deadline and the interrupt flag (set by an
    /// [`InterruptHandle`]; `None` until one is asked for).
    watch: Watch,
    /// The fuel last granted, for the trap message (`limits.fuel` is the
    /// count of units at which it runs out).
    fuel_budget: u64,
    /// The JIT the host installed, if any (taken out while compiled code
    /// runs: see `tier`), and per function its heat or tier (see
    /// `tier::COMPILED`).
    jit: Option<Box<dyn crate::jit::Backend + 'h>>,
    heat: Vec<u32>,
    /// Set when the loop stopped to hand its top frame to compiled code.
    handoff: bool,
}

impl<'h> Vm<'h> {
    /// An instance of `prog` that grants no host functions.
    pub fn new(prog: Arc<Program>, limits: Limits) -> Vm<'static> {
        Vm::with_host(prog, limits, Box::new(NoHost))
    }

    /// An instance of `prog` whose imports `host` serves. A `max_depth`
    /// above [`MAX_DEPTH`] is taken as [`MAX_DEPTH`].
    pub fn with_host(prog: Arc<Program>, limits: Limits, host: Box<dyn Host + 'h>) -> Vm<'h> {
        let mut limits = limits;
        limits.max_depth = limits.max_depth.clamp(1, MAX_DEPTH);
        let mut heap = Heap::new();
        heap.set_stress(limits.gc_stress);
        heap.set_limit(limits.max_heap);
        let m = prog.module();
        let consts = m
            .consts
            .iter()
            .map(|c| match c {
                Const::Int(i) => *i as u64,
                Const::Float(f) => f.to_bits(),
                Const::Str(s) => heap.alloc_str(s),
            })
            .collect();
        let units = m
            .layouts
            .iter()
            .enumerate()
            .map(|(l, layout)| match layout {
                Layout::Enum { variants, .. } => variants
                    .iter()
                    .enumerate()
                    .map(|(tag, v)| {
                        if v.fields.is_empty() {
                            heap.alloc(Object::new_record(l as u32, tag as u32, &[]))
                        } else {
                            NO_UNIT
                        }
                    })
                    .collect(),
                Layout::Struct { .. } => Vec::new(),
            })
            .collect();
        let n = m.globals.len();
        let fuel_budget = limits.fuel;
        Vm {
            prog,
            heap,
            stack: None,
            frames: FrameStack::new(),
            globals: vec![0; n],
            global_set: vec![false; n],
            consts,
            units,
            host,
            limits,
            fuel_used: 0,
            work: 0,
            pinned: Vec::new(),
            initialized: false,
            watch: Watch::default(),
            fuel_budget,
            jit: None,
            heat: Vec::new(),
            handoff: false,
        }
    }

    /// Installs `backend` to compile this instance's functions as
    /// `limits.jit` says (nothing with [`crate::JitMode::Off`]). The
    /// program behaves the same with or without it.
    pub fn set_jit(&mut self, backend: Box<dyn crate::jit::Backend + 'h>) {
        if self.limits.jit != crate::JitMode::Off {
            let first = match self.limits.jit {
                crate::JitMode::Eager => tier::HOT_NOW,
                _ => 0,
            };
            self.heat = vec![first; self.prog.module().functions.len()];
            self.jit = Some(backend);
        }
    }

    /// A handle another thread can use to stop this instance. From the
    /// first call on, the instance counts instructions to poll it.
    pub fn interrupt_handle(&mut self) -> InterruptHandle {
        let flag = self
            .watch
            .interrupt
            .get_or_insert_with(|| Arc::new(AtomicBool::new(false)));
        InterruptHandle(Arc::clone(flag))
    }

    /// Makes `h` (from another instance, say one this replaces) stop this
    /// instance too.
    pub fn set_interrupt_handle(&mut self, h: &InterruptHandle) {
        self.watch.interrupt = Some(Arc::clone(&h.0));
    }

    /// Lets the instance use `n` more fuel units from now (a fresh budget,
    /// say, for each request a host serves).
    pub fn set_fuel(&mut self, n: u64) {
        self.limits.fuel = self.fuel_used.saturating_add(n);
        self.fuel_budget = n;
    }

    /// Fuel units left.
    pub fn fuel_remaining(&self) -> u64 {
        self.limits.fuel.saturating_sub(self.fuel_used)
    }

    /// Accounted bytes the heap holds now.
    pub fn heap_bytes(&self) -> usize {
        self.heap.bytes
    }

    /// Whether the loop must count fuel and poll.
    fn metered(&self) -> bool {
        self.limits.fuel != u64::MAX || self.limits.count_instructions || !self.watch.is_idle()
    }

    /// The fuel count at which the loop next calls [`Vm::poll`].
    fn next_poll(&self, count: u64) -> u64 {
        if self.watch.is_idle() {
            self.limits.fuel
        } else {
            self.limits.fuel.min(count.saturating_add(POLL_INTERVAL))
        }
    }

    /// Checks fuel, the interrupt flag and the deadline, in that order;
    /// returns the next poll point. The top frame's `pc` must be set.
    #[cold]
    #[inline(never)]
    fn poll(&mut self, count: u64) -> Result<u64, Trap> {
        if count >= self.limits.fuel {
            return Err(self.fuel_trap());
        }
        self.watch.check().map_err(|s| self.stopped(s))?;
        Ok(self.next_poll(count))
    }

    /// The trap for a long operation the watch stopped. The top frame's
    /// `pc` must be set.
    #[cold]
    fn stopped(&mut self, stop: Stop) -> Trap {
        match stop {
            Stop::Interrupted => {
                self.make_trap(TrapKind::Interrupted, "interrupted by the host".into())
            }
            Stop::Timeout => {
                let ms = self.limits.timeout.map_or(0, |t| t.as_millis());
                let msg = format!("timeout: the time limit of {ms} ms was exceeded");
                self.make_trap(TrapKind::Timeout, msg)
            }
            Stop::HostMemory => self.make_trap(
                TrapKind::OutOfMemory,
                "out of memory: the host cannot allocate that much".into(),
            ),
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            instructions: self.fuel_used - self.work,
            fuel: self.fuel_used,
            collections: self.heap.stats.collections,
            allocated_bytes: self.heap.stats.allocated_bytes,
            peak_heap_bytes: self.heap.stats.peak_bytes,
        }
    }

    /// Runs the module's init function (once) and then `main` with `args`;
    /// returns the exit code (`main`'s int result, or 0).
    pub fn run_main(&mut self, args: &[String]) -> Result<i64, Trap> {
        let prog = Arc::clone(&self.prog);
        let Some(entry) = prog.module().entry else {
            return Err(invalid_call(
                "the module has no main function (it is a library: a host calls its exports)"
                    .into(),
            ));
        };
        let f = &prog.module().functions[entry as usize];
        let argv: Vec<Value> = if f.params.is_empty() {
            Vec::new()
        } else {
            vec![Value::Array(
                args.iter().map(|a| Value::Str(a.clone())).collect(),
            )]
        };
        match self.call_function(entry, &argv) {
            Ok(Value::Int(code)) => Ok(code),
            Ok(_) => Ok(0),
            Err(Trap {
                kind: TrapKind::Exit(code),
                ..
            }) => Ok(code),
            Err(t) => Err(t),
        }
    }

    /// Runs the init function if it has not run yet.
    pub fn initialize(&mut self) -> Result<(), Trap> {
        if !self.initialized {
            self.initialized = true;
            if let Some(init) = self.prog.module().init {
                self.start_call();
                self.call_raw(init, &[])?;
            }
        }
        Ok(())
    }

    /// Starts the clock of a call into the guest: its deadline counts from
    /// now, for everything the call does (copying its arguments in too).
    fn start_call(&mut self) {
        self.watch.deadline = deadline_after(self.limits.timeout);
    }

    /// Calls function `func` with raw slot arguments (already typed right).
    fn call_raw(&mut self, func: u32, args: &[u64]) -> Result<Option<u64>, Trap> {
        let depth = self.frames.len();
        let base = self.frames.last().map_or(0, |fr| {
            fr.base as usize + self.prog.meta[fr.func as usize].frame_size as usize
        });
        let need = base + self.prog.meta[func as usize].frame_size as usize;
        if need > MAX_STACK_SLOTS {
            return Err(self.make_trap(TrapKind::StackOverflow, value_stack_overflow()));
        }
        if depth >= self.limits.max_depth {
            return Err(self.depth_trap());
        }
        self.stack.get_or_insert_with(ValueStack::new)[base..base + args.len()]
            .copy_from_slice(args);
        let (ret_base, ret_pc) = self.frames.last().map_or((0, 0), |fr| (fr.base, fr.pc));
        self.frames.push(Frame {
            func,
            pc: self.prog.meta[func as usize].start,
            base: base as u32,
            ret: base as u32,
            ret_base,
            ret_pc,
            env: NO_ENV,
        });
        let r = self.execute(depth);
        if r.is_err() {
            self.frames.truncate(depth);
        }
        r
    }

    #[cold]
    fn depth_trap(&mut self) -> Trap {
        let msg = format!(
            "stack overflow: more than {} nested calls",
            self.limits.max_depth
        );
        self.make_trap(TrapKind::StackOverflow, msg)
    }

    /// Calls an exported function with host values, checking their types.
    pub fn call_export(&mut self, name: &str, args: &[Value]) -> Result<Value, Trap> {
        let func = self
            .prog
            .module()
            .exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.func)
            .ok_or_else(|| invalid_call(format!("no export named '{name}'")))?;
        self.call_function(func, args)
    }

    /// Calls function `func` (an index into the module's functions) with
    /// host values, checking their number and types. The arguments are
    /// copied into the heap under its limit; the result is copied out
    /// under the same limit (see [`crate::host`]).
    pub fn call_function(&mut self, func: u32, args: &[Value]) -> Result<Value, Trap> {
        let prog = Arc::clone(&self.prog);
        let f = prog
            .module()
            .functions
            .get(func as usize)
            .ok_or_else(|| invalid_call(format!("no function {func}")))?;
        if f.params.len() != args.len() {
            return Err(invalid_call(format!(
                "'{}' takes {} arguments, {} given",
                f.name,
                f.params.len(),
                args.len()
            )));
        }
        for (t, v) in f.params.iter().zip(args) {
            crate::host::check_type(prog.module(), *t, v).map_err(invalid_call)?;
        }
        self.initialize()?;
        self.start_call();
        let mark = self.pinned.len();
        let r = (|| {
            for (t, v) in f.params.iter().zip(args) {
                let slot = self.copy_in(None, 0, *t, v)?;
                self.pinned.push(slot);
            }
            let raw: Vec<u64> = self.pinned[mark..].to_vec();
            self.call_raw(func, &raw)
        })();
        self.pinned.truncate(mark);
        match r? {
            None => Ok(Value::Unit),
            Some(v) => self.copy_out(f.ret, v),
        }
    }

    /// Copies a guest value of type `ty` out to the host, charging fuel for
    /// it and bounding its size by the heap limit (aliased references are
    /// copied each time they are met, so the copy can be far larger than
    /// the guest heap).
    fn copy_out(&mut self, ty: TypeId, v: u64) -> Result<Value, Trap> {
        let prog = Arc::clone(&self.prog);
        let fuel_left = if self.metered() {
            self.fuel_remaining()
        } else {
            u64::MAX
        };
        let mut copy = CopyOut::new(self.limits.max_heap, fuel_left, &self.watch);
        let r = copy.out(prog.module(), &self.heap, ty, v);
        let units = copy.units();
        self.charge_copy(units)?;
        r.map_err(|e| self.copy_trap(e))
    }

    /// Copies a host value into the guest heap as type `ty` (which it has:
    /// callers check), collecting first if due and failing if it does not
    /// fit under the heap limit. `stack` and `pc`: the running frame's
    /// state, when called from guest code.
    fn copy_in(
        &mut self,
        stack: Option<&ValueStack>,
        pc: usize,
        ty: TypeId,
        v: &Value,
    ) -> Result<u64, Trap> {
        let prog = Arc::clone(&self.prog);
        let (need, units) = crate::host::guest_size(prog.module(), ty, v);
        self.charge_copy(units)?;
        self.safepoint(stack, pc, need)?;
        Ok(crate::host::into_heap(prog.module(), &mut self.heap, ty, v))
    }

    /// Charges the fuel units of a copy across the boundary.
    fn charge_copy(&mut self, units: u64) -> Result<(), Trap> {
        if self.metered() {
            self.add_work(units)?;
        }
        Ok(())
    }

    /// Counts `units` of work beyond the instructions' own; traps if that
    /// passes the fuel limit.
    #[inline]
    fn add_work(&mut self, units: u64) -> Result<(), Trap> {
        self.fuel_used = self.fuel_used.saturating_add(units);
        self.work = self.work.saturating_add(units);
        if self.fuel_used > self.limits.fuel {
            return Err(self.fuel_trap());
        }
        Ok(())
    }

    #[cold]
    fn fuel_trap(&mut self) -> Trap {
        let msg = format!(
            "fuel exhausted: the limit of {} units was reached",
            self.fuel_budget
        );
        self.make_trap(TrapKind::FuelExhausted, msg)
    }

    #[cold]
    fn copy_trap(&mut self, e: CopyError) -> Trap {
        match e {
            CopyError::Stopped(s) => self.stopped(s),
            CopyError::OutOfFuel => self.fuel_trap(),
            CopyError::TooLarge => {
                let msg = format!(
                    "out of memory: a value copied to the host would take more than the heap limit of {} bytes",
                    self.limits.max_heap
                );
                self.make_trap(TrapKind::OutOfMemory, msg)
            }
        }
    }

    /// The canonical instructions counted for the running frame's
    /// instruction that run after its trap point (a `store` it took in):
    /// not yet run while it executes (see `internal::Code::tails`).
    #[cold]
    #[inline(never)]
    fn tail_now(&self) -> u64 {
        match self.frames.last() {
            Some(fr) => self
                .prog
                .code(fr.func)
                .tail(self.pc_of(self.frames.len() - 1)),
            None => 0,
        }
    }

    /// Takes out of the saved count what [`Vm::tail_now`] says has not run.
    #[cold]
    #[inline(never)]
    fn leave_out_tail(&mut self) {
        self.fuel_used -= self.tail_now();
    }

    /// The instruction frame `k` is at, as an index into its function's
    /// code: the running frame's own `pc`, a caller's call (kept by the
    /// frame it called).
    fn pc_of(&self, k: usize) -> u32 {
        let pc = match self.frames.get(k + 1) {
            Some(next) => next.ret_pc,
            None => self.frames[k].pc,
        };
        pc - self.prog.start_of(self.frames[k].func)
    }

    /// The trace of the frames running now, innermost first, keeping both
    /// ends of a deep stack (see [`crate::trap`]).
    fn trace(&self) -> (Vec<TraceFrame>, usize) {
        let m = self.prog.module();
        let depth = self.frames.len();
        let frame = |func: u32, origin: u32| {
            let f = &m.functions[func as usize];
            TraceFrame {
                function: f.name.clone(),
                file: m.sources[f.source as usize].clone(),
                line: f.line_of(origin as usize),
            }
        };
        // The running frame may be in bodies of functions inlined into it
        // (see `internal::Code::inlined`): each is a frame of its own.
        let inner = match self.frames.last() {
            Some(fr) => self.prog.code(fr.func).inlined_at(self.pc_of(depth - 1)),
            None => Vec::new(),
        };
        let extra = inner.len();
        let total = depth + extra;
        let trace = kept_frames(total)
            .map(|i| match inner.get(extra.wrapping_sub(1 + i)) {
                Some(&(func, origin)) if i < extra => frame(func, origin),
                _ => {
                    let k = depth - 1 - (i - extra);
                    let fr = &self.frames[k];
                    let pc = self.pc_of(k) as usize;
                    frame(fr.func, self.prog.code(fr.func).origin[pc])
                }
            })
            .collect::<Vec<_>>();
        let omitted = total - trace.len();
        (trace, omitted)
    }

    #[cold]
    #[inline(never)]
    fn make_trap(&mut self, kind: TrapKind, message: String) -> Trap {
        let (trace, omitted_frames) = self.trace();
        Trap {
            kind,
            message,
            trace,
            omitted_frames,
        }
    }

    /// Collects everything unreachable from the roots. The top frame's
    /// `pc` must be the safepoint instruction. The watch may stop it part
    /// way, which leaves the heap consistent.
    #[cold]
    #[inline(never)]
    fn collect(&mut self, stack: Option<&ValueStack>, kind: Collection) -> Result<(), Stop> {
        let prog = Arc::clone(&self.prog);
        let m = prog.module();
        let mut roots: Vec<u64> = Vec::new();
        for (i, g) in self.globals.iter().enumerate() {
            if self.global_set[i] && m.is_ref(m.globals[i]) {
                roots.push(*g);
            }
        }
        for (c, slot) in m.consts.iter().zip(&self.consts) {
            if let Const::Str(_) = c {
                roots.push(*slot);
            }
        }
        roots.extend_from_slice(&self.pinned);
        for u in self.units.iter().flatten() {
            if *u != NO_UNIT {
                roots.push(*u);
            }
        }
        if let Some(stack) = stack {
            for (k, fr) in self.frames.iter().enumerate() {
                if fr.env != NO_ENV {
                    roots.push(fr.env);
                }
                let base = fr.base as usize;
                // A caller's map includes the arguments it passed, which now
                // belong to the callee (and are scanned there).
                let limit = match self.frames.get(k + 1) {
                    Some(next) => next.base as usize - base,
                    None => usize::MAX,
                };
                for &s in prog.code(fr.func).refs_at(self.pc_of(k)) {
                    if (s as usize) < limit {
                        roots.push(stack[base + s as usize]);
                    }
                }
            }
        }
        self.heap.collect(&roots, &prog.gc, kind, &self.watch)
    }

    /// The one door to allocation: collects if due, then checks that
    /// `need` more accounted bytes fit under the limit.
    #[inline]
    fn safepoint(
        &mut self,
        stack: Option<&ValueStack>,
        pc: usize,
        need: usize,
    ) -> Result<(), Trap> {
        if let Some(fr) = self.frames.last_mut() {
            fr.pc = pc as u32;
            // The collector reads the stack map of this instruction, which
            // the verifier makes only for the table's safepoints.
            debug_assert!(
                matches!(
                    self.prog.ops[pc],
                    crate::internal::Op::Stack(ins) if ins.opcode().is_safepoint()
                ) || matches!(
                    self.prog.ops[pc],
                    crate::internal::Op::Call { .. } | crate::internal::Op::MSet { .. }
                ),
                "a collection at an instruction that is not a safepoint"
            );
        }
        let kind = self.heap.wants_collection(need);
        if kind != Collection::None {
            self.collect(stack, kind).map_err(|s| self.stopped(s))?;
        }
        if !self.heap.admits(need) {
            let msg = format!(
                "out of memory: heap limit of {} bytes exceeded",
                self.limits.max_heap
            );
            return Err(self.make_trap(TrapKind::OutOfMemory, msg));
        }
        Ok(())
    }

    /// Runs until the frame stack is back to `stop` frames.
    fn execute(&mut self, stop: usize) -> Result<Option<u64>, Trap> {
        // The value stack is moved out for the run, so the loop works on a
        // local the optimizer can keep in registers.
        let mut stack = self.stack.take().expect("call_raw reserves the stack");
        let r = match (self.metered(), self.jit.is_some()) {
            (true, false) => self.run::<true, false>(&mut stack, stop),
            (false, false) => self.run::<false, false>(&mut stack, stop),
            (true, true) => self.run_tiered::<true>(&mut stack, stop),
            (false, true) => self.run_tiered::<false>(&mut stack, stop),
        };
        self.stack = Some(stack);
        r
    }
}

/// The error of an enum payload read for the wrong variant.
#[cold]
fn wrong_variant(variant: impl std::fmt::Display, tag: u32) -> String {
    format!("enum payload read for variant {variant} of a value of variant {tag}")
}

#[cold]
fn unreachable_verified() -> ! {
    panic!("the verifier admitted an ill-typed instruction")
}
