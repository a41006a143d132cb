"""Scenes from `adasval scenario synth`, read into memory with their training targets.

Where it sits: between the scene generator (Rust, seeded and deterministic) and train.py /
evaluate.py. A dataset directory is what `adasval scenario synth --out DIR` writes:
DIR/images/NNNNNN.png and DIR/instances.json (COCO; category_id = class index + 1;
bbox [x, y, w, h] tight around the visible pixels; per image a "condition").

Targets follow a YOLOX-like centre prior on the stride-8 and stride-16 grids: an anchor
point (cell centre) is positive for an object if it lies inside the object's box and within
RADIUS strides of its centre, or if its cell holds the centre; objects up to SMALL_MAX px go
to stride 8, objects from LARGE_MIN px to stride 16 (both in between); an anchor claimed by
several objects goes to the smallest. Ignored objects (ignore=1, or too small to learn)
mask their anchors out of the objectness loss instead of teaching "background".
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np

CLASSES = ("pedestrian", "cyclist", "car", "truck", "obstacle")
WIDTH, HEIGHT = 512, 288
STRIDES = (8, 16)
RADIUS = 1.5
SMALL_MAX = 80.0
LARGE_MIN = 40.0
MIN_W, MIN_H = 2.0, 4.0

NEG, IGNORE = -1, -2
MAX_GT = 64  # per frame, for the dynamic assignment's padded ground-truth list


def anchors(width=WIDTH, height=HEIGHT, strides=STRIDES):
    """Anchor points in model-output order: (grid x, grid y, stride) arrays."""
    gx, gy, st = [], [], []
    for s in strides:
        yy, xx = np.meshgrid(np.arange(height // s), np.arange(width // s), indexing="ij")
        gx.append(xx.ravel())
        gy.append(yy.ravel())
        st.append(np.full(xx.size, s))
    return (np.concatenate(gx).astype(np.float32), np.concatenate(gy).astype(np.float32),
            np.concatenate(st).astype(np.float32))


def read_coco(directory):
    """Per image (in id order): file path, condition, boxes xyxy [M,4], labels [M], ignore [M],
    and the raw annotations for the extra fields (occlusion, truncation, kind)."""
    directory = Path(directory)
    coco = json.loads((directory / "instances.json").read_text())
    by_image = {}
    for a in coco["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    out = []
    for im in sorted(coco["images"], key=lambda i: i["id"]):
        anns = by_image.get(im["id"], [])
        boxes = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                           a["bbox"][1] + a["bbox"][3]] for a in anns], np.float32).reshape(-1, 4)
        labels = np.array([a["category_id"] - 1 for a in anns], np.int64)
        ignore = np.array([bool(a.get("ignore", 0)) or bool(a.get("iscrowd", 0)) for a in anns], bool)
        occlusion = np.array([float(a.get("occlusion", 0.0)) for a in anns], np.float32)
        path = directory / im["file_name"]
        if not path.exists():
            path = directory / "images" / Path(im["file_name"]).name
        out.append({
            "id": im["id"], "path": str(path), "condition": im.get("condition", "unknown"),
            "seed": im.get("seed"), "frame_index": im.get("frame_index"),
            "width": im["width"], "height": im["height"],
            "boxes": boxes, "labels": labels, "ignore": ignore, "occlusion": occlusion,
        })
    return out


def hard_frame(record, min_height=30.0):
    """True when the frame holds a pedestrian of the kind the detector misses most (error
    analysis on validation frames, errors.py): at least `min_height` px, not ignored, and
    partly hidden (occlusion >= 0.1) or overlapping another pedestrian or cyclist (IoU > 0.3)."""
    people = (~record["ignore"]) & ((record["labels"] == 0) | (record["labels"] == 1))
    b = record["boxes"][people]
    if len(b) == 0:
        return False
    h = b[:, 3] - b[:, 1]
    ped = record["labels"][people] == 0
    occ = record["occlusion"][people]
    x1 = np.maximum(b[:, None, 0], b[None, :, 0])
    y1 = np.maximum(b[:, None, 1], b[None, :, 1])
    x2 = np.minimum(b[:, None, 2], b[None, :, 2])
    y2 = np.minimum(b[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iou = inter / np.maximum(area[:, None] + area[None, :] - inter, 1e-9)
    np.fill_diagonal(iou, 0.0)
    return bool(np.any(ped & (h >= min_height) & ((occ >= 0.1) | (iou.max(1) > 0.3))))


def build_targets(boxes, labels, ignore, grid):
    """Per anchor: target box xyxy (float32 [N,4]) and class (int8 [N]: class, NEG, IGNORE)."""
    gx, gy, st = grid
    n = gx.size
    ax, ay = (gx + 0.5) * st, (gy + 0.5) * st
    tbox = np.zeros((n, 4), np.float32)
    tcls = np.full(n, NEG, np.int8)
    if len(boxes) == 0:
        return tbox, tcls
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    learn = (~ignore) & (w >= MIN_W) & (h >= MIN_H)

    for b in boxes[~learn]:
        inside = (ax >= b[0]) & (ax <= b[2]) & (ay >= b[1]) & (ay <= b[3])
        tcls[inside] = IGNORE

    vb, vl = boxes[learn], labels[learn]
    if len(vb):
        x1, y1, x2, y2 = (vb[:, i:i + 1] for i in range(4))
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        size = np.maximum(x2 - x1, y2 - y1)
        level = ((st[None] == STRIDES[0]) & (size <= SMALL_MAX)) | ((st[None] == STRIDES[1]) & (size >= LARGE_MIN))
        inside = (ax > x1) & (ax < x2) & (ay > y1) & (ay < y2)
        near = (np.abs(ax - cx) < RADIUS * st) & (np.abs(ay - cy) < RADIUS * st)
        centre = (np.floor(cx / st) == gx) & (np.floor(cy / st) == gy)
        cand = level & ((inside & near) | centre)
        area = ((x2 - x1) * (y2 - y1))
        cost = np.where(cand, area, np.inf)
        best = cost.argmin(0)
        pos = np.isfinite(cost.min(0))
        tcls[pos] = vl[best[pos]]
        tbox[pos] = vb[best[pos]]
    return tbox, tcls


def gt_list(boxes, labels, ignore):
    """The learnable objects of one frame, padded to MAX_GT: boxes xyxy (float32 [MAX_GT,4])
    and classes (int8 [MAX_GT], NEG for padding), learnable objects first. The dynamic
    assignment in train.py matches anchors to these; ignored objects stay out (their anchors
    are masked by build_targets). Returns the number of learnable objects that did not fit."""
    gb = np.zeros((MAX_GT, 4), np.float32)
    gl = np.full(MAX_GT, NEG, np.int8)
    if len(boxes) == 0:
        return gb, gl, 0
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    learn = (~ignore) & (w >= MIN_W) & (h >= MIN_H)
    vb, vl = boxes[learn], labels[learn]
    k = min(len(vb), MAX_GT)
    gb[:k], gl[:k] = vb[:k], vl[:k]
    return gb, gl, len(vb) - k


def decode_png(path):
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))
    return arr.transpose(2, 0, 1)  # CHW, RGB, uint8


def _fill(task):
    """Worker: (optionally) render one seed's scenes, then decode them into the shared arrays."""
    (binary, seed, count, directory, offset, images_path, box_path, cls_path, gtb_path, gtl_path, total,
     render) = task
    if render:
        cmd = [binary, "scenario", "synth", "--seed", str(seed), "--count", str(count),
               "--out", directory, "--width", str(WIDTH), "--height", str(HEIGHT)]
        # One process per seed and one thread per process: the pool already fills the cores.
        env = dict(os.environ, RAYON_NUM_THREADS="1")
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    records = read_coco(directory)
    if len(records) != count:
        raise RuntimeError(f"{directory}: {len(records)} images, expected {count}")
    imgs = np.lib.format.open_memmap(images_path, mode="r+")
    tb = np.lib.format.open_memmap(box_path, mode="r+")
    tc = np.lib.format.open_memmap(cls_path, mode="r+")
    gtb = np.lib.format.open_memmap(gtb_path, mode="r+")
    gtl = np.lib.format.open_memmap(gtl_path, mode="r+")
    grid = anchors()
    overflow = 0
    for i, r in enumerate(records):
        imgs[offset + i] = decode_png(r["path"])
        tb[offset + i], tc[offset + i] = build_targets(r["boxes"], r["labels"], r["ignore"], grid)
        gtb[offset + i], gtl[offset + i], lost = gt_list(r["boxes"], r["labels"], r["ignore"])
        overflow += lost
    imgs.flush(), tb.flush(), tc.flush(), gtb.flush(), gtl.flush()
    for r in records:
        r["gt_overflow"] = 0
    if records:
        records[0]["gt_overflow"] = overflow
    return offset, records


