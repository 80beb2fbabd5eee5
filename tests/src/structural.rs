//! The `structural` fuzz target's body: structural mutation of valid
//! modules in memory, handed straight to the verifier.
//!
//! The other targets reach the verifier through the loader, whose checks
//! (counts, type table order, instruction boundaries) screen out much of
//! what a module built in memory can hold. Here the input's bytes drive
//! edits of a valid module's tables and code (type entries that refer to
//! themselves or to later entries, swapped or truncated tables, layouts of
//! the other kind, indices out of range, operands, signatures, local and
//! capture lists, max stacks, line tables, entry points), and the result
//! goes to `Program::new` directly. It must never panic, and:
//! - a module that verifies can be encoded, and the loader accepts its
//!   encoding (whatever verifies in memory could have come from a file);
//! - it runs under small limits.

use crate::harness::{seeds, tweak, Bytes};
use crate::hostile;
use tern_vm::module::*;
use tern_vm::Instr;

/// Small hostile shapes, besides the compiled programs, so that mutations
/// also start from code with many branches and irreducible loops.
fn hostile_seeds() -> [Module; 4] {
    [
        hostile::ladder(6, 6, 10),
        hostile::stairs(5, 10),
        hostile::deep_stack(20, 5),
        hostile::many_refs(10, 4),
    ]
}

/// A type index near `n` (the table's length): in range, the entry's own,
/// just past the end, or anything.
fn type_index(b: &mut Bytes, n: usize) -> TypeId {
    match b.byte() % 4 {
        0 | 1 => b.below(n) as TypeId,
        2 => (n + b.below(3)) as TypeId,
        _ => tweak(b, n as u32),
    }
}

/// One edit of a type entry's references (`here` is its index).
fn mutate_type(t: &mut TypeDesc, b: &mut Bytes, here: usize) {
    let pick = |b: &mut Bytes| match b.byte() % 3 {
        0 => here as TypeId,
        1 => here as TypeId + 1,
        _ => type_index(b, here + 2),
    };
    match t {
        TypeDesc::Array(e) | TypeDesc::Cell(e) => *e = pick(b),
        TypeDesc::Map(k, v) => {
            if b.byte().is_multiple_of(2) {
                *k = pick(b)
            } else {
                *v = pick(b)
            }
        }
        TypeDesc::Struct(l) | TypeDesc::Enum(l) => *l = tweak(b, *l),
        TypeDesc::Fn { params, ret } => match b.byte() % 3 {
            0 => *ret = pick(b),
            1 if !params.is_empty() => {
                let k = b.below(params.len());
                params[k] = pick(b);
            }
            _ => params.push(pick(b)),
        },
        _ => {}
    }
}

/// A new type entry referring to entries near `n`.
fn new_type(b: &mut Bytes, n: usize) -> TypeDesc {
    let mut t = || type_index(b, n);
    match t() % 7 {
        0 => TypeDesc::Array(t()),
        1 => TypeDesc::Map(t() % 5, t()),
        2 => TypeDesc::Struct(t() % 4),
        3 => TypeDesc::Enum(t() % 4),
        4 => TypeDesc::Fn {
            params: vec![t(); (t() % 4) as usize],
            ret: t(),
        },
        5 => TypeDesc::Cell(t()),
        _ => TypeDesc::Int,
    }
}

