//! Every value as text, and equality by value: what the `text ty` and
//! `eq ty` instructions compute, by walking a value with its type.
//!
//! Text: ints, floats and bools as `str` prints them; a string as itself
//! at the top and quoted, with escapes, inside another value (`["a",
//! "b"]`); arrays `[1, 2]`; maps `{"k": 1}` in their order; structs
//! `Point { x: 1.0, y: 2.0 }`; enum values `Circle(1.0)` and `Empty`;
//! closures `<fn>`. Past [`MAX_DEPTH`] levels (a value that contains
//! itself), a part prints as `...`.
//!
//! Equality: by value for strings, arrays (same length, equal elements),
//! maps (same keys with equal values, in any order) and enum values (same
//! variant, equal payloads); by identity for structs and closures
//! (mutable objects, which may refer to themselves); floats as `==` has
//! them (`NaN` is not equal to itself). Comparing values nested deeper than
//! [`MAX_DEPTH`] is an error.
//!
//! The walk counts the elements it visits and the bytes it writes, looks
//! at the watch every `CHECK_EVERY` elements, stops when the work would
//! pass the fuel left, and text stops when it would pass the heap: no
//! value, however shared or nested, buys more than the budgets allow.

use crate::heap::{Heap, KeyRef};
use crate::limits::{work_units, Stop, Watch, CHUNK_BYTES};
use crate::module::{Layout, Module, TypeDesc, TypeId};
use std::fmt::Write;

/// Levels of nesting the walk follows.
pub const MAX_DEPTH: usize = 100;

const CHECK_EVERY: usize = 1024;

/// Why a walk stopped before its end.
#[derive(Debug)]
pub enum Halt {
    Stop(Stop),
    /// The work would pass the fuel left.
    Fuel,
    /// The text would pass this many bytes.
    TooLarge(usize),
    /// Equality of values nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

pub struct Walk<'a> {
    heap: &'a Heap,
    module: &'a Module,
    watch: &'a Watch,
    /// Elements visited and bytes read or written so far.
    pub elements: usize,
    pub bytes: usize,
    max_units: u64,
    max_bytes: usize,
    next_check: usize,
    next_byte_check: usize,
}

