#!/usr/bin/env bash
# Builds target/release/vmc and target/release/vmrun with profile-guided
# optimization: an instrumented build runs a training workload, and the
# release build is then laid out and register-allocated for the paths that
# workload takes. For an interpreter, whose one large dispatch loop the
# optimizer otherwise lays out blind, this is worth more than any single
# change to the loop (CPython's releases are built the same way).
#
# The training workload is scripts/pgo/*.src: numeric loops, calls and
# recursion, closures, structs, enums and match, sorting, maps, strings. It
# is deliberately not the benchmark suite (benches/programs/), so that the
# suite measures what the training generalizes to.
#
# Needs llvm-profdata from the toolchain's llvm-tools component (installed
# here if missing). Usage: scripts/build-pgo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/pgo

profdata=$(find "$(rustc --print sysroot)" -name llvm-profdata -type f 2>/dev/null | head -n 1)
if [ -z "$profdata" ]; then
    rustup component add llvm-tools
    profdata=$(find "$(rustc --print sysroot)" -name llvm-profdata -type f | head -n 1)
fi

rm -rf "$work/data" "$work/discard"
echo "pgo: instrumented build" >&2
# Build scripts are instrumented too, and write profiles of their own when
# they run (lalrpop's, whenever the compiler is rebuilt): those go to
# discard/, so that only the training run below shapes the build.
RUSTFLAGS="-Cprofile-generate=$work/discard" \
    cargo build --release -q -p tern-compiler -p tern-sandbox --target-dir "$work/gen"

echo "pgo: training run" >&2
# Only the VM running the programs is profiled: they are compiled first,
# with the compiler's profile discarded (its hash maps are randomly seeded),
# so that the profile, and so the build, is the same every time. A profile
# mixed with others (a build script's, the compiler's) made two builds of
# one commit differ by 7% over the benchmark suite, through the generic code
# (collections, allocation) they share with the dispatch loop.
vmc=$work/gen/release/vmc
vmrun=$work/gen/release/vmrun
mkdir -p "$work/bc"
for f in scripts/pgo/*.src; do
    bc=$work/bc/$(basename "$f" .src).bc
    LLVM_PROFILE_FILE="$work/discard/vmc-%p.profraw" "$vmc" build "$f" -o "$bc"
    LLVM_PROFILE_FILE="$work/data/vmrun-%p.profraw" "$vmrun" "$bc" >/dev/null
done
rm -rf "$work/discard"

"$profdata" merge -o "$work/merged.profdata" "$work/data"
echo "pgo: optimized build" >&2
RUSTFLAGS="-Cprofile-use=$work/merged.profdata" \
    cargo build --release -q
echo "pgo: built target/release/vmc and target/release/vmrun" >&2
