//! A readable listing of a module, in the manner of `javap -c`: tables
//! first, then each function's code with byte offsets, operands explained,
//! and the source line each run of instructions came from.

use crate::format::instruction_offsets;
use crate::module::*;
use crate::opcodes::{Instr, Kind};
use std::fmt::Write;

/// Lists `m`. `source_line(file, line)` supplies source text when known.
pub fn disassemble(m: &Module, source_line: &dyn Fn(&str, u32) -> Option<String>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "; sources: {}", m.sources.join(", "));
    for (i, im) in m.imports.iter().enumerate() {
        let _ = writeln!(
            o,
            "; import {i}: {}.{}{}",
            im.module,
            im.name,
            sig(m, &im.params, im.ret)
        );
    }
    for (i, g) in m.globals.iter().enumerate() {
        let _ = writeln!(o, "; global {i}: {}", m.type_name(*g));
    }
    for (i, l) in m.layouts.iter().enumerate() {
        match l {
            Layout::Struct { name, fields } => {
                let fs: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{}: {}", f.name, m.type_name(f.ty)))
                    .collect();
                let _ = writeln!(o, "; layout {i}: struct {name} {{ {} }}", fs.join(", "));
            }
            Layout::Enum { name, variants } => {
                let vs: Vec<String> = variants
                    .iter()
                    .map(|v| {
                        if v.fields.is_empty() {
                            v.name.clone()
                        } else {
                            let ts: Vec<String> =
                                v.fields.iter().map(|t| m.type_name(*t)).collect();
                            format!("{}({})", v.name, ts.join(", "))
                        }
                    })
                    .collect();
                let _ = writeln!(o, "; layout {i}: enum {name} {{ {} }}", vs.join(", "));
            }
        }
    }
    for e in &m.exports {
        let _ = writeln!(o, "; export {} = function {}", e.name, e.func);
    }
    if let Some(i) = m.init {
        let _ = writeln!(o, "; init: function {i}");
    }
    if let Some(i) = m.entry {
        let _ = writeln!(o, "; entry: function {i}");
    }
    for (fi, f) in m.functions.iter().enumerate() {
        let file = m.sources.get(f.source as usize).map_or("?", |s| s.as_str());
        let _ = writeln!(o, "\nfunction {fi} {}{}", f.name, sig(m, &f.params, f.ret));
        let locals: Vec<String> = f.slot_types().map(|t| m.type_name(t)).collect();
        let _ = writeln!(
            o,
            "  ; slots [{}], max stack {}",
            locals.join(", "),
            f.max_stack
        );
        if !f.captures.is_empty() {
            let cs: Vec<String> = f.captures.iter().map(|t| m.type_name(*t)).collect();
            let _ = writeln!(o, "  ; captures [{}]", cs.join(", "));
        }
        let offsets = instruction_offsets(&f.code);
        let mut last_line = 0;
        for (k, ins) in f.code.iter().enumerate() {
            line_header(&mut o, file, f.line_of(k), &mut last_line, source_line);
            let mut text = format!("{:>6}  {}", offsets[k], ins.opcode().mnemonic());
            let ops = ins.operands();
            for (name, v) in &ops {
                let v = if *name == "target" {
                    offsets.get(*v as usize).copied().unwrap_or(u32::MAX) as i64
                } else {
                    *v
                };
                let _ = write!(text, " {v}");
            }
            let note = explain(m, ins);
            if !note.is_empty() {
                let _ = write!(
                    text,
                    "{}; {note}",
                    " ".repeat(34usize.saturating_sub(text.len()))
                );
            }
            let _ = writeln!(o, "{text}");
        }
    }
    o
}

/// `  file:line: source text` where the line changes.
fn line_header(
    o: &mut String,
    file: &str,
    line: u32,
    last_line: &mut u32,
    source_line: &dyn Fn(&str, u32) -> Option<String>,
) {
    if line == *last_line || line == 0 {
        return;
    }
    *last_line = line;
    let _ = match source_line(file, line) {
        Some(text) => writeln!(o, "  {file}:{line}: {}", text.trim()),
        None => writeln!(o, "  {file}:{line}"),
    };
}

