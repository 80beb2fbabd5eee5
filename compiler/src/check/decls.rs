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
                    ast::Item::Struct { name, .. } => {
                        let id = self.structs.len() as StructId;
                        self.structs.push(StructDef {
                            name: self.shown_name(mi, &name.name),
                            fields: vec![],
                        });
                        self.field_index.push(HashMap::new());
                        self.declare(mi, name, Sym::Struct(id));
                    }
                    ast::Item::Enum { name, .. } => {
                        let id = self.enums.len() as EnumId;
                        self.enums.push(EnumDef {
                            name: self.shown_name(mi, &name.name),
                            variants: vec![],
                        });
                        self.variant_index.push(HashMap::new());
                        let declared = self.declare(mi, name, Sym::Enum(id));
                        self.enum_scope.push(declared.then_some(mi));
                    }
                    ast::Item::Fn(f) => {
                        let id = self.sigs.len() as FuncId;
                        self.sigs.push(FuncSig {
                            params: Rc::new([]),
                            ret: Ty::Unit,
                            module: mi,
                            decl: (ii, None),
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
                    ast::Item::Struct { name, fields } => {
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
                        self.structs[si].fields = out;
                        self.field_index[si] = index;
                        si += 1;
                    }
                    ast::Item::Enum { name, variants } => {
                        let variants = self.within_limit(variants, MAX_VARIANTS, name, "variants");
                        let mut out: Vec<(String, Rc<[Ty]>)> = Vec::with_capacity(variants.len());
                        let mut index = HashMap::with_capacity(variants.len());
                        for (n, ts) in variants {
                            let what = format!("fields in variant `{}`", n.name);
                            let ts = self.within_limit(ts, MAX_FIELDS, name, &what);
                            let tys = ts.iter().map(|t| self.resolve_type(t)).collect();
                            if index.contains_key(&n.name) {
                                self.error(
                                    n.span,
                                    format!("variant `{}` is declared twice", n.name),
                                );
                            } else {
                                index.insert(n.name.clone(), out.len() as u16);
                                self.variants_named
                                    .entry(n.name.clone())
                                    .or_default()
                                    .push((ei as EnumId, out.len() as u16));
                            }
                            out.push((n.name.clone(), tys));
                        }
                        self.variant_index[ei] = index;
                        if out.is_empty() {
                            self.error(
                                name.span,
                                format!("enum `{}` needs at least one variant", name.name),
                            );
                            out.push(("<none>".into(), Rc::new([])));
                        }
                        self.enums[ei].variants = out;
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
                    ast::Item::Fn(f) => {
                        let (params, ret) = self.signature(f, None);
                        self.sigs[fi].params = params.into();
                        self.sigs[fi].ret = ret;
                        fi += 1;
                    }
                    ast::Item::Extern { capability, fns } => {
                        self.extern_block(capability, fns, hi);
                        hi += fns.len();
                    }
                    ast::Item::Impl { ty, methods } => {
                        let key = match self.scopes[mi].get(&ty.name) {
                            Some(Sym::Struct(s)) => TypeKey::Struct(*s),
                            Some(Sym::Enum(s)) => TypeKey::Enum(*s),
                            _ => {
                                self.error(ty.span, format!("`impl` needs a struct or enum of this module, `{}` is not one", ty.name));
                                continue;
                            }
                        };
                        let self_ty = match key {
                            TypeKey::Struct(s) => Ty::Struct(s),
                            TypeKey::Enum(s) => Ty::Enum(s),
                        };
                        for (k, f) in methods.iter().enumerate() {
                            let (params, ret) =
                                self.signature(f, f.has_self.then(|| self_ty.clone()));
                            let id = self.sigs.len() as FuncId;
                            self.sigs.push(FuncSig {
                                params: params.into(),
                                ret,
                                module: mi,
                                decl: (ii, Some(k)),
                            });
                            self.funcs.push(None);
                            let fields_clash = match key {
                                TypeKey::Struct(s) => self.structs[s as usize]
                                    .fields
                                    .iter()
                                    .any(|(n, _)| *n == f.name.name),
                                TypeKey::Enum(_) => false,
                            };
                            if self.methods.contains_key(&(key, f.name.name.clone()))
                                || fields_clash
                            {
                                self.error(
                                    f.name.span,
                                    format!(
                                        "`{}` is already defined for `{}`",
                                        f.name.name, ty.name
                                    ),
                                );
                            }
                            self.methods.insert((key, f.name.name.clone()), id);
                        }
                    }
                    _ => {}
                }
            }
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
                .map(|(_, _, ps, r)| (ps.iter().map(|p| prim(*p)).collect::<Vec<_>>(), prim(r)));
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
            None => return None,
        };
        for seg in &path[1..] {
            res = match res {
                PathRes::Module(ImportTarget::User(m)) => match self.scopes[m].get(&seg.name) {
                    Some(Sym::Fn(f)) => PathRes::Fn(*f),
                    Some(Sym::Struct(s)) => PathRes::Type(TypeKey::Struct(*s)),
                    Some(Sym::Enum(s)) => PathRes::Type(TypeKey::Enum(*s)),
                    Some(Sym::Const(c)) => PathRes::Const(*c),
                    Some(Sym::Host(h)) => PathRes::Host(*h),
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
                    None => match self.methods.get(&(TypeKey::Enum(en), seg.name.clone())) {
                        Some(f) => PathRes::Fn(*f),
                        None => return None,
                    },
                },
                PathRes::Type(key @ TypeKey::Struct(_)) => {
                    match self.methods.get(&(key, seg.name.clone())) {
                        Some(f) => PathRes::Fn(*f),
                        None => return None,
                    }
                }
                _ => return None,
            };
        }
        Some(res)
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
        let name = match sig.decl.1 {
            None => self.qualified(sig.module, &decl.name.name),
            Some(_) => {
                let owner = match &self.mods[sig.module].ast.items[sig.decl.0] {
                    ast::Item::Impl { ty, .. } => crate::diag::shorten(&ty.name, MAX_NAME_SHOWN),
                    _ => unreachable!(),
                };
                self.qualified(sig.module, &format!("{owner}.{}", decl.name.name))
            }
        };
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
        let block = self.bodies.remove(&at).expect("each body is checked once");
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
    }
}
