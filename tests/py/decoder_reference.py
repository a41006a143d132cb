"""Seeded output tensors for adasval's decoders, and a numpy transcription of each original
project's post-processing.

Reads {"case", "seed", "width", "height", "classes", "conf", "iou", ...} as JSON on stdin,
draws the raw output tensors of that detector family (seeded numpy, float32), runs the
transcribed post-processing on them and prints {"tensors": {name: {shape, data}},
"detections": [[x1, y1, x2, y2, score, class], ...]} sorted by score.

Two users:
- tests/py/decoder_upstream.py, the oracle of tests/reference/decoders.rs, draws its tensors
  with the case functions below and hands them to the installed upstream code (YOLOX,
  ultralytics, torchvision, transformers); it keeps this file's post-processing only where no
  installable upstream exists: YOLOv5's anchor decoding (PyTorch and TensorFlow heads; their
  NMS is ultralytics'), YOLOv7's end-to-end table and the tanh grid;
- qualification/generate.py, whose committed self-test cases must not depend on PyTorch (a
  5 GB install) to be regenerated: it takes the detections from here. decoder_upstream.py
  returns these detections too, and tests/reference/decoders.rs requires them equal to
  upstream's (the same kept set, boxes to 1e-4 px, scores to 1e-5) on every case and seed.

Each function is a line-by-line numpy transcription of the named upstream function, float32
like the original, with its greedy NMS (torchvision.ops.nms semantics: a box is dropped when
its IoU with a kept, higher-scoring box is > the threshold; areas without +1). The
`tanh_grid` case has no upstream project: it is the layout of adasval's issue 23
(objectness in channel 0, tanh centre offsets, sigmoid sizes as fractions of the input,
score = obj^a * cls^b), written here from that description alone.

Final boxes are clipped to the image and zero-area boxes dropped, as adasval does for
every decoder (ultralytics' scale_boxes clips too; YOLOX's demo and HF leave that to the
caller).
"""

import json
import sys

import numpy as np

F = np.float32


def sigmoid(x):
    return (F(1) / (F(1) + np.exp(-x))).astype(F)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(F)


