//! The garbage-collected heap of one VM instance.
//!
//! Objects live in a slot table and are named by their index (a *handle*),
//! which is what a reference slot on the operand stack holds. Handles are
//! plain integers: they mean the same thing on every host and could be
//! written out with the heap, which is the point.
//!
//! Collection is precise mark-and-sweep. Roots come only from places whose
//! types are known exactly: the verifier's stack maps for each frame,
//! globals, interned constants and values the host pins. Marking uses an
//! explicit work list, so deep structures cannot overflow the host stack.
//! Nothing is reference counted and nothing is scanned conservatively.
//!
//! The collector is generational without moving anything ("sticky mark
//! bits"): an object that survived a collection keeps its mark and is *old*.
//! A *minor* collection marks only from the roots and from the old objects
//! mutated since the last collection (the remembered set), so it never
//! re-marks the old live set, and sweeps only the objects allocated since
//! then. A *major* collection clears every mark and does the whole job; it
//! runs when the heap has doubled since the last one, and always before the
//! heap limit is declared exceeded. The write barrier is in [`Heap::get_mut`],
//! the one door to mutating an object: the first mutable access to an old
//! object remembers it. Objects are only ever mutated through it.
//!
//! Invariants:
//! - a handle stored in a live reference slot always names a live object of
//!   the slot's type (the verifier types every slot; the collector frees
//!   only what no root reaches);
//! - the collector runs only at safepoints, before the instruction there
//!   has popped anything, so every value in flight is still in a mapped slot;
//! - between collections, no old object that is not remembered refers to a
//!   young one (every old object was fully traced when it became old, and
//!   mutating it remembers it);
//! - `bytes` is the accounted size of the objects in the table, live or not
//!   yet found dead (old garbage waits for a major collection). Sizes are
//!   a fixed formula of lengths (see [`Object::size`]), identical on every
//!   platform.

use std::hash::Hasher;

use compact_str::CompactString;

/// A map key. Keys are owned values, never references, so maps need no
/// collector support for them and hashing depends only on content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Int(i64),
    Bool(bool),
    Str(Box<str>),
}

impl std::hash::Hash for Key {
    // Spelled out so the hash is the same on every platform. (Map order is
    // insertion order, so hashes are never observable anyway.)
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            Key::Int(i) => h.write_u64(*i as u64),
            Key::Bool(b) => h.write_u64(*b as u64 ^ 0x9e37_79b9_7f4a_7c15),
            Key::Str(s) => h.write(s.as_bytes()),
        }
    }
}

/// A map key as found in a slot: borrowed, so looking a key up never
/// allocates. It hashes and compares exactly like the [`Key`] it stands for.
#[derive(Clone, Copy, Debug)]
pub enum KeyRef<'a> {
    Int(i64),
    Bool(bool),
    Str(&'a str),
}

impl std::hash::Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            KeyRef::Int(i) => h.write_u64(*i as u64),
            KeyRef::Bool(b) => h.write_u64(*b as u64 ^ 0x9e37_79b9_7f4a_7c15),
            KeyRef::Str(s) => h.write(s.as_bytes()),
        }
    }
}

impl indexmap::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, k: &Key) -> bool {
        match (self, k) {
            (KeyRef::Int(a), Key::Int(b)) => a == b,
            (KeyRef::Bool(a), Key::Bool(b)) => a == b,
            (KeyRef::Str(a), Key::Str(b)) => *a == &**b,
            _ => false,
        }
    }
}

impl KeyRef<'_> {
    /// Accounted bytes an entry with this key adds to a map.
    pub fn entry_size(self) -> usize {
        24 + if let KeyRef::Str(s) = self {
            s.len()
        } else {
            0
        }
    }

    pub fn to_key(self) -> Key {
        match self {
            KeyRef::Int(i) => Key::Int(i),
            KeyRef::Bool(b) => Key::Bool(b),
            KeyRef::Str(s) => Key::Str(s.into()),
        }
    }
}

impl Key {
    /// Accounted bytes an entry with this key adds to a map.
    pub fn entry_size(&self) -> usize {
        self.as_ref().entry_size()
    }

    pub fn as_ref(&self) -> KeyRef<'_> {
        match self {
            Key::Int(i) => KeyRef::Int(*i),
            Key::Bool(b) => KeyRef::Bool(*b),
            Key::Str(s) => KeyRef::Str(s),
        }
    }
}

