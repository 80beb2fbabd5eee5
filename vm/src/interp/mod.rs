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
//! The loop trusts the verifier: slot types, local initialization, indices
//! and stack heights are not re-checked here. What it does check is what no
//! static analysis can know: division by zero, bounds, missing keys, empty
//! pops, and the limits (fuel, heap, call depth, value-stack size).
//!
//! Every point that can collect goes through [`Vm::safepoint`], which saves
//! the instruction index first so the collector reads the right stack map;
//! every trap goes through `trap!`, which does the same for the trace.

mod ops;

use crate::heap::{Collection, Fields, Heap, Object, OBJECT_BYTES};
use crate::host::{CopyError, CopyOut, Host, NoHost, Value};
use crate::limits::*;
use crate::module::*;
use crate::opcodes::Instr;
use crate::program::Program;
use crate::stack::{value_stack_overflow, ValueStack, MAX_STACK_SLOTS};
use crate::trap::{kept_frames, TraceFrame, Trap, TrapKind};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A bad call from the host (not a guest error): no trace.
fn invalid_call(message: String) -> Trap {
    Trap::without_trace(TrapKind::InvalidArgument, message)
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    func: u32,
    /// Index of the instruction executing (for callers: the call).
    pc: u32,
    base: u32,
    /// Where the result goes when this frame returns.
    ret: u32,
    /// The running closure, or `u64::MAX` for a plain call.
    env: u64,
}

const NO_ENV: u64 = u64::MAX;
const NO_UNIT: u64 = u64::MAX;

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
    frames: Vec<Frame>,
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
}

