// Shared by the vmc and vmrun CLI tests (included with #[path]).

use std::process::Command;

/// A command that runs `bin`. Under cross-target testing the binary needs
/// the same emulator as the test itself, which scripts/test-all.sh names in
/// TERN_TEST_RUNNER.
#[allow(dead_code)] // Not every test file that includes this builds its own.
pub fn command(bin: &str) -> Command {
    let runner = std::env::var("TERN_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(emu) => {
            let mut c = Command::new(emu);
            c.args(words).arg(bin);
            c
        }
        None => Command::new(bin),
    }
}

/// Runs `bin` with `args`: (exit code, stdout, stderr).
#[allow(dead_code)] // Not every test file that includes this runs binaries so.
pub fn run_binary(bin: &str, args: &[&str]) -> (i32, String, String) {
    let out = command(bin).args(args).output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
