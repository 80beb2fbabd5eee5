//! The boundary between a guest and its host.
//!
//! Values cross it by copy: a [`Value`] owns its data, so the host never
//! holds a reference into the guest heap, and the guest never sees a host
//! pointer. A host implements [`Host`] to serve the module's imports, which
//! it resolved to import indices before anything ran.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Unit,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
    /// Entries in the map's order.
    Map(Vec<(Value, Value)>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Unit => "unit",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Str(_) => "str",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unit => write!(f, "()"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{}", crate::text::float_to_string(*x)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Array(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(entries) => {
                write!(f, "{{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// Serves a module's host imports.
pub trait Host: Send {
    /// Calls import `import` (an index into the module's import table) with
    /// arguments already converted to the import's parameter types. An `Err`
    /// becomes a guest runtime error with the guest's stack trace.
    fn call(&mut self, import: u32, args: Vec<Value>) -> Result<Value, String>;
}

/// A host that grants nothing: any import call is an error.
pub struct NoHost;

impl Host for NoHost {
    fn call(&mut self, import: u32, _args: Vec<Value>) -> Result<Value, String> {
        Err(format!("import {import} is not provided by this host"))
    }
}
