//! The README's embedding example is a whole program that compiles as
//! written: it is `examples/embed.rs` (built and run by the test suite's
//! `--all-targets`), and this holds the two the same.

#[test]
fn readme_embedding_example_is_examples_embed_rs() {
    let readme = include_str!("../../README.md");
    let start = readme.find("```rust\n").expect("a Rust block") + "```rust\n".len();
    let end = start + readme[start..].find("```\n").expect("its end");
    assert_eq!(
        &readme[start..end],
        include_str!("../examples/embed.rs"),
        "README.md's Rust block and sandbox/examples/embed.rs differ"
    );
}
