//! The bytecode format's limits (`tern_vm::format::limits`), held against
//! a generated module before anyone sees it: what the loader would reject
//! is a compile error here, never a file that `vmrun` refuses.
//!
//! Most limits cannot be reached from a checked program, or are found by
//! the checker at the source that breaks them (a type nested too deep, a
//! struct with too many fields). What is left is counted here: totals of
//! the whole program (types, constants, functions, ...), which are errors
//! with no one place to blame, and sizes of one function (its code, its
//! local slots, its operand stack), which are errors at the function.
//! A verifier rejection that is not a size limit is a compiler bug.

use crate::ast::Span;
use crate::diag::{Diagnostic, FileId};
use tern_vm::format::limits::*;
use tern_vm::format::{encode, instruction_offsets};
use tern_vm::module::{Layout, Module, TypeDesc, PRIMITIVES};
use tern_vm::verify::MAX_STACK_MAP_ENTRIES;
use tern_vm::VerifyErrorKind;

/// Why a generated module cannot be a `.bc` file.
pub enum Exceeded {
    /// Limits the program exceeds: as a whole (no place in the source is to
    /// blame), and in single functions (at those functions).
    Limits(Vec<String>, Vec<Diagnostic>),
    /// The verifier refused the module for another reason: a compiler bug.
    Bug(String),
}

impl Exceeded {
    fn add(&mut self, at: Result<Diagnostic, String>) {
        if let Exceeded::Limits(program, functions) = self {
            match at {
                Ok(d) => functions.push(d),
                Err(m) => program.push(m),
            }
        }
    }
}

/// Where each function of a module came from: the file and span of its
/// name (or closure), by function index; the constants' initializer, last
/// if there is one, has none.
pub type Origins = [(FileId, Span)];

/// Checks `m` against the limits the loader enforces before it decodes a
/// function's code; `None` if it keeps to them.
pub fn before_verifying(m: &Module, p: &Origins) -> Option<Exceeded> {
    let mut over = Vec::new();
    let mut count = |what: &str, n: usize, max: usize| {
        if n > max {
            over.push(format!("it needs {n} {what}, more than the limit of {max}"));
        }
    };
    count("types", m.types.len() - PRIMITIVES, MAX_TYPES);
    count("structs and enums", m.layouts.len(), MAX_LAYOUTS);
    count("constants", m.consts.len(), MAX_CONSTS);
    count("globals (`const` items)", m.globals.len(), MAX_GLOBALS);
    count("distinct host functions", m.imports.len(), MAX_IMPORTS);
    count(
        "functions (closures included)",
        m.functions.len(),
        MAX_FUNCTIONS,
    );
    count("exported functions", m.exports.len(), MAX_EXPORTS);
    count("source files", m.sources.len(), MAX_SOURCES);
    // The checker keeps each of these within its limit at the source;
    // they are counted again here so that no module escapes them.
    let mut depth: Vec<u32> = vec![0; m.types.len()];
    for (i, t) in m.types.iter().enumerate() {
        let parts: Vec<u32> = match t {
            TypeDesc::Array(e) | TypeDesc::Cell(e) => vec![*e],
            TypeDesc::Map(k, v) => vec![*k, *v],
            TypeDesc::Fn { params, ret } => {
                count("parameters in a function type", params.len(), MAX_PARAMS);
                params.iter().chain([ret]).copied().collect()
            }
            _ => continue,
        };
        depth[i] = 1 + parts.iter().map(|p| depth[*p as usize]).max().unwrap_or(0);
        count(
            "levels of type nesting",
            depth[i] as usize,
            MAX_TYPE_DEPTH as usize,
        );
    }
    for l in &m.layouts {
        match l {
            Layout::Struct { fields, .. } => count("fields in a struct", fields.len(), MAX_FIELDS),
            Layout::Enum { variants, .. } => {
                count("variants in an enum", variants.len(), MAX_VARIANTS);
                for v in variants {
                    count("fields in a variant", v.fields.len(), MAX_FIELDS);
                }
            }
        }
    }
    for im in &m.imports {
        count("parameters of a host function", im.params.len(), MAX_PARAMS);
    }
    for c in &m.consts {
        if let tern_vm::module::Const::Str(s) = c {
            count("bytes in a string", s.len(), MAX_STRING_BYTES);
        }
    }
    over.dedup();
    let mut found = Exceeded::Limits(over, Vec::new());
    for (i, f) in m.functions.iter().enumerate() {
        let mut at = |msg: String| found.add(at_function(p, i, &f.name, msg));
        let slots = f.params.len() + f.locals.len();
        if f.params.len() > MAX_PARAMS {
            at(format!(
                "takes {} parameters, more than the limit of {MAX_PARAMS}",
                f.params.len()
            ));
        }
        if slots > MAX_SLOTS {
            at(format!(
                "needs {slots} local slots (parameters, variables and temporaries), more than the limit of {MAX_SLOTS}"
            ));
        }
        if f.captures.len() > MAX_CAPTURES {
            at(format!(
                "captures {} variables, more than the limit of {MAX_CAPTURES}",
                f.captures.len()
            ));
        }
        let bytes = *instruction_offsets(&f.code)
            .last()
            .expect("offsets end with the length") as usize;
        if bytes > MAX_CODE_BYTES {
            at(format!(
                "compiles to {bytes} bytes of code, more than the limit of {MAX_CODE_BYTES}"
            ));
        }
    }
    match &found {
        Exceeded::Limits(a, b) if a.is_empty() && b.is_empty() => None,
        _ => Some(found),
    }
}

