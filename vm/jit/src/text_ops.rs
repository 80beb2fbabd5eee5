//! String instructions' quick paths: `seq` ... `sge`, `sconcat` and
//! `sslice` where the instance does not meter, `itos` and `char`, and
//! the built-ins that only read strings (`contains`, `code_at`, ...:
//! `query`) where they charge nothing or the instance does not meter. Where an
//! instance does not meter ([`tern_vm::jit::JitState::metered`] is 0),
//! string work charges no fuel and no watch can stop it, so compiled code
//! calls these directly (as `heap_ops`' shims) instead of running the
//! instruction through the runtime, which costs about a hundred host
//! instructions more each time. Each does what the interpreter's slow
//! path does, with the same `Heap` methods (`str_compare`, `concat`,
//! `slice`, `alloc_int_text`), and allocates only where the interpreter's
//! `Vm::reserve` would not collect first (`Heap::may_collect`).
//!
//! Each answers 0, having changed nothing, where it declines: a metered
//! instance, a collection that may be due, a slice the interpreter traps
//! on, or a host allocation failure. Compiled code then runs the
//! instruction through the runtime, which does it (or traps) as the
//! interpreter does.

use crate::heap_ops::{guard, pack, part, stack_top};
use crate::masm::{Arg, HeapFn};
use tern_vm::builtins::{query_cost, Builtin};
use tern_vm::heap::{str_size, Heap, OBJECT_BYTES};
use tern_vm::internal::Op;
use tern_vm::limits::Watch;
use tern_vm::strings::slice_range;
use tern_vm::{Instr, Program};

/// The comparisons, numbered as `compare` finds them in its operand word.
const COMPARISONS: [Instr; 6] = [
    Instr::SEq {},
    Instr::SNe {},
    Instr::SLt {},
    Instr::SLe {},
    Instr::SGt {},
    Instr::SGe {},
];

/// The shim for canonical string instruction `op` (`pc` of `prog`) and
/// its two operand words, if it has one.
pub(crate) fn shim(op: &Op, prog: &Program, pc: u32) -> Option<(HeapFn, u64, Arg)> {
    let Op::Stack(ins) = *op else {
        return None;
    };
    let top = |k: usize| stack_top(prog, pc, k).map(u64::from);
    if let Some(k) = COMPARISONS.iter().position(|&c| c == ins) {
        return Some((compare, pack(&[top(2)?, top(1)?, k as u64]), Arg::Metered));
    }
    if let Instr::Builtin { id } = ins {
        let b = Builtin::from_id(id)?;
        let n = b.params().len();
        let x = pack(&[top(n)?, n as u64, id.into()]);
        return match b {
            Builtin::FromCode => Some((from_code, x, Arg::Imm(0))),
            _ if b.is_query() => Some((query, x, Arg::Metered)),
            _ => None,
        };
    }
    Some(match ins {
        Instr::SConcat {} => (concat, pack(&[top(2)?, top(1)?]), Arg::Metered),
        Instr::SSlice {} => (slice, pack(&[top(3)?, top(2)?, top(1)?]), Arg::Metered),
        // Charges nothing: no need to know whether the instance meters.
        Instr::IToS {} => (itos, top(1)?, Arg::Imm(0)),
        _ => return None,
    })
}

extern "C" fn compare(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        if metered != 0 {
            return None;
        }
        let (a, b) = (fr.get(part(x, 0)), fr.get(part(x, 1)));
        let ins = *COMPARISONS.get(part(x, 2))?;
        let r = heap.str_compare(ins, a, b, &Watch::IDLE).ok()?;
        fr.set(part(x, 0), r as u64);
        Some(())
    })
}

extern "C" fn concat(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (a, b) = (fr.get(part(x, 0)), fr.get(part(x, 1)));
        if metered != 0 || heap.may_collect(heap.concat_need(a, b).0) {
            return None;
        }
        // Fails only where the host cannot allocate, before any change.
        let r = heap.concat(a, b, &Watch::IDLE).ok()?;
        fr.set(part(x, 0), r);
        Some(())
    })
}

extern "C" fn slice(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        if metered != 0 {
            return None;
        }
        let s = fr.get(part(x, 0));
        let (a, b) = (fr.get(part(x, 1)) as i64, fr.get(part(x, 2)) as i64);
        let range = slice_range(heap.str(s), a, b).ok()?;
        if heap.may_collect(str_size(range.len())) {
            return None;
        }
        let r = heap.slice(s, range, &Watch::IDLE).ok()?;
        fr.set(part(x, 0), r);
        Some(())
    })
}

/// A string query (`x` packs its first argument's slot, its number of
/// arguments and its id), where it makes no charge or the instance does
/// not meter; an error is the runtime's (which traps).
extern "C" fn query(heap: *mut Heap, frame: *mut u64, x: u64, metered: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let (base, n) = (part(x, 0), part(x, 1));
        let b = Builtin::from_id(part(x, 2) as u16)?;
        let args = fr.slots(base, n)?;
        // A charge is where fuel may run out: the runtime makes it.
        if metered != 0 && query_cost(b, heap, args).is_some() {
            return None;
        }
        let v = heap.text_query(b, args, &Watch::IDLE).ok()?.ok()?;
        fr.set(base, v);
        Some(())
    })
}

/// `char(cp)` where no collection may be due (it charges nothing).
extern "C" fn from_code(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        let s = part(x, 0);
        let text = tern_vm::text::char_text(fr.get(s) as i64)?;
        if heap.may_collect(OBJECT_BYTES) {
            return None;
        }
        let h = heap.alloc_text(text);
        fr.set(s, h);
        Some(())
    })
}

extern "C" fn itos(heap: *mut Heap, frame: *mut u64, x: u64, _: u64) -> u64 {
    guard(heap, frame, |heap, fr| {
        if heap.may_collect(OBJECT_BYTES) {
            return None;
        }
        let s = part(x, 0);
        let h = heap.alloc_int_text(fr.get(s) as i64);
        fr.set(s, h);
        Some(())
    })
}