impl std::fmt::Display for KeyRef<'_> {
    /// How a key appears in error messages: strings quoted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::Int(i) => write!(f, "{i}"),
            KeyRef::Bool(b) => write!(f, "{b}"),
            KeyRef::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A multiply-rotate hasher in the manner of FxHash: fast for the short
/// keys maps hold, and deterministic on every platform and every run.
#[derive(Default)]
pub struct KeyHasher(u64);

const SEED: u64 = 0x517c_c1b7_2722_0a95;

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for KeyHasher {
    /// A final avalanche: the multiply-rotate steps leave the low bits,
    /// which pick the bucket, depending only on the low bits of the input
    /// (for strings, the first bytes, often all alike: "k1", "k2", ...).
    #[inline]
    fn finish(&self) -> u64 {
        let x = self.0 ^ (self.0 >> 33);
        let x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
        }
        let mut last = [0u8; 8];
        let rest = chunks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last) ^ (bytes.len() as u64) << 56);
    }
}

pub use crate::map::TernMap;

/// Strings longer than this share their buffer with the result of a
/// concatenation (see [`Heap::concat`]); shorter ones are copied, as they
/// are stored inline. A fixed number, not the string type's inline
/// capacity, so that heap accounting is the same on every platform.
pub const SHARE_MIN: usize = 24;

/// The fields of a record or the captures of a closure.
pub type Fields = smallvec::SmallVec<[u64; 2]>;

#[derive(Debug)]
pub struct MapObject {
    /// `module::INT`, `BOOL` or `STR`: how a key slot becomes a [`Key`].
    pub key_ty: u32,
    pub val_refs: bool,
    pub entries: TernMap,
}

#[derive(Debug)]
pub enum Object {
    /// A string: the first `len` bytes of `text`. Short texts are stored
    /// inline (no allocation of their own). `text` may run on past `len`:
    /// see [`Heap::concat`]; the bytes past `len` belong to the
    /// [`Object::StrRef`]s that share this buffer, never to this value.
    Str {
        text: CompactString,
        len: usize,
    },
    /// A string whose bytes are the first `len` bytes of the buffer of
    /// `owner`, an [`Object::Str`] (never another `StrRef`).
    StrRef {
        owner: u32,
        len: usize,
    },
    Array {
        refs: bool,
        items: Vec<u64>,
    },
    /// Boxed: a map is large, and keeping it out of line keeps every
    /// other object small.
    Map(Box<MapObject>),
    /// A struct (tag 0) or an enum value (tag = variant). Small records
    /// (tree nodes, pairs) keep their fields inline.
    Record {
        layout: u32,
        tag: u32,
        fields: Fields,
    },
    Closure {
        func: u32,
        captures: Fields,
    },
    Cell {
        is_ref: bool,
        value: u64,
    },
}

impl Object {
    /// Accounted size in bytes.
    pub fn size(&self) -> usize {
        match self {
            Object::Str { text, .. } => 32 + text.len(),
            Object::StrRef { .. } => 24,
            Object::Array { items, .. } => 32 + 8 * items.len(),
            Object::Map(m) => 48 + m.entries.keys().map(|k| k.entry_size()).sum::<usize>(),
            Object::Record { fields, .. } => 24 + 8 * fields.len(),
            Object::Closure { captures, .. } => 24 + 8 * captures.len(),
            Object::Cell { .. } => 24,
        }
    }
}

/// Which fields of records and closures hold references: from the module.
pub struct GcInfo {
    /// `[layout][tag][field]`.
    pub record_refs: Vec<Vec<Box<[bool]>>>,
    /// `[function][capture]`.
    pub capture_refs: Vec<Box<[bool]>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    pub collections: u64,
    pub allocated_bytes: u64,
    pub peak_bytes: u64,
}

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

/// `flags` bits. `MARKED` outside a collection means old.
const MARKED: u8 = 1;
const REMEMBERED: u8 = 2;

/// What a safepoint must do before allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    None,
    Minor,
    Major,
}

