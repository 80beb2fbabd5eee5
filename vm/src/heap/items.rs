//! An array's elements: 8-byte words, or one byte each for an array of
//! `bool` (`[bool]`), so that a large array of flags (a sieve, a visited
//! set) takes an eighth of the memory and of the memory traffic.
//!
//! The kind follows from the array's type and is fixed when the array is
//! made (see [`Items::of`]); every element goes in and comes out as the
//! slot value it is (a bool is 0 or 1), so code above this module sees
//! `u64` elements whatever the kind. Capacities follow the same policy
//! for both kinds (`heap::grown_capacity`), counted in elements; the
//! accounted size is [`Items::width`] bytes per element of capacity.
//!
//! `repr(u8)` with the words variant first: compiled code reads the kind
//! byte and each variant's `Vec` where `tern-jit`'s layout probe finds
//! them (`heap::layout::ITEMS_WORDS`, `ITEMS_BYTES`).

use crate::limits::Stop;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
#[repr(u8)]
pub enum Items {
    Words(Vec<u64>) = super::layout::ITEMS_WORDS,
    /// Elements of a `[bool]`: each 0 or 1.
    Bytes(Vec<u8>) = super::layout::ITEMS_BYTES,
}

impl Default for Items {
    fn default() -> Items {
        Items::Words(Vec::new())
    }
}

impl Items {
    /// `values` as elements of an array of bools (`bytes`) or of any
    /// other type.
    pub fn of(bytes: bool, values: Vec<u64>) -> Items {
        match bytes {
            true => Items::Bytes(values.into_iter().map(|v| v as u8).collect()),
            false => Items::Words(values),
        }
    }

    /// `n` copies of `v`, with capacity exactly `n`.
    #[cfg(test)]
    pub fn repeat(bytes: bool, v: u64, n: usize) -> Items {
        match bytes {
            true => Items::Bytes(vec![v as u8; n]),
            false => Items::Words(vec![v; n]),
        }
    }

