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
//! `scopes` holds the functions being checked and their local names;
//! `types` resolves written types and holds every type to the bytecode
//! format's limits. Every lookup is by hash, and what a declaration over a
//! format limit declares is cut to the limit, so that checking stays
//! linear in the size of the program however it is written.

use crate::ast::{self, BinOp, Span, UnOp};
use crate::diag::{Diagnostic, FileId, MAX_ERRORS};
use crate::hir::*;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use tern_stdlib::{Lowering, Prim, StdFn, StdModule};
use tern_vm::format::limits::{MAX_FIELDS, MAX_PARAMS, MAX_VARIANTS};
use tern_vm::Instr;

mod scopes;
mod types;

use scopes::{FnCtx, VarRef};

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
}

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
}

/// Longest name kept for showing (a struct's or enum's, in messages and
/// traces) or copied into another name (a method's type, a closure's
/// enclosing function): longer ones are cut short, so that a long name
/// written once is not copied again and again.
const MAX_NAME_SHOWN: usize = 200;

/// How deeply expressions and blocks may nest; deeper is a compile error
/// (it keeps the checker's and code generator's recursion bounded).
pub const MAX_NESTING: u32 = 500;

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

fn e(kind: ExprKind, ty: Ty, line: u32) -> Expr {
    Expr { kind, ty, line }
}

