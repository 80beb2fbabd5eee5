//! Collection: when to collect, and the collector itself.
//!
//! Precise mark-and-sweep, generational without moving anything ("sticky
//! mark bits"): an object that survived two minor collections (or one
//! major) keeps its mark and is *old*. A *minor* collection marks only from
//! the roots and from the remembered set, so it never re-marks the old live
//! set, and sweeps only the young objects. A *major* collection clears
//! every mark and does the whole job.
//!
//! Young objects are *aged* by their first survival rather than promoted:
//! what happened to be live when the nursery filled (the tree being built,
//! the list being filled) is usually dead by the next collection, and
//! promoting it would leave it for a major collection to find. The price
//! is the invariant's other half: an old object that refers to a young
//! one stays remembered. A minor collection finds those while it traces:
//! a remembered object, or an aged one being promoted, that refers to an
//! object allocated since the last collection (which, reached, stays young
//! as aged) is remembered for the next one.
//!
//! When: when the nursery (bytes or objects allocated since the last
//! collection) fills, a minor one, or a major one if what the last
//! collection left (old and aged objects) passed the threshold (twice what
//! was live after the last major, and enough that the next sweep of the
//! whole table is paid for by allocation): garbage allocated since the
//! last collection never brings a major collection forward, only what
//! minor collections kept does. And always a major one before the limit
//! is declared exceeded. The
//! nursery grows with the roots and remembered objects the last minor
//! collection scanned, so a deep stack or a large mutated old object does
//! not make every few allocations pay for scanning them again. A collection
//! the limit forced that leaves less than a sixteenth of the limit free
//! makes the allocation fail ([`Heap::admits`]) rather than have every
//! later allocation collect the whole heap again.
//!
//! Marking and sweeping check a [`Watch`] between chunks of objects; a
//! collection it stops leaves the heap consistent and the next one major.

use super::*;
use crate::limits::CHUNK_ELEMENTS;

/// The smallest major-collection threshold: small heaps are not collected
/// over and over for a few megabytes of garbage.
pub const MIN_THRESHOLD: usize = 1 << 20;

/// Bytes allocated since the last collection that trigger a minor one.
pub const NURSERY_BYTES: usize = 8 << 20;

/// Objects allocated since the last collection that trigger a minor one:
/// few enough that the young objects are still in cache when swept (many
/// small objects favour a small nursery, a few large ones a large one).
pub const NURSERY_OBJECTS: usize = 1 << 15;

/// Under GC stress every safepoint collects; one in this many is major, the
/// rest minor (which is what exercises the write barrier).
const STRESS_MAJOR_EVERY: u64 = 8;

/// What a safepoint must do before allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    None,
    Minor,
    Major,
}

/// `flags` bits. Outside a collection an object is young, allocated since
/// the last collection (0) or aged (`AGED`: it survived one minor
/// collection), or old (`MARKED | OLD`, plus `REMEMBERED` while it is in
/// the remembered set). After a collection the watch stopped, some may
/// be `MARKED` alone until the next one, which is major and starts from
/// no flags (the barrier leaves them be: it acts on `MARKED | OLD` only).
pub(super) const MARKED: u8 = 1;
pub(super) const REMEMBERED: u8 = 2;
pub(super) const OLD: u8 = 4;
pub(super) const AGED: u8 = 8;

