#!/usr/bin/env bash
# Speed of the full default `wcet::analyse` on 10^6 samples (i.i.d., AR(1) 0.7, ARMAX), today's
# code against the code before issue 20 (BASE, default the parent of the first issue-20
# commit), built from the same example file and run back to back, so both numbers come from
# one run on one machine. Usage: bench/wcet_speed.sh [BASE] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-4d12e81}
n=${2:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$base" | tar -x -C "$tmp"
# Cargo names the artifacts of workspace crates by a hash that leaves out the checkout path and
# records their sources by relative path: the old tree's build and this one's share artifacts.
# git archive dates the files at the commit, older than any artifact, so without the touches the
# old build could take today's library as fresh (or the new build the old one, as it did before
# this was found: both binaries then ran the same code).
find "$tmp" -type f -exec touch {} +
cp crates/judge/examples/wcet_time.rs "$tmp/crates/judge/examples/" 2>/dev/null \
  || { mkdir -p "$tmp/crates/judge/examples"; cp crates/judge/examples/wcet_time.rs "$tmp/crates/judge/examples/"; }
# one target directory, so registry crates are built once; the old binary is copied out
# before the new one replaces it
target="$PWD/target"
(cd "$tmp" && CARGO_TARGET_DIR="$target" cargo build --release -q -p adasval-judge --example wcet_time)
cp "$target/release/examples/wcet_time" "$tmp/wcet_time_before"
# today's sources newer than the old build's artifacts, so they are rebuilt from this checkout
find crates/judge crates/core crates/record -name '*.rs' -exec touch {} +
cargo build --release -q -p adasval-judge --example wcet_time
cmp -s "$tmp/wcet_time_before" target/release/examples/wcet_time \
  && { echo "wcet_speed.sh: both binaries are identical; not a comparison" >&2; exit 1; }
old="$tmp/wcet_time_before"
new=target/release/examples/wcet_time
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in 1 2; do
  echo "round $round"
  /usr/bin/time -f "  before issue 20: %e s wall, %U+%S s CPU" "$old" "$n" | sed 's/^/  before: /'
  /usr/bin/time -f "  now: %e s wall, %U+%S s CPU" "$new" "$n" | sed 's/^/  now: /'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
