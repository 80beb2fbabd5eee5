//! Tern's baseline JIT (issue 12): the internal code of a verified,
//! translated function ([`tern_vm::internal::Op`]) to machine code, for
//! x86-64 and aarch64, with behaviour identical to the interpreter's.
//!
//! [`Jit`] is the [`tern_vm::jit::Backend`] a host installs in an
//! instance ([`tern_vm::Vm::set_jit`]; the sandbox does it as
//! `Limits::jit` says). The interpreter decides when a function is hot
//! and runs the frames; compiled code runs a function's instructions on
//! the interpreter's own frame slots, counting fuel as the interpreter
//! counts it, and exits to the driver to call, to poll, to return, or to
//! let the interpreter run an instruction it does not (see
//! [`tern_vm::jit`]); a return into a compiled caller whose machine frame
//! was given up (past [`masm::NATIVE_DEPTH`] nested calls) it makes
//! itself, as the driver would ([`tern_vm::jit::Frames::stop`], each
//! backend's `return_itself`). Every instruction compiles: register arithmetic,
//! branches, calls and returns as machine code (calls between compiled
//! functions too: the frame records pushed and popped as the
//! interpreter's, through a table of entries; a closure's too, with
//! `closure_target` for its rare cases); element, length, field, variant and cell reads and
//! writes inline (`access`, over the heap layout `layout` finds and
//! checks), and the globals; their rare cases (a write barrier, a check
//! failing), the string reads, and the quick paths of map reads and
//! writes, record allocation, array push and pop and captured variables
//! as direct calls of `heap_ops`; the rest through
//! [`tern_vm::jit::Runtime::run`], the interpreter's own code for the
//! instruction. Where the interpreter would trap, compiled code leaves the
//! instruction to it, uncounted.
//!
//! Values live in the frame's slots, as the interpreter's; between two
//! points where anything else could look at them (an exit, a call out, a
//! label other code jumps to) compiled code may keep them in registers
//! only (`reuse`: a write-back cache of slots in registers, operated on
//! in place, carried around loops and into joins), and objects it has
//! looked up in context entries (`access`).
//!
//! Design, as the issue decides it:
//! - **One lowering, two backends.** [`masm::Masm`] is a small
//!   macro-assembler (in the manner of wasmtime's Winch): `lower` walks
//!   the internal instructions once and says what to emit; `x64` and
//!   `aarch64` say how. Both assemble on every host, so aarch64 emission
//!   is tested on x86-64 and run under `qemu-aarch64`.
//! - **Frames stay the interpreter's.** Compiled code reads and writes the
//!   value-stack slots of its frame through one base register, so the
//!   collector, traces and snapshots need nothing of their own.
//! - **Every operand is range-checked at emission**: slots are `u16`
//!   (offsets always encodable on x86-64; on aarch64 a slot past the
//!   scaled 12-bit offset goes through a register), and no immediate
//!   reaches an instruction form that cannot encode it.
//! - **Budgets.** An instance compiles at most [`CODE_BUDGET`] bytes of
//!   machine code and functions of at most [`MAX_OPS`] instructions;
//!   past either, functions stay interpreted, so a hostile module cannot
//!   turn into unbounded machine code or compile time.
//!
//! `unsafe` lives only here (and in the sandbox's native modules): making
//! code executable is dynasmrt's; entering it ([`Jit`]'s `enter`), the
//! shim machine code calls into the runtime through (`run_shim`), the
//! heap shims' frame accesses (`heap_ops`) and the reads that check the
//! heap layout (`layout`) each carry a `// SAFETY:` argument; the inline
//! heap accesses check handle, kind and index before they touch memory.

pub mod aarch64;
mod access;
mod alloc;
mod dense;
mod form;
mod heap_ops;
mod layout;
mod lower;
pub mod masm;
mod reuse;
mod text_ops;
pub mod x64;

pub use form::lowerable;

use dynasmrt::{AssemblyOffset, ExecutableBuffer};
use std::any::Any;
use std::panic::AssertUnwindSafe;
use tern_vm::jit::{Backend, Exit, Fixed, JitState, Runtime};
use tern_vm::Program;

