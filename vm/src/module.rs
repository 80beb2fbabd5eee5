//! The in-memory form of a bytecode module.
//!
//! This is what the compiler produces, what `format` encodes to and decodes
//! from a `.bc` file, and what the verifier checks. Code is held decoded, as
//! [`Instr`]s, with jump targets as instruction indices; line tables map
//! instruction indices to source lines.
//!
//! Invariants that hold for a module that passed [`crate::verify`]:
//! - the type table begins with the five primitive types at indices 0..5 and
//!   holds no two structurally equal entries, so type equality is index
//!   equality; structural entries refer only to earlier entries;
//! - every index anywhere (type, layout, constant, global, import, function,
//!   local, field, variant, capture) is in range.

use crate::opcodes::Instr;

/// Index into [`Module::types`].
pub type TypeId = u32;

pub const INT: TypeId = 0;
pub const FLOAT: TypeId = 1;
pub const BOOL: TypeId = 2;
pub const STR: TypeId = 3;
pub const UNIT: TypeId = 4;
/// Number of implicit primitive entries at the start of every type table.
pub const PRIMITIVES: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeDesc {
    Int,
    Float,
    Bool,
    Str,
    /// Only as a function result: no value at all.
    Unit,
    Array(TypeId),
    Map(TypeId, TypeId),
    /// A struct by layout index.
    Struct(u32),
    /// An enum by layout index.
    Enum(u32),
    Fn {
        params: Vec<TypeId>,
        ret: TypeId,
    },
    /// A mutable box holding one value: how closures capture variables.
    Cell(TypeId),
}

impl TypeDesc {
    /// Whether values of this type are heap references (and so GC roots).
    pub fn is_ref(&self) -> bool {
        !matches!(
            self,
            TypeDesc::Int | TypeDesc::Float | TypeDesc::Bool | TypeDesc::Unit
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ty: TypeId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    pub name: String,
    pub fields: Vec<TypeId>,
}

/// The shape of a nominal type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    Struct {
        name: String,
        fields: Vec<Field>,
    },
    Enum {
        name: String,
        variants: Vec<Variant>,
    },
}

impl Layout {
    pub fn name(&self) -> &str {
        match self {
            Layout::Struct { name, .. } | Layout::Enum { name, .. } => name,
        }
    }
}

/// A host function the module needs, named `module.name` (its capability
/// namespace and function name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub params: Vec<TypeId>,
    pub ret: TypeId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub func: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Qualified name for traces, e.g. `main`, `Body.speed`, `geometry.area`.
    pub name: String,
    pub params: Vec<TypeId>,
    pub ret: TypeId,
    /// Types of the locals after the parameters.
    pub locals: Vec<TypeId>,
    /// Types of the values a closure of this function carries.
    pub captures: Vec<TypeId>,
    pub max_stack: u32,
    pub code: Vec<Instr>,
    /// Index into [`Module::sources`].
    pub source: u32,
    /// `(instruction index, line)`, ascending by index.
    pub lines: Vec<(u32, u32)>,
}

impl Function {
    /// Parameters and locals together, in slot order.
    pub fn slot_types(&self) -> impl Iterator<Item = TypeId> + '_ {
        self.params.iter().chain(self.locals.iter()).copied()
    }

    pub fn num_slots(&self) -> usize {
        self.params.len() + self.locals.len()
    }

    /// The source line of instruction `index` (0 when unknown).
    pub fn line_of(&self, index: usize) -> u32 {
        match self.lines.partition_point(|&(at, _)| at as usize <= index) {
            0 => 0,
            n => self.lines[n - 1].1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Module {
    pub types: Vec<TypeDesc>,
    pub layouts: Vec<Layout>,
    pub consts: Vec<Const>,
    pub globals: Vec<TypeId>,
    pub imports: Vec<Import>,
    pub functions: Vec<Function>,
    pub exports: Vec<Export>,
    /// Source file names, relative to the main file's folder.
    pub sources: Vec<String>,
    /// Run once before `entry`: initializes the globals.
    pub init: Option<u32>,
    /// The `main` function.
    pub entry: Option<u32>,
}

impl Module {
    /// An empty module whose type table holds the primitives.
    pub fn new() -> Module {
        Module {
            types: primitive_types(),
            ..Module::default()
        }
    }

    pub fn ty(&self, id: TypeId) -> &TypeDesc {
        &self.types[id as usize]
    }

    pub fn is_ref(&self, id: TypeId) -> bool {
        self.types[id as usize].is_ref()
    }

    /// Display form of a type, in Tern syntax.
    pub fn type_name(&self, id: TypeId) -> String {
        match self.types.get(id as usize) {
            None => format!("<type {id}>"),
            Some(t) => match t {
                TypeDesc::Int => "int".into(),
                TypeDesc::Float => "float".into(),
                TypeDesc::Bool => "bool".into(),
                TypeDesc::Str => "str".into(),
                TypeDesc::Unit => "()".into(),
                TypeDesc::Array(e) => format!("[{}]", self.type_name(*e)),
                TypeDesc::Map(k, v) => {
                    format!("{{{}: {}}}", self.type_name(*k), self.type_name(*v))
                }
                TypeDesc::Struct(l) | TypeDesc::Enum(l) => self
                    .layouts
                    .get(*l as usize)
                    .map_or_else(|| format!("<layout {l}>"), |l| l.name().to_string()),
                TypeDesc::Fn { params, ret } => {
                    let ps: Vec<String> = params.iter().map(|p| self.type_name(*p)).collect();
                    if *ret == UNIT {
                        format!("fn({})", ps.join(", "))
                    } else {
                        format!("fn({}) -> {}", ps.join(", "), self.type_name(*ret))
                    }
                }
                TypeDesc::Cell(t) => format!("cell<{}>", self.type_name(*t)),
            },
        }
    }

    pub fn function_index(&self, name: &str) -> Option<u32> {
        self.functions
            .iter()
            .position(|f| f.name == name)
            .map(|i| i as u32)
    }
}

/// Whether `s` can name a capability (an import's module): parts of ASCII
/// letters, digits and `_`, joined by `.` (`stdout`, `fs.read`).
pub fn is_capability_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

pub fn primitive_types() -> Vec<TypeDesc> {
    vec![
        TypeDesc::Int,
        TypeDesc::Float,
        TypeDesc::Bool,
        TypeDesc::Str,
        TypeDesc::Unit,
    ]
}
