//! The compiler's peak memory on hostile sources stays a small multiple of
//! the source's size. Each source is compiled in a fresh process (this
//! test binary, run again for one input), which reports how far its peak
//! resident size (`VmHWM` in `/proc/self/status`) grew while compiling:
//! a measure of memory, not of time, and the same from run to run up to
//! the allocator's page-sized rounding.
#![cfg(target_os = "linux")]

use std::path::Path;

/// Set in the child process: the source file to compile.
const CHILD: &str = "TERN_COMPILER_MEMORY_TEST_SOURCE";

/// The process's peak resident size so far, in bytes.
fn peak() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in kB");
    kib * 1024
}

/// Runs in the child: compiles the file and prints how much the peak grew.
#[test]
fn compile_in_child() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    let before = peak();
    let result = tern_compiler::compile(Path::new(&path));
    println!("grew {} ok {}", peak() - before, result.is_ok());
}

/// How far the peak grows (in bytes) compiling `src`, in a fresh process.
fn growth(name: &str, src: &str) -> u64 {
    let dir = std::env::temp_dir().join(format!("vmc-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.src"));
    std::fs::write(&path, src).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "compile_in_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let grew = stdout
        .split_whitespace()
        .skip_while(|w| *w != "grew")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name}: no measure in {stdout}"));
    std::fs::remove_file(&path).unwrap();
    grew
}

#[test]
fn peak_memory_is_a_small_multiple_of_the_source() {
    // Under an emulator (TERN_TEST_RUNNER) the process measured would be
    // the emulator, which also cannot start this binary again directly.
    if std::env::var(CHILD).is_ok() || std::env::var_os("TERN_TEST_RUNNER").is_some() {
        return;
    }
    const M: usize = 1 << 20;
    let let_b = |body: String| format!("fn main() {{ let b = {body}; }}\n");
    // (name, source, most bytes of growth per source byte)
    let cases: Vec<(&str, String, u64)> = vec![
        // Runs of one token nested 1 MiB deep: refused by the pre-scan,
        // before any tree is built.
        ("bang", let_b(format!("{}true", "!".repeat(M))), 8),
        ("minus", let_b(format!("{}1", "-".repeat(M))), 8),
        ("paren", let_b(format!("{}1", "(".repeat(M))), 8),
        ("bracket", let_b(format!("{}1", "[".repeat(M))), 8),
        ("blocks", format!("fn main() {}\n", "{".repeat(M)), 8),
        (
            "arrows",
            format!(
                "fn main() {{ let f: {}int = 1; }}\n",
                "fn() -> ".repeat(M / 8)
            ),
            8,
        ),
        // Syntax errors: tokens that cannot start a statement are taken
        // as part of the error, never skipped and kept one by one.
        ("closers", format!("fn main() {{ {} }}\n", ")".repeat(M)), 8),
        (
            "no_semicolons",
            format!("fn main() {{ {} }}\n", "1 ".repeat(M / 2)),
            8,
        ),
        // A chain of `else if`, a list in the tree and not a nesting.
        (
            "else_if",
            format!(
                "fn main() {{ let x = 1; if x == 0 {{}}{} }}\n",
                " else if x == 1 {}".repeat(M / 18)
            ),
            64,
        ),
        // Flat chains: deep left-leaning trees; the checker stops a chain
        // at 10,000 operators and field accesses at 500 levels.
        ("plus", let_b(format!("1{}", "+1".repeat(M / 2))), 100),
        ("fields", let_b(format!("a{}", ".b".repeat(M / 2))), 100),
        // A string literal of unmatched interpolation openings: found in
        // one pass, text in the end.
        ("braces", let_b(format!("\"{}\"", "{a".repeat(M / 2))), 64),
    ];
    for (name, src, most) in cases {
        let grew = growth(name, &src);
        println!("{name}: {grew} bytes for {} bytes of source", src.len());
        assert!(
            grew <= most * src.len() as u64,
            "{name}: the peak grew {grew} bytes for {} bytes of source",
            src.len()
        );
    }
}
