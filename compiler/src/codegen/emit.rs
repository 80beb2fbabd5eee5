//! Emitting instructions into the function being generated: its line
//! table, jump patching, locals and temporaries. Only canonical code is
//! written, in one form per meaning: `!(a < b)` becomes `a >= b`, `!!x`
//! becomes `x`, and a conditional jump on an int comparison jumps when it
//! holds, so that the VM's translation (which chooses its register
//! instructions, compare-and-branch among them)
//! meets each pattern in one shape.

use super::*;
use tern_vm::opcodes::Cmp;

impl FnGen {
    pub(super) fn set_line(&mut self, line: u32) {
        if line != 0 && line != self.line {
            self.line = line;
            let at = self.code.len() as u32;
            match self.lines.last_mut() {
                Some(last) if last.0 == at => last.1 = line,
                _ => self.lines.push((at, line)),
            }
        }
    }

    /// Emits an instruction; `!` after an int comparison negates the
    /// comparison, and `!!` cancels (never across a jump target).
    pub(super) fn emit(&mut self, i: Instr) {
        let last = self.last_after_barrier();
        match (last, i) {
            (Some(last), Instr::BNot {}) if Cmp::of_int(last).is_some() => {
                let c = Cmp::of_int(last).expect("a comparison");
                *self.code.last_mut().expect("a comparison") = c.negated().int_instr();
            }
            (Some(Instr::BNot {}), Instr::BNot {}) => {
                self.code.pop();
                self.trim_lines();
            }
            _ => self.code.push(i),
        }
    }

    /// The last instruction, unless a jump may land after it.
    fn last_after_barrier(&self) -> Option<Instr> {
        self.code
            .last()
            .copied()
            .filter(|_| self.code.len() > self.barrier)
    }

    /// Emits a direct call.
    pub(super) fn call(&mut self, func: u32) {
        self.code.push(Instr::Call { func });
    }

    /// The position of a loop's step (a jump target only if the body has
    /// a `continue`).
    pub(super) fn step_label(&mut self) -> usize {
        match self.loops.last() {
            Some(lp) if lp.continues.is_empty() => self.code.len(),
            _ => self.here(),
        }
    }

    /// The current position, as a jump target.
    pub(super) fn here(&mut self) -> usize {
        self.barrier = self.code.len();
        self.code.len()
    }

    /// Emits a jump (target patched later). `bnot; jmp.if` is `jmp.ifnot`
    /// and the other way round; `icmp; jmp.ifnot` is the negated
    /// comparison and `jmp.if`.
    pub(super) fn jump(&mut self, i: Instr) -> usize {
        let last = self.last_after_barrier();
        match (last, i) {
            (Some(Instr::BNot {}), Instr::JmpIf { target }) => {
                self.code.pop();
                self.trim_lines();
                return self.jump(Instr::JmpIfNot { target });
            }
            (Some(Instr::BNot {}), Instr::JmpIfNot { target }) => {
                self.code.pop();
                self.trim_lines();
                return self.jump(Instr::JmpIf { target });
            }
            (Some(last), Instr::JmpIfNot { target }) if Cmp::of_int(last).is_some() => {
                let c = Cmp::of_int(last).expect("a comparison");
                *self.code.last_mut().expect("a comparison") = c.negated().int_instr();
                self.code.push(Instr::JmpIf { target });
            }
            _ => self.code.push(i),
        }
        self.code.len() - 1
    }

    /// Drops line entries past the end after an instruction was removed,
    /// keeping the earliest line for the position.
    pub(super) fn trim_lines(&mut self) {
        let len = self.code.len() as u32;
        while self.lines.len() >= 2 && self.lines[self.lines.len() - 2].0 >= len {
            self.lines.pop();
        }
        if let Some(last) = self.lines.last_mut() {
            if last.0 > len {
                last.0 = len;
            }
        }
        self.line = self.lines.last().map_or(0, |l| l.1);
    }

    pub(super) fn patch(&mut self, at: usize, target: usize) {
        *self.code[at].target_mut().expect("patching a jump") = target as u32;
    }

    pub(super) fn patch_here(&mut self, at: usize) {
        let here = self.here();
        self.patch(at, here);
    }

    pub(super) fn patch_all_here(&mut self, at: &[usize]) {
        let here = self.here();
        for &j in at {
            self.patch(j, here);
        }
    }

    pub(super) fn temp(&mut self, ty: TypeId) -> u16 {
        self.slots.push(ty);
        self.boxed.push(false);
        (self.slots.len() - 1) as u16
    }

    pub(super) fn is_boxed(&self, id: LocalId) -> bool {
        self.boxed[id as usize] || self.redirect.iter().any(|(p, _)| *p as LocalId == id)
    }

    /// The slot holding local `id` (or its cell).
    pub(super) fn slot(&self, id: LocalId) -> u16 {
        self.redirect
            .iter()
            .find(|(p, _)| *p as LocalId == id)
            .map_or(id as u16, |(_, c)| *c)
    }

    pub(super) fn load_slot(&mut self, id: LocalId) {
        let s = self.slot(id);
        self.emit(Instr::Load { local: s });
    }

    pub(super) fn load_local(&mut self, id: LocalId) {
        self.load_slot(id);
        if self.is_boxed(id) {
            self.emit(Instr::CellGet {});
        }
    }

    pub(super) fn store_local(&mut self, id: LocalId) {
        let s = self.slot(id);
        self.emit(Instr::Store { local: s });
    }
}
