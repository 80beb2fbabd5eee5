//! Generics: declarations with type parameters (`struct Stack<T>`,
//! `enum Option<T>`, `fn first<T>(xs: [T]) -> T`, methods of `impl
//! Stack<T>`), made into ordinary structs, enums and functions, one per
//! list of type arguments used (monomorphization). The bytecode never sees
//! a type parameter, so it stays fully typed and verified as before.
//!
//! Each generic declaration is checked once on its own, with every type
//! parameter a *stand-in*: an empty struct named like the parameter, which
//! supports what every value does (passing, storing, `==`, `str`) and
//! nothing else. What that check makes (instances, closures) is rolled
//! back; its errors stay. A declaration with errors is not instantiated.
//! Then each instance is checked again with its real types, to make its
//! code; an error only an instance has (a map keyed by `float`) names it.
//!
//! Uses (calls, variants, struct literals) are checked in
//! `generic_uses.rs`. Type arguments are inferred, never written at a call: from the type
//! the context expects, then from the arguments (short closures last, so
//! that their parameter types are known).
//!
//! Instantiation is bounded: at most [`MAX_INSTANCES`] instances in all,
//! and no chain of instances (each needing the next) longer than
//! [`MAX_INSTANCE_DEPTH`], so a program whose generics grow types without
//! end is an error, not a compiler that runs forever.

use super::*;

/// Most instances of generic declarations one program may have.
pub const MAX_INSTANCES: usize = 10_000;

/// The pseudo-declaration tuple types are instances of (see `tuples.rs`).
pub(super) const TUPLE: GenId = GenId::MAX;

/// What a field or variant of an instance counts toward [`MAX_INSTANCE_BYTES`].
const FIELD_BYTES: usize = 32;

/// Most source bytes all instances together may copy (a function
/// instance its body, a struct or enum a few bytes per field), so that the
/// work and memory checking them takes stay within a small multiple of
/// what the largest source file could take.
pub const MAX_INSTANCE_BYTES: usize = 16 << 20;

/// Longest chain of instances each of which needs the next.
pub const MAX_INSTANCE_DEPTH: u32 = 64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum GenKind {
    Struct,
    Enum,
    Fn,
}

/// Whose method a generic method is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum Owner {
    /// A non-generic struct or enum (the method has its own parameters).
    Type(TypeKey),
    /// A generic struct or enum: the method takes its parameters first.
    Gen(GenId),
}

/// What a struct or enum is an instance of: a generic declaration (or
/// [`TUPLE`]) and its type arguments; `None` if it is declared as it is.
pub(super) type Origin = Option<(GenId, Rc<[Ty]>)>;

pub(super) struct Generic {
    kind: GenKind,
    module: usize,
    item: usize,
    method: Option<usize>,
    /// As shown: `Stack`, `util.Pair`, `first`; a method's is its own.
    name: String,
    /// For methods: the owner, and its name as shown.
    owner: Option<(Owner, String)>,
    /// Type parameters: an impl's first (for its methods), then the
    /// declaration's own.
    params: Vec<String>,
    /// How many of `params` are the impl's.
    outer: usize,
    /// Its check found errors: it is not instantiated.
    broken: bool,
}

/// What an instance of a generic function instantiates.
pub(super) struct FnInst {
    env: Vec<(String, Ty)>,
    pub(super) name: String,
    /// Its place in a chain of instances (see [`MAX_INSTANCE_DEPTH`]).
    depth: u32,
}

#[derive(Default)]
pub(super) struct Generics {
    decls: Vec<Generic>,
    /// Instances by declaration and type arguments: struct, enum or
    /// function ids by the declaration's kind.
    instances: HashMap<(GenId, Vec<Ty>), u32>,
    /// The keys of `instances` in the order they were added (to roll back).
    log: Vec<(GenId, Vec<Ty>)>,
    /// Each struct's and enum's declaration and type arguments, if it is
    /// an instance (indexed like `structs` and `enums`).
    struct_origin: Vec<Origin>,
    enum_origin: Vec<Origin>,
    /// Variants of generic enums by name.
    variants: HashMap<String, Vec<(GenId, u16)>>,
    /// Generic methods by owner and name.
    methods: HashMap<(Owner, String), GenId>,
    /// What type parameter names mean where a declaration is being
    /// instantiated or checked.
    env: Rc<Vec<(String, Ty)>>,
    /// The stand-ins of the declaration being checked.
    standins: HashSet<StructId>,
    /// Nesting of type instantiations (fields naming instances).
    type_depth: u32,
    /// The chain depth of the function instance being checked.
    fn_depth: u32,
    /// The instance being checked, named in errors.
    pub(super) note: Option<String>,
    /// [`MAX_INSTANCES`] or [`MAX_INSTANCE_BYTES`] was reached (and
    /// reported).
    full: bool,
    /// Source bytes the instances made so far copy.
    bytes: usize,
}

