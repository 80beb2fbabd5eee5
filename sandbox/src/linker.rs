//! Modules, the linker that grants capabilities, and instances.
//!
//! Every call into the VM from here goes through `contain`: a panic inside
//! the VM, the compiler or a host function is a bug, but it must not take
//! the host down. It becomes an error (for an instance, a trap of kind
//! `TrapKind::Internal`) and leaves the instance *poisoned*: its state may
//! be half-updated, so every later call fails at once until it is reset or
//! dropped. Other instances and the host are unaffected.

use crate::caps::{self, EnvGrant, HostFunc, Input, Io, Output, Preopen};
use crate::types::{HostResult, Params, Signature, TernValue, ValType};
use crate::Error;
use indexmap::IndexMap;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use tern_vm::{Host, InterruptHandle, Limits, Program, Stats, Trap, TrapKind, Value, Vm};

/// Runs `f`; a panic inside becomes `Err` with its message.
fn contain<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

/// The error for a failure inside the VM or compiler that should never
/// happen, caught on its way out.
fn internal(why: &str) -> String {
    format!("internal error: {why}")
}

/// A loaded and verified program: decode and verify once, instantiate as
/// often as needed. Cheap to clone (the program is shared, read-only).
#[derive(Clone)]
pub struct Module {
    program: Arc<Program>,
}

/// A host function a module imports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub capability: String,
    pub function: String,
    /// `None` when the import uses a type that cannot cross the boundary
    /// (no host can provide it).
    pub signature: Option<Signature>,
}

/// A function a module exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    /// `None` when a parameter or the result cannot cross the boundary
    /// (a struct, an enum or a closure): the export cannot be called.
    pub signature: Option<Signature>,
}

impl Module {
    /// Decodes and verifies a `.bc` image.
    pub fn from_bytes(bytes: &[u8]) -> Result<Module, Error> {
        let program = contain(|| tern_vm::load(bytes))
            .map_err(|why| Error::InvalidBytecode(internal(&why)))?
            .map_err(|e| Error::InvalidBytecode(e.to_string()))?;
        Ok(Module::from_program(program))
    }

