//! Finding, reading and parsing the files of a program, then checking and
//! generating it: the compiler's one entry point, [`compile`].
//!
//! `import name;` means the standard module `name` if there is one,
//! otherwise the file `name.src` beside the importing file. Modules are
//! loaded depth first; meeting a module that is still loading is an import
//! cycle, reported at the import that closes it.

use crate::ast;
use crate::check::{self, ImportTarget, ModuleSrc};
use crate::cli::{io_reason, read_capped, too_large};
use crate::diag::{render_all, Diagnostic, FileId, SourceFile};
use crate::limits::{self, Exceeded};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tern_vm::Module;

/// Where source text comes from: the file system, or memory in tests.
/// A loader should refuse a file larger than [`MAX_SOURCE_BYTES`] with a
/// `FileTooLarge` error rather than read it whole; the driver checks the
/// length of whatever it is given in any case.
pub trait SourceLoader: Sync {
    fn read(&self, path: &Path) -> std::io::Result<String>;
}

pub struct FsLoader;

impl SourceLoader for FsLoader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        let bytes = read_capped(path, MAX_SOURCE_BYTES)?;
        String::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

/// One source file held in memory: `path` reads as `text`, any other path
/// (an import of another file) is not found. For hosts compiling a script
/// from a string, and for tests.
pub struct OneFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl SourceLoader for OneFile<'_> {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path == self.path {
            if self.text.len() > MAX_SOURCE_BYTES {
                return Err(too_large(MAX_SOURCE_BYTES));
            }
            Ok(self.text.to_string())
        } else {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }
}

/// Why compilation failed.
#[derive(Debug)]
pub enum CompileError {
    /// The main file itself could not be read.
    Io(String),
    /// Errors in the program, with the files they point into.
    Diagnostics(Vec<Diagnostic>, Vec<SourceFile>),
    /// Limits of the bytecode format that the program as a whole exceeds
    /// (no one place in it is to blame), and the main file's name.
    Limits(Vec<String>, String),
}

impl CompileError {
    /// The text a user sees: every error, with source lines and carets.
    pub fn render(&self) -> String {
        match self {
            CompileError::Io(e) => format!("error: {e}\n"),
            CompileError::Diagnostics(d, files) => render_all(d, files),
            CompileError::Limits(limits, file) => {
                let mut out = String::new();
                for l in limits {
                    out.push_str(&format!(
                        "error: the program exceeds a limit of the bytecode format: {l}\n"
                    ));
                }
                let n = limits.len();
                let s = if n == 1 { "" } else { "s" };
                out.push_str(&format!("error: could not compile {file} ({n} error{s})\n"));
                out
            }
        }
    }
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for CompileError {}

/// A compiled program and the sources it came from.
pub struct Compiled {
    pub module: Module,
    pub files: Vec<SourceFile>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Loading,
    Done(usize),
    Failed,
}

struct Driver<'l> {
    loader: &'l dyn SourceLoader,
    dir: PathBuf,
    files: Vec<SourceFile>,
    diags: Vec<Diagnostic>,
    mods: Vec<ModuleSrc>,
    state: HashMap<String, State>,
    stack: Vec<String>,
}

/// Compiles the program whose main file is `path`.
pub fn compile(path: &Path) -> Result<Compiled, CompileError> {
    compile_with(path, &FsLoader)
}

/// The prelude's file name, in traces.
pub const PRELUDE_NAME: &str = "<prelude>";

/// Largest source file the compiler reads.
pub const MAX_SOURCE_BYTES: usize = 8 << 20;

/// Stack for the compiler's thread. Trees are walked recursively; the
/// checker bounds nesting (see `check::MAX_NESTING`), but a long chain like
/// `1 + 1 + ... + 1` is still a deep tree to build and drop, so the
/// compiler runs on a stack sized for the largest file it accepts. It is
/// reserved address space; only what is used is committed.
const COMPILER_STACK: usize = 1 << 30;

