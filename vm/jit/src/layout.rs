//! Where compiled code finds what it reads of the heap inline (see
//! `access`): the object table and flags of a `Heap`, and the fields of
//! arrays, records and cells.
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
use tern_vm::heap::{layout, Heap, Object, INLINE_FIELDS};

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
    /// In an array object: its items' data pointer and length.
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
}

// The variants of `Object` as the Rust reference lays out a `repr(u8)`
// enum's: a `repr(C)` struct of the discriminant and the fields, in order.
#[repr(C)]
struct ArrayMirror {
    tag: u8,
    refs: bool,
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
    // (`Vec<u64>`, `Box<[u64]>`) are pointers and integers: every byte
    // is initialized.
    Some(unsafe { std::mem::transmute_copy::<T, [usize; N]>(v) })
}

/// The byte offsets of the data pointer and the length in a
/// three-word `Vec<u64>` (pointer, capacity, length in some order).
fn vec_words() -> Option<(usize, usize)> {
    let mut v: Vec<u64> = Vec::with_capacity(7);
    v.extend([1, 2, 3]);
    let w: [usize; 3] = words(&v)?;
    let ptr = w.iter().position(|&x| x == v.as_ptr() as usize)?;
    let len = w.iter().position(|&x| x == 3)?;
    Some((8 * ptr, 8 * len))
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
        layout::CELL,
    ]
    .contains(&free)
    {
        return None;
    }
    let (vec_ptr, vec_len) = vec_words()?;
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
        items_ptr: off(offset_of!(ArrayMirror, items) + vec_ptr)?,
        items_len: off(offset_of!(ArrayMirror, items) + vec_len)?,
        fields: off(offset_of!(RecordMirror, fields))?,
        variant: off(variant)?,
        big_ptr: off(offset_of!(BigRecordMirror, fields) + box_ptr)?,
        big_len: off(offset_of!(BigRecordMirror, fields) + box_len)?,
        cell_value: off(offset_of!(CellMirror, value))?,
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
        || l.variant % 4 != 0
        || l.stride % 8 != 0
        || l.stride > 256
    {
        return None;
    }
    check(&l).then_some(l)
}

/// Whether objects of a live heap are where `l` says.
fn check(l: &HeapLayout) -> bool {
    let mut heap = Heap::new();
    let items = vec![11u64, 22, 33];
    let array = heap.alloc(Object::Array {
        refs: false,
        items: items.clone(),
    });
    let small = heap.alloc_record(5, 6, &[7, 8]);
    let big = heap.alloc_record(9, 10, &[1, 2, 3, 4, 5]);
    let cell = heap.alloc(Object::Cell {
        is_ref: false,
        value: 99,
    });
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
            || word(base, l.table_len) != 4
            || word(base, l.flags_ptr) != layout::flags_address(&heap)
            || entry(1) as usize - table != l.stride as usize
        {
            return false;
        }
        let a = entry(array);
        let r = entry(small);
        let b = entry(big);
        let c = entry(cell);
        let items_at = word(a, l.items_ptr) as *const u64;
        *a == layout::ARRAY
            && word(a, l.items_len) == 3
            && items_at == heap.array(array).as_ptr()
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
    }
}