    /// Loads `path`: a `.bc` file is decoded and verified, a `.src` file is
    /// compiled in memory (and verified the same way). Without the
    /// `compiler` feature, a `.src` file is an error saying to build it
    /// with `vmc` first.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        if path.extension().is_some_and(|e| e == "src") {
            return Module::from_source_file(path);
        }
        let bytes = crate::files::read_bytecode(path)?;
        contain(|| tern_vm::load(&bytes))
            .map_err(|why| {
                Error::InvalidBytecode(format!("{}: {}", path.display(), internal(&why)))
            })?
            .map(Module::from_program)
            .map_err(|e| Error::InvalidBytecode(format!("{}: {e}", path.display())))
    }

    #[cfg(feature = "compiler")]
    fn from_source_file(path: &Path) -> Result<Module, Error> {
        // Traces name the files as the path was given (`sub/app.src`).
        let dir = path.parent().unwrap_or(Path::new(""));
        Module::from_compiled(path, || {
            tern_compiler::compile(path).map(|mut c| {
                for s in &mut c.module.sources {
                    *s = dir.join(&*s).to_string_lossy().into_owned();
                }
                c
            })
        })
    }

    #[cfg(not(feature = "compiler"))]
    fn from_source_file(path: &Path) -> Result<Module, Error> {
        Err(Error::Compile(format!(
            "{}: this host loads bytecode only (built without the `compiler` feature); compile it with `vmc build` first\n",
            path.display()
        )))
    }

    /// Compiles source text held in memory; `name` (say `plugin.src`) is
    /// the file name diagnostics and stack traces show. Standard-library
    /// imports work; imports of other source files do not. (With the
    /// `compiler` feature, on by default.)
    #[cfg(feature = "compiler")]
    pub fn from_source(name: &str, source: &str) -> Result<Module, Error> {
        let path = Path::new(name);
        let loader = tern_compiler::OneFile { path, text: source };
        Module::from_compiled(path, || tern_compiler::compile_with(path, &loader))
    }

    /// Compiles with `compile` and verifies what it made of `path`, or
    /// reports why it failed.
    #[cfg(feature = "compiler")]
    fn from_compiled(
        path: &Path,
        compile: impl FnOnce() -> Result<tern_compiler::Compiled, tern_compiler::CompileError>,
    ) -> Result<Module, Error> {
        let verified = contain(|| {
            let compiled = compile().map_err(|e| match &e {
                tern_compiler::CompileError::Io(io) => Error::Io(io.to_string()),
                _ => Error::Compile(e.render()),
            })?;
            Program::new(compiled.module)
                .map_err(|e| Error::InvalidBytecode(format!("{}: {e}", path.display())))
        });
        let program = verified
            .map_err(|why| Error::Compile(format!("{}: {}\n", path.display(), internal(&why))))??;
        Ok(Module::from_program(program))
    }

    /// Wraps a program that already passed verification.
    pub fn from_program(program: Program) -> Module {
        Module {
            program: Arc::new(program),
        }
    }

    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// The host functions the module needs, in import order.
    pub fn imports(&self) -> Vec<Import> {
        let m = self.program.module();
        m.imports
            .iter()
            .map(|im| Import {
                capability: im.module.clone(),
                function: im.name.clone(),
                signature: signature(m, &im.params, im.ret),
            })
            .collect()
    }

    /// The functions the module exports.
    pub fn exports(&self) -> Vec<Export> {
        let m = self.program.module();
        m.exports
            .iter()
            .map(|e| {
                let f = &m.functions[e.func as usize];
                Export {
                    name: e.name.clone(),
                    signature: signature(m, &f.params, f.ret),
                }
            })
            .collect()
    }

    fn export(&self, name: &str) -> Result<(u32, Signature), Error> {
        let m = self.program.module();
        let e = m
            .exports
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| Error::NoSuchExport(name.to_string()))?;
        let f = &m.functions[e.func as usize];
        let sig = signature(m, &f.params, f.ret).ok_or_else(|| Error::ExportSignature {
            name: name.to_string(),
            expected: "a signature of host types".into(),
            found: "a struct, enum or function type".into(),
        })?;
        Ok((e.func, sig))
    }
}

fn signature(
    m: &tern_vm::module::Module,
    params: &[tern_vm::module::TypeId],
    ret: tern_vm::module::TypeId,
) -> Option<Signature> {
    Some(Signature {
        params: params
            .iter()
            .map(|t| ValType::of(m, *t))
            .collect::<Option<_>>()?,
        ret: ValType::of(m, ret)?,
    })
}

/// Host functions as plain Rust closures: `Fn(A, B, ...) -> R` where each
/// argument is a [`TernValue`] and `R` is a value or `Result<value, E>`.
pub trait IntoHostFunc<P, R> {
    fn into_host_func(self) -> HostFunc;
}

macro_rules! impl_into_host_func {
    ($($t:ident),*) => {
        impl<Func, Res, $($t),*> IntoHostFunc<($($t,)*), Res> for Func
        where
            Func: Fn($($t),*) -> Res + Send + Sync + 'static,
            Res: HostResult,
            $($t: TernValue,)*
        {
            fn into_host_func(self) -> HostFunc {
                HostFunc {
                    sig: Signature {
                        params: <($($t,)*) as Params>::val_types(),
                        ret: Res::val_type(),
                    },
                    #[allow(non_snake_case)]
                    f: Arc::new(move |_io: &mut Io, args: Vec<Value>| {
                        // The linker matched the import's signature to this
                        // function's, so the conversion cannot fail for a
                        // verified module; say so plainly if it ever does.
                        let ($($t,)*) = <($($t,)*) as Params>::from_values(args)
                            .ok_or_else(|| "host function called with the wrong argument types".to_string())?;
                        (self)($($t),*).into_result()
                    }),
                }
            }
        }
    };
}

impl_into_host_func!();
impl_into_host_func!(A);
impl_into_host_func!(A, B);
impl_into_host_func!(A, B, C);
impl_into_host_func!(A, B, C, D);
impl_into_host_func!(A, B, C, D, E);
impl_into_host_func!(A, B, C, D, E, F);

/// Bytes of output an instance may have captured and not yet taken.
pub const DEFAULT_OUTPUT_LIMIT: usize = 16 << 20;

