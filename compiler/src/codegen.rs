//! Code generation: from the checked program to a bytecode [`Module`].
//!
//! Expressions leave their value on the operand stack (nothing for unit);
//! statements leave the stack as they found it, so at every `ret` and loop
//! edge the stack is empty and loop state lives in locals. Captured `var`s
//! live in cells: the enclosing function's slot holds the cell, closures
//! hold the same cell. The one number not tracked here, each function's
//! maximum stack height, is computed by the verifier.

use crate::check::always_returns;
use crate::hir::*;
use std::collections::HashMap;
use std::rc::Rc;
use tern_vm::fused::Part;
use tern_vm::module::{self as m, Const, Export, Field, Import, Layout, TypeDesc, TypeId, Variant};
use tern_vm::{Instr, Module};

/// The most elements an array literal passes to one `array.new`: few
/// enough that literals nested in literals, each with its head on the
/// stack, stay far below the format's stack limit.
const ARRAY_NEW_MAX: usize = 1024;

/// How code is generated.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Use fused instructions (`tern_vm::fused`). Without, every
    /// instruction emitted is canonical; the program behaves the same and
    /// counts the same number of (canonical) instructions.
    pub fuse: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { fuse: true }
    }
}

struct Gen<'p> {
    p: &'p Program,
    fuse: bool,
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
    /// the peephole never fuses across it.
    barrier: usize,
    fuse: bool,
}

/// Lowers a checked program.
pub fn generate(p: &Program) -> Module {
    generate_with(p, Options::default())
}

