#!/usr/bin/env bash
# Speed of `adasval eval` against pycocotools (evaluate + accumulate + summarize) on the same
# files: 5,000 images with 100 detections each, 80 categories (tests/py/coco_gen.py bench).
# Usage: bench/coco_bench.sh [IMAGES] [DETS_PER_IMAGE]   (needs a release build:
#   cargo build --release; set ADASVAL_BIN to override the binary path)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
images="${1:-5000}"
dets="${2:-100}"
bin="${ADASVAL_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/adasval}"
py="${ADASVAL_PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$py" "$root/tests/py/coco_gen.py" bench "$work" "$images" "$dets"
echo "data: $images images x $dets detections ($(du -h "$work/bench_dt.json" | cut -f1) results), $(nproc) CPUs"

now() { date +%s.%N; }

t0=$(now)
"$bin" eval --gt "$work/bench_gt.json" --dt "$work/bench_dt.json" --format json > "$work/ours.json"
t1=$(now)

"$py" - "$work/bench_gt.json" "$work/bench_dt.json" > "$work/ref.txt" <<'PY'
import contextlib, io, json, sys, time
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
t0 = time.time()
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1])
    dt = gt.loadRes(sys.argv[2])
t1 = time.time()
with contextlib.redirect_stdout(io.StringIO()):
    e = COCOeval(gt, dt, "bbox")
    e.evaluate(); e.accumulate(); e.summarize()
t2 = time.time()
print(json.dumps({"load_s": t1 - t0, "eval_s": t2 - t1, "stats": list(map(float, e.stats))}))
PY

ours=$(echo "$t1 - $t0" | bc -l)
"$py" - "$work/ours.json" "$work/ref.txt" "$ours" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
ref = json.loads(open(sys.argv[2]).read())
t = float(sys.argv[3])
keys = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
diff = max(abs(ours[k] - r) for k, r in zip(keys, ref["stats"]))
print(f"adasval eval (load + evaluate, whole process): {t:.2f} s")
print(f"pycocotools load: {ref['load_s']:.2f} s; evaluate+accumulate+summarize: {ref['eval_s']:.2f} s")
print(f"speed-up vs pycocotools evaluate+accumulate+summarize: {ref['eval_s'] / t:.1f}x")
print(f"speed-up vs pycocotools load+evaluate: {(ref['load_s'] + ref['eval_s']) / t:.1f}x")
print(f"max |difference| over the 12 numbers: {diff:.2e}")
PY
