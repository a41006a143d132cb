"""Independent reference for adasval's per-frame detection metrics, written from the
definitions (not from adasval's code):

- matching per frame and class: detections by descending score (stable); a detection takes
  the free regular object with the highest IoU >= t (ties: the later object, as pycocotools);
  failing that, an ignore region (ignore or crowd flag; crowd IoU = intersection / detection
  area) with IoU >= t makes it neither TP nor FP; otherwise FP. Ignore regions are never
  consumed and never missed.
- Clopper-Pearson intervals: statsmodels proportion_confint(method='beta').
- LAMR (Dollar et al. PAMI 2012): MR at the largest FPPI <= each of np.logspace(-2, 0, 9),
  1.0 where none, geometric mean with MR floored at 1e-10.
- height floor (`min_height`, pycocotools' area-range rule on box height): ground truth
  lower than the floor is an ignore region; a detection lower than the floor that is not a
  true positive is ignored (neither TP nor FP).
- COCO AP: pycocotools on the frames written as a COCO dataset (only when no object is an
  ignore region without being a crowd, which COCO cannot express).

usage: coco_frames_reference.py FRAMES_JSON  (prints JSON)
"""
import contextlib
import io
import json
import sys

import numpy as np
from statsmodels.stats.proportion import proportion_confint


def iou(d, g, crowd):
    dx1, dy1, dw, dh = d
    gx1, gy1, gw, gh = g
    w = min(dx1 + dw, gx1 + gw) - max(dx1, gx1)
    h = min(dy1 + dh, gy1 + gh) - max(dy1, gy1)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = dw * dh if crowd else dw * dh + gw * gh - inter
    return inter / union


def match(gts, dets, thr):
    """Returns (outcomes per det: 'tp'|'fp'|'ign', number of missed regular objects)."""
    thr = min(thr, 1 - 1e-10)
    order = sorted(range(len(dets)), key=lambda i: -dets[i]["score"])
    taken = [False] * len(gts)
    out = ["fp"] * len(dets)
    for i in order:
        d = dets[i]
        best, bj = thr, None
        for j, g in enumerate(gts):
            if g["ignore"] or g["crowd"] or taken[j]:
                continue
            o = iou(d["bbox"], g["bbox"], False)
            if o >= best:
                best, bj = o, j
        if bj is not None:
            taken[bj] = True
            out[i] = "tp"
            continue
        if any(iou(d["bbox"], g["bbox"], g["crowd"]) >= thr for g in gts if g["ignore"] or g["crowd"]):
            out[i] = "ign"
    missed = sum(1 for j, g in enumerate(gts) if not (g["ignore"] or g["crowd"]) and not taken[j])
    return out, missed


def ci(x, n, conf):
    if n == 0:
        return None
    lo, hi = proportion_confint(x, n, alpha=1 - conf, method="beta")
    return [float(lo), float(hi)]


def lamr(scored, positives, n_frames):
    ranked = sorted([s for s in scored if s[1] != "ign"], key=lambda s: -s[0])
    tp = np.cumsum([1 if o == "tp" else 0 for _, o in ranked])
    fp = np.cumsum([1 if o == "fp" else 0 for _, o in ranked])
    fppi = fp / n_frames
    mr = 1 - tp / positives
    refs = np.logspace(-2, 0, 9)
    mrs = []
    for r in refs:
        idx = np.where(fppi <= r)[0]
        mrs.append(float(mr[idx[-1]]) if len(idx) else 1.0)
    return float(np.exp(np.mean(np.log(np.maximum(1e-10, mrs))))), mrs


def coco_ap(frames, classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    images = [{"id": i + 1} for i in range(len(frames))]
    cats = [{"id": c + 1, "name": n} for c, n in enumerate(classes)]
    anns, dts = [], []
    for i, f in enumerate(frames):
        for g in f["gt"]:
            b = g["bbox"]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": g["class_id"] + 1,
                         "bbox": b, "area": b[2] * b[3], "iscrowd": int(g["crowd"])})
        for d in f["dets"]:
            dts.append({"image_id": i + 1, "category_id": d["class_id"] + 1, "bbox": d["bbox"],
                        "score": d["score"]})
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns, "categories": cats}
        gt.createIndex()
        dt = gt.loadRes(dts)
        e = COCOeval(gt, dt, "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return [float(s) for s in e.stats]


def sized(frames, min_height):
    """Frames with ground truth below the floor turned into ignore regions."""
    if min_height is None:
        return frames
    return [dict(fr, gt=[dict(g, ignore=g["ignore"] or g["bbox"][3] < min_height) for g in fr["gt"]])
            for fr in frames]


def sized_match(gts, dets, thr, min_height):
    out, missed = match(gts, dets, thr)
    if min_height is not None:
        out = ["ign" if o == "fp" and d["bbox"][3] < min_height else o for o, d in zip(out, dets)]
    return out, missed


def main(path):
    with open(path) as f:
        spec = json.load(f)
    frames, classes, conf = spec["frames"], spec["classes"], spec["confidence"]
    mh = spec.get("min_height")
    coco_frames, frames = frames, sized(frames, mh)
    per_class = []
    totals = {t: [0, 0, 0] for t in spec["iou_thresholds"]}
    for c in range(len(classes)):
        at = []
        for t in spec["iou_thresholds"]:
            tp = fp = fn = 0
            for fr in frames:
                gts = [g for g in fr["gt"] if g["class_id"] == c]
                dets = [d for d in fr["dets"] if d["class_id"] == c]
                out, missed = sized_match(gts, dets, t, mh)
                tp += out.count("tp")
                fp += out.count("fp")
                fn += missed
            totals[t][0] += tp
            totals[t][1] += fp
            totals[t][2] += fn
            at.append({"tp": tp, "fp": fp, "fn": fn, "precision_ci": ci(tp, tp + fp, conf),
                       "recall_ci": ci(tp, tp + fn, conf)})
        per_class.append(at)
    overall = [{"tp": v[0], "fp": v[1], "fn": v[2], "precision_ci": ci(v[0], v[0] + v[1], conf),
                "recall_ci": ci(v[0], v[0] + v[2], conf)} for v in totals.values()]
    result = {"per_class": per_class, "overall": overall, "lamr": None, "ap": None}
    ped = spec.get("pedestrian_class")
    if ped in classes:
        c = classes.index(ped)
        scored, positives = [], 0
        for fr in frames:
            gts = [g for g in fr["gt"] if g["class_id"] == c]
            dets = [d for d in fr["dets"] if d["class_id"] == c]
            out, _ = sized_match(gts, dets, 0.5, mh)
            positives += sum(1 for g in gts if not (g["ignore"] or g["crowd"]))
            scored += [(d["score"], o) for d, o in zip(dets, out)]
        if positives and frames:
            value, mrs = lamr(scored, positives, len(frames))
            result["lamr"] = {"lamr": value, "mr": mrs}
    if not any(g["ignore"] and not g["crowd"] for fr in coco_frames for g in fr["gt"]):
        result["ap"] = coco_ap(coco_frames, classes)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
