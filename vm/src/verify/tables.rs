//! The module rules: everything about a module's tables that execution and
//! the function rules rely on, checked on the in-memory [`Module`] itself.
//!
//! The decoder checks much of this too, early, so that it never allocates
//! for an absurd count; but a module can also be built in memory (by the
//! compiler, an embedder or a fuzzer), so nothing here assumes the decoder
//! ran. After [`check_tables`]:
//! - the type table begins with the primitives; every other entry refers
//!   only to earlier entries (so walking a type terminates), is nested at
//!   most `MAX_TYPE_DEPTH` deep and equals no other entry (so type equality
//!   is index equality); struct and enum entries name layouts of their kind;
//! - every type index in layouts, globals, imports and signatures is in
//!   range, and only a result may be unit;
//! - every count and string is within the file format's limits and the
//!   module's encoding within the file size limit: whatever verifies can be
//!   written to a file and loaded back;
//! - every function has code within the size limit, a source in range and
//!   a line table of instruction indices in range and ascending;
//! - exports, the init function and the entry function are well formed.
//!
//! The work is linear in the size of the tables.

use super::{module_err, module_too_large, VerifyError};
use crate::format::limits::*;
use crate::format::{code_len, encoded_len_given, function_len};
use crate::module::*;
use std::collections::HashSet;

/// Fails if `owner` has `n` `what`s, more than `max`.
fn count(owner: &dyn Fn() -> String, n: usize, what: &str, max: usize) -> Result<(), VerifyError> {
    if n > max {
        return module_too_large(format!(
            "{} has {n} {what}, more than the limit of {max}",
            owner()
        ));
    }
    Ok(())
}

/// Fails if string `s`, `what` it is, is longer than the format allows.
fn string(what: &dyn Fn() -> String, s: &str) -> Result<(), VerifyError> {
    if s.len() > MAX_STRING_BYTES {
        return module_too_large(format!(
            "{} is {} bytes long, more than the limit of {MAX_STRING_BYTES}",
            what(),
            s.len()
        ));
    }
    Ok(())
}