def load(parts, binary=None, workers=None, scratch="/dev/shm/adasval-train", render=True):
    """Render (if `render`) and load several (seed, count, directory) parts in parallel.

    Returns uint8 images [M,3,H,W], target boxes [M,N,4], target classes [M,N], the padded
    ground-truth lists (boxes [M,MAX_GT,4], classes [M,MAX_GT]) (numpy, backed by files under
    `scratch`), the per-image records in part order and the backing files."""
    from multiprocessing import get_context

    os.makedirs(scratch, exist_ok=True)
    total = sum(c for _, c, _ in parts)
    n = anchors()[0].size
    tag = f"{os.getpid()}_{abs(hash(tuple(parts)))}"
    ip, bp, cp, gbp, glp = (os.path.join(scratch, f"{k}_{tag}.npy") for k in ("img", "box", "cls", "gtb", "gtl"))
    np.lib.format.open_memmap(ip, mode="w+", dtype=np.uint8, shape=(total, 3, HEIGHT, WIDTH))
    np.lib.format.open_memmap(bp, mode="w+", dtype=np.float32, shape=(total, n, 4))
    np.lib.format.open_memmap(cp, mode="w+", dtype=np.int8, shape=(total, n))
    np.lib.format.open_memmap(gbp, mode="w+", dtype=np.float32, shape=(total, MAX_GT, 4))
    np.lib.format.open_memmap(glp, mode="w+", dtype=np.int8, shape=(total, MAX_GT))
    tasks, off = [], 0
    for seed, count, directory in parts:
        tasks.append((binary, seed, count, str(directory), off, ip, bp, cp, gbp, glp, total, render))
        off += count
    records = [None] * len(tasks)
    with get_context("fork").Pool(workers or os.cpu_count()) as pool:
        for k, (offset, recs) in enumerate(pool.imap(_fill, tasks)):
            records[k] = recs
    flat = [r for recs in records for r in recs]
    imgs = np.load(ip, mmap_mode="r")
    tb = np.load(bp, mmap_mode="r")
    tc = np.load(cp, mmap_mode="r")
    gtb = np.load(gbp, mmap_mode="r")
    gtl = np.load(glp, mmap_mode="r")
    return imgs, tb, tc, gtb, gtl, flat, (ip, bp, cp, gbp, glp)


def frame_key(seed, index):
    mask = (1 << 64) - 1
    m = (index * 0xD1B54A32D192ED03) & mask
    return seed ^ (((m << 17) | (m >> 47)) & mask)


def frame_keys(seed, count):
    """The generator's per-frame RNG key (synth::rng::Rng::new(seed, index) start state):
    two frames with different keys are drawn from different streams. Used to prove that
    held-out frames share no stream with training frames, whatever the seeds are."""
    return {frame_key(seed, i) for i in range(count)}


def check_disjoint(a_parts, b_parts):
    """Raise if any frame of the (seed, count) parts in `a_parts` is also in `b_parts`."""
    a = set().union(*(frame_keys(s, c) for s, c in a_parts))
    b = set().union(*(frame_keys(s, c) for s, c in b_parts))
    common = a & b
    if common:
        raise SystemExit(f"{len(common)} frames shared between training and held-out seeds")
    return len(a), len(b)