def nms(boxes, scores, thr):
    """torchvision.ops.nms (CPU kernel): indices kept, by score descending."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(len(boxes), bool)
    keep = []
    for _i, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[_i + 1:]:
            if suppressed[j]:
                continue
            w = max(F(0), min(x2[i], x2[j]) - max(x1[i], x1[j]))
            h = max(F(0), min(y2[i], y2[j]) - max(y1[i], y1[j]))
            inter = w * h
            if inter / (areas[i] + areas[j] - inter) > thr:
                suppressed[j] = True
    return np.array(keep, dtype=np.int64)


def batched_nms(boxes, scores, labels, thr):
    """torchvision.ops.batched_nms: NMS within each label, result by score descending."""
    keep = []
    for c in np.unique(labels):
        idx = np.nonzero(labels == c)[0]
        keep.extend(idx[nms(boxes[idx], scores[idx], thr)])
    keep = np.array(keep, dtype=np.int64)
    return keep[np.argsort(-scores[keep], kind="stable")] if len(keep) else keep


def clip(boxes, w, h):
    """torchvision.ops.clip_boxes_to_image."""
    b = boxes.copy()
    b[:, 0::2] = b[:, 0::2].clip(0, w)
    b[:, 1::2] = b[:, 1::2].clip(0, h)
    return b


def xywh2xyxy(x):
    y = np.empty_like(x)
    y[:, 0] = x[:, 0] - x[:, 2] / 2
    y[:, 1] = x[:, 1] - x[:, 3] / 2
    y[:, 2] = x[:, 0] + x[:, 2] / 2
    y[:, 3] = x[:, 1] + x[:, 3] / 2
    return y


def center_to_corners(b):
    """transformers.image_transforms.center_to_corners_format (torch branch)."""
    cx, cy, w, h = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack([cx - F(0.5) * w, cy - F(0.5) * h, cx + F(0.5) * w, cy + F(0.5) * h], -1)


def grids(req):
    return [(req["width"] // s, req["height"] // s, s) for s in req["strides"]]


# --- YOLOX: yolox/utils/demo_utils.py demo_postprocess + yolox/utils/boxes.py postprocess ---
def yolox(rng, req):
    c = req["classes"]
    n = sum(gw * gh for gw, gh, _ in grids(req))
    out = np.concatenate(
        [
            rng.uniform(0, 1, (n, 2)),
            rng.normal(np.log(3), 0.5, (n, 2)),
            rng.uniform(0, 1, (n, 1 + c)),
        ],
        1,
    ).astype(F)
    raw = out.copy()
    # demo_postprocess
    gl, sl = [], []
    for gw, gh, s in grids(req):
        xv, yv = np.meshgrid(np.arange(gw), np.arange(gh))
        gl.append(np.stack((xv, yv), 2).reshape(-1, 2))
        sl.append(np.full((gh * gw, 1), s))
    g = np.concatenate(gl).astype(F)
    st = np.concatenate(sl).astype(F)
    out[:, :2] = (out[:, :2] + g) * st
    out[:, 2:4] = np.exp(out[:, 2:4]) * st
    # postprocess: corners, best class, obj * cls >= conf, batched NMS (class-aware)
    box = xywh2xyxy(out[:, :4])
    class_conf = out[:, 5:].max(1)
    class_pred = out[:, 5:].argmax(1)
    conf = out[:, 4] * class_conf
    m = conf >= F(req["conf"])
    box, conf, cls = box[m], conf[m], class_pred[m]
    keep = batched_nms(box, conf, cls, req["iou"])
    return {"output": raw[None]}, box[keep], conf[keep], cls[keep]


# --- ultralytics (YOLOv5, YOLOv8/v11): utils/ops.py non_max_suppression, multi_label=False ---
def ultralytics_nms(box_xywh, cls_scores, req):
    conf = cls_scores.max(1)
    j = cls_scores.argmax(1)
    xc = conf > F(req["conf"])
    box, conf, j = xywh2xyxy(box_xywh[xc]), conf[xc], j[xc]
    order = np.argsort(-conf, kind="stable")[: req["max_nms"]]
    box, conf, j = box[order], conf[order], j[order]
    if req["agnostic"]:
        keep = nms(box, conf, req["iou"])
    else:
        keep = batched_nms(box, conf, j, req["iou"])
    keep = keep[: req["max_det"]]
    return box[keep], conf[keep], j[keep]


def yolov8_dfl(rng, req):
    """ultralytics nn/modules/head.py Detect._inference: DFL, make_anchors (offset 0.5),
    dist2bbox(xywh=True) × strides, sigmoid classes; then non_max_suppression."""
    c, bins = req["classes"], req["dfl_bins"]
    anchors, strides = [], []
    for gw, gh, s in grids(req):
        sy, sx = np.meshgrid(np.arange(gh) + 0.5, np.arange(gw) + 0.5, indexing="ij")
        anchors.append(np.stack((sx, sy), -1).reshape(-1, 2))
        strides.append(np.full((gw * gh, 1), s))
    anchors = np.concatenate(anchors).astype(F)
    strides = np.concatenate(strides).astype(F)
    n = len(anchors)
    x = np.concatenate(
        [rng.normal(0, 2, (4 * bins, n)), rng.normal(-2, 2, (c, n))], 0
    ).astype(F)
    # DFL: softmax over the bins of each side, expectation with weights 0..bins-1
    d = softmax(x[: 4 * bins].reshape(4, bins, n), 1)
    dist = (d * np.arange(bins, dtype=F)[None, :, None]).sum(1)  # [4, n]
    lt, rb = dist[:2].T, dist[2:].T
    x1y1, x2y2 = anchors - lt, anchors + rb
    dbox = np.concatenate([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * strides
    box, conf, cls = ultralytics_nms(dbox.astype(F), sigmoid(x[4 * bins:]).T, req)
    return {"output0": x[None]}, box, conf, cls


def yolov5(rng, req):
    """yolov5 models/yolo.py Detect.forward (sigmoid; xy = (2σ − 0.5 + grid) × stride,
    wh = (2σ)² × anchor) on raw [1, A·(5+C), H, W] heads; then non_max_suppression, whose
    class scores are obj × cls."""
    c = req["classes"]
    no = 5 + c
    tensors, rows = {}, []
    for li, (gw, gh, s) in enumerate(grids(req)):
        anchors = np.array(req["anchors"][li], F)
        na = len(anchors)
        x = rng.normal(0, 1.5, (na * no, gh, gw)).astype(F)
        x[[a * no + 4 for a in range(na)]] -= F(1.5)
        tensors[f"p{li}"] = x[None]
        y = sigmoid(x.reshape(na, no, gh, gw).transpose(0, 2, 3, 1))  # [na, ny, nx, no]
        yv, xv = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        grid = (np.stack((xv, yv), 2)[None] - 0.5).astype(F)
        xy = (y[..., :2] * 2 + grid) * F(s)
        wh = (y[..., 2:4] * 2) ** 2 * anchors[:, None, None, :]
        rows.append(np.concatenate([xy, wh, y[..., 4:]], -1).reshape(-1, no))
    p = np.concatenate(rows).astype(F)
    p = p[p[:, 4] > F(req["conf"])]
    cls_scores = p[:, 5:] * p[:, 4:5]
    box, conf, cls = ultralytics_nms(p[:, :4], cls_scores, req)
    return tensors, box, conf, cls


# --- torchvision.models.detection: FCOS / RetinaNet / SSD postprocess_detections ---
def tv_anchors(req):
    """AnchorGenerator with one size per level equal to its stride, aspect ratio 1."""
    out = []
    for gw, gh, s in grids(req):
        base = np.round(np.array([-s / 2, -s / 2, s / 2, s / 2]))
        yv, xv = np.meshgrid(np.arange(gh) * s, np.arange(gw) * s, indexing="ij")
        shifts = np.stack([xv.ravel(), yv.ravel(), xv.ravel(), yv.ravel()], 1)
        out.append((shifts + base).astype(F))
    return out


def fcos(rng, req):
    c = req["classes"]
    levels = tv_anchors(req)
    n = sum(len(a) for a in levels)
    reg = np.maximum(rng.normal(1.5, 1.0, (n, 4)), 0).astype(F)  # relu'd in the head
    logits = rng.normal(-2, 1.5, (n, c)).astype(F)
    ctr = rng.normal(0, 1, (n, 1)).astype(F)
    tb, ts, tl = [], [], []
    start = 0
    for anchors in levels:
        k = len(anchors)
        br, lg, cr = reg[start:start + k], logits[start:start + k], ctr[start:start + k]
        start += k
        scores = np.sqrt(sigmoid(lg) * sigmoid(cr)).ravel()
        keep = scores > F(req["conf"])
        scores = scores[keep]
        topk_idxs = np.nonzero(keep)[0]
        order = np.argsort(-scores, kind="stable")[: req["topk_candidates"]]
        scores, topk_idxs = scores[order], topk_idxs[order]
        anchor_idxs, labels = topk_idxs // c, topk_idxs % c
        a = anchors[anchor_idxs]
        # BoxLinearCoder(normalize_by_size=True).decode
        ctr_x = F(0.5) * (a[:, 0] + a[:, 2])
        ctr_y = F(0.5) * (a[:, 1] + a[:, 3])
        wh = np.stack([a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]] * 2, 1)
        r = br[anchor_idxs] * wh
        boxes = np.stack([ctr_x - r[:, 0], ctr_y - r[:, 1], ctr_x + r[:, 2], ctr_y + r[:, 3]], 1)
        tb.append(clip(boxes, req["width"], req["height"]))
        ts.append(scores)
        tl.append(labels)
    boxes, scores, labels = np.concatenate(tb), np.concatenate(ts), np.concatenate(tl)
    keep = batched_nms(boxes, scores, labels, req["iou"])[: req["max_det"]]
    out = np.concatenate([reg, ctr, logits], 1)[None]
    return {"head": out}, boxes[keep], scores[keep], labels[keep]


def decode_single(rel, anchors, weights):
    """torchvision BoxCoder.decode_single."""
    wx, wy, ww, wh = (F(w) for w in weights)
    widths = anchors[:, 2] - anchors[:, 0]
    heights = anchors[:, 3] - anchors[:, 1]
    ctr_x = anchors[:, 0] + F(0.5) * widths
    ctr_y = anchors[:, 1] + F(0.5) * heights
    dx, dy = rel[:, 0] / wx, rel[:, 1] / wy
    clip_ = F(np.log(1000.0 / 16))
    dw, dh = np.minimum(rel[:, 2] / ww, clip_), np.minimum(rel[:, 3] / wh, clip_)
    pcx, pcy = dx * widths + ctr_x, dy * heights + ctr_y
    pw, ph = np.exp(dw) * widths, np.exp(dh) * heights
    return np.stack([pcx - F(0.5) * pw, pcy - F(0.5) * ph, pcx + F(0.5) * pw, pcy + F(0.5) * ph], 1)


def random_priors(rng, n, w, h):
    cx, cy = rng.uniform(0, w, n), rng.uniform(0, h, n)
    bw, bh = rng.uniform(4, w / 2, n), rng.uniform(4, h / 2, n)
    return np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).astype(F)


def ssd(rng, req):
    c = req["classes"]
    n = req["priors"]
    priors = random_priors(rng, n, req["width"], req["height"])
    rel = rng.normal(0, 1, (n, 4)).astype(F)
    logits = rng.normal(0, 2, (n, c + 1)).astype(F)
    boxes = clip(decode_single(rel, priors, (10, 10, 5, 5)), req["width"], req["height"])
    scores = softmax(logits)
    ib, isc, il = [], [], []
    for label in range(1, c + 1):
        s = scores[:, label]
        keep = s > F(req["conf"])
        s, b = s[keep], boxes[keep]
        order = np.argsort(-s, kind="stable")[: req["topk_candidates"]]
        ib.append(b[order])
        isc.append(s[order])
        il.append(np.full(len(order), label - 1))  # adasval's class ids skip background
    boxes, scores, labels = np.concatenate(ib), np.concatenate(isc), np.concatenate(il)
    keep = batched_nms(boxes, scores, labels, req["iou"])[: req["max_det"]]
    t = {"deltas": rel[None], "scores": logits[None], "priors": priors}
    return t, boxes[keep], scores[keep], labels[keep]


def retinanet(rng, req):
    c = req["classes"]
    n = req["priors"]
    priors = random_priors(rng, n, req["width"], req["height"])
    rel = rng.normal(0, 0.3, (n, 4)).astype(F)
    logits = rng.normal(-2, 1.5, (n, c)).astype(F)
    # One level: scores flattened over (anchor, class), > thresh, top-k, decode, clip.
    scores = sigmoid(logits).ravel()
    keep = scores > F(req["conf"])
    scores, idxs = scores[keep], np.nonzero(keep)[0]
    order = np.argsort(-scores, kind="stable")[: req["topk_candidates"]]
    scores, idxs = scores[order], idxs[order]
    anchor_idxs, labels = idxs // c, idxs % c
    boxes = decode_single(rel[anchor_idxs], priors[anchor_idxs], (1, 1, 1, 1))
    boxes = clip(boxes, req["width"], req["height"])
    keep = batched_nms(boxes, scores, labels, req["iou"])[: req["max_det"]]
    t = {"deltas": rel[None], "scores": logits[None], "priors": priors}
    return t, boxes[keep], scores[keep], labels[keep]


# --- Hugging Face transformers: DetrImageProcessor / RTDetrImageProcessor
#     .post_process_object_detection(outputs, threshold, target_sizes) ---
def detr_boxes(rng, q):
    return np.concatenate([rng.uniform(0.2, 0.8, (q, 2)), rng.uniform(0.05, 0.4, (q, 2))], 1).astype(F)


def detr(rng, req):
    q, c = req["queries"], req["classes"]
    boxes = detr_boxes(rng, q)
    logits = rng.normal(0, 2, (q, c + 1)).astype(F)
    prob = softmax(logits)
    scores, labels = prob[:, :-1].max(-1), prob[:, :-1].argmax(-1)
    b = center_to_corners(boxes) * np.array([req["width"], req["height"]] * 2, F)
    keep = scores > F(req["conf"])
    return {"pred_boxes": boxes[None], "logits": logits[None]}, b[keep], scores[keep], labels[keep]


def rtdetr(rng, req):
    q, c = req["queries"], req["classes"]
    boxes = detr_boxes(rng, q)
    logits = rng.normal(-1, 2, (q, c)).astype(F)
    b = center_to_corners(boxes) * np.array([req["width"], req["height"]] * 2, F)
    scores = sigmoid(logits).ravel()
    index = np.argsort(-scores, kind="stable")[:q]
    scores = scores[index]
    labels, index = index % c, index // c
    b = b[index]
    keep = scores > F(req["conf"])
    return {"pred_boxes": boxes[None], "logits": logits[None]}, b[keep], scores[keep], labels[keep]


# --- already-decoded tables ---
def random_rows(rng, n, req):
    w, h = req["width"], req["height"]
    cx, cy = rng.uniform(-4, w + 4, n), rng.uniform(-4, h + 4, n)
    bw, bh = rng.uniform(2, w / 3, n), rng.uniform(2, h / 3, n)
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).astype(F)
    scores = rng.uniform(0.01, 1, n).astype(F)
    labels = rng.integers(0, req["classes"], n).astype(F)
    return boxes, scores, labels


def table_yolov10(rng, req):
    """ultralytics YOLOv10 (end-to-end, `[1, 300, 6]`: x1 y1 x2 y2 score class, the model's
    top-k by score): models/yolov10/predict.py YOLOv10DetectionPredictor.postprocess, which
    keeps the rows with score > conf (no NMS), then scale_boxes (identity letterbox here)."""
    boxes, scores, labels = random_rows(rng, req["rows"], req)
    order = np.argsort(-scores, kind="stable")
    t = np.concatenate([boxes, scores[:, None], labels[:, None]], 1)[order]
    mask = t[:, 4] > F(req["conf"])
    return {"output0": t[None]}, t[mask, :4], t[mask, 4], t[mask, 5].astype(np.int64)


def table_yolov7(rng, req):
    """YOLOv7 `export.py --end2end` with ONNX Runtime NMS: `[N, 7]` rows batch_id, x0, y0, x1,
    y1, cls_id, score; its README's onnxruntime demo takes every row of the image it belongs
    to (`ori_images[int(batch_id)]`) as a detection, box - padding, / ratio (identity here).
    Rows of image 0 are adasval's; the NMS already ran in the graph."""
    n = req["rows"]
    boxes, scores, labels = random_rows(rng, n, req)
    batch = rng.integers(0, 2, n).astype(F)
    t = np.concatenate([batch[:, None], boxes, labels[:, None], scores[:, None]], 1)
    mine = t[:, 0] == 0
    return {"output": t}, t[mine, 1:5], t[mine, 6], t[mine, 5].astype(np.int64)


