//! The standard capabilities: the host functions behind the standard
//! library's `print`, `io` (standard input), `fs`, `env`, `clock` and `random` (see
//! `spec/sandbox.md`), and the per-instance state they use.
//!
//! Files are reached only through directories the host opened when it
//! granted them (cap-std `Dir`s, like WASI preopens). A guest path is
//! matched against the granted paths as written, and the rest of it is
//! opened *inside* that directory by cap-std, which refuses absolute paths,
//! `..` above the directory and symlinks that lead out of it. Nothing here
//! opens a path with ambient authority, and only regular files are opened
//! (see `files`): a FIFO or a device could block the host or never end.

use crate::files::{self, FileError};
use crate::types::{Signature, ValType};
use cap_std::fs::Dir;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tern_vm::Value;

/// Where an instance's standard output or error goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The host process's own stream (buffered; flushed when a call into
    /// the guest returns).
    Inherit,
    /// A buffer the host reads with `Instance::take_stdout` / `take_stderr`.
    Capture,
    /// Thrown away.
    Discard,
}

/// Where an instance's standard input comes from (capability `stdin`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The host process's own standard input, read as the guest asks.
    Inherit,
    /// These bytes, then the end of input.
    Bytes(Vec<u8>),
}

/// The most bytes one read of standard input returns (a line, or all of
/// the rest): past it the read is a runtime error, so hostile input cannot
/// make the host hold more.
pub const MAX_INPUT_BYTES: usize = 64 << 20;

pub(crate) struct Source {
    reader: Box<dyn std::io::BufRead + Send>,
}

impl Source {
    pub(crate) fn new(input: &Input) -> Source {
        let reader: Box<dyn std::io::BufRead + Send> = match input {
            Input::Inherit => Box::new(std::io::BufReader::new(std::io::stdin())),
            Input::Bytes(b) => Box::new(std::io::Cursor::new(b.clone())),
        };
        Source { reader }
    }

    fn at_end(&mut self) -> Result<bool, String> {
        self.reader
            .fill_buf()
            .map(|b| b.is_empty())
            .map_err(|e| format!("stdin: cannot read: {e}"))
    }

    /// The next line without its `\n` (or `\r\n`), or the rest of the
    /// input (`line` false); `""` at the end.
    fn read(&mut self, line: bool) -> Result<String, String> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let buf = self
                .reader
                .fill_buf()
                .map_err(|e| format!("stdin: cannot read: {e}"))?;
            if buf.is_empty() {
                break;
            }
            let (take, done) = match line.then(|| buf.iter().position(|&b| b == b'\n')).flatten() {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if out.len() + take > MAX_INPUT_BYTES + 2 {
                return Err(format!(
                    "stdin: more than {MAX_INPUT_BYTES} bytes in one read"
                ));
            }
            out.extend_from_slice(&buf[..take]);
            self.reader.consume(take);
            if done {
                break;
            }
        }
        if line && out.last() == Some(&b'\n') {
            out.pop();
            if out.last() == Some(&b'\r') {
                out.pop();
            }
        }
        if out.len() > MAX_INPUT_BYTES {
            return Err(format!(
                "stdin: more than {MAX_INPUT_BYTES} bytes in one read"
            ));
        }
        String::from_utf8(out).map_err(|_| "stdin: the input is not valid UTF-8".to_string())
    }
}

/// `stdin.read_line`, `stdin.read_all`, `stdin.at_end`.
pub(crate) fn input_funcs() -> Vec<(&'static str, HostFunc)> {
    let line = builtin(&[], ValType::Str, |io, _| {
        io.input.read(true).map(Value::Str)
    });
    let all = builtin(&[], ValType::Str, |io, _| {
        io.input.read(false).map(Value::Str)
    });
    let end = builtin(&[], ValType::Bool, |io, _| {
        io.input.at_end().map(Value::Bool)
    });
    vec![("read_line", line), ("read_all", all), ("at_end", end)]
}

/// Bytes a buffered inherited stream holds before writing through.
const INHERIT_BUFFER: usize = 1 << 16;

