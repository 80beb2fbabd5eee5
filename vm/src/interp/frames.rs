//! The frame stack: one record per active call (function, instruction,
//! base slot, where the result goes, the caller's base and instruction,
//! the closure), in the interpreter's terms only, so traces, the
//! collector's roots and snapshots read it as it is.
//!
//! Its records have a fixed layout (`repr(C)`, the offsets in
//! [`crate::jit`]) and live in one buffer that only grows, so that
//! compiled code can push and pop them for the calls it makes itself:
//! between two growths the buffer does not move, and compiled code never
//! pushes past its capacity (see [`FrameStack::room`]).

#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(super) struct Frame {
    pub(super) func: u32,
    /// Index of the instruction executing, kept for the running frame
    /// only (a caller's is the next frame's `ret_pc`). This and `ret_pc`
    /// index the whole program's code, which is the interpreter's cache:
    /// [`Vm::pc_of`] gives the index into the function's own code that a
    /// trace, a stack map or a snapshot speaks of.
    pub(super) pc: u32,
    pub(super) base: u32,
    /// Where the result goes when this frame returns.
    pub(super) ret: u32,
    /// The caller's base and instruction (the call) this frame returns
    /// to, so that a return reads one record (the caller's function is
    /// the frame below's `func`).
    pub(super) ret_base: u32,
    pub(super) ret_pc: u32,
    /// The running closure, or `u64::MAX` for a plain call.
    pub(super) env: u64,
}

/// The closure of a plain call.
pub(super) const NO_ENV: u64 = u64::MAX;

const _: () = {
    use crate::jit::frame_layout as l;
    assert!(std::mem::size_of::<Frame>() == l::SIZE as usize);
    assert!(std::mem::offset_of!(Frame, func) == l::FUNC as usize);
    assert!(std::mem::offset_of!(Frame, pc) == l::PC as usize);
    assert!(std::mem::offset_of!(Frame, base) == l::BASE as usize);
    assert!(std::mem::offset_of!(Frame, ret) == l::RET as usize);
    assert!(std::mem::offset_of!(Frame, ret_base) == l::RET_BASE as usize);
    assert!(std::mem::offset_of!(Frame, ret_pc) == l::RET_PC as usize);
    assert!(std::mem::offset_of!(Frame, env) == l::ENV as usize);
};

const EMPTY: Frame = Frame {
    func: 0,
    pc: 0,
    base: 0,
    ret: 0,
    ret_base: 0,
    ret_pc: 0,
    env: NO_ENV,
};

/// Records the stack starts with room for.
const FIRST_ROOM: usize = 256;

/// The frames of one instance: `records[..len]` are live.
pub(super) struct FrameStack {
    records: Vec<Frame>,
    len: usize,
}

impl FrameStack {
    pub(super) fn new() -> FrameStack {
        FrameStack {
            records: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn push(&mut self, f: Frame) {
        if self.len == self.records.len() {
            let room = (self.records.len() * 2).max(FIRST_ROOM);
            self.records.resize(room, EMPTY);
        }
        self.records[self.len] = f;
        self.len += 1;
    }

    pub(super) fn pop(&mut self) -> Option<Frame> {
        self.len = self.len.checked_sub(1)?;
        Some(self.records[self.len])
    }

    pub(super) fn last(&self) -> Option<&Frame> {
        self.len.checked_sub(1).map(|k| &self.records[k])
    }

    pub(super) fn last_mut(&mut self) -> Option<&mut Frame> {
        self.len.checked_sub(1).map(|k| &mut self.records[k])
    }

    pub(super) fn get(&self, k: usize) -> Option<&Frame> {
        self.records[..self.len].get(k)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Frame> {
        self.records[..self.len].iter()
    }

    pub(super) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// For compiled code: the records' address, the address of the
    /// count of live ones, and how many it may have in all (the buffer's
    /// capacity, at most `max_depth`).
    pub(super) fn room(&mut self, max_depth: usize) -> (*mut Frame, *mut usize, usize) {
        let room = self.records.len().min(max_depth);
        (self.records.as_mut_ptr(), &mut self.len, room)
    }
}

impl std::ops::Index<usize> for FrameStack {
    type Output = Frame;
    fn index(&self, k: usize) -> &Frame {
        &self.records[..self.len][k]
    }
}
