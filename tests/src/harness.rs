//! The fuzz targets' bodies, shared by `fuzz/` (libFuzzer drives them) and
//! by `tests/tests/fuzz_replay.rs` (which replays the committed corpora and
//! the regression files on every CI run, deterministically, on stable).
//!
//! Each function takes arbitrary bytes and must return normally: a panic is
//! a bug. Each also checks an oracle where one exists (compiled code always
//! verifies; a module survives an encode/decode round trip; a program's
//! output does not depend on when the collector runs).

use crate::{gen, run_captured, Run};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tern_sandbox::{Limits, Module};
use tern_vm::module::Module as VmModule;
use tern_vm::Instr;

/// Small limits: a fuzz input must finish in milliseconds.
pub fn fuzz_limits() -> Limits {
    Limits {
        fuel: 200_000,
        max_heap: 4 << 20,
        // Past the 256 calls compiled code nests on the machine stack,
        // so returns below such a call are compared too.
        max_depth: 1000,
        ..Limits::default()
    }
}

/// Runs `module`'s main as vmrun would, output captured (at most 64 KiB:
/// fuel alone does not bound what a program prints). Never panics for a
/// verified module.
pub(crate) fn run(module: &Module, limits: Limits) -> Run {
    run_captured(module, &["fuzz".into()], limits, 1 << 16)
}

/// Compiles one in-memory file named `fuzz.src`.
fn compile_text(text: &str) -> Result<tern_compiler::Compiled, tern_compiler::CompileError> {
    let path = Path::new("fuzz.src");
    tern_compiler::compile_with(path, &tern_compiler::OneFile { path, text })
}

/// Source text into the compiler: diagnostics or a module; a module the
/// compiler makes always verifies and round-trips through the file format.
pub fn compile(data: &[u8]) {
    let Ok(compiled) = compile_text(&String::from_utf8_lossy(data)) else {
        return;
    };
    let bytes = tern_vm::encode(&compiled.module);
    let decoded = tern_vm::decode(&bytes).expect("the compiler's output decodes");
    assert_eq!(decoded, compiled.module, "encode/decode round trip");
    let program = tern_vm::Program::new(compiled.module.clone())
        .unwrap_or_else(|e| panic!("the compiler's output does not verify: {e}"));
    translation_is_invisible(Module::from_program(program), compiled.module);
}

/// Raw bytes into the loader and verifier; whatever loads, runs. The bytes
/// are tried as they are and again with the header's body length and
/// checksum made to match, so damage reaches the section decoder and the
/// verifier instead of stopping at the checksum.
pub fn load(data: &[u8]) {
    load_exact(data);
    if data.len() >= tern_vm::format::HEADER_LEN {
        let mut fixed = data.to_vec();
        tern_vm::format::reseal(&mut fixed);
        load_exact(&fixed);
    }
}

fn load_exact(data: &[u8]) {
    match Module::from_bytes(data) {
        Ok(m) => {
            let decoded = tern_vm::decode(data).expect("a module that loads decodes");
            translation_is_invisible(m, decoded);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// Runs `module` (verified and translated) interpreted, with every
/// function compiled (where the JIT compiles it), and the same code
/// without translation (each canonical instruction as itself): the
/// output, exit, error and trace, instruction count and fuel must be the
/// same, also when fuel runs out part way.
pub(crate) fn translation_is_invisible(module: Module, canonical: tern_vm::Module) {
    let plain =
        tern_vm::Program::new_untranslated(canonical).expect("what verified once verifies again");
    let plain = Module::from_program(plain);
    let limits = Limits {
        count_instructions: true,
        ..fuzz_limits()
    };
    let args = ["fuzz".to_string()];
    let run = |m: &Module, jit: tern_vm::JitMode, limits: &Limits| {
        let limits = Limits {
            jit,
            ..limits.clone()
        };
        crate::run_counted(m, &args, limits, 1 << 16)
    };
    use tern_vm::JitMode::{Eager, Off};
    let a = run(&module, Off, &limits);
    let b = run(&plain, Off, &limits);
    assert_eq!(a, b, "translation changed what a program does");
    let c = run(&module, Eager, &limits);
    assert_eq!(a, c, "compiled code changed what a program does");
    if a.1.fuel > 3 {
        let limits = Limits {
            fuel: a.1.fuel / 2,
            ..limits
        };
        let a = run(&module, Off, &limits);
        let b = run(&plain, Off, &limits);
        assert_eq!(a, b, "translation changed where fuel runs out");
        let c = run(&module, Eager, &limits);
        assert_eq!(a, c, "compiled code changed where fuel runs out");
    }
}

/// Valid modules to mutate: the golden programs and examples, compiled once.
pub(crate) fn seeds() -> &'static [VmModule] {
    static SEEDS: OnceLock<Vec<VmModule>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = crate::root();
        let mut out = Vec::new();
        for dir in ["examples", "tests/golden/run", "tests/golden/runtime_error"] {
            for p in crate::programs(&root.join(dir)) {
                if let Ok(c) = tern_compiler::compile(&p) {
                    out.push(c.module);
                }
            }
        }
        out
    })
}

