#!/usr/bin/env bash
# Multi-camera concurrency on one GPU (issue 8 items 3 and 4; the study's Figures 3 and 4):
# builds the demo detector's and YOLOX-Nano's FP32 plans on this card, then runs
# `adasval sweep --backend cuda` over 1..64 camera streams with 3 single-stream stability
# runs. Builds nothing from source; takes the release binary.
#
#   bench/gpu_sweep.sh --bin adasval --out DIR [--streams 1,2,4,8,16,32,64] [--shared DIR]
set -uo pipefail
BIN=; OUT=; STREAMS=1,2,4,8,16,32,64
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${ADASVAL_SHARED:-$REPO/../shared}
# shellcheck source=scripts/gpu_common.sh
source "$REPO/scripts/gpu_common.sh"
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --streams) STREAMS=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
  esac
done
[[ -n $BIN && -n $OUT ]] || { sed -n '2,8p' "$0" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
gpu_libraries
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
P=$(mktemp -d)
cp -r "$REPO/engines" "$REPO/scenarios" "$REPO/platforms" "$P/"
cd "$P" || exit 1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
"$BIN" engine build --backend cuda engines/demo/detector.onnx --precision fp32 --name demo-cuda \
  --adapter engines/demo/adapter.yaml --out engines/demo-cuda.cudaplan >"$OUT/build-demo.log" 2>&1
echo "build demo: $?"
"$BIN" sweep --backend cuda --engine demo-cuda --scenario timing-loop --repetitions 5 \
  --streams "$STREAMS" --runs 3 --out "$OUT/sweep-demo" >"$OUT/sweep-demo.log" 2>&1
echo "sweep demo: $?"
if [[ -f $SHARED/models/yolox_nano/yolox_nano.onnx && -d $SHARED/data/voc100 ]]; then
  yolox_voc_project "$P" "$REPO" "$SHARED" || exit 1
    "$BIN" engine build --backend cuda engines/yolox_nano.onnx --precision fp32 --name yolox-cuda \
    --adapter engines/yolox.adapter.yaml --out engines/yolox-cuda.cudaplan >"$OUT/build-yolox.log" 2>&1
  echo "build yolox: $?"
  "$BIN" sweep --backend cuda --engine yolox-cuda --scenario voc100 --data-root "$SHARED" \
    --repetitions 3 --streams "$STREAMS" --runs 3 --out "$OUT/sweep-yolox" >"$OUT/sweep-yolox.log" 2>&1
  echo "sweep yolox: $?"
fi
