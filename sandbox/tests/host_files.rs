//! The file capabilities open regular files only: a FIFO, a device or a
//! socket inside a granted directory is refused at once, never read, never
//! waited on. And a module file is read the same way.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use tern_sandbox::{Error, Limits, Linker, Module, TrapKind, Value, MAX_READ_BYTES};

const READER: &str = "
import fs;
fn read(p: str) -> str { return match fs.read(p) { Ok(t) => t, Err(e) => panic(e) }; }
fn exists(p: str) -> bool { return fs.exists(p); }
";

const WRITER: &str = "
import fs;
fn write(p: str, text: str) { match fs.write(p, text) { Ok(_) => {} Err(e) => panic(e) } }
fn append(p: str, text: str) { match fs.append(p, text) { Ok(_) => {} Err(e) => panic(e) } }
";

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tern-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(unix)]
fn mkfifo(path: &str) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs")
        .success();
    assert!(ok, "mkfifo {path}");
}

/// Calls the guest's `f` with `args` on an instance granted `dir` for
/// reading (`read`, `exists`) or writing (`write`, `append`), with a
/// timeout that a blocked host call would not honour; on another thread,
/// so that a call that blocks fails the test (after a generous bound)
/// instead of hanging it. The guest's runtime error, or its result.
fn call(dir: &Path, f: &str, args: &[&str]) -> Result<Value, String> {
    let mut linker = Linker::new();
    let source = if f == "read" || f == "exists" {
        linker.allow_read(dir).unwrap();
        READER
    } else {
        linker.allow_write(dir).unwrap();
        WRITER
    };
    let module = Module::from_source("guest.src", source).unwrap();
    let limits = Limits {
        timeout: Some(Duration::from_secs(1)),
        ..Limits::default()
    };
    let mut instance = linker.instantiate(&module, limits).unwrap();
    let (f, args): (String, Vec<Value>) = (
        f.to_string(),
        args.iter().map(|a| Value::Str(a.to_string())).collect(),
    );
    let (tx, rx) = mpsc::channel();
    let what = format!("{f}({args:?})");
    std::thread::spawn(move || {
        let r = instance.call(&f, &args).map_err(|e| match e {
            Error::Trap(t) => {
                // The guest's panic with the `Err` `fs.read` or `fs.write`
                // returned, or a host's refusal (`fs.exists`).
                assert!(
                    matches!(t.kind, TrapKind::Host | TrapKind::Panic),
                    "{}",
                    t.message
                );
                t.message
            }
            other => panic!("{other}"),
        });
        let _ = tx.send(r);
    });
    rx.recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("{what} did not return"))
}

#[cfg(unix)]
#[test]
fn a_fifo_in_a_granted_directory_is_refused_without_waiting() {
    let s = Scratch::new("fifo");
    let fifo = s.path("pipe");
    mkfifo(&fifo);
    let dir = s.0.as_path();
    assert_eq!(
        call(dir, "read", &[&fifo]),
        Err(format!("fs.read: cannot read '{fifo}': not a regular file"))
    );
    for f in ["write", "append"] {
        assert_eq!(
            call(dir, f, &[&fifo, "x"]),
            Err(format!(
                "fs.write: cannot write '{fifo}': not a regular file"
            )),
            "{f}"
        );
    }
    // Looking is not opening: it is there.
    assert_eq!(call(dir, "exists", &[&fifo]), Ok(Value::Bool(true)));
}

