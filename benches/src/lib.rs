//! Helpers for the benchmarks: compile Tern source held in memory.

use std::path::Path;

/// Compiles and verifies a one-file program.
pub fn program(source: &str) -> std::sync::Arc<tern_vm::Program> {
    let path = Path::new("bench.src");
    let compiled =
        tern_compiler::compile_with(path, &tern_compiler::OneFile { path, text: source })
            .unwrap_or_else(|e| panic!("benchmark program does not compile:\n{}", e.render()));
    std::sync::Arc::new(tern_vm::Program::new(compiled.module).expect("compiled programs verify"))
}

/// Runs `main` (which must not print) and returns its exit code.
pub fn run(p: &std::sync::Arc<tern_vm::Program>, limits: tern_vm::Limits) -> i64 {
    let mut vm = tern_vm::Vm::new(std::sync::Arc::clone(p), limits);
    vm.run_main(&[]).expect("benchmark program runs")
}