def yolov5_tf(rng, req):
    """YOLOv5's TensorFlow / TFLite export, channel-last heads [1, H, W, A·(5+C)]:
    models/tf.py TFDetect.call (reshape to [ny·nx, na, no], sigmoid, xy = (2σ + grid − 0.5) ×
    stride, wh = σ² × 4 anchor, both ÷ the input size), DetectMultiBackend's ×[w, h, w, h],
    then non_max_suppression as for the PyTorch model."""
    c = req["classes"]
    no = 5 + c
    w, h = req["width"], req["height"]
    tensors, rows = {}, []
    for li, (gw, gh, s) in enumerate(grids(req)):
        anchors = np.array(req["anchors"][li], F)
        na = len(anchors)
        x = rng.normal(0, 1.5, (gh, gw, na * no)).astype(F)
        x[..., [a * no + 4 for a in range(na)]] -= F(1.5)
        tensors[f"p{li}"] = x[None]
        y = sigmoid(x.reshape(gh * gw, na, no).transpose(1, 0, 2))  # [na, ny·nx, no]
        xv, yv = np.meshgrid(np.arange(gw), np.arange(gh))  # tf.meshgrid, 'xy' indexing
        grid = np.stack([xv, yv], 2).reshape(1, gh * gw, 2).astype(F) - F(0.5)
        anchor_grid = anchors[:, None, :] * F(4)
        xy = (y[..., 0:2] * F(2) + grid) * F(s)
        wh = y[..., 2:4] ** 2 * anchor_grid
        xy = xy / np.array([w, h], F)
        wh = wh / np.array([w, h], F)
        p = np.concatenate([xy, wh, y[..., 4:]], -1).reshape(-1, no)
        p[:, :4] *= np.array([w, h, w, h], F)
        rows.append(p)
    p = np.concatenate(rows).astype(F)
    p = p[p[:, 4] > F(req["conf"])]
    box, conf, cls = ultralytics_nms(p[:, :4], p[:, 5:] * p[:, 4:5], req)
    return tensors, box, conf, cls


