//! Portability of `.bc` files: the bytes depend only on the source, and a
//! file built on one machine runs identically on another.
//!
//! When `TERN_FOREIGN_BC_DIR` names a folder of `.bc` files built from
//! `examples/` by a `vmc` for another target (as `scripts/test-all.sh`
//! arranges, x86-64 and aarch64 each way), each file must equal the one
//! built here byte for byte, and running it must give the golden output.

use tern_tests::*;

#[test]
fn encoding_is_deterministic_and_round_trips() {
    for path in programs(&root().join("examples")) {
        let a = build(&path);
        let b = build(&path);
        assert_eq!(a, b, "{}: two builds differ", path.display());
        let m = tern_vm::decode(&a).expect("own output decodes");
        assert_eq!(
            tern_vm::encode(&m),
            a,
            "{}: decode/encode is not the identity",
            path.display()
        );
    }
}

#[test]
fn bytecode_files_run_like_sources() {
    let dir = std::env::temp_dir().join(format!("tern-cross-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for path in programs(&root().join("examples")) {
        let bc = dir.join(format!("{}.bc", snapshot_name(&path)));
        std::fs::write(&bc, build(&path)).unwrap();
        let from_source = run_source(&path, false);
        let source = std::fs::read_to_string(&path).unwrap();
        let program = tern_sandbox::Module::from_file(&bc).expect("built file loads");
        let from_bc = run_file(&program, &path, &source);
        assert_eq!(from_bc, from_source, "{}", path.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn foreign_bytecode_is_identical_and_runs_identically() {
    let Some(dir) = std::env::var_os("TERN_FOREIGN_BC_DIR") else {
        println!("TERN_FOREIGN_BC_DIR not set: no foreign build to compare with");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut checked = 0;
    for path in programs(&root().join("examples")) {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let foreign = std::fs::read(dir.join(format!("{stem}.bc")))
            .unwrap_or_else(|e| panic!("{stem}.bc missing from {}: {e}", dir.display()));
        assert!(
            foreign == build(&path),
            "{stem}.bc built elsewhere differs from the local build"
        );
        let program = tern_sandbox::Module::from_bytes(&foreign).expect("foreign file loads");
        let source = std::fs::read_to_string(&path).unwrap();
        let run = run_file(&program, &path, &source);
        assert_eq!(
            run,
            run_source(&path, false),
            "{stem}: foreign file runs differently"
        );
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} foreign files checked");
}

/// Runs a loaded program as `vmrun` would run the source at `path`: its
/// arguments, limits and standard input.
fn run_file(program: &tern_sandbox::Module, path: &std::path::Path, source: &str) -> Run {
    run_with_input(
        program,
        &program_args(source),
        program_limits(source),
        usize::MAX,
        program_input(path),
    )
    .0
}
