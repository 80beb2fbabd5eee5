//! The module rules: the tables' indices and shapes.

use super::{module_err, VerifyError};
use crate::module::*;

pub(super) fn check_tables(m: &Module) -> Result<(), VerifyError> {
    let nt = m.types.len() as u32;
    if m.types.len() < PRIMITIVES || m.types[..PRIMITIVES] != primitive_types()[..] {
        return module_err("type table does not begin with the primitive types");
    }
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
    for (i, t) in m.types.iter().enumerate() {
        let what = || format!("type {i}");
        match t {
            TypeDesc::Array(e) | TypeDesc::Cell(e) => value(*e, &what)?,
            TypeDesc::Map(k, v) => {
                if !matches!(*k, INT | STR | BOOL) {
                    return module_err(format!("type {i}: map keys must be int, str or bool"));
                }
                value(*v, &what)?
            }
            TypeDesc::Struct(l) => match m.layouts.get(*l as usize) {
                Some(Layout::Struct { .. }) => {}
                _ => return module_err(format!("type {i}: layout {l} is not a struct")),
            },
            TypeDesc::Enum(l) => match m.layouts.get(*l as usize) {
                Some(Layout::Enum { .. }) => {}
                _ => return module_err(format!("type {i}: layout {l} is not an enum")),
            },
            TypeDesc::Fn { params, ret } => {
                for p in params {
                    value(*p, &what)?;
                }
                result(*ret, &what)?;
            }
            _ => {}
        }
    }
    for (i, l) in m.layouts.iter().enumerate() {
        let what = || format!("layout {i} ('{}')", l.name());
        match l {
            Layout::Struct { fields, .. } => {
                for f in fields {
                    value(f.ty, &what)?;
                }
            }
            Layout::Enum { variants, .. } => {
                if variants.is_empty() {
                    return module_err(format!("{}: an enum needs a variant", what()));
                }
                for v in variants {
                    for t in &v.fields {
                        value(*t, &what)?;
                    }
                }
            }
        }
    }
    for (i, g) in m.globals.iter().enumerate() {
        value(*g, &|| format!("global {i}"))?;
    }
    for (i, im) in m.imports.iter().enumerate() {
        let what = || format!("import {i} ('{}.{}')", im.module, im.name);
        for p in &im.params {
            value(*p, &what)?;
        }
        result(im.ret, &what)?;
    }
    for (i, f) in m.functions.iter().enumerate() {
        let what = || format!("function {i} ('{}')", f.name);
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
    }
    let mut names = std::collections::HashSet::new();
    for e in &m.exports {
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
    Ok(())
}