/// What entering an instance replaced: the module, the type parameters'
/// meanings and the instance named in errors.
pub(super) struct Saved(usize, Rc<Vec<(String, Ty)>>, Option<String>, u32);

/// The lengths of what a declaration's check may add to, to roll back to.
struct Snapshot {
    structs: usize,
    enums: usize,
    sigs: usize,
    log: usize,
}

impl Generics {
    pub(super) fn standins(&self) -> &HashSet<StructId> {
        &self.standins
    }
}

impl<'a> Checker<'a> {
    // ------------------------------------------------------------ declaring

    /// Records a generic declaration found while collecting names.
    pub(super) fn declare_generic(
        &mut self,
        kind: GenKind,
        module: usize,
        item: usize,
        name: &ast::Ident,
        params: &[ast::Ident],
    ) -> GenId {
        let id = self.gen.decls.len() as GenId;
        let shown = self.shown_name(module, &name.name);
        self.gen.decls.push(Generic {
            kind,
            module,
            item,
            method: None,
            name: shown,
            owner: None,
            params: params.iter().map(|p| p.name.clone()).collect(),
            outer: 0,
            broken: false,
        });
        self.check_param_names(module, params, &[]);
        id
    }

    /// Records a generic method of an `impl` block.
    pub(super) fn declare_generic_method(
        &mut self,
        owner: Owner,
        owner_name: &str,
        impl_params: &[ast::Ident],
        item: usize,
        k: usize,
        f: &ast::FnDecl,
    ) {
        let module = self.cur_mod;
        let id = self.gen.decls.len() as GenId;
        let mut params: Vec<String> = impl_params.iter().map(|p| p.name.clone()).collect();
        params.extend(f.type_params.iter().map(|p| p.name.clone()));
        self.gen.decls.push(Generic {
            kind: GenKind::Fn,
            module,
            item,
            method: Some(k),
            name: f.name.name.clone(),
            owner: Some((owner, owner_name.to_string())),
            params,
            outer: impl_params.len(),
            broken: false,
        });
        self.check_param_names(module, &f.type_params, impl_params);
        let key = (owner, f.name.name.clone());
        if self.gen.methods.contains_key(&key) {
            self.error(
                f.name.span,
                format!("`{}` is already defined for `{owner_name}`", f.name.name),
            );
        }
        self.gen.methods.insert(key, id);
    }

    /// Type parameter names must differ from each other (and from an
    /// impl's) and from the built-in types.
    fn check_param_names(&mut self, module: usize, params: &[ast::Ident], outer: &[ast::Ident]) {
        let saved = std::mem::replace(&mut self.cur_mod, module);
        for (i, p) in params.iter().enumerate() {
            let twice = params[..i].iter().chain(outer).any(|q| q.name == p.name);
            if twice {
                self.error(
                    p.span,
                    format!("type parameter `{}` is declared twice", p.name),
                );
            } else if matches!(p.name.as_str(), "int" | "float" | "bool" | "str") {
                self.error(
                    p.span,
                    format!("`{}` is a built-in type, not a type parameter name", p.name),
                );
            }
        }
        self.cur_mod = saved;
    }

    pub(super) fn declare_generic_variants(
        &mut self,
        g: GenId,
        variants: &[(ast::Ident, Vec<ast::TypeExpr>)],
    ) {
        for (k, (n, _)) in variants.iter().enumerate().take(MAX_VARIANTS) {
            self.gen
                .variants
                .entry(n.name.clone())
                .or_default()
                .push((g, k as u16));
        }
    }

    pub(super) fn generic_kind(&self, g: GenId) -> GenKind {
        self.gen.decls[g as usize].kind
    }

    pub(super) fn generic_params(&self, g: GenId) -> &[String] {
        &self.gen.decls[g as usize].params
    }

