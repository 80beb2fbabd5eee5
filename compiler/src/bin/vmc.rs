//! vmc: compile Tern source to bytecode, check it, or look inside a `.bc`.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::exit;

use tern_compiler::cli::exit::{COMPILE_ERROR, INVALID_BYTECODE, IO_ERROR, OK, USAGE};
use tern_compiler::cli::{io_reason as reason, read_capped};
use tern_compiler::driver::MAX_SOURCE_BYTES;
use tern_vm::format::limits::MAX_FILE_BYTES;

#[derive(Parser)]
#[command(name = "vmc", version, about = "The Tern compiler", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a program to a .bc file.
    Build {
        /// The main source file.
        source: PathBuf,
        /// Output file (default: the source path with .bc).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Check a program for errors without writing anything.
    Check { source: PathBuf },
    /// Print a readable listing of a .bc file.
    Disasm {
        bytecode: PathBuf,
        /// List the code the VM runs: verified, then translated to its
        /// register-based internal code.
        #[arg(long)]
        translated: bool,
    },
    /// Print a .bc file's version, checksum, imports by capability and exports.
    Inspect { bytecode: PathBuf },
}

fn compile(source: &Path) -> tern_compiler::Compiled {
    match tern_compiler::compile(source) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.render());
            exit(match e {
                tern_compiler::CompileError::Io(_) => IO_ERROR,
                _ => COMPILE_ERROR,
            });
        }
    }
}

/// Reads and decodes a `.bc` file, reading no more than the format allows.
fn read_bc(path: &Path) -> (Vec<u8>, tern_vm::Module) {
    let bytes = read_capped(path, MAX_FILE_BYTES).unwrap_or_else(|e| {
        eprintln!("error: cannot read {}: {}", path.display(), reason(&e));
        exit(IO_ERROR)
    });
    match tern_vm::decode(&bytes) {
        Ok(m) => (bytes, m),
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            exit(INVALID_BYTECODE)
        }
    }
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { USAGE } else { OK };
            let _ = e.print();
            exit(code);
        }
    };
    match cli.command {
        Command::Build { source, output } => {
            let c = compile(&source);
            let out = output.unwrap_or_else(|| source.with_extension("bc"));
            if let Err(e) = std::fs::write(&out, tern_vm::encode(&c.module)) {
                eprintln!("error: cannot write {}: {}", out.display(), reason(&e));
                exit(IO_ERROR);
            }
        }
        Command::Check { source } => {
            compile(&source);
        }
        Command::Disasm {
            bytecode,
            translated,
        } => {
            let (_, m) = read_bc(&bytecode);
            let dir = bytecode.parent().map(Path::to_path_buf).unwrap_or_default();
            let sources: std::collections::HashMap<String, Vec<String>> = m
                .sources
                .iter()
                .filter_map(|s| {
                    // The names come from the file: read them as carefully.
                    let bytes = read_capped(&dir.join(s), MAX_SOURCE_BYTES).ok()?;
                    let text = String::from_utf8(bytes).ok()?;
                    Some((s.clone(), text.lines().map(str::to_string).collect()))
                })
                .collect();
            let line = |file: &str, n: u32| sources.get(file)?.get(n as usize - 1).cloned();
            if !translated {
                print!("{}", tern_vm::disasm::disassemble(&m, &line));
                return;
            }
            match tern_vm::Program::new(m) {
                Ok(p) => print!("{}", tern_vm::disasm::translated(&p, &line)),
                Err(e) => {
                    eprintln!("error: {}: {e}", bytecode.display());
                    exit(INVALID_BYTECODE);
                }
            }
        }
        Command::Inspect { bytecode } => {
            let (bytes, m) = read_bc(&bytecode);
            let h = tern_vm::format::read_header(&bytes).expect("decoded files have valid headers");
            println!("file: {}", bytecode.display());
            println!("format version: {}", h.version);
            println!("checksum: {:016x}", h.checksum);
            println!("functions: {}", m.functions.len());
            let mut groups: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
            for im in &m.imports {
                let ps: Vec<String> = im.params.iter().map(|p| m.type_name(*p)).collect();
                let sig = if im.ret == tern_vm::module::UNIT {
                    format!("{}({})", im.name, ps.join(", "))
                } else {
                    format!("{}({}) -> {}", im.name, ps.join(", "), m.type_name(im.ret))
                };
                groups.entry(&im.module).or_default().push(sig);
            }
            println!(
                "capabilities needed:{}",
                if groups.is_empty() { " none" } else { "" }
            );
            for (cap, fns) in groups {
                println!("  {cap}: {}", fns.join(", "));
            }
            println!("exports:");
            for e in &m.exports {
                let f = &m.functions[e.func as usize];
                let ps: Vec<String> = f.params.iter().map(|p| m.type_name(*p)).collect();
                let ret = if f.ret == tern_vm::module::UNIT {
                    String::new()
                } else {
                    format!(" -> {}", m.type_name(f.ret))
                };
                println!("  {}({}){ret}", e.name, ps.join(", "));
            }
            if let Err(e) = tern_vm::Program::new(m) {
                println!("verification: FAILED: {e}");
                exit(INVALID_BYTECODE);
            }
            println!("verification: ok");
        }
    }
}
