//! Code generation: from the checked program to a bytecode [`Module`].
//!
//! Expressions leave their value on the operand stack (nothing for unit);
//! statements leave the stack as they found it, so at every `ret` and loop
//! edge the stack is empty and loop state lives in locals. Captured `var`s
//! live in cells: the enclosing function's slot holds the cell, closures
//! hold the same cell. The one number not tracked here, each function's
//! maximum stack height, is computed by the verifier.
//!
//! `stmts` and `exprs` walk the typed tree; `emit` appends instructions to
//! the function being generated. The code is canonical: the VM
//! translates it to its own register code after verification.

use crate::check::always_returns;
use crate::hir::*;
use std::collections::HashMap;
use std::rc::Rc;
use tern_vm::module::{self as m, Const, Export, Field, Import, Layout, TypeDesc, TypeId, Variant};
use tern_vm::{Instr, Module};

mod array_fns;
mod emit;
mod exprs;
mod stmts;

use exprs::instr;

/// The most elements an array literal passes to one `array.new`: few
/// enough that literals nested in literals, each with its head on the
/// stack, stay far below the format's stack limit.
const ARRAY_NEW_MAX: usize = 1024;

struct Gen<'p> {
    p: &'p Program,
    m: Module,
    types: HashMap<TypeDesc, TypeId>,
    consts: HashMap<ConstKey, u32>,
    imports: HashMap<(Rc<str>, Rc<str>), u32>,
    fn_types: HashMap<(usize, usize), (TypeId, Ty)>,
}

#[derive(PartialEq, Eq, Hash)]
enum ConstKey {
    Int(i64),
    Float(u64),
    Str(String),
}

struct Loop {
    breaks: Vec<usize>,
    continues: Vec<usize>,
}

struct FnGen {
    code: Vec<Instr>,
    lines: Vec<(u32, u32)>,
    line: u32,
    slots: Vec<TypeId>,
    boxed: Vec<bool>,
    capture_boxed: Vec<bool>,
    loops: Vec<Loop>,
    /// Boxed parameters: `(parameter, slot of its cell)`.
    redirect: Vec<(u16, u16)>,
    /// Instructions before this index may be jump targets' predecessors:
    /// the rewrites in `emit` never reach across it.
    barrier: usize,
    /// Where each return from inside an expression starts.
    early_returns: Vec<usize>,
    /// For the second generation of a function with such returns: how
    /// many values each drops first.
    drops: Option<Vec<u32>>,
}

/// Lowers a checked program.
pub fn generate(p: &Program) -> Module {
    let mut g = Gen {
        p,
        m: Module::new(),
        types: HashMap::new(),
        consts: HashMap::new(),
        imports: HashMap::new(),
        fn_types: HashMap::new(),
    };
    for (i, t) in g.m.types.iter().enumerate() {
        g.types.insert(t.clone(), i as TypeId);
    }
    g.m.sources = p.files.clone();
    for s in &p.structs {
        g.m.layouts.push(Layout::Struct {
            name: s.name.clone(),
            fields: vec![],
        });
    }
    for en in &p.enums {
        g.m.layouts.push(Layout::Enum {
            name: en.name.clone(),
            variants: vec![],
        });
    }
    for (i, s) in p.structs.iter().enumerate() {
        let fields = s
            .fields
            .iter()
            .map(|(n, t)| Field {
                name: n.clone(),
                ty: g.ty(t),
            })
            .collect();
        g.m.layouts[i] = Layout::Struct {
            name: s.name.clone(),
            fields,
        };
    }
    for (i, en) in p.enums.iter().enumerate() {
        let variants = en
            .variants
            .iter()
            .map(|(n, ts)| Variant {
                name: n.clone(),
                fields: ts.iter().map(|t| g.ty(t)).collect(),
            })
            .collect();
        g.m.layouts[p.structs.len() + i] = Layout::Enum {
            name: en.name.clone(),
            variants,
        };
    }
    g.m.globals = p.consts.iter().map(|(t, _)| g.ty(t)).collect();
    let mut early = Vec::new();
    for (i, f) in p.funcs.iter().enumerate() {
        let (func, sites) = g.function(f, None);
        g.m.functions.push(func);
        if !sites.is_empty() {
            early.push((i, sites));
        }
    }
    if !p.consts.is_empty() {
        let init = g.init_function();
        g.m.init = Some(g.m.functions.len() as u32);
        g.m.functions.push(init);
    }
    // Returns from inside expressions: the stack heights there, then the
    // function again, dropping that many values before each. (Should the
    // first version not verify, it stays, for the verifier to report.)
    for (i, sites) in early {
        if let Ok(heights) = tern_vm::verify::stack_heights(&g.m, i as u32) {
            let drops = sites
                .iter()
                .map(|&pc| {
                    heights
                        .get(pc)
                        .copied()
                        .filter(|h| *h != u32::MAX)
                        .unwrap_or(0)
                })
                .collect();
            g.m.functions[i] = g.function(&p.funcs[i], Some(drops)).0;
        }
    }
    g.m.entry = p.main;
    if let Some(main) = p.main {
        g.m.exports.push(Export {
            name: "main".into(),
            func: main,
        });
    }
    // Every top-level function of the root module is an export a host can call.
    for (i, f) in p.funcs.iter().enumerate() {
        // (Not an instance of a generic function: `first<int>`.)
        let plain = !f.name.contains(['.', '<']) && f.captures.is_empty() && f.name != "main";
        if plain && f.file == root_file(p) {
            g.m.exports.push(Export {
                name: f.name.clone(),
                func: i as u32,
            });
        }
    }
    g.m
}

