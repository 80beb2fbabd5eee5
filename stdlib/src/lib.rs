//! The Tern standard library catalogue.
//!
//! The one list of what every program has without writing it: the
//! built-in functions (`len`, `str`, ...), the methods of the built-in
//! types (`push`, `keys`, `split`, ...), the standard modules (`math`,
//! `fs`, ...) and the prelude (`println`, ...), each with its signature and
//! how it lowers: an [`Intrinsic`] (one instruction, chosen by the
//! compiler's code generator) or a host import in a named capability
//! namespace for anything that touches the outside world. The compiler's
//! checker reads these tables to resolve and type names and calls; the
//! sandbox's standard capabilities implement exactly [`host_functions`]
//! (a test there holds the two together).

/// The primitive types standard-library signatures use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    Int,
    Float,
    Bool,
    Str,
    Unit,
}

/// An operation built into the language that lowers to one instruction
/// taking the arguments (the receiver first) and leaving the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    // Math.
    Sqrt,
    Floor,
    Ceil,
    Pow,
    Sin,
    Cos,
    Exp,
    Log,
    IntAbs,
    FloatAbs,
    IntMin,
    FloatMin,
    IntMax,
    FloatMax,
    // Conversions.
    IntToStr,
    FloatToStr,
    BoolToStr,
    FloatToInt,
    StrToInt,
    IntToFloat,
    StrToFloat,
    Fixed,
    // Lengths.
    StrLen,
    ArrayLen,
    MapLen,
    // Methods.
    Push,
    Pop,
    Join,
    Has,
    GetOr,
    Remove,
    Keys,
    Values,
    Byte,
    Slice,
    Split,
    Find,
    // Arrays and maps.
    ArraySort,
    ArrayReverse,
    ArrayContains,
    ArrayIndexOf,
    ArraySlice,
    ArrayInsert,
    ArrayRemoveAt,
    ArrayExtend,
    MapClear,
    /// `m.get_or_insert(k, v)`: the value of `k`, inserting `v` first if
    /// it is missing (compiled to a test, an insert and a read).
    MapGetOrInsert,
    /// `xs.min()`, `xs.max()` of ints, floats or strings (compiled to a
    /// loop; an empty array is a runtime error).
    ArrayMin,
    ArrayMax,
    /// The VM's built-in function of this name (its `builtin`
    /// instruction's table, `tern_vm::builtins`; a test in the compiler
    /// holds the names and signatures here to it).
    Builtin(&'static str),
    /// The VM's built-in function of this name that makes an array
    /// (`builtin.list`).
    BuiltinList(&'static str),
}

/// How a standard-library function becomes bytecode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lowering {
    /// One instruction that takes the arguments and leaves the result.
    Op(Intrinsic),
    /// A call of host import `module.name`: an effect needing a capability.
    Host {
        module: &'static str,
        name: &'static str,
    },
    /// A call of host import `module.name`, an effect that may fail: the
    /// host returns `[status, value]`, `["ok", value]` or `["error",
    /// message]`, and the program gets `Ok(value)` (an int sent as its
    /// decimal text) or `Err(message)`: a `Result<ret, str>`.
    HostResult {
        module: &'static str,
        name: &'static str,
    },
}

/// What a host function of the catalogue returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostRet {
    Prim(Prim),
    /// `[str]`: a status and a value (see [`Lowering::HostResult`]).
    Outcome,
}

#[derive(Clone, Copy, Debug)]
pub struct StdFn {
    pub name: &'static str,
    pub params: &'static [Prim],
    pub ret: Prim,
    pub lower: Lowering,
}

#[derive(Clone, Copy, Debug)]
pub struct StdConst {
    pub name: &'static str,
    pub value: f64,
}

/// A module users bring in with `import NAME;`.
#[derive(Clone, Copy, Debug)]
pub struct StdModule {
    pub name: &'static str,
    pub consts: &'static [StdConst],
    /// Overloads share a name and differ in parameter types.
    pub fns: &'static [StdFn],
}

use Prim::*;

const fn op(name: &'static str, params: &'static [Prim], ret: Prim, o: Intrinsic) -> StdFn {
    StdFn {
        name,
        params,
        ret,
        lower: Lowering::Op(o),
    }
}

