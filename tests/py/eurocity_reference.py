"""Reference for adasval's EuroCity Persons subsets (crates/judge/src/metrics/eurocity.rs).

The ECP devkit (`eval.py`, `params.py`, `match.py`, `statistics.py` of the EuroCity Persons
benchmark) is not on PyPI, so it cannot be installed in CI; this script re-implements its
logic, written from reading that code, in plain Python: `ParamsFactory.ignore_gt` (identity,
`occluded>N` / `truncated>N` tags, size and occlusion limits per difficulty, ignore values 0,
1, 2), `preprocess_gt` / `preprocess_det` with `clipping_boxes` (to the frame's size here,
1920 x 1024 in ECP), `skip_det` (expFilter 1.25), `iou_ecp` (ignore 2: intersection over the
detection's area), the `Evaluator` loop (dets by score, gts by ignore value, the `break`, the
`better_than` with >=), `Result` (ignored detections removed, cumulative TP / FP) and
`MrFppi.log_avg_mr_reference_implementation`.

Where adasval's objects differ from ECP's annotations, the mapping is adasval's documented
one: a fraction becomes the tag of its level (> 0.8: `>80`, > 0.4: `>40`, > 0.1: `>10`); an
ignore region or crowd box of the pedestrian class is `person-group-far-away`; a `rider`
object is a rider; an object whose occlusion or truncation is unknown is ignore value 1
(the devkit would read a missing tag as 0, but ECP tags every object).

Reads {"frames": [{"width", "height", "gt": [{"bbox", "kind": "pedestrian" | "rider" |
"other", "region": bool, "occlusion", "truncation"}], "dt": [{"bbox", "score"}]}], "iou"} on
stdin; prints per difficulty and rider setting the counts and the log-average miss rate.
"""

import json
import re
import sys

import numpy as np

SIZE = {"reasonable": 40, "small": 30, "occluded": 40, "all": 20}
OCC = {"reasonable": 40, "small": 40, "occluded": 80, "all": 80}
SIZE_UPPER = {"small": 60}
OCC_LOWER = {"occluded": 40}
EXP_FILTER = 1.25


def tag(prefix, fraction):
    # adasval stores fractions as float32: 0.4 is float32(0.4), which is not above 0.4.
    for level in (80, 40, 10):
        if np.float32(fraction) > np.float32(level / 100):
            return [f"{prefix}>{level}"]
    return []


def identity(g):
    if g["kind"] == "pedestrian":
        return "person-group-far-away" if g["region"] else "pedestrian"
    if g["kind"] == "rider":
        return "rider+vehicle-group-far-away" if g["region"] else "rider"
    return "car"


def clip(b, w, h):
    """`clipping_boxes` (boxes that meet the frame, as the test's do)."""
    return {
        "x0": max(0.0, b[0]),
        "y0": max(0.0, b[1]),
        "x1": min(float(w), b[0] + b[2]),
        "y1": min(float(h), b[1] + b[3]),
    }


def ignore_gt(gt, difficulty, tolerate_riders):
    h = gt["y1"] - gt["y0"]
    ident = gt["identity"]
    if ident == "pedestrian":
        pass
    elif tolerate_riders and ident == "rider":
        return 1
    elif ident == "person-group-far-away":
        return 2
    else:
        return None
    if gt["unknown"]:
        return 1
    truncation = occlusion = 0
    for t in gt["tags"]:
        if "occluded" in t:
            m = re.findall(r"\d+", t)
            if len(m) == 1:
                occlusion = int(m[0])
        elif "truncated" in t:
            m = re.findall(r"\d+", t)
            if len(m) == 1:
                truncation = int(m[0])
    if h < SIZE[difficulty] or occlusion >= OCC[difficulty] or truncation >= OCC[difficulty]:
        return 1
    if difficulty in SIZE_UPPER and h > SIZE_UPPER[difficulty]:
        return 1
    if difficulty in OCC_LOWER and occlusion < OCC_LOWER[difficulty]:
        return 1
    return 0


