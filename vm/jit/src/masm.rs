//! The macro-assembler the lowering speaks: what one internal instruction
//! needs, in terms both machines have. Values live in the frame's slots
//! between instructions; within one, in two scratch registers (three for
//! the inline heap accesses).
//!
//! Compiled code keeps four values in registers the C calling convention
//! preserves: the frame base, the [`tern_vm::jit::JitState`], the fuel
//! count (loaded from the state on entry, stored back on every exit) and
//! the context (`crate::Ctx`: the runtime, the heap, the frame records).
//! Every function's buffer starts with the entry stub ([`Masm::entry`]:
//! save those registers and the stack pointer, load them, jump to the
//! instruction the driver asked for) and has one shared exit path
//! ([`Masm::exit`]), which goes back to the stub's stack from however
//! deep the calls compiled code made itself went.

use crate::OBJECT_ENTRIES;

/// A scratch register. `C` serves the inline heap accesses (see
/// `access`), which need three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    A,
    B,
    C,
}

/// A test of a register against a register or an immediate (see
/// [`Masm::branch_if`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    Eq,
    Ne,
    /// At most, as unsigned numbers.
    Ule,
}

/// The second operand of a [`Test`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Reg(Reg),
    Imm(u32),
}

/// What `reuse` knows its registers hold at a point: `A`'s slot (and
/// whether as a float), and each int and float cache register's (see
/// [`Masm::bind_resume`]); and which object each context entry holds.
#[derive(Clone, Debug, Default)]
pub struct Held {
    pub a: Option<(bool, u16)>,
    pub ints: Vec<Option<u16>>,
    pub floats: Vec<Option<u16>>,
    pub objects: Entries,
}

/// What each context entry holds (see `access`).
pub type Entries = [Option<LookedUp>; OBJECT_ENTRIES];

/// An object looked up into a context entry (see `access`): the slot
/// holding it, whether an array (else a record), whether its write
/// barrier was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookedUp {
    pub slot: u16,
    pub array: bool,
    pub write: bool,
}

impl LookedUp {
    /// Whether an entry holding `self` serves where `want` is expected.
    pub fn serves(&self, want: &LookedUp) -> bool {
        self.slot == want.slot && self.array == want.array && (self.write || !want.write)
    }
}

/// A comparison: the VM's own (signed for ints, IEEE for floats).
pub use tern_vm::opcodes::Cmp;

/// An integer operation `A = A op B` (wrapping, as the language's;
/// shift counts taken mod 64, shifts right arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Min,
    Max,
}

/// A call compiled code makes itself: the interpreter's call path done
/// in machine code. The checks the interpreter makes (depth, fuel,
/// value stack) and the callee's having compiled code go first; any
/// failing, the driver makes the call. Then the callee's frame record is
/// pushed as the interpreter pushes it, and its code called with the
/// frame base moved to `args`; its `ret` pops the record and returns here
/// with the result in `A` (the lowering stores it to `result` and counts
/// `after`).
#[derive(Clone, Copy, Debug)]
pub struct NativeCall {
    pub func: u32,
    /// The callee's first instruction (its record's `pc`).
    pub start: u32,
    /// The pc of the call (the record's `ret_pc`).
    pub pc: u32,
    /// Slots from the caller's base: the callee's frame, where the result
    /// goes (the record's `ret`).
    pub args: u16,
    pub ret: u16,
    /// The slot the result is written to, if the callee returns one.
    pub result: Option<u16>,
    /// `args` plus the callee's frame size.
    pub need: u32,
    /// Instructions counted when the call returns (see `Op::Call`).
    pub after: u8,
}

/// How deep compiled code nests the calls it makes itself before it
/// leaves the next to the driver (which starts again from no nesting):
/// bounds the machine stack whatever the guest's depth limit.
pub const NATIVE_DEPTH: u32 = 256;

/// A heap instruction's shim (see `heap_ops`): the heap, the frame base,
/// the packed operands; 1 if done, 0 to leave the instruction to the
/// interpreter.
pub type HeapFn = extern "C" fn(*mut tern_vm::heap::Heap, *mut u64, u64, u64) -> u64;

/// A float function of `A` (and `B`) computed by Rust code (see
/// `Masm::call_float`).
pub type FloatFn = extern "C" fn(f64, f64) -> f64;