/// Bytes of machine code one instance may hold.
pub const CODE_BUDGET: usize = 64 << 20;

/// The most internal instructions of a function the JIT compiles.
pub const MAX_OPS: usize = 1 << 16;

/// Bytes a code buffer takes at least (its memory is mapped in pages).
const PAGE: usize = 4096;

/// One compiled function: its code (the entry stub at offset 0) and
/// where each of its instructions starts.
pub struct Function {
    code: ExecutableBuffer,
    /// The entry stub's address, and each instruction's where the driver
    /// may enter (null elsewhere: see `lower`'s entries).
    stub: *const u8,
    entries: Vec<*const u8>,
    /// Each instruction's `store` taken into it (`Op::Call`'s `after`;
    /// 0 for others), counted where compiled code returns into it itself.
    afters: Vec<u8>,
    start: u32,
}

// SAFETY: the pointers are addresses in `code`, which the function owns
// and never changes after it is made; nothing is shared with a thread.
unsafe impl Send for Function {}

impl Function {
    fn new(
        code: ExecutableBuffer,
        entries: Vec<Option<AssemblyOffset>>,
        afters: Vec<u8>,
        start: u32,
    ) -> Function {
        Function {
            stub: code.ptr(AssemblyOffset(0)),
            entries: entries
                .iter()
                .map(|e| e.map_or(std::ptr::null(), |e| code.ptr(e)))
                .collect(),
            afters,
            code,
            start,
        }
    }

    /// What machine code that returns into this function reads.
    fn resume(&self) -> Resume {
        Resume {
            entries: self.entries.as_ptr(),
            start: self.start as u64,
            len: self.entries.len().min(self.afters.len()) as u64,
            afters: self.afters.as_ptr(),
        }
    }

    /// Bytes of machine code.
    pub fn len(&self) -> usize {
        self.code.len()
    }

    /// Whether there is no code (never, for a compiled function).
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }
}

/// The JIT of one instance: its compiled functions.
#[derive(Default)]
pub struct Jit {
    functions: Vec<Option<Function>>,
    /// Each function's first instruction in its compiled code, or 0: the
    /// table the calls compiled code makes itself go through (never a
    /// relative branch between buffers). Sized once, so it never moves.
    table: Vec<usize>,
    /// Each function's first instruction and frame size, as
    /// [`callee_word`] packs them, for closure calls (made inline, or by
    /// `closure_target`).
    callees: Vec<u64>,
    /// Each function's entries after its calls, for the returns compiled
    /// code makes itself (empty where not compiled). Sized once.
    resumes: Vec<Resume>,
    /// Bytes of code held (in pages).
    bytes: usize,
}

impl Jit {
    pub fn new() -> Jit {
        Jit::default()
    }
}

/// Where machine code returning into a compiled function's code after a
/// call finds it (see `Frames::stop`): the function's entries (null where
/// none), its first instruction, how many entries, and each
/// instruction's `after`.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Resume {
    entries: *const *const u8,
    start: u64,
    len: u64,
    afters: *const u8,
}

impl Resume {
    pub const ENTRIES: i32 = 0;
    pub const START: i32 = 8;
    pub const LEN: i32 = 16;
    pub const AFTERS: i32 = 24;
    /// Bytes per function, a power of two.
    pub const SHIFT: u8 = 5;
    const NONE: Resume = Resume {
        entries: std::ptr::null(),
        start: 0,
        len: 0,
        afters: std::ptr::null(),
    };
}

// SAFETY: the pointers are into functions the JIT owns (as `Function`'s).
unsafe impl Send for Resume {}

const _: () = {
    assert!(std::mem::offset_of!(Resume, entries) == Resume::ENTRIES as usize);
    assert!(std::mem::offset_of!(Resume, start) == Resume::START as usize);
    assert!(std::mem::offset_of!(Resume, len) == Resume::LEN as usize);
    assert!(std::mem::offset_of!(Resume, afters) == Resume::AFTERS as usize);
    assert!(std::mem::size_of::<Resume>() == 1 << Resume::SHIFT);
};

