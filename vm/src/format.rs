//! The `.bc` binary format: encoding a [`Module`] to bytes and decoding
//! untrusted bytes back, checked at every step.
//!
//! Layout (all integers little-endian; see `spec/bytecode.md`):
//!
//! ```text
//! header  magic "TERN\r\n\x1a\n" (8) | version u32 | body length u32 | checksum u64
//! body    sections 1..=9 in order, each: id u8 | length u32 | payload
//! ```
//!
//! The checksum is FNV-1a (64-bit) over the body. Decoding never trusts a
//! count: every count is bounded by a documented limit and by the bytes that
//! remain, before anything is allocated for it. Nothing in the file depends
//! on the host (no pointers, no `usize`, no host float formatting).

use crate::module::*;
use crate::opcodes::{DecodeError, Instr};
use std::collections::HashSet;
use std::fmt;

pub const MAGIC: [u8; 8] = *b"TERN\r\n\x1a\n";
/// Version 2 holds canonical instructions only (version 1 could also hold
/// fused forms; the VM now makes its own code when it translates: see
/// `translate`).
pub const VERSION: u32 = 2;
pub const HEADER_LEN: usize = 24;

/// Hard limits on what the loader accepts.
pub mod limits {
    pub const MAX_FILE_BYTES: usize = 64 << 20;
    pub const MAX_TYPES: usize = 1 << 16;
    pub const MAX_LAYOUTS: usize = 1 << 16;
    pub const MAX_CONSTS: usize = 1 << 20;
    pub const MAX_GLOBALS: usize = 1 << 16;
    pub const MAX_IMPORTS: usize = 1 << 12;
    pub const MAX_FUNCTIONS: usize = 1 << 20;
    pub const MAX_EXPORTS: usize = 1 << 16;
    pub const MAX_SOURCES: usize = 1 << 12;
    pub const MAX_PARAMS: usize = 255;
    pub const MAX_SLOTS: usize = 1 << 16;
    pub const MAX_CAPTURES: usize = 1 << 12;
    pub const MAX_FIELDS: usize = 1 << 12;
    pub const MAX_VARIANTS: usize = 1 << 12;
    pub const MAX_CODE_BYTES: usize = 1 << 22;
    pub const MAX_STACK: u32 = 1 << 16;
    pub const MAX_STRING_BYTES: usize = 1 << 24;
    pub const MAX_TYPE_DEPTH: u32 = 64;
}
use limits::*;

/// Why a file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid bytecode: {}", self.0)
    }
}

impl std::error::Error for LoadError {}

fn err<T>(msg: impl Into<String>) -> Result<T, LoadError> {
    Err(LoadError(msg.into()))
}

/// FNV-1a, 64-bit: the file checksum and the VM's one hash function.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Rewrites the header's body length and checksum to match the body: for
/// tests and fuzzers that damage a file's body on purpose, so the damage
/// reaches the section decoder instead of stopping at the checksum. Does
/// nothing to bytes shorter than a header.
pub fn reseal(bytes: &mut [u8]) {
    if bytes.len() < HEADER_LEN {
        return;
    }
    let len = (bytes.len() - HEADER_LEN) as u32;
    bytes[12..16].copy_from_slice(&len.to_le_bytes());
    let sum = fnv1a(&bytes[HEADER_LEN..]);
    bytes[16..24].copy_from_slice(&sum.to_le_bytes());
}

const SECTIONS: [&str; 9] = [
    "types",
    "layouts",
    "constants",
    "globals",
    "imports",
    "functions",
    "exports",
    "sources",
    "entry",
];

// ---------------------------------------------------------------- encoding

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.out.push(v)
    }
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes())
    }
    fn len(&mut self, n: usize) {
        self.u32(n as u32)
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.out.extend_from_slice(s.as_bytes())
    }
    fn section(&mut self, id: u8, body: impl FnOnce(&mut Writer)) {
        self.u8(id);
        let at = self.out.len();
        self.u32(0);
        body(self);
        let n = (self.out.len() - at - 4) as u32;
        self.out[at..at + 4].copy_from_slice(&n.to_le_bytes());
    }
}