/// Fills in each function's stack height (the verifier's one job for the
/// compiler) and checks the module as the loader will; then checks the
/// size of the file it encodes to.
pub fn verify(m: &mut Module, p: &Origins) -> Result<(), Exceeded> {
    let explain = |e: tern_vm::VerifyError| -> Exceeded {
        let msg = match e.kind {
            VerifyErrorKind::Invalid => {
                return Exceeded::Bug(format!("generated code does not verify: {e}"));
            }
            VerifyErrorKind::StackTooDeep => {
                format!("needs an operand stack deeper than the limit of {MAX_STACK} values")
            }
            VerifyErrorKind::TooLarge => format!("is too large to verify: {}", e.message),
        };
        let mut found = Exceeded::Limits(Vec::new(), Vec::new());
        found.add(match e.func {
            Some((i, name)) => at_function(p, i as usize, &name, msg),
            None => Err(e.message),
        });
        found
    };
    tern_vm::verify::infer_max_stack(m).map_err(explain)?;
    // The module-wide limit on stack maps is checked only by a full
    // verification; run it when the bound below does not settle it.
    let bound: usize = m
        .functions
        .iter()
        .map(|f| {
            let safepoints = f.code.iter().filter(|i| i.opcode().is_safepoint()).count();
            safepoints.saturating_mul(f.num_slots() + f.max_stack as usize)
        })
        .fold(0, usize::saturating_add);
    if bound > MAX_STACK_MAP_ENTRIES {
        tern_vm::verify::verify(m).map_err(explain)?;
    }
    let size = encode(m).len();
    if size > MAX_FILE_BYTES {
        let msg = format!(
            "its bytecode file would be {size} bytes, more than the limit of {MAX_FILE_BYTES}"
        );
        return Err(Exceeded::Limits(vec![msg], Vec::new()));
    }
    Ok(())
}

/// An error about function `i` (named `name`) of the module: at its name
/// (or the closure) in the source; or, for the constants' initializer,
/// which has no one place, about the program.
fn at_function(p: &Origins, i: usize, name: &str, msg: String) -> Result<Diagnostic, String> {
    match p.get(i) {
        Some(&(file, span)) => Ok(Diagnostic::new(file, span, format!("`{name}` {msg}"))),
        None => Err(format!("the initializer of its constants {msg}")),
    }
}
