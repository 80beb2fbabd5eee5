//! Tern's map: an insertion-ordered hash table of our own, in the manner of
//! CPython's compact dict.
//!
//! Entries live in a vector in insertion order; an *index* finds them by
//! key. The index is one of two kinds, chosen by the keys held:
//!
//! - *Hashed*: open addressing with linear probing over a power-of-two
//!   table of entry numbers, at most half full. Keys are hashed with
//!   SipHash-1-3 under a per-instance random key ([`HashSeed`]), so a
//!   program's input cannot be crafted to collide (HashDoS): nobody outside
//!   the instance knows the key, and map order never depends on it.
//! - *Dense*: for int keys that all lie in `0..n` with `n` at most about
//!   four times the entry count, a direct table from key to entry number
//!   replaces hashing: a lookup is one array read. Maps used as growable
//!   arrays or keyed by small ids, common in real programs, land here.
//!
//! Removing an entry leaves a *tombstone* in the entry vector (and, when
//! hashed, a deleted mark in the index), so removal is O(1); tombstones are
//! compacted away when the entry vector fills up or when a positional
//! access ([`TernMap::nth`]) needs ranks, and the table shrinks when it is
//! mostly empty, so memory follows the live entries.
//!
//! Capacities follow a fixed policy of our own (powers of two, grown and
//! shrunk at fixed fill levels) and never depend on hash values, so
//! [`TernMap::heap_bytes`] (what the heap accounts for the map) is the same
//! on every platform and every run, whatever the seed.

use crate::limits::{Stop, Watch, CHUNK_ELEMENTS};
use siphasher::sip::SipHasher13;
use std::hash::Hasher;

/// A map key. Keys are owned values, never references, so maps need no
/// collector support for them and hashing depends only on content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Int(i64),
    Bool(bool),
    Str(Box<str>),
}

/// A map key as found in a slot: borrowed, so looking a key up never
/// allocates. It hashes and compares exactly like the [`Key`] it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRef<'a> {
    Int(i64),
    Bool(bool),
    Str(&'a str),
}

impl KeyRef<'_> {
    pub fn to_key(self) -> Key {
        match self {
            KeyRef::Int(i) => Key::Int(i),
            KeyRef::Bool(b) => Key::Bool(b),
            KeyRef::Str(s) => Key::Str(s.into()),
        }
    }

    /// Accounted bytes the key itself holds outside the entry (a string
    /// key's own allocation).
    pub fn own_bytes(self) -> usize {
        match self {
            KeyRef::Str(s) if !s.is_empty() => STR_KEY_BYTES + s.len(),
            _ => 0,
        }
    }

    fn matches(self, k: &Key) -> bool {
        match (self, k) {
            (KeyRef::Int(a), Key::Int(b)) => a == *b,
            (KeyRef::Bool(a), Key::Bool(b)) => a == *b,
            (KeyRef::Str(a), Key::Str(b)) => a == &**b,
            _ => false,
        }
    }
}

impl Key {
    pub fn as_ref(&self) -> KeyRef<'_> {
        match self {
            Key::Int(i) => KeyRef::Int(*i),
            Key::Bool(b) => KeyRef::Bool(*b),
            Key::Str(s) => KeyRef::Str(s),
        }
    }
}

impl std::fmt::Display for KeyRef<'_> {
    /// How a key appears in error messages: strings quoted (and long ones
    /// shortened, see [`crate::text::quoted`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::Int(i) => write!(f, "{i}"),
            KeyRef::Bool(b) => write!(f, "{b}"),
            KeyRef::Str(s) => f.write_str(&crate::text::quoted(s)),
        }
    }
}

/// The secret key of an instance's map hash. Drawn from the operating
/// system's randomness for each instance ([`HashSeed::random`]); a fixed
/// one is only for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSeed(pub u64, pub u64);

impl HashSeed {
    /// A fresh key from the operating system's randomness (through the
    /// randomly keyed hasher the standard library seeds from it).
    pub fn random() -> HashSeed {
        use std::collections::hash_map::RandomState;
        use std::hash::BuildHasher;
        let draw = |salt: u64| {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(salt);
            h.finish()
        };
        HashSeed(draw(0x243f_6a88_85a3_08d3), draw(0x1319_8a2e_0370_7344))
    }

