//! Hand-made invalid modules, one per loader check and verification rule
//! of `spec/bytecode.md`: each must be rejected, before anything runs, with
//! exactly the error recorded in the snapshot `malformed__rejections.snap`
//! (reviewed by hand: each line names the defect the case was built with).
//!
//! Most cases are files, given to the loader. The verifier must not depend
//! on the loader's checks, since a module can also be built in memory: the
//! cases marked `(in memory)` are modules handed straight to
//! `Program::new`, each with a defect the decoder would have caught first.

use tern_vm::module::*;
use tern_vm::Instr;

const BAD: u32 = 0x00C0_FFEE;

fn func(
    name: &str,
    params: Vec<TypeId>,
    ret: TypeId,
    locals: Vec<TypeId>,
    code: Vec<Instr>,
) -> Function {
    Function {
        name: name.into(),
        params,
        ret,
        locals,
        captures: vec![],
        max_stack: 4,
        code,
        source: 0,
        lines: vec![(0, 1)],
    }
}

/// A valid module: `main()` (function 0) calls `add(int, int) -> int`
/// (function 1); a struct `P { a: int }` (layout 0, type 5), an enum
/// `E { A, B(int) }` (layout 1, type 6), `[int]` (type 7); constants
/// 0: int 1, 1: str "s"; one int global; import 0 `stdout.println(str)`.
fn base() -> Module {
    let mut m = Module::new();
    m.sources = vec!["t.src".into()];
    m.layouts = vec![
        Layout::Struct {
            name: "P".into(),
            fields: vec![Field {
                name: "a".into(),
                ty: INT,
            }],
        },
        Layout::Enum {
            name: "E".into(),
            variants: vec![
                Variant {
                    name: "A".into(),
                    fields: vec![],
                },
                Variant {
                    name: "B".into(),
                    fields: vec![INT],
                },
            ],
        },
    ];
    m.types.push(TypeDesc::Struct(0));
    m.types.push(TypeDesc::Enum(1));
    m.types.push(TypeDesc::Array(INT));
    m.consts = vec![Const::Int(1), Const::Str("s".into())];
    m.globals = vec![INT];
    m.imports = vec![Import {
        module: "stdout".into(),
        name: "println".into(),
        params: vec![STR],
        ret: UNIT,
    }];
    m.functions = vec![
        func("main", vec![], UNIT, vec![], vec![Instr::Ret {}]),
        func(
            "add",
            vec![INT, INT],
            INT,
            vec![],
            vec![
                Instr::Load { local: 0 },
                Instr::Load { local: 1 },
                Instr::IAdd {},
                Instr::Ret {},
            ],
        ),
    ];
    m.exports = vec![
        Export {
            name: "main".into(),
            func: 0,
        },
        Export {
            name: "add".into(),
            func: 1,
        },
    ];
    m.entry = Some(0);
    m
}

/// `base()` with `main`'s locals and code replaced.
fn main_with(locals: Vec<TypeId>, code: Vec<Instr>) -> Vec<u8> {
    let mut m = base();
    m.functions[0].locals = locals;
    m.functions[0].code = code;
    tern_vm::encode(&m)
}

fn with(f: impl FnOnce(&mut Module)) -> Vec<u8> {
    let mut m = base();
    f(&mut m);
    tern_vm::encode(&m)
}

/// Rewrites the header's length and checksum after a byte-level edit, so
/// the defect itself is what the loader meets.
fn fix_header(mut b: Vec<u8>) -> Vec<u8> {
    tern_vm::format::reseal(&mut b);
    b
}

/// Patches the first occurrence of `from` in `b` to `to`, then fixes the
/// header.
fn patch(b: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut b = b;
    let at = b
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    b[at..at + to.len()].copy_from_slice(to);
    fix_header(b)
}