/// Lowers a checked program as `opts` say.
pub fn generate_with(p: &Program, opts: Options) -> Module {
    let mut g = Gen {
        p,
        fuse: opts.fuse,
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
    for f in &p.funcs {
        let func = g.function(f);
        g.m.functions.push(func);
    }
    if !p.consts.is_empty() {
        let init = g.init_function();
        g.m.init = Some(g.m.functions.len() as u32);
        g.m.functions.push(init);
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
        let plain = !f.name.contains('.') && f.captures.is_empty() && f.name != "main";
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

    /// Without fusion, replaces the fused instructions emitted directly
    /// (loop steps, compare-and-branch forms) by their expansions, moving
    /// jump targets and line entries with them.
    fn defuse(&mut self, fg: &mut FnGen) {
        if self.fuse {
            return;
        }
        let old = std::mem::take(&mut fg.code);
        let mut at = Vec::with_capacity(old.len() + 1);
        let mut code = Vec::with_capacity(old.len());
        for ins in &old {
            at.push(code.len() as u32);
            match tern_vm::fused::expand(ins) {
                None => code.push(*ins),
                Some(parts) => {
                    for part in parts {
                        code.push(match part {
                            Part::Instr(i) => i,
                            Part::Int(v) => Instr::Const {
                                index: self.constant(ConstKey::Int(v)),
                            },
                            Part::Outside => unreachable!("{ins:?} is emitted only when fusing"),
                        });
                    }
                }
            }
        }
        at.push(code.len() as u32);
        for ins in &mut code {
            if let Some(t) = ins.target_mut() {
                *t = at[*t as usize];
            }
        }
        for (pos, _) in &mut fg.lines {
            *pos = at[*pos as usize];
        }
        fg.code = code;
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

    fn function(&mut self, f: &Func) -> m::Function {
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
            fuse: self.fuse,
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
        self.defuse(&mut fg);
        m::Function {
            name: f.name.clone(),
            params: fg.slots[..nparams].to_vec(),
            ret: self.ty(&f.ret),
            locals: fg.slots[nparams..].to_vec(),
            captures,
            max_stack: 0,
            code: fg.code,
            source: f.file,
            lines: fg.lines,
        }
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
            fuse: self.fuse,
        };
        let p = self.p;
        for &c in &p.const_order {
            let (_, x) = &p.consts[c as usize];
            self.expr(&mut fg, x);
            fg.emit(Instr::GlobalSet { global: c });
        }
        fg.emit(Instr::Ret {});
        self.defuse(&mut fg);
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

    fn stmts(&mut self, fg: &mut FnGen, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(fg, s);
        }
    }

    fn stmt(&mut self, fg: &mut FnGen, s: &Stmt) {
        fg.set_line(s.line);
        match &s.kind {
            StmtKind::Let(id, x) => {
                self.expr(fg, x);
                fg.set_line(s.line);
                if fg.boxed[*id as usize] {
                    let ct = fg.slots[*id as usize];
                    fg.emit(Instr::NewCell { ty: ct });
                }
                fg.emit(Instr::Store { local: *id as u16 });
            }
            StmtKind::Expr(x) => {
                self.expr(fg, x);
                if x.ty != Ty::Unit {
                    fg.emit(Instr::Pop {});
                }
            }
            StmtKind::Assign(place, v) => self.assign(fg, place, None, v),
            StmtKind::Compound(place, op, v) => self.assign(fg, place, Some(instr(*op)), v),
            StmtKind::If(arms, e) => {
                let mut to_end = Vec::new();
                for (k, arm) in arms.iter().enumerate() {
                    if k > 0 {
                        fg.set_line(arm.line);
                    }
                    let to_next = self.branch(fg, &arm.cond, false);
                    self.stmts(fg, &arm.then);
                    // A branch that returns needs no jump past the others.
                    let more = k + 1 < arms.len() || !e.is_empty();
                    if more && !always_returns(&arm.then) {
                        to_end.push(fg.jump(Instr::Jmp { target: 0 }));
                    }
                    fg.patch_all_here(&to_next);
                }
                self.stmts(fg, e);
                for j in to_end {
                    fg.patch_here(j);
                }
            }
            StmtKind::While(c, body) => {
                // Rotated, with the test at the bottom so each iteration
                // takes one branch, and a copy on entry:
                //     if !c goto exit; top: body; test: if c goto top; exit:
                // The test is then a jump target only for a `continue`, so
                // it can fuse with the body's last instruction (a counter's
                // step and the comparison: `for.step`, `addl.br.le`).
                fg.set_line(s.line);
                let exits = self.branch(fg, c, false);
                let top = fg.here();
                fg.loops.push(Loop {
                    breaks: vec![],
                    continues: vec![],
                });
                self.stmts(fg, body);
                let test = fg.step_label();
                fg.set_line(s.line);
                for back in self.branch(fg, c, true) {
                    fg.patch(back, top);
                }
                fg.patch_all_here(&exits);
                self.close_loop(fg, test);
            }
            StmtKind::Loop(body) => {
                let top = fg.here();
                self.loop_body(fg, body);
                self.end_loop(fg, top, None);
            }
            StmtKind::ForRange { var, lo, hi, body } => {
                // The loop variable is immutable in the body (closures copy
                // it), so it doubles as the counter:
                //     i = lo; end = hi; if i >= end goto exit
                //   top: body
                //   step: i += 1; if i < end goto top
                //   exit:
                let i = fg.slot(*var);
                let end = fg.temp(m::INT);
                self.expr(fg, lo);
                fg.emit(Instr::Store { local: i });
                self.expr(fg, hi);
                fg.emit(Instr::Store { local: end });
                fg.emit(Instr::Load { local: i });
                fg.emit(Instr::Load { local: end });
                let exit = fg.jump(Instr::BrIGe { target: 0 });
                let top = fg.here();
                fg.loops.push(Loop {
                    breaks: vec![],
                    continues: vec![],
                });
                self.stmts(fg, body);
                let step = fg.step_label();
                fg.set_line(s.line);
                fg.emit(Instr::ForStep {
                    local: i,
                    end,
                    target: top as u32,
                });
                fg.patch_here(exit);
                self.close_loop(fg, step);
            }
            StmtKind::ForArray {
                index,
                var,
                array,
                body,
            } => self.indexed_loop(fg, array, Instr::ALen {}, body, s.line, |fg, arr, idx| {
                if let Some(i) = index {
                    fg.emit(Instr::Load { local: idx });
                    fg.store_local(*i);
                }
                fg.emit(Instr::LoadElem {
                    array: arr,
                    index: idx,
                });
                fg.store_local(*var);
            }),
            StmtKind::ForMap {
                key,
                value,
                map,
                body,
            } => self.indexed_loop(fg, map, Instr::MLen {}, body, s.line, |fg, mp, idx| {
                for (at, dest) in [
                    (Instr::MKeyAt {}, Some(key)),
                    (Instr::MValAt {}, value.as_ref()),
                ] {
                    if let Some(dest) = dest {
                        fg.emit(Instr::Load2 { a: mp, b: idx });
                        fg.emit(at);
                        fg.store_local(*dest);
                    }
                }
            }),
            StmtKind::Match {
                scrutinee,
                arms,
                exhaustive,
            } => self.match_stmt(fg, scrutinee, arms, *exhaustive),
            StmtKind::Return(x) => {
                // `return 0;`, `return true;`: one instruction.
                if let Some(value) = x.as_ref().and_then(imm_literal).filter(|_| fg.fuse) {
                    fg.set_line(s.line);
                    fg.emit(Instr::RetImm { value });
                } else {
                    if let Some(x) = x {
                        self.expr(fg, x);
                    }
                    fg.set_line(s.line);
                    fg.emit(Instr::Ret {});
                }
            }
            StmtKind::Break => {
                let j = fg.jump(Instr::Jmp { target: 0 });
                fg.loops
                    .last_mut()
                    .expect("checked: break inside a loop")
                    .breaks
                    .push(j);
            }
            StmtKind::Continue => {
                let j = fg.jump(Instr::Jmp { target: 0 });
                fg.loops
                    .last_mut()
                    .expect("checked: continue inside a loop")
                    .continues
                    .push(j);
            }
            StmtKind::Block(b) => self.stmts(fg, b),
        }
    }

    /// Evaluates condition `c` and emits a branch taken when `c` is
    /// `when`; an int comparison with a small constant becomes one
    /// compare-with-immediate branch. Returns the branch to patch.
    /// `!`, `&&` and `||` become control flow: no boolean is computed, and
    /// the operands short-circuit straight to the target. Returns the
    /// branches to patch (several for `&&` and `||`).
    fn branch(&mut self, fg: &mut FnGen, c: &Expr, when: bool) -> Vec<usize> {
        match &c.kind {
            ExprKind::Op(Op::Not, args) => return self.branch(fg, &args[0], !when),
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(c.kind, ExprKind::And(..));
                if when != is_and {
                    // `a && b` is false, or `a || b` true, as soon as one
                    // operand is.
                    let mut out = self.branch(fg, a, when);
                    out.extend(self.branch(fg, b, when));
                    return out;
                }
                // Otherwise `a` alone can only rule the jump out.
                let skip = self.branch(fg, a, !when);
                let out = self.branch(fg, b, when);
                for j in skip {
                    fg.patch_here(j);
                }
                return out;
            }
            _ => {}
        }
        vec![self.simple_branch(fg, c, when)]
    }

    fn simple_branch(&mut self, fg: &mut FnGen, c: &Expr, when: bool) -> usize {
        if let (ExprKind::Op(op, args), true) = (&c.kind, fg.fuse) {
            if let (Some(cmp), Some(ExprKind::Int(k))) =
                (Cmp::of(instr(*op)), args.get(1).map(|a| &a.kind))
            {
                if let Ok(value) = i32::try_from(*k) {
                    let cmp = if when { cmp } else { cmp.negate() };
                    if let ExprKind::Local(l) = args[0].kind {
                        if !fg.is_boxed(l) {
                            fg.set_line(c.line);
                            let local = fg.slot(l);
                            return fg.jump(cmp.branch_local_imm(local, value));
                        }
                    }
                    self.expr(fg, &args[0]);
                    fg.set_line(c.line);
                    return fg.jump(cmp.branch_imm(value));
                }
            }
        }
        self.expr(fg, c);
        fg.jump(if when {
            Instr::JmpIf { target: 0 }
        } else {
            Instr::JmpIfNot { target: 0 }
        })
    }

    fn loop_body(&mut self, fg: &mut FnGen, body: &[Stmt]) {
        fg.loops.push(Loop {
            breaks: vec![],
            continues: vec![],
        });
        self.stmts(fg, body);
    }

    /// Jumps back to `top`; the exit test and breaks land after that jump.
    fn end_loop(&mut self, fg: &mut FnGen, top: usize, exit: Option<usize>) {
        fg.emit(Instr::Jmp { target: top as u32 });
        if let Some(x) = exit {
            fg.patch_here(x);
        }
        let lp = fg.loops.pop().expect("loop");
        for b in lp.breaks {
            fg.patch_here(b);
        }
        for c in lp.continues {
            fg.patch(c, top);
        }
    }

    fn close_loop(&mut self, fg: &mut FnGen, step: usize) {
        let lp = fg.loops.pop().expect("loop");
        for b in lp.breaks {
            fg.patch_here(b);
        }
        for c in lp.continues {
            fg.patch(c, step);
        }
    }

    /// A loop over positions `0..len(collection)` (the length is read
    /// each iteration); `bind` loads the element(s) for the body.
    fn indexed_loop(
        &mut self,
        fg: &mut FnGen,
        collection: &Expr,
        len: Instr,
        body: &[Stmt],
        line: u32,
        bind: impl FnOnce(&mut FnGen, u16, u16),
    ) {
        let ct = self.ty(&collection.ty);
        let coll = fg.temp(ct);
        let idx = fg.temp(m::INT);
        self.expr(fg, collection);
        fg.emit(Instr::Store { local: coll });
        let zero = self.constant(ConstKey::Int(0));
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::Store { local: idx });
        let top = fg.here();
        fg.emit(Instr::Load { local: idx });
        fg.emit(Instr::Load { local: coll });
        fg.emit(len);
        fg.emit(Instr::ILt {});
        let exit = fg.jump(Instr::JmpIfNot { target: 0 });
        bind(fg, coll, idx);
        fg.loops.push(Loop {
            breaks: vec![],
            continues: vec![],
        });
        self.stmts(fg, body);
        let step = fg.here();
        fg.set_line(line);
        fg.emit(Instr::IncLocal {
            local: idx,
            value: 1,
        });
        fg.emit(Instr::Jmp { target: top as u32 });
        fg.patch_here(exit);
        self.close_loop(fg, step);
    }

    fn match_stmt(&mut self, fg: &mut FnGen, s: &Expr, arms: &[Arm], exhaustive: bool) {
        // A plain local is matched in place; anything else is evaluated once.
        let val = match s.kind {
            ExprKind::Local(id) if !fg.is_boxed(id) => fg.slot(id),
            _ => {
                let st = self.ty(&s.ty);
                let val = fg.temp(st);
                self.expr(fg, s);
                fg.emit(Instr::Store { local: val });
                val
            }
        };
        let mut to_end = Vec::new();
        for (k, arm) in arms.iter().enumerate() {
            fg.set_line(arm.line);
            let last = k + 1 == arms.len();
            let next = if last && exhaustive {
                None
            } else {
                match &arm.test {
                    ArmTest::Always => None,
                    ArmTest::Variant(v) => {
                        fg.emit(Instr::Load { local: val });
                        Some(fg.jump(Instr::BrTagNe {
                            variant: *v,
                            target: 0,
                        }))
                    }
                    ArmTest::Int(i) => {
                        fg.emit(Instr::Load { local: val });
                        let c = self.constant(ConstKey::Int(*i));
                        fg.emit(Instr::Const { index: c });
                        fg.emit(Instr::IEq {});
                        Some(fg.jump(Instr::JmpIfNot { target: 0 }))
                    }
                    ArmTest::Str(sv) => {
                        fg.emit(Instr::Load { local: val });
                        let c = self.constant(ConstKey::Str(sv.clone()));
                        fg.emit(Instr::Const { index: c });
                        fg.emit(Instr::SEq {});
                        Some(fg.jump(Instr::JmpIfNot { target: 0 }))
                    }
                    ArmTest::Bool(b) => {
                        fg.emit(Instr::Load { local: val });
                        Some(fg.jump(if *b {
                            Instr::JmpIfNot { target: 0 }
                        } else {
                            Instr::JmpIf { target: 0 }
                        }))
                    }
                }
            };
            for b in &arm.binds {
                match b {
                    Bind::Whole(id) => {
                        fg.emit(Instr::Load { local: val });
                        fg.store_local(*id);
                    }
                    Bind::Field(id, f) => {
                        let v = match arm.test {
                            ArmTest::Variant(v) => v,
                            _ => unreachable!("field bindings only in variant arms"),
                        };
                        fg.emit(Instr::Load { local: val });
                        fg.emit(Instr::EnumField {
                            variant: v,
                            field: *f,
                        });
                        fg.store_local(*id);
                    }
                }
            }
            self.stmts(fg, &arm.body);
            if !last && !always_returns(&arm.body) {
                to_end.push(fg.jump(Instr::Jmp { target: 0 }));
            }
            if let Some(n) = next {
                fg.patch_here(n);
            }
        }
        for j in to_end {
            fg.patch_here(j);
        }
    }

    fn assign(&mut self, fg: &mut FnGen, place: &Place, op: Option<Instr>, v: &Expr) {
        // `x += k` and `x = x + k` on an int local: one instruction.
        if let (Place::Local(id), true) = (place, fg.fuse) {
            let inc = match (op, &v.kind) {
                (Some(op), _) => imm_operand(op, v),
                (None, ExprKind::Op(op @ (Op::IntAdd | Op::IntSub), args)) => match args[0].kind {
                    ExprKind::Local(x) if x == *id => imm_operand(instr(*op), &args[1]),
                    _ => None,
                },
                _ => None,
            };
            if let (Some(value), false) = (inc, fg.is_boxed(*id)) {
                let local = fg.slot(*id);
                fg.emit(Instr::IncLocal { local, value });
                return;
            }
            // `x += y` and `x = x + y` with int locals.
            let added = match (op, &v.kind) {
                (Some(Instr::IAdd {}), ExprKind::Local(y)) => Some(*y),
                (None, ExprKind::Op(Op::IntAdd, args)) => match (&args[0].kind, &args[1].kind) {
                    (ExprKind::Local(x), ExprKind::Local(y)) if x == id => Some(*y),
                    _ => None,
                },
                _ => None,
            };
            // (`iadd` is int-only, so both are int locals.)
            if let Some(y) = added {
                if !fg.is_boxed(*id) && !fg.is_boxed(y) {
                    let (dst, src) = (fg.slot(*id), fg.slot(y));
                    fg.emit(Instr::LocalAddL { dst, src });
                    return;
                }
            }
        }
        match place {
            Place::Local(id) => {
                let id = *id;
                if fg.is_boxed(id) {
                    fg.load_slot(id);
                    self.assign_cell(fg, op, v);
                } else {
                    if let Some(op) = op {
                        fg.load_local(id);
                        self.expr(fg, v);
                        fg.emit(op);
                    } else {
                        self.expr(fg, v);
                    }
                    fg.store_local(id);
                }
            }
            Place::Capture(i) => {
                // Only `var`s are assignable, and captured `var`s are cells.
                fg.emit(Instr::LoadCapture { index: *i as u16 });
                self.assign_cell(fg, op, v);
            }
            Place::Field(obj, f) => {
                // `p.f op= v` on a struct in a local, when evaluating `v`
                // cannot run code that changes `p.f` (no calls): one
                // instruction after `v`.
                if let (Some(op), ExprKind::Local(id)) = (op, &obj.kind) {
                    let fused = match op {
                        Instr::IAdd {} => Some(Instr::FieldAddI {
                            local: 0,
                            field: *f,
                        }),
                        Instr::ISub {} => Some(Instr::FieldSubI {
                            local: 0,
                            field: *f,
                        }),
                        Instr::FAdd {} => Some(Instr::FieldAddF {
                            local: 0,
                            field: *f,
                        }),
                        Instr::FSub {} => Some(Instr::FieldSubF {
                            local: 0,
                            field: *f,
                        }),
                        _ => None,
                    };
                    if let (Some(mut ins), false, true) = (
                        fused.filter(|_| fg.fuse),
                        fg.is_boxed(*id),
                        calls_nothing(v),
                    ) {
                        let slot = fg.slot(*id);
                        match &mut ins {
                            Instr::FieldAddI { local, .. }
                            | Instr::FieldSubI { local, .. }
                            | Instr::FieldAddF { local, .. }
                            | Instr::FieldSubF { local, .. } => *local = slot,
                            _ => unreachable!("a field update"),
                        }
                        self.expr(fg, v);
                        fg.emit(ins);
                        return;
                    }
                }
                self.expr(fg, obj);
                if let (Some(op), ExprKind::Local(id)) = (op, &obj.kind) {
                    if !fg.is_boxed(*id) {
                        let local = fg.slot(*id);
                        fg.emit(Instr::LoadField { local, field: *f });
                        self.expr(fg, v);
                        fg.emit(op);
                        fg.emit(Instr::SetField { field: *f });
                        return;
                    }
                }
                if let Some(op) = op {
                    fg.emit(Instr::Dup {});
                    fg.emit(Instr::GetField { field: *f });
                    self.expr(fg, v);
                    fg.emit(op);
                } else {
                    self.expr(fg, v);
                }
                fg.emit(Instr::SetField { field: *f });
            }
            Place::Index(arr, idx) => {
                // Both plain locals: the value first, then one instruction.
                // (The value cannot change them: assignments are statements
                // and closures only change boxed locals.)
                if let (ExprKind::Local(a), ExprKind::Local(i)) = (&arr.kind, &idx.kind) {
                    if !fg.is_boxed(*a) && !fg.is_boxed(*i) {
                        let (array, index) = (fg.slot(*a), fg.slot(*i));
                        if !fg.fuse {
                            // What the fused forms below expand to.
                            fg.emit(Instr::Load { local: array });
                            fg.emit(Instr::Load { local: index });
                            if let Some(op) = op {
                                fg.emit(Instr::LoadElem { array, index });
                                self.expr(fg, v);
                                fg.emit(op);
                            } else {
                                self.expr(fg, v);
                            }
                            fg.emit(Instr::ASet {});
                            return;
                        }
                        if let Some(value) = imm_literal(v).filter(|_| op.is_none()) {
                            fg.emit(Instr::StoreElemImm {
                                array,
                                index,
                                value,
                            });
                            return;
                        }
                        if let Some(op) = op {
                            fg.emit(Instr::LoadElem { array, index });
                            self.expr(fg, v);
                            fg.emit(op);
                        } else {
                            self.expr(fg, v);
                        }
                        fg.emit(Instr::StoreElem { array, index });
                        return;
                    }
                }
                self.indexed_assign(fg, arr, idx, op, v, false);
            }
            Place::MapKey(map, key) => self.indexed_assign(fg, map, key, op, v, true),
        }
    }

    /// With a cell on the stack: `cell = v` or `cell op= v`.
    fn assign_cell(&mut self, fg: &mut FnGen, op: Option<Instr>, v: &Expr) {
        if let Some(op) = op {
            fg.emit(Instr::Dup {});
            fg.emit(Instr::CellGet {});
            self.expr(fg, v);
            fg.emit(op);
        } else {
            self.expr(fg, v);
        }
        fg.emit(Instr::CellSet {});
    }

    /// `c[k] = v` or `c[k] op= v` on an array or map held anywhere.
    fn indexed_assign(
        &mut self,
        fg: &mut FnGen,
        c: &Expr,
        k: &Expr,
        op: Option<Instr>,
        v: &Expr,
        is_map: bool,
    ) {
        let (get, set) = if is_map {
            (Instr::MGet {}, Instr::MSet {})
        } else {
            (Instr::AGet {}, Instr::ASet {})
        };
        match op {
            Some(op) => {
                // Evaluate container and key once, into temps.
                let (ct, kt) = (self.ty(&c.ty), self.ty(&k.ty));
                let (cs, ks) = (fg.temp(ct), fg.temp(kt));
                self.expr(fg, c);
                fg.emit(Instr::Store { local: cs });
                self.expr(fg, k);
                fg.emit(Instr::Store { local: ks });
                for _ in 0..2 {
                    fg.emit(Instr::Load { local: cs });
                    fg.emit(Instr::Load { local: ks });
                }
                fg.emit(get);
                self.expr(fg, v);
                fg.emit(op);
            }
            None => {
                self.expr(fg, c);
                self.expr(fg, k);
                self.expr(fg, v);
            }
        }
        fg.emit(set);
    }

    fn expr(&mut self, fg: &mut FnGen, x: &Expr) {
        fg.set_line(x.line);
        match &x.kind {
            ExprKind::Int(i) => {
                let c = self.constant(ConstKey::Int(*i));
                fg.emit(Instr::Const { index: c });
            }
            ExprKind::Float(f) => {
                let c = self.constant(ConstKey::Float(f.to_bits()));
                fg.emit(Instr::Const { index: c });
            }
            ExprKind::Str(s) => {
                let c = self.constant(ConstKey::Str(s.clone()));
                fg.emit(Instr::Const { index: c });
            }
            ExprKind::Bool(b) => fg.emit(Instr::Bool { value: *b as u8 }),
            ExprKind::Local(id) => fg.load_local(*id),
            ExprKind::Capture(i) => {
                fg.emit(Instr::LoadCapture { index: *i as u16 });
                if fg.capture_boxed[*i as usize] {
                    fg.emit(Instr::CellGet {});
                }
            }
            ExprKind::Global(c) => fg.emit(Instr::GlobalGet { global: *c }),
            ExprKind::FnValue(f) => {
                let ty = self.ty(&x.ty);
                fg.emit(Instr::NewClosure { func: *f, ty });
            }
            ExprKind::Op(op, args) => self.op(fg, x, instr(*op), args),
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(x.kind, ExprKind::And(..));
                self.expr(fg, a);
                let short = fg.jump(if is_and {
                    Instr::JmpIfNot { target: 0 }
                } else {
                    Instr::JmpIf { target: 0 }
                });
                self.expr(fg, b);
                let end = fg.jump(Instr::Jmp { target: 0 });
                fg.patch_here(short);
                fg.emit(Instr::Bool {
                    value: !is_and as u8,
                });
                fg.patch_here(end);
            }
            ExprKind::Call(f, args) => {
                for a in args {
                    self.expr(fg, a);
                }
                fg.set_line(x.line);
                fg.call(*f, !args.is_empty());
            }
            ExprKind::CallClosure(c, args) => {
                self.expr(fg, c);
                for a in args {
                    self.expr(fg, a);
                }
                let ty = self.ty(&c.ty);
                fg.set_line(x.line);
                fg.emit(Instr::CallClosure { ty });
            }
            ExprKind::CallHost(h, args) => {
                for a in args {
                    self.expr(fg, a);
                }
                let import = self.import(h);
                fg.set_line(x.line);
                fg.emit(Instr::CallHost { import });
            }
            ExprKind::Field(o, f) => {
                self.expr(fg, o);
                fg.emit(Instr::GetField { field: *f });
            }
            ExprKind::NewArray(items) => {
                // `array.new` takes its elements from the operand stack,
                // whose height the format limits: a longer literal makes
                // an array of its first elements and pushes the others.
                let (head, rest) = items.split_at(items.len().min(ARRAY_NEW_MAX));
                for i in head {
                    self.expr(fg, i);
                }
                let ty = self.ty(&x.ty);
                fg.emit(Instr::NewArray {
                    ty,
                    len: head.len() as u32,
                });
                for i in rest {
                    fg.emit(Instr::Dup {});
                    self.expr(fg, i);
                    fg.set_line(x.line);
                    fg.emit(Instr::APush {});
                }
            }
            ExprKind::ArrayRepeat(v, n) => {
                self.expr(fg, v);
                self.expr(fg, n);
                let ty = self.ty(&x.ty);
                fg.set_line(x.line);
                fg.emit(Instr::NewArrayRep { ty });
            }
            ExprKind::NewMap(entries) => {
                let ty = self.ty(&x.ty);
                fg.emit(Instr::NewMap { ty });
                for (k, v) in entries {
                    fg.emit(Instr::Dup {});
                    self.expr(fg, k);
                    self.expr(fg, v);
                    fg.emit(Instr::MSet {});
                }
            }
            ExprKind::NewStruct(sid, fields) => {
                let in_order = fields
                    .iter()
                    .enumerate()
                    .all(|(i, (f, _))| *f as usize == i);
                if in_order {
                    for (_, v) in fields {
                        self.expr(fg, v);
                    }
                } else {
                    // Evaluate in source order, then push in declaration order.
                    let mut temps = vec![0u16; fields.len()];
                    for (f, v) in fields {
                        let t = self.ty(&v.ty);
                        let tmp = fg.temp(t);
                        self.expr(fg, v);
                        fg.emit(Instr::Store { local: tmp });
                        temps[*f as usize] = tmp;
                    }
                    for t in temps {
                        fg.emit(Instr::Load { local: t });
                    }
                }
                let ty = self.ty(&Ty::Struct(*sid));
                fg.set_line(x.line);
                fg.emit(Instr::NewStruct { ty });
            }
            ExprKind::NewEnum(en, v, args) => {
                for a in args {
                    self.expr(fg, a);
                }
                let ty = self.ty(&Ty::Enum(*en));
                fg.set_line(x.line);
                fg.emit(Instr::NewEnum { ty, variant: *v });
            }
            ExprKind::Closure(f, sources) => {
                for s in sources {
                    match s {
                        CaptureSource::Local(id) => fg.load_slot(*id),
                        CaptureSource::Capture(i) => {
                            fg.emit(Instr::LoadCapture { index: *i as u16 })
                        }
                    }
                }
                let ty = self.ty(&x.ty);
                fg.set_line(x.line);
                fg.emit(Instr::NewClosure { func: *f, ty });
            }
            ExprKind::Error => unreachable!("programs with errors are not generated"),
        }
    }
}

