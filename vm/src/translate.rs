//! Translation after verification: verified canonical code becomes the
//! code the interpreter runs, with fused instructions (see [`crate::fused`])
//! chosen here, where the control flow is known, rather than by the
//! compiler.
//!
//! A fused form is used exactly where the canonical code is its expansion:
//! each contiguous form is a pattern read from its expansion, and a
//! sequence becomes the fused instruction only if expanding that
//! instruction gives back the same canonical instructions (so an operand
//! that does not fit, or a constant that is not an int, is never fused),
//! no jump lands inside it, and it holds at most the one safepoint the
//! fused instruction has. Among the ways to cover a function with
//! patterns, a linear dynamic program picks one with the fewest
//! instructions. The two forms whose expansion has code outside it (an
//! element store `a[i] = v` and a field update `p.f += v`, with `a`, `i`,
//! `p` locals) are found apart, and only when the value's code is short,
//! straight-line, cannot trap or collect and stores nothing, so running it
//! before the loads it skips changes nothing.
//!
//! Reads of constants the init function sets first thing become the
//! constants themselves (see `known_globals`), so `while i < N` over a
//! named `const N` fuses as `while i < 30000000` does.
//!
//! What the interpreter reads about the code moves with it: jump targets,
//! the line table (an instruction has the line of its last canonical part,
//! where it can trap) and the stack maps (a fused safepoint has the map of
//! its canonical safepoint). Fuel and instruction counts need nothing:
//! fused instructions count as their expansions. Translation is linear in
//! the code's size.

use crate::fused::{self, Arg, Form, ALTERNATIVES, FUSED};
use crate::module::{Const, Function, Module};
use crate::opcodes::{Effect, Instr, Opcode};
use crate::verify::FuncInfo;

/// A contiguous fused form as a pattern over canonical code: its parts as
/// `fused::parse` reads them (no `Form::Outside`).
struct Pattern {
    op: Opcode,
    parts: Vec<Form>,
    /// The opcode of each part, for a quick first test.
    opcodes: Vec<Opcode>,
}

fn patterns() -> Vec<Pattern> {
    FUSED
        .iter()
        .chain(ALTERNATIVES)
        .filter(|(_, text)| !text.contains('…'))
        .map(|&(op, text)| {
            let parts = fused::parse(op, text);
            let opcodes = parts
                .iter()
                .map(|p| match p {
                    Form::Instr(op, _) => *op,
                    _ => Opcode::Const,
                })
                .collect();
            Pattern { op, parts, opcodes }
        })
        .collect()
}

/// The patterns, and for each opcode byte the patterns that start with
/// it, so that each position tries only the few that can match.
struct Patterns {
    all: Vec<Pattern>,
    by_first: Vec<Vec<usize>>,
}

impl Patterns {
    fn new() -> Patterns {
        let all = patterns();
        let mut by_first = vec![Vec::new(); 256];
        for (i, p) in all.iter().enumerate() {
            by_first[p.opcodes[0] as usize].push(i);
        }
        Patterns { all, by_first }
    }

    /// The patterns whose opcodes are those of `ops[at..]`.
    fn candidates<'a>(&'a self, ops: &'a [Opcode], at: usize) -> impl Iterator<Item = &'a Pattern> {
        self.by_first[ops[at] as usize]
            .iter()
            .map(|&i| &self.all[i])
            .filter(move |p| ops.get(at..at + p.opcodes.len()) == Some(&p.opcodes[..]))
    }
}

/// One instruction of the translated code and where it came from.
#[derive(Clone, Copy, Debug)]
struct Item {
    instr: Instr,
    /// The canonical instruction whose line and stack map it takes.
    last: usize,
    /// The canonical safepoint it contains, if any.
    safepoint: Option<usize>,
}

/// For each function, the translated instructions inside the value code
/// of a fused store, with the canonical instructions (the skipped loads)
/// that ran before them in the canonical code but are counted with the
/// store: a trap there adds them to the count. Ascending by index.
pub(crate) type Pending = Vec<(u32, u32)>;

/// The globals whose value is known once the program is loaded, with the
/// instruction that pushes it: the init function sets them first thing,
/// each from a constant (`const k; global.set g` or `bool v; global.set
/// g`, before any other instruction, so nothing can run, fail or be
/// interrupted before they are set), and nothing else sets them. Init runs
/// before any other code, so a read anywhere else sees that value.
fn known_globals(module: &Module) -> Vec<Option<Instr>> {
    let mut known = vec![None; module.globals.len()];
    let Some(init) = module.init.and_then(|i| module.functions.get(i as usize)) else {
        return known;
    };
    for pair in init.code.chunks_exact(2) {
        match *pair {
            [value @ (Instr::Const { .. } | Instr::Bool { .. }), Instr::GlobalSet { global }] => {
                if let Some(slot) = known.get_mut(global as usize) {
                    *slot = Some(value);
                }
            }
            _ => break,
        }
    }
    let mut sets = vec![0u32; module.globals.len()];
    for ins in module.functions.iter().flat_map(|f| &f.code) {
        if let Instr::GlobalSet { global } = ins {
            if let Some(n) = sets.get_mut(*global as usize) {
                *n += 1;
            }
        }
    }
    for (g, n) in sets.iter().enumerate() {
        if *n != 1 {
            known[g] = None;
        }
    }
    known
}

