//! Where compiled code finds what it reads of the heap inline (see
//! `access`): the object table and flags of a `Heap`, and the fields of
//! arrays, records and cells; and what it writes to allocate a record
//! itself (see `alloc`): the free and young lists, the byte counts, and a
//! record's header.
//!
//! Part of it is ours: `Object` is `repr(u8)`, so each variant is laid out
//! as the `repr(C)` struct of its discriminant and fields, which the
//! mirror structs below restate (and `tern_vm::heap::layout` names the
//! discriminants and the `Heap` fields). Part of it is Rust's and not
//! promised: where a `Vec` and a `Box<[u64]>` keep their pointer and
//! length, and how `Option<Object>` marks a free entry. Those are found
//! out once per process, and everything is then checked against objects
//! of a live heap, read where this layout says they are. If anything
//! disagrees (a future Rust laying these out otherwise), [`heap`] answers
//! `None` and compiled code calls the heap's own methods instead: slower,
//! never wrong.

use std::mem::{offset_of, size_of};
use std::sync::OnceLock;
use tern_vm::heap::{layout, Heap, Items, MapObject, Object, INLINE_FIELDS};

/// Byte offsets compiled code uses; all small, word offsets multiples
/// of 8 (checked: every backend encodes them directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeapLayout {
    /// In a `Heap`: the object table's data pointer and length.
    pub table_ptr: i32,
    pub table_len: i32,
    /// In a `Heap`: the flags' data pointer.
    pub flags_ptr: i32,
    /// Bytes per table entry (`Option<Object>`).
    pub stride: u32,
    /// In an array object: its items' kind byte (`layout::ITEMS_WORDS`,
    /// `ITEMS_BYTES`), data pointer and length (the same for both kinds).
    pub items_kind: i32,
    pub items_ptr: i32,
    pub items_len: i32,
    /// In a record object: its first inline field.
    pub fields: i32,
    /// In a record or big record object: its variant (a `u32`).
    pub variant: i32,
    /// In a big record object: its fields' data pointer and length.
    pub big_ptr: i32,
    pub big_len: i32,
    /// In a cell object: its value.
    pub cell_value: i32,
    /// In a closure object: its function (a `u32`).
    pub closure_func: i32,
    /// In a closure object of at most [`INLINE_CAPTURES`] captures: the
    /// first of them (where Rust's `SmallVec` keeps them inline: found
    /// out, not promised).
    pub captures: Option<i32>,
    /// Where allocation writes, if it too is as this build says.
    pub alloc: Option<AllocLayout>,
    /// Where a map's dense index and values are, if as this build says.
    pub map: Option<MapLayout>,
}

/// Offsets of what compiled code reads of a map whose index is dense
/// (see `dense` and `tern_vm::map::layout`): in a map's table entry, the
/// pointer to its `MapObject`; in that, the index's kind byte, its slots'
/// data pointer and length, and the values' data pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MapLayout {
    pub boxed: i32,
    pub index_kind: i32,
    pub index_ptr: i32,
    pub index_len: i32,
    pub values_ptr: i32,
}

/// Closures of at most this many captures keep them in their table
/// entry (`tern_vm::heap::Fields`' inline capacity).
pub(crate) const INLINE_CAPTURES: usize = 2;

/// Offsets in a `Heap` of what allocating a record touches (see
/// `tern_vm::heap::layout`): the free and young lists (`Vec<u32>`), and
/// the counts an allocation adds to or compares with; and in an array
/// object, its items' capacity (a push that needs no more is made
/// inline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AllocLayout {
    pub items_cap: i32,
    pub free_ptr: i32,
    pub free_len: i32,
    pub young_ptr: i32,
    pub young_len: i32,
    pub young_cap: i32,
    pub bytes: i32,
    pub young_bytes: i32,
    pub budget: i32,
    pub nursery_objects: i32,
    pub allocated: i32,
    pub peak: i32,
}