    /// Accounted bytes per element of capacity.
    #[inline]
    pub fn width(&self) -> usize {
        super::element_bytes(matches!(self, Items::Bytes(_)))
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Items::Words(v) => v.len(),
            Items::Bytes(v) => v.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn capacity(&self) -> usize {
        match self {
            Items::Words(v) => v.capacity(),
            Items::Bytes(v) => v.capacity(),
        }
    }

    /// Accounted bytes of the capacity held.
    #[inline]
    pub fn heap_bytes(&self) -> usize {
        self.width() * self.capacity()
    }

    /// Element `k`, which must be below the length.
    #[inline]
    pub fn get(&self, k: usize) -> u64 {
        match self {
            Items::Words(v) => v[k],
            Items::Bytes(v) => v[k] as u64,
        }
    }

    /// Sets element `k`, which must be below the length.
    #[inline]
    pub fn set(&mut self, k: usize, x: u64) {
        match self {
            Items::Words(v) => v[k] = x,
            Items::Bytes(v) => v[k] = x as u8,
        }
    }

    /// The elements in order.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            Items::Words(v) => Iter::Words(v.iter()),
            Items::Bytes(v) => Iter::Bytes(v.iter()),
        }
    }

    /// The elements at `r` (inside the length), as a new array's, of the
    /// same kind, with capacity exactly their number.
    pub fn slice(&self, r: Range<usize>) -> Items {
        match self {
            Items::Words(v) => Items::Words(v[r].to_vec()),
            Items::Bytes(v) => Items::Bytes(v[r].to_vec()),
        }
    }

    /// The elements as words (a copy).
    #[cfg(test)]
    pub fn to_words(&self) -> Vec<u64> {
        self.iter().collect()
    }

    /// Pushes without growing past what was reserved by the caller's
    /// policy (the `Vec` may grow if it was not).
    #[inline]
    pub fn push(&mut self, x: u64) {
        match self {
            Items::Words(v) => v.push(x),
            Items::Bytes(v) => v.push(x as u8),
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<u64> {
        match self {
            Items::Words(v) => v.pop(),
            Items::Bytes(v) => v.pop().map(u64::from),
        }
    }

    /// Inserts at `k` (at most the length).
    pub fn insert(&mut self, k: usize, x: u64) {
        match self {
            Items::Words(v) => v.insert(k, x),
            Items::Bytes(v) => v.insert(k, x as u8),
        }
    }

    /// Removes element `k` (below the length).
    pub fn remove(&mut self, k: usize) -> u64 {
        match self {
            Items::Words(v) => v.remove(k),
            Items::Bytes(v) => v.remove(k) as u64,
        }
    }

    /// Moves the last element to `k`, the ones from `k` on one up.
    pub fn rotate_last_to(&mut self, k: usize) {
        match self {
            Items::Words(v) => v[k..].rotate_right(1),
            Items::Bytes(v) => v[k..].rotate_right(1),
        }
    }

    pub fn reverse(&mut self) {
        match self {
            Items::Words(v) => v.reverse(),
            Items::Bytes(v) => v.reverse(),
        }
    }

    /// Appends `other`'s elements (of the same kind, as the verifier's
    /// types make them).
    pub fn extend_from(&mut self, other: &Items) {
        match (self, other) {
            (Items::Words(v), Items::Words(w)) => v.extend_from_slice(w),
            (Items::Bytes(v), Items::Bytes(w)) => v.extend_from_slice(w),
            (this, other) => {
                for x in other.iter() {
                    this.push(x);
                }
            }
        }
    }

    /// Appends `k` copies of `x`.
    pub fn extend_repeat(&mut self, x: u64, k: usize) {
        match self {
            Items::Words(v) => v.extend(std::iter::repeat_n(x, k)),
            Items::Bytes(v) => v.extend(std::iter::repeat_n(x as u8, k)),
        }
    }

    /// Appends `values`.
    pub fn extend_words(&mut self, values: &[u64]) {
        match self {
            Items::Words(v) => v.extend_from_slice(values),
            Items::Bytes(v) => v.extend(values.iter().map(|&x| x as u8)),
        }
    }

    /// Reserves room for exactly `n` more elements.
    /// Fails only if the host cannot allocate it.
    pub fn try_reserve_exact(&mut self, n: usize) -> Result<(), Stop> {
        let r = match self {
            Items::Words(v) => v.try_reserve_exact(n).is_ok(),
            Items::Bytes(v) => v.try_reserve_exact(n).is_ok(),
        };
        r.then_some(()).ok_or(Stop::HostMemory)
    }

    pub fn shrink_to(&mut self, cap: usize) {
        match self {
            Items::Words(v) => v.shrink_to(cap),
            Items::Bytes(v) => v.shrink_to(cap),
        }
    }
}

/// [`Items::iter`].
pub enum Iter<'a> {
    Words(std::slice::Iter<'a, u64>),
    Bytes(std::slice::Iter<'a, u8>),
}

impl Iterator for Iter<'_> {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        match self {
            Iter::Words(i) => i.next().copied(),
            Iter::Bytes(i) => i.next().map(|&b| b as u64),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Words(i) => i.size_hint(),
            Iter::Bytes(i) => i.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_hold_bools_as_the_slot_values_they_are() {
        let mut b = Items::of(true, vec![1, 0, 1]);
        assert_eq!(b.width(), 1);
        b.push(1);
        b.insert(0, 0);
        assert_eq!(b.to_words(), vec![0, 1, 0, 1, 1]);
        assert_eq!(b.remove(1), 1);
        b.reverse();
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![1, 1, 0, 0]);
        assert_eq!(b.slice(1..3), Items::Bytes(vec![1, 0]));
        assert_eq!(b.pop(), Some(0));
        let r = Items::repeat(true, 1, 5);
        assert_eq!((r.len(), r.capacity(), r.heap_bytes()), (5, 5, 5));
        let w = Items::repeat(false, 7, 5);
        assert_eq!((w.get(4), w.heap_bytes()), (7, 40));
    }
}