pub(crate) enum Sink {
    Inherit {
        stderr: bool,
        buf: Vec<u8>,
        /// The reader closed the stream: every later write fails at once.
        closed: bool,
    },
    Capture(Vec<u8>),
    Discard,
}

/// Whether `message` is the error a write to a closed inherited stream
/// gives (see `closed_message`).
pub fn is_closed_output_message(message: &str) -> bool {
    message.starts_with("output failed: standard ") && message.ends_with("(broken pipe)")
}

fn closed_message(stderr: bool) -> String {
    let which = if stderr { "error" } else { "output" };
    format!("output failed: standard {which} was closed by its reader (broken pipe)")
}

impl Sink {
    fn new(o: Output, stderr: bool) -> Sink {
        match o {
            Output::Inherit => Sink::Inherit {
                stderr,
                buf: Vec::new(),
                closed: false,
            },
            Output::Capture => Sink::Capture(Vec::new()),
            Output::Discard => Sink::Discard,
        }
    }

    fn write(&mut self, bytes: &[u8], limit: usize) -> Result<(), String> {
        match self {
            Sink::Inherit { stderr, closed, .. } if *closed => Err(closed_message(*stderr)),
            Sink::Inherit { stderr, buf, .. } => {
                buf.extend_from_slice(bytes);
                if *stderr || buf.len() >= INHERIT_BUFFER {
                    return self.flush();
                }
                Ok(())
            }
            Sink::Capture(buf) => {
                if buf.len().saturating_add(bytes.len()) > limit {
                    return Err(format!(
                        "output limit exceeded: the host captures at most {limit} bytes"
                    ));
                }
                buf.extend_from_slice(bytes);
                Ok(())
            }
            Sink::Discard => Ok(()),
        }
    }

    pub(crate) fn flush(&mut self) -> Result<(), String> {
        if let Sink::Inherit {
            stderr,
            buf,
            closed,
        } = self
        {
            if buf.is_empty() {
                return Ok(());
            }
            let r = if *stderr {
                let mut e = std::io::stderr().lock();
                e.write_all(buf).and_then(|_| e.flush())
            } else {
                let mut o = std::io::stdout().lock();
                o.write_all(buf).and_then(|_| o.flush())
            };
            buf.clear();
            match r {
                Ok(()) => {}
                // The reader is gone, so is everything printed from now
                // on: stop the guest rather than let it print forever.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    *closed = true;
                    return Err(closed_message(*stderr));
                }
                Err(e) => return Err(format!("output failed: {e}")),
            }
        }
        Ok(())
    }

    /// Whether the reader of this inherited stream closed it.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self, Sink::Inherit { closed: true, .. })
    }

    pub(crate) fn take(&mut self) -> Vec<u8> {
        match self {
            Sink::Capture(buf) => std::mem::take(buf),
            _ => Vec::new(),
        }
    }
}

/// One instance's own side of its capabilities.
pub(crate) struct Io {
    pub input: Source,
    pub out: Sink,
    pub err: Sink,
    pub output_limit: usize,
    pub started: Instant,
    pub rng: Rng,
    /// Output of the current call into the guest was lost to a closed
    /// inherited stream (see `Instance::output_closed`).
    pub output_closed: bool,
}

impl Io {
    pub fn new(input: &Input, out: Output, err: Output, output_limit: usize, seed: u64) -> Io {
        Io {
            input: Source::new(input),
            out: Sink::new(out, false),
            err: Sink::new(err, true),
            output_limit,
            started: Instant::now(),
            rng: Rng::new(seed),
            output_closed: false,
        }
    }

    /// Writes out what inherited streams hold, noting a closed one.
    pub fn flush(&mut self) {
        let out = self.out.flush();
        let err = self.err.flush();
        if out.is_err() || err.is_err() {
            self.note_closed();
        }
    }

    /// Records that output was lost, if it was to a closed stream.
    fn note_closed(&mut self) {
        if self.out.is_closed() || self.err.is_closed() {
            self.output_closed = true;
        }
    }
}

/// The body of a host function. `Io` is the calling instance's.
pub(crate) type Callback = Arc<dyn Fn(&mut Io, Vec<Value>) -> Result<Value, String> + Send + Sync>;