/// Grants capabilities and instantiates modules. A new linker grants
/// nothing: every effect must be added explicitly.
///
/// ```
/// use tern_sandbox::{Linker, Module, Output};
/// # let dir = std::env::temp_dir().join("tern-doc-linker");
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let src = dir.join("hello.src");
/// # std::fs::write(&src, "fn main() { println(\"hi \" + str(21 * 2)); }").unwrap();
/// let module = Module::from_file(&src)?;
/// let mut linker = Linker::new();
/// linker.stdout(Output::Capture);
/// let mut instance = linker.instantiate(&module, Default::default())?;
/// instance.run_main(&[])?;
/// assert_eq!(instance.take_stdout(), "hi 42\n");
/// # Ok::<(), tern_sandbox::Error>(())
/// ```
///
/// A program that imports a capability the linker does not grant is
/// refused before any of its code runs (see [`Error::MissingCapabilities`]).
#[derive(Clone)]
pub struct Linker {
    funcs: IndexMap<(String, String), HostFunc>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    output_limit: usize,
    read_dirs: Vec<Arc<Preopen>>,
    write_dirs: Vec<Arc<Preopen>>,
    env: EnvGrant,
    seed: Option<u64>,
}

impl Default for Linker {
    fn default() -> Self {
        Linker::new()
    }
}

impl Linker {
    /// A linker that grants nothing.
    pub fn new() -> Linker {
        Linker {
            funcs: IndexMap::new(),
            stdin: Input::Bytes(Vec::new()),
            stdout: Output::Discard,
            stderr: Output::Discard,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            read_dirs: Vec::new(),
            write_dirs: Vec::new(),
            env: EnvGrant::default(),
            seed: None,
        }
    }

    /// Grants a host function `capability.name`. A module that imports it
    /// (with `extern "capability" { fn name(...); }`) must import exactly
    /// this signature. An `Err` the function returns becomes a guest
    /// runtime error, with the guest's stack trace.
    ///
    /// ```
    /// use tern_sandbox::{Error, Limits, Linker, Module, TrapKind, Value};
    /// let module = Module::from_source("plugin.src", r#"
    ///     extern "scoring" {
    ///         fn weight(word: str) -> int;
    ///         fn check(x: int) -> int;
    ///     }
    ///     fn score(w: str) -> int { return check(weight(w) - 5); }
    /// "#)?;
    /// let mut linker = Linker::new();
    /// linker.func("scoring", "weight", |word: String| word.len() as i64 * 2);
    /// linker.func("scoring", "check", |x: i64| -> Result<i64, String> {
    ///     if x < 0 { Err(format!("negative score {x}")) } else { Ok(x) }
    /// });
    /// let mut plugin = linker.instantiate(&module, Limits::default())?;
    /// assert_eq!(plugin.call("score", &[Value::Str("tern".into())])?, Value::Int(3));
    /// match plugin.call("score", &[Value::Str("a".into())]) {
    ///     Err(Error::Trap(t)) => {
    ///         assert_eq!(t.kind, TrapKind::Host);
    ///         assert_eq!(t.message, "negative score -3");
    ///         assert_eq!(t.trace[0].function, "score");
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn func<P, R>(
        &mut self,
        capability: &str,
        name: &str,
        f: impl IntoHostFunc<P, R>,
    ) -> &mut Self {
        self.define(capability, name, f.into_host_func())
    }

    /// Grants a host function whose signature is only known at run time
    /// (native modules use this). `f` receives arguments already checked
    /// against `sig`; its result must have `sig.ret`'s type.
    pub fn func_dynamic(
        &mut self,
        capability: &str,
        name: &str,
        sig: Signature,
        f: impl Fn(Vec<Value>) -> Result<Value, String> + Send + Sync + 'static,
    ) -> &mut Self {
        let f: caps::Callback = Arc::new(move |_io: &mut Io, args| f(args));
        self.define(capability, name, HostFunc { sig, f })
    }

    fn define(&mut self, capability: &str, name: &str, f: HostFunc) -> &mut Self {
        self.funcs
            .insert((capability.to_string(), name.to_string()), f);
        self
    }