const fn host(
    name: &'static str,
    params: &'static [Prim],
    ret: Prim,
    module: &'static str,
    hname: &'static str,
) -> StdFn {
    StdFn {
        name,
        params,
        ret,
        lower: Lowering::Host {
            module,
            name: hname,
        },
    }
}

impl StdFn {
    /// This host function, as one that may fail: the program gets
    /// `Result<ret, str>` (see [`Lowering::HostResult`]).
    const fn fallible(self) -> StdFn {
        let lower = match self.lower {
            Lowering::Host { module, name } => Lowering::HostResult { module, name },
            other => other,
        };
        StdFn { lower, ..self }
    }
}

pub const MATH: StdModule = StdModule {
    name: "math",
    consts: &[
        StdConst {
            name: "PI",
            value: std::f64::consts::PI,
        },
        StdConst {
            name: "E",
            value: std::f64::consts::E,
        },
        StdConst {
            name: "INF",
            value: f64::INFINITY,
        },
        StdConst {
            name: "NAN",
            value: f64::NAN,
        },
    ],
    fns: &[
        op("sqrt", &[Float], Float, Intrinsic::Sqrt),
        op("floor", &[Float], Float, Intrinsic::Floor),
        op("ceil", &[Float], Float, Intrinsic::Ceil),
        op("pow", &[Float, Float], Float, Intrinsic::Pow),
        op("sin", &[Float], Float, Intrinsic::Sin),
        op("cos", &[Float], Float, Intrinsic::Cos),
        op("exp", &[Float], Float, Intrinsic::Exp),
        op("log", &[Float], Float, Intrinsic::Log),
        op("abs", &[Int], Int, Intrinsic::IntAbs),
        op("abs", &[Float], Float, Intrinsic::FloatAbs),
        op("min", &[Int, Int], Int, Intrinsic::IntMin),
        op("min", &[Float, Float], Float, Intrinsic::FloatMin),
        op("max", &[Int, Int], Int, Intrinsic::IntMax),
        op("max", &[Float, Float], Float, Intrinsic::FloatMax),
        op("tan", &[Float], Float, Intrinsic::Builtin("tan")),
        op("asin", &[Float], Float, Intrinsic::Builtin("asin")),
        op("acos", &[Float], Float, Intrinsic::Builtin("acos")),
        op("atan", &[Float], Float, Intrinsic::Builtin("atan")),
        op("atan2", &[Float, Float], Float, Intrinsic::Builtin("atan2")),
        op("round", &[Float], Float, Intrinsic::Builtin("round")),
        op("trunc", &[Float], Float, Intrinsic::Builtin("trunc")),
        op("log2", &[Float], Float, Intrinsic::Builtin("log2")),
        op("log10", &[Float], Float, Intrinsic::Builtin("log10")),
        op("hypot", &[Float, Float], Float, Intrinsic::Builtin("hypot")),
        op("pow", &[Int, Int], Int, Intrinsic::Builtin("int_pow")),
        op(
            "clamp",
            &[Int, Int, Int],
            Int,
            Intrinsic::Builtin("int_clamp"),
        ),
        op(
            "clamp",
            &[Float, Float, Float],
            Float,
            Intrinsic::Builtin("float_clamp"),
        ),
    ],
};

/// Files, through the `fs.read` and `fs.write` capabilities. Paths are
/// relative to, and confined to, the directories the host granted.
pub const FS: StdModule = StdModule {
    name: "fs",
    consts: &[],
    fns: &[
        host("read", &[Str], Str, "fs.read", "read_result").fallible(),
        host("exists", &[Str], Bool, "fs.read", "exists"),
        host("write", &[Str, Str], Int, "fs.write", "write_result").fallible(),
        host("append", &[Str, Str], Int, "fs.write", "append_result").fallible(),
    ],
};

/// Standard input, through the `stdin` capability (which `vmrun` grants).
pub const IO: StdModule = StdModule {
    name: "io",
    consts: &[],
    fns: &[
        host("read_line", &[], Str, "stdin", "read_line"),
        host("read_all", &[], Str, "stdin", "read_all"),
        host("at_end", &[], Bool, "stdin", "at_end"),
    ],
};