/// The first two words of a record's table entry (the fields follow, at
/// `HeapLayout::fields`): the discriminant, then the layout, the variant
/// and the field count, where `RecordMirror` puts them (checked).
pub(crate) fn record_header(layout: u32, variant: u32, len: u8) -> [u64; 2] {
    [
        layout::RECORD as u64 | (layout as u64) << 32,
        variant as u64 | (len as u64) << 32,
    ]
}

// The variants of `Object` as the Rust reference lays out a `repr(u8)`
// enum's: a `repr(C)` struct of the discriminant and the fields, in order.
#[repr(C)]
struct ArrayMirror {
    tag: u8,
    refs: bool,
    items: ItemsMirror,
}

/// `Items`, a `repr(u8)` enum of one-field variants: the kind byte,
/// then the `Vec` (a `Vec<u64>` or a `Vec<u8>`, which `probe` checks are
/// laid out alike).
#[repr(C)]
struct ItemsMirror {
    kind: u8,
    items: Vec<u64>,
}

#[repr(C)]
struct RecordMirror {
    tag: u8,
    layout: u32,
    variant: u32,
    len: u8,
    fields: [u64; INLINE_FIELDS],
}

#[repr(C)]
struct BigRecordMirror {
    tag: u8,
    layout: u32,
    variant: u32,
    fields: Box<[u64]>,
}

#[repr(C)]
struct ClosureMirror {
    tag: u8,
    func: u32,
    captures: tern_vm::heap::Fields,
}

#[repr(C)]
struct MapMirror {
    tag: u8,
    map: Box<MapObject>,
}

/// A map's index, a `repr(u8)` enum of one-field variants (see
/// `tern_vm::map::layout`).
#[repr(C)]
struct IndexMirror {
    kind: u8,
    slots: Vec<u32>,
}

#[repr(C)]
struct CellMirror {
    tag: u8,
    is_ref: bool,
    value: u64,
}

/// The layout, if this build of Rust lays things out as it says.
pub(crate) fn heap() -> Option<&'static HeapLayout> {
    static LAYOUT: OnceLock<Option<HeapLayout>> = OnceLock::new();
    LAYOUT.get_or_init(probe).as_ref()
}

/// The words of `v`, a value of `N` words.
fn words<T, const N: usize>(v: &T) -> Option<[usize; N]> {
    if size_of::<T>() != N * size_of::<usize>() {
        return None;
    }
    // SAFETY: `T` is `N` words long (checked), and the types read here
    // (`Vec<u64>`, `Vec<u32>`, `Box<[u64]>`) are pointers and integers:
    // every byte is initialized.
    Some(unsafe { std::mem::transmute_copy::<T, [usize; N]>(v) })
}

/// The byte offsets of the data pointer, the length and the capacity in
/// a three-word `Vec<T>` (in some order).
fn vec_words<T: From<u8>>() -> Option<(usize, usize, usize)> {
    let mut v: Vec<T> = Vec::with_capacity(7);
    v.extend([1, 2, 3].map(T::from));
    if v.capacity() != 7 {
        return None;
    }
    let w: [usize; 3] = words(&v)?;
    let ptr = w.iter().position(|&x| x == v.as_ptr() as usize)?;
    let len = w.iter().position(|&x| x == 3)?;
    let cap = w.iter().position(|&x| x == 7)?;
    Some((8 * ptr, 8 * len, 8 * cap))
}

/// The same for a two-word `Box<[u64]>`.
fn box_words() -> Option<(usize, usize)> {
    let b: Box<[u64]> = vec![1, 2, 3, 4, 5].into_boxed_slice();
    let w: [usize; 2] = words(&b)?;
    let ptr = w.iter().position(|&x| x == b.as_ptr() as usize)?;
    let len = w.iter().position(|&x| x == 5)?;
    Some((8 * ptr, 8 * len))
}