impl Heap {
    /// Sets the heap limit (accounted bytes).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.threshold = self.threshold.min(limit);
        self.reset_budget();
    }

    /// Collect at every safepoint that allocates (for tests).
    pub fn set_stress(&mut self, on: bool) {
        self.stress = on;
        self.reset_budget();
    }

    fn reset_budget(&mut self) {
        self.budget = if self.stress || self.pending_major {
            0
        } else {
            self.nursery_bytes
                .min(self.limit.saturating_sub(self.bytes))
        };
    }

    /// The fast test at every allocation: whether [`Heap::wants_collection`]
    /// might say yes or [`Heap::admits`] no.
    #[inline]
    pub fn may_collect(&self, need: usize) -> bool {
        self.young_bytes.saturating_add(need) >= self.budget
            || self.young.len() >= self.nursery_objects
    }

    /// Whether a safepoint about to allocate `need` bytes should collect,
    /// and how. When the nursery fills, the collection is major if the
    /// objects older than the nursery (what the last collection left)
    /// take more than the threshold (twice what was live after the last
    /// major one): the young garbage does not bring a major collection
    /// forward, only what minor collections could not free. And always a
    /// major one before the limit is declared exceeded.
    #[inline]
    pub fn wants_collection(&mut self, need: usize) -> Collection {
        let after = self.bytes.saturating_add(need);
        self.limit_forced = after > self.limit;
        if self.pending_major || self.limit_forced {
            Collection::Major
        } else if self.young_bytes.saturating_add(need) > self.nursery_bytes
            || self.young.len() >= self.nursery_objects
        {
            if self.bytes.saturating_sub(self.young_bytes) > self.threshold {
                Collection::Major
            } else {
                Collection::Minor
            }
        } else if self.stress {
            if (self.stats.collections + 1).is_multiple_of(STRESS_MAJOR_EVERY) {
                Collection::Major
            } else {
                Collection::Minor
            }
        } else {
            Collection::None
        }
    }

    /// Whether `need` more bytes may be allocated now (after the collection
    /// [`Heap::wants_collection`] asked for). When the limit forced a full
    /// collection, the allocation must leave a sixteenth of the limit free:
    /// with live data that close to the limit, every allocation would
    /// collect the whole heap again for a few bytes, so it is out of
    /// memory instead.
    #[inline]
    pub fn admits(&self, need: usize) -> bool {
        let after = self.bytes.saturating_add(need);
        if self.limit_forced {
            after <= self.limit - self.limit / 16
        } else {
            after <= self.limit
        }
    }

    /// The marking phase: everything reachable from `roots` (and, for a
    /// minor collection, from the remembered objects) gets its mark.
    /// Returns what tracing cost besides the young objects: the roots and
    /// the remembered objects' fields. A minor collection also leaves in
    /// `still` the remembered objects that must stay remembered, and sets
    /// `REMEMBERED` on the aged objects it will promote that must be.
    fn mark(
        &mut self,
        roots: &[u64],
        info: &GcInfo,
        major: bool,
        still: &mut Vec<u32>,
        watch: &Watch,
    ) -> Result<usize, Stop> {
        let objects = &self.objects;
        let flags = &mut self.flags;
        let mut work: Vec<u64> = Vec::with_capacity(roots.len());
        for &r in roots {
            mark(flags, r, &mut work);
        }
        let mut overhead = roots.len();
        if !major {
            // Old objects mutated since the last collection may refer to
            // young ones: trace them as if they were roots.
            for &r in &self.remembered {
                let (n, fresh) = trace(&objects[r as usize], info, flags, &mut work, watch)?;
                overhead += n;
                if fresh {
                    still.push(r);
                }
            }
        }
        let mut traced = 0usize;
        while let Some(h) = work.pop() {
            let (n, fresh) = trace(&objects[h as usize], info, flags, &mut work, watch)?;
            // In a minor collection only young objects are on the work
            // list; an aged one is promoted by this collection.
            let f = &mut flags[h as usize];
            if fresh && !major && *f & AGED != 0 {
                *f |= REMEMBERED;
            }
            traced += 1 + n;
            if traced >= CHUNK_ELEMENTS {
                traced = 0;
                watch.check()?;
            }
        }
        Ok(overhead)
    }

    /// Marks everything reachable from `roots` and frees the rest: among
    /// the young objects only (minor), or among all of them (major, which
    /// also sets the next major threshold). The watch is checked between
    /// chunks of objects; if it stops the collection, the heap stays
    /// consistent (nothing live was freed, `bytes` is exact) and the next
    /// collection is major.
    pub fn collect(
        &mut self,
        roots: &[u64],
        info: &GcInfo,
        kind: Collection,
        watch: &Watch,
    ) -> Result<(), Stop> {
        let major = kind == Collection::Major;
        self.stats.collections += 1;
        // Until this one finishes, only a major collection may be trusted.
        self.pending_major = true;
        if major {
            self.flags.fill(0);
        }
        let mut still = Vec::new();
        let overhead = match self.mark(roots, info, major, &mut still, watch) {
            Ok(overhead) => overhead,
            Err(stop) => {
                // Half-marked: the next collection, major, starts over.
                self.reset_budget();
                return Err(stop);
            }
        };
        // Sweep. `bytes` is kept exact by alloc, grow and shrink, so the
        // freed objects' sizes are all that needs subtracting. Survivors
        // keep their mark if they are old now.
        for &r in &self.remembered {
            self.flags[r as usize] &= !REMEMBERED;
        }
        self.remembered.clear();
        let mut freed = 0usize;
        let mut stopped = Ok(());
        let mut kept = 0;
        if major {
            for (i, (slot, f)) in self
                .objects
                .iter_mut()
                .zip(self.flags.iter_mut())
                .enumerate()
            {
                if *f & MARKED == 0 {
                    if let Some(size) = free_entry(slot) {
                        freed += size;
                        self.free.push(i as u32);
                    }
                } else {
                    *f = MARKED | OLD;
                }
                if i % (8 * CHUNK_ELEMENTS) == 8 * CHUNK_ELEMENTS - 1 {
                    if let Err(s) = watch.check() {
                        // The rest of the garbage waits for the next major.
                        stopped = Err(s);
                        break;
                    }
                }
            }
        } else {
            for r in still {
                self.flags[r as usize] |= REMEMBERED;
                self.remembered.push(r);
            }
            for k in 0..self.young.len() {
                let i = self.young[k];
                let f = &mut self.flags[i as usize];
                if *f & MARKED == 0 {
                    if let Some(size) = free_entry(&mut self.objects[i as usize]) {
                        freed += size;
                        self.free.push(i);
                    }
                } else if *f & AGED != 0 {
                    *f = MARKED | OLD | (*f & REMEMBERED);
                    if *f & REMEMBERED != 0 {
                        self.remembered.push(i);
                    }
                } else {
                    *f = AGED;
                    self.young[kept] = i;
                    kept += 1;
                }
                if k % (8 * CHUNK_ELEMENTS) == 8 * CHUNK_ELEMENTS - 1 {
                    if let Err(s) = watch.check() {
                        // The rest of the young garbage waits for the
                        // next collection, which is major.
                        stopped = Err(s);
                        break;
                    }
                }
            }
        }
        // Stopped, the next collection is major and needs no young list.
        self.young.truncate(if stopped.is_ok() { kept } else { 0 });
        self.young_bytes = 0;
        self.bytes = self.bytes.saturating_sub(freed);
        if stopped.is_ok() {
            self.pending_major = false;
        }
        if major && stopped.is_ok() {
            // Grow geometrically, and enough that the next sweep (which
            // visits every slot of the table) is paid for by allocation.
            let live = self.bytes;
            let by_slots = live.saturating_add(8 * self.objects.len());
            self.threshold = (live.saturating_mul(2))
                .max(MIN_THRESHOLD)
                .max(by_slots)
                .min(self.limit);
        } else if !major {
            self.nursery_bytes = NURSERY_BYTES.max(overhead.saturating_mul(8));
        }
        // The aged objects count as young but were not allocated since:
        // the nursery's object trigger counts them in, and out again.
        let aged = self.young.len();
        if major {
            self.nursery_objects -= self.aged;
        } else {
            self.nursery_objects = NURSERY_OBJECTS.max(overhead) + aged;
        }
        self.aged = aged;
        self.reset_budget();
        stopped
    }
}

