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
use tern_vm::verify::NO_OWNER;

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
    /// Which int and float registers may hold a value their slot does not
    /// have yet (none, where these are empty): at a loop header, those
    /// holding slots the loop writes, which its back edges need not write
    /// back.
    pub int_dirty: Vec<bool>,
    pub float_dirty: Vec<bool>,
    pub objects: Entries,
    /// The slot whose object's table entry address the context holds
    /// (`Ctx::TAGGED`: see `access`), if one does.
    pub tagged: Option<u16>,
}

impl Held {
    /// What both `self` and `other` hold: what registers hold where
    /// control arrives from places that held each. Both are snapshots
    /// (every value also in its slot), and so is what this answers.
    pub fn meet(&self, other: &Held) -> Held {
        let same = |x: &[Option<u16>], y: &[Option<u16>]| -> Vec<Option<u16>> {
            (0..x.len().max(y.len()))
                .map(|k| match (x.get(k), y.get(k)) {
                    (Some(a), Some(b)) if a == b => *a,
                    _ => None,
                })
                .collect()
        };
        let mut objects = self.objects;
        for (o, p) in objects.iter_mut().zip(&other.objects) {
            if o != p {
                *o = None;
            }
        }
        Held {
            a: if self.a == other.a { self.a } else { None },
            ints: same(&self.ints, &other.ints),
            floats: same(&self.floats, &other.floats),
            objects,
            tagged: if self.tagged == other.tagged {
                self.tagged
            } else {
                None
            },
            ..Held::default()
        }
    }
}

/// A register written back to its slot on the way out: whether a float
/// register, which cache register, the slot.
pub type Spill = (bool, u8, u16);

/// What each context entry holds (see `access`).
pub type Entries = [Option<LookedUp>; OBJECT_ENTRIES];

/// An object looked up into a context entry (see `access`): the slot
/// holding it, or with `field`, holding the record whose field `field`
/// holds it (`a.b` of `a.b.c`); whether an array (else a record); and
/// `copy`, another slot holding the object itself, if one is known to;
/// and `words`, how many words of a record's fields a check found there
/// when the entry was filled (the record's fields below it are read
/// with no check: see `access::Widest`). It stays with the entry while a
/// name the claim was made for does: only a local (or a field of one)
/// keeps holding records that wide, and an entry is looked up again by
/// its name wherever compiled code may have lost it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookedUp {
    pub slot: u16,
    pub array: bool,
    /// An array whose elements are bytes (a `[bool]`: its kind checked).
    pub bytes: bool,
    pub field: Option<u16>,
    /// With `field`, the struct type of the record in `slot` (the
    /// verifier's, `NO_OWNER` if unknown): only a write to field `field`
    /// of a record of that type can change which record is there.
    pub owner: u16,
    pub copy: Option<u16>,
    pub words: u32,
    /// The variant a check found the record to be of, if one did (an
    /// object's variant never changes, so it stays with the entry).
    pub variant: Option<u16>,
}

impl LookedUp {
    /// The object in `slot`.
    pub fn slot(slot: u16, array: bool) -> LookedUp {
        LookedUp {
            slot,
            array,
            bytes: false,
            field: None,
            owner: NO_OWNER,
            copy: None,
            words: 0,
            variant: None,
        }
    }

    /// The same object, known as the one in slot `c` alone (a copy: a
    /// stack slot, which may hold anything later, so nothing is claimed
    /// of the fields of what it holds; see `words`).
    fn only_in(self, c: u16) -> LookedUp {
        LookedUp {
            variant: self.variant,
            bytes: self.bytes,
            ..LookedUp::slot(c, self.array)
        }
    }

    /// Whether this is the object `slot` holds, looked up as an array
    /// (of bytes or not) or as a record.
    pub fn is_in(&self, slot: u16, (array, bytes): (bool, bool)) -> bool {
        (self.array, self.bytes) == (array, bytes)
            && ((self.field.is_none() && self.slot == slot) || self.copy == Some(slot))
    }

