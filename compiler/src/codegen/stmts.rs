//! Statements: blocks, assignments to every kind of place, `if`, loops
//! (rotated, with their steps and exits), `match` and `return`.

use super::*;

impl Gen<'_> {
    pub(super) fn stmts(&mut self, fg: &mut FnGen, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(fg, s);
        }
    }

    pub(super) fn stmt(&mut self, fg: &mut FnGen, s: &Stmt) {
        fg.set_line(s.line);
        match &s.kind {
            StmtKind::Let(id, x) => {
                self.expr(fg, x);
                fg.set_line(s.line);
                if fg.boxed[*id as usize] {
                    let ct = fg.slots[*id as usize];
                    fg.emit(Instr::NewCell { ty: ct });
                }
                fg.emit(Instr::Store { local: *id as u16 });
            }
            StmtKind::Expr(x) => {
                self.expr(fg, x);
                if x.ty != Ty::Unit {
                    fg.emit(Instr::Pop {});
                }
            }
            StmtKind::Assign(place, v) => self.assign(fg, place, None, v),
            StmtKind::Compound(place, op, v) => self.assign(fg, place, Some(instr(*op)), v),
            StmtKind::If(arms, e) => {
                let mut to_end = Vec::new();
                for (k, arm) in arms.iter().enumerate() {
                    if k > 0 {
                        fg.set_line(arm.line);
                    }
                    let to_next = self.branch(fg, &arm.cond, false);
                    self.stmts(fg, &arm.then);
                    // A branch that returns needs no jump past the others.
                    let more = k + 1 < arms.len() || !e.is_empty();
                    if more && !always_returns(&arm.then) {
                        to_end.push(fg.jump(Instr::Jmp { target: 0 }));
                    }
                    fg.patch_all_here(&to_next);
                }
                self.stmts(fg, e);
                for j in to_end {
                    fg.patch_here(j);
                }
            }
            StmtKind::While(c, body) => {
                // Rotated, with the test at the bottom so each iteration
                // takes one branch, and a copy on entry:
                //     if !c goto exit; top: body; test: if c goto top; exit:
                // The test is then a jump target only for a `continue`, so
                // it can fuse with the body's last instruction (a counter's
                // step and the comparison: `for.step`, `addl.br.le`).
                fg.set_line(s.line);
                let exits = self.branch(fg, c, false);
                let top = fg.here();
                self.loop_body(fg, body);
                let test = fg.step_label();
                fg.set_line(s.line);
                for back in self.branch(fg, c, true) {
                    fg.patch(back, top);
                }
                fg.patch_all_here(&exits);
                self.close_loop(fg, test);
            }
            StmtKind::Loop(body) => {
                let top = fg.here();
                self.loop_body(fg, body);
                self.end_loop(fg, top, None);
            }
            StmtKind::ForRange {
                var,
                lo,
                hi,
                inclusive,
                body,
            } => self.range_loop(fg, *var, lo, hi, *inclusive, body, s.line),
            StmtKind::ForArray {
                index,
                var,
                array,
                body,
            } => self.indexed_loop(fg, array, Instr::ALen {}, body, s.line, |fg, arr, idx| {
                if let Some(i) = index {
                    fg.emit(Instr::Load { local: idx });
                    fg.store_local(*i);
                }
                fg.emit(Instr::Load { local: arr });
                fg.emit(Instr::Load { local: idx });
                fg.emit(Instr::AGet {});
                fg.store_local(*var);
            }),
            StmtKind::ForMap {
                key,
                value,
                map,
                body,
            } => self.map_loop(fg, map, *key, *value, body, s.line),
            StmtKind::Match {
                scrutinee,
                arms,
                exhaustive,
            } => self.match_stmt(fg, scrutinee, arms, *exhaustive),
            StmtKind::Return(x) => {
                if let Some(x) = x {
                    self.expr(fg, x);
                }
                fg.set_line(s.line);
                fg.emit(Instr::Ret {});
            }
            StmtKind::ReturnFromExpr(x) => {
                // First generated with a stand-in (`panic ""`), whose stack
                // height the verifier then tells; generated again with that
                // many values dropped (see `generate`).
                let site = fg.early_returns.len();
                fg.set_line(s.line);
                // (No rewrite in `emit` may move the site's start.)
                fg.barrier = fg.code.len();
                match fg.drops.as_ref().map(|d| d[site]) {
                    None => {
                        let empty = self.constant(ConstKey::Str(String::new()));
                        fg.early_returns.push(fg.code.len());
                        fg.emit(Instr::Const { index: empty });
                        fg.emit(Instr::Panic {});
                    }
                    Some(n) => {
                        fg.early_returns.push(fg.code.len());
                        for _ in 0..n {
                            fg.emit(Instr::Pop {});
                        }
                        self.expr(fg, x);
                        fg.set_line(s.line);
                        fg.emit(Instr::Ret {});
                    }
                }
            }
            StmtKind::Break(depth) | StmtKind::Continue(depth) => {
                let j = fg.jump(Instr::Jmp { target: 0 });
                let at = fg.loops.len() - 1 - *depth as usize;
                let lp = &mut fg.loops[at];
                if matches!(s.kind, StmtKind::Break(_)) {
                    lp.breaks.push(j);
                } else {
                    lp.continues.push(j);
                }
            }
            StmtKind::Block(b) => self.stmts(fg, b),
        }
    }

    /// Evaluates condition `c` and emits a branch taken when `c` is
    /// `when`; an int comparison with a small constant becomes one
    /// compare-with-immediate branch. Returns the branch to patch.
    /// `!`, `&&` and `||` become control flow: no boolean is computed, and
    /// the operands short-circuit straight to the target. Returns the
    /// branches to patch (several for `&&` and `||`).
    pub(super) fn branch(&mut self, fg: &mut FnGen, c: &Expr, when: bool) -> Vec<usize> {
        match &c.kind {
            ExprKind::Op(Op::Not, args) => return self.branch(fg, &args[0], !when),
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(c.kind, ExprKind::And(..));
                if when != is_and {
                    // `a && b` is false, or `a || b` true, as soon as one
                    // operand is.
                    let mut out = self.branch(fg, a, when);
                    out.extend(self.branch(fg, b, when));
                    return out;
                }
                // Otherwise `a` alone can only rule the jump out.
                let skip = self.branch(fg, a, !when);
                let out = self.branch(fg, b, when);
                for j in skip {
                    fg.patch_here(j);
                }
                return out;
            }
            _ => {}
        }
        vec![self.simple_branch(fg, c, when)]
    }

    pub(super) fn simple_branch(&mut self, fg: &mut FnGen, c: &Expr, when: bool) -> usize {
        self.expr(fg, c);
        fg.jump(if when {
            Instr::JmpIf { target: 0 }
        } else {
            Instr::JmpIfNot { target: 0 }
        })
    }

    pub(super) fn loop_body(&mut self, fg: &mut FnGen, body: &[Stmt]) {
        fg.loops.push(Loop {
            breaks: vec![],
            continues: vec![],
        });
        self.stmts(fg, body);
    }

    /// Jumps back to `top`; the exit test and breaks land after that jump.
    pub(super) fn end_loop(&mut self, fg: &mut FnGen, top: usize, exit: Option<usize>) {
        fg.emit(Instr::Jmp { target: top as u32 });
        if let Some(x) = exit {
            fg.patch_here(x);
        }
        let lp = fg.loops.pop().expect("loop");
        for b in lp.breaks {
            fg.patch_here(b);
        }
        for c in lp.continues {
            fg.patch(c, top);
        }
    }

    pub(super) fn close_loop(&mut self, fg: &mut FnGen, step: usize) {
        let lp = fg.loops.pop().expect("loop");
        for b in lp.breaks {
            fg.patch_here(b);
        }
        for c in lp.continues {
            fg.patch(c, step);
        }
    }

    /// A loop over positions `0..len(collection)` (the length is read
    /// each iteration); `bind` loads the element(s) for the body.
    pub(super) fn indexed_loop(
        &mut self,
        fg: &mut FnGen,
        collection: &Expr,
        len: Instr,
        body: &[Stmt],
        line: u32,
        bind: impl FnOnce(&mut FnGen, u16, u16),
    ) {
        let ct = self.ty(&collection.ty);
        let coll = fg.temp(ct);
        let idx = fg.temp(m::INT);
        self.expr(fg, collection);
        fg.emit(Instr::Store { local: coll });
        let zero = self.constant(ConstKey::Int(0));
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::Store { local: idx });
        let top = fg.here();
        fg.emit(Instr::Load { local: idx });
        fg.emit(Instr::Load { local: coll });
        fg.emit(len);
        fg.emit(Instr::ILt {});
        let exit = fg.jump(Instr::JmpIfNot { target: 0 });
        bind(fg, coll, idx);
        self.loop_body(fg, body);
        let step = fg.here();
        fg.set_line(line);
        self.increment(fg, idx);
        fg.emit(Instr::Jmp { target: top as u32 });
        fg.patch_here(exit);
        self.close_loop(fg, step);
    }

    /// `for k, v in m`: walks the entries' order numbers (see
    /// `map.next`), so the body may insert and remove entries, the current
    /// one included:
    ///   mp = m; c = 0
    ///   top: c = map.next(mp, c); if c < 0 goto exit
    ///        k = map.keyof(mp, c); v = map.valof(mp, c); body
    ///   step: c += 1; goto top
    ///   exit:
    fn map_loop(
        &mut self,
        fg: &mut FnGen,
        map: &Expr,
        key: LocalId,
        value: Option<LocalId>,
        body: &[Stmt],
        line: u32,
    ) {
        let mt = self.ty(&map.ty);
        let mp = fg.temp(mt);
        let cursor = fg.temp(m::INT);
        self.expr(fg, map);
        fg.emit(Instr::Store { local: mp });
        let zero = self.constant(ConstKey::Int(0));
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::Store { local: cursor });
        let top = fg.here();
        fg.emit(Instr::Load { local: mp });
        fg.emit(Instr::Load { local: cursor });
        fg.emit(Instr::MNext {});
        fg.emit(Instr::Store { local: cursor });
        fg.emit(Instr::Load { local: cursor });
        fg.emit(Instr::Const { index: zero });
        fg.emit(Instr::ILt {});
        let exit = fg.jump(Instr::JmpIf { target: 0 });
        for (of, dest) in [(Instr::MKeyOf {}, Some(key)), (Instr::MValOf {}, value)] {
            if let Some(dest) = dest {
                fg.emit(Instr::Load { local: mp });
                fg.emit(Instr::Load { local: cursor });
                fg.emit(of);
                fg.store_local(dest);
            }
        }
        self.loop_body(fg, body);
        let step = fg.here();
        fg.set_line(line);
        self.increment(fg, cursor);
        fg.emit(Instr::Jmp { target: top as u32 });
        fg.patch_here(exit);
        self.close_loop(fg, step);
    }

    /// `for i in lo..hi` and `lo..=hi`. The loop variable is immutable in
    /// the body (closures copy it), so it doubles as the counter:
    ///     i = lo; end = hi; if i >= end goto exit      (`..=`: i > end)
    ///   top: body
    ///   step: i += 1; if i < end goto top
    ///         (`..=`: if i >= end goto exit; i += 1; goto top, so that
    ///         `end` may be the largest int)
    ///   exit:
    #[allow(clippy::too_many_arguments)]
    fn range_loop(
        &mut self,
        fg: &mut FnGen,
        var: LocalId,
        lo: &Expr,
        hi: &Expr,
        inclusive: bool,
        body: &[Stmt],
        line: u32,
    ) {
        let i = fg.slot(var);
        let end = fg.temp(m::INT);
        self.expr(fg, lo);
        fg.emit(Instr::Store { local: i });
        self.expr(fg, hi);
        fg.emit(Instr::Store { local: end });
        fg.emit(Instr::Load { local: i });
        fg.emit(Instr::Load { local: end });
        fg.emit(if inclusive {
            Instr::IGt {}
        } else {
            Instr::IGe {}
        });
        let exit = fg.jump(Instr::JmpIf { target: 0 });
        let top = fg.here();
        self.loop_body(fg, body);
        let step = fg.step_label();
        fg.set_line(line);
        if inclusive {
            fg.emit(Instr::Load { local: i });
            fg.emit(Instr::Load { local: end });
            fg.emit(Instr::IGe {});
            let done = fg.jump(Instr::JmpIf { target: 0 });
            self.increment(fg, i);
            fg.emit(Instr::Jmp { target: top as u32 });
            fg.patch_here(done);
        } else {
            self.increment(fg, i);
            fg.emit(Instr::Load { local: i });
            fg.emit(Instr::Load { local: end });
            fg.emit(Instr::ILt {});
            let back = fg.jump(Instr::JmpIf { target: 0 });
            fg.patch(back, top);
        }
        fg.patch_here(exit);
        self.close_loop(fg, step);
    }

    pub(super) fn match_stmt(&mut self, fg: &mut FnGen, s: &Expr, arms: &[Arm], exhaustive: bool) {
        self.match_code(fg, s, arms, exhaustive, false);
    }

    /// A `match` statement, or (`value`) expression, which leaves the
    /// taken arm's value on the stack.
    pub(super) fn match_code(
        &mut self,
        fg: &mut FnGen,
        s: &Expr,
        arms: &[Arm],
        exhaustive: bool,
        value: bool,
    ) {
        // A plain local is matched in place; anything else is evaluated once.
        let val = match s.kind {
            ExprKind::Local(id) if !fg.is_boxed(id) => fg.slot(id),
            _ => {
                let st = self.ty(&s.ty);
                let val = fg.temp(st);
                self.expr(fg, s);
                fg.emit(Instr::Store { local: val });
                val
            }
        };
        let mut to_end = Vec::new();
        let mut fell_out = true;
        for (k, arm) in arms.iter().enumerate() {
            fg.set_line(arm.line);
            let last = k + 1 == arms.len();
            // Jumps to the next arm: a test that fails, a guard that is false.
            let mut next = Vec::new();
            if !(last && exhaustive && arm.guard.is_none()) {
                let n = arm.tests.len();
                let mut to_body = Vec::new();
                for (t, test) in arm.tests.iter().enumerate() {
                    // All but the last alternative jump to the body when
                    // they match; the last one to the next arm when not.
                    let when = t + 1 < n;
                    if let Some(j) = self.arm_test(fg, val, test, when) {
                        if when {
                            to_body.push(j);
                        } else {
                            next.push(j);
                        }
                    }
                }
                for j in to_body {
                    fg.patch_here(j);
                }
            }
            for b in &arm.binds {
                match b {
                    Bind::Whole(id) => {
                        fg.emit(Instr::Load { local: val });
                        fg.store_local(*id);
                    }
                    Bind::Field(id, f) => {
                        let v = match arm.tests[..] {
                            [ArmTest::Variant(v)] => v,
                            _ => unreachable!("field bindings only in one-variant arms"),
                        };
                        fg.emit(Instr::Load { local: val });
                        fg.emit(Instr::EnumField {
                            variant: v,
                            field: *f,
                        });
                        fg.store_local(*id);
                    }
                }
            }
            if let Some(g) = &arm.guard {
                next.extend(self.branch(fg, g, false));
            }
            self.stmts(fg, &arm.body);
            if let Some(v) = &arm.value {
                self.expr(fg, v);
            }
            let ends = always_returns(&arm.body);
            if !ends && (!last || value) {
                to_end.push(fg.jump(Instr::Jmp { target: 0 }));
            }
            fell_out = !next.is_empty() || (last && !ends && !value);
            for n in next {
                fg.patch_here(n);
            }
        }
        if value && (fell_out || arms.is_empty()) {
            // Not reached (the checker holds the arms exhaustive), but the
            // code after every arm must leave a value or not go on.
            let c = self.constant(ConstKey::Str("no arm of a match expression matched".into()));
            fg.emit(Instr::Const { index: c });
            fg.emit(Instr::Panic {});
        }
        for j in to_end {
            fg.patch_here(j);
        }
    }

    /// The branch of one arm test on local `val`: taken when the test
    /// matches (`when`) or does not; `None` for a test that always matches.
    fn arm_test(&mut self, fg: &mut FnGen, val: u16, test: &ArmTest, when: bool) -> Option<usize> {
        let jump = |fg: &mut FnGen, is_true: bool| {
            fg.jump(if is_true == when {
                Instr::JmpIf { target: 0 }
            } else {
                Instr::JmpIfNot { target: 0 }
            })
        };
        match test {
            ArmTest::Always => None,
            ArmTest::Variant(v) => {
                fg.emit(Instr::Load { local: val });
                fg.emit(Instr::EnumTag {});
                let c = self.constant(ConstKey::Int(*v as i64));
                fg.emit(Instr::Const { index: c });
                fg.emit(Instr::IEq {});
                Some(jump(fg, true))
            }
            ArmTest::Int(i) => {
                fg.emit(Instr::Load { local: val });
                let c = self.constant(ConstKey::Int(*i));
                fg.emit(Instr::Const { index: c });
                fg.emit(Instr::IEq {});
                Some(jump(fg, true))
            }
            ArmTest::Str(sv) => {
                fg.emit(Instr::Load { local: val });
                let c = self.constant(ConstKey::Str(sv.clone()));
                fg.emit(Instr::Const { index: c });
                fg.emit(Instr::SEq {});
                Some(jump(fg, true))
            }
            ArmTest::Bool(b) => {
                fg.emit(Instr::Load { local: val });
                Some(jump(fg, *b))
            }
        }
    }

    pub(super) fn assign(&mut self, fg: &mut FnGen, place: &Place, op: Option<Instr>, v: &Expr) {
        match place {
            Place::Local(id) => {
                let id = *id;
                if fg.is_boxed(id) {
                    fg.load_slot(id);
                    self.assign_cell(fg, op, v);
                } else {
                    if let Some(op) = op {
                        fg.load_local(id);
                        self.operand_then(fg, op, v);
                    } else {
                        self.expr(fg, v);
                    }
                    fg.store_local(id);
                }
            }
            Place::Capture(i) => {
                // Only `var`s are assignable, and captured `var`s are cells.
                fg.emit(Instr::LoadCapture { index: *i as u16 });
                self.assign_cell(fg, op, v);
            }
            Place::Field(obj, f) => {
                self.expr(fg, obj);
                if let (Some(op), ExprKind::Local(id)) = (op, &obj.kind) {
                    if !fg.is_boxed(*id) {
                        let local = fg.slot(*id);
                        fg.emit(Instr::Load { local });
                        fg.emit(Instr::GetField { field: *f });
                        self.operand_then(fg, op, v);
                        fg.emit(Instr::SetField { field: *f });
                        return;
                    }
                }
                if let Some(op) = op {
                    fg.emit(Instr::Dup {});
                    fg.emit(Instr::GetField { field: *f });
                    self.operand_then(fg, op, v);
                } else {
                    self.expr(fg, v);
                }
                fg.emit(Instr::SetField { field: *f });
            }
            Place::Index(arr, idx) => {
                // Both plain locals: loaded again for `op=` rather than
                // kept in temporaries (an assignment cannot change them).
                if let (ExprKind::Local(a), ExprKind::Local(i), Some(op)) =
                    (&arr.kind, &idx.kind, op)
                {
                    if !fg.is_boxed(*a) && !fg.is_boxed(*i) {
                        let (array, index) = (fg.slot(*a), fg.slot(*i));
                        fg.emit(Instr::Load { local: array });
                        fg.emit(Instr::Load { local: index });
                        fg.emit(Instr::Load { local: array });
                        fg.emit(Instr::Load { local: index });
                        fg.emit(Instr::AGet {});
                        self.operand_then(fg, op, v);
                        fg.emit(Instr::ASet {});
                        return;
                    }
                }
                self.indexed_assign(fg, arr, idx, op, v, false);
            }
            Place::MapKey(map, key) => self.indexed_assign(fg, map, key, op, v, true),
        }
    }

    /// With a cell on the stack: `cell = v` or `cell op= v`.
    pub(super) fn assign_cell(&mut self, fg: &mut FnGen, op: Option<Instr>, v: &Expr) {
        if let Some(op) = op {
            fg.emit(Instr::Dup {});
            fg.emit(Instr::CellGet {});
            self.operand_then(fg, op, v);
        } else {
            self.expr(fg, v);
        }
        fg.emit(Instr::CellSet {});
    }

    /// `c[k] = v` or `c[k] op= v` on an array or map held anywhere.
    pub(super) fn indexed_assign(
        &mut self,
        fg: &mut FnGen,
        c: &Expr,
        k: &Expr,
        op: Option<Instr>,
        v: &Expr,
        is_map: bool,
    ) {
        let (get, set) = if is_map {
            (Instr::MGet {}, Instr::MSet {})
        } else {
            (Instr::AGet {}, Instr::ASet {})
        };
        match op {
            Some(op) => {
                // Evaluate container and key once, into temps.
                let (ct, kt) = (self.ty(&c.ty), self.ty(&k.ty));
                let (cs, ks) = (fg.temp(ct), fg.temp(kt));
                self.expr(fg, c);
                fg.emit(Instr::Store { local: cs });
                self.expr(fg, k);
                fg.emit(Instr::Store { local: ks });
                for _ in 0..2 {
                    fg.emit(Instr::Load { local: cs });
                    fg.emit(Instr::Load { local: ks });
                }
                fg.emit(get);
                self.operand_then(fg, op, v);
            }
            None => {
                self.expr(fg, c);
                self.expr(fg, k);
                self.expr(fg, v);
            }
        }
        fg.emit(set);
    }

    /// `v`, then `op` on it and the value below: `x - k` becomes
    /// `x + -k` (as in `exprs`), one form for the VM to recognize.
    pub(super) fn operand_then(&mut self, fg: &mut FnGen, op: Instr, v: &Expr) {
        if let (Instr::ISub {}, ExprKind::Int(k)) = (op, &v.kind) {
            fg.set_line(v.line);
            let c = self.constant(ConstKey::Int(k.wrapping_neg()));
            fg.emit(Instr::Const { index: c });
            fg.emit(Instr::IAdd {});
            return;
        }
        self.expr(fg, v);
        fg.emit(op);
    }
}