/// A float operation `A = A op B` (IEEE, round to nearest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// One machine's way of emitting what `lower` asks for. The frame's slot
/// 0 is at the address the compiled function received.
pub trait Masm {
    type Label: Copy;
    fn new_label(&mut self) -> Self::Label;
    fn bind(&mut self, label: Self::Label);
    /// Binds instruction `label`: `entry` if the driver may enter there or
    /// a jump land there, else only the instruction before falls in.
    fn bind_instruction(&mut self, label: Self::Label, entry: bool) {
        let _ = entry;
        self.bind(label);
    }
    /// How many int and float registers this machine lends `reuse` to
    /// keep slots' values in: registers no operation uses but those that
    /// call out of compiled code, which `reuse` treats as clobbering
    /// them (so the callee need not preserve them).
    fn cache_size(&self) -> (u8, u8) {
        (0, 0)
    }
    /// Int cache register `k` = `r`.
    fn save(&mut self, k: u8, r: Reg) {
        let _ = (k, r);
    }
    /// `r` = int cache register `k`.
    fn restore(&mut self, r: Reg, k: u8) {
        let _ = (r, k);
    }
    /// Float cache register `k` = float register `r`.
    fn fsave(&mut self, k: u8, r: Reg) {
        let _ = (k, r);
    }
    /// Float register `r` = float cache register `k`.
    fn frestore(&mut self, r: Reg, k: u8) {
        let _ = (r, k);
    }
    /// Int register `r` = the bits of float cache register `k`.
    fn restore_bits(&mut self, r: Reg, k: u8) {
        let _ = (r, k);
    }
    /// Float register `r` = the bits of int cache register `k`.
    fn frestore_bits(&mut self, r: Reg, k: u8) {
        let _ = (r, k);
    }
    /// `frame[slot]` = int cache register `k` (no scratch register
    /// changed).
    fn spill(&mut self, slot: u16, k: u8) {
        let _ = (slot, k);
    }
    /// `frame[slot]` = float cache register `k` (no scratch register
    /// changed).
    fn fspill(&mut self, slot: u16, k: u8) {
        let _ = (slot, k);
    }
    /// Binds `label`, which control reaches only by jumps from code of
    /// the same instruction emitted since its start, on no path between
    /// which and here a slot is loaded or stored: the cache registers
    /// hold what they held (`A` is unknown).
    fn bind_local(&mut self, label: Self::Label) {
        self.bind(label);
    }
    /// Binds `label`, where control also arrives from a stub emitted
    /// later that calls out and then [`Masm::adopt`]s what this answers:
    /// what registers hold here stays known.
    fn bind_resume(&mut self, label: Self::Label) -> Held {
        self.bind(label);
        Held::default()
    }
    /// Binds loop header `label`, which control reaches by falling in and
    /// by backward jumps that first [`Masm::adopt`] what this answers
    /// (the driver enters through a stub that adopts it too): what the
    /// cache registers hold stays known around the loop.
    fn bind_header(&mut self, label: Self::Label) -> Held {
        self.bind(label);
        Held::default()
    }
    /// Makes the registers hold what `held` says (loading from their
    /// slots those that do not yet): before a jump to a loop header, and
    /// in the stubs that go back to a header or an access's resumption
    /// after a call out.
    fn adopt(&mut self, held: &Held) {
        let _ = held;
    }
    /// What registers hold now, every value also in its slot.
    fn snapshot(&mut self) -> Held {
        Held::default()
    }
    /// Binds `label`, where control arrives only from a branch taken when
    /// registers held `held` (a [`Masm::snapshot`]).
    fn bind_with(&mut self, label: Self::Label, held: &Held) {
        let _ = held;
        self.bind(label);
    }
    /// `r = frame[slot]`.
    fn load(&mut self, r: Reg, slot: u16);
    /// `frame[slot] = r`.
    fn store(&mut self, slot: u16, r: Reg);
    /// `r = v`.
    fn load_imm(&mut self, r: Reg, v: i64);
    /// `A = A op B`.
    fn int_op(&mut self, op: IntOp);
    /// `A = A op v` (`B` may be clobbered).
    fn int_op_imm(&mut self, op: IntOp, v: i64) {
        self.load_imm(Reg::B, v);
        self.int_op(op);
    }
    /// Jump to `label` if `A cond B` (signed).
    fn branch(&mut self, cond: Cmp, label: Self::Label);
    /// Jump to `label` if `A cond v` (signed; `B` may be clobbered).
    fn branch_imm(&mut self, cond: Cmp, v: i64, label: Self::Label) {
        self.load_imm(Reg::B, v);
        self.branch(cond, label);
    }
    /// `A = (A cond B) as int` (signed).
    fn set_cond(&mut self, cond: Cmp);
    /// `A = -A` (wrapping).
    fn neg(&mut self);
    /// `A = |A|` (wrapping: `MIN` stays `MIN`).
    fn abs(&mut self);
    /// `A = A / B`, or with `rem` `A % B`, truncating; `B` is neither 0
    /// nor -1 (the lowering leaves for those).
    fn div(&mut self, rem: bool);
    /// Jump to `label` if `x test y`.
    fn branch_if(&mut self, x: Reg, test: Test, y: Operand, label: Self::Label);

