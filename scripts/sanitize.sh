#!/usr/bin/env bash
# The VM's trust in the verifier, checked with sanitizers:
# - AddressSanitizer over the golden programs (every example and golden
#   program, also under GC stress), the committed fuzz corpora and
#   regressions, the malformed-module suite, and the sandbox tests
#   (including native modules, the sandbox's only unsafe code);
# - Miri over the VM's unit tests (heap, collector, maps, format), which
#   checks the unsafe code of the VM's dependencies (smallvec, indexmap)
#   as the VM drives them.
# Needs the nightly toolchain (with the miri component for the second
# part). Takes about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')

echo "== AddressSanitizer: golden programs, fuzz corpora, malformed modules, sandbox"
# -rdynamic: the instrumented native-module library finds the ASan runtime
# in the test executable when it is loaded.
RUSTFLAGS="-Zsanitizer=address -Clink-arg=-rdynamic" RUSTDOCFLAGS="-Zsanitizer=address" \
ASAN_OPTIONS="detect_leaks=0" \
    cargo +nightly test --target "$host" --target-dir target/asan \
    -p tern-tests --test golden --test fuzz_replay --test malformed \
    -p tern-sandbox --test hostile --test native

echo "== Miri: the VM's unit tests"
rustup component add miri rust-src --toolchain nightly
# The spec-consistency tests read spec/bytecode.md: allow file access.
MIRIFLAGS="-Zmiri-disable-isolation" cargo +nightly miri test -p tern-vm --lib
