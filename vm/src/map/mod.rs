//! Tern's map: an insertion-ordered hash table of our own, in the manner of
//! CPython's compact dict.
//!
//! Entries live in a vector in insertion order; an *index* finds them by
//! key. The index is one of two kinds, chosen by the keys held:
//!
//! - *Hashed*: open addressing with linear probing over a power-of-two
//!   table of entry numbers, at most half full. Keys are hashed with
//!   SipHash-1-3 (`crate::siphash`) under a per-instance random key (`HashSeed`), so a
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
//! Every entry has an *order number*, given when it is inserted (0, 1, 2,
//! ... per map, never reused; replacing a value keeps it) and kept in a
//! column beside it. Iteration ([`TernMap::next_from`]) walks order
//! numbers, not positions: compaction moves entries but not their order
//! numbers, so a loop that removes entries, even the current one, or adds
//! some, visits every entry present when it gets there exactly once, new
//! ones included (the guarantee JavaScript's `Map` gives).
//!
//! Capacities follow a fixed policy of our own (powers of two, grown and
//! shrunk at fixed fill levels) and never depend on hash values, so
//! [`TernMap::heap_bytes`] (what the heap accounts for the map) is the same
//! on every platform and every run, whatever the seed.

mod key;

pub use key::{HashSeed, Key, KeyRef};

use crate::limits::{Stop, Watch, CHUNK_BYTES, CHUNK_ELEMENTS};
use crate::siphash;

/// Accounted bytes per entry of each column an entry may have: its value,
/// an int or bool key's bits, a string key's pointer, its hash (while the
/// index is hashed). And per index slot.
pub const VALUE_BYTES: usize = 8;
pub const SEQ_BYTES: usize = 8;
pub const INT_KEY_BYTES: usize = 8;
pub const STR_KEY_PTR_BYTES: usize = 16;
pub const HASH_BYTES: usize = 8;
pub const INDEX_BYTES: usize = 4;
/// The most an entry's columns take (a string key's, hashed).
pub const ENTRY_BYTES: usize = VALUE_BYTES + SEQ_BYTES + STR_KEY_PTR_BYTES + HASH_BYTES;
/// Accounted bytes a non-empty string key's own allocation costs beyond
/// its length.
pub const STR_KEY_BYTES: usize = 16;

/// The most entries (live or removed) a map holds: entry numbers must stay
/// below the index's markers.
const MAX_ENTRIES: usize = 1 << 31;

const EMPTY: u32 = u32::MAX;
const DELETED: u32 = u32::MAX - 1;
/// Entry capacities are powers of two from this up.
const MIN_CAPACITY: usize = 4;
/// Dense maps allow this many index slots per entry (plus some slack): a
/// 25% fill, like a hash table's. A slot is 4 bytes, so a dense index never
/// takes more memory than a hashed one with its hashes would.
const SLOTS_PER_ENTRY: usize = 4;
const SLACK: usize = 64;

/// The index a rebuild makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The kind the map has.
    Keep,
    /// Dense if the keys fit, else hashed.
    Choose,
    Hashed,
}

/// What [`TernMap::lookup`] found.
#[derive(Clone, Copy, Debug)]
pub enum Lookup {
    /// The key's entry number.
    Found(usize),
    Vacant(Vacant),
}

/// Where a missing key would go in a hashed index: its hash, the empty
/// slot its probe ended at, and the map's version then (any change voids
/// it).
#[derive(Clone, Copy, Debug)]
pub struct Vacant {
    hash: u64,
    slot: usize,
    version: u64,
}

impl Vacant {
    /// Nothing known: the insert hashes and probes itself.
    pub const NONE: Vacant = Vacant {
        hash: 0,
        slot: 0,
        version: u64::MAX,
    };
}

/// `repr(u8)`, so that machine code may read a dense index (see
/// [`layout`]).
#[derive(Debug)]
#[repr(u8)]
enum Index {
    /// Open addressing: `slots.len()` is twice the entry capacity (or 0),
    /// each slot `EMPTY`, `DELETED` or an entry number.
    Hashed(Vec<u32>) = layout::HASHED,
    /// `slots[k]` is the entry number of int key `k`, or `EMPTY`.
    Dense(Vec<u32>) = layout::DENSE,
}