fn probe() -> Option<HeapLayout> {
    // A free entry must not look like an object: `Option` keeps it in
    // the discriminant byte (a value no variant has), not in a tag of
    // its own before the object.
    if size_of::<Option<Object>>() != size_of::<Object>() {
        return None;
    }
    let none: Option<Object> = None;
    // SAFETY: the first byte of an `Option<Object>` the size of an
    // `Object` is the discriminant byte, which `None` sets.
    let free = unsafe { *std::ptr::from_ref(&none).cast::<u8>() };
    if [
        layout::ARRAY,
        layout::RECORD,
        layout::BIG_RECORD,
        layout::CLOSURE,
        layout::CELL,
    ]
    .contains(&free)
    {
        return None;
    }
    let (vec_ptr, vec_len, vec_cap) = vec_words::<u64>()?;
    if vec_words::<u8>()? != (vec_ptr, vec_len, vec_cap) {
        return None;
    }
    let items = offset_of!(ArrayMirror, items) + offset_of!(ItemsMirror, items);
    let (box_ptr, box_len) = box_words()?;
    let variant = offset_of!(RecordMirror, variant);
    if variant != offset_of!(BigRecordMirror, variant) {
        return None;
    }
    let off = |x: usize| i32::try_from(x).ok();
    let l = HeapLayout {
        table_ptr: off(layout::OBJECTS + vec_ptr)?,
        table_len: off(layout::OBJECTS + vec_len)?,
        flags_ptr: off(layout::FLAGS + vec_ptr)?,
        stride: u32::try_from(size_of::<Option<Object>>()).ok()?,
        items_kind: off(offset_of!(ArrayMirror, items) + offset_of!(ItemsMirror, kind))?,
        items_ptr: off(items + vec_ptr)?,
        items_len: off(items + vec_len)?,
        fields: off(offset_of!(RecordMirror, fields))?,
        variant: off(variant)?,
        big_ptr: off(offset_of!(BigRecordMirror, fields) + box_ptr)?,
        big_len: off(offset_of!(BigRecordMirror, fields) + box_len)?,
        cell_value: off(offset_of!(CellMirror, value))?,
        closure_func: off(offset_of!(ClosureMirror, func))?,
        captures: None,
        alloc: None,
        map: None,
    };
    let word_offsets = [
        l.table_ptr,
        l.table_len,
        l.flags_ptr,
        l.items_ptr,
        l.items_len,
        l.fields,
        l.big_ptr,
        l.big_len,
        l.cell_value,
    ];
    let small = |x: i32| (0..2048).contains(&x);
    if !word_offsets.iter().all(|&x| small(x) && x % 8 == 0)
        || !small(l.variant)
        || !small(l.items_kind)
        || l.variant % 4 != 0
        || !small(l.closure_func)
        || l.closure_func % 4 != 0
        || l.stride % 8 != 0
        || l.stride > 256
    {
        return None;
    }
    if !check(&l) {
        return None;
    }
    // Reading works without allocating: a layout allocation disagrees
    // with leaves allocation to the heap's methods. Nor without reading
    // captures inline.
    Some(HeapLayout {
        alloc: alloc_probe(&l),
        captures: captures_probe(&l),
        map: map_probe(&l),
        ..l
    })
}

fn map_probe(l: &HeapLayout) -> Option<MapLayout> {
    use tern_vm::map::layout as map;
    let (ptr, len, _) = vec_words::<u32>()?;
    let (values_ptr, _, _) = vec_words::<u64>()?;
    let entries = offset_of!(MapObject, entries);
    let index = entries + map::INDEX;
    let slots = index + offset_of!(IndexMirror, slots);
    let off = |x: usize| i32::try_from(x).ok().filter(|x| x % 8 == 0 && *x < 2048);
    let m = MapLayout {
        boxed: off(offset_of!(MapMirror, map))?,
        index_kind: i32::try_from(index + offset_of!(IndexMirror, kind))
            .ok()
            .filter(|x| *x < 2048)?,
        index_ptr: off(slots + ptr)?,
        index_len: off(slots + len)?,
        values_ptr: off(entries + map::VALUES + values_ptr)?,
    };
    check_map(l, &m).then_some(m)
}

