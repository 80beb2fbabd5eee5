//! The array instructions beyond push and pop (`array.sort`, `find`,
//! `slice`, `insert`, `remove`, `extend`) and `map.clear`.
//!
//! Each charges fuel for the elements it touches before touching them,
//! makes room before it allocates, and looks at the watch during long
//! work: sorting checks it every [`CHUNK_ELEMENTS`] comparisons (and,
//! stopped, finishes the sort with trivial comparisons before reporting).

use super::ops::unreachable_op;
use super::Vm;
use crate::heap::{Object, OBJECT_BYTES};
use crate::limits::CHUNK_ELEMENTS;
use crate::module::{TypeDesc, TypeId};
use crate::stack::ValueStack;
use crate::trap::{Trap, TrapKind};
use crate::values::Walk;
use std::cmp::Ordering;
use std::sync::Arc;

impl Vm<'_> {
    /// The element index `i` of an array of `len` (or `len` itself, with
    /// `end`), or the bounds trap.
    fn array_index(&mut self, i: u64, len: usize, end: bool) -> Result<usize, Trap> {
        let i = i as i64;
        match usize::try_from(i) {
            Ok(k) if k < len || (end && k == len) => Ok(k),
            _ => {
                let msg = format!("index {i} out of bounds for length {len}");
                Err(self.fail(TrapKind::IndexOutOfBounds, msg))
            }
        }
    }

    #[inline(never)]
    pub(super) fn op_array_sort<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        let a = stack[sp - 1];
        let n = self.heap.array(a).len();
        let log = (usize::BITS - n.leading_zeros()) as usize;
        let elem = match self.prog.module().ty(ty) {
            TypeDesc::Array(e) => *e,
            _ => unreachable_op(),
        };
        let kind = self.prog.module().ty(elem).clone();
        let text: usize = if kind == TypeDesc::Str {
            self.heap
                .array(a)
                .iter()
                .map(|&s| self.heap.str(s).len())
                .sum()
        } else {
            0
        };
        self.charge::<METER>(text.saturating_mul(log), n.saturating_mul(log))?;
        let mut items = std::mem::take(self.heap.array_mut(a));
        let (heap, watch) = (&self.heap, &self.watch);
        let mut calls = 0usize;
        let mut stopped = None;
        let mut cmp = |x: &u64, y: &u64| -> Ordering {
            if stopped.is_some() {
                return Ordering::Equal;
            }
            calls += 1;
            if calls & (CHUNK_ELEMENTS - 1) == 0 {
                if let Err(s) = watch.check() {
                    stopped = Some(s);
                    return Ordering::Equal;
                }
            }
            match kind {
                TypeDesc::Int => (*x as i64).cmp(&(*y as i64)),
                TypeDesc::Bool => x.cmp(y),
                TypeDesc::Float => {
                    let (p, q) = (f64::from_bits(*x), f64::from_bits(*y));
                    match (p.is_nan(), q.is_nan()) {
                        (false, false) => p.partial_cmp(&q).expect("not NaN"),
                        (a, b) => a.cmp(&b),
                    }
                }
                _ => heap.str(*x).cmp(heap.str(*y)),
            }
        };
        items.sort_by(&mut cmp);
        *self.heap.array_mut(a) = items;
        if let Some(s) = stopped {
            return Err(self.stopped(s));
        }
        Ok(sp - 1)
    }

    #[inline(never)]
    pub(super) fn op_array_find<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        let (a, v) = (stack[sp - 2], stack[sp - 1]);
        let elem = match self.prog.module().ty(ty) {
            TypeDesc::Array(e) => *e,
            _ => unreachable_op(),
        };
        let max_units = self.fuel_left::<METER>();
        let prog = Arc::clone(&self.prog);
        let mut walk = Walk::new(
            &self.heap,
            prog.module(),
            &self.watch,
            max_units,
            usize::MAX,
        );
        let mut found = Ok(-1i64);
        for (k, &x) in self.heap.array(a).iter().enumerate() {
            match walk.equal(elem, x, v, 0) {
                Ok(true) => {
                    found = Ok(k as i64);
                    break;
                }
                Ok(false) => {}
                Err(h) => {
                    found = Err(h);
                    break;
                }
            }
        }
        let units = walk.units();
        let at = self.walk_result::<METER, _>(found, units)?;
        stack[sp - 2] = at as u64;
        Ok(sp - 1)
    }

    #[inline(never)]
    pub(super) fn op_array_slice<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        let (a, lo, hi) = (stack[sp - 3], stack[sp - 2], stack[sp - 1]);
        let n = self.heap.array(a).len();
        let (l, h) = (lo as i64, hi as i64);
        let range = match (usize::try_from(l), usize::try_from(h)) {
            (Ok(l), Ok(h)) if l <= h && h <= n => l..h,
            _ => {
                let msg = format!("slice {l}..{h} out of range for length {n}");
                return Err(self.fail(TrapKind::IndexOutOfBounds, msg));
            }
        };
        self.charge::<METER>(0, range.len())?;
        self.reserve(stack, OBJECT_BYTES + 8 * range.len())?;
        let items = self.heap.array(a)[range].to_vec();
        stack[sp - 3] = self.heap.alloc(Object::Array {
            refs: self.prog.holds_refs(ty),
            items,
        });
        Ok(sp - 2)
    }

    #[inline(never)]
    pub(super) fn op_array_insert<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (a, i, v) = (stack[sp - 3], stack[sp - 2], stack[sp - 1]);
        let n = self.heap.array(a).len();
        let at = self.array_index(i, n, true)?;
        self.charge::<METER>(0, n - at)?;
        let need = self.heap.array_push_need(a);
        self.reserve(stack, need)?;
        let r = self.heap.array_push(a, v);
        self.watched(r)?;
        // Pushed last, then rotated into place.
        self.heap.array_mut(a)[at..].rotate_right(1);
        Ok(sp - 3)
    }

    #[inline(never)]
    pub(super) fn op_array_remove<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (a, i) = (stack[sp - 2], stack[sp - 1]);
        let n = self.heap.array(a).len();
        let at = self.array_index(i, n, false)?;
        self.charge::<METER>(0, n - at)?;
        stack[sp - 2] = self.heap.array_mut(a).remove(at);
        Ok(sp - 1)
    }

    #[inline(never)]
    pub(super) fn op_array_extend<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (a, b) = (stack[sp - 2], stack[sp - 1]);
        let more = self.heap.array(b).len();
        self.charge::<METER>(0, more)?;
        let need = self.heap.array_extend_need(a, more);
        self.reserve(stack, need)?;
        // A copy first: `b` may be `a` itself.
        let values = self.heap.array(b).clone();
        let r = self.heap.array_extend(a, &values);
        self.watched(r)?;
        Ok(sp - 2)
    }

    #[inline(never)]
    pub(super) fn op_map_clear<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let m = stack[sp - 1];
        self.charge::<METER>(0, self.heap.map(m).len())?;
        self.heap.clear_map(m);
        Ok(sp - 1)
    }
}
