//! Tern types as the host sees them, and the conversions that let host
//! functions and export calls be written with plain Rust types.
//!
//! Only values that can be *copied* across the boundary have a host type:
//! `int`, `float`, `bool`, `str`, unit, arrays and maps of those. Structs,
//! enums and closures stay inside the guest.
//!
//! | Tern | Rust |
//! |---|---|
//! | `int` | `i64` |
//! | `float` | `f64` |
//! | `bool` | `bool` |
//! | `str` | `String` |
//! | unit | `()` |
//! | `[T]` | `Vec<T>` |
//! | `{K: V}` | `IndexMap<K, V>` (insertion order, like the guest's maps) |

use indexmap::IndexMap;
use std::fmt;
use tern_vm::module::{Module as VmModule, TypeDesc, TypeId};
use tern_vm::Value;

/// The type of a value that crosses the host boundary.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    Int,
    Float,
    Bool,
    Str,
    Unit,
    Array(Box<ValType>),
    Map(Box<ValType>, Box<ValType>),
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::Int => write!(f, "int"),
            ValType::Float => write!(f, "float"),
            ValType::Bool => write!(f, "bool"),
            ValType::Str => write!(f, "str"),
            ValType::Unit => write!(f, "()"),
            ValType::Array(e) => write!(f, "[{e}]"),
            ValType::Map(k, v) => write!(f, "{{{k}: {v}}}"),
        }
    }
}

impl ValType {
    /// The host type of module type `ty`, or `None` for types that cannot
    /// cross (structs, enums, functions).
    pub fn of(m: &VmModule, ty: TypeId) -> Option<ValType> {
        Some(match m.ty(ty) {
            TypeDesc::Int => ValType::Int,
            TypeDesc::Float => ValType::Float,
            TypeDesc::Bool => ValType::Bool,
            TypeDesc::Str => ValType::Str,
            TypeDesc::Unit => ValType::Unit,
            TypeDesc::Array(e) => ValType::Array(Box::new(ValType::of(m, *e)?)),
            TypeDesc::Map(k, v) => {
                ValType::Map(Box::new(ValType::of(m, *k)?), Box::new(ValType::of(m, *v)?))
            }
            _ => return None,
        })
    }
}

/// A function signature in host types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<ValType>,
    pub ret: ValType,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(")?;
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{p}")?;
        }
        write!(f, ")")?;
        if self.ret != ValType::Unit {
            write!(f, " -> {}", self.ret)?;
        }
        Ok(())
    }
}

/// A Rust type that stands for a Tern type at the boundary.
pub trait TernValue: Sized {
    fn val_type() -> ValType;
    /// `None` when `v` is not of this type.
    fn from_value(v: Value) -> Option<Self>;
    fn into_value(self) -> Value;
}

impl TernValue for i64 {
    fn val_type() -> ValType {
        ValType::Int
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Int(self)
    }
}

impl TernValue for f64 {
    fn val_type() -> ValType {
        ValType::Float
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Float(x) => Some(x),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl TernValue for bool {
    fn val_type() -> ValType {
        ValType::Bool
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl TernValue for String {
    fn val_type() -> ValType {
        ValType::Str
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Str(self)
    }
}

impl TernValue for () {
    fn val_type() -> ValType {
        ValType::Unit
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Unit => Some(()),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Unit
    }
}

impl<T: TernValue> TernValue for Vec<T> {
    fn val_type() -> ValType {
        ValType::Array(Box::new(T::val_type()))
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Array(items) => items.into_iter().map(T::from_value).collect(),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Array(self.into_iter().map(T::into_value).collect())
    }
}

/// Map keys: `int`, `str` or `bool`.
pub trait TernKey: TernValue + std::hash::Hash + Eq {}
impl TernKey for i64 {}
impl TernKey for String {}
impl TernKey for bool {}

impl<K: TernKey, V: TernValue> TernValue for IndexMap<K, V> {
    fn val_type() -> ValType {
        ValType::Map(Box::new(K::val_type()), Box::new(V::val_type()))
    }
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Map(entries) => entries
                .into_iter()
                .map(|(k, v)| Some((K::from_value(k)?, V::from_value(v)?)))
                .collect(),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Map(
            self.into_iter()
                .map(|(k, v)| (k.into_value(), v.into_value()))
                .collect(),
        )
    }
}

/// What a host function may return: a value, or `Result<value, error>`
/// whose error becomes a guest runtime error (with the guest's trace).
pub trait HostResult {
    fn val_type() -> ValType;
    fn into_result(self) -> Result<Value, String>;
}

impl<T: TernValue> HostResult for T {
    fn val_type() -> ValType {
        T::val_type()
    }
    fn into_result(self) -> Result<Value, String> {
        Ok(self.into_value())
    }
}

impl<T: TernValue, E: fmt::Display> HostResult for Result<T, E> {
    fn val_type() -> ValType {
        T::val_type()
    }
    fn into_result(self) -> Result<Value, String> {
        self.map(T::into_value).map_err(|e| e.to_string())
    }
}

/// A tuple of arguments: `()`, `(A,)`, `(A, B)`, ... up to six.
pub trait Params: Sized {
    fn val_types() -> Vec<ValType>;
    fn from_values(vs: Vec<Value>) -> Option<Self>;
    fn into_values(self) -> Vec<Value>;
}

macro_rules! impl_params {
    ($($t:ident),*) => {
        impl<$($t: TernValue),*> Params for ($($t,)*) {
            fn val_types() -> Vec<ValType> {
                vec![$($t::val_type()),*]
            }
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn from_values(vs: Vec<Value>) -> Option<Self> {
                let mut it = vs.into_iter();
                $(let $t = $t::from_value(it.next()?)?;)*
                if it.next().is_some() {
                    return None;
                }
                Some(($($t,)*))
            }
            #[allow(non_snake_case)]
            fn into_values(self) -> Vec<Value> {
                let ($($t,)*) = self;
                vec![$($t.into_value()),*]
            }
        }
    };
}

impl_params!();
impl_params!(A);
impl_params!(A, B);
impl_params!(A, B, C);
impl_params!(A, B, C, D);
impl_params!(A, B, C, D, E);
impl_params!(A, B, C, D, E, F);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_as_tern_writes_them() {
        assert_eq!(
            <IndexMap<String, Vec<i64>> as TernValue>::val_type().to_string(),
            "{str: [int]}"
        );
        let sig = Signature {
            params: vec![ValType::Str, ValType::Int],
            ret: ValType::Unit,
        };
        assert_eq!(sig.to_string(), "(str, int)");
    }

    #[test]
    fn values_convert_both_ways_and_wrong_shapes_are_refused() {
        let v = vec![(1i64, "a".to_string())];
        let m: IndexMap<i64, String> = v.into_iter().collect();
        let back = <IndexMap<i64, String>>::from_value(m.clone().into_value());
        assert_eq!(back, Some(m));
        assert_eq!(
            <Vec<i64>>::from_value(Value::Array(vec![Value::Bool(true)])),
            None
        );
        assert_eq!(<(i64, bool)>::from_values(vec![Value::Int(1)]), None);
        assert_eq!(
            <(i64,)>::from_values(vec![Value::Int(1), Value::Int(2)]),
            None,
            "too many arguments"
        );
    }
}
