//! The value stack: the slots of every frame of one instance.

/// Value-stack slots an instance may use in all, whatever its depth. A
/// power of two: see `ValueStack`.
#[cfg(not(fuzzing))]
pub const MAX_STACK_SLOTS: usize = 1 << 24;
/// Fuzzing builds (cargo-fuzz sets `--cfg fuzzing`) reserve less: under
/// AddressSanitizer every reservation's shadow memory is written when it is
/// made and freed, which at 2^24 slots cut the fuzzers' speed fourfold.
#[cfg(fuzzing)]
pub const MAX_STACK_SLOTS: usize = 1 << 20;

/// All `MAX_STACK_SLOTS` slots, reserved when the instance first runs.
/// Zeroed memory that large comes straight from the OS as untouched pages,
/// so an instance uses only the pages its deepest call reached.
///
/// Indexing masks the index with `MAX_STACK_SLOTS - 1` instead of checking
/// it. For verified code the mask never changes an index (every frame's
/// slots lie below `MAX_STACK_SLOTS`, which the call path checks), and it
/// spares the dispatch loop a bounds check on every slot it touches and the
/// stack's length in a register (law 3: the verifier proved these, and the
/// mask keeps even a verifier bug memory-safe). Ranges are checked as usual.
///
/// [`FRAME_VIEW`] more slots follow, so that from any base a frame's first
/// `FRAME_VIEW` slots are an array: the register instructions name slots
/// with a `u16`, which indexes that array with no check at all.
pub(crate) struct ValueStack(Box<[u64; MAX_STACK_SLOTS + FRAME_VIEW]>);

/// The slots a register instruction can name (see `internal::Slot`).
pub(crate) const FRAME_VIEW: usize = 1 << 16;

const STACK_MASK: usize = MAX_STACK_SLOTS - 1;
const _: () = assert!(MAX_STACK_SLOTS.is_power_of_two());

/// The trap message for a frame that would pass `MAX_STACK_SLOTS`.
#[cold]
pub(crate) fn value_stack_overflow() -> String {
    format!("stack overflow: more than {MAX_STACK_SLOTS} value-stack slots")
}

impl ValueStack {
    pub(crate) fn new() -> ValueStack {
        let slots: Box<[u64]> = vec![0; MAX_STACK_SLOTS + FRAME_VIEW].into_boxed_slice();
        ValueStack(
            slots
                .try_into()
                .expect("MAX_STACK_SLOTS + FRAME_VIEW slots"),
        )
    }

    /// The first `FRAME_VIEW` slots of the frame at `base`.
    #[inline(always)]
    pub(crate) fn frame(&mut self, base: usize) -> &mut [u64; FRAME_VIEW] {
        let from = &mut self.0[base & STACK_MASK..];
        (&mut from[..FRAME_VIEW])
            .try_into()
            .expect("FRAME_VIEW slots follow every base")
    }
}

impl ValueStack {
    /// The address of slot `base`, derived from the whole stack (so
    /// compiled code, whose native calls move its base, may reach any
    /// slot from it: see `crate::jit::Addresses::frame`).
    pub(crate) fn frame_ptr(&mut self, base: usize) -> *mut u64 {
        self.0.as_mut_ptr().wrapping_add(base & STACK_MASK)
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
