//! Tuples: `(int, str)`, `(a, b)`, `t.0`, `let (a, b) = t;`, `for (k, v)
//! in pairs`, `(a, _) =>`, and a map's `entries()`.
//!
//! A tuple type is an enum with one variant, named by the empty string,
//! whose values are the tuple's parts: so tuples are immutable, compare by
//! value and print as `(1, "a")` with no new instruction or type in the
//! bytecode. Each tuple type is made once, as an instance of the
//! pseudo-declaration [`TUPLE`] (so it is rolled back with the other
//! instances a generic declaration's check makes).

use super::generics::TUPLE;
use super::*;

impl Checker<'_> {
    /// The tuple type of these parts; `Error` (reported at `span`) for
    /// fewer than two, more than the format allows, or a part without
    /// values.
    pub(super) fn tuple_type(&mut self, parts: Vec<Ty>, span: Span) -> Ty {
        if parts.len() < 2 {
            self.error(span, "a tuple has at least two parts");
            return Ty::Error;
        }
        if parts.len() > MAX_FIELDS {
            self.error(span, format!("a tuple has at most {MAX_FIELDS} parts"));
            return Ty::Error;
        }
        if parts.contains(&Ty::Unit) {
            self.error(span, "a tuple's parts must have values");
            return Ty::Error;
        }
        self.instantiate_tuple(parts, span)
    }

    /// The parts of tuple type `t`, if it is one.
    pub(super) fn tuple_parts(&self, t: &Ty) -> Option<Rc<[Ty]>> {
        match self.origin(t) {
            Some((g, parts)) if g == TUPLE => Some(parts),
            _ => None,
        }
    }

    /// `(a, b)`, its parts' types from the tuple type expected, if any.
    pub(super) fn tuple_expr(
        &mut self,
        items: &[ast::Expr],
        want: Option<&Ty>,
        span: Span,
        line: u32,
    ) -> Expr {
        let hints = want.and_then(|w| self.tuple_parts(w));
        let xs: Vec<Expr> = items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let hint = hints.as_ref().and_then(|h| h.get(i)).cloned();
                self.expr(x, hint.as_ref())
            })
            .collect();
        if xs.iter().any(|x| x.ty.is_error()) {
            return self.error_expr(line);
        }
        let ty = self.tuple_type(xs.iter().map(|x| x.ty.clone()).collect(), span);
        let Ty::Enum(en) = ty else {
            return self.error_expr(line);
        };
        e(ExprKind::NewEnum(en, 0, xs), ty, line)
    }

    /// `t.0`: one part of a tuple.
    pub(super) fn tuple_field(&mut self, t: &ast::Expr, index: u64, at: Span, line: u32) -> Expr {
        let o = self.expr(t, None);
        if o.ty.is_error() {
            return o;
        }
        let Some(parts) = self.tuple_parts(&o.ty) else {
            let msg = format!(
                "`.{index}` takes a part of a tuple, not of {}",
                self.ty_name(&o.ty)
            );
            self.error(at, msg);
            return self.error_expr(line);
        };
        let Some(part) = usize::try_from(index).ok().and_then(|i| parts.get(i)) else {
            let msg = format!(
                "{} has no part {index} (it has {})",
                self.ty_name(&o.ty),
                parts.len()
            );
            self.error(at, msg);
            return self.error_expr(line);
        };
        let part = part.clone();
        let v = self.declare_local("$part", part.clone(), Binding::Pattern);
        let arm = Arm {
            tests: vec![ArmTest::Variant(0)],
            binds: vec![Bind::Field(v, index as u16)],
            guard: None,
            body: vec![],
            value: Some(e(ExprKind::Local(v), part.clone(), line)),
            line,
        };
        e(ExprKind::Match(Box::new(o), vec![arm]), part, line)
    }

    /// Binds the parts of tuple `value` to `names` (declared here, `_`
    /// skipped) as `binding`: the statement that does it.
    pub(super) fn destructure(
        &mut self,
        names: &[ast::Ident],
        value: Expr,
        binding: Binding,
        span: Span,
        line: u32,
    ) -> Stmt {
        let parts = match self.tuple_parts(&value.ty) {
            Some(p) if p.len() == names.len() => Some(p),
            _ if value.ty.is_error() => None,
            _ => {
                let msg = format!(
                    "a tuple of {} parts is bound here, not {}",
                    names.len(),
                    self.ty_name(&value.ty)
                );
                self.error(span, msg);
                None
            }
        };
        let mut binds = Vec::new();
        for (i, n) in names.iter().enumerate() {
            if n.name == "_" {
                continue;
            }
            let ty = parts.as_ref().map_or(Ty::Error, |p| p[i].clone());
            let id = self.declare_local(&n.name, ty, binding);
            binds.push(Bind::Field(id, i as u16));
        }
        let kind = match parts {
            None => StmtKind::Expr(value),
            Some(_) => StmtKind::Match {
                scrutinee: Box::new(value),
                arms: vec![Arm {
                    tests: vec![ArmTest::Variant(0)],
                    binds,
                    guard: None,
                    body: vec![],
                    value: None,
                    line,
                }],
                exhaustive: true,
            },
        };
        Stmt { kind, line }
    }

    /// `m.entries()`: the map's keys and values as pairs, in the map's
    /// order (a loop written in the prelude, `__entries`).
    pub(super) fn map_entries(&mut self, m: Expr, span: Span, line: u32) -> Expr {
        let Ty::Map(k, v) = m.ty.clone() else {
            unreachable!("entries of a map")
        };
        let Some(g) = self.prelude_generic("__entries") else {
            return self.error_expr(line);
        };
        let Some(f) = self.instantiate_fn(g, vec![(*k).clone(), (*v).clone()], span) else {
            return self.error_expr(line);
        };
        let ret = self.sigs[f as usize].ret.clone();
        e(ExprKind::Call(f, vec![m]), ret, line)
    }
}
