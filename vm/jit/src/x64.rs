//! The x86-64 backend (System V): the frame base lives in `rbx`, the
//! state in `r12`, the count in `r13`, the context in `r14` (all
//! preserved across calls, saved by the entry stub), and the address
//! one past the live frame records in `rbp` (the next record's: see
//! `Ctx::records`; the count it stands for is written back to the
//! runtime's around every call out that reads it, and at every exit);
//! `A` is `rax`
//! (floats `xmm0`), `B` is `rcx` (`xmm1`), `C` is `rdx`, and `rsi` is
//! scratch within one operation (as `rdx` is in those that do not take
//! `C`, and `rdi` and `r8` in calls out); `r8`-`r11`, `rdi`, `r15` and
//! `xmm3`-`xmm15` are the cache registers (see `INT_CACHE`); the exit is
//! returned in `rax`. Float
//! comparisons use `ucomisd`, whose unordered result (a NaN) sets the
//! zero, parity and carry flags: each condition is the jump that is false
//! for it (see `fbranch`). No VEX instruction is emitted, so no fused
//! multiply-add. A slot's offset (at most 65,535 * 8) always fits a
//! 32-bit displacement.

// `dynasm!` converts a dynamic register operand with `.into()`, also when
// it already has the register type.
#![allow(clippy::useless_conversion)]

#[cfg(target_arch = "x86_64")]
use crate::lower::lower;
use crate::lower::lower_for_listing;
use crate::masm::{stack_room, NATIVE_DEPTH, RECORD_SHIFT};
use crate::masm::{
    Arg, ClosureCall, Cmp, FloatFn, FloatOp, HeapFn, IntOp, Loc, Masm, NativeCall, NewLabel,
    Operand, Reg, Test, Word,
};
use crate::Ctx;
#[cfg(target_arch = "x86_64")]
use crate::Function;
use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmLabelApi};
use indexmap::IndexMap;
#[cfg(target_arch = "x86_64")]
use tern_vm::jit::Fixed;
use tern_vm::jit::{frame_layout, JitState};
use tern_vm::Program;

/// Emits x86-64 code into any dynasmrt assembler for it.
pub struct X64<'a, A> {
    ops: &'a mut A,
    exit: DynamicLabel,
    /// Float constants, after the code: each one's bits and label.
    pool: IndexMap<u64, DynamicLabel>,
    /// The returns' way into `return_itself`, emitted once after the code.
    returns: Option<DynamicLabel>,
}