/// Whether maps of a live heap are where `m` says: an int map with a
/// dense index read as `dense` reads it (every key of its index, present
/// or not), a sparse int map's index and a string map's not dense.
fn check_map(l: &HeapLayout, m: &MapLayout) -> bool {
    use tern_vm::map::{layout as map, Key};
    use tern_vm::module::{INT, STR};
    let mut heap = Heap::new();
    let make = |heap: &mut Heap, ty: u32, keys: &[(Key, u64)]| {
        let o = heap.new_map(ty, false);
        let h = heap.alloc(o);
        for (k, v) in keys {
            heap.map_mut(h).insert(k.clone(), *v);
        }
        h
    };
    let pairs = [(0, 100), (2, 102), (5, 105), (3, 103)];
    let dense = make(&mut heap, INT, &pairs.map(|(k, v)| (Key::Int(k), v as u64)));
    let sparse = make(&mut heap, INT, &[(Key::Int(1 << 40), 7)]);
    let text = make(&mut heap, STR, &[(Key::Str("k".into()), 8)]);
    let said = |h: u64| map::index(heap.map(h));
    // SAFETY: the entries are maps' (just made), whose first word after
    // the discriminant is the `Box<MapObject>` (`MapMirror`); the other
    // offsets are of the kind byte and words inside that `MapObject`
    // (found above with `offset_of!`), all initialized; the slots and
    // values read are inside their `Vec`s (the index's length read
    // first, each slot's entry number checked against what `find` says).
    unsafe {
        let word = |p: *const u8, off: i32| p.offset(off as isize).cast::<usize>().read();
        let object = |h: u64| {
            let entry = layout::entry_address(&heap, h) as *const u8;
            (*entry, word(entry, m.boxed) as *const u8)
        };
        let read = |h: u64| {
            let (tag, o) = object(h);
            let kind = *o.offset(m.index_kind as isize);
            let (slots, n, values) = (
                word(o, m.index_ptr),
                word(o, m.index_len),
                word(o, m.values_ptr),
            );
            (tag, kind, slots, n, values)
        };
        let (tag, kind, slots, n, values) = read(dense);
        if tag != layout::MAP
            || kind != map::DENSE
            || said(dense) != (slots, n, true, values)
            || n < 6
        {
            return false;
        }
        let find = |k: usize| {
            let e = *(slots as *const u32).add(k);
            (e != map::EMPTY).then(|| *(values as *const u64).add(e as usize))
        };
        let want = |k: usize| pairs.iter().find(|p| p.0 as usize == k).map(|p| p.1 as u64);
        if !(0..n).all(|k| find(k) == want(k)) {
            return false;
        }
        [sparse, text].iter().all(|&h| {
            let (tag, kind, slots, n, values) = read(h);
            tag == layout::MAP && kind == map::HASHED && said(h) == (slots, n, false, values)
        }) && l.stride as usize >= offset_of!(MapMirror, map) + 8
    }
}

