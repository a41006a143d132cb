#!/usr/bin/env bash
# Harness time against our own summed device time (issue 8's "harness ≤ 1.05 × device time,
# graphs on") on a GPU machine: the host path before and after staged inputs and lent,
# page-locked outputs, on the same card in one call. Per plan (demo detector on timing-loop,
# YOLOX-Nano on the shared folder's 100 VOC photos; fp32 and fp16; graphs on), interleaved:
#   base       an adasval built without the change (--base; copy in, copy out);
#   new        this build, default (frames staged in page-locked memory, outputs DMA'd into
#              page-locked tensors lent to the harness);
#   copy       this build with ADASVAL_CUDA_STAGING=0 (the copy path, for the A/B in one binary);
#   new2       this build again (run-to-run spread);
# and for the fp32 plans the context scheduling flag: ADASVAL_CUDA_SCHED=spin|yield|blocking.
# Plans are built once with the new binary (the plan format is the same for both).
# Per run: harness infer p50/p99 (latencies.csv infer_ns) and the p50 of device h2d,
# compute, d2h and of their per-frame sum; ratio = infer p50 / device-sum p50.
#   bench/gpu_hostcopy.sh --bin NEW --base OLD --out DIR [--shared DIR] [--repetitions 10] \
#       [--test-bin GPU_TEST_BINARY]   (tests/gpu/gpu_cuda.rs, the `gpu` test binary, run after the timings)
set -uo pipefail
REPO=${ADASVAL_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=; BASE=; OUT=hostcopy-out; REPS=10; TEST_BIN=
SHARED=${ADASVAL_SHARED:-$REPO/../shared}
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    --repetitions) REPS=$2; shift 2 ;;
    --test-bin) TEST_BIN=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n $BIN && -n $BASE ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
BIN=$(abs "$BIN"); BASE=$(abs "$BASE"); SHARED=$(cd "$SHARED" && pwd)
# shellcheck source=scripts/gpu_common.sh
if [[ -f $HERE/gpu_common.sh ]]; then source "$HERE/gpu_common.sh"; else source "$REPO/scripts/gpu_common.sh"; fi
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
gpu_libraries
CARD=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "card: $CARD" | tee "$OUT/card.txt"
nvidia-smi --query-gpu=clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv >>"$OUT/card.txt" 2>&1

W=$OUT/project
rm -rf "$W"; mkdir -p "$W"
for d in engines scenarios platforms safety-case; do [[ -d $REPO/$d ]] && cp -r "$REPO/$d" "$W/"; done
cd "$W" || exit 1
yolox_voc_project "$W" "$REPO" "$SHARED" || exit 1
run() { # name binary env... -- validate args
  local name=$1 bin=$2; shift 2
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done; shift
  env "${envs[@]}" "$bin" validate "$@" --out "$OUT/run-$name" >"$OUT/run-$name.log" 2>&1
  echo "$name: exit $?"
}
for tag in demo yolox; do
  if [[ $tag == yolox ]]; then
    model=engines/yolox_nano.onnx; adapter=engines/yolox.adapter.yaml
    S=(--backend cuda --scenario voc100 --data-root "$SHARED" --repetitions "$REPS")
  else
    model=engines/demo/detector.onnx; adapter=engines/demo/adapter.yaml
    S=(--backend cuda --scenario timing-loop --repetitions "$REPS")
  fi
  for p in fp32 fp16; do
    n=$tag-$p
    "$BIN" engine build --backend cuda "$model" --precision "$p" --tactics measured --name "$n" \
      --adapter "$adapter" --out "engines/$n.cudaplan" >"$OUT/build-$n.log" 2>&1 \
      || { echo "build $n failed"; tail -5 "$OUT/build-$n.log"; continue; }
    V=("${S[@]}" --engine "$n")
    run "$n-base" "$BASE" X=1 -- "${V[@]}"
    run "$n-new" "$BIN" X=1 -- "${V[@]}"
    run "$n-copy" "$BIN" ADASVAL_CUDA_STAGING=0 -- "${V[@]}"
    run "$n-new2" "$BIN" X=1 -- "${V[@]}"
    run "$n-base2" "$BASE" X=1 -- "${V[@]}"
    if [[ $p == fp32 ]]; then
      for sched in spin yield blocking; do
        run "$n-sched-$sched" "$BIN" ADASVAL_CUDA_SCHED=$sched -- "${V[@]}"
      done
    fi
  done
done
cd "$OUT" || exit 1
python3 - "$OUT" "$CARD" <<'PY' | tee "$OUT/summary.md"
import csv, glob, json, os, statistics, sys
out, card = sys.argv[1], sys.argv[2]
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else None
def load(run):
    ps = glob.glob(os.path.join(out, run, "**", "latencies.csv"), recursive=True)
    if not ps:
        return None
    rows = list(csv.DictReader(open(ps[0])))
    col = lambda k: [int(r[k]) for r in rows if r.get(k)]
    dev = [int(r["device_h2d_ns"]) + int(r["device_compute_ns"]) + int(r["device_d2h_ns"])
           for r in rows if r.get("device_compute_ns")]
    return dict(n=len(rows), infer=col("infer_ns"), h2d=col("device_h2d_ns"),
                compute=col("device_compute_ns"), d2h=col("device_d2h_ns"), dev=dev)
f = lambda x: "–" if x is None else f"{x / 1e6:.3f}"
print(f"card: {card}\n")
print("| run | samples | infer p50 | infer p99 | h2d p50 | compute p50 | d2h p50 | device sum p50 | infer p50 / device sum p50 |")
print("|---|---|---|---|---|---|---|---|---|")
for tag in ["demo", "yolox"]:
    for p in ["fp32", "fp16"]:
        for v in ["base", "new", "copy", "new2", "base2", "sched-spin", "sched-yield", "sched-blocking"]:
            d = load(f"run-{tag}-{p}-{v}")
            if not d:
                continue
            i50, dev50 = pct(d["infer"], 0.5), pct(d["dev"], 0.5)
            ratio = f"{i50 / dev50:.3f}" if i50 and dev50 else "–"
            print(f"| {tag}-{p}-{v} | {d['n']} | {f(i50)} | {f(pct(d['infer'], 0.99))} | "
                  f"{f(pct(d['h2d'], 0.5))} | {f(pct(d['compute'], 0.5))} | {f(pct(d['d2h'], 0.5))} | "
                  f"{f(dev50)} | {ratio} |")
for run in ["run-yolox-fp32-new", "run-yolox-fp32-copy", "run-yolox-fp32-sched-yield"]:
    for p in glob.glob(os.path.join(out, run, "**", "run.json"), recursive=True):
        s = json.load(open(p))["backend"]["settings"]
        print(f"\n{run} backend settings:")
        for k, v in s:
            if k.startswith(("host_copies", "cuda_sched", "input staging", "engine", "cuda_graphs")):
                print(f"- {k}: {v}")
PY
# The GPU tests last: the timings above come back even if they run long.
if [[ -n $TEST_BIN ]]; then
  t0=$(date +%s)
  (cd "$REPO" && ADASVAL_REPO="$REPO" ADASVAL_SHARED="$SHARED" "$TEST_BIN" --test-threads=1 --nocapture) \
    >"$OUT/gpu_tests.log" 2>&1
  echo "gpu tests: exit $? in $(( $(date +%s) - t0 )) s; $(grep -E '^test result' "$OUT/gpu_tests.log")"
  grep -E 'LATENCY|host paths|staging:' "$OUT/gpu_tests.log"
fi
