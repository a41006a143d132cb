#!/usr/bin/env bash
# The demo detector's headline figure, computed by adasval alone: renders the held-out
# random scenes (seeds 700000-700003, 1000 frames each, never used in training), replays them
# through the frozen engine on the CPU, and prints precision and recall of daylight
# pedestrians of at least 40 px at the adapter's score threshold, with 95% Clopper-Pearson
# intervals, under both rules for unmatched detections outside the size range.
#
# usage: engines/demo/heldout.sh [WORK_DIR]   (run from the project root; ~2 GB of PNGs)
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-target/heldout}"
adasval="${ADASVAL:-target/release/adasval}"
seeds=(700000 700001 700002 700003)
mkdir -p "$work/data"
# The scenarios exist only while this runs: their frames live outside the repository.
cleanup() { for s in "${seeds[@]}"; do rm -f "scenarios/heldout-$s.yaml"; done; }
trap cleanup EXIT
for s in "${seeds[@]}"; do
  [ -f "$work/data/heldout-$s/instances.json" ] \
    || "$adasval" -q scenario synth --seed "$s" --count 1000 --out "$work/data/heldout-$s"
  cat > "scenarios/heldout-$s.yaml" <<YAML
schema_version: 1
id: heldout-$s
title: Held-out random scenes of the demo detector (seed $s)
category: pedestrian
tags: [heldout]
fps: 10
deadline_ms: 1000
frames:
  files:
    glob: data/heldout-$s/images/*.png
    labels: { format: coco, path: data/heldout-$s/instances.json }
YAML
done
rm -rf "$work/run"
# Exit 1 is a failed gate of the project's requirements on these scenes, not an error here.
"$adasval" -q validate --engine demo-detector --tags heldout --data-root "$work" \
  --repetitions 1 --warmup 0 --out "$work/run" || [ $? -eq 1 ]
"$adasval" eval --run "$work/run" \
  --slice '{class: pedestrian, min_height: 40, condition: day}' \
  --slice '{class: pedestrian, min_height: 40, condition: day, outside: counted}' "${@:2}"
