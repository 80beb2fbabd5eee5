//! The syntax tree the parser builds: what the user wrote, with spans, and
//! no meaning yet. Names are unresolved strings; `check` gives them meaning.
//!
//! The tree is the compiler's largest structure, some nodes per source
//! byte, so the common nodes are kept small: an [`Expr`] is 48 bytes and a
//! [`Stmt`] 64, and what only rare or large nodes carry is boxed.

/// Byte offsets `lo..hi` in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub lo: usize,
    pub hi: usize,
}

impl Span {
    pub fn new(lo: usize, hi: usize) -> Span {
        Span { lo, hi }
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.lo.min(other.lo), self.hi.max(other.hi))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Import(Ident),
    Const {
        name: Ident,
        ty: Option<Box<TypeExpr>>,
        value: Box<Expr>,
    },
    Struct {
        name: Ident,
        /// Type parameters: `struct Stack<T>`; empty if not generic.
        params: Vec<Ident>,
        fields: Vec<(Ident, TypeExpr)>,
    },
    Enum {
        name: Ident,
        params: Vec<Ident>,
        variants: Vec<(Ident, Vec<TypeExpr>)>,
    },
    Impl {
        ty: Ident,
        /// `impl Stack<T>`: names for the type's parameters.
        params: Vec<Ident>,
        methods: Vec<FnDecl>,
    },
    Fn(Box<FnDecl>),
    /// `extern "capability" { fn name(params) -> ret; ... }`: host
    /// functions the program imports.
    Extern {
        capability: Ident,
        fns: Vec<ExternFn>,
    },
    /// A syntax error the parser recovered from (already reported).
    Error,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
}

#[derive(Clone, Debug)]
pub struct ExternFn {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
}

#[derive(Clone, Debug)]
pub struct FnDecl {
    pub name: Ident,
    /// `fn first<T>(...)`: type parameters; empty if not generic.
    pub type_params: Vec<Ident>,
    /// Methods only: the function takes `self` first.
    pub has_self: bool,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub body: Block,
}

#[derive(Clone, Debug)]
pub enum TypeKind {
    /// `int`, `Body`, `geometry.Point`, `Option<int>` (with type arguments).
    Named(Vec<Ident>, Vec<TypeExpr>),
    Array(Box<TypeExpr>),
    Map(Box<TypeExpr>, Box<TypeExpr>),
    Fn(Vec<TypeExpr>, Option<Box<TypeExpr>>),
    /// `(int, str)`.
    Tuple(Vec<TypeExpr>),
}