/// Reads choices from the fuzz input, then zeros.
pub struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes(data)
    }
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.u32() as usize) % n
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A small integer, often near the edges a check may get wrong.
pub(crate) fn tweak(b: &mut Bytes, v: u32) -> u32 {
    match b.byte() % 6 {
        0 => v.wrapping_add(1),
        1 => v.wrapping_sub(1),
        2 => 0,
        3 => u32::MAX,
        4 => b.byte() as u32,
        _ => b.u32(),
    }
}

/// Structure-aware mutation of a valid module: instructions (opcodes and
/// operands), stack heights, signatures, local types, indices and line
/// tables, then load (decode + verify) and run under small limits.
pub fn mutate(data: &[u8]) {
    let seeds = seeds();
    if seeds.is_empty() {
        return;
    }
    let mut b = Bytes::new(data);
    let mut m = seeds[b.below(seeds.len())].clone();
    let rounds = 1 + b.byte() % 8;
    for _ in 0..rounds {
        if m.functions.is_empty() {
            break;
        }
        let fi = b.below(m.functions.len());
        let ntypes = m.types.len() as u32;
        let f = &mut m.functions[fi];
        match b.byte() % 10 {
            // Re-decode one instruction from mutated bytes: another opcode,
            // other operands.
            0..=3 if !f.code.is_empty() => {
                let k = b.below(f.code.len());
                let mut enc = Vec::new();
                f.code[k].encode(&mut enc);
                let at = b.below(enc.len());
                if b.byte().is_multiple_of(2) {
                    enc[at] = b.byte();
                } else {
                    enc[at] ^= 1 << (b.byte() % 8);
                }
                enc.extend_from_slice(&[b.byte(), b.byte(), b.byte(), b.byte()]);
                if let Ok(i) = Instr::decode(&enc) {
                    // Keep targets indices in this function's range mostly.
                    let mut i = i;
                    if let Some(t) = i.target_mut() {
                        *t %= (f.code.len() as u32).max(1) + 1;
                    }
                    f.code[k] = i;
                }
            }
            4 if !f.code.is_empty() => {
                let k = b.below(f.code.len());
                f.code.remove(k);
            }
            5 if !f.code.is_empty() => {
                let k = b.below(f.code.len());
                let i = f.code[k];
                f.code.insert(b.below(f.code.len() + 1), i);
            }
            6 => f.max_stack = tweak(&mut b, f.max_stack) % 70_000,
            7 => {
                let t = b.below(ntypes as usize + 1) as u32;
                match b.byte() % 3 {
                    0 if !f.params.is_empty() => {
                        let k = b.below(f.params.len());
                        f.params[k] = t;
                    }
                    1 if !f.locals.is_empty() => {
                        let k = b.below(f.locals.len());
                        f.locals[k] = t;
                    }
                    _ => f.ret = t,
                }
            }
            8 if !f.lines.is_empty() => {
                let k = b.below(f.lines.len());
                f.lines[k].0 = tweak(&mut b, f.lines[k].0);
            }
            _ => match b.byte() % 4 {
                0 => m.entry = Some(tweak(&mut b, m.entry.unwrap_or(0))),
                1 if !m.exports.is_empty() => {
                    let k = b.below(m.exports.len());
                    m.exports[k].func = tweak(&mut b, m.exports[k].func);
                }
                2 if !m.globals.is_empty() => {
                    let k = b.below(m.globals.len());
                    m.globals[k] = b.below(ntypes as usize + 1) as u32;
                }
                _ => f.source = tweak(&mut b, f.source),
            },
        }
    }
    load(&tern_vm::encode(&m));
}

/// A random well-typed program: it must compile, and its output must be the
/// same with and without translation, with and without GC stress (and,
/// once there is a JIT, with it).
pub fn generated(data: &[u8]) {
    let src = gen::program(&mut Bytes::new(data));
    let compiled = compile_text(&src).unwrap_or_else(|e| {
        panic!(
            "a generated program does not compile:\n{src}\n{}",
            e.render()
        )
    });
    let program = tern_vm::Program::new(compiled.module.clone())
        .unwrap_or_else(|e| panic!("a generated program does not verify: {e}\n{src}"));
    let module = Module::from_program(program);
    translation_is_invisible(module.clone(), compiled.module);
    let normal = run(&module, fuzz_limits());
    let stressed = run(
        &module,
        Limits {
            gc_stress: true,
            ..fuzz_limits()
        },
    );
    assert_eq!(normal, stressed, "GC stress changed the result of:\n{src}");
}

/// `n` inputs of `len` bytes each from a xorshift generator seeded with
/// `seed`: a fixed spread, so tests exercise a target without a corpus.
pub fn spread(seed: u64, n: usize, len: usize) -> Vec<Vec<u8>> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
        .collect()
}

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, for the replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("compile", compile),
    ("load", load),
    ("mutate", mutate),
    ("structural", crate::structural::structural),
    ("generated", generated),
];

/// Files under `dir` (none if it does not exist), sorted.
pub fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}
