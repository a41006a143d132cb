#!/usr/bin/env bash
# A/B of two adasval binaries on the demo detector, on one GPU in one call: each binary
# builds its own plans (--tactics measured) per precision, then `validate --backend cuda`
# on timing-loop (100 frames x --repetitions) alternates base and new, --rounds times, so
# drift hits both alike. Prints one row per run: harness infer p50/p99, event-timed h2d,
# compute and d2h p50, per-frame device sum p50, CUDA graph nodes. Builds nothing:
#   bench/gpu_ab.sh --bin NEW/adasval --base BASE/adasval --out /tmp/ab [--shared DIR]
#       [--repetitions 10] [--rounds 2] [--precisions fp32,fp16] [--new-build-args "--no-elementwise-fusion"]
set -uo pipefail
REPO=${ADASVAL_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
SHARED=${ADASVAL_SHARED:-$REPO/../shared}
OUT=ab-out REPS=10 ROUNDS=2 PRECISIONS=fp32,fp16 NEW= BASE= NEW_ARGS=
# shellcheck source=scripts/gpu_common.sh
source "$REPO/scripts/gpu_common.sh"
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) NEW=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    --repetitions) REPS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --precisions) PRECISIONS=$2; shift 2 ;;
    --new-build-args) NEW_ARGS=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x $NEW && -x $BASE ]] || { echo "--bin and --base must be executables" >&2; exit 2; }
NEW=$(cd "$(dirname "$NEW")" && pwd)/$(basename "$NEW")
BASE=$(cd "$(dirname "$BASE")" && pwd)/$(basename "$BASE")
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
bench_project "$OUT" "$REPO" "$SHARED" || exit 1
IFS=, read -ra PRECS <<<"$PRECISIONS"
build() { # BIN PRECISION NAME [ARGS...]
  "$1" engine build --backend cuda engines/demo/detector.onnx --precision "$2" --tactics measured \
    --name "$3" --adapter engines/demo/adapter.yaml --out "engines/$3.cudaplan" "${@:4}" \
    >"$OUT/build-$3.log" 2>&1 || echo "build $3 failed: $(tail -2 "$OUT/build-$3.log")"
}
for p in "${PRECS[@]}"; do
  build "$BASE" "$p" "base-$p"
  # shellcheck disable=SC2086
  build "$NEW" "$p" "new-$p" $NEW_ARGS
done
for r in $(seq 1 "$ROUNDS"); do
  for p in "${PRECS[@]}"; do
    for v in base new; do
      bin=$NEW; [[ $v == base ]] && bin=$BASE
      "$bin" validate --backend cuda --scenario timing-loop --repetitions "$REPS" --engine "$v-$p" \
        --out "$OUT/runs/$v-$p-$r" >"$OUT/run-$v-$p-$r.log" 2>&1
    done
  done
done
python3 - "$OUT/runs" <<'PY' | tee "$OUT/summary.md"
import csv, glob, json, os, re, sys
print("| run | samples | infer p50 | infer p99 | h2d p50 | compute p50 | d2h p50 | device sum p50 | graph nodes |")
print("|---|---|---|---|---|---|---|---|---|")
for d in sorted(glob.glob(os.path.join(sys.argv[1], "*"))):
    ps = glob.glob(d + "/**/latencies.csv", recursive=True)
    if not ps:
        print(f"| {os.path.basename(d)} | missing |")
        continue
    rows = list(csv.DictReader(open(ps[0])))
    def q(c, p=0.5):
        v = sorted(int(r[c]) for r in rows if r.get(c))
        return v[min(len(v) - 1, int(p * len(v)))] / 1e6
    ds = sorted(sum(int(r[c]) for c in ("device_h2d_ns", "device_compute_ns", "device_d2h_ns")) for r in rows)
    s = json.dumps(json.load(open(glob.glob(d + "/**/run.json", recursive=True)[0])))
    m = re.search(r"CUDA graph per session \((\d+) nodes\)", s)
    print(f"| {os.path.basename(d)} | {len(rows)} | {q('infer_ns'):.3f} | {q('infer_ns', 0.99):.3f} | "
          f"{q('device_h2d_ns'):.3f} | {q('device_compute_ns'):.3f} | {q('device_d2h_ns'):.3f} | "
          f"{ds[len(ds) // 2] / 1e6:.3f} | {m.group(1) if m else '?'} |")
PY
for p in "${PRECS[@]}"; do
  for v in base new; do
    echo "$v-$p: $("$NEW" engine inspect "$v-$p" 2>/dev/null | grep -E '^(layers|fusions)' | tr '\n' ' ')"
  done
done | tee -a "$OUT/summary.md"