#[cfg(unix)]
#[test]
fn a_socket_in_a_granted_directory_is_refused() {
    let s = Scratch::new("socket");
    let sock = s.path("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let dir = s.0.as_path();
    assert_eq!(
        call(dir, "read", &[&sock]),
        Err(format!("fs.read: cannot read '{sock}': not a regular file"))
    );
    assert_eq!(
        call(dir, "append", &[&sock, "x"]),
        Err(format!(
            "fs.write: cannot write '{sock}': not a regular file"
        ))
    );
}

#[cfg(unix)]
#[test]
fn devices_are_refused_even_in_a_granted_directory() {
    let dev = Path::new("/dev");
    // An endless device would fill the 64 MiB cap; it is not read at all.
    assert_eq!(
        call(dev, "read", &["/dev/zero"]),
        Err("fs.read: cannot read '/dev/zero': not a regular file".into())
    );
    assert_eq!(
        call(dev, "write", &["/dev/null", "x"]),
        Err("fs.write: cannot write '/dev/null': not a regular file".into())
    );
    // A symlink to a device leads out of the granted directory.
    let s = Scratch::new("devlink");
    let link = s.path("zero");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    assert_eq!(
        call(s.0.as_path(), "read", &[&link]),
        Err(format!(
            "fs.read: cannot read '{link}': the path leads outside the granted directory"
        ))
    );
}

#[test]
fn regular_files_are_read_and_written_as_before() {
    let s = Scratch::new("regular");
    let dir = s.0.as_path();
    let file = s.path("notes.txt");
    assert_eq!(call(dir, "write", &[&file, "one"]), Ok(Value::Unit));
    assert_eq!(call(dir, "append", &[&file, ", two"]), Ok(Value::Unit));
    assert_eq!(
        call(dir, "read", &[&file]),
        Ok(Value::Str("one, two".into()))
    );
    assert_eq!(
        call(dir, "read", &[&s.path("")]),
        Err(format!(
            "fs.read: cannot read '{}': is a directory",
            s.path("")
        ))
    );
    assert_eq!(
        call(dir, "write", &[&s.path(""), "x"]),
        Err(format!(
            "fs.write: cannot write '{}': is a directory",
            s.path("")
        ))
    );
    // Too large is known from the file's size, before reading (sparse).
    let big = s.path("big.txt");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 40).unwrap();
    drop(f);
    assert_eq!(
        call(dir, "read", &[&big]),
        Err(format!(
            "fs.read: cannot read '{big}': larger than {MAX_READ_BYTES} bytes"
        ))
    );
}

#[test]
fn a_module_file_is_read_only_if_it_is_a_regular_file_within_the_limit() {
    let s = Scratch::new("module");
    let err = |path: &str| match Module::from_file(Path::new(path)) {
        Err(e) => (e.exit_code(), e.to_string()),
        Ok(_) => panic!("{path} loaded"),
    };
    let dir = s.path("");
    assert_eq!(err(&dir), (5, format!("cannot read {dir}: is a directory")));
    let big = s.path("big.bc");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 40).unwrap();
    drop(f);
    assert_eq!(
        err(&big),
        (
            4,
            format!(
                "{big}: invalid bytecode: file is 1099511627776 bytes, more than the limit of 67108864"
            )
        )
    );
    #[cfg(unix)]
    {
        assert_eq!(
            err("/dev/zero"),
            (5, "cannot read /dev/zero: not a regular file".into())
        );
        let fifo = s.path("pipe.bc");
        mkfifo(&fifo);
        let (tx, rx) = mpsc::channel();
        let p = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(
                Module::from_file(Path::new(&p))
                    .err()
                    .map(|e| e.to_string()),
            );
        });
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(120))
                .expect("loading a FIFO returns"),
            Some(format!("cannot read {fifo}: not a regular file"))
        );
    }
}

/// `fs.read`, `fs.write` and `fs.append` give the guest a `Result` to
/// handle: the text or the bytes written, or why not, never a trap.
#[test]
fn file_functions_return_results() {
    let s = Scratch::new("results");
    std::fs::write(s.path("in.txt"), "text").unwrap();
    let src = r#"
import fs;
fn copy(from: str, to: str) -> Result<int, str> {
    let text = fs.read(from)?;
    return fs.write(to, text + "!");
}
fn run(dir: str) -> str {
    let a = copy(dir + "/in.txt", dir + "/out.txt");
    let b = fs.append(dir + "/out.txt", "??");
    let c = fs.read(dir + "/out.txt");
    let d = copy(dir + "/missing.txt", dir + "/x.txt");
    let e = fs.read("/etc/hostname-not-granted");
    return "{a} {b} {c} {d} {e}";
}
"#;
    let mut linker = Linker::new();
    linker.allow_read(&s.0).unwrap();
    linker.allow_write(&s.0).unwrap();
    let module = Module::from_source("guest.src", src).unwrap();
    let mut inst = linker.instantiate(&module, Limits::default()).unwrap();
    let dir = s.0.to_str().unwrap().to_string();
    let got = inst.call("run", &[Value::Str(dir.clone())]).unwrap();
    let want = format!(
        "Ok(5) Ok(2) Ok(\"text!??\") Err(\"fs.read: cannot read '{dir}/missing.txt': no such file\") \
         Err(\"fs.read: '/etc/hostname-not-granted' is outside the directories granted for reading\")"
    );
    assert_eq!(got, Value::Str(want));
    assert!(!Path::new(&format!("{dir}/x.txt")).exists());
}
