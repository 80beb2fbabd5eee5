//! vmc, the Tern compiler: source text to a verified bytecode module.
//!
//! The pipeline, one module per stage: [`lexer`] (logos) and the lalrpop
//! `grammar` build an [`ast`] (`parse` runs them, once `nesting` has found
//! the file not nested too deep to parse); [`check`] resolves names and
//! types into the typed [`hir`]; [`codegen`] lowers that to a
//! `tern_vm::Module`, whose stack heights the VM's verifier fills in and
//! checks. [`driver`] ties the stages together, finds imported files and
//! holds the result to the bytecode format's limits. Every error on the way is a
//! [`diag::Diagnostic`] with a span; none is a panic.

pub mod ast;
pub mod check;
pub use tern_vm::cli;
pub mod codegen;
pub mod diag;
pub mod driver;
pub mod hir;
pub mod lexer;
mod limits;
mod nesting;
mod parse;
mod parse_helpers;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, unused)]
    grammar
);

pub use driver::{compile, compile_with, CompileError, Compiled, OneFile, SourceLoader};
