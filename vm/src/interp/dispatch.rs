//! The dispatch loop: one `match` over the instructions, with the hot
//! ones written inline and the rest calling their functions in `ops`.
//!
//! The loop trusts the verifier: slot types, local initialization, indices
//! and stack heights are not re-checked here. What it does check is what no
//! static analysis can know: division by zero, bounds, missing keys, empty
//! pops, and the limits (fuel, heap, call depth, value-stack size).
//!
//! Every point that can collect goes through `safepoint!`, which saves the
//! instruction index first so the collector reads the right stack map;
//! every trap goes through `trap!`, which does the same for the trace.

use super::*;

macro_rules! f64_of {
    ($x:expr) => {
        f64::from_bits($x)
    };
}

impl Vm<'_> {
    /// The dispatch loop. `METER` counts instructions (for fuel and stats);
    /// without it the count is not kept at all.
    pub(super) fn run<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        stop: usize,
    ) -> Result<Option<u64>, Trap> {
        // A local handle, so the loop can borrow the code while `self` is
        // mutated.
        let prog_handle = Arc::clone(&self.prog);
        let prog: &Program = &prog_handle;
        let m = prog.module();
        let top = *self.frames.last().expect("execute needs a frame");
        let mut fidx = top.func as usize;
        let mut code: &[Instr] = &m.functions[fidx].code;
        let mut base = top.base as usize;
        let mut pc = top.pc as usize;
        let mut sp = base + prog.meta[fidx].slots as usize;
        let mut count = self.fuel_used;
        let max_depth = self.limits.max_depth;
        // The fuel count at which to poll (fuel, interrupt, clock).
        // Polling at the first backward branch or call, not before the
        // first instruction, keeps straight-line code free of checks; an
        // interrupt requested while idle is seen at that first poll.
        let mut fuel = if self.watch.interrupt.is_some() {
            count
        } else {
            self.next_poll(count)
        };

        // Saves what a trap, a collection or a poll reads: the instruction
        // index in the running frame and the fuel used.
        macro_rules! sync {
            () => {{
                self.frames.last_mut().expect("running frame").pc = pc as u32;
                self.fuel_used = count;
            }};
        }
        macro_rules! trap {
            ($kind:expr, $($msg:tt)*) => {{
                sync!();
                let msg = format!($($msg)*);
                return Err(self.make_trap($kind, msg));
            }};
        }
        macro_rules! oob {
            ($i:expr, $n:expr) => {
                trap!(
                    TrapKind::IndexOutOfBounds,
                    "index {} out of bounds for length {}",
                    $i,
                    $n
                )
            };
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
        macro_rules! safepoint {
            ($need:expr) => {{
                let need: usize = $need;
                if self.heap.may_collect(need) {
                    self.fuel_used = count;
                    self.safepoint(Some(stack), pc, need)?;
                }
            }};
        }
        // A payload field of the enum value `h`, which must be `variant`
        // (the code a compiler emits tests the tag first; a hand-made
        // module that does not gets an error, not a wrong field).
        //
        // `uncount`: for a fused instruction, how many canonical
        // instructions of its expansion come after this read and so do not
        // run when it traps (fuel and stats count canonical instructions).
        macro_rules! enum_field {
            ($h:expr, $variant:expr, $field:expr) => {
                enum_field!($h, $variant, $field, uncount 0)
            };
            ($h:expr, $variant:expr, $field:expr, uncount $tail:expr) => {{
                let h = $h;
                let tag = self.heap.tag(h);
                if tag != $variant as u32 {
                    if METER {
                        count -= $tail;
                    }
                    trap!(
                        TrapKind::InvalidArgument,
                        "enum payload read for variant {} of a value of variant {}",
                        $variant,
                        tag
                    );
                }
                self.heap.fields(h)[$field as usize]
            }};
        }
        // An instruction implemented out of the loop (see `ops`), with the
        // frame's `pc` and the fuel count saved for it.
        macro_rules! slow {
            ($op:ident $(, $arg:expr)*) => {{
                sync!();
                sp = self.$op::<METER>(stack, sp $(, $arg)*)?;
                count = self.fuel_used;
            }};
        }
        // A fused instruction counts as its expansion (see `fused`): the
        // first canonical instruction was counted with every dispatch, the
        // rest are added here, a constant in the instruction's own arm.
        macro_rules! fused {
            ($name:ident) => {
                if METER {
                    count += const { crate::opcodes::Opcode::$name.canonical_len() as u64 - 1 };
                }
            };
        }
        macro_rules! check_fuel {
            () => {
                if METER && count >= fuel {
                    sync!();
                    fuel = self.poll(count)?;
                }
            };
        }
        macro_rules! jump {
            ($target:expr) => {{
                let t = $target as usize;
                if t <= pc {
                    check_fuel!();
                }
                pc = t;
                continue;
            }};
        }
        macro_rules! br_int {
            ($target:expr, $op:tt) => {{
                let b = pop!() as i64;
                let a = pop!() as i64;
                if a $op b {
                    jump!($target);
                }
            }};
        }
        macro_rules! field_update {
            ($local:expr, $field:expr, |$x:ident, $v:ident| $e:expr) => {{
                let $v = pop!();
                let slot = &mut self.heap.fields_mut(stack[base + $local as usize])[$field as usize];
                let $x = *slot;
                *slot = $e;
            }};
        }
        macro_rules! br_ll {
            ($a:expr, $b:expr, $target:expr, $op:tt) => {{
                if (stack[base + $a as usize] as i64) $op (stack[base + $b as usize] as i64) {
                    jump!($target);
                }
            }};
        }
        macro_rules! br_limm {
            ($l:expr, $value:expr, $target:expr, $op:tt) => {{
                if (stack[base + $l as usize] as i64) $op ($value as i64) {
                    jump!($target);
                }
            }};
        }
        // Element `index` (an int local) of the array in local `array`,
        // and storing into one: bounds-checked. (`uncount` as for
        // `enum_field`.)
        macro_rules! load_elem {
            ($array:expr, $index:expr) => {
                load_elem!($array, $index, uncount 0)
            };
            ($array:expr, $index:expr, uncount $tail:expr) => {{
                let i = stack[base + $index as usize] as i64;
                let items = self.heap.array(stack[base + $array as usize]);
                match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    Some(v) => *v,
                    None => {
                        let n = items.len();
                        if METER {
                            count -= $tail;
                        }
                        oob!(i, n)
                    }
                }
            }};
        }
        macro_rules! store_elem {
            ($array:expr, $index:expr, $v:expr) => {{
                let v = $v;
                let i = stack[base + $index as usize] as i64;
                let items = self.heap.array_mut(stack[base + $array as usize]);
                match usize::try_from(i).ok().and_then(|i| items.get_mut(i)) {
                    Some(slot) => *slot = v,
                    None => {
                        let n = items.len();
                        oob!(i, n)
                    }
                }
            }};
        }
        // A loop counter's step and test: local += delta (wrapping), then
        // jump if it compares so with local `end`.
        macro_rules! step_br {
            ($local:expr, $delta:expr, $end:expr, $target:expr, $op:tt) => {{
                let slot = base + $local as usize;
                let i = (stack[slot] as i64).wrapping_add($delta);
                stack[slot] = i as u64;
                if i $op stack[base + $end as usize] as i64 {
                    jump!($target);
                }
            }};
        }
        macro_rules! br_imm {
            ($target:expr, $value:expr, $op:tt) => {{
                let a = pop!() as i64;
                if a $op ($value as i64) {
                    jump!($target);
                }
            }};
        }
        // Returns `$result` (the value, or `None` for unit) to the caller.
        macro_rules! ret {
            ($result:expr) => {{
                let result: Option<u64> = $result;
                let fr = self.frames.pop().expect("running frame");
                sp = fr.ret as usize;
                if let Some(v) = result {
                    stack[sp] = v;
                    sp += 1;
                }
                if self.frames.len() == stop {
                    self.fuel_used = count;
                    return Ok(result);
                }
                let caller = *self.frames.last().expect("caller frame");
                fidx = caller.func as usize;
                code = &m.functions[fidx].code;
                base = caller.base as usize;
                pc = caller.pc as usize + 1;
                continue;
            }};
        }
        macro_rules! enter {
            ($callee:expr, $new_base:expr, $ret:expr, $env:expr) => {
                enter!($callee, $new_base, $ret, $env, None::<u64>)
            };
            // `$last`: the last argument, when it is not on the stack yet; it
            // is stored once the stack has room for the callee's frame.
            ($callee:expr, $new_base:expr, $ret:expr, $env:expr, $last:expr) => {{
                let callee = $callee as usize;
                if self.frames.len() >= max_depth {
                    trap!(
                        TrapKind::StackOverflow,
                        "stack overflow: more than {} nested calls",
                        self.limits.max_depth
                    );
                }
                check_fuel!();
                let new_base: usize = $new_base;
                let meta = prog.meta[callee];
                let need = new_base + meta.frame_size as usize;
                if need > MAX_STACK_SLOTS {
                    trap!(TrapKind::StackOverflow, "{}", value_stack_overflow());
                }
                if let Some(v) = $last {
                    stack[new_base + meta.params as usize - 1] = v;
                }
                self.frames.last_mut().expect("running frame").pc = pc as u32;
                self.frames.push(Frame {
                    func: callee as u32,
                    pc: 0,
                    base: new_base as u32,
                    ret: $ret as u32,
                    env: $env,
                });
                fidx = callee;
                code = &m.functions[fidx].code;
                base = new_base;
                sp = base + meta.slots as usize;
                pc = 0;
                continue;
            }};
        }

        loop {
            let ins = code[pc];
            if METER {
                count += 1;
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
                Instr::Load2 { a, b } => {
                    fused!(Load2);
                    push!(stack[base + a as usize]);
                    push!(stack[base + b as usize]);
                }
                Instr::LoadField { local, field } => {
                    fused!(LoadField);
                    push!(self.heap.fields(stack[base + local as usize])[field as usize])
                }
                Instr::StoreElem { array, index } => {
                    fused!(StoreElem);
                    let v = pop!();
                    store_elem!(array, index, v);
                }
                Instr::StoreElemImm {
                    array,
                    index,
                    value,
                } => {
                    fused!(StoreElemImm);
                    store_elem!(array, index, value as i64 as u64)
                }
                Instr::StoreElemL {
                    array,
                    index,
                    local,
                } => {
                    fused!(StoreElemL);
                    store_elem!(array, index, stack[base + local as usize])
                }
                Instr::CopyElem {
                    array,
                    index,
                    src_array,
                    src_index,
                } => {
                    fused!(CopyElem);
                    let v = load_elem!(src_array, src_index, uncount 1);
                    store_elem!(array, index, v);
                }
                Instr::LoadElem { array, index } => {
                    fused!(LoadElem);
                    push!(load_elem!(array, index))
                }
                Instr::MoveElem { dst, array, index } => {
                    fused!(MoveElem);
                    stack[base + dst as usize] = load_elem!(array, index, uncount 1);
                }
                Instr::IAddLL { a, b } => {
                    fused!(IAddLL);
                    push!((stack[base + a as usize] as i64)
                        .wrapping_add(stack[base + b as usize] as i64)
                        as u64)
                }
                Instr::ISubLL { a, b } => {
                    fused!(ISubLL);
                    push!((stack[base + a as usize] as i64)
                        .wrapping_sub(stack[base + b as usize] as i64)
                        as u64)
                }
                Instr::IMulLL { a, b } => {
                    fused!(IMulLL);
                    push!((stack[base + a as usize] as i64)
                        .wrapping_mul(stack[base + b as usize] as i64)
                        as u64)
                }
                Instr::FAddLL { a, b } => {
                    fused!(FAddLL);
                    push!(
                        (f64_of!(stack[base + a as usize]) + f64_of!(stack[base + b as usize]))
                            .to_bits()
                    )
                }
                Instr::FSubLL { a, b } => {
                    fused!(FSubLL);
                    push!(
                        (f64_of!(stack[base + a as usize]) - f64_of!(stack[base + b as usize]))
                            .to_bits()
                    )
                }
                Instr::FMulLL { a, b } => {
                    fused!(FMulLL);
                    push!(
                        (f64_of!(stack[base + a as usize]) * f64_of!(stack[base + b as usize]))
                            .to_bits()
                    )
                }
                Instr::LoadAddImm { local, value } => {
                    fused!(LoadAddImm);
                    push!((stack[base + local as usize] as i64).wrapping_add(value as i64) as u64)
                }
                Instr::IAddL { local } => {
                    fused!(IAddL);
                    top!() =
                        (top!() as i64).wrapping_add(stack[base + local as usize] as i64) as u64
                }
                Instr::ISubL { local } => {
                    fused!(ISubL);
                    top!() =
                        (top!() as i64).wrapping_sub(stack[base + local as usize] as i64) as u64
                }
                Instr::IMulL { local } => {
                    fused!(IMulL);
                    top!() =
                        (top!() as i64).wrapping_mul(stack[base + local as usize] as i64) as u64
                }
                Instr::FAddL { local } => {
                    fused!(FAddL);
                    top!() = (f64_of!(top!()) + f64_of!(stack[base + local as usize])).to_bits()
                }
                Instr::FSubL { local } => {
                    fused!(FSubL);
                    top!() = (f64_of!(top!()) - f64_of!(stack[base + local as usize])).to_bits()
                }
                Instr::FMulL { local } => {
                    fused!(FMulL);
                    top!() = (f64_of!(top!()) * f64_of!(stack[base + local as usize])).to_bits()
                }
                Instr::FDivL { local } => {
                    fused!(FDivL);
                    top!() = (f64_of!(top!()) / f64_of!(stack[base + local as usize])).to_bits()
                }
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
                Instr::IAddImm { value } => {
                    fused!(IAddImm);
                    top!() = (top!() as i64).wrapping_add(value as i64) as u64
                }
                Instr::IMulImm { value } => {
                    fused!(IMulImm);
                    top!() = (top!() as i64).wrapping_mul(value as i64) as u64
                }
                // The verifier rejects a zero immediate.
                Instr::IRemImm { value } => {
                    fused!(IRemImm);
                    top!() = (top!() as i64).wrapping_rem(value as i64) as u64
                }
                Instr::StoreLoad { store, load } => {
                    fused!(StoreLoad);
                    let v = pop!();
                    stack[base + store as usize] = v;
                    push!(stack[base + load as usize]);
                }
                Instr::FAddK { index } => {
                    fused!(FAddK);
                    top!() = (f64_of!(top!()) + f64_of!(self.consts[index as usize])).to_bits()
                }
                Instr::FMulK { index } => {
                    fused!(FMulK);
                    top!() = (f64_of!(top!()) * f64_of!(self.consts[index as usize])).to_bits()
                }
                Instr::BrILtImm { value, target } => {
                    fused!(BrILtImm);
                    br_imm!(target, value, <)
                }
                Instr::BrILeImm { value, target } => {
                    fused!(BrILeImm);
                    br_imm!(target, value, <=)
                }
                Instr::BrIGtImm { value, target } => {
                    fused!(BrIGtImm);
                    br_imm!(target, value, >)
                }
                Instr::BrIGeImm { value, target } => {
                    fused!(BrIGeImm);
                    br_imm!(target, value, >=)
                }
                Instr::BrIEqImm { value, target } => {
                    fused!(BrIEqImm);
                    br_imm!(target, value, ==)
                }
                Instr::BrINeImm { value, target } => {
                    fused!(BrINeImm);
                    br_imm!(target, value, !=)
                }
                Instr::ISub {} => int_bin!(|a, b| a.wrapping_sub(b)),
                Instr::IMul {} => int_bin!(|a, b| a.wrapping_mul(b)),
                Instr::IDiv {} => {
                    if top!() == 0 {
                        trap!(TrapKind::DivisionByZero, "division by zero");
                    }
                    int_bin!(|a, b| a.wrapping_div(b))
                }
                Instr::IRem {} => {
                    if top!() == 0 {
                        trap!(TrapKind::DivisionByZero, "division by zero");
                    }
                    int_bin!(|a, b| a.wrapping_rem(b))
                }
                Instr::INeg {} => top!() = (top!() as i64).wrapping_neg() as u64,
                Instr::IAnd {} => int_bin!(|a, b| a & b),
                Instr::IOr {} => int_bin!(|a, b| a | b),
                Instr::IXor {} => int_bin!(|a, b| a ^ b),
                Instr::IShl {} => int_bin!(|a, b| a.wrapping_shl((b & 63) as u32)),
                Instr::IShr {} => int_bin!(|a, b| a.wrapping_shr((b & 63) as u32)),
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
                    let i = pop!() as i64;
                    let s = self.heap.str(top!());
                    match usize::try_from(i).ok().and_then(|i| s.as_bytes().get(i)) {
                        Some(b) => top!() = *b as u64,
                        None => {
                            let n = s.len();
                            oob!(i, n)
                        }
                    }
                }
                Instr::SSlice {} => slow!(op_slice),
                Instr::SSplit { .. } => slow!(op_split),
                Instr::SFind {} => slow!(op_find),
                Instr::SJoin {} => slow!(op_join),

                Instr::I2F {} => top!() = (top!() as i64 as f64).to_bits(),
                Instr::F2I {} => top!() = f64_of!(top!()) as i64 as u64,
                Instr::IToS {} => {
                    safepoint!(OBJECT_BYTES);
                    let t = compact_str::ToCompactString::to_compact_string(&(top!() as i64));
                    top!() = self.heap.alloc_text(t);
                }
                Instr::FToS {}
                | Instr::BToS {}
                | Instr::SToI {}
                | Instr::SToF {}
                | Instr::FFixed {} => slow!(op_text, ins),

                Instr::FSqrt {} => flt_un!(|a| a.sqrt()),
                Instr::FFloor {} => flt_un!(|a| libm::floor(a)),
                Instr::FCeil {} => flt_un!(|a| libm::ceil(a)),
                Instr::FSin {} => flt_un!(|a| libm::sin(a)),
                Instr::FCos {} => flt_un!(|a| libm::cos(a)),
                Instr::FExp {} => flt_un!(|a| libm::exp(a)),
                Instr::FLog {} => flt_un!(|a| libm::log(a)),
                Instr::FAbs {} => flt_un!(|a| a.abs()),
                Instr::FPow {} => flt_bin!(|a, b| libm::pow(a, b)),
                Instr::FMin {} => flt_bin!(|a, b| fmin(a, b)),
                Instr::FMax {} => flt_bin!(|a, b| -fmin(-a, -b)),
                Instr::IAbs {} => top!() = (top!() as i64).wrapping_abs() as u64,
                Instr::IMin {} => int_bin!(|a, b| a.min(b)),
                Instr::IMax {} => int_bin!(|a, b| a.max(b)),

                Instr::Jmp { target } => jump!(target),
                Instr::JmpIf { target } => {
                    if pop!() != 0 {
                        jump!(target);
                    }
                }
                Instr::JmpIfNot { target } => {
                    if pop!() == 0 {
                        jump!(target);
                    }
                }
                Instr::BrILt { target } => {
                    fused!(BrILt);
                    br_int!(target, <)
                }
                Instr::BrILe { target } => {
                    fused!(BrILe);
                    br_int!(target, <=)
                }
                Instr::BrIGt { target } => {
                    fused!(BrIGt);
                    br_int!(target, >)
                }
                Instr::BrIGe { target } => {
                    fused!(BrIGe);
                    br_int!(target, >=)
                }
                Instr::BrIEq { target } => {
                    fused!(BrIEq);
                    br_int!(target, ==)
                }
                Instr::BrINe { target } => {
                    fused!(BrINe);
                    br_int!(target, !=)
                }
                Instr::BrTagNe { variant, target } => {
                    fused!(BrTagNe);
                    let h = pop!();
                    if self.heap.tag(h) != variant as u32 {
                        jump!(target);
                    }
                }
                Instr::BrLTagNe {
                    local,
                    variant,
                    target,
                } => {
                    fused!(BrLTagNe);
                    if self.heap.tag(stack[base + local as usize]) != variant as u32 {
                        jump!(target);
                    }
                }
                Instr::ForStep { local, end, target } => {
                    fused!(ForStep);
                    step_br!(local, 1, end, target, <)
                }
                Instr::AddLBrLe {
                    local,
                    step,
                    end,
                    target,
                } => {
                    fused!(AddLBrLe);
                    step_br!(local, stack[base + step as usize] as i64, end, target, <=)
                }
                Instr::StoreForStep {
                    store,
                    local,
                    end,
                    target,
                } => {
                    fused!(StoreForStep);
                    let v = pop!();
                    stack[base + store as usize] = v;
                    step_br!(local, 1, end, target, <)
                }
                Instr::BrLLLt { a, b, target } => {
                    fused!(BrLLLt);
                    br_ll!(a, b, target, <)
                }
                Instr::BrLLLe { a, b, target } => {
                    fused!(BrLLLe);
                    br_ll!(a, b, target, <=)
                }
                Instr::BrLLGt { a, b, target } => {
                    fused!(BrLLGt);
                    br_ll!(a, b, target, >)
                }
                Instr::BrLLGe { a, b, target } => {
                    fused!(BrLLGe);
                    br_ll!(a, b, target, >=)
                }
                Instr::BrLLEq { a, b, target } => {
                    fused!(BrLLEq);
                    br_ll!(a, b, target, ==)
                }
                Instr::BrLLNe { a, b, target } => {
                    fused!(BrLLNe);
                    br_ll!(a, b, target, !=)
                }
                Instr::BrLImmLt {
                    local,
                    value,
                    target,
                } => {
                    fused!(BrLImmLt);
                    br_limm!(local, value, target, <)
                }
                Instr::BrLImmLe {
                    local,
                    value,
                    target,
                } => {
                    fused!(BrLImmLe);
                    br_limm!(local, value, target, <=)
                }
                Instr::BrLImmGt {
                    local,
                    value,
                    target,
                } => {
                    fused!(BrLImmGt);
                    br_limm!(local, value, target, >)
                }
                Instr::BrLImmGe {
                    local,
                    value,
                    target,
                } => {
                    fused!(BrLImmGe);
                    br_limm!(local, value, target, >=)
                }
                Instr::BrLImmEq {
                    local,
                    value,
                    target,
                } => {
                    fused!(BrLImmEq);
                    br_limm!(local, value, target, ==)
                }
                Instr::BrLImmNe {
                    local,
                    value,
                    target,
                } => {
                    fused!(BrLImmNe);
                    br_limm!(local, value, target, !=)
                }
                Instr::FieldAddI { local, field } => {
                    fused!(FieldAddI);
                    field_update!(local, field, |x, v| (x as i64).wrapping_add(v as i64)
                        as u64)
                }
                Instr::FieldSubI { local, field } => {
                    fused!(FieldSubI);
                    field_update!(local, field, |x, v| (x as i64).wrapping_sub(v as i64)
                        as u64)
                }
                Instr::FieldAddF { local, field } => {
                    fused!(FieldAddF);
                    field_update!(local, field, |x, v| (f64_of!(x) + f64_of!(v)).to_bits())
                }
                Instr::FieldSubF { local, field } => {
                    fused!(FieldSubF);
                    field_update!(local, field, |x, v| (f64_of!(x) - f64_of!(v)).to_bits())
                }
                Instr::LocalAddL { dst, src } => {
                    fused!(LocalAddL);
                    let d = base + dst as usize;
                    stack[d] =
                        (stack[d] as i64).wrapping_add(stack[base + src as usize] as i64) as u64;
                }
                Instr::IncLocal { local, value } => {
                    fused!(IncLocal);
                    let slot = base + local as usize;
                    stack[slot] = (stack[slot] as i64).wrapping_add(value as i64) as u64;
                }
                Instr::Call { func: f } => {
                    let np = prog.meta[f as usize].params as usize;
                    enter!(f, sp - np, sp - np, NO_ENV)
                }
                Instr::CallL { func: f, local } => {
                    fused!(CallL);
                    let np = prog.meta[f as usize].params as usize;
                    let v = stack[base + local as usize];
                    enter!(f, sp + 1 - np, sp + 1 - np, NO_ENV, Some(v))
                }
                Instr::CallLAddImm {
                    func: f,
                    local,
                    value,
                } => {
                    fused!(CallLAddImm);
                    let np = prog.meta[f as usize].params as usize;
                    let v = (stack[base + local as usize] as i64).wrapping_add(value as i64) as u64;
                    enter!(f, sp + 1 - np, sp + 1 - np, NO_ENV, Some(v))
                }
                Instr::CallClosure { ty } => {
                    let np = match m.ty(ty) {
                        TypeDesc::Fn { params, .. } => params.len(),
                        _ => unreachable_verified(),
                    };
                    let clo = stack[sp - np - 1];
                    let f = self.heap.closure(clo).0;
                    enter!(f, sp - np, sp - np - 1, clo)
                }
                Instr::CallHost { import } => {
                    sync!();
                    sp = self.op_call_host(stack, sp, import)?;
                    count = self.fuel_used;
                }
                Instr::Ret {} => {
                    let result = if prog.meta[fidx].returns_value {
                        Some(stack[sp - 1])
                    } else {
                        None
                    };
                    ret!(result)
                }
                Instr::RetL { local } => {
                    fused!(RetL);
                    ret!(Some(stack[base + local as usize]))
                }
                Instr::RetImm { value } => {
                    fused!(RetImm);
                    ret!(Some(value as i64 as u64))
                }

                Instr::NewArray { ty, len } => {
                    // No work units: each element was pushed by an
                    // instruction of its own, which paid for copying it.
                    let len = len as usize;
                    safepoint!(OBJECT_BYTES + 8 * len);
                    let items = stack[sp - len..sp].to_vec();
                    sp -= len;
                    push!(self.heap.alloc(Object::Array {
                        refs: prog.holds_refs(ty),
                        items,
                    }));
                }
                Instr::NewArrayRep { ty } => slow!(op_array_rep, ty),
                Instr::ALen {} => top!() = self.heap.array(top!()).len() as u64,
                Instr::AGet {} => {
                    let i = pop!() as i64;
                    let items = self.heap.array(top!());
                    match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                        Some(v) => top!() = *v,
                        None => {
                            let n = items.len();
                            oob!(i, n)
                        }
                    }
                }
                Instr::ASet {} => {
                    let v = pop!();
                    let i = pop!() as i64;
                    let a = pop!();
                    let items = self.heap.array_mut(a);
                    match usize::try_from(i).ok().and_then(|i| items.get_mut(i)) {
                        Some(slot) => *slot = v,
                        None => {
                            let n = items.len();
                            oob!(i, n)
                        }
                    }
                }
                Instr::APush {} => {
                    let a = stack[sp - 2];
                    safepoint!(self.heap.array_push_need(a));
                    let v = pop!();
                    sp -= 1;
                    if let Err(stop) = self.heap.array_push(a, v) {
                        sync!();
                        return Err(self.stopped(stop));
                    }
                }
                Instr::APop {} => match self.heap.array_pop(top!()) {
                    Some(v) => top!() = v,
                    None => trap!(TrapKind::EmptyPop, "pop from an empty array"),
                },

                Instr::NewMap { ty } => {
                    sync!();
                    sp = self.op_new_map(stack, sp, ty)?;
                }
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

                Instr::NewStruct { ty } => {
                    let (layout, counts) = prog.shape(ty);
                    let n = counts[0] as usize;
                    safepoint!(OBJECT_BYTES + 8 * n);
                    sp -= n;
                    let h = self.heap.alloc_record(layout, 0, &stack[sp..sp + n]);
                    push!(h);
                }
                Instr::GetField { field } => top!() = self.heap.fields(top!())[field as usize],
                Instr::SetField { field } => {
                    let v = pop!();
                    let s = pop!();
                    self.heap.fields_mut(s)[field as usize] = v;
                }
                Instr::NewEnum { ty, variant } => {
                    let (layout, counts) = prog.shape(ty);
                    let n = counts[variant as usize] as usize;
                    if n == 0 {
                        push!(self.units[layout as usize][variant as usize]);
                    } else {
                        safepoint!(OBJECT_BYTES + 8 * n);
                        sp -= n;
                        let h = self
                            .heap
                            .alloc_record(layout, variant as u32, &stack[sp..sp + n]);
                        push!(h);
                    }
                }
                Instr::EnumTag {} => top!() = self.heap.tag(top!()) as u64,
                Instr::EnumField { variant, field } => {
                    let v = enum_field!(top!(), variant, field);
                    top!() = v;
                }
                Instr::LoadEnumField {
                    local,
                    variant,
                    field,
                } => {
                    fused!(LoadEnumField);
                    push!(enum_field!(stack[base + local as usize], variant, field))
                }
                Instr::MoveEnumField {
                    dst,
                    src,
                    variant,
                    field,
                } => {
                    fused!(MoveEnumField);
                    stack[base + dst as usize] =
                        enum_field!(stack[base + src as usize], variant, field, uncount 1);
                }

                Instr::NewClosure { func: f, .. } => {
                    let n = m.functions[f as usize].captures.len();
                    safepoint!(OBJECT_BYTES + 8 * n);
                    let captures = Fields::from_slice(&stack[sp - n..sp]);
                    sp -= n;
                    push!(self.heap.alloc(Object::Closure { func: f, captures }));
                }
                Instr::NewCell { ty } => {
                    safepoint!(OBJECT_BYTES);
                    let is_ref = prog.holds_refs(ty);
                    top!() = self.heap.alloc(Object::Cell {
                        is_ref,
                        value: top!(),
                    });
                }
                Instr::CellGet {} => top!() = self.heap.cell(top!()),
                Instr::CellSet {} => {
                    let v = pop!();
                    let c = pop!();
                    self.heap.set_cell(c, v);
                }
            }
            pc += 1;
        }
    }
}