    /// Grants `stdin` (`io.read_line`, `io.read_all`, `io.at_end`), reading
    /// from `input`: the host process's standard input, or bytes the host
    /// provides. Each instance reads its own copy of provided bytes.
    ///
    /// ```
    /// use tern_sandbox::{Error, Input, Limits, Linker, Module, Value};
    /// let module = Module::from_source(
    ///     "count.src",
    ///     "import io; fn lines() -> int { var n = 0; while !io.at_end() { io.read_line(); n += 1; } return n; }",
    /// )?;
    /// let mut linker = Linker::new();
    /// linker.stdin(Input::Bytes(b"one\ntwo\nthree".to_vec()));
    /// let mut guest = linker.instantiate(&module, Limits::default())?;
    /// assert_eq!(guest.call("lines", &[])?, Value::Int(3));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn stdin(&mut self, input: Input) -> &mut Self {
        self.stdin = input;
        for (name, f) in caps::input_funcs() {
            self.define("stdin", name, f);
        }
        self
    }

    /// Grants `stdout` (`print`, `println`), going to `out`.
    pub fn stdout(&mut self, out: Output) -> &mut Self {
        self.stdout = out;
        for (name, f) in caps::output_funcs(false) {
            self.define("stdout", name, f);
        }
        self
    }

    /// Grants `stderr` (`eprint`, `eprintln`), going to `out`.
    pub fn stderr(&mut self, out: Output) -> &mut Self {
        self.stderr = out;
        for (name, f) in caps::output_funcs(true) {
            self.define("stderr", name, f);
        }
        self
    }

    /// The most bytes of captured output an instance holds before printing
    /// becomes a runtime error (default 16 MiB).
    pub fn output_limit(&mut self, bytes: usize) -> &mut Self {
        self.output_limit = bytes;
        self
    }

    /// Grants `fs.read` inside `dir` (and everything under it). The
    /// directory is opened now; the guest names files as `dir/...`, and
    /// nothing outside it is reachable (no `..`, absolute path or symlink
    /// leads out).
    ///
    /// ```
    /// use tern_sandbox::{Error, Limits, Linker, Module, Value};
    /// let dir = std::env::temp_dir().join("tern-doc-read");
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("note.txt"), "hi").unwrap();
    /// let src = "import fs; fn get(p: str) -> str { return fs.read(p).unwrap_or(\"refused\"); }";
    /// let module = Module::from_source("r.src", src)?;
    /// let mut linker = Linker::new();
    /// linker.allow_read(&dir).unwrap();
    /// let mut guest = linker.instantiate(&module, Limits::default())?;
    /// let inside = format!("{}/note.txt", dir.display());
    /// assert_eq!(guest.call("get", &[Value::Str(inside)])?, Value::Str("hi".into()));
    /// let outside = format!("{}/../secret.txt", dir.display());
    /// assert_eq!(guest.call("get", &[Value::Str(outside)])?, Value::Str("refused".into()));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn allow_read(&mut self, dir: impl AsRef<Path>) -> std::io::Result<&mut Self> {
        self.read_dirs.push(Arc::new(Preopen::open(dir.as_ref())?));
        for (name, f) in caps::fs_read_funcs(self.read_dirs.as_slice().into()) {
            self.define("fs.read", name, f);
        }
        Ok(self)
    }

    /// Grants `fs.write` inside `dir`: creating, replacing and appending to
    /// files there. Writing does not imply reading.
    pub fn allow_write(&mut self, dir: impl AsRef<Path>) -> std::io::Result<&mut Self> {
        self.write_dirs.push(Arc::new(Preopen::open(dir.as_ref())?));
        for (name, f) in caps::fs_write_funcs(self.write_dirs.as_slice().into()) {
            self.define("fs.write", name, f);
        }
        Ok(self)
    }

    /// Grants `env` for the variable `name`.
    pub fn allow_env(&mut self, name: &str) -> &mut Self {
        self.env.names.push(name.to_string());
        self.define_env()
    }

    /// Grants `env` for every variable.
    pub fn allow_env_all(&mut self) -> &mut Self {
        self.env.all = true;
        self.define_env()
    }

    fn define_env(&mut self) -> &mut Self {
        for (name, f) in caps::env_funcs(Arc::new(self.env.clone())) {
            self.define("env", name, f);
        }
        self
    }

    /// Grants `clock`: wall-clock and monotonic time.
    pub fn allow_clock(&mut self) -> &mut Self {
        for (name, f) in caps::clock_funcs() {
            self.define("clock", name, f);
        }
        self
    }

    /// Grants `random`. With a seed, every instance draws the same
    /// sequence (reproducible runs); without, each is seeded by the OS.
    pub fn allow_random(&mut self, seed: Option<u64>) -> &mut Self {
        self.seed = seed;
        for (name, f) in caps::random_funcs() {
            self.define("random", name, f);
        }
        self
    }

    /// Loads the native module (a shared library, trusted code) at `path`
    /// and grants its functions under the capability it declares. See
    /// `spec/sandbox.md` for the C ABI.
    pub fn load_native(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, Error> {
        let funcs = crate::native::load(path.as_ref()).map_err(Error::Native)?;
        for f in funcs {
            let call = f.call;
            self.func_dynamic(&f.capability, &f.name, f.sig, call);
        }
        Ok(self)
    }

    /// Resolves every import of `module` and makes an instance with its own
    /// heap, globals and `limits`. Fails, before any guest code runs, if an
    /// import is not granted or is granted with another signature.
    pub fn instantiate(&self, module: &Module, limits: Limits) -> Result<Instance, Error> {
        let mut resolved = Vec::new();
        let mut missing = Vec::new();
        for im in module.imports() {
            let key = (im.capability.clone(), im.function.clone());
            match self.funcs.get(&key) {
                None => missing.push(im),
                Some(f) => {
                    if im.signature.as_ref() != Some(&f.sig) {
                        return Err(Error::IncompatibleImport {
                            import: format!("{}.{}", im.capability, im.function),
                            expected: im
                                .signature
                                .map_or_else(|| "a non-host type".into(), |s| s.to_string()),
                            provided: f.sig.to_string(),
                        });
                    }
                    resolved.push(f.clone());
                }
            }
        }
        if !missing.is_empty() {
            return Err(Error::MissingCapabilities(missing));
        }
        let funcs: Arc<[HostFunc]> = resolved.into();
        let seed = self.seed.unwrap_or_else(caps::os_seed);
        let io = Arc::new(Mutex::new(Io::new(
            &self.stdin,
            self.stdout,
            self.stderr,
            self.output_limit,
            seed,
        )));
        let vm = new_vm(module, &funcs, &io, &limits, None);
        Ok(Instance {
            module: module.clone(),
            funcs,
            io,
            limits,
            vm,
            interrupt: None,
            seed,
            poisoned: None,
        })
    }
}