impl<'a, A: NewLabel> X64<'a, A> {
    pub fn new(ops: &'a mut A) -> X64<'a, A> {
        let exit = ops.new_label();
        X64 {
            ops,
            exit,
            pool: IndexMap::new(),
            returns: None,
        }
    }
}

/// The cache registers (see `Masm::cache_size`): `r8`-`r11`, `rdi` and
/// `r15`, and `xmm3`-`xmm15`: what no operation that keeps the cache uses
/// (`rdi` and `r8` only the calls out, which forget it), and `r15`, which
/// the entry stub saves and restores for the caller.
const INT_CACHE: [u8; 6] = [8, 9, 10, 11, 7, 15];
const FLOAT_CACHE: [u8; 13] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

impl<A: DynasmLabelApi<Relocation = X64Relocation> + NewLabel> X64<'_, A> {
    /// `d = d op b`, machine registers; `d` is not `rcx`, which a shift
    /// takes its count in.
    fn op_rr(&mut self, op: IntOp, d: u8, b: u8) {
        let ops = &mut *self.ops;
        match op {
            IntOp::Add => dynasm!(ops ; .arch x64 ; add Rq(d), Rq(b)),
            IntOp::Sub => dynasm!(ops ; .arch x64 ; sub Rq(d), Rq(b)),
            IntOp::Mul => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(b)),
            IntOp::And => dynasm!(ops ; .arch x64 ; and Rq(d), Rq(b)),
            IntOp::Or => dynasm!(ops ; .arch x64 ; or Rq(d), Rq(b)),
            IntOp::Xor => dynasm!(ops ; .arch x64 ; xor Rq(d), Rq(b)),
            // The machine takes the count mod 64, as the language does.
            IntOp::Shl | IntOp::Shr => {
                if b != 1 {
                    dynasm!(ops ; .arch x64 ; mov rcx, Rq(b));
                }
                match op {
                    IntOp::Shl => dynasm!(ops ; .arch x64 ; shl Rq(d), cl),
                    _ => dynasm!(ops ; .arch x64 ; sar Rq(d), cl),
                }
            }
            IntOp::Min => dynasm!(ops ; .arch x64 ; cmp Rq(d), Rq(b) ; cmovg Rq(d), Rq(b)),
            IntOp::Max => dynasm!(ops ; .arch x64 ; cmp Rq(d), Rq(b) ; cmovl Rq(d), Rq(b)),
        }
    }

    /// `rbp` = the address one past the live records, from the runtime's
    /// count of them.
    fn load_top(&mut self) {
        dynasm!(self.ops
            ; .arch x64
            ; mov rbp, QWORD [r14 + Ctx::DEPTH]
            ; mov rbp, QWORD [rbp]
            ; shl rbp, RECORD_SHIFT as i8
            ; add rbp, QWORD [r14 + Ctx::RECORDS]
        );
    }

    /// The runtime's count of live records = what `rbp` stands for
    /// (`rcx` and `rdx` are scratch).
    fn store_top(&mut self) {
        dynasm!(self.ops
            ; .arch x64
            ; mov rcx, rbp
            ; sub rcx, QWORD [r14 + Ctx::RECORDS]
            ; shr rcx, RECORD_SHIFT as i8
            ; mov rdx, QWORD [r14 + Ctx::DEPTH]
            ; mov QWORD [rdx], rcx
        );
    }

    /// The return of the frame whose record is the last (`rbp` one past
    /// it), its exit in `rax` (`Exit::Return`, its result stored in its
    /// slot), made as the driver makes it (see `Frames::stop`) where its
    /// caller's compiled code has an entry after the call: the record
    /// popped, the result stored where the call wanted it, the call's
    /// `after` counted, the caller's base in `rbx`, room for
    /// `NATIVE_DEPTH` calls from here, and a jump to that entry. Else to
    /// the exit, having changed nothing. Every register but the fixed
    /// ones and `rax` is free: the entry assumes nothing.
    fn return_itself(&mut self) {
        use crate::Resume;
        let sz = frame_layout::SIZE;
        let native = NATIVE_DEPTH as i32 * sz;
        let (driver, unit, below) = (self.exit, self.ops.new_label(), self.ops.new_label());
        dynasm!(self.ops
            ; .arch x64
            ; cmp rbp, QWORD [r14 + Ctx::STOP_TOP]
            ; jb =>driver
            // rcx = the caller's `Resume`.
            ; mov ecx, DWORD [rbp + (frame_layout::FUNC - 2 * sz)]
            ; cmp rcx, QWORD [r14 + Ctx::RESUME_COUNT]
            ; jae =>driver
            ; shl rcx, Resume::SHIFT as i8
            ; add rcx, QWORD [r14 + Ctx::RESUMES]
            // rdx = the call's index in the caller, rsi = the next's.
            // (Both inside: a call's pc below `start` wraps around.)
            ; mov edx, DWORD [rbp + (frame_layout::RET_PC - sz)]
            ; sub rdx, QWORD [rcx + Resume::START]
            ; cmp rdx, QWORD [rcx + Resume::LEN]
            ; jae =>driver
            ; lea rsi, [rdx + 1]
            ; cmp rsi, QWORD [rcx + Resume::LEN]
            ; jae =>driver
            // rdi = the entry there.
            ; mov rdi, QWORD [rcx + Resume::ENTRIES]
            ; mov rdi, QWORD [rdi + rsi * 8]
            ; test rdi, rdi
            ; jz =>driver
            ; mov rsi, QWORD [rcx + Resume::AFTERS]
            ; movzx esi, BYTE [rsi + rdx]
            ; add r13, rsi
            // r8 = the base (slots as u32s). A result (`Return(Some(s))`
            // is `s << 3`) goes to `ret`, which may lie below the base (a
            // closure's): a signed distance in slots.
            ; mov r8d, DWORD [rbp + (frame_layout::BASE - sz)]
            ; test al, 7
            ; jnz =>unit
            ; shr rax, 3
            ; mov rdx, QWORD [rbx + rax * 8]
            ; mov ecx, DWORD [rbp + (frame_layout::RET - sz)]
            ; sub rcx, r8
            ; mov QWORD [rbx + rcx * 8], rdx
            ; =>unit
            ; mov ecx, DWORD [rbp + (frame_layout::RET_BASE - sz)]
            ; sub r8, rcx
            ; shl r8, 3
            ; sub rbx, r8
            ; sub rbp, sz
            ; lea rax, [rbp + native]
            ; mov rcx, QWORD [r14 + Ctx::BUFFER_ROOM]
            ; cmp rax, rcx
            ; jbe =>below
            ; mov rax, rcx
            ; =>below
            ; mov QWORD [r14 + Ctx::ROOM], rax
            ; jmp rdi
        );
    }

    /// Jumps to `l` if a frame needing `need` slots may not start at base
    /// `r` (a 32-bit slot index, zero-extended).
    fn above_room(&mut self, r: u8, need: u32, l: DynamicLabel) {
        match stack_room(need) {
            // `room < 2^31`: the immediate is not sign-extended negative.
            Some(room) if room < 1 << 31 => {
                dynasm!(self.ops ; .arch x64 ; cmp Rd(r), room as i32 ; ja =>l)
            }
            _ => dynasm!(self.ops ; .arch x64 ; jmp =>l),
        }
    }

    /// Calls `callee`'s code with the frame base moved `args` slots on
    /// (its record pushed already), and moves it back.
    fn call_frame(&mut self, args: u16, callee: Callee) {
        // One push keeps the callee's `rsp` 16-byte aligned.
        dynasm!(self.ops ; .arch x64 ; push rbx ; add rbx, (args as i32) * 8);
        match callee {
            Callee::Own(l) => dynasm!(self.ops ; .arch x64 ; call =>l),
            Callee::Reg(r) => dynasm!(self.ops ; .arch x64 ; call Rq(r)),
        }
        dynasm!(self.ops ; .arch x64 ; pop rbx);
    }

    /// `d = d op k`, the immediate sign-extended.
    fn op_ri(&mut self, op: IntOp, d: u8, k: i32) {
        let ops = &mut *self.ops;
        // Shift counts are taken mod 64, as the language takes them.
        let shift = (k & 63) as i8;
        match op {
            IntOp::Add => dynasm!(ops ; .arch x64 ; add Rq(d), k),
            IntOp::Sub => dynasm!(ops ; .arch x64 ; sub Rq(d), k),
            IntOp::Mul => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(d), k),
            IntOp::And => dynasm!(ops ; .arch x64 ; and Rq(d), k),
            IntOp::Or => dynasm!(ops ; .arch x64 ; or Rq(d), k),
            IntOp::Xor => dynasm!(ops ; .arch x64 ; xor Rq(d), k),
            IntOp::Shl => dynasm!(ops ; .arch x64 ; shl Rq(d), shift),
            IntOp::Shr => dynasm!(ops ; .arch x64 ; sar Rq(d), shift),
            IntOp::Min | IntOp::Max => {
                dynasm!(ops ; .arch x64 ; mov rsi, QWORD k as i64);
                self.op_rr(op, d, RSI);
            }
        }
    }

    /// `d = v`, in the shortest form (none of which touches the flags):
    /// a 32-bit move zero-extends, a sign-extended 32-bit immediate
    /// covers small negatives, `movabs` the rest.
    fn mov_imm(&mut self, d: u8, v: i64) {
        if let Ok(k) = u32::try_from(v) {
            dynasm!(self.ops ; .arch x64 ; mov Rd(d), DWORD k as i32);
        } else if let Ok(k) = i32::try_from(v) {
            dynasm!(self.ops ; .arch x64 ; mov Rq(d), DWORD k);
        } else {
            dynasm!(self.ops ; .arch x64 ; mov Rq(d), QWORD v);
        }
    }

    /// `d = a` unless they are one register.
    fn mov_rr(&mut self, d: u8, a: u8) {
        if d != a {
            dynasm!(self.ops ; .arch x64 ; mov Rq(d), Rq(a));
        }
    }

    /// Jump to `l` if the flags of a signed comparison say `cond`.
    fn jcc(&mut self, cond: Cmp, l: DynamicLabel) {
        let ops = &mut *self.ops;
        match cond {
            Cmp::Lt => dynasm!(ops ; .arch x64 ; jl =>l),
            Cmp::Le => dynasm!(ops ; .arch x64 ; jle =>l),
            Cmp::Gt => dynasm!(ops ; .arch x64 ; jg =>l),
            Cmp::Ge => dynasm!(ops ; .arch x64 ; jge =>l),
            Cmp::Eq => dynasm!(ops ; .arch x64 ; je =>l),
            Cmp::Ne => dynasm!(ops ; .arch x64 ; jne =>l),
        }
    }
}

