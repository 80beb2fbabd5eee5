//! Expressions: literals, names and paths, operators, fields, struct
//! literals and closures.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn error_expr(&self, line: u32) -> Expr {
        e(ExprKind::Error, Ty::Error, line)
    }

    pub(super) fn expr(&mut self, x: &ast::Expr, want: Option<&Ty>) -> Expr {
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

    pub(super) fn expr_inner(&mut self, x: &ast::Expr, want: Option<&Ty>) -> Expr {
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
                    (UnOp::Neg, Ty::Int) => e(ExprKind::Op(Op::IntNeg, vec![v]), Ty::Int, line),
                    (UnOp::Neg, Ty::Float) => {
                        e(ExprKind::Op(Op::FloatNeg, vec![v]), Ty::Float, line)
                    }
                    (UnOp::Not, Ty::Bool) => e(ExprKind::Op(Op::Not, vec![v]), Ty::Bool, line),
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
                            ExprKind::Op(Op::ArrayIndex, vec![o, i]),
                            (*el).clone(),
                            line,
                        )
                    }
                    Ty::Map(k, v) => {
                        let i = self.expr(idx, Some(&k));
                        self.expect_ty(&i.ty, &k, idx.span);
                        e(ExprKind::Op(Op::MapIndex, vec![o, i]), (*v).clone(), line)
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
            ast::ExprKind::StructLit(path, fields) => {
                self.struct_lit(path, fields, x.span, want, line)
            }
            ast::ExprKind::Closure(c) => {
                self.closure(&c.params, c.ret.as_ref(), &c.body, x.span, line)
            }
            ast::ExprKind::Lambda(l) => self.lambda(l, want, x.span, line),
            ast::ExprKind::Try(inner) => self.try_expr(inner, x.span, line),
            ast::ExprKind::Tuple(items) => self.tuple_expr(items, want, x.span, line),
            ast::ExprKind::TupleField(t, i, at) => self.tuple_field(t, *i, *at, line),
            ast::ExprKind::If(arms, els) => {
                let mut ty: Option<Ty> = want.cloned();
                let mut out = Vec::with_capacity(arms.len());
                for (cond, then) in arms {
                    let c = self.expr(cond, Some(&Ty::Bool));
                    self.expect_ty(&c.ty, &Ty::Bool, cond.span);
                    let (body, v) = self.value_block(then, ty.as_ref());
                    self.unify_value(&mut ty, &v, then.value.span);
                    out.push((c, body, v));
                }
                let (body, v) = self.value_block(els, ty.as_ref());
                self.unify_value(&mut ty, &v, els.value.span);
                let ty = ty.unwrap_or(Ty::Error);
                e(ExprKind::If(out, Box::new((body, v))), ty, line)
            }
            ast::ExprKind::Match(s, arms) => {
                let (s, arms, exhaustive, ty) = self.match_arms(s, arms, x.span, Some(want));
                if !exhaustive {
                    // Reported by match_arms; a value needs every case.
                    return self.error_expr(line);
                }
                e(ExprKind::Match(Box::new(s), arms), ty, line)
            }
        }
    }

    /// `|x, y| body`: parameter types written or from the function type
    /// wanted; the result type from that, or the body's value.
    fn lambda(&mut self, l: &ast::Lambda, want: Option<&Ty>, span: Span, line: u32) -> Expr {
        let wanted = match want {
            Some(Ty::Fn(ps, r)) if ps.len() == l.params.len() => Some((ps.clone(), (**r).clone())),
            _ => None,
        };
        let mut ptys = Vec::with_capacity(l.params.len());
        for (k, p) in l.params.iter().enumerate() {
            let t = match (&p.ty, &wanted) {
                (Some(t), _) => self.resolve_type(t),
                (None, Some((ps, _))) => ps[k].clone(),
                (None, None) => {
                    let msg = format!(
                        "cannot infer the type of `{}`; write it: `|{}: int|`",
                        p.name.name, p.name.name
                    );
                    self.error(p.name.span, msg);
                    Ty::Error
                }
            };
            ptys.push(t);
        }
        if let Some((ps, _)) = &wanted {
            for (k, p) in l.params.iter().enumerate() {
                if p.ty.is_some() {
                    self.expect_ty(&ptys[k], &ps[k], p.name.span);
                }
            }
        }
        // An error result type stands for "not known": from the body.
        let want_ret = wanted
            .as_ref()
            .map(|(_, r)| r.clone())
            .filter(|r| !r.is_error());
        let outer = self.fcx.last().map_or("<closure>".to_string(), |c| {
            crate::diag::shorten(&c.func.name, MAX_NAME_SHOWN).into_owned()
        });
        let rty0 = want_ret.clone().unwrap_or(Ty::Unit);
        self.push_fn(format!("{outer}.<closure>"), rty0, line, span);
        for (p, t) in l.params.iter().zip(&ptys) {
            self.declare_local(&p.name.name, t.clone(), Binding::Param);
        }
        self.fcx.last_mut().unwrap().func.params = ptys.len() as u32;
        let (body, rty) = match &l.body {
            ast::LambdaBody::Expr(x) => {
                let v = self.expr(x, want_ret.as_ref().filter(|t| **t != Ty::Unit));
                let rty = match &want_ret {
                    Some(r) => {
                        if *r != Ty::Unit {
                            self.expect_ty(&v.ty, r, x.span);
                        }
                        r.clone()
                    }
                    None => v.ty.clone(),
                };
                let vline = self.line(x.span);
                let kind = if rty == Ty::Unit {
                    StmtKind::Expr(v)
                } else {
                    StmtKind::Return(Some(v))
                };
                (vec![Stmt { kind, line: vline }], rty)
            }
            ast::LambdaBody::Block(b) => {
                let rty = want_ret.clone().unwrap_or(Ty::Unit);
                let body = self.block(b);
                if rty != Ty::Unit && !rty.is_error() && !always_returns(&body) {
                    let at = Span::new(b.span.hi.saturating_sub(1), b.span.hi);
                    let msg = format!(
                        "closure must return a value of type {} on every path",
                        self.ty_name(&rty)
                    );
                    self.error(at, msg);
                }
                (body, rty)
            }
        };
        self.fcx.last_mut().unwrap().func.ret = rty.clone();
        self.finish_closure(body, ptys, rty, span, line)
    }

    /// Ends the closure being checked (the innermost function) with body
    /// `body`: registers it and gives the expression that makes it.
    fn finish_closure(
        &mut self,
        body: Vec<Stmt>,
        ptys: Vec<Ty>,
        rty: Ty,
        span: Span,
        line: u32,
    ) -> Expr {
        let mut cx = self.fcx.pop().unwrap();
        cx.func.body = body;
        let sources: Vec<CaptureSource> = cx.func.captures.iter().map(|c| c.source).collect();
        let id = self.funcs.len() as FuncId;
        self.funcs.push(Some(cx.func));
        let ptys: Rc<[Ty]> = ptys.into();
        self.sigs.push(FuncSig {
            params: ptys.clone(),
            ret: rty.clone(),
            module: self.cur_mod,
            decl: (usize::MAX, None),
            inst: None,
        });
        let ty = Ty::Fn(ptys, Rc::new(rty));
        self.within_depth(e(ExprKind::Closure(id, sources), ty, line), span)
    }

    pub(super) fn var_expr(&self, r: VarRef, ty: Ty, line: u32) -> Expr {
        match r {
            VarRef::Local(id) => e(ExprKind::Local(id), ty, line),
            VarRef::Capture(i) => e(ExprKind::Capture(i), ty, line),
        }
    }

    pub(super) fn ident(&mut self, name: &str, span: Span, want: Option<&Ty>, line: u32) -> Expr {
        if let Some((r, ty, _)) = self.lookup_var(name, span) {
            return self.var_expr(r, ty, line);
        }
        let path = [ast::Ident {
            name: name.to_string(),
            span,
        }];
        if let Some(res) = self.resolve_path(&path) {
            return self.path_value(res, name, span, want, line);
        }
        if let Some((en, v)) = self.bare_variant(name, want, span) {
            return self.variant_value(en, v, span, line);
        }
        if let Some((g, v)) = self.generic_variant(name) {
            return self.generic_variant_value(g, v, want, span, line);
        }
        if tern_stdlib::prelude(name).is_some() || is_builtin(name) {
            self.error(
                span,
                format!("built-in function `{name}` can only be called"),
            );
        } else {
            self.error(span, format!("cannot find `{name}` in this scope"));
        }
        self.error_expr(line)
    }

    pub(super) fn path_value(
        &mut self,
        res: PathRes,
        name: &str,
        span: Span,
        want: Option<&Ty>,
        line: u32,
    ) -> Expr {
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
            PathRes::GenVariant(g, v) => self.generic_variant_value(g, v, want, span, line),
            PathRes::Generic(g) if self.generic_kind(g) == GenKind::Fn => {
                self.generic_fn_value(g, want, span, line)
            }
            PathRes::Type(_) | PathRes::Generic(_) => {
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

    /// A variant that carries values, named without them: an error.
    pub(super) fn variant_needs_values(
        &mut self,
        vname: &str,
        arity: usize,
        span: Span,
        line: u32,
    ) -> Expr {
        self.error(
            span,
            format!(
                "variant `{vname}` carries {arity} value{}; call it as `{vname}(...)`",
                if arity == 1 { "" } else { "s" }
            ),
        );
        self.error_expr(line)
    }

    pub(super) fn variant_value(&mut self, en: EnumId, v: u16, span: Span, line: u32) -> Expr {
        let (vname, arity) = {
            let (n, f) = &self.enums[en as usize].variants[v as usize];
            (n.clone(), f.len())
        };
        if arity > 0 {
            return self.variant_needs_values(&vname, arity, span, line);
        }
        e(ExprKind::NewEnum(en, v, vec![]), Ty::Enum(en), line)
    }

    pub(super) fn field(
        &mut self,
        whole: &ast::Expr,
        obj: &ast::Expr,
        name: &ast::Ident,
        want: Option<&Ty>,
        line: u32,
    ) -> Expr {
        if let Some(path) = crate::parse_helpers::path_of(whole) {
            if let Some(res) = self.resolve_path(&path) {
                let text: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                return self.path_value(res, &text.join("."), whole.span, want, line);
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

    pub(super) fn struct_lit(
        &mut self,
        path: &[ast::Ident],
        fields: &[(ast::Ident, ast::Expr)],
        span: Span,
        want: Option<&Ty>,
        line: u32,
    ) -> Expr {
        let sid = match self.resolve_path(path) {
            Some(PathRes::Type(TypeKey::Struct(s))) => s,
            Some(PathRes::Generic(g)) if self.generic_kind(g) == GenKind::Struct => {
                return self.generic_struct_lit(g, fields, span, want, line);
            }
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
        self.new_struct(sid, out, &given, span, line)
    }

    /// The literal of struct `sid` with the fields `given` (by index) set
    /// to `out`; an error at `span` if a field is missing.
    pub(super) fn new_struct(
        &mut self,
        sid: StructId,
        out: Vec<(u16, Expr)>,
        given: &HashSet<usize>,
        span: Span,
        line: u32,
    ) -> Expr {
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

    pub(super) fn closure(
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
            self.declare_local(&p.name.name, t.clone(), Binding::Param);
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
        self.finish_closure(b, ptys, rty, span, line)
    }

    /// The operation binary operator `op` means on operands of these
    /// types, and its result type.
    pub(super) fn arith_op(&self, op: BinOp, l: &Ty, r: &Ty) -> Option<(Op, Ty)> {
        use BinOp::*;
        Some(match (op, l, r) {
            (Add, Ty::Int, Ty::Int) => (Op::IntAdd, Ty::Int),
            (Sub, Ty::Int, Ty::Int) => (Op::IntSub, Ty::Int),
            (Mul, Ty::Int, Ty::Int) => (Op::IntMul, Ty::Int),
            (Div, Ty::Int, Ty::Int) => (Op::IntDiv, Ty::Int),
            (Rem, Ty::Int, Ty::Int) => (Op::IntRem, Ty::Int),
            (Add, Ty::Float, Ty::Float) => (Op::FloatAdd, Ty::Float),
            (Sub, Ty::Float, Ty::Float) => (Op::FloatSub, Ty::Float),
            (Mul, Ty::Float, Ty::Float) => (Op::FloatMul, Ty::Float),
            (Div, Ty::Float, Ty::Float) => (Op::FloatDiv, Ty::Float),
            (Rem, Ty::Float, Ty::Float) => (Op::FloatRem, Ty::Float),
            (Add, Ty::Str, Ty::Str) => (Op::Concat, Ty::Str),
            (BitAnd, Ty::Int, Ty::Int) => (Op::IntAnd, Ty::Int),
            (BitOr, Ty::Int, Ty::Int) => (Op::IntOr, Ty::Int),
            (BitXor, Ty::Int, Ty::Int) => (Op::IntXor, Ty::Int),
            (Shl, Ty::Int, Ty::Int) => (Op::IntShl, Ty::Int),
            (Shr, Ty::Int, Ty::Int) => (Op::IntShr, Ty::Int),
            (Eq, Ty::Bool, Ty::Bool) => (Op::BoolEq, Ty::Bool),
            (Ne, Ty::Bool, Ty::Bool) => (Op::BoolNe, Ty::Bool),
            (Eq | Ne | Lt | Le | Gt | Ge, Ty::Int, Ty::Int) => (Op::IntCmp(rel(op)), Ty::Bool),
            (Eq | Ne | Lt | Le | Gt | Ge, Ty::Float, Ty::Float) => {
                (Op::FloatCmp(rel(op)), Ty::Bool)
            }
            (Eq | Ne | Lt | Le | Gt | Ge, Ty::Str, Ty::Str) => (Op::StrCmp(rel(op)), Ty::Bool),
            // By value (structs and functions by identity): see `eq`.
            (Eq, a, b)
                if a == b
                    && matches!(
                        a,
                        Ty::Enum(_) | Ty::Array(_) | Ty::Map(..) | Ty::Struct(_) | Ty::Fn(..)
                    ) =>
            {
                (Op::ValueEq, Ty::Bool)
            }
            (Ne, a, b)
                if a == b
                    && matches!(
                        a,
                        Ty::Enum(_) | Ty::Array(_) | Ty::Map(..) | Ty::Struct(_) | Ty::Fn(..)
                    ) =>
            {
                (Op::ValueNe, Ty::Bool)
            }
            _ => return None,
        })
    }

    pub(super) fn binary(
        &mut self,
        op: BinOp,
        l: &ast::Expr,
        r: &ast::Expr,
        span: Span,
        line: u32,
    ) -> Expr {
        if matches!(op, BinOp::And | BinOp::Or) {
            let a = self.left_operand(l, Some(&Ty::Bool));
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
        let is_cmp = |op: BinOp| {
            use BinOp::*;
            matches!(op, Eq | Ne | Lt | Le | Gt | Ge)
        };
        if let ast::ExprKind::Binary(inner, first, _) = &l.kind {
            // Unparenthesized (a parenthesized operand's span takes in
            // its parentheses, so it starts before its own left operand).
            if is_cmp(op) && is_cmp(*inner) && first.span.lo == l.span.lo {
                let msg = format!(
                    "comparison operators do not chain: write `a {} b && b {} c`",
                    inner.symbol(),
                    op.symbol()
                );
                self.error(span, msg);
                self.left_operand(l, None);
                self.expr(r, None);
                return self.error_expr(line);
            }
        }
        let a = self.left_operand(l, None);
        let b = self.expr(r, Some(&a.ty));
        if a.ty.is_error() || b.ty.is_error() {
            return self.error_expr(line);
        }
        match self.arith_op(op, &a.ty, &b.ty) {
            Some((ins, ty)) => e(ExprKind::Op(ins, vec![a, b]), ty, line),
            None => {
                let mut msg = format!(
                    "operator `{}` cannot be applied to {} and {}",
                    op.symbol(),
                    self.ty_name(&a.ty),
                    self.ty_name(&b.ty)
                );
                let text = |t: &Ty| matches!(t, Ty::Int | Ty::Float | Ty::Bool);
                if op == BinOp::Add && a.ty == Ty::Str && text(&b.ty) {
                    msg.push_str("; convert the right side with `str(...)`");
                } else if op == BinOp::Add && text(&a.ty) && b.ty == Ty::Str {
                    msg.push_str("; convert the left side with `str(...)`");
                }
                self.error(span, msg);
                self.error_expr(line)
            }
        }
    }

    /// The left operand of a binary operator. A chain `a + b + c + ...`
    /// parses as a left-deep tree, but it is flat code: its left spine
    /// does not count toward [`MAX_NESTING`], so generated code with long
    /// chains compiles, up to [`MAX_CHAIN`] operators.
    fn left_operand(&mut self, l: &ast::Expr, want: Option<&Ty>) -> Expr {
        if !matches!(l.kind, ast::ExprKind::Binary(..)) {
            return self.expr(l, want);
        }
        if self.spine >= MAX_CHAIN {
            self.error(
                l.span,
                format!("a chain of more than {MAX_CHAIN} binary operators; split it"),
            );
            return self.error_expr(self.line(l.span));
        }
        self.spine += 1;
        self.depth -= 1;
        let a = self.expr(l, want);
        self.depth += 1;
        self.spine -= 1;
        a
    }

    // ------------------------------------------------------------ calls
}

/// The comparison a comparison operator makes.
fn rel(op: BinOp) -> Rel {
    match op {
        BinOp::Eq => Rel::Eq,
        BinOp::Ne => Rel::Ne,
        BinOp::Lt => Rel::Lt,
        BinOp::Le => Rel::Le,
        BinOp::Gt => Rel::Gt,
        _ => Rel::Ge,
    }
}