/// Serves a VM's imports from resolved host functions.
struct Linked {
    funcs: Arc<[HostFunc]>,
    io: Arc<Mutex<Io>>,
}

fn lock(io: &Mutex<Io>) -> MutexGuard<'_, Io> {
    // A host function that panicked poisons the lock; the state it guards
    // (buffers, a generator) is still usable.
    io.lock().unwrap_or_else(|p| p.into_inner())
}

impl Host for Linked {
    fn call(&mut self, import: u32, args: Vec<Value>) -> Result<Value, String> {
        let f = &self.funcs[import as usize];
        let mut io = lock(&self.io);
        let v = (f.f)(&mut io, args)?;
        Ok(v)
    }
}

fn new_vm(
    module: &Module,
    funcs: &Arc<[HostFunc]>,
    io: &Arc<Mutex<Io>>,
    limits: &Limits,
    interrupt: Option<&InterruptHandle>,
) -> Vm<'static> {
    let host = Linked {
        funcs: Arc::clone(funcs),
        io: Arc::clone(io),
    };
    let mut limits = limits.clone();
    if let Some(mode) = jit_override() {
        limits.jit = mode;
    }
    let mut vm = Vm::with_host(Arc::clone(&module.program), limits, Box::new(host));
    vm.set_jit(Box::new(tern_jit::Jit::new()));
    if let Some(h) = interrupt {
        vm.set_interrupt_handle(h);
    }
    vm
}

