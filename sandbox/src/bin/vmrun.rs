//! vmrun: run a Tern program (`.bc`, or `.src` compiled in memory).
//!
//! A host like any other: standard output and error are granted, every
//! other capability only by a flag, in Deno's manner. Flags for vmrun come
//! before the program path; everything after it belongs to the program.
//!
//! Nothing vmrun prints may panic: its own standard streams may be closed
//! pipes, so every write to them ignores failure.

use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tern_sandbox::{exit, report, Error, JitMode, Limits, Linker, Module, Output, TrapKind};

/// The exit code when the program's standard output or error was closed by
/// its reader: what a shell reports for a process killed by SIGPIPE
/// (128 + 13), as `yes | head -n 1` reports for `yes`.
const CLOSED_PIPE: i32 = 141;

/// The longest `--timeout`: a century, in effect none. A longer one would
/// overflow the clock the deadline is computed on.
const MAX_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

#[derive(Parser)]
#[command(
    name = "vmrun",
    version,
    about = "Run a Tern program",
    long_about = None,
    override_usage = "vmrun [OPTIONS] <PROGRAM> [ARGS]...",
    after_help = "Options come before PROGRAM. Everything after PROGRAM is passed to the \
                  program as its arguments, verbatim, even if it looks like an option."
)]
struct Cli {
    /// Grant reading files under DIR (repeat or separate with commas).
    #[arg(long, value_name = "DIR", value_delimiter = ',')]
    allow_read: Vec<PathBuf>,
    /// Grant creating and writing files under DIR (repeat or separate with commas).
    #[arg(long, value_name = "DIR", value_delimiter = ',')]
    allow_write: Vec<PathBuf>,
    /// Grant reading environment variable NAME; without a value, all of them.
    #[arg(long, value_name = "NAME", value_delimiter = ',', num_args = 0.., require_equals = true)]
    allow_env: Option<Vec<String>>,
    /// Grant the wall clock and monotonic time.
    #[arg(long)]
    allow_clock: bool,
    /// Grant random numbers.
    #[arg(long)]
    allow_random: bool,
    /// Seed for --allow-random, for a reproducible run.
    #[arg(long, value_name = "N", requires = "allow_random")]
    random_seed: Option<u64>,
    /// Grant everything: files anywhere, all environment variables, clock, random.
    #[arg(long, short = 'A')]
    allow_all: bool,
    /// Load a native module (a trusted shared library) and grant its functions.
    #[arg(long, value_name = "PATH")]
    native: Vec<PathBuf>,
    /// Print instructions executed, fuel units, collections, bytes allocated and peak heap to stderr.
    #[arg(long)]
    stats: bool,
    /// Collect garbage at every allocation (slow; for testing the collector).
    #[arg(long)]
    gc_stress: bool,
    /// When to compile functions to machine code: off, on (once hot) or
    /// eager (before each first runs). The program behaves the same.
    #[arg(long, value_name = "MODE", default_value = "on", value_parser = parse_jit)]
    jit: JitMode,
    /// Heap limit, in bytes or with a suffix: 64K, 512M, 2G.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_heap: Option<usize>,
    /// Maximum call depth in frames (at most 1048576).
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// Fuel: units of work to allow (an instruction is one; see spec/sandbox.md).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Wall-clock limit: 500ms, 2s, 1m (at most a century).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// The program (a .bc file, or a .src file to compile first), then the
    /// arguments passed to main(args: [str]).
    // One positional that captures everything from its first value on
    // (trailing_var_arg), so that nothing after the program path is parsed
    // as a flag of vmrun. A path starting with '-' before it is still an
    // unknown flag, not silently the program (write `-- -name.bc`).
    #[arg(value_names = ["PROGRAM", "ARGS"], required = true, num_args = 1.., trailing_var_arg = true)]
    command: Vec<OsString>,
}

fn parse_jit(s: &str) -> Result<JitMode, String> {
    JitMode::parse(s).ok_or_else(|| format!("'{s}' is not a JIT mode: use off, on or eager"))
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

/// A duration, saturated at [`MAX_TIMEOUT`] however many digits it has.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration `{s}` (use a number with ms, s or m: 500ms, 2s, 1m)");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    if split == 0 {
        return Err(bad());
    }
    // All digits, so the only way to fail is to be too large.
    let n: u64 = s[..split].parse().unwrap_or(u64::MAX);
    let d = match &s[split..] {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(bad()),
    };
    Ok(d.min(MAX_TIMEOUT))
}

/// The flag that grants a capability, for the refusal message.
fn flag_for(capability: &str) -> &'static str {
    match capability {
        "fs.read" => "--allow-read=DIR",
        "fs.write" => "--allow-write=DIR",
        "env" => "--allow-env",
        "clock" => "--allow-clock",
        "random" => "--allow-random",
        _ => "",
    }
}