/// Subtracts one from the u32 at `at`.
fn dec_u32(b: &mut [u8], at: usize) {
    let v = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) - 1;
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Where section `id`'s length field is (sections follow the header, each
/// `id u8 | length u32 | payload`).
fn section_len_at(b: &[u8], id: u8) -> usize {
    let mut at = 24;
    loop {
        let len = u32::from_le_bytes(b[at + 1..at + 5].try_into().unwrap()) as usize;
        if b[at] == id {
            return at + 1;
        }
        at += 5 + len;
    }
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let good = tern_vm::encode(&base());
    let c = |index| Instr::Const { index };
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        // ---- the file and its sections
        ("empty file", vec![]),
        ("bad magic", {
            let mut b = good.clone();
            b[0] = b'X';
            b
        }),
        ("truncated header", good[..12].to_vec()),
        ("newer format version", {
            let mut b = good.clone();
            b[8] = 3;
            b
        }),
        ("older format version", {
            let mut b = good.clone();
            b[8] = 1;
            b
        }),
        ("format version 0", {
            let mut b = good.clone();
            b[8] = 0;
            b
        }),
        ("truncated body", good[..good.len() - 1].to_vec()),
        ("trailing bytes", {
            let mut b = good.clone();
            b.push(0);
            b
        }),
        ("checksum mismatch", {
            let mut b = good.clone();
            let last = b.len() - 1;
            b[last] ^= 1;
            b
        }),
        ("section out of order", {
            let mut b = good.clone();
            b[24] = 2;
            fix_header(b)
        }),
        ("section longer than the file", {
            let mut b = good.clone();
            b[25..29].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
            fix_header(b)
        }),
        (
            "count above the loader limit",
            with(|m| m.consts = vec![Const::Int(0); 3]),
        ),
        ("name not UTF-8", patch(good.clone(), b"add", &[0xFF])),
        ("unknown opcode", {
            let b = main_with(vec![], vec![c(BAD), Instr::Ret {}]);
            let mut pat = vec![0x01u8];
            pat.extend_from_slice(&BAD.to_le_bytes());
            patch(b, &pat, &[0xFF])
        }),
        ("jump into the middle of an instruction", {
            let b = main_with(vec![], vec![Instr::Jmp { target: 1 }, Instr::Ret {}]);
            patch(b, &[0x70, 5, 0, 0, 0], &[0x70, 2, 0, 0, 0])
        }),
        (
            "jump out of the function",
            main_with(vec![], vec![Instr::Jmp { target: 9 }, Instr::Ret {}]),
        ),
        (
            "line entry off an instruction boundary",
            with(|m| m.functions[0].lines = vec![(7, 1)]),
        ),
        (
            "max stack above the limit",
            with(|m| m.functions[0].max_stack = 70_000),
        ),
        (
            "too many local slots",
            with(|m| m.functions[0].locals = vec![INT; 70_000]),
        ),
        ("file above the size limit", {
            let mut b = good.clone();
            b.resize(64 * 1024 * 1024 + 1, 0);
            b
        }),
        (
            "types nested too deep",
            with(|m| {
                // A chain of maps 70 deep, each entry the previous one's
                // value type.
                for _ in 0..70u32 {
                    let inner = m.types.len() as u32 - 1;
                    m.types.push(TypeDesc::Map(INT, inner));
                }
            }),
        ),
        (
            "too many parameters",
            with(|m| m.functions[1].params = vec![INT; 256]),
        ),
        ("string longer than the limit", {
            let mut pat = 3u32.to_le_bytes().to_vec();
            pat.extend_from_slice(b"add");
            patch(good.clone(), &pat, &0x0100_0001u32.to_le_bytes())
        }),
        ("instruction truncated at the end of the code", {
            let b = main_with(vec![], vec![Instr::Ret {}, c(BAD)]);
            // Drop the constant's last byte, and shorten the code length
            // and the functions section to match.
            let mut pat = vec![0x76u8, 0x01];
            pat.extend_from_slice(&BAD.to_le_bytes());
            let at = b.windows(pat.len()).position(|w| w == pat).unwrap();
            let mut b = b;
            b.remove(at + pat.len() - 1);
            dec_u32(&mut b, at - 4);
            let s6 = section_len_at(&b, 6);
            dec_u32(&mut b, s6);
            fix_header(b)
        }),
        // ---- module rules
        (
            "struct type naming an enum layout",
            with(|m| m.types.push(TypeDesc::Struct(1))),
        ),
        (
            "type referring to a later entry",
            with(|m| m.types.push(TypeDesc::Array(99))),
        ),
        (
            "duplicate type entries",
            with(|m| m.types.push(TypeDesc::Array(INT))),
        ),
        (
            "map keyed by float",
            with(|m| m.types.push(TypeDesc::Map(FLOAT, INT))),
        ),
        (
            "unit as a parameter",
            with(|m| m.functions[1].params[0] = UNIT),
        ),
        (
            "field type out of range",
            with(|m| {
                if let Layout::Struct { fields, .. } = &mut m.layouts[0] {
                    fields[0].ty = 99;
                }
            }),
        ),
        ("global of unit type", with(|m| m.globals[0] = UNIT)),
        (
            "import with a type out of range",
            with(|m| m.imports[0].params[0] = 99),
        ),
        (
            "export of a missing function",
            with(|m| m.exports[1].func = 9),
        ),
        (
            "duplicate export names",
            with(|m| m.exports[1].name = "main".into()),
        ),
        (
            "export of a function with captures",
            with(|m| m.functions[1].captures = vec![INT]),
        ),
        (
            "main with the wrong signature",
            with(|m| m.functions[0].params = vec![INT]),
        ),
        ("init function with parameters", with(|m| m.init = Some(1))),
        ("entry out of range", with(|m| m.entry = Some(5))),
        (
            "source index out of range",
            with(|m| m.functions[0].source = 3),
        ),
        // ---- function rules
        (
            "stack underflow",
            main_with(vec![], vec![Instr::IAdd {}, Instr::Ret {}]),
        ),
        (
            "int stored into a str local",
            main_with(
                vec![STR],
                vec![c(0), Instr::Store { local: 0 }, Instr::Ret {}],
            ),
        ),
        (
            "str used as an int",
            main_with(
                vec![],
                vec![c(1), c(0), Instr::IAdd {}, Instr::Pop {}, Instr::Ret {}],
            ),
        ),
        (
            "uninitialized local read",
            main_with(
                vec![INT],
                vec![Instr::Load { local: 0 }, Instr::Pop {}, Instr::Ret {}],
            ),
        ),
        (
            "local initialized on one path only",
            main_with(
                vec![INT],
                vec![
                    Instr::Bool { value: 1 },
                    Instr::JmpIf { target: 4 },
                    c(0),
                    Instr::Store { local: 0 },
                    Instr::Load { local: 0 },
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
        (
            "local index out of range",
            main_with(
                vec![],
                vec![Instr::Load { local: 5 }, Instr::Pop {}, Instr::Ret {}],
            ),
        ),
        (
            "constant index out of range",
            main_with(vec![], vec![c(9), Instr::Pop {}, Instr::Ret {}]),
        ),
        (
            "global index out of range",
            main_with(
                vec![],
                vec![Instr::GlobalGet { global: 3 }, Instr::Pop {}, Instr::Ret {}],
            ),
        ),
        (
            "call of a missing function",
            main_with(vec![], vec![Instr::Call { func: 42 }, Instr::Ret {}]),
        ),
        (
            "call with too few arguments",
            main_with(
                vec![],
                vec![c(0), Instr::Call { func: 1 }, Instr::Pop {}, Instr::Ret {}],
            ),
        ),
        (
            "call with an argument of the wrong type",
            main_with(
                vec![],
                vec![
                    c(0),
                    c(1),
                    Instr::Call { func: 1 },
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
        ("call of a function with captures", {
            let mut m = base();
            m.exports.truncate(1);
            m.functions[1].captures = vec![INT];
            m.functions[0].code = vec![
                c(0),
                c(0),
                Instr::Call { func: 1 },
                Instr::Pop {},
                Instr::Ret {},
            ];
            tern_vm::encode(&m)
        }),
        (
            "import index out of range",
            main_with(
                vec![],
                vec![c(1), Instr::CallHost { import: 7 }, Instr::Ret {}],
            ),
        ),
        (
            "field index out of range",
            main_with(
                vec![],
                vec![
                    c(0),
                    Instr::NewStruct { ty: 5 },
                    Instr::GetField { field: 9 },
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
        (
            "field read from an int",
            main_with(
                vec![],
                vec![
                    c(0),
                    Instr::GetField { field: 0 },
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
        (
            "enum variant out of range",
            main_with(
                vec![],
                vec![
                    Instr::NewEnum { ty: 6, variant: 9 },
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
        (
            "struct built from an enum type",
            main_with(
                vec![],
                vec![
                    c(0),
                    Instr::NewStruct { ty: 6 },
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
        (
            "array built with a non-array type",
            main_with(
                vec![],
                vec![
                    Instr::NewArray { ty: INT, len: 0 },
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
        (
            "stack heights differ where paths merge",
            main_with(
                vec![],
                vec![
                    Instr::Bool { value: 1 },
                    Instr::JmpIf { target: 3 },
                    c(0),
                    Instr::Ret {},
                ],
            ),
        ),
        (
            "slot types differ where paths merge",
            main_with(
                vec![],
                vec![
                    Instr::Bool { value: 1 },
                    Instr::JmpIf { target: 4 },
                    c(0),
                    Instr::Jmp { target: 5 },
                    c(1),
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
        (
            "condition that is not a bool",
            main_with(
                vec![],
                vec![c(0), Instr::JmpIf { target: 2 }, Instr::Ret {}],
            ),
        ),
        (
            "return value of the wrong type",
            with(|m| {
                m.functions[1].code = vec![c(1), Instr::Ret {}];
            }),
        ),
        (
            "value left on the stack at a unit return",
            main_with(vec![], vec![c(0), Instr::Ret {}]),
        ),
        (
            "control falls off the end",
            main_with(vec![], vec![Instr::Nop {}]),
        ),
        (
            "empty code",
            with(|m| {
                m.functions[0].code = vec![];
                m.functions[0].lines = vec![];
            }),
        ),
        (
            "max stack exceeded",
            with(|m| {
                m.functions[0].max_stack = 1;
                m.functions[0].code = vec![c(0), c(0), Instr::Pop {}, Instr::Pop {}, Instr::Ret {}];
            }),
        ),
        (
            "deep stack kept at many branch targets",
            with(|m| {
                // 65,000 values on the stack, then 2,000 jumps: each jump's
                // target would keep a copy of the whole stack. (Half a
                // megabyte of dead code raises the work budget past what
                // the memory cap allows.)
                let f = &mut m.functions[0];
                f.max_stack = 65_536;
                f.code = vec![Instr::Bool { value: 1 }; 65_000];
                for k in 0..2_000u32 {
                    f.code.push(Instr::Jmp {
                        target: 65_000 + k + 1,
                    });
                }
                f.code.push(Instr::Ret {});
                f.code.extend(vec![Instr::Nop {}; 500_000]);
            }),
        ),
        (
            "stack maps too large",
            with(|m| {
                // 65,000 strings on the stack at each of 300 safepoints
                // (and dead code, as above).
                let f = &mut m.functions[0];
                f.max_stack = 65_536;
                f.code = vec![c(1); 65_000];
                for _ in 0..300 {
                    f.code.push(Instr::NewArray { ty: 7, len: 0 });
                    f.code.push(Instr::Pop {});
                }
                f.code.extend(vec![Instr::Pop {}; 65_000]);
                f.code.push(Instr::Ret {});
                f.code.extend(vec![Instr::Nop {}; 300_000]);
            }),
        ),
        (
            "analysis that goes round once per local",
            // Irreducible loops: 200 rounds of a chain of 5,000 jumps.
            tern_vm::encode(&tern_tests::hostile::stairs(200, 5_000)),
        ),
        ("error naming a type with a huge name", {
            let mut m = base();
            m.functions[1].ret = huge_type(&mut m, 64);
            m.functions[1].code = vec![c(0), Instr::Ret {}];
            tern_vm::encode(&m)
        }),
        (
            "closure of a function index out of range",
            main_with(
                vec![],
                vec![
                    Instr::NewClosure { func: 77, ty: 0 },
                    Instr::Pop {},
                    Instr::Ret {},
                ],
            ),
        ),
    ];
    // The loader limit case needs a count over the limit in the file
    // itself: patch the constant count.
    if let Some(case) = v.iter_mut().find(|c| c.0 == "count above the loader limit") {
        let b = std::mem::take(&mut case.1);
        let mut pat = 3u32.to_le_bytes().to_vec();
        pat.push(0); // the first constant's tag (int)
        case.1 = patch(b, &pat, &0x7FFF_FFFFu32.to_le_bytes());
    }
    v
}

/// A type entry nested `levels` deep, each level a function type taking
/// 255 arguments of the level below: its name would be 256^levels bytes
/// long. Pushed onto `m`'s type table; returns its index.
/// One case for each type rule the table cannot state (`special`): the
/// instruction given operands of the wrong type, or a type operand of the
/// wrong kind (`INT` where an array, map, cell or function type belongs).
fn type_rule_cases() -> Vec<(&'static str, Vec<u8>)> {
    use Instr::*;
    let int = Const { index: 0 };
    let s = Const { index: 1 };
    let case = |name, mut code: Vec<Instr>| {
        code.push(Ret {});
        (name, main_with(vec![], code))
    };
    vec![
        case(
            "global.set of a str into an int global",
            vec![s, GlobalSet { global: 0 }],
        ),
        case("pop of an empty stack", vec![Pop {}]),
        case("dup of an empty stack", vec![Dup {}, Pop {}]),
        case(
            "capture in a function without captures",
            vec![LoadCapture { index: 0 }, Pop {}],
        ),
        case(
            "ssplit into a type that is not [str]",
            vec![s, s, SSplit { ty: 7 }, Pop {}],
        ),
        case("sjoin of an int", vec![int, s, SJoin {}, Pop {}]),
        case(
            "call.closure with a type that is not a function",
            vec![int, CallClosure { ty: INT }],
        ),
        case(
            "array.rep of a type that is not an array",
            vec![int, int, NewArrayRep { ty: INT }, Pop {}],
        ),
        case("array.len of an int", vec![int, ALen {}, Pop {}]),
        case("array.get of an int", vec![int, int, AGet {}, Pop {}]),
        case("array.set of an int", vec![int, int, int, ASet {}]),
        case("array.push onto an int", vec![int, int, APush {}]),
        case("array.pop of an int", vec![int, APop {}, Pop {}]),
        case(
            "map.new of a type that is not a map",
            vec![NewMap { ty: INT }, Pop {}],
        ),
        case("map.len of an int", vec![int, MLen {}, Pop {}]),
        case("map.get of an int", vec![int, int, MGet {}, Pop {}]),
        case(
            "map.getor of an int",
            vec![int, int, int, MGetOr {}, Pop {}],
        ),
        case("map.set of an int", vec![int, int, int, MSet {}]),
        case("map.has of an int", vec![int, int, MHas {}, Pop {}]),
        case("map.remove of an int", vec![int, int, MRemove {}]),
        case("map.keys of an int", vec![int, MKeys { ty: 7 }, Pop {}]),
        case("map.values of an int", vec![int, MValues { ty: 7 }, Pop {}]),
        case("map.keyat of an int", vec![int, int, MKeyAt {}, Pop {}]),
        case("map.valat of an int", vec![int, int, MValAt {}, Pop {}]),
        case("map.next of an int", vec![int, int, MNext {}, Pop {}]),
        case("map.keyof of an int", vec![int, int, MKeyOf {}, Pop {}]),
        case("map.valof of an int", vec![int, int, MValOf {}, Pop {}]),
        case(
            "builtin contains of two ints",
            vec![int, int, Builtin { id: 0 }, Pop {}],
        ),
        case("text of an int as a str", vec![int, Text { ty: 3 }, Pop {}]),
        case("array.sort of an int", vec![int, ASort { ty: 0 }]),
        case("array.reverse of an int", vec![int, AReverse {}]),
        case(
            "array.find in an int",
            vec![int, int, AFind { ty: 0 }, Pop {}],
        ),
        case(
            "array.slice of an int",
            vec![int, int, int, ASlice { ty: 0 }, Pop {}],
        ),
        case("array.insert into an int", vec![int, int, int, AInsert {}]),
        case(
            "array.remove from an int",
            vec![int, int, ARemove {}, Pop {}],
        ),
        case("array.extend of ints", vec![int, int, AExtend {}]),
        case("map.clear of an int", vec![int, MClear {}]),
        case("eq of one value", vec![int, Eq { ty: 0 }, Pop {}]),
        case(
            "builtin with an unknown id",
            vec![int, Builtin { id: 60000 }, Pop {}],
        ),
        case(
            "builtin.list of a built-in making one value",
            vec![int, int, BuiltinList { id: 25, ty: 0 }, Pop {}],
        ),
        case("field.set of an int", vec![int, int, SetField { field: 0 }]),
        case("enum.tag of an int", vec![int, EnumTag {}, Pop {}]),
        case(
            "enum.field of an int",
            vec![
                int,
                EnumField {
                    variant: 1,
                    field: 0,
                },
                Pop {},
            ],
        ),
        case(
            "cell.new of a type that is not a cell",
            vec![int, NewCell { ty: INT }, Pop {}],
        ),
        case("cell.get of an int", vec![int, CellGet {}, Pop {}]),
        case("cell.set of an int", vec![int, int, CellSet {}]),
    ]
}

fn huge_type(m: &mut Module, levels: usize) -> TypeId {
    let mut t = INT;
    for _ in 0..levels {
        m.types.push(TypeDesc::Fn {
            params: vec![t; 255],
            ret: t,
        });
        t = m.types.len() as TypeId - 1;
    }
    t
}

/// Modules with a defect the decoder would catch first (most of them
/// break a file format limit, or the rules of the type table), each handed
/// to the verifier directly.
fn in_memory_cases() -> Vec<(&'static str, Module)> {
    let with = |f: &dyn Fn(&mut Module)| {
        let mut m = base();
        f(&mut m);
        m
    };
    let many = |n: usize| (0..n).map(|i| format!("x{i}")).collect::<Vec<_>>();
    vec![
        (
            "type referring to itself",
            // An `[int]` entry turned into `[itself]`: walking it would
            // never end.
            with(&|m| m.types[7] = TypeDesc::Array(7)),
        ),
        (
            "types referring to each other",
            with(&|m| {
                m.types.push(TypeDesc::Array(9));
                m.types.push(TypeDesc::Cell(8));
            }),
        ),
        (
            "duplicate type entries",
            with(&|m| m.types.push(TypeDesc::Array(INT))),
        ),
        (
            "primitive type repeated",
            with(&|m| m.types.push(TypeDesc::Str)),
        ),
        (
            "types nested too deep",
            with(&|m| {
                for _ in 0..70 {
                    let inner = m.types.len() as TypeId - 1;
                    m.types.push(TypeDesc::Array(inner));
                }
            }),
        ),
        (
            "function type with too many parameters",
            with(&|m| {
                m.types.push(TypeDesc::Fn {
                    params: vec![INT; 256],
                    ret: INT,
                })
            }),
        ),
        (
            "too many types",
            with(&|m| m.types.extend(vec![TypeDesc::Int; 65_540])),
        ),
        (
            "too many layouts",
            with(&|m| {
                let l = m.layouts[0].clone();
                m.layouts.resize(65_537, l);
            }),
        ),
        (
            "too many constants",
            with(&|m| m.consts.resize(1_048_577, Const::Int(0))),
        ),
        ("too many globals", with(&|m| m.globals = vec![INT; 65_537])),
        (
            "too many imports",
            with(&|m| {
                let i = m.imports[0].clone();
                m.imports.resize(4_097, i);
            }),
        ),
        (
            "too many exports",
            with(&|m| {
                m.exports = many(65_537)
                    .into_iter()
                    .map(|name| Export { name, func: 0 })
                    .collect()
            }),
        ),
        ("too many sources", with(&|m| m.sources = many(4_097))),
        (
            "too many fields",
            with(&|m| {
                if let Layout::Struct { fields, .. } = &mut m.layouts[0] {
                    let f = fields[0].clone();
                    fields.resize(4_097, f);
                }
            }),
        ),
        (
            "too many variants",
            with(&|m| {
                if let Layout::Enum { variants, .. } = &mut m.layouts[1] {
                    let v = variants[0].clone();
                    variants.resize(4_097, v);
                }
            }),
        ),
        (
            "variant with too many fields",
            with(&|m| {
                if let Layout::Enum { variants, .. } = &mut m.layouts[1] {
                    variants[1].fields = vec![INT; 4_097];
                }
            }),
        ),
        (
            "too many parameters",
            with(&|m| m.functions[1].params = vec![INT; 256]),
        ),
        (
            "too many local slots",
            with(&|m| m.functions[1].locals = vec![INT; 65_535]),
        ),
        (
            "too many captures",
            with(&|m| {
                m.exports.truncate(1);
                m.functions[1].captures = vec![INT; 4_097];
            }),
        ),
        (
            "max stack above the limit",
            with(&|m| m.functions[0].max_stack = 65_537),
        ),
        (
            "code longer than the limit",
            with(&|m| {
                // 4 MiB of `nop`, then `ret`.
                let code = &mut m.functions[0].code;
                *code = vec![Instr::Nop {}; 4 << 20];
                code.push(Instr::Ret {});
            }),
        ),
        (
            "jump target out of range",
            with(&|m| m.functions[0].code = vec![Instr::Jmp { target: 9 }, Instr::Ret {}]),
        ),
        (
            "line table entry past the end of the code",
            with(&|m| m.functions[1].lines = vec![(0, 1), (4, 2)]),
        ),
        (
            "line table out of order",
            with(&|m| m.functions[1].lines = vec![(2, 1), (2, 2)]),
        ),
        (
            "string longer than the limit",
            with(&|m| m.consts[1] = Const::Str("s".repeat((16 << 20) + 1))),
        ),
        (
            "name longer than the limit",
            with(&|m| m.functions[1].name = "f".repeat((16 << 20) + 1)),
        ),
        (
            "module larger than the file size limit",
            with(&|m| {
                // Five strings of 15 MiB.
                let s = "s".repeat(15 << 20);
                m.consts.extend((0..5).map(|_| Const::Str(s.clone())));
            }),
        ),
    ]
}

#[test]
fn the_base_module_is_valid() {
    let p = tern_vm::load(&tern_vm::encode(&base())).expect("the base module verifies");
    let mut vm = tern_vm::Vm::new(std::sync::Arc::new(p), tern_vm::Limits::default());
    assert_eq!(
        vm.call_export("add", &[tern_vm::Value::Int(2), tern_vm::Value::Int(3)]),
        Ok(tern_vm::Value::Int(5))
    );
}

#[test]
fn rejections() {
    let mut cases = cases();
    cases.extend(type_rule_cases());
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut report = String::new();
    for (name, bytes) in &cases {
        match tern_vm::load(bytes) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => report.push_str(&format!("{name}\n    {e}\n")),
        }
    }
    for (name, m) in in_memory_cases() {
        match tern_vm::Program::new(m) {
            Ok(_) => panic!("{name} (in memory): accepted"),
            Err(e) => report.push_str(&format!("{name} (in memory)\n    {e}\n")),
        }
    }
    insta::assert_snapshot!(report);
}

/// The opcode of the instruction a module is rejected at, when the
/// verifier rejects it inside a function's code.
fn rejected_at(m: Module) -> Option<tern_vm::Opcode> {
    let code = |m: &Module, f: u32| m.functions.get(f as usize).map(|f| f.code.clone());
    let err = match tern_vm::Program::new(m.clone()) {
        Ok(_) => return None,
        Err(e) => e,
    };
    let (f, _) = err.func?;
    let offset = err.offset?;
    let code = code(&m, f)?;
    let offsets = tern_vm::format::instruction_offsets(&code);
    let k = offsets.iter().position(|&o| o == offset)?;
    Some(code[k].opcode())
}

/// Every instruction whose typing is its own rule (`special` in the
/// table, `verify/rules.rs`) has a case here that the verifier rejects at
/// that instruction.
#[test]
fn every_special_rule_has_a_rejected_case() {
    let mut seen = std::collections::HashSet::new();
    for (_, bytes) in cases().into_iter().chain(type_rule_cases()) {
        if let Ok(m) = tern_vm::decode(&bytes) {
            seen.extend(rejected_at(m));
        }
    }
    for (_, m) in in_memory_cases() {
        seen.extend(rejected_at(m));
    }
    let missing: Vec<&str> = tern_vm::Opcode::ALL
        .iter()
        .filter(|op| matches!(op.effect(), tern_vm::opcodes::Effect::Special))
        .filter(|op| !seen.contains(op))
        .map(|op| op.mnemonic())
        .collect();
    assert!(
        missing.is_empty(),
        "no rejected case at: {}",
        missing.join(", ")
    );
}