/// The JIT mode `TERN_JIT` names (`off`, `on`, `eager`), which overrides
/// `Limits::jit` for every instance when set: how the test suite runs
/// whole suites in one mode. Anything else there is ignored.
fn jit_override() -> Option<tern_vm::JitMode> {
    tern_vm::JitMode::parse(&std::env::var("TERN_JIT").ok()?)
}

/// One running copy of a module: its own heap, globals, limits and
/// output. Nothing is shared with other instances but the read-only code.
pub struct Instance {
    module: Module,
    funcs: Arc<[HostFunc]>,
    io: Arc<Mutex<Io>>,
    limits: Limits,
    vm: Vm<'static>,
    interrupt: Option<InterruptHandle>,
    seed: u64,
    /// Why the instance is unusable: a panic escaped a call into it.
    poisoned: Option<String>,
}

impl Instance {
    /// Runs `f` on the VM as one call into the guest: refused if the
    /// instance is poisoned; output flushed after; a panic contained, and
    /// the instance poisoned by it.
    fn enter<R>(
        &mut self,
        f: impl FnOnce(&mut Vm<'static>) -> Result<R, Trap>,
    ) -> Result<R, Error> {
        if let Some(why) = &self.poisoned {
            return Err(Error::Trap(Trap::without_trace(
                TrapKind::Internal,
                format!(
                    "the instance is unusable after an internal error ({why}); reset or drop it"
                ),
            )));
        }
        lock(&self.io).output_closed = false;
        let r = contain(|| f(&mut self.vm));
        lock(&self.io).flush();
        match r {
            Ok(r) => r.map_err(Error::Trap),
            Err(why) => {
                let message = internal(&why);
                self.poisoned = Some(why);
                Err(Error::Trap(Trap::without_trace(
                    TrapKind::Internal,
                    message,
                )))
            }
        }
    }

    /// Runs the module's initialization (once) and `main(args)`; returns
    /// `main`'s exit code (0 when it returns nothing).
    pub fn run_main(&mut self, args: &[String]) -> Result<i64, Error> {
        if self.module.program.module().entry.is_none() {
            return Err(Error::NoMain);
        }
        self.enter(|vm| vm.run_main(args))
    }

    /// Calls export `name` with host values; their types are checked
    /// against the export's signature.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Value, Error> {
        let (func, sig) = self.module.export(name)?;
        check_args(name, &sig, args)?;
        self.enter(|vm| vm.call_function(func, args))
    }

    /// Whether output of the last call into the guest was lost because
    /// the host process's standard output or error, inherited
    /// ([`Output::Inherit`]), was closed by its reader (a broken pipe, as
    /// in `vmrun app.bc | head -n 1`). A guest printing to a closed stream
    /// stops with a runtime error (`TrapKind::Host`) instead of printing
    /// forever into nothing. A command-line host then exits quietly, as
    /// other Unix tools do.
    pub fn output_closed(&self) -> bool {
        lock(&self.io).output_closed
    }

    /// Whether a panic (a bug in the VM or in a host function) escaped a
    /// call into this instance, which then refuses every call until
    /// [`Instance::reset`].
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    /// Looks up export `name` and checks, once, that its signature is
    /// `P -> R`; the result calls it without looking up or checking again.
    ///
    /// ```
    /// # use tern_sandbox::{Linker, Module};
    /// # let dir = std::env::temp_dir().join("tern-doc-typed");
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let src = dir.join("lib.src");
    /// # std::fs::write(&src, "fn add(a: int, b: int) -> int { return a + b; }").unwrap();
    /// let module = Module::from_file(&src)?;
    /// let mut instance = Linker::new().instantiate(&module, Default::default())?;
    /// let add = instance.typed_func::<(i64, i64), i64>("add")?;
    /// assert_eq!(add.call(&mut instance, (2, 40))?, 42);
    /// assert!(instance.typed_func::<(String,), i64>("add").is_err());
    /// # Ok::<(), tern_sandbox::Error>(())
    /// ```
    pub fn typed_func<P: Params, R: TernValue>(
        &self,
        name: &str,
    ) -> Result<TypedFunc<P, R>, Error> {
        let (func, sig) = self.module.export(name)?;
        let want = Signature {
            params: P::val_types(),
            ret: R::val_type(),
        };
        if sig != want {
            return Err(Error::ExportSignature {
                name: name.to_string(),
                expected: want.to_string(),
                found: sig.to_string(),
            });
        }
        Ok(TypedFunc {
            func,
            program: Arc::clone(&self.module.program),
            _sig: PhantomData,
        })
    }

