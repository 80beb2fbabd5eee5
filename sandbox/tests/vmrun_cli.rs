//! vmrun as a user meets it: arguments, exit codes and one-line errors.

use std::path::PathBuf;

#[path = "../../tests/support/run_binary.rs"]
mod support;

fn vmrun(args: &[&str]) -> (i32, String, String) {
    support::run_binary(env!("CARGO_BIN_EXE_vmrun"), args)
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
            "collections",
            "allocated bytes",
            "peak heap bytes"
        ]
    );
    let instructions: u64 = err.lines().next().unwrap()[14..].trim().parse().unwrap();
    assert!(instructions > 0);
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
            "format version 9 is newer than this VM supports (version 1)".into(),
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
            "error: fuel exhausted: the limit of 1000 units was reached\n  at main (loop.src:4)\n"
        )
    );
    let (code, _, err) = vmrun(&["--max-heap", "64K", src.to_str().unwrap()]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: out of memory: heap limit of 65536 bytes exceeded\n  at main (loop.src:4)\n"
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
        "bad.src:2:18: error: expected int, found bool\n 2 |     let x: int = true;\n   |                  ^^^^\nerror: could not compile bad.src (1 error)\n"
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
        "import fs;\nimport clock;\nfn main(args: [str]) {\n    println(fs.read(args[0]));\n    fs.write(args[1], \"done\");\n    println(str(clock.now_ms() > 0));\n}\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let (code, out, err) = vmrun(&[src.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (6, ""));
    assert_eq!(
        err,
        "error: the program needs capabilities this host does not grant: \
         fs.read (read_text), fs.write (write_text), clock (now_ms) \
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
        format!("error: fs.read: '{secret}' is outside the directories granted for reading\n  at main (caps.src:4)\n")
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
        "error: timeout: the time limit of 200 ms was exceeded\n  at main (forever.src:3)\n"
    );
    let (code, _, err) = vmrun(&["--timeout", "soon", src.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid duration `soon` (use a number with ms, s or m: 500ms, 2s, 1m)"),
        "{err}"
    );
}
