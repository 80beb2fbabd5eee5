//! Uses of generic declarations: calls of generic functions and methods,
//! variants of generic enums and literals of generic structs. Each infers
//! its type arguments (see `generics.rs`), makes the instance, and checks
//! the arguments against the instance's types.

use super::*;

impl<'a> Checker<'a> {
    /// A call of generic function `g`: `first(xs)`, `s.push(x)` (with the
    /// receiver `recv`, whose type fixes the first type arguments, `outer`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn call_generic_fn(
        &mut self,
        g: GenId,
        recv: Option<Expr>,
        outer: Vec<Ty>,
        args: &[ast::Expr],
        name: &str,
        span: Span,
        want: Option<&Ty>,
        line: u32,
    ) -> Expr {
        if self.fcx.last().is_some_and(|c| c.const_mode) {
            self.error(span, "constant initializers cannot call functions");
        }
        let decl = self.generic_fn_decl(g);
        let misuse = match (&recv, decl.has_self) {
            (None, true) => Some(format!(
                "`{name}` takes `self`; call it on a value: `x.{name}(...)`"
            )),
            (Some(_), false) => Some(format!(
                "`{name}` does not take `self`; call it on the type"
            )),
            _ => None,
        };
        if let Some(msg) = misuse {
            self.error(span, msg);
        }
        if self.generic_broken(g) || recv.is_some() != decl.has_self {
            for a in args {
                self.expr(a, None);
            }
            return self.error_expr(line);
        }
        let n = self.generic_params(g).len();
        let mut bound: Vec<Option<Ty>> = outer.into_iter().map(Some).collect();
        bound.resize(n, None);
        let templates: Vec<&ast::TypeExpr> = decl.params.iter().map(|p| &p.ty).collect();
        let refs: Vec<&ast::Expr> = args.iter().collect();
        let what = format!("`{name}`");
        let (xs, env) = self.infer(
            g,
            bound,
            &templates,
            &refs,
            decl.ret.as_ref(),
            want,
            &what,
            span,
        );
        let Some(env) = env else {
            return self.error_expr(line);
        };
        let Some(f) = self.instantiate_fn(g, env, span) else {
            return self.error_expr(line);
        };
        let skip = recv.is_some() as usize;
        let params = self.sigs[f as usize].params.clone();
        for ((x, a), p) in xs.iter().zip(args).zip(params.iter().skip(skip)) {
            self.expect_ty(&x.ty, p, a.span);
        }
        let ret = self.sigs[f as usize].ret.clone();
        let mut out: Vec<Expr> = recv.into_iter().collect();
        out.extend(xs);
        e(ExprKind::Call(f, out), ret, line)
    }

    /// `Some(x)`, `Ok(v)`: a variant of generic enum `g` with values.
    pub(super) fn construct_generic_variant(
        &mut self,
        g: GenId,
        v: u16,
        args: &[ast::Expr],
        want: Option<&Ty>,
        span: Span,
        line: u32,
    ) -> Expr {
        let (vname, templates) = self.generic_variant_decl(g, v);
        if templates.is_empty() {
            self.error(
                span,
                format!("variant `{vname}` carries no values; write it without parentheses"),
            );
            for a in args {
                self.expr(a, None);
            }
            return self.error_expr(line);
        }
        let n = self.generic_params(g).len();
        let refs: Vec<&ast::Expr> = args.iter().collect();
        let what = format!("variant `{vname}`");
        let (xs, env) = self.infer(g, vec![None; n], &templates, &refs, None, want, &what, span);
        let Some(env) = env else {
            return self.error_expr(line);
        };
        let Ty::Enum(en) = self.instantiate_type(g, env, span) else {
            return self.error_expr(line);
        };
        let fields = self.enums[en as usize].variants[v as usize].1.clone();
        for ((x, a), f) in xs.iter().zip(args).zip(fields.iter()) {
            self.expect_ty(&x.ty, f, a.span);
        }
        e(ExprKind::NewEnum(en, v, xs), Ty::Enum(en), line)
    }

    /// `None`: a variant of generic enum `g` without values, its type
    /// from the one expected.
    pub(super) fn generic_variant_value(
        &mut self,
        g: GenId,
        v: u16,
        want: Option<&Ty>,
        span: Span,
        line: u32,
    ) -> Expr {
        let (vname, templates) = self.generic_variant_decl(g, v);
        let arity = templates.len();
        if arity > 0 {
            return self.variant_needs_values(&vname, arity, span, line);
        }
        match want.and_then(|w| self.origin(w).map(|o| (w, o))) {
            Some((w, (og, _))) if og == g => {
                let Ty::Enum(en) = w else {
                    unreachable!("an enum's origin")
                };
                e(ExprKind::NewEnum(*en, v, vec![]), w.clone(), line)
            }
            _ if want.is_some_and(Ty::is_error) => self.error_expr(line),
            _ => {
                let name = self.generic_name(g).to_string();
                let msg = format!(
                    "cannot infer the type of `{vname}`; give it a type, e.g. `let x: {name}<int> = {vname};`"
                );
                self.error(span, msg);
                self.error_expr(line)
            }
        }
    }

    /// A variant's name and written payload types.
    fn generic_variant_decl(&self, g: GenId, v: u16) -> (String, Vec<&'a ast::TypeExpr>) {
        match self.generic_item(g) {
            ast::Item::Enum { variants, .. } => {
                let (n, ts) = &variants[v as usize];
                (n.name.clone(), ts.iter().take(MAX_FIELDS).collect())
            }
            _ => unreachable!("generic variants are of enums"),
        }
    }

    /// `Stack { items: [] }`: a literal of generic struct `g`, its type
    /// arguments from the fields' values and the type expected.
    pub(super) fn generic_struct_lit(
        &mut self,
        g: GenId,
        fields: &[(ast::Ident, ast::Expr)],
        span: Span,
        want: Option<&Ty>,
        line: u32,
    ) -> Expr {
        let decl_fields = match self.generic_item(g) {
            ast::Item::Struct { fields, .. } => fields,
            _ => unreachable!("generic struct literals are of structs"),
        };
        let mut templates = Vec::with_capacity(fields.len());
        let mut values = Vec::with_capacity(fields.len());
        let mut known = Vec::with_capacity(fields.len());
        for (n, v) in fields {
            match decl_fields
                .iter()
                .take(MAX_FIELDS)
                .find(|(f, _)| f.name == n.name)
            {
                Some((_, t)) => {
                    templates.push(t);
                    values.push(v);
                    known.push((n, v));
                }
                None => {
                    let msg = format!(
                        "struct `{}` has no field `{}`",
                        self.generic_name(g),
                        n.name
                    );
                    self.error(n.span, msg);
                    self.expr(v, None);
                }
            }
        }
        let n = self.generic_params(g).len();
        let what = format!("`{}`", self.generic_name(g));
        let (xs, env) = self.infer(
            g,
            vec![None; n],
            &templates,
            &values,
            None,
            want,
            &what,
            span,
        );
        let Some(env) = env else {
            return self.error_expr(line);
        };
        let Ty::Struct(sid) = self.instantiate_type(g, env, span) else {
            return self.error_expr(line);
        };
        let mut given: HashSet<usize> = HashSet::new();
        let mut out = Vec::with_capacity(xs.len());
        for ((n, v), x) in known.into_iter().zip(xs) {
            let Some(i) = self.field_of(sid, &n.name) else {
                continue;
            };
            if !given.insert(i) {
                self.error(n.span, format!("field `{}` is given twice", n.name));
            }
            let want = self.structs[sid as usize].fields[i].1.clone();
            self.expect_ty(&x.ty, &want, v.span);
            out.push((i as u16, x));
        }
        self.new_struct(sid, out, &given, span, line)
    }
}
