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
//! The collector (see `gc`) is generational without moving anything
//! ("sticky mark bits"; an object is old once it survived two minor
//! collections). The write barrier is in [`Heap::get_mut`], the
//! one door to mutating an object: the first mutable access to an old
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
//!   remembered if it referred to a young one; mutating it remembers it;
//!   a minor collection keeps remembered those that still refer to one);
//! - `bytes` is the accounted size of the objects in the table, live or not
//!   yet found dead (old garbage waits for a major collection). Sizes count
//!   what each object holds, by capacity (see [`Object::size`]), and every
//!   capacity follows a policy of this crate's own, so sizes are identical
//!   on every platform.

use compact_str::CompactString;

mod gc;
mod items;
mod maps;

pub use items::Items;

use maps::Found;

pub use gc::{Collection, MIN_THRESHOLD, NURSERY_BYTES, NURSERY_OBJECTS};
use gc::{MARKED, OLD, REMEMBERED};

use crate::limits::{Stop, Watch};
pub use crate::map::{HashSeed, Key, KeyRef, TernMap};

/// Strings longer than this share their buffer with the result of a
/// concatenation (see [`Heap::concat`]); shorter ones are copied, as they
/// are stored inline. A fixed number, not the string type's inline
/// capacity, so that heap accounting is the same on every platform.
pub const SHARE_MIN: usize = 24;

/// The captures of a closure.
pub type Fields = smallvec::SmallVec<[u64; 2]>;

/// Fields a record keeps in its own object slot; records with more have
/// them boxed ([`Object::BigRecord`]). Three covers tree nodes, pairs,
/// vectors and most enum payloads, and keeps `Option<Object>` at 40 bytes
/// (a `gc` test pins it). A fixed number, not a host property: a record's
/// accounted size is `8 * len` either way.
pub const INLINE_FIELDS: usize = 3;

#[derive(Debug)]
pub struct MapObject {
    /// `module::INT`, `BOOL` or `STR`: how a key slot becomes a [`Key`].
    pub key_ty: u32,
    pub val_refs: bool,
    pub entries: TernMap,
}

/// An object. `repr(u8)`: its layout is the one the Rust reference fixes
/// for primitive-representation enums (a union of `repr(C)` structs, each
/// starting with the `u8` discriminant), so machine code may read fields
/// whose layout is ours (see [`layout`]); the discriminants are named
/// there.
#[derive(Debug)]
#[repr(u8)]
pub enum Object {
    /// A string: the first `len` bytes of `text`. Short texts are stored
    /// inline (no allocation of their own). `text` may run on past `len`:
    /// see [`Heap::concat`]; the bytes past `len` belong to the
    /// [`Object::StrRef`]s that share this buffer, never to this value.
    Str {
        text: CompactString,
        len: usize,
    } = layout::STR,
    /// A string whose bytes are the first `len` bytes of the buffer of
    /// `owner`, an [`Object::Str`] (never another `StrRef`).
    StrRef {
        owner: u32,
        len: usize,
    } = layout::STR_REF,
    Array {
        refs: bool,
        items: Items,
    } = layout::ARRAY,
    /// Boxed: a map is large, and keeping it out of line keeps every
    /// other object small.
    Map(Box<MapObject>) = layout::MAP,
    /// A struct (tag 0) or an enum value (tag = variant) of at most
    /// [`INLINE_FIELDS`] fields, stored in the object itself: reading a
    /// field is one handle check, one variant check and one load. Slots
    /// past `len` stay zero.
    Record {
        layout: u32,
        tag: u32,
        len: u8,
        fields: [u64; INLINE_FIELDS],
    } = layout::RECORD,
    /// A record of more than [`INLINE_FIELDS`] fields.
    BigRecord {
        layout: u32,
        tag: u32,
        fields: Box<[u64]>,
    } = layout::BIG_RECORD,
    Closure {
        func: u32,
        captures: Fields,
    } = layout::CLOSURE,
    Cell {
        is_ref: bool,
        value: u64,
    } = layout::CELL,
}

/// Accounted bytes every object costs whatever its payload: its slot in
/// the object table (40 bytes) and the collector's bookkeeping for it (mark
/// flags, the young list).
pub const OBJECT_BYTES: usize = 48;

/// Accounted bytes of a map's boxed header (beyond [`OBJECT_BYTES`]).
pub const MAP_HEADER_BYTES: usize = 64;

