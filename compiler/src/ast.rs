//! The syntax tree the parser builds: what the user wrote, with spans, and
//! no meaning yet. Names are unresolved strings; `check` gives them meaning.

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
        ty: Option<TypeExpr>,
        value: Expr,
    },
    Struct {
        name: Ident,
        fields: Vec<(Ident, TypeExpr)>,
    },
    Enum {
        name: Ident,
        variants: Vec<(Ident, Vec<TypeExpr>)>,
    },
    Impl {
        ty: Ident,
        methods: Vec<FnDecl>,
    },
    Fn(FnDecl),
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
    /// Methods only: the function takes `self` first.
    pub has_self: bool,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub body: Block,
}

#[derive(Clone, Debug)]
pub enum TypeKind {
    /// `int`, `Body`, `geometry.Point`.
    Named(Vec<Ident>),
    Array(Box<TypeExpr>),
    Map(Box<TypeExpr>, Box<TypeExpr>),
    Fn(Vec<TypeExpr>, Option<Box<TypeExpr>>),
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

#[derive(Clone, Debug)]
pub enum StmtKind {
    Let {
        mutable: bool,
        name: Ident,
        ty: Option<TypeExpr>,
        init: Expr,
    },
    Expr(Expr),
    Assign {
        target: Expr,
        op: AssignOp,
        value: Expr,
    },
    If {
        cond: Expr,
        then: Block,
        els: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Block,
    },
    For {
        first: Ident,
        second: Option<Ident>,
        iter: Expr,
        end: Option<Expr>,
        body: Block,
    },
    Match {
        scrutinee: Expr,
        arms: Vec<Arm>,
    },
    Return(Option<Expr>),
    Break,
    Continue,
    Block(Block),
    /// A syntax error the parser recovered from (already reported).
    Error,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Arm {
    pub pat: Pattern,
    pub body: Block,
}

#[derive(Clone, Debug)]
pub enum PatternKind {
    Wildcard,
    /// A binding, or a payload-less variant (decided by the checker).
    Ident(String),
    /// `Circle(r)`, `Shape.Rect(w, _)`.
    Variant(Vec<Ident>, Vec<Pattern>),
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
    Field(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    Array(Vec<Expr>),
    ArrayRepeat(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    /// `Name { field: value, ... }` with an optional module qualifier.
    StructLit(Vec<Ident>, Vec<(Ident, Expr)>),
    Closure {
        params: Vec<Param>,
        ret: Option<TypeExpr>,
        body: Block,
    },
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}
