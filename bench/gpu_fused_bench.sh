#!/usr/bin/env bash
# The direct convolution kernel (issue 8) on a GPU machine: plans of the demo detector and
# YOLOX-Nano built by two adasval binaries (a baseline and a candidate, e.g. before and after
# the direct kernel), fp32 and fp16, measured tactics, on one card in one run:
#   built     convolutions run by the direct kernel / all (engine inspect --format json)
#   harness   `validate --backend cuda`: infer p50 and device compute p50 (latencies.csv),
#             CUDA graphs on; the graph's node count (run.json backend settings)
# YOLOX-Nano runs on the shared folder's data/voc100 (x --repetitions), the demo detector on
# the timing-loop scenario. Builds nothing:
#   bench/gpu_fused_bench.sh --bin NAME=PATH [--bin NAME=PATH ...] --out DIR [--shared DIR] [--repetitions 5]
set -uo pipefail
REPO=${ADASVAL_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
OUT=bench-out
REPS=5
SHARED=${ADASVAL_SHARED:-$REPO/../shared}
BINS=()
# shellcheck source=scripts/gpu_common.sh
source "$REPO/scripts/gpu_common.sh"
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BINS+=("$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    --repetitions) REPS=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
bench_project "$OUT" "$REPO" "$SHARED" || exit 1
for b in "${BINS[@]}"; do
  bn=${b%%=*}; bin=${b#*=}
  for m in "${MODELS[@]}"; do
    read -r tag model adapter <<<"$m"
    if [[ $tag == yolox ]]; then S=(--backend cuda --scenario voc100 --data-root "$SHARED")
    else S=(--backend cuda --scenario timing-loop); fi
    for p in fp32 fp16; do
      n=$bn-$tag-$p
      "$bin" engine build --backend cuda "$model" --precision "$p" --tactics measured --name "$n" \
        --adapter "$adapter" --out "engines/$n.cudaplan" >"$OUT/build-$n.log" 2>&1 || { echo "build $n failed"; tail -5 "$OUT/build-$n.log"; continue; }
      "$bin" engine inspect "$n" --format json >"$OUT/inspect-$n.json" 2>/dev/null
      "$bin" engine inspect "$n" >"$OUT/inspect-$n.txt" 2>/dev/null
      "$bin" validate "${S[@]}" --repetitions "$REPS" --engine "$n" --out "$OUT/run-$n" >"$OUT/run-$n.log" 2>&1 || echo "validate $n: exit $?"
    done
  done
done
cd "$OUT" || exit 1
python3 - "$OUT" "$CARD" "${BINS[@]}" <<'PY' | tee "$OUT/summary.md"
import csv, glob, json, os, re, statistics, sys
out, card, bins = sys.argv[1], sys.argv[2], [b.split("=")[0] for b in sys.argv[3:]]
def col(run, name):
    ps = glob.glob(os.path.join(out, run, "**", "latencies.csv"), recursive=True)
    if not ps: return None
    v = [int(r[name]) for r in csv.DictReader(open(ps[0])) if r.get(name)]
    return (statistics.median(v) / 1e6, len(v)) if v else None
def nodes(run):
    for p in glob.glob(os.path.join(out, run, "**", "run.json"), recursive=True):
        m = re.search(r"CUDA graph per session \((\d+) nodes\)", open(p).read())
        if m: return m.group(1)
    return "–"
def direct(n):
    try: d = json.load(open(os.path.join(out, f"inspect-{n}.json")))
    except Exception: return "–"
    cs = [l["choice"] for l in d["layers"] if l.get("choice")]
    return f"{sum(1 for c in cs if c.get('engine') == 'direct')}/{len(cs)}"
f = lambda x: "–" if x is None else f"{x[0]:.3f}"
print(f"card: {card}\n")
print("| binary | network | precision | direct convs | graph nodes | device compute p50 ms | harness infer p50 ms | frames |")
print("|---|---|---|---|---|---|---|---|")
for b in bins:
    for tag in ["demo", "yolox"]:
        for p in ["fp32", "fp16"]:
            n = f"{b}-{tag}-{p}"
            c, i = col("run-" + n, "device_compute_ns"), col("run-" + n, "infer_ns")
            print(f"| {b} | {tag} | {p} | {direct(n)} | {nodes('run-'+n)} | {f(c)} | {f(i)} | {i[1] if i else '–'} |")
PY