/// Environment variables, through the `env` capability.
pub const ENV: StdModule = StdModule {
    name: "env",
    consts: &[],
    fns: &[
        host("get", &[Str, Str], Str, "env", "get"),
        host("has", &[Str], Bool, "env", "has"),
    ],
};

/// Time, through the `clock` capability: a program granted no clock
/// cannot observe time, so its output depends only on its inputs.
pub const CLOCK: StdModule = StdModule {
    name: "clock",
    consts: &[],
    fns: &[
        host("now_ms", &[], Int, "clock", "now_ms"),
        host("ticks_ns", &[], Int, "clock", "ticks_ns"),
    ],
};

/// Random numbers, through the `random` capability.
pub const RANDOM: StdModule = StdModule {
    name: "random",
    consts: &[],
    fns: &[
        host("int", &[Int, Int], Int, "random", "int"),
        host("float", &[], Float, "random", "float"),
    ],
};

/// Every standard module, by name.
/// The prelude's source: `Option`, `Result` and their methods, written in
/// Tern and compiled with every program (see `compiler/src/driver.rs`).
pub const PRELUDE_SOURCE: &str = include_str!("prelude/prelude.src");

pub const MODULES: &[StdModule] = &[MATH, IO, FS, ENV, CLOCK, RANDOM];

/// Every host function the standard library may import, as
/// `(capability, function, params, result)`: what a host must provide to
/// run any program `vmc` builds.
pub fn host_functions() -> Vec<(&'static str, &'static str, &'static [Prim], HostRet)> {
    MODULES
        .iter()
        .flat_map(|m| m.fns.iter())
        .chain(PRELUDE.iter())
        .filter_map(|f| match f.lower {
            Lowering::Host { module, name } => Some((module, name, f.params, HostRet::Prim(f.ret))),
            Lowering::HostResult { module, name } => {
                Some((module, name, f.params, HostRet::Outcome))
            }
            Lowering::Op(_) => None,
        })
        .collect()
}

pub fn module(name: &str) -> Option<&'static StdModule> {
    MODULES.iter().find(|m| m.name == name)
}

/// Functions every program has without an import. Output is a host
/// capability (`stdout`, `stderr`) like any other effect.
pub const PRELUDE: &[StdFn] = &[
    host("print", &[Str], Unit, "stdout", "print"),
    host("println", &[Str], Unit, "stdout", "println"),
    host("eprint", &[Str], Unit, "stderr", "print"),
    host("eprintln", &[Str], Unit, "stderr", "println"),
];

pub fn prelude(name: &str) -> Option<&'static StdFn> {
    PRELUDE.iter().find(|f| f.name == name)
}

/// A parameter or result type in the signature of a built-in function or
/// method, which may depend on the receiver's or argument's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    Prim(Prim),
    /// Any array.
    AnyArray,
    /// Any map.
    AnyMap,
    /// The receiver array's element type.
    Elem,
    /// The receiver map's key type.
    Key,
    /// The receiver map's value type.
    Value,
    /// An array of the receiver map's keys.
    KeyArray,
    /// An array of the receiver map's values.
    ValueArray,
    /// `[str]`.
    StrArray,
    /// `[int]`.
    IntArray,
    /// The argument itself (a conversion to the type it already has).
    Same,
    /// The receiver's own type.
    This,
    /// `Result<prim, str>`, for parsing text: the operation gives the
    /// error's text (empty if there is none), then the value comes from
    /// the conversion the language has for `str` to the primitive.
    Parsed(Prim),
}

/// A built-in function: a name every program has, overloaded on its
/// argument types. `op` is `None` for a conversion to the argument's own
/// type, which returns the argument.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    pub name: &'static str,
    pub params: &'static [Param],
    pub ret: Param,
    pub op: Option<Intrinsic>,
}

/// The kinds of receiver built-in methods are defined on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receiver {
    Str,
    /// Any array.
    Array,
    /// `[str]` only.
    StrArray,
    Map,
}