/// Byte offset of each instruction, plus the total length at the end.
pub fn instruction_offsets(code: &[Instr]) -> Vec<u32> {
    let mut offsets = Vec::with_capacity(code.len() + 1);
    let mut at = 0u32;
    for i in code {
        offsets.push(at);
        at += i.opcode().encoded_len() as u32;
    }
    offsets.push(at);
    offsets
}

/// Bytes `code` takes encoded. Unlike [`instruction_offsets`], never
/// overflows, whatever the length of an in-memory function.
pub fn code_len(code: &[Instr]) -> usize {
    code.iter().map(|i| i.opcode().encoded_len()).sum()
}

/// Bytes [`encode`] writes for function `f` in the functions section: its
/// name, signature, locals, captures, code and line table.
pub fn encoded_function_len(f: &Function) -> usize {
    function_len(f, code_len(&f.code))
}

/// [`encoded_function_len`] given the function's [`code_len`].
pub(crate) fn function_len(f: &Function, code_bytes: usize) -> usize {
    let ids = f.params.len() + f.locals.len() + f.captures.len();
    // name, parameter count, result, local count, capture count, max
    // stack, source, code length, line count: nine u32s.
    9 * 4 + f.name.len() + 4 * ids + code_bytes + 8 * f.lines.len()
}

/// Bytes [`encode`] writes for `m`, computed without encoding it.
pub fn encoded_len(m: &Module) -> usize {
    encoded_len_given(m, m.functions.iter().map(encoded_function_len).sum())
}

/// [`encoded_len`] given the sum of the functions' [`encoded_function_len`].
pub(crate) fn encoded_len_given(m: &Module, functions: usize) -> usize {
    let str_len = |s: &str| 4 + s.len();
    let ids = |v: &[TypeId]| 4 + 4 * v.len();
    let types: usize = m
        .types
        .iter()
        .skip(PRIMITIVES)
        .map(|t| match t {
            TypeDesc::Array(_) | TypeDesc::Struct(_) | TypeDesc::Enum(_) | TypeDesc::Cell(_) => 5,
            TypeDesc::Map(..) => 9,
            TypeDesc::Fn { params, .. } => 1 + ids(params) + 4,
            _ => 1,
        })
        .sum();
    let layouts: usize = m
        .layouts
        .iter()
        .map(|l| match l {
            Layout::Struct { name, fields } => {
                1 + str_len(name) + 4 + fields.iter().map(|f| str_len(&f.name) + 4).sum::<usize>()
            }
            Layout::Enum { name, variants } => {
                1 + str_len(name)
                    + 4
                    + variants
                        .iter()
                        .map(|v| str_len(&v.name) + ids(&v.fields))
                        .sum::<usize>()
            }
        })
        .sum();
    let consts: usize = m
        .consts
        .iter()
        .map(|c| match c {
            Const::Int(_) | Const::Float(_) => 9,
            Const::Str(s) => 1 + str_len(s),
        })
        .sum();
    let imports: usize = m
        .imports
        .iter()
        .map(|i| str_len(&i.module) + str_len(&i.name) + ids(&i.params) + 4)
        .sum();
    let exports: usize = m.exports.iter().map(|e| str_len(&e.name) + 4).sum();
    let sources: usize = m.sources.iter().map(|s| str_len(s)).sum();
    let payloads = (4 + types)
        + (4 + layouts)
        + (4 + consts)
        + ids(&m.globals)
        + (4 + imports)
        + (4 + functions)
        + (4 + exports)
        + (4 + sources)
        + 8;
    HEADER_LEN + SECTIONS.len() * 5 + payloads
}

