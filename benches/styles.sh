#!/bin/sh
# Instructions executed by each program of benches/styles/ (program
# styles the suite does not cover: closures, enums and match, generics,
# methods, deep recursion, string building, parsing, ...), interpreted
# and compiled, counted by callgrind (steady where timings are noisy),
# and their ratio. Needs `cargo build --release` and valgrind.
#   benches/styles.sh [program ...]
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
vmc=$target/release/vmc
vmrun=$target/release/vmrun
out=$target/bench-styles
mkdir -p "$out"
cd "$root/benches/styles"
progs=${*:-$(ls *.src | sed 's/\.src$//')}
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-16s %12s %12s %7s\n' program interpreted compiled ratio
for p in $progs; do
    "$vmc" build "$p.src" -o "$out/$p.bc" >/dev/null
    args=$(sed -n 's|^// args: *||p' "$p.src")
    a=$(count "$vmrun" --jit=off "$out/$p.bc" $args)
    b=$(count "$vmrun" "$out/$p.bc" $args)
    printf '%-16s %12s %12s %7s\n' "$p" "$a" "$b" "$(awk "BEGIN { printf \"%.2f\", $a / $b }")"
done
