//! Tern's baseline JIT (issue 12): the internal code of a verified,
//! translated function ([`tern_vm::internal::Op`]) to machine code, for
//! x86-64 and aarch64, with behaviour identical to the interpreter's.
//!
//! This is the crate's first stage: the two backends and the lowering
//! they share, for a subset of the register instructions (integer moves,
//! arithmetic that cannot trap, compare-and-branch, counting loops,
//! returns). A function with any other instruction is not compiled. The
//! interpreter does not call compiled code yet: that needs fuel and
//! interrupt polls at back edges and calls, which come with the
//! interpreter integration (see the design).
//!
//! Design, as the issue decides it:
//! - **One lowering, two backends.** [`masm::Masm`] is a small
//!   macro-assembler (in the manner of wasmtime's Winch): [`lower`] walks
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
//!
//! `unsafe` lives only here (and in the sandbox's native modules): making
//! code executable is dynasmrt's, entering it is [`Compiled::run`]'s,
//! each with a `// SAFETY:` argument.

pub mod aarch64;
mod lower;
pub mod masm;
pub mod x64;

pub use lower::lowerable;

/// What compiled code returns: the slot of the result (`ret s`), or
/// [`UNIT`] (`ret` of a unit function).
pub type Exit = u64;

/// The exit of a unit return.
pub const UNIT: Exit = u64::MAX;

/// A compiled function for the host: machine code entered with the
/// address of its frame's slot 0.
pub struct Compiled {
    code: dynasmrt::ExecutableBuffer,
    entry: dynasmrt::AssemblyOffset,
    /// Slots the code reads or writes: at least this many from its frame
    /// base must exist.
    slots: usize,
}

impl Compiled {
    /// Runs the function on `frame` (its slots from 0), returning how it
    /// returned; `None` if the frame is shorter than the code needs. There
    /// is no fuel or interrupt poll in compiled code yet, so a loop that
    /// does not end does not return: the interpreter does not run
    /// compiled code until there is.
    pub fn run(&self, frame: &mut [u64]) -> Option<Exit> {
        if frame.len() < self.slots {
            return None;
        }
        // SAFETY: the code was made by `lower` from internal instructions
        // only (no call out, no stack use beyond its own prologue), every
        // memory access it makes is to `frame[s]` for a slot `s <
        // self.slots` (lower counts them), just checked to lie inside
        // `frame`; the buffer is executable and not writable (dynasmrt's
        // finalize) and lives as long as `self`; the signature is the
        // one `x64` and `aarch64` emit (one pointer in, a u64 out, the C
        // calling convention of the host).
        let f: extern "C" fn(*mut u64) -> u64 =
            unsafe { std::mem::transmute(self.code.ptr(self.entry)) };
        Some(f(frame.as_mut_ptr()))
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

/// Compiles `ops` (one function's internal code, jump targets indexing
/// it from `start`) for the host, or `None` if it has an instruction the
/// JIT does not compile yet, or the host is neither x86-64 nor aarch64.
pub fn compile(ops: &[tern_vm::internal::Op], start: u32) -> Option<Compiled> {
    #[cfg(target_arch = "x86_64")]
    {
        x64::compile(ops, start)
    }
    #[cfg(target_arch = "aarch64")]
    {
        aarch64::compile(ops, start)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (ops, start);
        None
    }
}