    #[inline]
    pub fn hash(self, key: KeyRef) -> u64 {
        let mut h = SipHasher13::new_with_keys(self.0, self.1);
        match key {
            KeyRef::Int(i) => h.write_u64(i as u64),
            KeyRef::Bool(b) => h.write_u64(b as u64),
            KeyRef::Str(s) => h.write(s.as_bytes()),
        }
        h.finish()
    }
}

/// Accounted bytes per entry slot (hash, key, value) and per index slot.
pub const ENTRY_BYTES: usize = 40;
pub const INDEX_BYTES: usize = 4;
/// Accounted bytes a non-empty string key's own allocation costs beyond
/// its length.
pub const STR_KEY_BYTES: usize = 16;

const EMPTY: u32 = u32::MAX;
const DELETED: u32 = u32::MAX - 1;
/// Entry capacities are powers of two from this up.
const MIN_CAPACITY: usize = 4;
/// Dense maps allow this many index slots per entry (plus some slack): a
/// 25% fill, like a hash table's. A slot is 4 bytes, so a dense index never
/// takes more memory than a hashed one would.
const SLOTS_PER_ENTRY: usize = 4;
const SLACK: usize = 64;

#[derive(Debug)]
struct Entry {
    /// The key's hash; 0 while the map is dense (computed when it turns
    /// hashed).
    hash: u64,
    key: Key,
    value: u64,
}

#[derive(Debug)]
enum Index {
    /// Open addressing: `slots.len()` is twice the entry capacity (or 0),
    /// each slot `EMPTY`, `DELETED` or an entry number.
    Hashed(Vec<u32>),
    /// `slots[k]` is the entry number of int key `k`, or `EMPTY`.
    Dense(Vec<u32>),
}

#[derive(Debug)]
pub struct TernMap {
    /// Insertion order; `None` is a removed entry (a tombstone). Its
    /// capacity is the map's entry capacity: it only grows through
    /// [`TernMap::rebuild`].
    entries: Vec<Option<Entry>>,
    live: usize,
    index: Index,
    /// Whether the map's key type is int (only such maps go dense).
    int_keys: bool,
    /// Accounted bytes of the string keys held.
    key_bytes: usize,
    seed: HashSeed,
}