    /// A handle that stops this instance from another thread (the call
    /// in progress traps with `TrapKind::Interrupted`). Asking for one
    /// turns on instruction counting for this instance.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tern_sandbox::{Error, Limits, Linker, Module, TrapKind};
    /// let module = Module::from_source("spin.src", "fn spin() { while true {} }")?;
    /// let mut instance = Linker::new().instantiate(&module, Limits::default())?;
    /// let handle = instance.interrupt_handle();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(20));
    ///     handle.interrupt();
    /// });
    /// match instance.call("spin", &[]) {
    ///     Err(Error::Trap(t)) => assert_eq!(t.kind, TrapKind::Interrupted),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn interrupt_handle(&mut self) -> InterruptHandle {
        if let Some(h) = &self.interrupt {
            return h.clone();
        }
        let h = self.vm.interrupt_handle();
        self.interrupt = Some(h.clone());
        h
    }

    /// Throws away the heap, globals and fuel used, as if newly
    /// instantiated (output not yet taken is kept; the random generator
    /// starts over from the instance's seed). A poisoned instance is usable
    /// again.
    pub fn reset(&mut self) {
        self.vm = new_vm(
            &self.module,
            &self.funcs,
            &self.io,
            &self.limits,
            self.interrupt.as_ref(),
        );
        self.poisoned = None;
        lock(&self.io).rng = caps::Rng::new(self.seed);
    }

    /// Captured standard output not yet taken (empty unless the linker
    /// captures it). Invalid UTF-8 is replaced.
    pub fn take_stdout(&mut self) -> String {
        String::from_utf8_lossy(&lock(&self.io).out.take()).into_owned()
    }

    /// Captured standard error not yet taken.
    pub fn take_stderr(&mut self) -> String {
        String::from_utf8_lossy(&lock(&self.io).err.take()).into_owned()
    }

    /// Instructions executed and fuel units used (when counted),
    /// collections, allocation.
    pub fn stats(&self) -> Stats {
        self.vm.stats()
    }

    /// Functions the JIT has compiled to machine code so far (see
    /// [`Limits::jit`]): the one thing that differs between JIT modes.
    ///
    /// ```
    /// use tern_sandbox::{Error, JitMode, Limits, Linker, Module, Value};
    /// let src = "fn sum(n: int) -> int { var s = 0; for i in 0..n { s += i; } return s; }";
    /// let module = Module::from_source("sum.src", src)?;
    /// let mut results = Vec::new();
    /// for jit in [JitMode::Off, JitMode::On, JitMode::Eager] {
    ///     let limits = Limits { jit, fuel: 1_000_000, ..Limits::default() };
    ///     let mut instance = Linker::new().instantiate(&module, limits)?;
    ///     let r = instance.call("sum", &[Value::Int(1000)])?;
    ///     // The same result, and the same fuel used, in every mode.
    ///     results.push((r, instance.fuel_remaining()));
    ///     let targeted = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
    ///     if jit == JitMode::Eager && targeted && std::env::var_os("TERN_JIT").is_none() {
    ///         assert_eq!(instance.compiled_functions(), 1);
    ///     }
    /// }
    /// assert!(results.windows(2).all(|w| w[0] == w[1]));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn compiled_functions(&self) -> u64 {
        self.vm.compiled_functions()
    }

    /// Gives the instance `n` more units of fuel from now, whatever it used
    /// before: a per-request budget for a host that serves many requests.
    pub fn set_fuel(&mut self, n: u64) {
        self.vm.set_fuel(n);
        self.limits.fuel = n;
    }

    /// Fuel left of this instance's limit.
    pub fn fuel_remaining(&self) -> u64 {
        self.vm.fuel_remaining()
    }

    /// Accounted bytes the heap holds now.
    pub fn heap_bytes(&self) -> usize {
        self.vm.heap_bytes()
    }

    pub fn module(&self) -> &Module {
        &self.module
    }
}

