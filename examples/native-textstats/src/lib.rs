//! An example native module: host functions for Tern written in Rust and
//! exported through Tern's C ABI (`spec/sandbox.md`, "Native modules"), so
//! any language that can export C functions could do the same.
//!
//! It grants the capability `textstats`:
//!
//! ```text
//! extern "textstats" {
//!     fn word_count(text: str) -> int;
//!     fn shout(text: str) -> str;
//!     fn ratio(a: int, b: int) -> float;   // an error when b is 0
//! }
//! ```
//!
//! Load it with `vmrun --native target/debug/libtern_native_textstats.so app.src`
//! or `Linker::load_native`. The types are declared here, not imported from
//! the host crate, as a C author would write them from the spec.

use std::cell::RefCell;
use std::ffi::c_char;

const ABI_VERSION: u32 = 1;
const INT: u32 = 1;
const FLOAT: u32 = 2;
const STR: u32 = 4;

#[repr(C)]
pub struct Value {
    tag: u32,
    int: i64,
    float: f64,
    str_ptr: *const u8,
    str_len: usize,
}

type Call = unsafe extern "C" fn(*const Value, usize, *mut Value) -> i32;

#[repr(C)]
pub struct Function {
    name: *const c_char,
    signature: *const c_char,
    call: Call,
}

#[repr(C)]
pub struct Module {
    abi_version: u32,
    capability: *const c_char,
    num_functions: usize,
    functions: *const Function,
}

// SAFETY (for the Sync impls): the descriptions are immutable statics of
// pointers to string literals and functions.
unsafe impl Sync for Module {}
unsafe impl Sync for Function {}

thread_local! {
    /// Returned strings live here until the next call on this thread, as
    /// the ABI allows.
    static RESULT: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_str(out: &mut Value, s: String) {
    RESULT.with(|r| {
        *r.borrow_mut() = s;
        let r = r.borrow();
        out.tag = STR;
        out.str_ptr = r.as_ptr();
        out.str_len = r.len();
    });
}

/// The host checked the arguments against the declared signature.
unsafe fn arg_str<'a>(args: *const Value, i: usize) -> &'a str {
    // SAFETY: the host passes `nargs` values matching the signature; a str
    // argument points to valid UTF-8 alive for the call.
    unsafe {
        let v = &*args.add(i);
        std::str::from_utf8_unchecked(std::slice::from_raw_parts(v.str_ptr, v.str_len))
    }
}

unsafe extern "C" fn word_count(args: *const Value, _n: usize, out: *mut Value) -> i32 {
    // SAFETY: see arg_str; `out` is valid for writes.
    unsafe {
        let text = arg_str(args, 0);
        (*out).tag = INT;
        (*out).int = text.split_whitespace().count() as i64;
    }
    0
}

unsafe extern "C" fn shout(args: *const Value, _n: usize, out: *mut Value) -> i32 {
    // SAFETY: see arg_str; `out` is valid for writes.
    unsafe {
        let text = arg_str(args, 0).to_uppercase() + "!";
        set_str(&mut *out, text);
    }
    0
}

unsafe extern "C" fn ratio(args: *const Value, _n: usize, out: *mut Value) -> i32 {
    // SAFETY: two int arguments, as declared; `out` is valid for writes.
    unsafe {
        let a = (*args).int;
        let b = (*args.add(1)).int;
        if b == 0 {
            set_str(&mut *out, "textstats.ratio: division by zero".into());
            return 1;
        }
        (*out).tag = FLOAT;
        (*out).float = a as f64 / b as f64;
    }
    0
}

static FUNCTIONS: [Function; 3] = [
    Function {
        name: c"word_count".as_ptr(),
        signature: c"(str) -> int".as_ptr(),
        call: word_count,
    },
    Function {
        name: c"shout".as_ptr(),
        signature: c"(str) -> str".as_ptr(),
        call: shout,
    },
    Function {
        name: c"ratio".as_ptr(),
        signature: c"(int, int) -> float".as_ptr(),
        call: ratio,
    },
];

static MODULE: Module = Module {
    abi_version: ABI_VERSION,
    capability: c"textstats".as_ptr(),
    num_functions: FUNCTIONS.len(),
    functions: FUNCTIONS.as_ptr(),
};

/// The one symbol of the ABI.
#[no_mangle]
pub extern "C" fn tern_native_module() -> *const Module {
    &MODULE
}
