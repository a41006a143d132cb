#!/usr/bin/env bash
# Cross-compile adasval for aarch64-unknown-linux-gnu (Jetson) and smoke-test it under
# qemu-user: `adasval --version` and a CPU replay of a few demo frames.
#
# Needs: rustup target add aarch64-unknown-linux-gnu
#        apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
# Usage: scripts/cross_aarch64.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=aarch64-unknown-linux-gnu
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if [[ "${1:-}" != --no-build ]]; then
  rustup target list --installed | grep -qx "$TARGET" || {
    echo "missing: rustup target add $TARGET" >&2; exit 4; }
  command -v aarch64-linux-gnu-gcc >/dev/null || {
    echo "missing: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2; exit 4; }
  nice -n 19 cargo build --release --target "$TARGET" --bin adasval
fi
BIN="$CARGO_TARGET_DIR/$TARGET/release/adasval"
file "$BIN" | grep -q "ARM aarch64" || { echo "$BIN is not an aarch64 binary" >&2; exit 1; }
QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || { echo "missing: apt-get install qemu-user" >&2; exit 4; }
"${QEMU[@]}" "$BIN" --version

# A CPU replay of a few demo frames: YOLOX-Nano on VOC photos from the shared folder.
SHARED="${ADASVAL_SHARED:-$(pwd)/../shared}"
[[ -f "$SHARED/models/yolox_nano/yolox_nano.onnx" ]] || { echo "shared folder not found: $SHARED" >&2; exit 4; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/engines" "$WORK/scenarios" "$WORK/data"
cp "$SHARED/models/yolox_nano/yolox_nano.onnx" "$WORK/engines/"
cp tests/fixtures/yolox_nano.adapter.yaml "$WORK/engines/"
IMAGES=("$SHARED"/data/voc100/images/*.jpg)
cp "${IMAGES[@]:0:3}" "$WORK/data/"
cp "$SHARED/data/voc100/labels/coco_instances.json" "$WORK/data/labels.json"
cat > "$WORK/scenarios/demo.yaml" <<YAML
schema_version: 1
id: demo
title: Three VOC photos
category: pedestrian
fps: 10
deadline_ms: 1000
frames:
  files:
    glob: data/*.jpg
    labels: { format: coco, path: data/labels.json }
    class_map: { motorbike: motorcycle, aeroplane: airplane, sofa: couch, pottedplant: potted plant,
                 diningtable: dining table, tvmonitor: tv }
YAML
cp -r platforms "$WORK/"
( cd "$WORK"
  "${QEMU[@]}" "$BIN" engine freeze engines/yolox_nano.onnx --name yolox --adapter engines/yolox_nano.adapter.yaml
  "${QEMU[@]}" "$BIN" validate --backend cpu --max-frames 3 --repetitions 1 --warmup 0 --out run
  test -s run/run.json && test "$(wc -l < run/latencies.csv)" -eq 4 )
echo "aarch64 build OK: --version and a 3-frame CPU replay under qemu-aarch64"
