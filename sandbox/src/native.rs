//! Native modules: host functions from a shared library, through a small
//! versioned C ABI (specified in `spec/sandbox.md`, "Native modules").
//!
//! A native module is *trusted* code the host chooses to load; a guest can
//! never load one. The library exports one symbol, `tern_native_module`,
//! returning a static description: the ABI version, a capability name, and
//! functions with their signatures written in Tern types. Everything the
//! library hands over is checked before use (version, UTF-8, signature
//! syntax, result tags); after that the functions are ordinary host
//! functions, granted through the linker like any other.
//!
//! This is one of the few modules with `unsafe`: loading a library and
//! calling into it cannot be checked by the compiler. Each block says what
//! it relies on.

use crate::types::{Signature, ValType};
use std::ffi::{c_char, CStr};
use std::path::Path;
use std::sync::Arc;
use tern_vm::Value;

/// The ABI version this host implements.
pub const NATIVE_ABI_VERSION: u32 = 1;

/// The symbol a native module exports.
pub const NATIVE_ENTRY_SYMBOL: &str = "tern_native_module";

/// The most functions one native module may declare.
const MAX_NATIVE_FUNCTIONS: usize = 4096;

/// Value tags of [`NativeValue`].
pub mod tag {
    pub const UNIT: u32 = 0;
    pub const INT: u32 = 1;
    pub const FLOAT: u32 = 2;
    pub const BOOL: u32 = 3;
    pub const STR: u32 = 4;
}

/// A value crossing the C ABI. Only the field(s) for `tag` are meaningful:
/// `int` for INT and BOOL (0 or 1), `float` for FLOAT, `str_ptr`/`str_len`
/// (UTF-8, not NUL-terminated) for STR.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NativeValue {
    pub tag: u32,
    pub int: i64,
    pub float: f64,
    pub str_ptr: *const u8,
    pub str_len: usize,
}

impl NativeValue {
    pub const UNIT: NativeValue = NativeValue {
        tag: tag::UNIT,
        int: 0,
        float: 0.0,
        str_ptr: std::ptr::null(),
        str_len: 0,
    };
}

/// A native function: reads `nargs` arguments, writes `*result`, returns 0;
/// or returns non-zero with an error message (a STR) in `*result`, which
/// becomes a guest runtime error. A STR result must stay valid until the
/// function is called again on the same thread.
pub type NativeCall =
    unsafe extern "C" fn(args: *const NativeValue, nargs: usize, result: *mut NativeValue) -> i32;

#[repr(C)]
pub struct NativeFunction {
    /// NUL-terminated UTF-8: the function's name.
    pub name: *const c_char,
    /// NUL-terminated UTF-8 Tern signature: `(str, int) -> int`, `(float)`.
    pub signature: *const c_char,
    pub call: NativeCall,
}

#[repr(C)]
pub struct NativeModule {
    pub abi_version: u32,
    /// NUL-terminated UTF-8: the capability the functions belong to.
    pub capability: *const c_char,
    pub num_functions: usize,
    pub functions: *const NativeFunction,
}

/// One function of a loaded library, ready to call.
pub(crate) struct Loaded {
    pub capability: String,
    pub name: String,
    pub sig: Signature,
    pub call: Box<dyn Fn(Vec<Value>) -> Result<Value, String> + Send + Sync>,
}

fn text(p: *const c_char, what: &str, path: &Path) -> Result<String, String> {
    if p.is_null() {
        return Err(format!("{}: {what} is missing", path.display()));
    }
    // SAFETY: the module's description promises NUL-terminated strings that
    // live as long as the library (which the caller keeps loaded); null was
    // excluded above.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map(str::to_string)
        .map_err(|_| format!("{}: {what} is not UTF-8", path.display()))
}

/// Parses a signature of `int`, `float`, `bool`, `str` parameters and an
/// optional `-> T` result: the types the C ABI carries.
pub fn parse_signature(s: &str) -> Option<Signature> {
    let ty = |t: &str| match t.trim() {
        "int" => Some(ValType::Int),
        "float" => Some(ValType::Float),
        "bool" => Some(ValType::Bool),
        "str" => Some(ValType::Str),
        _ => None,
    };
    let s = s.trim();
    let close = s.find(')')?;
    let inner = s.strip_prefix('(')?.get(..close - 1)?;
    let params = if inner.trim().is_empty() {
        Vec::new()
    } else {
        inner.split(',').map(ty).collect::<Option<Vec<_>>>()?
    };
    let rest = s[close + 1..].trim();
    let ret = if rest.is_empty() {
        ValType::Unit
    } else {
        ty(rest.strip_prefix("->")?)?
    };
    Some(Signature { params, ret })
}

