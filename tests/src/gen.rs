//! A generator of random, well-typed Tern programs, driven by fuzz bytes.
//!
//! Every program it writes must compile: the generator tracks the type and
//! mutability of every variable in scope and only writes expressions of the
//! type needed. Programs use ints (with edge values), strings, bools,
//! arrays, maps, a struct, an enum with `match`, closures that capture
//! variables, bounded loops and calls of earlier functions (so every
//! program terminates, or runs out of fuel, or traps: dividing by zero,
//! indexing out of bounds and the like are fair game and must behave the
//! same in every mode).

use crate::harness::Bytes;
use std::fmt::Write;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum T {
    Int,
    Str,
    Bool,
    Arr,
    Map,
    Rec,
    En,
    Fun,
}

const VALUE_TYPES: [T; 7] = [T::Int, T::Str, T::Bool, T::Arr, T::Map, T::Rec, T::En];

fn type_name(t: T) -> &'static str {
    match t {
        T::Int => "int",
        T::Str => "str",
        T::Bool => "bool",
        T::Arr => "[int]",
        T::Map => "{int: str}",
        T::Rec => "Pair",
        T::En => "Shape",
        T::Fun => "fn(int) -> int",
    }
}

struct Var {
    name: String,
    ty: T,
    mutable: bool,
}

struct Gen<'a, 'b> {
    b: &'a mut Bytes<'b>,
    out: String,
    scopes: Vec<Vec<Var>>,
    /// Functions `f0..fN` defined so far, with their int parameter counts.
    funcs: Vec<usize>,
    next: usize,
    depth: usize,
    /// Statements written: generation stops adding when it is large.
    budget: usize,
}

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "7",
    "100",
    "9223372036854775807",
    "(-9223372036854775807 - 1)",
    "63",
    "64",
];