/// What machine code needs to read (and replace) the value of an int or
/// bool key of a map whose index is dense, exactly as [`TernMap::find`]
/// and [`TernMap::set_value_at`] do: at [`INDEX`](layout::INDEX) is the
/// index, a `repr(u8)` enum (a kind byte, then a `Vec<u32>`, where a
/// `repr(C)` struct of the two puts it); if the kind is
/// [`DENSE`](layout::DENSE), key `k` is present exactly when `k` is
/// below the `Vec`'s length and its element `k` is not
/// [`EMPTY`](layout::EMPTY); that element is the entry number, and the
/// entry's value is that element of the `Vec<u64>` at
/// [`VALUES`](layout::VALUES). A negative key is never present. A
/// replaced value changes nothing else (not the version).
pub mod layout {
    use super::TernMap;

    pub const HASHED: u8 = 0;
    pub const DENSE: u8 = 1;
    pub const EMPTY: u32 = super::EMPTY;
    /// Offset in [`TernMap`] of its index.
    pub const INDEX: usize = std::mem::offset_of!(TernMap, index);
    /// Offset in [`TernMap`] of its values, a `Vec<u64>` by entry number.
    pub const VALUES: usize = std::mem::offset_of!(TernMap, values);

    /// The data pointer and length of `map`'s index, and whether it is
    /// dense; and the data pointer of its values (to check a reader's
    /// idea of the layout against).
    pub fn index(map: &TernMap) -> (usize, usize, bool, usize) {
        let (slots, dense) = match &map.index {
            super::Index::Hashed(s) => (s, false),
            super::Index::Dense(s) => (s, true),
        };
        (
            slots.as_ptr() as usize,
            slots.len(),
            dense,
            map.values.as_ptr() as usize,
        )
    }
}

/// The map. Entries are columns of one length (`values.len()`), each of
/// capacity `cap`; an entry's number is its place in them.
#[derive(Debug)]
pub struct TernMap {
    /// Whether keys are strings (else ints or bools, kept as their bits).
    str_keys: bool,
    /// Int and bool keys' bits (string maps: empty).
    keys: Vec<u64>,
    /// String keys (other maps: empty). A removed entry's is emptied.
    strs: Vec<Box<str>>,
    values: Vec<u64>,
    /// Each entry's order number: strictly increasing along the columns.
    seqs: Vec<u64>,
    /// The order number the next insert gets.
    next_seq: u64,
    /// Each entry's key hash, while the index is hashed.
    hashes: Vec<u64>,
    /// One bit per entry: removed (a tombstone). Empty while none is.
    dead: Vec<u64>,
    live: usize,
    /// The entry capacity of every column: 0 or a power of two. Only
    /// [`TernMap::rebuild`] changes it.
    cap: usize,
    index: Index,
    /// Accounted bytes of the string keys held.
    key_bytes: usize,
    /// Accounted bytes of the tables: see [`TernMap::recount`].
    table_bytes: usize,
    /// Counts changes: a [`Vacant`] is good only for the version it saw.
    version: u64,
    seed: HashSeed,
}

impl TernMap {
    /// An empty map of string keys, or of int or bool keys (kept as their
    /// bits: a bool is 0 or 1). No allocation until the first insert.
    pub fn new(str_keys: bool, seed: HashSeed) -> TernMap {
        TernMap {
            str_keys,
            keys: Vec::new(),
            strs: Vec::new(),
            values: Vec::new(),
            seqs: Vec::new(),
            next_seq: 0,
            hashes: Vec::new(),
            dead: Vec::new(),
            live: 0,
            cap: 0,
            index: if str_keys {
                Index::Hashed(Vec::new())
            } else {
                Index::Dense(Vec::new())
            },
            key_bytes: 0,
            table_bytes: 0,
            version: 0,
            seed,
        }
    }

    /// Changes with every insertion, removal and rebuild (not with a
    /// value replaced): an entry number found at one version is good
    /// until the version changes.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Accounted bytes per entry of capacity, for the columns in use.
    fn entry_bytes(&self, hashed: bool) -> usize {
        VALUE_BYTES
            + SEQ_BYTES
            + if self.str_keys {
                STR_KEY_PTR_BYTES
            } else {
                INT_KEY_BYTES
            }
            + if hashed { HASH_BYTES } else { 0 }
    }

