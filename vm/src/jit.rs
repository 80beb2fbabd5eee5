//! The boundary between the interpreter and a JIT backend (issue 12): what
//! a backend is asked to do ([`Backend`]), the state compiled code shares
//! with the interpreter ([`JitState`]), and how compiled code says why it
//! stopped ([`Exit`]). The backend itself (`tern-jit`, the one crate with
//! `unsafe` for machine code) is installed by the host ([`crate::Vm::set_jit`]),
//! so this crate stays free of `unsafe` and runs on any machine without one.
//!
//! Compiled code works on the interpreter's own frames: a function's
//! slots from its base, the same `pc`s (indices into [`crate::Program`]'s
//! code array), the same instruction counts. It runs a function from an
//! instruction boundary until one of four things happens:
//! - it returns ([`Exit::Return`]);
//! - it reaches an instruction it does not run itself (a trap about to
//!   happen, a rare case such as `MIN / -1`, an instruction outside what it
//!   compiles): [`Exit::Leave`] at that instruction, not yet counted, and
//!   the interpreter runs it, so every trap, message and trace is the
//!   interpreter's own;
//! - the count reached the poll point at a backward branch or an inlined
//!   call's checks ([`Exit::Poll`]): the driver polls there exactly as the
//!   interpreter does, then goes on in compiled code;
//! - it calls a function ([`Exit::Call`]): the driver pushes the frame
//!   and runs the callee, compiled or not.
//!
//! So a trap, a collection, a poll or a snapshot always finds the frames
//! the interpreter keeps, and nothing of the machine's.

use crate::internal::Slot;
use crate::program::Program;

/// When functions are compiled to machine code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JitMode {
    /// Never: everything is interpreted.
    Off,
    /// A function is compiled once its calls and loop iterations reach
    /// [`HOT`]; until then it is interpreted.
    #[default]
    On,
    /// Every function is compiled before it first runs (where the
    /// backend can compile it).
    Eager,
}

impl JitMode {
    /// The mode named `s` (`off`, `on`, `eager`).
    pub fn parse(s: &str) -> Option<JitMode> {
        match s {
            "off" => Some(JitMode::Off),
            "on" => Some(JitMode::On),
            "eager" => Some(JitMode::Eager),
            _ => None,
        }
    }
}

/// Calls plus backward branches a function runs in the interpreter
/// before [`JitMode::On`] compiles it.
pub const HOT: u32 = 64;

/// What compiled code reads and writes besides its frame, shared with the
/// driver. `repr(C)`: machine code addresses the fields by their offsets
/// ([`JitState::COUNT`] and the rest).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct JitState {
    /// The fuel count, as the interpreter's: compiled code adds each
    /// instruction's count (`Program::counts_of`) before running it.
    pub count: u64,
    /// The count at which to poll (`u64::MAX` when the instance is not
    /// metered): a backward branch or an inlined call's checks that find
    /// `count >= limit` stop with [`Exit::Poll`].
    pub limit: u64,
    /// 1 if the instance meters (counts fuel, or has a watch that may stop
    /// work: see `Vm::metered`), else 0. Where it does not, string work
    /// charges nothing and needs no watch, so compiled code may do a
    /// string instruction's quick path without the runtime.
    pub metered: u64,
}

impl JitState {
    pub const COUNT: i32 = 0;
    pub const LIMIT: i32 = 8;
    pub const METERED: i32 = 16;
}

/// Why compiled code stopped. Encoded in one `u64` (what the machine code
/// returns): the kind in the low three bits, the operand above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The running function (the top frame: the one the driver entered,
    /// or one below it that compiled code returned into itself, see
    /// [`Frames::stop`]) returned the value in this slot, or nothing.
    Return(Option<Slot>),
    /// The interpreter runs the instruction at this `pc` (not yet
    /// counted) and goes on from there.
    Leave(u32),
    /// The instruction at this `pc` (counted, its effects done up to its
    /// poll) needs a poll; then compiled code goes on where the
    /// instruction goes on: the branch's target, or the next instruction
    /// after an inlined call's checks.
    Poll(u32),
    /// The `call` at this `pc` (counted): the driver checks it, pushes the
    /// callee's frame and runs it.
    Call(u32),
    /// [`Runtime::run`] returned `false`: its trap ends the run.
    Trapped,
}

