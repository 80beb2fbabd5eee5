//! Embedding Tern: run untrusted plugins inside a Rust program.
//!
//! The model is wasmtime's, made smaller:
//!
//! - a [`Module`] is a program decoded and verified once (from `.bc` bytes,
//!   or compiled from `.src`), shared read-only by any number of instances;
//! - a [`Linker`] grants capabilities: the standard ones (`stdout`,
//!   `stderr`, `fs.read`, `fs.write`, `env`, `clock`, `random`) and any host
//!   function written as a plain Rust closure. It grants nothing by default;
//! - an [`Instance`] is one running copy with its own heap, globals,
//!   [`Limits`] (fuel, heap bytes, call depth, a timeout) and output, and
//!   an [`InterruptHandle`] another thread can use to stop it.
//!
//! Instantiating checks every import against what the linker grants before
//! any guest code runs. Values cross the boundary by copy ([`Value`], or
//! Rust types through [`TernValue`]), so the host never holds a reference
//! into a guest heap. Whatever a guest does, a call returns: a value, or an
//! [`Error::Trap`] saying which limit or error stopped it and where.
//!
//! ```
//! use tern_sandbox::{Error, Limits, Linker, Module, Output, TrapKind};
//! # let dir = std::env::temp_dir().join("tern-doc-lib");
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let path = dir.join("plugin.src");
//! # std::fs::write(&path, "
//! #   fn greet(name: str) -> str { return \"hello, \" + name; }
//! #   fn spin() { while true {} }
//! # ").unwrap();
//! let module = Module::from_file(&path)?;
//! let mut linker = Linker::new();
//! linker.stdout(Output::Capture);
//! let limits = Limits { fuel: 1_000_000, ..Limits::default() };
//! let mut plugin = linker.instantiate(&module, limits)?;
//!
//! let greet = plugin.typed_func::<(String,), String>("greet")?;
//! assert_eq!(greet.call(&mut plugin, ("host".into(),))?, "hello, host");
//!
//! // A guest that never stops is stopped by its fuel, and the host goes on.
//! match plugin.call("spin", &[]) {
//!     Err(Error::Trap(t)) => assert_eq!(t.kind, TrapKind::FuelExhausted),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Error>(())
//! ```
//!
//! Exit codes `vmrun` uses for each failure are in [`exit`] and
//! `spec/sandbox.md`.

#![deny(unsafe_code)]

mod caps;
mod files;
mod linker;
// Loading shared libraries and calling C functions: the crate's only unsafe.
#[allow(unsafe_code)]
pub mod native;
mod types;

pub use caps::{
    is_closed_output_message, HostFunc, Input, Output, MAX_INPUT_BYTES, MAX_READ_BYTES,
};
pub use linker::{
    Export, Import, Instance, IntoHostFunc, Linker, Module, TypedFunc, DEFAULT_OUTPUT_LIMIT,
};
pub use tern_vm::cli::{exit, io_reason};
pub use tern_vm::{InterruptHandle, JitMode, Limits, Stats, TraceFrame, Trap, TrapKind, Value};
pub use types::{HostResult, Params, Signature, TernKey, TernValue, ValType};

use std::fmt;

/// Everything that can go wrong between a file and a result.
#[derive(Debug)]
pub enum Error {
    /// A file could not be read (the message says which and why).
    Io(String),
    /// Source that does not compile: the rendered diagnostics.
    Compile(String),
    /// Bytes that are not a valid, verifiable module.
    InvalidBytecode(String),
    /// Imports the linker does not grant, in import order.
    MissingCapabilities(Vec<Import>),
    /// An import granted with a different signature.
    IncompatibleImport {
        import: String,
        expected: String,
        provided: String,
    },
    NoSuchExport(String),
    /// `run_main` on a module without `main`: a library, whose exports a
    /// host calls.
    NoMain,
    /// An export called with, or looked up as, the wrong types.
    ExportSignature {
        name: String,
        expected: String,
        found: String,
    },
    /// A typed function used on an instance of another module.
    WrongInstance,
    /// A native module that cannot be loaded or is malformed.
    Native(String),
    /// The guest stopped with a runtime error or an exhausted limit.
    Trap(Trap),
}

impl Error {
    /// The process exit code `vmrun` gives this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Io(_) => exit::IO_ERROR,
            Error::Compile(_) => exit::COMPILE_ERROR,
            Error::InvalidBytecode(_) => exit::INVALID_BYTECODE,
            Error::MissingCapabilities(_) | Error::IncompatibleImport { .. } => {
                exit::MISSING_CAPABILITY
            }
            Error::NoSuchExport(_)
            | Error::NoMain
            | Error::ExportSignature { .. }
            | Error::WrongInstance
            | Error::Native(_) => exit::USAGE,
            Error::Trap(_) => exit::RUNTIME_ERROR,
        }
    }
}

/// Imports grouped by capability, in first-use order:
/// `fs.read (read_result, exists), clock (now_ms)`.
pub fn group_imports(imports: &[Import]) -> String {
    let mut groups: indexmap::IndexMap<&str, Vec<&str>> = indexmap::IndexMap::new();
    for im in imports {
        groups
            .entry(im.capability.as_str())
            .or_default()
            .push(im.function.as_str());
    }
    groups
        .iter()
        .map(|(cap, fns)| format!("{cap} ({})", fns.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(m) | Error::InvalidBytecode(m) | Error::Native(m) => write!(f, "{m}"),
            Error::Compile(m) => write!(f, "{}", m.trim_end()),
            Error::MissingCapabilities(missing) => write!(
                f,
                "the program needs capabilities this host does not grant: {}",
                group_imports(missing)
            ),
            Error::IncompatibleImport {
                import,
                expected,
                provided,
            } => write!(
                f,
                "the program imports {import} as {expected}, but the host provides {provided}"
            ),
            Error::NoSuchExport(name) => write!(f, "the module has no export named '{name}'"),
            Error::NoMain => write!(
                f,
                "the module has no main function (it is a library: a host calls its exports)"
            ),
            Error::ExportSignature {
                name,
                expected,
                found,
            } => write!(f, "export '{name}' is {expected}, not {found}"),
            Error::WrongInstance => {
                write!(
                    f,
                    "a typed function was called on an instance of another module"
                )
            }
            Error::Trap(t) => write!(f, "{}", t.message),
        }
    }
}

impl std::error::Error for Error {}

impl From<Trap> for Error {
    fn from(t: Trap) -> Self {
        Error::Trap(t)
    }
}

/// The text a command-line host prints for `e` on standard error, ending
/// in a newline: diagnostics as rendered, a trap with its stack trace,
/// anything else as `error: ...`.
pub fn report(e: &Error) -> String {
    match e {
        Error::Compile(m) => m.clone(),
        Error::Trap(t) => t.to_string(),
        other => format!("error: {other}\n"),
    }
}