/// A method of a built-in type.
#[derive(Clone, Copy, Debug)]
pub struct Method {
    pub receiver: Receiver,
    pub name: &'static str,
    pub params: &'static [Param],
    pub ret: Param,
    pub op: Intrinsic,
}

const P_INT: Param = Param::Prim(Int);
const P_FLOAT: Param = Param::Prim(Float);
const P_BOOL: Param = Param::Prim(Bool);
const P_STR: Param = Param::Prim(Str);
const P_UNIT: Param = Param::Prim(Unit);

const fn builtin(
    name: &'static str,
    params: &'static [Param],
    ret: Param,
    op: Option<Intrinsic>,
) -> Builtin {
    Builtin {
        name,
        params,
        ret,
        op,
    }
}

/// The built-in functions, overloads in the order they are tried.
pub const BUILTINS: &[Builtin] = &[
    builtin("len", &[P_STR], P_INT, Some(Intrinsic::StrLen)),
    builtin("len", &[Param::AnyArray], P_INT, Some(Intrinsic::ArrayLen)),
    builtin("len", &[Param::AnyMap], P_INT, Some(Intrinsic::MapLen)),
    builtin("str", &[P_INT], P_STR, Some(Intrinsic::IntToStr)),
    builtin("str", &[P_FLOAT], P_STR, Some(Intrinsic::FloatToStr)),
    builtin("str", &[P_BOOL], P_STR, Some(Intrinsic::BoolToStr)),
    builtin("str", &[P_STR], Param::Same, None),
    builtin("int", &[P_FLOAT], P_INT, Some(Intrinsic::FloatToInt)),
    builtin(
        "int",
        &[P_STR],
        Param::Parsed(Prim::Int),
        Some(Intrinsic::Builtin("int_error")),
    ),
    builtin("int", &[P_INT], Param::Same, None),
    builtin("float", &[P_INT], P_FLOAT, Some(Intrinsic::IntToFloat)),
    builtin(
        "float",
        &[P_STR],
        Param::Parsed(Prim::Float),
        Some(Intrinsic::Builtin("float_error")),
    ),
    builtin("float", &[P_FLOAT], Param::Same, None),
    builtin("fixed", &[P_FLOAT, P_INT], P_STR, Some(Intrinsic::Fixed)),
    builtin(
        "char",
        &[P_INT],
        P_STR,
        Some(Intrinsic::Builtin("from_code")),
    ),
];

/// The built-in function `name`'s overloads, if it is one.
pub fn builtins(name: &str) -> impl Iterator<Item = &'static Builtin> + '_ {
    BUILTINS.iter().filter(move |b| b.name == name)
}

const fn method(
    receiver: Receiver,
    name: &'static str,
    params: &'static [Param],
    ret: Param,
    op: Intrinsic,
) -> Method {
    Method {
        receiver,
        name,
        params,
        ret,
        op,
    }
}

