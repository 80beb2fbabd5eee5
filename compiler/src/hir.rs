//! The checked program: names resolved, every expression typed, closures
//! lifted into functions of their own with explicit captures. Code
//! generation reads only this.

use crate::ast::Span;
use crate::diag::FileId;
use std::rc::Rc;
pub use tern_stdlib::Intrinsic;

pub type LocalId = u32;
pub type FuncId = u32;
pub type StructId = u32;
pub type EnumId = u32;
pub type ConstId = u32;

/// An operation on operands whose types are known: what an operator, an
/// index or a built-in function or method means. Code generation alone
/// maps these to instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    IntAdd,
    IntSub,
    IntMul,
    IntDiv,
    IntRem,
    IntAnd,
    IntOr,
    IntXor,
    IntShl,
    IntShr,
    IntNeg,
    FloatAdd,
    FloatSub,
    FloatMul,
    FloatDiv,
    FloatRem,
    FloatNeg,
    Concat,
    Not,
    IntCmp(Rel),
    FloatCmp(Rel),
    StrCmp(Rel),
    BoolEq,
    BoolNe,
    /// `a[i]` on an array (bounds-checked).
    ArrayIndex,
    /// `m[k]` on a map (the key must be present).
    MapIndex,
    /// A built-in function or method, or a standard-library function.
    Intrinsic(Intrinsic),
    /// `str(x)` of a value of any other type (the `text` instruction).
    ValueText,
    /// `==` and `!=` on enums, arrays, maps, structs and functions (the
    /// `eq` instruction: by value, structs and functions by identity).
    ValueEq,
    ValueNe,
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rel {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A Tern type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Str,
    Unit,
    Array(Rc<Ty>),
    Map(Rc<Ty>, Rc<Ty>),
    Struct(StructId),
    Enum(EnumId),
    Fn(Rc<[Ty]>, Rc<Ty>),
    /// The type of an expression that already failed to check: compatible
    /// with everything, so one mistake gives one error.
    Error,
}

impl Ty {
    pub fn array(t: Ty) -> Ty {
        Ty::Array(Rc::new(t))
    }
    pub fn map(k: Ty, v: Ty) -> Ty {
        Ty::Map(Rc::new(k), Rc::new(v))
    }
    pub fn is_error(&self) -> bool {
        *self == Ty::Error
    }
    /// Whether `self` and `other` agree, treating `Error` as a wildcard.
    pub fn compatible(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Error, _) | (_, Ty::Error) => true,
            (Ty::Array(a), Ty::Array(b)) => a.compatible(b),
            (Ty::Map(a, b), Ty::Map(c, d)) => a.compatible(c) && b.compatible(d),
            (Ty::Fn(a, b), Ty::Fn(c, d)) => {
                a.len() == c.len()
                    && a.iter().zip(c.iter()).all(|(x, y)| x.compatible(y))
                    && b.compatible(d)
            }
            _ => self == other,
        }
    }
}

#[derive(Clone, Debug)]
pub struct StructDef {
    pub name: String,
    pub fields: Vec<(String, Ty)>,
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: String,
    /// Each variant's name and the types it carries (shared, so that
    /// checking a use copies no list of types).
    pub variants: Vec<(String, Rc<[Ty]>)>,
}

#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub ty: Ty,
    /// Captured by a closure and mutable: lives in a cell.
    pub boxed: bool,
}

/// Where a closure's capture comes from in the enclosing function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaptureSource {
    Local(LocalId),
    Capture(u32),
}

#[derive(Clone, Debug)]
pub struct Capture {
    pub ty: Ty,
    /// The capture is a cell shared with the enclosing function.
    pub boxed: bool,
    pub source: CaptureSource,
}

#[derive(Clone, Debug)]
pub struct Func {
    pub name: String,
    pub file: FileId,
    pub params: u32,
    /// Parameters first, then the other locals.
    pub locals: Vec<Local>,
    pub ret: Ty,
    pub captures: Vec<Capture>,
    pub body: Vec<Stmt>,
    pub line: u32,
    /// The function's name, or the whole closure, for errors about the
    /// function as a whole (in the file `file`).
    pub span: Span,
}