impl Gen<'_> {
    /// `x`: the operands `args`, then the instruction `ins`; in one
    /// instruction with an immediate or constant operand where the right
    /// operand is a literal that fits.
    fn op(&mut self, fg: &mut FnGen, x: &Expr, ins: Instr, args: &[Expr]) {
        // `k op x` for a commutative op and a literal `k` is generated as
        // `x op k`, so the immediate and constant forms apply. (Exact: int
        // wrapping and IEEE addition and multiplication commute, and a
        // literal has no effects to reorder.)
        let literal = |e: &Expr| matches!(e.kind, ExprKind::Int(_) | ExprKind::Float(_));
        let commutes = matches!(
            ins,
            Instr::IAdd {} | Instr::IMul {} | Instr::FAdd {} | Instr::FMul {}
        );
        if let [a, b] = args {
            let (a, b) = if commutes && literal(a) && !literal(b) {
                (b, a)
            } else {
                (a, b)
            };
            if let Some(value) = imm_operand(ins, b).filter(|_| fg.fuse) {
                self.expr(fg, a);
                fg.set_line(x.line);
                fg.emit(Instr::IAddImm { value });
                return;
            }
            if let Some(k) = const_operand(ins, b).filter(|_| fg.fuse) {
                self.expr(fg, a);
                let fused = match (k, ins) {
                    (Operand::Int(value), Instr::IMul {}) => Instr::IMulImm { value },
                    (Operand::Int(value), _) => Instr::IRemImm { value },
                    (Operand::Float(f), Instr::FAdd {}) => Instr::FAddK {
                        index: self.constant(ConstKey::Float(f.to_bits())),
                    },
                    (Operand::Float(f), _) => Instr::FMulK {
                        index: self.constant(ConstKey::Float(f.to_bits())),
                    },
                };
                fg.set_line(x.line);
                fg.emit(fused);
                return;
            }
            self.expr(fg, a);
            self.expr(fg, b);
        } else {
            for a in args {
                self.expr(fg, a);
            }
        }
        let mut ins = ins;
        match &mut ins {
            Instr::SSplit { ty } | Instr::MKeys { ty } | Instr::MValues { ty } => {
                *ty = self.ty(&x.ty)
            }
            _ => {}
        }
        fg.set_line(x.line);
        fg.emit(ins);
    }
}

