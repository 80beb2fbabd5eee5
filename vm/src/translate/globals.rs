//! Globals whose value is known when the program loads (see
//! `known_globals`).

use crate::module::Module;
use crate::opcodes::Instr;

/// The globals whose value is known once the program is loaded, with the
/// instruction that pushes it: the init function sets them first thing,
/// each from a constant (`const k; global.set g` or `bool v; global.set
/// g`, before any other instruction, so nothing can run, fail or be
/// interrupted before they are set), and nothing else sets them. Init runs
/// before any other code, so a read anywhere else sees that value.
pub(super) fn known_globals(module: &Module) -> Vec<Option<Instr>> {
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
