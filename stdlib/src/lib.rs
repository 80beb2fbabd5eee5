//! The Tern standard library catalogue.
//!
//! One table says which names the standard library provides, their types,
//! and how each lowers to bytecode: a single instruction for pure functions
//! (math), or a host import in a named capability namespace for anything
//! that touches the outside world (printing). The compiler's name
//! resolution and type checking read this table; nothing else lists them.

use tern_vm::Opcode;

/// The primitive types standard-library signatures use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    Int,
    Float,
    Bool,
    Str,
    Unit,
}

/// How a standard-library function becomes bytecode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lowering {
    /// One instruction that takes the arguments and leaves the result.
    Op(Opcode),
    /// A call of host import `module.name`: an effect needing a capability.
    Host {
        module: &'static str,
        name: &'static str,
    },
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

const fn op(name: &'static str, params: &'static [Prim], ret: Prim, o: Opcode) -> StdFn {
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
    ],
    fns: &[
        op("sqrt", &[Float], Float, Opcode::FSqrt),
        op("floor", &[Float], Float, Opcode::FFloor),
        op("ceil", &[Float], Float, Opcode::FCeil),
        op("pow", &[Float, Float], Float, Opcode::FPow),
        op("sin", &[Float], Float, Opcode::FSin),
        op("cos", &[Float], Float, Opcode::FCos),
        op("exp", &[Float], Float, Opcode::FExp),
        op("log", &[Float], Float, Opcode::FLog),
        op("abs", &[Int], Int, Opcode::IAbs),
        op("abs", &[Float], Float, Opcode::FAbs),
        op("min", &[Int, Int], Int, Opcode::IMin),
        op("min", &[Float, Float], Float, Opcode::FMin),
        op("max", &[Int, Int], Int, Opcode::IMax),
        op("max", &[Float, Float], Float, Opcode::FMax),
    ],
};

/// Files, through the `fs.read` and `fs.write` capabilities. Paths are
/// relative to, and confined to, the directories the host granted.
pub const FS: StdModule = StdModule {
    name: "fs",
    consts: &[],
    fns: &[
        host("read", &[Str], Str, "fs.read", "read_text"),
        host("exists", &[Str], Bool, "fs.read", "exists"),
        host("write", &[Str, Str], Unit, "fs.write", "write_text"),
        host("append", &[Str, Str], Unit, "fs.write", "append_text"),
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
pub const MODULES: &[StdModule] = &[MATH, FS, ENV, CLOCK, RANDOM];

/// Every host function the standard library may import, as
/// `(capability, function, params, result)`: what a host must provide to
/// run any program `vmc` builds.
pub fn host_functions() -> Vec<(&'static str, &'static str, &'static [Prim], Prim)> {
    MODULES
        .iter()
        .flat_map(|m| m.fns.iter())
        .chain(PRELUDE.iter())
        .filter_map(|f| match f.lower {
            Lowering::Host { module, name } => Some((module, name, f.params, f.ret)),
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