/// A host function: its Tern signature and its body.
#[derive(Clone)]
pub struct HostFunc {
    pub(crate) sig: Signature,
    pub(crate) f: Callback,
}

impl HostFunc {
    pub fn signature(&self) -> &Signature {
        &self.sig
    }
}

fn builtin(
    params: &[ValType],
    ret: ValType,
    f: impl Fn(&mut Io, Vec<Value>) -> Result<Value, String> + Send + Sync + 'static,
) -> HostFunc {
    HostFunc {
        sig: Signature {
            params: params.to_vec(),
            ret,
        },
        f: Arc::new(f),
    }
}

/// A guest's string in single quotes for a message, shortened past
/// `tern_vm::text::QUOTE_CHARS` characters so that a message never copies
/// a huge value: `'abc…' (123456 bytes)`.
fn quote(s: &str) -> String {
    match s.char_indices().nth(tern_vm::text::QUOTE_CHARS) {
        None => format!("'{s}'"),
        Some((end, _)) => format!("'{}…' ({} bytes)", &s[..end], s.len()),
    }
}

fn str_arg(args: &[Value], i: usize) -> &str {
    match args.get(i) {
        Some(Value::Str(s)) => s,
        // The linker checked the import's signature against the builtin's.
        _ => "",
    }
}

fn int_arg(args: &[Value], i: usize) -> i64 {
    match args.get(i) {
        Some(Value::Int(v)) => *v,
        _ => 0,
    }
}

/// `stdout.print`, `stdout.println`, `stderr.print`, `stderr.println`.
pub(crate) fn output_funcs(stderr: bool) -> Vec<(&'static str, HostFunc)> {
    let make = |newline: bool| {
        builtin(&[ValType::Str], ValType::Unit, move |io, args| {
            let text = str_arg(&args, 0);
            let limit = io.output_limit;
            let r = if stderr {
                // Keep the two streams in the order the guest wrote them.
                io.out.flush().and_then(|_| {
                    io.err.write(text.as_bytes(), limit)?;
                    if newline {
                        io.err.write(b"\n", limit)?;
                    }
                    Ok(())
                })
            } else {
                io.out.write(text.as_bytes(), limit).and_then(|_| {
                    if newline {
                        io.out.write(b"\n", limit)?;
                    }
                    Ok(())
                })
            };
            if r.is_err() {
                io.note_closed();
            }
            r.map(|_| Value::Unit)
        })
    };
    vec![("print", make(false)), ("println", make(true))]
}

/// A directory granted for reading or writing.
pub(crate) struct Preopen {
    /// The granted path as written, without `.` components.
    prefix: Vec<String>,
    absolute: bool,
    dir: Dir,
}

impl Preopen {
    pub fn open(path: &Path) -> std::io::Result<Preopen> {
        let dir = Dir::open_ambient_dir(path, cap_std::ambient_authority())?;
        let (absolute, prefix) = split(path);
        Ok(Preopen {
            prefix,
            absolute,
            dir,
        })
    }
}

/// A path's components, as strings, without `.`; and whether it is absolute.
fn split(p: &Path) -> (bool, Vec<String>) {
    let mut absolute = false;
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => absolute = true,
            Component::CurDir => {}
            Component::ParentDir => parts.push("..".to_string()),
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
        }
    }
    (absolute, parts)
}

/// Which granted directory a guest path falls in, and the rest of the path
/// inside it. The longest matching grant wins.
fn resolve<'a>(grants: &'a [Arc<Preopen>], guest: &str) -> Option<(&'a Dir, PathBuf)> {
    let (absolute, parts) = split(Path::new(guest));
    grants
        .iter()
        .filter(|g| g.absolute == absolute && parts.starts_with(&g.prefix))
        .max_by_key(|g| g.prefix.len())
        .map(|g| {
            let rest: PathBuf = parts[g.prefix.len()..].iter().collect();
            let rest = if rest.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                rest
            };
            (&g.dir, rest)
        })
}