impl Object {
    /// A struct or enum value with these fields, inline when they fit.
    pub fn new_record(layout: u32, tag: u32, values: &[u64]) -> Object {
        if values.len() <= INLINE_FIELDS {
            // Element by element: a `copy_from_slice` of a run-time length
            // becomes a call to `memcpy`, which costs more than the copy.
            let fields: [u64; INLINE_FIELDS] =
                std::array::from_fn(|k| values.get(k).copied().unwrap_or(0));
            Object::Record {
                layout,
                tag,
                len: values.len() as u8,
                fields,
            }
        } else {
            Object::BigRecord {
                layout,
                tag,
                fields: values.into(),
            }
        }
    }

    /// The layout, tag and fields of a record, `None` for other objects.
    pub fn as_record(&self) -> Option<(u32, u32, &[u64])> {
        match self {
            Object::Record {
                layout,
                tag,
                len,
                fields,
            } => Some((*layout, *tag, &fields[..*len as usize])),
            Object::BigRecord {
                layout,
                tag,
                fields,
            } => Some((*layout, *tag, fields)),
            _ => None,
        }
    }

    /// Accounted size in bytes: [`OBJECT_BYTES`] plus the memory the
    /// payload holds (capacity, not length). A fixed formula of sizes our
    /// own code chooses, so the same on every platform.
    pub fn size(&self) -> usize {
        OBJECT_BYTES
            + match self {
                Object::Str { text, .. } => text_bytes(text),
                Object::StrRef { .. } | Object::Cell { .. } => 0,
                Object::Array { items, .. } => items.heap_bytes(),
                Object::Map(m) => MAP_HEADER_BYTES + m.entries.heap_bytes(),
                Object::Record { len, .. } => 8 * *len as usize,
                Object::BigRecord { fields, .. } => 8 * fields.len(),
                Object::Closure { captures, .. } => 8 * captures.len(),
            }
    }
}

/// Accounted bytes of an array of bytes (`[bool]`) or not, of capacity
/// `len`: what [`Object::size`] says of one.
#[inline]
pub fn array_bytes(bytes: bool, len: usize) -> usize {
    OBJECT_BYTES + element_bytes(bytes) * len
}

/// Accounted bytes per element of capacity of an array of bytes (a
/// `[bool]`) or not.
#[inline]
pub fn element_bytes(bytes: bool) -> usize {
    if bytes {
        1
    } else {
        8
    }
}

/// Accounted bytes of a record (struct or enum value) of `fields` fields:
/// what [`Object::size`] says of one.
#[inline(always)]
pub(crate) fn record_bytes(fields: usize) -> usize {
    OBJECT_BYTES + 8 * fields
}

/// Bytes a string's text holds outside its object: its buffer's capacity
/// when it is not stored inline.
pub fn text_bytes(t: &CompactString) -> usize {
    if t.is_heap_allocated() {
        t.capacity()
    } else {
        0
    }
}

/// Accounted bytes of a new string of `len` bytes (see [`text_bytes`]: a
/// heap buffer holds at least 32 bytes).
pub fn str_size(len: usize) -> usize {
    // Saturating: a size past any limit (a huge `repeat`) must stay huge.
    OBJECT_BYTES.saturating_add(if len <= INLINE_TEXT {
        0
    } else {
        len.max(MIN_HEAP_TEXT)
    })
}

/// A copy of `s` as a string's text, holding what [`str_size`] says.
#[inline]
pub fn new_text(s: &str) -> CompactString {
    if s.len() <= INLINE_TEXT {
        // Inline: the fast path, and no buffer to size.
        CompactString::new(s)
    } else {
        let mut t = CompactString::with_capacity(s.len());
        t.push_str(s);
        t
    }
}

/// The longest text a string stores inline, and the smallest buffer one
/// allocates otherwise (compact_str's rules on 64-bit targets, the only
/// ones Tern runs on; a unit test pins them).
pub(crate) const INLINE_TEXT: usize = 24;
const MIN_HEAP_TEXT: usize = 32;

/// The capacity of an array of capacity `cap` grown by doubling to hold
/// `len` elements.
fn extended_capacity(cap: usize, len: usize) -> usize {
    let mut cap = cap;
    while cap < len {
        cap = grown_capacity(cap);
    }
    cap
}