/// Checks the module rules; returns the bytes each function takes encoded
/// (its verification budget is proportional to them).
pub(super) fn check_tables(m: &Module) -> Result<Vec<usize>, VerifyError> {
    let module = || "the module".to_string();
    count(
        &module,
        m.types.len().saturating_sub(PRIMITIVES),
        "types beyond the primitives",
        MAX_TYPES,
    )?;
    count(&module, m.layouts.len(), "layouts", MAX_LAYOUTS)?;
    count(&module, m.consts.len(), "constants", MAX_CONSTS)?;
    count(&module, m.globals.len(), "globals", MAX_GLOBALS)?;
    count(&module, m.imports.len(), "imports", MAX_IMPORTS)?;
    count(&module, m.functions.len(), "functions", MAX_FUNCTIONS)?;
    count(&module, m.exports.len(), "exports", MAX_EXPORTS)?;
    count(&module, m.sources.len(), "sources", MAX_SOURCES)?;
    check_types(m)?;

    // Every table is within its limit, so every index fits a u32.
    let nt = m.types.len() as u32;
    let value = |t: TypeId, what: &dyn Fn() -> String| -> Result<(), VerifyError> {
        if t >= nt {
            return module_err(format!("{}: type index {t} out of range", what()));
        }
        if t == UNIT {
            return module_err(format!("{}: unit is not a value type", what()));
        }
        Ok(())
    };
    let result = |t: TypeId, what: &dyn Fn() -> String| -> Result<(), VerifyError> {
        if t >= nt {
            return module_err(format!("{}: type index {t} out of range", what()));
        }
        Ok(())
    };
    for (i, l) in m.layouts.iter().enumerate() {
        let what = || format!("layout {i} ('{}')", l.name());
        string(&|| format!("the name of layout {i}"), l.name())?;
        match l {
            Layout::Struct { fields, .. } => {
                count(&what, fields.len(), "fields", MAX_FIELDS)?;
                for f in fields {
                    string(&|| format!("a field name of {}", what()), &f.name)?;
                    value(f.ty, &what)?;
                }
            }
            Layout::Enum { variants, .. } => {
                count(&what, variants.len(), "variants", MAX_VARIANTS)?;
                if variants.is_empty() {
                    return module_err(format!("{}: an enum needs a variant", what()));
                }
                for v in variants {
                    let variant = || format!("variant '{}' of {}", v.name, what());
                    string(&|| format!("a variant name of {}", what()), &v.name)?;
                    count(&variant, v.fields.len(), "fields", MAX_FIELDS)?;
                    for t in &v.fields {
                        value(*t, &what)?;
                    }
                }
            }
        }
    }
    for (i, c) in m.consts.iter().enumerate() {
        if let Const::Str(s) = c {
            string(&|| format!("constant {i}"), s)?;
        }
    }
    for (i, g) in m.globals.iter().enumerate() {
        value(*g, &|| format!("global {i}"))?;
    }
    for (i, im) in m.imports.iter().enumerate() {
        string(&|| format!("the module name of import {i}"), &im.module)?;
        string(&|| format!("the name of import {i}"), &im.name)?;
        let what = || format!("import {i} ('{}.{}')", im.module, im.name);
        count(&what, im.params.len(), "parameters", MAX_PARAMS)?;
        for p in &im.params {
            value(*p, &what)?;
        }
        result(im.ret, &what)?;
    }
    let mut sizes = Vec::with_capacity(m.functions.len());
    for (i, f) in m.functions.iter().enumerate() {
        string(&|| format!("the name of function {i}"), &f.name)?;
        let what = || format!("function {i} ('{}')", f.name);
        count(&what, f.params.len(), "parameters", MAX_PARAMS)?;
        count(&what, f.num_slots(), "local slots", MAX_SLOTS)?;
        count(&what, f.captures.len(), "captures", MAX_CAPTURES)?;
        if f.max_stack > MAX_STACK {
            return module_too_large(format!(
                "{} declares max stack {}, more than the limit of {MAX_STACK}",
                what(),
                f.max_stack
            ));
        }
        for p in f.slot_types().chain(f.captures.iter().copied()) {
            value(p, &what)?;
        }
        result(f.ret, &what)?;
        if f.source as usize >= m.sources.len() {
            return module_err(format!(
                "{}: source index {} out of range",
                what(),
                f.source
            ));
        }
        if f.code.is_empty() {
            return module_err(format!("{}: empty code", what()));
        }
        let code_bytes = code_len(&f.code);
        count(&what, code_bytes, "code bytes", MAX_CODE_BYTES)?;
        sizes.push(function_len(f, code_bytes));
        let mut previous = None;
        for (k, &(at, _)) in f.lines.iter().enumerate() {
            if at as usize >= f.code.len() {
                return module_err(format!(
                    "{}: line table entry {k} is at instruction {at}, past the end of the code",
                    what()
                ));
            }
            if previous.is_some_and(|p| p >= at) {
                return module_err(format!("{}: line table is not in ascending order", what()));
            }
            previous = Some(at);
        }
    }
    let mut names = HashSet::new();
    for e in &m.exports {
        string(&|| "an export name".to_string(), &e.name)?;
        if e.func as usize >= m.functions.len() {
            return module_err(format!(
                "export '{}': function {} out of range",
                e.name, e.func
            ));
        }
        if !m.functions[e.func as usize].captures.is_empty() {
            return module_err(format!(
                "export '{}': a closure body cannot be exported",
                e.name
            ));
        }
        if !names.insert(&e.name) {
            return module_err(format!("export '{}' is listed twice", e.name));
        }
    }
    for (i, s) in m.sources.iter().enumerate() {
        string(&|| format!("the name of source {i}"), s)?;
    }
    let str_array = m.types.iter().position(|t| *t == TypeDesc::Array(STR));
    if let Some(i) = m.init {
        match m.functions.get(i as usize) {
            Some(f) if f.params.is_empty() && f.ret == UNIT && f.captures.is_empty() => {}
            Some(_) => return module_err("the init function must take nothing and return unit"),
            None => return module_err(format!("init function {i} out of range")),
        }
    }
    if let Some(i) = m.entry {
        match m.functions.get(i as usize) {
            Some(f) => {
                let args_ok = f.params.is_empty()
                    || (f.params.len() == 1 && Some(f.params[0] as usize) == str_array);
                if !args_ok || !(f.ret == UNIT || f.ret == INT) || !f.captures.is_empty() {
                    return module_err(
                        "the entry function must be main(), main(args: [str]), optionally returning int",
                    );
                }
            }
            None => return module_err(format!("entry function {i} out of range")),
        }
    }
    let size = encoded_len_given(m, sizes.iter().sum());
    if size > MAX_FILE_BYTES {
        return module_too_large(format!(
            "the module takes {size} bytes encoded, more than the file size limit of {MAX_FILE_BYTES}"
        ));
    }
    Ok(sizes)
}

