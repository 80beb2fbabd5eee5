//! Statements and patterns: blocks, assignments, loops, `match` and the
//! patterns of its arms, and what control flow can reach.

use super::*;

impl<'a> Checker<'a> {
    /// A function's body, taken by value: each statement's tree is freed
    /// once it is checked, so that the tree and the checked program are
    /// not both whole in memory.
    pub(super) fn body(&mut self, b: ast::Block) -> Vec<Stmt> {
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

    pub(super) fn block(&mut self, b: &ast::Block) -> Vec<Stmt> {
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

    pub(super) fn block_inner(&mut self, b: &ast::Block) -> Vec<Stmt> {
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

    pub(super) fn stmt(&mut self, s: &ast::Stmt) -> Option<Stmt> {
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
                let id = self.declare_local(
                    &name.name,
                    ty,
                    if *mutable { Binding::Var } else { Binding::Let },
                );
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

    pub(super) fn assign(
        &mut self,
        target: &ast::Expr,
        op: ast::AssignOp,
        value: &ast::Expr,
        line: u32,
    ) -> Option<Stmt> {
        let (place, ty) = match &target.kind {
            ast::ExprKind::Ident(name) => match self.lookup_var(name, target.span) {
                Some((r, ty, binding)) => {
                    if !binding.mutable() {
                        self.error(
                            target.span,
                            format!("cannot assign to `{name}`: {}", binding.immutable_because()),
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
                match self.arith_op(bop, &ty, &v.ty) {
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

    pub(super) fn for_stmt(
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
            let var = self.declare_local(&first.name, Ty::Int, Binding::LoopVar);
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
                            let i = self.declare_local(&first.name, Ty::Int, Binding::LoopVar);
                            (
                                Some(i),
                                self.declare_local(&s.name, (*el).clone(), Binding::LoopVar),
                            )
                        }
                        None => (
                            None,
                            self.declare_local(&first.name, (*el).clone(), Binding::LoopVar),
                        ),
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
                    let key = self.declare_local(&first.name, (*k).clone(), Binding::LoopVar);
                    let value =
                        second.map(|s| self.declare_local(&s.name, (*v).clone(), Binding::LoopVar));
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
                    self.declare_local(&first.name, Ty::Error, Binding::LoopVar);
                    if let Some(s) = second {
                        self.declare_local(&s.name, Ty::Error, Binding::LoopVar);
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

    pub(super) fn match_stmt(
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
                    // Covered values are numbered as bools are: `false` 0.
                    let which = if covered.contains(&0) {
                        "`true`"
                    } else if covered.contains(&1) {
                        "`false`"
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

    pub(super) fn pattern(
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
                let id = self.declare_local(name, sty.clone(), Binding::Pattern);
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
                    // `Shape.Circle(r)`, `util.Shape.Circle(r)`, or
                    // `util.Circle(r)` as in expressions.
                    let typed = matches!(
                        self.resolve_path(&path[..path.len() - 1]),
                        Some(PathRes::Type(TypeKey::Enum(x))) if x == en
                    );
                    let variant = || matches!(self.resolve_path(path), Some(PathRes::Variant(x, _)) if x == en);
                    if !typed && !variant() {
                        let msg = format!(
                            "this pattern does not name a variant of `{}`",
                            self.enums[en as usize].name
                        );
                        self.error(p.span, msg);
                        return ArmTest::Always;
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
                            let id = self.declare_local(n, ft.clone(), Binding::Pattern);
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
}

/// Whether control cannot reach the end of these statements.
pub fn always_returns(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Return(_) => true,
        StmtKind::Expr(x) => matches!(x.kind, ExprKind::Panic(_) | ExprKind::Exit(_)),
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
pub(super) fn breaks(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Break => true,
        StmtKind::Block(b) => breaks(b),
        StmtKind::If(arms, e) => arms.iter().any(|a| breaks(&a.then)) || breaks(e),
        StmtKind::Match { arms, .. } => arms.iter().any(|a| breaks(&a.body)),
        _ => false,
    })
}
