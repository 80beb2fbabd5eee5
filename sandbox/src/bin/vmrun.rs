//! vmrun: run a Tern program (`.bc`, or `.src` compiled in memory).

use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use tern_sandbox::{exit, load_program, run_main};
use tern_vm::Limits;

#[derive(Parser)]
#[command(name = "vmrun", version, about = "Run a Tern program", long_about = None)]
struct Cli {
    /// Print instructions executed, collections, bytes allocated and peak heap to stderr.
    #[arg(long)]
    stats: bool,
    /// Collect garbage at every allocation (slow; for testing the collector).
    #[arg(long)]
    gc_stress: bool,
    /// Heap limit, in bytes or with a suffix: 64K, 512M, 2G.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_heap: Option<usize>,
    /// Maximum call depth in frames.
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// Maximum instructions to execute.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// The program: a .bc file, or a .src file to compile first.
    program: PathBuf,
    /// Arguments passed to main(args: [str]).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn parse_size(s: &str) -> Result<usize, String> {
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 1usize << 10),
        Some((i, 'M' | 'm')) => (&s[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("invalid size `{s}` (use bytes, or a number with K, M or G)"))
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let program = match load_program(&cli.program) {
        Ok(p) => p,
        Err(f) => {
            eprint!("{}", f.message);
            std::process::exit(f.code);
        }
    };
    let mut limits = Limits {
        gc_stress: cli.gc_stress,
        count_instructions: cli.stats,
        ..Limits::default()
    };
    if let Some(h) = cli.max_heap {
        limits.max_heap = h;
    }
    if let Some(d) = cli.max_depth {
        limits.max_depth = d.max(1);
    }
    if let Some(f) = cli.fuel {
        limits.fuel = f;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let outcome = run_main(&program, &cli.args, limits, &mut out, &mut err);
    let _ = out.flush();
    if cli.stats {
        let s = outcome.stats;
        let _ = writeln!(
            err,
            "instructions: {}\ncollections: {}\nallocated bytes: {}\npeak heap bytes: {}",
            s.instructions, s.collections, s.allocated_bytes, s.peak_heap_bytes
        );
    }
    drop(out);
    std::process::exit(outcome.exit_code);
}
