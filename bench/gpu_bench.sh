#!/usr/bin/env bash
# GPU speed (issue 8) on a GPU machine: batch-1 per-frame latency of the demo detector and
# YOLOX-Nano, fp32 and fp16, three ways on the same card:
#   harness   `validate --backend cuda` on the timing scenario: infer p50 (host wall around
#             Session::run_lent: h2d of the staged frame, graph launch, d2h into the lent
#             output tensors, sync; docs/CUDA.md "Host path") and the p50 of the
#             event-timed device compute, CUDA graphs on (default) and off (ADASVAL_CUDA_GRAPHS=0);
#   profile   `validate --layer-profile`: sum of the per-layer event medians (no graphs);
#   PyTorch   bench/torch_bench.py: eager per-frame wall and its summed kernel time
#             (torch.profiler), torch.compile likewise (the demo network from train/model.py
#             with engines/demo/training/model.pt; YOLOX-Nano through onnx2torch if installed).
# YOLOX-Nano runs on the shared folder's data/voc100 photos (timing scenario: 100 photos x
# --repetitions), the demo detector on the timing-loop scenario.
# Builds nothing; takes the release binary built elsewhere:
#   bench/gpu_bench.sh --bin target/release/adasval --out bench-out [--shared DIR] [--repetitions 10]
set -uo pipefail
BIN_SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
REPO=${ADASVAL_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=$REPO/target/release/adasval
OUT=bench-out
REPS=10
SHARED=${ADASVAL_SHARED:-$REPO/../shared}
# shellcheck source=scripts/gpu_common.sh
source "$REPO/scripts/gpu_common.sh"
PRECISIONS=fp32,fp16
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    --repetitions) REPS=$2; shift 2 ;;
    --precisions) PRECISIONS=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
bench_project "$OUT" "$REPO" "$SHARED" || exit 1
# YOLOX-Nano (COCO classes) cannot be judged on the synthetic scenes' labels: it is timed on
# the shared folder's VOC photos instead (scenario voc100, from scripts/gpu_common.sh).
IFS=, read -ra PRECS <<<"$PRECISIONS"
for m in "${MODELS[@]}"; do
  read -r tag model adapter <<<"$m"
  if [[ $tag == yolox ]]; then
    S=(--backend cuda --scenario voc100 --data-root "$SHARED")
  else
    S=(--backend cuda --scenario timing-loop)
  fi
  V=("${S[@]}" --repetitions "$REPS")
  for p in "${PRECS[@]}"; do
    n=$tag-$p
    "$BIN" engine build --backend cuda "$model" --precision "$p" --tactics measured --name "$n" \
      --adapter "$adapter" --out "engines/$n.cudaplan" >"$OUT/build-$n.log" 2>&1 || { echo "build $n failed"; tail -5 "$OUT/build-$n.log"; continue; }
    "$BIN" validate "${V[@]}" --engine "$n" --out "$OUT/run-$n" >"$OUT/run-$n.log" 2>&1
    ADASVAL_CUDA_GRAPHS=0 "$BIN" validate "${V[@]}" --engine "$n" --out "$OUT/run-$n-nographs" >"$OUT/run-$n-nographs.log" 2>&1
    "$BIN" validate "${S[@]}" --repetitions 1 --layer-profile --engine "$n" \
      --out "$OUT/run-$n-profile" >"$OUT/run-$n-profile.log" 2>&1
  done
done
cd "$OUT" || exit 1
python3 "$(dirname "$BIN_SELF")/torch_bench.py" --repo "$REPO" --shared "$SHARED" --out "$OUT/torch.json" \
  >"$OUT/torch.log" 2>&1 || echo "torch_bench failed: $(tail -3 "$OUT/torch.log")"
python3 - "$OUT" "$CARD" <<'PY' | tee "$OUT/summary.md"
import csv, glob, json, os, statistics, sys
out, card = sys.argv[1], sys.argv[2]
def col(run, name):
    ps = glob.glob(os.path.join(out, run, "**", "latencies.csv"), recursive=True)
    if not ps:
        return None
    p = ps[0]
    v = [int(r[name]) for r in csv.DictReader(open(p)) if r.get(name)]
    return statistics.median(v) / 1e6 if v else None
def device_sum(run):
    # Per frame h2d + compute + d2h (the device's whole share of one inference), then the median.
    ps = glob.glob(os.path.join(out, run, "**", "latencies.csv"), recursive=True)
    if not ps:
        return None
    cols = ("device_h2d_ns", "device_compute_ns", "device_d2h_ns")
    v = [sum(int(r[c]) for c in cols) for r in csv.DictReader(open(ps[0])) if all(r.get(c) for c in cols)]
    return statistics.median(v) / 1e6 if v else None
def ratio(a, b):
    return None if a is None or not b else a / b
def layer_sum(run):
    for p in glob.glob(os.path.join(out, run, "**", "layers*.json"), recursive=True):
        d = json.load(open(p))
        return sum(l.get("median_ms") or 0 for l in d.get("layers", []))
    return None
torch = json.load(open(os.path.join(out, "torch.json"))) if os.path.exists(os.path.join(out, "torch.json")) else {}
f = lambda x: "–" if x is None else f"{x:.3f}"
print(f"card: {card}\n")
print("| network | precision | harness infer p50 (graphs) | device compute p50 (graphs) | device h2d+compute+d2h p50 (graphs) | harness / device sum | harness infer p50 (no graphs) | device compute p50 (no graphs) | per-layer event sum (--layer-profile) | PyTorch eager wall p50 | eager summed kernels | torch.compile wall p50 | compile summed kernels |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for tag in ["demo", "yolox"]:
    for p in ["fp32", "fp16"]:
        n = f"{tag}-{p}"
        t = torch.get(n, {})
        print(f"| {tag} | {p} | {f(col('run-'+n, 'infer_ns'))} | {f(col('run-'+n, 'device_compute_ns'))} | "
              f"{f(device_sum('run-'+n))} | {f(ratio(col('run-'+n, 'infer_ns'), device_sum('run-'+n)))} | "
              f"{f(col('run-'+n+'-nographs', 'infer_ns'))} | {f(col('run-'+n+'-nographs', 'device_compute_ns'))} | "
              f"{f(layer_sum('run-'+n+'-profile'))} | {f(t.get('eager_wall_ms'))} | {f(t.get('eager_kernel_ms'))} | "
              f"{f(t.get('compile_wall_ms'))} | {f(t.get('compile_kernel_ms'))} |")
for n, t in torch.items():
    if t.get("note"):
        print(f"\n- {n}: {t['note']}")
PY