/// What compiled code reaches the runtime through (its context register):
/// the running frame's slot 0, the instance, and a panic caught in
/// `run_shim` on its way to being resumed past the machine code.
#[repr(C)]
pub struct Ctx<'a> {
    frame: *mut u64,
    heap: *mut tern_vm::heap::Heap,
    /// The frame records and the count of live ones (see
    /// `Runtime::frames`). Compiled code keeps the address one past the
    /// live records in a register (what `records + SIZE * count` is),
    /// writes the count here before each exit and each call out that
    /// reads it (`run_shim`, `closure_target`) and reads it back after.
    records: *mut u8,
    depth: *mut usize,
    /// One past the last record that may be live while compiled code
    /// makes calls itself, as an address (compared with that register):
    /// within the buffer's room, and at most `NATIVE_DEPTH` records past
    /// the count at entry (or, after a return compiled code made itself
    /// from the entry stub's machine stack, past the count after it). Each such call pushes one record and a
    /// bounded machine frame, and pops both on return, so this one test
    /// bounds the machine stack as well (a call past it is left to the
    /// driver, which enters the callee afresh).
    room: u64,
    /// The depth limit, as the address its record would have.
    max_depth: u64,
    /// The machine stack pointer inside the entry stub, where every exit
    /// goes back to however deep the native calls are.
    saved_sp: u64,
    /// Each function's compiled entry, or 0 (see `Jit::table`).
    table: *const usize,
    /// Objects compiled code has looked up (see `access`): for each
    /// entry, where its fields or items are, how many there are, and how
    /// many a store may write without the write barrier (0 or all).
    objects: [[u64; 3]; OBJECT_ENTRIES],
    /// The globals, and whether each is set (see `Runtime::addresses`).
    globals: *const u64,
    global_set: *const u8,
    /// The table entry address of the enum value whose tag compiled code
    /// read last (see `access`): its payload reads after it need not
    /// look it up again.
    tagged: u64,
    /// `Jit::callees`' data and length, for the closure calls compiled
    /// code makes inline.
    callee_words: *const u64,
    callee_count: u64,
    /// `Jit::resumes`' data and length.
    resumes: *const Resume,
    resume_count: u64,
    /// The least value of the register that stands for the live records
    /// (one past the last) at which compiled code may make a return
    /// itself (`Frames::stop`): two records past the count at which the
    /// driver's run stops.
    stop_top: u64,
    /// The address one past the buffer's room (`Frames::room`), which
    /// `room` is at most.
    buffer_room: u64,
    rt: &'a mut dyn Runtime,
    panic: Option<Box<dyn Any + Send>>,
    /// Each function's first instruction and frame size, and its
    /// compiled entry (`table`), for `closure_target`.
    callees: &'a [u64],
    entries: &'a [usize],
}

impl Ctx<'_> {
    /// The offset of `frame`, which compiled code loads.
    pub const FRAME: i32 = 0;
    /// The offset of `heap`, which compiled code passes to `heap_ops`.
    pub const HEAP: i32 = 8;
    pub const RECORDS: i32 = 16;
    pub const DEPTH: i32 = 24;
    pub const ROOM: i32 = 32;
    pub const MAX_DEPTH: i32 = 40;
    pub const SAVED_SP: i32 = 48;
    pub const TABLE: i32 = 56;
    pub const OBJECTS: i32 = 64;
    pub const GLOBALS: i32 = 256;
    pub const GLOBAL_SET: i32 = 264;
    pub const TAGGED: i32 = 272;
    pub const CALLEE_WORDS: i32 = 280;
    pub const CALLEE_COUNT: i32 = 288;
    pub const RESUMES: i32 = 296;
    pub const RESUME_COUNT: i32 = 304;
    pub const STOP_TOP: i32 = 312;
    pub const BUFFER_ROOM: i32 = 320;

    /// The offsets of object entry `i`'s data pointer, its length, and its
    /// length for stores.
    pub fn object(i: u8) -> (i32, i32, i32) {
        let at = Ctx::OBJECTS + 24 * i as i32;
        (at, at + 8, at + 16)
    }
}

/// How many looked-up objects compiled code remembers at once.
pub const OBJECT_ENTRIES: usize = 8;

