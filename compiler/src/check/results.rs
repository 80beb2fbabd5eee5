//! `Option` and `Result` in the checker: the `?` operator, and what the
//! compiler lowers to a `Result` (`int(s)`, `float(s)`, the file
//! functions). Both types are the prelude's (written in Tern); these only
//! build their instances and values.

use super::*;

impl Checker<'_> {
    /// `x?`: the value in `Ok` or `Some`; an `Err` or `None` is returned
    /// from the function at once (an error's type must be the function's
    /// own: nothing converts it).
    pub(super) fn try_expr(&mut self, inner: &ast::Expr, span: Span, line: u32) -> Expr {
        let x = self.expr(inner, None);
        if x.ty.is_error() {
            return self.error_expr(line);
        }
        let (result, option) = (self.prelude_enum("Result"), self.prelude_enum("Option"));
        let origin = self
            .origin(&x.ty)
            .filter(|(g, _)| Some(*g) == result || Some(*g) == option);
        let Some((g, args)) = origin else {
            let msg = format!(
                "`?` takes a Result or an Option, not {}",
                self.ty_name(&x.ty)
            );
            self.error(span, msg);
            return self.error_expr(line);
        };
        let is_result = Some(g) == result;
        if self.fcx.last().is_some_and(|c| c.const_mode) {
            self.error(
                span,
                "`?` cannot be used in a constant's value: there is no function to return from",
            );
            return self.error_expr(line);
        }
        let ret = self.fcx.last().map_or(Ty::Unit, |c| c.func.ret.clone());
        if ret.is_error() {
            return self.error_expr(line);
        }
        if ret == Ty::Unit {
            let what = if is_result { "a Result" } else { "an Option" };
            let msg = format!(
                "`?` returns from the function or closure it is in, which must return {what}; this one returns no value (a short closure's result type comes from where it is used)"
            );
            self.error(span, msg);
            return self.error_expr(line);
        }
        let fits = match self.origin(&ret) {
            Some((rg, rargs)) if rg == g => !is_result || rargs[1] == args[1],
            _ => false,
        };
        if !fits {
            let msg = if is_result {
                format!(
                    "`?` on {} returns its error from the function, which must return a Result with the error type {}, not {}",
                    self.ty_name(&x.ty),
                    self.ty_name(&args[1]),
                    self.ty_name(&ret)
                )
            } else {
                format!(
                    "`?` on {} returns `None` from the function, which must return an Option, not {}",
                    self.ty_name(&x.ty),
                    self.ty_name(&ret)
                )
            };
            self.error(span, msg);
            return self.error_expr(line);
        }
        let (Ty::Enum(en), Ty::Enum(ret_en)) = (&x.ty, &ret) else {
            unreachable!("Result and Option are enums")
        };
        let (en, ret_en) = (*en, *ret_en);
        let (good, bad) = if is_result {
            ("Ok", "Err")
        } else {
            ("Some", "None")
        };
        let good = self.variant_of(en, good).expect("the prelude's variant");
        let bad = self.variant_of(en, bad).expect("the prelude's variant");
        let value_ty = args[0].clone();
        let v = self.declare_local("$ok", value_ty.clone(), Binding::Pattern);
        let ok_arm = Arm {
            tests: vec![ArmTest::Variant(good)],
            binds: vec![Bind::Field(v, 0)],
            guard: None,
            body: vec![],
            value: Some(e(ExprKind::Local(v), value_ty.clone(), line)),
            line,
        };
        let (binds, payload) = if is_result {
            let err = self.declare_local("$err", args[1].clone(), Binding::Pattern);
            let x = e(ExprKind::Local(err), args[1].clone(), line);
            (vec![Bind::Field(err, 0)], vec![x])
        } else {
            (vec![], vec![])
        };
        let back = e(ExprKind::NewEnum(ret_en, bad, payload), ret.clone(), line);
        let bad_arm = Arm {
            tests: vec![ArmTest::Variant(bad)],
            binds,
            guard: None,
            body: vec![Stmt {
                kind: StmtKind::ReturnFromExpr(back),
                line,
            }],
            value: None,
            line,
        };
        e(
            ExprKind::Match(Box::new(x), vec![ok_arm, bad_arm]),
            value_ty,
            line,
        )
    }

    /// `int(s)`, `float(s)`: `Ok` of the value `s` spells, or `Err` of
    /// why it spells none. The built-in `check` gives the reason (empty if
    /// there is none), then the conversion instruction reads the value:
    /// `match s { t => { let e = check(t); if e == "" { Ok(conv(t)) } else { Err(e) } } }`.
    pub(super) fn parsed(
        &mut self,
        x: Expr,
        check: Intrinsic,
        ty: Ty,
        span: Span,
        line: u32,
    ) -> Expr {
        let conv = match ty {
            Ty::Int => Intrinsic::StrToInt,
            _ => Intrinsic::StrToFloat,
        };
        let why = self.declare_local("$error", Ty::Str, Binding::Let);
        self.result_of(x, ty.clone(), span, line, |t| {
            let local = |id| e(ExprKind::Local(id), Ty::Str, line);
            let reason = e(
                ExprKind::Op(Op::Intrinsic(check), vec![local(t)]),
                Ty::Str,
                line,
            );
            let none = e(ExprKind::Str(String::new()), Ty::Str, line);
            let cond = e(
                ExprKind::Op(Op::StrCmp(Rel::Eq), vec![local(why), none]),
                Ty::Bool,
                line,
            );
            let value = e(ExprKind::Op(Op::Intrinsic(conv), vec![local(t)]), ty, line);
            let pre = Stmt {
                kind: StmtKind::Let(why, reason),
                line,
            };
            (vec![pre], cond, value, local(why))
        })
    }

    /// A host function that may fail (`fs.read`): its `[status, value]`
    /// as `Ok(value)` (an int from its text) or `Err(value)`:
    /// `match host(...) { r => if r[0] == "ok" { Ok(conv(r[1])) } else { Err(r[1]) } }`.
    pub(super) fn host_outcome(&mut self, call: Expr, ty: Ty, span: Span, line: u32) -> Expr {
        self.result_of(call, ty.clone(), span, line, |r| {
            let arr = Ty::array(Ty::Str);
            let at = |k: i64| {
                let r = e(ExprKind::Local(r), arr.clone(), line);
                let k = e(ExprKind::Int(k), Ty::Int, line);
                e(ExprKind::Op(Op::ArrayIndex, vec![r, k]), Ty::Str, line)
            };
            let ok = e(ExprKind::Str("ok".into()), Ty::Str, line);
            let cond = e(
                ExprKind::Op(Op::StrCmp(Rel::Eq), vec![at(0), ok]),
                Ty::Bool,
                line,
            );
            let value = match ty {
                Ty::Int => e(
                    ExprKind::Op(Op::Intrinsic(Intrinsic::StrToInt), vec![at(1)]),
                    ty,
                    line,
                ),
                _ => at(1),
            };
            (vec![], cond, value, at(1))
        })
    }

    /// `match x { t => { pre; if cond { Ok(value) } else { Err(error) } } }`
    /// as a `Result<ty, str>`, where `parts(t)` gives `pre`, `cond`,
    /// `value` and `error` (`t` is the local `x` is bound to).
    fn result_of(
        &mut self,
        x: Expr,
        ty: Ty,
        span: Span,
        line: u32,
        parts: impl FnOnce(LocalId) -> (Vec<Stmt>, Expr, Expr, Expr),
    ) -> Expr {
        let result = self
            .prelude_enum("Result")
            .expect("the prelude declares Result");
        let rty = self.instantiate_type(result, vec![ty, Ty::Str], span);
        let Ty::Enum(en) = rty else {
            return self.error_expr(line);
        };
        let (ok, err) = (
            self.variant_of(en, "Ok").expect("the prelude's variant"),
            self.variant_of(en, "Err").expect("the prelude's variant"),
        );
        let t = self.declare_local("$value", x.ty.clone(), Binding::Pattern);
        let (pre, cond, value, error) = parts(t);
        let good = e(ExprKind::NewEnum(en, ok, vec![value]), rty.clone(), line);
        let bad = e(ExprKind::NewEnum(en, err, vec![error]), rty.clone(), line);
        let choice = e(
            ExprKind::If(vec![(cond, vec![], good)], Box::new((vec![], bad))),
            rty.clone(),
            line,
        );
        let arm = Arm {
            tests: vec![ArmTest::Always],
            binds: vec![Bind::Whole(t)],
            guard: None,
            body: pre,
            value: Some(choice),
            line,
        };
        e(ExprKind::Match(Box::new(x), vec![arm]), rty, line)
    }
}
