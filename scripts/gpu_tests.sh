#!/usr/bin/env bash
# The CUDA backend on a GPU machine: what a person runs there. Builds nothing; takes the
# release binary and the GPU test binary built elsewhere:
#
#   cargo build --release
#   cargo test --release --test gpu --no-run   # prints the test binary's path
#   scripts/gpu_tests.sh --bin target/release/adasval --test-bin target/release/deps/gpu-XXXX \
#       --out gpu-results [--builds 3] [--max-frames 20] [--precisions fp32,fp16]
#
# Steps (each logged, none stops the others; the exit status is 1 if any failed):
#   1. fingerprint: nvidia-smi, library versions as adasval sees them;
#   2. the GPU tests (tests/gpu/gpu_cuda.rs): executor vs a naive CPU interpreter, the builder's
#      reference interpreter and tract, on hand-built plans, the demo detector and YOLOX-Nano;
#   3. `engine build --backend cuda` of the demo detector (and YOLOX-Nano when the shared
#      folder has it) per precision, --builds times, each frozen in a scratch project, with
#      `engine inspect` of the first build and `engine diff` of build 1 against every other;
#   4. `validate --backend cuda` of every fp32 and fp16 demo plan on all demo scenarios
#      (with --save-outputs), one more --profile run (layers.json), a CPU run of the
#      ONNX demo detector, and `adasval compare` of the CPU run with the GPU runs;
#   5. summary.md: exit codes, decision flips per pair, latency lines.
#
# Plans made elsewhere (the H100 × H200 experiment) can be run here too:
#   --plans DIR   also freeze and validate (with --force) every DIR/*.cudaplan and compare
#                 each run with the CPU run; --plans-model demo (default: demo scenarios)
#                 or yolox (the VOC photos, see below).
# YOLOX-Nano on real photos: when the shared folder has data/voc100, a second scratch
# project runs the ONNX model on the CPU and the first YOLOX plan of each precision on the
# GPU over the 100 VOC photos (scenario `voc100`, data root = the shared folder) and
# compares them.
set -uo pipefail

usage() { sed -n '2,31p' "$0"; }

REPO=${ADASVAL_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${ADASVAL_BIN:-$REPO/target/release/adasval}
TEST_BIN=${ADASVAL_GPU_TEST_BIN:-}
OUT=gpu-results
BUILDS=1
MAX_FRAMES=
PRECISIONS=fp32,fp16
TACTICS=measured
PLANS=
PLANS_MODEL=demo
SKIP_TESTS=
SHARED=${ADASVAL_SHARED:-$REPO/../shared}
# shellcheck source=scripts/gpu_common.sh
source "$REPO/scripts/gpu_common.sh"
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --test-bin) TEST_BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --builds) BUILDS=$2; shift 2 ;;
    --max-frames) MAX_FRAMES=$2; shift 2 ;;
    --precisions) PRECISIONS=$2; shift 2 ;;
    --tactics) TACTICS=$2; shift 2 ;;
    --plans) PLANS=$(cd "$2" && pwd); shift 2 ;;
    --plans-model) PLANS_MODEL=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    --skip-tests) SKIP_TESTS=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUMMARY=$OUT/summary.md
FAILED=0

gpu_libraries

note() { echo "$*" | tee -a "$SUMMARY"; }
step() { # step NAME CMD...: run, log to $OUT/NAME.log, record the exit code
  local name=$1; shift
  echo "== $name: $*"
  "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  # validate: 1 means a requirement failed (the demo does not meet all of them), not that
  # the run failed.
  [[ $name == run-* && $rc -eq 1 ]] && { note "| $name | 1 (gate failed: judged, not broken) | \`$*\` |"; return 0; }
  note "| $name | $rc | \`$*\` |"
  [[ $rc -ne 0 ]] && tail -20 "$OUT/$name.log"
  return $rc
}

: >"$SUMMARY"
note "# CUDA backend on $(hostname) — $(date -u +%FT%TZ)"
note ""
note '```'
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm,clocks.max.mem,temperature.gpu,power.draw,ecc.mode.current --format=csv 2>&1 | tee -a "$SUMMARY"
note '```'
note ""
note "| step | exit | command |"
note "|---|---|---|"

