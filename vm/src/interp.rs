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

use crate::heap::{Collection, Fields, GcInfo, Heap, Key, KeyRef, MapObject, Object, TernMap};
use crate::host::{Host, NoHost, Value};
use crate::module::*;
use crate::opcodes::Instr;
use crate::text;
use crate::verify::{self, FuncInfo, VerifyError};
use compact_str::{CompactString, ToCompactString};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A module that passed verification, with what execution needs from it.
pub struct Program {
    pub module: Module,
    pub info: Vec<FuncInfo>,
    gc: GcInfo,
    /// What a call needs to know about each function, kept compact.
    meta: Vec<FnMeta>,
    /// For each type id, what `struct.new` and `enum.new` need: the layout
    /// and the field count of each variant (one entry for a struct; none
    /// for types that are not records).
    shapes: Vec<(u32, Box<[u32]>)>,
}

/// Per-function facts the call and return paths read.
#[derive(Clone, Copy, Debug)]
struct FnMeta {
    params: u32,
    slots: u32,
    /// Slots per frame: locals plus the operand stack.
    frame_size: u32,
    returns_value: bool,
}

impl Program {
    /// Verifies `module`; nothing can run without passing through here.
    pub fn new(module: Module) -> Result<Program, VerifyError> {
        let info = verify::verify(&module)?;
        let record_refs = module
            .layouts
            .iter()
            .map(|l| match l {
                Layout::Struct { fields, .. } => {
                    vec![fields.iter().map(|f| module.is_ref(f.ty)).collect()]
                }
                Layout::Enum { variants, .. } => variants
                    .iter()
                    .map(|v| v.fields.iter().map(|t| module.is_ref(*t)).collect())
                    .collect(),
            })
            .collect();
        let capture_refs = module
            .functions
            .iter()
            .map(|f| f.captures.iter().map(|t| module.is_ref(*t)).collect())
            .collect();
        let meta = module
            .functions
            .iter()
            .zip(&info)
            .map(|(f, i)| FnMeta {
                params: f.params.len() as u32,
                slots: f.num_slots() as u32,
                frame_size: (f.num_slots() + i.max_stack as usize) as u32,
                returns_value: f.ret != UNIT,
            })
            .collect();
        let shapes = module
            .types
            .iter()
            .map(|t| match t {
                TypeDesc::Struct(l) | TypeDesc::Enum(l) => {
                    let counts = match &module.layouts[*l as usize] {
                        Layout::Struct { fields, .. } => vec![fields.len() as u32],
                        Layout::Enum { variants, .. } => {
                            variants.iter().map(|v| v.fields.len() as u32).collect()
                        }
                    };
                    (*l, counts.into_boxed_slice())
                }
                _ => (u32::MAX, Box::default()),
            })
            .collect();
        Ok(Program {
            module,
            info,
            shapes,
            gc: GcInfo {
                record_refs,
                capture_refs,
            },
            meta,
        })
    }
}

/// Per-instance resource limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Accounted heap bytes; exceeding it is an `OutOfMemory` trap.
    pub max_heap: usize,
    /// Frames on the call stack; exceeding it is a `StackOverflow` trap.
    pub max_depth: usize,
    /// Instructions executed; exhausting it is a `FuelExhausted` trap.
    pub fuel: u64,
    /// Collect at every allocating safepoint.
    pub gc_stress: bool,
    /// Count instructions for [`Vm::stats`] even without a fuel limit
    /// (counting costs a little on every instruction).
    pub count_instructions: bool,
    /// Wall-clock time each call into the guest may take (`run_main`, an
    /// export call, the module's initialization); exceeding it is a
    /// `Timeout` trap. Checked every [`POLL_INTERVAL`] instructions, so a
    /// host function that blocks is not cut short.
    pub timeout: Option<Duration>,
}

/// With a timeout or an interrupt handle, the loop looks at the clock and
/// the interrupt flag once per this many instructions (at a backward
/// branch or a call, like the fuel check): often enough to stop within
/// about a millisecond, rarely enough to cost nothing measurable beyond
/// the instruction counting itself.
pub const POLL_INTERVAL: u64 = 10_000;

/// Lets another thread stop a running instance: the guest traps with
/// `Interrupted` at its next poll (see [`POLL_INTERVAL`]). Cheap to clone.
#[derive(Clone, Debug)]
pub struct InterruptHandle(Arc<AtomicBool>);