fn sig(m: &Module, params: &[TypeId], ret: TypeId) -> String {
    let ps: Vec<String> = params.iter().map(|p| m.type_name(*p)).collect();
    if ret == UNIT {
        format!("({})", ps.join(", "))
    } else {
        format!("({}) -> {}", ps.join(", "), m.type_name(ret))
    }
}

/// A note on the first operand that names something (by its kind in the
/// instruction table): a constant's value, a function's or import's name,
/// a type's name (with the variant, for an enum variant).
fn explain(m: &Module, ins: &Instr) -> String {
    let kinds = ins.opcode().operand_kinds();
    for (k, kind) in kinds.iter().enumerate() {
        let v = ins.operand(k) as usize;
        return match kind {
            Kind::Const => match m.consts.get(v) {
                Some(Const::Int(i)) => i.to_string(),
                Some(Const::Float(x)) => crate::text::float_to_string(*x),
                Some(Const::Str(s)) => format!("{s:?}"),
                None => "?".into(),
            },
            Kind::Function => m.functions.get(v).map_or("?".into(), |f| f.name.clone()),
            Kind::Import => m
                .imports
                .get(v)
                .map_or("?".into(), |i| format!("{}.{}", i.module, i.name)),
            Kind::Type if kinds.get(k + 1) == Some(&Kind::Variant) => {
                variant_name(m, v, ins.operand(k + 1) as usize)
            }
            Kind::Type => m.type_name(v as TypeId),
            _ => continue,
        };
    }
    String::new()
}

/// `Enum.Variant` for variant `variant` of enum type `ty`.
fn variant_name(m: &Module, ty: usize, variant: usize) -> String {
    let Some(TypeDesc::Enum(l)) = m.types.get(ty) else {
        return "?".into();
    };
    match m.layouts.get(*l as usize) {
        Some(Layout::Enum { name, variants }) => {
            format!(
                "{name}.{}",
                variants.get(variant).map_or("?", |v| v.name.as_str())
            )
        }
        _ => "?".into(),
    }
}

/// Lists the internal code `p` runs (see [`crate::internal`]): per
/// function, each instruction with its index, the canonical instructions
/// it stands for (`[n]`) and, at each change, the source line of its
/// origin.
pub fn translated(p: &crate::Program, source_line: &dyn Fn(&str, u32) -> Option<String>) -> String {
    let m = p.module();
    let mut o = String::new();
    for (fi, f) in m.functions.iter().enumerate() {
        let file = m.sources.get(f.source as usize).map_or("?", |s| s.as_str());
        let _ = writeln!(o, "function {fi} {}{}", f.name, sig(m, &f.params, f.ret));
        let _ = writeln!(
            o,
            "  ; locals r0..r{}, operand stack from r{}",
            f.num_slots().max(1) - 1,
            f.num_slots()
        );
        let code = p.code(fi as u32);
        let counts = p.counts_of(fi as u32);
        let start = p.start_of(fi as u32);
        let mut last_line = 0;
        for (k, &op) in p.ops_of(fi as u32).iter().enumerate() {
            let line = f.line_of(code.origin[k] as usize);
            line_header(&mut o, file, line, &mut last_line, source_line);
            // Targets as indices into this function's listing.
            let mut op = op;
            if let Some(t) = op.target_mut() {
                *t -= start;
            }
            let _ = write!(o, "{k:>6}  [{}] {op}", counts[k]);
            if let crate::internal::Op::IDivBy { k, .. } | crate::internal::Op::IRemBy { k, .. } =
                &op
            {
                let _ = write!(o, "  ; by {}", p.divisors[*k as usize].divisor());
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o);
    }
    o
}
