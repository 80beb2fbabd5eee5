//! Expressions: each leaves its value on the operand stack (nothing for
//! unit); operators become the instruction `instr` maps them to.

use super::*;

impl Gen<'_> {
    pub(super) fn expr(&mut self, fg: &mut FnGen, x: &Expr) {
        fg.set_line(x.line);
        match &x.kind {
            ExprKind::Int(i) => {
                let c = self.constant(ConstKey::Int(*i));
                fg.emit(Instr::Const { index: c });
            }
            ExprKind::Float(f) => {
                let c = self.constant(ConstKey::Float(f.to_bits()));
                fg.emit(Instr::Const { index: c });
            }
            ExprKind::Str(s) => {
                let c = self.constant(ConstKey::Str(s.clone()));
                fg.emit(Instr::Const { index: c });
            }
            ExprKind::Bool(b) => fg.emit(Instr::Bool { value: *b as u8 }),
            ExprKind::Local(id) => fg.load_local(*id),
            ExprKind::Capture(i) => {
                fg.emit(Instr::LoadCapture { index: *i as u16 });
                if fg.capture_boxed[*i as usize] {
                    fg.emit(Instr::CellGet {});
                }
            }
            ExprKind::Global(c) => fg.emit(Instr::GlobalGet { global: *c }),
            ExprKind::FnValue(f) => {
                let ty = self.ty(&x.ty);
                fg.emit(Instr::NewClosure { func: *f, ty });
            }
            ExprKind::Op(Op::ValueText | Op::ValueEq | Op::ValueNe, args) => {
                // The instruction's type is the operands'.
                for a in args {
                    self.expr(fg, a);
                }
                let ty = self.ty(&args[0].ty);
                fg.set_line(x.line);
                match &x.kind {
                    ExprKind::Op(Op::ValueText, _) => fg.emit(Instr::Text { ty }),
                    ExprKind::Op(op, _) => {
                        fg.emit(Instr::Eq { ty });
                        if *op == Op::ValueNe {
                            fg.emit(Instr::BNot {});
                        }
                    }
                    _ => unreachable!(),
                }
            }
            ExprKind::Op(
                Op::Intrinsic(
                    which @ (tern_stdlib::Intrinsic::ArrayMin | tern_stdlib::Intrinsic::ArrayMax),
                ),
                args,
            ) => {
                let max = *which == tern_stdlib::Intrinsic::ArrayMax;
                self.array_extreme(fg, x, &args[0], max);
            }
            ExprKind::Op(Op::Intrinsic(tern_stdlib::Intrinsic::MapGetOrInsert), args) => {
                // m, k, v once each: if !m.has(k) { m[k] = v; } m[k]
                let temps: Vec<u16> = args
                    .iter()
                    .map(|a| {
                        let t = self.ty(&a.ty);
                        let local = fg.temp(t);
                        self.expr(fg, a);
                        fg.emit(Instr::Store { local });
                        local
                    })
                    .collect();
                let (m, k, v) = (temps[0], temps[1], temps[2]);
                fg.set_line(x.line);
                fg.emit(Instr::Load { local: m });
                fg.emit(Instr::Load { local: k });
                fg.emit(Instr::MHas {});
                let present = fg.jump(Instr::JmpIf { target: 0 });
                fg.emit(Instr::Load { local: m });
                fg.emit(Instr::Load { local: k });
                fg.emit(Instr::Load { local: v });
                fg.emit(Instr::MSet {});
                fg.patch_here(present);
                fg.emit(Instr::Load { local: m });
                fg.emit(Instr::Load { local: k });
                fg.emit(Instr::MGet {});
            }
            ExprKind::Op(op, args) => {
                self.op(fg, x, instr(*op), args);
                if *op == Op::Intrinsic(tern_stdlib::Intrinsic::ArrayContains) {
                    // `array.find` gives -1 for absent.
                    let zero = self.constant(ConstKey::Int(0));
                    fg.emit(Instr::Const { index: zero });
                    fg.emit(Instr::IGe {});
                }
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(x.kind, ExprKind::And(..));
                self.expr(fg, a);
                let short = fg.jump(if is_and {
                    Instr::JmpIfNot { target: 0 }
                } else {
                    Instr::JmpIf { target: 0 }
                });
                self.expr(fg, b);
                let end = fg.jump(Instr::Jmp { target: 0 });
                fg.patch_here(short);
                fg.emit(Instr::Bool {
                    value: !is_and as u8,
                });
                fg.patch_here(end);
            }
            ExprKind::Call(f, args) => {
                for a in args {
                    self.expr(fg, a);
                }
                fg.set_line(x.line);
                fg.call(*f);
            }
            ExprKind::CallClosure(c, args) => {
                self.expr(fg, c);
                for a in args {
                    self.expr(fg, a);
                }
                let ty = self.ty(&c.ty);
                fg.set_line(x.line);
                fg.emit(Instr::CallClosure { ty });
            }
            ExprKind::If(arms, els) => {
                let mut to_end = Vec::new();
                for (cond, body, v) in arms {
                    let skip = self.branch(fg, cond, false);
                    self.stmts(fg, body);
                    self.expr(fg, v);
                    to_end.push(fg.jump(Instr::Jmp { target: 0 }));
                    for j in skip {
                        fg.patch_here(j);
                    }
                }
                self.stmts(fg, &els.0);
                self.expr(fg, &els.1);
                for j in to_end {
                    fg.patch_here(j);
                }
            }
            ExprKind::Match(s, arms) => self.match_code(fg, s, arms, true, true),
            ExprKind::ArrayFn(f, ops) => self.array_fn(fg, x, *f, ops),
            ExprKind::Panic(msg) => {
                self.expr(fg, msg);
                fg.set_line(x.line);
                fg.emit(Instr::Panic {});
            }
            ExprKind::Exit(code) => {
                self.expr(fg, code);
                fg.set_line(x.line);
                fg.emit(Instr::Exit {});
            }
            ExprKind::Assert(cond, msg) => {
                let holds = self.branch(fg, cond, true);
                let head = self.constant(ConstKey::Str(match msg {
                    Some(_) => "assertion failed: ".into(),
                    None => "assertion failed".into(),
                }));
                fg.emit(Instr::Const { index: head });
                if let Some(m) = msg {
                    self.expr(fg, m);
                    fg.emit(Instr::SConcat {});
                }
                fg.set_line(x.line);
                fg.emit(Instr::Panic {});
                for j in holds {
                    fg.patch_here(j);
                }
            }
            ExprKind::CallHost(h, args) => {
                for a in args {
                    self.expr(fg, a);
                }
                let import = self.import(h);
                fg.set_line(x.line);
                fg.emit(Instr::CallHost { import });
            }
            ExprKind::Field(o, f) => {
                self.expr(fg, o);
                fg.emit(Instr::GetField { field: *f });
            }
            ExprKind::NewArray(items) => {
                // `array.new` takes its elements from the operand stack,
                // whose height the format limits: a longer literal makes
                // an array of its first elements and pushes the others.
                let (head, rest) = items.split_at(items.len().min(ARRAY_NEW_MAX));
                for i in head {
                    self.expr(fg, i);
                }
                let ty = self.ty(&x.ty);
                fg.emit(Instr::NewArray {
                    ty,
                    len: head.len() as u32,
                });
                for i in rest {
                    fg.emit(Instr::Dup {});
                    self.expr(fg, i);
                    fg.set_line(x.line);
                    fg.emit(Instr::APush {});
                }
            }
            ExprKind::ArrayRepeat(v, n) => {
                self.expr(fg, v);
                self.expr(fg, n);
                let ty = self.ty(&x.ty);
                fg.set_line(x.line);
                fg.emit(Instr::NewArrayRep { ty });
            }
            ExprKind::NewMap(entries) => {
                let ty = self.ty(&x.ty);
                fg.emit(Instr::NewMap { ty });
                for (k, v) in entries {
                    fg.emit(Instr::Dup {});
                    self.expr(fg, k);
                    self.expr(fg, v);
                    fg.emit(Instr::MSet {});
                }
            }
            ExprKind::NewStruct(sid, fields) => {
                let in_order = fields
                    .iter()
                    .enumerate()
                    .all(|(i, (f, _))| *f as usize == i);
                if in_order {
                    for (_, v) in fields {
                        self.expr(fg, v);
                    }
                } else {
                    // Evaluate in source order, then push in declaration order.
                    let mut temps = vec![0u16; fields.len()];
                    for (f, v) in fields {
                        let t = self.ty(&v.ty);
                        let tmp = fg.temp(t);
                        self.expr(fg, v);
                        fg.emit(Instr::Store { local: tmp });
                        temps[*f as usize] = tmp;
                    }
                    for t in temps {
                        fg.emit(Instr::Load { local: t });
                    }
                }
                let ty = self.ty(&Ty::Struct(*sid));
                fg.set_line(x.line);
                fg.emit(Instr::NewStruct { ty });
            }
            ExprKind::NewEnum(en, v, args) => {
                for a in args {
                    self.expr(fg, a);
                }
                let ty = self.ty(&Ty::Enum(*en));
                fg.set_line(x.line);
                fg.emit(Instr::NewEnum { ty, variant: *v });
            }
            ExprKind::Closure(f, sources) => {
                for s in sources {
                    match s {
                        CaptureSource::Local(id) => fg.load_slot(*id),
                        CaptureSource::Capture(i) => {
                            fg.emit(Instr::LoadCapture { index: *i as u16 })
                        }
                    }
                }
                let ty = self.ty(&x.ty);
                fg.set_line(x.line);
                fg.emit(Instr::NewClosure { func: *f, ty });
            }
            ExprKind::Error => unreachable!("programs with errors are not generated"),
        }
    }
}