/// Empties a table entry the sweep found dead: the accounted size of the
/// object it held, if any. A small record owns no memory of its own, so
/// it is let go without the drop glue (an out-of-line call per object,
/// and most freed objects are small records).
#[inline(always)]
fn free_entry(slot: &mut Option<Object>) -> Option<usize> {
    if let Some(Object::Record { len, .. }) = slot {
        // Its size without `Object::size`'s match.
        let size = record_bytes(*len as usize);
        std::mem::forget(slot.take());
        return Some(size);
    }
    let o = slot.take()?;
    Some(o.size())
}

/// Marks the children of one object; returns how many references it
/// looked at and whether any of them is young and not aged (in a minor
/// collection: will be aged by it). A large array or map checks the watch
/// between chunks.
#[inline]
fn trace(
    o: &Option<Object>,
    info: &GcInfo,
    flags: &mut [u8],
    work: &mut Vec<u64>,
    watch: &Watch,
) -> Result<(usize, bool), Stop> {
    let Some(o) = o else {
        return Ok((0, false));
    };
    let mut fresh = false;
    let n = match o {
        Object::Str { .. } => 0,
        Object::StrRef { owner, .. } => {
            fresh |= mark(flags, *owner as u64, work);
            1
        }
        Object::Array {
            refs: true,
            items: Items::Words(items),
        } => mark_all(flags, work, watch, &mut fresh, items.iter().copied())?,
        Object::Map(m) if m.val_refs => {
            mark_all(flags, work, watch, &mut fresh, m.entries.values())?
        }
        Object::Array { .. } | Object::Map(_) => 0,
        Object::Record { .. } | Object::BigRecord { .. } => {
            let (layout, tag, fields) = o.as_record().expect("a record");
            let mask = &info.record_refs[layout as usize][tag as usize];
            for (&c, &is_ref) in fields.iter().zip(mask.iter()) {
                if is_ref {
                    fresh |= mark(flags, c, work);
                }
            }
            fields.len()
        }
        Object::Closure { func, captures } => {
            // At most 4,096 captures (a format limit): no watch needed.
            let mask = &info.capture_refs[*func as usize];
            for (&c, &is_ref) in captures.iter().zip(mask.iter()) {
                if is_ref {
                    fresh |= mark(flags, c, work);
                }
            }
            captures.len()
        }
        Object::Cell {
            is_ref: true,
            value,
        } => {
            fresh |= mark(flags, *value, work);
            1
        }
        Object::Cell { .. } => 0,
    };
    Ok((n, fresh))
}