    /// Accounted bytes the map's tables and keys hold: capacity, not
    /// length, since that is the memory held.
    #[inline]
    pub fn heap_bytes(&self) -> usize {
        self.table_bytes + self.key_bytes
    }

    /// Counts the tables' bytes afresh: after any change of a capacity.
    fn recount(&mut self) {
        let (index, hashed) = match &self.index {
            Index::Hashed(s) => (s.capacity(), true),
            Index::Dense(s) => (s.capacity(), false),
        };
        self.table_bytes =
            self.entry_bytes(hashed) * self.cap + 8 * self.dead.capacity() + INDEX_BYTES * index;
    }

    /// An upper bound of how much [`TernMap::heap_bytes`] can grow by
    /// inserting `key` as a new key: exact in the common case (room left,
    /// no index change), so that checking it before every insert costs
    /// nothing.
    pub fn insert_bound(&self, key: KeyRef) -> usize {
        let n = self.live + 1;
        if self.values.len() >= MAX_ENTRIES {
            // Entry numbers are u32, with two kept as markers: a map that
            // large is out of memory whatever the limit says.
            return usize::MAX;
        }
        let mut bound = key.own_bytes();
        let cap = if self.values.len() == self.cap {
            // A rebuild, to a table of either kind.
            let new_cap = (self.cap * 2).max(MIN_CAPACITY);
            bound +=
                self.entry_bytes(true) * new_cap + INDEX_BYTES * (2 * new_cap).max(limit(new_cap));
            new_cap
        } else {
            self.cap
        };
        match (&self.index, key) {
            (Index::Dense(pos), KeyRef::Int(k)) if fits_dense(k, pos.len(), n) => {
                bound +=
                    INDEX_BYTES * dense_len(pos.len(), k as usize, n).saturating_sub(pos.len());
            }
            (Index::Dense(pos), KeyRef::Bool(b)) if fits_dense(b as i64, pos.len(), n) => {
                bound +=
                    INDEX_BYTES * dense_len(pos.len(), b as usize, n).saturating_sub(pos.len());
            }
            // The map turns hashed.
            (Index::Dense(_), _) => bound += (INDEX_BYTES * 2 + HASH_BYTES) * cap,
            (Index::Hashed(_), _) => {}
        }
        bound
    }

