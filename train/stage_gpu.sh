#!/usr/bin/env bash
# Stage what the GPU training run needs into <checkout>/.gpu (git-ignored), which the device
# tool carries to the GPU machine: the release adasval binary and the train/ scripts.
#   train/stage_gpu.sh /work/main          (CARGO_TARGET_DIR must point at the release build)
set -euo pipefail
dest="${1:?checkout that the device tool sends}/.gpu"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${CARGO_TARGET_DIR:-$here/target}/release/adasval"
mkdir -p "$dest/train"
cp "$bin" "$dest/adasval"
cp "$here"/train/*.py "$dest/train/"
"$dest/adasval" --version
ls -la "$dest" "$dest/train"