/// Where a closure of at most [`INLINE_CAPTURES`] captures keeps them:
/// the offset in its table entry where both a closure of one and one of
/// two have their first (found from the address `SmallVec` gives, which
/// for them is inside the entry), checked by reading them there.
fn captures_probe(l: &HeapLayout) -> Option<i32> {
    const A: u64 = 0x5eed_0001_cafe_f00d;
    const B: u64 = 0x5eed_0002_cafe_f00d;
    let mut heap = Heap::new();
    let one = heap.alloc_closure(0x7777, &[A]);
    let two = heap.alloc_closure(0x7777, &[A, B]);
    let at = |h: u64| {
        (heap.closure(h).1.as_ptr() as usize).wrapping_sub(layout::entry_address(&heap, h))
    };
    let first = at(one);
    let end = first.checked_add(8 * INLINE_CAPTURES)?;
    if INLINE_CAPTURES != 2 || at(two) != first || first % 8 != 0 || end > l.stride as usize {
        return None;
    }
    let entry = layout::entry_address(&heap, two) as *const u8;
    // SAFETY: `first` and the word after it are inside the closure's
    // table entry (checked above), where its two captures are (their
    // address says so), initialized.
    let (a, b) = unsafe {
        let p = entry.add(first).cast::<u64>();
        (p.read(), p.add(1).read())
    };
    ((a, b) == (A, B)).then_some(first as i32)
}

fn alloc_probe(l: &HeapLayout) -> Option<AllocLayout> {
    let header = [
        offset_of!(RecordMirror, layout),
        offset_of!(RecordMirror, variant),
        offset_of!(RecordMirror, len),
        offset_of!(RecordMirror, fields),
    ];
    if header != [4, 8, 12, 16] || l.fields != 16 {
        return None;
    }
    let (ptr, len, cap) = vec_words::<u32>()?;
    let (_, _, items_cap) = vec_words::<u64>()?;
    let off = |x: usize| i32::try_from(x).ok().filter(|x| x % 8 == 0 && *x < 2048);
    let a = AllocLayout {
        items_cap: off(offset_of!(ArrayMirror, items)
            + offset_of!(ItemsMirror, items)
            + items_cap)?,
        free_ptr: off(layout::FREE + ptr)?,
        free_len: off(layout::FREE + len)?,
        young_ptr: off(layout::YOUNG + ptr)?,
        young_len: off(layout::YOUNG + len)?,
        young_cap: off(layout::YOUNG + cap)?,
        bytes: off(layout::BYTES)?,
        young_bytes: off(layout::YOUNG_BYTES)?,
        budget: off(layout::BUDGET)?,
        nursery_objects: off(layout::NURSERY_OBJECTS)?,
        allocated: off(layout::ALLOCATED)?,
        peak: off(layout::PEAK)?,
    };
    check_alloc(l, &a).then_some(a)
}