impl InterruptHandle {
    /// Asks the instance to stop. If it is not running, its next call traps
    /// at its first backward branch or call; the trap consumes the request.
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Default call-depth limit (frames).
pub const DEFAULT_MAX_DEPTH: usize = 100_000;
/// Default heap limit: 1 GiB of accounted bytes.
pub const DEFAULT_MAX_HEAP: usize = 1 << 30;
/// Value-stack slots an instance may use in all, whatever its depth. A
/// power of two: see [`ValueStack`].
#[cfg(not(fuzzing))]
pub const MAX_STACK_SLOTS: usize = 1 << 24;
/// Fuzzing builds (cargo-fuzz sets `--cfg fuzzing`) reserve less: under
/// AddressSanitizer every reservation's shadow memory is written when it is
/// made and freed, which at 2^24 slots cut the fuzzers' speed fourfold.
#[cfg(fuzzing)]
pub const MAX_STACK_SLOTS: usize = 1 << 20;

/// The value stack: all `MAX_STACK_SLOTS` slots, reserved when the instance
/// first runs. Zeroed memory that large comes straight from the OS as
/// untouched pages, so an instance uses only the pages its deepest call
/// reached.
///
/// Indexing masks the index with `MAX_STACK_SLOTS - 1` instead of checking
/// it. For verified code the mask never changes an index (every frame's
/// slots lie below `MAX_STACK_SLOTS`, which the call path checks), and it
/// spares the dispatch loop a bounds check on every slot it touches and the
/// stack's length in a register (law 3: the verifier proved these, and the
/// mask keeps even a verifier bug memory-safe). Ranges are checked as usual.
struct ValueStack(Box<[u64; MAX_STACK_SLOTS]>);

const STACK_MASK: usize = MAX_STACK_SLOTS - 1;

/// The trap message for a frame that would pass `MAX_STACK_SLOTS`.
#[cold]
fn value_stack_overflow() -> String {
    format!("stack overflow: more than {MAX_STACK_SLOTS} value-stack slots")
}
const _: () = assert!(MAX_STACK_SLOTS.is_power_of_two());

impl ValueStack {
    fn new() -> ValueStack {
        let slots: Box<[u64]> = vec![0; MAX_STACK_SLOTS].into_boxed_slice();
        ValueStack(slots.try_into().expect("MAX_STACK_SLOTS slots"))
    }
}

impl std::ops::Index<usize> for ValueStack {
    type Output = u64;
    #[inline(always)]
    fn index(&self, i: usize) -> &u64 {
        &self.0[i & STACK_MASK]
    }
}

impl std::ops::IndexMut<usize> for ValueStack {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut u64 {
        &mut self.0[i & STACK_MASK]
    }
}

impl std::ops::Index<std::ops::Range<usize>> for ValueStack {
    type Output = [u64];
    #[inline]
    fn index(&self, r: std::ops::Range<usize>) -> &[u64] {
        &self.0[r]
    }
}

impl std::ops::IndexMut<std::ops::Range<usize>> for ValueStack {
    #[inline]
    fn index_mut(&mut self, r: std::ops::Range<usize>) -> &mut [u64] {
        &mut self.0[r]
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_heap: DEFAULT_MAX_HEAP,
            max_depth: DEFAULT_MAX_DEPTH,
            fuel: u64::MAX,
            gc_stress: false,
            count_instructions: false,
            timeout: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    DivisionByZero,
    IndexOutOfBounds,
    KeyNotFound,
    EmptyPop,
    InvalidArgument,
    StackOverflow,
    OutOfMemory,
    FuelExhausted,
    Timeout,
    Interrupted,
    UninitializedGlobal,
    Host,
}

/// One line of a guest stack trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceFrame {
    pub function: String,
    pub file: String,
    pub line: u32,
}

/// A runtime error: what happened and where in the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    pub kind: TrapKind,
    pub message: String,
    /// Innermost frame first.
    pub trace: Vec<TraceFrame>,
}

/// A bad call from the host (not a guest error): no trace.
fn invalid_call(message: String) -> Trap {
    Trap {
        kind: TrapKind::InvalidArgument,
        message,
        trace: vec![],
    }
}

/// Traces longer than this print the innermost and outermost frames only.
const TRACE_HEAD: usize = 16;
const TRACE_TAIL: usize = 4;

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let n = self.trace.len();
        for (i, fr) in self.trace.iter().enumerate() {
            if n > TRACE_HEAD + TRACE_TAIL && i >= TRACE_HEAD && i < n - TRACE_TAIL {
                if i == TRACE_HEAD {
                    writeln!(f, "  ... {} more frames ...", n - TRACE_HEAD - TRACE_TAIL)?;
                }
                continue;
            }
            writeln!(f, "  at {} ({}:{})", fr.function, fr.file, fr.line)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

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
    pub instructions: u64,
    pub collections: u64,
    pub allocated_bytes: u64,
    pub peak_heap_bytes: u64,
}