    /// What is still known of it once `slot` is written: nothing if the
    /// object was found through it, else all but that `copy`.
    pub fn without_slot(self, slot: u16) -> Option<LookedUp> {
        match self.copy {
            Some(c) if c == slot && self.slot == slot => None,
            Some(c) if c == slot => Some(LookedUp { copy: None, ..self }),
            Some(c) if self.slot == slot => Some(self.only_in(c)),
            _ if self.slot == slot => None,
            _ => Some(self),
        }
    }

    /// What is left of it as another entry comes to hold `o`: the names
    /// they share go to that entry.
    pub fn without_names_of(self, o: &LookedUp) -> Option<LookedUp> {
        let mut left = self;
        if o.field.is_some() && (left.slot, left.field) == (o.slot, o.field) {
            match left.copy {
                Some(c) => left = left.only_in(c),
                None => return None,
            }
        }
        for s in [o.field.is_none().then_some(o.slot), o.copy]
            .into_iter()
            .flatten()
        {
            if left.copy == Some(s) {
                left.copy = None;
            }
            if left.field.is_none() && left.slot == s {
                left = left.only_in(left.copy?);
            }
        }
        Some(left)
    }

    /// What is still known of it once field `f` of a record of struct
    /// type `owner` is written: an object found through a field `f` of
    /// a record of that type (or of one not known) is known only as its
    /// `copy`. A record of another type is another record: the verifier
    /// proved every field access's object of the type it names.
    pub fn without_field(self, owner: u16, f: u16) -> Option<LookedUp> {
        let same = |o: u16| o == owner || o == NO_OWNER || owner == NO_OWNER;
        match (self.field, self.copy) {
            (Some(g), Some(c)) if g == f && same(self.owner) => Some(self.only_in(c)),
            (Some(g), None) if g == f && same(self.owner) => None,
            _ => Some(self),
        }
    }
}

/// A slot an instruction reads or writes, as an int or a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Use {
    pub float: bool,
    pub slot: u16,
    pub write: bool,
}

impl Use {
    pub fn read(float: bool, slot: u16) -> Use {
        Use {
            float,
            slot,
            write: false,
        }
    }

    pub fn write(float: bool, slot: u16) -> Use {
        Use {
            float,
            slot,
            write: true,
        }
    }
}

/// A second integer operand: a slot or an immediate.
#[derive(Clone, Copy, Debug)]
pub enum Src {
    Slot(u16),
    Imm(i64),
}

/// A second float operand: a slot or a constant's bits.
#[derive(Clone, Copy, Debug)]
pub enum FSrc {
    Slot(u16),
    Bits(u64),
}

/// A comparison: the VM's own (signed for ints, IEEE for floats).
pub use tern_vm::opcodes::Cmp;

/// A register an operation takes: a scratch register, or cache register
/// `k` of the operation's kind (see [`Masm::cache_size`]), whose value
/// only `reuse` keeps track of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    Scratch(Reg),
    Cached(u8),
}

impl Loc {
    /// Its machine register's number, given the scratch registers'
    /// (`scratch`) and the cache registers' of the operation's kind.
    pub fn number(self, scratch: impl Fn(Reg) -> u8, cache: &[u8]) -> u8 {
        match self {
            Loc::Scratch(r) => scratch(r),
            Loc::Cached(k) => cache[k as usize],
        }
    }
}

/// Where a heap read finds its word from a base register: element
/// `index` (a register) of the words there, or `off` bytes on.
#[derive(Clone, Copy, Debug)]
pub enum Word {
    Element(Reg),
    At(i32),
}

/// Where a call compiled code makes itself goes (in a backend): the
/// function's own first instruction, or the address in a register.
pub enum Callee<L> {
    Own(L),
    Reg(u8),
}