/// The methods of the built-in types.
pub const METHODS: &[Method] = &[
    method(
        Receiver::Array,
        "push",
        &[Param::Elem],
        P_UNIT,
        Intrinsic::Push,
    ),
    method(Receiver::Array, "pop", &[], Param::Elem, Intrinsic::Pop),
    method(Receiver::Array, "len", &[], P_INT, Intrinsic::ArrayLen),
    method(Receiver::Array, "sort", &[], P_UNIT, Intrinsic::ArraySort),
    method(
        Receiver::Array,
        "reverse",
        &[],
        P_UNIT,
        Intrinsic::ArrayReverse,
    ),
    method(
        Receiver::Array,
        "contains",
        &[Param::Elem],
        P_BOOL,
        Intrinsic::ArrayContains,
    ),
    method(
        Receiver::Array,
        "index_of",
        &[Param::Elem],
        P_INT,
        Intrinsic::ArrayIndexOf,
    ),
    method(
        Receiver::Array,
        "slice",
        &[P_INT, P_INT],
        Param::This,
        Intrinsic::ArraySlice,
    ),
    method(
        Receiver::Array,
        "insert",
        &[P_INT, Param::Elem],
        P_UNIT,
        Intrinsic::ArrayInsert,
    ),
    method(
        Receiver::Array,
        "remove_at",
        &[P_INT],
        Param::Elem,
        Intrinsic::ArrayRemoveAt,
    ),
    method(
        Receiver::Array,
        "extend",
        &[Param::This],
        P_UNIT,
        Intrinsic::ArrayExtend,
    ),
    method(
        Receiver::Array,
        "min",
        &[],
        Param::Elem,
        Intrinsic::ArrayMin,
    ),
    method(
        Receiver::Array,
        "max",
        &[],
        Param::Elem,
        Intrinsic::ArrayMax,
    ),
    method(Receiver::Map, "clear", &[], P_UNIT, Intrinsic::MapClear),
    method(
        Receiver::Map,
        "get_or_insert",
        &[Param::Key, Param::Value],
        Param::Value,
        Intrinsic::MapGetOrInsert,
    ),
    method(Receiver::StrArray, "join", &[P_STR], P_STR, Intrinsic::Join),
    method(Receiver::Map, "has", &[Param::Key], P_BOOL, Intrinsic::Has),
    method(
        Receiver::Map,
        "get",
        &[Param::Key, Param::Value],
        Param::Value,
        Intrinsic::GetOr,
    ),
    method(
        Receiver::Map,
        "remove",
        &[Param::Key],
        P_UNIT,
        Intrinsic::Remove,
    ),
    method(Receiver::Map, "keys", &[], Param::KeyArray, Intrinsic::Keys),
    method(
        Receiver::Map,
        "values",
        &[],
        Param::ValueArray,
        Intrinsic::Values,
    ),
    method(Receiver::Map, "len", &[], P_INT, Intrinsic::MapLen),
    method(Receiver::Str, "len", &[], P_INT, Intrinsic::StrLen),
    method(Receiver::Str, "byte", &[P_INT], P_INT, Intrinsic::Byte),
    method(
        Receiver::Str,
        "slice",
        &[P_INT, P_INT],
        P_STR,
        Intrinsic::Slice,
    ),
    method(
        Receiver::Str,
        "split",
        &[P_STR],
        Param::StrArray,
        Intrinsic::Split,
    ),
    method(Receiver::Str, "find", &[P_STR], P_INT, Intrinsic::Find),
    str_method("rfind", &[P_STR], P_INT),
    str_method("contains", &[P_STR], P_BOOL),
    str_method("starts_with", &[P_STR], P_BOOL),
    str_method("ends_with", &[P_STR], P_BOOL),
    str_method("trim", &[], P_STR),
    str_method("trim_start", &[], P_STR),
    str_method("trim_end", &[], P_STR),
    str_method("to_upper", &[], P_STR),
    str_method("to_lower", &[], P_STR),
    str_method("replace", &[P_STR, P_STR], P_STR),
    str_method("repeat", &[P_INT], P_STR),
    str_method("compare", &[P_STR], P_INT),
    str_method("char_count", &[], P_INT),
    str_method("code_at", &[P_INT], P_INT),
    method(
        Receiver::Str,
        "lines",
        &[],
        Param::StrArray,
        Intrinsic::BuiltinList("lines"),
    ),
    method(
        Receiver::Str,
        "chars",
        &[],
        Param::StrArray,
        Intrinsic::BuiltinList("chars"),
    ),
    method(
        Receiver::Str,
        "split",
        &[P_STR, P_INT],
        Param::StrArray,
        Intrinsic::BuiltinList("split_n"),
    ),
    method(
        Receiver::Str,
        "bytes",
        &[],
        Param::IntArray,
        Intrinsic::BuiltinList("bytes"),
    ),
];

/// A string method that is the VM's built-in function of the same name.
const fn str_method(name: &'static str, params: &'static [Param], ret: Param) -> Method {
    method(Receiver::Str, name, params, ret, Intrinsic::Builtin(name))
}

/// The method `name` of a receiver of kind `receiver`, if there is one:
/// the one taking `args` arguments where several share the name.
pub fn method_of(receiver: Receiver, name: &str, args: usize) -> Option<&'static Method> {
    let mut named = METHODS
        .iter()
        .filter(|m| m.receiver == receiver && m.name == name);
    let first = named.clone().next();
    named.find(|m| m.params.len() == args).or(first)
}