pub struct Heap {
    objects: Vec<Option<Object>>,
    flags: Vec<u8>,
    free: Vec<u32>,
    /// Objects allocated since the last collection.
    young: Vec<u32>,
    /// Old objects mutated since the last collection.
    remembered: Vec<u32>,
    /// Accounted bytes (see the module invariants).
    pub bytes: usize,
    /// Bytes allocated since the last collection.
    young_bytes: usize,
    /// Collect fully when `bytes` would pass this.
    threshold: usize,
    /// How many bytes may be allocated before [`Heap::wants_collection`]
    /// needs asking: the nearer of the two triggers, 0 under stress.
    budget: usize,
    /// Collect at every safepoint that allocates (for tests).
    stress: bool,
    pub stats: HeapStats,
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

#[cold]
#[inline(never)]
fn bad_handle(h: u64, want: &str) -> ! {
    // Unreachable for verified code: see the module invariants.
    panic!("heap invariant violated: handle {h} is not a live {want}")
}

impl Heap {
    pub fn new() -> Heap {
        Heap {
            objects: Vec::new(),
            flags: Vec::new(),
            free: Vec::new(),
            young: Vec::new(),
            remembered: Vec::new(),
            bytes: 0,
            young_bytes: 0,
            threshold: MIN_THRESHOLD,
            budget: MIN_THRESHOLD.min(NURSERY_BYTES),
            stress: false,
            stats: HeapStats::default(),
        }
    }

    /// Collect at every safepoint that allocates (for tests).
    pub fn set_stress(&mut self, on: bool) {
        self.stress = on;
        self.reset_budget();
    }

    fn reset_budget(&mut self) {
        self.budget = if self.stress {
            0
        } else {
            NURSERY_BYTES.min(self.threshold.saturating_sub(self.bytes))
        };
    }

    /// The fast test at every allocation: whether [`Heap::wants_collection`]
    /// might say yes.
    #[inline]
    pub fn may_collect(&self, need: usize) -> bool {
        self.young_bytes + need >= self.budget || self.young.len() >= NURSERY_OBJECTS
    }

