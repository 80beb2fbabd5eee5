//! Small constructors the grammar's actions share.

use crate::ast::*;

pub fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    let span = l.span.to(r.span);
    Expr {
        kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
        span,
    }
}

/// `a.b.c` as a path of names, if the expression is one. Paths of more
/// than [`MAX_PATH`] names are not looked at (none resolves: the longest
/// meaningful path is `module.Type.member`), which keeps each call short
/// when it meets a long chain `a.b.c.d...` at every link.
pub fn path_of(e: &Expr) -> Option<Vec<Ident>> {
    let mut rev: Vec<&Ident> = Vec::new();
    let mut at = e;
    loop {
        match &at.kind {
            ExprKind::Ident(n) => {
                let mut path = vec![Ident {
                    name: n.clone(),
                    span: at.span,
                }];
                path.extend(rev.into_iter().rev().cloned());
                return Some(path);
            }
            ExprKind::Field(inner, name) if rev.len() + 1 < MAX_PATH => {
                rev.push(name);
                at = inner;
            }
            _ => return None,
        }
    }
}

/// The most names [`path_of`] takes as a path.
pub const MAX_PATH: usize = 8;
