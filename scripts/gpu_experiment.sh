#!/usr/bin/env bash
# The study's rebuild experiment on our own cards (issue 7 item 6, issue 10 item 4): build
# the YOLOX-Nano plan N times on this card, then run every plan present (this card's and
# any built elsewhere) on this card over the 100 VOC photos. Run it on each card in turn,
# carrying the other card's plans along:
#
#   scripts/gpu_experiment.sh --bin adasval --card h100 --out res-h100 --builds 3
#   scripts/gpu_experiment.sh --bin adasval --card h200 --out res-h200 --builds 3 --plans res-h100/plans
#   scripts/gpu_experiment.sh --bin adasval --card h100 --out res-h100b --builds 0 --plans res-h200/plans
#
# Writes, under --out: plans/<engine>.cudaplan (this card's builds), runs/<engine>@<card>/
# (sealed validate runs), runs/…-profile/ (per-layer times, one per plan), diff-*.txt
# (engine diff of build 1 against the others), compare/ (the raw outputs of every plan on
# this card against each other: decision flips, output agreement) and summary.md. Then,
# anywhere: `adasval matrix runs/*` and `adasval diff A B`.
set -uo pipefail
BIN=; CARD=; OUT=; BUILDS=3; PLANS=; REPS=5; PRECISION=fp32; TACTICS=measured
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${ADASVAL_SHARED:-$REPO/../shared}
# shellcheck source=scripts/gpu_common.sh
source "$REPO/scripts/gpu_common.sh"
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --card) CARD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --builds) BUILDS=$2; shift 2 ;;
    --plans) PLANS=$(cd "$2" && pwd); shift 2 ;;
    --repetitions) REPS=$2; shift 2 ;;
    --precision) PRECISION=$2; shift 2 ;;
    --tactics) TACTICS=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
  esac
done
[[ -n $BIN && -n $CARD && -n $OUT ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
[[ -f $SHARED/models/yolox_nano/yolox_nano.onnx && -d $SHARED/data/voc100 ]] || {
  echo "needs \$ADASVAL_SHARED with models/yolox_nano and data/voc100 (got $SHARED)" >&2; exit 4; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
SHARED=$(cd "$SHARED" && pwd)
gpu_libraries
if [[ -d $OUT && -n $(ls -A "$OUT") ]]; then
  echo "--out $OUT is not empty: give a fresh directory" >&2; exit 2
fi
mkdir -p "$OUT/plans" "$OUT/runs"
OUT=$(cd "$OUT" && pwd)
S=$OUT/summary.md
note() { echo "$*" | tee -a "$S"; }
: >"$S"
note "# YOLOX-Nano plans on $CARD ($(date -u +%FT%TZ))"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv | tee -a "$S"

P=$(mktemp -d)
cp -r "$REPO/platforms" "$P/"
yolox_voc_project "$P" "$REPO" "$SHARED" || exit 1
cd "$P" || exit 1
ENGINES=()
for b in $(seq 1 "$BUILDS"); do
  n=yolox-$CARD-$PRECISION-b$b
  "$BIN" engine build --backend cuda engines/yolox_nano.onnx --precision "$PRECISION" --tactics "$TACTICS" \
    --name "$n" --adapter engines/yolox.adapter.yaml --out "engines/$n.cudaplan" >"$OUT/build-$n.log" 2>&1
  note "- build $n: exit $?"
  cp "engines/$n.cudaplan" "$OUT/plans/"
  ENGINES+=("$n")
  [[ $b -gt 1 ]] && "$BIN" engine diff "yolox-$CARD-$PRECISION-b1" "$n" >"$OUT/diff-b1-b$b.txt" 2>&1
done
if [[ -n $PLANS ]]; then
  for f in "$PLANS"/*.cudaplan; do
    n=$(basename "$f" .cudaplan)
    from=${n#yolox-}; from=nvidia-${from%%-*}
    cp "$f" "engines/$n.cudaplan"
    "$BIN" engine freeze "engines/$n.cudaplan" --name "$n" --format cuda-plan --built-on "$from" \
      --adapter engines/yolox.adapter.yaml --source-model engines/yolox_nano.onnx >>"$OUT/freeze.log" 2>&1
    note "- freeze $n (built on $from): exit $?"
    ENGINES+=("$n")
  done
fi
RUNS=(); OUTRUNS=()
for n in "${ENGINES[@]}"; do
  r=$OUT/runs/$n@$CARD
  "$BIN" validate --backend cuda --engine "$n" --scenario voc100 --data-root "$SHARED" \
    --repetitions "$REPS" --out "$r" >"$OUT/run-$n.log" 2>&1
  note "- run $n on $CARD: exit $? ($(grep -m1 -E 'infer p50' "$OUT/run-$n.log" | tr -s ' '))"
  RUNS+=("$r")
  "$BIN" validate --backend cuda --engine "$n" --scenario voc100 --data-root "$SHARED" \
    --repetitions 1 --profile --out "$r-profile" >"$OUT/profile-$n.log" 2>&1
  note "- profile $n on $CARD: exit $?"
  # Raw outputs (1.2 MB a frame) are compared here and not brought back.
  "$BIN" validate --backend cuda --engine "$n" --scenario voc100 --data-root "$SHARED" \
    --repetitions 1 --save-outputs --out "$P/outputs/$n" >"$OUT/outputs-$n.log" 2>&1
  OUTRUNS+=("$P/outputs/$n")
done
"$BIN" compare "${OUTRUNS[@]}" --format json --out "$OUT/compare" >"$OUT/compare.log" 2>&1
note "- compare of ${#OUTRUNS[@]} runs with raw outputs on $CARD: exit $?"
note ""
note "## engine diff of build 1 against later builds"
for f in "$OUT"/diff-*.txt; do [[ -f $f ]] && { note "### $(basename "$f")"; head -40 "$f" | tee -a "$S" >/dev/null; }; done
exit 0
