# Shared by the GPU scripts (scripts/gpu_tests.sh, scripts/gpu_experiment.sh,
# bench/gpu_bench.sh, bench/gpu_fused_bench.sh, bench/gpu_sweep.sh); source it, do not run it.

# CUDA's own library folders, and cuDNN 9 from its Python wheel where the system has none.
gpu_libraries() {
  local d
  for d in /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib64; do
    [[ -d $d ]] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
  done
  if ! ldconfig -p 2>/dev/null | grep -q 'libcudnn.so.9'; then
    d=$(python3 -c 'import nvidia.cudnn, os; print(os.path.join(list(nvidia.cudnn.__path__)[0], "lib"))' 2>/dev/null || true)
    if [[ -n $d && -d $d ]]; then
      export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
      echo "cuDNN from the Python wheel: $d"
    fi
  fi
  return 0
}

# yolox_voc_project PROJECT REPO SHARED: YOLOX-Nano (engines/yolox_nano.onnx with
# engines/yolox.adapter.yaml) and the scenario `voc100` (the shared folder's 100 VOC photos,
# COCO classes; run with --data-root SHARED) added to a scratch project.
yolox_voc_project() {
  local p=$1 repo=$2 shared=$3
  mkdir -p "$p/engines" "$p/scenarios"
  cp "$shared/models/yolox_nano/yolox_nano.onnx" "$p/engines/yolox_nano.onnx" || return 1
  cp "$repo/tests/fixtures/yolox_nano.adapter.yaml" "$p/engines/yolox.adapter.yaml" || return 1
  cat >"$p/scenarios/voc100.yaml" <<YAML
schema_version: 1
id: voc100
title: 100 VOC 2007 photos (YOLOX-Nano, COCO classes)
category: pedestrian
tags: [real, day]
fps: 10
deadline_ms: 1000
frames:
  files:
    glob: data/voc100/images/*.jpg
    labels: { format: voc, path: data/voc100/labels/voc_xml }
    class_map: { motorbike: motorcycle }
    ignore_classes: [aeroplane, bird, boat, bottle, cat, chair, cow, diningtable, dog, horse, pottedplant, sheep, sofa, train, tvmonitor]
YAML
}

# bench_project OUT REPO SHARED: the GPU libraries (gpu_libraries), the card in $CARD and
# OUT/card.txt, a scratch project OUT/project ($W: the repository's engines, scenarios,
# platforms and safety case) made the current folder, and MODELS ("TAG MODEL ADAPTER"): the
# demo detector, and YOLOX-Nano with the voc100 scenario when the shared folder has it.
bench_project() {
  local out=$1 repo=$2 shared=$3 d
  gpu_libraries
  CARD=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
  echo "card: $CARD" | tee "$out/card.txt"
  W=$out/project
  rm -rf "$W"; mkdir -p "$W"
  for d in engines scenarios platforms safety-case; do [[ -d $repo/$d ]] && cp -r "$repo/$d" "$W/"; done
  cd "$W" || return 1
  MODELS=("demo engines/demo/detector.onnx engines/demo/adapter.yaml")
  if [[ -f $shared/models/yolox_nano/yolox_nano.onnx ]]; then
    yolox_voc_project "$W" "$repo" "$shared" || return 1
    MODELS+=("yolox engines/yolox_nano.onnx engines/yolox.adapter.yaml")
  fi
  return 0
}
