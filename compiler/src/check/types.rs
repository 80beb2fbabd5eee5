//! Types in the checker: resolving written types, naming types in
//! messages, and holding every type to the bytecode format's limits.
//!
//! The format nests types at most `MAX_TYPE_DEPTH` deep (a primitive,
//! struct or enum is 0 deep; an array, map or function type is one deeper
//! than its deepest part; a captured `var` lives in a cell one deeper than
//! its type), and a function type takes at most `MAX_PARAMS` parameters.
//! A written type that breaks a limit is an error at the type; a type the
//! checker builds (an array literal's, a closure's) is an error at the
//! expression. Either way the type becomes `Error`, so no type the checker
//! holds is deeper than the limit plus one, and every walk over a type is
//! short.

use super::{key_type, Checker, GenKind, PathRes, TypeKey};
use crate::ast::{self, Span};
use crate::hir::Ty;
use std::rc::Rc;
use tern_vm::format::limits::{MAX_PARAMS, MAX_TYPE_DEPTH};

/// Longest type name a message shows (a type can be megabytes of text).
const MAX_TYPE_NAME: usize = 200;

impl Checker<'_> {
    /// The type a written type expression means.
    pub(super) fn resolve_type(&mut self, t: &ast::TypeExpr) -> Ty {
        let ty = self.resolve_parts(t);
        if self.ty_depth(&ty) > MAX_TYPE_DEPTH {
            self.error(
                t.span,
                format!("type nested more than {MAX_TYPE_DEPTH} levels deep"),
            );
            return Ty::Error;
        }
        ty
    }

    fn resolve_parts(&mut self, t: &ast::TypeExpr) -> Ty {
        match &t.kind {
            ast::TypeKind::Array(e) => Ty::array(self.resolve_parts(e)),
            ast::TypeKind::Map(k, v) => {
                let kt = self.resolve_parts(k);
                let vt = self.resolve_parts(v);
                if !key_type(&kt, self.gen.standins()) {
                    let msg = format!(
                        "map keys must be int, str or bool, not {}",
                        self.ty_name(&kt)
                    );
                    self.error(k.span, msg);
                    return Ty::map(Ty::Error, vt);
                }
                Ty::map(kt, vt)
            }
            ast::TypeKind::Fn(ps, r) => {
                if ps.len() > MAX_PARAMS {
                    self.error(
                        t.span,
                        format!("a function type takes at most {MAX_PARAMS} parameters"),
                    );
                    return Ty::Error;
                }
                let ps: Vec<Ty> = ps.iter().map(|p| self.resolve_parts(p)).collect();
                let r = r.as_ref().map_or(Ty::Unit, |r| self.resolve_parts(r));
                Ty::Fn(ps.into(), Rc::new(r))
            }
            ast::TypeKind::Tuple(ts) => {
                let parts = ts.iter().map(|p| self.resolve_parts(p)).collect();
                self.tuple_type(parts, t.span)
            }
            ast::TypeKind::Named(path, args) => {
                let name: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                let name = name.join(".");
                if path.len() == 1 {
                    let prim = match path[0].name.as_str() {
                        "int" => Some(Ty::Int),
                        "float" => Some(Ty::Float),
                        "bool" => Some(Ty::Bool),
                        "str" => Some(Ty::Str),
                        n => self.type_param(n),
                    };
                    if let Some(ty) = prim {
                        if !args.is_empty() {
                            self.error(t.span, format!("`{name}` takes no type arguments"));
                            return Ty::Error;
                        }
                        return ty;
                    }
                }
                match self.resolve_path(path) {
                    Some(PathRes::Type(key)) => {
                        if !args.is_empty() {
                            self.error(t.span, format!("`{name}` is not generic: write `{name}`"));
                            return Ty::Error;
                        }
                        match key {
                            TypeKey::Struct(s) => Ty::Struct(s),
                            TypeKey::Enum(s) => Ty::Enum(s),
                        }
                    }
                    Some(PathRes::Generic(g)) if self.generic_kind(g) != GenKind::Fn => {
                        let params = self.generic_params(g).to_vec();
                        if args.len() != params.len() {
                            let n = params.len();
                            self.error(
                                t.span,
                                format!(
                                    "`{name}` takes {n} type argument{}, {} given: write `{name}<{}>`",
                                    if n == 1 { "" } else { "s" },
                                    args.len(),
                                    params.join(", ")
                                ),
                            );
                            return Ty::Error;
                        }
                        let args: Vec<Ty> = args.iter().map(|a| self.resolve_parts(a)).collect();
                        if args.contains(&Ty::Unit) {
                            self.error(t.span, "a type argument must be a type with values");
                            return Ty::Error;
                        }
                        self.instantiate_type(g, args, t.span)
                    }
                    _ => {
                        self.error(t.span, format!("unknown type `{name}`"));
                        Ty::Error
                    }
                }
            }
        }
    }

    /// How deep `t` nests, as the bytecode format counts it. Function
    /// types, the only wide ones, are remembered by identity: the same
    /// one is met again and again as a part of types built from a value.
    pub(super) fn ty_depth(&mut self, t: &Ty) -> u32 {
        match t {
            Ty::Array(e) => 1 + self.ty_depth(e),
            Ty::Map(k, v) => 1 + self.ty_depth(k).max(self.ty_depth(v)),
            Ty::Fn(ps, r) => {
                let key = (Rc::as_ptr(ps) as *const Ty as usize, Rc::as_ptr(r) as usize);
                if let Some((d, _)) = self.fn_depths.get(&key) {
                    return *d;
                }
                let mut d = self.ty_depth(r);
                for p in ps.iter() {
                    d = d.max(self.ty_depth(p));
                }
                // The entry keeps the type alive, so that no other type
                // takes its parts' addresses while the key is in the table.
                self.fn_depths.insert(key, (d + 1, t.clone()));
                d + 1
            }
            _ => 0,
        }
    }

    /// `x`, with the type `ty` this checker built for it, or an error at
    /// `span` if that type is nested too deep for the format.
    pub(super) fn within_depth(&mut self, x: crate::hir::Expr, span: Span) -> crate::hir::Expr {
        if self.ty_depth(&x.ty) <= MAX_TYPE_DEPTH {
            return x;
        }
        self.error(
            span,
            format!("the type of this expression is nested more than {MAX_TYPE_DEPTH} levels deep"),
        );
        self.error_expr(x.line)
    }

    /// Whether a captured `var` of type `ty` fits in its cell.
    pub(super) fn fits_in_cell(&mut self, ty: &Ty) -> bool {
        self.ty_depth(ty) < MAX_TYPE_DEPTH
    }

    /// A type as Tern writes it, cut short if it is very long.
    pub fn ty_name(&self, t: &Ty) -> String {
        let mut out = String::new();
        self.write_ty(t, &mut out);
        out
    }

    fn write_ty(&self, t: &Ty, out: &mut String) {
        if out.len() > MAX_TYPE_NAME {
            if !out.ends_with("...") {
                out.push_str("...");
            }
            return;
        }
        match t {
            Ty::Int => out.push_str("int"),
            Ty::Float => out.push_str("float"),
            Ty::Bool => out.push_str("bool"),
            Ty::Str => out.push_str("str"),
            Ty::Unit => out.push_str("()"),
            Ty::Array(e) => {
                out.push('[');
                self.write_ty(e, out);
                out.push(']');
            }
            Ty::Map(k, v) => {
                out.push('{');
                self.write_ty(k, out);
                out.push_str(": ");
                self.write_ty(v, out);
                out.push('}');
            }
            Ty::Struct(s) => out.push_str(&self.structs[*s as usize].name),
            Ty::Enum(s) => out.push_str(&self.enums[*s as usize].name),
            Ty::Fn(ps, r) => {
                out.push_str("fn(");
                for (i, p) in ps.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_ty(p, out);
                    if out.len() > MAX_TYPE_NAME {
                        break;
                    }
                }
                out.push(')');
                if **r != Ty::Unit {
                    out.push_str(" -> ");
                    self.write_ty(r, out);
                }
            }
            Ty::Error => out.push_str("{error}"),
        }
    }

    pub(super) fn expect_ty(&mut self, got: &Ty, want: &Ty, span: Span) -> bool {
        if got.compatible(want) {
            return true;
        }
        let mut msg = format!(
            "expected {}, found {}",
            self.ty_name(want),
            self.ty_name(got)
        );
        // `int(s)` where an int is wanted: say how to take the value.
        let wrapped = self.origin(got).is_some_and(|(g, args)| {
            args[0] == *want
                && (Some(g) == self.prelude_enum("Result")
                    || Some(g) == self.prelude_enum("Option"))
        });
        if wrapped {
            msg.push_str("; take the value with `?` (in a function returning a Result or Option) or `.unwrap()`");
        }
        self.error(span, msg);
        false
    }
}