impl TernMap {
    /// An empty map (no allocation until the first insert).
    pub fn new(int_keys: bool, seed: HashSeed) -> TernMap {
        TernMap {
            entries: Vec::new(),
            live: 0,
            index: if int_keys {
                Index::Dense(Vec::new())
            } else {
                Index::Hashed(Vec::new())
            },
            int_keys,
            key_bytes: 0,
            seed,
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Accounted bytes the map's tables and keys hold: capacity, not
    /// length, since that is the memory held.
    pub fn heap_bytes(&self) -> usize {
        let index = match &self.index {
            Index::Hashed(s) | Index::Dense(s) => s.capacity(),
        };
        ENTRY_BYTES * self.entries.capacity() + INDEX_BYTES * index + self.key_bytes
    }

    /// An upper bound of how much [`TernMap::heap_bytes`] can grow by
    /// inserting `key` as a new key: exact in the common case (room left,
    /// no index change), so that checking it before every insert costs
    /// nothing.
    pub fn insert_bound(&self, key: KeyRef) -> usize {
        let cap = self.entries.capacity();
        let n = self.live + 1;
        let mut bound = key.own_bytes();
        let cap = if self.entries.len() == cap {
            // A rebuild, to a table of either kind.
            let new_cap = (cap * 2).max(MIN_CAPACITY);
            bound += ENTRY_BYTES * new_cap + INDEX_BYTES * (2 * new_cap).max(limit(new_cap));
            new_cap
        } else {
            cap
        };
        match (&self.index, key) {
            (Index::Dense(pos), KeyRef::Int(k)) if fits_dense(k, pos.len(), n) => {
                bound +=
                    INDEX_BYTES * dense_len(pos.len(), k as usize, n).saturating_sub(pos.len());
            }
            // The map turns hashed.
            (Index::Dense(_), _) => bound += INDEX_BYTES * 2 * cap,
            (Index::Hashed(_), _) => {}
        }
        bound
    }

    /// The entry number of `key`, if present: stable until the next
    /// insert or removal.
    #[inline]
    pub fn find(&self, key: KeyRef) -> Option<usize> {
        match &self.index {
            Index::Dense(pos) => match key {
                KeyRef::Int(k) => match usize::try_from(k).ok().and_then(|k| pos.get(k)) {
                    Some(&p) if p != EMPTY => Some(p as usize),
                    _ => None,
                },
                _ => None,
            },
            Index::Hashed(slots) => {
                if slots.is_empty() {
                    return None;
                }
                let hash = self.seed.hash(key);
                self.probe(slots, hash, key).1
            }
        }
    }

    /// Walks the probe sequence of `hash`: the index slot where the search
    /// ended, and the entry number if `key` was found.
    #[inline]
    fn probe(&self, slots: &[u32], hash: u64, key: KeyRef) -> (usize, Option<usize>) {
        let mask = slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            match slots[i] {
                EMPTY => return (i, None),
                DELETED => {}
                e => {
                    if let Some(entry) = &self.entries[e as usize] {
                        if entry.hash == hash && key.matches(&entry.key) {
                            return (i, Some(e as usize));
                        }
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    #[inline]
    pub fn get(&self, key: KeyRef) -> Option<u64> {
        self.find(key).map(|e| self.value_at(e))
    }

    pub fn contains_key(&self, key: KeyRef) -> bool {
        self.find(key).is_some()
    }

    /// The value of entry number `e` (from [`TernMap::find`]).
    #[inline]
    pub fn value_at(&self, e: usize) -> u64 {
        match &self.entries[e] {
            Some(entry) => entry.value,
            None => removed_entry(),
        }
    }

    /// Replaces the value of entry number `e` (from [`TernMap::find`]).
    #[inline]
    pub fn set_value_at(&mut self, e: usize, v: u64) {
        match &mut self.entries[e] {
            Some(entry) => entry.value = v,
            None => removed_entry(),
        }
    }

    /// Inserts or replaces; a new key goes last. Returns the old value.
    pub fn insert(&mut self, key: Key, value: u64) -> Option<u64> {
        if let Some(e) = self.find(key.as_ref()) {
            let old = self.value_at(e);
            self.set_value_at(e, value);
            return Some(old);
        }
        self.insert_new(key, value, &Watch::IDLE)
            .expect("an idle watch never stops");
        None
    }

    /// Inserts `key`, which is not in the map, last. A rebuild it needs
    /// checks `watch`; if that stops it, the map is as it was.
    pub fn insert_new(&mut self, key: Key, value: u64, watch: &Watch) -> Result<(), Stop> {
        debug_assert!(self.find(key.as_ref()).is_none());
        if self.entries.len() == self.entries.capacity() {
            // Full: drop the tombstones if they are many, else grow.
            let cap = self.entries.capacity();
            let new_cap = if self.live * 2 <= cap {
                cap.max(MIN_CAPACITY)
            } else {
                (cap * 2).max(MIN_CAPACITY)
            };
            self.rebuild(new_cap, self.int_keys, watch)?;
        }
        if let (Index::Dense(pos), Key::Int(k)) = (&mut self.index, &key) {
            if fits_dense(*k, pos.len(), self.live + 1) {
                let k = *k as usize;
                let want = dense_len(pos.len(), k, self.live + 1);
                if want > pos.len() {
                    pos.reserve_exact(want - pos.len());
                    pos.resize(want, EMPTY);
                }
                pos[k] = self.entries.len() as u32;
                self.push_entry(0, key, value);
                return Ok(());
            }
            // A key that does not fit: the map turns hashed.
            self.rebuild(self.entries.capacity(), false, watch)?;
        }
        let hash = self.seed.hash(key.as_ref());
        let Index::Hashed(slots) = &self.index else {
            unreachable!("a map that is not dense is hashed")
        };
        let (at, _) = self.probe(slots, hash, key.as_ref());
        let e = self.entries.len() as u32;
        if let Index::Hashed(slots) = &mut self.index {
            slots[at] = e;
        }
        self.push_entry(hash, key, value);
        Ok(())
    }

    fn push_entry(&mut self, hash: u64, key: Key, value: u64) {
        debug_assert!(self.entries.len() < self.entries.capacity());
        self.key_bytes += key.as_ref().own_bytes();
        self.entries.push(Some(Entry { hash, key, value }));
        self.live += 1;
    }

    /// Removes `key` if present, keeping the order of the rest; returns
    /// its value.
    pub fn remove(&mut self, key: KeyRef) -> Option<u64> {
        let e = self.find(key)?;
        Some(
            self.remove_at(e, &Watch::IDLE)
                .expect("an idle watch never stops"),
        )
    }

    /// Removes entry number `e` (from [`TernMap::find`]), keeping the order
    /// of the rest; returns its value. O(1), but for the occasional shrink
    /// of a mostly empty table, which the removals since the last rebuild
    /// pay for; it runs first and checks `watch`, and if that stops it,
    /// nothing is removed.
    pub fn remove_at(&mut self, e: usize, watch: &Watch) -> Result<u64, Stop> {
        let cap = self.entries.capacity();
        if cap > MIN_CAPACITY && (self.live - 1) * 8 <= cap {
            // Mostly empty: give the memory back. The entry is still here,
            // so the smaller table has room for it.
            let new_cap = (self.live * 2).next_power_of_two().max(MIN_CAPACITY);
            // The rebuild numbers entries by rank.
            let rank = self.entries[..e].iter().flatten().count();
            self.rebuild(new_cap, self.int_keys, watch)?;
            return Ok(self.take_entry(rank));
        }
        Ok(self.take_entry(e))
    }

    fn take_entry(&mut self, e: usize) -> u64 {
        let Some(entry) = self.entries[e].take() else {
            removed_entry()
        };
        match &mut self.index {
            Index::Dense(pos) => {
                if let Key::Int(k) = entry.key {
                    pos[k as usize] = EMPTY;
                }
            }
            Index::Hashed(slots) => {
                let mask = slots.len() - 1;
                let mut at = entry.hash as usize & mask;
                while slots[at] != e as u32 {
                    at = (at + 1) & mask;
                }
                slots[at] = DELETED;
            }
        }
        self.live -= 1;
        self.key_bytes -= entry.key.as_ref().own_bytes();
        entry.value
    }

    /// Drops the tombstones, so that positions are entry numbers again.
    /// Never grows [`TernMap::heap_bytes`]. If `watch` stops it, the map
    /// is as it was.
    pub fn compact(&mut self, watch: &Watch) -> Result<(), Stop> {
        if self.live != self.entries.len() {
            self.rebuild(self.entries.capacity(), self.int_keys, watch)?;
        }
        Ok(())
    }

    /// Tombstones: entries removed and not yet compacted away.
    pub fn tombstones(&self) -> usize {
        self.entries.len() - self.live
    }

    /// The entry at position `i` in insertion order (0 is the oldest live
    /// entry): O(1) once [`TernMap::compact`] ran, a scan before.
    pub fn nth(&self, i: usize) -> Option<(KeyRef<'_>, u64)> {
        if self.live == self.entries.len() {
            match self.entries.get(i) {
                Some(Some(e)) => Some((e.key.as_ref(), e.value)),
                _ => None,
            }
        } else {
            self.iter().nth(i)
        }
    }

    /// The live entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (KeyRef<'_>, u64)> {
        self.entries
            .iter()
            .flatten()
            .map(|e| (e.key.as_ref(), e.value))
    }

    pub fn keys(&self) -> impl Iterator<Item = KeyRef<'_>> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// Whether the keys (all ints) fit a dense index.
    fn keys_fit_dense(&self, watch: &Watch) -> Result<bool, Stop> {
        let mut max = 0i64;
        for (i, (k, _)) in self.iter().enumerate() {
            match k {
                KeyRef::Int(k) if k >= 0 => max = max.max(k),
                _ => return Ok(false),
            }
            if i % CHUNK_ELEMENTS == CHUNK_ELEMENTS - 1 {
                watch.check()?;
            }
        }
        Ok((max as u64) < limit(self.live) as u64)
    }

    /// Moves the live entries, in order, into a table of entry capacity
    /// `cap` (dense if `allow_dense` and the keys fit), dropping every
    /// tombstone.
    ///
    /// The slow part, hashing and placing every key in a new index, only
    /// reads the map and checks `watch` between chunks: if the watch stops
    /// it, the map is unchanged. What follows is a sequential move.
    fn rebuild(&mut self, cap: usize, allow_dense: bool, watch: &Watch) -> Result<(), Stop> {
        debug_assert!(cap >= self.live && cap.is_power_of_two());
        let dense = allow_dense && self.int_keys && self.keys_fit_dense(watch)?;
        let was_dense = matches!(self.index, Index::Dense(_));
        // The new index, with entries numbered by rank; and, for a map
        // turning hashed, its keys' hashes.
        let mut hashes = Vec::new();
        let index = if dense {
            let max = self.keys().fold(-1i64, |m, k| match k {
                KeyRef::Int(k) => m.max(k),
                _ => m,
            });
            let mut pos = Vec::with_capacity((max + 1) as usize);
            pos.resize((max + 1) as usize, EMPTY);
            for (rank, (k, _)) in self.iter().enumerate() {
                if let KeyRef::Int(k) = k {
                    pos[k as usize] = rank as u32;
                }
            }
            Index::Dense(pos)
        } else {
            let mut slots = vec![EMPTY; 2 * cap];
            let mask = slots.len() - 1;
            if was_dense {
                hashes.reserve_exact(self.live);
            }
            for (rank, e) in self.entries.iter().flatten().enumerate() {
                let hash = if was_dense {
                    let h = self.seed.hash(e.key.as_ref());
                    hashes.push(h);
                    h
                } else {
                    e.hash
                };
                let mut at = hash as usize & mask;
                while slots[at] != EMPTY {
                    at = (at + 1) & mask;
                }
                slots[at] = rank as u32;
                if rank % CHUNK_ELEMENTS == CHUNK_ELEMENTS - 1 {
                    watch.check()?;
                }
            }
            Index::Hashed(slots)
        };
        // Commit: drop the tombstones in place, size the entry vector.
        if self.live != self.entries.len() {
            self.entries.retain(Option::is_some);
        }
        if cap > self.entries.capacity() {
            self.entries.reserve_exact(cap - self.entries.len());
        } else {
            self.entries.shrink_to(cap);
        }
        for (e, h) in self.entries.iter_mut().flatten().zip(hashes) {
            e.hash = h;
        }
        if dense {
            for e in self.entries.iter_mut().flatten() {
                e.hash = 0;
            }
        }
        self.index = index;
        Ok(())
    }
}

#[cold]
fn removed_entry() -> ! {
    panic!("map entry number names a removed entry")
}

/// The length of a dense index of length `len` after inserting key `k`
/// (which fits) as the `n`th entry: doubled, within the limit.
fn dense_len(len: usize, k: usize, n: usize) -> usize {
    if k < len {
        len
    } else {
        (len * 2).min(limit(n)).max(k + 1)
    }
}

/// Index slots a dense map of `n` entries may use.
fn limit(n: usize) -> usize {
    n * SLOTS_PER_ENTRY + SLACK
}

fn fits_dense(k: i64, slots: usize, n: usize) -> bool {
    k >= 0 && (k as u64) < slots.max(limit(n)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: HashSeed = HashSeed(1, 2);

    fn keys(m: &TernMap) -> Vec<i64> {
        m.keys()
            .map(|k| if let KeyRef::Int(i) = k { i } else { panic!() })
            .collect()
    }

    #[test]
    fn dense_and_hashed_agree_on_order_and_lookups() {
        // Keys that start sparse, go hashed, then turn dense again.
        let mut m = TernMap::new(true, SEED);
        let mut reference: Vec<(i64, u64)> = Vec::new();
        for i in 0..3000i64 {
            let k = i * 7 % 3001;
            m.insert(Key::Int(k), i as u64);
            reference.push((k, i as u64));
        }
        assert!(
            matches!(m.index, Index::Dense(_)),
            "3000 of 0..3001 is dense"
        );
        assert_eq!(keys(&m), reference.iter().map(|e| e.0).collect::<Vec<_>>());
        for (k, v) in &reference {
            assert_eq!(m.get(KeyRef::Int(*k)), Some(*v));
        }
        assert_eq!(m.get(KeyRef::Int(3001)), None);
        assert_eq!(m.get(KeyRef::Int(-1)), None);
        // Removal keeps the order of the rest, in either representation.
        assert_eq!(m.remove(KeyRef::Int(35)), Some(5));
        reference.remove(5);
        assert_eq!(keys(&m), reference.iter().map(|e| e.0).collect::<Vec<_>>());
        for (i, (k, v)) in reference.iter().enumerate() {
            assert_eq!(m.nth(i), Some((KeyRef::Int(*k), *v)));
            assert_eq!(m.get(KeyRef::Int(*k)), Some(*v));
        }
        // A far key makes it hashed, with everything still in place.
        m.insert(Key::Int(1 << 40), 1);
        reference.push((1 << 40, 1));
        assert!(matches!(m.index, Index::Hashed(_)));
        assert_eq!(keys(&m), reference.iter().map(|e| e.0).collect::<Vec<_>>());
        assert_eq!(m.insert(Key::Int(7), 99), Some(1));
    }

    #[test]
    fn removal_is_constant_time_and_compaction_keeps_order() {
        let mut m = TernMap::new(false, SEED);
        let n = 20_000;
        for i in 0..n {
            m.insert(Key::Str(format!("k{i}").into()), i as u64);
        }
        // Remove the older half from the front: no entry moves.
        for i in 0..n / 2 {
            assert_eq!(m.remove(KeyRef::Str(&format!("k{i}"))), Some(i as u64));
        }
        assert_eq!(m.len(), n / 2);
        assert_eq!(m.get(KeyRef::Str("k0")), None);
        assert_eq!(m.nth(0), Some((KeyRef::Str("k10000"), 10_000)));
        let order: Vec<u64> = m.values().collect();
        assert_eq!(order, (n as u64 / 2..n as u64).collect::<Vec<_>>());
        // Adding after removals goes last.
        m.insert(Key::Str("k0".into()), 7);
        assert_eq!(m.nth(m.len() - 1), Some((KeyRef::Str("k0"), 7)));
    }

    #[test]
    fn memory_follows_the_live_entries() {
        let mut m = TernMap::new(false, SEED);
        let empty = m.heap_bytes();
        assert_eq!(empty, 0, "an empty map holds no tables");
        for i in 0..100_000 {
            let before = m.heap_bytes();
            let bound = m.insert_bound(KeyRef::Str(&i.to_string()));
            m.insert(Key::Str(i.to_string().into()), 0);
            assert!(m.heap_bytes() - before <= bound, "insert_bound is a bound");
        }
        let full = m.heap_bytes();
        for i in 0..100_000 {
            m.remove(KeyRef::Str(&i.to_string()));
        }
        assert_eq!(m.len(), 0);
        assert!(m.heap_bytes() <= 1024, "{} of {full}", m.heap_bytes());
        // The same for a dense map.
        let mut d = TernMap::new(true, SEED);
        for i in 0..100_000 {
            d.insert(Key::Int(i), 0);
        }
        assert!(matches!(d.index, Index::Dense(_)));
        for i in 0..99_999 {
            d.remove(KeyRef::Int(i));
        }
        assert_eq!(d.len(), 1);
        assert!(d.heap_bytes() < 2048, "{}", d.heap_bytes());
        assert_eq!(d.nth(0), Some((KeyRef::Int(99_999), 0)));
    }

    #[test]
    fn accounting_does_not_depend_on_the_seed() {
        let sizes = |seed: HashSeed| {
            let mut m = TernMap::new(true, seed);
            let mut out = Vec::new();
            for i in 0..5000i64 {
                m.insert(Key::Int(i * 977), i as u64);
                if i % 3 == 0 {
                    m.remove(KeyRef::Int((i / 2) * 977));
                }
                out.push(m.heap_bytes());
            }
            out
        };
        assert_eq!(sizes(HashSeed(1, 2)), sizes(HashSeed(99, 12345)));
    }

    #[test]
    fn vec_capacity_is_exactly_what_is_reserved() {
        // Accounting reads `Vec::capacity`; this is the behaviour it
        // relies on (std allocates exactly what `with_capacity` and
        // `reserve_exact` ask for).
        let mut v: Vec<u32> = Vec::with_capacity(37);
        assert_eq!(v.capacity(), 37);
        v.resize(37, 0);
        v.reserve_exact(11);
        assert_eq!(v.capacity(), 48);
        v.truncate(3);
        v.shrink_to(10);
        assert_eq!(v.capacity(), 10);
    }
}
