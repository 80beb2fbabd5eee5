//! The aarch64 backend (AAPCS64): the frame base lives in `x19`, the
//! state in `x20`, the count in `x21`, the context in `x22`, the count
//! address one past the live frame records in `x23` (the next record's:
//! see `Ctx::records`; the count it stands for is written back to the
//! runtime's around every call out that reads it, and at every exit; all callee-saved,
//! saved by the entry stub with the frame record); `A` is
//! `x1` (floats `d1`), `B` is `x2` (`d2`), `C` is `x4`, `x3` holds the address of a
//! slot too far for a load's scaled 12-bit field, `x9`-`x16` are scratch
//! within one operation; the exit is returned in `x0`. Conditional
//! branches reach 1 MiB: a function whose exits lie further is refused
//! when it is committed (see `crate::finish`).
//!
//! Code made here must reach the instruction cache before it runs:
//! dynasmrt's executable buffers are synchronized when finalized. qemu
//! does not catch a missing flush, so tests under qemu cannot prove one is
//! there.

// `dynasm!` converts a dynamic register operand with `.into()`, also when
// it already has the register type.
#![allow(clippy::useless_conversion)]

#[cfg(target_arch = "aarch64")]
use crate::lower::lower;
use crate::lower::lower_for_listing;
use crate::masm::{stack_room, NATIVE_DEPTH, RECORD_SHIFT};
use crate::masm::{
    Arg, ClosureCall, Cmp, FloatFn, FloatOp, HeapFn, IntOp, Loc, Masm, NativeCall, NewLabel,
    Operand, Reg, Test, Word,
};
use crate::Ctx;
use dynasmrt::aarch64::Aarch64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmLabelApi};
use indexmap::IndexMap;
#[cfg(target_arch = "aarch64")]
use tern_vm::jit::Fixed;
use tern_vm::jit::{frame_layout, JitState};
use tern_vm::Program;

/// Emits aarch64 code into any dynasmrt assembler for it.
pub struct Aarch64<'a, A> {
    ops: &'a mut A,
    exit: DynamicLabel,
    /// Float constants, after the code: each one's bits and label.
    pool: IndexMap<u64, DynamicLabel>,
    /// The returns' way into `return_itself`, emitted once after the code.
    returns: Option<DynamicLabel>,
}

impl<'a, A: NewLabel> Aarch64<'a, A> {
    pub fn new(ops: &'a mut A) -> Aarch64<'a, A> {
        let exit = ops.new_label();
        Aarch64 {
            ops,
            exit,
            pool: IndexMap::new(),
            returns: None,
        }
    }
}

/// The frame base register.
const BASE: u8 = 19;

/// The cache registers (see `Masm::cache_size`): `x5`-`x8` and
/// `d16`-`d31`, which nothing else here uses and the procedure call
/// standard does not preserve (`d8`-`d15` it does, so they are not lent).
const INT_CACHE: [u8; 4] = [5, 6, 7, 8];
const FLOAT_CACHE: [u8; 16] = [
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
];

fn reg(r: Reg) -> u8 {
    match r {
        Reg::A => 1,
        Reg::B => 2,
        Reg::C => 4,
    }
}

/// The number of an int register operand.
fn ireg(l: Loc) -> u8 {
    l.number(reg, &INT_CACHE)
}

/// The number of a float register operand.
fn dreg(l: Loc) -> u8 {
    l.number(reg, &FLOAT_CACHE)
}

type Callee = crate::masm::Callee<DynamicLabel>;

/// The largest slot a load or store reaches with its immediate offset
/// (8-byte accesses scale a 12-bit field).
const DIRECT_SLOTS: u16 = 4096;

impl<A: DynasmLabelApi<Relocation = Aarch64Relocation> + NewLabel> Aarch64<'_, A> {
    /// The base register and offset that address `slot`: `x19` and the
    /// slot's offset when a load's scaled 12-bit field holds it, else
    /// `x3`, set to the slot's address, and 0.
    fn slot_address(&mut self, slot: u16) -> (u8, u32) {
        if slot < DIRECT_SLOTS {
            return (BASE, slot as u32 * 8);
        }
        self.imm64(3, slot as u64 * 8);
        dynasm!(self.ops ; .arch aarch64 ; add x3, x19, x3);
        (3, 0)
    }

