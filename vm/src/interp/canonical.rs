//! Canonical instructions run as themselves ([`Op::Stack`](crate::internal::Op::Stack)):
//! what the translator did not turn into a register instruction, and all
//! of an untranslated program. One function, out of the dispatch loop, so
//! the loop stays small for the register instructions; the jumps, calls
//! and returns among them stay in the loop, which owns the frames.
//!
//! Called with the running frame's `pc` and the fuel count saved (so a
//! trap, a collection or a charge here sees them): the dispatch loop takes
//! the count back after.

use super::*;
use crate::semantics;

macro_rules! f64_of {
    ($x:expr) => {
        f64::from_bits($x)
    };
}

impl Vm<'_> {
    /// Runs `ins` (not a jump, call or return) on the operand stack of the
    /// frame at `base`, whose top is at `sp`: the new `sp`.
    #[inline(never)]
    pub(super) fn run_canonical<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        base: usize,
        mut sp: usize,
        ins: Instr,
    ) -> Result<usize, Trap> {
        macro_rules! trap {
            ($kind:expr, $($msg:tt)*) => {{
                let msg = format!($($msg)*);
                return Err(self.make_trap($kind, msg));
            }};
        }
        macro_rules! pop {
            () => {{
                sp -= 1;
                stack[sp]
            }};
        }
        macro_rules! push {
            ($v:expr) => {{
                let v = $v;
                stack[sp] = v;
                sp += 1;
            }};
        }
        macro_rules! top {
            () => {
                stack[sp - 1]
            };
        }
        macro_rules! int_bin {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = pop!() as i64;
                let $a = top!() as i64;
                top!() = ($e) as u64;
            }};
        }
        macro_rules! int_cmp {
            ($op:tt) => {{
                let b = pop!() as i64;
                let a = top!() as i64;
                top!() = (a $op b) as u64;
            }};
        }
        macro_rules! flt_bin {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = f64_of!(pop!());
                let $a = f64_of!(top!());
                top!() = f64::to_bits($e);
            }};
        }
        macro_rules! flt_un {
            (|$a:ident| $e:expr) => {{
                let $a = f64_of!(top!());
                top!() = f64::to_bits($e);
            }};
        }
        macro_rules! flt_cmp {
            ($op:tt) => {{
                let b = f64_of!(pop!());
                let a = f64_of!(top!());
                top!() = (a $op b) as u64;
            }};
        }
        // An instruction whose meaning is a function of `ops` or `alloc`.
        macro_rules! slow {
            ($op:ident $(, $arg:expr)*) => {{
                sp = self.$op::<METER>(stack, sp $(, $arg)*)?;
            }};
        }
        macro_rules! call_op {
            ($op:ident $(, $arg:expr)*) => {{
                sp = self.$op(stack, sp $(, $arg)*)?;
            }};
        }

        match ins {
            Instr::Nop {} => {}
            Instr::Const { index } => push!(self.consts[index as usize]),
            Instr::Bool { value } => push!(value as u64),
            Instr::Load { local } => push!(stack[base + local as usize]),
            Instr::Store { local } => {
                let v = pop!();
                stack[base + local as usize] = v;
            }
            Instr::GlobalGet { global } => {
                if !self.global_set[global as usize] {
                    trap!(
                        TrapKind::UninitializedGlobal,
                        "global {} read before it was initialized",
                        global
                    );
                }
                push!(self.globals[global as usize]);
            }
            Instr::GlobalSet { global } => {
                let v = pop!();
                self.globals[global as usize] = v;
                self.global_set[global as usize] = true;
            }
            Instr::Pop {} => sp -= 1,
            Instr::Dup {} => {
                let v = top!();
                push!(v);
            }
            Instr::LoadCapture { index } => {
                let env = self.frames.last().expect("running frame").env;
                let v = self.heap.closure(env).1[index as usize];
                push!(v);
            }

            Instr::IAdd {} => int_bin!(|a, b| a.wrapping_add(b)),
            Instr::ISub {} => int_bin!(|a, b| a.wrapping_sub(b)),
            Instr::IMul {} => int_bin!(|a, b| a.wrapping_mul(b)),
            Instr::IDiv {} => {
                if top!() == 0 {
                    trap!(TrapKind::DivisionByZero, "division by zero");
                }
                int_bin!(|a, b| semantics::int_div(a, b))
            }
            Instr::IRem {} => {
                if top!() == 0 {
                    trap!(TrapKind::DivisionByZero, "division by zero");
                }
                int_bin!(|a, b| semantics::int_rem(a, b))
            }
            Instr::INeg {} => top!() = (top!() as i64).wrapping_neg() as u64,
            Instr::IAnd {} => int_bin!(|a, b| a & b),
            Instr::IOr {} => int_bin!(|a, b| a | b),
            Instr::IXor {} => int_bin!(|a, b| a ^ b),
            Instr::IShl {} => int_bin!(|a, b| semantics::shl(a, b)),
            Instr::IShr {} => int_bin!(|a, b| semantics::shr(a, b)),
            Instr::ILt {} => int_cmp!(<),
            Instr::ILe {} => int_cmp!(<=),
            Instr::IGt {} => int_cmp!(>),
            Instr::IGe {} => int_cmp!(>=),
            Instr::IEq {} => int_cmp!(==),
            Instr::INe {} => int_cmp!(!=),

            Instr::FAdd {} => flt_bin!(|a, b| a + b),
            Instr::FSub {} => flt_bin!(|a, b| a - b),
            Instr::FMul {} => flt_bin!(|a, b| a * b),
            Instr::FDiv {} => flt_bin!(|a, b| a / b),
            Instr::FRem {} => flt_bin!(|a, b| a % b),
            Instr::FNeg {} => flt_un!(|a| -a),
            Instr::FLt {} => flt_cmp!(<),
            Instr::FLe {} => flt_cmp!(<=),
            Instr::FGt {} => flt_cmp!(>),
            Instr::FGe {} => flt_cmp!(>=),
            Instr::FEq {} => flt_cmp!(==),
            Instr::FNe {} => flt_cmp!(!=),

            Instr::BNot {} => top!() ^= 1,
            Instr::BEq {} => int_cmp!(==),
            Instr::BNe {} => int_cmp!(!=),

            Instr::SEq {}
            | Instr::SNe {}
            | Instr::SLt {}
            | Instr::SLe {}
            | Instr::SGt {}
            | Instr::SGe {} => slow!(op_str_compare, ins),
            Instr::SConcat {} => slow!(op_concat),
            Instr::SLen {} => top!() = self.heap.str(top!()).len() as u64,
            Instr::SByte {} => {
                let i = pop!();
                let bytes = self.heap.str(top!()).as_bytes();
                let k = element!(trap, bytes, i);
                top!() = bytes[k] as u64;
            }
            Instr::SSlice {} => slow!(op_slice),
            Instr::SSplit { .. } => slow!(op_split),
            Instr::SFind {} => slow!(op_find),
            Instr::SJoin {} => slow!(op_join),

            Instr::I2F {} => top!() = (top!() as i64 as f64).to_bits(),
            Instr::F2I {} => top!() = semantics::float_to_int(f64_of!(top!())) as u64,
            Instr::IToS {} => call_op!(op_itos),
            Instr::FToS {}
            | Instr::BToS {}
            | Instr::SToI {}
            | Instr::SToF {}
            | Instr::FFixed {} => slow!(op_text, ins),

            Instr::FSqrt {} => flt_un!(|a| a.sqrt()),
            Instr::FFloor {} => flt_un!(|a| semantics::floor(a)),
            Instr::FCeil {} => flt_un!(|a| semantics::ceil(a)),
            Instr::FSin {} => flt_un!(|a| semantics::sin(a)),
            Instr::FCos {} => flt_un!(|a| semantics::cos(a)),
            Instr::FExp {} => flt_un!(|a| semantics::exp(a)),
            Instr::FLog {} => flt_un!(|a| semantics::log(a)),
            Instr::FAbs {} => flt_un!(|a| a.abs()),
            Instr::FPow {} => flt_bin!(|a, b| semantics::pow(a, b)),
            Instr::FMin {} => flt_bin!(|a, b| semantics::float_min(a, b)),
            Instr::FMax {} => flt_bin!(|a, b| semantics::float_max(a, b)),
            Instr::IAbs {} => top!() = semantics::int_abs(top!() as i64) as u64,
            Instr::IMin {} => int_bin!(|a, b| a.min(b)),
            Instr::IMax {} => int_bin!(|a, b| a.max(b)),

            Instr::CallHost { import } => sp = self.op_call_host(stack, sp, import)?,

            Instr::NewArray { ty, len } => call_op!(op_new_array, ty, len),
            Instr::NewArrayRep { ty } => slow!(op_array_rep, ty),
            Instr::ALen {} => top!() = self.heap.array(top!()).len() as u64,
            Instr::AGet {} => {
                let i = pop!();
                let items = self.heap.array(top!());
                let k = element!(trap, items, i);
                top!() = items.get(k);
            }
            Instr::ASet {} => {
                let v = pop!();
                let i = pop!();
                let a = pop!();
                let items = self.heap.array_mut(a);
                let k = element!(trap, items, i);
                items.set(k, v);
            }
            Instr::APush {} => call_op!(op_array_push),
            Instr::APop {} => call_op!(op_array_pop),
            Instr::ASort { ty } => slow!(op_array_sort, ty),
            Instr::AReverse {} => slow!(op_array_reverse),
            Instr::AFind { ty } => slow!(op_array_find, ty),
            Instr::ASlice { ty } => slow!(op_array_slice, ty),
            Instr::AInsert {} => slow!(op_array_insert),
            Instr::ARemove {} => slow!(op_array_remove),
            Instr::AExtend {} => slow!(op_array_extend),
            Instr::MClear {} => slow!(op_map_clear),

            Instr::NewMap { ty } => call_op!(op_new_map, ty),
            Instr::MLen {} => top!() = self.heap.map(top!()).len() as u64,
            // Lookups that cost no work units (int and bool keys, or
            // any key when nothing is metered) are handled here when
            // they hit; the rest out of the loop.
            Instr::MGet {} => match self.heap.map_get_free(stack[sp - 2], top!(), !METER) {
                Some(Some(v)) => {
                    sp -= 1;
                    top!() = v;
                }
                _ => slow!(op_map_read, ins),
            },
            Instr::MGetOr {} => {
                match self.heap.map_get_free(stack[sp - 3], stack[sp - 2], !METER) {
                    Some(v) => {
                        let d = pop!();
                        sp -= 1;
                        top!() = v.unwrap_or(d);
                    }
                    None => slow!(op_map_read, ins),
                }
            }
            Instr::MHas {} => slow!(op_map_read, ins),
            Instr::MSet {} => {
                let (mh, k, v) = (stack[sp - 3], stack[sp - 2], stack[sp - 1]);
                match self.heap.map_set_free(mh, k, v, !METER) {
                    Ok(()) => sp -= 3,
                    Err(vacant) => slow!(op_map_set, vacant),
                }
            }
            Instr::MRemove {} => slow!(op_map_remove),
            Instr::MKeys { ty } => slow!(op_map_list, ty, true),
            Instr::MValues { ty } => slow!(op_map_list, ty, false),
            Instr::MKeyAt {} => slow!(op_map_at, true),
            Instr::MValAt {} => slow!(op_map_at, false),
            Instr::MNext {} => slow!(op_map_next),
            Instr::Builtin { id } => slow!(op_builtin, id),
            Instr::Text { ty } => slow!(op_value_text, ty),
            Instr::Eq { ty } => slow!(op_value_eq, ty),
            Instr::BuiltinList { id, ty } => slow!(op_builtin_list, id, ty),
            Instr::MKeyOf {} => slow!(op_map_of, true),
            Instr::MValOf {} => slow!(op_map_of, false),

            Instr::NewStruct { ty } => call_op!(op_new_record, ty, 0),
            Instr::GetField { field } => top!() = self.heap.field(top!(), field as usize),
            Instr::SetField { field } => {
                let v = pop!();
                let s = pop!();
                self.heap.set_field(s, field as usize, v);
            }
            Instr::NewEnum { ty, variant } => call_op!(op_new_record, ty, variant),
            Instr::EnumTag {} => top!() = self.heap.tag(top!()) as u64,
            Instr::EnumField { variant, field } => {
                let v = variant_field!(trap, self.heap, top!(), variant, field);
                top!() = v;
            }

            Instr::NewClosure { func: f, .. } => call_op!(op_new_closure, f),
            Instr::NewCell { ty } => call_op!(op_new_cell, ty),
            Instr::CellGet {} => top!() = self.heap.cell(top!()),
            Instr::CellSet {} => {
                let v = pop!();
                let c = pop!();
                self.heap.set_cell(c, v);
            }
            Instr::Panic {} => {
                let msg = self.heap.str(top!()).to_string();
                trap!(TrapKind::Panic, "{msg}")
            }
            Instr::Exit {} => {
                let code = top!() as i64;
                trap!(TrapKind::Exit(code), "the program called exit({code})")
            }
            Instr::Jmp { .. }
            | Instr::JmpIf { .. }
            | Instr::JmpIfNot { .. }
            | Instr::Call { .. }
            | Instr::CallClosure { .. }
            | Instr::Ret {} => unreachable_verified(),
        }
        Ok(sp)
    }
}