def tanh_grid(rng, req):
    """Issue 23's first example (no upstream code): channel-first heads [1, 5 + C, H, W] per
    stride, objectness in channel 0, centre (tanh(v) + 0.5 + cell) × stride, size σ(v) ×
    input size, score = σ(obj)^a · max σ(cls)^b ≥ conf, per-class NMS, max_det."""
    c, a, b = req["classes"], F(req["obj_power"]), F(req["cls_power"])
    tensors, tb, ts, tl = {}, [], [], []
    for gw, gh, s in grids(req):
        x = rng.normal(0, 1.5, (5 + c, gh, gw)).astype(F)
        x[0] += F(1.0)
        tensors[f"h{s}"] = x[None]
        yv, xv = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        cx = (np.tanh(x[1]) + F(0.5) + xv.astype(F)) * F(s)
        cy = (np.tanh(x[2]) + F(0.5) + yv.astype(F)) * F(s)
        bw = sigmoid(x[3]) * F(req["width"])
        bh = sigmoid(x[4]) * F(req["height"])
        cls = sigmoid(x[5:])
        score = sigmoid(x[0]) ** a * cls.max(0) ** b
        label = cls.argmax(0)
        keep = score >= F(req["conf"])
        box = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], -1)
        tb.append(box[keep])
        ts.append(score[keep])
        tl.append(label[keep])
    boxes, scores, labels = np.concatenate(tb), np.concatenate(ts), np.concatenate(tl)
    keep = batched_nms(boxes, scores, labels, req["iou"])[: req["max_det"]]
    return tensors, boxes[keep], scores[keep], labels[keep]


