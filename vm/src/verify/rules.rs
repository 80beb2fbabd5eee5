//! The rule of each instruction: how it changes the abstract state (the
//! operand-stack types and the initialized locals) and what it requires of
//! it, given the module's tables (which `tables` has checked, so every type
//! on the stack or in a signature is in range and every struct or enum type
//! names a layout of its kind).
//!
//! [`Ctx::step`] does a constant amount of work per instruction besides
//! the slots it pops (which were pushed, and counted, before), with one
//! exception the caller counts: `closure.new` compares two signatures.

use super::dataflow::State;
use crate::module::*;
use crate::opcodes::{Effect, Instr, Kind, Slot};

/// A type's name for a message: [`Module::type_name`], which is bounded.
pub(super) fn type_name(m: &Module, t: TypeId) -> String {
    m.type_name(t)
}

/// What the rules read: the module and the function being verified.
pub(super) struct Ctx<'a> {
    pub m: &'a Module,
    pub f: &'a Function,
    /// The type of each local slot (parameters first).
    pub slots: Vec<TypeId>,
}

impl Ctx<'_> {
    fn name(&self, t: TypeId) -> String {
        type_name(self.m, t)
    }

    fn pop(&self, s: &mut State) -> Result<TypeId, String> {
        s.stack.pop().ok_or_else(|| "stack underflow".to_string())
    }

    fn pop_expect(&self, s: &mut State, want: TypeId) -> Result<(), String> {
        let got = self.pop(s)?;
        if got != want {
            return Err(format!(
                "expected {} on the stack, found {}",
                self.name(want),
                self.name(got)
            ));
        }
        Ok(())
    }

    fn pop_args(&self, s: &mut State, params: &[TypeId]) -> Result<(), String> {
        if s.stack.len() < params.len() {
            return Err(format!(
                "call needs {} arguments, the stack holds {}",
                params.len(),
                s.stack.len()
            ));
        }
        for p in params.iter().rev() {
            self.pop_expect(s, *p)?;
        }
        Ok(())
    }

    /// A direct call of `func`. With `last`, the last argument is not on
    /// the stack but of that type (read from a local by the instruction).
    fn call(&self, s: &mut State, func: u32, last: Option<TypeId>) -> Result<(), String> {
        let callee = self
            .m
            .functions
            .get(func as usize)
            .ok_or_else(|| format!("function index {func} out of range"))?;
        if !callee.captures.is_empty() {
            return Err(format!(
                "function {func} ('{}') is a closure body and cannot be called directly",
                callee.name
            ));
        }
        let mut params = &callee.params[..];
        if let Some(t) = last {
            let Some((p, rest)) = params.split_last() else {
                return Err(format!(
                    "function {func} ('{}') takes no arguments, but is passed a local",
                    callee.name
                ));
            };
            if *p != t {
                return Err(format!(
                    "argument local is {}, the parameter is {}",
                    self.name(t),
                    self.name(*p)
                ));
            }
            params = rest;
        }
        self.pop_args(s, params)?;
        self.push_result(s, callee.ret);
        Ok(())
    }

    fn push_result(&self, s: &mut State, ret: TypeId) {
        if ret != UNIT {
            s.stack.push(ret);
        }
    }

    fn type_of(&self, id: u32) -> Result<&TypeDesc, String> {
        self.m
            .types
            .get(id as usize)
            .ok_or_else(|| format!("type index {id} out of range"))
    }

    fn pop_array(&self, s: &mut State) -> Result<TypeId, String> {
        let t = self.pop(s)?;
        match self.m.ty(t) {
            TypeDesc::Array(e) => Ok(*e),
            _ => Err(format!("expected an array, found {}", self.name(t))),
        }
    }

    fn pop_map(&self, s: &mut State) -> Result<(TypeId, TypeId), String> {
        let t = self.pop(s)?;
        match self.m.ty(t) {
            TypeDesc::Map(k, v) => Ok((*k, *v)),
            _ => Err(format!("expected a map, found {}", self.name(t))),
        }
    }

    fn struct_fields(&self, t: TypeId) -> Result<&[Field], String> {
        match self.m.ty(t) {
            TypeDesc::Struct(l) => match &self.m.layouts[*l as usize] {
                Layout::Struct { fields, .. } => Ok(fields),
                _ => unreachable_layout(),
            },
            _ => Err(format!("expected a struct, found {}", self.name(t))),
        }
    }

    fn enum_variants(&self, t: TypeId) -> Result<&[Variant], String> {
        match self.m.ty(t) {
            TypeDesc::Enum(l) => match &self.m.layouts[*l as usize] {
                Layout::Enum { variants, .. } => Ok(variants),
                _ => unreachable_layout(),
            },
            _ => Err(format!("expected an enum, found {}", self.name(t))),
        }
    }

    /// Checks that enum type `t` has variant `variant` (and that variant a
    /// payload field `field`); the field's type, or `t` without a field.
    fn enum_field_type(
        &self,
        t: TypeId,
        variant: u16,
        field: Option<u16>,
    ) -> Result<TypeId, String> {
        let vs = self.enum_variants(t)?;
        let v = vs
            .get(variant as usize)
            .ok_or_else(|| format!("variant {variant} out of range for {}", self.name(t)))?;
        match field {
            None => Ok(t),
            Some(field) => v
                .fields
                .get(field as usize)
                .copied()
                .ok_or_else(|| format!("field {field} out of range for variant '{}'", v.name)),
        }
    }

    fn local(&self, local: u16) -> Result<TypeId, String> {
        self.slots
            .get(local as usize)
            .copied()
            .ok_or_else(|| format!("local {local} out of range ({} slots)", self.slots.len()))
    }

    /// Applies one instruction's effect to the abstract state.
    /// Checks each operand that indexes a table against that table, by
    /// its kind in the instruction table (fields, variants and labels
    /// are checked where their table is known: by the rules, and by the
    /// block finder).
    fn operands_in_range(&self, instr: &Instr) -> Result<(), String> {
        let m = self.m;
        for (k, kind) in instr.opcode().operand_kinds().iter().enumerate() {
            let v = instr.operand(k);
            let (what, len) = match kind {
                Kind::Local => {
                    if v as usize >= self.slots.len() {
                        return Err(format!(
                            "local {v} out of range ({} slots)",
                            self.slots.len()
                        ));
                    }
                    continue;
                }
                Kind::Capture => {
                    if v as usize >= self.f.captures.len() {
                        return Err(format!(
                            "capture index {v} out of range ({} captures)",
                            self.f.captures.len()
                        ));
                    }
                    continue;
                }
                Kind::Type => ("type", m.types.len()),
                Kind::Const => ("constant", m.consts.len()),
                Kind::Global => ("global", m.globals.len()),
                Kind::Function => ("function", m.functions.len()),
                Kind::Import => ("import", m.imports.len()),
                Kind::Label | Kind::Field | Kind::Variant | Kind::Imm | Kind::Count => continue,
            };
            if v as u64 >= len as u64 {
                return Err(format!("{what} index {v} out of range"));
            }
        }
        Ok(())
    }

    pub fn step(&self, s: &mut State, instr: &Instr) -> Result<(), String> {
        let m = self.m;
        self.operands_in_range(instr)?;
        if let Effect::Fixed { pops, pushes } = instr.opcode().effect() {
            for p in pops.iter().rev() {
                self.pop_expect(s, slot_type(*p))?;
            }
            s.stack.extend(pushes.iter().map(|p| slot_type(*p)));
            if let Instr::Bool { value } = instr {
                if *value > 1 {
                    return Err(format!("bool immediate {value} is not 0 or 1"));
                }
            }
            return Ok(());
        }
        match *instr {
            Instr::Const { index } => match m.consts.get(index as usize) {
                Some(Const::Int(_)) => s.stack.push(INT),
                Some(Const::Float(_)) => s.stack.push(FLOAT),
                Some(Const::Str(_)) => s.stack.push(STR),
                None => return Err(format!("constant index {index} out of range")),
            },
            Instr::Load { local } => {
                let t = self.local(local)?;
                if !s.is_init(local) {
                    return Err(format!("local {local} read before it is initialized"));
                }
                s.stack.push(t);
            }
            Instr::Store { local } => {
                let t = self.local(local)?;
                self.pop_expect(s, t)?;
                s.set_init(local);
            }
            Instr::GlobalGet { global } => {
                let t = *m
                    .globals
                    .get(global as usize)
                    .ok_or_else(|| format!("global index {global} out of range"))?;
                s.stack.push(t);
            }
            Instr::GlobalSet { global } => {
                let t = *m
                    .globals
                    .get(global as usize)
                    .ok_or_else(|| format!("global index {global} out of range"))?;
                self.pop_expect(s, t)?;
            }
            Instr::Pop {} => {
                self.pop(s)?;
            }
            Instr::Dup {} => {
                let t = *s.stack.last().ok_or("stack underflow")?;
                s.stack.push(t);
            }
            Instr::LoadCapture { index } => {
                let t = self.f.captures.get(index as usize).ok_or_else(|| {
                    format!(
                        "capture index {index} out of range ({} captures)",
                        self.f.captures.len()
                    )
                })?;
                s.stack.push(*t);
            }
            Instr::SSplit { ty } => {
                if *self.type_of(ty)? != TypeDesc::Array(STR) {
                    return Err(format!(
                        "split result type must be [str], not {}",
                        self.name(ty)
                    ));
                }
                self.pop_expect(s, STR)?;
                self.pop_expect(s, STR)?;
                s.stack.push(ty);
            }
            Instr::SJoin {} => {
                self.pop_expect(s, STR)?;
                let e = self.pop_array(s)?;
                if e != STR {
                    return Err(format!("join needs [str], found [{}]", self.name(e)));
                }
                s.stack.push(STR);
            }
            Instr::Call { func } => self.call(s, func, None)?,
            Instr::CallClosure { ty } => {
                let (params, ret) = match self.type_of(ty)? {
                    TypeDesc::Fn { params, ret } => (params, *ret),
                    _ => {
                        return Err(format!(
                            "call.closure type {} is not a function type",
                            self.name(ty)
                        ))
                    }
                };
                self.pop_args(s, params)?;
                self.pop_expect(s, ty)?;
                self.push_result(s, ret);
            }
            Instr::CallHost { import } => {
                let im = m
                    .imports
                    .get(import as usize)
                    .ok_or_else(|| format!("import index {import} out of range"))?;
                self.pop_args(s, &im.params)?;
                self.push_result(s, im.ret);
            }
            Instr::Ret {} => {
                let want: &[TypeId] = if self.f.ret == UNIT {
                    &[]
                } else {
                    std::slice::from_ref(&self.f.ret)
                };
                if s.stack != want {
                    let found = match s.stack.as_slice() {
                        [] => "nothing".to_string(),
                        [t] => self.name(*t),
                        more => format!("{} values", more.len()),
                    };
                    return Err(format!(
                        "ret of {found}, the function returns {}",
                        self.name(self.f.ret)
                    ));
                }
                s.stack.clear();
            }
            Instr::NewArray { ty, len } => {
                let e = match self.type_of(ty)? {
                    TypeDesc::Array(e) => *e,
                    _ => {
                        return Err(format!(
                            "array.new type {} is not an array type",
                            self.name(ty)
                        ))
                    }
                };
                if (len as usize) > s.stack.len() {
                    return Err(format!(
                        "array.new of {len} elements, the stack holds {}",
                        s.stack.len()
                    ));
                }
                for _ in 0..len {
                    self.pop_expect(s, e)?;
                }
                s.stack.push(ty);
            }
            Instr::NewArrayRep { ty } => {
                let e = match self.type_of(ty)? {
                    TypeDesc::Array(e) => *e,
                    _ => {
                        return Err(format!(
                            "array.rep type {} is not an array type",
                            self.name(ty)
                        ))
                    }
                };
                self.pop_expect(s, INT)?;
                self.pop_expect(s, e)?;
                s.stack.push(ty);
            }
            Instr::ALen {} => {
                self.pop_array(s)?;
                s.stack.push(INT);
            }
            Instr::AGet {} => {
                self.pop_expect(s, INT)?;
                let e = self.pop_array(s)?;
                s.stack.push(e);
            }
            Instr::ASet {} => {
                let v = self.pop(s)?;
                self.pop_expect(s, INT)?;
                let e = self.pop_array(s)?;
                if v != e {
                    return Err(format!("storing {} into [{}]", self.name(v), self.name(e)));
                }
            }
            Instr::APush {} => {
                let v = self.pop(s)?;
                let e = self.pop_array(s)?;
                if v != e {
                    return Err(format!("pushing {} onto [{}]", self.name(v), self.name(e)));
                }
            }
            Instr::APop {} => {
                let e = self.pop_array(s)?;
                s.stack.push(e);
            }
            Instr::ASort { ty } => {
                let e = match self.type_of(ty)? {
                    TypeDesc::Array(e) => *e,
                    _ => {
                        return Err(format!(
                            "array.sort type {} is not an array type",
                            self.name(ty)
                        ))
                    }
                };
                if ![INT, FLOAT, BOOL, STR].contains(&e) {
                    return Err(format!(
                        "array.sort of [{}]: only ints, floats, bools and strings sort",
                        self.name(e)
                    ));
                }
                self.pop_expect(s, ty)?;
            }
            Instr::AReverse {} => {
                self.pop_array(s)?;
            }
            Instr::AFind { ty } | Instr::ASlice { ty } => {
                let e = match self.type_of(ty)? {
                    TypeDesc::Array(e) => *e,
                    _ => {
                        return Err(format!(
                            "{} type {} is not an array type",
                            instr.opcode().mnemonic(),
                            self.name(ty)
                        ))
                    }
                };
                if matches!(instr, Instr::AFind { .. }) {
                    self.pop_expect(s, e)?;
                    self.pop_expect(s, ty)?;
                    s.stack.push(INT);
                } else {
                    self.pop_expect(s, INT)?;
                    self.pop_expect(s, INT)?;
                    self.pop_expect(s, ty)?;
                    s.stack.push(ty);
                }
            }
            Instr::AInsert {} => {
                let v = self.pop(s)?;
                self.pop_expect(s, INT)?;
                let e = self.pop_array(s)?;
                if v != e {
                    return Err(format!(
                        "inserting {} into [{}]",
                        self.name(v),
                        self.name(e)
                    ));
                }
            }
            Instr::ARemove {} => {
                self.pop_expect(s, INT)?;
                let e = self.pop_array(s)?;
                s.stack.push(e);
            }
            Instr::AExtend {} => {
                let b = self.pop(s)?;
                let a = self.pop(s)?;
                if a != b || !matches!(self.m.ty(a), TypeDesc::Array(_)) {
                    return Err(format!("extending {} with {}", self.name(a), self.name(b)));
                }
            }
            Instr::MClear {} => {
                self.pop_map(s)?;
            }
            Instr::NewMap { ty } => {
                if !matches!(self.type_of(ty)?, TypeDesc::Map(..)) {
                    return Err(format!("map.new type {} is not a map type", self.name(ty)));
                }
                s.stack.push(ty);
            }
            Instr::MLen {} => {
                self.pop_map(s)?;
                s.stack.push(INT);
            }
            Instr::MGet {} | Instr::MHas {} | Instr::MRemove {} => {
                let k = self.pop(s)?;
                let (mk, v) = self.pop_map(s)?;
                if k != mk {
                    return Err(format!(
                        "key of type {} for a map keyed by {}",
                        self.name(k),
                        self.name(mk)
                    ));
                }
                match instr {
                    Instr::MGet {} => s.stack.push(v),
                    Instr::MHas {} => s.stack.push(BOOL),
                    _ => {}
                }
            }
            Instr::MGetOr {} | Instr::MSet {} => {
                let dv = self.pop(s)?;
                let k = self.pop(s)?;
                let (mk, v) = self.pop_map(s)?;
                if k != mk || dv != v {
                    return Err(format!(
                        "entry ({}, {}) for a map of type {{{}: {}}}",
                        self.name(k),
                        self.name(dv),
                        self.name(mk),
                        self.name(v)
                    ));
                }
                if let Instr::MGetOr {} = instr {
                    s.stack.push(v);
                }
            }
            Instr::MKeys { ty } | Instr::MValues { ty } => {
                let (k, v) = self.pop_map(s)?;
                let want = if matches!(instr, Instr::MKeys { .. }) {
                    k
                } else {
                    v
                };
                if *self.type_of(ty)? != TypeDesc::Array(want) {
                    return Err(format!(
                        "result type {} should be [{}]",
                        self.name(ty),
                        self.name(want)
                    ));
                }
                s.stack.push(ty);
            }
            Instr::Builtin { id } | Instr::BuiltinList { id, .. } => {
                use crate::builtins::{Builtin, Ret};
                let Some(b) = Builtin::from_id(id) else {
                    return Err(format!("unknown built-in function {id}"));
                };
                for &p in b.params().iter().rev() {
                    self.pop_expect(s, slot_type(p))?;
                }
                match (instr, b.result()) {
                    (Instr::Builtin { .. }, Ret::One(r)) => s.stack.push(slot_type(r)),
                    (Instr::BuiltinList { ty, .. }, Ret::List(r)) => {
                        let ty = *ty;
                        if *self.type_of(ty)? != TypeDesc::Array(slot_type(r)) {
                            return Err(format!(
                                "built-in `{}` makes [{}], not {}",
                                b.name(),
                                self.name(slot_type(r)),
                                self.name(ty)
                            ));
                        }
                        s.stack.push(ty);
                    }
                    (Instr::Builtin { .. }, Ret::List(_)) => {
                        return Err(format!(
                            "built-in `{}` makes an array: use builtin.list",
                            b.name()
                        ))
                    }
                    _ => {
                        return Err(format!(
                            "built-in `{}` makes one value: use builtin",
                            b.name()
                        ))
                    }
                }
            }
            Instr::Text { ty } | Instr::Eq { ty } => {
                if matches!(self.type_of(ty)?, TypeDesc::Unit) {
                    return Err("no value has type unit".into());
                }
                self.pop_expect(s, ty)?;
                if matches!(instr, Instr::Eq { .. }) {
                    self.pop_expect(s, ty)?;
                    s.stack.push(BOOL);
                } else {
                    s.stack.push(STR);
                }
            }
            Instr::MNext {} => {
                self.pop_expect(s, INT)?;
                self.pop_map(s)?;
                s.stack.push(INT);
            }
            Instr::MKeyAt {} | Instr::MValAt {} | Instr::MKeyOf {} | Instr::MValOf {} => {
                self.pop_expect(s, INT)?;
                let (k, v) = self.pop_map(s)?;
                s.stack
                    .push(if matches!(instr, Instr::MKeyAt {} | Instr::MKeyOf {}) {
                        k
                    } else {
                        v
                    });
            }
            Instr::NewStruct { ty } => {
                self.type_of(ty)?;
                let fields = self.struct_fields(ty)?;
                if s.stack.len() < fields.len() {
                    return Err("stack underflow".into());
                }
                for f in fields.iter().rev() {
                    self.pop_expect(s, f.ty)?;
                }
                s.stack.push(ty);
            }
            Instr::GetField { field } | Instr::SetField { field } => {
                let value = if let Instr::SetField { .. } = instr {
                    Some(self.pop(s)?)
                } else {
                    None
                };
                let t = self.pop(s)?;
                let fields = self.struct_fields(t)?;
                let f = fields
                    .get(field as usize)
                    .ok_or_else(|| format!("field {field} out of range for {}", self.name(t)))?;
                match value {
                    None => s.stack.push(f.ty),
                    Some(v) if v == f.ty => {}
                    Some(v) => {
                        return Err(format!(
                            "storing {} into field '{}' of type {}",
                            self.name(v),
                            f.name,
                            self.name(f.ty)
                        ))
                    }
                }
            }
            Instr::NewEnum { ty, variant } => {
                self.type_of(ty)?;
                let vs = self.enum_variants(ty)?;
                let v = vs.get(variant as usize).ok_or_else(|| {
                    format!("variant {variant} out of range for {}", self.name(ty))
                })?;
                if s.stack.len() < v.fields.len() {
                    return Err("stack underflow".into());
                }
                for t in v.fields.iter().rev() {
                    self.pop_expect(s, *t)?;
                }
                s.stack.push(ty);
            }
            Instr::EnumTag {} => {
                let t = self.pop(s)?;
                self.enum_variants(t)?;
                s.stack.push(INT);
            }
            Instr::EnumField { variant, field } => {
                let t = self.pop(s)?;
                let ft = self.enum_field_type(t, variant, Some(field))?;
                s.stack.push(ft);
            }
            Instr::NewClosure { func, ty } => {
                let callee = m
                    .functions
                    .get(func as usize)
                    .ok_or_else(|| format!("function index {func} out of range"))?;
                match self.type_of(ty)? {
                    TypeDesc::Fn { params, ret }
                        if *params == callee.params && *ret == callee.ret => {}
                    _ => {
                        return Err(format!(
                            "closure type {} does not match function {func} ('{}')",
                            self.name(ty),
                            callee.name
                        ))
                    }
                }
                if s.stack.len() < callee.captures.len() {
                    return Err("stack underflow".into());
                }
                for c in callee.captures.iter().rev() {
                    self.pop_expect(s, *c)?;
                }
                s.stack.push(ty);
            }
            Instr::NewCell { ty } => {
                let t = match self.type_of(ty)? {
                    TypeDesc::Cell(t) => *t,
                    _ => {
                        return Err(format!(
                            "cell.new type {} is not a cell type",
                            self.name(ty)
                        ))
                    }
                };
                self.pop_expect(s, t)?;
                s.stack.push(ty);
            }
            Instr::CellGet {} => {
                let c = self.pop(s)?;
                match m.ty(c) {
                    TypeDesc::Cell(t) => s.stack.push(*t),
                    _ => return Err(format!("expected a cell, found {}", self.name(c))),
                }
            }
            Instr::CellSet {} => {
                let v = self.pop(s)?;
                let c = self.pop(s)?;
                match m.ty(c) {
                    TypeDesc::Cell(t) if *t == v => {}
                    TypeDesc::Cell(_) => {
                        return Err(format!("storing {} into {}", self.name(v), self.name(c)))
                    }
                    _ => return Err(format!("expected a cell, found {}", self.name(c))),
                }
            }
            _ => unreachable_fixed(instr),
        }
        Ok(())
    }
}

#[cold]
fn unreachable_layout<T>() -> T {
    // check_tables proved that struct and enum types name layouts of their
    // kind.
    panic!("type table names a layout of the wrong kind after check_tables")
}

#[cold]
fn unreachable_fixed(i: &Instr) {
    panic!(
        "{:?} has a fixed effect but reached the special rules",
        i.opcode()
    )
}

fn slot_type(s: Slot) -> TypeId {
    match s {
        Slot::I => INT,
        Slot::F => FLOAT,
        Slot::B => BOOL,
        Slot::S => STR,
    }
}