/// Marks `children`, checking the watch between chunks of them.
#[inline]
fn mark_all(
    flags: &mut [u8],
    work: &mut Vec<u64>,
    watch: &Watch,
    fresh: &mut bool,
    children: impl Iterator<Item = u64>,
) -> Result<usize, Stop> {
    let mut n = 0;
    for c in children {
        *fresh |= mark(flags, c, work);
        n += 1;
        if n % CHUNK_ELEMENTS == 0 {
            watch.check()?;
        }
    }
    Ok(n)
}

/// Marks `h` (and queues it to be traced) unless it has its mark; returns
/// whether it is young and not aged (meaningful in a minor collection).
#[inline]
fn mark(flags: &mut [u8], h: u64, work: &mut Vec<u64>) -> bool {
    let Some(f) = flags.get_mut(h as usize) else {
        return false;
    };
    if *f & MARKED == 0 {
        *f |= MARKED;
        work.push(h);
    }
    *f & (OLD | AGED) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_info() -> GcInfo {
        no_gc_info()
    }

    /// A collection that nothing stops.
    fn gc(h: &mut Heap, roots: &[u64], kind: Collection) {
        h.collect(roots, &no_info(), kind, &Watch::IDLE).unwrap();
    }

    #[test]
    fn unreachable_objects_are_freed_and_slots_reused() {
        let mut h = Heap::new();
        let a = h.alloc_str("kept");
        let b = h.alloc_str("dropped");
        let arr = h.alloc(Object::Array {
            refs: true,
            items: Items::Words(vec![a]),
        });
        gc(&mut h, &[arr], Collection::Minor);
        assert_eq!(h.live_objects(), 2);
        assert_eq!(h.str(a), "kept");
        let c = h.alloc_str("new");
        assert_eq!(c, b, "the freed slot is reused");
        assert_eq!(h.stats.collections, 1);
    }

    #[test]
    fn accounting_follows_capacity_through_growth_and_collection() {
        let mut h = Heap::new();
        let arr = h.alloc(Object::Array {
            refs: false,
            items: Items::Words(vec![]),
        });
        for i in 0..100 {
            let need = h.array_push_need(arr);
            let before = h.bytes;
            h.array_push(arr, i).unwrap();
            assert_eq!(h.bytes - before, need);
            assert_eq!(h.bytes, h.recount());
        }
        assert_eq!(h.array(arr).capacity(), 128, "4, 8, ..., 128");
        for _ in 0..70 {
            h.array_pop(arr);
            assert_eq!(h.bytes, h.recount());
        }
        // 30 left of 128: a quarter full, so the capacity was halved.
        assert_eq!(h.array(arr).capacity(), 64);
        for _ in 0..30 {
            h.array_pop(arr);
        }
        assert!(h.array(arr).capacity() <= 16);
        h.alloc_str("garbage");
        gc(&mut h, &[arr], Collection::Major);
        assert_eq!(h.bytes, h.recount());
        assert_eq!(h.bytes, OBJECT_BYTES + 8 * h.array(arr).capacity());
    }

    #[test]
    fn a_limit_forced_collection_that_frees_too_little_is_out_of_memory() {
        let fill = |h: &mut Heap, live_arrays: usize| {
            let live: Vec<u64> = (0..live_arrays)
                .map(|_| {
                    h.alloc(Object::Array {
                        refs: false,
                        items: Items::Words(Vec::with_capacity(7)),
                    })
                })
                .collect();
            h.alloc(Object::Array {
                refs: true,
                items: Items::Words(live),
            })
        };
        // Live data of 96% of the limit.
        let mut h = Heap::new();
        h.set_limit(1 << 20);
        let live = fill(&mut h, 9000);
        assert_eq!(
            h.bytes,
            9000 * (OBJECT_BYTES + 56) + OBJECT_BYTES + 8 * 9000
        );
        assert_eq!(h.wants_collection(1000), Collection::None);
        assert!(h.admits(1000), "it fits, and no collection was forced");
        // Garbage up to the limit: the collection this forces frees it,
        // but what is live leaves less than 1/16 of the limit free.
        while h.bytes + 1000 <= 1 << 20 {
            h.alloc_str(&"g".repeat(900));
        }
        assert_eq!(h.wants_collection(1000), Collection::Major);
        gc(&mut h, &[live], Collection::Major);
        assert!(!h.admits(1000));
        // With less live data, the same forced collection leaves room.
        let mut h = Heap::new();
        h.set_limit(1 << 20);
        let live = fill(&mut h, 8000);
        while h.bytes + 1000 <= 1 << 20 {
            h.alloc_str(&"g".repeat(900));
        }
        assert_eq!(h.wants_collection(1000), Collection::Major);
        gc(&mut h, &[live], Collection::Major);
        assert!(h.admits(1000));
    }

    #[test]
    fn a_stopped_collection_frees_nothing_live_and_the_next_is_major() {
        use std::time::{Duration, Instant};
        let expired = Watch {
            deadline: Some(Instant::now() - Duration::from_millis(1)),
            interrupt: None,
        };
        let mut h = Heap::new();
        let keep: Vec<u64> = (0..4 * CHUNK_ELEMENTS)
            .map(|i| h.alloc_str(&i.to_string()))
            .collect();
        for i in 0..4 * CHUNK_ELEMENTS {
            h.alloc_str(&format!("garbage {i}"));
        }
        let root = h.alloc(Object::Array {
            refs: true,
            items: Items::Words(keep.clone()),
        });
        let r = h.collect(&[root], &no_info(), Collection::Major, &expired);
        assert_eq!(r, Err(Stop::Timeout));
        assert_eq!(h.bytes, h.recount());
        assert_eq!(h.wants_collection(0), Collection::Major);
        gc(&mut h, &[root], Collection::Major);
        assert_eq!(h.live_objects(), keep.len() + 1);
        assert_eq!(h.str(keep[7]), "7");
        assert_eq!(h.wants_collection(0), Collection::None);
    }

    #[test]
    fn objects_stay_small() {
        // Every object costs a table slot of this size: keep it compact.
        assert!(
            std::mem::size_of::<Option<Object>>() <= 40,
            "{}",
            std::mem::size_of::<Option<Object>>()
        );
    }

    #[test]
    fn records_keep_small_fields_inline_and_count_the_same_either_way() {
        let mut h = Heap::new();
        for n in 0..=INLINE_FIELDS + 2 {
            let values: Vec<u64> = (10..10 + n as u64).collect();
            let before = h.bytes;
            let r = h.alloc_record(1, 2, &values);
            assert_eq!(h.bytes - before, OBJECT_BYTES + 8 * n, "{n} fields");
            assert_eq!(h.get(r).size(), OBJECT_BYTES + 8 * n);
            assert_eq!(
                matches!(h.get(r), Object::Record { .. }),
                n <= INLINE_FIELDS
            );
            assert_eq!(h.get(r).as_record(), Some((1, 2, &values[..])));
            assert_eq!(h.fields(r), &values[..]);
            assert_eq!(h.tag(r), 2);
            for f in 0..n {
                assert_eq!(h.field(r, f), 10 + f as u64);
                h.set_field(r, f, 99);
                assert_eq!(h.fields(r)[f], 99);
            }
        }
    }

    #[test]
    fn deep_chains_do_not_recurse() {
        let mut h = Heap::new();
        let mut last = h.alloc_str("leaf");
        // Smaller under Miri, which is a thousand times slower.
        let n = if cfg!(miri) { 2_000 } else { 200_000 };
        for _ in 0..n {
            last = h.alloc(Object::Cell {
                is_ref: true,
                value: last,
            });
        }
        gc(&mut h, &[last], Collection::Minor);
        assert_eq!(h.live_objects(), n + 1);
    }

    #[test]
    fn minor_collections_keep_old_objects_and_free_young_garbage() {
        let mut h = Heap::new();
        let old = h.alloc_str("old");
        gc(&mut h, &[old], Collection::Major);
        let young = h.alloc_str("young");
        // No roots at all: a minor collection still keeps the old object
        // (only a major one finds old garbage) but frees the young one.
        gc(&mut h, &[], Collection::Minor);
        assert_eq!(h.live_objects(), 1);
        assert_eq!(h.str(old), "old");
        assert_eq!(h.bytes, h.recount());
        let _ = young;
        gc(&mut h, &[], Collection::Major);
        assert_eq!(h.live_objects(), 0);
        assert_eq!(h.bytes, 0);
    }

    #[test]
    fn the_write_barrier_keeps_young_objects_stored_into_old_ones() {
        let mut h = Heap::new();
        let arr = h.alloc(Object::Array {
            refs: true,
            items: Items::Words(vec![]),
        });
        let cell = h.alloc(Object::Cell {
            is_ref: true,
            value: arr,
        });
        gc(&mut h, &[arr, cell], Collection::Major);
        // Both are old now. Store young objects into them, reachable only
        // through the old objects.
        let s1 = h.alloc_str("in array");
        h.array_push(arr, s1).unwrap();
        let s2 = h.alloc_str("in cell");
        h.set_cell(cell, s2);
        gc(&mut h, &[arr, cell], Collection::Minor);
        assert_eq!(h.live_objects(), 4);
        assert_eq!(h.str(h.array(arr).get(0)), "in array");
        assert_eq!(h.str(h.cell(cell)), "in cell");
        // The young objects are aged, not old: the old ones that refer to
        // them stay remembered, so the next minor finds them again, without
        // a store and without roots.
        assert_eq!(h.remembered.len(), 2);
        gc(&mut h, &[], Collection::Minor);
        assert_eq!(h.live_objects(), 4);
        assert_eq!(h.str(h.array(arr).get(0)), "in array");
        // Now they are old, and the remembered set is empty again.
        assert!(h.remembered.is_empty());
        gc(&mut h, &[], Collection::Minor);
        assert_eq!(h.live_objects(), 4);
    }

    /// Random graphs of arrays, mutated and collected at random, minor and
    /// major: every object reachable from the roots survives every
    /// collection, and a major one leaves exactly those.
    #[test]
    fn random_mutation_and_collection_keep_exactly_the_reachable() {
        fn reachable(h: &Heap, roots: &[u64]) -> Vec<u64> {
            let mut seen = std::collections::BTreeSet::new();
            let mut work = roots.to_vec();
            while let Some(x) = work.pop() {
                if seen.insert(x) {
                    // Panics on a freed handle: the failure this looks for.
                    work.extend(h.array(x).iter());
                }
            }
            seen.into_iter().collect()
        }
        for seed in 1..=40u64 {
            let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut next = |n: usize| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng % n as u64) as usize
            };
            let mut h = Heap::new();
            let mut roots: Vec<u64> = Vec::new();
            for _ in 0..3000 {
                let live = reachable(&h, &roots);
                match next(10) {
                    0..=2 => {
                        let a = h.alloc(Object::Array {
                            refs: true,
                            items: Items::Words(vec![]),
                        });
                        match live.is_empty() || next(3) == 0 {
                            true => roots.push(a),
                            false => h.array_push(live[next(live.len())], a).unwrap(),
                        }
                    }
                    3..=5 if !live.is_empty() => {
                        let (a, b) = (live[next(live.len())], live[next(live.len())]);
                        h.array_push(a, b).unwrap();
                    }
                    6 if !live.is_empty() => {
                        let a = live[next(live.len())];
                        if !h.array(a).is_empty() {
                            let k = next(h.array(a).len());
                            h.array_mut(a).set(k, live[next(live.len())]);
                        }
                    }
                    7 if !roots.is_empty() => {
                        roots.swap_remove(next(roots.len()));
                    }
                    8 => gc(&mut h, &roots, Collection::Minor),
                    9 if next(4) == 0 => {
                        gc(&mut h, &roots, Collection::Major);
                        assert_eq!(h.live_objects(), reachable(&h, &roots).len());
                    }
                    _ => {}
                }
                assert_eq!(h.bytes, h.recount());
            }
        }
    }

    #[test]
    fn a_young_object_is_aged_by_one_minor_collection_and_promoted_by_two() {
        let mut h = Heap::new();
        let a = h.alloc_str("short-lived");
        gc(&mut h, &[a], Collection::Minor);
        // Aged, still young: the next minor frees it once unreachable.
        gc(&mut h, &[], Collection::Minor);
        assert_eq!(h.live_objects(), 0);
        let b = h.alloc_str("long-lived");
        gc(&mut h, &[b], Collection::Minor);
        // The aged object counts as young, not as allocated since.
        assert_eq!((h.young.len(), h.nursery_objects), (1, NURSERY_OBJECTS + 1));
        let c = h.alloc_str("aged, then collected fully");
        gc(&mut h, &[b, c], Collection::Minor);
        gc(&mut h, &[b, c], Collection::Major);
        assert_eq!((h.young.len(), h.nursery_objects), (0, NURSERY_OBJECTS));
        gc(&mut h, &[b], Collection::Minor);
        // Old: a minor collection no longer frees it.
        gc(&mut h, &[], Collection::Minor);
        assert_eq!(h.str(b), "long-lived");
        assert_eq!(h.bytes, h.recount());
        gc(&mut h, &[], Collection::Major);
        assert_eq!(h.live_objects(), 0);
    }

    #[test]
    fn an_object_promoted_with_a_reference_to_a_new_one_is_remembered() {
        let mut h = Heap::new();
        let cell = h.alloc(Object::Cell {
            is_ref: true,
            value: 0,
        });
        gc(&mut h, &[cell], Collection::Minor);
        // Aged: storing into it needs no barrier.
        let s = h.alloc_str("new");
        h.set_cell(cell, s);
        assert!(h.remembered.is_empty());
        // This collection promotes the cell and ages the string: the cell
        // must be remembered, or the next minor would free the string.
        gc(&mut h, &[cell], Collection::Minor);
        assert_eq!(h.remembered, vec![cell as u32]);
        gc(&mut h, &[cell], Collection::Minor);
        assert_eq!(h.str(h.cell(cell)), "new");
        assert!(h.remembered.is_empty());
        gc(&mut h, &[cell], Collection::Minor);
        assert_eq!(h.str(h.cell(cell)), "new");
    }

    #[test]
    fn minor_collections_are_chosen_by_young_bytes_and_majors_by_old_growth() {
        let mut h = Heap::new();
        assert_eq!(h.wants_collection(0), Collection::None);
        // Young bytes past the threshold do not make a collection major.
        assert_eq!(h.wants_collection(MIN_THRESHOLD + 1), Collection::None);
        assert_eq!(h.wants_collection(NURSERY_BYTES + 1), Collection::Minor);
        // What minor collections promoted past the threshold does, once
        // the nursery is full.
        let big = h.alloc_str(&"x".repeat(MIN_THRESHOLD));
        gc(&mut h, &[big], Collection::Minor);
        gc(&mut h, &[big], Collection::Minor);
        assert_eq!(h.wants_collection(0), Collection::None);
        assert_eq!(h.wants_collection(NURSERY_BYTES + 1), Collection::Major);
        // And always a major one before the limit is passed.
        gc(&mut h, &[big], Collection::Major);
        h.set_limit(4 * MIN_THRESHOLD);
        assert_eq!(h.wants_collection(MIN_THRESHOLD), Collection::None);
        assert_eq!(h.wants_collection(3 * MIN_THRESHOLD), Collection::Major);
        h.set_limit(usize::MAX);
        h.threshold = MIN_THRESHOLD;
        h.set_stress(true);
        assert!(h.may_collect(0));
        let kinds: Vec<Collection> = (0..STRESS_MAJOR_EVERY)
            .map(|_| {
                let k = h.wants_collection(0);
                gc(&mut h, &[], k);
                k
            })
            .collect();
        assert_eq!(kinds.iter().filter(|k| **k == Collection::Major).count(), 1);
        assert_eq!(
            kinds.iter().filter(|k| **k == Collection::Minor).count(),
            STRESS_MAJOR_EVERY as usize - 1
        );
    }
}
