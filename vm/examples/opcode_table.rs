//! Prints the instruction table for spec/bytecode.md:
//! `cargo run -q -p tern-vm --example opcode_table`.

fn main() {
    print!("{}", tern_vm::opcodes::markdown_table());
}