impl From<Reg> for Loc {
    fn from(r: Reg) -> Loc {
        Loc::Scratch(r)
    }
}

/// `A`, `B`, `C` as operands.
pub const LA: Loc = Loc::Scratch(Reg::A);
pub const LB: Loc = Loc::Scratch(Reg::B);

/// An integer operation `dst = a op b` (wrapping, as the language's;
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

/// A call of a closure compiled code makes itself, where it can: the
/// check the interpreter makes that compiled code can (fuel), then what
/// `crate::closure_target` does, inline where the heap layout is known
/// and the call is a plain one (the depth and value-stack checks, the
/// first also bounding the machine stack, see `Ctx::room`; the callee
/// from the closure, its compiled code, its frame record pushed as the
/// interpreter pushes it), else by calling it; then the call with the
/// frame base moved to `args`. Where anything fails, the driver makes
/// the call ([`tern_vm::jit::Exit::Call`]).
#[derive(Clone, Copy, Debug)]
pub struct ClosureCall {
    /// The pc of the call.
    pub pc: u32,
    /// Slots from the caller's base: the callee's frame (the closure is
    /// in the slot before, where the result goes).
    pub args: u16,
    /// The slot the result is written to, if the closure returns one.
    pub result: Option<u16>,
}

/// How deep compiled code nests the calls it makes itself before it
/// leaves the next to the driver (which starts again from no nesting):
/// bounds the machine stack whatever the guest's depth limit.
pub const NATIVE_DEPTH: u32 = 256;

/// A heap instruction's shim (see `heap_ops`): the heap, the frame base,
/// the packed operands; 1 if done, 0 to leave the instruction to the
/// interpreter.
pub type HeapFn = extern "C" fn(*mut tern_vm::heap::Heap, *mut u64, u64, u64) -> u64;

