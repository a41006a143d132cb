"""Held-out evaluation of the demo detector with onnxruntime (CPU), as the project runs it.

Where it sits: after export.py; reads a dataset written by `adasval scenario synth` (seeds
never used in training) and the exported ONNX, decodes the YOLOX-layout output, applies the
adapter's score threshold and NMS, and counts matches at IoU 0.5.

Counting (VOC style): per image and class, detections in descending score order take the
unmatched counted ground truth of their class with the highest IoU >= 0.5 (true positive);
a detection whose best match is an object that is not counted (ignored, below the size
floor, or outside the subset) is neither true nor false positive ("difficult"); any other
detection, duplicates included, is a false positive.

    python3 train/evaluate.py --model engines/demo/detector.onnx --data /tmp/heldout \
        --threshold 0.35 --json heldout.json
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import CLASSES, HEIGHT, WIDTH, anchors, decode_png, frame_key, frame_keys, read_coco  # noqa: E402

IOU_MATCH = 0.5


def decode(out, grid):
    """YOLOX decode of one frame's [N, 5+C] output: boxes xyxy [N,4], best class, score."""
    gx, gy, st = grid
    cx = (out[:, 0] + gx) * st
    cy = (out[:, 1] + gy) * st
    w = np.exp(np.minimum(out[:, 2], 20.0)) * st
    h = np.exp(np.minimum(out[:, 3], 20.0)) * st
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    cls_scores = out[:, 4:5] * out[:, 5:]
    labels = cls_scores.argmax(1)
    scores = cls_scores[np.arange(len(labels)), labels]
    return boxes, labels, scores


def iou_matrix(a, b):
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def nms(boxes, scores, iou):
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        ov = iou_matrix(boxes[i:i + 1], boxes[order[1:]])[0]
        order = order[1:][ov <= iou]
    return np.array(keep, np.int64)


def postprocess(out, grid, threshold, nms_iou=0.45, max_det=100):
    """Detections of one frame: class-aware NMS over anchors whose obj*cls >= threshold."""
    boxes, labels, scores = decode(out, grid)
    m = scores >= threshold
    boxes, labels, scores = boxes[m], labels[m], scores[m]
    keep = []
    for c in np.unique(labels):
        idx = np.nonzero(labels == c)[0]
        keep.extend(idx[nms(boxes[idx], scores[idx], nms_iou)])
    keep = np.array(keep, np.int64)
    if keep.size:
        keep = keep[np.argsort(-scores[keep], kind="stable")][:max_det]
    return boxes[keep], labels[keep], scores[keep]


def match_image(det_boxes, det_scores, gt_boxes, counted, det_min_height=0.0):
    """(true positives, false positives) for one image and class; `counted` marks the
    ground truth that counts, the rest is 'difficult'. An unmatched detection lower than
    `det_min_height` is outside the evaluated size range and is ignored too (pycocotools'
    area-range rule, on height)."""
    tp = fp = 0
    matched = np.zeros(len(gt_boxes), bool)
    ious = iou_matrix(det_boxes, gt_boxes)
    for d in np.argsort(-det_scores, kind="stable"):
        small = det_boxes[d, 3] - det_boxes[d, 1] < det_min_height
        if len(gt_boxes) == 0:
            fp += not small
            continue
        free = counted & ~matched
        cand = np.where(free, ious[d], -1.0)
        j = int(cand.argmax())
        if cand[j] >= IOU_MATCH:
            matched[j] = True
            tp += 1
        elif small or np.any((~counted) & (ious[d] >= IOU_MATCH)):
            continue
        else:
            fp += 1
    return tp, fp


def score(records, detections, min_height=0.0, conditions=None, classes=range(len(CLASSES)), strict=False):
    """Per class {tp, fp, gt, precision, recall} over the images whose condition is in
    `conditions` (all if None); counted ground truth: not ignored, box height >= min_height.
    Unmatched detections lower than min_height are ignored unless `strict`."""
    res = {}
    for c in classes:
        tp = fp = ngt = 0
        for r, (db, dl, ds) in zip(records, detections):
            if conditions is not None and r["condition"] not in conditions:
                continue
            g = r["labels"] == c
            gb = r["boxes"][g]
            h = gb[:, 3] - gb[:, 1]
            counted = (~r["ignore"][g]) & (h >= min_height)
            d = dl == c
            t, f = match_image(db[d], ds[d], gb, counted, 0.0 if strict else min_height)
            tp, fp, ngt = tp + t, fp + f, ngt + int(counted.sum())
        res[CLASSES[c]] = {
            "tp": tp, "fp": fp, "gt": ngt,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / ngt if ngt else None,
        }
    return res


