"""Reference figures for the YOLOX-Nano integration test, computed with onnxruntime.

Independent of adasval: PIL letterbox (bilinear), onnxruntime CPU inference, YOLOX decode,
per-class NMS, and VOC-style greedy matching at IoU 0.5 over person and car, where
`difficult` boxes are neither counted as misses nor make a matched detection a false
positive. Prints one JSON object.

usage: python3 yolox_ort_voc.py SHARED_DIR [SCORE_THRESHOLD]
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

import numpy as np
import onnxruntime as ort
from PIL import Image

shared = sys.argv[1]
thr = float(sys.argv[2]) if len(sys.argv) > 2 else 0.3
NMS = 0.45
SIZE = 416
COCO = {0: "person", 2: "car"}
model = os.path.join(shared, "models/yolox_nano/yolox_nano.onnx")
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])

grids, strides = [], []
for s in (8, 16, 32):
    n = SIZE // s
    yv, xv = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    grids.append(np.stack([xv, yv], -1).reshape(-1, 2))
    strides.append(np.full((n * n, 1), s))
grids = np.concatenate(grids).astype(np.float32)
strides = np.concatenate(strides).astype(np.float32)


def iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    u = a[2] * a[3] + b[2] * b[3] - inter
    return inter / u if u > 0 else 0.0


def nms(dets):
    dets = sorted(dets, key=lambda d: -d[1])
    kept = []
    for d in dets:
        if all(k[0] != d[0] or iou(k[2], d[2]) <= NMS for k in kept):
            kept.append(d)
    return kept


tp = fp = fn = 0
xml_dir = os.path.join(shared, "data/voc100/labels/voc_xml")
for name in sorted(os.listdir(xml_dir)):
    root = ET.parse(os.path.join(xml_dir, name)).getroot()
    img = Image.open(os.path.join(shared, "data/voc100/images", name[:-4] + ".jpg")).convert("RGB")
    w, h = img.size
    r = min(SIZE / w, SIZE / h)
    rw, rh = round(w * r), round(h * r)
    canvas = np.full((SIZE, SIZE, 3), 114, np.uint8)
    canvas[:rh, :rw] = np.asarray(img.resize((rw, rh), Image.BILINEAR))
    x = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)
    out = sess.run(None, {"images": x})[0][0]
    xy = (out[:, :2] + grids) * strides
    wh = np.exp(out[:, 2:4]) * strides
    cls = out[:, 5:].argmax(1)
    score = out[:, 4] * out[:, 5:].max(1)
    dets = []
    for i in np.nonzero(score >= thr)[0]:
        b = [(xy[i, 0] - wh[i, 0] / 2) / r, (xy[i, 1] - wh[i, 1] / 2) / r, wh[i, 0] / r, wh[i, 1] / r]
        x1, y1 = max(0, b[0]), max(0, b[1])
        x2, y2 = min(w, b[0] + b[2]), min(h, b[1] + b[3])
        dets.append((int(cls[i]), float(score[i]), [x1, y1, x2 - x1, y2 - y1]))
    dets = nms(dets)
    for cid, cname in COCO.items():
        gts = []
        for o in root.iter("object"):
            if o.findtext("name") != cname:
                continue
            bb = o.find("bndbox")
            x1, y1, x2, y2 = (float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
            gts.append(([x1, y1, x2 - x1, y2 - y1], o.findtext("difficult") == "1"))
        used = [False] * len(gts)
        for d in sorted([d for d in dets if d[0] == cid], key=lambda d: -d[1]):
            best, bi = 0.5, -1
            for j, (g, diff) in enumerate(gts):
                v = iou(d[2], g)
                if v >= best and not (used[j] and not diff):
                    best, bi = v, j
            if bi < 0:
                fp += 1
            elif gts[bi][1]:
                pass  # matched a difficult box: ignored
            elif not used[bi]:
                used[bi] = True
                tp += 1
            else:
                fp += 1
        fn += sum(1 for j, (g, diff) in enumerate(gts) if not diff and not used[j])

print(json.dumps({"tp": tp, "fp": fp, "fn": fn, "recall": tp / (tp + fn), "precision": tp / (tp + fp), "score_threshold": thr}))
