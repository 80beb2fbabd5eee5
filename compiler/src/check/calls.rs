//! Calls: of user functions, closures, host and standard-library
//! functions, the built-in functions and the methods of built-in types.

use super::*;

impl<'a> Checker<'a> {
    /// Checks arguments whose types the callee's overloads decide; `None`
    /// if one is in error (already reported).
    fn untyped_args(&mut self, args: &[ast::Expr]) -> Option<Vec<Expr>> {
        let xs: Vec<Expr> = args.iter().map(|a| self.expr(a, None)).collect();
        (!xs.iter().any(|x| x.ty.is_error())).then_some(xs)
    }

    pub(super) fn args(
        &mut self,
        args: &[ast::Expr],
        params: &[Ty],
        what: &str,
        span: Span,
    ) -> Vec<Expr> {
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

    pub(super) fn call_fn(
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

    pub(super) fn call_host(
        &mut self,
        h: u32,
        args: &[ast::Expr],
        name: &str,
        span: Span,
        line: u32,
    ) -> Expr {
        let host = Rc::clone(&self.hosts[h as usize]);
        let xs = self.args(args, &host.params, &format!("`{name}`"), span);
        e(
            ExprKind::CallHost(Rc::clone(&host), xs),
            host.ret.clone(),
            line,
        )
    }

    pub(super) fn call_std(
        &mut self,
        fns: &[StdFn],
        name: &str,
        args: &[ast::Expr],
        span: Span,
        line: u32,
    ) -> Expr {
        let Some(xs) = self.untyped_args(args) else {
            return self.error_expr(line);
        };
        let cands: Vec<&StdFn> = fns.iter().filter(|f| f.name == name).collect();
        for f in &cands {
            if f.params.len() == xs.len() && f.params.iter().zip(&xs).all(|(p, x)| prim(*p) == x.ty)
            {
                let ret = prim(f.ret);
                return match f.lower {
                    Lowering::Op(op) => e(ExprKind::Op(Op::Intrinsic(op), xs), ret, line),
                    Lowering::Host { module, name } => {
                        let h = HostRef {
                            module: module.into(),
                            name: name.into(),
                            params: f.params.iter().map(|p| prim(*p)).collect(),
                            ret: ret.clone(),
                        };
                        e(ExprKind::CallHost(Rc::new(h), xs), ret, line)
                    }
                    Lowering::HostResult { module, name } => {
                        let outcome = Ty::array(Ty::Str);
                        let h = HostRef {
                            module: module.into(),
                            name: name.into(),
                            params: f.params.iter().map(|p| prim(*p)).collect(),
                            ret: outcome.clone(),
                        };
                        let call = e(ExprKind::CallHost(Rc::new(h), xs), outcome, line);
                        self.host_outcome(call, ret, span, line)
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

    pub(super) fn call(
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
                    PathRes::GenVariant(g, v) => {
                        self.construct_generic_variant(g, v, args, want, span, line)
                    }
                    PathRes::Generic(g) if self.generic_kind(g) == GenKind::Fn => {
                        self.call_generic_fn(g, None, vec![], args, &last, span, want, line)
                    }
                    PathRes::StdFns(m, name) => self.call_std(m.fns, name, args, span, line),
                    PathRes::Host(h) => self.call_host(h, args, &last, span, line),
                    PathRes::Const(_) => {
                        let f = self.path_value(res, &last, callee.span, None, line);
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
            if last == crate::lexer::INTERPOLATION_STR {
                return self.builtin("str", args, span, line);
            }
            if path.len() == 1 && self.lookup_var(&last, callee.span).is_none() {
                if let Some(f) = tern_stdlib::prelude(&last) {
                    return self.call_std(std::slice::from_ref(f), &last, args, span, line);
                }
                if is_builtin(&last) {
                    return self.builtin(&last, args, span, line);
                }
                if matches!(last.as_str(), "panic" | "exit" | "assert") {
                    return self.stop_call(&last, args, span, line);
                }
                if let Some((en, v)) = self.bare_variant(&last, want, callee.span) {
                    return self.construct_variant(en, v, args, span, line);
                }
                if let Some((g, v)) = self.generic_variant(&last) {
                    return self.construct_generic_variant(g, v, args, want, span, line);
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
                    if matches!(
                        prefix,
                        PathRes::Module(_) | PathRes::Type(_) | PathRes::Generic(_)
                    ) {
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
            return self.method_call(o, name, args, span, want, line);
        }
        let f = self.expr(callee, None);
        self.call_value(f, args, span, line)
    }

    /// `panic(msg)`, `exit(code)`, `assert(cond)`, `assert(cond, msg)`.
    fn stop_call(&mut self, name: &str, args: &[ast::Expr], span: Span, line: u32) -> Expr {
        let params: &[Ty] = match (name, args.len()) {
            ("panic", _) => &[Ty::Str],
            ("exit", _) => &[Ty::Int],
            ("assert", n) if n >= 2 => &[Ty::Bool, Ty::Str],
            _ => &[Ty::Bool],
        };
        let mut xs = self
            .args(args, params, &format!("`{name}`"), span)
            .into_iter();
        let (Some(first), second) = (xs.next(), xs.next()) else {
            return self.error_expr(line);
        };
        if first.ty.is_error() || second.as_ref().is_some_and(|s| s.ty.is_error()) {
            return self.error_expr(line);
        }
        let kind = match name {
            "panic" => ExprKind::Panic(Box::new(first)),
            "exit" => ExprKind::Exit(Box::new(first)),
            _ => ExprKind::Assert(Box::new(first), second.map(Box::new)),
        };
        e(kind, Ty::Unit, line)
    }

    pub(super) fn call_value(
        &mut self,
        f: Expr,
        args: &[ast::Expr],
        span: Span,
        line: u32,
    ) -> Expr {
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

    pub(super) fn construct_variant(
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

    pub(super) fn builtin(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        span: Span,
        line: u32,
    ) -> Expr {
        let Some(xs) = self.untyped_args(args) else {
            return self.error_expr(line);
        };
        let tys: Vec<Ty> = xs.iter().map(|x| x.ty.clone()).collect();
        let fits = |p: &Param, t: &Ty| match (p, t) {
            (Param::AnyArray, Ty::Array(_)) | (Param::AnyMap, Ty::Map(..)) => true,
            (Param::Prim(p), t) => prim(*p) == *t,
            _ => false,
        };
        let found = tern_stdlib::builtins(name).find(|b| {
            b.params.len() == tys.len() && b.params.iter().zip(&tys).all(|(p, t)| fits(p, t))
        });
        let r = match found {
            Some(Builtin { op: None, .. }) => return xs.into_iter().next().expect("one argument"),
            Some(&Builtin {
                op: Some(op),
                ret: Param::Parsed(p),
                ..
            }) => {
                let x = xs.into_iter().next().expect("one argument");
                return self.parsed(x, op, prim(p), span, line);
            }
            Some(&Builtin {
                op: Some(op),
                ret: Param::Prim(ret),
                ..
            }) => Some((Op::Intrinsic(op), prim(ret))),
            _ => None,
        };
        // `str` of any other value: arrays, maps, structs, enums, closures.
        let text = name == "str" && matches!(tys[..], [ref t] if *t != Ty::Unit);
        match r {
            Some((op, ty)) => e(ExprKind::Op(op, xs), ty, line),
            None if text => e(ExprKind::Op(Op::ValueText, xs), Ty::Str, line),
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

    pub(super) fn method_call(
        &mut self,
        o: Expr,
        name: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
        want: Option<&Ty>,
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
            if let Some((g, outer)) = self.generic_method(&o.ty, &name.name) {
                let n = &name.name;
                return self.call_generic_fn(g, Some(o), outer, args, n, span, want, line);
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
        if ty.is_error() {
            for a in args {
                self.expr(a, None);
            }
            return self.error_expr(line);
        }
        if matches!(ty, Ty::Map(..)) && m == "entries" && args.is_empty() {
            return self.map_entries(o, span, line);
        }
        if let Ty::Array(el) = &ty {
            let f = match m {
                "map" => Some(ArrayFn::Map),
                "filter" => Some(ArrayFn::Filter),
                "fold" => Some(ArrayFn::Fold),
                "any" => Some(ArrayFn::Any),
                "all" => Some(ArrayFn::All),
                "sort_by" => Some(ArrayFn::SortBy),
                _ => None,
            };
            if let Some(f) = f {
                let el = (**el).clone();
                return self.array_fn(f, o, el, args, span, line);
            }
        }
        let receivers: &[Receiver] = match &ty {
            Ty::Str => &[Receiver::Str],
            Ty::Array(el) if **el == Ty::Str => &[Receiver::Array, Receiver::StrArray],
            Ty::Array(_) => &[Receiver::Array],
            Ty::Map(..) => &[Receiver::Map],
            _ => &[],
        };
        let Some(method) = receivers
            .iter()
            .find_map(|r| tern_stdlib::method_of(*r, m, args.len()))
        else {
            let tn = self.ty_name(&ty);
            self.error(name.span, format!("{tn} has no method `{m}`"));
            for a in args {
                self.expr(a, None);
            }
            return self.error_expr(line);
        };
        let of = |p: &Param| -> Ty {
            match (p, &ty) {
                (Param::Prim(p), _) => prim(*p),
                (Param::Elem, Ty::Array(el)) => (**el).clone(),
                (Param::Key, Ty::Map(k, _)) => (**k).clone(),
                (Param::Value, Ty::Map(_, v)) => (**v).clone(),
                (Param::KeyArray, Ty::Map(k, _)) => Ty::array((**k).clone()),
                (Param::ValueArray, Ty::Map(_, v)) => Ty::array((**v).clone()),
                (Param::StrArray, _) => Ty::array(Ty::Str),
                (Param::IntArray, _) => Ty::array(Ty::Int),
                (Param::This, _) => ty.clone(),
                _ => unreachable!("the catalogue gives {m} no such parameter"),
            }
        };
        if matches!(method.op, Intrinsic::ArrayMin | Intrinsic::ArrayMax) {
            if let Ty::Array(el) = &ty {
                if !matches!(**el, Ty::Int | Ty::Float | Ty::Str) {
                    let msg = format!(
                        "`{m}` is for arrays of ints, floats and strings, not {}; use `fold`",
                        self.ty_name(&ty)
                    );
                    self.error(name.span, msg);
                }
            }
        }
        if method.op == Intrinsic::ArraySort {
            if let Ty::Array(el) = &ty {
                if !matches!(**el, Ty::Int | Ty::Float | Ty::Bool | Ty::Str) {
                    let msg = format!(
                        "`sort` sorts arrays of ints, floats, bools and strings, not {}; use `sort_by` with a comparison",
                        self.ty_name(&ty)
                    );
                    self.error(name.span, msg);
                }
            }
        }
        let params: Vec<Ty> = method.params.iter().map(of).collect();
        let (ins, ret) = (Op::Intrinsic(method.op), of(&method.ret));
        let mut xs = vec![o];
        xs.extend(self.args(args, &params, &format!("`{m}`"), span));
        e(ExprKind::Op(ins, xs), ret, line)
    }

    /// `xs.map(f)`, `filter`, `fold(init, f)`, `any`, `all`, `sort_by`:
    /// the function's type follows from the element type (a short closure
    /// needs no annotations).
    fn array_fn(
        &mut self,
        f: ArrayFn,
        xs: Expr,
        el: Ty,
        args: &[ast::Expr],
        span: Span,
        line: u32,
    ) -> Expr {
        let fun = |ps: Vec<Ty>, r: Ty| Ty::Fn(ps.into(), Rc::new(r));
        let want_args = if f == ArrayFn::Fold { 2 } else { 1 };
        let name = match f {
            ArrayFn::Map => "map",
            ArrayFn::Filter => "filter",
            ArrayFn::Fold => "fold",
            ArrayFn::Any => "any",
            ArrayFn::All => "all",
            ArrayFn::SortBy => "sort_by",
        };
        if args.len() != want_args {
            self.error(
                span,
                format!(
                    "`{name}` takes {want_args} argument{}, {} given",
                    if want_args == 1 { "" } else { "s" },
                    args.len()
                ),
            );
            for a in args {
                self.expr(a, None);
            }
            return self.error_expr(line);
        }
        let mut operands = vec![xs];
        let (want, ret) = match f {
            ArrayFn::Map => (fun(vec![el.clone()], Ty::Error), None),
            ArrayFn::Filter => (fun(vec![el.clone()], Ty::Bool), Some(Ty::array(el.clone()))),
            ArrayFn::Any | ArrayFn::All => (fun(vec![el.clone()], Ty::Bool), Some(Ty::Bool)),
            ArrayFn::SortBy => (fun(vec![el.clone(), el.clone()], Ty::Int), Some(Ty::Unit)),
            ArrayFn::Fold => {
                let init = self.expr(&args[0], None);
                let acc = init.ty.clone();
                operands.push(init);
                (fun(vec![acc.clone(), el.clone()], acc.clone()), Some(acc))
            }
        };
        let fa = args.last().expect("counted");
        let g = self.expr(fa, Some(&want));
        if g.ty.is_error() || operands.iter().any(|x| x.ty.is_error()) {
            return self.error_expr(line);
        }
        let ret = match (f, &g.ty) {
            (ArrayFn::Map, Ty::Fn(ps, r)) if ps.len() == 1 && ps[0] == el && **r != Ty::Unit => {
                Ty::array((**r).clone())
            }
            (ArrayFn::Map, _) => {
                let msg = format!(
                    "`map` takes a function from {} to a value, not {}",
                    self.ty_name(&el),
                    self.ty_name(&g.ty)
                );
                self.error(fa.span, msg);
                return self.error_expr(line);
            }
            _ => {
                self.expect_ty(&g.ty, &want, fa.span);
                ret.expect("known for all but map")
            }
        };
        operands.push(g);
        e(ExprKind::ArrayFn(f, operands), ret, line)
    }

    pub(super) fn fn_decl_has_self(&self, f: FuncId) -> bool {
        let sig = &self.sigs[f as usize];
        sig.decl.1.is_some() && self.fn_decl(f).has_self
    }
}