fn root_file(p: &Program) -> u32 {
    p.main.map_or(0, |m| p.funcs[m as usize].file)
}

impl Gen<'_> {
    fn intern(&mut self, t: TypeDesc) -> TypeId {
        if let Some(id) = self.types.get(&t) {
            return *id;
        }
        let id = self.m.types.len() as TypeId;
        self.m.types.push(t.clone());
        self.types.insert(t, id);
        id
    }

    fn ty(&mut self, t: &Ty) -> TypeId {
        match t {
            Ty::Int => m::INT,
            Ty::Float => m::FLOAT,
            Ty::Bool => m::BOOL,
            Ty::Str => m::STR,
            Ty::Unit | Ty::Error => m::UNIT,
            Ty::Array(e) => {
                let e = self.ty(e);
                self.intern(TypeDesc::Array(e))
            }
            Ty::Map(k, v) => {
                let (k, v) = (self.ty(k), self.ty(v));
                self.intern(TypeDesc::Map(k, v))
            }
            Ty::Struct(s) => self.intern(TypeDesc::Struct(*s)),
            Ty::Enum(e) => self.intern(TypeDesc::Enum(self.p.structs.len() as u32 + *e)),
            Ty::Fn(ps, r) => {
                // Function types are the wide ones, and the same one is
                // met at every use of a value: remember it by identity.
                let key = (Rc::as_ptr(ps) as *const Ty as usize, Rc::as_ptr(r) as usize);
                if let Some((id, _)) = self.fn_types.get(&key) {
                    return *id;
                }
                let params = ps.iter().map(|p| self.ty(p)).collect();
                let ret = self.ty(r);
                let id = self.intern(TypeDesc::Fn { params, ret });
                // The entry keeps the type alive, so that no other type
                // takes its parts' addresses while the key is in the table.
                self.fn_types.insert(key, (id, t.clone()));
                id
            }
        }
    }

    fn cell_ty(&mut self, t: &Ty) -> TypeId {
        let inner = self.ty(t);
        self.intern(TypeDesc::Cell(inner))
    }

    fn constant(&mut self, k: ConstKey) -> u32 {
        if let Some(i) = self.consts.get(&k) {
            return *i;
        }
        let i = self.m.consts.len() as u32;
        self.m.consts.push(match &k {
            ConstKey::Int(v) => Const::Int(*v),
            ConstKey::Float(b) => Const::Float(f64::from_bits(*b)),
            ConstKey::Str(s) => Const::Str(s.clone()),
        });
        self.consts.insert(k, i);
        i
    }

    /// `local += 1` (an int local).
    fn increment(&mut self, fg: &mut FnGen, local: u16) {
        let one = self.constant(ConstKey::Int(1));
        fg.emit(Instr::Load { local });
        fg.emit(Instr::Const { index: one });
        fg.emit(Instr::IAdd {});
        fg.emit(Instr::Store { local });
    }

    fn import(&mut self, h: &HostRef) -> u32 {
        let key = (Rc::clone(&h.module), Rc::clone(&h.name));
        if let Some(i) = self.imports.get(&key) {
            return *i;
        }
        let params = h.params.iter().map(|p| self.ty(p)).collect();
        let ret = self.ty(&h.ret);
        let i = self.m.imports.len() as u32;
        self.m.imports.push(Import {
            module: h.module.to_string(),
            name: h.name.to_string(),
            params,
            ret,
        });
        self.imports.insert(key, i);
        i
    }

    /// Generates `f`; with `drops`, the values each return from inside
    /// an expression drops (see `StmtKind::ReturnFromExpr`). Gives where
    /// those returns start.
    fn function(&mut self, f: &Func, drops: Option<Vec<u32>>) -> (m::Function, Vec<usize>) {
        let mut slots = Vec::new();
        for l in &f.locals {
            let t = if l.boxed {
                self.cell_ty(&l.ty)
            } else {
                self.ty(&l.ty)
            };
            slots.push(t);
        }
        let captures: Vec<TypeId> = f
            .captures
            .iter()
            .map(|c| {
                if c.boxed {
                    self.cell_ty(&c.ty)
                } else {
                    self.ty(&c.ty)
                }
            })
            .collect();
        let mut fg = FnGen {
            code: vec![],
            lines: vec![],
            line: 0,
            slots,
            boxed: f.locals.iter().map(|l| l.boxed).collect(),
            capture_boxed: f.captures.iter().map(|c| c.boxed).collect(),
            loops: vec![],
            redirect: vec![],
            barrier: 0,
            early_returns: vec![],
            drops,
        };
        fg.set_line(f.line);
        // Parameters captured by reference move into cells on entry.
        for i in 0..f.params as usize {
            if f.locals[i].boxed {
                let ct = fg.slots[i];
                let inner = self.ty(&f.locals[i].ty);
                fg.slots[i] = inner;
                let cell = fg.temp(ct);
                fg.emit(Instr::Load { local: i as u16 });
                fg.emit(Instr::NewCell { ty: ct });
                fg.emit(Instr::Store { local: cell });
                fg.boxed[i] = false;
                fg.redirect.push((i as u16, cell));
            }
        }
        self.stmts(&mut fg, &f.body);
        if f.ret == Ty::Unit {
            fg.emit(Instr::Ret {});
        }
        let nparams = f.params as usize;
        let func = m::Function {
            name: f.name.clone(),
            params: fg.slots[..nparams].to_vec(),
            ret: self.ty(&f.ret),
            locals: fg.slots[nparams..].to_vec(),
            captures,
            max_stack: 0,
            code: fg.code,
            source: f.file,
            lines: fg.lines,
        };
        (func, fg.early_returns)
    }

    fn init_function(&mut self) -> m::Function {
        let mut fg = FnGen {
            code: vec![],
            lines: vec![],
            line: 0,
            slots: vec![],
            boxed: vec![],
            capture_boxed: vec![],
            loops: vec![],
            redirect: vec![],
            barrier: 0,
            early_returns: vec![],
            drops: None,
        };
        let p = self.p;
        // Constants written as literals first (they depend on nothing and
        // cannot fail), so the VM knows their values once the program is
        // loaded (see `tern_vm::translate`); the rest in dependency order.
        let literal = |c: &u32| {
            matches!(
                p.consts[*c as usize].1.kind,
                ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_)
            )
        };
        let order = p.const_order.iter().filter(|c| literal(c));
        let order = order.chain(p.const_order.iter().filter(|c| !literal(c)));
        for &c in order {
            let (_, x) = &p.consts[c as usize];
            self.expr(&mut fg, x);
            fg.emit(Instr::GlobalSet { global: c });
        }
        fg.emit(Instr::Ret {});
        m::Function {
            name: "<init>".into(),
            params: vec![],
            ret: m::UNIT,
            locals: fg.slots,
            captures: vec![],
            max_stack: 0,
            code: fg.code,
            source: root_file(p),
            lines: fg.lines,
        }
    }
}