/// The instruction that performs `op` on the operands the stack holds.
/// (Type operands are filled in from the expression's type.)
fn instr(op: Op) -> Instr {
    use Intrinsic as N;
    let cmp = |r: Rel, six: [Instr; 6]| match r {
        Rel::Eq => six[0],
        Rel::Ne => six[1],
        Rel::Lt => six[2],
        Rel::Le => six[3],
        Rel::Gt => six[4],
        Rel::Ge => six[5],
    };
    match op {
        Op::IntAdd => Instr::IAdd {},
        Op::IntSub => Instr::ISub {},
        Op::IntMul => Instr::IMul {},
        Op::IntDiv => Instr::IDiv {},
        Op::IntRem => Instr::IRem {},
        Op::IntAnd => Instr::IAnd {},
        Op::IntOr => Instr::IOr {},
        Op::IntXor => Instr::IXor {},
        Op::IntShl => Instr::IShl {},
        Op::IntShr => Instr::IShr {},
        Op::IntNeg => Instr::INeg {},
        Op::FloatAdd => Instr::FAdd {},
        Op::FloatSub => Instr::FSub {},
        Op::FloatMul => Instr::FMul {},
        Op::FloatDiv => Instr::FDiv {},
        Op::FloatRem => Instr::FRem {},
        Op::FloatNeg => Instr::FNeg {},
        Op::Concat => Instr::SConcat {},
        Op::Not => Instr::BNot {},
        Op::IntCmp(r) => cmp(
            r,
            [
                Instr::IEq {},
                Instr::INe {},
                Instr::ILt {},
                Instr::ILe {},
                Instr::IGt {},
                Instr::IGe {},
            ],
        ),
        Op::FloatCmp(r) => cmp(
            r,
            [
                Instr::FEq {},
                Instr::FNe {},
                Instr::FLt {},
                Instr::FLe {},
                Instr::FGt {},
                Instr::FGe {},
            ],
        ),
        Op::StrCmp(r) => cmp(
            r,
            [
                Instr::SEq {},
                Instr::SNe {},
                Instr::SLt {},
                Instr::SLe {},
                Instr::SGt {},
                Instr::SGe {},
            ],
        ),
        Op::BoolEq => Instr::BEq {},
        Op::BoolNe => Instr::BNe {},
        Op::ArrayIndex => Instr::AGet {},
        Op::MapIndex => Instr::MGet {},
        Op::Intrinsic(n) => match n {
            N::Sqrt => Instr::FSqrt {},
            N::Floor => Instr::FFloor {},
            N::Ceil => Instr::FCeil {},
            N::Pow => Instr::FPow {},
            N::Sin => Instr::FSin {},
            N::Cos => Instr::FCos {},
            N::Exp => Instr::FExp {},
            N::Log => Instr::FLog {},
            N::IntAbs => Instr::IAbs {},
            N::FloatAbs => Instr::FAbs {},
            N::IntMin => Instr::IMin {},
            N::FloatMin => Instr::FMin {},
            N::IntMax => Instr::IMax {},
            N::FloatMax => Instr::FMax {},
            N::IntToStr => Instr::IToS {},
            N::FloatToStr => Instr::FToS {},
            N::BoolToStr => Instr::BToS {},
            N::FloatToInt => Instr::F2I {},
            N::StrToInt => Instr::SToI {},
            N::IntToFloat => Instr::I2F {},
            N::StrToFloat => Instr::SToF {},
            N::Fixed => Instr::FFixed {},
            N::StrLen => Instr::SLen {},
            N::ArrayLen => Instr::ALen {},
            N::MapLen => Instr::MLen {},
            N::Push => Instr::APush {},
            N::Pop => Instr::APop {},
            N::Join => Instr::SJoin {},
            N::Has => Instr::MHas {},
            N::GetOr => Instr::MGetOr {},
            N::Remove => Instr::MRemove {},
            N::Keys => Instr::MKeys { ty: 0 },
            N::Values => Instr::MValues { ty: 0 },
            N::Byte => Instr::SByte {},
            N::Slice => Instr::SSlice {},
            N::Split => Instr::SSplit { ty: 0 },
            N::Find => Instr::SFind {},
        },
    }
}