#[derive(Clone, Debug)]
pub struct TypeExpr {
    pub kind: TypeKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignOp {
    Set,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// `let` or `var`.
#[derive(Clone, Debug)]
pub struct Let {
    pub mutable: bool,
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub init: Expr,
}

/// `let (a, b): (int, str) = x;` or with `var`.
#[derive(Clone, Debug)]
pub struct LetTuple {
    pub mutable: bool,
    pub names: Vec<Ident>,
    pub ty: Option<TypeExpr>,
    pub init: Expr,
}

/// `for first in iter {}`, `for first, second in iter {}`, or
/// `for first in iter..end {}`.
#[derive(Clone, Debug)]
pub struct For {
    pub label: Option<Ident>,
    pub first: Ident,
    pub second: Option<Ident>,
    pub iter: Expr,
    pub end: Option<Expr>,
    /// `a..=b`: `end` is included.
    pub inclusive: bool,
    /// `for (a, b) in pairs {}`: the names each element's parts are bound
    /// to (`first` is then a name no program can write).
    pub parts: Option<Vec<Ident>>,
    pub body: Block,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    Let(Box<Let>),
    /// `let (a, b) = pair;`: the parts of a tuple bound to names (`_`
    /// drops one).
    LetTuple(Box<LetTuple>),
    Expr(Expr),
    Assign {
        target: Box<Expr>,
        op: AssignOp,
        value: Box<Expr>,
    },
    /// `if`, any `else if`s, and an optional `else`.
    If {
        arms: Vec<IfArm>,
        els: Option<Box<Block>>,
    },
    While {
        label: Option<Ident>,
        cond: Box<Expr>,
        body: Block,
    },
    For(Box<For>),
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<Arm>,
    },
    Return(Option<Expr>),
    /// `break;` or `break 'label;`.
    Break(Option<Ident>),
    Continue(Option<Ident>),
    Block(Block),
    /// A syntax error the parser recovered from (already reported).
    Error,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

/// `if cond { then }`, first or after an `else`; `at` is the `if`.
#[derive(Clone, Debug)]
pub struct IfArm {
    pub at: Span,
    pub cond: Expr,
    pub then: Block,
}

/// `pattern [| pattern ...] [if guard] => body`.
#[derive(Clone, Debug)]
pub struct Arm {
    pub pat: Pattern,
    /// More alternatives after `|`.
    pub alts: Vec<Pattern>,
    pub guard: Option<Expr>,
    pub body: ArmBody,
}

#[derive(Clone, Debug)]
pub enum ArmBody {
    /// Statements: `P => { ...; }`, `P => return x;`.
    Block(Block),
    /// A value: `P => x,`, `P => { ...; x }`.
    Value(ValueBlock),
}

/// A block whose last part is an expression, its value: the branches of
/// an `if` expression and the arms of a `match` expression.
#[derive(Clone, Debug)]
pub struct ValueBlock {
    pub stmts: Vec<Stmt>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum PatternKind {
    Wildcard,
    /// A binding, or a payload-less variant (decided by the checker).
    Ident(String),
    /// `Circle(r)`, `Shape.Rect(w, _)`.
    Variant(Vec<Ident>, Vec<Pattern>),
    /// `(a, _)`: a tuple's parts.
    Tuple(Vec<Pattern>),
    Int(i64),
    Str(String),
    Bool(bool),
}

#[derive(Clone, Debug)]
pub struct Pattern {
    pub kind: PatternKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            And => "&&",
            Or => "||",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            Shl => "<<",
            Shr => ">>",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    /// Unsigned as written; `-` is applied by the checker so that
    /// `-9223372036854775808` is accepted.
    Int(u64),
    Float(f64),
    Str(String),
    Bool(bool),
    Ident(String),
    SelfValue,
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    Call(Box<Expr>, Vec<Expr>),
    Field(Box<Expr>, Box<Ident>),
    Index(Box<Expr>, Box<Expr>),
    Array(Vec<Expr>),
    ArrayRepeat(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    /// `Name { field: value, ... }` with an optional module qualifier.
    StructLit(Box<Vec<Ident>>, Vec<(Ident, Expr)>),
    Closure(Box<Closure>),
    /// `if c { a } else if d { b } else { c }` as a value.
    If(Vec<(Expr, ValueBlock)>, Box<ValueBlock>),
    /// `match x { P => v, ... }` as a value.
    Match(Box<Expr>, Vec<Arm>),
    /// `|x, y: int| body`: a closure whose parameter and result types may
    /// come from the type expected.
    Lambda(Box<Lambda>),
    /// `e?`: the value of an `Ok` or `Some`, or return the `Err` or `None`.
    Try(Box<Expr>),
    /// `(a, b)`.
    Tuple(Vec<Expr>),
    /// `t.0`: a part of a tuple, by position (the span is the number's).
    TupleField(Box<Expr>, u64, Span),
}

#[derive(Clone, Debug)]
pub struct LambdaParam {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
}

#[derive(Clone, Debug)]
pub struct Lambda {
    pub params: Vec<LambdaParam>,
    pub body: LambdaBody,
}

#[derive(Clone, Debug)]
pub enum LambdaBody {
    /// `|x| x * 2`: the value.
    Expr(Expr),
    /// `|x| { ...; return v; }`: statements, as a `fn` closure's body.
    Block(Block),
}

/// `fn(params) -> ret { body }` as a value.
#[derive(Clone, Debug)]
pub struct Closure {
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub body: Block,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Drop for Expr {
    /// Long left-recursive chains (`a + b + ...`, `f()()...`, `a.b.c...`)
    /// are trees as deep as they are long, which the nesting limit does not
    /// bound. Their boxed spines are taken apart here with a work list, so
    /// that dropping a tree needs no stack in proportion to its depth.
    /// (Lists of operands are dropped as usual: they sit inside brackets,
    /// whose nesting is limited.)
    fn drop(&mut self) {
        let mut work: Vec<Expr> = Vec::new();
        let mut kind = std::mem::replace(&mut self.kind, ExprKind::SelfValue);
        loop {
            match kind {
                ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) | ExprKind::ArrayRepeat(a, b) => {
                    work.push(*a);
                    work.push(*b);
                }
                ExprKind::Unary(_, a)
                | ExprKind::Field(a, _)
                | ExprKind::Call(a, _)
                | ExprKind::Try(a) => work.push(*a),
                _ => {}
            }
            match work.pop() {
                Some(mut e) => kind = std::mem::replace(&mut e.kind, ExprKind::SelfValue),
                None => break,
            }
        }
    }
}
