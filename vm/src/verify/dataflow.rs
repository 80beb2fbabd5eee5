//! Abstract interpretation of one function.

use super::rules::{type_name, Ctx};
use super::{
    FuncInfo, Safepoint, VerifyError, MAX_STACK_MAP_ENTRIES, MAX_VERIFY_CELLS, MAX_VERIFY_STEPS,
};
use crate::format::instruction_offsets;
use crate::module::*;

/// What one function's verification has used of its budgets.
#[derive(Default)]
struct Budget {
    cells: usize,
    steps: usize,
    /// Stack-map entries recorded.
    entries: usize,
}

#[derive(Clone, PartialEq, Eq)]
pub(super) struct State {
    pub stack: Vec<TypeId>,
    pub init: Vec<bool>,
}

pub(super) fn verify_function(
    m: &Module,
    index: u32,
    f: &Function,
    infer: bool,
) -> Result<FuncInfo, VerifyError> {
    let offsets = instruction_offsets(&f.code);
    let fail = |at: Option<usize>, message: String| VerifyError {
        func: Some((index, f.name.clone())),
        offset: at.map(|i| offsets[i]),
        message,
    };
    let ctx = Ctx {
        m,
        f,
        slots: f.slot_types().collect(),
    };
    let n = f.code.len();
    // Leaders: where a basic block starts. States are kept only there.
    let mut leader = vec![false; n];
    leader[0] = true;
    for (i, ins) in f.code.iter().enumerate() {
        if let Some(t) = ins.target() {
            if t as usize >= n {
                return Err(fail(Some(i), format!("jump target {t} out of range")));
            }
            leader[t as usize] = true;
            if i + 1 < n {
                leader[i + 1] = true;
            }
        }
    }
    let nleaders = leader.iter().filter(|l| **l).count();
    if nleaders.saturating_mul(ctx.slots.len() + 16) > MAX_VERIFY_CELLS {
        return Err(fail(
            None,
            "function is too complex to verify (too many branches times locals)".into(),
        ));
    }
    let mut states: Vec<Option<State>> = vec![None; n];
    let mut entry_init = vec![false; ctx.slots.len()];
    entry_init[..f.params.len()].fill(true);
    states[0] = Some(State {
        stack: Vec::new(),
        init: entry_init,
    });
    let mut work = vec![0usize];
    let mut queued = vec![false; n];
    queued[0] = true;

    let too_complex = |from: usize, what: &str| {
        fail(
            Some(from),
            format!("function is too complex to verify ({what})"),
        )
    };
    // Merges `s` into the state at leader `to`; returns whether it changed.
    let merge = |states: &mut Vec<Option<State>>,
                 from: usize,
                 to: usize,
                 s: &State,
                 budget: &mut Budget|
     -> Result<bool, VerifyError> {
        match &mut states[to] {
            slot @ None => {
                budget.cells += s.stack.len() + s.init.len() + 16;
                if budget.cells > MAX_VERIFY_CELLS {
                    return Err(too_complex(
                        from,
                        "too many branches times stack and local slots",
                    ));
                }
                *slot = Some(s.clone());
                Ok(true)
            }
            Some(old) => {
                if old.stack != s.stack {
                    let show = |st: &[TypeId]| {
                        st.iter()
                            .map(|t| type_name(m, *t))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    return Err(fail(
                        Some(from),
                        format!(
                            "stack mismatch at merge point {}: [{}] versus [{}]",
                            offsets[to],
                            show(&old.stack),
                            show(&s.stack)
                        ),
                    ));
                }
                let mut changed = false;
                for (a, b) in old.init.iter_mut().zip(&s.init) {
                    if *a && !*b {
                        *a = false;
                        changed = true;
                    }
                }
                Ok(changed)
            }
        }
    };

    let mut max_seen = 0usize;
    let run_block = |start: usize,
                     states: &mut Vec<Option<State>>,
                     record: &mut Option<&mut Vec<Safepoint>>,
                     max_seen: &mut usize,
                     budget: &mut Budget|
     -> Result<Vec<usize>, VerifyError> {
        let mut s = states[start]
            .clone()
            .expect("block entered without a state");
        let mut i = start;
        loop {
            let ins = &f.code[i];
            budget.steps += 1;
            if budget.steps > MAX_VERIFY_STEPS {
                return Err(too_complex(i, "its analysis does not settle"));
            }
            if let Some(rec) = record.as_deref_mut() {
                if ins.opcode().is_safepoint() {
                    let mut refs = Vec::new();
                    for (k, t) in ctx.slots.iter().enumerate() {
                        if s.init[k] && m.is_ref(*t) {
                            refs.push(k as u32);
                        }
                    }
                    for (k, t) in s.stack.iter().enumerate() {
                        if m.is_ref(*t) {
                            refs.push((ctx.slots.len() + k) as u32);
                        }
                    }
                    budget.entries += refs.len();
                    if budget.entries > MAX_STACK_MAP_ENTRIES {
                        return Err(too_complex(i, "its stack maps are too large"));
                    }
                    rec.push((i as u32, refs.into_boxed_slice()));
                }
            }
            ctx.step(&mut s, ins).map_err(|e| fail(Some(i), e))?;
            *max_seen = (*max_seen).max(s.stack.len());
            if !infer && s.stack.len() > f.max_stack as usize {
                return Err(fail(
                    Some(i),
                    format!(
                        "stack height {} exceeds the declared max stack {}",
                        s.stack.len(),
                        f.max_stack
                    ),
                ));
            }
            if s.stack.len() > MAX_STACK_ABS {
                return Err(fail(
                    Some(i),
                    "stack height exceeds the format limit".into(),
                ));
            }
            let mut succ = Vec::new();
            if let Some(t) = ins.target() {
                succ.push(t as usize);
            }
            if ins.falls_through() {
                if i + 1 >= n {
                    return Err(fail(
                        Some(i),
                        "control falls off the end of the function".into(),
                    ));
                }
                if leader[i + 1] {
                    succ.push(i + 1);
                } else {
                    i += 1;
                    continue;
                }
            }
            let mut changed = Vec::new();
            for to in succ {
                if merge(states, i, to, &s, budget)? {
                    changed.push(to);
                }
            }
            return Ok(changed);
        }
    };

    let mut budget = Budget::default();
    while let Some(b) = work.pop() {
        queued[b] = false;
        for to in run_block(b, &mut states, &mut None, &mut max_seen, &mut budget)? {
            if !queued[to] {
                queued[to] = true;
                work.push(to);
            }
        }
    }
    // Fixpoint reached: one more pass over each reachable block from its
    // final entry state records the stack maps.
    let mut safepoints = Vec::new();
    for b in 0..n {
        if leader[b] && states[b].is_some() {
            run_block(
                b,
                &mut states,
                &mut Some(&mut safepoints),
                &mut max_seen,
                &mut budget,
            )?;
        }
    }
    safepoints.sort_by_key(|(i, _)| *i);
    Ok(FuncInfo {
        safepoints,
        max_stack: max_seen as u32,
    })
}

const MAX_STACK_ABS: usize = crate::format::limits::MAX_STACK as usize;