const _: () = {
    assert!(std::mem::offset_of!(Ctx, frame) == Ctx::FRAME as usize);
    assert!(std::mem::offset_of!(Ctx, heap) == Ctx::HEAP as usize);
    assert!(std::mem::offset_of!(Ctx, records) == Ctx::RECORDS as usize);
    assert!(std::mem::offset_of!(Ctx, depth) == Ctx::DEPTH as usize);
    assert!(std::mem::offset_of!(Ctx, room) == Ctx::ROOM as usize);
    assert!(std::mem::offset_of!(Ctx, max_depth) == Ctx::MAX_DEPTH as usize);
    assert!(std::mem::offset_of!(Ctx, saved_sp) == Ctx::SAVED_SP as usize);
    assert!(std::mem::offset_of!(Ctx, table) == Ctx::TABLE as usize);
    assert!(std::mem::offset_of!(Ctx, objects) == Ctx::OBJECTS as usize);
    assert!(std::mem::offset_of!(Ctx, globals) == Ctx::GLOBALS as usize);
    assert!(std::mem::offset_of!(Ctx, global_set) == Ctx::GLOBAL_SET as usize);
    assert!(std::mem::offset_of!(Ctx, tagged) == Ctx::TAGGED as usize);
    assert!(std::mem::offset_of!(Ctx, callee_words) == Ctx::CALLEE_WORDS as usize);
    assert!(std::mem::offset_of!(Ctx, callee_count) == Ctx::CALLEE_COUNT as usize);
    assert!(std::mem::offset_of!(Ctx, resumes) == Ctx::RESUMES as usize);
    assert!(std::mem::offset_of!(Ctx, resume_count) == Ctx::RESUME_COUNT as usize);
    assert!(std::mem::offset_of!(Ctx, stop_top) == Ctx::STOP_TOP as usize);
    assert!(std::mem::offset_of!(Ctx, buffer_room) == Ctx::BUFFER_ROOM as usize);
};

/// Function `func`'s entry in `Jit::callees`: its first instruction in
/// the low half, its frame size in the high half (the word compiled code
/// reads).
fn callee_word(start: u32, size: u32) -> u64 {
    start as u64 | (size as u64) << 32
}

/// What compiled code calls to run an instruction through the runtime
/// ([`Runtime::run`]): 1 if it ran, 0 if it trapped (or panicked: the
/// panic is kept, and resumed once the machine code has returned, so no
/// unwinding ever crosses it). The addresses into the instance are taken
/// again, fresh.
extern "C" fn run_shim(ctx: *mut Ctx, pc: u32, state: *mut JitState) -> u64 {
    // SAFETY: compiled code passes on the pointers `Jit::enter` gave its
    // entry stub: `ctx` to a live `Ctx` and `state` to the live
    // `JitState`, neither used by `enter` while the machine code runs,
    // and not otherwise referenced during this call.
    let (ctx, state) = unsafe { (&mut *ctx, &mut *state) };
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| ctx.rt.run(pc, state)));
    match ran {
        Ok(ok) => {
            // The frame and heap addresses are taken again: `run` used the
            // instance mutably. The frame records' addresses are not: only
            // the driver grows their buffer (never `run`), and machine
            // code, which the compiler cannot see into, is their only
            // user (taking them again cost a third of the time of
            // allocation-heavy programs: benches/README.md).
            let a = ctx.rt.addresses();
            (ctx.frame, ctx.heap) = (a.frame, a.heap);
            (ctx.globals, ctx.global_set) = (a.globals, a.global_set);
            ok as u64
        }
        Err(payload) => {
            ctx.panic = Some(payload);
            0
        }
    }
}

/// The address record `n` has in `records` (one past the live records
/// where `n` is their count), as compiled code keeps it: an integer,
/// compared and never dereferenced (the depth limit's may lie past the
/// buffer), saturating where a limit is absurd.
fn record_address(records: *mut u8, n: usize) -> u64 {
    let size = tern_vm::jit::frame_layout::SIZE as u64;
    (records as u64).saturating_add((n as u64).saturating_mul(size))
}

