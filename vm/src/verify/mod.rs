//! The verifier: the trust boundary between bytes and execution.
//!
//! Nothing runs until [`verify`] accepts the whole module, however it was
//! made (decoded from a file or built in memory: nothing here relies on
//! the decoder's checks). It checks the module's tables (`tables`: every
//! index in range, types well formed and acyclic, counts within the format's
//! limits, entry points of the right shape) and then every function by
//! abstract interpretation (`dataflow`, with the rule of each instruction in
//! `rules`) in the manner of the JVM's type checker: each reachable
//! instruction is given the types of the operand stack and the set of
//! initialized locals, and
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
//!
//! Its own cost is bounded whatever the input: the table checks are linear
//! in the tables' size, and each function's analysis may do at most
//! [`WORK_PER_BYTE`] units of work per byte of the function and keep at
//! most [`MAX_VERIFY_CELLS`] cells of state, or the module is rejected as
//! too complex.

mod dataflow;
mod rules;
mod tables;

use crate::module::*;
use std::fmt;

/// Work units the verification of a function may use per byte the function
/// takes in a `.bc` file (its entry in the functions section: name,
/// signature, locals, code and line table, as
/// [`crate::format::encoded_function_len`] counts them). Beyond that the
/// function is rejected as too complex, so verifying a module costs at most
/// this many units per byte of its file.
///
/// Units are weighted to take about the same time each (see `dataflow`):
/// interpreting an instruction costs 8, running a block 24 and merging its
/// state into a successor 8, each besides one unit per word of state
/// copied, compared or merged (a 64-bit word of initialized-locals bits, or
/// an operand-stack slot). The densest code that verifies in one pass, a
/// chain of jumps, uses 10 units per byte; compiled programs use at most 5
/// (the examples, golden and benchmark programs) to 9 (the fuzz corpora),
/// so the budget leaves a wide margin. A hostile function reaches it only
/// by making the analysis go round an irreducible loop many times, or keep
/// or compare a deep stack or many locals at many branch targets, and is
/// then stopped in time linear in its size (about 120 ns per byte on the
/// project's machine, at worst).
pub const WORK_PER_BYTE: u64 = 64;

/// Memory budget of one function's verification: the cells of all the
/// states kept at branch targets (a stack slot is one cell, a word of
/// initialized-locals bits two, and each state 16 more). Beyond it a
/// function is rejected as too complex rather than risking huge memory use.
pub const MAX_VERIFY_CELLS: usize = 1 << 24;

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
    pub kind: VerifyErrorKind,
}

/// Whether a rejected module is wrong, or only too large: a compiler that
/// produced it reports the second as a limit of the program, the first as
/// its own bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyErrorKind {
    /// The module breaks a rule.
    Invalid,
    /// A function's operand stack passes the format's limit.
    StackTooDeep,
    /// A table, string, function or the whole module passes a limit of the
    /// format, or a function needs more than verification's budgets.
    TooLarge,
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
    /// The operand stack height before each instruction (`u32::MAX` where
    /// no path reaches), for translation.
    pub heights: Vec<u32>,
    /// For each `field.get` and `field.set` reached, the struct type whose
    /// field it reads or writes ([`NO_OWNER`] elsewhere, and for a type
    /// number that does not fit below it): compiled code knows a write to
    /// a field of one struct leaves every other struct's fields as they
    /// were.
    pub owners: Vec<u16>,
    /// For each `array.get`, `array.set` and `array.len` reached, whether
    /// its array is a `[bool]`, whose elements are bytes (see
    /// `heap::Items`): compiled code reads and writes them as bytes.
    pub byte_elements: Vec<bool>,
}

/// [`FuncInfo::owners`] of an instruction that is no field access.
pub const NO_OWNER: u16 = u16::MAX;

impl FuncInfo {
    pub fn refs_at(&self, index: u32) -> &[u32] {
        refs_at(&self.safepoints, index)
    }
}

/// The map of safepoint `index` in `maps` (ascending by index), or none.
pub fn refs_at(maps: &[Safepoint], index: u32) -> &[u32] {
    match maps.binary_search_by_key(&index, |(i, _)| *i) {
        Ok(k) => &maps[k].1,
        Err(_) => &[],
    }
}

