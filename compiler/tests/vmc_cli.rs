//! vmc as a user meets it.

#[path = "../../tests/support/run_binary.rs"]
mod support;

fn vmc(args: &[&str]) -> (i32, String, String) {
    support::run_binary(env!("CARGO_BIN_EXE_vmc"), args)
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vmc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn build_check_disasm_inspect() {
    let dir = scratch();
    let src = dir.join("app.src");
    std::fs::write(&src, "// demo\nfn twice(x: int) -> int {\n    return x * 2;\n}\n\nfn main() {\n    println(str(twice(21)));\n}\n").unwrap();
    assert_eq!(
        vmc(&["check", src.to_str().unwrap()]),
        (0, String::new(), String::new())
    );
    let out = dir.join("out.bc");
    assert_eq!(
        vmc(&["build", src.to_str().unwrap(), "-o", out.to_str().unwrap()]).0,
        0
    );
    assert!(std::fs::read(&out).unwrap().starts_with(b"TERN\r\n\x1a\n"));
    assert_eq!(vmc(&["build", src.to_str().unwrap()]).0, 0);
    assert!(dir.join("app.bc").exists());

    let (code, listing, _) = vmc(&["disasm", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        listing.contains("function 0 twice(int) -> int"),
        "{listing}"
    );
    assert!(listing.contains("app.src:3: return x * 2;"), "{listing}");
    assert!(listing.contains("imul"), "{listing}");
    assert!(
        listing.contains("call.host 0") && listing.contains("; stdout.println"),
        "{listing}"
    );
    // The file holds canonical code; the VM runs `rX = r0 * 2; return rX`
    // after translating it.
    assert!(!listing.contains("imul.imm"), "{listing}");
    let (code, translated, _) = vmc(&["disasm", "--translated", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(translated.contains("imul.imm d=1 a=0 v=2"), "{translated}");

    let (code, info, _) = vmc(&["inspect", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(info.contains("format version: 2\n"), "{info}");
    assert!(
        info.contains("capabilities needed:\n  stdout: println(str)\n"),
        "{info}"
    );
    assert!(
        info.contains("exports:\n  main()\n  twice(int) -> int\n"),
        "{info}"
    );
    assert!(info.ends_with("verification: ok\n"), "{info}");
}

#[test]
fn errors_and_exit_codes() {
    let dir = scratch();
    let bad = dir.join("bad.src");
    std::fs::write(&bad, "fn main() { undefined(); }\n").unwrap();
    let (code, out, err) = vmc(&["check", bad.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (3, ""));
    assert!(
        err.starts_with(&format!(
            "{}:1:13: error: cannot find function `undefined` in this scope\n",
            bad.display()
        )),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "error: could not compile {} (1 error)\n",
            bad.display()
        )),
        "{err}"
    );

    let (code, _, err) = vmc(&["build", "/no/such/file.src"]);
    assert_eq!(
        (code, err.as_str()),
        (5, "error: cannot read /no/such/file.src: no such file\n")
    );
    let (code, _, err) = vmc(&["build", "notes.txt"]);
    assert_eq!(
        (code, err.as_str()),
        (5, "error: notes.txt: Tern source files end in .src\n")
    );
    let junk = dir.join("junk.bc");
    std::fs::write(&junk, b"TERN\r\n\x1a\n\x01").unwrap();
    let (code, _, err) = vmc(&["disasm", junk.to_str().unwrap()]);
    assert_eq!(
        (code, err),
        (
            4,
            format!(
                "error: {}: invalid bytecode: truncated header\n",
                junk.display()
            )
        )
    );
    let (code, _, err) = vmc(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn files_over_the_size_limits_are_not_read() {
    let dir = scratch();
    // One byte over 8 MiB: refused before it is parsed.
    let big = dir.join("big.src");
    let mut text = String::from("fn main() {}\n");
    text.push_str(&" ".repeat((8 << 20) + 1 - text.len()));
    std::fs::write(&big, &text).unwrap();
    assert_eq!(
        vmc(&["check", big.to_str().unwrap()]),
        (
            5,
            String::new(),
            format!(
                "error: cannot read {}: larger than 8388608 bytes\n",
                big.display()
            )
        )
    );
    // At 8 MiB it compiles.
    text.pop();
    std::fs::write(&big, &text).unwrap();
    assert_eq!(vmc(&["check", big.to_str().unwrap()]).0, 0);

    // A .bc file over 64 MiB is not read whole before it is refused.
    let bc = dir.join("big.bc");
    std::fs::write(&bc, vec![0u8; (64 << 20) + 1]).unwrap();
    for cmd in ["disasm", "inspect"] {
        assert_eq!(
            vmc(&[cmd, bc.to_str().unwrap()]),
            (
                5,
                String::new(),
                format!(
                    "error: cannot read {}: larger than 67108864 bytes\n",
                    bc.display()
                )
            )
        );
    }
    std::fs::remove_file(&bc).unwrap();
}

/// Endless streams end in an error after reading one byte past the limit,
/// never in a read until memory runs out.
#[cfg(unix)]
#[test]
fn endless_inputs_are_refused() {
    let dir = scratch().join("endless");
    std::fs::create_dir_all(&dir).unwrap();
    let zero = dir.join("zero.src");
    let _ = std::fs::remove_file(&zero);
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    assert_eq!(
        vmc(&["build", zero.to_str().unwrap()]),
        (
            5,
            String::new(),
            format!(
                "error: cannot read {}: larger than 8388608 bytes\n",
                zero.display()
            )
        )
    );
    // As an import: a compile error at the import.
    let app = dir.join("app.src");
    std::fs::write(&app, "import zero;\nfn main() {}\n").unwrap();
    assert_eq!(
        vmc(&["check", app.to_str().unwrap()]),
        (
            3,
            String::new(),
            format!(
                "{app}:1:8: error: cannot import `zero`: zero.src is larger than 8388608 bytes\n \
                 1 | import zero;\n   |        ^^^^\nerror: could not compile {app} (1 error)\n",
                app = app.display()
            )
        )
    );
    for cmd in ["disasm", "inspect"] {
        assert_eq!(
            vmc(&[cmd, "/dev/zero"]),
            (
                5,
                String::new(),
                "error: cannot read /dev/zero: larger than 67108864 bytes\n".to_string()
            )
        );
    }
}

/// `disasm` reads the sources a module names to show their lines; a
/// hostile module can name anything, so those reads are capped too.
#[cfg(unix)]
#[test]
fn disasm_reads_named_sources_carefully() {
    let dir = scratch().join("named");
    std::fs::create_dir_all(&dir).unwrap();
    let path = std::path::Path::new("app.src");
    let mut module = tern_compiler::compile_with(
        path,
        &tern_compiler::OneFile {
            path,
            text: "fn main() {\n    return;\n}\n",
        },
    )
    .unwrap()
    .module;
    module.sources = vec!["/dev/zero".into()];
    let bc = dir.join("app.bc");
    std::fs::write(&bc, tern_vm::encode(&module)).unwrap();
    let (code, listing, err) = vmc(&["disasm", bc.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(listing.contains("function 0 main()"), "{listing}");
}