fn check_args(name: &str, sig: &Signature, args: &[Value]) -> Result<(), Error> {
    let found: Vec<String> = args.iter().map(value_type_name).collect();
    let ok =
        args.len() == sig.params.len() && args.iter().zip(&sig.params).all(|(v, t)| has_type(v, t));
    if ok {
        Ok(())
    } else {
        Err(Error::ExportSignature {
            name: name.to_string(),
            expected: sig.to_string(),
            found: format!("arguments ({})", found.join(", ")),
        })
    }
}

fn has_type(v: &Value, t: &ValType) -> bool {
    match (v, t) {
        (Value::Int(_), ValType::Int)
        | (Value::Float(_), ValType::Float)
        | (Value::Bool(_), ValType::Bool)
        | (Value::Str(_), ValType::Str)
        | (Value::Unit, ValType::Unit) => true,
        (Value::Array(items), ValType::Array(e)) => items.iter().all(|x| has_type(x, e)),
        (Value::Map(entries), ValType::Map(k, v)) => entries
            .iter()
            .all(|(a, b)| has_type(a, k) && has_type(b, v)),
        _ => false,
    }
}

fn value_type_name(v: &Value) -> String {
    match v {
        Value::Array(items) => match items.first() {
            Some(x) => format!("[{}]", value_type_name(x)),
            None => "[]".into(),
        },
        Value::Unit => "()".into(),
        other => other.kind().into(),
    }
}

/// An export whose signature was checked once: `P` in, `R` out.
pub struct TypedFunc<P, R> {
    func: u32,
    program: Arc<Program>,
    _sig: PhantomData<fn(P) -> R>,
}

impl<P: Params, R: TernValue> TypedFunc<P, R> {
    /// Calls the export on `instance`, which must be an instance of the
    /// module the function was looked up in.
    pub fn call(&self, instance: &mut Instance, args: P) -> Result<R, Error> {
        if !Arc::ptr_eq(&self.program, &instance.module.program) {
            return Err(Error::WrongInstance);
        }
        let args = args.into_values();
        let v = instance.enter(|vm| vm.call_function(self.func, &args))?;
        R::from_value(v).ok_or(Error::WrongInstance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_stdlib::Prim;

    fn val_type(p: Prim) -> ValType {
        match p {
            Prim::Int => ValType::Int,
            Prim::Float => ValType::Float,
            Prim::Bool => ValType::Bool,
            Prim::Str => ValType::Str,
            Prim::Unit => ValType::Unit,
        }
    }

    /// Every host function the standard library catalogue lowers to is one
    /// a linker granting every standard capability defines, with the
    /// catalogue's signature, and it defines no others.
    #[test]
    fn the_standard_capabilities_implement_the_catalogue() {
        let dir = std::env::temp_dir();
        let mut linker = Linker::new();
        linker
            .stdin(Input::Bytes(Vec::new()))
            .stdout(Output::Capture)
            .stderr(Output::Capture)
            .allow_env_all()
            .allow_clock()
            .allow_random(Some(1));
        linker.allow_read(&dir).unwrap();
        linker.allow_write(&dir).unwrap();
        let catalogue = tern_stdlib::host_functions();
        for &(capability, name, params, ret) in &catalogue {
            let key = (capability.to_string(), name.to_string());
            let f = linker
                .funcs
                .get(&key)
                .unwrap_or_else(|| panic!("{capability}.{name} is catalogued but not defined"));
            let want = Signature {
                params: params.iter().map(|p| val_type(*p)).collect(),
                ret: match ret {
                    tern_stdlib::HostRet::Prim(p) => val_type(p),
                    tern_stdlib::HostRet::Outcome => ValType::Array(Box::new(ValType::Str)),
                },
            };
            assert_eq!(f.signature(), &want, "{capability}.{name}");
        }
        for (capability, name) in linker.funcs.keys() {
            assert!(
                catalogue
                    .iter()
                    .any(|&(c, n, ..)| c == capability && n == name),
                "{capability}.{name} is defined but not catalogued"
            );
        }
        assert_eq!(linker.funcs.len(), catalogue.len());
    }
}
