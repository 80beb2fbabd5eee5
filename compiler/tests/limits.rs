//! The bytecode format's limits, met from source: each is either made
//! unreachable by the compiler (a long array literal compiles) or is a
//! compile error naming the limit (exit 3), never a file `vmrun` rejects
//! and never an internal compiler error. The inputs are generated: most are
//! too big for golden files (which cover the small cases, in
//! `tests/golden/compile_error/`).

#[path = "../../tests/support/run_binary.rs"]
mod support;

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tern_vm::{Limits, Program, Value, Vm};

/// A folder of its own for each test (they run in parallel).
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmc-limits-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `vmc build` of `src` as `app.src`: exit code and standard error. A build
/// that fails must write no file.
fn build(test: &str, src: &str) -> (i32, String) {
    let dir = scratch(test);
    let path = dir.join("app.src");
    std::fs::write(&path, src).unwrap();
    let out = dir.join("app.bc");
    let _ = std::fs::remove_file(&out);
    let (code, stdout, stderr) = support::run_binary(
        env!("CARGO_BIN_EXE_vmc"),
        &["build", path.to_str().unwrap(), "-o", out.to_str().unwrap()],
    );
    assert_eq!(stdout, "");
    assert_eq!(out.exists(), code == 0, "{stderr}");
    // Diagnostics name the file as given; the expected texts name it as
    // `app.src`.
    let stderr = stderr.replace(&format!("{}/", dir.display()), "");
    (code, stderr)
}

/// The text of a failed build that exceeds program-wide limits.
fn program_limit(what: &str) -> String {
    format!(
        "error: the program exceeds a limit of the bytecode format: {what}\n\
         error: could not compile app.src (1 error)\n"
    )
}

/// Compiles in memory and calls export `name` with no arguments.
fn run_export(src: &str, name: &str) -> Value {
    let path = Path::new("app.src");
    let compiled = tern_compiler::compile_with(path, &tern_compiler::OneFile { path, text: src })
        .unwrap_or_else(|e| panic!("does not compile:\n{}", e.render()));
    let program = Arc::new(Program::new(compiled.module).expect("verifies"));
    let mut vm = Vm::new(program, Limits::default());
    vm.call_export(name, &[]).expect("runs")
}

/// `[first, first + 1, ..., first + n - 1]` as source.
fn ints(first: usize, n: usize) -> String {
    let items: Vec<String> = (first..first + n).map(|i| i.to_string()).collect();
    format!("[{}]", items.join(", "))
}

