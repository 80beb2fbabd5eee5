//! The fused instructions and what each stands for.
//!
//! A *fused* instruction does the work of a short sequence of the others,
//! its *expansion*, in one dispatch; every other instruction is
//! *canonical*. Files hold canonical instructions only (`spec/bytecode.md`
//! describes those); the VM chooses fused ones when it loads a program,
//! after verification (`translate`), so they are an implementation
//! detail that can change without changing the format. Fuel, `--stats` instruction counts and the cost model
//! count canonical instructions: a fused instruction counts as the length
//! of its expansion, so what a program is charged does not depend on
//! which fusions its compiler found (a compiler that fuses nothing emits
//! the expansions, and the two programs count the same).
//!
//! Expansions are written in the disassembler's syntax, one instruction
//! per `;`-separated part, with the fused instruction's operand names for
//! operands. `const #x` is the int constant `x` (an operand's value or a
//! literal), interned by whoever expands; `…` is code the fused
//! instruction does not contain (it pops that code's result): such a form
//! has no contiguous expansion, and its count leaves the `…` out.

use crate::opcodes::{Instr, Opcode};

/// Every fused instruction with its expansion; instructions not listed
/// are canonical.
pub const FUSED: &[(Opcode, &str)] = &[
    (Opcode::Load2, "load a; load b"),
    (Opcode::LoadField, "load local; field.get field"),
    (Opcode::LoadElem, "load array; load index; array.get"),
    (Opcode::StoreElem, "load array; load index; …; array.set"),
    (Opcode::IAddL, "load local; iadd"),
    (Opcode::ISubL, "load local; isub"),
    (Opcode::IMulL, "load local; imul"),
    (Opcode::FAddL, "load local; fadd"),
    (Opcode::FSubL, "load local; fsub"),
    (Opcode::FMulL, "load local; fmul"),
    (Opcode::FDivL, "load local; fdiv"),
    (Opcode::IAddLL, "load a; load b; iadd"),
    (Opcode::ISubLL, "load a; load b; isub"),
    (Opcode::IMulLL, "load a; load b; imul"),
    (Opcode::FAddLL, "load a; load b; fadd"),
    (Opcode::FSubLL, "load a; load b; fsub"),
    (Opcode::FMulLL, "load a; load b; fmul"),
    (Opcode::LocalAddL, "load dst; load src; iadd; store dst"),
    (Opcode::LoadAddImm, "load local; const #value; iadd"),
    (Opcode::FAddK, "const index; fadd"),
    (Opcode::FMulK, "const index; fmul"),
    (Opcode::IAddImm, "const #value; iadd"),
    (Opcode::IMulImm, "const #value; imul"),
    (Opcode::IRemImm, "const #value; irem"),
    (Opcode::StoreLoad, "store store; load load"),
    (Opcode::BrILt, "ilt; jmp.if target"),
    (Opcode::BrILe, "ile; jmp.if target"),
    (Opcode::BrIGt, "igt; jmp.if target"),
    (Opcode::BrIGe, "ige; jmp.if target"),
    (Opcode::BrIEq, "ieq; jmp.if target"),
    (Opcode::BrINe, "ine; jmp.if target"),
    (
        Opcode::BrTagNe,
        "enum.tag; const #variant; ine; jmp.if target",
    ),
    (Opcode::BrILtImm, "const #value; ilt; jmp.if target"),
    (Opcode::BrILeImm, "const #value; ile; jmp.if target"),
    (Opcode::BrIGtImm, "const #value; igt; jmp.if target"),
    (Opcode::BrIGeImm, "const #value; ige; jmp.if target"),
    (Opcode::BrIEqImm, "const #value; ieq; jmp.if target"),
    (Opcode::BrINeImm, "const #value; ine; jmp.if target"),
    (Opcode::BrLLLt, "load a; load b; ilt; jmp.if target"),
    (Opcode::BrLLLe, "load a; load b; ile; jmp.if target"),
    (Opcode::BrLLGt, "load a; load b; igt; jmp.if target"),
    (Opcode::BrLLGe, "load a; load b; ige; jmp.if target"),
    (Opcode::BrLLEq, "load a; load b; ieq; jmp.if target"),
    (Opcode::BrLLNe, "load a; load b; ine; jmp.if target"),
    (
        Opcode::BrLImmLt,
        "load local; const #value; ilt; jmp.if target",
    ),
    (
        Opcode::BrLImmLe,
        "load local; const #value; ile; jmp.if target",
    ),
    (
        Opcode::BrLImmGt,
        "load local; const #value; igt; jmp.if target",
    ),
    (
        Opcode::BrLImmGe,
        "load local; const #value; ige; jmp.if target",
    ),
    (
        Opcode::BrLImmEq,
        "load local; const #value; ieq; jmp.if target",
    ),
    (
        Opcode::BrLImmNe,
        "load local; const #value; ine; jmp.if target",
    ),
    (
        Opcode::BrLTagNe,
        "load local; enum.tag; const #variant; ine; jmp.if target",
    ),
    (
        Opcode::LoadEnumField,
        "load local; enum.field variant field",
    ),
    (
        Opcode::MoveEnumField,
        "load src; enum.field variant field; store dst",
    ),
    (Opcode::CallL, "load local; call func"),
    (
        Opcode::CallLAddImm,
        "load local; const #value; iadd; call func",
    ),
    (Opcode::RetL, "load local; ret"),
    // In a function returning bool, the value is pushed with `bool value`.
    (Opcode::RetImm, "const #value; ret"),
    (
        Opcode::ForStep,
        "load local; const #1; iadd; store local; load local; load end; ilt; jmp.if target",
    ),
    (
        Opcode::StoreForStep,
        "store store; load local; const #1; iadd; store local; load local; load end; ilt; \
         jmp.if target",
    ),
    // For an array of bools, the value is pushed with `bool value`.
    (
        Opcode::StoreElemImm,
        "load array; load index; const #value; array.set",
    ),
    (
        Opcode::AddLBrLe,
        "load local; load step; iadd; store local; load local; load end; ile; jmp.if target",
    ),
    (
        Opcode::StoreElemL,
        "load array; load index; load local; array.set",
    ),
    (
        Opcode::CopyElem,
        "load array; load index; load src_array; load src_index; array.get; array.set",
    ),
    (
        Opcode::MoveElem,
        "load array; load index; array.get; store dst",
    ),
    (
        Opcode::IncLocal,
        "load local; const #value; iadd; store local",
    ),
    (
        Opcode::FieldAddI,
        "load local; load local; field.get field; …; iadd; field.set field",
    ),
    (
        Opcode::FieldSubI,
        "load local; load local; field.get field; …; isub; field.set field",
    ),
    (
        Opcode::FieldAddF,
        "load local; load local; field.get field; …; fadd; field.set field",
    ),
    (
        Opcode::FieldSubF,
        "load local; load local; field.get field; …; fsub; field.set field",
    ),
];

