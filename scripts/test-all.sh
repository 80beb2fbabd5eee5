#!/usr/bin/env bash
# Every test: lint, the whole suite on x86-64, the whole suite again on
# aarch64 under qemu-user, and each example's .bc built on one target and
# run on the other (the files must be byte-identical), and the
# profile-guided release build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

host=x86_64-unknown-linux-gnu
arm=aarch64-unknown-linux-gnu
out=target/cross-bc
rm -rf "$out"
mkdir -p "$out/$host" "$out/$arm"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The docs have no broken links; the sandbox builds as a bytecode-only host.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
cargo check -p tern-sandbox --no-default-features --quiet

echo "== build example bytecode with each target's vmc"
cargo build -p tern-compiler --bin vmc
cargo build -p tern-compiler --bin vmc --target $arm
for f in examples/*.src; do
    name=$(basename "$f" .src)
    target/debug/vmc build "$f" -o "$out/$host/$name.bc"
    qemu-aarch64 -L /usr/aarch64-linux-gnu target/$arm/debug/vmc build "$f" -o "$out/$arm/$name.bc"
done

echo "== tests on x86-64 (running the .bc files aarch64 built)"
TERN_FOREIGN_BC_DIR="$PWD/$out/$arm" cargo test --workspace --all-targets
# --all-targets leaves out doctests: the embedding API's rustdoc examples.
cargo test --workspace --doc

echo "== the sandbox's suites with every function compiled (TERN_JIT=eager)"
TERN_JIT=eager cargo test -p tern-sandbox --tests

echo "== tests on aarch64 under qemu (running the .bc files x86-64 built)"
TERN_TEST_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
    TERN_FOREIGN_BC_DIR="$PWD/$out/$host" cargo test --workspace --target $arm

echo "== profile-guided release build, and the built vmrun runs a program"
scripts/build-pgo.sh
test "$(target/release/vmrun examples/hello.src)" = "Hello, Tern!"