/// Whether evaluating `e` can run no code but its own (no calls of any
/// kind), so nothing it does can change a field it does not name.
fn calls_nothing(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call(..) | ExprKind::CallClosure(..) | ExprKind::CallHost(..) => false,
        ExprKind::Op(_, args) | ExprKind::NewArray(args) | ExprKind::NewEnum(_, _, args) => {
            args.iter().all(calls_nothing)
        }
        ExprKind::And(a, b) | ExprKind::Or(a, b) | ExprKind::ArrayRepeat(a, b) => {
            calls_nothing(a) && calls_nothing(b)
        }
        ExprKind::Field(a, _) => calls_nothing(a),
        ExprKind::NewMap(kvs) => kvs
            .iter()
            .all(|(k, v)| calls_nothing(k) && calls_nothing(v)),
        ExprKind::NewStruct(_, fs) => fs.iter().all(|(_, v)| calls_nothing(v)),
        _ => true,
    }
}

/// The one-instruction form of `load a; load b; op`, if there is one.
fn both_locals(op: Instr, a: u16, b: u16) -> Option<Instr> {
    Some(match op {
        Instr::IAdd {} => Instr::IAddLL { a, b },
        Instr::ISub {} => Instr::ISubLL { a, b },
        Instr::IMul {} => Instr::IMulLL { a, b },
        Instr::FAdd {} => Instr::FAddLL { a, b },
        Instr::FSub {} => Instr::FSubLL { a, b },
        Instr::FMul {} => Instr::FMulLL { a, b },
        _ => return None,
    })
}

