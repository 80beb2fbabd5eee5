//! Local names: the functions being checked (a closure is checked inside
//! the function that holds it), their scopes, and captures.
//!
//! Every lookup is a hash lookup, never a scan of the names in scope: a
//! function may have hundreds of thousands of locals, and a closure may
//! capture thousands.

use super::Checker;
use crate::ast::Span;
use crate::hir::{Capture, CaptureSource, Func, Local, LocalId, Ty};
use std::collections::{HashMap, HashSet};
use tern_vm::format::limits::MAX_TYPE_DEPTH;

/// How a local came to be: what an assignment to it is told.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Binding {
    Var,
    Let,
    Param,
    LoopVar,
    Pattern,
}

impl Binding {
    pub(super) fn mutable(self) -> bool {
        self == Binding::Var
    }

    /// Why a local bound this way cannot be assigned.
    pub(super) fn immutable_because(self) -> &'static str {
        match self {
            Binding::Var => "",
            Binding::Let => "it is declared with `let`; declare it with `var` to change it",
            Binding::Param => "it is a parameter; copy it into a `var` to change it",
            Binding::LoopVar => "it is a loop variable, fresh in each iteration",
            Binding::Pattern => "it is bound by a pattern",
        }
    }
}

/// A function being checked.
pub(super) struct FnCtx {
    pub(super) func: Func,
    pub(super) bindings: Vec<Binding>,
    /// The locals in scope by name, the innermost (visible) one last.
    names: HashMap<String, Vec<LocalId>>,
    /// The locals each open scope declared, the innermost scope last.
    scopes: Vec<Vec<LocalId>>,
    /// The index of each capture, by what it captures.
    capture_of: HashMap<CaptureSource, u32>,
    capture_names: HashSet<String>,
    /// The loops around the code being checked, innermost last: each one's
    /// label and the `expr_blocks` it was entered at.
    pub(super) loops: Vec<(Option<String>, u32)>,
    /// How many blocks of `if` and `match` expressions are open: a
    /// `return`, `break` or `continue` may not leave one (operands may be
    /// on the stack there).
    pub(super) expr_blocks: u32,
    /// Checking a constant initializer: no calls to user functions.
    pub(super) const_mode: bool,
}

impl FnCtx {
    pub(super) fn find(&self, name: &str) -> Option<LocalId> {
        self.names.get(name).and_then(|ids| ids.last().copied())
    }

    pub(super) fn captures_name(&self, name: &str) -> bool {
        self.capture_names.contains(name)
    }

    /// Opens a scope.
    pub(super) fn enter(&mut self) {
        self.scopes.push(Vec::new());
    }

    /// Closes the innermost scope: its locals go out of sight.
    pub(super) fn leave(&mut self) {
        for id in self.scopes.pop().unwrap_or_default().into_iter().rev() {
            let name = &self.func.locals[id as usize].name;
            if let Some(ids) = self.names.get_mut(name) {
                ids.pop();
                if ids.is_empty() {
                    self.names.remove(name);
                }
            }
        }
    }
}

pub(super) enum VarRef {
    Local(LocalId),
    Capture(u32),
}

impl Checker<'_> {
    /// Starts checking a function (or closure) declared at `span`.
    pub(super) fn push_fn(&mut self, name: String, ret: Ty, line: u32, span: Span) {
        self.fcx.push(FnCtx {
            func: Func {
                name,
                file: self.file(),
                params: 0,
                locals: vec![],
                ret,
                captures: vec![],
                body: vec![],
                line,
                span,
            },
            bindings: vec![],
            names: HashMap::new(),
            scopes: vec![vec![]],
            capture_of: HashMap::new(),
            capture_names: HashSet::new(),
            loops: vec![],
            expr_blocks: 0,
            const_mode: false,
        });
    }

    pub(super) fn declare_local(&mut self, name: &str, ty: Ty, binding: Binding) -> LocalId {
        let cx = self.fcx.last_mut().expect("inside a function");
        let id = cx.func.locals.len() as LocalId;
        cx.func.locals.push(Local {
            name: name.to_string(),
            ty,
            boxed: false,
        });
        cx.bindings.push(binding);
        cx.names.entry(name.to_string()).or_default().push(id);
        cx.scopes.last_mut().expect("a scope is open").push(id);
        id
    }

    /// The variable `name` (used at `span`) of the innermost function that
    /// has one, captured into each closure in between; its type, and
    /// how it was bound.
    pub(super) fn lookup_var(&mut self, name: &str, span: Span) -> Option<(VarRef, Ty, Binding)> {
        let n = self.fcx.len();
        let (depth, id) = (0..n)
            .rev()
            .find_map(|d| self.fcx[d].find(name).map(|id| (d, id)))?;
        let ty = self.fcx[depth].func.locals[id as usize].ty.clone();
        let binding = self.fcx[depth].bindings[id as usize];
        let mutable = binding.mutable();
        if depth == n - 1 {
            return Some((VarRef::Local(id), ty, binding));
        }
        // A captured `var` moves into a cell, a type one level deeper.
        if mutable && !self.fcx[depth].func.locals[id as usize].boxed {
            self.fcx[depth].func.locals[id as usize].boxed = true;
            if !self.fits_in_cell(&ty) {
                self.error(
                    span,
                    format!("cannot capture `{name}`: as a captured `var` its type would be nested more than {MAX_TYPE_DEPTH} levels deep"),
                );
            }
        }
        let mut src = CaptureSource::Local(id);
        for d in depth + 1..n {
            let cx = &mut self.fcx[d];
            let idx = match cx.capture_of.get(&src) {
                Some(&i) => i,
                None => {
                    let i = cx.func.captures.len() as u32;
                    cx.func.captures.push(Capture {
                        ty: ty.clone(),
                        boxed: mutable,
                        source: src,
                    });
                    cx.capture_of.insert(src, i);
                    cx.capture_names.insert(name.to_string());
                    i
                }
            };
            src = CaptureSource::Capture(idx);
        }
        match src {
            CaptureSource::Capture(i) => Some((VarRef::Capture(i), ty, binding)),
            CaptureSource::Local(_) => unreachable!("a capture was made for each closure"),
        }
    }
}