    /// Whether a safepoint about to allocate `need` bytes should collect,
    /// and how.
    #[inline]
    pub fn wants_collection(&self, need: usize) -> Collection {
        if self.bytes + need > self.threshold {
            Collection::Major
        } else if self.young_bytes + need > NURSERY_BYTES || self.young.len() >= NURSERY_OBJECTS {
            Collection::Minor
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

    /// Adds an object. Never collects: callers collect first, at a safepoint.
    pub fn alloc(&mut self, obj: Object) -> u64 {
        let size = obj.size();
        self.alloc_sized(obj, size)
    }

    /// A struct or enum value.
    #[inline(never)]
    pub fn alloc_record(&mut self, layout: u32, tag: u32, fields: &[u64]) -> u64 {
        let size = 24 + 8 * fields.len();
        let fields = Fields::from_slice(fields);
        self.alloc_sized(
            Object::Record {
                layout,
                tag,
                fields,
            },
            size,
        )
    }

    #[inline]
    fn alloc_sized(&mut self, obj: Object, size: usize) -> u64 {
        self.grow(size);
        let i = match self.free.pop() {
            Some(i) => {
                self.objects[i as usize] = Some(obj);
                self.flags[i as usize] = 0;
                i
            }
            None => {
                self.objects.push(Some(obj));
                self.flags.push(0);
                (self.objects.len() - 1) as u32
            }
        };
        self.young.push(i);
        i as u64
    }

    /// Accounts `n` more bytes to an existing object that grew.
    #[inline]
    pub fn grow(&mut self, n: usize) {
        self.bytes += n;
        self.young_bytes += n;
        self.stats.allocated_bytes += n as u64;
        if self.bytes as u64 > self.stats.peak_bytes {
            self.stats.peak_bytes = self.bytes as u64;
        }
    }

    pub fn live_objects(&self) -> usize {
        self.objects.len() - self.free.len()
    }

    #[inline]
    pub fn get(&self, h: u64) -> &Object {
        match self.objects.get(h as usize) {
            Some(Some(o)) => o,
            _ => bad_handle(h, "object"),
        }
    }

    /// Mutable access, and so the write barrier: the first mutation of an
    /// old object since the last collection remembers it.
    #[inline]
    pub fn get_mut(&mut self, h: u64) -> &mut Object {
        if let Some(f) = self.flags.get_mut(h as usize) {
            if *f == MARKED {
                *f = MARKED | REMEMBERED;
                self.remembered.push(h as u32);
            }
        }
        match self.objects.get_mut(h as usize) {
            Some(Some(o)) => o,
            _ => bad_handle(h, "object"),
        }
    }

    #[inline]
    pub fn str(&self, h: u64) -> &str {
        let (_, text, len) = self.str_owner(h);
        &text[..len]
    }

    /// The buffer a string's bytes are a prefix of, its owner and the
    /// string's length.
    #[inline]
    fn str_owner(&self, h: u64) -> (u64, &CompactString, usize) {
        match self.get(h) {
            Object::Str { text, len } => (h, text, *len),
            Object::StrRef { owner, len } => match self.get(*owner as u64) {
                Object::Str { text, .. } => (*owner as u64, text, *len),
                _ => bad_handle(*owner as u64, "string buffer"),
            },
            _ => bad_handle(h, "str"),
        }
    }

    /// A new string holding a copy of `s`.
    pub fn alloc_str(&mut self, s: &str) -> u64 {
        self.alloc_text(CompactString::new(s))
    }

    /// A new string holding `text` (no copy when it does not fit inline).
    pub fn alloc_text(&mut self, text: impl Into<CompactString>) -> u64 {
        let text = text.into();
        let len = text.len();
        self.alloc(Object::Str { text, len })
    }

    /// `a + b`. When `a` is the longest string built on its buffer so far
    /// (its bytes end where the buffer's do) and longer than [`SHARE_MIN`]
    /// bytes (so its buffer is on the host heap, not inline), `b` is appended to the buffer in place and the result
    /// is a [`Object::StrRef`] sharing it: no string's bytes change, since
    /// every string is a prefix of its buffer and appending only adds bytes
    /// past all of them. So `s = s + x` in a loop is amortized linear, as
    /// in CPython, instead of copying `s` every time. Accounting: the
    /// appended bytes are added to the owner's size (capacity the buffer
    /// grows ahead is not counted, at most as much again as its length).
    pub fn concat(&mut self, a: u64, b: u64) -> u64 {
        let (owner, text, la) = self.str_owner(a);
        let in_place = text.len() == la && la > SHARE_MIN;
        let (b_owner, _, lb) = self.str_owner(b);
        if in_place && b_owner != owner {
            // The buffer is taken out while it grows so that `b` can be
            // read (it has another buffer, checked above).
            let mut text = std::mem::take(self.str_text_mut(owner));
            text.push_str(self.str(b));
            *self.str_text_mut(owner) = text;
            self.grow(lb);
            return self.alloc(Object::StrRef {
                owner: owner as u32,
                len: la + lb,
            });
        }
        let mut s = CompactString::with_capacity(la + lb);
        s.push_str(&text[..la]);
        s.push_str(self.str(b));
        self.alloc_text(s)
    }

    /// The pieces of string `s` between occurrences of `sep` (its
    /// characters when `sep` is empty), each a new string. Pieces are
    /// allocated as they are found, with no list of them in between: a
    /// large split makes no second copy of its text.
    pub fn split(&mut self, s: u64, sep: u64) -> Vec<u64> {
        let mut items = Vec::new();
        let mut pos = 0;
        loop {
            let (text, sep) = (self.str(s), self.str(sep));
            let (piece, next) = if sep.is_empty() {
                match text[pos..].chars().next() {
                    Some(c) => {
                        let end = pos + c.len_utf8();
                        (CompactString::new(&text[pos..end]), Some(end))
                    }
                    None => return items,
                }
            } else {
                // A one-character separator (the common case) is found by
                // a byte scan; a substring search has a set-up cost per call.
                let mut chars = sep.chars();
                let found = match (chars.next(), chars.next()) {
                    (Some(c), None) => text[pos..].find(c),
                    _ => text[pos..].find(sep),
                };
                match found {
                    Some(i) => (
                        CompactString::new(&text[pos..pos + i]),
                        Some(pos + i + sep.len()),
                    ),
                    None => (CompactString::new(&text[pos..]), None),
                }
            };
            items.push(self.alloc_text(piece));
            match next {
                Some(n) => pos = n,
                None => return items,
            }
        }
    }

    /// A string buffer, for appending. No write barrier: the bytes of a
    /// string are not references.
    fn str_text_mut(&mut self, owner: u64) -> &mut CompactString {
        match self.objects.get_mut(owner as usize) {
            Some(Some(Object::Str { text, .. })) => text,
            _ => bad_handle(owner, "string buffer"),
        }
    }

    #[inline]
    pub fn array(&self, h: u64) -> &Vec<u64> {
        match self.get(h) {
            Object::Array { items, .. } => items,
            _ => bad_handle(h, "array"),
        }
    }

    #[inline]
    pub fn array_mut(&mut self, h: u64) -> &mut Vec<u64> {
        match self.get_mut(h) {
            Object::Array { items, .. } => items,
            _ => bad_handle(h, "array"),
        }
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

    #[inline]
    pub fn fields(&self, h: u64) -> &[u64] {
        match self.get(h) {
            Object::Record { fields, .. } => fields,
            _ => bad_handle(h, "record"),
        }
    }

    #[inline]
    pub fn fields_mut(&mut self, h: u64) -> &mut [u64] {
        match self.get_mut(h) {
            Object::Record { fields, .. } => fields,
            _ => bad_handle(h, "record"),
        }
    }

    #[inline]
    pub fn tag(&self, h: u64) -> u32 {
        match self.get(h) {
            Object::Record { tag, .. } => *tag,
            _ => bad_handle(h, "record"),
        }
    }

    #[inline]
    pub fn closure(&self, h: u64) -> (u32, &[u64]) {
        match self.get(h) {
            Object::Closure { func, captures } => (*func, captures),
            _ => bad_handle(h, "closure"),
        }
    }

    #[inline]
    pub fn cell(&self, h: u64) -> u64 {
        match self.get(h) {
            Object::Cell { value, .. } => *value,
            _ => bad_handle(h, "cell"),
        }
    }

    #[inline]
    pub fn set_cell(&mut self, h: u64, v: u64) {
        match self.get_mut(h) {
            Object::Cell { value, .. } => *value = v,
            _ => bad_handle(h, "cell"),
        }
    }

    /// The accounted size of the live objects, counted afresh (for tests:
    /// `bytes` must equal this right after a collection).
    pub fn recount(&self) -> usize {
        self.objects.iter().flatten().map(Object::size).sum()
    }

    /// Accounts `n` fewer bytes to an object that shrank.
    #[inline]
    pub fn shrink(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
    }

    /// Marks everything reachable from `roots` and frees the rest: among
    /// the young objects only (minor), or among all of them (major, which
    /// also sets the next major threshold to twice the live size).
    pub fn collect(&mut self, roots: &[u64], info: &GcInfo, kind: Collection) {
        let major = kind == Collection::Major;
        self.stats.collections += 1;
        if major {
            self.flags.fill(0);
        }
        let objects = &self.objects;
        let flags = &mut self.flags;
        let mut work: Vec<u64> = Vec::with_capacity(roots.len());
        for &r in roots {
            mark(flags, r, &mut work);
        }
        if !major {
            // Old objects mutated since the last collection may now refer
            // to young ones: trace them as if they were roots.
            for &r in &self.remembered {
                trace(&objects[r as usize], info, flags, &mut work);
            }
        }
        while let Some(h) = work.pop() {
            trace(&objects[h as usize], info, flags, &mut work);
        }
        // Sweep. `bytes` is kept exact by alloc, grow and shrink, so the
        // freed objects' sizes are all that needs subtracting. Survivors
        // keep their mark: they are old now.
        let mut freed = 0usize;
        let mut free_slot = |i: usize, slot: &mut Option<Object>, free: &mut Vec<u32>| {
            if let Some(o) = slot.take() {
                freed += o.size();
                free.push(i as u32);
            }
        };
        if major {
            for (i, (slot, f)) in self.objects.iter_mut().zip(self.flags.iter()).enumerate() {
                if *f & MARKED == 0 {
                    free_slot(i, slot, &mut self.free);
                }
            }
        } else {
            for &i in &self.young {
                let i = i as usize;
                if self.flags[i] & MARKED == 0 {
                    free_slot(i, &mut self.objects[i], &mut self.free);
                }
            }
            for &r in &self.remembered {
                self.flags[r as usize] &= !REMEMBERED;
            }
        }
        self.young.clear();
        self.remembered.clear();
        self.young_bytes = 0;
        self.bytes = self.bytes.saturating_sub(freed);
        if major {
            self.threshold = (self.bytes * 2).max(MIN_THRESHOLD);
        }
        self.reset_budget();
    }
}

/// Marks the children of one object.
#[inline]
fn trace(o: &Option<Object>, info: &GcInfo, flags: &mut [u8], work: &mut Vec<u64>) {
    let Some(o) = o else {
        return;
    };
    match o {
        Object::Str { .. } => {}
        Object::StrRef { owner, .. } => mark(flags, *owner as u64, work),
        Object::Array { refs, items } => {
            if *refs {
                for &c in items {
                    mark(flags, c, work);
                }
            }
        }
        Object::Map(m) => {
            if m.val_refs {
                for c in m.entries.values() {
                    mark(flags, c, work);
                }
            }
        }
        Object::Record {
            layout,
            tag,
            fields,
        } => {
            let mask = &info.record_refs[*layout as usize][*tag as usize];
            for (&c, &is_ref) in fields.iter().zip(mask.iter()) {
                if is_ref {
                    mark(flags, c, work);
                }
            }
        }
        Object::Closure { func, captures } => {
            let mask = &info.capture_refs[*func as usize];
            for (&c, &is_ref) in captures.iter().zip(mask.iter()) {
                if is_ref {
                    mark(flags, c, work);
                }
            }
        }
        Object::Cell { is_ref, value } => {
            if *is_ref {
                mark(flags, *value, work);
            }
        }
    }
}

#[inline]
fn mark(flags: &mut [u8], h: u64, work: &mut Vec<u64>) {
    if let Some(f) = flags.get_mut(h as usize) {
        if *f & MARKED == 0 {
            *f |= MARKED;
            work.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_info() -> GcInfo {
        GcInfo {
            record_refs: vec![],
            capture_refs: vec![],
        }
    }

    #[test]
    fn unreachable_objects_are_freed_and_slots_reused() {
        let mut h = Heap::new();
        let a = h.alloc_str("kept");
        let b = h.alloc_str("dropped");
        let arr = h.alloc(Object::Array {
            refs: true,
            items: vec![a],
        });
        h.collect(&[arr], &no_info(), Collection::Minor);
        assert_eq!(h.live_objects(), 2);
        assert_eq!(h.str(a), "kept");
        let c = h.alloc_str("new");
        assert_eq!(c, b, "the freed slot is reused");
        assert_eq!(h.stats.collections, 1);
    }

    #[test]
    fn accounting_stays_exact_through_growth_and_collection() {
        let mut h = Heap::new();
        let arr = h.alloc(Object::Array {
            refs: false,
            items: vec![],
        });
        for i in 0..100 {
            h.array_mut(arr).push(i);
            h.grow(8);
        }
        for _ in 0..40 {
            h.array_mut(arr).pop();
            h.shrink(8);
        }
        h.alloc_str("garbage");
        h.collect(&[arr], &no_info(), Collection::Major);
        assert_eq!(h.bytes, h.recount());
        assert_eq!(h.bytes, 32 + 8 * 60);
    }

    #[test]
    fn split_agrees_with_str_split() {
        let mut h = Heap::new();
        let cases = [
            ("a,b,,c", ","),
            ("", ","),
            (",", ","),
            ("a,", ","),
            ("no separator", ";"),
            ("a--b---c", "--"),
            ("héllo wörld", ""),
            ("", ""),
            ("aaa", "aa"),
        ];
        for (text, sep) in cases {
            let (t, s) = (h.alloc_str(text), h.alloc_str(sep));
            let got: Vec<String> = h
                .split(t, s)
                .iter()
                .map(|&p| h.str(p).to_string())
                .collect();
            let want: Vec<String> = if sep.is_empty() {
                text.chars().map(String::from).collect()
            } else {
                text.split(sep).map(String::from).collect()
            };
            assert_eq!(got, want, "{text:?} split by {sep:?}");
        }
    }

    #[test]
    fn concatenation_shares_buffers_without_changing_any_value() {
        let mut h = Heap::new();
        let base = h.alloc_str("a string too long to be stored inline");
        let x = h.alloc_str("x");
        let one = h.concat(base, x);
        // `base` ended its buffer, so `one` shares it.
        assert!(matches!(h.get(one), Object::StrRef { owner, .. } if *owner as u64 == base));
        let two = h.concat(one, x);
        assert!(matches!(h.get(two), Object::StrRef { .. }));
        // `one` no longer ends the buffer: a copy.
        let y = h.alloc_str("y");
        let other = h.concat(one, y);
        assert!(matches!(h.get(other), Object::Str { .. }));
        // A string appended to its own buffer is copied too.
        let twice = h.concat(two, two);
        assert_eq!(h.str(base), "a string too long to be stored inline");
        assert_eq!(h.str(one), "a string too long to be stored inlinex");
        assert_eq!(h.str(two), "a string too long to be stored inlinexx");
        assert_eq!(h.str(other), "a string too long to be stored inlinexy");
        assert_eq!(h.str(twice), [h.str(two), h.str(two)].concat());
        // Short strings stay inline and are always copied.
        let short = h.alloc_str("ab");
        let short2 = h.concat(short, x);
        assert!(matches!(h.get(short2), Object::Str { .. }));
        assert_eq!(h.str(short), "ab");
        // Only `two` is kept: its owner survives with the whole buffer.
        h.collect(&[two], &no_info(), Collection::Major);
        assert_eq!(h.str(two), "a string too long to be stored inlinexx");
        assert_eq!(h.live_objects(), 2);
        assert_eq!(h.bytes, h.recount());
        h.collect(&[], &no_info(), Collection::Major);
        assert_eq!(h.live_objects(), 0);
        assert_eq!(h.bytes, 0);
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
        h.collect(&[last], &no_info(), Collection::Minor);
        assert_eq!(h.live_objects(), n + 1);
    }

    #[test]
    fn minor_collections_keep_old_objects_and_free_young_garbage() {
        let mut h = Heap::new();
        let old = h.alloc_str("old");
        h.collect(&[old], &no_info(), Collection::Major);
        let young = h.alloc_str("young");
        // No roots at all: a minor collection still keeps the old object
        // (only a major one finds old garbage) but frees the young one.
        h.collect(&[], &no_info(), Collection::Minor);
        assert_eq!(h.live_objects(), 1);
        assert_eq!(h.str(old), "old");
        assert_eq!(h.bytes, h.recount());
        let _ = young;
        h.collect(&[], &no_info(), Collection::Major);
        assert_eq!(h.live_objects(), 0);
        assert_eq!(h.bytes, 0);
    }

    #[test]
    fn the_write_barrier_keeps_young_objects_stored_into_old_ones() {
        let mut h = Heap::new();
        let arr = h.alloc(Object::Array {
            refs: true,
            items: vec![],
        });
        let cell = h.alloc(Object::Cell {
            is_ref: true,
            value: arr,
        });
        h.collect(&[arr, cell], &no_info(), Collection::Minor);
        // Both are old now. Store young objects into them, reachable only
        // through the old objects.
        let s1 = h.alloc_str("in array");
        h.array_mut(arr).push(s1);
        let s2 = h.alloc_str("in cell");
        h.set_cell(cell, s2);
        h.collect(&[arr, cell], &no_info(), Collection::Minor);
        assert_eq!(h.live_objects(), 4);
        assert_eq!(h.str(h.array(arr)[0]), "in array");
        assert_eq!(h.str(h.cell(cell)), "in cell");
        // After the collection the young objects are old, and the
        // remembered set is empty again: one more minor keeps everything.
        h.collect(&[arr, cell], &no_info(), Collection::Minor);
        assert_eq!(h.live_objects(), 4);
        assert!(h.remembered.is_empty());
    }

    #[test]
    fn minor_collections_are_chosen_by_young_bytes_and_majors_by_heap_growth() {
        let mut h = Heap::new();
        assert_eq!(h.wants_collection(0), Collection::None);
        assert_eq!(h.wants_collection(MIN_THRESHOLD + 1), Collection::Major);
        h.threshold = 4 * NURSERY_BYTES;
        assert_eq!(h.wants_collection(NURSERY_BYTES + 1), Collection::Minor);
        h.threshold = NURSERY_BYTES / 2;
        assert_eq!(h.wants_collection(NURSERY_BYTES), Collection::Major);
        h.threshold = MIN_THRESHOLD;
        h.set_stress(true);
        assert!(h.may_collect(0));
        let kinds: Vec<Collection> = (0..STRESS_MAJOR_EVERY)
            .map(|_| {
                let k = h.wants_collection(0);
                h.collect(&[], &no_info(), k);
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