/// The one-instruction form of `load local; op`, if there is one.
fn with_local(op: Instr, local: u16) -> Option<Instr> {
    Some(match op {
        Instr::IAddImm { value } => Instr::LoadAddImm { local, value },
        Instr::GetField { field } => Instr::LoadField { local, field },
        Instr::EnumField { variant, field } => Instr::LoadEnumField {
            local,
            variant,
            field,
        },
        Instr::IAdd {} => Instr::IAddL { local },
        Instr::ISub {} => Instr::ISubL { local },
        Instr::IMul {} => Instr::IMulL { local },
        Instr::FAdd {} => Instr::FAddL { local },
        Instr::FSub {} => Instr::FSubL { local },
        Instr::FMul {} => Instr::FMulL { local },
        Instr::FDiv {} => Instr::FDivL { local },
        Instr::Ret {} => Instr::RetL { local },
        _ => return None,
    })
}

/// Picks, by comparison, one of six instructions with the same operands.
macro_rules! cmp_instr {
    ($cmp:expr, $lt:ident, $le:ident, $gt:ident, $ge:ident, $eq:ident, $ne:ident { $($f:tt)* }) => {
        match $cmp {
            Cmp::Lt => Instr::$lt { $($f)* },
            Cmp::Le => Instr::$le { $($f)* },
            Cmp::Gt => Instr::$gt { $($f)* },
            Cmp::Ge => Instr::$ge { $($f)* },
            Cmp::Eq => Instr::$eq { $($f)* },
            Cmp::Ne => Instr::$ne { $($f)* },
        }
    };
}