# 2. GPU tests.
if [[ -n $TEST_BIN && -z $SKIP_TESTS ]]; then
  (cd "$REPO" && step tests env ADASVAL_REPO="$REPO" ADASVAL_SHARED="$SHARED" "$TEST_BIN" --test-threads=1 --nocapture) || FAILED=1
  grep -E "relative L2|SKIP|test result|panicked" "$OUT/tests.log" | head -80 >>"$OUT/tests-digest.txt"
fi

# 3. A scratch project: the repository's demo engines, scenarios, platforms and safety case.
W=$OUT/project
rm -rf "$W"; mkdir -p "$W"
for d in engines scenarios platforms safety-case; do
  [[ -d $REPO/$d ]] && cp -r "$REPO/$d" "$W/"
done
cd "$W" || exit 1
MODELS=("demo engines/demo/detector.onnx engines/demo/adapter.yaml")
if [[ -f $SHARED/models/yolox_nano/yolox_nano.onnx ]]; then
  cp "$SHARED/models/yolox_nano/yolox_nano.onnx" engines/yolox_nano.onnx
  cp "$REPO/tests/fixtures/yolox_nano.adapter.yaml" engines/yolox.adapter.yaml
  MODELS+=("yolox engines/yolox_nano.onnx engines/yolox.adapter.yaml")
fi
IFS=, read -ra PRECS <<<"$PRECISIONS"
for m in "${MODELS[@]}"; do
  read -r tag model adapter <<<"$m"
  for p in "${PRECS[@]}"; do
    for b in $(seq 1 "$BUILDS"); do
      name="$tag-cuda-$p-b$b"
      step "build-$name" "$BIN" engine build --backend cuda "$model" --precision "$p" \
        --tactics "$TACTICS" --name "$name" --adapter "$adapter" \
        --out "engines/$name.cudaplan" || FAILED=1
      [[ $b -gt 1 ]] && { step "diff-$tag-$p-b1-b$b" "$BIN" engine diff "$tag-cuda-$p-b1" "$name"; true; }
    done
    step "inspect-$tag-cuda-$p-b1" "$BIN" engine inspect "$tag-cuda-$p-b1" || FAILED=1
  done
done

# 4. Runs on the demo scenarios and the comparison with the CPU.
MF=(); [[ -n $MAX_FRAMES ]] && MF=(--max-frames "$MAX_FRAMES")
step run-cpu "$BIN" validate --backend cpu --engine demo-detector --save-outputs "${MF[@]}" \
  --out "$OUT/run-cpu" || FAILED=1
RUNS=()
for p in "${PRECS[@]}"; do
  step "run-demo-cuda-$p" "$BIN" validate --backend cuda --engine "demo-cuda-$p-b1" --save-outputs \
    "${MF[@]}" --out "$OUT/run-demo-cuda-$p"
  RUNS+=("$OUT/run-demo-cuda-$p")
done
step run-demo-cuda-fp32-profile "$BIN" validate --backend cuda --engine demo-cuda-fp32-b1 --profile \
  "${MF[@]}" --out "$OUT/run-demo-cuda-fp32-profile"
if [[ $BUILDS -gt 1 ]]; then
  # The same model rebuilt: per-layer time and kernel-choice changes as `adasval diff` shows them.
  step run-demo-cuda-fp32-b2-profile "$BIN" validate --backend cuda --engine demo-cuda-fp32-b2 --profile \
    "${MF[@]}" --out "$OUT/run-demo-cuda-fp32-b2-profile"
  step diff-runs-demo-fp32-b1-b2 "$BIN" diff "$OUT/run-demo-cuda-fp32-profile" \
    "$OUT/run-demo-cuda-fp32-b2-profile" --out "$OUT/diff-demo-fp32-b1-b2"
  true