fn linker(cli: &Cli) -> Result<Linker, String> {
    let mut l = Linker::new();
    l.stdout(Output::Inherit).stderr(Output::Inherit);
    // Standard input is granted by default, as output is (like Deno).
    l.stdin(tern_sandbox::Input::Inherit);
    l.output_limit(usize::MAX);
    let grant_err = |flag: &str, dir: &PathBuf, e: std::io::Error| {
        format!(
            "cannot grant {flag}={}: {}",
            dir.display(),
            tern_sandbox::io_reason(&e)
        )
    };
    let mut read = cli.allow_read.clone();
    let mut write = cli.allow_write.clone();
    if cli.allow_all {
        // Relative paths from here, absolute ones from the root.
        read.extend([PathBuf::from("."), PathBuf::from("/")]);
        write.extend([PathBuf::from("."), PathBuf::from("/")]);
    }
    for dir in &read {
        l.allow_read(dir)
            .map_err(|e| grant_err("--allow-read", dir, e))?;
    }
    for dir in &write {
        l.allow_write(dir)
            .map_err(|e| grant_err("--allow-write", dir, e))?;
    }
    match &cli.allow_env {
        _ if cli.allow_all => {
            l.allow_env_all();
        }
        Some(names) if names.is_empty() => {
            l.allow_env_all();
        }
        Some(names) => {
            for n in names {
                l.allow_env(n);
            }
        }
        None => {}
    }
    if cli.allow_clock || cli.allow_all {
        l.allow_clock();
    }
    if cli.allow_random || cli.allow_all {
        l.allow_random(cli.random_seed);
    }
    for path in &cli.native {
        l.load_native(path).map_err(|e| e.to_string())?;
    }
    Ok(l)
}

/// Writes to standard error; a closed stream is not worth a panic.
fn say(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn fail(code: i32, text: &str) -> ! {
    say(text);
    std::process::exit(code);
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
    let (program, args) = match cli.command.split_first() {
        Some((p, rest)) => (PathBuf::from(p), rest),
        None => fail(exit::USAGE, "error: no program given\n"),
    };
    let args: Vec<String> = match args.iter().map(|a| a.clone().into_string()).collect() {
        Ok(a) => a,
        Err(bad) => fail(
            exit::USAGE,
            &format!(
                "error: the program argument '{}' is not valid UTF-8\n",
                bad.to_string_lossy()
            ),
        ),
    };
    let module = match Module::from_file(&program) {
        Ok(m) => m,
        Err(e) => fail(e.exit_code(), &report(&e)),
    };
    let mut limits = Limits {
        gc_stress: cli.gc_stress,
        count_instructions: cli.stats,
        timeout: cli.timeout,
        jit: cli.jit,
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
    let linker = match linker(&cli) {
        Ok(l) => l,
        Err(msg) => fail(exit::USAGE, &format!("error: {msg}\n")),
    };
    let mut instance = match linker.instantiate(&module, limits) {
        Ok(i) => i,
        Err(Error::MissingCapabilities(missing)) => {
            let mut flags: Vec<&str> = Vec::new();
            for im in &missing {
                let f = flag_for(&im.capability);
                if !f.is_empty() && !flags.contains(&f) {
                    flags.push(f);
                }
            }
            let hint = if flags.is_empty() {
                String::new()
            } else {
                format!(" (grant with {})", flags.join(", "))
            };
            let e = Error::MissingCapabilities(missing);
            fail(e.exit_code(), &format!("error: {e}{hint}\n"))
        }
        Err(e) => fail(e.exit_code(), &report(&e)),
    };
    let result = instance.run_main(&args);
    let closed = instance.output_closed();
    let code = match &result {
        // Output was lost to a closed pipe: the run did not do its job.
        Ok(_) if closed => CLOSED_PIPE,
        Ok(code) => (code & 0xFF) as i32,
        // Printing to a closed pipe stopped the guest with a host error;
        // the reader is gone and wants no story about it. (Any other error
        // is reported, even if output was lost too.)
        Err(Error::Trap(t))
            if closed
                && t.kind == TrapKind::Host
                && tern_sandbox::is_closed_output_message(&t.message) =>
        {
            CLOSED_PIPE
        }
        Err(e) => {
            say(&report(e));
            e.exit_code()
        }
    };
    if cli.stats {
        let s = instance.stats();
        say(&format!(
            "instructions: {}\nfuel units: {}\ncollections: {}\nallocated bytes: {}\npeak heap bytes: {}\n",
            s.instructions, s.fuel, s.collections, s.allocated_bytes, s.peak_heap_bytes
        ));
    }
    std::process::exit(code);
}
