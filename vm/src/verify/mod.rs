//! The verifier: the trust boundary between bytes and execution.
//!
//! Nothing runs until [`verify`] accepts the whole module. It checks the
//! module's tables (every index in range, types well formed, entry points of
//! the right shape) and then every function by abstract interpretation in
//! the manner of the JVM's type checker: each reachable instruction is given
//! the types of the operand stack and the set of initialized locals, and
//! - every operand index is in range and every popped slot has the type the
//!   instruction needs (so an int is never used as a reference);
//! - stack heights and slot types agree wherever control flow merges, and
//!   the height never exceeds the declared `max_stack`;
//! - locals are read only where every path has initialized them;
//! - calls match the callee's signature, `ret` leaves exactly the result;
//! - control never falls off the end of the code.
//!
//! In exchange, the interpreter never re-checks any of this. The verifier
//! also produces, for every safepoint, the exact list of slots that hold
//! references: the garbage collector's stack maps.

mod dataflow;
mod rules;
mod tables;

use crate::module::*;
use std::fmt;

/// Memory budget of one function's verification: the local and stack
/// slots of all the states kept at branch targets. Beyond it a function is
/// rejected as too complex rather than risking huge memory use.
pub const MAX_VERIFY_CELLS: usize = 1 << 24;

/// Time budget of one function's verification: instructions interpreted
/// until the fixpoint (a state can change at each branch target once per
/// local slot, so a hostile function could otherwise take very long).
pub const MAX_VERIFY_STEPS: usize = 1 << 27;

/// Stack-map entries (reference slots at safepoints) a whole module may
/// have: the verifier's output that execution keeps.
pub const MAX_STACK_MAP_ENTRIES: usize = 1 << 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// `(index, name)` of the function, if the error is inside one.
    pub func: Option<(u32, String)>,
    /// Byte offset of the instruction within the function's code.
    pub offset: Option<u32>,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "verification failed")?;
        if let Some((i, name)) = &self.func {
            write!(f, " in function {i} ('{name}')")?;
        }
        if let Some(off) = self.offset {
            write!(f, " at offset {off}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for VerifyError {}

/// A safepoint's instruction index and the slots holding references there.
pub type Safepoint = (u32, Box<[u32]>);

/// What verification proved about one function, kept for execution.
#[derive(Debug, Clone, Default)]
pub struct FuncInfo {
    /// For each reachable safepoint instruction, ascending by index: the
    /// slots (relative to the frame base, locals first, then the operand
    /// stack) that hold references just before it executes.
    pub safepoints: Vec<Safepoint>,
    /// Maximum operand stack height actually reached.
    pub max_stack: u32,
}

impl FuncInfo {
    pub fn refs_at(&self, index: u32) -> &[u32] {
        match self.safepoints.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(k) => &self.safepoints[k].1,
            Err(_) => &[],
        }
    }
}

fn module_err<T>(msg: impl Into<String>) -> Result<T, VerifyError> {
    Err(VerifyError {
        func: None,
        offset: None,
        message: msg.into(),
    })
}

/// Verifies a module; on success returns the stack maps of each function.
pub fn verify(m: &Module) -> Result<Vec<FuncInfo>, VerifyError> {
    tables::check_tables(m)?;
    let mut entries = 0usize;
    m.functions
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let info = dataflow::verify_function(m, i as u32, f, false)?;
            entries += info.safepoints.iter().map(|(_, r)| r.len()).sum::<usize>();
            if entries > MAX_STACK_MAP_ENTRIES {
                return module_err(format!(
                    "the module's stack maps are too large (more than {MAX_STACK_MAP_ENTRIES} entries)"
                ));
            }
            Ok(info)
        })
        .collect()
}

/// Sets each function's `max_stack` to what it needs, then verifies: the
/// compiler's way of filling in the one number it does not track itself.
pub fn infer_max_stack(m: &mut Module) -> Result<(), VerifyError> {
    tables::check_tables(m)?;
    for i in 0..m.functions.len() {
        let info = dataflow::verify_function(m, i as u32, &m.functions[i], true)?;
        m.functions[i].max_stack = info.max_stack;
    }
    Ok(())
}