pub fn compile_with(path: &Path, loader: &dyn SourceLoader) -> Result<Compiled, CompileError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("vmc".into())
            .stack_size(COMPILER_STACK)
            .spawn_scoped(scope, || compile_here(path, loader))
            .map_err(|e| CompileError::Io(format!("cannot start the compiler thread: {e}")))?
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Reads one source file, holding every loader to the size limit.
fn read_source(loader: &dyn SourceLoader, path: &Path) -> std::io::Result<String> {
    let text = loader.read(path)?;
    if text.len() > MAX_SOURCE_BYTES {
        return Err(too_large(MAX_SOURCE_BYTES));
    }
    // A UTF-8 byte-order mark is not part of the program (as in rustc and
    // go); dropped here, columns on the first line count from after it.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

fn compile_here(path: &Path, loader: &dyn SourceLoader) -> Result<Compiled, CompileError> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let file_name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .ok_or_else(|| CompileError::Io(format!("{} is not a file", path.display())))?;
    let stem = match file_name.strip_suffix(".src") {
        Some(s) => s.to_string(),
        None => {
            return Err(CompileError::Io(format!(
                "{}: Tern source files end in .src",
                path.display()
            )))
        }
    };
    let text = read_source(loader, path).map_err(|e| {
        CompileError::Io(format!("cannot read {}: {}", path.display(), io_reason(&e)))
    })?;
    let mut d = Driver {
        loader,
        dir,
        files: vec![],
        diags: vec![],
        mods: vec![],
        state: HashMap::new(),
        stack: vec![],
    };
    d.module(&stem, text);
    let root = d.mods.len() - 1;
    let prelude = d.prelude();
    if !d.diags.is_empty() {
        return Err(CompileError::Diagnostics(d.diags, d.files));
    }
    let files = d.files;
    let mut mods = d.mods;
    let lines = |f: FileId, off: usize| files[f as usize].line(off);
    let checked = check::check(&mut mods, root, Some(prelude), &lines);
    // The syntax trees are done with: free them before generating code.
    drop(mods);
    let mut program = match checked {
        Ok(p) => p,
        Err(e) => return Err(CompileError::Diagnostics(e, files)),
    };
    // The bytecode names files relative to the main file's folder (where
    // imports are), so its bytes depend only on the sources; diagnostics
    // above named them as given. A host running source may name them so
    // in traces too (`Module::from_file` does).
    program.files = files
        .iter()
        .map(|f| {
            Path::new(&f.name)
                .file_name()
                .map_or_else(|| f.name.clone(), |n| n.to_string_lossy().into_owned())
        })
        .collect();
    // The prelude's file is named only if some of its code is used (it is
    // the last file).
    let prelude_file = (files.len() - 1) as FileId;
    if !program.funcs.iter().any(|f| f.file == prelude_file) {
        program.files.pop();
    }
    let mut module = crate::codegen::generate(&program);
    let origins: Vec<_> = program.funcs.iter().map(|f| (f.file, f.span)).collect();
    // The checked program is done with too: free it before verifying.
    drop(program);
    let held = match limits::before_verifying(&module, &origins) {
        Some(e) => Err(e),
        None => limits::verify(&mut module, &origins),
    };
    match held {
        Ok(()) => Ok(Compiled { module, files }),
        Err(Exceeded::Limits(program, functions)) if program.is_empty() => {
            Err(CompileError::Diagnostics(functions, files))
        }
        Err(Exceeded::Limits(program, _)) => {
            Err(CompileError::Limits(program, files[0].name.clone()))
        }
        Err(Exceeded::Bug(e)) => Err(CompileError::Io(format!("internal compiler error: {e}"))),
    }
}

impl Driver<'_> {
    /// Adds the prelude, Tern code every program has (`Option`, `Result`
    /// and their methods), as a module after the others.
    fn prelude(&mut self) -> usize {
        let file = self.files.len() as FileId;
        self.files.push(SourceFile::new(
            PRELUDE_NAME,
            tern_stdlib::PRELUDE_SOURCE.to_string(),
        ));
        let ast = self.parse(file);
        self.mods.push(ModuleSrc {
            file,
            name: "prelude".into(),
            ast,
            imports: vec![],
        });
        self.mods.len() - 1
    }

    fn module(&mut self, name: &str, text: String) -> Option<usize> {
        let file = self.files.len() as FileId;
        // Named as the user gave the path (`sub/app.src`), imports beside it.
        let shown = self.dir.join(format!("{name}.src"));
        self.files
            .push(SourceFile::new(shown.to_string_lossy(), text));
        self.state.insert(name.to_string(), State::Loading);
        self.stack.push(name.to_string());
        let ast = self.parse(file);
        let mut imports = Vec::new();
        for item in &ast.items {
            if let ast::Item::Import(ident) = item {
                if let Some(m) = tern_stdlib::module(&ident.name) {
                    imports.push((ident.clone(), ImportTarget::Std(m)));
                    continue;
                }
                if let Some(i) = self.import(file, ident) {
                    imports.push((ident.clone(), ImportTarget::User(i)));
                }
            }
        }
        self.stack.pop();
        let index = self.mods.len();
        self.mods.push(ModuleSrc {
            file,
            name: name.to_string(),
            ast,
            imports,
        });
        self.state.insert(name.to_string(), State::Done(index));
        Some(index)
    }

    fn import(&mut self, from: FileId, ident: &ast::Ident) -> Option<usize> {
        let name = &ident.name;
        match self.state.get(name).copied() {
            Some(State::Done(i)) => return Some(i),
            Some(State::Failed) => return None,
            Some(State::Loading) => {
                let start = self.stack.iter().position(|s| s == name).unwrap_or(0);
                let mut cycle: Vec<&str> = self.stack[start..].iter().map(String::as_str).collect();
                cycle.push(name);
                self.diags.push(Diagnostic::new(
                    from,
                    ident.span,
                    format!("import cycle: {}", cycle.join(" -> ")),
                ));
                return None;
            }
            None => {}
        }
        let path = self.dir.join(format!("{name}.src"));
        match read_source(self.loader, &path) {
            Ok(text) => self.module(name, text),
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                self.state.insert(name.clone(), State::Failed);
                self.diags.push(Diagnostic::new(
                    from,
                    ident.span,
                    format!("cannot import `{name}`: {name}.src is larger than {MAX_SOURCE_BYTES} bytes"),
                ));
                None
            }
            Err(e) => {
                self.state.insert(name.clone(), State::Failed);
                let importer = self.files[from as usize].name.clone();
                self.diags.push(Diagnostic::new(
                    from,
                    ident.span,
                    format!(
                        "cannot import `{name}`: {name}.src beside {importer}: {}",
                        io_reason(&e)
                    ),
                ));
                None
            }
        }
    }

    fn parse(&mut self, file: FileId) -> ast::File {
        let (tree, diags) = crate::parse::parse(file, &self.files[file as usize].text);
        self.diags.extend(diags);
        tree
    }
}
