//! A generator of random, well-typed Tern programs, driven by fuzz bytes.
//!
//! Every program it writes must compile: the generator tracks the type and
//! mutability of every variable in scope and only writes expressions of the
//! type needed. Programs use ints (with edge values), strings, bools,
//! arrays, maps, structs (records in records, whose inner records are
//! read, updated and replaced), an enum with `match`, closures that capture
//! variables, bounded loops and calls of earlier functions (so every
//! program terminates, or runs out of fuel, or traps: dividing by zero,
//! indexing out of bounds and the like are fair game and must behave the
//! same in every mode). Also `if` and `match` as values, short closures
//! through the array methods that take them, string interpolation, `str`
//! and `==` of any value, the built-in string and math functions,
//! labelled loops with inclusive ranges, generic functions and structs,
//! `Option` and `Result` with `?`, parsing text, and tuples.

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
    /// Records holding records: `Nest { p: Pair, q: Pair, n: int }` and
    /// `Wrap { p: Pair, n: int }` (a field of the same number and type,
    /// of another struct).
    Nest,
    Wrap,
}

const VALUE_TYPES: [T; 9] = [
    T::Int,
    T::Str,
    T::Bool,
    T::Arr,
    T::Map,
    T::Rec,
    T::En,
    T::Nest,
    T::Wrap,
];

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
        T::Nest => "Nest",
        T::Wrap => "Wrap",
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
                match self.pick(24) {
                    23 => {
                        let r = self.inner_rec();
                        match self.pick(3) {
                            0 => format!("{}.n", self.expr(T::Nest)),
                            1 => format!("{}.n", self.expr(T::Wrap)),
                            _ => format!("{r}.a"),
                        }
                    }
                    18 => format!(
                        "pick({}, {}, {})",
                        self.expr(T::Bool),
                        self.expr(T::Int),
                        self.expr(T::Int)
                    ),
                    19 => match self.pick(3) {
                        0 => format!("(Boxed {{ v: {} }}).v", self.expr(T::Int)),
                        1 => format!("wrap({}).unwrap_or(7)", self.expr(T::Int)),
                        _ => format!("first({}).unwrap_or(-3)", self.expr(T::Arr)),
                    },
                    20 => match self.pick(2) {
                        0 => format!(
                            "tried({}, {}).unwrap_or(-1)",
                            self.expr(T::Int),
                            self.expr(T::Int)
                        ),
                        // Deeper than compiled code nests calls itself.
                        _ => format!("deep({} % 600, {})", self.expr(T::Int), self.expr(T::Int)),
                    },
                    21 => format!(
                        "int({}).unwrap_or({})",
                        self.expr(T::Str),
                        self.expr(T::Int)
                    ),
                    22 => format!("({}, {}).0", self.expr(T::Int), self.expr(T::Str)),
                    12 => format!(
                        "(if {} {{ {} }} else {{ {} }})",
                        self.expr(T::Bool),
                        self.expr(T::Int),
                        self.expr(T::Int)
                    ),
                    13 => {
                        let n = self.fresh("n");
                        format!(
                            "(match {} {{ 0 => {}, 1 | 2 => {}, {n} if {n} > 5 => {n} - 1, _ => {} }})",
                            self.expr(T::Int),
                            self.expr(T::Int),
                            self.expr(T::Int),
                            self.expr(T::Int)
                        )
                    }
                    14 => {
                        let (a, x) = (self.fresh("a"), self.fresh("x"));
                        let k = self.expr(T::Int);
                        format!("{}.fold({k}, |{a}, {x}| {a} * 3 + {x})", self.expr(T::Arr))
                    }
                    15 => format!("{}.index_of({})", self.expr(T::Arr), self.expr(T::Int)),
                    16 => match self.pick(3) {
                        0 => format!("{}.char_count()", self.expr(T::Str)),
                        1 => format!("{}.compare({})", self.expr(T::Str), self.expr(T::Str)),
                        _ => format!("math.pow({}, {})", self.expr(T::Int), self.pick(70)),
                    },
                    17 => format!("math.clamp({}, -5, 50)", self.expr(T::Int)),
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
                match self.pick(11) {
                    6 => {
                        // Interpolated: only names and int literals inside
                        // (an interpolation holds no string literal).
                        let n = self.var_or(T::Int, |g| INTS[g.pick(3)].to_string());
                        let m = self.var_or(T::Arr, |_| "[1, 2]".to_string());
                        format!("\"<{{{n}}}|{{{m}}}|{{{{x}}}}>\"")
                    }
                    7 => {
                        let t = [T::Arr, T::Map, T::Rec, T::En, T::Bool][self.pick(5)];
                        format!("str({})", self.expr(t))
                    }
                    8 => match self.pick(4) {
                        0 => format!("{}.to_upper()", self.expr(T::Str)),
                        1 => format!("{}.trim()", self.expr(T::Str)),
                        2 => format!("{}.replace(\"l\", \"L\")", self.expr(T::Str)),
                        _ => format!("{}.repeat({})", self.expr(T::Str), self.pick(4)),
                    },
                    9 => format!(
                        "(if {} {{ {} }} else {{ {} }})",
                        self.expr(T::Bool),
                        self.expr(T::Str),
                        self.expr(T::Str)
                    ),
                    10 => {
                        let (s, n) = (self.fresh("s"), self.fresh("n"));
                        format!(
                            "(match {} {{ Dot => \"dot\", Line({n}) => str({n}), Label({s}, _) => {s} }})",
                            self.expr(T::En)
                        )
                    }
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
                match self.pick(9) {
                    5 => {
                        let t = [T::Arr, T::En, T::Map, T::Rec][self.pick(4)];
                        let op = ["==", "!="][self.pick(2)];
                        format!("({} {op} {})", self.expr(t), self.expr(t))
                    }
                    6 => format!("{}.contains({})", self.expr(T::Arr), self.expr(T::Int)),
                    7 => {
                        let x = self.fresh("x");
                        let f = ["any", "all"][self.pick(2)];
                        let k = self.expr(T::Int);
                        format!("{}.{f}(|{x}| {x} > {k})", self.expr(T::Arr))
                    }
                    8 => match self.pick(2) {
                        0 => format!("{}.contains({})", self.expr(T::Str), self.expr(T::Str)),
                        _ => format!("{}.starts_with({})", self.expr(T::Str), self.expr(T::Str)),
                    },
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
            T::Arr => self.var_or(T::Arr, |g| match g.pick(5) {
                0 => format!("[{}; {}]", g.expr(T::Int), g.pick(5)),
                1 if !deep => {
                    let x = g.fresh("x");
                    let k = g.expr(T::Int);
                    format!("{}.map(|{x}| {x} * {k})", g.expr(T::Arr))
                }
                2 if !deep => {
                    let x = g.fresh("x");
                    format!("{}.filter(|{x}| {x} % 2 == 0)", g.expr(T::Arr))
                }
                3 if !deep => format!("{}.slice(0, {})", g.expr(T::Arr), g.pick(3)),
                _ => format!("[{}, {}]", g.expr(T::Int), g.expr(T::Int)),
            }),
            T::Map => self.var_or(T::Map, |g| {
                // Parenthesized: a literal may not open a condition.
                format!("({{{}: {}}})", g.expr(T::Int), g.expr(T::Str))
            }),
            T::Rec => self.var_or(T::Rec, |g| match g.pick(4) {
                0 if !deep => g.inner_rec(),
                _ => format!("(Pair {{ a: {}, b: {} }})", g.expr(T::Int), g.expr(T::Str)),
            }),
            T::Nest => self.var_or(T::Nest, |g| {
                format!(
                    "(Nest {{ p: {}, q: {}, n: {} }})",
                    g.expr(T::Rec),
                    g.expr(T::Rec),
                    g.expr(T::Int)
                )
            }),
            T::Wrap => self.var_or(T::Wrap, |g| {
                format!("(Wrap {{ p: {}, n: {} }})", g.expr(T::Rec), g.expr(T::Int))
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

    /// A record read out of a record: `x.p`, `x.q` of a `Nest`, `w.p` of
    /// a `Wrap`.
    fn inner_rec(&mut self) -> String {
        match self.pick(3) {
            0 => format!("{}.p", self.expr(T::Nest)),
            1 => format!("{}.q", self.expr(T::Nest)),
            _ => format!("{}.p", self.expr(T::Wrap)),
        }
    }

    /// A field written: of a record, of a record in a record (`x.p.a +=
    /// e`), or a record in a record replaced (perhaps by another name for
    /// a record already somewhere), then an inner field read back.
    fn field_write(&mut self) {
        let held: Vec<T> = [T::Rec, T::Nest, T::Wrap]
            .into_iter()
            .filter(|&t| !self.vars(t).is_empty())
            .collect();
        if let Some(&ty) = held.get(self.pick(held.len().max(1))) {
            let recs: Vec<String> = self.vars(ty).iter().map(|v| v.name.clone()).collect();
            let r = recs[self.pick(recs.len())].clone();
            let inner = match ty {
                T::Rec => String::new(),
                T::Nest => [".p", ".q"][self.pick(2)].to_string(),
                _ => ".p".to_string(),
            };
            // In a loop, now and then: compiled code keeps inner records
            // across iterations.
            let i = self.fresh("i");
            let looped = ty != T::Rec && self.pick(3) == 0;
            let line = match self.pick(4) {
                0 if ty != T::Rec => format!("{r}{inner} = {};", self.expr(T::Rec)),
                1 => format!("{r}{inner}.a += {};", self.expr(T::Int)),
                2 if ty != T::Rec => format!("{r}.n = {};", self.expr(T::Int)),
                _ if looped => format!("{r}{inner}.a = {r}{inner}.a * 3 + {i};"),
                _ => format!("{r}{inner}.a = {};", self.expr(T::Int)),
            };
            let pad = "    ".repeat(self.scopes.len());
            if looped {
                let read = self.expr(T::Int);
                let _ = writeln!(self.out, "{pad}for {i} in 0..3 {{");
                let _ = writeln!(self.out, "{pad}    {line}");
                let _ = writeln!(self.out, "{pad}    println(str({r}{inner}.a + {read}));");
                let _ = writeln!(self.out, "{pad}}}");
            } else {
                let _ = writeln!(self.out, "{pad}{line}");
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

    /// An array of bools (a byte per element in the heap): filled,
    /// written and read in a loop, grown or shrunk, sorted or reversed,
    /// printed and searched.
    fn bool_array(&mut self) {
        let (f, i) = (self.fresh("f"), self.fresh("i"));
        let k = 1 + self.pick(6);
        let (b, c) = (self.expr(T::Bool), self.expr(T::Int));
        self.indent();
        let _ = writeln!(self.out, "var {f} = [{b}; {k}];");
        self.indent();
        let _ = writeln!(
            self.out,
            "for {i} in 0..{k} {{ {f}[{i}] = ({i} * 3 + {c}) % 2 == 0 || {f}[({i} + 1) % {k}]; }}"
        );
        let change = match self.pick(5) {
            0 => format!("{f}.push({});", self.expr(T::Bool)),
            1 => format!("{f}.sort();"),
            2 => format!("{f}.reverse();"),
            3 => format!("{f}.insert(1, !{f}[0]);"),
            _ => format!("{f}.pop();"),
        };
        self.indent();
        let _ = writeln!(self.out, "{change}");
        self.indent();
        let _ = writeln!(
            self.out,
            "println(\"{{{f}}} {{{f}.index_of(true)}} {{len({f})}}\");"
        );
    }

    fn stmt(&mut self) {
        if self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let nested = self.scopes.len() < 5;
        match self.pick(16) {
            15 => {
                // Tuples, destructured.
                let (a, b) = (self.fresh("t"), self.fresh("u"));
                let (x, y) = (self.expr(T::Int), self.expr(T::Str));
                self.indent();
                let _ = writeln!(self.out, "let ({a}, {b}) = swap(({y}, {x}));");
                self.declare(a, T::Int, false);
                self.declare(b, T::Str, false);
            }
            12 => {
                let arrs: Vec<String> = self.vars(T::Arr).iter().map(|v| v.name.clone()).collect();
                if arrs.is_empty() {
                    self.bool_array();
                } else {
                    let a = arrs[self.pick(arrs.len())].clone();
                    let (x, y) = (self.fresh("x"), self.fresh("y"));
                    self.indent();
                    match self.pick(3) {
                        0 => {
                            let _ = writeln!(
                                self.out,
                                "{a}.sort_by(|{x}, {y}| ({y} % 7) - ({x} % 7));"
                            );
                        }
                        1 => {
                            let _ = writeln!(self.out, "{a}.sort();");
                        }
                        _ => {
                            let _ = writeln!(self.out, "{a}.reverse();");
                        }
                    }
                }
            }
            13 if nested => {
                // A labelled loop over an inclusive range, left from inside.
                let (l, i, j) = (self.fresh("l"), self.fresh("i"), self.fresh("j"));
                let (n, c) = (self.pick(4), self.expr(T::Bool));
                self.indent();
                let _ = writeln!(self.out, "'{l}: for {i} in 0..={n} {{");
                self.indent();
                let _ = writeln!(self.out, "    for {j} in 0..3 {{");
                self.indent();
                let _ = writeln!(
                    self.out,
                    "        if {c} {{ continue '{l}; }} if {j} == {i} {{ break '{l}; }}"
                );
                self.indent();
                let _ = writeln!(self.out, "        println(str({i} * 10 + {j}));");
                self.indent();
                self.out.push_str(
                    "    }
",
                );
                self.indent();
                self.out.push_str(
                    "}
",
                );
            }
            14 => {
                let e = self.expr(T::Str);
                self.indent();
                let _ = writeln!(self.out, "let _ = {e};");
            }
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
                if matches!(ty, T::Nest | T::Wrap) {
                    self.field_write();
                }
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
            10 | 11 => self.field_write(),
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

/// Generic declarations every program has (each use makes an instance).
const GENERICS: &str = "struct Boxed<T> { v: T }
fn pick<T>(c: bool, a: T, b: T) -> T { return if c { a } else { b }; }
fn wrap<T>(x: T) -> Option<T> { return Some(x); }
fn first<T>(xs: [T]) -> Option<T> { return if len(xs) == 0 { None } else { Some(xs[0]) }; }
fn swap<A, B>(p: (A, B)) -> (B, A) { let (a, b) = p; return (b, a); }
fn check(n: int) -> Result<int, str> { if n % 7 == 3 { return Err(\"bad {n}\"); } return Ok(n); }
fn tried(a: int, b: int) -> Result<int, str> { return Ok(check(a)? * 2 + check(b)?); }
fn deep(n: int, k: int) -> int { if n <= 0 { return k; } let r = deep(n - 1, k + 1); return r * 3 % 1000003 + n % 7; }

";

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
    g.out
        .push_str("import math;\n\nstruct Pair { a: int, b: str }\n");
    g.out
        .push_str("struct Nest { p: Pair, q: Pair, n: int }\nstruct Wrap { p: Pair, n: int }\n");
    g.out
        .push_str("enum Shape { Dot, Line(int), Label(str, int) }\n\n");
    g.out.push_str(GENERICS);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_writes_every_construct() {
        // Over a spread of inputs, each kind of construct turns up.
        let mut all = String::new();
        for data in crate::harness::spread(0x2545_f491_4f6c_dd1d, 400, 300) {
            all.push_str(&program(&mut Bytes::new(&data)));
        }
        for needle in [
            "(if ",
            "(match ",
            " if n",
            ".fold(",
            "deep(",
            ".map(|",
            ".filter(|",
            ".any(|",
            ".sort_by(|",
            ".sort();",
            "..=",
            "break '",
            "continue '",
            "let _ = ",
            "\"<{",
            "str([",
            ".to_upper()",
            ".contains(",
            "math.pow(",
            " == ",
            "pick(",
            "(Boxed { v: ",
            "tried(",
            ").unwrap_or(",
            "= swap((",
            ").0",
            ".p.a",
            ": Nest = ",
            "(Wrap { p: ",
            ".q.a += ",
            ".p = ",
            ".n = ",
            ".a * 3 + i",
            ".index_of(true)",
        ] {
            assert!(all.contains(needle), "no generated program has `{needle}`");
        }
        // Statements are chosen from the bytes; programs end when those do.
        assert!(all.len() > 100_000, "{}", all.len());
    }
}
