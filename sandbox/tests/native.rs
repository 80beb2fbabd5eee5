//! Native modules: a shared library adds host functions through the C ABI.

use std::path::PathBuf;
use tern_sandbox::{Error, Limits, Linker, Module, Output};

#[path = "../../tests/support/run_binary.rs"]
mod support;

/// A workspace cdylib built for this test run (a dev-dependency of this
/// crate, so cargo has built it next to the test executable).
fn library(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let file = format!(
        "{}{crate_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    for dir in [deps, deps.parent().unwrap()] {
        let p = dir.join(&file);
        if p.exists() {
            return p;
        }
    }
    panic!("{file} is not built next to {}", exe.display());
}

const USER: &str = r#"
extern "textstats" {
    fn word_count(text: str) -> int;
    fn shout(text: str) -> str;
    fn ratio(a: int, b: int) -> float;
}
fn main(args: [str]) {
    println(str(word_count("a native  module\tcounts")));
    println(shout("quietly"));
    println(str(ratio(1, 4)));
    println(str(ratio(1, int(args[0]).unwrap())));
}
"#;

#[test]
fn a_native_module_adds_host_functions() {
    let m = Module::from_source("user.src", USER).unwrap();
    let mut linker = Linker::new();
    linker.stdout(Output::Capture);
    linker
        .load_native(library("tern_native_textstats"))
        .unwrap();
    let mut inst = linker.instantiate(&m, Limits::default()).unwrap();
    match inst.run_main(&["0".into()]) {
        Err(Error::Trap(t)) => {
            assert_eq!(t.message, "textstats.ratio: division by zero");
            assert_eq!(t.trace[0].line, 11);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(inst.take_stdout(), "4\nQUIETLY!\n0.25\n");
    // Without the module the program is refused, naming the capability.
    let refused = Linker::new().instantiate(&m, Limits::default());
    assert!(matches!(refused, Err(Error::MissingCapabilities(ref v)) if v.len() == 4));
}

#[test]
fn vmrun_loads_native_modules_by_flag() {
    let dir = std::env::temp_dir().join(format!("tern-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("user.src");
    std::fs::write(&src, USER).unwrap();
    let lib = library("tern_native_textstats");
    let (code, out, err) = support::run_binary(
        env!("CARGO_BIN_EXE_vmrun"),
        &[
            "--native",
            lib.to_str().unwrap(),
            src.to_str().unwrap(),
            "2",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "4\nQUIETLY!\n0.25\n0.5\n");
    let (code, _, err) = support::run_binary(
        env!("CARGO_BIN_EXE_vmrun"),
        &["--native", "/no/such/lib.so", src.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: cannot load native module /no/such/lib.so: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn a_library_of_another_abi_version_is_refused() {
    let lib = library("tern_native_abi_v2");
    match Linker::new().load_native(&lib) {
        Err(e) => assert_eq!(
            e.to_string(),
            format!(
                "{} uses native ABI version 2; this host supports version 1",
                lib.display()
            )
        ),
        Ok(_) => panic!("a version 2 module was accepted"),
    }
}

#[test]
fn a_library_without_the_entry_symbol_is_refused() {
    // The ABI fixture's rlib-only sibling would do; any shared library
    // without the symbol shows the same: use the C library itself.
    let libc = if cfg!(target_os = "linux") {
        "libc.so.6"
    } else {
        return;
    };
    match Linker::new().load_native(libc) {
        Err(e) => assert_eq!(
            e.to_string(),
            "libc.so.6 is not a Tern native module: it has no symbol `tern_native_module`"
        ),
        Ok(_) => panic!("libc was accepted as a native module"),
    }
}

#[test]
fn native_results_are_checked_against_declared_signatures() {
    // The guest must import the exact signature the library declares.
    let m = Module::from_source(
        "bad.src",
        r#"extern "textstats" { fn word_count(text: str) -> str; } fn main() { word_count(""); }"#,
    )
    .unwrap();
    let mut linker = Linker::new();
    linker
        .load_native(library("tern_native_textstats"))
        .unwrap();
    match linker.instantiate(&m, Limits::default()) {
        Err(e) => assert_eq!(
            e.to_string(),
            "the program imports textstats.word_count as (str) -> str, but the host provides (str) -> int"
        ),
        Ok(_) => panic!("a mismatched native import was accepted"),
    }
}