impl<'a> Walk<'a> {
    /// A walk that may do `max_units` of work (see `limits::work_units`)
    /// and write text of at most `max_bytes`.
    pub fn new(
        heap: &'a Heap,
        module: &'a Module,
        watch: &'a Watch,
        max_units: u64,
        max_bytes: usize,
    ) -> Walk<'a> {
        Walk {
            heap,
            module,
            watch,
            elements: 0,
            bytes: 0,
            max_units,
            max_bytes,
            next_check: CHECK_EVERY,
            next_byte_check: CHUNK_BYTES,
        }
    }

    /// The work done, in fuel units.
    pub fn units(&self) -> u64 {
        work_units(self.bytes, self.elements)
    }

    fn step(&mut self) -> Result<(), Halt> {
        self.elements += 1;
        if self.elements >= self.next_check || self.bytes >= self.next_byte_check {
            self.next_check = self.elements + CHECK_EVERY;
            self.next_byte_check = self.bytes.saturating_add(CHUNK_BYTES);
            self.watch.check().map_err(Halt::Stop)?;
            if self.units() > self.max_units {
                return Err(Halt::Fuel);
            }
        }
        Ok(())
    }

    fn layout(&self, l: u32) -> &'a Layout {
        &self.module.layouts[l as usize]
    }

    /// Appends the text of `v`, of type `ty`, to `out`.
    pub fn text(&mut self, out: &mut String, ty: TypeId, v: u64, depth: usize) -> Result<(), Halt> {
        self.step()?;
        let heap = self.heap;
        if out.len() > self.max_bytes {
            return Err(Halt::TooLarge(out.len()));
        }
        match &self.module.types[ty as usize] {
            TypeDesc::Int => {
                let _ = write!(out, "{}", v as i64);
            }
            TypeDesc::Float => {
                out.push_str(crate::text::FloatText::new(f64::from_bits(v)).as_str())
            }
            TypeDesc::Bool => out.push_str(if v != 0 { "true" } else { "false" }),
            TypeDesc::Unit => out.push_str("()"),
            TypeDesc::Str => {
                let s = heap.str(v);
                // Known to fit before it is written (escapes make it longer).
                let add = if depth == 0 { s.len() } else { escaped_len(s) };
                if out.len().saturating_add(add) > self.max_bytes {
                    return Err(Halt::TooLarge(out.len().saturating_add(add)));
                }
                if depth == 0 {
                    out.push_str(s);
                } else {
                    escaped(out, s);
                }
            }
            _ if depth >= MAX_DEPTH => out.push_str("..."),
            TypeDesc::Array(el) => {
                out.push('[');
                for (k, x) in heap.array(v).iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    self.text(out, *el, x, depth + 1)?;
                }
                out.push(']');
            }
            TypeDesc::Map(kt, vt) => {
                out.push('{');
                let map = heap.map(v);
                for (k, (key, val)) in map.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    self.step()?;
                    match key {
                        KeyRef::Str(s) => escaped(out, s),
                        KeyRef::Int(i) if self.module.types[*kt as usize] == TypeDesc::Bool => {
                            out.push_str(if i != 0 { "true" } else { "false" })
                        }
                        KeyRef::Int(i) => {
                            let _ = write!(out, "{i}");
                        }
                        KeyRef::Bool(b) => {
                            let _ = write!(out, "{b}");
                        }
                    }
                    out.push_str(": ");
                    self.text(out, *vt, val, depth + 1)?;
                }
                out.push('}');
            }
            TypeDesc::Struct(l) => {
                let Layout::Struct { name, fields } = self.layout(*l) else {
                    unreachable!("a struct type has a struct layout")
                };
                out.push_str(name);
                out.push_str(" {");
                for (k, f) in fields.iter().enumerate() {
                    out.push_str(if k > 0 { ", " } else { " " });
                    out.push_str(&f.name);
                    out.push_str(": ");
                    self.text(out, f.ty, heap.field(v, k), depth + 1)?;
                }
                out.push_str(" }");
            }
            TypeDesc::Enum(l) => {
                let Layout::Enum { variants, .. } = self.layout(*l) else {
                    unreachable!("an enum type has an enum layout")
                };
                let var = &variants[heap.tag(v) as usize];
                out.push_str(&var.name);
                if !var.fields.is_empty() {
                    out.push('(');
                    let values = heap.fields(v);
                    for (k, &fty) in var.fields.iter().enumerate() {
                        if k > 0 {
                            out.push_str(", ");
                        }
                        self.text(out, fty, values[k], depth + 1)?;
                    }
                    out.push(')');
                }
            }
            TypeDesc::Fn { .. } => out.push_str("<fn>"),
            TypeDesc::Cell(inner) => self.text(out, *inner, heap.cell(v), depth + 1)?,
        }
        // The bytes written so far (each once, however deep).
        self.bytes = out.len();
        Ok(())
    }

    /// Whether `a` and `b`, of type `ty`, are equal (see the module docs).
    pub fn equal(&mut self, ty: TypeId, a: u64, b: u64, depth: usize) -> Result<bool, Halt> {
        self.step()?;
        let heap = self.heap;
        if depth > MAX_DEPTH {
            return Err(Halt::TooDeep);
        }
        Ok(match &self.module.types[ty as usize] {
            TypeDesc::Int | TypeDesc::Bool | TypeDesc::Unit => a == b,
            TypeDesc::Float => f64::from_bits(a) == f64::from_bits(b),
            TypeDesc::Str => {
                let (x, y) = (heap.str(a), heap.str(b));
                self.bytes += x.len().min(y.len());
                x == y
            }
            TypeDesc::Array(el) => {
                let (x, y) = (heap.array(a), heap.array(b));
                if x.len() != y.len() {
                    return Ok(false);
                }
                for k in 0..x.len() {
                    let (p, q) = (heap.array(a).get(k), heap.array(b).get(k));
                    if !self.equal(*el, p, q, depth + 1)? {
                        return Ok(false);
                    }
                }
                true
            }
            TypeDesc::Map(_, vt) => {
                let (x, y) = (heap.map(a), heap.map(b));
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (key, va) in x.iter() {
                    if let KeyRef::Str(s) = key {
                        self.bytes += s.len();
                    }
                    self.step()?;
                    let Some(vb) = y.get(key) else {
                        return Ok(false);
                    };
                    if !self.equal(*vt, va, vb, depth + 1)? {
                        return Ok(false);
                    }
                }
                true
            }
            TypeDesc::Enum(l) => {
                if heap.tag(a) != heap.tag(b) {
                    return Ok(false);
                }
                let Layout::Enum { variants, .. } = self.layout(*l) else {
                    unreachable!("an enum type has an enum layout")
                };
                let var = &variants[heap.tag(a) as usize];
                for (k, &fty) in var.fields.iter().enumerate() {
                    let (p, q) = (heap.fields(a)[k], heap.fields(b)[k]);
                    if !self.equal(fty, p, q, depth + 1)? {
                        return Ok(false);
                    }
                }
                true
            }
            TypeDesc::Struct(_) | TypeDesc::Fn { .. } | TypeDesc::Cell(_) => a == b,
        })
    }
}

/// The length of `escaped(s)`.
fn escaped_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\t' | '\r' | '\0' => 2,
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32).len(),
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// `s` in double quotes, with `\\`, `"`, and control characters escaped
/// (`\n`, `\t`, `\r`, `\0`, else `\u{..}`), as a string literal is written.
fn escaped(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
