//! The array instructions beyond push and pop (`array.sort`, `find`,
//! `slice`, `insert`, `remove`, `extend`) and `map.clear`.
//!
//! Each charges fuel for the elements it touches before touching them,
//! makes room before it allocates, and looks at the watch during long
//! work: sorting checks it every [`CHUNK_ELEMENTS`] comparisons (and,
//! stopped, finishes the sort with trivial comparisons before reporting).

use super::ops::unreachable_op;
use super::Vm;
use crate::heap::{array_bytes, Items, Object};
use crate::limits::CHUNK_ELEMENTS;
use crate::limits::{Stop, Watch, CHUNK_BYTES};
use crate::module::{TypeDesc, TypeId};
use crate::stack::ValueStack;
use crate::trap::{Trap, TrapKind};
use std::sync::Arc;
#[cfg(test)]
use std::time::Instant;

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
                .fold(0usize, |t, s| t.saturating_add(self.heap.str(s).len()))
        } else {
            0
        };
        self.charge::<METER>(text.saturating_mul(log), n.saturating_mul(log))?;
        let mut items = std::mem::take(self.heap.array_mut(a));
        let (heap, watch) = (&self.heap, &self.watch);
        let less = |x: u64, y: u64| -> (bool, usize) {
            match kind {
                TypeDesc::Int => ((x as i64) < (y as i64), 0),
                TypeDesc::Bool => (x < y, 0),
                TypeDesc::Float => {
                    let (p, q) = (f64::from_bits(x), f64::from_bits(y));
                    // NaN last: a NaN is before nothing, after every number.
                    (!p.is_nan() && (q.is_nan() || p < q), 0)
                }
                _ => {
                    let (p, q) = (heap.str(x), heap.str(y));
                    (p < q, p.len().min(q.len()))
                }
            }
        };
        let sorted = match &mut items {
            Items::Words(v) => merge_sort(v, less, watch),
            // A stable sort of bools: the falses, then the trues.
            Items::Bytes(v) => {
                let falses = v.iter().filter(|&&b| b == 0).count();
                v[..falses].fill(0);
                v[falses..].fill(1);
                Ok(())
            }
        };
        *self.heap.array_mut(a) = items;
        if let Err(s) = sorted {
            return Err(self.stopped(s));
        }
        Ok(sp - 1)
    }

    #[inline(never)]
    pub(super) fn op_array_reverse<const METER: bool>(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let a = stack[sp - 1];
        self.charge::<METER>(0, self.heap.array(a).len())?;
        self.heap.array_mut(a).reverse();
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
        let prog = Arc::clone(&self.prog);
        let mut walk = self.walk::<METER>(prog.module(), usize::MAX);
        let mut found = Ok(-1i64);
        for (k, x) in self.heap.array(a).iter().enumerate() {
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
        self.reserve(stack, array_bytes(self.prog.byte_items(ty), range.len()))?;
        let items = self.heap.array(a).slice(range);
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
        self.heap.array_mut(a).rotate_last_to(at);
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
        let r = self.heap.array_append(a, b);
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

/// Sorts `items` stably by `less` (which also says how many bytes it
/// compared), bottom-up with a buffer, looking at the watch every
/// [`CHUNK_ELEMENTS`] comparisons or [`CHUNK_BYTES`] compared. Stopped,
/// it leaves `items` a permutation of what it was (the standard library's
/// sort may panic if a comparison turns inconsistent, so it is not used).
fn merge_sort(
    items: &mut Vec<u64>,
    less: impl Fn(u64, u64) -> (bool, usize),
    watch: &Watch,
) -> Result<(), Stop> {
    let n = items.len();
    if n < 2 {
        return Ok(());
    }
    let mut src = std::mem::take(items);
    let mut dst = vec![0u64; n];
    let (mut work, mut compared) = (0usize, 0usize);
    let mut width = 1;
    let mut result = Ok(());
    'passes: while width < n {
        let mut i = 0;
        while i < n {
            let mid = (i + width).min(n);
            let hi = (mid + width).min(n);
            let (mut l, mut r) = (i, mid);
            for slot in &mut dst[i..hi] {
                // Right first only when strictly less: stable.
                let take_right = l >= mid
                    || (r < hi && {
                        let (lt, bytes) = less(src[r], src[l]);
                        work += 1;
                        compared += bytes;
                        lt
                    });
                if take_right {
                    *slot = src[r];
                    r += 1;
                } else {
                    *slot = src[l];
                    l += 1;
                }
            }
            i = hi;
            if work >= CHUNK_ELEMENTS || compared >= CHUNK_BYTES {
                (work, compared) = (0, 0);
                if let Err(s) = watch.check() {
                    // Finish this pass's copy so no element is lost.
                    dst[i..].copy_from_slice(&src[i..]);
                    std::mem::swap(&mut src, &mut dst);
                    result = Err(s);
                    break 'passes;
                }
            }
        }
        std::mem::swap(&mut src, &mut dst);
        width *= 2;
    }
    *items = src;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sort_is_stable_and_stops_with_every_element() {
        // Stable: equal keys (the high bits) keep their order.
        let mut xs: Vec<u64> = (0..5000u64).map(|i| ((i * 7919) % 97) << 32 | i).collect();
        let key = |x: u64| x >> 32;
        merge_sort(&mut xs, |a, b| (key(a) < key(b), 0), &Watch::IDLE).unwrap();
        assert!(xs.windows(2).all(|w| key(w[0]) < key(w[1])
            || (key(w[0]) == key(w[1]) && (w[0] & 0xffff_ffff) < (w[1] & 0xffff_ffff))));
        // A deadline already passed stops it, with the elements intact.
        let past = Watch {
            deadline: Some(Instant::now()),
            interrupt: None,
        };
        let mut ys: Vec<u64> = (0..100_000u64).rev().collect();
        assert!(merge_sort(&mut ys, |a, b| (a < b, 0), &past).is_err());
        ys.sort_unstable();
        assert_eq!(ys, (0..100_000u64).collect::<Vec<_>>());
    }
}