def skip_det(det, difficulty):
    height = det["y1"] - det["y0"]
    too_small = height <= SIZE[difficulty] / EXP_FILTER
    too_high = difficulty in SIZE_UPPER and height >= SIZE_UPPER[difficulty] * EXP_FILTER
    return too_small or too_high


def iou_ecp(gt, det):
    w = min(gt["x1"], det["x1"]) - max(gt["x0"], det["x0"])
    h = min(gt["y1"], det["y1"]) - max(gt["y0"], det["y0"])
    inter = 0.0 if w <= 0 or h <= 0 else w * h
    if inter == 0:
        return 0.0
    det_area = (det["x1"] - det["x0"]) * (det["y1"] - det["y0"])
    gt_area = (gt["x1"] - gt["x0"]) * (gt["y1"] - gt["y0"])
    if gt["ignore"] == 2:
        union = det_area
    else:
        union = det_area + gt_area - inter
    return inter / union


def evaluate(frames, difficulty, tolerate_riders, thr):
    all_dets, n_gts, filtered = [], 0, 0
    for f in frames:
        w, h = f["width"], f["height"]
        gts = []
        for g in f["gt"]:
            gt = clip(g["bbox"], w, h)
            gt["identity"] = identity(g)
            gt["unknown"] = g["occlusion"] is None or g["truncation"] is None
            gt["tags"] = (
                []
                if gt["unknown"]
                else tag("occluded", g["occlusion"]) + tag("truncated", g["truncation"])
            )
            gt["ignore"] = ignore_gt(gt, difficulty, tolerate_riders)
            if gt["ignore"] is None:
                continue
            gt["matched"] = 0
            gts.append(gt)
        dets = []
        for d in f["dt"]:
            det = clip(d["bbox"], w, h)
            det["score"] = d["score"]
            if skip_det(det, difficulty):
                filtered += 1
                continue
            det["matched"] = 0
            dets.append(det)
        dets.sort(key=lambda k: k["score"], reverse=True)
        gts.sort(key=lambda k: k["ignore"])
        for det in dets:
            current, best, with_ignore = None, -1, False
            for i, gt in enumerate(gts):
                if best >= 0 and not with_ignore and gt["ignore"]:
                    break
                if gt["matched"]:
                    continue
                score = iou_ecp(gt, det)
                if not score >= thr:
                    continue
                if current is not None and not score >= current:
                    continue
                current, best = score, i
                if gt["ignore"]:
                    with_ignore = True
            if best >= 0:
                det["matched"] = -1 if with_ignore else 1
                if not with_ignore:
                    gts[best]["matched"] = 1
        n_gts += sum(1 for g in gts if g["ignore"] == 0)
        all_dets.extend(dets)
    all_dets.sort(key=lambda k: k["score"], reverse=True)
    kept = [d for d in all_dets if d["matched"] != -1]
    tp = np.array([1 if d["matched"] == 1 else 0 for d in kept])
    fp = 1 - tp
    out = {
        "objects": n_gts,
        "tp": int(tp.sum()),
        "fp": int(fp.sum()),
        "ignored": len(all_dets) - len(kept),
        "filtered_out": filtered,
        "lamr": None,
    }
    if n_gts == 0:
        return out
    # statistics.py MrFppi.log_avg_mr_reference_implementation
    ys = np.cumsum(tp) / n_gts
    xs = np.cumsum(fp) / len(frames)
    ref = np.power(10, np.linspace(-2, 0, 9))
    result = np.zeros(ref.shape)
    for i in range(len(ref)):
        j = np.argwhere(xs <= ref[i]).flatten()
        if j.size:
            result[i] = ys[j[-1]]
    out["lamr"] = float(np.exp(np.mean(np.log(np.maximum(1e-10, 1 - result)))))
    return out


def main():
    req = json.load(sys.stdin)
    out = []
    for tolerate in (False, True):
        for difficulty in ("reasonable", "small", "occluded", "all"):
            r = evaluate(req["frames"], difficulty, tolerate, req["iou"])
            r["name"] = difficulty
            r["riders_tolerated"] = tolerate
            out.append(r)
    json.dump({"subsets": out}, sys.stdout)


if __name__ == "__main__":
    main()