/// One instance: a heap, a stack, globals, limits, and a host.
pub struct Vm<'h> {
    prog: Arc<Program>,
    pub heap: Heap,
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
    instructions: u64,
    /// Values the embedder holds across calls: always roots.
    pinned: Vec<u64>,
    initialized: bool,
    /// When the current call into the guest must end, with a timeout.
    deadline: Option<Instant>,
    /// Set by an [`InterruptHandle`]; `None` until one is asked for.
    interrupt: Option<Arc<AtomicBool>>,
    /// The fuel last granted, for the trap message (`limits.fuel` is the
    /// instruction count at which it runs out).
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

    /// An instance of `prog` whose imports `host` serves.
    pub fn with_host(prog: Arc<Program>, limits: Limits, host: Box<dyn Host + 'h>) -> Vm<'h> {
        let mut heap = Heap::new();
        heap.set_stress(limits.gc_stress);
        let consts = prog
            .module
            .consts
            .iter()
            .map(|c| match c {
                Const::Int(i) => *i as u64,
                Const::Float(f) => f.to_bits(),
                Const::Str(s) => heap.alloc_str(s),
            })
            .collect();
        let units = prog
            .module
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
        let n = prog.module.globals.len();
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
            instructions: 0,
            pinned: Vec::new(),
            initialized: false,
            deadline: None,
            interrupt: None,
            fuel_budget,
        }
    }

    /// A handle another thread can use to stop this instance. From the
    /// first call on, the instance counts instructions to poll it.
    pub fn interrupt_handle(&mut self) -> InterruptHandle {
        let flag = self
            .interrupt
            .get_or_insert_with(|| Arc::new(AtomicBool::new(false)));
        InterruptHandle(Arc::clone(flag))
    }

    /// Makes `h` (from another instance, say one this replaces) stop this
    /// instance too.
    pub fn set_interrupt_handle(&mut self, h: &InterruptHandle) {
        self.interrupt = Some(Arc::clone(&h.0));
    }

    /// Lets the instance execute `n` more instructions from now (a fresh
    /// budget, say, for each request a host serves).
    pub fn set_fuel(&mut self, n: u64) {
        self.limits.fuel = self.instructions.saturating_add(n);
        self.fuel_budget = n;
    }

    /// Fuel left: the instructions this instance may still execute.
    pub fn fuel_remaining(&self) -> u64 {
        self.limits.fuel.saturating_sub(self.instructions)
    }

    /// Whether the loop must count instructions and poll.
    fn metered(&self) -> bool {
        self.limits.fuel != u64::MAX
            || self.limits.count_instructions
            || self.limits.timeout.is_some()
            || self.interrupt.is_some()
    }

    /// The instruction count at which the loop next calls [`Vm::poll`].
    fn next_poll(&self, count: u64) -> u64 {
        if self.limits.timeout.is_some() || self.interrupt.is_some() {
            self.limits.fuel.min(count.saturating_add(POLL_INTERVAL))
        } else {
            self.limits.fuel
        }
    }

    /// Checks fuel, the interrupt flag and the deadline, in that order;
    /// returns the next poll point. The top frame's `pc` must be set.
    #[cold]
    #[inline(never)]
    fn poll(&mut self, count: u64) -> Result<u64, Trap> {
        if count >= self.limits.fuel {
            let msg = format!(
                "fuel exhausted: the limit of {} instructions was reached",
                self.fuel_budget
            );
            return Err(self.make_trap(TrapKind::FuelExhausted, msg));
        }
        if let Some(flag) = &self.interrupt {
            if flag.swap(false, Ordering::Relaxed) {
                return Err(self.make_trap(TrapKind::Interrupted, "interrupted by the host".into()));
            }
        }
        if let (Some(deadline), Some(limit)) = (self.deadline, self.limits.timeout) {
            if Instant::now() >= deadline {
                let msg = format!(
                    "timeout: the time limit of {} ms was exceeded",
                    limit.as_millis()
                );
                return Err(self.make_trap(TrapKind::Timeout, msg));
            }
        }
        Ok(self.next_poll(count))
    }

    pub fn stats(&self) -> Stats {
        Stats {
            instructions: self.instructions,
            collections: self.heap.stats.collections,
            allocated_bytes: self.heap.stats.allocated_bytes,
            peak_heap_bytes: self.heap.stats.peak_bytes,
        }
    }

    /// Runs the module's init function (once) and then `main` with `args`;
    /// returns the exit code (`main`'s int result, or 0).
    pub fn run_main(&mut self, args: &[String]) -> Result<i64, Trap> {
        let entry = match self.prog.module.entry {
            Some(e) => e,
            None => return Err(Trap {
                kind: TrapKind::InvalidArgument,
                message:
                    "the module has no main function (it is a library: a host calls its exports)"
                        .into(),
                trace: vec![],
            }),
        };
        self.initialize()?;
        let f = &self.prog.module.functions[entry as usize];
        let mut argv = Vec::new();
        if !f.params.is_empty() {
            let items: Vec<u64> = args.iter().map(|a| self.heap.alloc_str(a)).collect();
            argv.push(self.heap.alloc(Object::Array { refs: true, items }));
        }
        let r = self.call_raw(entry, &argv)?;
        Ok(r.map_or(0, |v| v as i64))
    }

    /// Runs the init function if it has not run yet.
    pub fn initialize(&mut self) -> Result<(), Trap> {
        if !self.initialized {
            self.initialized = true;
            if let Some(init) = self.prog.module.init {
                self.call_raw(init, &[])?;
            }
        }
        Ok(())
    }

    /// Calls function `func` with raw slot arguments (already typed right).
    fn call_raw(&mut self, func: u32, args: &[u64]) -> Result<Option<u64>, Trap> {
        let depth = self.frames.len();
        if depth == 0 {
            self.deadline = self.limits.timeout.map(|t| Instant::now() + t);
        }
        let base = self.frames.last().map_or(0, |fr| {
            fr.base as usize + self.prog.meta[fr.func as usize].frame_size as usize
        });
        let need = base + self.prog.meta[func as usize].frame_size as usize;
        if need > MAX_STACK_SLOTS {
            return Err(self.make_trap(TrapKind::StackOverflow, value_stack_overflow()));
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

    /// Calls an exported function with host values, checking their types.
    pub fn call_export(&mut self, name: &str, args: &[Value]) -> Result<Value, Trap> {
        let func = self
            .prog
            .module
            .exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.func)
            .ok_or_else(|| invalid_call(format!("no export named '{name}'")))?;
        self.call_function(func, args)
    }

    /// Calls function `func` (an index into the module's functions) with
    /// host values, checking their number and types.
    pub fn call_function(&mut self, func: u32, args: &[Value]) -> Result<Value, Trap> {
        let prog = Arc::clone(&self.prog);
        let f = prog
            .module
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
        self.initialize()?;
        let mark = self.pinned.len();
        for (t, v) in f.params.iter().zip(args) {
            match self.to_guest(*t, v) {
                Ok(slot) => self.pinned.push(slot),
                Err(e) => {
                    self.pinned.truncate(mark);
                    return Err(invalid_call(e));
                }
            }
        }
        let raw: Vec<u64> = self.pinned[mark..].to_vec();
        let r = self.call_raw(func, &raw);
        self.pinned.truncate(mark);
        Ok(match r? {
            None => Value::Unit,
            Some(v) => self.from_guest(f.ret, v),
        })
    }

    /// Copies a guest value of type `ty` out to the host.
    pub fn from_guest(&self, ty: TypeId, v: u64) -> Value {
        let m = &self.prog.module;
        match m.ty(ty) {
            TypeDesc::Int => Value::Int(v as i64),
            TypeDesc::Float => Value::Float(f64_of!(v)),
            TypeDesc::Bool => Value::Bool(v != 0),
            TypeDesc::Str => Value::Str(self.heap.str(v).to_string()),
            TypeDesc::Unit => Value::Unit,
            TypeDesc::Array(e) => Value::Array(
                self.heap
                    .array(v)
                    .iter()
                    .map(|x| self.from_guest(*e, *x))
                    .collect(),
            ),
            TypeDesc::Map(_, vt) => Value::Map(
                self.heap
                    .map(v)
                    .iter()
                    .map(|(k, x)| (key_value(k), self.from_guest(*vt, x)))
                    .collect(),
            ),
            _ => Value::Str(format!("<{}>", m.type_name(ty))),
        }
    }

    /// Copies a host value into the guest heap as type `ty`.
    pub fn to_guest(&mut self, ty: TypeId, v: &Value) -> Result<u64, String> {
        let prog = Arc::clone(&self.prog);
        let m = &prog.module;
        let mismatch = || format!("expected {}, got {}", m.type_name(ty), v.kind());
        Ok(match (m.ty(ty), v) {
            (TypeDesc::Int, Value::Int(i)) => *i as u64,
            (TypeDesc::Float, Value::Float(x)) => x.to_bits(),
            (TypeDesc::Bool, Value::Bool(b)) => *b as u64,
            (TypeDesc::Str, Value::Str(s)) => self.heap.alloc_str(s),
            (TypeDesc::Array(e), Value::Array(items)) => {
                let e = *e;
                let refs = m.is_ref(e);
                let mut slots = Vec::with_capacity(items.len());
                for x in items {
                    slots.push(self.to_guest(e, x)?);
                }
                self.heap.alloc(Object::Array { refs, items: slots })
            }
            (TypeDesc::Map(k, vt), Value::Map(entries)) => {
                let (k, vt) = (*k, *vt);
                let val_refs = m.is_ref(vt);
                let mut map = TernMap::new(k == INT);
                for (kv, x) in entries {
                    let key = match (m.ty(k), kv) {
                        (TypeDesc::Int, Value::Int(i)) => Key::Int(*i),
                        (TypeDesc::Bool, Value::Bool(b)) => Key::Bool(*b),
                        (TypeDesc::Str, Value::Str(s)) => Key::Str(s.as_str().into()),
                        _ => return Err(mismatch()),
                    };
                    let slot = self.to_guest(vt, x)?;
                    map.insert(key, slot);
                }
                self.heap.alloc(Object::Map(Box::new(MapObject {
                    key_ty: k,
                    val_refs,
                    entries: map,
                })))
            }
            _ => return Err(mismatch()),
        })
    }

    /// The instruction index each frame is at, innermost first, as a trace.
    fn trace(&self) -> Vec<TraceFrame> {
        let m = &self.prog.module;
        self.frames
            .iter()
            .rev()
            .map(|fr| {
                let f = &m.functions[fr.func as usize];
                TraceFrame {
                    function: f.name.clone(),
                    file: m.sources[f.source as usize].clone(),
                    line: f.line_of(fr.pc as usize),
                }
            })
            .collect()
    }

    #[cold]
    #[inline(never)]
    fn make_trap(&mut self, kind: TrapKind, message: String) -> Trap {
        Trap {
            kind,
            message,
            trace: self.trace(),
        }
    }

    /// Collects everything unreachable from the roots. The top frame's
    /// `pc` must be the safepoint instruction.
    #[cold]
    #[inline(never)]
    fn collect(&mut self, stack: &ValueStack, kind: Collection) {
        let m = &self.prog.module;
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
            for &s in self.prog.info[fr.func as usize].refs_at(fr.pc) {
                if (s as usize) < limit {
                    roots.push(stack[base + s as usize]);
                }
            }
        }
        self.heap.collect(&roots, &self.prog.gc, kind);
    }

    /// The one door to allocation: collects if due, then checks the limit.
    #[inline]
    fn safepoint(&mut self, stack: &ValueStack, pc: usize, need: usize) -> Result<(), Trap> {
        // Over the limit is an error only if a collection cannot make room.
        let kind = if self.heap.bytes + need > self.limits.max_heap {
            Collection::Major
        } else {
            self.heap.wants_collection(need)
        };
        if kind != Collection::None {
            self.frames.last_mut().expect("running frame").pc = pc as u32;
            self.collect(stack, kind);
        }
        if self.heap.bytes + need > self.limits.max_heap {
            self.frames.last_mut().expect("running frame").pc = pc as u32;
            let msg = format!(
                "out of memory: heap limit of {} bytes exceeded",
                self.limits.max_heap
            );
            return Err(self.make_trap(TrapKind::OutOfMemory, msg));
        }
        Ok(())
    }

    fn key_slot(&mut self, k: &Key) -> u64 {
        match k {
            Key::Int(i) => *i as u64,
            Key::Bool(b) => *b as u64,
            Key::Str(s) => self.heap.alloc_str(s),
        }
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
        let m = &prog.module;
        let top = *self.frames.last().expect("execute needs a frame");
        let mut fidx = top.func as usize;
        let mut code: &[Instr] = &m.functions[fidx].code;
        let mut base = top.base as usize;
        let mut pc = top.pc as usize;
        let mut sp = base + prog.meta[fidx].slots as usize;
        let mut count = self.instructions;
        let max_depth = self.limits.max_depth;
        // The instruction count at which to poll (fuel, interrupt, clock).
        // Polling at the first backward branch or call, not before the
        // first instruction, keeps straight-line code free of checks; an
        // interrupt requested while idle is seen at that first poll.
        let mut fuel = if self.interrupt.is_some() {
            count
        } else {
            self.next_poll(count)
        };

        macro_rules! trap {
            ($kind:expr, $($msg:tt)*) => {{
                self.frames.last_mut().expect("running frame").pc = pc as u32;
                self.instructions = count;
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
        macro_rules! str_cmp {
            ($op:tt) => {{
                let b = pop!();
                let a = top!();
                let r = self.heap.str(a) $op self.heap.str(b);
                top!() = r as u64;
            }};
        }
        macro_rules! safepoint {
            ($need:expr) => {{
                let need = $need;
                if self.heap.may_collect(need) || self.heap.bytes + need > self.limits.max_heap {
                    self.instructions = count;
                    self.safepoint(stack, pc, need)?;
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
        macro_rules! check_fuel {
            () => {
                if METER && count >= fuel {
                    self.frames.last_mut().expect("running frame").pc = pc as u32;
                    self.instructions = count;
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
                    self.instructions = count;
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

                Instr::SEq {} => str_cmp!(==),
                Instr::SNe {} => str_cmp!(!=),
                Instr::SLt {} => str_cmp!(<),
                Instr::SLe {} => str_cmp!(<=),
                Instr::SGt {} => str_cmp!(>),
                Instr::SGe {} => str_cmp!(>=),
                Instr::SConcat {} => {
                    let (a, b) = (stack[sp - 2], stack[sp - 1]);
                    let need = 32 + self.heap.str(a).len() + self.heap.str(b).len();
                    safepoint!(need);
                    sp -= 1;
                    top!() = self.heap.concat(a, b);
                }
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
                Instr::SSlice {} => {
                    let (h, a, b) = (stack[sp - 3], stack[sp - 2] as i64, stack[sp - 1] as i64);
                    let n = self.heap.str(h).len();
                    if a < 0 || b < a || b as usize > n {
                        trap!(
                            TrapKind::IndexOutOfBounds,
                            "slice {}..{} out of range for length {}",
                            a,
                            b,
                            n
                        );
                    }
                    let s = self.heap.str(h);
                    if !s.is_char_boundary(a as usize) || !s.is_char_boundary(b as usize) {
                        trap!(
                            TrapKind::InvalidArgument,
                            "slice {}..{} is not on a character boundary",
                            a,
                            b
                        );
                    }
                    safepoint!(32 + (b - a) as usize);
                    let piece = CompactString::new(&self.heap.str(h)[a as usize..b as usize]);
                    sp -= 2;
                    top!() = self.heap.alloc_text(piece);
                }
                Instr::SSplit { .. } => {
                    let (a, b) = (stack[sp - 2], stack[sp - 1]);
                    let n = self.heap.str(a).len();
                    safepoint!(64 + 40 * (n + 1));
                    let items = self.heap.split(a, b);
                    sp -= 1;
                    top!() = self.heap.alloc(Object::Array { refs: true, items });
                }
                Instr::SFind {} => {
                    let b = pop!();
                    let r = self
                        .heap
                        .str(top!())
                        .find(self.heap.str(b))
                        .map_or(-1, |i| i as i64);
                    top!() = r as u64;
                }
                Instr::SJoin {} => {
                    let (a, sep) = (stack[sp - 2], stack[sp - 1]);
                    let parts = self.heap.array(a);
                    let seplen = self.heap.str(sep).len();
                    let need = 32
                        + parts
                            .iter()
                            .map(|p| self.heap.str(*p).len() + seplen)
                            .sum::<usize>();
                    safepoint!(need);
                    let mut s = String::with_capacity(need - 32);
                    for (i, p) in self.heap.array(a).iter().enumerate() {
                        if i > 0 {
                            s.push_str(self.heap.str(sep));
                        }
                        s.push_str(self.heap.str(*p));
                    }
                    sp -= 1;
                    top!() = self.heap.alloc_text(s);
                }

                Instr::I2F {} => top!() = (top!() as i64 as f64).to_bits(),
                Instr::F2I {} => top!() = f64_of!(top!()) as i64 as u64,
                Instr::IToS {} => {
                    safepoint!(56);
                    top!() = self.heap.alloc_text((top!() as i64).to_compact_string());
                }
                Instr::FToS {} => {
                    safepoint!(64);
                    top!() = self.heap.alloc_text(text::float_to_string(f64_of!(top!())));
                }
                Instr::BToS {} => {
                    safepoint!(40);
                    top!() = self
                        .heap
                        .alloc_str(if top!() != 0 { "true" } else { "false" });
                }
                Instr::SToI {} => match text::parse_int(self.heap.str(top!())) {
                    Ok(i) => top!() = i as u64,
                    Err(e) => trap!(TrapKind::InvalidArgument, "{}", e),
                },
                Instr::SToF {} => match text::parse_float(self.heap.str(top!())) {
                    Ok(x) => top!() = x.to_bits(),
                    Err(e) => trap!(TrapKind::InvalidArgument, "{}", e),
                },
                Instr::FFixed {} => {
                    let d = stack[sp - 1] as i64;
                    safepoint!(64 + d.clamp(0, text::MAX_FIXED_DIGITS) as usize);
                    let d = pop!() as i64;
                    match text::fixed(f64_of!(top!()), d) {
                        Ok(s) => top!() = self.heap.alloc_text(s),
                        Err(e) => trap!(TrapKind::InvalidArgument, "{}", e),
                    }
                }

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
                    safepoint!(0);
                    let im = &m.imports[import as usize];
                    let np = im.params.len();
                    let args: Vec<Value> = im
                        .params
                        .iter()
                        .zip(&stack[sp - np..sp])
                        .map(|(t, v)| self.from_guest(*t, *v))
                        .collect();
                    sp -= np;
                    self.frames.last_mut().expect("running frame").pc = pc as u32;
                    self.instructions = count;
                    let result = self.host.call(import, args);
                    match result {
                        Err(e) => trap!(TrapKind::Host, "{}", e),
                        Ok(v) if im.ret == UNIT => {
                            if v != Value::Unit {
                                trap!(
                                    TrapKind::Host,
                                    "host function {}.{} returned a value for a unit result",
                                    im.module,
                                    im.name
                                );
                            }
                        }
                        Ok(v) => match self.to_guest(im.ret, &v) {
                            Ok(slot) => push!(slot),
                            Err(e) => trap!(
                                TrapKind::Host,
                                "host function {}.{} returned the wrong type: {}",
                                im.module,
                                im.name,
                                e
                            ),
                        },
                    }
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
                    let len = len as usize;
                    safepoint!(32 + 8 * len);
                    let refs = array_refs(m, ty);
                    let items = stack[sp - len..sp].to_vec();
                    sp -= len;
                    push!(self.heap.alloc(Object::Array { refs, items }));
                }
                Instr::NewArrayRep { ty } => {
                    let n = stack[sp - 1] as i64;
                    if n < 0 {
                        trap!(TrapKind::InvalidArgument, "negative repeat count: {}", n);
                    }
                    let need = (n as u64).saturating_mul(8).saturating_add(32);
                    if need > self.limits.max_heap as u64 {
                        trap!(
                            TrapKind::OutOfMemory,
                            "out of memory: heap limit of {} bytes exceeded",
                            self.limits.max_heap
                        );
                    }
                    safepoint!(need as usize);
                    let n = pop!() as usize;
                    let v = top!();
                    top!() = self.heap.alloc(Object::Array {
                        refs: array_refs(m, ty),
                        items: vec![v; n],
                    });
                }
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
                    safepoint!(8);
                    let v = pop!();
                    let a = pop!();
                    self.heap.array_mut(a).push(v);
                    self.heap.grow(8);
                }
                Instr::APop {} => match self.heap.array_mut(top!()).pop() {
                    Some(v) => {
                        top!() = v;
                        self.heap.shrink(8);
                    }
                    None => trap!(TrapKind::EmptyPop, "pop from an empty array"),
                },

                Instr::NewMap { ty } => {
                    safepoint!(48);
                    let (key_ty, val_refs) = match m.ty(ty) {
                        TypeDesc::Map(k, v) => (*k, m.is_ref(*v)),
                        _ => unreachable_verified(),
                    };
                    push!(self.heap.alloc(Object::Map(Box::new(MapObject {
                        key_ty,
                        val_refs,
                        entries: TernMap::new(key_ty == INT),
                    }))));
                }
                Instr::MLen {} => top!() = self.heap.map(top!()).len() as u64,
                Instr::MGet {} => {
                    let (mh, k) = (stack[sp - 2], pop!());
                    let key = self.heap.key_ref(self.heap.map_key_ty(mh), k);
                    match self.heap.map(mh).get(&key) {
                        Some(v) => top!() = v,
                        None => trap!(TrapKind::KeyNotFound, "key not found: {}", key),
                    }
                }
                Instr::MGetOr {} => {
                    let d = pop!();
                    let (mh, k) = (stack[sp - 2], pop!());
                    let key = self.heap.key_ref(self.heap.map_key_ty(mh), k);
                    top!() = self.heap.map(mh).get(&key).unwrap_or(d);
                }
                Instr::MSet {} => {
                    let (mh, k) = (stack[sp - 3], stack[sp - 2]);
                    let kt = self.heap.map_key_ty(mh);
                    let found = self.heap.map(mh).get_index_of(&self.heap.key_ref(kt, k));
                    match found {
                        Some(i) => {
                            let v = pop!();
                            sp -= 2;
                            self.heap.map_mut(mh).set_value_at(i, v);
                        }
                        None => {
                            // A new entry: the only case that allocates.
                            let key = self.heap.key_ref(kt, k).to_key();
                            let extra = key.entry_size();
                            safepoint!(extra);
                            let v = pop!();
                            sp -= 2;
                            self.heap.map_mut(mh).insert(key, v);
                            self.heap.grow(extra);
                        }
                    }
                }
                Instr::MHas {} => {
                    let (mh, k) = (stack[sp - 2], pop!());
                    let key = self.heap.key_ref(self.heap.map_key_ty(mh), k);
                    top!() = self.heap.map(mh).contains_key(&key) as u64;
                }
                Instr::MRemove {} => {
                    let k = pop!();
                    let mh = pop!();
                    let key = self.heap.key_ref(self.heap.map_key_ty(mh), k);
                    if let Some(i) = self.heap.map(mh).get_index_of(&key) {
                        let (gone, _) = self
                            .heap
                            .map_mut(mh)
                            .shift_remove_index(i)
                            .expect("index just found");
                        self.heap.shrink(gone.entry_size());
                    }
                }
                Instr::MKeys { .. } => {
                    let mh = top!();
                    let n = self.heap.map(mh).len();
                    let strs: usize = self
                        .heap
                        .map(mh)
                        .keys()
                        .map(|k| {
                            if let KeyRef::Str(s) = k {
                                32 + s.len()
                            } else {
                                0
                            }
                        })
                        .sum();
                    safepoint!(32 + 8 * n + strs);
                    let keys: Vec<Key> = self.heap.map(mh).keys().map(KeyRef::to_key).collect();
                    let refs = keys.first().is_some_and(|k| matches!(k, Key::Str(_)));
                    let items = keys.iter().map(|k| self.key_slot(k)).collect();
                    top!() = self.heap.alloc(Object::Array { refs, items });
                }
                Instr::MValues { ty } => {
                    let mh = top!();
                    let n = self.heap.map(mh).len();
                    safepoint!(32 + 8 * n);
                    let items = self.heap.map(mh).values().collect();
                    top!() = self.heap.alloc(Object::Array {
                        refs: array_refs(m, ty),
                        items,
                    });
                }
                Instr::MKeyAt {} => {
                    let (mh, i) = (stack[sp - 2], stack[sp - 1] as i64);
                    let n = self.heap.map(mh).len();
                    let key = match usize::try_from(i)
                        .ok()
                        .and_then(|i| self.heap.map(mh).get_index(i))
                    {
                        Some((k, _)) => k.to_key(),
                        None => oob!(i, n),
                    };
                    if let Key::Str(s) = &key {
                        safepoint!(32 + s.len());
                    }
                    sp -= 1;
                    top!() = self.key_slot(&key);
                }
                Instr::MValAt {} => {
                    let i = pop!() as i64;
                    let map = self.heap.map(top!());
                    match usize::try_from(i).ok().and_then(|i| map.get_index(i)) {
                        Some((_, v)) => top!() = v,
                        None => {
                            let n = map.len();
                            oob!(i, n)
                        }
                    }
                }

                Instr::NewStruct { ty } => {
                    let (layout, counts) = &prog.shapes[ty as usize];
                    let n = counts[0] as usize;
                    safepoint!(24 + 8 * n);
                    sp -= n;
                    let h = self.heap.alloc_record(*layout, 0, &stack[sp..sp + n]);
                    push!(h);
                }
                Instr::GetField { field } => top!() = self.heap.fields(top!())[field as usize],
                Instr::SetField { field } => {
                    let v = pop!();
                    let s = pop!();
                    self.heap.fields_mut(s)[field as usize] = v;
                }
                Instr::NewEnum { ty, variant } => {
                    let (layout, counts) = &prog.shapes[ty as usize];
                    let n = counts[variant as usize] as usize;
                    if n == 0 {
                        push!(self.units[*layout as usize][variant as usize]);
                    } else {
                        safepoint!(24 + 8 * n);
                        sp -= n;
                        let h = self
                            .heap
                            .alloc_record(*layout, variant as u32, &stack[sp..sp + n]);
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
                    safepoint!(24 + 8 * n);
                    let captures = Fields::from_slice(&stack[sp - n..sp]);
                    sp -= n;
                    push!(self.heap.alloc(Object::Closure { func: f, captures }));
                }
                Instr::NewCell { ty } => {
                    safepoint!(24);
                    let is_ref = match m.ty(ty) {
                        TypeDesc::Cell(t) => m.is_ref(*t),
                        _ => unreachable_verified(),
                    };
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

fn array_refs(m: &Module, ty: TypeId) -> bool {
    match m.ty(ty) {
        TypeDesc::Array(e) => m.is_ref(*e),
        _ => unreachable_verified(),
    }
}

fn key_value(k: KeyRef) -> Value {
    match k {
        KeyRef::Int(i) => Value::Int(i),
        KeyRef::Bool(b) => Value::Bool(b),
        KeyRef::Str(s) => Value::Str(s.to_string()),
    }
}

#[cold]
fn unreachable_verified() -> ! {
    panic!("the verifier admitted an ill-typed instruction")
}