/// A file-system error in words that are the same on every platform.
fn fs_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.contains("outside of the filesystem") {
        return "the path leads outside the granted directory".into();
    }
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        std::io::ErrorKind::NotADirectory => "not a directory".into(),
        std::io::ErrorKind::InvalidData => "the file is not valid UTF-8".into(),
        _ => text,
    }
}

/// Why a file cannot be read or written, in the same words everywhere.
fn file_reason(e: FileError) -> String {
    match e {
        FileError::Io(e) => fs_reason(&e),
        FileError::IsDir => "is a directory".into(),
        FileError::NotRegular => "not a regular file".into(),
        FileError::TooLarge(_) => format!("larger than {MAX_READ_BYTES} bytes"),
    }
}

/// The largest file `fs.read` returns: a file is copied into the guest
/// heap, so this bounds the host memory one call can take.
pub const MAX_READ_BYTES: u64 = 64 << 20;

/// The granted directories, as the functions of one grant see them.
pub(crate) type Grants = Arc<[Arc<Preopen>]>;

/// What a host function that may fail returns (see
/// `tern_stdlib::Lowering::HostResult`): `["ok", value]` or `["error",
/// message]`, which the program gets as a `Result`.
fn outcome(r: Result<String, String>) -> Result<Value, String> {
    let (status, value) = match r {
        Ok(v) => ("ok", v),
        Err(e) => ("error", e),
    };
    Ok(Value::Array(vec![
        Value::Str(status.into()),
        Value::Str(value),
    ]))
}

fn outcome_type() -> ValType {
    ValType::Array(Box::new(ValType::Str))
}

/// `fs.read.read_result` (`fs.read` in the language) and `fs.read.exists`.
pub(crate) fn fs_read_funcs(grants: Grants) -> Vec<(&'static str, HostFunc)> {
    let g = Arc::clone(&grants);
    let read = builtin(&[ValType::Str], outcome_type(), move |_, args| {
        let path = str_arg(&args, 0);
        let fail = |why: String| format!("fs.read: cannot read {}: {why}", quote(path));
        let text = resolve(&g, path)
            .ok_or_else(|| outside(path, "fs.read"))
            .and_then(|(dir, rest)| {
                files::read_in(dir, &rest, MAX_READ_BYTES).map_err(|e| fail(file_reason(e)))
            })
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| fail("the file is not valid UTF-8".into()))
            });
        outcome(text)
    });
    let exists = builtin(&[ValType::Str], ValType::Bool, move |_, args| {
        let path = str_arg(&args, 0);
        let (dir, rest) = resolve(&grants, path).ok_or_else(|| outside(path, "fs.read"))?;
        match dir.metadata(&rest) {
            Ok(_) => Ok(Value::Bool(true)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
            Err(e) => Err(format!(
                "fs.read: cannot look up {}: {}",
                quote(path),
                fs_reason(&e)
            )),
        }
    });
    vec![("read_result", read), ("exists", exists)]
}

fn outside(path: &str, capability: &str) -> String {
    let what = if capability == "fs.read" {
        "reading"
    } else {
        "writing"
    };
    format!(
        "{capability}: {} is outside the directories granted for {what}",
        quote(path)
    )
}

/// `fs.write.write_result` and `fs.write.append_result` (`fs.write` and
/// `fs.append` in the language): the bytes written, as text.
pub(crate) fn fs_write_funcs(grants: Grants) -> Vec<(&'static str, HostFunc)> {
    let make = |append: bool| {
        let g = Arc::clone(&grants);
        builtin(
            &[ValType::Str, ValType::Str],
            outcome_type(),
            move |_, args| {
                let path = str_arg(&args, 0);
                let text = str_arg(&args, 1);
                let fail = |why: String| format!("fs.write: cannot write {}: {why}", quote(path));
                let written = resolve(&g, path)
                    .ok_or_else(|| outside(path, "fs.write"))
                    .and_then(|(dir, rest)| {
                        let mut f = files::open_for_write(dir, &rest, append)
                            .map_err(|e| fail(file_reason(e)))?;
                        f.write_all(text.as_bytes())
                            .map_err(|e| fail(fs_reason(&e)))?;
                        Ok(text.len().to_string())
                    });
                outcome(written)
            },
        )
    };
    vec![("write_result", make(false)), ("append_result", make(true))]
}