/// Other canonical sequences a fused instruction also stands for (with
/// the same count): the bool forms of the instructions that take an int
/// or bool immediate.
pub const ALTERNATIVES: &[(Opcode, &str)] = &[
    (Opcode::RetImm, "bool value; ret"),
    (
        Opcode::StoreElemImm,
        "load array; load index; bool value; array.set",
    ),
];

/// The canonical instructions an expansion counts: its parts but `…`.
const fn parts(s: &str) -> u8 {
    let b = s.as_bytes();
    let mut n = 1;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b';' {
            n += 1;
        }
        i += 1;
    }
    // `…` is three bytes in UTF-8, starting with 0xE2.
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0xE2 {
            n -= 1;
        }
        i += 1;
    }
    n
}

/// Canonical length by opcode byte: 1 unless the opcode is fused.
const CANONICAL_LEN: [u8; 256] = {
    let mut t = [1u8; 256];
    let mut i = 0;
    while i < FUSED.len() {
        t[FUSED[i].0 as usize] = parts(FUSED[i].1);
        i += 1;
    }
    t
};

impl Opcode {
    /// How many canonical instructions this one counts as.
    #[inline]
    pub const fn canonical_len(self) -> u32 {
        CANONICAL_LEN[self as usize] as u32
    }

    /// Whether this is a fused instruction (see the module docs). Every
    /// fused instruction counts as two or more (a test holds this), so the
    /// count table answers without a search: the loader and the verifier
    /// ask for every instruction.
    #[inline]
    pub const fn is_fused(self) -> bool {
        CANONICAL_LEN[self as usize] > 1
    }

    /// The expansion of a fused instruction.
    pub fn expansion(self) -> Option<&'static str> {
        FUSED.iter().find(|&&(op, _)| op == self).map(|&(_, e)| e)
    }
}

/// One part of an expansion, operands filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// A canonical instruction.
    Instr(Instr),
    /// Push the int constant with this value.
    Int(i64),
    /// Code outside the fused instruction.
    Outside,
}

/// The expansion of `instr` with its operands filled in (`None` for a
/// canonical instruction). Operand values keep their meaning: a jump
/// target stays an index into the same code, for the caller to remap.
pub fn expand(instr: &Instr) -> Option<Vec<Part>> {
    Some(expand_as(instr, instr.opcode().expansion()?))
}

/// An operand in an expansion: one of the fused instruction's operands
/// (by position), or a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    Operand(usize),
    Literal(i64),
}

/// One part of an expansion as written, operands not filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Form {
    /// A canonical instruction with these operands.
    Instr(Opcode, Vec<Arg>),
    /// `const #x`: the int constant `x`.
    Int(Arg),
    /// `…`: code outside the fused instruction.
    Outside,
}