/// Checks a whole program; `root` is the module holding `main`. The
/// functions' bodies are taken out of the syntax trees and freed as they
/// are checked.
pub fn check(
    mods: &mut [ModuleSrc],
    root: usize,
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
        fn_depths: HashMap::new(),
        field_index: Vec::new(),
        variant_index: Vec::new(),
        variants_named: HashMap::new(),
        enum_scope: Vec::new(),
        host_first: HashMap::new(),
    };
    c.collect_names();
    c.resolve_declarations();
    for id in 0..c.const_decls.len() {
        c.check_const(id as ConstId);
    }
    for id in 0..c.sigs.len() {
        c.check_function(id as FuncId);
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
    /// already (checking goes on: its time is linear anyway).
    fn error(&mut self, span: Span, msg: impl Into<String>) {
        if self.diags.len() <= MAX_ERRORS {
            let file = self.file();
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
        // The root module's names are bare; imported ones carry the module.
        if module == self.root_index() {
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

    fn root_index(&self) -> usize {
        self.mods.len() - 1
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

    fn collect_names(&mut self) {
        for (mi, m) in self.mods.iter().enumerate() {
            for (ident, target) in &m.imports {
                self.declare(mi, ident, Sym::Module(*target));
            }
            for (ii, item) in m.ast.items.iter().enumerate() {
                match item {
                    ast::Item::Struct { name, .. } => {
                        let id = self.structs.len() as StructId;
                        self.structs.push(StructDef {
                            name: self.shown_name(mi, &name.name),
                            fields: vec![],
                        });
                        self.field_index.push(HashMap::new());
                        self.declare(mi, name, Sym::Struct(id));
                    }
                    ast::Item::Enum { name, .. } => {
                        let id = self.enums.len() as EnumId;
                        self.enums.push(EnumDef {
                            name: self.shown_name(mi, &name.name),
                            variants: vec![],
                        });
                        self.variant_index.push(HashMap::new());
                        let declared = self.declare(mi, name, Sym::Enum(id));
                        self.enum_scope.push(declared.then_some(mi));
                    }
                    ast::Item::Fn(f) => {
                        let id = self.sigs.len() as FuncId;
                        self.sigs.push(FuncSig {
                            params: Rc::new([]),
                            ret: Ty::Unit,
                            module: mi,
                            decl: (ii, None),
                        });
                        self.funcs.push(None);
                        self.declare(mi, &f.name, Sym::Fn(id));
                    }
                    ast::Item::Const { name, .. } => {
                        let id = self.const_decls.len() as ConstId;
                        self.const_decls.push(ConstDecl {
                            module: mi,
                            item: ii,
                            state: ConstState::Unchecked,
                        });
                        self.consts.push(None);
                        self.declare(mi, name, Sym::Const(id));
                    }
                    ast::Item::Extern { capability, fns } => {
                        for f in fns {
                            let id = self.hosts.len() as u32;
                            self.hosts.push(Rc::new(HostRef {
                                module: capability.name.as_str().into(),
                                name: f.name.name.as_str().into(),
                                params: vec![],
                                ret: Ty::Unit,
                            }));
                            self.declare(mi, &f.name, Sym::Host(id));
                        }
                    }
                    ast::Item::Import(_) | ast::Item::Impl { .. } | ast::Item::Error => {}
                }
            }
        }
    }

    // ------------------------------------------------------------ phase 2

    fn resolve_declarations(&mut self) {
        let mods = self.mods;
        let (mut si, mut ei, mut fi, mut hi) = (0usize, 0usize, 0usize, 0usize);
        // Structs and enums first: signatures may name any of them.
        for (mi, m) in mods.iter().enumerate() {
            self.cur_mod = mi;
            for item in &m.ast.items {
                match item {
                    ast::Item::Struct { name, fields } => {
                        let fields = self.within_limit(fields, MAX_FIELDS, name, "fields");
                        let mut out: Vec<(String, Ty)> = Vec::with_capacity(fields.len());
                        let mut index = HashMap::with_capacity(fields.len());
                        for (n, t) in fields {
                            let ty = self.resolve_type(t);
                            if index.contains_key(&n.name) {
                                self.error(n.span, format!("field `{}` is declared twice", n.name));
                            } else {
                                index.insert(n.name.clone(), out.len() as u16);
                            }
                            out.push((n.name.clone(), ty));
                        }
                        self.structs[si].fields = out;
                        self.field_index[si] = index;
                        si += 1;
                    }
                    ast::Item::Enum { name, variants } => {
                        let variants = self.within_limit(variants, MAX_VARIANTS, name, "variants");
                        let mut out: Vec<(String, Rc<[Ty]>)> = Vec::with_capacity(variants.len());
                        let mut index = HashMap::with_capacity(variants.len());
                        for (n, ts) in variants {
                            let what = format!("fields in variant `{}`", n.name);
                            let ts = self.within_limit(ts, MAX_FIELDS, name, &what);
                            let tys = ts.iter().map(|t| self.resolve_type(t)).collect();
                            if index.contains_key(&n.name) {
                                self.error(
                                    n.span,
                                    format!("variant `{}` is declared twice", n.name),
                                );
                            } else {
                                index.insert(n.name.clone(), out.len() as u16);
                                self.variants_named
                                    .entry(n.name.clone())
                                    .or_default()
                                    .push((ei as EnumId, out.len() as u16));
                            }
                            out.push((n.name.clone(), tys));
                        }
                        self.variant_index[ei] = index;
                        if out.is_empty() {
                            self.error(
                                name.span,
                                format!("enum `{}` needs at least one variant", name.name),
                            );
                            out.push(("<none>".into(), Rc::new([])));
                        }
                        self.enums[ei].variants = out;
                        ei += 1;
                    }
                    _ => {}
                }
            }
        }
        for (mi, m) in mods.iter().enumerate() {
            self.cur_mod = mi;
            for (ii, item) in m.ast.items.iter().enumerate() {
                match item {
                    ast::Item::Fn(f) => {
                        let (params, ret) = self.signature(f, None);
                        self.sigs[fi].params = params.into();
                        self.sigs[fi].ret = ret;
                        fi += 1;
                    }
                    ast::Item::Extern { capability, fns } => {
                        self.extern_block(capability, fns, hi);
                        hi += fns.len();
                    }
                    ast::Item::Impl { ty, methods } => {
                        let key = match self.scopes[mi].get(&ty.name) {
                            Some(Sym::Struct(s)) => TypeKey::Struct(*s),
                            Some(Sym::Enum(s)) => TypeKey::Enum(*s),
                            _ => {
                                self.error(ty.span, format!("`impl` needs a struct or enum of this module, `{}` is not one", ty.name));
                                continue;
                            }
                        };
                        let self_ty = match key {
                            TypeKey::Struct(s) => Ty::Struct(s),
                            TypeKey::Enum(s) => Ty::Enum(s),
                        };
                        for (k, f) in methods.iter().enumerate() {
                            let (params, ret) =
                                self.signature(f, f.has_self.then(|| self_ty.clone()));
                            let id = self.sigs.len() as FuncId;
                            self.sigs.push(FuncSig {
                                params: params.into(),
                                ret,
                                module: mi,
                                decl: (ii, Some(k)),
                            });
                            self.funcs.push(None);
                            let fields_clash = match key {
                                TypeKey::Struct(s) => self.structs[s as usize]
                                    .fields
                                    .iter()
                                    .any(|(n, _)| *n == f.name.name),
                                TypeKey::Enum(_) => false,
                            };
                            if self.methods.contains_key(&(key, f.name.name.clone()))
                                || fields_clash
                            {
                                self.error(
                                    f.name.span,
                                    format!(
                                        "`{}` is already defined for `{}`",
                                        f.name.name, ty.name
                                    ),
                                );
                            }
                            self.methods.insert((key, f.name.name.clone()), id);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The first `max` of a declaration's `items`, and an error at its
    /// `name` if it has more. (Keeping only those bounds the work each use
    /// of the declaration costs while checking goes on.)
    fn within_limit<'i, T>(
        &mut self,
        items: &'i [T],
        max: usize,
        name: &ast::Ident,
        what: &str,
    ) -> &'i [T] {
        if items.len() > max {
            self.error(
                name.span,
                format!(
                    "`{}` has {} {what}, more than the limit of {max}",
                    name.name,
                    items.len()
                ),
            );
            return &items[..max];
        }
        items
    }

    fn signature(&mut self, f: &ast::FnDecl, self_ty: Option<Ty>) -> (Vec<Ty>, Ty) {
        self.resolve_signature(&f.name, self_ty, &f.params, f.ret.as_ref())
    }

    /// Parameter and result types of a function or extern declaration.
    fn resolve_signature(
        &mut self,
        name: &ast::Ident,
        self_ty: Option<Ty>,
        params: &[ast::Param],
        ret: Option<&ast::TypeExpr>,
    ) -> (Vec<Ty>, Ty) {
        let mut out: Vec<Ty> = self_ty.into_iter().collect();
        if out.len() + params.len() > MAX_PARAMS {
            self.error(
                name.span,
                format!("a function takes at most {MAX_PARAMS} parameters"),
            );
        }
        let params = &params[..params.len().min(MAX_PARAMS - out.len())];
        let mut seen: HashSet<&str> = HashSet::new();
        for p in params {
            if !seen.insert(&p.name.name) {
                self.error(
                    p.name.span,
                    format!("parameter `{}` is declared twice", p.name.name),
                );
            }
            out.push(self.resolve_type(&p.ty));
        }
        let ret = ret.map_or(Ty::Unit, |t| self.resolve_type(t));
        (out, ret)
    }

    /// Resolves the signatures of an `extern` block's functions, which
    /// start at `hosts[first]`. Only values the host boundary copies may
    /// cross it.
    fn extern_block(&mut self, capability: &ast::Ident, fns: &[ast::ExternFn], first: usize) {
        let cap = &capability.name;
        if !tern_vm::module::is_capability_name(cap) {
            self.error(
                capability.span,
                format!("`{cap}` is not a capability name (letters, digits and `_`, in parts separated by `.`)"),
            );
        }
        for (k, f) in fns.iter().enumerate() {
            let (params, ret) = self.resolve_signature(&f.name, None, &f.params, f.ret.as_ref());
            for (p, t) in f.params.iter().zip(&params) {
                if !crosses_host(t, false) {
                    self.error(p.ty.span, EXTERN_TYPES);
                }
            }
            if let Some(t) = &f.ret {
                if !crosses_host(&ret, true) {
                    self.error(t.span, EXTERN_TYPES);
                }
            }
            // One import has one signature, whoever declares it.
            let std_sig = tern_stdlib::host_functions()
                .into_iter()
                .find(|(m, n, _, _)| m == cap && *n == f.name.name)
                .map(|(_, _, ps, r)| (ps.iter().map(|p| prim(*p)).collect::<Vec<_>>(), prim(r)));
            let key = (cap.clone(), f.name.name.clone());
            let earlier = self.host_first.get(&key).map(|&i| {
                let h = &self.hosts[i];
                (h.params.clone(), h.ret.clone())
            });
            self.host_first.entry(key).or_insert(first + k);
            if let Some((ps, r)) = std_sig.or(earlier) {
                if ps != params || r != ret {
                    let shown: Vec<String> = ps.iter().map(|t| self.ty_name(t)).collect();
                    self.error(
                        f.name.span,
                        format!(
                            "`{cap}.{}` is already imported as ({}) -> {}",
                            f.name.name,
                            shown.join(", "),
                            self.ty_name(&r)
                        ),
                    );
                }
            }
            let h = &mut self.hosts[first + k];
            let h = Rc::get_mut(h).expect("host signatures are filled before use");
            h.params = params;
            h.ret = ret;
        }
    }

    fn find_main(&mut self, root: usize) -> Option<FuncId> {
        self.cur_mod = root;
        let id = match self.scopes[root].get("main") {
            Some(Sym::Fn(id)) => *id,
            // No main: a library module (a plugin), run only through its
            // exports.
            _ => return None,
        };
        let sig = &self.sigs[id as usize];
        let ok_params = sig.params.is_empty() || *sig.params == [Ty::array(Ty::Str)];
        let ok_ret = matches!(sig.ret, Ty::Unit | Ty::Int | Ty::Error);
        if !ok_params || !ok_ret {
            let span = self.fn_decl(id).name.span;
            self.error(
                span,
                "`main` must be `fn main()` or `fn main(args: [str])`, optionally returning int",
            );
        }
        Some(id)
    }

    fn fn_decl(&self, id: FuncId) -> &'a ast::FnDecl {
        let sig = &self.sigs[id as usize];
        match (&self.mods[sig.module].ast.items[sig.decl.0], sig.decl.1) {
            (ast::Item::Fn(f), None) => f,
            (ast::Item::Impl { methods, .. }, Some(k)) => &methods[k],
            _ => unreachable!("function declarations are recorded by position"),
        }
    }

    // ------------------------------------------------------------ paths

    /// Resolves `a`, `a.b` or `a.b.c` to a non-value item, if it names one
    /// and `a` is not a variable in scope.
    fn resolve_path(&self, path: &[ast::Ident]) -> Option<PathRes> {
        let first = &path[0].name;
        if self
            .fcx
            .iter()
            .any(|c| c.find(first).is_some() || c.captures_name(first))
        {
            return None;
        }
        let mut res = match self.scopes[self.cur_mod].get(first) {
            Some(Sym::Fn(f)) => PathRes::Fn(*f),
            Some(Sym::Struct(s)) => PathRes::Type(TypeKey::Struct(*s)),
            Some(Sym::Enum(s)) => PathRes::Type(TypeKey::Enum(*s)),
            Some(Sym::Const(c)) => PathRes::Const(*c),
            Some(Sym::Module(m)) => PathRes::Module(*m),
            Some(Sym::Host(h)) => PathRes::Host(*h),
            None => return None,
        };
        for seg in &path[1..] {
            res = match res {
                PathRes::Module(ImportTarget::User(m)) => match self.scopes[m].get(&seg.name) {
                    Some(Sym::Fn(f)) => PathRes::Fn(*f),
                    Some(Sym::Struct(s)) => PathRes::Type(TypeKey::Struct(*s)),
                    Some(Sym::Enum(s)) => PathRes::Type(TypeKey::Enum(*s)),
                    Some(Sym::Const(c)) => PathRes::Const(*c),
                    Some(Sym::Host(h)) => PathRes::Host(*h),
                    Some(Sym::Module(_)) => return None,
                    // `module.Variant`, when one enum of that module has it.
                    None => {
                        let mut found = self
                            .variants_named
                            .get(&seg.name)
                            .into_iter()
                            .flatten()
                            .filter(|(en, _)| self.enum_scope[*en as usize] == Some(m))
                            .copied();
                        match (found.next(), found.next()) {
                            (Some((en, v)), None) => PathRes::Variant(en, v),
                            _ => return None,
                        }
                    }
                },
                PathRes::Module(ImportTarget::Std(m)) => {
                    if let Some(c) = m.consts.iter().find(|c| c.name == seg.name) {
                        PathRes::StdConst(c.value)
                    } else if let Some(f) = m.fns.iter().find(|f| f.name == seg.name) {
                        PathRes::StdFns(m, f.name)
                    } else {
                        return None;
                    }
                }
                PathRes::Type(TypeKey::Enum(en)) => match self.variant_of(en, &seg.name) {
                    Some(v) => PathRes::Variant(en, v),
                    None => match self.methods.get(&(TypeKey::Enum(en), seg.name.clone())) {
                        Some(f) => PathRes::Fn(*f),
                        None => return None,
                    },
                },
                PathRes::Type(key @ TypeKey::Struct(_)) => {
                    match self.methods.get(&(key, seg.name.clone())) {
                        Some(f) => PathRes::Fn(*f),
                        None => return None,
                    }
                }
                _ => return None,
            };
        }
        Some(res)
    }

    /// Finds the enum variant a bare name means here, preferring `hint`.
    fn bare_variant(&mut self, name: &str, hint: Option<&Ty>, span: Span) -> Option<(EnumId, u16)> {
        if let Some(Ty::Enum(en)) = hint {
            if let Some(v) = self.variant_of(*en, name) {
                return Some((*en, v));
            }
        }
        let found: Vec<(EnumId, u16)> = self
            .variants_named
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(en, _)| self.enum_scope[*en as usize] == Some(self.cur_mod))
            .copied()
            .collect();
        match found.len() {
            0 => None,
            1 => Some(found[0]),
            _ => {
                let names: Vec<String> = found
                    .iter()
                    .map(|(en, _)| format!("`{}.{}`", self.enums[*en as usize].name, name))
                    .collect();
                self.error(
                    span,
                    format!(
                        "`{name}` is a variant of more than one enum; write {}",
                        names.join(" or ")
                    ),
                );
                Some(found[0])
            }
        }
    }

    /// The variant of enum `en` named `name`.
    fn variant_of(&self, en: EnumId, name: &str) -> Option<u16> {
        self.variant_index.get(en as usize)?.get(name).copied()
    }

    /// The field of struct `s` named `name`.
    fn field_of(&self, s: StructId, name: &str) -> Option<usize> {
        self.field_index
            .get(s as usize)?
            .get(name)
            .map(|&i| i as usize)
    }

    // ------------------------------------------------------------ consts

    fn check_const(&mut self, id: ConstId) -> Ty {
        let (module, item, state) = {
            let d = &self.const_decls[id as usize];
            (d.module, d.item, d.state)
        };
        match state {
            ConstState::Done => {
                return self.consts[id as usize]
                    .as_ref()
                    .map_or(Ty::Error, |c| c.0.clone())
            }
            ConstState::InProgress => {
                let (name, span) = match &self.mods[module].ast.items[item] {
                    ast::Item::Const { name, .. } => (name.name.clone(), name.span),
                    _ => unreachable!(),
                };
                let saved = self.cur_mod;
                self.cur_mod = module;
                self.error(span, format!("constant `{name}` depends on itself"));
                self.cur_mod = saved;
                return Ty::Error;
            }
            ConstState::Unchecked => {}
        }
        self.const_decls[id as usize].state = ConstState::InProgress;
        let (ty, value) = match &self.mods[module].ast.items[item] {
            ast::Item::Const { ty, value, .. } => (ty, value),
            _ => unreachable!(),
        };
        let saved_mod = self.cur_mod;
        let saved_fcx = std::mem::take(&mut self.fcx);
        self.cur_mod = module;
        let want = ty.as_ref().map(|t| self.resolve_type(t));
        self.push_fn("<const>".into(), Ty::Unit, 0, value.span);
        self.fcx.last_mut().unwrap().const_mode = true;
        let x = self.expr(value, want.as_ref());
        self.fcx.pop();
        let ty = self.binding_type(want, &x, value.span, "a constant needs a value");
        self.fcx = saved_fcx;
        self.cur_mod = saved_mod;
        self.consts[id as usize] = Some((ty.clone(), x));
        self.const_decls[id as usize].state = ConstState::Done;
        self.const_order.push(id);
        ty
    }

    // ------------------------------------------------------------ functions

    fn check_function(&mut self, id: FuncId) {
        let decl = self.fn_decl(id);
        let sig = &self.sigs[id as usize];
        self.cur_mod = sig.module;
        let params = sig.params.clone();
        let ret = sig.ret.clone();
        let name = match sig.decl.1 {
            None => self.qualified(sig.module, &decl.name.name),
            Some(_) => {
                let owner = match &self.mods[sig.module].ast.items[sig.decl.0] {
                    ast::Item::Impl { ty, .. } => crate::diag::shorten(&ty.name, MAX_NAME_SHOWN),
                    _ => unreachable!(),
                };
                self.qualified(sig.module, &format!("{owner}.{}", decl.name.name))
            }
        };
        let line = self.line(decl.name.span);
        self.push_fn(name, ret.clone(), line, decl.name.span);
        let mut names: Vec<&str> = Vec::new();
        if decl.has_self {
            names.push("self");
        }
        names.extend(decl.params.iter().map(|p| p.name.name.as_str()));
        for (n, t) in names.iter().zip(params.iter()) {
            self.declare_local(n, t.clone(), false);
        }
        self.fcx.last_mut().unwrap().func.params = params.len() as u32;
        let at = {
            let sig = &self.sigs[id as usize];
            (sig.module, sig.decl.0, sig.decl.1)
        };
        let block = self.bodies.remove(&at).expect("each body is checked once");
        let end = block.span.hi;
        let body = self.body(block);
        if ret != Ty::Unit && !ret.is_error() && !always_returns(&body) {
            let span = Span::new(end.saturating_sub(1), end);
            self.error(
                span,
                format!(
                    "function `{}` must return a value of type {} on every path",
                    decl.name.name,
                    self.ty_name(&ret)
                ),
            );
        }
        let mut cx = self.fcx.pop().unwrap();
        cx.func.body = body;
        self.funcs[id as usize] = Some(cx.func);
    }

    /// A function's body, taken by value: each statement's tree is freed
    /// once it is checked, so that the tree and the checked program are
    /// not both whole in memory.
    fn body(&mut self, b: ast::Block) -> Vec<Stmt> {
        self.depth += 1;
        self.fcx.last_mut().unwrap().enter();
        let mut out = Vec::with_capacity(b.stmts.len());
        for s in b.stmts {
            if let Some(s) = self.stmt(&s) {
                out.push(s);
            }
        }
        self.fcx.last_mut().unwrap().leave();
        self.depth -= 1;
        out
    }

    fn block(&mut self, b: &ast::Block) -> Vec<Stmt> {
        if self.depth >= MAX_NESTING {
            self.error(
                b.span,
                format!("block nested more than {MAX_NESTING} levels deep"),
            );
            return vec![];
        }
        self.depth += 1;
        let r = self.block_inner(b);
        self.depth -= 1;
        r
    }

    fn block_inner(&mut self, b: &ast::Block) -> Vec<Stmt> {
        self.fcx.last_mut().unwrap().enter();
        let mut out = Vec::with_capacity(b.stmts.len());
        for s in &b.stmts {
            if let Some(s) = self.stmt(s) {
                out.push(s);
            }
        }
        self.fcx.last_mut().unwrap().leave();
        out
    }

    // ------------------------------------------------------------ statements

    fn stmt(&mut self, s: &ast::Stmt) -> Option<Stmt> {
        let line = self.line(s.span);
        let kind = match &s.kind {
            ast::StmtKind::Error => return None,
            ast::StmtKind::Let(l) => {
                let ast::Let {
                    mutable,
                    name,
                    ty,
                    init,
                } = &**l;
                let want = ty.as_ref().map(|t| self.resolve_type(t));
                let x = self.expr(init, want.as_ref());
                let ty =
                    self.binding_type(want, &x, init.span, "this expression has no value to bind");
                let id = self.declare_local(&name.name, ty, *mutable);
                StmtKind::Let(id, x)
            }
            ast::StmtKind::Expr(x) => StmtKind::Expr(self.expr(x, None)),
            ast::StmtKind::Assign { target, op, value } => {
                return self.assign(target, *op, value, line)
            }
            ast::StmtKind::If { arms, els } => {
                let mut out = Vec::with_capacity(arms.len());
                for arm in arms {
                    let line = self.line(arm.at);
                    let cond = self.expr(&arm.cond, Some(&Ty::Bool));
                    self.expect_ty(&cond.ty, &Ty::Bool, arm.cond.span);
                    let then = self.block(&arm.then);
                    out.push(IfArm { cond, then, line });
                }
                let e = match els {
                    None => vec![],
                    Some(b) => vec![Stmt {
                        kind: StmtKind::Block(self.block(b)),
                        line: self.line(b.span),
                    }],
                };
                StmtKind::If(out, e)
            }
            ast::StmtKind::While { cond, body } => {
                let c = self.expr(cond, Some(&Ty::Bool));
                self.expect_ty(&c.ty, &Ty::Bool, cond.span);
                self.fcx.last_mut().unwrap().loops += 1;
                let b = self.block(body);
                self.fcx.last_mut().unwrap().loops -= 1;
                if matches!(c.kind, ExprKind::Bool(true)) {
                    StmtKind::Loop(b)
                } else {
                    StmtKind::While(Box::new(c), b)
                }
            }
            ast::StmtKind::For(f) => {
                let ast::For {
                    first,
                    second,
                    iter,
                    end,
                    body,
                } = &**f;
                return self.for_stmt(first, second.as_ref(), iter, end.as_ref(), body, line);
            }
            ast::StmtKind::Match { scrutinee, arms } => {
                return self.match_stmt(scrutinee, arms, s.span, line)
            }
            ast::StmtKind::Return(x) => {
                let ret = self.fcx.last().unwrap().func.ret.clone();
                if self.fcx.last().unwrap().const_mode {
                    self.error(s.span, "`return` outside of a function");
                }
                match x {
                    None => {
                        if ret != Ty::Unit && !ret.is_error() {
                            let msg = format!(
                                "this function returns {}; `return` needs a value",
                                self.ty_name(&ret)
                            );
                            self.error(s.span, msg);
                        }
                        StmtKind::Return(None)
                    }
                    Some(x) => {
                        let v = self.expr(x, Some(&ret));
                        if ret == Ty::Unit {
                            if v.ty != Ty::Unit && !v.ty.is_error() {
                                self.error(x.span, "this function returns nothing; remove the value or declare a return type");
                            }
                        } else {
                            self.expect_ty(&v.ty, &ret, x.span);
                        }
                        StmtKind::Return(Some(v))
                    }
                }
            }
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                if self.fcx.last().unwrap().loops == 0 {
                    let what = if matches!(s.kind, ast::StmtKind::Break) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.error(s.span, format!("`{what}` outside of a loop"));
                }
                if matches!(s.kind, ast::StmtKind::Break) {
                    StmtKind::Break
                } else {
                    StmtKind::Continue
                }
            }
            ast::StmtKind::Block(b) => StmtKind::Block(self.block(b)),
        };
        Some(Stmt { kind, line })
    }

    fn assign(
        &mut self,
        target: &ast::Expr,
        op: ast::AssignOp,
        value: &ast::Expr,
        line: u32,
    ) -> Option<Stmt> {
        let (place, ty) = match &target.kind {
            ast::ExprKind::Ident(name) => match self.lookup_var(name, target.span) {
                Some((r, ty, mutable)) => {
                    if !mutable {
                        self.error(
                            target.span,
                            format!("cannot assign to `{name}`: it is not declared with `var`"),
                        );
                    }
                    (
                        match r {
                            VarRef::Local(id) => Place::Local(id),
                            VarRef::Capture(i) => Place::Capture(i),
                        },
                        ty,
                    )
                }
                None => {
                    if self.scopes[self.cur_mod].contains_key(name) {
                        self.error(
                            target.span,
                            format!("cannot assign to `{name}`: only variables can be assigned"),
                        );
                    } else {
                        self.error(target.span, format!("cannot find `{name}` in this scope"));
                    }
                    self.expr(value, None);
                    return None;
                }
            },
            ast::ExprKind::Field(obj, field) => {
                let o = self.expr(obj, None);
                match &o.ty {
                    Ty::Struct(s) => match self.field_of(*s, &field.name) {
                        Some(i) => {
                            let ty = self.structs[*s as usize].fields[i].1.clone();
                            (Place::Field(Box::new(o), i as u16), ty)
                        }
                        None => {
                            let msg = format!(
                                "struct `{}` has no field `{}`",
                                self.structs[*s as usize].name, field.name
                            );
                            self.error(field.span, msg);
                            self.expr(value, None);
                            return None;
                        }
                    },
                    Ty::Error => {
                        self.expr(value, None);
                        return None;
                    }
                    t => {
                        let msg = format!("cannot assign to a field of {}", self.ty_name(t));
                        self.error(target.span, msg);
                        self.expr(value, None);
                        return None;
                    }
                }
            }
            ast::ExprKind::Index(obj, idx) => {
                let o = self.expr(obj, None);
                match o.ty.clone() {
                    Ty::Array(el) => {
                        let i = self.expr(idx, Some(&Ty::Int));
                        self.expect_ty(&i.ty, &Ty::Int, idx.span);
                        (Place::Index(Box::new(o), Box::new(i)), (*el).clone())
                    }
                    Ty::Map(k, v) => {
                        let i = self.expr(idx, Some(&k));
                        self.expect_ty(&i.ty, &k, idx.span);
                        (Place::MapKey(Box::new(o), Box::new(i)), (*v).clone())
                    }
                    Ty::Error => {
                        self.expr(value, None);
                        return None;
                    }
                    t => {
                        let msg = format!("cannot assign into {} by index", self.ty_name(&t));
                        self.error(target.span, msg);
                        self.expr(value, None);
                        return None;
                    }
                }
            }
            _ => {
                self.error(target.span, "cannot assign to this expression");
                self.expr(value, None);
                return None;
            }
        };
        let v = self.expr(value, Some(&ty));
        let kind = match op {
            ast::AssignOp::Set => {
                self.expect_ty(&v.ty, &ty, value.span);
                StmtKind::Assign(place, Box::new(v))
            }
            _ => {
                let bop = match op {
                    ast::AssignOp::Add => BinOp::Add,
                    ast::AssignOp::Sub => BinOp::Sub,
                    ast::AssignOp::Mul => BinOp::Mul,
                    ast::AssignOp::Div => BinOp::Div,
                    _ => BinOp::Rem,
                };
                match self.arith_instr(bop, &ty, &v.ty) {
                    Some((ins, rt)) if rt == ty => StmtKind::Compound(place, ins, Box::new(v)),
                    _ => {
                        if !ty.is_error() && !v.ty.is_error() {
                            let msg = format!(
                                "operator `{}=` cannot be applied to {} and {}",
                                bop.symbol(),
                                self.ty_name(&ty),
                                self.ty_name(&v.ty)
                            );
                            self.error(target.span.to(value.span), msg);
                        }
                        return None;
                    }
                }
            }
        };
        Some(Stmt { kind, line })
    }

    fn for_stmt(
        &mut self,
        first: &ast::Ident,
        second: Option<&ast::Ident>,
        iter: &ast::Expr,
        end: Option<&ast::Expr>,
        body: &ast::Block,
        line: u32,
    ) -> Option<Stmt> {
        let it = self.expr(iter, None);
        let end = end.map(|x| (self.expr(x, Some(&Ty::Int)), x.span));
        self.fcx.last_mut().unwrap().enter();
        self.fcx.last_mut().unwrap().loops += 1;
        let kind = if let Some((hi, hspan)) = end {
            self.expect_ty(&it.ty, &Ty::Int, iter.span);
            self.expect_ty(&hi.ty, &Ty::Int, hspan);
            if let Some(s) = second {
                self.error(s.span, "a range loop binds one variable");
            }
            let var = self.declare_local(&first.name, Ty::Int, false);
            let b = self.block(body);
            Some(StmtKind::ForRange {
                var,
                lo: Box::new(it),
                hi: Box::new(hi),
                body: b,
            })
        } else {
            match it.ty.clone() {
                Ty::Array(el) => {
                    let (index, var) = match second {
                        Some(s) => {
                            let i = self.declare_local(&first.name, Ty::Int, false);
                            (Some(i), self.declare_local(&s.name, (*el).clone(), false))
                        }
                        None => (None, self.declare_local(&first.name, (*el).clone(), false)),
                    };
                    let b = self.block(body);
                    Some(StmtKind::ForArray {
                        index,
                        var,
                        array: Box::new(it),
                        body: b,
                    })
                }
                Ty::Map(k, v) => {
                    let key = self.declare_local(&first.name, (*k).clone(), false);
                    let value = second.map(|s| self.declare_local(&s.name, (*v).clone(), false));
                    let b = self.block(body);
                    Some(StmtKind::ForMap {
                        key,
                        value,
                        map: Box::new(it),
                        body: b,
                    })
                }
                t => {
                    if !t.is_error() {
                        let msg = format!(
                            "cannot iterate over {}; use an array, a map or a range `a..b`",
                            self.ty_name(&t)
                        );
                        self.error(iter.span, msg);
                    }
                    self.declare_local(&first.name, Ty::Error, false);
                    if let Some(s) = second {
                        self.declare_local(&s.name, Ty::Error, false);
                    }
                    self.block(body);
                    None
                }
            }
        };
        self.fcx.last_mut().unwrap().loops -= 1;
        self.fcx.last_mut().unwrap().leave();
        kind.map(|kind| Stmt { kind, line })
    }

    fn match_stmt(
        &mut self,
        scrutinee: &ast::Expr,
        arms: &[ast::Arm],
        span: Span,
        line: u32,
    ) -> Option<Stmt> {
        let s = self.expr(scrutinee, None);
        let sty = s.ty.clone();
        if !matches!(sty, Ty::Enum(_) | Ty::Int | Ty::Str | Ty::Bool | Ty::Error) {
            let msg = format!(
                "cannot match on {}; match works on enums, int, str and bool",
                self.ty_name(&sty)
            );
            self.error(scrutinee.span, msg);
        }
        let mut out = Vec::new();
        // Which of the values to cover (variants; `false`, `true`) the
        // arms cover: a set, so that a match costs its arms, not its enum.
        let total = match &sty {
            Ty::Enum(en) => self.enums[*en as usize].variants.len(),
            Ty::Bool => 2,
            _ => 0,
        };
        let mut covered: HashSet<usize> = HashSet::new();
        let mut catch_all = false;
        for arm in arms {
            let aline = self.line(arm.pat.span);
            self.fcx.last_mut().unwrap().enter();
            let mut binds = Vec::new();
            let test = self.pattern(&arm.pat, &sty, &mut binds, &mut covered, &mut catch_all);
            let body = self.block(&arm.body);
            self.fcx.last_mut().unwrap().leave();
            out.push(Arm {
                test,
                binds,
                body,
                line: aline,
            });
        }
        let exhaustive = catch_all || (total > 0 && covered.len() == total);
        if !exhaustive && !sty.is_error() {
            let missing = match &sty {
                Ty::Enum(en) => {
                    let vs = &self.enums[*en as usize].variants;
                    let names = (0..total)
                        .filter(|i| !covered.contains(i))
                        .map(|i| &vs[i].0);
                    format!(
                        "variant{} {} not covered",
                        if total - covered.len() == 1 { "" } else { "s" },
                        listed(names)
                    )
                }
                Ty::Bool => {
                    let which = if covered.contains(&0) {
                        "`false`"
                    } else if covered.contains(&1) {
                        "`true`"
                    } else {
                        "`true` and `false`"
                    };
                    format!("{which} not covered")
                }
                _ => "add a `_` arm to cover the other values".to_string(),
            };
            self.error(
                Span::new(span.lo, scrutinee.span.hi),
                format!("non-exhaustive match: {missing}"),
            );
        }
        Some(Stmt {
            kind: StmtKind::Match {
                scrutinee: Box::new(s),
                arms: out,
                exhaustive,
            },
            line,
        })
    }

    fn pattern(
        &mut self,
        p: &ast::Pattern,
        sty: &Ty,
        binds: &mut Vec<Bind>,
        covered: &mut HashSet<usize>,
        catch_all: &mut bool,
    ) -> ArmTest {
        let lit_mismatch = |c: &mut Self, want: Ty| {
            if !sty.is_error() {
                let msg = format!(
                    "this pattern is a {}, the value matched is {}",
                    c.ty_name(&want),
                    c.ty_name(sty)
                );
                c.error(p.span, msg);
            }
            ArmTest::Always
        };
        match &p.kind {
            ast::PatternKind::Wildcard => {
                *catch_all = true;
                ArmTest::Always
            }
            ast::PatternKind::Ident(name) => {
                if let Ty::Enum(en) = sty {
                    if let Some(v) = self.variant_of(*en, name).map(usize::from) {
                        let arity = self.enums[*en as usize].variants[v].1.len();
                        if arity > 0 {
                            self.error(
                                p.span,
                                format!(
                                    "variant `{name}` carries {arity} value{}; write `{name}(...)`",
                                    if arity == 1 { "" } else { "s" }
                                ),
                            );
                        }
                        covered.insert(v);
                        return ArmTest::Variant(v as u16);
                    }
                }
                let id = self.declare_local(name, sty.clone(), false);
                binds.push(Bind::Whole(id));
                *catch_all = true;
                ArmTest::Always
            }
            ast::PatternKind::Variant(path, subs) => {
                let en = match sty {
                    Ty::Enum(en) => *en,
                    Ty::Error => return ArmTest::Always,
                    _ => {
                        let msg = format!(
                            "a variant pattern cannot match a value of type {}",
                            self.ty_name(sty)
                        );
                        self.error(p.span, msg);
                        return ArmTest::Always;
                    }
                };
                let vname = &path.last().unwrap().name;
                if path.len() > 1 {
                    match self.resolve_path(&path[..path.len() - 1]) {
                        Some(PathRes::Type(TypeKey::Enum(x))) if x == en => {}
                        _ => {
                            let msg = format!(
                                "this pattern does not name a variant of `{}`",
                                self.enums[en as usize].name
                            );
                            self.error(p.span, msg);
                            return ArmTest::Always;
                        }
                    }
                }
                let Some(v) = self.variant_of(en, vname).map(usize::from) else {
                    let msg = format!(
                        "enum `{}` has no variant `{vname}`",
                        self.enums[en as usize].name
                    );
                    self.error(path.last().unwrap().span, msg);
                    return ArmTest::Always;
                };
                let fields = self.enums[en as usize].variants[v].1.clone();
                if subs.len() != fields.len() {
                    let msg = format!(
                        "variant `{vname}` carries {} value{}, the pattern binds {}",
                        fields.len(),
                        if fields.len() == 1 { "" } else { "s" },
                        subs.len()
                    );
                    self.error(p.span, msg);
                }
                for (i, (sp, ft)) in subs.iter().zip(fields.iter()).enumerate() {
                    match &sp.kind {
                        ast::PatternKind::Wildcard => {}
                        ast::PatternKind::Ident(n) => {
                            let id = self.declare_local(n, ft.clone(), false);
                            binds.push(Bind::Field(id, i as u16));
                        }
                        _ => self.error(sp.span, "nested patterns are not supported; bind the value to a name and match on it"),
                    }
                }
                covered.insert(v);
                ArmTest::Variant(v as u16)
            }
            ast::PatternKind::Int(i) => {
                if *sty != Ty::Int {
                    return lit_mismatch(self, Ty::Int);
                }
                ArmTest::Int(*i)
            }
            ast::PatternKind::Str(s) => {
                if *sty != Ty::Str {
                    return lit_mismatch(self, Ty::Str);
                }
                ArmTest::Str(s.clone())
            }
            ast::PatternKind::Bool(b) => {
                if *sty != Ty::Bool {
                    return lit_mismatch(self, Ty::Bool);
                }
                covered.insert(*b as usize);
                ArmTest::Bool(*b)
            }
        }
    }

    // ------------------------------------------------------------ expressions

    fn error_expr(&self, line: u32) -> Expr {
        e(ExprKind::Error, Ty::Error, line)
    }

    fn expr(&mut self, x: &ast::Expr, want: Option<&Ty>) -> Expr {
        if self.depth >= MAX_NESTING {
            self.error(
                x.span,
                format!("expression nested more than {MAX_NESTING} levels deep"),
            );
            return self.error_expr(self.line(x.span));
        }
        self.depth += 1;
        let r = self.expr_inner(x, want);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, x: &ast::Expr, want: Option<&Ty>) -> Expr {
        let line = self.line(x.span);
        match &x.kind {
            ast::ExprKind::Int(i) => match i64::try_from(*i) {
                Ok(v) => e(ExprKind::Int(v), Ty::Int, line),
                Err(_) => {
                    self.error(x.span, "integer literal is too large for int");
                    self.error_expr(line)
                }
            },
            ast::ExprKind::Float(f) => e(ExprKind::Float(*f), Ty::Float, line),
            ast::ExprKind::Str(s) => e(ExprKind::Str(s.clone()), Ty::Str, line),
            ast::ExprKind::Bool(b) => e(ExprKind::Bool(*b), Ty::Bool, line),
            ast::ExprKind::SelfValue => match self.lookup_var("self", x.span) {
                Some((r, ty, _)) => self.var_expr(r, ty, line),
                None => {
                    self.error(
                        x.span,
                        "`self` is only available in methods declared with `self`",
                    );
                    self.error_expr(line)
                }
            },
            ast::ExprKind::Ident(name) => self.ident(name, x.span, want, line),
            ast::ExprKind::Binary(op, l, r) => self.binary(*op, l, r, x.span, line),
            ast::ExprKind::Unary(op, inner) => {
                if let (UnOp::Neg, ast::ExprKind::Int(i)) = (op, &inner.kind) {
                    if let Some(v) = 0i64.checked_sub_unsigned(*i) {
                        return e(ExprKind::Int(v), Ty::Int, line);
                    }
                }
                let v = self.expr(inner, want);
                match (op, &v.ty) {
                    (UnOp::Neg, Ty::Int) => e(ExprKind::Op(Instr::INeg {}, vec![v]), Ty::Int, line),
                    (UnOp::Neg, Ty::Float) => {
                        e(ExprKind::Op(Instr::FNeg {}, vec![v]), Ty::Float, line)
                    }
                    (UnOp::Not, Ty::Bool) => {
                        e(ExprKind::Op(Instr::BNot {}, vec![v]), Ty::Bool, line)
                    }
                    (_, Ty::Error) => self.error_expr(line),
                    (op, t) => {
                        let sym = if *op == UnOp::Neg { "-" } else { "!" };
                        let msg =
                            format!("operator `{sym}` cannot be applied to {}", self.ty_name(t));
                        self.error(x.span, msg);
                        self.error_expr(line)
                    }
                }
            }
            ast::ExprKind::Call(callee, args) => self.call(callee, args, x.span, want, line),
            ast::ExprKind::Field(obj, name) => self.field(x, obj, name, want, line),
            ast::ExprKind::Index(obj, idx) => {
                let o = self.expr(obj, None);
                match o.ty.clone() {
                    Ty::Array(el) => {
                        let i = self.expr(idx, Some(&Ty::Int));
                        self.expect_ty(&i.ty, &Ty::Int, idx.span);
                        e(
                            ExprKind::Op(Instr::AGet {}, vec![o, i]),
                            (*el).clone(),
                            line,
                        )
                    }
                    Ty::Map(k, v) => {
                        let i = self.expr(idx, Some(&k));
                        self.expect_ty(&i.ty, &k, idx.span);
                        e(ExprKind::Op(Instr::MGet {}, vec![o, i]), (*v).clone(), line)
                    }
                    Ty::Error => self.error_expr(line),
                    Ty::Str => {
                        self.error(
                            x.span,
                            "cannot index a str; use `s.byte(i)` or `s.slice(a, b)`",
                        );
                        self.error_expr(line)
                    }
                    t => {
                        let msg = format!("cannot index into a value of type {}", self.ty_name(&t));
                        self.error(x.span, msg);
                        self.error_expr(line)
                    }
                }
            }
            ast::ExprKind::Array(items) => {
                let want_el = match want {
                    Some(Ty::Array(el)) => Some((**el).clone()),
                    _ => None,
                };
                let mut el = want_el.clone();
                let mut out = Vec::new();
                for it in items {
                    let v = self.expr(it, el.as_ref());
                    match &el {
                        None => el = Some(v.ty.clone()),
                        Some(t) => {
                            let t = t.clone();
                            self.expect_ty(&v.ty, &t, it.span);
                        }
                    }
                    out.push(v);
                }
                match el {
                    Some(Ty::Unit) => {
                        self.error(x.span, "array elements must have a value");
                        self.error_expr(line)
                    }
                    Some(t) => {
                        self.within_depth(e(ExprKind::NewArray(out), Ty::array(t), line), x.span)
                    }
                    // (An annotation that failed to resolve was reported.)
                    None if want.is_some_and(Ty::is_error) => self.error_expr(line),
                    None => {
                        self.error(x.span, "cannot infer the element type of an empty array; give the variable a type, e.g. `var xs: [int] = [];`");
                        self.error_expr(line)
                    }
                }
            }
            ast::ExprKind::ArrayRepeat(v, n) => {
                let want_el = match want {
                    Some(Ty::Array(el)) => Some((**el).clone()),
                    _ => None,
                };
                let val = self.expr(v, want_el.as_ref());
                let cnt = self.expr(n, Some(&Ty::Int));
                self.expect_ty(&cnt.ty, &Ty::Int, n.span);
                if val.ty == Ty::Unit {
                    self.error(v.span, "array elements must have a value");
                }
                let t = Ty::array(val.ty.clone());
                let r = e(ExprKind::ArrayRepeat(Box::new(val), Box::new(cnt)), t, line);
                self.within_depth(r, x.span)
            }
            ast::ExprKind::Map(entries) => {
                let (mut kt, mut vt) = match want {
                    Some(Ty::Map(k, v)) => (Some((**k).clone()), Some((**v).clone())),
                    _ => (None, None),
                };
                let mut out = Vec::new();
                for (k, v) in entries {
                    let kx = self.expr(k, kt.as_ref());
                    let vx = self.expr(v, vt.as_ref());
                    match &kt {
                        None => {
                            if !matches!(kx.ty, Ty::Int | Ty::Str | Ty::Bool | Ty::Error) {
                                let msg = format!(
                                    "map keys must be int, str or bool, not {}",
                                    self.ty_name(&kx.ty)
                                );
                                self.error(k.span, msg);
                            }
                            kt = Some(kx.ty.clone())
                        }
                        Some(t) => {
                            let t = t.clone();
                            self.expect_ty(&kx.ty, &t, k.span);
                        }
                    }
                    match &vt {
                        None => vt = Some(vx.ty.clone()),
                        Some(t) => {
                            let t = t.clone();
                            self.expect_ty(&vx.ty, &t, v.span);
                        }
                    }
                    out.push((kx, vx));
                }
                match (kt, vt) {
                    (Some(k), Some(v)) => {
                        self.within_depth(e(ExprKind::NewMap(out), Ty::map(k, v), line), x.span)
                    }
                    _ if want.is_some_and(Ty::is_error) => self.error_expr(line),
                    _ => {
                        self.error(x.span, "cannot infer the type of an empty map; give the variable a type, e.g. `var m: {str: int} = {};`");
                        self.error_expr(line)
                    }
                }
            }
            ast::ExprKind::StructLit(path, fields) => self.struct_lit(path, fields, x.span, line),
            ast::ExprKind::Closure(c) => {
                self.closure(&c.params, c.ret.as_ref(), &c.body, x.span, line)
            }
        }
    }

    fn var_expr(&self, r: VarRef, ty: Ty, line: u32) -> Expr {
        match r {
            VarRef::Local(id) => e(ExprKind::Local(id), ty, line),
            VarRef::Capture(i) => e(ExprKind::Capture(i), ty, line),
        }
    }

    fn ident(&mut self, name: &str, span: Span, want: Option<&Ty>, line: u32) -> Expr {
        if let Some((r, ty, _)) = self.lookup_var(name, span) {
            return self.var_expr(r, ty, line);
        }
        let path = [ast::Ident {
            name: name.to_string(),
            span,
        }];
        if let Some(res) = self.resolve_path(&path) {
            return self.path_value(res, name, span, line);
        }
        if let Some((en, v)) = self.bare_variant(name, want, span) {
            return self.variant_value(en, v, span, line);
        }
        if tern_stdlib::prelude(name).is_some() || BUILTIN_FNS.contains(&name) {
            self.error(
                span,
                format!("built-in function `{name}` can only be called"),
            );
        } else {
            self.error(span, format!("cannot find `{name}` in this scope"));
        }
        self.error_expr(line)
    }

    fn path_value(&mut self, res: PathRes, name: &str, span: Span, line: u32) -> Expr {
        match res {
            PathRes::Const(c) => {
                let ty = self.check_const(c);
                e(ExprKind::Global(c), ty, line)
            }
            PathRes::StdConst(v) => e(ExprKind::Float(v), Ty::Float, line),
            PathRes::Fn(f) => {
                if self.fcx.last().is_some_and(|c| c.const_mode) {
                    self.error(span, "constant initializers cannot refer to functions");
                }
                let sig = &self.sigs[f as usize];
                let ty = Ty::Fn(sig.params.clone(), Rc::new(sig.ret.clone()));
                self.within_depth(e(ExprKind::FnValue(f), ty, line), span)
            }
            PathRes::Variant(en, v) => self.variant_value(en, v, span, line),
            PathRes::Type(_) => {
                self.error(span, format!("`{name}` is a type, not a value"));
                self.error_expr(line)
            }
            PathRes::Module(_) => {
                self.error(span, format!("`{name}` is a module, not a value"));
                self.error_expr(line)
            }
            PathRes::StdFns(..) => {
                self.error(
                    span,
                    format!("standard function `{name}` can only be called"),
                );
                self.error_expr(line)
            }
            PathRes::Host(_) => {
                self.error(span, format!("extern function `{name}` can only be called"));
                self.error_expr(line)
            }
        }
    }

    fn variant_value(&mut self, en: EnumId, v: u16, span: Span, line: u32) -> Expr {
        let (vname, arity) = {
            let (n, f) = &self.enums[en as usize].variants[v as usize];
            (n.clone(), f.len())
        };
        if arity > 0 {
            self.error(
                span,
                format!(
                    "variant `{vname}` carries {arity} value{}; call it as `{vname}(...)`",
                    if arity == 1 { "" } else { "s" }
                ),
            );
            return self.error_expr(line);
        }
        e(ExprKind::NewEnum(en, v, vec![]), Ty::Enum(en), line)
    }

    fn field(
        &mut self,
        whole: &ast::Expr,
        obj: &ast::Expr,
        name: &ast::Ident,
        want: Option<&Ty>,
        line: u32,
    ) -> Expr {
        let _ = want;
        if let Some(path) = crate::parse_helpers::path_of(whole) {
            if let Some(res) = self.resolve_path(&path) {
                let text: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                return self.path_value(res, &text.join("."), whole.span, line);
            }
            if let Some(prefix) = self.resolve_path(&path[..path.len() - 1]) {
                let text: Vec<&str> = path[..path.len() - 1]
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect();
                let what = match prefix {
                    PathRes::Module(_) => "module",
                    PathRes::Type(_) => "type",
                    _ => "",
                };
                if !what.is_empty() {
                    self.error(
                        name.span,
                        format!("{what} `{}` has no member `{}`", text.join("."), name.name),
                    );
                    return self.error_expr(line);
                }
            }
        }
        let o = self.expr(obj, None);
        match &o.ty {
            Ty::Struct(s) => match self.field_of(*s, &name.name) {
                Some(i) => {
                    let ty = self.structs[*s as usize].fields[i].1.clone();
                    e(ExprKind::Field(Box::new(o), i as u16), ty, line)
                }
                None => {
                    let msg = if self
                        .methods
                        .contains_key(&(TypeKey::Struct(*s), name.name.clone()))
                    {
                        format!(
                            "`{}` is a method; call it as `{}(...)`",
                            name.name, name.name
                        )
                    } else {
                        format!(
                            "struct `{}` has no field `{}`",
                            self.structs[*s as usize].name, name.name
                        )
                    };
                    self.error(name.span, msg);
                    self.error_expr(line)
                }
            },
            Ty::Error => self.error_expr(line),
            t => {
                let msg = format!("{} has no field `{}`", self.ty_name(t), name.name);
                self.error(name.span, msg);
                self.error_expr(line)
            }
        }
    }

    fn struct_lit(
        &mut self,
        path: &[ast::Ident],
        fields: &[(ast::Ident, ast::Expr)],
        span: Span,
        line: u32,
    ) -> Expr {
        let sid = match self.resolve_path(path) {
            Some(PathRes::Type(TypeKey::Struct(s))) => s,
            res => {
                let text: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                let msg = match res {
                    None => format!("cannot find struct `{}` in this scope", text.join(".")),
                    Some(_) => format!("`{}` is not a struct", text.join(".")),
                };
                self.error(span, msg);
                for (_, v) in fields {
                    self.expr(v, None);
                }
                return self.error_expr(line);
            }
        };
        // A set, so that a literal costs its fields, not its struct's.
        let mut given: HashSet<usize> = HashSet::new();
        let mut out = Vec::with_capacity(fields.len());
        for (n, v) in fields {
            match self.field_of(sid, &n.name) {
                Some(i) => {
                    if !given.insert(i) {
                        self.error(n.span, format!("field `{}` is given twice", n.name));
                    }
                    let want = self.structs[sid as usize].fields[i].1.clone();
                    let x = self.expr(v, Some(&want));
                    self.expect_ty(&x.ty, &want, v.span);
                    out.push((i as u16, x));
                }
                None => {
                    let msg = format!(
                        "struct `{}` has no field `{}`",
                        self.structs[sid as usize].name, n.name
                    );
                    self.error(n.span, msg);
                    self.expr(v, None);
                }
            }
        }
        let decl = &self.structs[sid as usize];
        let missing = decl.fields.len() - given.len();
        if missing > 0 {
            let names = (0..decl.fields.len()).filter(|i| !given.contains(i));
            let msg = format!(
                "missing field{} {} in `{}`",
                if missing == 1 { "" } else { "s" },
                listed(names.map(|i| &decl.fields[i].0)),
                decl.name
            );
            self.error(span, msg);
            return self.error_expr(line);
        }
        e(ExprKind::NewStruct(sid, out), Ty::Struct(sid), line)
    }

    fn closure(
        &mut self,
        params: &[ast::Param],
        ret: Option<&ast::TypeExpr>,
        body: &ast::Block,
        span: Span,
        line: u32,
    ) -> Expr {
        if params.len() > MAX_PARAMS {
            self.error(
                span,
                format!("a closure takes at most {MAX_PARAMS} parameters"),
            );
        }
        let ptys: Vec<Ty> = params.iter().map(|p| self.resolve_type(&p.ty)).collect();
        let rty = ret.map_or(Ty::Unit, |t| self.resolve_type(t));
        let outer = self.fcx.last().map_or("<closure>".to_string(), |c| {
            crate::diag::shorten(&c.func.name, MAX_NAME_SHOWN).into_owned()
        });
        self.push_fn(format!("{outer}.<closure>"), rty.clone(), line, span);
        for (p, t) in params.iter().zip(&ptys) {
            self.declare_local(&p.name.name, t.clone(), false);
        }
        self.fcx.last_mut().unwrap().func.params = ptys.len() as u32;
        let b = self.block(body);
        if rty != Ty::Unit && !rty.is_error() && !always_returns(&b) {
            let span = Span::new(body.span.hi.saturating_sub(1), body.span.hi);
            let msg = format!(
                "closure must return a value of type {} on every path",
                self.ty_name(&rty)
            );
            self.error(span, msg);
        }
        let mut cx = self.fcx.pop().unwrap();
        cx.func.body = b;
        let sources: Vec<CaptureSource> = cx.func.captures.iter().map(|c| c.source).collect();
        let id = self.funcs.len() as FuncId;
        self.funcs.push(Some(cx.func));
        let ptys: Rc<[Ty]> = ptys.into();
        self.sigs.push(FuncSig {
            params: ptys.clone(),
            ret: rty.clone(),
            module: self.cur_mod,
            decl: (usize::MAX, None),
        });
        let ty = Ty::Fn(ptys, Rc::new(rty));
        self.within_depth(e(ExprKind::Closure(id, sources), ty, line), span)
    }

    fn arith_instr(&self, op: BinOp, l: &Ty, r: &Ty) -> Option<(Instr, Ty)> {
        use BinOp::*;
        Some(match (op, l, r) {
            (Add, Ty::Int, Ty::Int) => (Instr::IAdd {}, Ty::Int),
            (Sub, Ty::Int, Ty::Int) => (Instr::ISub {}, Ty::Int),
            (Mul, Ty::Int, Ty::Int) => (Instr::IMul {}, Ty::Int),
            (Div, Ty::Int, Ty::Int) => (Instr::IDiv {}, Ty::Int),
            (Rem, Ty::Int, Ty::Int) => (Instr::IRem {}, Ty::Int),
            (Add, Ty::Float, Ty::Float) => (Instr::FAdd {}, Ty::Float),
            (Sub, Ty::Float, Ty::Float) => (Instr::FSub {}, Ty::Float),
            (Mul, Ty::Float, Ty::Float) => (Instr::FMul {}, Ty::Float),
            (Div, Ty::Float, Ty::Float) => (Instr::FDiv {}, Ty::Float),
            (Rem, Ty::Float, Ty::Float) => (Instr::FRem {}, Ty::Float),
            (Add, Ty::Str, Ty::Str) => (Instr::SConcat {}, Ty::Str),
            (BitAnd, Ty::Int, Ty::Int) => (Instr::IAnd {}, Ty::Int),
            (BitOr, Ty::Int, Ty::Int) => (Instr::IOr {}, Ty::Int),
            (BitXor, Ty::Int, Ty::Int) => (Instr::IXor {}, Ty::Int),
            (Shl, Ty::Int, Ty::Int) => (Instr::IShl {}, Ty::Int),
            (Shr, Ty::Int, Ty::Int) => (Instr::IShr {}, Ty::Int),
            (Eq | Ne | Lt | Le | Gt | Ge, Ty::Int, Ty::Int) => (
                pick(
                    op,
                    [
                        Instr::IEq {},
                        Instr::INe {},
                        Instr::ILt {},
                        Instr::ILe {},
                        Instr::IGt {},
                        Instr::IGe {},
                    ],
                ),
                Ty::Bool,
            ),
            (Eq | Ne | Lt | Le | Gt | Ge, Ty::Float, Ty::Float) => (
                pick(
                    op,
                    [
                        Instr::FEq {},
                        Instr::FNe {},
                        Instr::FLt {},
                        Instr::FLe {},
                        Instr::FGt {},
                        Instr::FGe {},
                    ],
                ),
                Ty::Bool,
            ),
            (Eq | Ne | Lt | Le | Gt | Ge, Ty::Str, Ty::Str) => (
                pick(
                    op,
                    [
                        Instr::SEq {},
                        Instr::SNe {},
                        Instr::SLt {},
                        Instr::SLe {},
                        Instr::SGt {},
                        Instr::SGe {},
                    ],
                ),
                Ty::Bool,
            ),
            (Eq, Ty::Bool, Ty::Bool) => (Instr::BEq {}, Ty::Bool),
            (Ne, Ty::Bool, Ty::Bool) => (Instr::BNe {}, Ty::Bool),
            _ => return None,
        })
    }

    fn binary(&mut self, op: BinOp, l: &ast::Expr, r: &ast::Expr, span: Span, line: u32) -> Expr {
        if matches!(op, BinOp::And | BinOp::Or) {
            let a = self.expr(l, Some(&Ty::Bool));
            self.expect_ty(&a.ty, &Ty::Bool, l.span);
            let b = self.expr(r, Some(&Ty::Bool));
            self.expect_ty(&b.ty, &Ty::Bool, r.span);
            let kind = if op == BinOp::And {
                ExprKind::And(Box::new(a), Box::new(b))
            } else {
                ExprKind::Or(Box::new(a), Box::new(b))
            };
            return e(kind, Ty::Bool, line);
        }
        let a = self.expr(l, None);
        let b = self.expr(r, Some(&a.ty));
        if a.ty.is_error() || b.ty.is_error() {
            return self.error_expr(line);
        }
        match self.arith_instr(op, &a.ty, &b.ty) {
            Some((ins, ty)) => e(ExprKind::Op(ins, vec![a, b]), ty, line),
            None => {
                let msg = format!(
                    "operator `{}` cannot be applied to {} and {}",
                    op.symbol(),
                    self.ty_name(&a.ty),
                    self.ty_name(&b.ty)
                );
                self.error(span, msg);
                self.error_expr(line)
            }
        }
    }

    // ------------------------------------------------------------ calls

    fn args(&mut self, args: &[ast::Expr], params: &[Ty], what: &str, span: Span) -> Vec<Expr> {
        if args.len() != params.len() {
            self.error(
                span,
                format!(
                    "{what} takes {} argument{}, {} given",
                    params.len(),
                    if params.len() == 1 { "" } else { "s" },
                    args.len()
                ),
            );
        }
        args.iter()
            .enumerate()
            .map(|(i, a)| {
                let want = params.get(i);
                let x = self.expr(a, want);
                if let Some(w) = want {
                    self.expect_ty(&x.ty, w, a.span);
                }
                x
            })
            .collect()
    }

    fn call_fn(
        &mut self,
        f: FuncId,
        recv: Option<Expr>,
        args: &[ast::Expr],
        name: &str,
        span: Span,
        line: u32,
    ) -> Expr {
        if self.fcx.last().is_some_and(|c| c.const_mode) {
            self.error(span, "constant initializers cannot call functions");
        }
        let params = self.sigs[f as usize].params.clone();
        let ret = self.sigs[f as usize].ret.clone();
        let skip = recv.is_some() as usize;
        let mut out: Vec<Expr> = recv.into_iter().collect();
        out.extend(self.args(
            args,
            &params[skip.min(params.len())..],
            &format!("`{name}`"),
            span,
        ));
        e(ExprKind::Call(f, out), ret, line)
    }

    fn call_host(&mut self, h: u32, args: &[ast::Expr], name: &str, span: Span, line: u32) -> Expr {
        let host = Rc::clone(&self.hosts[h as usize]);
        let xs = self.args(args, &host.params, &format!("`{name}`"), span);
        e(
            ExprKind::CallHost(Rc::clone(&host), xs),
            host.ret.clone(),
            line,
        )
    }

    fn call_std(
        &mut self,
        fns: &[StdFn],
        name: &str,
        args: &[ast::Expr],
        span: Span,
        line: u32,
    ) -> Expr {
        let xs: Vec<Expr> = args.iter().map(|a| self.expr(a, None)).collect();
        if xs.iter().any(|x| x.ty.is_error()) {
            return self.error_expr(line);
        }
        let cands: Vec<&StdFn> = fns.iter().filter(|f| f.name == name).collect();
        for f in &cands {
            if f.params.len() == xs.len() && f.params.iter().zip(&xs).all(|(p, x)| prim(*p) == x.ty)
            {
                let ret = prim(f.ret);
                return match f.lower {
                    Lowering::Op(op) => e(ExprKind::Op(instr_of(op), xs), ret, line),
                    Lowering::Host { module, name } => {
                        let h = HostRef {
                            module: module.into(),
                            name: name.into(),
                            params: f.params.iter().map(|p| prim(*p)).collect(),
                            ret: ret.clone(),
                        };
                        e(ExprKind::CallHost(Rc::new(h), xs), ret, line)
                    }
                };
            }
        }
        let got: Vec<String> = xs.iter().map(|x| self.ty_name(&x.ty)).collect();
        let sigs: Vec<String> = cands
            .iter()
            .map(|f| {
                let ps: Vec<String> = f.params.iter().map(|p| self.ty_name(&prim(*p))).collect();
                format!("`{}({})`", name, ps.join(", "))
            })
            .collect();
        self.error(
            span,
            format!(
                "no form of `{name}` takes ({}); it is {}",
                got.join(", "),
                sigs.join(" or ")
            ),
        );
        self.error_expr(line)
    }

    fn call(
        &mut self,
        callee: &ast::Expr,
        args: &[ast::Expr],
        span: Span,
        want: Option<&Ty>,
        line: u32,
    ) -> Expr {
        // Paths first: functions, methods of types, variants, standard modules.
        if let Some(path) = crate::parse_helpers::path_of(callee) {
            let last = path.last().unwrap().name.clone();
            if let Some(res) = self.resolve_path(&path) {
                return match res {
                    PathRes::Fn(f) => self.call_fn(f, None, args, &last, span, line),
                    PathRes::Variant(en, v) => self.construct_variant(en, v, args, span, line),
                    PathRes::StdFns(m, name) => self.call_std(m.fns, name, args, span, line),
                    PathRes::Host(h) => self.call_host(h, args, &last, span, line),
                    PathRes::Const(_) => {
                        let f = self.path_value(res, &last, callee.span, line);
                        self.call_value(f, args, span, line)
                    }
                    _ => {
                        let text: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                        self.error(
                            callee.span,
                            format!("`{}` cannot be called", text.join(".")),
                        );
                        self.error_expr(line)
                    }
                };
            }
            if path.len() == 1 && self.lookup_var(&last, callee.span).is_none() {
                if let Some(f) = tern_stdlib::prelude(&last) {
                    return self.call_std(std::slice::from_ref(f), &last, args, span, line);
                }
                if BUILTIN_FNS.contains(&last.as_str()) {
                    return self.builtin(&last, args, span, line);
                }
                if let Some((en, v)) = self.bare_variant(&last, want, callee.span) {
                    return self.construct_variant(en, v, args, span, line);
                }
                self.error(
                    callee.span,
                    format!("cannot find function `{last}` in this scope"),
                );
                for a in args {
                    self.expr(a, None);
                }
                return self.error_expr(line);
            }
            if path.len() > 1 {
                if let Some(prefix) = self.resolve_path(&path[..path.len() - 1]) {
                    if matches!(prefix, PathRes::Module(_) | PathRes::Type(_)) {
                        let text: Vec<&str> = path[..path.len() - 1]
                            .iter()
                            .map(|i| i.name.as_str())
                            .collect();
                        self.error(
                            path.last().unwrap().span,
                            format!("`{}` has no function `{last}`", text.join(".")),
                        );
                        for a in args {
                            self.expr(a, None);
                        }
                        return self.error_expr(line);
                    }
                }
            }
        }
        if let ast::ExprKind::Field(obj, name) = &callee.kind {
            let o = self.expr(obj, None);
            return self.method_call(o, name, args, span, line);
        }
        let f = self.expr(callee, None);
        self.call_value(f, args, span, line)
    }

    fn call_value(&mut self, f: Expr, args: &[ast::Expr], span: Span, line: u32) -> Expr {
        match f.ty.clone() {
            Ty::Fn(ps, r) => {
                if self.fcx.last().is_some_and(|c| c.const_mode) {
                    self.error(span, "constant initializers cannot call functions");
                }
                let xs = self.args(args, &ps, "this function", span);
                e(ExprKind::CallClosure(Box::new(f), xs), (*r).clone(), line)
            }
            Ty::Error => {
                for a in args {
                    self.expr(a, None);
                }
                self.error_expr(line)
            }
            t => {
                let msg = format!("a value of type {} cannot be called", self.ty_name(&t));
                self.error(span, msg);
                self.error_expr(line)
            }
        }
    }

    fn construct_variant(
        &mut self,
        en: EnumId,
        v: u16,
        args: &[ast::Expr],
        span: Span,
        line: u32,
    ) -> Expr {
        let (vname, fields) = self.enums[en as usize].variants[v as usize].clone();
        if fields.is_empty() {
            self.error(
                span,
                format!("variant `{vname}` carries no values; write it without parentheses"),
            );
            return self.error_expr(line);
        }
        let xs = self.args(args, &fields, &format!("variant `{vname}`"), span);
        e(ExprKind::NewEnum(en, v, xs), Ty::Enum(en), line)
    }

    fn builtin(&mut self, name: &str, args: &[ast::Expr], span: Span, line: u32) -> Expr {
        let xs: Vec<Expr> = args.iter().map(|a| self.expr(a, None)).collect();
        if xs.iter().any(|x| x.ty.is_error()) {
            return self.error_expr(line);
        }
        let tys: Vec<Ty> = xs.iter().map(|x| x.ty.clone()).collect();
        let r = match (name, tys.as_slice()) {
            ("len", [Ty::Str]) => Some((Instr::SLen {}, Ty::Int)),
            ("len", [Ty::Array(_)]) => Some((Instr::ALen {}, Ty::Int)),
            ("len", [Ty::Map(..)]) => Some((Instr::MLen {}, Ty::Int)),
            ("str", [Ty::Int]) => Some((Instr::IToS {}, Ty::Str)),
            ("str", [Ty::Float]) => Some((Instr::FToS {}, Ty::Str)),
            ("str", [Ty::Bool]) => Some((Instr::BToS {}, Ty::Str)),
            ("int", [Ty::Float]) => Some((Instr::F2I {}, Ty::Int)),
            ("int", [Ty::Str]) => Some((Instr::SToI {}, Ty::Int)),
            ("float", [Ty::Int]) => Some((Instr::I2F {}, Ty::Float)),
            ("float", [Ty::Str]) => Some((Instr::SToF {}, Ty::Float)),
            ("fixed", [Ty::Float, Ty::Int]) => Some((Instr::FFixed {}, Ty::Str)),
            ("str", [Ty::Str]) | ("int", [Ty::Int]) | ("float", [Ty::Float]) => {
                return xs.into_iter().next().unwrap();
            }
            _ => None,
        };
        match r {
            Some((ins, ty)) => e(ExprKind::Op(ins, xs), ty, line),
            None => {
                let got: Vec<String> = tys.iter().map(|t| self.ty_name(t)).collect();
                let accepts = match name {
                    "len" => "a str, an array or a map",
                    "str" => "an int, a float or a bool",
                    "int" => "a float or a str",
                    "float" => "an int or a str",
                    _ => "(float, int)",
                };
                self.error(
                    span,
                    format!("`{name}` takes {accepts}, not ({})", got.join(", ")),
                );
                self.error_expr(line)
            }
        }
    }

    fn method_call(
        &mut self,
        o: Expr,
        name: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
        line: u32,
    ) -> Expr {
        let key = match &o.ty {
            Ty::Struct(s) => Some(TypeKey::Struct(*s)),
            Ty::Enum(s) => Some(TypeKey::Enum(*s)),
            _ => None,
        };
        if let Some(key) = key {
            if let Some(&f) = self.methods.get(&(key, name.name.clone())) {
                let takes_self =
                    self.sigs[f as usize].params.first() == Some(&o.ty) && self.fn_decl_has_self(f);
                if !takes_self {
                    self.error(
                        name.span,
                        format!("`{}` does not take `self`; call it on the type", name.name),
                    );
                    return self.error_expr(line);
                }
                return self.call_fn(f, Some(o), args, &name.name, span, line);
            }
            if let Ty::Struct(s) = &o.ty {
                if let Some(i) = self.field_of(*s, &name.name) {
                    let ty = self.structs[*s as usize].fields[i].1.clone();
                    let f = e(ExprKind::Field(Box::new(o), i as u16), ty, line);
                    return self.call_value(f, args, span, line);
                }
            }
            let tn = self.ty_name(&o.ty);
            self.error(name.span, format!("`{tn}` has no method `{}`", name.name));
            for a in args {
                self.expr(a, None);
            }
            return self.error_expr(line);
        }
        let ty = o.ty.clone();
        let m = name.name.as_str();
        let (params, ins, ret): (Vec<Ty>, Instr, Ty) = match (&ty, m) {
            (Ty::Error, _) => {
                for a in args {
                    self.expr(a, None);
                }
                return self.error_expr(line);
            }
            (Ty::Array(el), "push") => (vec![(**el).clone()], Instr::APush {}, Ty::Unit),
            (Ty::Array(el), "pop") => (vec![], Instr::APop {}, (**el).clone()),
            (Ty::Array(_), "len") => (vec![], Instr::ALen {}, Ty::Int),
            (Ty::Array(el), "join") if **el == Ty::Str => (vec![Ty::Str], Instr::SJoin {}, Ty::Str),
            (Ty::Map(k, _), "has") => (vec![(**k).clone()], Instr::MHas {}, Ty::Bool),
            (Ty::Map(k, v), "get") => (
                vec![(**k).clone(), (**v).clone()],
                Instr::MGetOr {},
                (**v).clone(),
            ),
            (Ty::Map(k, _), "remove") => (vec![(**k).clone()], Instr::MRemove {}, Ty::Unit),
            (Ty::Map(k, _), "keys") => (vec![], Instr::MKeys { ty: 0 }, Ty::array((**k).clone())),
            (Ty::Map(_, v), "values") => {
                (vec![], Instr::MValues { ty: 0 }, Ty::array((**v).clone()))
            }
            (Ty::Map(..), "len") => (vec![], Instr::MLen {}, Ty::Int),
            (Ty::Str, "len") => (vec![], Instr::SLen {}, Ty::Int),
            (Ty::Str, "byte") => (vec![Ty::Int], Instr::SByte {}, Ty::Int),
            (Ty::Str, "slice") => (vec![Ty::Int, Ty::Int], Instr::SSlice {}, Ty::Str),
            (Ty::Str, "split") => (vec![Ty::Str], Instr::SSplit { ty: 0 }, Ty::array(Ty::Str)),
            (Ty::Str, "find") => (vec![Ty::Str], Instr::SFind {}, Ty::Int),
            (Ty::Fn(..), _) | (_, _) => {
                let tn = self.ty_name(&ty);
                self.error(name.span, format!("{tn} has no method `{m}`"));
                for a in args {
                    self.expr(a, None);
                }
                return self.error_expr(line);
            }
        };
        let mut xs = vec![o];
        xs.extend(self.args(args, &params, &format!("`{m}`"), span));
        e(ExprKind::Op(ins, xs), ret, line)
    }

    fn fn_decl_has_self(&self, f: FuncId) -> bool {
        let sig = &self.sigs[f as usize];
        sig.decl.1.is_some() && self.fn_decl(f).has_self
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

/// Built-in functions with operand-dependent meaning, checked in `builtin`.
const BUILTIN_FNS: &[&str] = &["len", "str", "int", "float", "fixed"];

fn pick(op: BinOp, ins: [Instr; 6]) -> Instr {
    match op {
        BinOp::Eq => ins[0],
        BinOp::Ne => ins[1],
        BinOp::Lt => ins[2],
        BinOp::Le => ins[3],
        BinOp::Gt => ins[4],
        _ => ins[5],
    }
}

/// The operand-free instruction for a standard-library opcode.
fn instr_of(op: tern_vm::Opcode) -> Instr {
    let mut bytes = vec![op as u8];
    bytes.resize(op.encoded_len(), 0);
    Instr::decode(&bytes).expect("standard-library opcodes decode")
}

/// Whether control cannot reach the end of these statements.
pub fn always_returns(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Return(_) => true,
        StmtKind::Block(b) => always_returns(b),
        StmtKind::If(arms, e) => arms.iter().all(|a| always_returns(&a.then)) && always_returns(e),
        StmtKind::Loop(b) => !breaks(b),
        StmtKind::Match {
            arms, exhaustive, ..
        } => *exhaustive && arms.iter().all(|a| always_returns(&a.body)),
        _ => false,
    })
}

/// Whether a `break` leaves this loop body (not counting nested loops).
fn breaks(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Break => true,
        StmtKind::Block(b) => breaks(b),
        StmtKind::If(arms, e) => arms.iter().any(|a| breaks(&a.then)) || breaks(e),
        StmtKind::Match { arms, .. } => arms.iter().any(|a| breaks(&a.body)),
        _ => false,
    })
}