def report(records, detections, threshold):
    day = score(records, detections, min_height=40.0, conditions={"day"}, classes=[0])["pedestrian"]
    strict = score(records, detections, 40.0, {"day"}, [0], strict=True)["pedestrian"]
    conds = sorted({r["condition"] for r in records})
    return {
        "threshold": threshold,
        "images": len(records),
        "conditions": {c: sum(r["condition"] == c for r in records) for c in conds},
        "per_class_all": score(records, detections),
        "per_class_h40": score(records, detections, min_height=40.0),
        "pedestrian_h40_by_condition": {
            c: score(records, detections, 40.0, {c}, [0])["pedestrian"] for c in conds},
        "day_pedestrian_h40": day,
        "day_pedestrian_h40_strict": strict,
        "day_pedestrian_h40_pass": bool(day["gt"] >= 300 and (day["recall"] or 0) >= 0.9
                                        and (day["precision"] or 0) >= 0.8),
    }


def run_onnx(model_path, records, threads=1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
    outs, times = [], []
    for r in records:
        x = decode_png(r["path"]).astype(np.float32)[None] / 255.0
        t = time.perf_counter()
        y = sess.run(["output"], {"images": x})[0]
        times.append(time.perf_counter() - t)
        outs.append(y[0])
    return outs, np.array(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, nargs="+", help="dataset directories (adasval scenario synth --out)")
    ap.add_argument("--threshold", type=float, default=0.35)
    ap.add_argument("--nms-iou", type=float, default=0.45)
    ap.add_argument("--max-det", type=int, default=100)
    ap.add_argument("--sweep", action="store_true", help="also report thresholds 0.2..0.6")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--train-seeds", help="inclusive range A-B used in training: refuse held-out frames from them")
    ap.add_argument("--train-per-seed", type=int, default=0)
    ap.add_argument("--require", action="store_true",
                    help="exit 1 unless day pedestrians >= 40 px reach recall 0.9 at precision 0.8 over >= 300")
    args = ap.parse_args()

    records = [r for d in args.data for r in read_coco(d)]
    if args.train_seeds:
        a, _, b = args.train_seeds.partition("-")
        train_keys = set().union(*(frame_keys(s, args.train_per_seed) for s in range(int(a), int(b or a) + 1)))
        held = {frame_key(r["seed"], r["frame_index"]) for r in records}
        if len(held) != len(records) or held & train_keys:
            raise SystemExit("held-out frames overlap the training frames (or each other)")
        print(f"held-out check: {len(held)} frames, none among the {len(train_keys)} training frames")
    for r in records:
        if (r["width"], r["height"]) != (WIDTH, HEIGHT):
            raise SystemExit(f"{r['path']}: {r['width']}x{r['height']}, the model takes {WIDTH}x{HEIGHT}")
    outs, times = run_onnx(args.model, records)
    grid = anchors()
    result = {}
    thresholds = [args.threshold] + ([0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6] if args.sweep else [])
    for t in dict.fromkeys(thresholds):
        dets = [postprocess(o, grid, t, args.nms_iou, args.max_det) for o in outs]
        result[f"{t:.2f}"] = report(records, dets, t)
    main_res = result[f"{args.threshold:.2f}"]
    out = {
        "model": str(args.model),
        "data": args.data,
        "nms_iou": args.nms_iou,
        "ort_single_thread_ms": {"median": float(np.median(times) * 1e3),
                                 "p90": float(np.percentile(times, 90) * 1e3),
                                 "max": float(times.max() * 1e3)},
        "results": result,
    }
    print(f"images {len(records)}  conditions {main_res['conditions']}")
    print(f"threshold {args.threshold}  ORT 1-thread median {out['ort_single_thread_ms']['median']:.2f} ms")
    print(f"{'class':<11}{'P(all)':>8}{'R(all)':>8}{'GT':>6}   {'P(h>=40)':>9}{'R(h>=40)':>9}{'GT':>6}")
    for c in CLASSES:
        a, b = main_res["per_class_all"][c], main_res["per_class_h40"][c]
        f = lambda v: f"{v:.3f}" if v is not None else "  -  "  # noqa: E731
        print(f"{c:<11}{f(a['precision']):>8}{f(a['recall']):>8}{a['gt']:>6}   "
              f"{f(b['precision']):>9}{f(b['recall']):>9}{b['gt']:>6}")
    d = main_res["day_pedestrian_h40"]
    print(f"day pedestrians >= 40 px: precision {d['precision']} recall {d['recall']} over {d['gt']} "
          f"(tp {d['tp']}, fp {d['fp']}) -> {'PASS' if main_res['day_pedestrian_h40_pass'] else 'FAIL'}")
    if args.sweep:
        for t, r in result.items():
            d = r["day_pedestrian_h40"]
            st = r["day_pedestrian_h40_strict"]
            print(f"  thr {t}: day-ped P {d['precision']:.3f} R {d['recall']:.3f}  (strict: P {st['precision']:.3f})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    if args.require and not main_res["day_pedestrian_h40_pass"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