    /// The item generic `g` is (for a method, its `impl` block).
    pub(super) fn generic_item(&self, g: GenId) -> &'a ast::Item {
        let d = &self.gen.decls[g as usize];
        &self.mods[d.module].ast.items[d.item]
    }

    /// Whether checking generic `g` with stand-ins found errors.
    pub(super) fn generic_broken(&self, g: GenId) -> bool {
        self.gen.decls[g as usize].broken
    }

    pub(super) fn generic_name(&self, g: GenId) -> &str {
        &self.gen.decls[g as usize].name
    }

    /// The generic method `name` of the type of `recv`, and the type
    /// arguments its owner fixes.
    pub(super) fn generic_method(&self, ty: &Ty, name: &str) -> Option<(GenId, Vec<Ty>)> {
        let (owner, args) = match ty {
            Ty::Struct(s) => match &self.gen.struct_origin[*s as usize] {
                Some((g, args)) => (Owner::Gen(*g), args.to_vec()),
                None => (Owner::Type(TypeKey::Struct(*s)), vec![]),
            },
            Ty::Enum(en) => match &self.gen.enum_origin[*en as usize] {
                Some((g, args)) => (Owner::Gen(*g), args.to_vec()),
                None => (Owner::Type(TypeKey::Enum(*en)), vec![]),
            },
            _ => return None,
        };
        let g = *self.gen.methods.get(&(owner, name.to_string()))?;
        Some((g, args))
    }

    /// A method of a type named by a path: `Stack.new`, `Point.convert`.
    pub(super) fn generic_static(&self, owner: Owner, name: &str) -> Option<GenId> {
        self.gen.methods.get(&(owner, name.to_string())).copied()
    }

    /// The variant of a generic enum a bare name means here: one declared
    /// in this module, else the prelude's.
    pub(super) fn generic_variant(&self, name: &str) -> Option<(GenId, u16)> {
        self.generic_variant_in(self.cur_mod, name)
            .or_else(|| self.generic_variant_in(self.prelude?, name))
    }

    /// The variant `name` of a generic enum declared in module `m`
    /// (`lib.Left(3)`), if one enum there has it.
    pub(super) fn generic_variant_in(&self, m: usize, name: &str) -> Option<(GenId, u16)> {
        let mut found = self
            .gen
            .variants
            .get(name)?
            .iter()
            .filter(|(g, _)| self.gen.decls[*g as usize].module == m);
        match (found.next(), found.next()) {
            (Some(&v), None) => Some(v),
            _ => None,
        }
    }

    /// The variant `name` of generic enum `g`.
    pub(super) fn generic_variant_of(&self, g: GenId, name: &str) -> Option<u16> {
        self.gen
            .variants
            .get(name)?
            .iter()
            .find(|(x, _)| *x == g)
            .map(|(_, v)| *v)
    }

    /// The declaration and type arguments `ty` is an instance of.
    pub(super) fn origin(&self, ty: &Ty) -> Option<(GenId, Rc<[Ty]>)> {
        match ty {
            Ty::Struct(s) => self.gen.struct_origin.get(*s as usize)?.clone(),
            Ty::Enum(en) => self.gen.enum_origin.get(*en as usize)?.clone(),
            _ => None,
        }
    }

    /// The prelude's generic declaration `name` (`__entries`).
    pub(super) fn prelude_generic(&self, name: &str) -> Option<GenId> {
        self.prelude_enum(name)
    }

    /// The prelude's generic enum `name` (`Option`, `Result`).
    pub(super) fn prelude_enum(&self, name: &str) -> Option<GenId> {
        match self.scopes[self.prelude?].get(name) {
            Some(Sym::Generic(g)) => Some(*g),
            _ => None,
        }
    }

    /// What a type parameter name means here, if it is one.
    pub(super) fn type_param(&self, name: &str) -> Option<Ty> {
        self.gen
            .env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    }

    // ------------------------------------------------------------ checking

    /// Checks every generic declaration once, with stand-ins for its type
    /// parameters (see the module docs).
    pub(super) fn check_generic_declarations(&mut self) {
        for g in 0..self.gen.decls.len() as GenId {
            let snap = self.snapshot();
            let before = self.diags.len();
            let params = self.gen.decls[g as usize].params.clone();
            let args: Vec<Ty> = params.iter().map(|p| self.standin(p)).collect();
            let span = self.generic_span(g);
            match self.gen.decls[g as usize].kind {
                GenKind::Struct | GenKind::Enum => {
                    self.instantiate_type(g, args, span);
                }
                GenKind::Fn => {
                    if let Some(f) = self.instantiate_fn(g, args, span) {
                        self.check_function(f);
                    }
                }
            }
            self.rollback(snap);
            if self.diags.len() > before {
                self.gen.decls[g as usize].broken = true;
            }
        }
    }

    fn generic_span(&self, g: GenId) -> Span {
        match self.generic_item(g) {
            ast::Item::Struct { name, .. } | ast::Item::Enum { name, .. } => name.span,
            _ => self.generic_fn_decl(g).name.span,
        }
    }

    fn standin(&mut self, name: &str) -> Ty {
        let id = self.add_struct(name.to_string(), None);
        self.gen.standins.insert(id);
        Ty::Struct(id)
    }

    /// A new struct, its fields to be filled in, and what it is an
    /// instance of (every struct is made here, so the tables stay in step).
    pub(super) fn add_struct(&mut self, name: String, origin: Origin) -> StructId {
        let id = self.structs.len() as StructId;
        self.structs.push(StructDef {
            name,
            fields: vec![],
        });
        self.field_index.push(HashMap::new());
        self.gen.struct_origin.push(origin);
        id
    }

    /// A new enum, its variants to be filled in unless given, in scope
    /// (for its bare variant names) in module `scope`.
    pub(super) fn add_enum(
        &mut self,
        def: EnumDef,
        origin: Origin,
        scope: Option<usize>,
    ) -> EnumId {
        let id = self.enums.len() as EnumId;
        let index = def
            .variants
            .iter()
            .enumerate()
            .map(|(k, (n, _))| (n.clone(), k as u16))
            .collect();
        self.enums.push(def);
        self.variant_index.push(index);
        self.enum_scope.push(scope);
        self.gen.enum_origin.push(origin);
        id
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            structs: self.structs.len(),
            enums: self.enums.len(),
            sigs: self.sigs.len(),
            log: self.gen.log.len(),
        }
    }

    fn rollback(&mut self, s: Snapshot) {
        self.structs.truncate(s.structs);
        self.field_index.truncate(s.structs);
        self.gen.struct_origin.truncate(s.structs);
        self.enums.truncate(s.enums);
        self.variant_index.truncate(s.enums);
        self.enum_scope.truncate(s.enums);
        self.gen.enum_origin.truncate(s.enums);
        self.sigs.truncate(s.sigs);
        self.funcs.truncate(s.sigs);
        for key in self.gen.log.drain(s.log..) {
            self.gen.instances.remove(&key);
        }
        self.gen.standins.clear();
    }

    // ------------------------------------------------------------ instances

    /// Sets what type parameters mean, the module and the instance named
    /// in errors; gives back what they were.
    fn enter_instance(
        &mut self,
        module: usize,
        env: Vec<(String, Ty)>,
        note: Option<String>,
    ) -> Saved {
        let m = std::mem::replace(&mut self.cur_mod, module);
        let env = std::mem::replace(&mut self.gen.env, Rc::new(env));
        let note = std::mem::replace(&mut self.gen.note, note);
        Saved(m, env, note, self.gen.fn_depth)
    }

    fn leave_instance(&mut self, saved: Saved) {
        self.cur_mod = saved.0;
        self.gen.env = saved.1;
        self.gen.note = saved.2;
        self.gen.fn_depth = saved.3;
    }

    /// Whether another instance may be made; an error at `span` if not.
    fn room_for_instance(&mut self, span: Span, bytes: usize) -> bool {
        let total = self.gen.bytes.saturating_add(bytes);
        if self.gen.instances.len() < MAX_INSTANCES && total <= MAX_INSTANCE_BYTES {
            self.gen.bytes = total;
            return true;
        }
        // Once is enough: every later instance would say it again.
        if std::mem::replace(&mut self.gen.full, true) {
            return false;
        }
        let msg = if self.gen.instances.len() >= MAX_INSTANCES {
            format!("the program needs more than {MAX_INSTANCES} instances of generic declarations")
        } else {
            format!("the program's instances of generic declarations copy more than {MAX_INSTANCE_BYTES} bytes of source")
        };
        self.error(span, msg);
        false
    }

    /// `base<args>`, cut short (instances' names are built from others'
    /// names, so uncut they could double with each level).
    fn instance_name(&self, base: &str, args: &[Ty]) -> String {
        let shown: Vec<String> = args.iter().map(|t| self.ty_name(t)).collect();
        let name = format!("{base}<{}>", shown.join(", "));
        crate::diag::shorten(&name, MAX_NAME_SHOWN).into_owned()
    }

    fn env_of(&self, g: GenId, args: &[Ty]) -> Vec<(String, Ty)> {
        let d = &self.gen.decls[g as usize];
        d.params.iter().cloned().zip(args.iter().cloned()).collect()
    }

    /// The struct or enum `g<args>`, made if it is new; `Error` (reported
    /// at `span`) past the limits, and (already reported) for an argument
    /// in error.
    pub(super) fn instantiate_type(&mut self, g: GenId, args: Vec<Ty>, span: Span) -> Ty {
        let kind = self.gen.decls[g as usize].kind;
        let wrap = |id: u32| match kind {
            GenKind::Struct => Ty::Struct(id),
            _ => Ty::Enum(id),
        };
        if let Some(&id) = self.gen.instances.get(&(g, args.clone())) {
            return wrap(id);
        }
        let broken = self.gen.decls[g as usize].broken;
        let bytes = self.type_bytes(g);
        if broken || args.iter().any(contains_error) || !self.room_for_instance(span, bytes) {
            return Ty::Error;
        }
        if self.gen.type_depth >= MAX_INSTANCE_DEPTH {
            let msg = format!(
                "generic type `{}` is instantiated more than {MAX_INSTANCE_DEPTH} levels deep (its fields name ever larger instances)",
                self.generic_name(g)
            );
            self.error(span, msg);
            return Ty::Error;
        }
        let name = self.instance_name(&self.gen.decls[g as usize].name.clone(), &args);
        let module = self.gen.decls[g as usize].module;
        let origin = Some((g, Rc::from(args.clone())));
        let id = match kind {
            GenKind::Struct => self.add_struct(name.clone(), origin),
            _ => {
                let def = EnumDef {
                    name: name.clone(),
                    variants: vec![],
                };
                self.add_enum(def, origin, None)
            }
        };
        self.gen.instances.insert((g, args.clone()), id);
        self.gen.log.push((g, args.clone()));
        let note = (!self.in_trial()).then_some(name);
        let env = self.env_of(g, &args);
        let saved = self.enter_instance(module, env, note);
        self.gen.type_depth += 1;
        match self.generic_item(g) {
            ast::Item::Struct { name, fields, .. } => self.fill_struct(id, name, fields),
            ast::Item::Enum { name, variants, .. } => self.fill_enum(id, name, variants, false),
            _ => unreachable!("generic types are structs and enums"),
        }
        self.gen.type_depth -= 1;
        self.leave_instance(saved);
        wrap(id)
    }

    /// The tuple type of `parts` (checked by `tuple_type`), made if new.
    pub(super) fn instantiate_tuple(&mut self, parts: Vec<Ty>, span: Span) -> Ty {
        if let Some(&id) = self.gen.instances.get(&(TUPLE, parts.clone())) {
            return Ty::Enum(id);
        }
        let bytes = FIELD_BYTES * parts.len();
        if parts.iter().any(contains_error) || !self.room_for_instance(span, bytes) {
            return Ty::Error;
        }
        let shown: Vec<String> = parts.iter().map(|t| self.ty_name(t)).collect();
        let name = format!("({})", shown.join(", "));
        let def = EnumDef {
            name: crate::diag::shorten(&name, MAX_NAME_SHOWN).into_owned(),
            variants: vec![(String::new(), Rc::from(parts.clone()))],
        };
        let id = self.add_enum(def, Some((TUPLE, Rc::from(parts.clone()))), None);
        self.gen.instances.insert((TUPLE, parts.clone()), id);
        self.gen.log.push((TUPLE, parts));
        Ty::Enum(id)
    }

    /// What an instance of generic struct or enum `g` counts toward
    /// [`MAX_INSTANCE_BYTES`].
    fn type_bytes(&self, g: GenId) -> usize {
        let parts = match self.generic_item(g) {
            ast::Item::Struct { fields, .. } => fields.len(),
            ast::Item::Enum { variants, .. } => variants.iter().map(|(_, ts)| 1 + ts.len()).sum(),
            _ => 0,
        };
        FIELD_BYTES * (1 + parts)
    }

    /// Whether a declaration is being checked with stand-ins.
    fn in_trial(&self) -> bool {
        !self.gen.standins.is_empty()
    }

    /// The function `g<args>`, made if it is new (its body is checked
    /// later, with the other functions); `None` if `g` has errors or past
    /// the limits (reported at `span`).
    pub(super) fn instantiate_fn(&mut self, g: GenId, args: Vec<Ty>, span: Span) -> Option<FuncId> {
        if self.gen.decls[g as usize].broken {
            return None;
        }
        if let Some(&id) = self.gen.instances.get(&(g, args.clone())) {
            return Some(id);
        }
        let bytes = {
            let body = self.generic_fn_decl(g).body.span;
            body.hi - body.lo
        };
        if args.iter().any(contains_error) || !self.room_for_instance(span, bytes) {
            return None;
        }
        let depth = self.gen.fn_depth + 1;
        if depth > MAX_INSTANCE_DEPTH {
            let msg = format!(
                "generic function `{}` is instantiated more than {MAX_INSTANCE_DEPTH} levels deep (each instance needs another, with ever larger types)",
                self.generic_name(g)
            );
            self.error(span, msg);
            return None;
        }
        let (module, item, method, outer) = {
            let d = &self.gen.decls[g as usize];
            (d.module, d.item, d.method, d.outer)
        };
        let base = {
            let d = &self.gen.decls[g as usize];
            match &d.owner {
                None => d.name.clone(),
                Some((_, owner)) => {
                    let owner = if outer > 0 {
                        self.instance_name(owner, &args[..outer])
                    } else {
                        owner.clone()
                    };
                    format!("{owner}.{}", d.name)
                }
            }
        };
        let name = if args.len() > outer {
            self.instance_name(&base, &args[outer..])
        } else {
            base
        };
        let self_ty = match self.gen.decls[g as usize].owner {
            Some((Owner::Gen(og), _)) => {
                Some(self.instantiate_type(og, args[..outer].to_vec(), span))
            }
            Some((Owner::Type(TypeKey::Struct(s)), _)) => Some(Ty::Struct(s)),
            Some((Owner::Type(TypeKey::Enum(s)), _)) => Some(Ty::Enum(s)),
            None => None,
        };
        let env = self.env_of(g, &args);
        let note = (!self.in_trial()).then(|| name.clone());
        let saved = self.enter_instance(module, env.clone(), note);
        let decl = self.generic_fn_decl(g);
        let self_ty = self_ty.filter(|_| decl.has_self);
        let (params, ret) = self.signature(decl, self_ty);
        self.leave_instance(saved);
        let id = self.sigs.len() as FuncId;
        self.sigs.push(FuncSig {
            params: params.into(),
            ret,
            module,
            decl: (item, method),
            inst: Some(Rc::new(FnInst { env, name, depth })),
        });
        self.funcs.push(None);
        self.gen.instances.insert((g, args.clone()), id);
        self.gen.log.push((g, args));
        Some(id)
    }

    pub(super) fn generic_fn_decl(&self, g: GenId) -> &'a ast::FnDecl {
        match (self.generic_item(g), self.gen.decls[g as usize].method) {
            (ast::Item::Fn(f), None) => f,
            (ast::Item::Impl { methods, .. }, Some(k)) => &methods[k],
            _ => unreachable!("generic functions are recorded by position"),
        }
    }

    /// Enters the instance a function is, for checking its body (in the
    /// module already current).
    pub(super) fn enter_fn_instance(&mut self, inst: &FnInst) -> Saved {
        let note = (!self.in_trial()).then(|| inst.name.clone());
        let saved = self.enter_instance(self.cur_mod, inst.env.clone(), note);
        self.gen.fn_depth = inst.depth;
        saved
    }

    pub(super) fn leave_fn_instance(&mut self, saved: Saved) {
        let module = self.cur_mod;
        self.leave_instance(saved);
        self.cur_mod = module;
    }

    // ------------------------------------------------------------ inference

    /// Checks `args` for generic declaration `g`, whose parameters have
    /// the written types `templates`, binding its type parameters (those
    /// `bound` does not fix already) from the type `want` expected of the
    /// result, then from the arguments' types (the result is written `ret`, or `g`
    /// itself for a struct or enum). Gives the checked arguments and the
    /// type arguments; `None` for the latter if one could not be inferred
    /// (reported).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn infer(
        &mut self,
        g: GenId,
        mut bound: Vec<Option<Ty>>,
        templates: &[&'a ast::TypeExpr],
        args: &[&ast::Expr],
        ret: Option<&'a ast::TypeExpr>,
        want: Option<&Ty>,
        what: &str,
        span: Span,
    ) -> (Vec<Expr>, Option<Vec<Ty>>) {
        if args.len() != templates.len() {
            let n = templates.len();
            self.error(
                span,
                format!(
                    "{what} takes {n} argument{}, {} given",
                    if n == 1 { "" } else { "s" },
                    args.len()
                ),
            );
        }
        // Short closures last: their parameter types come from the others.
        let mut xs: Vec<Option<Expr>> = (0..args.len()).map(|_| None).collect();
        // The type expected first: `Stack { items: [] }` returned as a
        // `Stack<int>` gives its empty array a type.
        self.bind_result(g, ret, want, &mut bound);
        for late in [false, true] {
            for (i, a) in args.iter().enumerate() {
                if self.needs_context(a) != late {
                    continue;
                }
                let Some(t) = templates.get(i) else {
                    xs[i] = Some(self.expr(a, None));
                    continue;
                };
                // A closure takes what is known of its type (`Error` for
                // the rest); other arguments a type only if it is whole.
                let lambda = matches!(a.kind, ast::ExprKind::Lambda(_));
                let hint = self.resolve_template(g, t, &bound);
                let mut x = self.expr(a, Some(&hint).filter(|h| lambda || !contains_error(h)));
                if x.ty == Ty::Unit {
                    self.error(a.span, "this expression has no value to pass");
                    x = self.error_expr(x.line);
                }
                self.bind(g, t, &x.ty, &mut bound);
                xs[i] = Some(x);
            }
        }
        let xs: Vec<Expr> = xs
            .into_iter()
            .map(|x| x.expect("every argument checked"))
            .collect();
        if xs.iter().any(|x| x.ty.is_error()) {
            return (xs, None);
        }
        if !late_bound_ok(&bound) {
            if want.is_some_and(Ty::is_error) {
                return (xs, None);
            }
            let params = &self.gen.decls[g as usize].params;
            let missing: Vec<String> = params
                .iter()
                .zip(&bound)
                .filter(|(_, b)| b.is_none())
                .map(|(p, _)| p.clone())
                .collect();
            // An example type: what is known, `int` for the rest.
            let example: Vec<String> = bound
                .iter()
                .map(|b| b.as_ref().map_or("int".to_string(), |t| self.ty_name(t)))
                .collect();
            let msg = match self.gen.decls[g as usize].kind {
                GenKind::Fn => format!(
                    "cannot infer the type {} of {what} from its arguments; give its result a type where it is used",
                    listed(missing.iter()),
                ),
                _ => format!(
                    "cannot infer the type {} of {what}; give the result a type, e.g. `let x: {}<{}> = ...;`",
                    listed(missing.iter()),
                    self.gen.decls[g as usize].name,
                    example.join(", ")
                ),
            };
            self.error(span, msg);
            return (xs, None);
        }
        (
            xs,
            Some(bound.into_iter().map(|b| b.expect("checked")).collect()),
        )
    }

    /// Whether argument `a` takes its type from the type expected of it
    /// (so it is checked after the others, which may fix that type): a
    /// short closure, an empty array or map, a generic variant without
    /// values (`None`) or a generic function named as a value.
    fn needs_context(&self, a: &ast::Expr) -> bool {
        match &a.kind {
            ast::ExprKind::Lambda(_) => true,
            ast::ExprKind::Array(items) => items.is_empty(),
            ast::ExprKind::Map(entries) => entries.is_empty(),
            ast::ExprKind::Ident(_) | ast::ExprKind::Field(..) => {
                let Some(path) = crate::parse_helpers::path_of(a) else {
                    return false;
                };
                match self.resolve_path(&path) {
                    Some(PathRes::Generic(g)) => self.generic_kind(g) == GenKind::Fn,
                    Some(PathRes::GenVariant(..)) => true,
                    Some(_) => false,
                    None => {
                        path.len() == 1
                            && !self.fcx.iter().any(|c| {
                                c.find(&path[0].name).is_some() || c.captures_name(&path[0].name)
                            })
                            && self.generic_variant(&path[0].name).is_some()
                    }
                }
            }
            _ => false,
        }
    }

    /// Binds what the expected result type fixes.
    fn bind_result(
        &mut self,
        g: GenId,
        ret: Option<&'a ast::TypeExpr>,
        want: Option<&Ty>,
        bound: &mut [Option<Ty>],
    ) {
        let Some(want) = want else { return };
        match ret {
            Some(t) => self.bind(g, t, want, bound),
            None => {
                // A struct or enum: the expected type is an instance of it.
                if let Some((og, args)) = self.origin(want) {
                    if og == g {
                        for (b, a) in bound.iter_mut().zip(args.iter()) {
                            if b.is_none() {
                                *b = Some(a.clone());
                            }
                        }
                    }
                }
            }
        }
    }

    /// Template `t` of `g` with the parameters bound so far; `Error` for
    /// any part not known yet.
    fn resolve_template(&mut self, g: GenId, t: &ast::TypeExpr, bound: &[Option<Ty>]) -> Ty {
        let d = &self.gen.decls[g as usize];
        let env: Vec<(String, Ty)> = d
            .params
            .iter()
            .cloned()
            .zip(bound.iter().map(|b| b.clone().unwrap_or(Ty::Error)))
            .collect();
        let saved = self.enter_instance(d.module, env, self.gen.note.clone());
        let ty = self.resolve_type(t);
        self.leave_instance(saved);
        ty
    }

    /// Binds the type parameters of `g` that template `t` names to the
    /// parts of `actual` in their places; a part already bound stays.
    fn bind(&mut self, g: GenId, t: &ast::TypeExpr, actual: &Ty, bound: &mut [Option<Ty>]) {
        // (No type argument is unit: a function returning nothing binds
        // nothing.)
        if actual.is_error() || *actual == Ty::Unit {
            return;
        }
        match (&t.kind, actual) {
            (ast::TypeKind::Named(path, targs), _) if path.len() == 1 && targs.is_empty() => {
                let params = &self.gen.decls[g as usize].params;
                if let Some(i) = params.iter().position(|p| *p == path[0].name) {
                    if bound[i].is_none() {
                        bound[i] = Some(actual.clone());
                    }
                }
            }
            (ast::TypeKind::Named(path, targs), _) if !targs.is_empty() => {
                let module = self.gen.decls[g as usize].module;
                let saved = std::mem::replace(&mut self.cur_mod, module);
                let res = self.resolve_path(path);
                self.cur_mod = saved;
                if let (Some(PathRes::Generic(tg)), Some((og, args))) = (res, self.origin(actual)) {
                    if tg == og {
                        for (ta, a) in targs.iter().zip(args.iter()) {
                            self.bind(g, ta, a, bound);
                        }
                    }
                }
            }
            (ast::TypeKind::Tuple(ts), _) => {
                if let Some(parts) = self.tuple_parts(actual) {
                    if parts.len() == ts.len() {
                        for (t, p) in ts.iter().zip(parts.iter()) {
                            self.bind(g, t, p, bound);
                        }
                    }
                }
            }
            (ast::TypeKind::Array(te), Ty::Array(a)) => self.bind(g, te, a, bound),
            (ast::TypeKind::Map(tk, tv), Ty::Map(k, v)) => {
                self.bind(g, tk, k, bound);
                self.bind(g, tv, v, bound);
            }
            (ast::TypeKind::Fn(tps, tr), Ty::Fn(ps, r)) if tps.len() == ps.len() => {
                for (tp, p) in tps.iter().zip(ps.iter()) {
                    self.bind(g, tp, p, bound);
                }
                if let Some(tr) = tr {
                    self.bind(g, tr, r, bound);
                }
            }
            _ => {}
        }
    }

    /// A generic function used as a value: its type arguments from the
    /// function type expected.
    pub(super) fn generic_fn_value(
        &mut self,
        g: GenId,
        want: Option<&Ty>,
        span: Span,
        line: u32,
    ) -> Expr {
        let decl = self.generic_fn_decl(g);
        let n = self.gen.decls[g as usize].params.len();
        let mut bound: Vec<Option<Ty>> = vec![None; n];
        let outer = self.gen.decls[g as usize].outer;
        if let Some(Ty::Fn(ps, r)) = want {
            if ps.len() == decl.params.len() && !decl.has_self && outer == 0 {
                for (p, t) in decl.params.iter().zip(ps.iter()) {
                    self.bind(g, &p.ty, t, &mut bound);
                }
                if let Some(rt) = &decl.ret {
                    self.bind(g, rt, r, &mut bound);
                }
            }
        }
        if !late_bound_ok(&bound) {
            let name = self.generic_name(g).to_string();
            self.error(
                span,
                format!("cannot infer the type arguments of generic function `{name}`; give the variable a function type, e.g. `let f: fn(int) -> int = {name};`"),
            );
            return self.error_expr(line);
        }
        let args = bound.into_iter().map(|b| b.expect("checked")).collect();
        match self.instantiate_fn(g, args, span) {
            Some(f) => self.path_value(PathRes::Fn(f), "", span, None, line),
            None => self.error_expr(line),
        }
    }
}

fn late_bound_ok(bound: &[Option<Ty>]) -> bool {
    bound.iter().all(Option::is_some)
}

/// Whether a type has a part in error (an instance never does: none is
/// made with such an argument).
pub(super) fn contains_error(t: &Ty) -> bool {
    match t {
        Ty::Error => true,
        Ty::Array(e) => contains_error(e),
        Ty::Map(k, v) => contains_error(k) || contains_error(v),
        Ty::Fn(ps, r) => ps.iter().any(contains_error) || contains_error(r),
        _ => false,
    }
}
