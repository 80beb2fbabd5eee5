//! An instance's resource limits and the cost model that enforces them.
//!
//! **Fuel** is counted in *units*: every instruction costs one, and an
//! instruction whose work grows with the data it touches costs one more
//! per [`BYTES_PER_UNIT`] bytes and per [`ELEMENTS_PER_UNIT`] elements
//! (array slots, map entries, string pieces) it reads, writes or copies
//! ([`work_units`]). Those units are charged *before* the work, so a guest
//! out of fuel stops before an expensive instruction, not after it; the
//! count depends only on the program and its data, so fuel runs out at the
//! same instruction on every platform.
//!
//! **Time and interrupts** are polled by the dispatch loop at backward
//! branches and calls (every [`POLL_INTERVAL`] units), and by every
//! operation whose work grows with its data between chunks of at most
//! [`CHUNK_BYTES`] bytes or [`CHUNK_ELEMENTS`] elements (through a
//! [`Watch`]); the collector polls between chunks of objects. So a timeout
//! or interrupt lands within about a millisecond, whatever the guest runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-instance resource limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Accounted heap bytes; exceeding it is an `OutOfMemory` trap.
    /// Default [`DEFAULT_MAX_HEAP`] (1 GiB).
    pub max_heap: usize,
    /// Frames on the call stack (at most [`MAX_DEPTH`]); exceeding it is a
    /// `StackOverflow` trap. Default [`DEFAULT_MAX_DEPTH`] (100,000).
    pub max_depth: usize,
    /// Fuel units (see the module docs); exhausting it is a
    /// `FuelExhausted` trap. Default `u64::MAX`: unmetered.
    pub fuel: u64,
    /// Collect at every allocating safepoint. Default `false`.
    pub gc_stress: bool,
    /// Count instructions for [`crate::Vm::stats`] even without a fuel
    /// limit (counting costs a little on every instruction). Default
    /// `false`.
    pub count_instructions: bool,
    /// Wall-clock time each call into the guest may take (`run_main`, an
    /// export call, the module's initialization); exceeding it is a
    /// `Timeout` trap. A host function that blocks is not cut short.
    /// Default `None`: no limit.
    pub timeout: Option<Duration>,
    /// When functions are compiled to machine code, if the host installed
    /// a JIT ([`crate::Vm::set_jit`]; the sandbox does): the same
    /// behaviour in every mode, only the speed differs. Default
    /// [`JitMode::On`](crate::jit::JitMode::On): compiled once hot.
    pub jit: crate::jit::JitMode,
}

/// Default call-depth limit (frames).
pub const DEFAULT_MAX_DEPTH: usize = 100_000;
/// The largest call-depth limit: frames cost host memory (a frame record
/// and the value-stack slots), which this bounds whatever a host asks for.
pub const MAX_DEPTH: usize = 1 << 20;
/// Default heap limit: 1 GiB of accounted bytes.
pub const DEFAULT_MAX_HEAP: usize = 1 << 30;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_heap: DEFAULT_MAX_HEAP,
            max_depth: DEFAULT_MAX_DEPTH,
            fuel: u64::MAX,
            gc_stress: false,
            count_instructions: false,
            timeout: None,
            jit: crate::jit::JitMode::On,
        }
    }
}

/// The dispatch loop polls the clock and the interrupt flag once per this
/// many fuel units (at a backward branch or a call, like the fuel check):
/// often enough to stop within about a millisecond, rarely enough to cost
/// nothing measurable beyond the counting itself.
pub const POLL_INTERVAL: u64 = 10_000;

/// Bytes an instruction may touch per unit of fuel beyond its first.
pub const BYTES_PER_UNIT: usize = 64;
/// Elements an instruction may touch per unit of fuel beyond its first.
pub const ELEMENTS_PER_UNIT: usize = 8;

/// The fuel units, beyond the instruction's own, of work over `bytes`
/// bytes and `elements` elements.
#[inline]
pub fn work_units(bytes: usize, elements: usize) -> u64 {
    (bytes / BYTES_PER_UNIT) as u64 + (elements / ELEMENTS_PER_UNIT) as u64
}

/// Long operations look at their [`Watch`] after at most this many bytes
/// (some tens of microseconds of work)...
pub const CHUNK_BYTES: usize = 1 << 16;
/// ...or this many elements or objects.
pub const CHUNK_ELEMENTS: usize = 1 << 13;

/// Lets another thread stop a running instance: the guest traps with
/// `Interrupted` at its next poll. Cheap to clone.
#[derive(Clone, Debug)]
pub struct InterruptHandle(pub(crate) Arc<AtomicBool>);

impl InterruptHandle {
    /// Asks the instance to stop. If it is not running, its next call traps
    /// at its first backward branch or call; the trap consumes the request.
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Why a long operation stopped before finishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Timeout,
    Interrupted,
    /// The host could not allocate what the operation needs (possible
    /// only under a heap limit larger than the host's memory).
    HostMemory,
}

/// What long operations check between chunks of their work: the current
/// call's deadline and the interrupt flag. With neither, checking is a
/// test of two `None`s.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    pub(crate) deadline: Option<Instant>,
    pub(crate) interrupt: Option<Arc<AtomicBool>>,
}

impl Watch {
    /// A watch that never stops anything.
    pub const IDLE: Watch = Watch {
        deadline: None,
        interrupt: None,
    };

    /// Whether the deadline passed or an interrupt was asked for (which
    /// this consumes).
    #[inline]
    pub fn check(&self) -> Result<(), Stop> {
        if let Some(flag) = &self.interrupt {
            if flag.swap(false, Ordering::Relaxed) {
                return Err(Stop::Interrupted);
            }
        }
        if let Some(deadline) = self.deadline {
            if Instant::now() >= deadline {
                return Err(Stop::Timeout);
            }
        }
        Ok(())
    }

    /// Whether there is anything to watch.
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.deadline.is_none() && self.interrupt.is_none()
    }

    /// Calls `f` on successive chunks of `bytes` (at most [`CHUNK_BYTES`]
    /// each), checking between them; `f` returns `Some` to finish early.
    #[inline]
    pub fn chunks<'a, T>(
        &self,
        bytes: &'a [u8],
        mut f: impl FnMut(usize, &'a [u8]) -> Option<T>,
    ) -> Result<Option<T>, Stop> {
        if self.is_idle() || bytes.len() <= CHUNK_BYTES {
            return Ok(f(0, bytes));
        }
        for (i, c) in bytes.chunks(CHUNK_BYTES).enumerate() {
            self.check()?;
            if let Some(r) = f(i * CHUNK_BYTES, c) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

/// The deadline `timeout` from now; a timeout too long to represent is no
/// deadline at all.
pub fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}