/// One edit of `m`'s tables.
fn mutate_tables(m: &mut Module, b: &mut Bytes) {
    let nt = m.types.len();
    match b.byte() % 16 {
        0..=2 if nt > PRIMITIVES => {
            let i = PRIMITIVES + b.below(nt - PRIMITIVES);
            mutate_type(&mut m.types[i], b, i);
        }
        3 => {
            let t = new_type(b, nt);
            m.types.push(t);
        }
        4 if nt > 1 => {
            let (i, j) = (b.below(nt), b.below(nt));
            m.types.swap(i, j);
        }
        5 => m.types.truncate(b.below(nt + 1)),
        6 if !m.layouts.is_empty() => {
            let l = b.below(m.layouts.len());
            let t = type_index(b, nt);
            let other_kind = match &mut m.layouts[l] {
                Layout::Struct { name, fields } => match b.byte() % 4 {
                    0 if !fields.is_empty() => {
                        let k = b.below(fields.len());
                        fields[k].ty = t;
                        None
                    }
                    1 => {
                        fields.pop();
                        None
                    }
                    2 => {
                        fields.push(Field {
                            name: "f".into(),
                            ty: t,
                        });
                        None
                    }
                    _ => Some(Layout::Enum {
                        name: name.clone(),
                        variants: vec![],
                    }),
                },
                Layout::Enum { name, variants } => match b.byte() % 4 {
                    0 if !variants.is_empty() => {
                        let k = b.below(variants.len());
                        variants[k].fields.push(t);
                        None
                    }
                    1 => {
                        variants.pop();
                        None
                    }
                    2 if !variants.is_empty() => {
                        let k = b.below(variants.len());
                        variants[k].fields.clear();
                        None
                    }
                    _ => Some(Layout::Struct {
                        name: name.clone(),
                        fields: vec![],
                    }),
                },
            };
            // The other kind, under the same name.
            if let Some(layout) = other_kind {
                m.layouts[l] = layout;
            }
        }
        7 if !m.layouts.is_empty() => {
            let n = m.layouts.len();
            if b.byte().is_multiple_of(2) {
                m.layouts.swap(b.below(n), b.below(n));
            } else {
                m.layouts.truncate(b.below(n));
            }
        }
        8 if !m.consts.is_empty() => {
            let k = b.below(m.consts.len());
            m.consts[k] = match b.byte() % 4 {
                0 => Const::Int(tweak(b, 0) as i32 as i64),
                1 => Const::Float(f64::from_bits(tweak(b, 0) as u64)),
                2 => Const::Str(String::new()),
                _ => {
                    m.consts.truncate(k);
                    return;
                }
            };
        }
        9 => match b.byte() % 3 {
            0 if !m.globals.is_empty() => {
                let k = b.below(m.globals.len());
                m.globals[k] = type_index(b, nt);
            }
            1 => m.globals.push(type_index(b, nt)),
            _ => m.globals.truncate(b.below(m.globals.len() + 1)),
        },
        10 if !m.imports.is_empty() => {
            let k = b.below(m.imports.len());
            let t = type_index(b, nt);
            let im = &mut m.imports[k];
            match b.byte() % 4 {
                0 => im.ret = t,
                1 => im.params.push(t),
                2 if !im.params.is_empty() => im.params[0] = t,
                _ => m.imports.truncate(k),
            }
        }
        11 => match b.byte() % 3 {
            0 if !m.exports.is_empty() => {
                let k = b.below(m.exports.len());
                m.exports[k].func = tweak(b, m.exports[k].func);
            }
            1 if !m.exports.is_empty() => {
                let e = m.exports[0].clone();
                m.exports.push(e);
            }
            _ => m.exports.truncate(b.below(m.exports.len() + 1)),
        },
        12 => {
            let pick = |b: &mut Bytes, v: Option<u32>| match b.byte() % 3 {
                0 => None,
                _ => Some(tweak(b, v.unwrap_or(0))),
            };
            if b.byte().is_multiple_of(2) {
                m.entry = pick(b, m.entry);
            } else {
                m.init = pick(b, m.init);
            }
        }
        13 if !m.functions.is_empty() => {
            let n = m.functions.len();
            match b.byte() % 3 {
                0 => m.functions.swap(b.below(n), b.below(n)),
                1 => m.functions.truncate(b.below(n)),
                _ => {
                    let f = m.functions[b.below(n)].clone();
                    m.functions.push(f);
                }
            }
        }
        _ => m.sources.truncate(b.below(m.sources.len() + 1)),
    }
}