impl Gen<'_, '_> {
    fn pick(&mut self, n: usize) -> usize {
        self.b.below(n)
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    fn vars(&self, ty: T) -> Vec<&Var> {
        self.scopes
            .iter()
            .flatten()
            .filter(|v| v.ty == ty)
            .collect()
    }

    fn declare(&mut self, name: String, ty: T, mutable: bool) {
        self.scopes
            .last_mut()
            .expect("a scope")
            .push(Var { name, ty, mutable });
    }

    fn indent(&mut self) {
        for _ in 0..self.scopes.len() {
            self.out.push_str("    ");
        }
    }

    /// An expression of type `ty`; shallow when deep already.
    fn expr(&mut self, ty: T) -> String {
        self.depth += 1;
        let deep = self.depth > 4 || self.b.is_empty();
        let e = self.expr_inner(ty, deep);
        self.depth -= 1;
        e
    }

    fn var_or(&mut self, ty: T, fallback: impl FnOnce(&mut Self) -> String) -> String {
        let names: Vec<String> = self.vars(ty).iter().map(|v| v.name.clone()).collect();
        if !names.is_empty() && self.pick(3) != 0 {
            names[self.pick(names.len())].clone()
        } else {
            fallback(self)
        }
    }

    fn expr_inner(&mut self, ty: T, deep: bool) -> String {
        match ty {
            T::Int => {
                if deep {
                    return self.var_or(T::Int, |g| INTS[g.pick(INTS.len())].to_string());
                }
                match self.pick(12) {
                    0 => INTS[self.pick(INTS.len())].to_string(),
                    1..=2 => self.var_or(T::Int, |g| INTS[g.pick(INTS.len())].to_string()),
                    3..=5 => {
                        let ops = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"];
                        let op = ops[self.pick(ops.len())];
                        format!("({} {op} {})", self.expr(T::Int), self.expr(T::Int))
                    }
                    6 => format!("len({})", self.expr(T::Str)),
                    7 => {
                        let a = self.expr(T::Arr);
                        match self.pick(2) {
                            0 => format!("len({a})"),
                            _ => format!("{a}[{}]", self.expr(T::Int)),
                        }
                    }
                    8 if !self.funcs.is_empty() => {
                        let f = self.pick(self.funcs.len());
                        let args: Vec<String> =
                            (0..self.funcs[f]).map(|_| self.expr(T::Int)).collect();
                        format!("f{f}({})", args.join(", "))
                    }
                    9 => {
                        let names: Vec<String> =
                            self.vars(T::Fun).iter().map(|v| v.name.clone()).collect();
                        if names.is_empty() {
                            format!("{}.a", self.expr(T::Rec))
                        } else {
                            let f = names[self.pick(names.len())].clone();
                            format!("{f}({})", self.expr(T::Int))
                        }
                    }
                    10 => {
                        let m = self.map_int_get();
                        format!("{m}.get({}, {})", self.expr(T::Int), self.expr(T::Int))
                    }
                    _ => format!("{}.a", self.expr(T::Rec)),
                }
            }
            T::Str => {
                if deep {
                    return self.var_or(T::Str, |g| format!("\"s{}\"", g.pick(10)));
                }
                match self.pick(6) {
                    0 => format!("\"{}\"", ["", "a", "héllo", "x y", "\\n"][self.pick(5)]),
                    1 => format!("({} + {})", self.expr(T::Str), self.expr(T::Str)),
                    2 => format!("str({})", self.expr(T::Int)),
                    3 => format!("{}.b", self.expr(T::Rec)),
                    4 => {
                        let m = self.expr(T::Map);
                        format!("{m}.get({}, \"none\")", self.expr(T::Int))
                    }
                    _ => self.var_or(T::Str, |g| format!("\"v{}\"", g.pick(10))),
                }
            }
            T::Bool => {
                if deep {
                    return self.var_or(T::Bool, |g| ["true", "false"][g.pick(2)].to_string());
                }
                match self.pick(5) {
                    0 => {
                        let ops = ["<", "<=", ">", ">=", "==", "!="];
                        let op = ops[self.pick(ops.len())];
                        format!("({} {op} {})", self.expr(T::Int), self.expr(T::Int))
                    }
                    1 => format!("({} == {})", self.expr(T::Str), self.expr(T::Str)),
                    2 => format!("!{}", self.expr(T::Bool)),
                    3 => {
                        let op = ["&&", "||"][self.pick(2)];
                        format!("({} {op} {})", self.expr(T::Bool), self.expr(T::Bool))
                    }
                    _ => format!("{}.has({})", self.expr(T::Map), self.expr(T::Int)),
                }
            }
            T::Arr => self.var_or(T::Arr, |g| {
                if g.pick(2) == 0 {
                    format!("[{}; {}]", g.expr(T::Int), g.pick(5))
                } else {
                    format!("[{}, {}]", g.expr(T::Int), g.expr(T::Int))
                }
            }),
            T::Map => self.var_or(T::Map, |g| {
                // Parenthesized: a literal may not open a condition.
                format!("({{{}: {}}})", g.expr(T::Int), g.expr(T::Str))
            }),
            T::Rec => self.var_or(T::Rec, |g| {
                format!("(Pair {{ a: {}, b: {} }})", g.expr(T::Int), g.expr(T::Str))
            }),
            T::En => self.var_or(T::En, |g| match g.pick(3) {
                0 => "Dot".to_string(),
                1 => format!("Line({})", g.expr(T::Int)),
                _ => format!("Label({}, {})", g.expr(T::Str), g.expr(T::Int)),
            }),
            T::Fun => {
                let x = self.fresh("x");
                let captured = self.expr(T::Int);
                format!("fn({x}: int) -> int {{ return {x} + {captured}; }}")
            }
        }
    }

    /// A map with int values is not among the types; `get` on the int map
    /// literal keeps the int branch simple.
    fn map_int_get(&mut self) -> String {
        format!("({{{}: {}}})", self.expr(T::Int), self.expr(T::Int))
    }

    fn block(&mut self, n: usize) {
        self.scopes.push(Vec::new());
        for _ in 0..n {
            self.stmt();
        }
        self.scopes.pop();
    }

    fn stmt(&mut self) {
        if self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let nested = self.scopes.len() < 5;
        match self.pick(12) {
            0..=2 => {
                let ty = if self.pick(4) == 0 {
                    T::Fun
                } else {
                    VALUE_TYPES[self.pick(VALUE_TYPES.len())]
                };
                let name = self.fresh("v");
                let mutable = ty != T::Fun && self.pick(2) == 0;
                let e = self.expr(ty);
                self.indent();
                let kw = if mutable { "var" } else { "let" };
                let _ = writeln!(self.out, "{kw} {name}: {} = {e};", type_name(ty));
                self.declare(name, ty, mutable);
            }
            3 => {
                let targets: Vec<(String, T)> = self
                    .scopes
                    .iter()
                    .flatten()
                    .filter(|v| v.mutable)
                    .map(|v| (v.name.clone(), v.ty))
                    .collect();
                if let Some((name, ty)) = targets.get(self.pick(targets.len().max(1))).cloned() {
                    let e = self.expr(ty);
                    self.indent();
                    if ty == T::Int && self.pick(2) == 0 {
                        let _ = writeln!(self.out, "{name} += {e};");
                    } else {
                        let _ = writeln!(self.out, "{name} = {e};");
                    }
                }
            }
            4 => {
                let e = self.expr(T::Str);
                self.indent();
                let _ = writeln!(self.out, "println({e});");
            }
            5 if nested => {
                let c = self.expr(T::Bool);
                self.indent();
                let _ = writeln!(self.out, "if {c} {{");
                let n = 1 + self.pick(3);
                self.block(n);
                self.indent();
                self.out.push_str("} else {\n");
                let n = self.pick(3);
                self.block(n);
                self.indent();
                self.out.push_str("}\n");
            }
            6 if nested => {
                let i = self.fresh("i");
                let n = self.pick(6);
                self.indent();
                let _ = writeln!(self.out, "for {i} in 0..{n} {{");
                self.scopes.push(vec![Var {
                    name: i,
                    ty: T::Int,
                    mutable: false,
                }]);
                let k = 1 + self.pick(3);
                for _ in 0..k {
                    self.stmt();
                }
                self.scopes.pop();
                self.indent();
                self.out.push_str("}\n");
            }
            7 => {
                let arrs: Vec<String> = self.vars(T::Arr).iter().map(|v| v.name.clone()).collect();
                if !arrs.is_empty() {
                    let a = arrs[self.pick(arrs.len())].clone();
                    let e = self.expr(T::Int);
                    self.indent();
                    match self.pick(3) {
                        0 => {
                            let _ = writeln!(self.out, "{a}.push({e});");
                        }
                        1 => {
                            let v = self.expr(T::Int);
                            let _ = writeln!(self.out, "{a}[{e}] = {v};");
                        }
                        _ => {
                            let _ = writeln!(self.out, "println(str({a}.pop()));");
                        }
                    }
                }
            }
            8 => {
                let maps: Vec<String> = self.vars(T::Map).iter().map(|v| v.name.clone()).collect();
                if !maps.is_empty() {
                    let m = maps[self.pick(maps.len())].clone();
                    let k = self.expr(T::Int);
                    self.indent();
                    if self.pick(3) == 0 {
                        let _ = writeln!(self.out, "{m}.remove({k});");
                    } else {
                        let v = self.expr(T::Str);
                        let _ = writeln!(self.out, "{m}[{k}] = {v};");
                    }
                }
            }
            9 if nested => {
                let e = self.expr(T::En);
                let (n, s, k) = (self.fresh("n"), self.fresh("s"), self.fresh("k"));
                self.indent();
                let _ = writeln!(self.out, "match {e} {{");
                self.indent();
                self.out.push_str("    Dot => { println(\"dot\"); }\n");
                self.indent();
                let _ = writeln!(self.out, "    Line({n}) => {{ println(str({n})); }}");
                self.indent();
                let _ = writeln!(
                    self.out,
                    "    Label({s}, {k}) => {{ println({s} + str({k})); }}"
                );
                self.indent();
                self.out.push_str("}\n");
            }
            10 => {
                let recs: Vec<String> = self.vars(T::Rec).iter().map(|v| v.name.clone()).collect();
                if !recs.is_empty() {
                    let r = recs[self.pick(recs.len())].clone();
                    let e = self.expr(T::Int);
                    self.indent();
                    let _ = writeln!(self.out, "{r}.a = {e};");
                }
            }
            _ => {
                // Print every int variable in scope: the output shows state.
                let ints: Vec<String> = self.vars(T::Int).iter().map(|v| v.name.clone()).collect();
                for name in ints.into_iter().take(3) {
                    self.indent();
                    let _ = writeln!(self.out, "println(str({name}));");
                }
            }
        }
    }
}

/// Writes a program from the choices in `b`.
pub fn program(b: &mut Bytes) -> String {
    let mut g = Gen {
        b,
        out: String::new(),
        scopes: Vec::new(),
        funcs: Vec::new(),
        next: 0,
        depth: 0,
        budget: 60,
    };
    g.out.push_str("struct Pair { a: int, b: str }\n");
    g.out
        .push_str("enum Shape { Dot, Line(int), Label(str, int) }\n\n");
    let nfuncs = g.pick(4);
    for f in 0..nfuncs {
        let arity = g.pick(3);
        let params: Vec<String> = (0..arity).map(|_| g.fresh("p")).collect();
        let sig: Vec<String> = params.iter().map(|p| format!("{p}: int")).collect();
        let _ = writeln!(g.out, "fn f{f}({}) -> int {{", sig.join(", "));
        g.scopes.push(
            params
                .into_iter()
                .map(|name| Var {
                    name,
                    ty: T::Int,
                    mutable: false,
                })
                .collect(),
        );
        let n = 1 + g.pick(4);
        for _ in 0..n {
            g.stmt();
        }
        let r = g.expr(T::Int);
        g.indent();
        let _ = writeln!(g.out, "return {r};");
        g.scopes.pop();
        g.out.push_str("}\n\n");
        g.funcs.push(arity);
    }
    g.out.push_str("fn main() {\n");
    g.scopes.push(Vec::new());
    while g.budget > 0 && !g.b.is_empty() {
        g.stmt();
    }
    let ints: Vec<String> = g.vars(T::Int).iter().map(|v| v.name.clone()).collect();
    for name in ints {
        let _ = writeln!(g.out, "    println(str({name}));");
    }
    g.scopes.pop();
    g.out.push_str("}\n");
    g.out
}