    /// The key of entry `e` (which is live).
    #[inline]
    fn key_at(&self, e: usize) -> KeyRef<'_> {
        if self.str_keys {
            KeyRef::Str(&self.strs[e])
        } else {
            KeyRef::Int(self.keys[e] as i64)
        }
    }

    /// A key as this map compares it: a bool as its bits.
    #[inline]
    fn bits(key: KeyRef) -> KeyRef {
        match key {
            KeyRef::Bool(b) => KeyRef::Int(b as i64),
            other => other,
        }
    }

    #[inline]
    fn is_dead(&self, e: usize) -> bool {
        !self.dead.is_empty() && self.dead[e / 64] & (1 << (e % 64)) != 0
    }

    /// The entry number of `key`, if present: stable until the next
    /// insert or removal.
    #[inline]
    pub fn find(&self, key: KeyRef) -> Option<usize> {
        match (&self.index, key) {
            (Index::Dense(pos), KeyRef::Int(k)) => {
                match usize::try_from(k).ok().and_then(|k| pos.get(k)) {
                    Some(&p) if p != EMPTY => Some(p as usize),
                    _ => None,
                }
            }
            _ => self.find_slow(key),
        }
    }

    /// [`TernMap::find`] for the hashed index, and bool keys.
    #[inline(never)]
    fn find_slow(&self, key: KeyRef) -> Option<usize> {
        match self.lookup(key) {
            Lookup::Found(e) => Some(e),
            Lookup::Vacant(_) => None,
        }
    }

    /// Where `key` is, or what inserting it there needs (valid until the
    /// map next changes).
    #[inline]
    pub fn lookup(&self, key: KeyRef) -> Lookup {
        let key = Self::bits(key);
        match &self.index {
            Index::Dense(pos) => match key {
                KeyRef::Int(k) => match usize::try_from(k).ok().and_then(|k| pos.get(k)) {
                    Some(&p) if p != EMPTY => Lookup::Found(p as usize),
                    _ => Lookup::Vacant(Vacant::NONE),
                },
                _ => Lookup::Vacant(Vacant::NONE),
            },
            Index::Hashed(slots) => {
                if slots.is_empty() {
                    return Lookup::Vacant(Vacant::NONE);
                }
                let hash = self.seed.hash(key);
                match self.probe(slots, hash, key) {
                    (_, Some(e)) => Lookup::Found(e),
                    (at, None) => Lookup::Vacant(Vacant {
                        hash,
                        slot: at,
                        version: self.version,
                    }),
                }
            }
        }
    }

    /// [`TernMap::lookup`], hashing and comparing a string key longer than
    /// a chunk a chunk at a time, checking `watch`.
    pub fn lookup_watched(&self, key: KeyRef, watch: &Watch) -> Result<Lookup, Stop> {
        let (KeyRef::Str(text), Index::Hashed(slots)) = (key, &self.index) else {
            return Ok(self.lookup(key));
        };
        if text.len() <= CHUNK_BYTES {
            return Ok(self.lookup(key));
        }
        if slots.is_empty() {
            return Ok(Lookup::Vacant(Vacant::NONE));
        }
        let hash = siphash::hash_bytes_watched(self.seed.0, self.seed.1, text.as_bytes(), watch)?;
        let mask = slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            match slots[i] {
                EMPTY => {
                    return Ok(Lookup::Vacant(Vacant {
                        hash,
                        slot: i,
                        version: self.version,
                    }))
                }
                DELETED => {}
                e => {
                    let e = e as usize;
                    if self.hashes[e] == hash
                        && crate::strings::compare_watched(&self.strs[e], text, watch)?
                            == std::cmp::Ordering::Equal
                    {
                        return Ok(Lookup::Found(e));
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Walks the probe sequence of `hash`: the index slot where the search
    /// ended, and the entry number if `key` was found. The index names
    /// only live entries.
    #[inline]
    fn probe(&self, slots: &[u32], hash: u64, key: KeyRef) -> (usize, Option<usize>) {
        let mask = slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            match slots[i] {
                EMPTY => return (i, None),
                DELETED => {}
                e => {
                    let e = e as usize;
                    if self.hashes[e] == hash && self.key_at(e) == key {
                        return (i, Some(e));
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
        self.values[e]
    }

    /// Replaces the value of entry number `e` (from [`TernMap::find`]).
    #[inline]
    pub fn set_value_at(&mut self, e: usize, v: u64) {
        self.values[e] = v;
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
        self.insert_vacant(Vacant::NONE, key, value, watch)
    }

    /// [`TernMap::insert_new`] where `vacant` came from a [`TernMap::lookup`]
    /// of `key` made since the map last changed: its hash and probe are
    /// not repeated.
    pub fn insert_vacant(
        &mut self,
        vacant: Vacant,
        key: Key,
        value: u64,
        watch: &Watch,
    ) -> Result<(), Stop> {
        debug_assert!(self.find(key.as_ref()).is_none());
        if self.values.len() == self.cap {
            if self.tombstones() == 0 && matches!(self.index, Index::Dense(_)) {
                // A dense index does not depend on the capacity: only the
                // columns grow.
                self.cap = (self.cap * 2).max(MIN_CAPACITY);
                set_capacity(&mut self.values, self.cap);
                set_capacity(&mut self.seqs, self.cap);
                set_capacity(&mut self.keys, self.cap);
                self.recount();
            } else {
                // Drop the tombstones if they are many, else grow.
                let new_cap = if self.live * 2 <= self.cap {
                    self.cap.max(MIN_CAPACITY)
                } else {
                    (self.cap * 2).max(MIN_CAPACITY)
                };
                self.rebuild(new_cap, Kind::Choose, watch)?;
            }
        }
        let bits = Self::bits(key.as_ref());
        if let (Index::Dense(pos), KeyRef::Int(k)) = (&mut self.index, bits) {
            if fits_dense(k, pos.len(), self.live + 1) {
                let k = k as usize;
                let want = dense_len(pos.len(), k, self.live + 1);
                let grew = want > pos.len();
                if grew {
                    pos.reserve_exact(want - pos.len());
                    pos.resize(want, EMPTY);
                }
                pos[k] = self.values.len() as u32;
                if grew {
                    self.recount();
                }
                self.push_entry(None, key, value);
                return Ok(());
            }
            // A key that does not fit: the map turns hashed.
            self.rebuild(self.cap, Kind::Hashed, watch)?;
        }
        let (hash, at) = if vacant.version == self.version {
            // No change since the lookup: its probe still holds.
            (vacant.hash, vacant.slot)
        } else {
            let hash = self.seed.hash(bits);
            let Index::Hashed(slots) = &self.index else {
                unreachable!("a map that is not dense is hashed")
            };
            (hash, self.probe(slots, hash, bits).0)
        };
        let e = self.values.len() as u32;
        if let Index::Hashed(slots) = &mut self.index {
            slots[at] = e;
        }
        self.push_entry(Some(hash), key, value);
        Ok(())
    }

    /// Inserts int or bool key `bits` (missing, looked up as `vacant`)
    /// with `value` if that needs no allocation: room in the columns, and a
    /// dense index that already covers the key or a hashed one whose probe
    /// still holds. Says whether it did; [`TernMap::heap_bytes`] does not
    /// change.
    #[inline]
    pub fn insert_in_place(&mut self, vacant: Vacant, bits: u64, value: u64) -> bool {
        if self.str_keys || self.values.len() == self.cap {
            return false;
        }
        let e = self.values.len() as u32;
        match &mut self.index {
            Index::Dense(pos) => match pos.get_mut(bits as usize) {
                Some(p) if (bits as i64) >= 0 => *p = e,
                _ => return false,
            },
            Index::Hashed(slots) => {
                if vacant.version != self.version {
                    return false;
                }
                slots[vacant.slot] = e;
                self.hashes.push(vacant.hash);
            }
        }
        self.keys.push(bits);
        self.values.push(value);
        self.seqs.push(self.next_seq);
        self.next_seq += 1;
        self.version += 1;
        self.live += 1;
        true
    }

    fn push_entry(&mut self, hash: Option<u64>, key: Key, value: u64) {
        debug_assert!(self.values.len() < self.cap);
        self.version += 1;
        self.key_bytes += key.as_ref().own_bytes();
        match key {
            Key::Str(s) => self.strs.push(s),
            Key::Int(i) => self.keys.push(i as u64),
            Key::Bool(b) => self.keys.push(b as u64),
        }
        self.values.push(value);
        self.seqs.push(self.next_seq);
        self.next_seq += 1;
        if let Some(h) = hash {
            self.hashes.push(h);
        }
        self.live += 1;
    }

    /// An upper bound of how much [`TernMap::heap_bytes`] can grow by
    /// removing an entry: the tombstone bitmap made at the first removal,
    /// or a shrink that makes the index dense.
    pub fn remove_bound(&self) -> usize {
        let bitmap = if self.dead.is_empty() {
            8 * self.cap.div_ceil(64)
        } else {
            0
        };
        bitmap.max(INDEX_BYTES * limit(self.live))
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
        if self.cap > MIN_CAPACITY && (self.live - 1) * 8 <= self.cap {
            // Mostly empty: give the memory back. The entry is still here,
            // so the smaller table has room for it.
            let new_cap = (self.live * 2).next_power_of_two().max(MIN_CAPACITY);
            // The rebuild numbers entries by rank.
            let rank = (0..e).filter(|&x| !self.is_dead(x)).count();
            self.rebuild(new_cap, Kind::Choose, watch)?;
            return Ok(self.take_entry(rank));
        }
        Ok(self.take_entry(e))
    }

    fn take_entry(&mut self, e: usize) -> u64 {
        debug_assert!(!self.is_dead(e));
        self.version += 1;
        match &mut self.index {
            Index::Dense(pos) => pos[self.keys[e] as usize] = EMPTY,
            Index::Hashed(slots) => {
                let mask = slots.len() - 1;
                let mut at = self.hashes[e] as usize & mask;
                while slots[at] != e as u32 {
                    at = (at + 1) & mask;
                }
                slots[at] = DELETED;
            }
        }
        if self.str_keys {
            let s = std::mem::take(&mut self.strs[e]);
            self.key_bytes -= KeyRef::Str(&s).own_bytes();
        }
        if self.dead.is_empty() {
            self.dead = vec![0; self.cap.div_ceil(64)];
            self.recount();
        }
        self.dead[e / 64] |= 1 << (e % 64);
        self.live -= 1;
        self.values[e]
    }

    /// Removes every entry and gives back the tables. Order numbers go on
    /// from where they were, so a loop over the map ends.
    pub fn clear(&mut self) {
        let (next_seq, version) = (self.next_seq, self.version);
        *self = TernMap::new(self.str_keys, self.seed);
        self.next_seq = next_seq;
        self.version = version + 1;
    }

    /// Drops the tombstones, so that positions are entry numbers again.
    /// Never grows [`TernMap::heap_bytes`]. If `watch` stops it, the map
    /// is as it was.
    pub fn compact(&mut self, watch: &Watch) -> Result<(), Stop> {
        if self.tombstones() > 0 {
            // The index keeps its kind: a dense one rebuilt from some of
            // its keys is never longer, a hashed one keeps its size.
            self.rebuild(self.cap, Kind::Keep, watch)?;
        }
        Ok(())
    }

    /// Tombstones: entries removed and not yet compacted away.
    pub fn tombstones(&self) -> usize {
        self.values.len() - self.live
    }

    /// The entry at position `i` in insertion order (0 is the oldest live
    /// entry): O(1) once [`TernMap::compact`] ran, a scan before.
    pub fn nth(&self, i: usize) -> Option<(KeyRef<'_>, u64)> {
        if self.tombstones() == 0 {
            (i < self.values.len()).then(|| self.entry(i))
        } else {
            self.iter().nth(i)
        }
    }

    /// Entry `e` with the key as the map's key type has it.
    fn entry(&self, e: usize) -> (KeyRef<'_>, u64) {
        (self.key_at(e), self.values[e])
    }

    /// The live entries in insertion order. (Keys of a bool map come out
    /// as ints 0 and 1: the caller knows the key type.)
    pub fn iter(&self) -> impl Iterator<Item = (KeyRef<'_>, u64)> {
        (0..self.values.len())
            .filter(|&e| !self.is_dead(e))
            .map(|e| self.entry(e))
    }

    /// The place in the columns of the entry with order number `seq`, or
    /// where one would be.
    fn place_of(&self, seq: u64) -> Result<usize, usize> {
        // Without removals compacted away, order numbers are places.
        match self.seqs.first() {
            Some(&first) if seq >= first => {
                let guess = (seq - first) as usize;
                if self.seqs.get(guess) == Some(&seq) {
                    return Ok(guess);
                }
            }
            _ => {}
        }
        self.seqs.binary_search(&seq)
    }

    /// The order number of the first live entry whose number is at least
    /// `from`, if any: iteration's step (see the module docs); and how
    /// many removed entries it stepped over (work to charge).
    pub fn next_from(&self, from: u64) -> (Option<u64>, usize) {
        let start = match self.place_of(from) {
            Ok(e) | Err(e) => e,
        };
        let mut e = start;
        while e < self.values.len() && self.is_dead(e) {
            // A word of the bitmap at a time where it is all removed.
            if e % 64 == 0 && e + 64 <= self.values.len() && self.dead[e / 64] == u64::MAX {
                e += 64;
            } else {
                e += 1;
            }
        }
        (self.seqs.get(e).copied(), e - start)
    }

    /// `map.next` on slot values: from order number `from` (a negative
    /// one is before every entry), the next live entry's order number or
    /// -1, and the removed entries stepped over.
    #[inline]
    pub fn next_slot(&self, from: u64) -> (u64, usize) {
        let (next, skipped) = self.next_from((from as i64).max(0) as u64);
        (next.map_or(-1, |seq| seq as i64) as u64, skipped)
    }

    /// [`TernMap::entry_of`] the order number a slot holds (a negative
    /// one names no entry).
    #[inline]
    pub fn entry_of_slot(&self, seq: u64) -> Option<(KeyRef<'_>, u64)> {
        self.entry_of(u64::try_from(seq as i64).ok()?)
    }

    /// The live entry with order number `seq`.
    pub fn entry_of(&self, seq: u64) -> Option<(KeyRef<'_>, u64)> {
        match self.place_of(seq) {
            Ok(e) if !self.is_dead(e) => Some(self.entry(e)),
            _ => None,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = KeyRef<'_>> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// Whether the keys (ints) fit a dense index.
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

    /// Moves the live entries, in order, into columns of capacity `cap`
    /// with an index of the `kind` asked for, dropping every tombstone.
    ///
    /// The slow part, hashing and placing every key in a new index, only
    /// reads the map and checks `watch` between chunks: if the watch stops
    /// it, the map is unchanged. What follows is a sequential move.
    fn rebuild(&mut self, cap: usize, kind: Kind, watch: &Watch) -> Result<(), Stop> {
        debug_assert!(cap >= self.live && cap.is_power_of_two());
        let dense = match kind {
            Kind::Keep => matches!(self.index, Index::Dense(_)),
            Kind::Choose => !self.str_keys && self.keys_fit_dense(watch)?,
            Kind::Hashed => false,
        };
        let was_hashed = matches!(self.index, Index::Hashed(_));
        // The new index, with entries numbered by rank; and, for a map
        // turning hashed, its keys' hashes.
        let mut new_hashes = Vec::new();
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
                if rank % CHUNK_ELEMENTS == CHUNK_ELEMENTS - 1 {
                    watch.check()?;
                }
            }
            Index::Dense(pos)
        } else {
            let mut slots = vec![EMPTY; 2 * cap];
            let mask = slots.len() - 1;
            if !was_hashed {
                new_hashes.reserve_exact(cap);
            }
            let live = (0..self.values.len()).filter(|&e| !self.is_dead(e));
            for (rank, e) in live.enumerate() {
                let hash = if was_hashed {
                    self.hashes[e]
                } else {
                    let h = self.seed.hash(self.key_at(e));
                    new_hashes.push(h);
                    h
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
        // Commit: drop the tombstones in place, size the columns.
        if self.tombstones() > 0 {
            let dead = std::mem::take(&mut self.dead);
            let is_dead = |e: usize| dead[e / 64] & (1 << (e % 64)) != 0;
            retain_live(&mut self.values, is_dead);
            retain_live(&mut self.seqs, is_dead);
            if self.str_keys {
                retain_live(&mut self.strs, is_dead);
            } else {
                retain_live(&mut self.keys, is_dead);
            }
            if was_hashed {
                retain_live(&mut self.hashes, is_dead);
            }
        }
        self.dead = Vec::new();
        if !dense && !was_hashed {
            self.hashes = new_hashes;
        } else if dense {
            self.hashes = Vec::new();
        }
        set_capacity(&mut self.values, cap);
        set_capacity(&mut self.seqs, cap);
        if self.str_keys {
            set_capacity(&mut self.strs, cap);
        } else {
            set_capacity(&mut self.keys, cap);
        }
        if !dense {
            set_capacity(&mut self.hashes, cap);
        }
        self.cap = cap;
        self.index = index;
        self.version += 1;
        self.recount();
        Ok(())
    }
}

/// What `map.valof` (`key` false) or `map.keyof` answers for `entry`,
/// where that is a word: the value, or an int or bool key (a string key is
/// copied into a new string, which the caller makes).
#[inline]
pub fn entry_word(entry: (KeyRef<'_>, u64), key: bool) -> Option<u64> {
    match entry {
        (_, v) if !key => Some(v),
        (KeyRef::Int(k), _) => Some(k as u64),
        (KeyRef::Bool(b), _) => Some(b as u64),
        (KeyRef::Str(_), _) => None,
    }
}

/// Keeps the elements of `v` whose numbers `is_dead` does not name.
fn retain_live<T>(v: &mut Vec<T>, is_dead: impl Fn(usize) -> bool) {
    let mut e = 0;
    v.retain(|_| {
        let keep = !is_dead(e);
        e += 1;
        keep
    });
}

/// Makes `v`'s capacity exactly `cap` (at least its length).
fn set_capacity<T>(v: &mut Vec<T>, cap: usize) {
    if cap > v.capacity() {
        v.reserve_exact(cap - v.len());
    } else {
        v.shrink_to(cap);
    }
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
        let mut m = TernMap::new(false, SEED);
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
        let mut m = TernMap::new(true, SEED);
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
        let mut m = TernMap::new(true, SEED);
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
        let mut d = TernMap::new(false, SEED);
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
            let mut m = TernMap::new(false, seed);
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

    /// Iterates as a `for k, v in m` loop does, calling `body` on each
    /// entry reached; the keys visited.
    fn walk(m: &mut TernMap, mut body: impl FnMut(&mut TernMap, i64)) -> Vec<i64> {
        let mut seen = Vec::new();
        let mut cursor = 0;
        while let (Some(seq), _) = m.next_from(cursor) {
            let Some((KeyRef::Int(k), _)) = m.entry_of(seq) else {
                panic!("next_from gives a live entry")
            };
            seen.push(k);
            body(m, k);
            cursor = seq + 1;
        }
        seen
    }

    #[test]
    fn iteration_survives_removal_insertion_and_compaction() {
        // The case: removing the current entry skips nothing.
        let mut m = TernMap::new(false, SEED);
        for k in [2, 4, 5, 6, 8] {
            m.insert(Key::Int(k), k as u64);
        }
        let seen = walk(&mut m, |m, k| {
            if k % 2 == 0 {
                m.remove(KeyRef::Int(k));
            }
        });
        assert_eq!(seen, [2, 4, 5, 6, 8]);
        assert_eq!(keys(&m), [5]);
        // Entries added during the loop are visited; removed ones that were
        // not reached yet are not; compaction and rehashing on the way
        // (thousands of inserts and removals) change nothing of that.
        let mut m = TernMap::new(false, SEED);
        for k in 0..100 {
            m.insert(Key::Int(k * 1000), 0);
        }
        let seen = walk(&mut m, |m, k| {
            if k < 100_000 && k % 2000 == 0 {
                // Removes a later entry, and adds one per visit.
                m.remove(KeyRef::Int(k + 1000));
                m.insert(Key::Int(k + 1_000_000), 0);
                for j in 0..50 {
                    m.insert(Key::Int(-j - 1), 0);
                    m.remove(KeyRef::Int(-j - 1));
                }
            }
        });
        let want: Vec<i64> = (0..100)
            .map(|k| k * 1000)
            .filter(|k| k % 2000 == 0)
            .chain(
                (0..100)
                    .map(|k| k * 1000)
                    .filter(|k| k % 2000 == 0)
                    .map(|k| k + 1_000_000),
            )
            .collect();
        assert_eq!(seen, want);
        // A key removed and inserted again goes last, and is visited again.
        let mut m = TernMap::new(true, SEED);
        for k in ["a", "b", "c"] {
            m.insert(Key::Str(k.into()), 0);
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        while let (Some(seq), _) = m.next_from(cursor) {
            let Some((KeyRef::Str(k), _)) = m.entry_of(seq) else {
                panic!()
            };
            let k = k.to_string();
            if k == "a" && seen.is_empty() {
                m.remove(KeyRef::Str("a"));
                m.insert(Key::Str("a".into()), 1);
            }
            seen.push(k);
            cursor = seq + 1;
        }
        assert_eq!(seen, ["a", "b", "c", "a"]);
    }

    #[test]
    fn bool_keys_are_kept_as_bits() {
        let mut m = TernMap::new(false, SEED);
        m.insert(Key::Bool(true), 1);
        m.insert(Key::Bool(false), 2);
        assert_eq!(m.get(KeyRef::Bool(true)), Some(1));
        assert_eq!(m.get(KeyRef::Bool(false)), Some(2));
        assert_eq!(m.remove(KeyRef::Bool(true)), Some(1));
        assert_eq!(m.keys().collect::<Vec<_>>(), [KeyRef::Int(0)]);
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