impl Gen<'_> {
    /// `x`: the operands `args`, then the instruction `ins`.
    pub(super) fn op(&mut self, fg: &mut FnGen, x: &Expr, ins: Instr, args: &[Expr]) {
        // `k op x` for a commutative op and a literal `k` is generated as
        // `x op k`, so the VM's immediate and constant forms apply. (Exact:
        // int wrapping and IEEE addition and multiplication commute, and a
        // literal has no effects to reorder.)
        let literal = |e: &Expr| matches!(e.kind, ExprKind::Int(_) | ExprKind::Float(_));
        let commutes = matches!(
            ins,
            Instr::IAdd {} | Instr::IMul {} | Instr::FAdd {} | Instr::FMul {}
        );
        if let [a, b] = args {
            let (a, b) = if commutes && literal(a) && !literal(b) {
                (b, a)
            } else {
                (a, b)
            };
            // `x - k` is `x + -k` (exact in wrapping arithmetic): one form
            // for the VM's translation to recognize.
            if let (Instr::ISub {}, ExprKind::Int(k)) = (ins, &b.kind) {
                self.expr(fg, a);
                let c = self.constant(ConstKey::Int(k.wrapping_neg()));
                fg.set_line(x.line);
                fg.emit(Instr::Const { index: c });
                fg.emit(Instr::IAdd {});
                return;
            }
            self.expr(fg, a);
            self.expr(fg, b);
        } else {
            for a in args {
                self.expr(fg, a);
            }
        }
        let mut ins = ins;
        match &mut ins {
            Instr::SSplit { ty }
            | Instr::MKeys { ty }
            | Instr::MValues { ty }
            | Instr::ASlice { ty }
            | Instr::BuiltinList { ty, .. } => *ty = self.ty(&x.ty),
            // Typed by the receiver, not the result.
            Instr::ASort { ty } | Instr::AFind { ty } => *ty = self.ty(&args[0].ty),
            _ => {}
        }
        fg.set_line(x.line);
        fg.emit(ins);
    }
}

