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

    let (code, info, _) = vmc(&["inspect", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(info.contains("format version: 1\n"), "{info}");
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
        err.starts_with("bad.src:1:13: error: cannot find function `undefined` in this scope\n"),
        "{err}"
    );
    assert!(
        err.ends_with("error: could not compile bad.src (1 error)\n"),
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
