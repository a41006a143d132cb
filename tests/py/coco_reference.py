"""Reference COCO bbox evaluation with pycocotools (pinned in tests/requirements.txt).

usage: coco_reference.py GT_JSON DT_JSON [GT_JSON DT_JSON ...]
prints a JSON list, one entry per pair: {"stats": [12 numbers], "per_class":
[{"category_id", "AP", "AP50"}]}, the per-class numbers taken from COCOeval.eval['precision']
(area all, maxDets 100) as mean over entries > -1, -1 when none.
"""
import contextlib
import io
import json
import sys

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def mean_defined(a):
    a = a[a > -1]
    return float(np.mean(a)) if a.size else -1.0


def evaluate(gt_path, dt_path):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        e = COCOeval(gt, dt, "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    prec = e.eval["precision"]
    per_class = []
    for k, cat in enumerate(e.params.catIds):
        p = prec[:, :, k, 0, 2]
        per_class.append({"category_id": int(cat), "AP": mean_defined(p), "AP50": mean_defined(p[0])})
    return {"stats": [float(s) for s in e.stats], "per_class": per_class}


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps([evaluate(args[i], args[i + 1]) for i in range(0, len(args), 2)]))