/// A host import a program needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostRef {
    /// The capability: the import's module name.
    pub module: Rc<str>,
    pub name: Rc<str>,
    pub params: Vec<Ty>,
    pub ret: Ty,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub line: u32,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Local(LocalId),
    Capture(u32),
    Global(ConstId),
    FnValue(FuncId),
    /// Evaluate the operands, then the operation.
    Op(Op, Vec<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Call(FuncId, Vec<Expr>),
    CallClosure(Box<Expr>, Vec<Expr>),
    CallHost(Rc<HostRef>, Vec<Expr>),
    Field(Box<Expr>, u16),
    NewArray(Vec<Expr>),
    ArrayRepeat(Box<Expr>, Box<Expr>),
    NewMap(Vec<(Expr, Expr)>),
    /// Fields as written: `(field index, value)` in source order.
    NewStruct(StructId, Vec<(u16, Expr)>),
    NewEnum(EnumId, u16, Vec<Expr>),
    Closure(FuncId, Vec<CaptureSource>),
    /// `if` as a value: each test with its statements and value, then the
    /// `else` statements and value.
    If(Vec<(Expr, Vec<Stmt>, Expr)>, Box<(Vec<Stmt>, Expr)>),
    /// `match` as a value (always exhaustive).
    Match(Box<Expr>, Vec<Arm>),
    /// A method of arrays that calls a function: the array, any other
    /// operands (`fold`'s initial value), then the function.
    ArrayFn(ArrayFn, Vec<Expr>),
    /// `panic(msg)`: a runtime error; control does not go on.
    Panic(Box<Expr>),
    /// `exit(code)`: the program ends with `code`; control does not go on.
    Exit(Box<Expr>),
    /// `assert(cond)` or `assert(cond, msg)`.
    Assert(Box<Expr>, Option<Box<Expr>>),
    /// Produces the poison value of a failed check; never reaches codegen.
    Error,
}

/// The array methods that call a function, compiled to loops in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayFn {
    Map,
    Filter,
    Fold,
    Any,
    All,
    SortBy,
}

#[derive(Clone, Debug)]
pub enum Place {
    Local(LocalId),
    Capture(u32),
    Field(Box<Expr>, u16),
    Index(Box<Expr>, Box<Expr>),
    MapKey(Box<Expr>, Box<Expr>),
}

#[derive(Clone, Debug)]
pub enum ArmTest {
    Always,
    Variant(u16),
    Int(i64),
    Str(String),
    Bool(bool),
}

#[derive(Clone, Debug)]
pub enum Bind {
    /// The whole scrutinee.
    Whole(LocalId),
    /// Payload field `usize` of the arm's variant.
    Field(LocalId, u16),
}

#[derive(Clone, Debug)]
pub struct Arm {
    /// The arm is taken when any of these match (`A | B`) and the guard
    /// holds; one `ArmTest::Always` matches everything.
    pub tests: Vec<ArmTest>,
    pub binds: Vec<Bind>,
    pub guard: Option<Expr>,
    pub body: Vec<Stmt>,
    /// In a `match` expression: the arm's value, after `body` (`None`
    /// where the body does not end: it panics or exits).
    pub value: Option<Expr>,
    pub line: u32,
}

/// One test of an `if` chain: its condition, the statements it guards,
/// and the line of its `if`.
#[derive(Clone, Debug)]
pub struct IfArm {
    pub cond: Expr,
    pub then: Vec<Stmt>,
    pub line: u32,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub line: u32,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    Let(LocalId, Expr),
    Expr(Expr),
    Assign(Place, Box<Expr>),
    /// `place op= value`: the instruction combines old and new.
    Compound(Place, Op, Box<Expr>),
    /// `if` and its `else if`s, in order, then the `else` statements.
    If(Vec<IfArm>, Vec<Stmt>),
    While(Box<Expr>, Vec<Stmt>),
    /// `while true`: no test, left only by break or return.
    Loop(Vec<Stmt>),
    ForRange {
        var: LocalId,
        lo: Box<Expr>,
        hi: Box<Expr>,
        /// `lo..=hi`.
        inclusive: bool,
        body: Vec<Stmt>,
    },
    ForArray {
        index: Option<LocalId>,
        var: LocalId,
        array: Box<Expr>,
        body: Vec<Stmt>,
    },
    ForMap {
        key: LocalId,
        value: Option<LocalId>,
        map: Box<Expr>,
        body: Vec<Stmt>,
    },
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<Arm>,
        /// Every value matches some arm, so the last arm needs no test.
        exhaustive: bool,
    },
    Return(Option<Expr>),
    /// A return from inside an expression (`x?`), where the enclosing
    /// expressions may have values on the stack: code generation drops
    /// them first.
    ReturnFromExpr(Expr),
    /// Leaves the loop this many loops out from the innermost (0).
    Break(u32),
    Continue(u32),
    Block(Vec<Stmt>),
}

/// The whole checked program.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub structs: Vec<StructDef>,
    pub enums: Vec<EnumDef>,
    pub funcs: Vec<Func>,
    /// Constants: type and initializer, in an order where each initializer
    /// only reads constants before it.
    pub consts: Vec<(Ty, Expr)>,
    pub const_order: Vec<ConstId>,
    pub main: Option<FuncId>,
    /// Display names of the files, index = FileId.
    pub files: Vec<String>,
}