/// Allocates a record into a live heap as compiled code would (see
/// `alloc`), and whether the heap then holds it and accounts for it as
/// its own methods would have.
fn check_alloc(l: &HeapLayout, a: &AllocLayout) -> bool {
    use tern_vm::heap::{Collection, GcInfo, OBJECT_BYTES};
    use tern_vm::limits::Watch;
    let mut heap = Heap::new();
    let mut items = Vec::with_capacity(8);
    items.extend([5u64, 6, 7]);
    let array = heap.alloc(Object::Array {
        refs: false,
        items: Items::Words(items),
    });
    let entry = layout::entry_address(&heap, array) as *const u8;
    // SAFETY: `items_cap` is the offset of a word of the array's `Vec`
    // (found above), inside its table entry.
    let cap = unsafe { entry.offset(a.items_cap as isize).cast::<usize>().read() };
    if cap != 8 || heap.array(array).capacity() != 8 {
        return false;
    }
    // Three cells, one kept (with the array): two freed, one allocated
    // again, so `bytes`,
    // `young_bytes`, the peak and the rest differ, and the record then
    // raises the peak.
    let cells: Vec<u64> = (0..3)
        .map(|v| {
            heap.alloc(Object::Cell {
                is_ref: false,
                value: v,
            })
        })
        .collect();
    let none = GcInfo {
        record_refs: Vec::new(),
        capture_refs: Vec::new(),
    };
    if heap
        .collect(&[array, cells[0]], &none, Collection::Major, &Watch::IDLE)
        .is_err()
    {
        return false;
    }
    heap.alloc(Object::Cell {
        is_ref: false,
        value: 3,
    });
    let lists = |heap: &Heap| layout::lists(heap);
    let [(free_at, free_len, _), (young_at, young_len, young_cap)] = lists(&heap);
    if free_len != 1 || young_len != 1 || young_cap < 2 {
        return false;
    }
    let size = OBJECT_BYTES + 8 * 2;
    let before = (heap.bytes, heap.stats);
    // Every word the allocation reads, read first where `a` says it is
    // and compared with what the heap says it holds.
    let found = |heap: &Heap| -> [usize; 11] {
        let base = std::ptr::from_ref(heap).cast::<u8>();
        [
            a.free_ptr,
            a.free_len,
            a.young_ptr,
            a.young_len,
            a.young_cap,
            a.bytes,
            a.young_bytes,
            a.budget,
            a.nursery_objects,
            a.allocated,
            a.peak,
        ]
        // SAFETY: each offset is of a `usize` word inside `Heap` (a
        // field's, or one of a `Vec<u32>` field's three words).
        .map(|off| unsafe { base.offset(off as isize).cast::<usize>().read() })
    };
    let [c0, c1, c2, c3, c4, c5] = layout::counts(&heap);
    let want = [
        free_at, free_len, young_at, young_len, young_cap, c0, c1, c2, c3, c4, c5,
    ];
    // Distinct counts, so that a swapped pair of offsets shows.
    let mut distinct = want[5..].to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if found(&heap) != want || distinct.len() != 6 {
        return false;
    }
    let base = std::ptr::from_mut(&mut heap).cast::<u8>();
    // SAFETY: the offsets were found above for `Vec<u32>` and `Heap`'s
    // fields (`layout`), all words inside `heap`; the free list has a
    // handle and the young list room for one more (checked), so the
    // reads and writes are inside their buffers; the table entry of a
    // free handle is `None` (nothing to drop) and `stride` bytes long.
    let h = unsafe {
        let word = |off: i32| base.offset(off as isize).cast::<usize>();
        let free_len = *word(a.free_len) - 1;
        *word(a.free_len) = free_len;
        let h = *(*word(a.free_ptr) as *const u32).add(free_len);
        let entry = (*word(l.table_ptr) as *mut u8).add(h as usize * l.stride as usize);
        let [w0, w1] = record_header(7, 2, 2);
        let fields = [w0, w1, 41, 42, 0];
        for (k, w) in fields.iter().enumerate() {
            entry.cast::<u64>().add(k).write(*w);
        }
        *(*word(l.flags_ptr) as *mut u8).add(h as usize) = 0;
        let young_len = *word(a.young_len);
        *(*word(a.young_ptr) as *mut u32).add(young_len) = h;
        *word(a.young_len) = young_len + 1;
        for c in [a.bytes, a.young_bytes, a.allocated] {
            *word(c) += size;
        }
        *word(a.peak) = (*word(a.peak)).max(*word(a.bytes));
        h as u64
    };
    let [(free_at2, free_len2, _), (young_at2, young_len2, _)] = lists(&heap);
    matches!(
        heap.get(h),
        Object::Record {
            layout: 7,
            tag: 2,
            len: 2,
            fields: [41, 42, 0],
        }
    ) && (free_at2, free_len2, young_at2, young_len2) == (free_at, 0, young_at, 2)
        && heap.bytes == before.0 + size
        && heap.stats.allocated_bytes == before.1.allocated_bytes + size as u64
        && before.1.peak_bytes < (before.0 + size) as u64
        && heap.stats.peak_bytes == (before.0 + size) as u64
        // A young record the next collection frees, as any other (the
        // array and the cell kept before are old).
        && heap.collect(&[], &record_info(), Collection::Minor, &Watch::IDLE).is_ok()
        && heap.live_objects() == 2
}

