"""Why daylight pedestrians are missed and where the false positives come from.

Where it sits: beside evaluate.py, on VALIDATION frames only (design choices must not see
the held-out set). Runs the ONNX model with onnxruntime, decodes, thresholds and matches
exactly as evaluate.py does (day pedestrians >= 40 px, IoU 0.5, VOC "difficult"), then sorts
every miss and every false positive into one cause. The table in engines/demo/README.md
("Known weaknesses") comes from it.

    python3 train/errors.py --model engines/demo/detector.onnx --threshold 0.50 \
        --data val/s900000 val/s900001 val/s900002 val/s900003 val/s900004 val/s900005

Miss causes, first that applies: a box of another class at IoU >= 0.5 ("class"); a
pedestrian box at IoU >= 0.5 that the matching gave to a neighbour ("neighbour"); an anchor
whose pedestrian score reaches the threshold at IoU >= 0.5 but that NMS removed ("nms");
a pedestrian box at IoU 0.3-0.5 only ("extent"); an anchor at IoU >= 0.5 scoring 0.2 to the
threshold ("low score"); else "nothing". "[group]" marks a pedestrian that another
pedestrian or cyclist overlaps at IoU > 0.3.
"""

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate  # noqa: E402
from dataset import CLASSES, anchors, read_coco  # noqa: E402

PED = 0
MIN_HEIGHT = 40.0


def annotations(directory):
    """Raw COCO annotations per image, in read_coco's image order (for occlusion)."""
    coco = json.loads((Path(directory) / "instances.json").read_text())
    by_image = collections.defaultdict(list)
    for a in coco["annotations"]:
        by_image[a["image_id"]].append(a)
    return [by_image[im["id"]] for im in sorted(coco["images"], key=lambda i: i["id"])]


def match(det_boxes, det_scores, gt_boxes, counted, det_min_height=MIN_HEIGHT):
    """evaluate.match_image, also returning each detection's status and the matched GT."""
    matched = np.zeros(len(gt_boxes), bool)
    ious = evaluate.iou_matrix(det_boxes, gt_boxes)
    status = {}
    for d in np.argsort(-det_scores, kind="stable"):
        small = det_boxes[d, 3] - det_boxes[d, 1] < det_min_height
        if len(gt_boxes) == 0:
            status[d] = "difficult" if small else "fp"
            continue
        cand = np.where(counted & ~matched, ious[d], -1.0)
        j = int(cand.argmax())
        if cand[j] >= evaluate.IOU_MATCH:
            matched[j] = True
            status[d] = "tp"
        elif small or np.any((~counted) & (ious[d] >= evaluate.IOU_MATCH)):
            status[d] = "difficult"
        else:
            status[d] = "fp"
    return status, matched


def false_positive_cause(box, r):
    ious = evaluate.iou_matrix(box[None], r["boxes"])[0]
    if not len(ious) or ious.max() < 0.1:
        return "background (no object at IoU >= 0.1)"
    j = int(ious.argmax())
    label, best = CLASSES[r["labels"][j]], ious[j]
    h = r["boxes"][j, 3] - r["boxes"][j, 1]
    if best >= 0.5:
        return "duplicate of a matched pedestrian" if label == "pedestrian" else f"on a {label} at IoU >= 0.5"
    if label != "pedestrian":
        return f"on a {label} at IoU 0.1-0.5"
    if r["ignore"][j]:
        return "on an ignored pedestrian at IoU 0.1-0.5"
    return f"on a pedestrian {'under' if h < MIN_HEIGHT else '>='} 40 px at IoU 0.1-0.5"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, nargs="+", help="validation dataset directories")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--nms-iou", type=float, default=0.45)
    args = ap.parse_args()

    records = [r for d in args.data for r in read_coco(d)]
    anns = [a for d in args.data for a in annotations(d)]
    keep = [i for i, r in enumerate(records) if r["condition"] == "day"]
    records, anns = [records[i] for i in keep], [anns[i] for i in keep]
    outs, _ = evaluate.run_onnx(args.model, records)
    grid = anchors()
    misses, fps = collections.Counter(), collections.Counter()
    by_height, by_occlusion = collections.defaultdict(lambda: [0, 0]), collections.defaultdict(lambda: [0, 0])
    tp = fp = ngt = 0
    for r, a, o in zip(records, anns, outs):
        db, dl, ds = evaluate.postprocess(o, grid, args.threshold, args.nms_iou)
        all_boxes, _, _ = evaluate.decode(o, grid)
        ped_score = o[:, 4] * o[:, 5 + PED]
        gb, labels = r["boxes"], r["labels"]
        h = gb[:, 3] - gb[:, 1]
        is_ped = labels == PED
        counted = is_ped & ~r["ignore"] & (h >= MIN_HEIGHT)
        pd = dl == PED
        status, matched = match(db[pd], ds[pd], gb[is_ped], counted[is_ped])
        for d, st in status.items():
            if st == "fp":
                fp += 1
                fps[false_positive_cause(db[pd][d], r)] += 1
            tp += st == "tp"
        for k, gi in enumerate(np.nonzero(is_ped)[0]):
            if not counted[gi]:
                continue
            ngt += 1
            hb = f"{min(int(h[gi] // 20 * 20), 120)} px"
            occ = a[gi].get("occlusion", 0.0)
            ob = "0.5 and more" if occ >= 0.5 else ("0.1-0.5" if occ >= 0.1 else "under 0.1")
            missed = not matched[k]
            for table, key in ((by_height, hb), (by_occlusion, ob)):
                table[key][0] += missed
                table[key][1] += 1
            if not missed:
                continue
            box = gb[gi:gi + 1]
            others = [j for j in range(len(gb)) if j != gi and labels[j] in (0, 1)]
            group = bool(others) and evaluate.iou_matrix(gb[others], box)[:, 0].max() > 0.3
            iou_det = evaluate.iou_matrix(db, box)[:, 0] if len(db) else np.zeros(0)
            iou_ped = iou_det[pd] if len(db) else np.zeros(0)
            iou_anchor = evaluate.iou_matrix(all_boxes, box)[:, 0]
            good = iou_anchor >= 0.5
            best_good = ped_score[good].max() if good.any() else 0.0
            if (iou_det >= 0.5).any() and not (iou_ped >= 0.5).any():
                cause = "class: best box of another class"
            elif (iou_ped >= 0.5).any():
                cause = "neighbour: its pedestrian box was matched to another pedestrian"
            elif best_good >= args.threshold:
                cause = "nms: a good anchor above the threshold was suppressed"
            elif len(iou_ped) and iou_ped.max() >= 0.3:
                cause = "extent: pedestrian box at IoU 0.3-0.5 only"
            elif best_good >= 0.2:
                cause = "low score: a good anchor scored 0.2 to the threshold"
            else:
                cause = "nothing"
            misses[cause + (" [group]" if group else "")] += 1
    print(f"day pedestrians >= 40 px at {args.threshold}: {ngt} instances, TP {tp}, FP {fp}, "
          f"precision {tp / max(tp + fp, 1):.3f}, recall {tp / max(ngt, 1):.3f}")
    print(f"misses ({ngt - tp}):")
    for k, v in misses.most_common():
        print(f"  {v:4d}  {k}")
    print(f"false positives ({fp}):")
    for k, v in fps.most_common():
        print(f"  {v:4d}  {k}")
    print("missed / instances by visible height:", {k: f"{m}/{n}" for k, (m, n) in sorted(by_height.items())})
    print("missed / instances by occlusion:", {k: f"{m}/{n}" for k, (m, n) in sorted(by_occlusion.items())})


if __name__ == "__main__":
    main()
