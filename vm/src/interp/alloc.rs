//! The instructions that allocate one object from values on the stack:
//! arrays, records (structs and enum variants), closures, cells, the text
//! of an int, and the one that grows an array (`array.push`), with
//! `array.pop` beside it. Each is one function out of the dispatch loop,
//! called with the running frame's `pc` and the fuel count saved in
//! `self`, in the convention of `ops`: it takes the value stack and the
//! stack pointer, makes room on the heap at its safepoint before it pops
//! anything, and returns the new stack pointer.

use super::{Vm, NO_UNIT};
use crate::heap::{array_bytes, OBJECT_BYTES};
use crate::module::TypeId;
use crate::stack::ValueStack;
use crate::trap::{Trap, TrapKind};

impl Vm<'_> {
    /// `array.new ty len`: an array of the `len` values on top.
    #[inline(never)]
    pub(super) fn op_new_array(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
        len: u32,
    ) -> Result<usize, Trap> {
        // No work units: each element was pushed by an instruction of its
        // own, which paid for copying it.
        let len = len as usize;
        let bytes = self.prog.byte_items(ty);
        self.reserve(stack, array_bytes(bytes, len))?;
        let at = sp - len;
        stack[at] = self
            .heap
            .alloc_array_of(self.prog.holds_refs(ty), bytes, &stack[at..sp]);
        Ok(at + 1)
    }

    /// `array.push`: appends the top value to the array under it.
    #[inline(never)]
    pub(super) fn op_array_push(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        let (a, v) = (stack[sp - 2], stack[sp - 1]);
        let need = self.heap.array_push_need(a);
        self.reserve(stack, need)?;
        let r = self.heap.array_push(a, v);
        self.watched(r)?;
        Ok(sp - 2)
    }

    /// `array.pop`: the last element, removed; traps on an empty array.
    #[inline(never)]
    pub(super) fn op_array_pop(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
    ) -> Result<usize, Trap> {
        match self.heap.array_pop(stack[sp - 1]) {
            Some(v) => {
                stack[sp - 1] = v;
                Ok(sp)
            }
            None => Err(self.fail(TrapKind::EmptyPop, "pop from an empty array".into())),
        }
    }

    /// `struct.new ty` and `enum.new ty variant`: a record of the values on
    /// top (a variant without a payload is its one shared value).
    #[inline(never)]
    pub(super) fn op_new_record(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
        variant: u16,
    ) -> Result<usize, Trap> {
        let (layout, counts) = self.prog.shape(ty);
        let n = counts[variant as usize] as usize;
        if n == 0 {
            let unit = self.units[layout as usize]
                .get(variant as usize)
                .copied()
                .unwrap_or(NO_UNIT);
            if unit != NO_UNIT {
                stack[sp] = unit;
                return Ok(sp + 1);
            }
        }
        self.reserve(stack, OBJECT_BYTES + 8 * n)?;
        let at = sp - n;
        stack[at] = self
            .heap
            .alloc_record(layout, variant as u32, &stack[at..sp]);
        Ok(at + 1)
    }

    /// `closure.new func`: a closure of `func` over the captures on top.
    #[inline(never)]
    pub(super) fn op_new_closure(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        func: u32,
    ) -> Result<usize, Trap> {
        let n = self.prog.module().functions[func as usize].captures.len();
        self.reserve(stack, OBJECT_BYTES + 8 * n)?;
        let at = sp - n;
        stack[at] = self.heap.alloc_closure(func, &stack[at..sp]);
        Ok(at + 1)
    }

    /// `cell.new ty`: a cell holding the top value.
    #[inline(never)]
    pub(super) fn op_new_cell(
        &mut self,
        stack: &mut ValueStack,
        sp: usize,
        ty: TypeId,
    ) -> Result<usize, Trap> {
        self.reserve(stack, OBJECT_BYTES)?;
        let is_ref = self.prog.holds_refs(ty);
        stack[sp - 1] = self.heap.alloc_cell(is_ref, stack[sp - 1]);
        Ok(sp)
    }

    /// `itos`: the decimal text of the int on top.
    #[inline(never)]
    pub(super) fn op_itos(&mut self, stack: &mut ValueStack, sp: usize) -> Result<usize, Trap> {
        self.reserve(stack, OBJECT_BYTES)?;
        stack[sp - 1] = self.heap.alloc_int_text(stack[sp - 1] as i64);
        Ok(sp)
    }
}