/// The next capacity of an array of capacity `cap` that is full.
fn grown_capacity(cap: usize) -> usize {
    (cap * 2).max(4)
}

/// No records or closures: for tests of the heap alone.
#[cfg(test)]
pub(crate) fn no_gc_info() -> GcInfo {
    GcInfo {
        record_refs: vec![],
        capture_refs: vec![],
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

pub struct Heap {
    objects: Vec<Option<Object>>,
    flags: Vec<u8>,
    free: Vec<u32>,
    /// The young objects: allocated since the last collection, or aged
    /// (they survived one minor collection).
    young: Vec<u32>,
    /// How many of `young` are aged (what the last collection kept).
    aged: usize,
    /// Old objects mutated since the last collection, and those that
    /// still referred to young ones at its end.
    remembered: Vec<u32>,
    /// Accounted bytes (see the module invariants).
    pub bytes: usize,
    /// Bytes allocated since the last collection.
    young_bytes: usize,
    /// When the nursery fills, collect fully if what the last collection
    /// left (`bytes - young_bytes`) is past this.
    threshold: usize,
    /// How many bytes may be allocated before [`Heap::wants_collection`]
    /// needs asking: the nearer of the nursery and the limit, 0 under
    /// stress.
    budget: usize,
    /// Bytes allocated since the last collection, and young objects
    /// (aged ones included: `nursery_objects` counts them in), that
    /// trigger a minor one: at least [`NURSERY_BYTES`] and
    /// [`NURSERY_OBJECTS`] new ones, more when the last minor collection
    /// had many roots to scan, so its cost stays proportional to what was
    /// allocated.
    nursery_bytes: usize,
    nursery_objects: usize,
    /// The heap limit: accounted bytes the live objects may take.
    limit: usize,
    /// The last [`Heap::wants_collection`] asked for a major collection
    /// because the allocation would pass the limit.
    limit_forced: bool,
    /// A collection was stopped part way; the next must be major.
    pending_major: bool,
    /// Collect at every safepoint that allocates (for tests).
    stress: bool,
    pub stats: HeapStats,
    /// This instance's secret map-hash key.
    seed: HashSeed,
    /// The last key the free map lookups found (see `maps`).
    last_found: std::cell::Cell<Found>,
}

/// What machine code may rely on to read the heap without calling Rust
/// (the JIT's inline field and element accesses): the discriminants of
/// [`Object`], where [`Heap`] keeps its object table and flags, and the
/// flag that makes a store need the write barrier. The layouts of `Vec`
/// and `Box<[u64]>` are Rust's, not ours: a reader finds them out and
/// checks what it found against a live heap before trusting it.
///
/// Invariants machine code may rely on (besides [`Object`]'s layout):
/// `flags` is exactly as long as `objects` (both grow together and never
/// shrink), and a free table entry (`None`) never has one of these
/// discriminants in its first byte (it is `Option`'s niche in that byte
/// or a separate tag; the reader checks which).
pub mod layout {
    use super::Heap;

    pub const STR: u8 = 0;
    pub const STR_REF: u8 = 1;
    pub const ARRAY: u8 = 2;
    pub const MAP: u8 = 3;
    pub const RECORD: u8 = 4;
    pub const BIG_RECORD: u8 = 5;
    pub const CLOSURE: u8 = 6;
    pub const CELL: u8 = 7;

    /// The kinds of an array's [`super::Items`].
    pub const ITEMS_WORDS: u8 = 0;
    pub const ITEMS_BYTES: u8 = 1;

    /// Offset in [`Heap`] of the object table, a `Vec<Option<Object>>`
    /// indexed by handle.
    pub const OBJECTS: usize = std::mem::offset_of!(Heap, objects);
    /// Offset in [`Heap`] of the flags, a `Vec<u8>` indexed by handle.
    pub const FLAGS: usize = std::mem::offset_of!(Heap, flags);
    /// A store into an object whose flags are exactly this (old, not yet
    /// remembered) must go through [`Heap::get_mut`], the write barrier.
    pub const BARRIER: u8 = super::MARKED | super::OLD;

    // What machine code needs to allocate a record itself, exactly as
    // [`Heap::alloc_small_record`] does after [`Heap::may_collect`] said
    // no collection may be due (`young_bytes + size < budget` and
    // `young.len() < nursery_objects`), and only where the free list is
    // not empty and `young` has room (no `Vec` grows outside Rust):
    // pop a handle `h` off `free` (a `Vec<u32>`), write the record into
    // the object table's entry `h` (free: nothing to drop), set
    // `flags[h] = 0`, push `h` onto `young` (a `Vec<u32>`), and add the
    // record's size to `bytes`, `young_bytes` and `allocated_bytes`,
    // raising `peak_bytes` to `bytes` if it is below. All `usize`/`u64`.
    /// Offset in [`Heap`] of the free handles, a `Vec<u32>`.
    pub const FREE: usize = std::mem::offset_of!(Heap, free);
    /// Offset in [`Heap`] of the handles allocated since the last
    /// collection, a `Vec<u32>`.
    pub const YOUNG: usize = std::mem::offset_of!(Heap, young);
    pub const BYTES: usize = std::mem::offset_of!(Heap, bytes);
    pub const YOUNG_BYTES: usize = std::mem::offset_of!(Heap, young_bytes);
    pub const BUDGET: usize = std::mem::offset_of!(Heap, budget);
    pub const NURSERY_OBJECTS: usize = std::mem::offset_of!(Heap, nursery_objects);
    pub const ALLOCATED: usize = std::mem::offset_of!(Heap, stats.allocated_bytes);
    pub const PEAK: usize = std::mem::offset_of!(Heap, stats.peak_bytes);

    /// The data pointer, length and capacity of the free list and of the
    /// young list (to check a reader's idea of the layout against).
    pub fn lists(heap: &Heap) -> [(usize, usize, usize); 2] {
        [&heap.free, &heap.young].map(|v| (v.as_ptr() as usize, v.len(), v.capacity()))
    }

    /// `bytes`, `young_bytes`, `budget`, `nursery_objects`,
    /// `allocated_bytes` and `peak_bytes` (as [`lists`]).
    pub fn counts(heap: &Heap) -> [usize; 6] {
        [
            heap.bytes,
            heap.young_bytes,
            heap.budget,
            heap.nursery_objects,
            heap.stats.allocated_bytes as usize,
            heap.stats.peak_bytes as usize,
        ]
    }

    /// The address of the object table's entry for `h` (to check a
    /// reader's idea of the layout against; never dereferenced here).
    pub fn entry_address(heap: &Heap, h: u64) -> usize {
        std::ptr::from_ref(&heap.objects[h as usize]) as usize
    }

    /// The address of the flags' first byte (as [`entry_address`]).
    pub fn flags_address(heap: &Heap) -> usize {
        heap.flags.as_ptr() as usize
    }
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
    /// An empty heap without a limit.
    pub fn new() -> Heap {
        Heap {
            objects: Vec::new(),
            flags: Vec::new(),
            free: Vec::new(),
            young: Vec::new(),
            aged: 0,
            remembered: Vec::new(),
            bytes: 0,
            young_bytes: 0,
            threshold: MIN_THRESHOLD,
            budget: MIN_THRESHOLD.min(NURSERY_BYTES),
            nursery_bytes: NURSERY_BYTES,
            nursery_objects: NURSERY_OBJECTS,
            limit: usize::MAX,
            limit_forced: false,
            pending_major: false,
            stress: false,
            stats: HeapStats::default(),
            seed: HashSeed::random(),
            last_found: std::cell::Cell::new(Found::NONE),
        }
    }

    /// An empty map keyed by `key_ty` (`module::INT`, `BOOL` or `STR`),
    /// hashing with this heap's seed.
    pub fn new_map(&self, key_ty: u32, val_refs: bool) -> Object {
        Object::Map(Box::new(MapObject {
            key_ty,
            val_refs,
            entries: TernMap::new(key_ty == crate::module::STR, self.seed),
        }))
    }

    /// Adds an object. Never collects: callers collect first, at a safepoint.
    pub fn alloc(&mut self, obj: Object) -> u64 {
        let size = obj.size();
        self.alloc_sized(obj, size)
    }

    /// An array of `items` (capacity exactly their number), of references
    /// or not, of bytes (`[bool]`) or not: `NewArray`.
    pub fn alloc_array_of(&mut self, refs: bool, bytes: bool, items: &[u64]) -> u64 {
        self.alloc(Object::Array {
            refs,
            items: Items::of(bytes, items.to_vec()),
        })
    }

    /// A closure of function `func` capturing `captures`: `NewClosure`.
    pub fn alloc_closure(&mut self, func: u32, captures: &[u64]) -> u64 {
        let captures = Fields::from_slice(captures);
        self.alloc(Object::Closure { func, captures })
    }

    /// A cell holding `value`, a reference or not: `NewCell`.
    pub fn alloc_cell(&mut self, is_ref: bool, value: u64) -> u64 {
        self.alloc(Object::Cell { is_ref, value })
    }

    /// A struct or enum value.
    #[inline(never)]
    pub fn alloc_record(&mut self, layout: u32, tag: u32, fields: &[u64]) -> u64 {
        let size = record_bytes(fields.len());
        self.alloc_sized(Object::new_record(layout, tag, fields), size)
    }

    /// A struct or enum value of `len <= INLINE_FIELDS` fields, the first
    /// `len` of `fields`, the rest zero: the allocation compiled code
    /// makes most, without a slice (building one from a frame's slots
    /// cost compiled code a tenth of an allocation-heavy program's time).
    #[inline]
    pub fn alloc_small_record(
        &mut self,
        layout: u32,
        tag: u32,
        len: usize,
        fields: [u64; INLINE_FIELDS],
    ) -> u64 {
        // One compare: a larger `len` would be stored truncated.
        assert!(
            len <= INLINE_FIELDS,
            "a small record has at most INLINE_FIELDS fields"
        );
        debug_assert!(fields[len..].iter().all(|&f| f == 0));
        let obj = Object::Record {
            layout,
            tag,
            len: len as u8,
            fields,
        };
        self.alloc_sized(obj, record_bytes(len))
    }

    #[inline(always)]
    fn alloc_sized(&mut self, obj: Object, size: usize) -> u64 {
        self.grow(size);
        let i = match self.free.pop() {
            Some(i) => {
                // A slot on the free list is empty (the sweep took its
                // object), so nothing is dropped: `get_or_insert` drops no
                // old value, where an assignment would call the drop glue.
                let slot = &mut self.objects[i as usize];
                debug_assert!(slot.is_none());
                slot.get_or_insert(obj);
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
            if *f == MARKED | OLD {
                *f = MARKED | OLD | REMEMBERED;
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
    pub(crate) fn str_owner(&self, h: u64) -> (u64, &CompactString, usize) {
        match self.get(h) {
            Object::Str { text, len } => (h, text, *len),
            Object::StrRef { owner, len } => match self.get(*owner as u64) {
                Object::Str { text, .. } => (*owner as u64, text, *len),
                _ => bad_handle(*owner as u64, "string buffer"),
            },
            _ => bad_handle(h, "str"),
        }
    }

    /// A new string holding a copy of `s` (accounted [`str_size`] bytes).
    pub fn alloc_str(&mut self, s: &str) -> u64 {
        self.alloc_text(new_text(s))
    }

    /// A new string holding `text` (no copy when it does not fit inline).
    pub fn alloc_text(&mut self, text: impl Into<CompactString>) -> u64 {
        let text = text.into();
        let len = text.len();
        self.alloc(Object::Str { text, len })
    }

    /// A string buffer, for appending. No write barrier: the bytes of a
    /// string are not references.
    pub(crate) fn str_text_mut(&mut self, owner: u64) -> &mut CompactString {
        match self.objects.get_mut(owner as usize) {
            Some(Some(Object::Str { text, .. })) => text,
            _ => bad_handle(owner, "string buffer"),
        }
    }

    #[inline]
    pub fn array(&self, h: u64) -> &Items {
        match self.get(h) {
            Object::Array { items, .. } => items,
            _ => bad_handle(h, "array"),
        }
    }

    #[inline]
    pub fn array_mut(&mut self, h: u64) -> &mut Items {
        match self.get_mut(h) {
            Object::Array { items, .. } => items,
            _ => bad_handle(h, "array"),
        }
    }

    /// Field `f` of the record `h`. The verifier proved `f` is below the
    /// record's field count; an index past it but inside the inline slots
    /// reads a zero slot (memory-safe even under a verifier bug), past
    /// those it panics as any slice index does.
    #[inline(always)]
    pub fn field(&self, h: u64, f: usize) -> u64 {
        match self.get(h) {
            Object::Record { fields, .. } => fields[f],
            Object::BigRecord { fields, .. } => fields[f],
            _ => bad_handle(h, "record"),
        }
    }

    /// Sets field `f` of the record `h` (see [`Heap::field`]).
    #[inline(always)]
    pub fn set_field(&mut self, h: u64, f: usize, v: u64) {
        match self.get_mut(h) {
            Object::Record { fields, .. } => fields[f] = v,
            Object::BigRecord { fields, .. } => fields[f] = v,
            _ => bad_handle(h, "record"),
        }
    }

    /// Payload field `f` of the enum value `h`, which must be of variant
    /// `variant`; its actual variant if not (the code a compiler emits
    /// tests the tag first; a hand-made module that does not gets an
    /// error, not a wrong field).
    #[inline(always)]
    pub fn variant_field(&self, h: u64, variant: u32, f: usize) -> Result<u64, u32> {
        let (tag, v) = match self.get(h) {
            Object::Record { tag, fields, .. } => (*tag, fields.get(f)),
            Object::BigRecord { tag, fields, .. } => (*tag, fields.get(f)),
            _ => bad_handle(h, "record"),
        };
        match v {
            Some(&v) if tag == variant => Ok(v),
            _ => Err(tag),
        }
    }

    #[inline]
    pub fn fields(&self, h: u64) -> &[u64] {
        match self.get(h).as_record() {
            Some((_, _, fields)) => fields,
            None => bad_handle(h, "record"),
        }
    }

    #[inline]
    pub fn tag(&self, h: u64) -> u32 {
        match self.get(h) {
            Object::Record { tag, .. } | Object::BigRecord { tag, .. } => *tag,
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

    /// Accounted bytes [`Heap::array_push`] on array `h` adds.
    #[inline]
    pub fn array_push_need(&self, h: u64) -> usize {
        let items = self.array(h);
        if items.len() < items.capacity() {
            0
        } else {
            items.width() * (grown_capacity(items.capacity()) - items.capacity())
        }
    }

    /// Accounted bytes [`Heap::array_extend`] on array `h` with `n` more
    /// elements adds.
    pub fn array_extend_need(&self, h: u64, n: usize) -> usize {
        let items = self.array(h);
        let cap = extended_capacity(items.capacity(), items.len() + n);
        items.width() * (cap - items.capacity())
    }

    /// Makes room in array `h` for `n` more elements, doubling its
    /// capacity as often as that needs. Fails only if the host cannot
    /// allocate the capacity.
    fn array_room(&mut self, h: u64, n: usize) -> Result<(), Stop> {
        let items = self.array_mut(h);
        let (cap, len) = (items.capacity(), items.len());
        let new_cap = extended_capacity(cap, len + n);
        if new_cap > cap {
            items.try_reserve_exact(new_cap - len)?;
            let width = items.width();
            self.grow(width * (new_cap - cap));
        }
        Ok(())
    }

    /// Appends `values` to array `h`, doubling its capacity as often as
    /// that needs. Fails only if the host cannot allocate the capacity.
    pub fn array_extend(&mut self, h: u64, values: &[u64]) -> Result<(), Stop> {
        self.array_room(h, values.len())?;
        self.array_mut(h).extend_words(values);
        Ok(())
    }

    /// Appends the elements of array `b` to array `a` (as
    /// [`Heap::array_extend`] does); `a` may be `b`.
    pub fn array_append(&mut self, a: u64, b: u64) -> Result<(), Stop> {
        let more = self.array(b).clone();
        self.array_room(a, more.len())?;
        self.array_mut(a).extend_from(&more);
        Ok(())
    }

    /// Appends to array `h`, growing its capacity (and its accounted size)
    /// by doubling when full. Fails only if the host cannot allocate the
    /// capacity.
    #[inline]
    pub fn array_push(&mut self, h: u64, v: u64) -> Result<(), Stop> {
        let items = self.array(h);
        if items.len() == items.capacity() {
            self.array_room(h, 1)?;
        }
        self.array_mut(h).push(v);
        Ok(())
    }

    /// Removes the last element of array `h`, and halves its capacity when
    /// it is three quarters empty, so that memory follows the length.
    #[inline]
    pub fn array_pop(&mut self, h: u64) -> Option<u64> {
        let items = self.array_mut(h);
        let v = items.pop()?;
        let cap = items.capacity();
        if cap > 16 && items.len() * 4 <= cap {
            items.shrink_to(cap / 2);
            let new_cap = items.capacity();
            let width = items.width();
            self.shrink(width * (cap - new_cap));
        }
        Some(v)
    }
}