/// A heap shim's second word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Fixed when the code is made.
    Imm(u64),
    /// The running frame's closure (its frame record's `env`).
    Env,
    /// Whether the instance meters ([`tern_vm::jit::JitState::metered`]).
    Metered,
}

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
    type Label: Copy + Eq + std::hash::Hash;
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
    fn cache_size(&self) -> (u8, u8);
    /// `dst = src`, int or (`float`) float registers; nothing if they are
    /// one.
    fn copy(&mut self, float: bool, dst: Loc, src: Loc);
    /// `dst` = the bits of `src`, a register of the other kind: `dst` a
    /// float register with `to_float`, else an int one.
    fn copy_bits(&mut self, to_float: bool, dst: Loc, src: Loc);
    /// Int or (`float`) float cache register `k` = `frame[slot]` (no
    /// scratch register changed).
    fn load_cached(&mut self, float: bool, k: u8, slot: u16);
    /// `frame[slot]` = int cache register `k` (no scratch register
    /// changed).
    fn spill(&mut self, slot: u16, k: u8);
    /// `frame[slot]` = float cache register `k` (no scratch register
    /// changed).
    fn fspill(&mut self, slot: u16, k: u8);
    /// A label for [`Masm::bind_local`]: branches and jumps to it leave
    /// the cache registers as they are (nothing is written back).
    fn local_label(&mut self) -> Self::Label {
        self.new_label()
    }
    /// Binds `label`, a [`Masm::local_label`], which control reaches only
    /// by jumps from code of the same instruction emitted since its start,
    /// on no path between which and here a slot is loaded or stored (or
    /// anything written back): the cache registers hold what they held,
    /// dirty or not, on every way in (`A` is unknown).
    fn bind_local(&mut self, label: Self::Label) {
        self.bind(label);
    }
    /// A label out of the way, where memory must hold every slot's value
    /// when control gets there (an access's slow path, an exit): a branch
    /// there writes registers back on its way, not on the path that goes
    /// on.
    fn out_label(&mut self) -> Self::Label {
        self.new_label()
    }
    /// Makes `label` (an instruction's, bound later with
    /// [`Masm::bind_join`] or [`Masm::bind_with`]) a join: a branch there
    /// leaves dirty the registers that hold the same slot there, and
    /// writes back the others on its way, off the path that goes on.
    fn mark_out(&mut self, label: Self::Label) {
        let _ = label;
    }
    /// Binds `label`, where control falls in and arrives from branches
    /// that left registers holding what `held` says (every value also in
    /// its slot): the registers that hold something else are written back
    /// on the way that falls in, the others stay as dirty as it left them.
    fn bind_join(&mut self, label: Self::Label, held: &Held) {
        self.bind_with(label, held);
    }
    /// Binds `label`, where control also arrives from a stub emitted
    /// later that calls out and then [`Masm::adopt`]s what this answers:
    /// what registers hold here stays known (the registers the way that
    /// falls in leaves dirty stay so: the stub loads them from the slots,
    /// where the call out left their values).
    fn bind_resume(&mut self, label: Self::Label) -> Held {
        self.bind(label);
        Held::default()
    }
    /// Binds loop header `label`, which control reaches by falling in and
    /// by backward jumps that first [`Masm::adopt`] what this answers
    /// (the driver enters through a stub that adopts it too): what the
    /// cache registers hold stays known around the loop. With the slots
    /// the loop's body `uses`, if known, registers are first loaded with
    /// the slots it reads that no other it uses competes with, and only
    /// what it reads stays known (so a back edge loads nothing else).
    fn bind_header(&mut self, label: Self::Label, uses: Option<&[Use]>) -> Held {
        let _ = uses;
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
    /// What registers hold now, as a branch just made to an
    /// [`Masm::out_label`] leaves them there (every value also in its
    /// slot): nothing is written back here.
    fn peek(&mut self) -> Held {
        Held::default()
    }
    /// Jump to `label`, whose state [`Masm::adopt`] just made the
    /// registers hold (dirty as it allows).
    fn jump_adopted(&mut self, label: Self::Label) {
        self.jump(label);
    }
    /// Binds `label`, where control arrives only from a branch taken when
    /// registers held `held` (a [`Masm::snapshot`]).
    fn bind_with(&mut self, label: Self::Label, held: &Held) {
        let _ = held;
        self.bind(label);
    }
    // Operations on slots: `reuse` does them in the registers that hold
    // the slots' values; these defaults, through `A` and `B`, say what
    // each does.
    /// `d = a op b`.
    fn int_slots(&mut self, op: IntOp, d: u16, a: u16, b: Src) {
        self.load(Reg::A, a);
        match b {
            Src::Slot(b) => {
                self.load(Reg::B, b);
                self.int_op3(op, LA, LA, LB);
            }
            Src::Imm(v) => self.int_op3_imm(op, LA, LA, v),
        }
        self.store(d, Reg::A);
    }
    /// `d = a * b + c` (wrapping).
    fn mul_add_slots(&mut self, d: u16, a: u16, b: u16, c: u16) {
        self.load(Reg::A, a);
        self.load(Reg::B, b);
        self.int_op3(IntOp::Mul, LA, LA, LB);
        self.load(Reg::B, c);
        self.int_op3(IntOp::Add, LA, LA, LB);
        self.store(d, Reg::A);
    }
    /// `d = a op b`.
    fn float_slots(&mut self, op: FloatOp, d: u16, a: u16, b: FSrc) {
        load_floats(self, a, b);
        self.float_op3(op, LA, LA, LB);
        self.fstore(d, Reg::A);
    }
    /// `d = (a * b) op c` or, with `swap`, `d = c op (a * b)`: two
    /// roundings.
    fn mul_then_slots(&mut self, op: FloatOp, swap: bool, d: u16, abc: [u16; 3]) {
        let [a, b, c] = abc;
        self.fload(Reg::A, a);
        self.fload(Reg::B, b);
        self.float_op3(FloatOp::Mul, LA, LA, LB);
        self.fload(Reg::B, c);
        match swap {
            false => self.float_op3(op, LA, LA, LB),
            true => self.float_op3(op, LA, LB, LA),
        }
        self.fstore(d, Reg::A);
    }
    /// `d = s`: the bits, whatever they are.
    fn copy_slot(&mut self, d: u16, s: u16) {
        self.load(Reg::A, s);
        self.store(d, Reg::A);
    }
    /// Jump to `label` if `a cond b` (signed).
    fn branch_slots(&mut self, cond: Cmp, a: u16, b: Src, label: Self::Label) {
        self.load(Reg::A, a);
        match b {
            Src::Slot(b) => {
                self.load(Reg::B, b);
                self.branch3(cond, LA, LB, label);
            }
            Src::Imm(v) => self.branch3_imm(cond, LA, v, label),
        }
    }
    /// Jump to `label` if `a cond b` or, with `negated`, if not (see
    /// [`Masm::fbranch3`]).
    fn fbranch_slots(&mut self, cond: Cmp, negated: bool, a: u16, b: FSrc, label: Self::Label) {
        load_floats(self, a, b);
        self.fbranch3(cond, negated, LA, LB, label);
    }

    /// `r = frame[slot]`.
    fn load(&mut self, r: Reg, slot: u16);
    /// `frame[slot] = r`.
    fn store(&mut self, slot: u16, r: Reg);
    /// `r = v`.
    fn load_imm(&mut self, r: Reg, v: i64);
    /// `dst = a op b`: `dst` is not `B`, and is `b` only if it is `a`
    /// too (`B` may be clobbered).
    fn int_op3(&mut self, op: IntOp, dst: Loc, a: Loc, b: Loc);
    /// `dst = a op v`: `dst` is not `B` (`B` may be clobbered).
    fn int_op3_imm(&mut self, op: IntOp, dst: Loc, a: Loc, v: i64);
    /// Jump to `label` if `a cond b` (signed).
    fn branch3(&mut self, cond: Cmp, a: Loc, b: Loc, label: Self::Label);
    /// Jump to `label` if `a cond v` (signed; `B` may be clobbered, so
    /// `a` is not `B`).
    fn branch3_imm(&mut self, cond: Cmp, a: Loc, v: i64, label: Self::Label);
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
    /// `*(base + off) = r`, its low `bytes` (1 or 4).
    fn store_narrow(&mut self, base: Reg, off: i32, r: Reg, bytes: u8);
    /// `r = base + off`.
    fn add_offset(&mut self, r: Reg, base: Reg, off: i32);
    /// `r = ctx[off]`, a word of the context (see `crate::Ctx`).
    fn ctx_word(&mut self, r: Reg, off: i32);
    /// `r` = the running frame's closure (its record's `env`).
    fn load_env(&mut self, r: Reg);
    /// `ctx[off] = r`.
    fn set_ctx_word(&mut self, off: i32, r: Reg);

    // Objects looked up before (see `access`): only `reuse` keeps track.
    /// The context entry holding the object in `slot` (an array's items,
    /// of bytes or not, else a record's fields), if it is looked up.
    fn find_object(&self, slot: u16, kind: (bool, bool)) -> Option<u8> {
        let _ = (slot, kind);
        None
    }
    /// The context entry holding the record in field `field` of the
    /// record in `slot`, if it is looked up.
    fn find_inner(&self, slot: u16, field: u16) -> Option<u8> {
        let _ = (slot, field);
        None
    }
    /// Field `f` of a record of struct type `owner` is about to be
    /// written.
    fn field_written(&mut self, owner: u16, f: u16) {
        let _ = (owner, f);
    }
    /// Every slot a register holds is stored back and nothing is held:
    /// where machine code the tracking does not see (`alloc`) reads and
    /// writes the frame, and two ways that join must agree. Only `reuse`
    /// holds anything.
    fn settle(&mut self) {}
    /// The slot whose object's table entry address `Ctx::TAGGED` holds
    /// (an enum value's, after its tag was read), if known: only `reuse`
    /// keeps track.
    fn tagged(&self) -> Option<u16> {
        None
    }
    /// `Ctx::TAGGED` now holds the table entry address of the object in
    /// `slot`.
    fn note_tagged(&mut self, slot: u16) {
        let _ = slot;
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
    /// Entry `i` now holds `o`.
    fn note_object(&mut self, i: u8, o: LookedUp) {
        let _ = (i, o);
    }
    /// `r = *(base + 8 * index)`.
    fn load_element(&mut self, r: Reg, base: Reg, index: Reg);
    /// Cache register `k`, a float one if `float`, = the word `at` from
    /// `base`.
    fn read_cached(&mut self, float: bool, k: u8, base: Reg, at: Word);
    /// The word `at` from `base` = cache register `k`, a float one if
    /// `float`.
    fn write_cached(&mut self, float: bool, k: u8, base: Reg, at: Word);
    /// The word `at` from `base` = `frame[v]`, through `via` where no
    /// register holds it (`reuse` stores it from one that does).
    fn store_slot_to(&mut self, base: Reg, at: Word, v: u16, via: Reg) {
        store_via(self, base, at, v, via);
    }
    /// The slots the function reads only as floats (by number; a copy
    /// reads as neither), whose values loaded from the heap go straight
    /// to float registers: only `reuse` keeps them.
    fn read_as_floats(&mut self, floats: Vec<bool>) {
        let _ = floats;
    }
    /// How the next instruction's heap read into `slot` goes (where the
    /// slot is read both ways): to a float register if `float`, as the
    /// next use of the value reads it. `None`: as `read_as_floats` says.
    fn read_kind(&mut self, next: Option<(u16, bool)>) {
        let _ = next;
    }
    /// `d = *(base + 8 * index)`: `reuse` loads it straight into `d`'s
    /// register.
    fn load_element_to(&mut self, d: u16, base: Reg, index: Reg) {
        self.load_element(Reg::A, base, index);
        self.store(d, Reg::A);
    }
    /// `d = *(base + off)`, a word: `reuse` loads it straight into `d`'s
    /// register.
    fn load_word_to(&mut self, d: u16, base: Reg, off: i32) {
        self.load_word(Reg::A, base, off);
        self.store(d, Reg::A);
    }
    /// `*(base + 8 * index) = r`.
    fn store_element(&mut self, base: Reg, index: Reg, r: Reg);
    /// `*(base + 8 * index) = v`, through `via` where the machine cannot
    /// store it as an immediate.
    fn store_element_imm(&mut self, base: Reg, index: Reg, v: i64, via: Reg) {
        self.load_imm(via, v);
        self.store_element(base, index, via);
    }
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
    fn call_heap(&mut self, f: HeapFn, x: u64, y: Arg, leave: Self::Label);
    /// The shared exit path, bound once per buffer: store the count back
    /// into the state, restore the registers and return the exit.
    fn exit_path(&mut self);
    /// Leave compiled code with `exit` (an encoded [`tern_vm::jit::Exit`]).
    fn exit(&mut self, exit: u64);
    /// `count += n`.
    fn count(&mut self, n: u32);
    /// Jump to `due` (out of the way of the code that goes on) if
    /// `count >= state.limit`.
    fn branch_if_due(&mut self, due: Self::Label);
    /// An inlined call's limit checks: a jump to `leave` if `depth` more
    /// frames would pass the depth limit, or a frame of `need` slots from
    /// the running frame's base would pass the value stack's.
    fn enter_checks(&mut self, depth: u8, need: u32, leave: Self::Label);
    /// A call compiled code makes itself (see [`NativeCall`]), or, where
    /// it cannot (a check fails, the callee is not compiled, native calls
    /// nest too deep), a jump to `exit` (which leaves with
    /// [`tern_vm::jit::Exit::Call`] for the driver).
    /// `own` is the label of the first instruction where the callee is
    /// the function being emitted (its code is this code: no lookup).
    fn native_call(&mut self, call: &NativeCall, exit: Self::Label, own: Option<Self::Label>);
    /// A call of a closure (see [`ClosureCall`]), or, where compiled code
    /// cannot make it, a jump to `exit` (which leaves with
    /// [`tern_vm::jit::Exit::Call`] for the driver); the result in `A`.
    fn closure_call(&mut self, call: &ClosureCall, exit: Self::Label);
    /// A return: to the compiled caller that called natively, the result
    /// (which `A` holds: the lowering loads it) in `A` and the frame
    /// record popped; else the result stored in `slot` (the one slot of
    /// the frame the driver reads: nothing else is written back), then
    /// the return made as the driver makes it into a compiled caller
    /// where it may be (`tern_vm::jit::Frames::stop`), or leave with
    /// `exit`.
    fn ret(&mut self, slot: Option<u16>, exit: u64);

    // Floats live in two float registers, `A` and `B` again.
    /// `fr = frame[slot]` (a float's bits).
    fn fload(&mut self, r: Reg, slot: u16);
    /// `frame[slot] = fr`.
    fn fstore(&mut self, slot: u16, r: Reg);
    /// `dst = a op b`: one IEEE operation, one rounding (never fused
    /// with another: a multiply-add is a multiplication, then an
    /// addition); `dst` is `b` only if it is `a` too.
    fn float_op3(&mut self, op: FloatOp, dst: Loc, a: Loc, b: Loc);
    /// Jump to `label` if `a cond b`, or, with `negated`, if not: so a
    /// NaN operand takes a plain branch never (every comparison with NaN
    /// is false) and a negated one always.
    fn fbranch3(&mut self, cond: Cmp, negated: bool, a: Loc, b: Loc, label: Self::Label);
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

/// The word `at` from `base` = `frame[v]`, loaded into `via` first.
pub(crate) fn store_via<M: Masm + ?Sized>(m: &mut M, base: Reg, at: Word, v: u16, via: Reg) {
    m.load(via, v);
    match at {
        Word::Element(index) => m.store_element(base, index, via),
        Word::At(off) => m.store_word(base, off, via),
    }
}

/// A frame record's size is `2^RECORD_SHIFT` bytes: the backends turn
/// the count of live records into the address one past them (see
/// `Ctx::records`), and back, with shifts.
pub const RECORD_SHIFT: u8 = tern_vm::jit::frame_layout::SIZE.trailing_zeros() as u8;
const _: () = assert!(tern_vm::jit::frame_layout::SIZE == 1 << RECORD_SHIFT);

/// The highest base a frame needing `need` slots may start at, or `None`
/// where no base may: a frame overflows the value stack where `base +
/// need > MAX_STACK_SLOTS`, which call paths test as `base > room(need)`,
/// one compare with a constant.
pub fn stack_room(need: u32) -> Option<u32> {
    u32::try_from(tern_vm::MAX_STACK_SLOTS)
        .ok()?
        .checked_sub(need)
}

/// `s` where `d` is `2^s` with `s` in 1..=62: a divisor both backends
/// divide by with shifts (the magic multiplication is for the others).
pub fn power_of_two(d: i64) -> Option<u8> {
    (d > 1 && d.count_ones() == 1).then(|| d.trailing_zeros() as u8)
}

/// `fA = a`, `fB = b` (the defaults of the float operations on slots).
fn load_floats<M: Masm + ?Sized>(m: &mut M, a: u16, b: FSrc) {
    m.fload(Reg::A, a);
    match b {
        FSrc::Slot(b) => m.fload(Reg::B, b),
        FSrc::Bits(bits) => m.fload_imm(Reg::B, bits),
    }
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