fn reg(r: Reg) -> u8 {
    match r {
        Reg::A => 0, // rax
        Reg::B => 1, // rcx
        Reg::C => 2, // rdx
    }
}

/// The number of an int register operand.
fn ireg(l: Loc) -> u8 {
    l.number(reg, &INT_CACHE)
}

/// The number of a float register operand.
fn xreg(l: Loc) -> u8 {
    l.number(reg, &FLOAT_CACHE)
}

type Callee = crate::masm::Callee<DynamicLabel>;

/// `rsi`, scratch within one operation.
const RSI: u8 = 6;

/// `rcx` and `rdi`, which call paths hold a frame base in.
const RCX: u8 = 1;
const RDI: u8 = 7;

/// `rdx`, the third argument register of calls out.
const RDX: u8 = 2;

impl<A: DynasmLabelApi<Relocation = X64Relocation> + NewLabel> Masm for X64<'_, A> {
    type Label = DynamicLabel;

    fn new_label(&mut self) -> DynamicLabel {
        self.ops.new_label()
    }

    fn bind(&mut self, label: DynamicLabel) {
        dynasm!(self.ops ; .arch x64 ; =>label);
    }

    fn cache_size(&self) -> (u8, u8) {
        (INT_CACHE.len() as u8, FLOAT_CACHE.len() as u8)
    }

    fn copy(&mut self, float: bool, dst: Loc, src: Loc) {
        match float {
            false => self.mov_rr(ireg(dst), ireg(src)),
            true => {
                let (d, s) = (xreg(dst), xreg(src));
                if d != s {
                    dynasm!(self.ops ; .arch x64 ; movapd Rx(d), Rx(s));
                }
            }
        }
    }

    fn copy_bits(&mut self, to_float: bool, dst: Loc, src: Loc) {
        match to_float {
            true => dynasm!(self.ops ; .arch x64 ; movq Rx(xreg(dst)), Rq(ireg(src))),
            false => dynasm!(self.ops ; .arch x64 ; movq Rq(ireg(dst)), Rx(xreg(src))),
        }
    }

    fn load_cached(&mut self, float: bool, k: u8, slot: u16) {
        let off = slot as i32 * 8;
        match float {
            false => {
                let c = INT_CACHE[k as usize];
                dynasm!(self.ops ; .arch x64 ; mov Rq(c), QWORD [rbx + off]);
            }
            true => {
                let c = FLOAT_CACHE[k as usize];
                dynasm!(self.ops ; .arch x64 ; movsd Rx(c), QWORD [rbx + off]);
            }
        }
    }

    fn spill(&mut self, slot: u16, k: u8) {
        let (off, c) = (slot as i32 * 8, INT_CACHE[k as usize]);
        dynasm!(self.ops ; .arch x64 ; mov QWORD [rbx + off], Rq(c));
    }

    fn fspill(&mut self, slot: u16, k: u8) {
        let (off, c) = (slot as i32 * 8, FLOAT_CACHE[k as usize]);
        dynasm!(self.ops ; .arch x64 ; movsd QWORD [rbx + off], Rx(c));
    }

    fn load(&mut self, r: Reg, slot: u16) {
        let off = slot as i32 * 8;
        dynasm!(self.ops ; .arch x64 ; mov Rq(reg(r)), QWORD [rbx + off]);
    }

    fn store(&mut self, slot: u16, r: Reg) {
        let off = slot as i32 * 8;
        dynasm!(self.ops ; .arch x64 ; mov QWORD [rbx + off], Rq(reg(r)));
    }

    fn load_imm(&mut self, r: Reg, v: i64) {
        self.mov_imm(reg(r), v);
    }

    fn int_op3(&mut self, op: IntOp, dst: Loc, a: Loc, b: Loc) {
        let d = ireg(dst);
        self.mov_rr(d, ireg(a));
        self.op_rr(op, d, ireg(b));
    }

    fn int_op3_imm(&mut self, op: IntOp, dst: Loc, a: Loc, v: i64) {
        let (d, a) = (ireg(dst), ireg(a));
        let Ok(k) = i32::try_from(v) else {
            dynasm!(self.ops ; .arch x64 ; mov rsi, QWORD v);
            self.mov_rr(d, a);
            return self.op_rr(op, d, RSI);
        };
        // The immediate is sign-extended: the same 64-bit value.
        match op {
            IntOp::Add if d != a => dynasm!(self.ops ; .arch x64 ; lea Rq(d), [Rq(a) + k]),
            IntOp::Sub if d != a && k != i32::MIN => {
                dynasm!(self.ops ; .arch x64 ; lea Rq(d), [Rq(a) - k])
            }
            IntOp::Mul => dynasm!(self.ops ; .arch x64 ; imul Rq(d), Rq(a), k),
            _ => {
                self.mov_rr(d, a);
                self.op_ri(op, d, k);
            }
        }
    }

    fn branch_if(&mut self, x: Reg, test: Test, y: Operand, l: DynamicLabel) {
        let ops = &mut *self.ops;
        match y {
            Operand::Reg(y) => dynasm!(ops ; .arch x64 ; cmp Rq(reg(x)), Rq(reg(y))),
            Operand::Imm(v) => match i32::try_from(v) {
                Ok(v) => dynasm!(ops ; .arch x64 ; cmp Rq(reg(x)), v),
                // `mov` to a 32-bit register zero-extends.
                Err(_) => dynasm!(ops ; .arch x64 ; mov esi, v as i32 ; cmp Rq(reg(x)), rsi),
            },
        }
        match test {
            Test::Eq => dynasm!(ops ; .arch x64 ; je =>l),
            Test::Ne => dynasm!(ops ; .arch x64 ; jne =>l),
            Test::Ule => dynasm!(ops ; .arch x64 ; jbe =>l),
        }
    }

    fn heap_word(&mut self, r: Reg, off: i32) {
        dynasm!(self.ops
            ; .arch x64
            ; mov Rq(reg(r)), QWORD [r14 + Ctx::HEAP]
            ; mov Rq(reg(r)), QWORD [Rq(reg(r)) + off]
        );
    }

    fn load_word(&mut self, r: Reg, base: Reg, off: i32) {
        dynasm!(self.ops ; .arch x64 ; mov Rq(reg(r)), QWORD [Rq(reg(base)) + off]);
    }

    fn store_word(&mut self, base: Reg, off: i32, r: Reg) {
        dynasm!(self.ops ; .arch x64 ; mov QWORD [Rq(reg(base)) + off], Rq(reg(r)));
    }

    fn load_narrow(&mut self, r: Reg, base: Reg, off: i32, bytes: u8) {
        match bytes {
            1 => dynasm!(self.ops ; .arch x64 ; movzx Rd(reg(r)), BYTE [Rq(reg(base)) + off]),
            _ => dynasm!(self.ops ; .arch x64 ; mov Rd(reg(r)), DWORD [Rq(reg(base)) + off]),
        }
    }

    fn store_narrow(&mut self, base: Reg, off: i32, r: Reg, bytes: u8) {
        match bytes {
            1 => dynasm!(self.ops ; .arch x64 ; mov BYTE [Rq(reg(base)) + off], Rb(reg(r))),
            _ => dynasm!(self.ops ; .arch x64 ; mov DWORD [Rq(reg(base)) + off], Rd(reg(r))),
        }
    }

    fn add_offset(&mut self, r: Reg, base: Reg, off: i32) {
        dynasm!(self.ops ; .arch x64 ; lea Rq(reg(r)), [Rq(reg(base)) + off]);
    }

    fn ctx_word(&mut self, r: Reg, off: i32) {
        dynasm!(self.ops ; .arch x64 ; mov Rq(reg(r)), QWORD [r14 + off]);
    }

    fn load_env(&mut self, r: Reg) {
        let env = frame_layout::ENV - frame_layout::SIZE;
        dynasm!(self.ops ; .arch x64 ; mov Rq(reg(r)), QWORD [rbp + env]);
    }

    fn set_ctx_word(&mut self, off: i32, r: Reg) {
        dynasm!(self.ops ; .arch x64 ; mov QWORD [r14 + off], Rq(reg(r)));
    }

    fn load_element(&mut self, r: Reg, base: Reg, index: Reg) {
        dynasm!(self.ops ; .arch x64 ; mov Rq(reg(r)), QWORD [Rq(reg(base)) + Rq(reg(index)) * 8]);
    }

    fn read_cached(&mut self, float: bool, k: u8, base: Reg, at: Word) {
        let (b, k) = (reg(base), k as usize);
        let ops = &mut *self.ops;
        match (at, float) {
            (Word::Element(i), false) => {
                dynasm!(ops ; .arch x64 ; mov Rq(INT_CACHE[k]), QWORD [Rq(b) + Rq(reg(i)) * 8])
            }
            (Word::Element(i), true) => {
                dynasm!(ops ; .arch x64 ; movsd Rx(FLOAT_CACHE[k]), QWORD [Rq(b) + Rq(reg(i)) * 8])
            }
            (Word::At(off), false) => {
                dynasm!(ops ; .arch x64 ; mov Rq(INT_CACHE[k]), QWORD [Rq(b) + off])
            }
            (Word::At(off), true) => {
                dynasm!(ops ; .arch x64 ; movsd Rx(FLOAT_CACHE[k]), QWORD [Rq(b) + off])
            }
        }
    }

    fn write_cached(&mut self, float: bool, k: u8, base: Reg, at: Word) {
        let (b, k) = (reg(base), k as usize);
        let ops = &mut *self.ops;
        match (at, float) {
            (Word::Element(i), false) => {
                dynasm!(ops ; .arch x64 ; mov QWORD [Rq(b) + Rq(reg(i)) * 8], Rq(INT_CACHE[k]))
            }
            (Word::Element(i), true) => {
                dynasm!(ops ; .arch x64 ; movsd QWORD [Rq(b) + Rq(reg(i)) * 8], Rx(FLOAT_CACHE[k]))
            }
            (Word::At(off), false) => {
                dynasm!(ops ; .arch x64 ; mov QWORD [Rq(b) + off], Rq(INT_CACHE[k]))
            }
            (Word::At(off), true) => {
                dynasm!(ops ; .arch x64 ; movsd QWORD [Rq(b) + off], Rx(FLOAT_CACHE[k]))
            }
        }
    }

    fn store_element_imm(&mut self, base: Reg, index: Reg, v: i64, via: Reg) {
        let (b, i) = (reg(base), reg(index));
        match i32::try_from(v) {
            // Sign-extended: the same 64-bit value.
            Ok(v) => dynasm!(self.ops ; .arch x64 ; mov QWORD [Rq(b) + Rq(i) * 8], v),
            Err(_) => {
                self.load_imm(via, v);
                self.store_element(base, index, via);
            }
        }
    }

    fn store_element(&mut self, base: Reg, index: Reg, r: Reg) {
        dynasm!(self.ops ; .arch x64 ; mov QWORD [Rq(reg(base)) + Rq(reg(index)) * 8], Rq(reg(r)));
    }

    fn add_scaled(&mut self, r: Reg, index: Reg, stride: u32) {
        let (r, i) = (reg(r), reg(index));
        let ops = &mut *self.ops;
        match stride {
            1 => dynasm!(ops ; .arch x64 ; add Rq(r), Rq(i)),
            4 => dynasm!(ops ; .arch x64 ; lea Rq(r), [Rq(r) + Rq(i) * 4]),
            8 => dynasm!(ops ; .arch x64 ; lea Rq(r), [Rq(r) + Rq(i) * 8]),
            // 40, the usual entry: two `lea`s beat a multiplication.
            40 => dynasm!(ops
                ; .arch x64
                ; lea rsi, [Rq(i) + Rq(i) * 4]
                ; lea Rq(r), [Rq(r) + rsi * 8]
            ),
            _ => dynasm!(ops ; .arch x64 ; imul rsi, Rq(i), stride as i32 ; add Rq(r), rsi),
        }
    }

    fn set_cond(&mut self, cond: Cmp) {
        let ops = &mut *self.ops;
        dynasm!(ops ; .arch x64 ; cmp rax, rcx);
        match cond {
            Cmp::Lt => dynasm!(ops ; .arch x64 ; setl al),
            Cmp::Le => dynasm!(ops ; .arch x64 ; setle al),
            Cmp::Gt => dynasm!(ops ; .arch x64 ; setg al),
            Cmp::Ge => dynasm!(ops ; .arch x64 ; setge al),
            Cmp::Eq => dynasm!(ops ; .arch x64 ; sete al),
            Cmp::Ne => dynasm!(ops ; .arch x64 ; setne al),
        }
        dynasm!(ops ; .arch x64 ; movzx eax, al);
    }

    fn neg(&mut self) {
        dynasm!(self.ops ; .arch x64 ; neg rax);
    }

    fn abs(&mut self) {
        // The negation where it is not negative; `MIN` negates to itself.
        dynasm!(self.ops ; .arch x64 ; mov rcx, rax ; neg rax ; cmovs rax, rcx);
    }

    fn div(&mut self, rem: bool) {
        dynasm!(self.ops ; .arch x64 ; cqo ; idiv rcx);
        if rem {
            dynasm!(self.ops ; .arch x64 ; mov rax, rdx);
        }
    }

    fn div_magic(&mut self, d: i64, (m, shift, add, sub): (i64, u32, bool, bool), rem: bool) {
        if let Some(s) = crate::masm::power_of_two(d) {
            // `n / 2^s` toward zero: a negative `n` biased by `2^s - 1`
            // (its sign's bits, the low `s` of them), then shifted.
            dynasm!(self.ops
                ; .arch x64
                ; mov rcx, rax
                ; mov rdx, rax
                ; sar rdx, 63
                ; shr rdx, (64 - s) as i8
                ; add rax, rdx
                ; sar rax, s as i8
            );
            if rem {
                dynasm!(self.ops
                    ; .arch x64
                    ; shl rax, s as i8
                    ; sub rcx, rax
                    ; mov rax, rcx
                );
            }
            return;
        }
        let ops = &mut *self.ops;
        // `rcx` = n; the high half of n * m, adjusted, shifted, plus one
        // when negative (`Divisor::quotient`).
        dynasm!(ops
            ; .arch x64
            ; mov rcx, rax
            ; mov rdx, QWORD m
            ; imul rdx
            ; mov rax, rdx
        );
        if add {
            dynasm!(ops ; .arch x64 ; add rax, rcx);
        }
        if sub {
            dynasm!(ops ; .arch x64 ; sub rax, rcx);
        }
        let shift = (shift & 63) as i8;
        dynasm!(ops
            ; .arch x64
            ; sar rax, shift
            ; mov rdx, rax
            ; shr rdx, 63
            ; add rax, rdx
        );
        if rem {
            dynasm!(ops
                ; .arch x64
                ; mov rdx, QWORD d
                ; imul rax, rdx
                ; sub rcx, rax
                ; mov rax, rcx
            );
        }
    }

    fn branch3(&mut self, cond: Cmp, a: Loc, b: Loc, l: DynamicLabel) {
        dynasm!(self.ops ; .arch x64 ; cmp Rq(ireg(a)), Rq(ireg(b)));
        self.jcc(cond, l);
    }

    fn branch3_imm(&mut self, cond: Cmp, a: Loc, v: i64, l: DynamicLabel) {
        let a = ireg(a);
        match i32::try_from(v) {
            // The immediate is sign-extended: the same 64-bit value.
            Ok(v) => dynasm!(self.ops ; .arch x64 ; cmp Rq(a), v),
            Err(_) => dynasm!(self.ops ; .arch x64 ; mov rcx, QWORD v ; cmp Rq(a), rcx),
        }
        self.jcc(cond, l);
    }

    fn jump(&mut self, l: DynamicLabel) {
        dynasm!(self.ops ; .arch x64 ; jmp =>l);
    }

    fn entry(&mut self) {
        // Six pushes and eight bytes after the return address: `rsp` is
        // 16-byte aligned inside, as a call out needs.
        dynasm!(self.ops
            ; .arch x64
            ; push rbx
            ; push rbp
            ; push r12
            ; push r13
            ; push r14
            ; push r15
            ; sub rsp, 8
            ; mov rbx, rdi
            ; mov r12, rsi
            ; mov r13, QWORD [rsi + JitState::COUNT]
            ; mov r14, rcx
            ; mov QWORD [rcx + Ctx::SAVED_SP], rsp
        );
        self.load_top();
        dynasm!(self.ops ; .arch x64 ; jmp rdx);
    }

    fn runtime(&mut self, pc: u32, trapped: DynamicLabel) {
        dynasm!(self.ops
            ; .arch x64
            ; mov QWORD [r12 + JitState::COUNT], r13
        );
        self.store_top();
        dynasm!(self.ops
            ; .arch x64
            ; mov rdi, r14
            ; mov esi, DWORD pc as i32
            ; mov rdx, r12
            ; mov rax, QWORD crate::run_shim as *const () as i64
            ; call rax
            ; mov r13, QWORD [r12 + JitState::COUNT]
            ; mov rbx, QWORD [r14 + Ctx::FRAME]
        );
        self.load_top();
        dynasm!(self.ops ; .arch x64 ; test eax, eax ; jz =>trapped);
    }

    fn call_heap(&mut self, f: HeapFn, x: u64, y: Arg, leave: DynamicLabel) {
        let env = frame_layout::ENV - frame_layout::SIZE;
        match y {
            Arg::Imm(y) => self.mov_imm(RCX, y as i64),
            Arg::Env => dynasm!(self.ops ; .arch x64 ; mov rcx, QWORD [rbp + env]),
            Arg::Metered => {
                dynasm!(self.ops ; .arch x64 ; mov rcx, QWORD [r12 + JitState::METERED])
            }
        }
        dynasm!(self.ops
            ; .arch x64
            ; mov rdi, QWORD [r14 + Ctx::HEAP]
            ; mov rsi, rbx
        );
        self.mov_imm(RDX, x as i64);
        dynasm!(self.ops
            ; .arch x64
            ; mov rax, QWORD f as *const () as i64
            ; call rax
            ; test eax, eax
            ; jz =>leave
        );
    }

    fn exit_path(&mut self) {
        let exit = self.exit;
        dynasm!(self.ops
            ; .arch x64
            ; =>exit
            // Back to the stub's stack, from however deep the native
            // calls went.
            ; mov rsp, QWORD [r14 + Ctx::SAVED_SP]
            ; mov QWORD [r12 + JitState::COUNT], r13
        );
        self.store_top();
        dynasm!(self.ops
            ; .arch x64
            ; add rsp, 8
            ; pop r15
            ; pop r14
            ; pop r13
            ; pop r12
            ; pop rbp
            ; pop rbx
            ; ret
        );
        if let Some(l) = self.returns.take() {
            dynasm!(self.ops ; .arch x64 ; =>l);
            self.return_itself();
        }
        // The float constants, read where they are (no code after them).
        dynasm!(self.ops ; .arch x64 ; .align 8);
        for (bits, l) in std::mem::take(&mut self.pool) {
            dynasm!(self.ops ; .arch x64 ; =>l ; .u64 bits);
        }
    }

    fn exit(&mut self, exit: u64) {
        let l = self.exit;
        dynasm!(self.ops ; .arch x64 ; mov rax, QWORD exit as i64 ; jmp =>l);
    }

    fn count(&mut self, n: u32) {
        dynasm!(self.ops ; .arch x64 ; add r13, n as i32);
    }

    fn branch_if_due(&mut self, due: DynamicLabel) {
        dynasm!(self.ops ; .arch x64 ; cmp r13, QWORD [r12 + JitState::LIMIT] ; jae =>due);
    }

    fn enter_checks(&mut self, depth: u8, need: u32, leave: DynamicLabel) {
        dynasm!(self.ops
            ; .arch x64
            // frames live + depth >= max_depth: the interpreter traps.
            ; lea rcx, [rbp + depth as i32 * frame_layout::SIZE]
            ; cmp rcx, QWORD [r14 + Ctx::MAX_DEPTH]
            ; jae =>leave
            // The running frame's base (its record's) + need > the limit.
            ; mov ecx, DWORD [rbp + (frame_layout::BASE - frame_layout::SIZE)]
        );
        self.above_room(RCX, need, leave);
    }

    fn native_call(&mut self, c: &NativeCall, exit: DynamicLabel, own: Option<DynamicLabel>) {
        let l = frame_layout::SIZE;
        dynasm!(self.ops
            ; .arch x64
            ; cmp rbp, QWORD [r14 + Ctx::ROOM]
            ; jae =>exit
        );
        self.branch_if_due(exit);
        if own.is_none() {
            dynasm!(self.ops
                ; .arch x64
                ; mov rcx, QWORD [r14 + Ctx::TABLE]
                ; mov rcx, QWORD [rcx + (c.func * 8) as i32]
                ; test rcx, rcx
                ; jz =>exit
            );
        }
        dynasm!(self.ops
            ; .arch x64
            // rbp = the callee's record, edi = the caller's base.
            ; mov edi, DWORD [rbp + (frame_layout::BASE - l)]
        );
        self.above_room(RDI, c.need, exit);
        dynasm!(self.ops
            ; .arch x64
            ; mov DWORD [rbp + frame_layout::FUNC], c.func as i32
            ; mov DWORD [rbp + frame_layout::PC], c.start as i32
            ; lea r8d, [rdi + c.args as i32]
            ; mov DWORD [rbp + frame_layout::BASE], r8d
        );
        // A call whose result goes where its arguments began (the usual
        // one) has `ret` = `base`, in `r8d` already.
        if c.ret != c.args {
            dynasm!(self.ops ; .arch x64 ; lea r8d, [rdi + c.ret as i32]);
        }
        dynasm!(self.ops
            ; .arch x64
            ; mov DWORD [rbp + frame_layout::RET], r8d
            ; mov DWORD [rbp + frame_layout::RET_BASE], edi
            ; mov DWORD [rbp + frame_layout::RET_PC], c.pc as i32
            ; mov QWORD [rbp + frame_layout::ENV], -1
            ; add rbp, l
        );
        self.call_frame(c.args, own.map_or(Callee::Reg(1), Callee::Own));
    }

    fn closure_call(&mut self, c: &ClosureCall, exit: DynamicLabel) {
        let x = c.args as u64 | (c.pc as u64) << 32;
        self.branch_if_due(exit);
        let (slow, call) = (self.ops.new_label(), self.ops.new_label());
        let room = stack_room(c.args as u32).filter(|&r| r < 1 << 31);
        if let (Some(l), Some(room)) = (crate::layout::heap(), room) {
            // What `closure_target` does, inline: anything unusual is
            // left to it.
            let sz = frame_layout::SIZE;
            dynasm!(self.ops ; .arch x64 ; cmp rbp, QWORD [r14 + Ctx::ROOM] ; jae =>slow);
            // rax = the closure, rdx = its table entry.
            self.load(Reg::A, c.args - 1);
            crate::access::object(self, l, Some(tern_vm::heap::layout::CLOSURE), slow);
            dynasm!(self.ops
                ; .arch x64
                // ecx = its function, rsi = that function's code.
                ; mov ecx, DWORD [rdx + l.closure_func]
                ; cmp rcx, QWORD [r14 + Ctx::CALLEE_COUNT]
                ; jae =>slow
                ; mov rsi, QWORD [r14 + Ctx::TABLE]
                ; mov rsi, QWORD [rsi + rcx * 8]
                ; test rsi, rsi
                ; jz =>slow
                // edx = its first instruction, r8 = its frame size, edi =
                // the caller's base.
                ; mov rdx, QWORD [r14 + Ctx::CALLEE_WORDS]
                ; mov rdx, QWORD [rdx + rcx * 8]
                ; mov r8, rdx
                ; shr r8, 32
                ; mov edi, DWORD [rbp + (frame_layout::BASE - sz)]
                ; add r8, rdi
                ; cmp r8, room as i32
                ; ja =>slow
                ; mov DWORD [rbp + frame_layout::FUNC], ecx
                ; mov DWORD [rbp + frame_layout::PC], edx
                ; lea r8d, [rdi + c.args as i32]
                ; mov DWORD [rbp + frame_layout::BASE], r8d
                ; lea r8d, [rdi + (c.args as i32 - 1)]
                ; mov DWORD [rbp + frame_layout::RET], r8d
                ; mov DWORD [rbp + frame_layout::RET_BASE], edi
                ; mov DWORD [rbp + frame_layout::RET_PC], c.pc as i32
                ; mov QWORD [rbp + frame_layout::ENV], rax
                ; add rbp, sz
                ; mov rax, rsi
                ; jmp =>call
            );
        }
        dynasm!(self.ops ; .arch x64 ; =>slow);
        self.store_top();
        dynasm!(self.ops
            ; .arch x64
            ; mov rdi, r14
            ; mov rsi, rbx
            ; mov rdx, QWORD x as i64
            ; mov rax, QWORD crate::closure_target as *const () as i64
            ; call rax
        );
        self.load_top();
        dynasm!(self.ops
            ; .arch x64
            ; test rax, rax
            ; jz =>exit
            ; =>call
        );
        self.call_frame(c.args, Callee::Reg(0));
    }

    fn ret(&mut self, slot: Option<u16>, exit: u64) {
        let native = self.ops.new_label();
        // Called by the driver, the stack is where the entry stub left it.
        dynasm!(self.ops ; .arch x64 ; cmp rsp, QWORD [r14 + Ctx::SAVED_SP] ; jne =>native);
        // The result is in `rax` (`A`); the driver reads it from its slot.
        if let Some(s) = slot {
            self.store(s, Reg::A);
        }
        // Unless compiled code makes the return itself (its caller's
        // machine frame was given up where the driver entered afresh).
        let stub = *self.returns.get_or_insert_with(|| self.ops.new_label());
        dynasm!(self.ops
            ; .arch x64
            ; mov rax, QWORD exit as i64
            ; jmp =>stub
            ; =>native
        );
        dynasm!(self.ops
            ; .arch x64
            ; sub rbp, frame_layout::SIZE
            ; ret
        );
    }

    fn fload(&mut self, r: Reg, slot: u16) {
        let off = slot as i32 * 8;
        dynasm!(self.ops ; .arch x64 ; movsd Rx(reg(r)), QWORD [rbx + off]);
    }

    fn fstore(&mut self, slot: u16, r: Reg) {
        let off = slot as i32 * 8;
        dynasm!(self.ops ; .arch x64 ; movsd QWORD [rbx + off], Rx(reg(r)));
    }

    fn float_op3(&mut self, op: FloatOp, dst: Loc, a: Loc, b: Loc) {
        let (d, b) = (xreg(dst), xreg(b));
        self.copy(true, dst, a);
        let ops = &mut *self.ops;
        match op {
            FloatOp::Add => dynasm!(ops ; .arch x64 ; addsd Rx(d), Rx(b)),
            FloatOp::Sub => dynasm!(ops ; .arch x64 ; subsd Rx(d), Rx(b)),
            FloatOp::Mul => dynasm!(ops ; .arch x64 ; mulsd Rx(d), Rx(b)),
            FloatOp::Div => dynasm!(ops ; .arch x64 ; divsd Rx(d), Rx(b)),
        }
    }

    fn fbranch3(&mut self, cond: Cmp, negated: bool, a: Loc, b: Loc, l: DynamicLabel) {
        let (x, y) = (xreg(a), xreg(b));
        let ops = &mut *self.ops;
        // `a < b` is `b > a`: `ucomisd b, a; ja` (carry and zero clear,
        // never on unordered); its negation `jbe` (always on unordered).
        match (cond, negated) {
            (Cmp::Lt, false) => dynasm!(ops ; .arch x64 ; ucomisd Rx(y), Rx(x) ; ja =>l),
            (Cmp::Lt, true) => dynasm!(ops ; .arch x64 ; ucomisd Rx(y), Rx(x) ; jbe =>l),
            (Cmp::Le, false) => dynasm!(ops ; .arch x64 ; ucomisd Rx(y), Rx(x) ; jae =>l),
            (Cmp::Le, true) => dynasm!(ops ; .arch x64 ; ucomisd Rx(y), Rx(x) ; jb =>l),
            (Cmp::Gt, false) => dynasm!(ops ; .arch x64 ; ucomisd Rx(x), Rx(y) ; ja =>l),
            (Cmp::Gt, true) => dynasm!(ops ; .arch x64 ; ucomisd Rx(x), Rx(y) ; jbe =>l),
            (Cmp::Ge, false) => dynasm!(ops ; .arch x64 ; ucomisd Rx(x), Rx(y) ; jae =>l),
            (Cmp::Ge, true) => dynasm!(ops ; .arch x64 ; ucomisd Rx(x), Rx(y) ; jb =>l),
            // Equal: zero set and parity clear.
            (Cmp::Eq, false) | (Cmp::Ne, true) => {
                let skip = ops.new_label();
                dynasm!(ops ; .arch x64 ; ucomisd Rx(x), Rx(y) ; jp =>skip ; je =>l ; =>skip);
            }
            (Cmp::Eq, true) | (Cmp::Ne, false) => {
                dynasm!(ops ; .arch x64 ; ucomisd Rx(x), Rx(y) ; jp =>l ; jne =>l);
            }
        }
    }

    fn float_to_int(&mut self, leave: DynamicLabel) {
        // `cvttsd2si` gives `MIN` for NaN and out-of-range values (where
        // the language saturates or gives 0): the interpreter converts
        // those, and a true `MIN`.
        dynasm!(self.ops
            ; .arch x64
            ; cvttsd2si rax, xmm0
            ; mov rcx, QWORD i64::MIN
            ; cmp rax, rcx
            ; je =>leave
        );
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
        dynasm!(self.ops ; .arch x64 ; movsd Rx(reg(r)), QWORD [=>c]);
    }

    fn fset_cond(&mut self, cond: Cmp) {
        // As `fbranch`: unordered sets zero, parity and carry.
        let ops = &mut *self.ops;
        match cond {
            Cmp::Lt => dynasm!(ops ; .arch x64 ; ucomisd xmm1, xmm0 ; seta al),
            Cmp::Le => dynasm!(ops ; .arch x64 ; ucomisd xmm1, xmm0 ; setae al),
            Cmp::Gt => dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; seta al),
            Cmp::Ge => dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; setae al),
            Cmp::Eq => {
                dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; sete al ; setnp cl ; and al, cl)
            }
            Cmp::Ne => {
                dynasm!(ops ; .arch x64 ; ucomisd xmm0, xmm1 ; setne al ; setp cl ; or al, cl)
            }
        }
        dynasm!(ops ; .arch x64 ; movzx eax, al);
    }

    fn fneg(&mut self) {
        dynasm!(self.ops
            ; .arch x64
            ; movq rax, xmm0
            ; mov rcx, QWORD i64::MIN
            ; xor rax, rcx
            ; movq xmm0, rax
        );
    }

    fn fabs(&mut self) {
        dynasm!(self.ops
            ; .arch x64
            ; movq rax, xmm0
            ; mov rcx, QWORD i64::MAX
            ; and rax, rcx
            ; movq xmm0, rax
        );
    }

    fn fsqrt(&mut self) {
        dynasm!(self.ops ; .arch x64 ; sqrtsd xmm0, xmm0);
    }

    fn call_float(&mut self, f: FloatFn) {
        // The arguments are already in `xmm0` and `xmm1`, the result comes
        // back in `xmm0`; `rsp` is 16-byte aligned (see `entry`).
        dynasm!(self.ops ; .arch x64 ; mov rax, QWORD f as usize as i64 ; call rax);
    }

    fn int_to_float(&mut self) {
        // `xorpd` first: `cvtsi2sd` keeps the register's upper half, a
        // false dependency on whatever was there.
        dynasm!(self.ops ; .arch x64 ; xorpd xmm0, xmm0 ; cvtsi2sd xmm0, rax);
    }
}

/// The machine code of function `func` of `prog`, assembled on any host:
/// for tests and listings.
pub fn assemble(prog: &Program, func: u32) -> Option<Vec<u8>> {
    let mut asm = dynasmrt::VecAssembler::<X64Relocation>::new(0);
    lower_for_listing(&mut X64::new(&mut asm), prog, func)?;
    asm.finalize().ok()
}

/// Function `func` of `prog` compiled for this (x86-64) host.
#[cfg(target_arch = "x86_64")]
pub fn compile(prog: &Program, func: u32, fixed: &Fixed) -> Option<Function> {
    let mut asm = dynasmrt::x64::Assembler::new().ok()?;
    let labels = lower(&mut X64::new(&mut asm), prog, func, fixed)?;
    crate::finish(asm, labels, prog, func)
}