fi
# Plans from elsewhere, frozen here under x-<file name>.
freeze_and_run_plans() { # ADAPTER EXTRA_VALIDATE_ARGS...
  local adapter=$1; shift
  for f in "$PLANS"/*.cudaplan; do
    local n; n=$(basename "$f" .cudaplan)
    cp "$f" "engines/x-$n.cudaplan"
    step "freeze-x-$n" "$BIN" engine freeze "engines/x-$n.cudaplan" --name "x-$n" --format cuda-plan \
      --adapter "$adapter" --replace
    step "run-x-$n" "$BIN" validate --backend cuda --force --engine "x-$n" --save-outputs "$@" \
      --out "$OUT/run-x-$n"
    RUNS+=("$OUT/run-x-$n")
  done
}
[[ -n $PLANS && $PLANS_MODEL == demo ]] && freeze_and_run_plans engines/demo/adapter.yaml "${MF[@]}"
COMPARES=()
for r in "${RUNS[@]}"; do COMPARES+=("$OUT/run-cpu|$r"); done

# YOLOX-Nano on the VOC photos (needs the shared folder's data/voc100).
if [[ -d $SHARED/data/voc100 && -f engines/yolox_nano.onnx ]]; then
  Y=$OUT/project-yolox
  rm -rf "$Y"; mkdir -p "$Y/engines" "$Y/scenarios"
  cp -r platforms "$Y/" 2>/dev/null
  yolox_voc_project "$Y" "$REPO" "$SHARED" || exit 1
  for p in "${PRECS[@]}"; do cp "engines/yolox-cuda-$p-b1.cudaplan" "$Y/engines/" 2>/dev/null; done
  cd "$Y" || exit 1
  step freeze-yolox-onnx "$BIN" engine freeze engines/yolox_nano.onnx --name yolox-onnx \
    --adapter engines/yolox.adapter.yaml || FAILED=1
  YV=(--data-root "$SHARED" --scenario voc100 --save-outputs "${MF[@]}")
  step run-yolox-cpu "$BIN" validate --backend cpu --engine yolox-onnx "${YV[@]}" --out "$OUT/run-yolox-cpu"
  for p in "${PRECS[@]}"; do
    [[ -f engines/yolox-cuda-$p-b1.cudaplan ]] || continue
    step "freeze-yolox-cuda-$p" "$BIN" engine freeze "engines/yolox-cuda-$p-b1.cudaplan" \
      --name "yolox-cuda-$p-b1" --format cuda-plan --adapter engines/yolox.adapter.yaml \
      --source-model engines/yolox_nano.onnx || FAILED=1
    step "run-yolox-cuda-$p" "$BIN" validate --backend cuda --engine "yolox-cuda-$p-b1" "${YV[@]}" \
      --out "$OUT/run-yolox-cuda-$p"
    COMPARES+=("$OUT/run-yolox-cpu|$OUT/run-yolox-cuda-$p")
  done
  if [[ -n $PLANS && $PLANS_MODEL == yolox ]]; then
    RUNS=()
    freeze_and_run_plans engines/yolox.adapter.yaml "${YV[@]}"
    for r in "${RUNS[@]}"; do COMPARES+=("$OUT/run-yolox-cpu|$r"); done
  fi
  cd "$W" || exit 1
fi

for c in "${COMPARES[@]}"; do
  cpu=${c%%|*}; gpu=${c##*|}
  step "compare-$(basename "$cpu")-$(basename "$gpu")" "$BIN" compare "$cpu" "$gpu" --format json \
    --out "$OUT/compare-$(basename "$gpu")" || FAILED=1
done

# 5. Summary: decision flips and latency.
note ""
note "## Decision flips, CPU (tract) vs CUDA"
for pair in "${COMPARES[@]}"; do
  r=${pair##*|}
  c=$OUT/compare-$(basename "$r")/compare.json
  [[ -f $c ]] || continue
  python3 - "$c" "$(basename "${pair%%|*}") vs $(basename "$r")" <<'EOF' | tee -a "$SUMMARY"
import json, sys
c = json.load(open(sys.argv[1]))
flips = sum(p["decision_flips"] for p in c["pairs"])
frames = sum(p["frames_compared"] for p in c["pairs"])
worst = [o for p in c["pairs"] for o in p.get("outputs", [])]
print(f"- {sys.argv[2]}: {flips} decision flips over {frames} frames in {len(c['pairs'])} scenarios"
      + ("  (SAME DETECTIONS)" if flips == 0 else ""))
for p in c["pairs"]:
    if p["decision_flips"]:
        print(f"  - {p['scenario']}: {p['decision_flips']} flips, frames {p['flipped_frames'][:10]}")
EOF
done
note ""
note "## Latency (validate's summary lines)"
for r in "$OUT"/run-*.log; do
  note "### $(basename "$r" .log)"
  note '```'
  grep -E "infer p50|INCOMPLETE" "$r" | head -20 | tee -a "$SUMMARY" >/dev/null
  note '```'
done
note ""
note "overall: $([[ $FAILED -eq 0 ]] && echo PASS || echo FAIL)"
exit $FAILED
