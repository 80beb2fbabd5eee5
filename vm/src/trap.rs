//! Runtime errors: what stopped a guest, and where.
//!
//! A trace keeps at most [`TRACE_HEAD`] innermost and [`TRACE_TAIL`]
//! outermost frames and counts the rest, so a trap in a recursion a
//! million calls deep costs a few lines, not a copy of every frame.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// An int division or remainder by zero.
    DivisionByZero,
    /// An array, string or slice index outside its range.
    IndexOutOfBounds,
    /// `m[k]` for a key the map does not have.
    KeyNotFound,
    /// `pop` from an empty array.
    EmptyPop,
    /// An operation given a value it cannot take (text that is not a
    /// number, a negative repeat count, a failed `clamp` range, ...).
    InvalidArgument,
    /// More nested calls than `Limits::max_depth`.
    StackOverflow,
    /// More accounted heap than `Limits::max_heap`, or more memory than
    /// the host could allocate.
    OutOfMemory,
    /// More work than `Limits::fuel`.
    FuelExhausted,
    /// A call into the guest took longer than `Limits::timeout`.
    Timeout,
    /// The host interrupted the guest (an `InterruptHandle`).
    Interrupted,
    /// A global read before the module's initializer set it.
    UninitializedGlobal,
    /// A host function returned an error, or a host call failed (output
    /// closed, a capability refused a request).
    Host,
    /// The program called `panic`.
    Panic,
    /// The program called `exit(code)`: not an error of the program.
    /// `run_main` returns the code as `main`'s result; a host calling an
    /// export gets this trap and decides.
    Exit(i64),
    /// A bug in the VM or in a host function (a panic, caught at the
    /// sandbox boundary). The instance it happened in is unusable.
    Internal,
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
    /// Innermost frame first: the innermost [`TRACE_HEAD`] frames, then
    /// (when the stack was deeper) the outermost [`TRACE_TAIL`].
    pub trace: Vec<TraceFrame>,
    /// Frames left out between the two parts of `trace`.
    pub omitted_frames: usize,
}

/// Frames a trace keeps from the innermost end...
pub const TRACE_HEAD: usize = 16;
/// ...and from the outermost end.
pub const TRACE_TAIL: usize = 4;

impl Trap {
    /// A trap with no guest trace: a bad call from the host, or a failure
    /// outside guest code.
    pub fn without_trace(kind: TrapKind, message: String) -> Trap {
        Trap {
            kind,
            message,
            trace: Vec::new(),
            omitted_frames: 0,
        }
    }

    /// The trace's depth: frames kept plus frames left out.
    pub fn depth(&self) -> usize {
        self.trace.len() + self.omitted_frames
    }
}

/// Which of `depth` frames (innermost first) a trace keeps.
pub(crate) fn kept_frames(depth: usize) -> impl Iterator<Item = usize> {
    let head = depth.min(TRACE_HEAD);
    let tail_start = depth.saturating_sub(TRACE_TAIL).max(head);
    (0..head).chain(tail_start..depth)
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        for (i, fr) in self.trace.iter().enumerate() {
            if i == TRACE_HEAD && self.omitted_frames > 0 {
                writeln!(f, "  ... {} more frames ...", self.omitted_frames)?;
            }
            writeln!(f, "  at {} ({}:{})", fr.function, fr.file, fr.line)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_traces_keep_both_ends() {
        assert_eq!(kept_frames(3).collect::<Vec<_>>(), [0, 1, 2]);
        let kept: Vec<usize> = kept_frames(1000).collect();
        assert_eq!(kept.len(), TRACE_HEAD + TRACE_TAIL);
        assert_eq!(kept[TRACE_HEAD - 1], TRACE_HEAD - 1);
        assert_eq!(kept[TRACE_HEAD], 1000 - TRACE_TAIL);
        assert_eq!(*kept.last().unwrap(), 999);
        // Just past the head: no gap, nothing repeated.
        assert_eq!(
            kept_frames(18).collect::<Vec<_>>(),
            (0..18).collect::<Vec<_>>()
        );
    }
}
