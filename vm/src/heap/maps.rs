//! The heap's map operations: finding keys, reading and writing values,
//! inserting and removing entries with their accounting, and the write
//! barrier every change goes through ([`Heap::get_mut`]).

use super::*;

/// Where a map lookup found a string key: map `map` has key slot `key` at entry
/// `entry`, as long as the map's version is still `version` and no
/// collection has run since `collections` (one could free the key's
/// string and let its handle name another). `m[k] = m.get(k, 0) + 1`
/// then looks `k` up once: the idiom is everywhere, and a string key's
/// hash and comparison are most of its cost.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    map: u64,
    key: u64,
    version: u64,
    collections: u64,
    entry: usize,
}

impl Found {
    /// Nothing found (no handle is `u64::MAX`).
    pub(super) const NONE: Found = Found {
        map: u64::MAX,
        key: 0,
        version: 0,
        collections: 0,
        entry: 0,
    };
}

impl Heap {
    /// What the last-found entry says of key slot `k` in map `h` (whose
    /// map is `m`), and what it would say for entry `e`.
    #[inline]
    fn found(&self, h: u64, k: u64, m: &TernMap, e: usize) -> Found {
        Found {
            map: h,
            key: k,
            version: m.version(),
            collections: self.stats.collections,
            entry: e,
        }
    }

    /// The entry of key slot `k` in map `h` (whose map is `m`) if the
    /// last-found entry is for it.
    #[inline]
    fn remembered(&self, h: u64, k: u64, m: &TernMap) -> Option<usize> {
        let last = self.last_found.get();
        (self.found(h, k, m, last.entry) == last).then_some(last.entry)
    }

    /// Key slot `k` of map `h` (whose map is `m`) is at entry `e`.
    #[inline]
    fn remember(&self, h: u64, k: u64, m: &TernMap, e: usize) {
        self.last_found.set(self.found(h, k, m, e));
    }

    #[inline]
    pub fn map(&self, h: u64) -> &TernMap {
        match self.get(h) {
            Object::Map(m) => &m.entries,
            _ => bad_handle(h, "map"),
        }
    }

    #[inline]
    pub fn map_key_ty(&self, h: u64) -> u32 {
        match self.get(h) {
            Object::Map(m) => m.key_ty,
            _ => bad_handle(h, "map"),
        }
    }

    /// The entry number of key slot `k` in map `h`.
    #[inline]
    pub fn map_find(&self, h: u64, k: u64) -> Option<usize> {
        match self.get(h) {
            Object::Map(m) => m.entries.find(self.key_ref(m.key_ty, k)),
            _ => bad_handle(h, "map"),
        }
    }

    /// The value of key slot `k` in map `h`, if present, when looking it
    /// up is free of work units: a map keyed by ints or bools, or any map
    /// when `strings` (an unmetered run). `None` when it is not free.
    #[inline]
    pub fn map_get_free(&self, h: u64, k: u64, strings: bool) -> Option<Option<u64>> {
        match self.get(h) {
            Object::Map(m) if m.key_ty != crate::module::STR => {
                let e = m.entries.find(KeyRef::Int(k as i64));
                Some(e.map(|e| m.entries.value_at(e)))
            }
            Object::Map(m) if strings && self.str(k).len() <= crate::limits::CHUNK_BYTES => {
                let e = self.remembered(h, k, &m.entries).or_else(|| {
                    let e = m.entries.find(KeyRef::Str(self.str(k)))?;
                    self.remember(h, k, &m.entries, e);
                    Some(e)
                });
                Some(e.map(|e| m.entries.value_at(e)))
            }
            Object::Map(_) => None,
            _ => bad_handle(h, "map"),
        }
    }

    /// Sets the value of key slot `k` in map `h` if it is present (with the
    /// write barrier), when looking it up is free. Otherwise says where the
    /// new key would go (`Some`), or `None` when the lookup is not free.
    /// (As [`Heap::map_get_free`] says when a lookup is free.)
    #[inline]
    pub fn map_set_free(
        &mut self,
        h: u64,
        k: u64,
        v: u64,
        strings: bool,
    ) -> Result<(), Option<crate::map::Vacant>> {
        let found = match self.get(h) {
            Object::Map(m) if m.key_ty != crate::module::STR => {
                m.entries.lookup(KeyRef::Int(k as i64))
            }
            Object::Map(m) if strings && self.str(k).len() <= crate::limits::CHUNK_BYTES => {
                if let Some(e) = self.remembered(h, k, &m.entries) {
                    crate::map::Lookup::Found(e)
                } else {
                    let found = m.entries.lookup(KeyRef::Str(self.str(k)));
                    if let crate::map::Lookup::Found(e) = found {
                        self.remember(h, k, &m.entries, e);
                    }
                    found
                }
            }
            Object::Map(_) => return Err(None),
            _ => bad_handle(h, "map"),
        };
        match found {
            crate::map::Lookup::Found(e) => {
                self.map_mut(h).set_value_at(e, v);
                Ok(())
            }
            crate::map::Lookup::Vacant(vacant) => {
                // A new int or bool key for which the tables have room: no
                // allocation, so no safepoint.
                if self.map_key_ty(h) != crate::module::STR
                    && self.map_mut(h).insert_in_place(vacant, k, v)
                {
                    return Ok(());
                }
                Err(Some(vacant))
            }
        }
    }