    // Reads and writes of the heap (see `access`); offsets are small
    // (`layout` checks), except a field's, which may be large.
    /// `r = *(heap + off)`: a word of the running instance's `Heap`.
    fn heap_word(&mut self, r: Reg, off: i32);
    /// `r = *(base + off)`, a word.
    fn load_word(&mut self, r: Reg, base: Reg, off: i32);
    /// `*(base + off) = r`, a word.
    fn store_word(&mut self, base: Reg, off: i32, r: Reg);
    /// `r = *(base + off)`, `bytes` (1 or 4) zero-extended.
    fn load_narrow(&mut self, r: Reg, base: Reg, off: i32, bytes: u8);
    /// `r = base + off`.
    fn add_offset(&mut self, r: Reg, base: Reg, off: i32);
    /// `r = ctx[off]`, a word of the context (see `crate::Ctx`).
    fn ctx_word(&mut self, r: Reg, off: i32);
    /// `ctx[off] = r`.
    fn set_ctx_word(&mut self, off: i32, r: Reg);

    // Objects looked up before (see `access`): only `reuse` keeps track.
    /// The context entry holding the object in `slot` (an array's items,
    /// else a record's fields), and whether stores into it need no write
    /// barrier, if it is looked up.
    fn find_object(&self, slot: u16, array: bool) -> Option<(u8, bool)> {
        let _ = (slot, array);
        None
    }
    /// The object context entry `i` holds, if known.
    fn object_at(&self, i: u8) -> Option<LookedUp> {
        let _ = i;
        None
    }
    /// An entry to look an object up into, if objects are kept track of.
    fn new_object(&mut self) -> Option<u8> {
        None
    }
    /// Entry `i` now holds the object in `slot` (`write`: its write
    /// barrier checked).
    fn note_object(&mut self, i: u8, slot: u16, array: bool, write: bool) {
        let _ = (i, slot, array, write);
    }
    /// `r = *(base + 8 * index)`.
    fn load_element(&mut self, r: Reg, base: Reg, index: Reg);
    /// `*(base + 8 * index) = r`.
    fn store_element(&mut self, base: Reg, index: Reg, r: Reg);
    /// `r = r + index * stride`.
    fn add_scaled(&mut self, r: Reg, index: Reg, stride: u32);

    /// `A = A / d` for the divisor whose [`tern_vm::divisor::Divisor::magic`]
    /// is `magic`, or with `rem` `A % d`: exactly `Divisor::quotient` and
    /// `Divisor::remainder`.
    fn div_magic(&mut self, d: i64, magic: (i64, u32, bool, bool), rem: bool);
    fn jump(&mut self, label: Self::Label);

