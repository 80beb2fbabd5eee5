//! Tern's map: insertion-ordered, with two representations chosen by the
//! keys it holds.
//!
//! - *Hashed*: an `IndexMap` (a hash index over an insertion-ordered entry
//!   vector), for any keys.
//! - *Dense*: for int keys that all lie in `0..n` with `n` at most about
//!   four times the entry count, a direct position table replaces the hash
//!   index: a lookup is one array read. Maps used as growable arrays or
//!   keyed by small ids, common in real programs, land here.
//!
//! Both keep entries in insertion order, so iteration, `keys`, `values` and
//! positions (`get_index`) are identical whichever is in use; the switch is
//! invisible to programs. A dense map whose keys stop being dense turns
//! hashed; a hashed int map is checked for density each time its size
//! reaches a power of two (amortized O(1) per insert).

use crate::heap::{Key, KeyHasher, KeyRef};
use indexmap::IndexMap;
use std::hash::BuildHasherDefault;

type Hashed = IndexMap<Key, u64, BuildHasherDefault<KeyHasher>>;

const NONE: u32 = u32::MAX;
/// Dense maps allow this many position slots per entry (plus some slack):
/// a 25% fill, like a hash table's load factor. A slot is 4 bytes, so a
/// dense map never takes more host memory per entry than a hashed one.
const SLOTS_PER_ENTRY: usize = 4;
const SLACK: usize = 64;

#[derive(Debug)]
enum Repr {
    Hashed(Hashed),
    Dense {
        pos: Vec<u32>,
        entries: Vec<(i64, u64)>,
    },
}

#[derive(Debug)]
pub struct TernMap {
    repr: Repr,
}

