//! The dispatch loop: one `match` over the internal instructions (see
//! [`crate::internal`]) of the whole program's code array (so a call or a
//! return only moves `pc`): the register instructions inline, and
//! canonical instructions run as themselves ([`Op::Stack`]): jumps, calls
//! and returns here, the rest in `canonical`, out of the loop.
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
use crate::internal::Op;
use crate::semantics;

macro_rules! f64_of {
    ($x:expr) => {
        f64::from_bits($x)
    };
}

impl Vm<'_> {
    /// The dispatch loop. `METER` counts instructions (for fuel and stats);
    /// without it the count is not kept at all. `JIT` offers frames to
    /// compiled code (see `tier`) at calls, returns and backward branches;
    /// without it no check for one is made.
    // `sp` is set for each canonical instruction (see `Op::Stack`), so
    // what the others leave in it is never read.
    #[allow(unused_assignments)]
    // `!(a < b)` is meant: a NaN operand makes it true (`br.not.flt`).
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    #[inline(never)]
    pub(super) fn run<const METER: bool, const JIT: bool>(
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
        // One array for all functions: calls and returns change `pc`.
        // They also take `ops` again, the same slice: a value the loop
        // assigns is one LLVM keeps in registers, where one fixed before
        // the loop it spills and reloads at every instruction (callgrind:
        // 4-10% more instructions over the suite without the assignments).
        let mut ops: &[Op] = &prog.ops;
        let counts: &[u8] = &prog.counts;
        let sps: &[u32] = &prog.sps;
        let mut base = top.base as usize;
        let mut pc = top.pc as usize;
        let mut sp = base + prog.meta[top.func as usize].slots as usize;
        // The running frame's first slots, which the register instructions
        // name (see `r!`).
        let mut frame = stack.frame(base);
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
        // The count saved leaves out a `store` the instruction took in
        // after its trap point (see `internal::Code::tails`): it has not
        // run yet, so a trap, a charge for work or a poll here sees the
        // canonical count.
        macro_rules! sync {
            () => {{
                self.frames.last_mut().expect("running frame").pc = pc as u32;
                self.fuel_used = count;
                if METER {
                    self.leave_out_tail();
                }
            }};
        }
        // Takes the count back after a function that may have charged.
        macro_rules! resync {
            () => {{
                count = self.fuel_used;
                if METER {
                    count += self.tail_now();
                }
            }};
        }
        macro_rules! trap {
            ($kind:expr, $($msg:tt)*) => {{
                sync!();
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
        // An instruction implemented out of the loop (see `ops`), with the
        // frame's `pc` and the fuel count saved for it.
        macro_rules! slow {
            ($op:ident $(, $arg:expr)*) => {{
                sync!();
                sp = self.$op::<METER>(stack, sp $(, $arg)*)?;
                resync!();
            }};
        }
        // Offers the running frame, at `pc` (not yet counted), to
        // compiled code: with `$func` compiled, the loop stops and leaves
        // the frame to the driver (see `tier`), which starts it again
        // where compiled code needs the interpreter. (Stopping, not
        // taking the frame back here: a path that sets the loop's state
        // again at every backward branch costs registers in all of it.)
        // `offer`: whether the running function may still be compiled;
        // false once the backend refused it, so its backward branches
        // skip the offer.
        let mut offer = JIT;
        macro_rules! tier_up {
            ($func:expr) => {
                if JIT {
                    if self.compiled($func) {
                        self.frames.last_mut().expect("running frame").pc = pc as u32;
                        self.fuel_used = count;
                        self.handoff = true;
                        return Ok(None);
                    }
                    offer = self.may_compile($func);
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
                    if JIT && offer {
                        pc = t;
                        tier_up!(self.frames.last().expect("running frame").func);
                    }
                }
                pc = t;
                continue;
            }};
        }
        // A jump from a canonical instruction, which used `stack` and so
        // takes the frame view again.
        macro_rules! stack_jump {
            ($target:expr) => {{
                frame = stack.frame(base);
                jump!($target)
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
                base = fr.ret_base as usize;
                ops = &prog.ops;
                // A `store` the call took in runs now (see `Op::Call`).
                if METER {
                    if let Op::Call { after, .. } = ops[fr.ret_pc as usize] {
                        count += after as u64;
                    }
                }
                pc = fr.ret_pc as usize + 1;
                frame = stack.frame(base);
                tier_up!(self.frames.last().expect("a caller").func);
                continue;
            }};
        }
        // What a call checks before it enters `$callee` with its frame at
        // `$new_base` (an inlined one too: see `Op::Enter`): the call
        // depth, then fuel, then the value stack. Its facts.
        macro_rules! call_checks {
            ($callee:expr, $new_base:expr, $inlined:expr) => {{
                if self.frames.len() + $inlined >= max_depth {
                    trap!(
                        TrapKind::StackOverflow,
                        "stack overflow: more than {} nested calls",
                        self.limits.max_depth
                    );
                }
                check_fuel!();
                let meta = prog.meta[$callee];
                let need = $new_base + meta.frame_size as usize;
                if need > MAX_STACK_SLOTS {
                    trap!(TrapKind::StackOverflow, "{}", value_stack_overflow());
                }
                meta
            }};
        }
        macro_rules! enter {
            ($callee:expr, $new_base:expr, $ret:expr, $env:expr) => {{
                let callee = $callee as usize;
                let new_base: usize = $new_base;
                let meta = call_checks!(callee, new_base, 0);
                self.frames.push(Frame {
                    func: callee as u32,
                    pc: meta.start,
                    base: new_base as u32,
                    ret: $ret as u32,
                    ret_base: base as u32,
                    ret_pc: pc as u32,
                    env: $env,
                });
                base = new_base;
                ops = &prog.ops;
                pc = meta.start as usize;
                frame = stack.frame(base);
                tier_up!(callee as u32);
                continue;
            }};
        }

        // Frame slot `s` of the running frame (a `u16`: no check needed),
        // through `frame`, the view of the running frame's first slots:
        // taken again after anything that uses `stack` or moves `base`.
        macro_rules! r {
            ($s:expr) => {
                frame[$s as usize]
            };
        }

        macro_rules! int_op {
            ($d:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
                let $x = r!($a) as i64;
                let $y = r!($b) as i64;
                r!($d) = ($e) as u64;
            }};
        }
        macro_rules! int_imm {
            ($d:expr, $a:expr, $v:expr, |$x:ident, $y:ident| $e:expr) => {{
                let $x = r!($a) as i64;
                let $y = $v as i64;
                r!($d) = ($e) as u64;
            }};
        }
        macro_rules! flt_op {
            ($d:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
                let $x = f64_of!(r!($a));
                let $y = f64_of!(r!($b));
                r!($d) = ($e).to_bits();
            }};
        }
        macro_rules! flt_k {
            ($d:expr, $a:expr, $k:expr, |$x:ident, $y:ident| $e:expr) => {{
                let $x = f64_of!(r!($a));
                let $y = f64_of!(self.consts[$k as usize]);
                r!($d) = ($e).to_bits();
            }};
        }
        macro_rules! cmp_op {
            ($d:expr, $a:expr, $b:expr, $conv:ident, $op:tt) => {{
                r!($d) = ($conv!(r!($a)) $op $conv!(r!($b))) as u64;
            }};
        }
        macro_rules! int_of {
            ($x:expr) => {
                ($x as i64)
            };
        }
        macro_rules! br_if {
            ($cond:expr, $t:expr) => {{
                if $cond {
                    jump!($t);
                }
            }};
        }

        loop {
            let op = &ops[pc];
            if METER {
                count += counts[pc] as u64;
            }
            match *op {
                Op::Stack(ins) => {
                    sp = base + sps[pc] as usize;
                    match ins {
                        Instr::Jmp { target } => stack_jump!(target),
                        Instr::JmpIf { target } => {
                            if pop!() != 0 {
                                stack_jump!(target);
                            }
                        }
                        Instr::JmpIfNot { target } => {
                            if pop!() == 0 {
                                stack_jump!(target);
                            }
                        }
                        Instr::Call { func: f } => {
                            let np = prog.meta[f as usize].params as usize;
                            enter!(f, sp - np, sp - np, NO_ENV)
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
                        Instr::Ret {} => {
                            let func = self.frames.last().expect("running frame").func;
                            let result = if prog.meta[func as usize].returns_value {
                                Some(stack[sp - 1])
                            } else {
                                None
                            };
                            ret!(result)
                        }

                        // The rest run out of the loop, with `pc` and the
                        // count saved for a trap or a collection.
                        _ => {
                            sync!();
                            sp = self.run_canonical::<METER>(stack, base, sp, ins)?;
                            resync!();
                        }
                    }
                    frame = stack.frame(base);
                }
                Op::Nop => {}
                Op::Move { d, s } => r!(d) = r!(s),
                Op::Int { d, v } => r!(d) = v as i64 as u64,
                Op::Const { d, k } => r!(d) = self.consts[k as usize],
                Op::GlobalGet { d, g } => {
                    if !self.global_set[g as usize] {
                        trap!(
                            TrapKind::UninitializedGlobal,
                            "global {} read before it was initialized",
                            g
                        );
                    }
                    r!(d) = self.globals[g as usize];
                }
                Op::GlobalSet { g, s } => {
                    self.globals[g as usize] = r!(s);
                    self.global_set[g as usize] = true;
                }
                Op::Capture { d, index } => {
                    let env = self.frames.last().expect("running frame").env;
                    r!(d) = self.heap.closure(env).1[index as usize];
                }

                Op::IAdd { d, a, b } => int_op!(d, a, b, |x, y| x.wrapping_add(y)),
                Op::ISub { d, a, b } => int_op!(d, a, b, |x, y| x.wrapping_sub(y)),
                Op::IMul { d, a, b } => int_op!(d, a, b, |x, y| x.wrapping_mul(y)),
                Op::IDiv { d, a, b } => {
                    if r!(b) == 0 {
                        trap!(TrapKind::DivisionByZero, "division by zero");
                    }
                    int_op!(d, a, b, |x, y| semantics::int_div(x, y))
                }
                Op::IRem { d, a, b } => {
                    if r!(b) == 0 {
                        trap!(TrapKind::DivisionByZero, "division by zero");
                    }
                    int_op!(d, a, b, |x, y| semantics::int_rem(x, y))
                }
                Op::IAnd { d, a, b } => int_op!(d, a, b, |x, y| x & y),
                Op::IOr { d, a, b } => int_op!(d, a, b, |x, y| x | y),
                Op::IXor { d, a, b } => int_op!(d, a, b, |x, y| x ^ y),
                Op::IShl { d, a, b } => int_op!(d, a, b, |x, y| semantics::shl(x, y)),
                Op::IShr { d, a, b } => int_op!(d, a, b, |x, y| semantics::shr(x, y)),
                Op::IAddImm { d, a, v } => int_imm!(d, a, v, |x, y| x.wrapping_add(y)),
                Op::IMulImm { d, a, v } => int_imm!(d, a, v, |x, y| x.wrapping_mul(y)),
                // The translator takes only divisors that are not zero.
                Op::IDivImm { d, a, v } => int_imm!(d, a, v, |x, y| semantics::int_div(x, y)),
                Op::IRemImm { d, a, v } => int_imm!(d, a, v, |x, y| semantics::int_rem(x, y)),
                Op::IDivBy { d, a, k } => {
                    r!(d) = prog.divisors[k as usize].quotient(r!(a) as i64) as u64
                }
                Op::IRemBy { d, a, k } => {
                    r!(d) = prog.divisors[k as usize].remainder(r!(a) as i64) as u64
                }
                Op::INeg { d, a } => r!(d) = (r!(a) as i64).wrapping_neg() as u64,
                Op::ILt { d, a, b } => cmp_op!(d, a, b, int_of, <),
                Op::ILe { d, a, b } => cmp_op!(d, a, b, int_of, <=),
                Op::IGt { d, a, b } => cmp_op!(d, a, b, int_of, >),
                Op::IGe { d, a, b } => cmp_op!(d, a, b, int_of, >=),
                Op::IEq { d, a, b } => cmp_op!(d, a, b, int_of, ==),
                Op::INe { d, a, b } => cmp_op!(d, a, b, int_of, !=),

                Op::FAdd { d, a, b } => flt_op!(d, a, b, |x, y| x + y),
                Op::FSub { d, a, b } => flt_op!(d, a, b, |x, y| x - y),
                Op::FMul { d, a, b } => flt_op!(d, a, b, |x, y| x * y),
                Op::FDiv { d, a, b } => flt_op!(d, a, b, |x, y| x / y),
                Op::FAddK { d, a, k } => flt_k!(d, a, k, |x, y| x + y),
                Op::FSubK { d, a, k } => flt_k!(d, a, k, |x, y| x - y),
                Op::FMulK { d, a, k } => flt_k!(d, a, k, |x, y| x * y),
                Op::FDivK { d, a, k } => flt_k!(d, a, k, |x, y| x / y),
                Op::FNeg { d, a } => r!(d) = (-f64_of!(r!(a))).to_bits(),
                Op::FSqrt { d, a } => r!(d) = f64_of!(r!(a)).sqrt().to_bits(),
                Op::FAbs { d, a } => r!(d) = f64_of!(r!(a)).abs().to_bits(),
                Op::FFloor { d, a } => r!(d) = semantics::floor(f64_of!(r!(a))).to_bits(),
                Op::FCeil { d, a } => r!(d) = semantics::ceil(f64_of!(r!(a))).to_bits(),
                Op::IAbs { d, a } => r!(d) = semantics::int_abs(r!(a) as i64) as u64,
                Op::FMin { d, a, b } => flt_op!(d, a, b, |x, y| semantics::float_min(x, y)),
                Op::FMax { d, a, b } => flt_op!(d, a, b, |x, y| semantics::float_max(x, y)),
                Op::IMin { d, a, b } => int_op!(d, a, b, |x, y| x.min(y)),
                Op::IMax { d, a, b } => int_op!(d, a, b, |x, y| x.max(y)),
                Op::IMulAdd { d, a, b, c } => {
                    let p = (r!(a) as i64).wrapping_mul(r!(b) as i64);
                    r!(d) = p.wrapping_add(r!(c) as i64) as u64;
                }
                Op::FMulAdd { d, a, b, c } => {
                    let p = f64_of!(r!(a)) * f64_of!(r!(b));
                    r!(d) = (p + f64_of!(r!(c))).to_bits();
                }
                Op::FMulSub { d, a, b, c } => {
                    let p = f64_of!(r!(a)) * f64_of!(r!(b));
                    r!(d) = (p - f64_of!(r!(c))).to_bits();
                }
                Op::FSubMul { d, a, b, c } => {
                    let p = f64_of!(r!(a)) * f64_of!(r!(b));
                    r!(d) = (f64_of!(r!(c)) - p).to_bits();
                }
                Op::FLt { d, a, b } => cmp_op!(d, a, b, f64_of, <),
                Op::FLe { d, a, b } => cmp_op!(d, a, b, f64_of, <=),
                Op::FGt { d, a, b } => cmp_op!(d, a, b, f64_of, >),
                Op::FGe { d, a, b } => cmp_op!(d, a, b, f64_of, >=),
                Op::FEq { d, a, b } => cmp_op!(d, a, b, f64_of, ==),
                Op::FNe { d, a, b } => cmp_op!(d, a, b, f64_of, !=),
                Op::I2F { d, a } => r!(d) = (r!(a) as i64 as f64).to_bits(),
                Op::F2I { d, a } => r!(d) = semantics::float_to_int(f64_of!(r!(a))) as u64,
                Op::BNot { d, a } => r!(d) = r!(a) ^ 1,

                Op::Jmp { t } => jump!(t),
                Op::BrTrue { s, t } => br_if!(r!(s) != 0, t),
                Op::BrFalse { s, t } => br_if!(r!(s) == 0, t),
                Op::BrILt { a, b, t } => br_if!((r!(a) as i64) < (r!(b) as i64), t),
                Op::BrILe { a, b, t } => br_if!((r!(a) as i64) <= (r!(b) as i64), t),
                Op::BrIGt { a, b, t } => br_if!((r!(a) as i64) > (r!(b) as i64), t),
                Op::BrIGe { a, b, t } => br_if!((r!(a) as i64) >= (r!(b) as i64), t),
                Op::BrIEq { a, b, t } => br_if!(r!(a) == r!(b), t),
                Op::BrINe { a, b, t } => br_if!(r!(a) != r!(b), t),
                Op::BrILtImm { a, v, t } => br_if!((r!(a) as i64) < v as i64, t),
                Op::BrILeImm { a, v, t } => br_if!((r!(a) as i64) <= v as i64, t),
                Op::BrIGtImm { a, v, t } => br_if!((r!(a) as i64) > v as i64, t),
                Op::BrIGeImm { a, v, t } => br_if!((r!(a) as i64) >= v as i64, t),
                Op::BrIEqImm { a, v, t } => br_if!((r!(a) as i64) == v as i64, t),
                Op::BrINeImm { a, v, t } => br_if!((r!(a) as i64) != v as i64, t),
                Op::BrFLt { a, b, t } => br_if!(f64_of!(r!(a)) < f64_of!(r!(b)), t),
                Op::BrFLe { a, b, t } => br_if!(f64_of!(r!(a)) <= f64_of!(r!(b)), t),
                Op::BrFGt { a, b, t } => br_if!(f64_of!(r!(a)) > f64_of!(r!(b)), t),
                Op::BrFGe { a, b, t } => br_if!(f64_of!(r!(a)) >= f64_of!(r!(b)), t),
                Op::BrFEq { a, b, t } => br_if!(f64_of!(r!(a)) == f64_of!(r!(b)), t),
                Op::BrFNe { a, b, t } => br_if!(f64_of!(r!(a)) != f64_of!(r!(b)), t),
                Op::BrNotFLt { a, b, t } => br_if!(!(f64_of!(r!(a)) < f64_of!(r!(b))), t),
                Op::BrNotFLe { a, b, t } => br_if!(!(f64_of!(r!(a)) <= f64_of!(r!(b))), t),
                Op::BrNotFGt { a, b, t } => br_if!(!(f64_of!(r!(a)) > f64_of!(r!(b))), t),
                Op::BrNotFGe { a, b, t } => br_if!(!(f64_of!(r!(a)) >= f64_of!(r!(b))), t),
                Op::BrFLtK { a, k, t } => {
                    br_if!(f64_of!(r!(a)) < f64_of!(self.consts[k as usize]), t)
                }
                Op::BrFLeK { a, k, t } => {
                    br_if!(f64_of!(r!(a)) <= f64_of!(self.consts[k as usize]), t)
                }
                Op::BrFGtK { a, k, t } => {
                    br_if!(f64_of!(r!(a)) > f64_of!(self.consts[k as usize]), t)
                }
                Op::BrFGeK { a, k, t } => {
                    br_if!(f64_of!(r!(a)) >= f64_of!(self.consts[k as usize]), t)
                }
                Op::BrFEqK { a, k, t } => {
                    br_if!(f64_of!(r!(a)) == f64_of!(self.consts[k as usize]), t)
                }
                Op::BrFNeK { a, k, t } => {
                    br_if!(f64_of!(r!(a)) != f64_of!(self.consts[k as usize]), t)
                }
                Op::BrNotFLtK { a, k, t } => {
                    br_if!(!(f64_of!(r!(a)) < f64_of!(self.consts[k as usize])), t)
                }
                Op::BrNotFLeK { a, k, t } => {
                    br_if!(!(f64_of!(r!(a)) <= f64_of!(self.consts[k as usize])), t)
                }
                Op::BrNotFGtK { a, k, t } => {
                    br_if!(!(f64_of!(r!(a)) > f64_of!(self.consts[k as usize])), t)
                }
                Op::BrNotFGeK { a, k, t } => {
                    br_if!(!(f64_of!(r!(a)) >= f64_of!(self.consts[k as usize])), t)
                }
                Op::StepLt { x, e, t } => {
                    let i = (r!(x) as i64).wrapping_add(1);
                    r!(x) = i as u64;
                    br_if!(i < r!(e) as i64, t)
                }
                Op::StepLe { x, e, t } => {
                    let i = (r!(x) as i64).wrapping_add(1);
                    r!(x) = i as u64;
                    br_if!(i <= r!(e) as i64, t)
                }
                Op::AddBrLt { x, y, e, t } => {
                    let i = (r!(x) as i64).wrapping_add(r!(y) as i64);
                    r!(x) = i as u64;
                    br_if!(i < r!(e) as i64, t)
                }
                Op::AddBrLe { x, y, e, t } => {
                    let i = (r!(x) as i64).wrapping_add(r!(y) as i64);
                    r!(x) = i as u64;
                    br_if!(i <= r!(e) as i64, t)
                }
                Op::StepLtImm { x, v, t } => {
                    let i = (r!(x) as i64).wrapping_add(1);
                    r!(x) = i as u64;
                    br_if!(i < v as i64, t)
                }

                Op::GetField { d, o, f, .. } => r!(d) = self.heap.field(r!(o), f as usize),
                Op::GetFieldKeep { d, m, o, f, g, .. } => {
                    let inner = self.heap.field(r!(o), f as usize);
                    r!(m) = inner;
                    r!(d) = self.heap.field(inner, g as usize);
                }
                Op::GetField2 { d, o, f, g, .. } => {
                    let inner = self.heap.field(r!(o), f as usize);
                    r!(d) = self.heap.field(inner, g as usize);
                }
                Op::SetField { o, f, v, .. } => {
                    let v = r!(v);
                    self.heap.set_field(r!(o), f as usize, v);
                }
                Op::AGet { d, a, i, .. } => {
                    let items = self.heap.array(r!(a));
                    let k = element!(trap, items, r!(i));
                    r!(d) = items.get(k);
                }
                Op::ASet { a, i, v, .. } => {
                    let v = r!(v);
                    let items = self.heap.array_mut(r!(a));
                    let k = element!(trap, items, r!(i));
                    items.set(k, v);
                }
                Op::ASetImm { a, i, v, .. } => {
                    let items = self.heap.array_mut(r!(a));
                    let k = element!(trap, items, r!(i));
                    items.set(k, v as i64 as u64);
                }
                Op::ALen { d, a, .. } => r!(d) = self.heap.array(r!(a)).len() as u64,
                Op::SLen { d, s } => r!(d) = self.heap.str(r!(s)).len() as u64,
                Op::SByte { d, s, i } => {
                    let bytes = self.heap.str(r!(s)).as_bytes();
                    let k = element!(trap, bytes, r!(i));
                    r!(d) = bytes[k] as u64;
                }
                Op::EnumUnit { d, layout, variant } => {
                    r!(d) = self.units[layout as usize][variant as usize]
                }
                Op::EnumTag { d, s } => r!(d) = self.heap.tag(r!(s)) as u64,
                Op::EnumField {
                    d,
                    s,
                    variant,
                    field,
                } => {
                    r!(d) = variant_field!(trap, self.heap, r!(s), variant, field);
                }
                // A lookup the quick path cannot finish (a string key
                // with fuel on, or a missing key) runs as the canonical
                // instruction, its operands put where that one has them.
                Op::MGet { d, m, k, s } => {
                    let (mh, key) = (r!(m), r!(k));
                    match self.heap.map_get_free(mh, key, !METER) {
                        Some(Some(v)) => r!(d) = v,
                        _ => {
                            (r!(s), r!(s + 1)) = (mh, key);
                            sp = base + s as usize + 2;
                            slow!(op_map_read, Instr::MGet {});
                            frame = stack.frame(base);
                            r!(d) = r!(s);
                        }
                    }
                }
                Op::MGetOr { d, m, k, v, s } => {
                    let (mh, key, dv) = (r!(m), r!(k), r!(v));
                    match self.heap.map_get_free(mh, key, !METER) {
                        Some(found) => r!(d) = found.unwrap_or(dv),
                        None => {
                            (r!(s), r!(s + 1), r!(s + 2)) = (mh, key, dv);
                            sp = base + s as usize + 3;
                            slow!(op_map_read, Instr::MGetOr {});
                            frame = stack.frame(base);
                            r!(d) = r!(s);
                        }
                    }
                }
                Op::MSet { m, k, v, s } => {
                    let (mh, key, value) = (r!(m), r!(k), r!(v));
                    if let Err(vacant) = self.heap.map_set_free(mh, key, value, !METER) {
                        (r!(s), r!(s + 1), r!(s + 2)) = (mh, key, value);
                        sp = base + s as usize + 3;
                        slow!(op_map_set, vacant);
                        frame = stack.frame(base);
                    }
                }
                Op::CellGet { d, c } => r!(d) = self.heap.cell(r!(c)),
                Op::CellSet { c, v } => {
                    let v = r!(v);
                    self.heap.set_cell(r!(c), v);
                }
                Op::Enter { func, args, depth } => {
                    call_checks!(func as usize, base + args as usize, depth as usize);
                }
                Op::Call {
                    func,
                    args,
                    ret: to,
                    ..
                } => enter!(func, base + args as usize, base + to as usize, NO_ENV),
                Op::Ret { s } => ret!(Some(r!(s))),
                Op::RetUnit => ret!(None),
            }
            pc += 1;
        }
    }
}
