//! The Tern virtual machine: bytecode format, verifier, interpreter and
//! garbage-collected heap.
//!
//! The path from bytes to execution is one-way and checked at each step:
//! [`format::decode`] parses untrusted bytes into a [`Module`],
//! [`Program::new`] verifies it (the trust boundary), and a [`Vm`] runs a
//! verified program over its own heap, stack and limits. Many `Vm`s may
//! share one `Program` (through an `Arc`); they share nothing else.
//!
//! This crate has no `unsafe` code.

#![forbid(unsafe_code)]

pub mod builtins;
pub mod cli;
pub mod disasm;
pub mod divisor;
pub mod format;
pub mod heap;
pub mod host;
pub mod internal;
pub mod interp;
pub mod jit;
pub mod limits;
pub mod map;
pub mod module;
pub mod opcodes;
pub mod program;
pub mod semantics;
mod siphash;
mod stack;
pub mod strings;
pub mod text;
mod translate;
pub mod trap;
pub mod values;
pub mod verify;

pub use format::{decode, encode, LoadError};
pub use host::{Host, Value};
pub use interp::{Stats, Vm};
pub use jit::JitMode;
pub use limits::{InterruptHandle, Limits, MAX_DEPTH, POLL_INTERVAL};
pub use module::Module;
pub use opcodes::{Instr, Opcode};
pub use program::Program;
pub use stack::MAX_STACK_SLOTS;
pub use trap::{TraceFrame, Trap, TrapKind};
pub use verify::{VerifyError, VerifyErrorKind};

/// Either way a file can fail before running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOrVerifyError {
    Load(LoadError),
    Verify(VerifyError),
}

impl std::fmt::Display for LoadOrVerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadOrVerifyError::Load(e) => e.fmt(f),
            LoadOrVerifyError::Verify(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoadOrVerifyError {}

/// Decodes and verifies a `.bc` file.
pub fn load(bytes: &[u8]) -> Result<Program, LoadOrVerifyError> {
    let m = format::decode(bytes).map_err(LoadOrVerifyError::Load)?;
    Program::new(m).map_err(LoadOrVerifyError::Verify)
}