    /// The entry stub, at the start of the buffer: called as `extern "C"
    /// fn(frame: *mut u64, state: *mut JitState, at: *const u8, ctx: *mut
    /// Ctx) -> u64`, it saves the registers it takes, loads the frame
    /// base, the state, the count and the context, and jumps to `at`.
    fn entry(&mut self);
    /// Runs instruction `pc` through the runtime (`crate::run_shim`): the
    /// count stored before and loaded after (the runtime charges work),
    /// the frame base loaded again from the context; a jump to `trapped`
    /// if it trapped.
    fn runtime(&mut self, pc: u32, trapped: Self::Label);
    /// `f(heap, frame, x, y)` (see `heap_ops`); a jump to `leave` if it
    /// answers 0.
    fn call_heap(&mut self, f: HeapFn, x: u64, y: u64, leave: Self::Label);
    /// The shared exit path, bound once per buffer: store the count back
    /// into the state, restore the registers and return the exit.
    fn exit_path(&mut self);
    /// Leave compiled code with `exit` (an encoded [`tern_vm::jit::Exit`]).
    fn exit(&mut self, exit: u64);
    /// `count += n`.
    fn count(&mut self, n: u32);
    /// Leave with `exit` if `count >= state.limit`.
    fn exit_if_due(&mut self, exit: u64);
    /// An inlined call's limit checks: a jump to `leave` if `depth` more
    /// frames would pass the depth limit, or a frame of `need` slots from
    /// the running frame's base would pass the value stack's.
    fn enter_checks(&mut self, depth: u8, need: u32, leave: Self::Label);
    /// A call compiled code makes itself (see [`NativeCall`]), or, where
    /// it cannot (a check fails, the callee is not compiled, native calls
    /// nest too deep), a jump to `exit` (which leaves with
    /// [`tern_vm::jit::Exit::Call`] for the driver).
    fn native_call(&mut self, call: &NativeCall, exit: Self::Label);
    /// A return: to the compiled caller that called natively, the result
    /// (which `A` holds: the lowering loads it) in `A` and the frame
    /// record popped; else leave with `exit`.
    fn ret(&mut self, slot: Option<u16>, exit: u64);

    // Floats live in two float registers, `A` and `B` again.
    /// `fr = frame[slot]` (a float's bits).
    fn fload(&mut self, r: Reg, slot: u16);
    /// `frame[slot] = fr`.
    fn fstore(&mut self, slot: u16, r: Reg);
    /// `fdst = fsrc`.
    fn fmove(&mut self, dst: Reg, src: Reg);
    /// `fA = fA op fB`: one IEEE operation, one rounding (never fused
    /// with another: a multiply-add is a multiplication, then an
    /// addition).
    fn float_op(&mut self, op: FloatOp);
    /// Jump to `label` if `fA cond fB`, or, with `negated`, if not: so a
    /// NaN operand takes a plain branch never (every comparison with NaN
    /// is false) and a negated one always.
    fn fbranch(&mut self, cond: Cmp, negated: bool, label: Self::Label);
    /// `fA = A as float` (the int in integer register `A`).
    fn int_to_float(&mut self);
    /// `A = fA as int`, toward zero, saturating, NaN to 0 (`f2i`); or a
    /// jump to `leave` where this machine's conversion differs from that.
    fn float_to_int(&mut self, leave: Self::Label);
    /// `fr = f64::from_bits(bits)`.
    fn fload_imm(&mut self, r: Reg, bits: u64);
    /// `A = (fA cond fB) as int` (IEEE: false for a NaN).
    fn fset_cond(&mut self, cond: Cmp);
    /// `fA = -fA` (the sign bit flipped).
    fn fneg(&mut self);
    /// `fA = |fA|` (the sign bit cleared).
    fn fabs(&mut self);
    /// `fA = sqrt(fA)` (IEEE: correctly rounded).
    fn fsqrt(&mut self);
    /// `fA = f(fA, fB)`: a call of Rust code (the `semantics` function of
    /// an instruction), through its absolute address.
    fn call_float(&mut self, f: FloatFn);
}

/// A dynasmrt assembler that makes labels (an inherent method of each,
/// not part of its traits).
pub trait NewLabel {
    fn new_label(&mut self) -> dynasmrt::DynamicLabel;
}

impl<R: dynasmrt::relocations::Relocation> NewLabel for dynasmrt::Assembler<R> {
    fn new_label(&mut self) -> dynasmrt::DynamicLabel {
        self.new_dynamic_label()
    }
}

impl<R: dynasmrt::relocations::Relocation> NewLabel for dynasmrt::VecAssembler<R> {
    fn new_label(&mut self) -> dynasmrt::DynamicLabel {
        self.new_dynamic_label()
    }
}
