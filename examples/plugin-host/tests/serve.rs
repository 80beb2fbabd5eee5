//! The plugin host serves every request, whatever its plugins do.

#[path = "../../../tests/support/run_binary.rs"]
mod support;

#[test]
fn the_host_survives_its_plugins_and_answers_every_request() {
    let (code, out, err) = support::run_binary(env!("CARGO_BIN_EXE_plugin-host"), &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    let expected = include_str!("../expected_output.txt");
    assert_eq!(out, expected);
}

#[test]
fn requests_come_from_the_command_line() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins");
    let (code, out, _) = support::run_binary(env!("CARGO_BIN_EXE_plugin-host"), &[dir, "darn fox"]);
    assert_eq!(code, 0);
    assert!(out.contains("  text_filter  \"**** fox\"\n"), "{out}");
    assert!(out.contains("  scoring      \"score 7\"\n"), "{out}");
    assert!(out.ends_with("served 1 requests with 5 plugins; the host is still up\n"));
}