/// Translates every function of a verified module in place, and its stack
/// maps with it.
pub(crate) fn translate(module: &mut Module, info: &mut [FuncInfo]) -> Vec<Pending> {
    let patterns = Patterns::new();
    let params: Vec<usize> = module.functions.iter().map(|f| f.params.len()).collect();
    // Reads of known globals become their values (outside init, which
    // sets them), so named constants fuse as literals do.
    let known = known_globals(module);
    for (i, f) in module.functions.iter_mut().enumerate() {
        if Some(i as u32) == module.init {
            continue;
        }
        for ins in &mut f.code {
            if let Instr::GlobalGet { global } = *ins {
                if let Some(Some(value)) = known.get(global as usize) {
                    *ins = *value;
                }
            }
        }
    }
    let consts = &module.consts;
    module
        .functions
        .iter_mut()
        .zip(info.iter_mut())
        .map(|(f, fi)| translate_function(f, fi, consts, &params, &patterns))
        .collect()
}

fn int_const(consts: &[Const], i: &Instr) -> Option<i64> {
    match i {
        Instr::Const { index } => match consts.get(*index as usize) {
            Some(Const::Int(v)) => Some(*v),
            _ => None,
        },
        _ => None,
    }
}

/// The fused instruction `pat` makes of `code[at..]`, if it matches.
fn match_at(
    pat: &Pattern,
    code: &[Instr],
    at: usize,
    target: &[bool],
    consts: &[Const],
    params: &[usize],
) -> Option<Instr> {
    let n = pat.parts.len();
    if at + n > code.len() || (1..n).any(|j| target[at + j]) {
        return None;
    }
    let mut values = [None::<i64>; 4];
    let mut bind = |a: Arg, v: i64| match a {
        Arg::Literal(l) => l == v,
        Arg::Operand(k) => *values[k].get_or_insert(v) == v,
    };
    for (j, part) in pat.parts.iter().enumerate() {
        let ins = &code[at + j];
        let ok = match part {
            Form::Instr(op, args) => {
                ins.opcode() == *op
                    && args
                        .iter()
                        .enumerate()
                        .all(|(k, a)| bind(*a, ins.operand(k)))
            }
            Form::Int(a) => int_const(consts, ins).is_some_and(|v| bind(*a, v)),
            Form::Outside => false,
        };
        if !ok {
            return None;
        }
    }
    let arity = pat.op.operand_layout().len();
    let values: Vec<i64> = values[..arity]
        .iter()
        .map(|v| v.expect("every operand appears in the expansion"))
        .collect();
    let fused = fused::build(pat.op, &values);
    // The fused instruction stands for exactly what is here if every
    // operand value fits its width there (the parts matched with them).
    let same = values
        .iter()
        .enumerate()
        .all(|(k, v)| fused.operand(k) == *v);
    let safepoints = code[at..at + n]
        .iter()
        .filter(|i| i.opcode().is_safepoint())
        .count();
    let sound = match fused {
        // The remainder's divisor is known not to be zero.
        Instr::IRemImm { value } => value != 0,
        // The local is the callee's last argument: it must take one.
        Instr::CallL { func, .. } | Instr::CallLAddImm { func, .. } => {
            params.get(func as usize).is_some_and(|&p| p > 0)
        }
        _ => true,
    };
    (same && sound && safepoints == fused.opcode().is_safepoint() as usize).then_some(fused)
}

/// What a canonical instruction pops and pushes, for one that may be
/// part of the value code of a fused store: it cannot collect, jump or
/// write anything but the operand stack (it may trap: see
/// `Translated::pending`).
fn value_effect(i: &Instr) -> Option<(i32, i32)> {
    use Opcode::*;
    let op = i.opcode();
    match op {
        Load | Const | Bool | LoadCapture | GlobalGet => Some((0, 1)),
        Dup => Some((1, 2)),
        GetField | ALen | EnumTag | CellGet | EnumField => Some((1, 1)),
        AGet => Some((2, 1)),
        _ if op.is_safepoint() || op.is_fused() || i.target().is_some() || !i.falls_through() => {
            None
        }
        _ => match op.effect() {
            Effect::Fixed { pops, pushes } => Some((pops.len() as i32, pushes.len() as i32)),
            Effect::Special => None,
        },
    }
}