fn module_err<T>(msg: impl Into<String>) -> Result<T, VerifyError> {
    Err(VerifyError {
        func: None,
        offset: None,
        message: msg.into(),
        kind: VerifyErrorKind::Invalid,
    })
}

/// A module that passes a size limit of the format.
fn module_too_large<T>(msg: impl Into<String>) -> Result<T, VerifyError> {
    Err(VerifyError {
        kind: VerifyErrorKind::TooLarge,
        ..module_err::<()>(msg).unwrap_err()
    })
}

/// Verifies a module; on success returns the stack maps of each function.
pub fn verify(m: &Module) -> Result<Vec<FuncInfo>, VerifyError> {
    verify_with_stats(m).0
}

/// Work one function's verification used, and its budget
/// ([`WORK_PER_BYTE`] times the bytes the function takes in a file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionStats {
    pub work: u64,
    pub budget: u64,
}

/// What verification cost: for each function verified, in order (up to
/// and including the one that failed, if one did).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyStats {
    pub functions: Vec<FunctionStats>,
}

impl VerifyStats {
    /// Total work units.
    pub fn work(&self) -> u64 {
        self.functions.iter().map(|f| f.work).sum()
    }

    /// Total budget: [`WORK_PER_BYTE`] times the bytes of all functions.
    pub fn budget(&self) -> u64 {
        self.functions.iter().map(|f| f.budget).sum()
    }

    /// The largest share of its budget any function used, as work units
    /// per byte of that function (at most [`WORK_PER_BYTE`]).
    pub fn peak_work_per_byte(&self) -> f64 {
        self.functions
            .iter()
            .map(|f| f.work as f64 * WORK_PER_BYTE as f64 / f.budget.max(1) as f64)
            .fold(0.0, f64::max)
    }
}

/// [`verify`], also reporting the work it did: for tests that bound the
/// verifier's cost on hostile modules, and for measurements.
pub fn verify_with_stats(m: &Module) -> (Result<Vec<FuncInfo>, VerifyError>, VerifyStats) {
    let mut stats = VerifyStats::default();
    let r = verify_counted(m, &mut stats);
    (r, stats)
}

fn verify_counted(m: &Module, stats: &mut VerifyStats) -> Result<Vec<FuncInfo>, VerifyError> {
    let sizes = tables::check_tables(m)?;
    let mut entries = 0usize;
    let mut out = Vec::with_capacity(m.functions.len());
    for (i, f) in m.functions.iter().enumerate() {
        let info = dataflow::verify_function(m, i as u32, f, sizes[i], false, stats)?;
        entries += info.safepoints.iter().map(|(_, r)| r.len()).sum::<usize>();
        if entries > MAX_STACK_MAP_ENTRIES {
            return module_err(format!(
                "the module's stack maps are too large (more than {MAX_STACK_MAP_ENTRIES} entries)"
            ));
        }
        out.push(info);
    }
    Ok(out)
}

/// The operand stack height before each instruction of function `index`
/// (`u32::MAX` where no path reaches), for a compiler that places code by
/// it: the compiler returns from inside an expression (`x?`) by dropping
/// what that expression's enclosing ones have on the stack. The function
/// is verified as [`infer_max_stack`] does.
pub fn stack_heights(m: &Module, index: u32) -> Result<Vec<u32>, VerifyError> {
    let sizes = tables::check_tables(m)?;
    let mut stats = VerifyStats::default();
    let f = &m.functions[index as usize];
    let info = dataflow::verify_function(m, index, f, sizes[index as usize], true, &mut stats)?;
    Ok(info.heights)
}

/// Sets each function's `max_stack` to what it needs, then verifies: the
/// compiler's way of filling in the one number it does not track itself.
pub fn infer_max_stack(m: &mut Module) -> Result<(), VerifyError> {
    let sizes = tables::check_tables(m)?;
    let mut stats = VerifyStats::default();
    for (i, bytes) in sizes.into_iter().enumerate() {
        let info =
            dataflow::verify_function(m, i as u32, &m.functions[i], bytes, true, &mut stats)?;
        m.functions[i].max_stack = info.max_stack;
    }
    Ok(())
}