/// Reads expansion `text` of the fused instruction `op` (see [`FUSED`] and
/// [`ALTERNATIVES`]): the one reader of the expansion syntax, for
/// [`expand_as`] and for the VM's translation, which matches the forms.
pub fn parse(op: Opcode, text: &str) -> Vec<Form> {
    let names: Vec<&str> = op.operand_layout().iter().map(|(n, _)| *n).collect();
    let arg = |tok: &str| match tok.parse::<i64>() {
        Ok(v) => Arg::Literal(v),
        Err(_) => Arg::Operand(
            names
                .iter()
                .position(|n| *n == tok)
                .unwrap_or_else(|| panic!("`{tok}` is not an operand of {op:?}")),
        ),
    };
    text.split(';')
        .map(|part| {
            let mut toks = part.split_whitespace();
            let mnemonic = toks.next().expect("a part names an instruction");
            if mnemonic == "…" {
                return Form::Outside;
            }
            let args: Vec<&str> = toks.collect();
            if mnemonic == "const" {
                if let Some(v) = args[0].strip_prefix('#') {
                    return Form::Int(arg(v));
                }
            }
            let part_op = Opcode::ALL
                .iter()
                .copied()
                .find(|o| o.mnemonic() == mnemonic)
                .unwrap_or_else(|| panic!("unknown instruction `{mnemonic}` in an expansion"));
            assert_eq!(
                part_op.operand_layout().len(),
                args.len(),
                "operands of `{mnemonic}`"
            );
            Form::Instr(part_op, args.into_iter().map(arg).collect())
        })
        .collect()
}

/// The instruction `op` with these operand values, in table order, each
/// truncated to its width (a caller that cares checks
/// [`Instr::operand`] afterwards).
pub fn build(op: Opcode, values: &[i64]) -> Instr {
    let mut bytes = vec![op as u8];
    for (&(_, width), v) in op.operand_layout().iter().zip(values) {
        bytes.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    Instr::decode(&bytes).expect("an instruction built from its layout decodes")
}

/// The parts of expansion `text` (see [`FUSED`] and [`ALTERNATIVES`]) with
/// the operands of `instr` filled in.
pub fn expand_as(instr: &Instr, text: &str) -> Vec<Part> {
    let value = |a: &Arg| match *a {
        Arg::Operand(k) => instr.operand(k),
        Arg::Literal(v) => v,
    };
    parse(instr.opcode(), text)
        .iter()
        .map(|form| match form {
            Form::Instr(op, args) => {
                let values: Vec<i64> = args.iter().map(value).collect();
                Part::Instr(build(*op, &values))
            }
            Form::Int(a) => Part::Int(value(a)),
            Form::Outside => Part::Outside,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fused instruction expands into canonical instructions, and
    /// counts as many as its expansion has (besides outside code).
    #[test]
    fn expansions_are_canonical_and_counted() {
        for &(op, _) in FUSED {
            let instr = build(op, &[3; 4]);
            let parts = expand(&instr).unwrap();
            let counted = parts.iter().filter(|p| **p != Part::Outside).count();
            assert_eq!(counted as u32, op.canonical_len(), "{op:?}");
            assert!(counted >= 2, "{op:?} fuses nothing");
            for &(alt, text) in ALTERNATIVES {
                if alt == op {
                    assert_eq!(expand_as(&instr, text).len(), parts.len(), "{op:?}: {text}");
                }
            }
            for p in parts {
                if let Part::Instr(i) = p {
                    assert!(!i.opcode().is_fused(), "{op:?} expands into {i:?}");
                }
            }
        }
        assert_eq!(Opcode::IAdd.canonical_len(), 1);
        assert!(!Opcode::IAdd.is_fused() && Opcode::ForStep.is_fused());
        assert_eq!(expand(&Instr::IAdd {}), None);
    }

    /// The dispatch loop adds each fused instruction's extra count in the
    /// instruction's own arm (a constant there costs nothing measurable,
    /// a table lookup per dispatch did).
    #[test]
    fn the_dispatch_loop_counts_every_fused_instruction() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/interp/dispatch.rs");
        let src = std::fs::read_to_string(path).expect("dispatch.rs");
        for &op in Opcode::ALL {
            let uses = src.matches(&format!("fused!({op:?});")).count();
            assert_eq!(
                uses,
                op.is_fused() as usize,
                "fused!({op:?}) in dispatch.rs"
            );
        }
    }

    #[test]
    fn operands_fill_the_expansion() {
        let parts = expand(&Instr::ForStep {
            local: 4,
            end: 7,
            target: 12,
        })
        .unwrap();
        assert_eq!(
            parts,
            vec![
                Part::Instr(Instr::Load { local: 4 }),
                Part::Int(1),
                Part::Instr(Instr::IAdd {}),
                Part::Instr(Instr::Store { local: 4 }),
                Part::Instr(Instr::Load { local: 4 }),
                Part::Instr(Instr::Load { local: 7 }),
                Part::Instr(Instr::ILt {}),
                Part::Instr(Instr::JmpIf { target: 12 }),
            ]
        );
        assert_eq!(
            expand(&Instr::BrLImmGe {
                local: 1,
                value: -5,
                target: 3
            })
            .unwrap()[1],
            Part::Int(-5)
        );
    }
}
