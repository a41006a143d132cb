#!/usr/bin/env bash
# YOLOX-Nano per-frame inference latency: adasval's tract CPU backend next to onnxruntime
# (1 thread and all cores) on the same machine, in one run.
# usage: bench/yolox_tract_vs_ort.sh [FRAMES] [REPS]   (needs ../shared or ADASVAL_SHARED)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
shared="${ADASVAL_SHARED:-$here/../shared}"
frames="${1:-20}"; reps="${2:-5}"
bin="$here/target/release/adasval"
[ -x "$bin" ] || (cd "$here" && cargo build --release)
proj="$(mktemp -d)"; trap 'rm -rf "$proj"' EXIT
mkdir -p "$proj/engines" "$proj/scenarios"
cp "$shared/models/yolox_nano/yolox_nano.onnx" "$proj/engines/"
cp "$here/tests/fixtures/yolox_nano.adapter.yaml" "$proj/engines/"
cat > "$proj/scenarios/voc.yaml" <<YAML
schema_version: 1
id: voc
title: VOC photos
category: pedestrian
fps: 10
deadline_ms: 100
frames:
  files:
    glob: data/voc100/images/*.jpg
    labels: { format: voc, path: data/voc100/labels/voc_xml }
    ignore_classes: [aeroplane, bicycle, bird, boat, bottle, bus, car, cat, chair, cow, diningtable, dog, horse, motorbike, pottedplant, sheep, sofa, train, tvmonitor]
YAML
cd "$proj"
"$bin" engine freeze engines/yolox_nano.onnx --name yolox --adapter engines/yolox_nano.adapter.yaml >/dev/null
run_dir=$("$bin" validate --data-root "$shared" --max-frames "$frames" --repetitions "$reps" --warmup 5 2>/dev/null)
python3 - "$run_dir/latencies.csv" "$shared" "$frames" "$reps" <<'PY'
import csv, statistics, sys, time, os
import numpy as np, onnxruntime as ort
rows = list(csv.DictReader(open(sys.argv[1])))
tract = [int(r["infer_ns"]) / 1e6 for r in rows]
shared, frames, reps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x = np.random.default_rng(0).uniform(0, 255, (1, 3, 416, 416)).astype(np.float32)
res = {}
for threads in (1, os.cpu_count()):
    o = ort.SessionOptions(); o.intra_op_num_threads = threads
    s = ort.InferenceSession(os.path.join(shared, "models/yolox_nano/yolox_nano.onnx"), o, providers=["CPUExecutionProvider"])
    for _ in range(5): s.run(None, {"images": x})
    t = []
    for _ in range(frames * reps):
        t0 = time.perf_counter(); s.run(None, {"images": x}); t.append((time.perf_counter() - t0) * 1e3)
    res[threads] = t
print(f"cpu: {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}, {os.cpu_count()} cores")
print(f"tract (adasval cpu backend, 1 thread): median {statistics.median(tract):.2f} ms  p90 {np.percentile(tract, 90):.2f} ms  n={len(tract)}")
for k, v in res.items():
    print(f"onnxruntime {ort.__version__} ({k} thread{'s' if k > 1 else ''}): median {statistics.median(v):.2f} ms  p90 {np.percentile(v, 90):.2f} ms  n={len(v)}")
print(f"ratio tract / onnxruntime(1 thread): {statistics.median(tract) / statistics.median(res[1]):.2f}")
PY
