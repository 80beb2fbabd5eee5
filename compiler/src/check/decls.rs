//! Declarations: collecting each module's names, resolving struct
//! fields, enum variants, function signatures and extern blocks, and
//! checking constants and function bodies in their order.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn collect_names(&mut self) {
        for (mi, m) in self.mods.iter().enumerate() {
            for (ident, target) in &m.imports {
                self.declare(mi, ident, Sym::Module(*target));
            }
            for (ii, item) in m.ast.items.iter().enumerate() {
                match item {
                    ast::Item::Struct { name, params, .. } if !params.is_empty() => {
                        let g = self.declare_generic(GenKind::Struct, mi, ii, name, params);
                        self.declare(mi, name, Sym::Generic(g));
                    }
                    ast::Item::Enum {
                        name,
                        params,
                        variants,
                    } if !params.is_empty() => {
                        let g = self.declare_generic(GenKind::Enum, mi, ii, name, params);
                        if self.declare(mi, name, Sym::Generic(g)) {
                            self.declare_generic_variants(g, variants);
                        }
                    }
                    ast::Item::Fn(f) if !f.type_params.is_empty() => {
                        let g = self.declare_generic(GenKind::Fn, mi, ii, &f.name, &f.type_params);
                        self.declare(mi, &f.name, Sym::Generic(g));
                    }
                    ast::Item::Struct { name, .. } => {
                        let id = self.add_struct(self.shown_name(mi, &name.name), None);
                        self.declare(mi, name, Sym::Struct(id));
                    }
                    ast::Item::Enum { name, .. } => {
                        let def = EnumDef {
                            name: self.shown_name(mi, &name.name),
                            variants: vec![],
                        };
                        let id = self.enums.len() as EnumId;
                        let declared = self.declare(mi, name, Sym::Enum(id));
                        self.add_enum(def, None, declared.then_some(mi));
                    }
                    ast::Item::Fn(f) => {
                        let id = self.sigs.len() as FuncId;
                        self.sigs.push(FuncSig {
                            params: Rc::new([]),
                            ret: Ty::Unit,
                            module: mi,
                            decl: (ii, None),
                            inst: None,
                        });
                        self.funcs.push(None);
                        self.declare(mi, &f.name, Sym::Fn(id));
                    }
                    ast::Item::Const { name, .. } => {
                        let id = self.const_decls.len() as ConstId;
                        self.const_decls.push(ConstDecl {
                            module: mi,
                            item: ii,
                            state: ConstState::Unchecked,
                        });
                        self.consts.push(None);
                        self.declare(mi, name, Sym::Const(id));
                    }
                    ast::Item::Extern { capability, fns } => {
                        for f in fns {
                            let id = self.hosts.len() as u32;
                            self.hosts.push(Rc::new(HostRef {
                                module: capability.name.as_str().into(),
                                name: f.name.name.as_str().into(),
                                params: vec![],
                                ret: Ty::Unit,
                            }));
                            self.declare(mi, &f.name, Sym::Host(id));
                        }
                    }
                    ast::Item::Import(_) | ast::Item::Impl { .. } | ast::Item::Error => {}
                }
            }
        }
    }

    // ------------------------------------------------------------ phase 2

    pub(super) fn resolve_declarations(&mut self) {
        let mods = self.mods;
        let (mut si, mut ei, mut fi, mut hi) = (0usize, 0usize, 0usize, 0usize);
        // Structs and enums first: signatures may name any of them.
        for (mi, m) in mods.iter().enumerate() {
            self.cur_mod = mi;
            for item in &m.ast.items {
                match item {
                    ast::Item::Struct {
                        name,
                        params,
                        fields,
                    } if params.is_empty() => {
                        self.fill_struct(si as StructId, name, fields);
                        si += 1;
                    }
                    ast::Item::Enum {
                        name,
                        params,
                        variants,
                    } if params.is_empty() => {
                        self.fill_enum(ei as EnumId, name, variants, true);
                        ei += 1;
                    }
                    _ => {}
                }
            }
        }
        for (mi, m) in mods.iter().enumerate() {
            self.cur_mod = mi;
            for (ii, item) in m.ast.items.iter().enumerate() {
                match item {
                    ast::Item::Fn(f) if f.type_params.is_empty() => {
                        let (params, ret) = self.signature(f, None);
                        self.sigs[fi].params = params.into();
                        self.sigs[fi].ret = ret;
                        fi += 1;
                    }
                    ast::Item::Extern { capability, fns } => {
                        self.extern_block(capability, fns, hi);
                        hi += fns.len();
                    }
                    ast::Item::Impl {
                        ty,
                        params: impl_params,
                        methods,
                    } => self.impl_block(mi, ii, ty, impl_params, methods),
                    _ => {}
                }
            }
        }
    }

    /// Fills in the fields of struct `id`, declared as `fields`.
    pub(super) fn fill_struct(
        &mut self,
        id: StructId,
        name: &ast::Ident,
        fields: &[(ast::Ident, ast::TypeExpr)],
    ) {
        let fields = self.within_limit(fields, MAX_FIELDS, name, "fields");
        let mut out: Vec<(String, Ty)> = Vec::with_capacity(fields.len());
        let mut index = HashMap::with_capacity(fields.len());
        for (n, t) in fields {
            let ty = self.resolve_type(t);
            if index.contains_key(&n.name) {
                self.error(n.span, format!("field `{}` is declared twice", n.name));
            } else {
                index.insert(n.name.clone(), out.len() as u16);
            }
            out.push((n.name.clone(), ty));
        }
        self.structs[id as usize].fields = out;
        self.field_index[id as usize] = index;
    }

    /// Fills in the variants of enum `ei`, declared as `variants`; `named`
    /// makes their bare names mean them.
    pub(super) fn fill_enum(
        &mut self,
        ei: EnumId,
        name: &ast::Ident,
        variants: &[(ast::Ident, Vec<ast::TypeExpr>)],
        named: bool,
    ) {
        let variants = self.within_limit(variants, MAX_VARIANTS, name, "variants");
        let mut out: Vec<(String, Rc<[Ty]>)> = Vec::with_capacity(variants.len());
        let mut index = HashMap::with_capacity(variants.len());
        for (n, ts) in variants {
            let what = format!("fields in variant `{}`", n.name);
            let ts = self.within_limit(ts, MAX_FIELDS, name, &what);
            let tys = ts.iter().map(|t| self.resolve_type(t)).collect();
            if index.contains_key(&n.name) {
                self.error(n.span, format!("variant `{}` is declared twice", n.name));
            } else {
                index.insert(n.name.clone(), out.len() as u16);
                if named {
                    self.variants_named
                        .entry(n.name.clone())
                        .or_default()
                        .push((ei, out.len() as u16));
                }
            }
            out.push((n.name.clone(), tys));
        }
        self.variant_index[ei as usize] = index;
        if out.is_empty() {
            self.error(
                name.span,
                format!("enum `{}` needs at least one variant", name.name),
            );
            out.push(("<none>".into(), Rc::new([])));
        }
        self.enums[ei as usize].variants = out;
    }

    /// The methods of `impl ty<params> { ... }`: a generic type's, and
    /// those with type parameters of their own, are generic.
    fn impl_block(
        &mut self,
        mi: usize,
        ii: usize,
        ty: &ast::Ident,
        impl_params: &[ast::Ident],
        methods: &[ast::FnDecl],
    ) {
        let (key, owner) = match self.scopes[mi].get(&ty.name) {
            Some(Sym::Struct(s)) => (Some(TypeKey::Struct(*s)), None),
            Some(Sym::Enum(s)) => (Some(TypeKey::Enum(*s)), None),
            Some(Sym::Generic(g)) if self.generic_kind(*g) != GenKind::Fn => (None, Some(*g)),
            _ => {
                self.error(
                    ty.span,
                    format!(
                        "`impl` needs a struct or enum of this module, `{}` is not one",
                        ty.name
                    ),
                );
                return;
            }
        };
        let shown = self.shown_name(mi, &ty.name);
        if let Some(g) = owner {
            let names = self.generic_params(g).to_vec();
            if impl_params.len() != names.len() {
                let n = names.len();
                self.error(
                    ty.span,
                    format!(
                        "`{}` takes {n} type parameter{}: write `impl {}<{}>`",
                        ty.name,
                        if n == 1 { "" } else { "s" },
                        ty.name,
                        names.join(", ")
                    ),
                );
                return;
            }
            for (k, f) in methods.iter().enumerate() {
                self.declare_generic_method(Owner::Gen(g), &shown, impl_params, ii, k, f);
            }
            return;
        }
        let key = key.expect("a struct or enum");
        if !impl_params.is_empty() {
            self.error(
                ty.span,
                format!("`{}` is not generic: write `impl {}`", ty.name, ty.name),
            );
        }
        let self_ty = match key {
            TypeKey::Struct(s) => Ty::Struct(s),
            TypeKey::Enum(s) => Ty::Enum(s),
        };
        for (k, f) in methods.iter().enumerate() {
            let fields_clash = match key {
                TypeKey::Struct(s) => self.structs[s as usize]
                    .fields
                    .iter()
                    .any(|(n, _)| *n == f.name.name),
                TypeKey::Enum(_) => false,
            };
            if !f.type_params.is_empty() {
                if fields_clash || self.methods.contains_key(&(key, f.name.name.clone())) {
                    self.error(
                        f.name.span,
                        format!("`{}` is already defined for `{}`", f.name.name, ty.name),
                    );
                }
                self.declare_generic_method(Owner::Type(key), &shown, &[], ii, k, f);
                continue;
            }
            let (params, ret) = self.signature(f, f.has_self.then(|| self_ty.clone()));
            let id = self.sigs.len() as FuncId;
            self.sigs.push(FuncSig {
                params: params.into(),
                ret,
                module: mi,
                decl: (ii, Some(k)),
                inst: None,
            });
            self.funcs.push(None);
            if self.methods.contains_key(&(key, f.name.name.clone()))
                || fields_clash
                || self
                    .generic_static(Owner::Type(key), &f.name.name)
                    .is_some()
            {
                self.error(
                    f.name.span,
                    format!("`{}` is already defined for `{}`", f.name.name, ty.name),
                );
            }
            self.methods.insert((key, f.name.name.clone()), id);
        }
    }

    /// The first `max` of a declaration's `items`, and an error at its
    /// `name` if it has more. (Keeping only those bounds the work each use
    /// of the declaration costs while checking goes on.)
    pub(super) fn within_limit<'i, T>(
        &mut self,
        items: &'i [T],
        max: usize,
        name: &ast::Ident,
        what: &str,
    ) -> &'i [T] {
        if items.len() > max {
            self.error(
                name.span,
                format!(
                    "`{}` has {} {what}, more than the limit of {max}",
                    name.name,
                    items.len()
                ),
            );
            return &items[..max];
        }
        items
    }

    pub(super) fn signature(&mut self, f: &ast::FnDecl, self_ty: Option<Ty>) -> (Vec<Ty>, Ty) {
        self.resolve_signature(&f.name, self_ty, &f.params, f.ret.as_ref())
    }

    /// Parameter and result types of a function or extern declaration.
    pub(super) fn resolve_signature(
        &mut self,
        name: &ast::Ident,
        self_ty: Option<Ty>,
        params: &[ast::Param],
        ret: Option<&ast::TypeExpr>,
    ) -> (Vec<Ty>, Ty) {
        let mut out: Vec<Ty> = self_ty.into_iter().collect();
        if out.len() + params.len() > MAX_PARAMS {
            self.error(
                name.span,
                format!("a function takes at most {MAX_PARAMS} parameters"),
            );
        }
        let params = &params[..params.len().min(MAX_PARAMS - out.len())];
        let mut seen: HashSet<&str> = HashSet::new();
        for p in params {
            if !seen.insert(&p.name.name) {
                self.error(
                    p.name.span,
                    format!("parameter `{}` is declared twice", p.name.name),
                );
            }
            out.push(self.resolve_type(&p.ty));
        }
        let ret = ret.map_or(Ty::Unit, |t| self.resolve_type(t));
        (out, ret)
    }

    /// Resolves the signatures of an `extern` block's functions, which
    /// start at `hosts[first]`. Only values the host boundary copies may
    /// cross it.
    pub(super) fn extern_block(
        &mut self,
        capability: &ast::Ident,
        fns: &[ast::ExternFn],
        first: usize,
    ) {
        let cap = &capability.name;
        if !tern_vm::module::is_capability_name(cap) {
            self.error(
                capability.span,
                format!("`{cap}` is not a capability name (letters, digits and `_`, in parts separated by `.`)"),
            );
        }
        for (k, f) in fns.iter().enumerate() {
            let (params, ret) = self.resolve_signature(&f.name, None, &f.params, f.ret.as_ref());
            for (p, t) in f.params.iter().zip(&params) {
                if !crosses_host(t, false) {
                    self.error(p.ty.span, EXTERN_TYPES);
                }
            }
            if let Some(t) = &f.ret {
                if !crosses_host(&ret, true) {
                    self.error(t.span, EXTERN_TYPES);
                }
            }
            // One import has one signature, whoever declares it.
            let std_sig = tern_stdlib::host_functions()
                .into_iter()
                .find(|(m, n, _, _)| m == cap && *n == f.name.name)
                .map(|(_, _, ps, r)| {
                    let r = match r {
                        tern_stdlib::HostRet::Prim(p) => prim(p),
                        tern_stdlib::HostRet::Outcome => Ty::array(Ty::Str),
                    };
                    (ps.iter().map(|p| prim(*p)).collect::<Vec<_>>(), r)
                });
            let key = (cap.clone(), f.name.name.clone());
            let earlier = self.host_first.get(&key).map(|&i| {
                let h = &self.hosts[i];
                (h.params.clone(), h.ret.clone())
            });
            self.host_first.entry(key).or_insert(first + k);
            if let Some((ps, r)) = std_sig.or(earlier) {
                if ps != params || r != ret {
                    let shown: Vec<String> = ps.iter().map(|t| self.ty_name(t)).collect();
                    self.error(
                        f.name.span,
                        format!(
                            "`{cap}.{}` is already imported as ({}) -> {}",
                            f.name.name,
                            shown.join(", "),
                            self.ty_name(&r)
                        ),
                    );
                }
            }
            let h = &mut self.hosts[first + k];
            let h = Rc::get_mut(h).expect("host signatures are filled before use");
            h.params = params;
            h.ret = ret;
        }
    }

    pub(super) fn find_main(&mut self, root: usize) -> Option<FuncId> {
        self.cur_mod = root;
        let id = match self.scopes[root].get("main") {
            Some(Sym::Fn(id)) => *id,
            // No main: a library module (a plugin), run only through its
            // exports.
            _ => return None,
        };
        let sig = &self.sigs[id as usize];
        let ok_params = sig.params.is_empty() || *sig.params == [Ty::array(Ty::Str)];
        let ok_ret = matches!(sig.ret, Ty::Unit | Ty::Int | Ty::Error);
        if !ok_params || !ok_ret {
            let span = self.fn_decl(id).name.span;
            self.error(
                span,
                "`main` must be `fn main()` or `fn main(args: [str])`, optionally returning int",
            );
        }
        Some(id)
    }

    pub(super) fn fn_decl(&self, id: FuncId) -> &'a ast::FnDecl {
        let sig = &self.sigs[id as usize];
        match (&self.mods[sig.module].ast.items[sig.decl.0], sig.decl.1) {
            (ast::Item::Fn(f), None) => f,
            (ast::Item::Impl { methods, .. }, Some(k)) => &methods[k],
            _ => unreachable!("function declarations are recorded by position"),
        }
    }

    // ------------------------------------------------------------ paths

    /// Resolves `a`, `a.b` or `a.b.c` to a non-value item, if it names one
    /// and `a` is not a variable in scope.
    pub(super) fn resolve_path(&self, path: &[ast::Ident]) -> Option<PathRes> {
        let first = &path[0].name;
        if self
            .fcx
            .iter()
            .any(|c| c.find(first).is_some() || c.captures_name(first))
        {
            return None;
        }
        let mut res = match self.scopes[self.cur_mod].get(first) {
            Some(Sym::Fn(f)) => PathRes::Fn(*f),
            Some(Sym::Struct(s)) => PathRes::Type(TypeKey::Struct(*s)),
            Some(Sym::Enum(s)) => PathRes::Type(TypeKey::Enum(*s)),
            Some(Sym::Const(c)) => PathRes::Const(*c),
            Some(Sym::Module(m)) => PathRes::Module(*m),
            Some(Sym::Host(h)) => PathRes::Host(*h),
            Some(Sym::Generic(g)) => PathRes::Generic(*g),
            // The prelude's names, but not those the compiler keeps for
            // itself (`__entries`).
            None if first.starts_with("__") => return None,
            None => match self.prelude.and_then(|p| self.scopes[p].get(first)) {
                Some(Sym::Generic(g)) => PathRes::Generic(*g),
                _ => return None,
            },
        };
        for seg in &path[1..] {
            res = match res {
                PathRes::Module(ImportTarget::User(m)) => match self.scopes[m].get(&seg.name) {
                    Some(Sym::Fn(f)) => PathRes::Fn(*f),
                    Some(Sym::Struct(s)) => PathRes::Type(TypeKey::Struct(*s)),
                    Some(Sym::Enum(s)) => PathRes::Type(TypeKey::Enum(*s)),
                    Some(Sym::Const(c)) => PathRes::Const(*c),
                    Some(Sym::Host(h)) => PathRes::Host(*h),
                    Some(Sym::Generic(g)) => PathRes::Generic(*g),
                    Some(Sym::Module(_)) => return None,
                    // `module.Variant`, when one enum of that module has it.
                    None => {
                        let mut found = self
                            .variants_named
                            .get(&seg.name)
                            .into_iter()
                            .flatten()
                            .filter(|(en, _)| self.enum_scope[*en as usize] == Some(m))
                            .copied();
                        match (found.next(), found.next()) {
                            (Some((en, v)), None) => PathRes::Variant(en, v),
                            (None, _) => {
                                let (g, v) = self.generic_variant_in(m, &seg.name)?;
                                PathRes::GenVariant(g, v)
                            }
                            _ => return None,
                        }
                    }
                },
                PathRes::Module(ImportTarget::Std(m)) => {
                    if let Some(c) = m.consts.iter().find(|c| c.name == seg.name) {
                        PathRes::StdConst(c.value)
                    } else if let Some(f) = m.fns.iter().find(|f| f.name == seg.name) {
                        PathRes::StdFns(m, f.name)
                    } else {
                        return None;
                    }
                }
                PathRes::Type(TypeKey::Enum(en)) => match self.variant_of(en, &seg.name) {
                    Some(v) => PathRes::Variant(en, v),
                    None => self.method_path(TypeKey::Enum(en), &seg.name)?,
                },
                PathRes::Type(key @ TypeKey::Struct(_)) => self.method_path(key, &seg.name)?,
                PathRes::Generic(g) if self.generic_kind(g) != GenKind::Fn => {
                    match self.generic_variant_of(g, &seg.name) {
                        Some(v) if self.generic_kind(g) == GenKind::Enum => {
                            PathRes::GenVariant(g, v)
                        }
                        _ => PathRes::Generic(self.generic_static(Owner::Gen(g), &seg.name)?),
                    }
                }
                _ => return None,
            };
        }
        Some(res)
    }

    /// The method `name` of a struct or enum named by a path.
    fn method_path(&self, key: TypeKey, name: &str) -> Option<PathRes> {
        match self.methods.get(&(key, name.to_string())) {
            Some(f) => Some(PathRes::Fn(*f)),
            None => Some(PathRes::Generic(
                self.generic_static(Owner::Type(key), name)?,
            )),
        }
    }

    /// Finds the enum variant a bare name means here, preferring `hint`.
    pub(super) fn bare_variant(
        &mut self,
        name: &str,
        hint: Option<&Ty>,
        span: Span,
    ) -> Option<(EnumId, u16)> {
        if let Some(Ty::Enum(en)) = hint {
            if let Some(v) = self.variant_of(*en, name) {
                return Some((*en, v));
            }
        }
        let found: Vec<(EnumId, u16)> = self
            .variants_named
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(en, _)| self.enum_scope[*en as usize] == Some(self.cur_mod))
            .copied()
            .collect();
        match found.len() {
            0 => None,
            1 => Some(found[0]),
            _ => {
                let names: Vec<String> = found
                    .iter()
                    .map(|(en, _)| format!("`{}.{}`", self.enums[*en as usize].name, name))
                    .collect();
                self.error(
                    span,
                    format!(
                        "`{name}` is a variant of more than one enum; write {}",
                        names.join(" or ")
                    ),
                );
                Some(found[0])
            }
        }
    }

    /// The variant of enum `en` named `name`.
    pub(super) fn variant_of(&self, en: EnumId, name: &str) -> Option<u16> {
        self.variant_index.get(en as usize)?.get(name).copied()
    }

    /// The field of struct `s` named `name`.
    pub(super) fn field_of(&self, s: StructId, name: &str) -> Option<usize> {
        self.field_index
            .get(s as usize)?
            .get(name)
            .map(|&i| i as usize)
    }

    // ------------------------------------------------------------ consts

    pub(super) fn check_const(&mut self, id: ConstId) -> Ty {
        let (module, item, state) = {
            let d = &self.const_decls[id as usize];
            (d.module, d.item, d.state)
        };
        match state {
            ConstState::Done => {
                return self.consts[id as usize]
                    .as_ref()
                    .map_or(Ty::Error, |c| c.0.clone())
            }
            ConstState::InProgress => {
                let (name, span) = match &self.mods[module].ast.items[item] {
                    ast::Item::Const { name, .. } => (name.name.clone(), name.span),
                    _ => unreachable!(),
                };
                let saved = self.cur_mod;
                self.cur_mod = module;
                self.error(span, format!("constant `{name}` depends on itself"));
                self.cur_mod = saved;
                return Ty::Error;
            }
            ConstState::Unchecked => {}
        }
        self.const_decls[id as usize].state = ConstState::InProgress;
        let (ty, value) = match &self.mods[module].ast.items[item] {
            ast::Item::Const { ty, value, .. } => (ty, value),
            _ => unreachable!(),
        };
        let saved_mod = self.cur_mod;
        let saved_fcx = std::mem::take(&mut self.fcx);
        self.cur_mod = module;
        let want = ty.as_ref().map(|t| self.resolve_type(t));
        self.push_fn("<const>".into(), Ty::Unit, 0, value.span);
        self.fcx.last_mut().unwrap().const_mode = true;
        let x = self.expr(value, want.as_ref());
        self.fcx.pop();
        let ty = self.binding_type(want, &x, value.span, "a constant needs a value");
        self.fcx = saved_fcx;
        self.cur_mod = saved_mod;
        self.consts[id as usize] = Some((ty.clone(), x));
        self.const_decls[id as usize].state = ConstState::Done;
        self.const_order.push(id);
        ty
    }

    // ------------------------------------------------------------ functions

    pub(super) fn check_function(&mut self, id: FuncId) {
        let decl = self.fn_decl(id);
        let sig = &self.sigs[id as usize];
        self.cur_mod = sig.module;
        let params = sig.params.clone();
        let ret = sig.ret.clone();
        let inst = sig.inst.clone();
        let name = match (&inst, sig.decl.1) {
            (Some(inst), _) => self.qualified(sig.module, &inst.name),
            (None, None) => self.qualified(sig.module, &decl.name.name),
            (None, Some(_)) => {
                let owner = match &self.mods[sig.module].ast.items[sig.decl.0] {
                    ast::Item::Impl { ty, .. } => crate::diag::shorten(&ty.name, MAX_NAME_SHOWN),
                    _ => unreachable!(),
                };
                self.qualified(sig.module, &format!("{owner}.{}", decl.name.name))
            }
        };
        let saved = inst.as_ref().map(|i| self.enter_fn_instance(i));
        let line = self.line(decl.name.span);
        self.push_fn(name, ret.clone(), line, decl.name.span);
        let mut names: Vec<&str> = Vec::new();
        if decl.has_self {
            names.push("self");
        }
        names.extend(decl.params.iter().map(|p| p.name.name.as_str()));
        for (n, t) in names.iter().zip(params.iter()) {
            self.declare_local(n, t.clone(), Binding::Param);
        }
        self.fcx.last_mut().unwrap().func.params = params.len() as u32;
        let at = {
            let sig = &self.sigs[id as usize];
            (sig.module, sig.decl.0, sig.decl.1)
        };
        // A generic function's body is checked once per instance.
        let block = match inst {
            Some(_) => self.bodies.get(&at).cloned(),
            None => self.bodies.remove(&at),
        };
        let block = block.expect("each body is checked once");
        let end = block.span.hi;
        let body = self.body(block);
        if ret != Ty::Unit && !ret.is_error() && !always_returns(&body) {
            let span = Span::new(end.saturating_sub(1), end);
            self.error(
                span,
                format!(
                    "function `{}` must return a value of type {} on every path",
                    decl.name.name,
                    self.ty_name(&ret)
                ),
            );
        }
        let mut cx = self.fcx.pop().unwrap();
        cx.func.body = body;
        self.funcs[id as usize] = Some(cx.func);
        if let Some(saved) = saved {
            self.leave_fn_instance(saved);
        }
    }
}
