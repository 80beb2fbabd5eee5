//! The boundary between a guest and its host.
//!
//! Values cross it by copy: a [`Value`] owns its data, so the host never
//! holds a reference into the guest heap, and the guest never sees a host
//! pointer. A host implements [`Host`] to serve the module's imports, which
//! it resolved to import indices before anything ran.
//!
//! Copies are resources like any other. A copy *out* (`CopyOut`) follows
//! references, so a guest value that refers to one string a million times
//! becomes a million strings on the host: its size is bounded by the heap
//! limit (counted as [`HOST_VALUE_BYTES`] per value plus string bytes) and
//! it costs fuel for every byte and element it makes. A copy *in*
//! (`guest_size`, `into_heap`) is sized before anything is allocated and
//! must fit under the heap limit like any allocation.

use crate::heap::{str_size, Heap, Items, Key, KeyRef, Object, MAP_HEADER_BYTES, OBJECT_BYTES};
use crate::limits::{work_units, Stop, Watch, CHUNK_BYTES, CHUNK_ELEMENTS};
use crate::map::{ENTRY_BYTES, INDEX_BYTES, STR_KEY_BYTES};
use crate::module::{Module, TypeDesc, TypeId};
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Unit,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
    /// Entries in the map's order.
    Map(Vec<(Value, Value)>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Unit => "unit",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Str(_) => "str",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unit => write!(f, "()"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{}", crate::text::float_to_string(*x)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Array(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(entries) => {
                write!(f, "{{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// Serves a module's host imports.
pub trait Host: Send {
    /// Calls import `import` (an index into the module's import table) with
    /// arguments already converted to the import's parameter types. An `Err`
    /// becomes a guest runtime error with the guest's stack trace.
    fn call(&mut self, import: u32, args: Vec<Value>) -> Result<Value, String>;
}

/// A host that grants nothing: any import call is an error.
pub struct NoHost;

impl Host for NoHost {
    fn call(&mut self, import: u32, _args: Vec<Value>) -> Result<Value, String> {
        Err(format!("import {import} is not provided by this host"))
    }
}

/// Bytes one host [`Value`] counts for in a copy out, besides its string
/// bytes (the size of a `Value` on 64-bit hosts).
pub const HOST_VALUE_BYTES: usize = 32;

/// Why a copy out of the guest stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CopyError {
    /// It would take more than the heap limit.
    TooLarge,
    /// It would use more fuel than is left.
    OutOfFuel,
    Stopped(Stop),
}

/// One copy of a guest value out to the host, with what it has made so
/// far.
pub(crate) struct CopyOut<'w> {
    limit: usize,
    fuel_left: u64,
    bytes: usize,
    elements: usize,
    next_check: usize,
    watch: &'w Watch,
}

impl<'w> CopyOut<'w> {
    /// A copy that may make `limit` bytes of host values and use
    /// `fuel_left` units.
    pub fn new(limit: usize, fuel_left: u64, watch: &'w Watch) -> CopyOut<'w> {
        CopyOut {
            limit,
            fuel_left,
            bytes: 0,
            elements: 0,
            next_check: CHUNK_BYTES,
            watch,
        }
    }

    /// The fuel units the copy used.
    pub fn units(&self) -> u64 {
        work_units(self.bytes, self.elements)
    }

    /// Counts `values` more values holding `text` string bytes, before
    /// they are made.
    fn account(&mut self, values: usize, text: usize) -> Result<(), CopyError> {
        self.bytes = self
            .bytes
            .saturating_add(HOST_VALUE_BYTES.saturating_mul(values))
            .saturating_add(text);
        self.elements = self.elements.saturating_add(values);
        if self.bytes > self.limit {
            return Err(CopyError::TooLarge);
        }
        if self.units() > self.fuel_left {
            return Err(CopyError::OutOfFuel);
        }
        if self.bytes >= self.next_check {
            self.next_check = self.bytes.saturating_add(CHUNK_BYTES);
            self.watch.check().map_err(CopyError::Stopped)?;
        }
        Ok(())
    }

    /// Copies guest value `v` of type `ty` out of `heap`.
    pub fn out(&mut self, m: &Module, heap: &Heap, ty: TypeId, v: u64) -> Result<Value, CopyError> {
        Ok(match m.ty(ty) {
            TypeDesc::Int => Value::Int(v as i64),
            TypeDesc::Float => Value::Float(f64::from_bits(v)),
            TypeDesc::Bool => Value::Bool(v != 0),
            TypeDesc::Unit => Value::Unit,
            TypeDesc::Str => {
                let s = heap.str(v);
                self.account(1, s.len())?;
                Value::Str(s.to_string())
            }
            TypeDesc::Array(e) => {
                let items = heap.array(v);
                self.account(1, 0)?;
                let mut out = Vec::new();
                for (i, x) in items.iter().enumerate() {
                    if i % CHUNK_ELEMENTS == 0 {
                        // Reserve as the copy is paid for, never ahead.
                        out.reserve_exact(CHUNK_ELEMENTS.min(items.len() - i));
                    }
                    self.account(1, 0)?;
                    out.push(self.out(m, heap, *e, x)?);
                }
                Value::Array(out)
            }
            TypeDesc::Map(kt, vt) => {
                let bool_keys = *kt == crate::module::BOOL;
                let map = heap.map(v);
                self.account(1, 0)?;
                let mut out = Vec::new();
                for (i, (k, x)) in map.iter().enumerate() {
                    if i % CHUNK_ELEMENTS == 0 {
                        out.reserve_exact(CHUNK_ELEMENTS.min(map.len() - i));
                    }
                    let key = match k {
                        // A bool map keeps its keys as bits.
                        KeyRef::Int(i) if bool_keys => Value::Bool(i != 0),
                        KeyRef::Int(i) => Value::Int(i),
                        KeyRef::Bool(b) => Value::Bool(b),
                        KeyRef::Str(s) => {
                            self.account(0, s.len())?;
                            Value::Str(s.to_string())
                        }
                    };
                    self.account(2, 0)?;
                    out.push((key, self.out(m, heap, *vt, x)?));
                }
                Value::Map(out)
            }
            // Not a host type: the linker never lets such a value cross.
            _ => Value::Str(format!("<{}>", m.type_name(ty))),
        })
    }
}

/// Checks that host value `v` has module type `ty` (a host type).
pub(crate) fn check_type(m: &Module, ty: TypeId, v: &Value) -> Result<(), String> {
    let ok = match (m.ty(ty), v) {
        (TypeDesc::Int, Value::Int(_))
        | (TypeDesc::Float, Value::Float(_))
        | (TypeDesc::Bool, Value::Bool(_))
        | (TypeDesc::Str, Value::Str(_)) => true,
        (TypeDesc::Array(e), Value::Array(items)) => {
            for x in items {
                check_type(m, *e, x)?;
            }
            true
        }
        (TypeDesc::Map(k, vt), Value::Map(entries)) => {
            for (a, b) in entries {
                check_type(m, *k, a)?;
                check_type(m, *vt, b)?;
            }
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {}, got {}", m.type_name(ty), v.kind()))
    }
}

/// An upper bound of the accounted bytes [`into_heap`] allocates for host
/// value `v` of type `ty` (checked by [`check_type`]), and the fuel units
/// of copying it in.
pub(crate) fn guest_size(m: &Module, ty: TypeId, v: &Value) -> (usize, u64) {
    let mut bytes = 0usize;
    let mut elements = 0usize;
    let mut text = 0usize;
    size_in(m, ty, v, &mut bytes, &mut elements, &mut text);
    (bytes, work_units(text, elements))
}

fn size_in(
    m: &Module,
    ty: TypeId,
    v: &Value,
    bytes: &mut usize,
    elements: &mut usize,
    text: &mut usize,
) {
    let add = |bytes: &mut usize, n: usize| *bytes = bytes.saturating_add(n);
    match (m.ty(ty), v) {
        (TypeDesc::Str, Value::Str(s)) => {
            add(bytes, str_size(s.len()));
            *text = text.saturating_add(s.len());
        }
        (TypeDesc::Array(e), Value::Array(items)) => {
            let width = crate::heap::element_bytes(*e == crate::module::BOOL);
            add(
                bytes,
                OBJECT_BYTES.saturating_add(items.len().saturating_mul(width)),
            );
            *elements = elements.saturating_add(items.len());
            for x in items {
                size_in(m, *e, x, bytes, elements, text);
            }
        }
        (TypeDesc::Map(_, vt), Value::Map(entries)) => {
            // The tables of a map built by inserting `n` keys: capacity at
            // most twice `n`, and an index of either kind.
            let cap = entries.len().saturating_mul(2).max(4);
            let index = cap.saturating_mul(4).saturating_add(64);
            add(
                bytes,
                OBJECT_BYTES
                    .saturating_add(MAP_HEADER_BYTES)
                    .saturating_add(ENTRY_BYTES.saturating_mul(cap))
                    .saturating_add(INDEX_BYTES.saturating_mul(index)),
            );
            *elements = elements.saturating_add(entries.len());
            for (k, x) in entries {
                if let Value::Str(s) = k {
                    add(bytes, STR_KEY_BYTES.saturating_add(s.len()));
                    *text = text.saturating_add(s.len());
                }
                size_in(m, *vt, x, bytes, elements, text);
            }
        }
        _ => {}
    }
}

/// Copies host value `v` (of type `ty`, checked by [`check_type`]) into
/// `heap`. Never collects: the caller made room for [`guest_size`] bytes.
pub(crate) fn into_heap(m: &Module, heap: &mut Heap, ty: TypeId, v: &Value) -> u64 {
    match (m.ty(ty), v) {
        (TypeDesc::Int, Value::Int(i)) => *i as u64,
        (TypeDesc::Float, Value::Float(x)) => x.to_bits(),
        (TypeDesc::Bool, Value::Bool(b)) => *b as u64,
        (TypeDesc::Str, Value::Str(s)) => heap.alloc_str(s),
        (TypeDesc::Array(e), Value::Array(items)) => {
            let e = *e;
            let slots: Vec<u64> = items.iter().map(|x| into_heap(m, heap, e, x)).collect();
            heap.alloc(Object::Array {
                refs: m.is_ref(e),
                items: Items::of(e == crate::module::BOOL, slots),
            })
        }
        (TypeDesc::Map(k, vt), Value::Map(entries)) => {
            let (k, vt) = (*k, *vt);
            let mut obj = heap.new_map(k, m.is_ref(vt));
            for (kv, x) in entries {
                let key = match kv {
                    Value::Int(i) => Key::Int(*i),
                    Value::Bool(b) => Key::Bool(*b),
                    Value::Str(s) => Key::Str(s.as_str().into()),
                    _ => unreachable_checked(),
                };
                let slot = into_heap(m, heap, vt, x);
                if let Object::Map(mo) = &mut obj {
                    mo.entries.insert(key, slot);
                }
            }
            heap.alloc(obj)
        }
        _ => unreachable_checked(),
    }
}

#[cold]
fn unreachable_checked() -> ! {
    panic!("a host value reached the heap without its type checked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_value_is_no_larger_than_it_is_counted() {
        assert!(std::mem::size_of::<Value>() <= HOST_VALUE_BYTES);
    }
}