macro_rules! f64_of {
    ($x:expr) => {
        f64::from_bits($x)
    };
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
                            heap.alloc(Object::Record {
                                layout: l as u32,
                                tag: tag as u32,
                                fields: Fields::new(),
                            })
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
            frames: Vec::new(),
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
        match self.call_function(entry, &argv)? {
            Value::Int(code) => Ok(code),
            _ => Ok(0),
        }
    }

    /// Runs the init function if it has not run yet.
    pub fn initialize(&mut self) -> Result<(), Trap> {
        if !self.initialized {
            self.initialized = true;
            if let Some(init) = self.prog.module().init {
                self.call_raw(init, &[])?;
            }
        }
        Ok(())
    }

    /// Calls function `func` with raw slot arguments (already typed right).
    fn call_raw(&mut self, func: u32, args: &[u64]) -> Result<Option<u64>, Trap> {
        let depth = self.frames.len();
        if depth == 0 {
            self.watch.deadline = deadline_after(self.limits.timeout);
        }
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
        self.frames.push(Frame {
            func,
            pc: 0,
            base: base as u32,
            ret: base as u32,
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
            self.fuel_used = self.fuel_used.saturating_add(units);
            self.work = self.work.saturating_add(units);
            if self.fuel_used > self.limits.fuel {
                return Err(self.fuel_trap());
            }
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

    /// The trace of the frames running now, innermost first, keeping both
    /// ends of a deep stack (see [`crate::trap`]).
    fn trace(&self) -> (Vec<TraceFrame>, usize) {
        let m = self.prog.module();
        let depth = self.frames.len();
        let trace = kept_frames(depth)
            .map(|i| {
                let fr = &self.frames[depth - 1 - i];
                let f = &m.functions[fr.func as usize];
                TraceFrame {
                    function: f.name.clone(),
                    file: m.sources[f.source as usize].clone(),
                    line: f.line_of(fr.pc as usize),
                }
            })
            .collect::<Vec<_>>();
        let omitted = depth - trace.len();
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
                for &s in prog.function_info(fr.func).refs_at(fr.pc) {
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
        let r = if self.metered() {
            self.run::<true>(&mut stack, stop)
        } else {
            self.run::<false>(&mut stack, stop)
        };
        self.stack = Some(stack);
        r
    }

    /// The dispatch loop. `METER` counts instructions (for fuel and stats);
    /// without it the count is not kept at all.
    fn run<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        stop: usize,
    ) -> Result<Option<u64>, Trap> {
        // A local handle, so the loop can borrow the code while `self` is
        // mutated.
        let prog_handle = Arc::clone(&self.prog);
        let prog: &Program = &prog_handle;
        let m = prog.module();
        let top = *self.frames.last().expect("execute needs a frame");
        let mut fidx = top.func as usize;
        let mut code: &[Instr] = &m.functions[fidx].code;
        let mut base = top.base as usize;
        let mut pc = top.pc as usize;
        let mut sp = base + prog.meta[fidx].slots as usize;
        let mut count = self.fuel_used;
        let max_depth = self.limits.max_depth;
        // The fuel count at which to poll (fuel, interrupt, clock).
        // Polling at the first backward branch or call, not before the
        // first instruction, keeps straight-line code free of checks; an
        // interrupt requested while idle is seen at that first poll.
        let mut fuel = if self.watch.interrupt.is_some() {
            count
        } else {
            self.next_poll(count)
        };

        // Saves what a trap, a collection or a poll reads: the instruction
        // index in the running frame and the fuel used.
        macro_rules! sync {
            () => {{
                self.frames.last_mut().expect("running frame").pc = pc as u32;
                self.fuel_used = count;
            }};
        }
        macro_rules! trap {
            ($kind:expr, $($msg:tt)*) => {{
                sync!();
                let msg = format!($($msg)*);
                return Err(self.make_trap($kind, msg));
            }};
        }
        macro_rules! oob {
            ($i:expr, $n:expr) => {
                trap!(
                    TrapKind::IndexOutOfBounds,
                    "index {} out of bounds for length {}",
                    $i,
                    $n
                )
            };
        }
        macro_rules! pop {
            () => {{
                sp -= 1;
                stack[sp]
            }};
        }
        macro_rules! push {
            ($v:expr) => {{
                let v = $v;
                stack[sp] = v;
                sp += 1;
            }};
        }
        macro_rules! top {
            () => {
                stack[sp - 1]
            };
        }
        macro_rules! int_bin {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = pop!() as i64;
                let $a = top!() as i64;
                top!() = ($e) as u64;
            }};
        }
        macro_rules! int_cmp {
            ($op:tt) => {{
                let b = pop!() as i64;
                let a = top!() as i64;
                top!() = (a $op b) as u64;
            }};
        }
        macro_rules! flt_bin {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = f64_of!(pop!());
                let $a = f64_of!(top!());
                top!() = f64::to_bits($e);
            }};
        }
        macro_rules! flt_un {
            (|$a:ident| $e:expr) => {{
                let $a = f64_of!(top!());
                top!() = f64::to_bits($e);
            }};
        }
        macro_rules! flt_cmp {
            ($op:tt) => {{
                let b = f64_of!(pop!());
                let a = f64_of!(top!());
                top!() = (a $op b) as u64;
            }};
        }
        macro_rules! safepoint {
            ($need:expr) => {{
                let need: usize = $need;
                if self.heap.may_collect(need) {
                    self.fuel_used = count;
                    self.safepoint(Some(stack), pc, need)?;
                }
            }};
        }
        // A payload field of the enum value `h`, which must be `variant`
        // (the code a compiler emits tests the tag first; a hand-made
        // module that does not gets an error, not a wrong field).
        macro_rules! enum_field {
            ($h:expr, $variant:expr, $field:expr) => {{
                let h = $h;
                let tag = self.heap.tag(h);
                if tag != $variant as u32 {
                    trap!(
                        TrapKind::InvalidArgument,
                        "enum payload read for variant {} of a value of variant {}",
                        $variant,
                        tag
                    );
                }
                self.heap.fields(h)[$field as usize]
            }};
        }
        // An instruction implemented out of the loop (see `ops`), with the
        // frame's `pc` and the fuel count saved for it.
        macro_rules! slow {
            ($op:ident $(, $arg:expr)*) => {{
                sync!();
                sp = self.$op::<METER>(stack, sp $(, $arg)*)?;
                count = self.fuel_used;
            }};
        }
        macro_rules! check_fuel {
            () => {
                if METER && count >= fuel {
                    sync!();
                    fuel = self.poll(count)?;
                }
            };
        }
        macro_rules! jump {
            ($target:expr) => {{
                let t = $target as usize;
                if t <= pc {
                    check_fuel!();
                }
                pc = t;
                continue;
            }};
        }
        macro_rules! br_int {
            ($target:expr, $op:tt) => {{
                let b = pop!() as i64;
                let a = pop!() as i64;
                if a $op b {
                    jump!($target);
                }
            }};
        }
        macro_rules! field_update {
            ($local:expr, $field:expr, |$x:ident, $v:ident| $e:expr) => {{
                let $v = pop!();
                let slot = &mut self.heap.fields_mut(stack[base + $local as usize])[$field as usize];
                let $x = *slot;
                *slot = $e;
            }};
        }
        macro_rules! br_ll {
            ($a:expr, $b:expr, $target:expr, $op:tt) => {{
                if (stack[base + $a as usize] as i64) $op (stack[base + $b as usize] as i64) {
                    jump!($target);
                }
            }};
        }
        macro_rules! br_limm {
            ($l:expr, $value:expr, $target:expr, $op:tt) => {{
                if (stack[base + $l as usize] as i64) $op ($value as i64) {
                    jump!($target);
                }
            }};
        }
        // Element `index` (an int local) of the array in local `array`,
        // and storing into one: bounds-checked.
        macro_rules! load_elem {
            ($array:expr, $index:expr) => {{
                let i = stack[base + $index as usize] as i64;
                let items = self.heap.array(stack[base + $array as usize]);
                match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    Some(v) => *v,
                    None => {
                        let n = items.len();
                        oob!(i, n)
                    }
                }
            }};
        }
        macro_rules! store_elem {
            ($array:expr, $index:expr, $v:expr) => {{
                let v = $v;
                let i = stack[base + $index as usize] as i64;
                let items = self.heap.array_mut(stack[base + $array as usize]);
                match usize::try_from(i).ok().and_then(|i| items.get_mut(i)) {
                    Some(slot) => *slot = v,
                    None => {
                        let n = items.len();
                        oob!(i, n)
                    }
                }
            }};
        }
        // A loop counter's step and test: local += delta (wrapping), then
        // jump if it compares so with local `end`.
        macro_rules! step_br {
            ($local:expr, $delta:expr, $end:expr, $target:expr, $op:tt) => {{
                let slot = base + $local as usize;
                let i = (stack[slot] as i64).wrapping_add($delta);
                stack[slot] = i as u64;
                if i $op stack[base + $end as usize] as i64 {
                    jump!($target);
                }
            }};
        }
        macro_rules! br_imm {
            ($target:expr, $value:expr, $op:tt) => {{
                let a = pop!() as i64;
                if a $op ($value as i64) {
                    jump!($target);
                }
            }};
        }
        // Returns `$result` (the value, or `None` for unit) to the caller.
        macro_rules! ret {
            ($result:expr) => {{
                let result: Option<u64> = $result;
                let fr = self.frames.pop().expect("running frame");
                sp = fr.ret as usize;
                if let Some(v) = result {
                    stack[sp] = v;
                    sp += 1;
                }
                if self.frames.len() == stop {
                    self.fuel_used = count;
                    return Ok(result);
                }
                let caller = *self.frames.last().expect("caller frame");
                fidx = caller.func as usize;
                code = &m.functions[fidx].code;
                base = caller.base as usize;
                pc = caller.pc as usize + 1;
                continue;
            }};
        }
        macro_rules! enter {
            ($callee:expr, $new_base:expr, $ret:expr, $env:expr) => {
                enter!($callee, $new_base, $ret, $env, None::<u64>)
            };
            // `$last`: the last argument, when it is not on the stack yet; it
            // is stored once the stack has room for the callee's frame.
            ($callee:expr, $new_base:expr, $ret:expr, $env:expr, $last:expr) => {{
                let callee = $callee as usize;
                if self.frames.len() >= max_depth {
                    trap!(
                        TrapKind::StackOverflow,
                        "stack overflow: more than {} nested calls",
                        self.limits.max_depth
                    );
                }
                check_fuel!();
                let new_base: usize = $new_base;
                let meta = prog.meta[callee];
                let need = new_base + meta.frame_size as usize;
                if need > MAX_STACK_SLOTS {
                    trap!(TrapKind::StackOverflow, "{}", value_stack_overflow());
                }
                if let Some(v) = $last {
                    stack[new_base + meta.params as usize - 1] = v;
                }
                self.frames.last_mut().expect("running frame").pc = pc as u32;
                self.frames.push(Frame {
                    func: callee as u32,
                    pc: 0,
                    base: new_base as u32,
                    ret: $ret as u32,
                    env: $env,
                });
                fidx = callee;
                code = &m.functions[fidx].code;
                base = new_base;
                sp = base + meta.slots as usize;
                pc = 0;
                continue;
            }};
        }

        loop {
            let ins = code[pc];
            if METER {
                count += 1;
            }
            match ins {
                Instr::Nop {} => {}
                Instr::Const { index } => push!(self.consts[index as usize]),
                Instr::Bool { value } => push!(value as u64),
                Instr::Load { local } => push!(stack[base + local as usize]),
                Instr::Store { local } => {
                    let v = pop!();
                    stack[base + local as usize] = v;
                }
                Instr::GlobalGet { global } => {
                    if !self.global_set[global as usize] {
                        trap!(
                            TrapKind::UninitializedGlobal,
                            "global {} read before it was initialized",
                            global
                        );
                    }
                    push!(self.globals[global as usize]);
                }
                Instr::GlobalSet { global } => {
                    let v = pop!();
                    self.globals[global as usize] = v;
                    self.global_set[global as usize] = true;
                }
                Instr::Pop {} => sp -= 1,
                Instr::Load2 { a, b } => {
                    push!(stack[base + a as usize]);
                    push!(stack[base + b as usize]);
                }
                Instr::LoadField { local, field } => {
                    push!(self.heap.fields(stack[base + local as usize])[field as usize])
                }
                Instr::StoreElem { array, index } => {
                    let v = pop!();
                    store_elem!(array, index, v);
                }
                Instr::StoreElemImm {
                    array,
                    index,
                    value,
                } => store_elem!(array, index, value as i64 as u64),
                Instr::StoreElemL {
                    array,
                    index,
                    local,
                } => store_elem!(array, index, stack[base + local as usize]),
                Instr::CopyElem {
                    array,
                    index,
                    src_array,
                    src_index,
                } => {
                    let v = load_elem!(src_array, src_index);
                    store_elem!(array, index, v);
                }
                Instr::LoadElem { array, index } => push!(load_elem!(array, index)),
                Instr::MoveElem { dst, array, index } => {
                    stack[base + dst as usize] = load_elem!(array, index);
                }
                Instr::IAddLL { a, b } => push!((stack[base + a as usize] as i64)
                    .wrapping_add(stack[base + b as usize] as i64)
                    as u64),
                Instr::ISubLL { a, b } => push!((stack[base + a as usize] as i64)
                    .wrapping_sub(stack[base + b as usize] as i64)
                    as u64),
                Instr::IMulLL { a, b } => push!((stack[base + a as usize] as i64)
                    .wrapping_mul(stack[base + b as usize] as i64)
                    as u64),
                Instr::FAddLL { a, b } => push!((f64_of!(stack[base + a as usize])
                    + f64_of!(stack[base + b as usize]))
                .to_bits()),
                Instr::FSubLL { a, b } => push!((f64_of!(stack[base + a as usize])
                    - f64_of!(stack[base + b as usize]))
                .to_bits()),
                Instr::FMulLL { a, b } => push!((f64_of!(stack[base + a as usize])
                    * f64_of!(stack[base + b as usize]))
                .to_bits()),
                Instr::LoadAddImm { local, value } => {
                    push!((stack[base + local as usize] as i64).wrapping_add(value as i64) as u64)
                }
                Instr::IAddL { local } => {
                    top!() =
                        (top!() as i64).wrapping_add(stack[base + local as usize] as i64) as u64
                }
                Instr::ISubL { local } => {
                    top!() =
                        (top!() as i64).wrapping_sub(stack[base + local as usize] as i64) as u64
                }
                Instr::IMulL { local } => {
                    top!() =
                        (top!() as i64).wrapping_mul(stack[base + local as usize] as i64) as u64
                }
                Instr::FAddL { local } => {
                    top!() = (f64_of!(top!()) + f64_of!(stack[base + local as usize])).to_bits()
                }
                Instr::FSubL { local } => {
                    top!() = (f64_of!(top!()) - f64_of!(stack[base + local as usize])).to_bits()
                }
                Instr::FMulL { local } => {
                    top!() = (f64_of!(top!()) * f64_of!(stack[base + local as usize])).to_bits()
                }
                Instr::FDivL { local } => {
                    top!() = (f64_of!(top!()) / f64_of!(stack[base + local as usize])).to_bits()
                }
                Instr::Dup {} => {
                    let v = top!();
                    push!(v);
                }
                Instr::LoadCapture { index } => {
                    let env = self.frames.last().expect("running frame").env;
                    let v = self.heap.closure(env).1[index as usize];
                    push!(v);
                }

                Instr::IAdd {} => int_bin!(|a, b| a.wrapping_add(b)),
                Instr::IAddImm { value } => {
                    top!() = (top!() as i64).wrapping_add(value as i64) as u64
                }
                Instr::IMulImm { value } => {
                    top!() = (top!() as i64).wrapping_mul(value as i64) as u64
                }
                // The verifier rejects a zero immediate.
                Instr::IRemImm { value } => {
                    top!() = (top!() as i64).wrapping_rem(value as i64) as u64
                }
                Instr::StoreLoad { store, load } => {
                    let v = pop!();
                    stack[base + store as usize] = v;
                    push!(stack[base + load as usize]);
                }
                Instr::FAddK { index } => {
                    top!() = (f64_of!(top!()) + f64_of!(self.consts[index as usize])).to_bits()
                }
                Instr::FMulK { index } => {
                    top!() = (f64_of!(top!()) * f64_of!(self.consts[index as usize])).to_bits()
                }
                Instr::BrILtImm { value, target } => br_imm!(target, value, <),
                Instr::BrILeImm { value, target } => br_imm!(target, value, <=),
                Instr::BrIGtImm { value, target } => br_imm!(target, value, >),
                Instr::BrIGeImm { value, target } => br_imm!(target, value, >=),
                Instr::BrIEqImm { value, target } => br_imm!(target, value, ==),
                Instr::BrINeImm { value, target } => br_imm!(target, value, !=),
                Instr::ISub {} => int_bin!(|a, b| a.wrapping_sub(b)),
                Instr::IMul {} => int_bin!(|a, b| a.wrapping_mul(b)),
                Instr::IDiv {} => {
                    if top!() == 0 {
                        trap!(TrapKind::DivisionByZero, "division by zero");
                    }
                    int_bin!(|a, b| a.wrapping_div(b))
                }
                Instr::IRem {} => {
                    if top!() == 0 {
                        trap!(TrapKind::DivisionByZero, "division by zero");
                    }
                    int_bin!(|a, b| a.wrapping_rem(b))
                }
                Instr::INeg {} => top!() = (top!() as i64).wrapping_neg() as u64,
                Instr::IAnd {} => int_bin!(|a, b| a & b),
                Instr::IOr {} => int_bin!(|a, b| a | b),
                Instr::IXor {} => int_bin!(|a, b| a ^ b),
                Instr::IShl {} => int_bin!(|a, b| a.wrapping_shl((b & 63) as u32)),
                Instr::IShr {} => int_bin!(|a, b| a.wrapping_shr((b & 63) as u32)),
                Instr::ILt {} => int_cmp!(<),
                Instr::ILe {} => int_cmp!(<=),
                Instr::IGt {} => int_cmp!(>),
                Instr::IGe {} => int_cmp!(>=),
                Instr::IEq {} => int_cmp!(==),
                Instr::INe {} => int_cmp!(!=),

                Instr::FAdd {} => flt_bin!(|a, b| a + b),
                Instr::FSub {} => flt_bin!(|a, b| a - b),
                Instr::FMul {} => flt_bin!(|a, b| a * b),
                Instr::FDiv {} => flt_bin!(|a, b| a / b),
                Instr::FRem {} => flt_bin!(|a, b| a % b),
                Instr::FNeg {} => flt_un!(|a| -a),
                Instr::FLt {} => flt_cmp!(<),
                Instr::FLe {} => flt_cmp!(<=),
                Instr::FGt {} => flt_cmp!(>),
                Instr::FGe {} => flt_cmp!(>=),
                Instr::FEq {} => flt_cmp!(==),
                Instr::FNe {} => flt_cmp!(!=),

                Instr::BNot {} => top!() ^= 1,
                Instr::BEq {} => int_cmp!(==),
                Instr::BNe {} => int_cmp!(!=),

                Instr::SEq {}
                | Instr::SNe {}
                | Instr::SLt {}
                | Instr::SLe {}
                | Instr::SGt {}
                | Instr::SGe {} => slow!(op_str_compare, ins),
                Instr::SConcat {} => slow!(op_concat),
                Instr::SLen {} => top!() = self.heap.str(top!()).len() as u64,
                Instr::SByte {} => {
                    let i = pop!() as i64;
                    let s = self.heap.str(top!());
                    match usize::try_from(i).ok().and_then(|i| s.as_bytes().get(i)) {
                        Some(b) => top!() = *b as u64,
                        None => {
                            let n = s.len();
                            oob!(i, n)
                        }
                    }
                }
                Instr::SSlice {} => slow!(op_slice),
                Instr::SSplit { .. } => slow!(op_split),
                Instr::SFind {} => slow!(op_find),
                Instr::SJoin {} => slow!(op_join),

                Instr::I2F {} => top!() = (top!() as i64 as f64).to_bits(),
                Instr::F2I {} => top!() = f64_of!(top!()) as i64 as u64,
                Instr::IToS {}
                | Instr::FToS {}
                | Instr::BToS {}
                | Instr::SToI {}
                | Instr::SToF {}
                | Instr::FFixed {} => slow!(op_text, ins),

                Instr::FSqrt {} => flt_un!(|a| a.sqrt()),
                Instr::FFloor {} => flt_un!(|a| libm::floor(a)),
                Instr::FCeil {} => flt_un!(|a| libm::ceil(a)),
                Instr::FSin {} => flt_un!(|a| libm::sin(a)),
                Instr::FCos {} => flt_un!(|a| libm::cos(a)),
                Instr::FExp {} => flt_un!(|a| libm::exp(a)),
                Instr::FLog {} => flt_un!(|a| libm::log(a)),
                Instr::FAbs {} => flt_un!(|a| a.abs()),
                Instr::FPow {} => flt_bin!(|a, b| libm::pow(a, b)),
                Instr::FMin {} => flt_bin!(|a, b| fmin(a, b)),
                Instr::FMax {} => flt_bin!(|a, b| -fmin(-a, -b)),
                Instr::IAbs {} => top!() = (top!() as i64).wrapping_abs() as u64,
                Instr::IMin {} => int_bin!(|a, b| a.min(b)),
                Instr::IMax {} => int_bin!(|a, b| a.max(b)),

                Instr::Jmp { target } => jump!(target),
                Instr::JmpIf { target } => {
                    if pop!() != 0 {
                        jump!(target);
                    }
                }
                Instr::JmpIfNot { target } => {
                    if pop!() == 0 {
                        jump!(target);
                    }
                }
                Instr::BrILt { target } => br_int!(target, <),
                Instr::BrILe { target } => br_int!(target, <=),
                Instr::BrIGt { target } => br_int!(target, >),
                Instr::BrIGe { target } => br_int!(target, >=),
                Instr::BrIEq { target } => br_int!(target, ==),
                Instr::BrINe { target } => br_int!(target, !=),
                Instr::BrTagNe { variant, target } => {
                    let h = pop!();
                    if self.heap.tag(h) != variant as u32 {
                        jump!(target);
                    }
                }
                Instr::BrLTagNe {
                    local,
                    variant,
                    target,
                } => {
                    if self.heap.tag(stack[base + local as usize]) != variant as u32 {
                        jump!(target);
                    }
                }
                Instr::ForStep { local, end, target } => step_br!(local, 1, end, target, <),
                Instr::AddLBrLe {
                    local,
                    step,
                    end,
                    target,
                } => step_br!(local, stack[base + step as usize] as i64, end, target, <=),
                Instr::StoreForStep {
                    store,
                    local,
                    end,
                    target,
                } => {
                    let v = pop!();
                    stack[base + store as usize] = v;
                    step_br!(local, 1, end, target, <)
                }
                Instr::BrLLLt { a, b, target } => br_ll!(a, b, target, <),
                Instr::BrLLLe { a, b, target } => br_ll!(a, b, target, <=),
                Instr::BrLLGt { a, b, target } => br_ll!(a, b, target, >),
                Instr::BrLLGe { a, b, target } => br_ll!(a, b, target, >=),
                Instr::BrLLEq { a, b, target } => br_ll!(a, b, target, ==),
                Instr::BrLLNe { a, b, target } => br_ll!(a, b, target, !=),
                Instr::BrLImmLt {
                    local,
                    value,
                    target,
                } => br_limm!(local, value, target, <),
                Instr::BrLImmLe {
                    local,
                    value,
                    target,
                } => br_limm!(local, value, target, <=),
                Instr::BrLImmGt {
                    local,
                    value,
                    target,
                } => br_limm!(local, value, target, >),
                Instr::BrLImmGe {
                    local,
                    value,
                    target,
                } => br_limm!(local, value, target, >=),
                Instr::BrLImmEq {
                    local,
                    value,
                    target,
                } => br_limm!(local, value, target, ==),
                Instr::BrLImmNe {
                    local,
                    value,
                    target,
                } => br_limm!(local, value, target, !=),
                Instr::FieldAddI { local, field } => field_update!(local, field, |x, v| (x as i64)
                    .wrapping_add(v as i64)
                    as u64),
                Instr::FieldSubI { local, field } => field_update!(local, field, |x, v| (x as i64)
                    .wrapping_sub(v as i64)
                    as u64),
                Instr::FieldAddF { local, field } => {
                    field_update!(local, field, |x, v| (f64_of!(x) + f64_of!(v)).to_bits())
                }
                Instr::FieldSubF { local, field } => {
                    field_update!(local, field, |x, v| (f64_of!(x) - f64_of!(v)).to_bits())
                }
                Instr::LocalAddL { dst, src } => {
                    let d = base + dst as usize;
                    stack[d] =
                        (stack[d] as i64).wrapping_add(stack[base + src as usize] as i64) as u64;
                }
                Instr::IncLocal { local, value } => {
                    let slot = base + local as usize;
                    stack[slot] = (stack[slot] as i64).wrapping_add(value as i64) as u64;
                }
                Instr::Call { func: f } => {
                    let np = prog.meta[f as usize].params as usize;
                    enter!(f, sp - np, sp - np, NO_ENV)
                }
                Instr::CallL { func: f, local } => {
                    let np = prog.meta[f as usize].params as usize;
                    let v = stack[base + local as usize];
                    enter!(f, sp + 1 - np, sp + 1 - np, NO_ENV, Some(v))
                }
                Instr::CallLAddImm {
                    func: f,
                    local,
                    value,
                } => {
                    let np = prog.meta[f as usize].params as usize;
                    let v = (stack[base + local as usize] as i64).wrapping_add(value as i64) as u64;
                    enter!(f, sp + 1 - np, sp + 1 - np, NO_ENV, Some(v))
                }
                Instr::CallClosure { ty } => {
                    let np = match m.ty(ty) {
                        TypeDesc::Fn { params, .. } => params.len(),
                        _ => unreachable_verified(),
                    };
                    let clo = stack[sp - np - 1];
                    let f = self.heap.closure(clo).0;
                    enter!(f, sp - np, sp - np - 1, clo)
                }
                Instr::CallHost { import } => {
                    sync!();
                    sp = self.op_call_host(stack, sp, import)?;
                    count = self.fuel_used;
                }
                Instr::Ret {} => {
                    let result = if prog.meta[fidx].returns_value {
                        Some(stack[sp - 1])
                    } else {
                        None
                    };
                    ret!(result)
                }
                Instr::RetL { local } => ret!(Some(stack[base + local as usize])),
                Instr::RetImm { value } => ret!(Some(value as i64 as u64)),

                Instr::NewArray { ty, len } => {
                    // No work units: each element was pushed by an
                    // instruction of its own, which paid for copying it.
                    let len = len as usize;
                    safepoint!(OBJECT_BYTES + 8 * len);
                    let items = stack[sp - len..sp].to_vec();
                    sp -= len;
                    push!(self.heap.alloc(Object::Array {
                        refs: prog.holds_refs(ty),
                        items,
                    }));
                }
                Instr::NewArrayRep { ty } => slow!(op_array_rep, ty),
                Instr::ALen {} => top!() = self.heap.array(top!()).len() as u64,
                Instr::AGet {} => {
                    let i = pop!() as i64;
                    let items = self.heap.array(top!());
                    match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                        Some(v) => top!() = *v,
                        None => {
                            let n = items.len();
                            oob!(i, n)
                        }
                    }
                }
                Instr::ASet {} => {
                    let v = pop!();
                    let i = pop!() as i64;
                    let a = pop!();
                    let items = self.heap.array_mut(a);
                    match usize::try_from(i).ok().and_then(|i| items.get_mut(i)) {
                        Some(slot) => *slot = v,
                        None => {
                            let n = items.len();
                            oob!(i, n)
                        }
                    }
                }
                Instr::APush {} => {
                    let a = stack[sp - 2];
                    safepoint!(self.heap.array_push_need(a));
                    let v = pop!();
                    sp -= 1;
                    self.heap.array_push(a, v);
                }
                Instr::APop {} => match self.heap.array_pop(top!()) {
                    Some(v) => top!() = v,
                    None => trap!(TrapKind::EmptyPop, "pop from an empty array"),
                },

                Instr::NewMap { ty } => {
                    sync!();
                    sp = self.op_new_map(stack, sp, ty)?;
                }
                Instr::MLen {} => top!() = self.heap.map(top!()).len() as u64,
                // Int and bool keys cost no work units: their hits are
                // handled here; string keys and misses out of the loop.
                Instr::MGet {} => match self.heap.map_get_scalar(stack[sp - 2], top!()) {
                    Some(Some(v)) => {
                        sp -= 1;
                        top!() = v;
                    }
                    _ => slow!(op_map_read, ins),
                },
                Instr::MGetOr {} => match self.heap.map_get_scalar(stack[sp - 3], stack[sp - 2]) {
                    Some(v) => {
                        let d = pop!();
                        sp -= 1;
                        top!() = v.unwrap_or(d);
                    }
                    None => slow!(op_map_read, ins),
                },
                Instr::MHas {} => slow!(op_map_read, ins),
                Instr::MSet {} => {
                    let (mh, k, v) = (stack[sp - 3], stack[sp - 2], stack[sp - 1]);
                    match self.heap.map_set_scalar(mh, k, v) {
                        Ok(()) => sp -= 3,
                        Err(vacant) => slow!(op_map_set, vacant),
                    }
                }
                Instr::MRemove {} => slow!(op_map_remove),
                Instr::MKeys { ty } => slow!(op_map_list, ty, true),
                Instr::MValues { ty } => slow!(op_map_list, ty, false),
                Instr::MKeyAt {} => slow!(op_map_at, true),
                Instr::MValAt {} => slow!(op_map_at, false),

                Instr::NewStruct { ty } => {
                    let (layout, counts) = prog.shape(ty);
                    let n = counts[0] as usize;
                    safepoint!(OBJECT_BYTES + 8 * n);
                    sp -= n;
                    let h = self.heap.alloc_record(layout, 0, &stack[sp..sp + n]);
                    push!(h);
                }
                Instr::GetField { field } => top!() = self.heap.fields(top!())[field as usize],
                Instr::SetField { field } => {
                    let v = pop!();
                    let s = pop!();
                    self.heap.fields_mut(s)[field as usize] = v;
                }
                Instr::NewEnum { ty, variant } => {
                    let (layout, counts) = prog.shape(ty);
                    let n = counts[variant as usize] as usize;
                    if n == 0 {
                        push!(self.units[layout as usize][variant as usize]);
                    } else {
                        safepoint!(OBJECT_BYTES + 8 * n);
                        sp -= n;
                        let h = self
                            .heap
                            .alloc_record(layout, variant as u32, &stack[sp..sp + n]);
                        push!(h);
                    }
                }
                Instr::EnumTag {} => top!() = self.heap.tag(top!()) as u64,
                Instr::EnumField { variant, field } => {
                    let v = enum_field!(top!(), variant, field);
                    top!() = v;
                }
                Instr::LoadEnumField {
                    local,
                    variant,
                    field,
                } => push!(enum_field!(stack[base + local as usize], variant, field)),
                Instr::MoveEnumField {
                    dst,
                    src,
                    variant,
                    field,
                } => {
                    stack[base + dst as usize] =
                        enum_field!(stack[base + src as usize], variant, field);
                }

                Instr::NewClosure { func: f, .. } => {
                    let n = m.functions[f as usize].captures.len();
                    safepoint!(OBJECT_BYTES + 8 * n);
                    let captures = Fields::from_slice(&stack[sp - n..sp]);
                    sp -= n;
                    push!(self.heap.alloc(Object::Closure { func: f, captures }));
                }
                Instr::NewCell { ty } => {
                    safepoint!(OBJECT_BYTES);
                    let is_ref = prog.holds_refs(ty);
                    top!() = self.heap.alloc(Object::Cell {
                        is_ref,
                        value: top!(),
                    });
                }
                Instr::CellGet {} => top!() = self.heap.cell(top!()),
                Instr::CellSet {} => {
                    let v = pop!();
                    let c = pop!();
                    self.heap.set_cell(c, v);
                }
            }
            pc += 1;
        }
    }
}

/// Minimum per IEEE 754-2019 `minimum`: NaN if either is NaN, -0 < +0.
fn fmin(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b {
        a
    } else if b < a {
        b
    } else if a.is_sign_negative() {
        a
    } else {
        b
    }
}

#[cold]
fn unreachable_verified() -> ! {
    panic!("the verifier admitted an ill-typed instruction")
}