/// An int comparison, and the branch instructions that test it.
#[derive(Clone, Copy)]
enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    /// The comparison an int comparison instruction makes.
    fn of(i: Instr) -> Option<Cmp> {
        Some(match i {
            Instr::ILt {} => Cmp::Lt,
            Instr::ILe {} => Cmp::Le,
            Instr::IGt {} => Cmp::Gt,
            Instr::IGe {} => Cmp::Ge,
            Instr::IEq {} => Cmp::Eq,
            Instr::INe {} => Cmp::Ne,
            _ => return None,
        })
    }

    /// The comparison that holds exactly when this one does not (exact for
    /// ints, which have no NaN).
    fn negate(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Ge,
            Cmp::Le => Cmp::Gt,
            Cmp::Gt => Cmp::Le,
            Cmp::Ge => Cmp::Lt,
            Cmp::Eq => Cmp::Ne,
            Cmp::Ne => Cmp::Eq,
        }
    }

    /// Pops two ints; pushes whether the comparison holds.
    fn instr(self) -> Instr {
        cmp_instr!(self, ILt, ILe, IGt, IGe, IEq, INe {})
    }

    /// Pops two ints; branches when the comparison holds.
    fn branch(self) -> Instr {
        cmp_instr!(self, BrILt, BrILe, BrIGt, BrIGe, BrIEq, BrINe { target: 0 })
    }

    /// Branches when int local `a` compares so with int local `b`.
    fn branch_locals(self, a: u16, b: u16) -> Instr {
        cmp_instr!(
            self,
            BrLLLt,
            BrLLLe,
            BrLLGt,
            BrLLGe,
            BrLLEq,
            BrLLNe { a, b, target: 0 }
        )
    }

    /// Branches when int local `local` compares so with `value`.
    fn branch_local_imm(self, local: u16, value: i32) -> Instr {
        cmp_instr!(
            self,
            BrLImmLt,
            BrLImmLe,
            BrLImmGt,
            BrLImmGe,
            BrLImmEq,
            BrLImmNe {
                local,
                value,
                target: 0
            }
        )
    }

    /// Pops one int; branches when it compares so with `value`.
    fn branch_imm(self, value: i32) -> Instr {
        cmp_instr!(
            self,
            BrILtImm,
            BrILeImm,
            BrIGtImm,
            BrIGeImm,
            BrIEqImm,
            BrINeImm { value, target: 0 }
        )
    }
}

enum Operand {
    Int(i32),
    Float(f64),
}

/// A constant right operand that an immediate form of `op` can take.
fn const_operand(op: Instr, k: &Expr) -> Option<Operand> {
    match (op, &k.kind) {
        (Instr::IMul {}, ExprKind::Int(v)) => i32::try_from(*v).ok().map(Operand::Int),
        (Instr::IRem {}, ExprKind::Int(v)) if *v != 0 => i32::try_from(*v).ok().map(Operand::Int),
        (Instr::FAdd {} | Instr::FMul {}, ExprKind::Float(f)) => Some(Operand::Float(*f)),
        _ => None,
    }
}

/// An int literal that fits 32 bits, or a bool literal as 0 or 1: the
/// operand of the instructions that take a literal (`ret.imm`,
/// `array.store.imm`).
fn imm_literal(e: &Expr) -> Option<i32> {
    match e.kind {
        ExprKind::Int(v) => i32::try_from(v).ok(),
        ExprKind::Bool(b) => Some(b as i32),
        _ => None,
    }
}

/// The immediate for `x + k` or `x - k` with an int constant `k` that fits.
fn imm_operand(op: Instr, k: &Expr) -> Option<i32> {
    let k = match k.kind {
        ExprKind::Int(k) => k,
        _ => return None,
    };
    match op {
        Instr::IAdd {} => i32::try_from(k).ok(),
        Instr::ISub {} => k.checked_neg().and_then(|n| i32::try_from(n).ok()),
        _ => None,
    }
}

impl FnGen {
    fn set_line(&mut self, line: u32) {
        if line != 0 && line != self.line {
            self.line = line;
            let at = self.code.len() as u32;
            match self.lines.last_mut() {
                Some(last) if last.0 == at => last.1 = line,
                _ => self.lines.push((at, line)),
            }
        }
    }

    /// Emits an instruction, fusing it with the one before where a
    /// single instruction does the same (never across a jump target).
    fn emit(&mut self, i: Instr) {
        // `store.load s a; load b; op` where `op` takes both locals:
        // `store s; op(a, b)`.
        let n = self.code.len();
        if self.fuse && n >= 2 && n - 2 >= self.barrier {
            if let (Instr::StoreLoad { store, load: a }, Instr::Load { local: b }) =
                (self.code[n - 2], self.code[n - 1])
            {
                let fused = match i {
                    Instr::AGet {} => Some(Instr::LoadElem { array: a, index: b }),
                    op => both_locals(op, a, b),
                };
                if let Some(f) = fused {
                    self.code.truncate(n - 2);
                    self.trim_lines();
                    self.code.push(Instr::Store { local: store });
                    self.code.push(f);
                    return;
                }
            }
        }
        let prev = if self.code.len() > self.barrier {
            self.code.last().copied()
        } else {
            None
        };
        let fused = match (prev, i) {
            // `!(a < b)` is `a >= b` for ints; `!!x` is `x`.
            (Some(last), Instr::BNot {}) if Cmp::of(last).is_some() => {
                Cmp::of(last).map(|c| vec![c.negate().instr()])
            }
            (Some(Instr::BNot {}), Instr::BNot {}) => Some(vec![]),
            // The rest fuse.
            _ if !self.fuse => None,
            (Some(Instr::Load { local: a }), Instr::Load { local: b }) => {
                Some(vec![Instr::Load2 { a, b }])
            }
            (Some(Instr::Store { local: store }), Instr::Load { local: load }) => {
                Some(vec![Instr::StoreLoad { store, load }])
            }
            // Element moves between locals and arrays held in locals.
            (Some(Instr::Load { local }), Instr::StoreElem { array, index }) => {
                Some(vec![Instr::StoreElemL {
                    array,
                    index,
                    local,
                }])
            }
            (
                Some(Instr::LoadElem {
                    array: src_array,
                    index: src_index,
                }),
                Instr::StoreElem { array, index },
            ) => Some(vec![Instr::CopyElem {
                array,
                index,
                src_array,
                src_index,
            }]),
            (Some(Instr::LoadElem { array, index }), Instr::Store { local: dst }) => {
                Some(vec![Instr::MoveElem { dst, array, index }])
            }
            (Some(Instr::Store { local: store }), Instr::ForStep { local, end, target }) => {
                Some(vec![Instr::StoreForStep {
                    store,
                    local,
                    end,
                    target,
                }])
            }
            (
                Some(Instr::LoadEnumField {
                    local: src,
                    variant,
                    field,
                }),
                Instr::Store { local: dst },
            ) => Some(vec![Instr::MoveEnumField {
                dst,
                src,
                variant,
                field,
            }]),
            (Some(Instr::StoreLoad { store, load }), op) => {
                with_local(op, load).map(|f| vec![Instr::Store { local: store }, f])
            }
            (Some(Instr::Load { local }), op) => with_local(op, local).map(|f| vec![f]),
            (Some(Instr::Load2 { a, b }), Instr::AGet {}) => {
                Some(vec![Instr::LoadElem { array: a, index: b }])
            }
            (Some(Instr::Load2 { a, b }), op) => match both_locals(op, a, b) {
                Some(f) => Some(vec![f]),
                None => with_local(op, b).map(|f| vec![Instr::Load { local: a }, f]),
            },
            _ => None,
        };
        match fused {
            Some(seq) => {
                self.code.pop();
                self.trim_lines();
                self.code.extend(seq);
            }
            None => self.code.push(i),
        }
    }