/// One edit of a function's signature, locals, code or line table.
fn mutate_function(m: &mut Module, b: &mut Bytes) {
    if m.functions.is_empty() {
        return;
    }
    let nt = m.types.len();
    let fi = b.below(m.functions.len());
    let t = type_index(b, nt);
    let f = &mut m.functions[fi];
    match b.byte() % 16 {
        // Re-decode an instruction from edited bytes: another opcode or
        // other operands (often small, so often in range).
        0..=4 if !f.code.is_empty() => {
            let k = b.below(f.code.len());
            let mut enc = Vec::new();
            f.code[k].encode(&mut enc);
            let at = b.below(enc.len());
            enc[at] = match b.byte() % 3 {
                0 => b.byte(),
                1 => b.byte() % 8,
                _ => enc[at] ^ (1 << (b.byte() % 8)),
            };
            enc.extend_from_slice(&[0; 8]);
            if let Ok(mut i) = Instr::decode(&enc) {
                if let Some(target) = i.target_mut() {
                    *target = tweak(b, k as u32) % (f.code.len() as u32 + 2);
                }
                f.code[k] = i;
            }
        }
        5 if !f.code.is_empty() => {
            let k = b.below(f.code.len());
            if let Some(target) = f.code[k].target_mut() {
                *target = tweak(b, *target);
            }
        }
        6 if !f.code.is_empty() => {
            let n = f.code.len();
            match b.byte() % 3 {
                0 => {
                    f.code.remove(b.below(n));
                }
                1 => {
                    let i = f.code[b.below(n)];
                    f.code.insert(b.below(n + 1), i);
                }
                _ => f.code.truncate(b.below(n + 1)),
            }
        }
        7 => match b.byte() % 4 {
            0 if !f.params.is_empty() => {
                let k = b.below(f.params.len());
                f.params[k] = t;
            }
            1 => f.params.push(t),
            2 => {
                f.params.pop();
            }
            _ => f.ret = t,
        },
        8 => match b.byte() % 3 {
            0 if !f.locals.is_empty() => {
                let k = b.below(f.locals.len());
                f.locals[k] = t;
            }
            1 => f.locals.push(t),
            _ => {
                f.locals.pop();
            }
        },
        9 => match b.byte() % 3 {
            0 if !f.captures.is_empty() => {
                let k = b.below(f.captures.len());
                f.captures[k] = t;
            }
            1 => f.captures.push(t),
            _ => {
                f.captures.pop();
            }
        },
        10 => f.max_stack = tweak(b, f.max_stack),
        11 => f.source = tweak(b, f.source),
        12 if !f.lines.is_empty() => {
            let k = b.below(f.lines.len());
            match b.byte() % 3 {
                0 => f.lines[k].0 = tweak(b, f.lines[k].0),
                1 => f.lines.reverse(),
                _ => {
                    let e = f.lines[k];
                    f.lines.push(e);
                }
            }
        }
        // Past a format limit, rarely: the verifier must say so itself.
        13 => match b.byte() % 4 {
            0 => f.params.resize(256, INT),
            1 => f.locals.resize(65_537 - f.params.len().min(65_537), INT),
            2 => f.captures.resize(4_097, INT),
            _ => f.max_stack = 65_537,
        },
        _ => {
            // Swap two instructions: pairs that each verify alone can fail
            // together.
            let n = f.code.len();
            if n > 1 {
                f.code.swap(b.below(n), b.below(n));
            }
        }
    }
}

/// The fuzz target: a seed module, edited as the input says, then
/// disassembled, verified, and if it verifies, encoded and loaded again,
/// and run.
pub fn structural(data: &[u8]) {
    let seeds = seeds();
    let mut b = Bytes::new(data);
    let pick = b.below(seeds.len() + 4);
    let mut m = match seeds.get(pick) {
        Some(m) => m.clone(),
        None => hostile_seeds()[pick - seeds.len()].clone(),
    };
    for _ in 0..1 + b.byte() % 8 {
        if b.byte().is_multiple_of(2) {
            mutate_function(&mut m, &mut b);
        } else {
            mutate_tables(&mut m, &mut b);
        }
    }
    // `vmc disasm` lists files it has not verified: it must not panic on
    // any module.
    let _ = tern_vm::disasm::disassemble(&m, &|_, _| None);
    let Ok(program) = tern_vm::Program::new(m.clone()) else {
        return;
    };
    let bytes = tern_vm::encode(&m);
    assert_eq!(bytes.len(), tern_vm::format::encoded_len(&m));
    if let Err(e) = tern_vm::load(&bytes) {
        panic!("a module that verifies in memory does not load from its encoding: {e}");
    }
    crate::harness::translation_is_invisible(tern_sandbox::Module::from_program(program), m);
}