    /// Cache register `k` (a float one if `float`) loaded from, or with
    /// `store` stored to, the word `at` from `base`.
    fn cached_word(&mut self, store: bool, float: bool, k: u8, base: Reg, at: Word) {
        let b = reg(base);
        let c = match float {
            false => INT_CACHE[k as usize],
            true => FLOAT_CACHE[k as usize],
        };
        let far = match at {
            Word::At(off) => self.far_offset(off, 8),
            Word::Element(_) => false,
        };
        let ops = &mut *self.ops;
        match (at, float, far, store) {
            (Word::Element(i), false, _, false) => {
                dynasm!(ops ; .arch aarch64 ; ldr X(c), [X(b), X(reg(i)), lsl #3])
            }
            (Word::Element(i), true, _, false) => {
                dynasm!(ops ; .arch aarch64 ; ldr D(c), [X(b), X(reg(i)), lsl #3])
            }
            (Word::Element(i), false, _, true) => {
                dynasm!(ops ; .arch aarch64 ; str X(c), [X(b), X(reg(i)), lsl #3])
            }
            (Word::Element(i), true, _, true) => {
                dynasm!(ops ; .arch aarch64 ; str D(c), [X(b), X(reg(i)), lsl #3])
            }
            (Word::At(_), false, true, false) => {
                dynasm!(ops ; .arch aarch64 ; ldr X(c), [X(b), x9])
            }
            (Word::At(_), true, true, false) => {
                dynasm!(ops ; .arch aarch64 ; ldr D(c), [X(b), x9])
            }
            (Word::At(_), false, true, true) => {
                dynasm!(ops ; .arch aarch64 ; str X(c), [X(b), x9])
            }
            (Word::At(_), true, true, true) => {
                dynasm!(ops ; .arch aarch64 ; str D(c), [X(b), x9])
            }
            (Word::At(off), false, false, false) => {
                dynasm!(ops ; .arch aarch64 ; ldr X(c), [X(b), off as u32])
            }
            (Word::At(off), true, false, false) => {
                dynasm!(ops ; .arch aarch64 ; ldr D(c), [X(b), off as u32])
            }
            (Word::At(off), false, false, true) => {
                dynasm!(ops ; .arch aarch64 ; str X(c), [X(b), off as u32])
            }
            (Word::At(off), true, false, true) => {
                dynasm!(ops ; .arch aarch64 ; str D(c), [X(b), off as u32])
            }
        }
    }

    /// `x9 = off` when a scaled unsigned 12-bit field of a `scale`-byte
    /// access cannot hold it: whether it did that.
    fn far_offset(&mut self, off: i32, scale: i32) -> bool {
        if (0..4096 * scale).contains(&off) && off % scale == 0 {
            return false;
        }
        self.imm64(9, off as i64 as u64);
        true
    }

    /// `X(d) = X(a) op X(b)`.
    fn op_rrr(&mut self, op: IntOp, d: u8, a: u8, b: u8) {
        let ops = &mut *self.ops;
        match op {
            IntOp::Add => dynasm!(ops ; .arch aarch64 ; add X(d), X(a), X(b)),
            IntOp::Sub => dynasm!(ops ; .arch aarch64 ; sub X(d), X(a), X(b)),
            IntOp::Mul => dynasm!(ops ; .arch aarch64 ; mul X(d), X(a), X(b)),
            IntOp::And => dynasm!(ops ; .arch aarch64 ; and X(d), X(a), X(b)),
            IntOp::Or => dynasm!(ops ; .arch aarch64 ; orr X(d), X(a), X(b)),
            IntOp::Xor => dynasm!(ops ; .arch aarch64 ; eor X(d), X(a), X(b)),
            // The machine takes the count mod 64, as the language does.
            IntOp::Shl => dynasm!(ops ; .arch aarch64 ; lsl X(d), X(a), X(b)),
            IntOp::Shr => dynasm!(ops ; .arch aarch64 ; asr X(d), X(a), X(b)),
            IntOp::Min => dynasm!(ops ; .arch aarch64 ; cmp X(a), X(b) ; csel X(d), X(a), X(b), lt),
            IntOp::Max => dynasm!(ops ; .arch aarch64 ; cmp X(a), X(b) ; csel X(d), X(a), X(b), gt),
        }
    }

    /// Calls `callee`'s code with the frame base moved `args` slots on
    /// (its record pushed already), and moves it back; the result, if
    /// `result`, to `A`.
    fn call_frame(&mut self, args: u16, callee: Callee, result: bool) {
        let back = self.ops.new_label();
        // The caller's base and where the callee returns to, on the stack
        // (the callee's calls clobber the link register).
        dynasm!(self.ops
            ; .arch aarch64
            ; adr x9, =>back
            ; stp x19, x9, [sp, #-16]!
        );
        self.imm64(15, args as u64 * 8);
        dynasm!(self.ops ; .arch aarch64 ; add x19, x19, x15);
        match callee {
            Callee::Own(l) => dynasm!(self.ops ; .arch aarch64 ; b =>l),
            Callee::Reg(r) => dynasm!(self.ops ; .arch aarch64 ; br X(r)),
        }
        dynasm!(self.ops ; .arch aarch64 ; =>back ; ldp x19, x9, [sp], #16);
        if result {
            dynasm!(self.ops ; .arch aarch64 ; mov x1, x0);
        }
    }

    /// Completes the callee's frame record at `x13` (`w15` = its `ret`,
    /// `w14` = the caller's base; `RET_PC` = `pc`, `ENV` = register `env`
    /// or none) and pushes it. Clobbers `x15`.
    fn push_record(&mut self, pc: u32, env: Option<u8>) {
        dynasm!(self.ops
            ; .arch aarch64
            ; str w15, [x13, #frame_layout::RET as u32]
            ; str w14, [x13, #frame_layout::RET_BASE as u32]
        );
        self.imm64(15, pc as u64);
        dynasm!(self.ops ; .arch aarch64 ; str w15, [x13, #frame_layout::RET_PC as u32]);
        match env {
            Some(r) => {
                dynasm!(self.ops ; .arch aarch64 ; str X(r), [x13, #frame_layout::ENV as u32])
            }
            None => dynasm!(self.ops
                ; .arch aarch64
                ; movn x15, 0
                ; str x15, [x13, #frame_layout::ENV as u32]
            ),
        }
        dynasm!(self.ops ; .arch aarch64 ; add x23, x23, frame_layout::SIZE as u32);
    }

    /// Branch to `l` if the flags of a signed comparison say `cond`.
    fn bcc(&mut self, cond: Cmp, l: DynamicLabel) {
        let ops = &mut *self.ops;
        match cond {
            Cmp::Lt => dynasm!(ops ; .arch aarch64 ; b.lt =>l),
            Cmp::Le => dynasm!(ops ; .arch aarch64 ; b.le =>l),
            Cmp::Gt => dynasm!(ops ; .arch aarch64 ; b.gt =>l),
            Cmp::Ge => dynasm!(ops ; .arch aarch64 ; b.ge =>l),
            Cmp::Eq => dynasm!(ops ; .arch aarch64 ; b.eq =>l),
            Cmp::Ne => dynasm!(ops ; .arch aarch64 ; b.ne =>l),
        }
    }

    /// `x23` = the address one past the live records, from the runtime's
    /// count of them.
    fn load_top(&mut self) {
        dynasm!(self.ops
            ; .arch aarch64
            ; ldr x9, [x22, #Ctx::DEPTH as u32]
            ; ldr x9, [x9]
            ; ldr x23, [x22, #Ctx::RECORDS as u32]
            ; add x23, x23, x9, lsl RECORD_SHIFT as u32
        );
    }

    /// The runtime's count of live records = what `x23` stands for (`x9`
    /// and `x10` are scratch).
    fn store_top(&mut self) {
        dynasm!(self.ops
            ; .arch aarch64
            ; ldr x9, [x22, #Ctx::RECORDS as u32]
            ; sub x9, x23, x9
            ; lsr x9, x9, RECORD_SHIFT as u32
            ; ldr x10, [x22, #Ctx::DEPTH as u32]
            ; str x9, [x10]
        );
    }

    /// The return of the frame whose record is the last (`x23` one past
    /// it), its exit in `x0` (`Exit::Return`, its result stored in its
    /// slot), made as the driver makes it (see `Frames::stop`) where its
    /// caller's compiled code has an entry after the call: the record
    /// popped, the result stored where the call wanted it, the call's
    /// `after` counted, the caller's base in `x19`, room for
    /// `NATIVE_DEPTH` calls from here, and a jump to that entry. Else to
    /// the exit, having changed nothing. Every register but the fixed
    /// ones and `x0` is free: the entry assumes nothing.
    fn return_itself(&mut self) {
        use crate::Resume;
        let sz = frame_layout::SIZE as u32;
        let (driver, unit) = (self.exit, self.ops.new_label());
        dynasm!(self.ops
            ; .arch aarch64
            ; ldr x11, [x22, #Ctx::STOP_TOP as u32]
            ; cmp x23, x11
            ; b.lo =>driver
            // x9 = the returning record, x10 = the caller's.
            ; sub x9, x23, sz
            ; sub x10, x9, sz
            // x11 = the caller's `Resume`.
            ; ldr w11, [x10, #frame_layout::FUNC as u32]
            ; ldr x12, [x22, #Ctx::RESUME_COUNT as u32]
            ; cmp x11, x12
            ; b.hs =>driver
            ; ldr x12, [x22, #Ctx::RESUMES as u32]
            ; add x11, x12, x11, lsl Resume::SHIFT as u32
            // x12 = the call's index in the caller, x13 = the next's.
            // (Both inside: a call's pc below `start` wraps around.)
            ; ldr w12, [x9, #frame_layout::RET_PC as u32]
            ; ldr x13, [x11, #Resume::START as u32]
            ; sub x12, x12, x13
            ; ldr x14, [x11, #Resume::LEN as u32]
            ; cmp x12, x14
            ; b.hs =>driver
            ; add x13, x12, 1
            ; cmp x13, x14
            ; b.hs =>driver
            // x14 = the entry there.
            ; ldr x14, [x11, #Resume::ENTRIES as u32]
            ; ldr x14, [x14, x13, lsl #3]
            ; cbz x14, =>driver
            ; ldr x15, [x11, #Resume::AFTERS as u32]
            ; ldrb w15, [x15, x12]
            ; add x21, x21, x15
            // x10 = the base (slots as u32s). A result (`Return(Some(s))`
            // is `s << 3`) goes to `ret`, which may lie below the base (a
            // closure's): a signed distance in slots.
            ; ldr w10, [x9, #frame_layout::BASE as u32]
            ; tst x0, 7
            ; b.ne =>unit
            ; lsr x11, x0, 3
            ; ldr x12, [x19, x11, lsl #3]
            ; ldr w13, [x9, #frame_layout::RET as u32]
            ; sub x13, x13, x10
            ; str x12, [x19, x13, lsl #3]
            ; =>unit
            ; ldr w11, [x9, #frame_layout::RET_BASE as u32]
            ; sub x10, x10, x11
            ; sub x19, x19, x10, lsl 3
            ; mov x23, x9
        );
        self.imm64(12, NATIVE_DEPTH as u64 * sz as u64);
        dynasm!(self.ops
            ; .arch aarch64
            ; add x11, x23, x12
            ; ldr x13, [x22, #Ctx::BUFFER_ROOM as u32]
            ; cmp x11, x13
            ; csel x11, x11, x13, ls
            ; str x11, [x22, #Ctx::ROOM as u32]
            ; br x14
        );
    }

    /// Jumps to `l` if a frame needing `need` slots may not start at base
    /// `x<r>` (`x<t>` is scratch).
    fn above_room(&mut self, r: u8, t: u8, need: u32, l: DynamicLabel) {
        match stack_room(need) {
            Some(room) => {
                self.imm64(t, room as u64);
                dynasm!(self.ops ; .arch aarch64 ; cmp X(r), X(t) ; b.hi =>l);
            }
            None => dynasm!(self.ops ; .arch aarch64 ; b =>l),
        }
    }

    /// `X(r) = v`, four 16-bit pieces (every 64-bit value encodes).
    fn imm64(&mut self, r: u8, v: u64) {
        let ops = &mut *self.ops;
        let p = |k: u32| ((v >> (16 * k)) & 0xffff) as u32;
        // `movz` sets the low half-word and clears the rest; a `movk` only
        // for each other half-word that is not zero.
        dynasm!(ops ; .arch aarch64 ; movz X(r), p(0));
        if p(1) != 0 {
            dynasm!(ops ; .arch aarch64 ; movk X(r), p(1), lsl 16);
        }
        if p(2) != 0 {
            dynasm!(ops ; .arch aarch64 ; movk X(r), p(2), lsl 32);
        }
        if p(3) != 0 {
            dynasm!(ops ; .arch aarch64 ; movk X(r), p(3), lsl 48);
        }
    }
}

impl<A: DynasmLabelApi<Relocation = Aarch64Relocation> + NewLabel> Masm for Aarch64<'_, A> {
    type Label = DynamicLabel;

    fn new_label(&mut self) -> DynamicLabel {
        self.ops.new_label()
    }

    fn bind(&mut self, label: DynamicLabel) {
        dynasm!(self.ops ; .arch aarch64 ; =>label);
    }

    fn cache_size(&self) -> (u8, u8) {
        (INT_CACHE.len() as u8, FLOAT_CACHE.len() as u8)
    }

    fn copy(&mut self, float: bool, dst: Loc, src: Loc) {
        match float {
            false => {
                let (d, s) = (ireg(dst), ireg(src));
                if d != s {
                    dynasm!(self.ops ; .arch aarch64 ; mov X(d), X(s));
                }
            }
            true => {
                let (d, s) = (dreg(dst), dreg(src));
                if d != s {
                    dynasm!(self.ops ; .arch aarch64 ; fmov D(d), D(s));
                }
            }
        }
    }

    fn copy_bits(&mut self, to_float: bool, dst: Loc, src: Loc) {
        match to_float {
            true => dynasm!(self.ops ; .arch aarch64 ; fmov D(dreg(dst)), X(ireg(src))),
            false => dynasm!(self.ops ; .arch aarch64 ; fmov X(ireg(dst)), D(dreg(src))),
        }
    }

    fn load_cached(&mut self, float: bool, k: u8, slot: u16) {
        // `slot_address` changes only `x3`, which is no scratch register.
        let (base, off) = self.slot_address(slot);
        match float {
            false => {
                let c = INT_CACHE[k as usize];
                dynasm!(self.ops ; .arch aarch64 ; ldr X(c), [X(base), off]);
            }
            true => {
                let c = FLOAT_CACHE[k as usize];
                dynasm!(self.ops ; .arch aarch64 ; ldr D(c), [X(base), off]);
            }
        }
    }

    fn spill(&mut self, slot: u16, k: u8) {
        // `slot_address` changes only `x3`, which is no scratch register.
        let (base, off) = self.slot_address(slot);
        let c = INT_CACHE[k as usize];
        dynasm!(self.ops ; .arch aarch64 ; str X(c), [X(base), off]);
    }

    fn fspill(&mut self, slot: u16, k: u8) {
        let (base, off) = self.slot_address(slot);
        let c = FLOAT_CACHE[k as usize];
        dynasm!(self.ops ; .arch aarch64 ; str D(c), [X(base), off]);
    }

    fn load(&mut self, r: Reg, slot: u16) {
        let (base, off) = self.slot_address(slot);
        dynasm!(self.ops ; .arch aarch64 ; ldr X(reg(r)), [X(base), off]);
    }

    fn store(&mut self, slot: u16, r: Reg) {
        let (base, off) = self.slot_address(slot);
        dynasm!(self.ops ; .arch aarch64 ; str X(reg(r)), [X(base), off]);
    }

    fn load_imm(&mut self, r: Reg, v: i64) {
        self.imm64(reg(r), v as u64);
    }

    fn int_op3(&mut self, op: IntOp, dst: Loc, a: Loc, b: Loc) {
        self.op_rrr(op, ireg(dst), ireg(a), ireg(b));
    }

    fn branch_if(&mut self, x: Reg, test: Test, y: Operand, l: DynamicLabel) {
        match y {
            Operand::Reg(y) => dynasm!(self.ops ; .arch aarch64 ; cmp X(reg(x)), X(reg(y))),
            Operand::Imm(v) if v < 4096 => dynasm!(self.ops ; .arch aarch64 ; cmp XSP(reg(x)), #v),
            Operand::Imm(v) => {
                self.imm64(9, v as u64);
                dynasm!(self.ops ; .arch aarch64 ; cmp X(reg(x)), x9);
            }
        }
        match test {
            Test::Eq => dynasm!(self.ops ; .arch aarch64 ; b.eq =>l),
            Test::Ne => dynasm!(self.ops ; .arch aarch64 ; b.ne =>l),
            Test::Ule => dynasm!(self.ops ; .arch aarch64 ; b.ls =>l),
        }
    }

    fn heap_word(&mut self, r: Reg, off: i32) {
        dynasm!(self.ops ; .arch aarch64 ; ldr X(reg(r)), [x22, #Ctx::HEAP as u32]);
        self.load_word(r, r, off);
    }

    fn load_word(&mut self, r: Reg, base: Reg, off: i32) {
        if self.far_offset(off, 8) {
            dynasm!(self.ops ; .arch aarch64 ; ldr X(reg(r)), [X(reg(base)), x9]);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; ldr X(reg(r)), [X(reg(base)), off as u32]);
        }
    }

    fn read_cached(&mut self, float: bool, k: u8, base: Reg, at: Word) {
        self.cached_word(false, float, k, base, at);
    }

    fn write_cached(&mut self, float: bool, k: u8, base: Reg, at: Word) {
        self.cached_word(true, float, k, base, at);
    }

    fn store_word(&mut self, base: Reg, off: i32, r: Reg) {
        if self.far_offset(off, 8) {
            dynasm!(self.ops ; .arch aarch64 ; str X(reg(r)), [X(reg(base)), x9]);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; str X(reg(r)), [X(reg(base)), off as u32]);
        }
    }

    fn load_narrow(&mut self, r: Reg, base: Reg, off: i32, bytes: u8) {
        let scale = if bytes == 1 { 1 } else { 4 };
        let far = self.far_offset(off, scale);
        let ops = &mut *self.ops;
        match (bytes, far) {
            (1, false) => dynasm!(ops ; .arch aarch64 ; ldrb W(reg(r)), [X(reg(base)), off as u32]),
            (1, true) => dynasm!(ops ; .arch aarch64 ; ldrb W(reg(r)), [X(reg(base)), x9]),
            (_, false) => dynasm!(ops ; .arch aarch64 ; ldr W(reg(r)), [X(reg(base)), off as u32]),
            (_, true) => dynasm!(ops ; .arch aarch64 ; ldr W(reg(r)), [X(reg(base)), x9]),
        }
    }

    fn store_narrow(&mut self, base: Reg, off: i32, r: Reg, bytes: u8) {
        let scale = if bytes == 1 { 1 } else { 4 };
        let far = self.far_offset(off, scale);
        let ops = &mut *self.ops;
        match (bytes, far) {
            (1, false) => dynasm!(ops ; .arch aarch64 ; strb W(reg(r)), [X(reg(base)), off as u32]),
            (1, true) => dynasm!(ops ; .arch aarch64 ; strb W(reg(r)), [X(reg(base)), x9]),
            (_, false) => dynasm!(ops ; .arch aarch64 ; str W(reg(r)), [X(reg(base)), off as u32]),
            (_, true) => dynasm!(ops ; .arch aarch64 ; str W(reg(r)), [X(reg(base)), x9]),
        }
    }

    fn add_offset(&mut self, r: Reg, base: Reg, off: i32) {
        if (0..4096).contains(&off) {
            dynasm!(self.ops ; .arch aarch64 ; add XSP(reg(r)), XSP(reg(base)), off as u32);
        } else {
            self.imm64(9, off as i64 as u64);
            dynasm!(self.ops ; .arch aarch64 ; add X(reg(r)), X(reg(base)), x9);
        }
    }

    fn load_env(&mut self, r: Reg) {
        dynasm!(self.ops
            ; .arch aarch64
            ; sub x9, x23, frame_layout::SIZE as u32
            ; ldr X(reg(r)), [x9, #frame_layout::ENV as u32]
        );
    }

    fn ctx_word(&mut self, r: Reg, off: i32) {
        if self.far_offset(off, 8) {
            dynasm!(self.ops ; .arch aarch64 ; ldr X(reg(r)), [x22, x9]);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; ldr X(reg(r)), [x22, off as u32]);
        }
    }

    fn set_ctx_word(&mut self, off: i32, r: Reg) {
        if self.far_offset(off, 8) {
            dynasm!(self.ops ; .arch aarch64 ; str X(reg(r)), [x22, x9]);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; str X(reg(r)), [x22, off as u32]);
        }
    }

    fn load_element(&mut self, r: Reg, base: Reg, index: Reg) {
        dynasm!(self.ops
            ; .arch aarch64
            ; ldr X(reg(r)), [X(reg(base)), X(reg(index)), lsl #3]
        );
    }

    fn store_element(&mut self, base: Reg, index: Reg, r: Reg) {
        dynasm!(self.ops
            ; .arch aarch64
            ; str X(reg(r)), [X(reg(base)), X(reg(index)), lsl #3]
        );
    }

    fn add_scaled(&mut self, r: Reg, index: Reg, stride: u32) {
        let (r, i) = (reg(r), reg(index));
        match stride {
            1 => dynasm!(self.ops ; .arch aarch64 ; add X(r), X(r), X(i)),
            4 => dynasm!(self.ops ; .arch aarch64 ; add X(r), X(r), X(i), lsl #2),
            8 => dynasm!(self.ops ; .arch aarch64 ; add X(r), X(r), X(i), lsl #3),
            // 40, the usual entry: 5 * 8 as two shifted additions.
            40 => dynasm!(self.ops
                ; .arch aarch64
                ; add x9, X(i), X(i), lsl #2
                ; add X(r), X(r), x9, lsl #3
            ),
            _ => {
                self.imm64(9, stride as u64);
                dynasm!(self.ops ; .arch aarch64 ; madd X(r), X(i), x9, X(r));
            }
        }
    }

    fn set_cond(&mut self, cond: Cmp) {
        let ops = &mut *self.ops;
        dynasm!(ops ; .arch aarch64 ; cmp x1, x2);
        match cond {
            Cmp::Lt => dynasm!(ops ; .arch aarch64 ; cset x1, lt),
            Cmp::Le => dynasm!(ops ; .arch aarch64 ; cset x1, le),
            Cmp::Gt => dynasm!(ops ; .arch aarch64 ; cset x1, gt),
            Cmp::Ge => dynasm!(ops ; .arch aarch64 ; cset x1, ge),
            Cmp::Eq => dynasm!(ops ; .arch aarch64 ; cset x1, eq),
            Cmp::Ne => dynasm!(ops ; .arch aarch64 ; cset x1, ne),
        }
    }

    fn neg(&mut self) {
        dynasm!(self.ops ; .arch aarch64 ; neg x1, x1);
    }

    fn abs(&mut self) {
        // `MIN` negates to itself.
        dynasm!(self.ops ; .arch aarch64 ; cmp x1, 0 ; cneg x1, x1, lt);
    }

    fn div(&mut self, rem: bool) {
        // `sdiv` by zero gives 0 and `MIN / -1` gives `MIN`: the lowering
        // leaves for both divisors anyway, as on every machine.
        dynasm!(self.ops ; .arch aarch64 ; sdiv x3, x1, x2);
        if rem {
            dynasm!(self.ops ; .arch aarch64 ; msub x1, x3, x2, x1);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; mov x1, x3);
        }
    }

    fn div_magic(&mut self, d: i64, (m, shift, add, sub): (i64, u32, bool, bool), rem: bool) {
        if let Some(s) = crate::masm::power_of_two(d) {
            // `n / 2^s` toward zero: a negative `n` biased by `2^s - 1`
            // (its sign's bits, the low `s` of them), then shifted.
            let (s, bias) = (s as u32, 64 - s as u32);
            dynasm!(self.ops
                ; .arch aarch64
                ; asr x3, x1, 63
                ; add x3, x1, x3, lsr bias
                ; asr x3, x3, s
            );
            match rem {
                true => dynasm!(self.ops ; .arch aarch64 ; sub x1, x1, x3, lsl s),
                false => dynasm!(self.ops ; .arch aarch64 ; mov x1, x3),
            }
            return;
        }
        self.imm64(10, m as u64);
        let ops = &mut *self.ops;
        dynasm!(ops ; .arch aarch64 ; smulh x3, x1, x10);
        if add {
            dynasm!(ops ; .arch aarch64 ; add x3, x3, x1);
        }
        if sub {
            dynasm!(ops ; .arch aarch64 ; sub x3, x3, x1);
        }
        let shift = shift & 63;
        dynasm!(ops
            ; .arch aarch64
            ; asr x3, x3, shift
            ; add x3, x3, x3, lsr 63
        );
        if rem {
            self.imm64(10, d as u64);
            dynasm!(self.ops ; .arch aarch64 ; msub x1, x3, x10, x1);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; mov x1, x3);
        }
    }

    fn branch3(&mut self, cond: Cmp, a: Loc, b: Loc, l: DynamicLabel) {
        dynasm!(self.ops ; .arch aarch64 ; cmp X(ireg(a)), X(ireg(b)));
        self.bcc(cond, l);
    }

    fn branch3_imm(&mut self, cond: Cmp, a: Loc, v: i64, l: DynamicLabel) {
        let a = ireg(a);
        // `cmp` takes 12 bits, `cmn` (compare with the negation) too.
        match v {
            0..=4095 => dynasm!(self.ops ; .arch aarch64 ; cmp XSP(a), v as u32),
            -4095..=-1 => dynasm!(self.ops ; .arch aarch64 ; cmn XSP(a), (-v) as u32),
            _ => {
                self.imm64(9, v as u64);
                dynasm!(self.ops ; .arch aarch64 ; cmp X(a), x9);
            }
        }
        self.bcc(cond, l);
    }

    fn int_op3_imm(&mut self, op: IntOp, dst: Loc, a: Loc, v: i64) {
        let (d, a) = (ireg(dst), ireg(a));
        match (op, v) {
            (IntOp::Add, 0..=4095) | (IntOp::Sub, -4095..=-1) => {
                dynasm!(self.ops ; .arch aarch64 ; add XSP(d), XSP(a), v.unsigned_abs() as u32)
            }
            (IntOp::Sub, 0..=4095) | (IntOp::Add, -4095..=-1) => {
                dynasm!(self.ops ; .arch aarch64 ; sub XSP(d), XSP(a), v.unsigned_abs() as u32)
            }
            // Shift counts are taken mod 64, as the language takes them.
            (IntOp::Shl, _) => dynasm!(self.ops ; .arch aarch64 ; lsl X(d), X(a), (v & 63) as u32),
            (IntOp::Shr, _) => dynasm!(self.ops ; .arch aarch64 ; asr X(d), X(a), (v & 63) as u32),
            _ => {
                // `x9`: no operand is.
                self.imm64(9, v as u64);
                self.op_rrr(op, d, a, 9);
            }
        }
    }

    fn jump(&mut self, l: DynamicLabel) {
        dynasm!(self.ops ; .arch aarch64 ; b =>l);
    }

    fn entry(&mut self) {
        dynasm!(self.ops
            ; .arch aarch64
            ; stp x29, x30, [sp, #-64]!
            ; mov x29, sp
            ; stp x19, x20, [sp, #16]
            ; stp x21, x22, [sp, #32]
            ; str x23, [sp, #48]
            ; mov x19, x0
            ; mov x20, x1
            ; ldr x21, [x1, #JitState::COUNT as u32]
            ; mov x22, x3
            ; mov x9, sp
            ; str x9, [x3, #Ctx::SAVED_SP as u32]
        );
        self.load_top();
        dynasm!(self.ops ; .arch aarch64 ; br x2);
    }

    fn runtime(&mut self, pc: u32, trapped: DynamicLabel) {
        dynasm!(self.ops
            ; .arch aarch64
            ; str x21, [x20, #JitState::COUNT as u32]
        );
        self.store_top();
        dynasm!(self.ops
            ; .arch aarch64
            ; mov x0, x22
            ; mov x2, x20
        );
        self.imm64(1, pc as u64);
        self.imm64(16, crate::run_shim as *const () as usize as u64);
        dynasm!(self.ops
            ; .arch aarch64
            ; blr x16
            ; ldr x21, [x20, #JitState::COUNT as u32]
            ; ldr x19, [x22, #Ctx::FRAME as u32]
        );
        self.load_top();
        dynasm!(self.ops ; .arch aarch64 ; cbz w0, =>trapped);
    }

    fn call_heap(&mut self, f: HeapFn, x: u64, y: Arg, leave: DynamicLabel) {
        match y {
            Arg::Imm(y) => self.imm64(3, y),
            Arg::Env => dynasm!(self.ops
                ; .arch aarch64
                ; sub x3, x23, frame_layout::SIZE as u32
                ; ldr x3, [x3, #frame_layout::ENV as u32]
            ),
            Arg::Metered => dynasm!(self.ops
                ; .arch aarch64
                ; ldr x3, [x20, #JitState::METERED as u32]
            ),
        }
        dynasm!(self.ops
            ; .arch aarch64
            ; ldr x0, [x22, #Ctx::HEAP as u32]
            ; mov x1, x19
        );
        self.imm64(2, x);
        self.imm64(16, f as *const () as usize as u64);
        dynasm!(self.ops ; .arch aarch64 ; blr x16 ; cbz w0, =>leave);
    }

    fn exit_path(&mut self) {
        let exit = self.exit;
        dynasm!(self.ops
            ; .arch aarch64
            ; =>exit
            // Back to the stub's stack, from however deep the native
            // calls went.
            ; ldr x9, [x22, #Ctx::SAVED_SP as u32]
            ; mov sp, x9
            ; str x21, [x20, #JitState::COUNT as u32]
        );
        self.store_top();
        dynasm!(self.ops
            ; .arch aarch64
            ; ldr x23, [sp, #48]
            ; ldp x19, x20, [sp, #16]
            ; ldp x21, x22, [sp, #32]
            ; ldp x29, x30, [sp], #64
            ; ret
        );
        if let Some(l) = self.returns.take() {
            dynasm!(self.ops ; .arch aarch64 ; =>l);
            self.return_itself();
        }
        // The float constants, read where they are (no code after them).
        dynasm!(self.ops ; .arch aarch64 ; .align 8);
        for (bits, l) in std::mem::take(&mut self.pool) {
            dynasm!(self.ops ; .arch aarch64 ; =>l ; .u64 bits);
        }
    }

    fn exit(&mut self, exit: u64) {
        self.imm64(0, exit);
        let l = self.exit;
        dynasm!(self.ops ; .arch aarch64 ; b =>l);
    }

    fn count(&mut self, n: u32) {
        // An addition's immediate holds 12 bits.
        let mut left = n;
        while left > 0 {
            let k = left.min(4095);
            dynasm!(self.ops ; .arch aarch64 ; add x21, x21, k);
            left -= k;
        }
    }

    fn branch_if_due(&mut self, due: DynamicLabel) {
        // `x11` only: call paths make this check with other scratch
        // registers in use.
        dynasm!(self.ops
            ; .arch aarch64
            ; ldr x11, [x20, #JitState::LIMIT as u32]
            ; cmp x21, x11
            ; b.hs =>due
        );
    }

    fn enter_checks(&mut self, depth: u8, need: u32, leave: DynamicLabel) {
        // frames live + depth >= max_depth: the interpreter traps.
        self.imm64(11, depth as u64 * frame_layout::SIZE as u64);
        dynasm!(self.ops
            ; .arch aarch64
            ; add x11, x23, x11
            ; ldr x12, [x22, #Ctx::MAX_DEPTH as u32]
            ; cmp x11, x12
            ; b.hs =>leave
            // The running frame's base (its record's) + need > the limit.
            ; sub x12, x23, frame_layout::SIZE as u32
            ; ldr w11, [x12, #frame_layout::BASE as u32]
        );
        self.above_room(11, 13, need, leave);
    }

    fn native_call(&mut self, c: &NativeCall, exit: DynamicLabel, own: Option<DynamicLabel>) {
        dynasm!(self.ops
            ; .arch aarch64
            ; ldr x11, [x22, #Ctx::ROOM as u32]
            ; cmp x23, x11
            ; b.hs =>exit
        );
        self.branch_if_due(exit);
        if own.is_none() {
            self.imm64(13, c.func as u64 * 8);
            dynasm!(self.ops
                ; .arch aarch64
                ; ldr x12, [x22, #Ctx::TABLE as u32]
                ; ldr x12, [x12, x13]
                ; cbz x12, =>exit
            );
        }
        dynasm!(self.ops
            ; .arch aarch64
            // x13 = the callee's record, w14 = the caller's base.
            ; mov x13, x23
            ; sub x15, x13, frame_layout::SIZE as u32
            ; ldr w14, [x15, #frame_layout::BASE as u32]
        );
        self.above_room(14, 16, c.need, exit);
        self.imm64(15, c.func as u64);
        dynasm!(self.ops ; .arch aarch64 ; str w15, [x13, #frame_layout::FUNC as u32]);
        self.imm64(15, c.start as u64);
        dynasm!(self.ops ; .arch aarch64 ; str w15, [x13, #frame_layout::PC as u32]);
        self.imm64(15, c.args as u64);
        dynasm!(self.ops
            ; .arch aarch64
            ; add w15, w14, w15
            ; str w15, [x13, #frame_layout::BASE as u32]
        );
        // A call whose result goes where its arguments began (the usual
        // one) has `ret` = `base`, in `w15` already.
        if c.ret != c.args {
            self.imm64(15, c.ret as u64);
            dynasm!(self.ops ; .arch aarch64 ; add w15, w14, w15);
        }
        self.push_record(c.pc, None);
        let callee = own.map_or(Callee::Reg(12), Callee::Own);
        self.call_frame(c.args, callee, c.result.is_some());
    }

    fn closure_call(&mut self, c: &ClosureCall, exit: DynamicLabel) {
        self.branch_if_due(exit);
        let (slow, call) = (self.ops.new_label(), self.ops.new_label());
        if let (Some(l), Some(room)) = (crate::layout::heap(), stack_room(c.args as u32)) {
            // What `closure_target` does, inline: anything unusual is
            // left to it.
            let sz = frame_layout::SIZE as u32;
            dynasm!(self.ops
                ; .arch aarch64
                ; ldr x11, [x22, #Ctx::ROOM as u32]
                ; cmp x23, x11
                ; b.hs =>slow
            );
            // x1 = the closure, x4 = its table entry.
            self.load(Reg::A, c.args - 1);
            crate::access::object(self, l, Some(tern_vm::heap::layout::CLOSURE), slow);
            dynasm!(self.ops
                ; .arch aarch64
                // w9 = its function, x12 = that function's code.
                ; ldr w9, [x4, #l.closure_func as u32]
                ; ldr x11, [x22, #Ctx::CALLEE_COUNT as u32]
                ; cmp x9, x11
                ; b.hs =>slow
                ; lsl x16, x9, 3
                ; ldr x12, [x22, #Ctx::TABLE as u32]
                ; ldr x12, [x12, x16]
                ; cbz x12, =>slow
                // x10 = its first instruction (low half) and frame size
                // (high half), w14 = the caller's base, x13 = the
                // callee's record.
                ; ldr x10, [x22, #Ctx::CALLEE_WORDS as u32]
                ; ldr x10, [x10, x16]
                ; mov x13, x23
                ; sub x15, x13, sz
                ; ldr w14, [x15, #frame_layout::BASE as u32]
                ; lsr x11, x10, 32
                ; add x11, x11, x14
            );
            self.imm64(15, room as u64);
            dynasm!(self.ops
                ; .arch aarch64
                ; cmp x11, x15
                ; b.hi =>slow
                ; str w9, [x13, #frame_layout::FUNC as u32]
                ; str w10, [x13, #frame_layout::PC as u32]
            );
            self.imm64(15, c.args as u64);
            dynasm!(self.ops
                ; .arch aarch64
                ; add w15, w14, w15
                ; str w15, [x13, #frame_layout::BASE as u32]
                ; sub w15, w15, 1
            );
            self.push_record(c.pc, Some(1));
            dynasm!(self.ops ; .arch aarch64 ; mov x0, x12 ; b =>call);
        }
        dynasm!(self.ops ; .arch aarch64 ; =>slow);
        self.store_top();
        dynasm!(self.ops
            ; .arch aarch64
            ; mov x0, x22
            ; mov x1, x19
        );
        self.imm64(2, c.args as u64 | (c.pc as u64) << 32);
        self.imm64(16, crate::closure_target as *const () as usize as u64);
        dynasm!(self.ops
            ; .arch aarch64
            ; blr x16
        );
        self.load_top();
        dynasm!(self.ops ; .arch aarch64 ; cbz x0, =>exit ; =>call);
        self.call_frame(c.args, Callee::Reg(0), c.result.is_some());
    }

    fn ret(&mut self, slot: Option<u16>, exit: u64) {
        let native = self.ops.new_label();
        dynasm!(self.ops
            ; .arch aarch64
            // Called by the driver, the stack is where the entry stub
            // left it.
            ; ldr x9, [x22, #Ctx::SAVED_SP as u32]
            ; mov x10, sp
            ; cmp x10, x9
            ; b.ne =>native
        );
        // The result is in `x1` (`A`); the driver reads it from its slot.
        if let Some(s) = slot {
            self.store(s, Reg::A);
        }
        // Unless compiled code makes the return itself (its caller's
        // machine frame was given up where the driver entered afresh).
        let stub = *self.returns.get_or_insert_with(|| self.ops.new_label());
        self.imm64(0, exit);
        dynasm!(self.ops ; .arch aarch64 ; b =>stub);
        dynasm!(self.ops ; .arch aarch64 ; =>native);
        if slot.is_some() {
            dynasm!(self.ops ; .arch aarch64 ; mov x0, x1);
        }
        dynasm!(self.ops
            ; .arch aarch64
            ; sub x23, x23, frame_layout::SIZE as u32
            ; ldr x9, [sp, #8]
            ; br x9
        );
    }

    fn fload(&mut self, r: Reg, slot: u16) {
        let (base, off) = self.slot_address(slot);
        dynasm!(self.ops ; .arch aarch64 ; ldr D(reg(r)), [X(base), off]);
    }

    fn fstore(&mut self, slot: u16, r: Reg) {
        let (base, off) = self.slot_address(slot);
        dynasm!(self.ops ; .arch aarch64 ; str D(reg(r)), [X(base), off]);
    }

    fn float_op3(&mut self, op: FloatOp, dst: Loc, a: Loc, b: Loc) {
        let (d, a, b) = (dreg(dst), dreg(a), dreg(b));
        // One operation each: never `fmadd`/`fmsub`.
        let ops = &mut *self.ops;
        match op {
            FloatOp::Add => dynasm!(ops ; .arch aarch64 ; fadd D(d), D(a), D(b)),
            FloatOp::Sub => dynasm!(ops ; .arch aarch64 ; fsub D(d), D(a), D(b)),
            FloatOp::Mul => dynasm!(ops ; .arch aarch64 ; fmul D(d), D(a), D(b)),
            FloatOp::Div => dynasm!(ops ; .arch aarch64 ; fdiv D(d), D(a), D(b)),
        }
    }

    fn fbranch3(&mut self, cond: Cmp, negated: bool, a: Loc, b: Loc, l: DynamicLabel) {
        // After `fcmp`, unordered sets C and V: `mi`, `ls`, `gt`, `ge`
        // and `eq` are false for it, their negations `pl`, `hi`, `le`,
        // `lt` and `ne` true.
        let ops = &mut *self.ops;
        dynasm!(ops ; .arch aarch64 ; fcmp D(dreg(a)), D(dreg(b)));
        match (cond, negated) {
            (Cmp::Lt, false) => dynasm!(ops ; .arch aarch64 ; b.mi =>l),
            (Cmp::Lt, true) => dynasm!(ops ; .arch aarch64 ; b.pl =>l),
            (Cmp::Le, false) => dynasm!(ops ; .arch aarch64 ; b.ls =>l),
            (Cmp::Le, true) => dynasm!(ops ; .arch aarch64 ; b.hi =>l),
            (Cmp::Gt, false) => dynasm!(ops ; .arch aarch64 ; b.gt =>l),
            (Cmp::Gt, true) => dynasm!(ops ; .arch aarch64 ; b.le =>l),
            (Cmp::Ge, false) => dynasm!(ops ; .arch aarch64 ; b.ge =>l),
            (Cmp::Ge, true) => dynasm!(ops ; .arch aarch64 ; b.lt =>l),
            (Cmp::Eq, false) | (Cmp::Ne, true) => dynasm!(ops ; .arch aarch64 ; b.eq =>l),
            (Cmp::Eq, true) | (Cmp::Ne, false) => dynasm!(ops ; .arch aarch64 ; b.ne =>l),
        }
    }

    fn float_to_int(&mut self, _leave: DynamicLabel) {
        // `fcvtzs` saturates and takes NaN to 0: the language's rule.
        dynasm!(self.ops ; .arch aarch64 ; fcvtzs x1, d1);
    }

    fn fload_imm(&mut self, r: Reg, bits: u64) {
        // The constant's label in the pool (see `exit_path`).
        let c = match self.pool.get(&bits) {
            Some(&c) => c,
            None => {
                let c = self.ops.new_label();
                self.pool.insert(bits, c);
                c
            }
        };
        dynasm!(self.ops ; .arch aarch64 ; ldr D(reg(r)), =>c);
    }

    fn fset_cond(&mut self, cond: Cmp) {
        // As `fbranch`: each condition is false when unordered.
        let ops = &mut *self.ops;
        dynasm!(ops ; .arch aarch64 ; fcmp d1, d2);
        match cond {
            Cmp::Lt => dynasm!(ops ; .arch aarch64 ; cset x1, mi),
            Cmp::Le => dynasm!(ops ; .arch aarch64 ; cset x1, ls),
            Cmp::Gt => dynasm!(ops ; .arch aarch64 ; cset x1, gt),
            Cmp::Ge => dynasm!(ops ; .arch aarch64 ; cset x1, ge),
            Cmp::Eq => dynasm!(ops ; .arch aarch64 ; cset x1, eq),
            Cmp::Ne => dynasm!(ops ; .arch aarch64 ; cset x1, ne),
        }
    }

    fn fneg(&mut self) {
        dynasm!(self.ops ; .arch aarch64 ; fneg d1, d1);
    }

    fn fabs(&mut self) {
        dynasm!(self.ops ; .arch aarch64 ; fabs d1, d1);
    }

    fn fsqrt(&mut self) {
        dynasm!(self.ops ; .arch aarch64 ; fsqrt d1, d1);
    }

    fn call_float(&mut self, f: FloatFn) {
        // Arguments in `d0`/`d1`, the result in `d0`; the entry stub
        // saved the link register this clobbers.
        dynasm!(self.ops ; .arch aarch64 ; fmov d0, d1 ; fmov d1, d2);
        self.imm64(16, f as usize as u64);
        dynasm!(self.ops ; .arch aarch64 ; blr x16 ; fmov d1, d0);
    }

    fn int_to_float(&mut self) {
        dynasm!(self.ops ; .arch aarch64 ; scvtf d1, x1);
    }
}

/// The machine code of function `func` of `prog`, assembled on any host:
/// for tests on x86-64 and for listings.
pub fn assemble(prog: &Program, func: u32) -> Option<Vec<u8>> {
    let mut asm = dynasmrt::VecAssembler::<Aarch64Relocation>::new(0);
    lower_for_listing(&mut Aarch64::new(&mut asm), prog, func)?;
    asm.finalize().ok()
}

/// Function `func` of `prog` compiled for this (aarch64) host.
#[cfg(target_arch = "aarch64")]
pub fn compile(prog: &Program, func: u32, fixed: &Fixed) -> Option<crate::Function> {
    let mut asm = dynasmrt::aarch64::Assembler::new().ok()?;
    let labels = lower(&mut Aarch64::new(&mut asm), prog, func, fixed)?;
    crate::finish(asm, labels, prog, func)
}