/// Loads the native module at `path` and describes its functions.
pub(crate) fn load(path: &Path) -> Result<Vec<Loaded>, String> {
    // SAFETY: loading a library runs its initializers. Native modules are
    // trusted code the host (never a guest) chose to load; see the module
    // docs and spec/sandbox.md.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot load native module {}: {e}", path.display()))?;
    let lib = Arc::new(lib);
    let entry = {
        // SAFETY: the symbol's type is fixed by the ABI: a C function
        // taking nothing and returning a pointer to the description.
        let sym = unsafe {
            lib.get::<unsafe extern "C" fn() -> *const NativeModule>(NATIVE_ENTRY_SYMBOL.as_bytes())
        }
        .map_err(|_| {
            format!(
                "{} is not a Tern native module: it has no symbol `{NATIVE_ENTRY_SYMBOL}`",
                path.display()
            )
        })?;
        *sym
    };
    // SAFETY: calling the entry point the ABI defines; it takes nothing.
    let desc = unsafe { entry() };
    if desc.is_null() {
        return Err(format!(
            "{}: `{NATIVE_ENTRY_SYMBOL}` returned null",
            path.display()
        ));
    }
    // SAFETY: non-null, and the ABI says it points to a static description
    // that lives as long as the library. Only the version field is read
    // before the version is known to match.
    let version = unsafe { (*desc).abi_version };
    if version != NATIVE_ABI_VERSION {
        return Err(format!(
            "{} uses native ABI version {version}; this host supports version {NATIVE_ABI_VERSION}",
            path.display()
        ));
    }
    // SAFETY: as above, and the version matches, so the layout is ours.
    let desc = unsafe { &*desc };
    let capability = text(desc.capability, "the capability name", path)?;
    if !tern_vm::module::is_capability_name(&capability) {
        return Err(format!(
            "{}: `{capability}` is not a capability name",
            path.display()
        ));
    }
    if desc.num_functions > MAX_NATIVE_FUNCTIONS
        || (desc.num_functions > 0 && desc.functions.is_null())
    {
        return Err(format!("{}: bad function table", path.display()));
    }
    let funcs = if desc.num_functions == 0 {
        &[][..]
    } else {
        // SAFETY: non-null, and the description promises `num_functions`
        // entries (bounded above) that live as long as the library.
        unsafe { std::slice::from_raw_parts(desc.functions, desc.num_functions) }
    };
    let mut out = Vec::new();
    for f in funcs {
        let name = text(f.name, "a function name", path)?;
        let sig_text = text(f.signature, "a signature", path)?;
        let sig = parse_signature(&sig_text).ok_or_else(|| {
            format!(
                "{}: function `{name}` has signature `{sig_text}`; native functions take and return int, float, bool and str",
                path.display()
            )
        })?;
        let call = f.call;
        let keep = Arc::clone(&lib);
        let ret = sig.ret.clone();
        let fname = format!("{capability}.{name}");
        out.push(Loaded {
            capability: capability.clone(),
            name,
            sig,
            call: Box::new(move |args| {
                let _library_stays_loaded = &keep;
                invoke(call, &args, &ret, &fname)
            }),
        });
    }
    Ok(out)
}

/// Calls a native function with arguments the linker already checked.
fn invoke(call: NativeCall, args: &[Value], ret: &ValType, name: &str) -> Result<Value, String> {
    let native: Vec<NativeValue> = args
        .iter()
        .map(|v| match v {
            Value::Int(i) => NativeValue {
                tag: tag::INT,
                int: *i,
                ..NativeValue::UNIT
            },
            Value::Float(x) => NativeValue {
                tag: tag::FLOAT,
                float: *x,
                ..NativeValue::UNIT
            },
            Value::Bool(b) => NativeValue {
                tag: tag::BOOL,
                int: *b as i64,
                ..NativeValue::UNIT
            },
            Value::Str(s) => NativeValue {
                tag: tag::STR,
                str_ptr: s.as_ptr(),
                str_len: s.len(),
                ..NativeValue::UNIT
            },
            _ => NativeValue::UNIT,
        })
        .collect();
    let mut result = NativeValue::UNIT;
    // SAFETY: `native` holds `args.len()` values whose strings borrow from
    // `args`, alive for the call; `result` is a valid place to write. The
    // function itself is trusted native code (see the module docs).
    let status = unsafe { call(native.as_ptr(), native.len(), &mut result) };
    let read_str = |v: &NativeValue| -> Result<String, String> {
        if v.tag != tag::STR || (v.str_ptr.is_null() && v.str_len > 0) {
            return Err(format!(
                "native function {name} returned a malformed string"
            ));
        }
        if v.str_len == 0 {
            return Ok(String::new());
        }
        // SAFETY: the ABI says a STR result points to `str_len` bytes that
        // stay valid until the next call; they are copied at once.
        let bytes = unsafe { std::slice::from_raw_parts(v.str_ptr, v.str_len) };
        String::from_utf8(bytes.to_vec())
            .map_err(|_| format!("native function {name} returned text that is not UTF-8"))
    };
    if status != 0 {
        return Err(read_str(&result)?);
    }
    let wrong = || format!("native function {name} returned a value of the wrong type");
    Ok(match (ret, result.tag) {
        (ValType::Unit, tag::UNIT) => Value::Unit,
        (ValType::Int, tag::INT) => Value::Int(result.int),
        (ValType::Float, tag::FLOAT) => Value::Float(result.float),
        (ValType::Bool, tag::BOOL) => Value::Bool(result.int != 0),
        (ValType::Str, tag::STR) => Value::Str(read_str(&result)?),
        _ => return Err(wrong()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_parse_in_tern_syntax() {
        let s = parse_signature("(str, int) -> bool").unwrap();
        assert_eq!(s.params, [ValType::Str, ValType::Int]);
        assert_eq!(s.ret, ValType::Bool);
        assert_eq!(parse_signature("()").unwrap().to_string(), "()");
        assert_eq!(parse_signature(" (float) ").unwrap().ret, ValType::Unit);
        for bad in [
            "",
            "(",
            "(str",
            "(list) -> int",
            "(int) int",
            "(int) -> [int]",
            "int",
        ] {
            assert!(parse_signature(bad).is_none(), "{bad}");
        }
    }
}
