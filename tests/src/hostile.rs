//! Hand-built functions shaped to make verification expensive: many
//! locals, long chains of jumps, deep stacks at merge points, many
//! safepoints, loops the analysis must go round many times. The complexity
//! tests (`tests/tests/robustness.rs`, `tests/tests/malformed.rs`) build
//! them near the format's limits and count the verifier's work; the
//! `structural` fuzz target mutates small ones.
//!
//! Each returns a module whose only function is `main`; the code is valid
//! unless said otherwise, so what stops the verifier, if anything, is its
//! budget.

use tern_vm::module::*;
use tern_vm::Instr;

/// A module whose `main` has `locals` and `code`, max stack 8.
pub fn module_with(locals: Vec<TypeId>, code: Vec<Instr>) -> Module {
    let mut m = Module::new();
    m.sources = vec!["hostile.src".into()];
    m.functions = vec![Function {
        name: "main".into(),
        params: vec![],
        ret: UNIT,
        locals,
        captures: vec![],
        max_stack: 8,
        code,
        source: 0,
        lines: vec![(0, 1)],
    }];
    m.entry = Some(0);
    m
}

/// `locals` bool locals; `steps` steps that each branch to a jump to the
/// same block (a branch target kept for later by a last-in, first-out
/// worklist) and then initialize one more local; then a chain of `chain`
/// jumps from that block. Processed most recent first, each kept jump
/// takes one more local out of the chain's initialized set and so walks
/// the whole chain again: steps × chain × locals (the 0.52 MB
/// module of this shape took 4.7 s).
pub fn ladder(locals: usize, steps: usize, chain: usize) -> Module {
    let mut code = Vec::new();
    let kept = 4 * steps as u32 + 1;
    let head = kept + steps as u32;
    for j in 0..steps {
        code.push(Instr::Bool { value: 1 });
        code.push(Instr::JmpIf {
            target: kept + j as u32,
        });
        code.push(Instr::Bool { value: 1 });
        code.push(Instr::Store {
            local: (j % locals) as u16,
        });
    }
    code.push(Instr::Jmp { target: head });
    code.extend((0..steps).map(|_| Instr::Jmp { target: head }));
    code.extend((0..chain as u32).map(|k| Instr::Jmp {
        target: head + k + 1,
    }));
    code.push(Instr::Ret {});
    module_with(vec![BOOL; locals], code)
}

/// `locals` bool locals, each initialized, then a chain of `jumps` jumps:
/// a state of `locals` bits at every one.
pub fn chain(locals: usize, jumps: usize) -> Module {
    let mut code = Vec::new();
    for j in 0..locals {
        code.push(Instr::Bool { value: 1 });
        code.push(Instr::Store { local: j as u16 });
    }
    let at = code.len() as u32;
    code.extend((0..jumps as u32).map(|k| Instr::Jmp { target: at + k + 1 }));
    code.push(Instr::Ret {});
    module_with(vec![BOOL; locals], code)
}

/// An irreducible staircase: blocks S_1..S_k in a row, each jumping back
/// to the one before and falling through to the one after, S_1 jumping to
/// a chain of `chain` jumps; S_j is also entered from outside with its
/// first j locals uninitialized. Each round of the analysis carries one more
/// uninitialized local back to S_1, and so down the chain again: k rounds
/// of the chain. (A depth-first search that takes jumps first walks the
/// whole entry ladder, then enters S_1, so the backward jumps are
/// retreating edges.)
pub fn stairs(k: usize, chain: usize) -> Module {
    let mut code = Vec::new();
    let ladder = 5 * k as u32 + 1;
    let entries = ladder;
    let s = |j: usize| entries + k as u32 + 2 * (j as u32 - 1);
    let tail = s(k) + 3;
    // For j = k down to 1: branch past an entry jump to S_j (taken with
    // locals j..k - 1 initialized), then initialize local j - 1.
    for (n, j) in (1..=k).rev().enumerate() {
        code.push(Instr::Bool { value: 1 });
        code.push(Instr::JmpIf {
            target: 5 * n as u32 + 3,
        });
        code.push(Instr::Jmp {
            target: entries + j as u32 - 1,
        });
        code.push(Instr::Bool { value: 1 });
        code.push(Instr::Store {
            local: (j - 1) as u16,
        });
    }
    code.push(Instr::Ret {});
    code.extend((1..=k).map(|j| Instr::Jmp { target: s(j) }));
    for j in 1..=k {
        code.push(Instr::Bool { value: 1 });
        code.push(Instr::JmpIf {
            target: if j == 1 { tail } else { s(j - 1) },
        });
    }
    code.push(Instr::Ret {});
    debug_assert_eq!(code.len() as u32, tail);
    code.extend((0..chain as u32).map(|i| Instr::Jmp {
        target: tail + i + 1,
    }));
    code.push(Instr::Ret {});
    module_with(vec![BOOL; k], code)
}

/// `height` bools pushed, then `jumps` jumps (each a merge point with the
/// whole stack), then the bools popped.
pub fn deep_stack(height: usize, jumps: usize) -> Module {
    let mut code = vec![Instr::Bool { value: 1 }; height];
    code.extend((0..jumps).map(|k| Instr::Jmp {
        target: (height + k + 1) as u32,
    }));
    code.extend(vec![Instr::Pop {}; height]);
    code.push(Instr::Ret {});
    let mut m = module_with(vec![], code);
    m.functions[0].max_stack = height as u32;
    m
}

/// `locals` str locals, each initialized, then `safepoints` allocations:
/// a stack map of `locals` entries at each.
pub fn many_refs(locals: usize, safepoints: usize) -> Module {
    let mut code = Vec::new();
    for j in 0..locals {
        code.push(Instr::Const { index: 0 });
        code.push(Instr::Store { local: j as u16 });
    }
    for _ in 0..safepoints {
        code.push(Instr::NewArray { ty: 5, len: 0 });
        code.push(Instr::Pop {});
    }
    code.push(Instr::Ret {});
    let mut m = module_with(vec![STR; locals], code);
    m.consts = vec![Const::Str("s".into())];
    m.types.push(TypeDesc::Array(INT));
    m
}

/// `m` with `n` unreachable `nop`s after the code of `main`: bytes that
/// raise its verification budget and add no work but a scan.
pub fn padded(mut m: Module, n: usize) -> Module {
    m.functions[0].code.extend(vec![Instr::Nop {}; n]);
    m
}

/// `height` bools pushed and kept while `ops` instructions that run as
/// themselves in translated code (`seq` of two strings, then `pop`) go
/// by, then the bools
/// popped: translation work that grew with the stack at each would be
/// quadratic.
pub fn deep_stack_ops(height: usize, ops: usize) -> Module {
    let mut code = vec![Instr::Bool { value: 1 }; height];
    for _ in 0..ops {
        code.push(Instr::Const { index: 0 });
        code.push(Instr::Const { index: 0 });
        code.push(Instr::SEq {});
        code.push(Instr::Pop {});
    }
    code.extend(vec![Instr::Pop {}; height]);
    code.push(Instr::Ret {});
    let mut m = module_with(vec![], code);
    m.consts = vec![Const::Str("s".into())];
    m.functions[0].max_stack = height as u32 + 2;
    m
}
