//! vmrun as a user meets it: arguments, exit codes and one-line errors.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[path = "../../tests/support/run_binary.rs"]
mod support;

fn vmrun(args: &[&str]) -> (i32, String, String) {
    support::run_binary(env!("CARGO_BIN_EXE_vmrun"), args)
}

/// vmrun as a child process to wire up by hand (under the test runner's
/// emulator, if any, as `support::run_binary` does).
fn vmrun_command(args: &[&str]) -> Command {
    let mut cmd = support::command(env!("CARGO_BIN_EXE_vmrun"));
    cmd.args(args);
    cmd
}

/// Waits for `child`; one that has not ended after a generous bound (the
/// point is that it ends at all, also under a slow emulator) is killed and
/// fails the test.
fn wait_within(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: vmrun did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Like `vmrun`, but a run that does not end is a failure, not a hang.
fn vmrun_within(args: &[&str]) -> (i32, String, String) {
    let mut child = vmrun_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_within(&mut child, &format!("{args:?}"));
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.unwrap().read_to_string(&mut out).unwrap();
    child.stderr.unwrap().read_to_string(&mut err).unwrap();
    (status.code().unwrap_or(-1), out, err)
}

/// The write end of a pipe whose read end is already closed: the reader
/// (`true`, reading its standard input) has exited.
#[cfg(unix)]
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("`true` runs");
    let writer = reader.stdin.take().unwrap();
    assert!(reader.wait().unwrap().success());
    Stdio::from(writer)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmrun-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn example(name: &str) -> String {
    format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn hello_bc() -> Vec<u8> {
    let c = tern_compiler::compile(std::path::Path::new(&example("hello.src"))).unwrap();
    tern_vm::encode(&c.module)
}

#[test]
fn runs_source_and_bytecode_with_arguments() {
    let (code, out, err) = vmrun(&[&example("args.src"), "x", "-y", "--z"]);
    assert_eq!((code, err.as_str()), (3, ""));
    assert_eq!(out, "3 arguments\n  0: x\n  1: -y\n  2: --z\n");
    let bc = scratch("hello.bc");
    std::fs::write(&bc, hello_bc()).unwrap();
    assert_eq!(
        vmrun(&[bc.to_str().unwrap()]),
        (0, "Hello, Tern!\n".into(), String::new())
    );
}

#[test]
fn stats_are_printed_on_request() {
    let (code, out, err) = vmrun(&["--stats", &example("hello.src")]);
    assert_eq!((code, out.as_str()), (0, "Hello, Tern!\n"));
    let keys: Vec<&str> = err.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "instructions",
            "fuel units",
            "collections",
            "allocated bytes",
            "peak heap bytes"
        ]
    );
    let number = |i: usize| -> u64 {
        let line = err.lines().nth(i).unwrap();
        line[line.find(':').unwrap() + 1..].trim().parse().unwrap()
    };
    assert!(number(0) > 0);
    // hello.src's one string is short: no work beyond its instructions.
    assert_eq!(number(1), number(0));
}

