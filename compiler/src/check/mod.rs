//! Name resolution and type checking: from syntax trees to the typed
//! program in [`crate::hir`].
//!
//! Checking runs in phases over all modules of a program: collect the names
//! each module declares; resolve struct fields, enum variants and function
//! signatures; check constant initializers (in dependency order, lazily, so
//! cycles are found); then check every function body. Errors are collected,
//! never thrown: a failed expression gets the type `Error`, which agrees
//! with everything, so each mistake is reported once and checking goes on.
//!
//! The phases live in their own files: `decls` (names, declarations,
//! signatures, constants), `stmts` (statements and patterns), `exprs`
//! (expressions) and `calls` (calls, built-ins and methods); `scopes`
//! holds the functions being checked and their local names;
//! `types` resolves written types and holds every type to the bytecode
//! format's limits; `generics` declares, checks and instantiates generic
//! declarations and infers type arguments, `generic_uses` checks their
//! uses, `tuples` the tuple forms, and `results` `?` and what is lowered
//! to a prelude `Result`. Every lookup is by hash, and what a declaration over a
//! format limit declares is cut to the limit, so that checking stays
//! linear in the size of the program however it is written.

use crate::ast::{self, BinOp, Span, UnOp};
use crate::diag::{Diagnostic, FileId, MAX_ERRORS};
use crate::hir::*;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use tern_stdlib::{Builtin, Lowering, Param, Prim, Receiver, StdFn, StdModule};
use tern_vm::format::limits::{MAX_FIELDS, MAX_PARAMS, MAX_VARIANTS};

mod calls;
mod decls;
mod exprs;
mod generic_uses;
mod generics;
mod results;
mod scopes;
mod stmts;
mod tuples;
mod types;

pub use stmts::always_returns;

use generics::{GenKind, Owner};
use scopes::{Binding, FnCtx, VarRef};

/// One parsed source file and the modules its imports name.
pub struct ModuleSrc {
    pub file: FileId,
    /// `math`, `geometry`; the main file's stem for the root.
    pub name: String,
    pub ast: ast::File,
    pub imports: Vec<(ast::Ident, ImportTarget)>,
}