CASES = {
    "yolox": yolox,
    "yolov8_dfl": yolov8_dfl,
    "yolov5": yolov5,
    "fcos": fcos,
    "ssd": ssd,
    "retinanet": retinanet,
    "detr": detr,
    "rtdetr": rtdetr,
    "table_yolov10": table_yolov10,
    "table_yolov7": table_yolov7,
    "yolov5_tf": yolov5_tf,
    "tanh_grid": tanh_grid,
}


def result(tensors, boxes, scores, labels, req):
    """The response: the tensors and the detections, clipped, zero-area ones dropped,
    by score descending, at most max_det."""
    boxes = clip(np.asarray(boxes, F).reshape(-1, 4), req["width"], req["height"])
    order = np.argsort(-np.asarray(scores), kind="stable")
    dets = []
    for i in order:
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        if x2 > x1 and y2 > y1:
            dets.append([x1, y1, x2, y2, float(scores[i]), int(labels[i])])
    dets = dets[: req["max_det"]]
    return {
        "tensors": {
            k: {"shape": list(v.shape), "data": [float(x) for x in np.asarray(v, F).ravel()]}
            for k, v in tensors.items()
        },
        "detections": dets,
    }


def main():
    req = json.load(sys.stdin)
    rng = np.random.default_rng(req["seed"])
    json.dump(result(*CASES[req["case"]](rng, req), req), sys.stdout)


if __name__ == "__main__":
    main()
