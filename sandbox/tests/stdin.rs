//! Standard input as a capability: provided bytes, the host's own input
//! (through `vmrun`), its bound, and that it is granted like any other.

#[path = "../../tests/support/run_binary.rs"]
mod support;

use std::io::Write;
use std::process::Stdio;
use tern_sandbox::{Error, Input, Limits, Linker, Module, TrapKind, Value, MAX_INPUT_BYTES};

const COUNT: &str = "import io;
fn lines() -> int {
    var n = 0;
    while !io.at_end() { io.read_line(); n += 1; }
    return n;
}
fn first() -> str { return io.read_line(); }";

#[test]
fn provided_input_is_read_by_each_instance_afresh() {
    let module = Module::from_source("count.src", COUNT).unwrap();
    let mut linker = Linker::new();
    linker.stdin(Input::Bytes(b"a\nb\r\nc".to_vec()));
    for _ in 0..2 {
        let mut guest = linker.instantiate(&module, Limits::default()).unwrap();
        assert_eq!(guest.call("lines", &[]).unwrap(), Value::Int(3));
    }
    let mut guest = linker.instantiate(&module, Limits::default()).unwrap();
    assert_eq!(guest.call("first", &[]).unwrap(), Value::Str("a".into()));
    assert_eq!(guest.call("first", &[]).unwrap(), Value::Str("b".into()));
    assert_eq!(guest.call("first", &[]).unwrap(), Value::Str("c".into()));
    assert_eq!(guest.call("first", &[]).unwrap(), Value::Str("".into()));
}

#[test]
fn stdin_is_a_capability() {
    let module = Module::from_source("count.src", COUNT).unwrap();
    match Linker::new().instantiate(&module, Limits::default()) {
        Err(Error::MissingCapabilities(m)) => assert_eq!(m[0].capability, "stdin"),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn one_read_is_bounded() {
    // A line longer than the bound is a runtime error, not a host that
    // holds whatever the input sends.
    let module = Module::from_source("count.src", COUNT).unwrap();
    let mut linker = Linker::new();
    linker.stdin(Input::Bytes(vec![b'x'; MAX_INPUT_BYTES + 10]));
    let mut guest = linker.instantiate(&module, Limits::default()).unwrap();
    match guest.call("first", &[]) {
        Err(Error::Trap(t)) => {
            assert_eq!(t.kind, TrapKind::Host);
            assert_eq!(
                t.message,
                format!("stdin: more than {MAX_INPUT_BYTES} bytes in one read")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn vmrun_grants_its_own_standard_input() {
    let dir = std::env::temp_dir().join(format!("tern-stdin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("wc.src");
    std::fs::write(
        &src,
        "import io;\nfn main() {\n    var words = 0;\n    for line in io.read_all().lines() { words += len(line.split(\" \")); }\n    println(str(words));\n}\n",
    )
    .unwrap();
    let mut child = support::command(env!("CARGO_BIN_EXE_vmrun"))
        .arg(&src)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"the quick brown fox\njumps over\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "6\n");
}