/// The end of the value code that starts at `from`: the first index
/// where one value is left and `consumer` takes it, if the code up to
/// there is straight-line (see `value_effect`) and no jump lands in it.
fn quiet_value_end(
    code: &[Instr],
    from: usize,
    target: &[bool],
    consumer: impl Fn(usize) -> bool,
) -> Option<usize> {
    const LONGEST: usize = 24;
    let mut height = 0;
    for (k, ins) in code.iter().enumerate().skip(from).take(LONGEST) {
        if target[k] {
            return None;
        }
        if height == 1 && consumer(k) {
            return Some(k);
        }
        // The value's code may not reach below where it started.
        let (pops, pushes) = value_effect(ins)?;
        if pops > height {
            return None;
        }
        height += pushes - pops;
    }
    None
}

fn translate_function(
    f: &mut Function,
    info: &mut FuncInfo,
    consts: &[Const],
    params: &[usize],
    patterns: &Patterns,
) -> Pending {
    let code = &f.code;
    let n = code.len();
    let ops: Vec<Opcode> = code.iter().map(Instr::opcode).collect();
    let mut target = vec![false; n + 1];
    for ins in code {
        if let Some(t) = ins.target() {
            if let Some(slot) = target.get_mut(t as usize) {
                *slot = true;
            }
        }
    }

    // The forms with code outside them: `load a; load i; v; array.set`
    // becomes `v; array.store a i`, and `load p; load p; field.get f; v;
    // iadd; field.set f` becomes `v; field.iadd p f`.
    let mut skip = vec![false; n];
    let mut replace: Vec<Option<Instr>> = vec![None; n];
    // (first instruction of the value code, its end, loads skipped)
    let mut values: Vec<(usize, usize, u32)> = Vec::new();
    let mut at = 0;
    while at + 2 < n {
        // A contiguous form (`array.store.l`, `array.copy`, ...) is better.
        let contiguous = || {
            patterns.candidates(&ops, at).any(|p| {
                p.parts.len() >= 4 && match_at(p, code, at, &target, consts, params).is_some()
            })
        };
        let found = match (code[at], code[at + 1]) {
            (Instr::Load { local: array }, Instr::Load { local: index }) if !target[at + 1] => {
                quiet_value_end(code, at + 2, &target, |q| code[q] == Instr::ASet {})
                    .filter(|_| !contiguous())
                    .map(|q| (q, 2, Instr::StoreElem { array, index }))
            }
            _ => None,
        }
        .or_else(|| match (code[at], code[at + 1], code[at + 2]) {
            (Instr::Load { local: p }, Instr::Load { local: p2 }, Instr::GetField { field })
                if p == p2 && !target[at + 1] && !target[at + 2] =>
            {
                let updates = |q: usize| {
                    matches!(
                        code.get(q..q + 2),
                        Some([
                            Instr::IAdd {} | Instr::ISub {} | Instr::FAdd {} | Instr::FSub {},
                            Instr::SetField { field: f2 },
                        ]) if *f2 == field
                    )
                };
                quiet_value_end(code, at + 3, &target, updates).and_then(|q| {
                    let update = match code.get(q..q + 2)? {
                        [Instr::IAdd {}, Instr::SetField { field: f2 }] if *f2 == field => {
                            Instr::FieldAddI { local: p, field }
                        }
                        [Instr::ISub {}, Instr::SetField { field: f2 }] if *f2 == field => {
                            Instr::FieldSubI { local: p, field }
                        }
                        [Instr::FAdd {}, Instr::SetField { field: f2 }] if *f2 == field => {
                            Instr::FieldAddF { local: p, field }
                        }
                        [Instr::FSub {}, Instr::SetField { field: f2 }] if *f2 == field => {
                            Instr::FieldSubF { local: p, field }
                        }
                        _ => return None,
                    };
                    if target[q] || target[q + 1] {
                        return None;
                    }
                    skip[q] = true;
                    Some((q + 1, 3, update))
                })
            }
            _ => None,
        });
        match found {
            Some((q, loads, fused)) => {
                for s in &mut skip[at..at + loads] {
                    *s = true;
                }
                replace[q] = Some(fused);
                let end = if skip[q - 1] { q - 1 } else { q };
                values.push((at + loads, end, loads as u32));
                at += loads;
            }
            None => at += 1,
        }
    }

    // The fewest instructions covering the rest: best[k] is the count
    // from canonical position k on, with the pattern chosen there.
    let mut best = vec![0u32; n + 1];
    let mut choice: Vec<Option<(Instr, usize)>> = vec![None; n];
    for k in (0..n).rev() {
        if skip[k] {
            best[k] = best[k + 1];
            continue;
        }
        best[k] = 1 + best[k + 1];
        if replace[k].is_some() {
            continue;
        }
        for pat in patterns.candidates(&ops, k) {
            let len = pat.parts.len();
            if k + len > n || (k..k + len).any(|j| skip[j] || replace[j].is_some()) {
                continue;
            }
            if let Some(fused) = match_at(pat, code, k, &target, consts, params) {
                if 1 + best[k + len] < best[k] {
                    best[k] = 1 + best[k + len];
                    choice[k] = Some((fused, len));
                }
            }
        }
    }

    let mut items: Vec<Item> = Vec::with_capacity(best[0] as usize);
    // The translated index of each canonical position (a skipped one's is
    // that of the instruction after it, where its work now happens).
    let mut index_of = vec![0u32; n + 1];
    let mut k = 0;
    while k < n {
        index_of[k] = items.len() as u32;
        if skip[k] {
            k += 1;
            continue;
        }
        let (instr, len) = match (replace[k], choice[k]) {
            (Some(fused), _) => (fused, 1),
            (None, Some((fused, len))) => (fused, len),
            (None, None) => (code[k], 1),
        };
        for slot in &mut index_of[k + 1..k + len] {
            *slot = items.len() as u32;
        }
        items.push(Item {
            instr,
            last: k + len - 1,
            safepoint: (k..k + len).find(|&j| code[j].opcode().is_safepoint()),
        });
        k += len;
    }
    index_of[n] = items.len() as u32;

    let mut lines = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let line = f.line_of(item.last);
        if lines.last().map(|&(_, l)| l) != Some(line) {
            lines.push((i as u32, line));
        }
    }
    let safepoints = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let at = item.safepoint?;
            let refs = info.refs_at(at as u32);
            let reachable = info
                .safepoints
                .binary_search_by_key(&(at as u32), |(p, _)| *p)
                .is_ok();
            reachable.then(|| (i as u32, refs.to_vec().into_boxed_slice()))
        })
        .collect();
    let mut new_code: Vec<Instr> = items.iter().map(|it| it.instr).collect();
    for ins in &mut new_code {
        if let Some(t) = ins.target_mut() {
            *t = index_of[*t as usize];
        }
    }
    f.code = new_code;
    f.lines = lines;
    info.safepoints = safepoints;
    let mut pending = Vec::new();
    for (from, end, loads) in values {
        for i in index_of[from]..index_of[end] {
            pending.push((i, loads));
        }
    }
    pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::{Const, Function, Module, INT};

    fn function(code: Vec<Instr>) -> Function {
        Function {
            name: "f".into(),
            params: vec![],
            ret: crate::module::UNIT,
            locals: vec![],
            captures: vec![],
            max_stack: 2,
            code,
            source: 0,
            lines: vec![],
        }
    }

    fn module(init: Vec<Instr>, other: Vec<Instr>) -> Module {
        let mut m = Module::new();
        m.consts = vec![Const::Int(7), Const::Int(8)];
        m.globals = vec![INT, INT, INT];
        m.functions = vec![function(other), function(init)];
        m.init = Some(1);
        m
    }

    const SET0: [Instr; 2] = [Instr::Const { index: 0 }, Instr::GlobalSet { global: 0 }];

    #[test]
    fn globals_set_first_from_constants_are_known() {
        let mut init = SET0.to_vec();
        init.extend([Instr::Bool { value: 1 }, Instr::GlobalSet { global: 1 }]);
        init.extend([Instr::Const { index: 1 }, Instr::GlobalSet { global: 2 }]);
        init.push(Instr::Ret {});
        let known = known_globals(&module(init, vec![]));
        assert_eq!(
            known,
            vec![
                Some(Instr::Const { index: 0 }),
                Some(Instr::Bool { value: 1 }),
                Some(Instr::Const { index: 1 }),
            ]
        );
    }

    #[test]
    fn a_global_set_after_other_code_or_twice_is_not_known() {
        // After a call (which may read it first), or set again elsewhere.
        let mut init = SET0.to_vec();
        init.extend([Instr::Call { func: 0 }, Instr::Pop {}]);
        init.extend([Instr::Const { index: 1 }, Instr::GlobalSet { global: 1 }]);
        init.push(Instr::Ret {});
        let other = vec![Instr::Const { index: 1 }, Instr::GlobalSet { global: 0 }];
        let known = known_globals(&module(init, other));
        assert_eq!(known, vec![None, None, None]);
        // No init function: nothing is known.
        let mut m = module(SET0.to_vec(), vec![]);
        m.init = None;
        assert_eq!(known_globals(&m), vec![None, None, None]);
    }
}