/// What compiled code calls to make a closure call itself (see
/// [`masm::ClosureCall`]; `x` packs its `args` in the low 16 bits and its
/// pc in the high 32): the callee's compiled entry, with its frame record
/// pushed exactly as the interpreter pushes it, after the checks the
/// interpreter makes that compiled code did not (the depth, the value
/// stack); or 0, having changed nothing, where a check fails or the
/// callee has no compiled code (the driver then makes the call). A panic
/// (a handle that is no closure: a bug) also answers 0, and the driver
/// meets the same bug in Rust code.
pub(crate) extern "C" fn closure_target(ctx: *mut Ctx, frame: *const u64, x: u64) -> usize {
    use tern_vm::jit::frame_layout as fl;
    // SAFETY: compiled code passes the context `Jit::enter` gave it (live,
    // not otherwise referenced during this call) and its frame base.
    let ctx = unsafe { &mut *ctx };
    let (args, pc) = ((x & 0xffff) as usize, (x >> 32) as u32);
    let made = std::panic::catch_unwind(AssertUnwindSafe(|| -> Option<usize> {
        // SAFETY: `depth` points at the instance's count of live frame
        // records, `records` at their buffer (`Runtime::frames`), which
        // holds `room` records; `heap` at its heap; and every `u16` slot
        // from a frame base is inside the value stack (`FRAME_SLOTS`).
        unsafe {
            let depth = *ctx.depth;
            if record_address(ctx.records, depth) >= ctx.room || depth == 0 || args == 0 {
                return None;
            }
            let clo = *frame.add(args - 1);
            let (func, _) = (*ctx.heap).closure(clo);
            let word = *ctx.callees.get(func as usize)?;
            let (start, size) = (word as u32, (word >> 32) as u32);
            let code = *ctx.entries.get(func as usize)?;
            let running = ctx.records.add((depth - 1) * fl::SIZE as usize);
            let base = (running.add(fl::BASE as usize) as *const u32).read_unaligned();
            if base as u64 + args as u64 + size as u64 > tern_vm::MAX_STACK_SLOTS as u64
                || code == 0
            {
                return None;
            }
            let record = ctx.records.add(depth * fl::SIZE as usize);
            let put = |off: i32, v: u32| (record.add(off as usize) as *mut u32).write_unaligned(v);
            put(fl::FUNC, func);
            put(fl::PC, start);
            put(fl::BASE, base + args as u32);
            put(fl::RET, base + args as u32 - 1);
            put(fl::RET_BASE, base);
            put(fl::RET_PC, pc);
            (record.add(fl::ENV as usize) as *mut u64).write_unaligned(clo);
            *ctx.depth = depth + 1;
            Some(code)
        }
    }));
    match made {
        Ok(Some(code)) => code,
        _ => 0,
    }
}

impl Backend for Jit {
    fn compile(&mut self, prog: &Program, func: u32, fixed: &Fixed) -> bool {
        if prog.ops_of(func).len() > MAX_OPS || self.bytes >= CODE_BUDGET {
            return false;
        }
        // The lowering is made never to panic (every operand is checked
        // where it is emitted); should it, the function stays interpreted
        // and the instance is unharmed.
        let made = std::panic::catch_unwind(AssertUnwindSafe(|| compile(prog, func, fixed)));
        let Ok(Some(f)) = made else {
            return false;
        };
        let bytes = f.len().div_ceil(PAGE) * PAGE;
        if self.bytes + bytes > CODE_BUDGET {
            return false;
        }
        self.bytes += bytes;
        let n = prog.module().functions.len();
        if self.functions.len() < n {
            self.functions.resize_with(n, || None);
            self.table.resize(n, 0);
            self.callees = (0..n as u32)
                .map(|f| callee_word(prog.start_of(f), prog.frame_size(f)))
                .collect();
            self.resumes.resize(n, Resume::NONE);
        }
        self.table[func as usize] = f.entries[0] as usize;
        self.resumes[func as usize] = f.resume();
        self.functions[func as usize] = Some(f);
        true
    }