#[test]
fn array_literals_longer_than_the_operand_stack_compile_and_run() {
    // One `array.new` takes at most 65,536 elements from the stack.
    let n = 70_000;
    let (table, long_row) = (ints(0, n), vec!["\"s\""; n].join(", "));
    let src = format!(
        "fn table() -> [int] {{\n    return {table};\n}}\n\
         fn nested() -> [[str]] {{\n    return [[{long_row}], [\"x\"], [\"t\", \"t\", \"t\"]];\n}}\n\
         fn spill(a: int, xs: [int], b: int) -> int {{\n    return a + len(xs) + xs[69999] + b;\n}}\n\
         fn call() -> int {{\n    return spill(1, {table}, 2);\n}}\n"
    );
    let expected: Vec<Value> = (0..n as i64).map(Value::Int).collect();
    assert_eq!(run_export(&src, "table"), Value::Array(expected));
    match run_export(&src, "nested") {
        Value::Array(rows) => {
            assert_eq!(rows.len(), 3);
            assert_eq!(rows[0], Value::Array(vec![Value::Str("s".into()); n]));
            assert_eq!(rows[1], Value::Array(vec![Value::Str("x".into())]));
            assert_eq!(rows[2], Value::Array(vec![Value::Str("t".into()); 3]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run_export(&src, "call"),
        Value::Int(1 + 70_000 + 69_999 + 2)
    );
}

#[test]
fn too_many_types() {
    // Each struct is one type, and an array of it another.
    let mut src = String::new();
    for i in 0..33_000 {
        writeln!(src, "struct S{i} {{ next: [S{i}] }}").unwrap();
    }
    src.push_str("fn main() {}\n");
    assert_eq!(
        build("types", &src),
        (
            3,
            program_limit("it needs 66000 types, more than the limit of 65536")
        )
    );
}

#[test]
fn too_many_structs_and_enums() {
    let mut src = String::new();
    for i in 0..65_537 {
        writeln!(src, "struct S{i} {{}}").unwrap();
    }
    src.push_str("fn main() {}\n");
    assert_eq!(
        build("layouts", &src),
        (
            3,
            program_limit("it needs 65537 structs and enums, more than the limit of 65536")
        )
    );
}

#[test]
fn too_many_constants() {
    // 1,048,577 distinct int literals, in functions small enough to keep
    // within the code size limit.
    let mut src = String::new();
    let per = 100_000;
    let total = 1_048_577;
    for (k, first) in (0..total).step_by(per).enumerate() {
        let n = per.min(total - first);
        writeln!(
            src,
            "fn f{k}() -> [int] {{ return {}; }}",
            ints(first, n).replace(", ", ",")
        )
        .unwrap();
    }
    src.push_str("fn main() {}\n");
    assert!(src.len() <= tern_compiler::driver::MAX_SOURCE_BYTES);
    assert_eq!(
        build("consts", &src),
        (
            3,
            program_limit("it needs 1048577 constants, more than the limit of 1048576")
        )
    );
}

#[test]
fn too_many_globals() {
    let mut src = String::new();
    for i in 0..65_537 {
        writeln!(src, "const C{i} = {i};").unwrap();
    }
    src.push_str("fn main() {}\n");
    assert_eq!(
        build("globals", &src),
        (
            3,
            program_limit("it needs 65537 globals (`const` items), more than the limit of 65536")
        )
    );
}

#[test]
fn too_many_exported_functions() {
    // Every top-level function of the main file is an export.
    let mut src = String::new();
    for i in 0..65_536 {
        writeln!(src, "fn f{i}() {{}}").unwrap();
    }
    src.push_str("fn main() {}\n");
    assert_eq!(
        build("exports", &src),
        (
            3,
            program_limit("it needs 65537 exported functions, more than the limit of 65536")
        )
    );
}

#[test]
fn too_many_host_functions() {
    let mut src = String::from("extern \"host\" {\n");
    for i in 0..4097 {
        writeln!(src, "    fn h{i}();").unwrap();
    }
    src.push_str("}\nfn main() {\n");
    for i in 0..4097 {
        writeln!(src, "    h{i}();").unwrap();
    }
    src.push_str("}\n");
    assert_eq!(
        build("imports", &src),
        (
            3,
            program_limit("it needs 4097 distinct host functions, more than the limit of 4096")
        )
    );
}

#[test]
fn too_many_fields_and_variants() {
    let fields: Vec<String> = (0..4097).map(|i| format!("f{i}: int")).collect();
    let variants: Vec<String> = (0..4097).map(|i| format!("V{i}")).collect();
    let wide: Vec<&str> = vec!["int"; 4097];
    let src = format!(
        "struct Wide {{ {} }}\nenum Many {{ {} }}\nenum Big {{ One({}) }}\nfn main() {{}}\n",
        fields.join(", "),
        variants.join(", "),
        wide.join(", ")
    );
    let (code, err) = build("fields", &src);
    assert_eq!(code, 3);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("app.src:")).collect();
    assert_eq!(
        lines,
        [
            "app.src:1:8: error: `Wide` has 4097 fields, more than the limit of 4096",
            "app.src:2:6: error: `Many` has 4097 variants, more than the limit of 4096",
            "app.src:3:6: error: `Big` has 4097 fields in variant `One`, more than the limit of 4096",
        ]
    );
    assert!(
        err.ends_with("error: could not compile app.src (3 errors)\n"),
        "{err}"
    );
}

#[test]
fn function_code_too_large() {
    // 1,024 `const` (5 bytes each), `array.new` (9), then for each other
    // element `dup; const; array.push` (7), `store` (3) and `ret` (1).
    let n = 700_000;
    let bytes = 1024 * 5 + 9 + (n - 1024) * 7 + 3 + 1;
    let src = format!(
        "fn main() {{\n    let a = [{}];\n}}\n",
        vec!["1"; n].join(",")
    );
    assert_eq!(
        build("code", &src),
        (
            3,
            format!(
                "app.src:1:4: error: `main` compiles to {bytes} bytes of code, more than the limit of 4194304\n \
                 1 | fn main() {{\n   |    ^^^^\n\
                 error: could not compile app.src (1 error)\n"
            )
        )
    );
}

#[test]
fn too_many_local_slots() {
    let mut src = String::from("fn main() {\n");
    for i in 0..65_537 {
        writeln!(src, "    let v{i} = {i};").unwrap();
    }
    src.push_str("}\n");
    assert_eq!(
        build("slots", &src),
        (
            3,
            "app.src:1:4: error: `main` needs 65537 local slots (parameters, variables and temporaries), more than the limit of 65536\n \
             1 | fn main() {\n   |    ^^^^\n\
             error: could not compile app.src (1 error)\n"
                .to_string()
        )
    );
}

#[test]
fn closure_captures_too_many_variables() {
    let mut src = String::from("fn main() {\n");
    for i in 0..4097 {
        writeln!(src, "    let v{i} = {i};").unwrap();
    }
    src.push_str("    let f =\n        fn() {\n");
    for i in 0..4097 {
        writeln!(src, "            v{i};").unwrap();
    }
    src.push_str("        };\n}\n");
    assert_eq!(
        build("captures", &src),
        (
            3,
            "app.src:4100:9: error: `main.<closure>` captures 4097 variables, more than the limit of 4096\n \
             4100 |         fn() {\n      |         ^^^^^^\n\
             error: could not compile app.src (1 error)\n"
                .to_string()
        )
    );
}

#[test]
fn operand_stack_too_deep() {
    // 300 calls nested in the last argument of each other, each with 254
    // arguments waiting on the stack: 76,200 values.
    let params: Vec<String> = (0..255).map(|i| format!("a{i}: int")).collect();
    let mut call = String::from("0");
    for _ in 0..300 {
        call = format!("f({}{call})", "0,".repeat(254));
    }
    let src = format!(
        "fn f({}) -> int {{\n    return a0;\n}}\nfn main() {{\n    let x = {call};\n}}\n",
        params.join(", ")
    );
    assert_eq!(
        build("stack", &src),
        (
            3,
            "app.src:4:4: error: `main` needs an operand stack deeper than the limit of 65536 values\n \
             4 | fn main() {\n   |    ^^^^\n\
             error: could not compile app.src (1 error)\n"
                .to_string()
        )
    );
}

#[test]
fn function_too_large_to_verify() {
    // The verifier records which of 10,000 string locals hold references
    // at each of 2,000 allocations: 20 million stack-map entries, more
    // work than it allows a function of this size.
    let mut src = String::from("fn main() {\n");
    for i in 0..10_000 {
        writeln!(src, "    let s{i} = \"x\";").unwrap();
    }
    for i in 0..2_000 {
        writeln!(src, "    let t{i} = str({i});").unwrap();
    }
    src.push_str("}\n");
    let (code, err) = build("verify", &src);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.starts_with(
            "app.src:1:4: error: `main` is too large to verify: function is too complex to verify (it needs more than "
        ),
        "{err}"
    );
    assert!(err.ends_with(
        " units of verification work, 64 per byte of the function)\n 1 | fn main() {\n   |    ^^^^\nerror: could not compile app.src (1 error)\n"
    ));
    // 20,000 locals times 1,000 branch targets, which the verifier once
    // refused, now verifies.
    let mut src = String::from("fn main() {\n    let b = true;\n");
    for i in 0..20_000 {
        writeln!(src, "    let v{i} = {i};").unwrap();
    }
    for _ in 0..1_000 {
        src.push_str("    if b { }\n");
    }
    src.push_str("}\n");
    assert_eq!(build("verify2", &src), (0, String::new()));
}

#[test]
fn deep_nesting_is_found_before_parsing() {
    // 8 MiB chains of one token: each is one error at the 501st level.
    let limit = tern_compiler::driver::MAX_SOURCE_BYTES;
    for (name, chain, tail) in [
        ("bang", "!", "true"),
        ("minus", "-", "1"),
        ("paren", "(", "1"),
        ("bracket", "[", "1"),
        ("brace", "{", ""),
    ] {
        let head = "fn main() { let b = ";
        let n = limit - head.len() - tail.len() - 4;
        let src = format!("{head}{}{tail}; }}\n", chain.repeat(n));
        assert!(src.len() <= limit);
        let (code, err) = build(name, &src);
        assert_eq!(code, 3, "{name}");
        let col = head.len() + 500;
        assert!(
            err.starts_with(&format!(
                "app.src:1:{col}: error: brackets and prefix operators nested more than 500 levels deep\n"
            )),
            "{name}: {}",
            &err[..err.len().min(300)]
        );
        assert!(
            err.ends_with("error: could not compile app.src (1 error)\n"),
            "{name}"
        );
    }
}

#[test]
fn many_functions_with_result_types_are_not_nesting() {
    // Each `-> int` is a prefix whose operand (the type) ends at the body's
    // `{`; it must not stay counted over the rest of the file.
    let mut src = String::new();
    for k in 0..2000 {
        writeln!(src, "fn f{k}(x: int) -> int {{ return -x + {k}; }}").unwrap();
    }
    src.push_str("fn g() -> int { return f1999(1) + f0(2); }\n");
    let (code, err) = build("functions", &src);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(run_export(&src, "g"), Value::Int(1996));
}

#[test]
fn floods_of_errors_stop_after_a_thousand() {
    // A syntax error, a lexical error, a name error every two bytes: each
    // stage stops looking after 1,000, and 100 are shown. (A run of tokens
    // that cannot start a statement, such as `;;;`, is one error.)
    for (name, body, first) in [
        (
            "syntax",
            "1 ",
            "app.src:1:14: error: expected `;`, found integer `1`",
        ),
        (
            "lexical",
            "#",
            "app.src:1:13: error: unexpected character `#`",
        ),
        (
            "names",
            "x;",
            "app.src:1:13: error: cannot find `x` in this scope",
        ),
    ] {
        let src = format!("fn main() {{ {} }}\n", body.repeat(1 << 20));
        let (code, err) = build(name, &src);
        assert_eq!(code, 3, "{name}");
        assert!(
            err.starts_with(&format!("{first}\n")),
            "{name}: {}",
            &err[..200]
        );
        assert_eq!(
            err.lines().filter(|l| l.starts_with("app.src:")).count(),
            100
        );
        assert!(
            err.ends_with(
                "error: 901 more errors not shown\n\
                 error: could not compile app.src (more than 1000 errors)\n"
            ),
            "{name}"
        );
    }
}