/// The type table's own rules, in the order the decoder checks them (so
/// the first defect of a table gets the same error either way), then the
/// rules that need the other tables.
fn check_types(m: &Module) -> Result<(), VerifyError> {
    if m.types.len() < PRIMITIVES || m.types[..PRIMITIVES] != primitive_types()[..] {
        return module_err("type table does not begin with the primitive types");
    }
    let mut depth = vec![0u32; m.types.len()];
    let mut seen: HashSet<&TypeDesc> = m.types[..PRIMITIVES].iter().collect();
    for (i, t) in m.types.iter().enumerate().skip(PRIMITIVES) {
        let here = || format!("type {i}");
        let refs: &[TypeId] = match t {
            TypeDesc::Array(e) | TypeDesc::Cell(e) => std::slice::from_ref(e),
            TypeDesc::Map(k, v) => &[*k, *v],
            TypeDesc::Fn { params, .. } => {
                count(&here, params.len(), "parameters", MAX_PARAMS)?;
                params
            }
            _ => &[],
        };
        let ret = match t {
            TypeDesc::Fn { ret, .. } => Some(*ret),
            _ => None,
        };
        let mut d = 0;
        for &r in refs.iter().chain(ret.as_ref()) {
            if r as usize >= i {
                return module_err(format!(
                    "type {i} refers to type {r}, which is not an earlier entry"
                ));
            }
            d = d.max(depth[r as usize] + 1);
        }
        if d > MAX_TYPE_DEPTH {
            return module_too_large(format!(
                "type {i} is nested {d} deep, more than the limit of {MAX_TYPE_DEPTH}"
            ));
        }
        depth[i] = d;
        if !seen.insert(t) {
            return module_err(format!("type {i} duplicates an earlier type"));
        }
    }
    let unit = |i: usize| module_err(format!("type {i}: unit is not a value type"));
    for (i, t) in m.types.iter().enumerate().skip(PRIMITIVES) {
        match t {
            TypeDesc::Array(e) | TypeDesc::Cell(e) if *e == UNIT => return unit(i),
            TypeDesc::Map(k, v) => {
                if !matches!(*k, INT | STR | BOOL) {
                    return module_err(format!("type {i}: map keys must be int, str or bool"));
                }
                if *v == UNIT {
                    return unit(i);
                }
            }
            TypeDesc::Fn { params, .. } if params.contains(&UNIT) => return unit(i),
            TypeDesc::Struct(l) => match m.layouts.get(*l as usize) {
                Some(Layout::Struct { .. }) => {}
                _ => return module_err(format!("type {i}: layout {l} is not a struct")),
            },
            TypeDesc::Enum(l) => match m.layouts.get(*l as usize) {
                Some(Layout::Enum { .. }) => {}
                _ => return module_err(format!("type {i}: layout {l} is not an enum")),
            },
            _ => {}
        }
    }
    Ok(())
}