    /// Emits a direct call. When the last argument was just loaded from a
    /// local (plus an immediate), the call reads it from there instead.
    /// Only with arguments: otherwise the load before the call is some
    /// other value.
    fn call(&mut self, func: u32, has_args: bool) {
        if self.fuse && has_args && self.code.len() > self.barrier {
            let fused = match self.code.last().copied() {
                Some(Instr::Load { local }) => Some((None, Instr::CallL { func, local })),
                Some(Instr::LoadAddImm { local, value }) => {
                    Some((None, Instr::CallLAddImm { func, local, value }))
                }
                Some(Instr::Load2 { a, b }) => Some((
                    Some(Instr::Load { local: a }),
                    Instr::CallL { func, local: b },
                )),
                Some(Instr::StoreLoad { store, load }) => Some((
                    Some(Instr::Store { local: store }),
                    Instr::CallL { func, local: load },
                )),
                _ => None,
            };
            if let Some((first, call)) = fused {
                self.code.pop();
                self.trim_lines();
                self.code.extend(first);
                self.code.push(call);
                return;
            }
        }
        self.code.push(Instr::Call { func });
    }

    /// The position of a loop's step: a jump target only if the body has a
    /// `continue`, so otherwise the step may fuse with the body's last
    /// instruction (`store.for.step`).
    fn step_label(&mut self) -> usize {
        match self.loops.last() {
            Some(lp) if lp.continues.is_empty() => self.code.len(),
            _ => self.here(),
        }
    }

    /// The current position, as a jump target.
    fn here(&mut self) -> usize {
        self.barrier = self.code.len();
        self.code.len()
    }

    /// Emits a jump (target patched later); an int comparison followed by
    /// a conditional jump becomes one compare-and-branch instruction.
    fn jump(&mut self, i: Instr) -> usize {
        // `bnot; jmp.if` is `jmp.ifnot` (and the other way round), which may
        // fuse further with what computed the operand.
        if self.code.len() > self.barrier && self.code.last() == Some(&Instr::BNot {}) {
            let inverse = match i {
                Instr::JmpIf { target } => Some(Instr::JmpIfNot { target }),
                Instr::JmpIfNot { target } => Some(Instr::JmpIf { target }),
                _ => None,
            };
            if let Some(inverse) = inverse {
                self.code.pop();
                self.trim_lines();
                return self.jump(inverse);
            }
        }
        if !self.fuse {
            self.code.push(i);
            return self.code.len() - 1;
        }
        // `load2 a b; icmp; jmp.if` compares two locals in one instruction.
        let n = self.code.len();
        if n >= 2
            && n - 2 >= self.barrier
            && matches!(i, Instr::JmpIf { .. } | Instr::JmpIfNot { .. })
        {
            if let (Instr::Load2 { a, b }, Some(cmp)) =
                (self.code[n - 2], Cmp::of(self.code[n - 1]))
            {
                let cmp = if matches!(i, Instr::JmpIf { .. }) {
                    cmp
                } else {
                    cmp.negate()
                };
                self.code.truncate(n - 2);
                self.trim_lines();
                // A loop's step just before its test: `i += 1` then
                // `i < n` is `for.step`; `i += k` then `i <= n` is
                // `addl.br.le`.
                let prev = if self.code.len() > self.barrier {
                    self.code.last()
                } else {
                    None
                };
                let step = match (prev, cmp) {
                    (Some(&Instr::IncLocal { local, value: 1 }), Cmp::Lt) if local == a => {
                        Some(Instr::ForStep {
                            local,
                            end: b,
                            target: 0,
                        })
                    }
                    (Some(&Instr::LocalAddL { dst, src }), Cmp::Le) if dst == a => {
                        Some(Instr::AddLBrLe {
                            local: dst,
                            step: src,
                            end: b,
                            target: 0,
                        })
                    }
                    _ => None,
                };
                match step {
                    Some(fused) => {
                        self.code.pop();
                        self.trim_lines();
                        self.code.push(fused);
                    }
                    None => self.code.push(cmp.branch_locals(a, b)),
                }
                return self.code.len() - 1;
            }
        }
        let fused = match (self.code.last(), i) {
            (Some(&Instr::Load { local }), Instr::BrTagNe { variant, .. })
                if self.code.len() > self.barrier =>
            {
                Some(Instr::BrLTagNe {
                    local,
                    variant,
                    target: 0,
                })
            }
            (Some(&last), Instr::JmpIf { .. } | Instr::JmpIfNot { .. })
                if self.code.len() > self.barrier =>
            {
                Cmp::of(last).map(|c| {
                    if matches!(i, Instr::JmpIf { .. }) {
                        c
                    } else {
                        c.negate()
                    }
                    .branch()
                })
            }
            _ => None,
        };
        if let Some(f) = fused {
            self.code.pop();
            self.trim_lines();
            self.code.push(f);
        } else {
            self.code.push(i);
        }
        self.code.len() - 1
    }

    /// Drops line entries past the end after an instruction was removed,
    /// keeping the earliest line for the position.
    fn trim_lines(&mut self) {
        let len = self.code.len() as u32;
        while self.lines.len() >= 2 && self.lines[self.lines.len() - 2].0 >= len {
            self.lines.pop();
        }
        if let Some(last) = self.lines.last_mut() {
            if last.0 > len {
                last.0 = len;
            }
        }
        self.line = self.lines.last().map_or(0, |l| l.1);
    }

    fn patch(&mut self, at: usize, target: usize) {
        *self.code[at].target_mut().expect("patching a jump") = target as u32;
    }

    fn patch_here(&mut self, at: usize) {
        let here = self.here();
        self.patch(at, here);
    }

    fn patch_all_here(&mut self, at: &[usize]) {
        let here = self.here();
        for &j in at {
            self.patch(j, here);
        }
    }

    fn temp(&mut self, ty: TypeId) -> u16 {
        self.slots.push(ty);
        self.boxed.push(false);
        (self.slots.len() - 1) as u16
    }

    fn is_boxed(&self, id: LocalId) -> bool {
        self.boxed[id as usize] || self.redirect.iter().any(|(p, _)| *p as LocalId == id)
    }

    /// The slot holding local `id` (or its cell).
    fn slot(&self, id: LocalId) -> u16 {
        self.redirect
            .iter()
            .find(|(p, _)| *p as LocalId == id)
            .map_or(id as u16, |(_, c)| *c)
    }

    fn load_slot(&mut self, id: LocalId) {
        let s = self.slot(id);
        self.emit(Instr::Load { local: s });
    }

    fn load_local(&mut self, id: LocalId) {
        self.load_slot(id);
        if self.is_boxed(id) {
            self.emit(Instr::CellGet {});
        }
    }

    fn store_local(&mut self, id: LocalId) {
        let s = self.slot(id);
        self.emit(Instr::Store { local: s });
    }
}
