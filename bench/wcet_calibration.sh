#!/usr/bin/env bash
# Calibration suite of `adasval wcet` (docs/WCET.md, "Calibration"): simulated traces with
# known marginal quantiles; prints one markdown table row per process and trace length.
# Usage: bench/wcet_calibration.sh [SEEDS] [N ...]   (default: 400 seeds, n = 10^4 and 10^5)
# Extra flags go through WCET_CAL_FLAGS, e.g. WCET_CAL_FLAGS="--extrapolate --jobs 14 --only AR(1)";
# `--seed-range A..B`, `--runs FILE.jsonl` and `--merge FILE...` split a long run into parts
# (see the example's header, crates/judge/examples/wcet_calibration.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-400}
shift || true
ns=("$@")
[ ${#ns[@]} -eq 0 ] && ns=(10000 100000)
cargo build --release -q -p adasval-judge --example wcet_calibration
args=(--seeds "$seeds")
for n in "${ns[@]}"; do args+=(--n "$n"); done
# shellcheck disable=SC2086
exec ./target/release/examples/wcet_calibration "${args[@]}" ${WCET_CAL_FLAGS:-}