    fn enter(&mut self, func: u32, pc: u32, rt: &mut dyn Runtime, state: &mut JitState) -> Exit {
        let f = self.functions[func as usize]
            .as_ref()
            .expect("the driver enters only compiled functions");
        let at = f.entries[(pc - f.start) as usize];
        // Compiled code assumes nothing about its registers only where
        // control can arrive from elsewhere: the driver enters there only.
        assert!(
            !at.is_null(),
            "the driver entered {func} at {pc}, not an entry"
        );
        let fr = rt.frames();
        let (records, depth) = (fr.records, fr.depth);
        // SAFETY: `depth` points at the instance's count of live records
        // (`Runtime::frames`), which nothing else touches while this runs.
        let live = unsafe { *depth };
        let room = fr
            .room
            .min(live.saturating_add(crate::masm::NATIVE_DEPTH as usize));
        let a = rt.addresses();
        let mut ctx = Ctx {
            frame: a.frame,
            heap: a.heap,
            records,
            depth,
            room: record_address(records, room),
            max_depth: record_address(records, fr.max_depth),
            saved_sp: 0,
            table: self.table.as_ptr(),
            objects: [[0; 3]; OBJECT_ENTRIES],
            globals: a.globals,
            global_set: a.global_set,
            tagged: 0,
            callee_words: self.callees.as_ptr(),
            callee_count: self.callees.len() as u64,
            resumes: self.resumes.as_ptr(),
            resume_count: self.resumes.len() as u64,
            stop_top: record_address(records, fr.stop.saturating_add(2)),
            buffer_room: record_address(records, fr.room),
            rt,
            panic: None,
            callees: &self.callees,
            entries: &self.table,
        };
        // SAFETY: the buffer holds what `lower` emitted for `func`: the
        // entry stub at offset 0 (the `extern "C"` signature below, see
        // `masm::Masm::entry`), which jumps to `at`, the start of
        // instruction `pc` of the same code. That code reads and writes
        // `frame[s]` for `u16` slots `s` (inside the value stack: see
        // `Addresses::frame`), the fields of `state` and of `ctx`, and its
        // own stack frame; it calls only `run_shim`, `closure_target`,
        // the shims of `heap_ops` and the `extern "C"` float functions of
        // `form`, with the stack aligned; it returns
        // through the exit path, which restores the registers the stub
        // saved. The buffer is executable and not writable (dynasmrt's
        // `finalize`, which also synchronizes the instruction cache on
        // aarch64) and lives as long as `self`.
        let code: extern "C" fn(*mut u64, *mut JitState, *const u8, *mut Ctx) -> u64 =
            unsafe { std::mem::transmute(f.stub) };
        let exit = code(ctx.frame, state, at, &mut ctx);
        if let Some(payload) = ctx.panic.take() {
            std::panic::resume_unwind(payload);
        }
        Exit::decode(exit).expect("compiled code exits with an encoded Exit")
    }
}

/// The function `lower` emitted into `asm` (its labels, and which are
/// entries), made executable.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn finish<R: dynasmrt::relocations::Relocation>(
    mut asm: dynasmrt::Assembler<R>,
    labels: Vec<(dynasmrt::DynamicLabel, bool)>,
    prog: &Program,
    func: u32,
) -> Option<Function> {
    let start = prog.start_of(func);
    let afters = prog
        .ops_of(func)
        .iter()
        .map(|op| match *op {
            tern_vm::internal::Op::Call { after, .. } => after,
            _ => 0,
        })
        .collect();
    let entries = labels
        .iter()
        .map(|&(l, entry)| match entry {
            true => asm.labels().resolve_dynamic(l).ok().map(Some),
            false => Some(None),
        })
        .collect::<Option<Vec<_>>>()?;
    // A branch that cannot reach its target (aarch64's conditional
    // branches reach 1 MiB) is an error here, where `finalize` would
    // panic: the function stays interpreted.
    asm.commit().ok()?;
    let code = asm.finalize().ok()?;
    Some(Function::new(code, entries, afters, start))
}

/// Function `func` of `prog` (for the instance that fixed
/// `fixed`) compiled for the host, or `None` if it has
/// an instruction the JIT does not compile yet, or the host is neither
/// x86-64 nor aarch64.
pub fn compile(prog: &Program, func: u32, fixed: &Fixed) -> Option<Function> {
    #[cfg(target_arch = "x86_64")]
    {
        x64::compile(prog, func, fixed)
    }
    #[cfg(target_arch = "aarch64")]
    {
        aarch64::compile(prog, func, fixed)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (prog, func, fixed);
        None
    }
}