/// Which environment variables a guest may read.
#[derive(Clone, Debug, Default)]
pub(crate) struct EnvGrant {
    pub all: bool,
    pub names: Vec<String>,
}

/// `env.get` and `env.has`.
pub(crate) fn env_funcs(grant: Arc<EnvGrant>) -> Vec<(&'static str, HostFunc)> {
    let check = |grant: &EnvGrant, name: &str| {
        if grant.all || grant.names.iter().any(|n| n == name) {
            Ok(())
        } else {
            Err(format!(
                "env: access to variable {} is not granted",
                quote(name)
            ))
        }
    };
    let g = Arc::clone(&grant);
    let get = builtin(
        &[ValType::Str, ValType::Str],
        ValType::Str,
        move |_, args| {
            let name = str_arg(&args, 0);
            check(&g, name)?;
            let value = std::env::var(name).unwrap_or_else(|_| str_arg(&args, 1).to_string());
            Ok(Value::Str(value))
        },
    );
    let has = builtin(&[ValType::Str], ValType::Bool, move |_, args| {
        let name = str_arg(&args, 0);
        check(&grant, name)?;
        Ok(Value::Bool(std::env::var(name).is_ok()))
    });
    vec![("get", get), ("has", has)]
}

/// `clock.now_ms` (wall clock, milliseconds since 1970) and `clock.ticks_ns`
/// (monotonic nanoseconds since the instance started).
pub(crate) fn clock_funcs() -> Vec<(&'static str, HostFunc)> {
    let now = builtin(&[], ValType::Int, |_, _| {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Ok(Value::Int(ms))
    });
    let ticks = builtin(&[], ValType::Int, |io, _| {
        Ok(Value::Int(io.started.elapsed().as_nanos() as i64))
    });
    vec![("now_ms", now), ("ticks_ns", ticks)]
}

/// `random.int(lo, hi)` (lo <= x < hi) and `random.float()` (0 <= x < 1).
pub(crate) fn random_funcs() -> Vec<(&'static str, HostFunc)> {
    let int = builtin(&[ValType::Int, ValType::Int], ValType::Int, |io, args| {
        let (lo, hi) = (int_arg(&args, 0), int_arg(&args, 1));
        if lo >= hi {
            return Err(format!("random.int: empty range {lo}..{hi}"));
        }
        let span = hi.wrapping_sub(lo) as u64;
        Ok(Value::Int(lo.wrapping_add(io.rng.below(span) as i64)))
    });
    let float = builtin(&[], ValType::Float, |io, _| {
        Ok(Value::Float(
            (io.rng.next() >> 11) as f64 / (1u64 << 53) as f64,
        ))
    });
    vec![("int", int), ("float", float)]
}

/// xoshiro256**, seeded through SplitMix64: small, fast, and the same
/// sequence on every platform for a given seed.
pub(crate) struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (n > 0), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        loop {
            let m = (self.next() as u128) * (n as u128);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }
}

/// A seed from the operating system's randomness (via the hasher std seeds
/// from it), for hosts that grant `random` without fixing a seed.
pub(crate) fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_the_same_everywhere_for_a_seed() {
        let mut r = Rng::new(42);
        let first: Vec<u64> = (0..3).map(|_| r.next()).collect();
        let mut again = Rng::new(42);
        assert_eq!(first, (0..3).map(|_| again.next()).collect::<Vec<_>>());
        let mut r = Rng::new(7);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
        }
    }

    #[test]
    fn guest_paths_match_grants_by_whole_components() {
        let (abs, parts) = split(Path::new("./data/./x/../y.txt"));
        assert!(!abs);
        assert_eq!(parts, ["data", "x", "..", "y.txt"]);
        assert_eq!(split(Path::new("/etc/passwd")).1, ["etc", "passwd"]);
        assert!(split(Path::new("/etc/passwd")).0);
        // "database" must not match a grant of "data".
        let grant = vec!["data".to_string()];
        assert!(!split(Path::new("database/x")).1.starts_with(&grant));
        assert!(split(Path::new("data/x")).1.starts_with(&grant));
    }
}
