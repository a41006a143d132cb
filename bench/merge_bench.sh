#!/usr/bin/env bash
# Merge time of generated shard directories (docs/BENCH.md, "Farm merge"): for each count
# in COUNTS (default 10 100 1000), gen_shards.py writes that many sealed shard directories
# of 10 traces × 1,000 samples with one detection per frame (10^7 samples for 1,000), then
# `adasval merge --no-judge` verifies every seal, checks that the shards belong together
# and cover the work list once, and writes the merged raw records (judging them is
# `adasval judge`, timed apart: it is the analysis of 10^4 traces, not the merge).
#
#   bench/merge_bench.sh [WORK_DIR]      # COUNTS="10 100" to skip the large case
#
# Needs about 3 GB free in WORK_DIR for 1,000 shards (plus as much for the merged run).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d /tmp/adasval-merge-bench.XXXXXX)}"
mkdir -p "$work"
cargo build --release -q
bin=target/release/adasval
rm -rf "$work/template"
"$bin" validate -q --max-frames 1 --repetitions 1 --warmup 0 --scenario demo-cpnco-50 \
  --engine demo-detector --shard 1/1 --out "$work/template" >/dev/null
echo "machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for n in ${COUNTS:-10 100 1000}; do
  rm -rf "$work/g$n" "$work/m$n"
  python3 bench/gen_shards.py "$work/template" "$work/g$n" "$n"
  size=$(du -sh "$work/g$n" | cut -f1)
  sync
  start=$(date +%s.%N)
  "$bin" merge -q --no-judge "$work/g$n"/shard-* --out "$work/m$n" >/dev/null
  end=$(date +%s.%N)
  rows=$(( $(wc -l < "$work/m$n/latencies.csv") - 1 ))
  printf '%5d shards (%s): merge %.2f s, %d samples merged; load average %s\n' \
    "$n" "$size" "$(echo "$end - $start" | bc)" "$rows" "$(cut -d' ' -f1-3 /proc/loadavg)"
  rm -rf "$work/g$n" "$work/m$n"
done
rm -rf "$work"
