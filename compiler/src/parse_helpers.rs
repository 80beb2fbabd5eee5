//! Small constructors the grammar's actions share.

use crate::ast::*;

pub fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    let span = l.span.to(r.span);
    Expr {
        kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
        span,
    }
}

/// `a.b.c` as a path of names, if the expression is one.
pub fn path_of(e: &Expr) -> Option<Vec<Ident>> {
    match &e.kind {
        ExprKind::Ident(n) => Some(vec![Ident {
            name: n.clone(),
            span: e.span,
        }]),
        ExprKind::Field(inner, name) => {
            let mut p = path_of(inner)?;
            p.push(name.clone());
            Some(p)
        }
        _ => None,
    }
}