#[test]
fn missing_and_foreign_files_are_one_line_errors() {
    let (code, _, err) = vmrun(&["/no/such/app.bc"]);
    assert_eq!(
        (code, err.as_str()),
        (5, "error: cannot read /no/such/app.bc: no such file\n")
    );

    let junk = scratch("junk.bc");
    std::fs::write(&junk, b"#!/bin/sh\necho hi\n").unwrap();
    let (code, _, err) = vmrun(&[junk.to_str().unwrap()]);
    assert_eq!(code, 4);
    assert_eq!(
        err,
        format!(
            "error: {}: invalid bytecode: bad magic (not a Tern bytecode file)\n",
            junk.display()
        )
    );

    let good = hello_bc();
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "newer.bc",
            {
                let mut b = good.clone();
                b[8] = 9;
                b
            },
            "format version 9 is newer than this VM supports (version 2)".into(),
        ),
        (
            // Version 1 could hold instructions that are now the VM's own.
            "older.bc",
            {
                let mut b = good.clone();
                b[8] = 1;
                b
            },
            "format version 1 is older than this VM reads (version 2); \
             rebuild the program from its source with `vmc build`"
                .into(),
        ),
        (
            "corrupt.bc",
            {
                let mut b = good.clone();
                let n = b.len();
                b[n - 1] ^= 0x55;
                b
            },
            "checksum mismatch (the file is corrupt)".into(),
        ),
        (
            "short.bc",
            good[..good.len() - 10].to_vec(),
            format!(
                "truncated file: header says {} body bytes, found {}",
                good.len() - 24,
                good.len() - 34
            ),
        ),
        ("tiny.bc", good[..12].to_vec(), "truncated header".into()),
    ];
    for (name, bytes, msg) in cases {
        let p = scratch(name);
        std::fs::write(&p, bytes).unwrap();
        let (code, out, err) = vmrun(&[p.to_str().unwrap()]);
        assert_eq!((code, out.as_str()), (4, ""), "{name}");
        assert_eq!(
            err,
            format!("error: {}: invalid bytecode: {msg}\n", p.display()),
            "{name}"
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let (code, _, err) = vmrun(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("Usage: vmrun"), "{err}");
    let (code, _, err) = vmrun(&["--max-heap", "lots", &example("hello.src")]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid size `lots`"), "{err}");
    let (code, _, err) = vmrun(&["--fuel", "-3", &example("hello.src")]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = vmrun(&["--jit=fast", &example("hello.src")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("'fast' is not a JIT mode: use off, on or eager"),
        "{err}"
    );
}

#[test]
fn every_jit_mode_runs_the_same() {
    let src = scratch("jit_modes.src");
    std::fs::write(
        &src,
        "fn f(n: int) -> int {\n    var s = 0;\n    for i in 0..n { s += i % 7; }\n    return s;\n}\n\
         fn main() {\n    println(str(f(100000)));\n    let z = f(3) - 3;\n    println(str(10 / z));\n}\n",
    )
    .unwrap();
    let mut runs = Vec::new();
    for mode in ["--jit=off", "--jit=on", "--jit=eager"] {
        runs.push(vmrun(&[mode, "--stats", src.to_str().unwrap()]));
    }
    assert_eq!(runs[0].0, 1);
    assert!(runs[0].2.contains("division by zero"), "{}", runs[0].2);
    assert!(runs.iter().all(|r| *r == runs[0]), "{runs:?}");
}

#[test]
fn limits_are_flags() {
    let src = scratch("loop.src");
    std::fs::write(
        &src,
        "fn main() {\n    var xs: [int] = [];\n    while true {\n        xs.push(1);\n    }\n}\n",
    )
    .unwrap();
    let (code, _, err) = vmrun(&["--fuel", "1000", src.to_str().unwrap()]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            format!(
                "error: fuel exhausted: the limit of 1000 units was reached\n  at main ({}:4)\n",
                src.display()
            )
            .as_str()
        )
    );
    let (code, _, err) = vmrun(&["--max-heap", "64K", src.to_str().unwrap()]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            format!(
                "error: out of memory: heap limit of 65536 bytes exceeded\n  at main ({}:4)\n",
                src.display()
            )
            .as_str()
        )
    );
}

#[test]
fn compile_errors_exit_with_three() {
    let src = scratch("bad.src");
    std::fs::write(&src, "fn main() {\n    let x: int = true;\n}\n").unwrap();
    let (code, out, err) = vmrun(&[src.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (3, ""));
    assert_eq!(
        err,
        format!(
            "{bad}:2:18: error: expected int, found bool\n 2 |     let x: int = true;\n   |                  ^^^^\nerror: could not compile {bad} (1 error)\n",
            bad = src.display()
        )
    );
}

#[test]
fn capabilities_are_granted_by_flags() {
    let dir = scratch("caps");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("data/in.txt"), "from a file").unwrap();
    let src = dir.join("caps.src");
    std::fs::write(
        &src,
        "import fs;\nimport clock;\nfn main(args: [str]) {\n    println(match fs.read(args[0]) { Ok(t) => t, Err(e) => panic(e) });\n    let _ = fs.write(args[1], \"done\").unwrap();\n    println(str(clock.now_ms() > 0));\n}\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let (code, out, err) = vmrun(&[src.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (6, ""));
    assert_eq!(
        err,
        "error: the program needs capabilities this host does not grant: \
         fs.read (read_result), fs.write (write_result), clock (now_ms) \
         (grant with --allow-read=DIR, --allow-write=DIR, --allow-clock)\n"
    );
    let read = format!("--allow-read={d}/data");
    let write = format!("--allow-write={d}/out");
    let input = format!("{d}/data/in.txt");
    let output = format!("{d}/out/result.txt");
    let (code, out, err) = vmrun(&[
        &read,
        &write,
        "--allow-clock",
        src.to_str().unwrap(),
        &input,
        &output,
    ]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "from a file\ntrue\n", "")
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "done");
    // A path outside the grant is a runtime error naming the path.
    let secret = format!("{d}/caps.src");
    let (code, out, err) = vmrun(&[
        &read,
        &write,
        "--allow-clock",
        src.to_str().unwrap(),
        &secret,
        &output,
    ]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        format!(
            "error: fs.read: '{secret}' is outside the directories granted for reading\n  at main ({}:4)\n",
            src.display()
        )
    );
    // -A grants everything, "/" included. (Not under qemu-user, whose -L
    // sysroot prefix makes "/" open as the sysroot.)
    if std::env::var_os("TERN_TEST_RUNNER").is_none() {
        let (code, out, _) = vmrun(&["-A", src.to_str().unwrap(), &input, &output]);
        assert_eq!((code, out.as_str()), (0, "from a file\ntrue\n"));
    }
    // Granting a directory that is not there is a usage error.
    let (code, _, err) = vmrun(&["--allow-read=/no/such/dir", src.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: cannot grant --allow-read=/no/such/dir: no such file\n"
    );
}

#[test]
fn a_timeout_stops_a_program_that_never_ends() {
    let src = scratch("forever.src");
    std::fs::write(
        &src,
        "fn main() {\n    var i = 0;\n    while true { i += 1; }\n}\n",
    )
    .unwrap();
    let (code, out, err) = vmrun(&["--timeout", "200ms", src.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        format!(
            "error: timeout: the time limit of 200 ms was exceeded\n  at main ({}:3)\n",
            src.display()
        )
    );
    let (code, _, err) = vmrun(&["--timeout", "soon", src.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid duration `soon` (use a number with ms, s or m: 500ms, 2s, 1m)"),
        "{err}"
    );
}

#[test]
fn everything_after_the_program_belongs_to_it() {
    // Flags after the path are the program's arguments and grant nothing.
    let (code, out, err) = vmrun(&[
        &example("args.src"),
        "-A",
        "--stats",
        "--help",
        "--",
        "--version",
        "-h",
        "x",
    ]);
    assert_eq!((code, err.as_str()), (7, ""));
    assert_eq!(
        out,
        "7 arguments\n  0: -A\n  1: --stats\n  2: --help\n  3: --\n  4: --version\n  5: -h\n  6: x\n"
    );
    let src = scratch("reads.src");
    std::fs::write(
        &src,
        "import fs;\nfn main(args: [str]) {\n    println(match fs.read(args[1]) { Ok(t) => t, Err(e) => panic(e) });\n}\n",
    )
    .unwrap();
    let (code, out, err) = vmrun(&[src.to_str().unwrap(), "-A", "/etc/hostname"]);
    assert_eq!((code, out.as_str()), (6, ""));
    assert_eq!(
        err,
        "error: the program needs capabilities this host does not grant: \
         fs.read (read_result) (grant with --allow-read=DIR)\n"
    );
    let (code, out, err) = vmrun(&[src.to_str().unwrap(), "--allow-read=/", "/etc/hostname"]);
    assert_eq!((code, out.as_str()), (6, ""));
    assert!(
        err.starts_with("error: the program needs capabilities"),
        "{err}"
    );

    // Before the path, flags are vmrun's; `--` ends them.
    let (code, out, err) = vmrun(&["--help"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        out.contains("Usage: vmrun [OPTIONS] <PROGRAM> [ARGS]..."),
        "{out}"
    );
    let (code, out, _) = vmrun(&["--version"]);
    assert_eq!(
        (code, out),
        (0, format!("vmrun {}\n", env!("CARGO_PKG_VERSION")))
    );
    let (code, out, err) = vmrun(&["--", &example("args.src"), "--", "-A"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (2, "2 arguments\n  0: --\n  1: -A\n", "")
    );
    // main takes [str].
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"caf\xe9");
        let mut cmd = vmrun_command(&[&example("args.src")]);
        let out = cmd.arg(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "error: the program argument 'caf\u{FFFD}' is not valid UTF-8\n"
        );
    }
    // A path that looks like a flag is not quietly taken as the program.
    let (code, out, err) = vmrun(&["-weird.src", "x"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("unexpected argument"), "{err}");
    assert!(err.contains("use '-- "), "{err}");
}

#[test]
fn a_bytecode_file_must_be_a_regular_file_within_the_limit() {
    let dir = scratch("not-files");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, out, err) = vmrun(&[dir.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (5, ""));
    assert_eq!(
        err,
        format!("error: cannot read {}: is a directory\n", dir.display())
    );
    // Only the size on record is looked at: reading a terabyte (of zeros,
    // a sparse file) first would take the host's memory.
    let big = scratch("big.bc");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 40).unwrap();
    drop(f);
    let (code, out, err) = vmrun_within(&[big.to_str().unwrap()]);
    let _ = std::fs::remove_file(&big);
    assert_eq!((code, out.as_str()), (4, ""));
    assert_eq!(
        err,
        format!(
            "error: {}: invalid bytecode: file is 1099511627776 bytes, more than the limit of 67108864\n",
            big.display()
        )
    );
}

#[cfg(unix)]
#[test]
fn devices_and_fifos_are_refused_at_once() {
    let (code, out, err) = vmrun_within(&["/dev/zero"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (5, "", "error: cannot read /dev/zero: not a regular file\n")
    );
    // A FIFO with no writer would block in open() itself.
    let fifo = scratch("fifo.bc");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (code, out, err) = vmrun_within(&[fifo.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (5, ""));
    assert_eq!(
        err,
        format!(
            "error: cannot read {}: not a regular file\n",
            fifo.display()
        )
    );
}

#[test]
fn a_timeout_too_long_to_reach_is_no_timeout() {
    for t in ["18446744073709551615s", "99999999999999999999999999m"] {
        assert_eq!(
            vmrun_within(&["--timeout", t, &example("hello.src")]),
            (0, "Hello, Tern!\n".into(), String::new()),
            "{t}"
        );
    }
    // It still does not stop a program, which the fuel limit then does.
    let src = scratch("spin.src");
    std::fs::write(&src, "fn main() {\n    while true {}\n}\n").unwrap();
    let (code, _, err) = vmrun(&[
        "--timeout",
        "18446744073709551615ms",
        "--fuel",
        "100000",
        src.to_str().unwrap(),
    ]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            format!(
                "error: fuel exhausted: the limit of 100000 units was reached\n  at main ({}:2)\n",
                src.display()
            )
            .as_str()
        )
    );
}

#[test]
fn a_closed_output_pipe_stops_the_program_quietly() {
    let src = scratch("yes.src");
    std::fs::write(&src, "fn main() {\n    while true { println(\"y\"); }\n}\n").unwrap();
    let mut child = vmrun_command(&[src.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(&first, b"y\ny\ny\ny\ny\n");
    // The reader is gone now, as `head -c 10`'s would be.
    let status = wait_within(&mut child, "printing forever to a closed pipe");
    let mut err = String::new();
    child.stderr.unwrap().read_to_string(&mut err).unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(141), ""));

    // The same for standard error.
    let src = scratch("eyes.src");
    std::fs::write(
        &src,
        "fn main() {\n    while true { eprintln(\"e\"); }\n}\n",
    )
    .unwrap();
    let mut child = vmrun_command(&[src.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 4];
    child.stderr.take().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(&first, b"e\ne\n");
    let status = wait_within(&mut child, "printing forever to a closed stderr");
    let mut out = String::new();
    child.stdout.unwrap().read_to_string(&mut out).unwrap();
    assert_eq!((status.code(), out.as_str()), (Some(141), ""));
}

#[cfg(unix)]
#[test]
fn output_lost_to_a_closed_pipe_is_not_success() {
    // hello.src ends normally, but the one line it prints is lost.
    let mut child = vmrun_command(&[&example("hello.src")])
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_within(&mut child, "hello to a closed pipe");
    let mut err = String::new();
    child.stderr.unwrap().read_to_string(&mut err).unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(141), ""));
}

#[cfg(unix)]
#[test]
fn reports_to_a_closed_stderr_do_not_panic() {
    let src = scratch("divide.src");
    std::fs::write(
        &src,
        "fn main(args: [str]) {\n    println(str(1 / len(args)));\n}\n",
    )
    .unwrap();
    let src = src.to_str().unwrap();
    let cases: [(&[&str], i32); 5] = [
        // A runtime error's report.
        (&[src], 1),
        // With statistics as well.
        (&["--stats", src], 1),
        // A file that cannot be read.
        (&["/no/such/app.bc"], 5),
        // clap's usage error.
        (&["--no-such-flag"], 2),
        // The program's own success, and its statistics.
        (&["--stats", src, "x"], 0),
    ];
    for (args, want) in cases {
        let mut child = vmrun_command(args)
            .stdout(Stdio::piped())
            .stderr(closed_pipe())
            .spawn()
            .unwrap();
        let status = wait_within(&mut child, "a report to a closed stderr");
        assert_eq!(status.code(), Some(want), "{args:?}");
    }
    // clap's help, to a closed standard output.
    let mut child = vmrun_command(&["--help"])
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_within(&mut child, "help to a closed stdout");
    let mut err = String::new();
    child.stderr.unwrap().read_to_string(&mut err).unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
}

#[test]
fn files_are_named_as_given() {
    // `vmrun sub/app.src` names `sub/app.src` in errors and traces, and a
    // module imported by it as `sub/util.src`.
    let dir = scratch("given").join("sub");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("util.src"),
        "fn half(x: int) -> int {\n    return 10 / x;\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("app.src"),
        "import util;\nfn main() {\n    println(str(util.half(0)));\n}\n",
    )
    .unwrap();
    let base = dir.parent().unwrap();
    let mut cmd = vmrun_command(&["sub/app.src"]);
    cmd.current_dir(base);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: division by zero\n  at util.half (sub/util.src:2)\n  at main (sub/app.src:3)\n"
    );
    std::fs::write(dir.join("bad.src"), "fn main() { let x = ; }\n").unwrap();
    let mut cmd = vmrun_command(&["sub/bad.src"]);
    cmd.current_dir(base);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("sub/bad.src:1:21: error:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