#[derive(Clone, Copy, Debug)]
pub enum ImportTarget {
    User(usize),
    Std(&'static StdModule),
}

#[derive(Clone, Copy, Debug)]
enum Sym {
    Fn(FuncId),
    Struct(StructId),
    Enum(EnumId),
    Const(ConstId),
    Module(ImportTarget),
    /// A function of an `extern` block (an index into `hosts`).
    Host(u32),
    /// A generic struct, enum or function (an index into `generics`).
    Generic(GenId),
}

/// A generic declaration, by its index in `Checker::generics`.
type GenId = u32;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum TypeKey {
    Struct(StructId),
    Enum(EnumId),
}

struct FuncSig {
    /// Shared, so that checking a call copies no list of types.
    params: Rc<[Ty]>,
    ret: Ty,
    module: usize,
    /// Where the declaration is: item index, and method index for methods.
    decl: (usize, Option<usize>),
    /// For an instance of a generic function: what it instantiates.
    inst: Option<Rc<generics::FnInst>>,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum ConstState {
    Unchecked,
    InProgress,
    Done,
}

struct ConstDecl {
    module: usize,
    item: usize,
    state: ConstState,
}

/// What a path of names (`a`, `a.b`, `a.b.c`) denotes when it is not a value.
#[derive(Clone, Copy, Debug)]
enum PathRes {
    Module(ImportTarget),
    Type(TypeKey),
    Fn(FuncId),
    Const(ConstId),
    StdConst(f64),
    StdFns(&'static StdModule, &'static str),
    Variant(EnumId, u16),
    Host(u32),
    /// A generic struct, enum or function, not yet instantiated.
    Generic(GenId),
    /// A variant of a generic enum: `Option.None`.
    GenVariant(GenId, u16),
}

/// Longest name kept for showing (a struct's or enum's, in messages and
/// traces) or copied into another name (a method's type, a closure's
/// enclosing function): longer ones are cut short, so that a long name
/// written once is not copied again and again.
const MAX_NAME_SHOWN: usize = 200;

/// How deeply expressions and blocks may nest; deeper is a compile error
/// (it keeps the checker's and code generator's recursion bounded).
pub const MAX_NESTING: u32 = 500;

/// How many binary operators the left spines of the chains being checked
/// may hold at once. A chain `a + b + c ...` is flat code and does not
/// count as nesting, but each operator is still a level of the checker's
/// and code generator's recursion (about a kilobyte of the compiler's
/// stack), so this keeps that recursion inside the stack.
pub const MAX_CHAIN: u32 = 10_000;

pub struct Checker<'a> {
    mods: &'a [ModuleSrc],
    /// The bodies of the functions not checked yet.
    bodies: Bodies,
    lines: &'a dyn Fn(FileId, usize) -> u32,
    diags: Vec<Diagnostic>,
    scopes: Vec<HashMap<String, Sym>>,
    structs: Vec<StructDef>,
    enums: Vec<EnumDef>,
    sigs: Vec<FuncSig>,
    methods: HashMap<(TypeKey, String), FuncId>,
    const_decls: Vec<ConstDecl>,
    consts: Vec<Option<(Ty, Expr)>>,
    const_order: Vec<ConstId>,
    funcs: Vec<Option<Func>>,
    /// Functions of `extern` blocks; signatures filled in with the others.
    hosts: Vec<Rc<HostRef>>,
    fcx: Vec<FnCtx>,
    cur_mod: usize,
    depth: u32,
    /// Operators on the left spines being checked (see [`MAX_CHAIN`]).
    spine: u32,
    /// Nesting depths of the function types met, by the identity of their
    /// parts (see `types.rs`).
    fn_depths: HashMap<(usize, usize), (u32, Ty)>,
    /// Each struct's fields by name.
    field_index: Vec<HashMap<String, u16>>,
    /// Each enum's variants by name.
    variant_index: Vec<HashMap<String, u16>>,
    /// All variants by name, in enum order.
    variants_named: HashMap<String, Vec<(EnumId, u16)>>,
    /// The module each enum is in scope in (none if its name was taken).
    enum_scope: Vec<Option<usize>>,
    /// The first declaration of each extern function, by capability and
    /// name, as an index into `hosts`.
    host_first: HashMap<(String, String), usize>,
    /// The module holding `main`, and the prelude's (`Option`, `Result`),
    /// whose names every module sees.
    root: usize,
    prelude: Option<usize>,
    /// Generic declarations and their instances (see `generics.rs`).
    gen: generics::Generics,
}

fn prim(p: Prim) -> Ty {
    match p {
        Prim::Int => Ty::Int,
        Prim::Float => Ty::Float,
        Prim::Bool => Ty::Bool,
        Prim::Str => Ty::Str,
        Prim::Unit => Ty::Unit,
    }
}

const EXTERN_TYPES: &str =
    "extern functions take and return only int, float, bool, str, and arrays and maps of them";

/// Whether values of type `t` can be copied to and from a host.
fn crosses_host(t: &Ty, is_result: bool) -> bool {
    match t {
        Ty::Int | Ty::Float | Ty::Bool | Ty::Str | Ty::Error => true,
        Ty::Unit => is_result,
        Ty::Array(e) => crosses_host(e, false),
        Ty::Map(k, v) => crosses_host(k, false) && crosses_host(v, false),
        Ty::Struct(_) | Ty::Enum(_) | Ty::Fn(..) => false,
    }
}

/// Whether `t` may be a map key (the checker's stand-ins for type
/// parameters may: an instance with another type is checked again).
fn key_type(t: &Ty, standins: &HashSet<StructId>) -> bool {
    match t {
        Ty::Int | Ty::Str | Ty::Bool | Ty::Error => true,
        Ty::Struct(s) => standins.contains(s),
        _ => false,
    }
}

fn e(kind: ExprKind, ty: Ty, line: u32) -> Expr {
    Expr { kind, ty, line }
}

/// Checks a whole program; `root` is the module holding `main`. The
/// functions' bodies are taken out of the syntax trees and freed as they
/// are checked.
pub fn check(
    mods: &mut [ModuleSrc],
    root: usize,
    prelude: Option<usize>,
    lines: &dyn Fn(FileId, usize) -> u32,
) -> Result<Program, Vec<Diagnostic>> {
    let bodies = take_bodies(mods);
    let mods: &[ModuleSrc] = mods;
    let mut c = Checker {
        mods,
        bodies,
        lines,
        diags: Vec::new(),
        scopes: vec![HashMap::new(); mods.len()],
        structs: Vec::new(),
        enums: Vec::new(),
        sigs: Vec::new(),
        methods: HashMap::new(),
        const_decls: Vec::new(),
        consts: Vec::new(),
        const_order: Vec::new(),
        funcs: Vec::new(),
        hosts: Vec::new(),
        fcx: Vec::new(),
        cur_mod: root,
        depth: 0,
        spine: 0,
        fn_depths: HashMap::new(),
        field_index: Vec::new(),
        variant_index: Vec::new(),
        variants_named: HashMap::new(),
        enum_scope: Vec::new(),
        host_first: HashMap::new(),
        root,
        prelude,
        gen: Default::default(),
    };
    c.collect_names();
    c.resolve_declarations();
    for id in 0..c.const_decls.len() {
        c.check_const(id as ConstId);
    }
    c.check_generic_declarations();
    // Instances of generic functions are added as bodies are checked;
    // closures are checked where they are written.
    let mut id = 0;
    while id < c.sigs.len() {
        if c.funcs[id].is_none() {
            c.check_function(id as FuncId);
        }
        id += 1;
    }
    let main = c.find_main(root);
    if !c.diags.is_empty() {
        return Err(c.diags);
    }
    Ok(Program {
        structs: c.structs,
        enums: c.enums,
        funcs: c
            .funcs
            .into_iter()
            .map(|f| f.expect("every function was checked"))
            .collect(),
        consts: c
            .consts
            .into_iter()
            .map(|k| k.expect("every constant was checked"))
            .collect(),
        const_order: c.const_order,
        main,
        files: Vec::new(),
    })
}

/// Function bodies by where they are declared: module, item, and method.
type Bodies = HashMap<(usize, usize, Option<usize>), ast::Block>;

/// Takes every function's body out of the syntax trees.
fn take_bodies(mods: &mut [ModuleSrc]) -> Bodies {
    let mut out = HashMap::new();
    let mut take = |at, f: &mut ast::FnDecl| {
        let empty = ast::Block {
            stmts: Vec::new(),
            span: f.body.span,
        };
        out.insert(at, std::mem::replace(&mut f.body, empty));
    };
    for (mi, m) in mods.iter_mut().enumerate() {
        for (ii, item) in m.ast.items.iter_mut().enumerate() {
            match item {
                ast::Item::Fn(f) => take((mi, ii, None), f),
                ast::Item::Impl { methods, .. } => {
                    for (k, f) in methods.iter_mut().enumerate() {
                        take((mi, ii, Some(k)), f);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

impl<'a> Checker<'a> {
    fn file(&self) -> FileId {
        self.mods[self.cur_mod].file
    }

    /// Records an error, unless more than [`MAX_ERRORS`] are recorded
    /// already (checking goes on: its time is linear anyway). Inside an
    /// instance of a generic declaration, the message names the instance.
    fn error(&mut self, span: Span, msg: impl Into<String>) {
        if self.diags.len() <= MAX_ERRORS {
            let file = self.file();
            let mut msg = msg.into();
            if let Some(inst) = &self.gen.note {
                msg.push_str(&format!(" (in `{inst}`)"));
            }
            self.diags.push(Diagnostic::new(file, span, msg));
        }
    }

    fn line(&self, span: Span) -> u32 {
        (self.lines)(self.file(), span.lo)
    }

    /// The type a `let`, `var` or `const` gets: the annotation if there is
    /// one (the value must agree), else the value's type, never unit.
    fn binding_type(&mut self, want: Option<Ty>, x: &Expr, span: Span, no_value: &str) -> Ty {
        let ty = match want {
            Some(w) => {
                self.expect_ty(&x.ty, &w, span);
                w
            }
            None => x.ty.clone(),
        };
        if ty == Ty::Unit {
            self.error(span, no_value);
        }
        ty
    }

    fn qualified(&self, module: usize, name: &str) -> String {
        // The root module's names are bare (and the prelude's); imported
        // ones carry the module.
        if module == self.root || Some(module) == self.prelude {
            name.to_string()
        } else {
            format!("{}.{}", self.mods[module].name, name)
        }
    }

    /// The qualified name of a struct or enum, cut short if very long.
    fn shown_name(&self, module: usize, name: &str) -> String {
        let name = crate::diag::shorten(name, MAX_NAME_SHOWN);
        self.qualified(module, &name)
    }

    // ------------------------------------------------------------ phase 1

    /// Declares `name` in `module`; false if the name is taken.
    fn declare(&mut self, module: usize, name: &ast::Ident, sym: Sym) -> bool {
        if self.scopes[module].contains_key(&name.name) {
            self.cur_mod = module;
            self.error(
                name.span,
                format!("`{}` is defined more than once in this module", name.name),
            );
            return false;
        }
        self.scopes[module].insert(name.name.clone(), sym);
        true
    }
}

/// Names for a message, in backquotes: the first few of them, then `...`.
fn listed<'n>(names: impl IntoIterator<Item = &'n String>) -> String {
    const SHOWN: usize = 8;
    let mut names = names.into_iter();
    let mut out: Vec<String> = names
        .by_ref()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.next().is_some() {
        out.push("...".into());
    }
    out.join(", ")
}

/// Whether `name` is a built-in function (see `tern_stdlib::BUILTINS`).
fn is_builtin(name: &str) -> bool {
    tern_stdlib::builtins(name).next().is_some()
}