/// The instruction that performs `op` on the operands the stack holds.
/// (Type operands are filled in from the expression's type.)
pub(super) fn instr(op: Op) -> Instr {
    use Intrinsic as N;
    let cmp = |r: Rel, six: [Instr; 6]| match r {
        Rel::Eq => six[0],
        Rel::Ne => six[1],
        Rel::Lt => six[2],
        Rel::Le => six[3],
        Rel::Gt => six[4],
        Rel::Ge => six[5],
    };
    match op {
        Op::IntAdd => Instr::IAdd {},
        Op::IntSub => Instr::ISub {},
        Op::IntMul => Instr::IMul {},
        Op::IntDiv => Instr::IDiv {},
        Op::IntRem => Instr::IRem {},
        Op::IntAnd => Instr::IAnd {},
        Op::IntOr => Instr::IOr {},
        Op::IntXor => Instr::IXor {},
        Op::IntShl => Instr::IShl {},
        Op::IntShr => Instr::IShr {},
        Op::IntNeg => Instr::INeg {},
        Op::FloatAdd => Instr::FAdd {},
        Op::FloatSub => Instr::FSub {},
        Op::FloatMul => Instr::FMul {},
        Op::FloatDiv => Instr::FDiv {},
        Op::FloatRem => Instr::FRem {},
        Op::FloatNeg => Instr::FNeg {},
        Op::Concat => Instr::SConcat {},
        Op::Not => Instr::BNot {},
        Op::IntCmp(r) => cmp(
            r,
            [
                Instr::IEq {},
                Instr::INe {},
                Instr::ILt {},
                Instr::ILe {},
                Instr::IGt {},
                Instr::IGe {},
            ],
        ),
        Op::FloatCmp(r) => cmp(
            r,
            [
                Instr::FEq {},
                Instr::FNe {},
                Instr::FLt {},
                Instr::FLe {},
                Instr::FGt {},
                Instr::FGe {},
            ],
        ),
        Op::StrCmp(r) => cmp(
            r,
            [
                Instr::SEq {},
                Instr::SNe {},
                Instr::SLt {},
                Instr::SLe {},
                Instr::SGt {},
                Instr::SGe {},
            ],
        ),
        Op::BoolEq => Instr::BEq {},
        Op::BoolNe => Instr::BNe {},
        Op::ValueText | Op::ValueEq | Op::ValueNe => unreachable!("generated with their type"),
        Op::ArrayIndex => Instr::AGet {},
        Op::MapIndex => Instr::MGet {},
        Op::Intrinsic(n) => match n {
            N::Sqrt => Instr::FSqrt {},
            N::Floor => Instr::FFloor {},
            N::Ceil => Instr::FCeil {},
            N::Pow => Instr::FPow {},
            N::Sin => Instr::FSin {},
            N::Cos => Instr::FCos {},
            N::Exp => Instr::FExp {},
            N::Log => Instr::FLog {},
            N::IntAbs => Instr::IAbs {},
            N::FloatAbs => Instr::FAbs {},
            N::IntMin => Instr::IMin {},
            N::FloatMin => Instr::FMin {},
            N::IntMax => Instr::IMax {},
            N::FloatMax => Instr::FMax {},
            N::IntToStr => Instr::IToS {},
            N::FloatToStr => Instr::FToS {},
            N::BoolToStr => Instr::BToS {},
            N::FloatToInt => Instr::F2I {},
            N::StrToInt => Instr::SToI {},
            N::IntToFloat => Instr::I2F {},
            N::StrToFloat => Instr::SToF {},
            N::Fixed => Instr::FFixed {},
            N::StrLen => Instr::SLen {},
            N::ArrayLen => Instr::ALen {},
            N::MapLen => Instr::MLen {},
            N::Push => Instr::APush {},
            N::Pop => Instr::APop {},
            N::Join => Instr::SJoin {},
            N::Has => Instr::MHas {},
            N::GetOr => Instr::MGetOr {},
            N::Remove => Instr::MRemove {},
            N::Keys => Instr::MKeys { ty: 0 },
            N::Values => Instr::MValues { ty: 0 },
            N::Byte => Instr::SByte {},
            N::Slice => Instr::SSlice {},
            N::Split => Instr::SSplit { ty: 0 },
            N::Find => Instr::SFind {},
            N::BuiltinList(name) => Instr::BuiltinList {
                id: tern_vm::builtins::Builtin::by_name(name)
                    .expect("the catalogue names built-ins the VM has")
                    .id(),
                ty: 0,
            },
            N::ArraySort => Instr::ASort { ty: 0 },
            N::ArrayReverse => Instr::AReverse {},
            N::ArrayContains | N::ArrayIndexOf => Instr::AFind { ty: 0 },
            N::ArraySlice => Instr::ASlice { ty: 0 },
            N::ArrayInsert => Instr::AInsert {},
            N::ArrayRemoveAt => Instr::ARemove {},
            N::ArrayExtend => Instr::AExtend {},
            N::MapClear => Instr::MClear {},
            N::MapGetOrInsert | N::ArrayMin | N::ArrayMax => unreachable!("generated in place"),
            N::Builtin(name) => Instr::Builtin {
                id: tern_vm::builtins::Builtin::by_name(name)
                    .expect("the catalogue names built-ins the VM has")
                    .id(),
            },
        },
    }
}
