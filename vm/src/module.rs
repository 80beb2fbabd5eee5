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
//! - every index anywhere in the tables, and in every instruction reachable
//!   from a function's start (type, layout, constant, global, import,
//!   function, local, field, variant, capture), is in range. Unreachable
//!   instructions are not checked: a tool that reads them (a disassembler)
//!   must check what it indexes.

use crate::opcodes::Instr;
use std::fmt::Write;

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

    /// The display form of type `id`, in Tern syntax, cut short past
    /// [`MAX_TYPE_NAME`] bytes. (A type nested 64 deep with 255 parameters
    /// at each level has a name of 256^64 bytes, and a hostile module may
    /// make a message name one.) Each level writes something before it
    /// descends, so this ends even on a type table with cycles, which only
    /// an unverified module has.
    pub fn type_name(&self, id: TypeId) -> String {
        let mut out = String::new();
        write_type(self, id, &mut out);
        if out.len() > MAX_TYPE_NAME {
            let mut cut = MAX_TYPE_NAME;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str("...");
        }
        out
    }

    pub fn function_index(&self, name: &str) -> Option<u32> {
        self.functions
            .iter()
            .position(|f| f.name == name)
            .map(|i| i as u32)
    }
}

/// Type names in messages are cut short past this many bytes.
pub const MAX_TYPE_NAME: usize = 200;

fn write_type(m: &Module, t: TypeId, out: &mut String) {
    if out.len() > MAX_TYPE_NAME {
        return;
    }
    let Some(desc) = m.types.get(t as usize) else {
        let _ = write!(out, "<type {t}>");
        return;
    };
    match desc {
        TypeDesc::Int => out.push_str("int"),
        TypeDesc::Float => out.push_str("float"),
        TypeDesc::Bool => out.push_str("bool"),
        TypeDesc::Str => out.push_str("str"),
        TypeDesc::Unit => out.push_str("()"),
        TypeDesc::Array(e) => {
            out.push('[');
            write_type(m, *e, out);
            out.push(']');
        }
        TypeDesc::Map(k, v) => {
            out.push('{');
            write_type(m, *k, out);
            out.push_str(": ");
            write_type(m, *v, out);
            out.push('}');
        }
        TypeDesc::Struct(l) | TypeDesc::Enum(l) => match m.layouts.get(*l as usize) {
            Some(layout) => {
                // A name may be 16 MiB long.
                let room = MAX_TYPE_NAME + 1 - out.len().min(MAX_TYPE_NAME);
                out.extend(layout.name().chars().take(room));
            }
            None => {
                let _ = write!(out, "<layout {l}>");
            }
        },
        TypeDesc::Fn { params, ret } => {
            out.push_str("fn(");
            for (k, p) in params.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                write_type(m, *p, out);
            }
            out.push(')');
            if *ret != UNIT {
                out.push_str(" -> ");
                write_type(m, *ret, out);
            }
        }
        TypeDesc::Cell(t) => {
            out.push_str("cell<");
            write_type(m, *t, out);
            out.push('>');
        }
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