    /// Where key slot `k` is in map `h`, or what inserting it needs; a
    /// long string key is hashed and compared a chunk at a time.
    #[inline]
    pub fn map_lookup(&self, h: u64, k: u64, watch: &Watch) -> Result<crate::map::Lookup, Stop> {
        match self.get(h) {
            Object::Map(m) => m.entries.lookup_watched(self.key_ref(m.key_ty, k), watch),
            _ => bad_handle(h, "map"),
        }
    }

    /// The value of entry number `e` of map `h`.
    #[inline]
    pub fn map_value(&self, h: u64, e: usize) -> u64 {
        self.map(h).value_at(e)
    }

    /// The key a slot holds, for a map keyed by `key_ty`.
    #[inline]
    pub fn key_ref(&self, key_ty: u32, v: u64) -> KeyRef<'_> {
        match key_ty {
            crate::module::INT => KeyRef::Int(v as i64),
            crate::module::BOOL => KeyRef::Bool(v != 0),
            _ => KeyRef::Str(self.str(v)),
        }
    }

    #[inline]
    pub fn map_mut(&mut self, h: u64) -> &mut TernMap {
        match self.get_mut(h) {
            Object::Map(m) => &mut m.entries,
            _ => bad_handle(h, "map"),
        }
    }

    /// An upper bound of the accounted bytes inserting key slot `k` as a
    /// new key into map `h` adds.
    #[inline]
    pub fn map_insert_bound(&self, h: u64, k: u64) -> usize {
        match self.get(h) {
            Object::Map(m) => m.entries.insert_bound(self.key_ref(m.key_ty, k)),
            _ => bad_handle(h, "map"),
        }
    }

    /// An upper bound of the accounted bytes removing an entry of map `h`
    /// adds.
    pub fn map_remove_bound(&self, h: u64) -> usize {
        self.map(h).remove_bound()
    }

    /// Inserts `key` (missing, and looked up as `vacant`) with value `v`
    /// into map `h`, with the write barrier, accounting the change in size.
    #[inline]
    pub fn map_insert(
        &mut self,
        h: u64,
        vacant: crate::map::Vacant,
        key: Key,
        v: u64,
        watch: &Watch,
    ) -> Result<(), Stop> {
        let (before, after, r) = match self.get_mut(h) {
            Object::Map(m) => {
                let before = m.entries.heap_bytes();
                let r = m.entries.insert_vacant(vacant, key, v, watch);
                (before, m.entries.heap_bytes(), r)
            }
            _ => bad_handle(h, "map"),
        };
        if after > before {
            self.grow(after - before);
        } else {
            self.shrink(before - after);
        }
        r
    }

    /// Runs `f` on map `h` (with the write barrier) and accounts the change
    /// in the map's size.
    #[inline]
    pub fn with_map<R>(&mut self, h: u64, f: impl FnOnce(&mut TernMap) -> R) -> R {
        // Sizes are compared before and after, so `f` may grow or shrink
        // the tables as it likes.
        let m = self.map_mut(h);
        let before = m.heap_bytes();
        let r = f(m);
        let after = self.map(h).heap_bytes();
        if after > before {
            self.grow(after - before);
        } else {
            self.shrink(before - after);
        }
        r
    }

    /// Removes every entry of map `h`, accounting for the memory freed.
    pub fn clear_map(&mut self, h: u64) {
        let before = self.map(h).heap_bytes();
        self.map_mut(h).clear();
        let after = self.map(h).heap_bytes();
        self.shrink(before - after);
    }

    /// Drops map `h`'s tombstones so positional reads are O(1). No write
    /// barrier: compaction moves no reference into or out of the map.
    pub fn compact_map(&mut self, h: u64, watch: &Watch) -> Result<(), Stop> {
        let before = self.map(h).heap_bytes();
        let r = match self.objects.get_mut(h as usize) {
            Some(Some(Object::Map(m))) => m.entries.compact(watch),
            _ => bad_handle(h, "map"),
        };
        let after = self.map(h).heap_bytes();
        debug_assert!(after <= before, "compaction never grows a map");
        if after > before {
            self.grow(after - before);
        } else {
            self.shrink(before - after);
        }
        r
    }
}