/// What the collector needs to know of the record `check_alloc` makes
/// (layout 7, variant 2, two fields that are not references).
fn record_info() -> tern_vm::heap::GcInfo {
    let mut record_refs = vec![Vec::new(); 8];
    record_refs[7] = vec![Vec::new().into_boxed_slice(); 2];
    record_refs[7].push(vec![false, false].into_boxed_slice());
    tern_vm::heap::GcInfo {
        record_refs,
        capture_refs: Vec::new(),
    }
}

/// Whether objects of a live heap are where `l` says.
fn check(l: &HeapLayout) -> bool {
    let mut heap = Heap::new();
    let array = heap.alloc(Object::Array {
        refs: false,
        items: Items::Words(vec![11u64, 22, 33]),
    });
    let flags = heap.alloc(Object::Array {
        refs: false,
        items: Items::Bytes(vec![1, 0, 1, 1]),
    });
    let small = heap.alloc_record(5, 6, &[7, 8]);
    let big = heap.alloc_record(9, 10, &[1, 2, 3, 4, 5]);
    let cell = heap.alloc(Object::Cell {
        is_ref: false,
        value: 99,
    });
    let closure = heap.alloc_closure(77, &[1, 2]);
    let base = std::ptr::from_ref(&heap).cast::<u8>();
    // SAFETY: the offsets are of words inside `heap` (the object table's
    // and flags' `Vec`s, found above) and inside its table entries (at
    // most `stride` bytes, word-aligned), all initialized: the
    // discriminant byte and the fields of the variant that is there.
    unsafe {
        let word = |p: *const u8, off: i32| p.offset(off as isize).cast::<usize>().read();
        let u32_at = |p: *const u8, off: i32| p.offset(off as isize).cast::<u32>().read();
        let entry = |h: u64| layout::entry_address(&heap, h) as *const u8;
        let table = word(base, l.table_ptr);
        if table != layout::entry_address(&heap, 0)
            || word(base, l.table_len) != 6
            || word(base, l.flags_ptr) != layout::flags_address(&heap)
            || entry(1) as usize - table != l.stride as usize
        {
            return false;
        }
        let a = entry(array);
        let r = entry(small);
        let b = entry(big);
        let c = entry(cell);
        let f = entry(closure);
        let bs = entry(flags);
        let data = |h: u64| match heap.array(h) {
            Items::Words(v) => v.as_ptr() as usize,
            Items::Bytes(v) => v.as_ptr() as usize,
        };
        *a == layout::ARRAY
            && *a.offset(l.items_kind as isize) == layout::ITEMS_WORDS
            && word(a, l.items_len) == 3
            && word(a, l.items_ptr) == data(array)
            && *bs == layout::ARRAY
            && *bs.offset(l.items_kind as isize) == layout::ITEMS_BYTES
            && word(bs, l.items_len) == 4
            && word(bs, l.items_ptr) == data(flags)
            && *r == layout::RECORD
            && u32_at(r, l.variant) == 6
            && word(r, l.fields) == 7
            && word(r, l.fields + 8) == 8
            && *b == layout::BIG_RECORD
            && u32_at(b, l.variant) == 10
            && word(b, l.big_len) == 5
            && word(b, l.big_ptr) as *const u64 == heap.fields(big).as_ptr()
            && *c == layout::CELL
            && word(c, l.cell_value) == 99
            && *f == layout::CLOSURE
            && u32_at(f, l.closure_func) == 77
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_build_lays_the_heap_out_as_the_jit_reads_it() {
        // Not a promise of Rust's, but true of every build so far: if it
        // stops holding, compiled code falls back to calls (correct, and
        // slower), and this test says so.
        let l = super::heap().expect("the heap layout is readable");
        assert_eq!(l.stride, 40);
        assert!(l.alloc.is_some(), "compiled code allocates records itself");
        assert!(l.captures.is_some(), "compiled code reads captures itself");
        assert!(l.map.is_some(), "compiled code reads dense maps itself");
    }
}
