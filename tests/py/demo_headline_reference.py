"""The demo detector's headline counting as train/evaluate.py does it (`score`), on a run's
COCO files (golden.coco.json, detections.coco.json): the oracle of
tests/reference/demo_headline.rs, which compares it with `adasval eval --run --slice`.

usage: demo_headline_reference.py TRAIN_DIR RUN_DIR MIN_HEIGHT CONDITION|all STRICT(0|1)
Prints JSON {"tp", "fp", "gt"} for the pedestrian class.
"""
import json
import sys
from pathlib import Path

import numpy as np

train, run, min_h, cond, strict = sys.argv[1:6]
sys.path.insert(0, train)
import evaluate  # noqa: E402

gt = json.loads((Path(run) / "golden.coco.json").read_text())
dt = json.loads((Path(run) / "detections.coco.json").read_text())
names = {c["id"]: c["name"] for c in gt["categories"]}
# train/'s class order, so `score`'s class index 0 is the pedestrian.
assert evaluate.CLASSES[0] == "pedestrian" and names[1] == "pedestrian", names


def xyxy(b):
    return [b[0], b[1], b[0] + b[2], b[1] + b[3]]


records, detections = [], []
for img in gt["images"]:
    anns = [a for a in gt["annotations"] if a["image_id"] == img["id"]]
    records.append({
        "condition": img.get("condition"),
        "labels": np.array([a["category_id"] - 1 for a in anns], dtype=int),
        "boxes": np.array([xyxy(a["bbox"]) for a in anns], dtype=float).reshape(-1, 4),
        "ignore": np.array([bool(a.get("ignore")) or bool(a["iscrowd"]) for a in anns],
                           dtype=bool),
    })
    ds = [d for d in dt if d["image_id"] == img["id"]]
    detections.append((
        np.array([xyxy(d["bbox"]) for d in ds], dtype=float).reshape(-1, 4),
        np.array([d["category_id"] - 1 for d in ds], dtype=int),
        np.array([d["score"] for d in ds], dtype=float),
    ))
conditions = None if cond == "all" else {cond}
r = evaluate.score(records, detections, float(min_h), conditions, [0], strict=strict == "1")
p = r["pedestrian"]
print(json.dumps({"tp": p["tp"], "fp": p["fp"], "gt": p["gt"]}))
