//! The disassembler's listings for small programs, held still by
//! snapshots: what `vmc` writes (canonical instructions, with operands,
//! byte offsets and source lines) and what the VM runs after translating
//! it (`NAME_translated`, its register code: see `tern_vm::internal`).

use tern_tests::*;

fn assert_listing(name: &str, path: &std::path::Path) {
    let module = tern_vm::decode(&build(path)).expect("built file decodes");
    let source = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = source.lines().collect();
    let show = |m: &tern_vm::Module| {
        tern_vm::disasm::disassemble(m, &|_, n| lines.get(n as usize - 1).map(|s| s.to_string()))
    };
    let listing = show(&module);
    let program = tern_vm::Program::new(module).expect("built file verifies");
    let translated = tern_vm::disasm::translated(&program, &|_, n| {
        lines.get(n as usize - 1).map(|s| s.to_string())
    });
    insta::with_settings!({
        snapshot_path => root().join("tests/golden/snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, listing);
        insta::assert_snapshot!(format!("{name}_translated"), translated);
    });
}

#[test]
fn fib_listing() {
    assert_listing("disasm__fib", &root().join("examples/fib.src"));
}

#[test]
fn negated_conditions_become_opposite_jumps() {
    assert_listing(
        "disasm__negated_conditions",
        &root().join("tests/golden/run/negated_conditions.src"),
    );
}

#[test]
fn loop_steps_fuse_with_a_last_assignment() {
    assert_listing(
        "disasm__loop_steps",
        &root().join("tests/golden/run/loop_steps.src"),
    );
}

#[test]
fn while_loops_test_at_the_bottom_joined_with_the_step() {
    assert_listing(
        "disasm__while_loops",
        &root().join("tests/golden/run/while_loops.src"),
    );
}

#[test]
fn element_moves_between_locals_and_arrays() {
    assert_listing(
        "disasm__element_moves",
        &root().join("tests/golden/run/element_moves.src"),
    );
}

#[test]
fn byte_element_accesses_are_marked() {
    assert_listing(
        "disasm__byte_elements",
        &root().join("tests/golden/run/byte_elements.src"),
    );
}