/// Encodes a module. The output depends only on the module.
pub fn encode(m: &Module) -> Vec<u8> {
    let mut w = Writer { out: Vec::new() };
    w.section(1, |w| {
        w.len(m.types.len() - PRIMITIVES);
        for t in &m.types[PRIMITIVES..] {
            match t {
                TypeDesc::Array(e) => {
                    w.u8(0);
                    w.u32(*e)
                }
                TypeDesc::Map(k, v) => {
                    w.u8(1);
                    w.u32(*k);
                    w.u32(*v)
                }
                TypeDesc::Struct(l) => {
                    w.u8(2);
                    w.u32(*l)
                }
                TypeDesc::Enum(l) => {
                    w.u8(3);
                    w.u32(*l)
                }
                TypeDesc::Fn { params, ret } => {
                    w.u8(4);
                    w.len(params.len());
                    params.iter().for_each(|p| w.u32(*p));
                    w.u32(*ret)
                }
                TypeDesc::Cell(t) => {
                    w.u8(5);
                    w.u32(*t)
                }
                // Primitives live only at the implicit indices.
                _ => w.u8(0xFF),
            }
        }
    });
    w.section(2, |w| {
        w.len(m.layouts.len());
        for l in &m.layouts {
            match l {
                Layout::Struct { name, fields } => {
                    w.u8(0);
                    w.str(name);
                    w.len(fields.len());
                    for f in fields {
                        w.str(&f.name);
                        w.u32(f.ty);
                    }
                }
                Layout::Enum { name, variants } => {
                    w.u8(1);
                    w.str(name);
                    w.len(variants.len());
                    for v in variants {
                        w.str(&v.name);
                        w.len(v.fields.len());
                        v.fields.iter().for_each(|t| w.u32(*t));
                    }
                }
            }
        }
    });
    w.section(3, |w| {
        w.len(m.consts.len());
        for c in &m.consts {
            match c {
                Const::Int(i) => {
                    w.u8(0);
                    w.u64(*i as u64)
                }
                Const::Float(f) => {
                    w.u8(1);
                    w.u64(f.to_bits())
                }
                Const::Str(s) => {
                    w.u8(2);
                    w.str(s)
                }
            }
        }
    });
    w.section(4, |w| {
        w.len(m.globals.len());
        m.globals.iter().for_each(|g| w.u32(*g));
    });
    w.section(5, |w| {
        w.len(m.imports.len());
        for i in &m.imports {
            w.str(&i.module);
            w.str(&i.name);
            w.len(i.params.len());
            i.params.iter().for_each(|p| w.u32(*p));
            w.u32(i.ret);
        }
    });
    w.section(6, |w| {
        w.len(m.functions.len());
        for f in &m.functions {
            w.str(&f.name);
            w.len(f.params.len());
            f.params.iter().for_each(|p| w.u32(*p));
            w.u32(f.ret);
            w.len(f.locals.len());
            f.locals.iter().for_each(|p| w.u32(*p));
            w.len(f.captures.len());
            f.captures.iter().for_each(|p| w.u32(*p));
            w.u32(f.max_stack);
            w.u32(f.source);
            let offsets = instruction_offsets(&f.code);
            let mut code = Vec::with_capacity(*offsets.last().unwrap() as usize);
            for i in &f.code {
                let mut i = *i;
                if let Some(t) = i.target_mut() {
                    *t = offsets.get(*t as usize).copied().unwrap_or(u32::MAX);
                }
                i.encode(&mut code);
            }
            w.len(code.len());
            w.out.extend_from_slice(&code);
            w.len(f.lines.len());
            for &(at, line) in &f.lines {
                w.u32(offsets.get(at as usize).copied().unwrap_or(u32::MAX));
                w.u32(line);
            }
        }
    });
    w.section(7, |w| {
        w.len(m.exports.len());
        for e in &m.exports {
            w.str(&e.name);
            w.u32(e.func);
        }
    });
    w.section(8, |w| {
        w.len(m.sources.len());
        m.sources.iter().for_each(|s| w.str(s));
    });
    w.section(9, |w| {
        w.u32(m.init.unwrap_or(u32::MAX));
        w.u32(m.entry.unwrap_or(u32::MAX));
    });
    let body = w.out;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&fnv1a(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

// ---------------------------------------------------------------- decoding

/// Facts from a file's header, for `vmc inspect` and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub body_len: u32,
    pub checksum: u64,
}

/// Checks magic, version, length and checksum.
pub fn read_header(bytes: &[u8]) -> Result<Header, LoadError> {
    if bytes.len() > MAX_FILE_BYTES {
        return err(format!(
            "file is {} bytes, more than the limit of {MAX_FILE_BYTES}",
            bytes.len()
        ));
    }
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return err("bad magic (not a Tern bytecode file)");
    }
    if bytes.len() < HEADER_LEN {
        return err("truncated header");
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let body_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    let checksum = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
    if version > VERSION {
        return err(format!(
            "format version {version} is newer than this VM supports (version {VERSION})"
        ));
    }
    if version == 0 {
        return err("format version 0 is not a valid version");
    }
    if version < VERSION {
        return err(format!(
            "format version {version} is older than this VM reads (version {VERSION}); \
             rebuild the program from its source with `vmc build`"
        ));
    }
    let body = &bytes[HEADER_LEN..];
    if body.len() < body_len as usize {
        return err(format!(
            "truncated file: header says {body_len} body bytes, found {}",
            body.len()
        ));
    }
    if body.len() > body_len as usize {
        return err(format!(
            "{} trailing bytes after the body",
            body.len() - body_len as usize
        ));
    }
    if fnv1a(body) != checksum {
        return err("checksum mismatch (the file is corrupt)");
    }
    Ok(Header {
        version,
        body_len,
        checksum,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LoadError> {
        if self.buf.len() - self.pos < n {
            return err(format!("truncated {} section", self.what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, LoadError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, LoadError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, LoadError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// A count of items each at least `min_bytes` long, at most `max`.
    fn count(&mut self, what: &str, max: usize, min_bytes: usize) -> Result<usize, LoadError> {
        let n = self.u32()? as usize;
        if n > max {
            return err(format!(
                "{} section: {n} {what}, more than the limit of {max}",
                self.what
            ));
        }
        if n.saturating_mul(min_bytes) > self.remaining() {
            return err(format!("truncated {} section", self.what));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, LoadError> {
        let n = self.count("string bytes", MAX_STRING_BYTES, 1)?;
        let bytes = self.take(n)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => err(format!("{} section: string is not valid UTF-8", self.what)),
        }
    }
    fn ids(&mut self, what: &str, max: usize) -> Result<Vec<u32>, LoadError> {
        let n = self.count(what, max, 4)?;
        (0..n).map(|_| self.u32()).collect()
    }
}

/// Decodes and structurally checks a file. The result still has to pass
/// [`crate::verify::verify`] before it may run.
pub fn decode(bytes: &[u8]) -> Result<Module, LoadError> {
    read_header(bytes)?;
    let body = &bytes[HEADER_LEN..];
    let mut pos = 0usize;
    let mut sections: Vec<&[u8]> = Vec::with_capacity(SECTIONS.len());
    for (i, name) in SECTIONS.iter().enumerate() {
        let mut r = Reader {
            buf: body,
            pos,
            what: name,
        };
        let id = r.u8()?;
        if id as usize != i + 1 {
            return err(format!(
                "expected section {} ({name}), found section id {id}",
                i + 1
            ));
        }
        let len = r.u32()? as usize;
        let payload = r.take(len)?;
        pos = r.pos;
        sections.push(payload);
    }
    if pos != body.len() {
        return err(format!("{} bytes after the last section", body.len() - pos));
    }
    let mut m = Module::new();
    let rd = |i: usize| Reader {
        buf: sections[i],
        pos: 0,
        what: SECTIONS[i],
    };

    let mut r = rd(0);
    let n = r.count("types", MAX_TYPES, 5)?;
    let mut depth: Vec<u32> = vec![0; PRIMITIVES];
    let mut seen: HashSet<TypeDesc> = m.types.iter().cloned().collect();
    for _ in 0..n {
        let here = m.types.len() as u32;
        let earlier = |t: u32| -> Result<u32, LoadError> {
            if t >= here {
                return err(format!(
                    "type {here} refers to type {t}, which is not an earlier entry"
                ));
            }
            Ok(t)
        };
        let t = match r.u8()? {
            0 => TypeDesc::Array(earlier(r.u32()?)?),
            1 => TypeDesc::Map(earlier(r.u32()?)?, earlier(r.u32()?)?),
            2 => TypeDesc::Struct(r.u32()?),
            3 => TypeDesc::Enum(r.u32()?),
            4 => {
                let params = r.ids("parameters", MAX_PARAMS)?;
                for p in &params {
                    earlier(*p)?;
                }
                TypeDesc::Fn {
                    params,
                    ret: earlier(r.u32()?)?,
                }
            }
            5 => TypeDesc::Cell(earlier(r.u32()?)?),
            tag => return err(format!("type {here}: unknown type tag {tag}")),
        };
        let d = match &t {
            TypeDesc::Array(e) | TypeDesc::Cell(e) => depth[*e as usize] + 1,
            TypeDesc::Map(k, v) => depth[*k as usize].max(depth[*v as usize]) + 1,
            TypeDesc::Fn { params, ret } => {
                params
                    .iter()
                    .chain(std::iter::once(ret))
                    .map(|p| depth[*p as usize])
                    .max()
                    .unwrap_or(0)
                    + 1
            }
            _ => 0,
        };
        if d > MAX_TYPE_DEPTH {
            return err(format!(
                "type {here} is nested {d} deep, more than the limit of {MAX_TYPE_DEPTH}"
            ));
        }
        if !seen.insert(t.clone()) {
            return err(format!("type {here} duplicates an earlier type"));
        }
        depth.push(d);
        m.types.push(t);
    }
    finish(&r)?;

    let mut r = rd(1);
    let n = r.count("layouts", MAX_LAYOUTS, 9)?;
    for i in 0..n {
        let l = match r.u8()? {
            0 => {
                let name = r.str()?;
                let k = r.count("fields", MAX_FIELDS, 8)?;
                let mut fields = Vec::with_capacity(k);
                for _ in 0..k {
                    fields.push(Field {
                        name: r.str()?,
                        ty: r.u32()?,
                    });
                }
                Layout::Struct { name, fields }
            }
            1 => {
                let name = r.str()?;
                let k = r.count("variants", MAX_VARIANTS, 8)?;
                let mut variants = Vec::with_capacity(k);
                for _ in 0..k {
                    variants.push(Variant {
                        name: r.str()?,
                        fields: r.ids("fields", MAX_FIELDS)?,
                    });
                }
                Layout::Enum { name, variants }
            }
            tag => return err(format!("layout {i}: unknown layout tag {tag}")),
        };
        m.layouts.push(l);
    }
    finish(&r)?;

    let mut r = rd(2);
    let n = r.count("constants", MAX_CONSTS, 5)?;
    for i in 0..n {
        m.consts.push(match r.u8()? {
            0 => Const::Int(r.u64()? as i64),
            1 => Const::Float(f64::from_bits(r.u64()?)),
            2 => Const::Str(r.str()?),
            tag => return err(format!("constant {i}: unknown constant tag {tag}")),
        });
    }
    finish(&r)?;

    let mut r = rd(3);
    m.globals = r.ids("globals", MAX_GLOBALS)?;
    finish(&r)?;

    let mut r = rd(4);
    let n = r.count("imports", MAX_IMPORTS, 16)?;
    for _ in 0..n {
        m.imports.push(Import {
            module: r.str()?,
            name: r.str()?,
            params: r.ids("parameters", MAX_PARAMS)?,
            ret: r.u32()?,
        });
    }
    finish(&r)?;

    let mut r = rd(5);
    let n = r.count("functions", MAX_FUNCTIONS, 32)?;
    for i in 0..n {
        m.functions.push(decode_function(&mut r, i)?);
    }
    finish(&r)?;

    let mut r = rd(6);
    let n = r.count("exports", MAX_EXPORTS, 8)?;
    for _ in 0..n {
        m.exports.push(Export {
            name: r.str()?,
            func: r.u32()?,
        });
    }
    finish(&r)?;

    let mut r = rd(7);
    let n = r.count("sources", MAX_SOURCES, 4)?;
    for _ in 0..n {
        m.sources.push(r.str()?);
    }
    finish(&r)?;

    let mut r = rd(8);
    let opt = |v: u32| (v != u32::MAX).then_some(v);
    m.init = opt(r.u32()?);
    m.entry = opt(r.u32()?);
    finish(&r)?;
    Ok(m)
}

fn finish(r: &Reader) -> Result<(), LoadError> {
    if r.remaining() != 0 {
        return err(format!(
            "{} section has {} unexpected trailing bytes",
            r.what,
            r.remaining()
        ));
    }
    Ok(())
}

fn decode_function(r: &mut Reader, index: usize) -> Result<Function, LoadError> {
    let name = r.str()?;
    let params = r.ids("parameters", MAX_PARAMS)?;
    let ret = r.u32()?;
    let locals = r.ids("locals", MAX_SLOTS)?;
    if params.len() + locals.len() > MAX_SLOTS {
        return err(format!(
            "function {index} ('{name}') has more than {MAX_SLOTS} local slots"
        ));
    }
    let captures = r.ids("captures", MAX_CAPTURES)?;
    let max_stack = r.u32()?;
    if max_stack > MAX_STACK {
        return err(format!(
            "function {index} ('{name}') declares max stack {max_stack}, more than the limit of {MAX_STACK}"
        ));
    }
    let source = r.u32()?;
    let len = r.count("code bytes", MAX_CODE_BYTES, 1)?;
    let bytes = r.take(len)?;
    let at = |off: usize, msg: String| {
        LoadError(format!(
            "in function {index} ('{name}') at offset {off}: {msg}"
        ))
    };
    // index_of[byte offset] = instruction index, or u32::MAX off a boundary.
    let mut index_of = vec![u32::MAX; len + 1];
    let mut code = Vec::new();
    let mut off = 0usize;
    while off < len {
        let i = Instr::decode(&bytes[off..]).map_err(|e| match e {
            DecodeError::Truncated => at(off, "instruction truncated at end of code".into()),
            e => at(off, e.to_string()),
        })?;
        index_of[off] = code.len() as u32;
        off += i.opcode().encoded_len();
        code.push(i);
    }
    let offsets = instruction_offsets(&code);
    for (k, i) in code.iter_mut().enumerate() {
        if let Some(t) = i.target_mut() {
            let idx = index_of.get(*t as usize).copied().unwrap_or(u32::MAX);
            if idx == u32::MAX {
                return Err(at(
                    offsets[k] as usize,
                    format!(
                        "jump target {} is not an instruction boundary in the function",
                        *t
                    ),
                ));
            }
            *t = idx;
        }
    }
    let n = r.count("line entries", len.max(1), 8)?;
    let mut lines = Vec::with_capacity(n);
    for _ in 0..n {
        let off = r.u32()?;
        let line = r.u32()?;
        let idx = index_of.get(off as usize).copied().unwrap_or(u32::MAX);
        if idx == u32::MAX {
            return Err(at(
                off as usize,
                "line table entry is not at an instruction boundary".into(),
            ));
        }
        if lines.last().is_some_and(|&(p, _)| p >= idx) {
            return Err(at(
                off as usize,
                "line table is not in ascending order".into(),
            ));
        }
        lines.push((idx, line));
    }
    Ok(Function {
        name,
        params,
        ret,
        locals,
        captures,
        max_stack,
        code,
        source,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with an entry of every kind in every section.
    fn every_kind() -> Module {
        let mut m = Module::new();
        m.types.extend([
            TypeDesc::Array(INT),
            TypeDesc::Map(STR, 5),
            TypeDesc::Struct(0),
            TypeDesc::Enum(1),
            TypeDesc::Fn {
                params: vec![INT, 5],
                ret: UNIT,
            },
            TypeDesc::Cell(FLOAT),
        ]);
        m.layouts = vec![
            Layout::Struct {
                name: "P".into(),
                fields: vec![Field {
                    name: "x".into(),
                    ty: INT,
                }],
            },
            Layout::Enum {
                name: "E".into(),
                variants: vec![Variant {
                    name: "A".into(),
                    fields: vec![INT, STR],
                }],
            },
        ];
        m.consts = vec![Const::Int(1), Const::Float(0.5), Const::Str("é".into())];
        m.globals = vec![INT, 5];
        m.imports = vec![Import {
            module: "stdout".into(),
            name: "println".into(),
            params: vec![STR],
            ret: UNIT,
        }];
        m.functions = vec![Function {
            name: "main".into(),
            params: vec![INT],
            ret: UNIT,
            locals: vec![STR, 6],
            captures: vec![FLOAT],
            max_stack: 3,
            code: vec![
                Instr::Const { index: 2 },
                Instr::Jmp { target: 2 },
                Instr::Ret {},
            ],
            source: 0,
            lines: vec![(0, 1), (2, 3)],
        }];
        m.exports = vec![Export {
            name: "main".into(),
            func: 0,
        }];
        m.sources = vec!["a.src".into()];
        m.entry = Some(0);
        m
    }

    #[test]
    fn encoded_len_is_the_length_of_the_encoding() {
        let m = every_kind();
        assert_eq!(encoded_len(&m), encode(&m).len());
        assert_eq!(encoded_len(&Module::new()), encode(&Module::new()).len());
    }
}
