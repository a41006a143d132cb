#!/usr/bin/env bash
# The full calibration table of issue 20 (18 processes x 400 seeds, n = 10^4 and 10^5) on a
# many-core machine, in chunks, packed into ONE tar file after every chunk, so that a run cut
# short by a time limit still returns every finished chunk (the device tool returns few files).
# Usage: bench/wcet_calibration_400.sh BIN OUT.tgz [JOBS [FILE...]]
#   FILE...: files to pack beside the results (e.g. a timing log made before the run)
#   BIN: a release build of the example (cargo build --release -p adasval-judge --example wcet_calibration)
#   SEEDS=40 bench/wcet_calibration_400.sh ...   runs a smaller table (smoke test).
# The tar holds n1e4.jsonl, n1e5_A-B.jsonl (one per chunk), their .md tables and .err logs,
# info.txt (cores, start and end times) and, when all chunks finished, the merged
# wcet_calibration_400.{md,json}. Plot: bench/wcet_calibration_plot.py BEFORE.json
# wcet_calibration_400.json docs/bench/wcet_calibration.svg.
set -euo pipefail
bin=$(realpath "$1")
tgz=$(realpath -m "$2")
jobs=${3:-$(nproc)}
seeds=${SEEDS:-400}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ $# -gt 3 ] && cp "${@:4}" "$work"/
cd "$work"
pack() { tar czf "$tgz" -C "$work" .; }
{ echo "cores $(nproc), jobs $jobs, seeds 1..$seeds"; echo "start $(date -u +%FT%TZ)"; } > info.txt
"$bin" --n 10000 --seed-range "1..$seeds" --extrapolate --jobs "$jobs" --runs n1e4.jsonl > n1e4.md 2> n1e4.err
pack
# n = 10^5 in four chunks of seeds (each about a quarter of the CPU time)
q=$(( (seeds + 3) / 4 ))
for k in 0 1 2 3; do
  a=$(( k * q + 1 )); b=$(( (k + 1) * q < seeds ? (k + 1) * q : seeds ))
  [ "$a" -le "$b" ] || continue
  "$bin" --n 100000 --seed-range "$a..$b" --extrapolate --jobs "$jobs" --runs "n1e5_$a-$b.jsonl" \
    > "n1e5_$a-$b.md" 2> "n1e5_$a-$b.err"
  echo "chunk $a..$b done $(date -u +%FT%TZ)" >> info.txt
  pack
done
"$bin" --merge n1e4.jsonl n1e5_*.jsonl --json wcet_calibration_400.json > wcet_calibration_400.md 2> merge.err
echo "end $(date -u +%FT%TZ)" >> info.txt
pack