impl Exit {
    /// The `u64` compiled code returns for this exit.
    pub const fn encode(self) -> u64 {
        match self {
            Exit::Return(Some(s)) => (s as u64) << 3,
            Exit::Return(None) => 1,
            Exit::Leave(pc) => (pc as u64) << 3 | 2,
            Exit::Poll(pc) => (pc as u64) << 3 | 3,
            Exit::Call(pc) => (pc as u64) << 3 | 4,
            Exit::Trapped => 5,
        }
    }

    /// The exit `v` encodes; `None` for a value no [`Exit`] encodes to.
    pub fn decode(v: u64) -> Option<Exit> {
        let arg = v >> 3;
        Some(match v & 7 {
            0 => Exit::Return(Some(Slot::try_from(arg).ok()?)),
            1 if arg == 0 => Exit::Return(None),
            2 => Exit::Leave(u32::try_from(arg).ok()?),
            3 => Exit::Poll(u32::try_from(arg).ok()?),
            4 => Exit::Call(u32::try_from(arg).ok()?),
            5 if arg == 0 => Exit::Trapped,
            _ => return None,
        })
    }
}

/// What compiled code asks of the instance: to run one instruction the
/// way the interpreter runs it (those [`needs_runtime`] names), on the
/// running frame.
pub trait Runtime {
    /// Runs instruction `pc` of the running frame, counted in
    /// `state.count`, as the interpreter would, taking the count back
    /// (with the work it charged). `false` if it trapped: compiled code
    /// then exits with [`Exit::Trapped`].
    fn run(&mut self, pc: u32, state: &mut JitState) -> bool;

    /// The addresses compiled code keeps in its context (see
    /// [`Addresses`]), taken again after every [`Runtime::run`] (one call
    /// for all of them: a runtime instruction's own cost is a few of
    /// these calls).
    fn addresses(&mut self) -> Addresses;

    /// The frame records (see [`Frames`]).
    fn frames(&mut self) -> Frames;
}

/// The frame records (see [`frame_layout`]), for the calls compiled code
/// makes itself and the returns it makes itself where the driver entered
/// it afresh; valid until compiled code returns ([`Runtime::run`] never
/// grows the buffer).
#[derive(Clone, Copy, Debug)]
pub struct Frames {
    /// Their address.
    pub records: *mut u8,
    /// The address of the count of live records (a `usize`).
    pub depth: *mut usize,
    /// How many records compiled code may have live in all: room in the
    /// buffer, at most the depth limit.
    pub room: usize,
    /// The depth limit.
    pub max_depth: usize,
    /// The count of live records at which the driver's run ends: a return
    /// that leaves this many is the driver's. Compiled code may make a
    /// return that leaves more itself, as the driver makes it for
    /// [`Exit::Return`]: the frame popped, its result stored where its
    /// call wanted it, the `store` the call took in counted (see
    /// `Op::Call`), and the caller's compiled code entered after its call
    /// (where the caller is compiled).
    pub stop: usize,
}

/// What compiled code reads the instance through.
#[derive(Clone, Copy, Debug)]
pub struct Addresses {
    /// The address of the running frame's slot 0, derived from the whole
    /// value stack: every slot a `u16` names from it, and from the base
    /// of every frame compiled code calls from it, lies inside the value
    /// stack.
    pub frame: *mut u64,
    /// The instance's heap, for the heap instructions compiled code runs
    /// itself (the ones that neither allocate nor charge fuel, and small
    /// records' allocation): valid while compiled code runs, since the
    /// instance waits for it.
    pub heap: *mut crate::heap::Heap,
    /// The instance's globals and whether each is set (as `u8` 0 or 1),
    /// for the reads compiled code makes itself: never resized while
    /// compiled code runs.
    pub globals: *const u64,
    pub global_set: *const u8,
}

