//! The array methods that call a function (`map`, `filter`, `fold`,
//! `any`, `all`, `sort_by`), compiled to loops where they are called, so
//! the function is called like any other closure call: metered, traced
//! and compiled by the JIT with its caller, for every element type
//! without generics in the instruction set.
//!
//! The length is read on each step (the function may change the array:
//! the loop then sees the change, and element reads stay bounds-checked).

use super::*;

impl Gen<'_> {
    pub(super) fn array_fn(&mut self, fg: &mut FnGen, x: &Expr, f: ArrayFn, ops: &[Expr]) {
        let (xs, fun_e) = (&ops[0], &ops[ops.len() - 1]);
        let arr_ty = self.ty(&xs.ty);
        let fn_ty = self.ty(&fun_e.ty);
        let Ty::Array(el) = &xs.ty else {
            unreachable!("checked: an array method")
        };
        let el_ty = self.ty(el);
        let arr = fg.temp(arr_ty);
        let fun = fg.temp(fn_ty);
        self.expr(fg, xs);
        fg.emit(Instr::Store { local: arr });
        // `fold`'s initial value is evaluated before the function, as written.
        let acc = if f == ArrayFn::Fold {
            let t = self.ty(&ops[1].ty);
            let acc = fg.temp(t);
            self.expr(fg, &ops[1]);
            fg.emit(Instr::Store { local: acc });
            Some(acc)
        } else {
            None
        };
        self.expr(fg, fun_e);
        fg.emit(Instr::Store { local: fun });
        fg.set_line(x.line);
        if f == ArrayFn::SortBy {
            self.merge_sort(fg, arr, arr_ty, fun, fn_ty);
            return;
        }
        let out_ty = self.ty(&x.ty);
        let out = fg.temp(out_ty);
        match f {
            ArrayFn::Map | ArrayFn::Filter => fg.emit(Instr::NewArray { ty: out_ty, len: 0 }),
            ArrayFn::Any => fg.emit(Instr::Bool { value: 0 }),
            ArrayFn::All => fg.emit(Instr::Bool { value: 1 }),
            _ => fg.emit(Instr::Load {
                local: acc.expect("fold"),
            }),
        }
        fg.emit(Instr::Store { local: out });
        let i = fg.temp(m::INT);
        let item = fg.temp(el_ty);
        let zero = self.constant(ConstKey::Int(0));
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::Store { local: i });
        let top = fg.here();
        let exit = jump_if_past_end(fg, i, arr);
        fg.emit(Instr::Load { local: arr });
        fg.emit(Instr::Load { local: i });
        fg.emit(Instr::AGet {});
        fg.emit(Instr::Store { local: item });
        let mut done = None;
        match f {
            ArrayFn::Map => {
                fg.emit(Instr::Load { local: out });
                fg.emit(Instr::Load { local: fun });
                fg.emit(Instr::Load { local: item });
                fg.emit(Instr::CallClosure { ty: fn_ty });
                fg.emit(Instr::APush {});
            }
            ArrayFn::Filter => {
                fg.emit(Instr::Load { local: fun });
                fg.emit(Instr::Load { local: item });
                fg.emit(Instr::CallClosure { ty: fn_ty });
                let skip = fg.jump(Instr::JmpIfNot { target: 0 });
                fg.emit(Instr::Load { local: out });
                fg.emit(Instr::Load { local: item });
                fg.emit(Instr::APush {});
                fg.patch_here(skip);
            }
            ArrayFn::Fold => {
                fg.emit(Instr::Load { local: fun });
                fg.emit(Instr::Load { local: out });
                fg.emit(Instr::Load { local: item });
                fg.emit(Instr::CallClosure { ty: fn_ty });
                fg.emit(Instr::Store { local: out });
            }
            ArrayFn::Any | ArrayFn::All => {
                // The first element that settles it ends the loop.
                let any = f == ArrayFn::Any;
                fg.emit(Instr::Load { local: fun });
                fg.emit(Instr::Load { local: item });
                fg.emit(Instr::CallClosure { ty: fn_ty });
                let next = fg.jump(if any {
                    Instr::JmpIfNot { target: 0 }
                } else {
                    Instr::JmpIf { target: 0 }
                });
                fg.emit(Instr::Bool { value: any as u8 });
                fg.emit(Instr::Store { local: out });
                done = Some(fg.jump(Instr::Jmp { target: 0 }));
                fg.patch_here(next);
            }
            ArrayFn::SortBy => unreachable!("above"),
        }
        self.increment(fg, i);
        fg.emit(Instr::Jmp { target: top as u32 });
        fg.patch_here(exit);
        if let Some(d) = done {
            fg.patch_here(d);
        }
        fg.emit(Instr::Load { local: out });
    }

    /// `xs.min()` / `xs.max()`: the first element, then each other one
    /// that beats it (ints and floats as `math.min`/`math.max` have it,
    /// so a NaN wins; strings by `<`); an empty array panics.
    pub(super) fn array_extreme(&mut self, fg: &mut FnGen, x: &Expr, xs: &Expr, max: bool) {
        let arr_ty = self.ty(&xs.ty);
        let el_ty = self.ty(&x.ty);
        let (arr, best, i) = (fg.temp(arr_ty), fg.temp(el_ty), fg.temp(m::INT));
        self.expr(fg, xs);
        fg.emit(Instr::Store { local: arr });
        fg.set_line(x.line);
        fg.emit(Instr::Load { local: arr });
        fg.emit(Instr::ALen {});
        let zero = self.constant(ConstKey::Int(0));
        let one = self.constant(ConstKey::Int(1));
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::INe {});
        let some = fg.jump(Instr::JmpIf { target: 0 });
        let what = if max { "max" } else { "min" };
        let msg = self.constant(ConstKey::Str(format!("{what} of an empty array")));
        fg.emit(Instr::Const { index: msg });
        fg.emit(Instr::Panic {});
        fg.patch_here(some);
        fg.emit(Instr::Load { local: arr });
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::AGet {});
        fg.emit(Instr::Store { local: best });
        fg.emit(Instr::Const { index: one });
        fg.emit(Instr::Store { local: i });
        let top = fg.here();
        let exit = jump_if_past_end(fg, i, arr);
        match x.ty {
            Ty::Str => {
                // best = x if x beats best
                fg.emit(Instr::Load { local: arr });
                fg.emit(Instr::Load { local: i });
                fg.emit(Instr::AGet {});
                fg.emit(Instr::Load { local: best });
                fg.emit(if max { Instr::SGt {} } else { Instr::SLt {} });
                let keep = fg.jump(Instr::JmpIfNot { target: 0 });
                fg.emit(Instr::Load { local: arr });
                fg.emit(Instr::Load { local: i });
                fg.emit(Instr::AGet {});
                fg.emit(Instr::Store { local: best });
                fg.patch_here(keep);
            }
            _ => {
                fg.emit(Instr::Load { local: best });
                fg.emit(Instr::Load { local: arr });
                fg.emit(Instr::Load { local: i });
                fg.emit(Instr::AGet {});
                fg.emit(match (&x.ty, max) {
                    (Ty::Float, false) => Instr::FMin {},
                    (Ty::Float, true) => Instr::FMax {},
                    (_, false) => Instr::IMin {},
                    (_, true) => Instr::IMax {},
                });
                fg.emit(Instr::Store { local: best });
            }
        }
        self.increment(fg, i);
        fg.emit(Instr::Jmp { target: top as u32 });
        fg.patch_here(exit);
        fg.emit(Instr::Load { local: best });
    }

    /// `dst[k] = src[from]; from += 1`.
    fn merge_move(&mut self, fg: &mut FnGen, dst: u16, k: u16, src: u16, from: u16) {
        fg.emit(Instr::Load { local: dst });
        fg.emit(Instr::Load { local: k });
        fg.emit(Instr::Load { local: src });
        fg.emit(Instr::Load { local: from });
        fg.emit(Instr::AGet {});
        fg.emit(Instr::ASet {});
        self.increment(fg, from);
    }

    /// `arr.sort_by(fun)`: a stable bottom-up merge sort between `arr` and
    /// a buffer, `fun(a, b) < 0` meaning `a` goes first; O(n log n) calls.
    ///
    /// ```text
    ///   n = len(arr); if n < 2 goto done
    ///   src = arr; dst = [arr[0]; n]; width = 1; flipped = false
    /// outer: if width >= n goto finish
    ///   i = 0
    /// pass: if i >= n goto next_width
    ///   mid = min(i + width, n); hi = min(mid + width, n)
    ///   l = i; r = mid; k = i
    /// merge: if k >= hi goto merged
    ///   if l >= mid goto right; if r >= hi goto left
    ///   if fun(src[r], src[l]) < 0 goto right
    /// left: dst[k] = src[l]; l += 1; goto step
    /// right: dst[k] = src[r]; r += 1
    /// step: k += 1; goto merge
    /// merged: i = hi; goto pass
    /// next_width: swap src, dst; flipped = !flipped; width += width; goto outer
    /// finish: if flipped, copy src into arr
    /// done:
    /// ```
    fn merge_sort(&mut self, fg: &mut FnGen, arr: u16, arr_ty: TypeId, fun: u16, fn_ty: TypeId) {
        let int = |fg: &mut FnGen| fg.temp(m::INT);
        let (n, width, i, mid, hi, l, r, k) = (
            int(fg),
            int(fg),
            int(fg),
            int(fg),
            int(fg),
            int(fg),
            int(fg),
            int(fg),
        );
        let (src, dst, swap) = (fg.temp(arr_ty), fg.temp(arr_ty), fg.temp(arr_ty));
        let flipped = fg.temp(m::BOOL);
        let zero = self.constant(ConstKey::Int(0));
        let one = self.constant(ConstKey::Int(1));
        let two = self.constant(ConstKey::Int(2));
        let load = |fg: &mut FnGen, local: u16| fg.emit(Instr::Load { local });
        let store = |fg: &mut FnGen, local: u16| fg.emit(Instr::Store { local });
        load(fg, arr);
        fg.emit(Instr::ALen {});
        store(fg, n);
        load(fg, n);
        fg.emit(Instr::Const { index: two });
        fg.emit(Instr::ILt {});
        let done = fg.jump(Instr::JmpIf { target: 0 });
        load(fg, arr);
        store(fg, src);
        load(fg, arr);
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::AGet {});
        load(fg, n);
        fg.emit(Instr::NewArrayRep { ty: arr_ty });
        store(fg, dst);
        fg.emit(Instr::Const { index: one });
        store(fg, width);
        fg.emit(Instr::Bool { value: 0 });
        store(fg, flipped);
        // outer:
        let outer = fg.here();
        let finish = jump_if_ge(fg, width, n);
        fg.emit(Instr::Const { index: zero });
        store(fg, i);
        // pass:
        let pass = fg.here();
        let next_width = jump_if_ge(fg, i, n);
        load(fg, i);
        load(fg, width);
        fg.emit(Instr::IAdd {});
        load(fg, n);
        fg.emit(Instr::IMin {});
        store(fg, mid);
        load(fg, mid);
        load(fg, width);
        fg.emit(Instr::IAdd {});
        load(fg, n);
        fg.emit(Instr::IMin {});
        store(fg, hi);
        load(fg, i);
        store(fg, l);
        load(fg, mid);
        store(fg, r);
        load(fg, i);
        store(fg, k);
        // merge:
        let merge = fg.here();
        let merged = jump_if_ge(fg, k, hi);
        let right_a = jump_if_ge(fg, l, mid);
        let left_a = jump_if_ge(fg, r, hi);
        load(fg, fun);
        load(fg, src);
        load(fg, r);
        fg.emit(Instr::AGet {});
        load(fg, src);
        load(fg, l);
        fg.emit(Instr::AGet {});
        fg.emit(Instr::CallClosure { ty: fn_ty });
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::ILt {});
        let right_b = fg.jump(Instr::JmpIf { target: 0 });
        // left: dst[k] = src[l]; l += 1; goto step
        fg.patch_here(left_a);
        self.merge_move(fg, dst, k, src, l);
        let to_step = fg.jump(Instr::Jmp { target: 0 });
        // right: dst[k] = src[r]; r += 1
        fg.patch_here(right_a);
        fg.patch_here(right_b);
        self.merge_move(fg, dst, k, src, r);
        // step:
        fg.patch_here(to_step);
        self.increment(fg, k);
        fg.emit(Instr::Jmp {
            target: merge as u32,
        });
        // merged:
        fg.patch_here(merged);
        load(fg, hi);
        store(fg, i);
        fg.emit(Instr::Jmp {
            target: pass as u32,
        });
        // next_width:
        fg.patch_here(next_width);
        load(fg, src);
        store(fg, swap);
        load(fg, dst);
        store(fg, src);
        load(fg, swap);
        store(fg, dst);
        load(fg, flipped);
        fg.emit(Instr::BNot {});
        store(fg, flipped);
        load(fg, width);
        load(fg, width);
        fg.emit(Instr::IAdd {});
        store(fg, width);
        fg.emit(Instr::Jmp {
            target: outer as u32,
        });
        // finish: the sorted elements are in `src`; if that is the buffer,
        // copy them back (k counts up).
        fg.patch_here(finish);
        load(fg, flipped);
        let in_place = fg.jump(Instr::JmpIfNot { target: 0 });
        fg.emit(Instr::Const { index: zero });
        store(fg, k);
        let copy = fg.here();
        let copied = jump_if_ge(fg, k, n);
        load(fg, arr);
        load(fg, k);
        load(fg, src);
        load(fg, k);
        fg.emit(Instr::AGet {});
        fg.emit(Instr::ASet {});
        self.increment(fg, k);
        fg.emit(Instr::Jmp {
            target: copy as u32,
        });
        fg.patch_here(copied);
        fg.patch_here(in_place);
        fg.patch_here(done);
    }
}

/// `if a >= b goto ?` on two int locals: the branch to patch.
/// `if !(i < len(arr))` jump (to be patched): a loop's test over an
/// array whose length may change as it runs.
fn jump_if_past_end(fg: &mut FnGen, i: u16, arr: u16) -> usize {
    fg.emit(Instr::Load { local: i });
    fg.emit(Instr::Load { local: arr });
    fg.emit(Instr::ALen {});
    fg.emit(Instr::ILt {});
    fg.jump(Instr::JmpIfNot { target: 0 })
}

fn jump_if_ge(fg: &mut FnGen, a: u16, b: u16) -> usize {
    fg.emit(Instr::Load { local: a });
    fg.emit(Instr::Load { local: b });
    fg.emit(Instr::IGe {});
    fg.jump(Instr::JmpIf { target: 0 })
}
