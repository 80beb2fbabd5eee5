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
                if name.name == "_" {
                    // `let _ = x;`: evaluated for its effects, then dropped.
                    if let Some(w) = &want {
                        self.expect_ty(&x.ty, w, init.span);
                    }
                    return Some(Stmt {
                        kind: StmtKind::Expr(x),
                        line,
                    });
                }
                let ty =
                    self.binding_type(want, &x, init.span, "this expression has no value to bind");
                let id = self.declare_local(
                    &name.name,
                    ty,
                    if *mutable { Binding::Var } else { Binding::Let },
                );
                StmtKind::Let(id, x)
            }
            ast::StmtKind::LetTuple(l) => {
                let want = l.ty.as_ref().map(|t| self.resolve_type(t));
                let x = self.expr(&l.init, want.as_ref());
                if let Some(w) = &want {
                    self.expect_ty(&x.ty, w, l.init.span);
                }
                let binding = if l.mutable {
                    Binding::Var
                } else {
                    Binding::Let
                };
                return Some(self.destructure(&l.names, x, binding, s.span, line));
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
            ast::StmtKind::While { label, cond, body } => {
                let c = self.expr(cond, Some(&Ty::Bool));
                self.expect_ty(&c.ty, &Ty::Bool, cond.span);
                self.enter_loop(label.as_ref());
                let b = self.block(body);
                self.fcx.last_mut().unwrap().loops.pop();
                if matches!(c.kind, ExprKind::Bool(true)) {
                    StmtKind::Loop(b)
                } else {
                    StmtKind::While(Box::new(c), b)
                }
            }
            ast::StmtKind::For(f) => {
                return self.for_stmt(f, line);
            }
            ast::StmtKind::Match { scrutinee, arms } => {
                return self.match_stmt(scrutinee, arms, s.span, line)
            }
            ast::StmtKind::Return(x) => {
                if self.fcx.last().unwrap().expr_blocks > 0 {
                    self.error(
                        s.span,
                        "`return` cannot leave the block of an `if` or `match` expression",
                    );
                }
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
            ast::StmtKind::Break(label) | ast::StmtKind::Continue(label) => {
                let brk = matches!(s.kind, ast::StmtKind::Break(_));
                let depth = self.loop_target(label.as_ref(), brk, s.span)?;
                if brk {
                    StmtKind::Break(depth)
                } else {
                    StmtKind::Continue(depth)
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

    /// Opens a loop (its label checked against the loops around it).
    fn enter_loop(&mut self, label: Option<&ast::Ident>) {
        if let Some(l) = label {
            let cx = self.fcx.last().unwrap();
            if cx
                .loops
                .iter()
                .any(|(n, _)| n.as_deref() == Some(l.name.as_str()))
            {
                let msg = format!(
                    "label `'{}` is already used by a loop around this one",
                    l.name
                );
                self.error(l.span, msg);
            }
        }
        let cx = self.fcx.last_mut().unwrap();
        let level = cx.expr_blocks;
        cx.loops.push((label.map(|l| l.name.clone()), level));
    }

    /// How many loops out a `break` or `continue` (to `label`, or the
    /// innermost loop) goes; `None` after reporting why it cannot.
    fn loop_target(&mut self, label: Option<&ast::Ident>, brk: bool, span: Span) -> Option<u32> {
        let what = if brk { "break" } else { "continue" };
        let cx = self.fcx.last().unwrap();
        let found = match label {
            None => cx.loops.len().checked_sub(1),
            Some(l) => cx
                .loops
                .iter()
                .rposition(|(n, _)| n.as_deref() == Some(l.name.as_str())),
        };
        let Some(at) = found else {
            let msg = match label {
                None => format!("`{what}` outside of a loop"),
                Some(l) => format!("no loop labelled `'{}` around this `{what}`", l.name),
            };
            self.error(span, msg);
            return None;
        };
        if cx.loops[at].1 != cx.expr_blocks {
            let msg = format!("`{what}` cannot leave the block of an `if` or `match` expression");
            self.error(span, msg);
            return None;
        }
        Some((cx.loops.len() - 1 - at) as u32)
    }

    pub(super) fn for_stmt(&mut self, f: &ast::For, line: u32) -> Option<Stmt> {
        let ast::For {
            label,
            first,
            second,
            iter,
            end,
            inclusive,
            parts,
            body,
        } = f;
        let second = second.as_ref();
        let it = self.expr(iter, None);
        if parts.is_some() && !matches!(it.ty, Ty::Array(_) | Ty::Error) {
            let msg = format!(
                "`for (a, b) in ...` takes an array of tuples, not {}; a map's loop is `for k, v in m`",
                self.ty_name(&it.ty)
            );
            self.error(iter.span, msg);
        }
        let end = end.as_ref().map(|x| (self.expr(x, Some(&Ty::Int)), x.span));
        self.fcx.last_mut().unwrap().enter();
        self.enter_loop(label.as_ref());
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
                inclusive: *inclusive,
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
                    // `for (a, b) in pairs`: the parts bound first thing.
                    let split = parts.as_ref().map(|names| {
                        let item = e(ExprKind::Local(var), (*el).clone(), line);
                        self.destructure(names, item, Binding::LoopVar, first.span, line)
                    });
                    let mut b = self.block(body);
                    if let Some(split) = split {
                        b.insert(0, split);
                    }
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
        self.fcx.last_mut().unwrap().loops.pop();
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
        let (s, arms, exhaustive, _) = self.match_arms(scrutinee, arms, span, None);
        Some(Stmt {
            kind: StmtKind::Match {
                scrutinee: Box::new(s),
                arms,
                exhaustive,
            },
            line,
        })
    }

    /// A `match` statement's or expression's scrutinee and arms, whether
    /// they cover every value, and (with `value`, for an expression: the
    /// type wanted, if known) the type of the arms' values.
    pub(super) fn match_arms(
        &mut self,
        scrutinee: &ast::Expr,
        arms: &[ast::Arm],
        span: Span,
        value: Option<Option<&Ty>>,
    ) -> (Expr, Vec<Arm>, bool, Ty) {
        let s = self.expr(scrutinee, None);
        let sty = s.ty.clone();
        if !matches!(sty, Ty::Enum(_) | Ty::Int | Ty::Str | Ty::Bool | Ty::Error) {
            let msg = format!(
                "cannot match on {}; match works on enums, tuples, int, str and bool",
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
        // The values' type: the one wanted, else the first arm's.
        let mut vty: Option<Ty> = value.flatten().cloned();
        for arm in arms {
            let aline = self.line(arm.pat.span);
            self.fcx.last_mut().unwrap().enter();
            let mut binds = Vec::new();
            // A guarded arm covers nothing: its guard may be false.
            let (mut cov, mut all) = (HashSet::new(), false);
            let mut tests = vec![self.pattern(&arm.pat, &sty, &mut binds, &mut cov, &mut all)];
            for alt in &arm.alts {
                let mut alt_binds = Vec::new();
                tests.push(self.pattern(alt, &sty, &mut alt_binds, &mut cov, &mut all));
                if !alt_binds.is_empty() || !binds.is_empty() {
                    self.error(
                        alt.span,
                        "patterns joined with `|` cannot bind names; bind in separate arms",
                    );
                }
            }
            if tests.iter().any(|t| matches!(t, ArmTest::Always)) {
                tests = vec![ArmTest::Always];
            }
            let guard = arm.guard.as_ref().map(|g| {
                let x = self.expr(g, Some(&Ty::Bool));
                self.expect_ty(&x.ty, &Ty::Bool, g.span);
                x
            });
            if guard.is_none() {
                covered.extend(cov);
                catch_all |= all;
            }
            let (body, v) = match (&arm.body, value) {
                (ast::ArmBody::Block(b), None) => (self.block(b), None),
                (ast::ArmBody::Value(vb), None) => {
                    // A statement's arm: the value is an expression statement.
                    let (mut body, x) = self.value_block(vb, None);
                    if matches!(
                        x.kind,
                        ExprKind::Int(_)
                            | ExprKind::Float(_)
                            | ExprKind::Str(_)
                            | ExprKind::Bool(_)
                            | ExprKind::Local(_)
                    ) {
                        self.error(
                            vb.value.span,
                            "this value is not used: a `match` statement runs its arms for their effects; to use the value, write `let x = match ...;`",
                        );
                    }
                    let line = self.line(vb.value.span);
                    body.push(Stmt {
                        kind: StmtKind::Expr(x),
                        line,
                    });
                    (body, None)
                }
                (ast::ArmBody::Value(vb), Some(_)) => {
                    let (mut body, x) = self.value_block(vb, vty.as_ref());
                    if matches!(x.kind, ExprKind::Panic(_) | ExprKind::Exit(_)) {
                        // `None => panic("...")`: no value, as control
                        // does not go on.
                        let line = self.line(vb.value.span);
                        body.push(Stmt {
                            kind: StmtKind::Expr(x),
                            line,
                        });
                        (body, None)
                    } else {
                        self.unify_value(&mut vty, &x, vb.value.span);
                        (body, Some(x))
                    }
                }
                (ast::ArmBody::Block(b), Some(_)) => {
                    self.fcx.last_mut().unwrap().expr_blocks += 1;
                    let body = self.block(b);
                    self.fcx.last_mut().unwrap().expr_blocks -= 1;
                    if !always_returns(&body) {
                        self.error(
                            b.span,
                            "this arm has no value: the arms of a `match` expression end in a value (or panic)",
                        );
                    }
                    (body, None)
                }
            };
            self.fcx.last_mut().unwrap().leave();
            out.push(Arm {
                tests,
                binds,
                guard,
                body,
                value: v,
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
        if value.is_some() && vty.is_none() && !out.is_empty() {
            self.error(
                Span::new(span.lo, scrutinee.span.hi),
                "every arm of this `match` ends the program or returns: it has no value",
            );
        }
        let ty = vty.unwrap_or(Ty::Error);
        (s, out, exhaustive, ty)
    }

    /// A block ending in a value, in a scope of its own: its statements
    /// and value. `return`, `break` and `continue` may not leave it.
    pub(super) fn value_block(
        &mut self,
        b: &ast::ValueBlock,
        want: Option<&Ty>,
    ) -> (Vec<Stmt>, Expr) {
        let cx = self.fcx.last_mut().unwrap();
        cx.enter();
        cx.expr_blocks += 1;
        let mut out = Vec::with_capacity(b.stmts.len());
        for s in &b.stmts {
            if let Some(s) = self.stmt(s) {
                out.push(s);
            }
        }
        let x = self.expr(&b.value, want);
        let cx = self.fcx.last_mut().unwrap();
        cx.expr_blocks -= 1;
        cx.leave();
        (out, x)
    }

    /// Holds a branch's or arm's value `x` to the type of the others (the
    /// first one's, or the one wanted).
    pub(super) fn unify_value(&mut self, ty: &mut Option<Ty>, x: &Expr, span: Span) {
        match ty {
            Some(t) => {
                let t = t.clone();
                self.expect_ty(&x.ty, &t, span);
            }
            None => {
                if x.ty == Ty::Unit {
                    self.error(span, "this expression has no value");
                    *ty = Some(Ty::Error);
                } else {
                    *ty = Some(x.ty.clone());
                }
            }
        }
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
                    // (A generic enum's name means any of its instances.)
                    let generic = self.origin(sty).map(|(g, _)| g);
                    let typed = match self.resolve_path(&path[..path.len() - 1]) {
                        Some(PathRes::Type(TypeKey::Enum(x))) => x == en,
                        Some(PathRes::Generic(g)) => Some(g) == generic,
                        _ => false,
                    };
                    let variant = || match self.resolve_path(path) {
                        Some(PathRes::Variant(x, _)) => x == en,
                        Some(PathRes::GenVariant(g, _)) => Some(g) == generic,
                        _ => false,
                    };
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
                self.bind_parts(subs, &fields, binds);
                covered.insert(v);
                ArmTest::Variant(v as u16)
            }
            ast::PatternKind::Tuple(subs) => {
                let Some(parts) = self.tuple_parts(sty) else {
                    if !sty.is_error() {
                        let msg = format!(
                            "a tuple pattern cannot match a value of type {}",
                            self.ty_name(sty)
                        );
                        self.error(p.span, msg);
                    }
                    return ArmTest::Always;
                };
                if subs.len() != parts.len() {
                    let msg = format!(
                        "the tuple has {} parts, the pattern binds {}",
                        parts.len(),
                        subs.len()
                    );
                    self.error(p.span, msg);
                }
                self.bind_parts(subs, &parts, binds);
                covered.insert(0);
                ArmTest::Variant(0)
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

    /// Binds the names of a variant's or tuple's sub-patterns `subs` to
    /// its parts, of types `parts` (a sub-pattern is a name or `_`).
    fn bind_parts(&mut self, subs: &[ast::Pattern], parts: &[Ty], binds: &mut Vec<Bind>) {
        for (i, (sp, ft)) in subs.iter().zip(parts.iter()).enumerate() {
            match &sp.kind {
                ast::PatternKind::Wildcard => {}
                ast::PatternKind::Ident(n) => {
                    let id = self.declare_local(n, ft.clone(), Binding::Pattern);
                    binds.push(Bind::Field(id, i as u16));
                }
                _ => self.error(
                    sp.span,
                    "nested patterns are not supported; bind the value to a name and match on it",
                ),
            }
        }
    }

    // ------------------------------------------------------------ expressions
}

/// Whether control cannot reach the end of these statements.
pub fn always_returns(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Return(_) | StmtKind::ReturnFromExpr(_) => true,
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

/// Whether a `break` or `continue` in these statements may leave the loop
/// `depth` loops out from them (0: the loop whose body they are).
fn leaves(stmts: &[Stmt], depth: u32) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Break(d) => *d >= depth,
        StmtKind::Continue(d) => *d > depth,
        StmtKind::Block(b) => leaves(b, depth),
        StmtKind::If(arms, e) => arms.iter().any(|a| leaves(&a.then, depth)) || leaves(e, depth),
        StmtKind::Match { arms, .. } => arms.iter().any(|a| leaves(&a.body, depth)),
        StmtKind::While(_, b)
        | StmtKind::Loop(b)
        | StmtKind::ForRange { body: b, .. }
        | StmtKind::ForArray { body: b, .. }
        | StmtKind::ForMap { body: b, .. } => leaves(b, depth + 1),
        _ => false,
    })
}

/// Whether a `break` leaves this loop body, or a labelled `break` or
/// `continue` in it leaves a loop around it.
pub(super) fn breaks(stmts: &[Stmt]) -> bool {
    leaves(stmts, 0)
}