/// Whether compiled code runs `op` through [`Runtime::run`]: the
/// instructions that allocate, charge work, read or write the globals, a
/// closure's captures or the shared unit values, or call the host, and
/// the canonical instructions other than jumps, calls and returns. The
/// other heap instructions (field, element, length, tag, payload and cell
/// reads and writes) neither allocate nor charge: a backend does them
/// itself, and leaves them to the interpreter ([`Exit::Leave`]) where
/// they would trap.
pub fn needs_runtime(op: &crate::internal::Op) -> bool {
    use crate::internal::Op::*;
    use crate::Instr;
    match op {
        Stack(ins) => !matches!(
            ins,
            Instr::Jmp { .. }
                | Instr::JmpIf { .. }
                | Instr::JmpIfNot { .. }
                | Instr::Call { .. }
                | Instr::CallClosure { .. }
                | Instr::Ret {}
        ),
        GlobalGet { .. }
        | GlobalSet { .. }
        | Capture { .. }
        | EnumUnit { .. }
        | MGet { .. }
        | MGetOr { .. }
        | MSet { .. } => true,
        _ => false,
    }
}

/// What an instance fixes for its life, which compiled code may embed:
/// its slots for the program's constants (`consts[k]`), and the handles
/// of its enums' unit variants, made once and never collected
/// (`units[layout][variant]`, [`NO_UNIT`] for a variant with fields).
#[derive(Clone, Copy, Debug)]
pub struct Fixed<'a> {
    pub consts: &'a [u64],
    pub units: &'a [Vec<u64>],
}

/// No unit value: a variant with fields (see [`Fixed::units`]).
pub const NO_UNIT: u64 = u64::MAX;

impl Fixed<'_> {
    /// The unit value of `variant` of enum `layout`, if it is one.
    pub fn unit(&self, layout: u32, variant: u32) -> Option<u64> {
        let u = *self.units.get(layout as usize)?.get(variant as usize)?;
        (u != NO_UNIT).then_some(u)
    }
}

/// A JIT: compiles functions of one program for one instance, and runs
/// them. An instance owns its backend (see [`crate::Vm::set_jit`]).
pub trait Backend: Send {
    /// Compiles function `func` of `prog` for the instance that fixed
    /// `fixed`. `false` if it does not (an instruction it does not
    /// compile, a budget used up): the function stays interpreted.
    fn compile(&mut self, prog: &Program, func: u32, fixed: &Fixed) -> bool;

    /// Runs compiled function `func` from instruction `pc` (an index into
    /// the program's code, in `func`'s range) on the running frame (see
    /// [`Addresses::frame`]), until it exits. Only called for a function
    /// `compile` accepted, at `pc`s where [`Exit`]s and calls resume.
    fn enter(&mut self, func: u32, pc: u32, rt: &mut dyn Runtime, state: &mut JitState) -> Exit;
}

/// The layout of a frame record (the interpreter's `Frame`, `repr(C)`),
/// for compiled code that pushes and pops records for its own calls:
/// byte offsets of its fields and its size.
pub mod frame_layout {
    pub const FUNC: i32 = 0;
    pub const PC: i32 = 4;
    pub const BASE: i32 = 8;
    pub const RET: i32 = 12;
    pub const RET_BASE: i32 = 16;
    pub const RET_PC: i32 = 20;
    pub const ENV: i32 = 24;
    pub const SIZE: i32 = 32;
    /// The `env` of a plain call (no closure).
    pub const NO_ENV: u64 = u64::MAX;
}

/// The slots from a frame's base compiled code can name (slots are
/// `u16`): all lie inside the value stack, from any base.
pub const FRAME_SLOTS: usize = crate::stack::FRAME_VIEW;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_round_trip() {
        for e in [
            Exit::Return(Some(0)),
            Exit::Return(Some(u16::MAX)),
            Exit::Return(None),
            Exit::Leave(0),
            Exit::Leave(u32::MAX),
            Exit::Poll(7),
            Exit::Call(u32::MAX),
            Exit::Trapped,
        ] {
            assert_eq!(Exit::decode(e.encode()), Some(e));
        }
        assert_eq!(Exit::decode(6), None);
        assert_eq!(Exit::decode(13), None);
        assert_eq!(Exit::decode(9), None);
        assert_eq!(Exit::decode(u64::MAX), None);
    }
}