impl TernMap {
    /// An empty map; int-keyed maps start dense.
    pub fn new(int_keys: bool) -> TernMap {
        TernMap {
            repr: if int_keys {
                Repr::Dense {
                    pos: Vec::new(),
                    entries: Vec::new(),
                }
            } else {
                Repr::Hashed(Hashed::default())
            },
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Hashed(m) => m.len(),
            Repr::Dense { entries, .. } => entries.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Position of `key` in insertion order.
    #[inline]
    pub fn get_index_of(&self, key: &KeyRef) -> Option<usize> {
        match &self.repr {
            Repr::Hashed(m) => m.get_index_of(key),
            Repr::Dense { pos, .. } => match *key {
                KeyRef::Int(k) => match usize::try_from(k).ok().and_then(|k| pos.get(k)) {
                    Some(&p) if p != NONE => Some(p as usize),
                    _ => None,
                },
                _ => None,
            },
        }
    }

    #[inline]
    pub fn get(&self, key: &KeyRef) -> Option<u64> {
        match &self.repr {
            Repr::Hashed(m) => m.get(key).copied(),
            Repr::Dense { entries, .. } => self.get_index_of(key).map(|i| entries[i].1),
        }
    }

    pub fn contains_key(&self, key: &KeyRef) -> bool {
        self.get_index_of(key).is_some()
    }

    /// The entry at position `i` in insertion order.
    pub fn get_index(&self, i: usize) -> Option<(KeyRef<'_>, u64)> {
        match &self.repr {
            Repr::Hashed(m) => m.get_index(i).map(|(k, v)| (k.as_ref(), *v)),
            Repr::Dense { entries, .. } => entries.get(i).map(|&(k, v)| (KeyRef::Int(k), v)),
        }
    }

    /// Replaces the value at position `i` (which exists).
    pub fn set_value_at(&mut self, i: usize, v: u64) {
        match &mut self.repr {
            Repr::Hashed(m) => *m.get_index_mut(i).expect("position in range").1 = v,
            Repr::Dense { entries, .. } => entries[i].1 = v,
        }
    }

    /// Inserts or replaces; a new key goes last. Returns the old value.
    pub fn insert(&mut self, key: Key, v: u64) -> Option<u64> {
        if let Some(i) = self.get_index_of(&key.as_ref()) {
            let old = self.get_index(i).map(|(_, v)| v);
            self.set_value_at(i, v);
            return old;
        }
        match (&mut self.repr, &key) {
            (Repr::Dense { pos, entries }, Key::Int(k))
                if fits_dense(*k, pos.len(), entries.len() + 1) =>
            {
                let k = *k as usize;
                if k >= pos.len() {
                    let want = (k + 1).max(pos.len() * 2).min(limit(entries.len() + 1));
                    pos.resize(want.max(k + 1), NONE);
                }
                pos[k] = entries.len() as u32;
                entries.push((k as i64, v));
            }
            (Repr::Dense { .. }, _) => {
                self.make_hashed();
                self.insert(key, v);
            }
            (Repr::Hashed(m), _) => {
                m.insert(key, v);
                let n = m.len();
                if n >= SLACK && n.is_power_of_two() {
                    self.maybe_densify();
                }
            }
        }
        None
    }

    /// Removes the entry at position `i`, keeping the order of the rest.
    pub fn shift_remove_index(&mut self, i: usize) -> Option<(Key, u64)> {
        match &mut self.repr {
            Repr::Hashed(m) => m.shift_remove_index(i),
            Repr::Dense { pos, entries } => {
                if i >= entries.len() {
                    return None;
                }
                let (k, v) = entries.remove(i);
                pos[k as usize] = NONE;
                for &(later, _) in &entries[i..] {
                    pos[later as usize] -= 1;
                }
                Some((Key::Int(k), v))
            }
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = KeyRef<'_>> {
        (0..self.len()).map(move |i| self.get_index(i).expect("position in range").0)
    }

    pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map(move |i| self.get_index(i).expect("position in range").1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (KeyRef<'_>, u64)> {
        (0..self.len()).map(move |i| self.get_index(i).expect("position in range"))
    }

    fn make_hashed(&mut self) {
        if let Repr::Dense { entries, .. } = &mut self.repr {
            let mut m = Hashed::with_capacity_and_hasher(entries.len(), Default::default());
            for &(k, v) in entries.iter() {
                m.insert(Key::Int(k), v);
            }
            self.repr = Repr::Hashed(m);
        }
    }

    /// Turns a hashed map of ints dense if its keys now fit.
    fn maybe_densify(&mut self) {
        let Repr::Hashed(m) = &self.repr else { return };
        let mut max = 0i64;
        for k in m.keys() {
            match k {
                Key::Int(k) if *k >= 0 => max = max.max(*k),
                _ => return,
            }
        }
        let slots = max as usize + 1;
        if slots > limit(m.len()) {
            return;
        }
        let mut pos = vec![NONE; slots];
        let mut entries = Vec::with_capacity(m.len());
        for (i, (k, v)) in m.iter().enumerate() {
            let Key::Int(k) = k else { return };
            pos[*k as usize] = i as u32;
            entries.push((*k, *v));
        }
        self.repr = Repr::Dense { pos, entries };
    }
}

/// Position slots a dense map of `n` entries may use.
fn limit(n: usize) -> usize {
    n * SLOTS_PER_ENTRY + SLACK
}

fn fits_dense(k: i64, slots: usize, n: usize) -> bool {
    k >= 0 && (k as usize) < slots.max(limit(n)) && n < NONE as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(m: &TernMap) -> Vec<i64> {
        m.keys()
            .map(|k| if let KeyRef::Int(i) = k { i } else { panic!() })
            .collect()
    }

    #[test]
    fn dense_and_hashed_agree_on_order_and_lookups() {
        // Keys that start sparse, go hashed, then turn dense again.
        let mut m = TernMap::new(true);
        let mut reference: Vec<(i64, u64)> = Vec::new();
        for i in 0..3000i64 {
            let k = i * 7 % 3001;
            m.insert(Key::Int(k), i as u64);
            reference.push((k, i as u64));
        }
        assert!(
            matches!(m.repr, Repr::Dense { .. }),
            "3000 of 0..3001 is dense"
        );
        assert_eq!(keys(&m), reference.iter().map(|e| e.0).collect::<Vec<_>>());
        for (k, v) in &reference {
            assert_eq!(m.get(&KeyRef::Int(*k)), Some(*v));
        }
        assert_eq!(m.get(&KeyRef::Int(3001)), None);
        assert_eq!(m.get(&KeyRef::Int(-1)), None);
        // Removal keeps the order of the rest, in either representation.
        let (gone, _) = m.shift_remove_index(5).unwrap();
        reference.remove(5);
        assert_eq!(gone, Key::Int(35));
        assert_eq!(keys(&m), reference.iter().map(|e| e.0).collect::<Vec<_>>());
        for (i, (k, v)) in reference.iter().enumerate() {
            assert_eq!(m.get_index_of(&KeyRef::Int(*k)), Some(i));
            assert_eq!(m.get(&KeyRef::Int(*k)), Some(*v));
        }
        // A far key makes it hashed, with everything still in place.
        m.insert(Key::Int(1 << 40), 1);
        reference.push((1 << 40, 1));
        assert!(matches!(m.repr, Repr::Hashed(_)));
        assert_eq!(keys(&m), reference.iter().map(|e| e.0).collect::<Vec<_>>());
        assert_eq!(m.insert(Key::Int(7), 99), Some(1));
    }
}
