"""Seeded COCO ground-truth / results generators for the pycocotools equivalence tests and
the speed benchmark. Written independently of adasval: plain numpy, COCO file formats.

usage:
  coco_gen.py random OUTDIR SEED [SEED ...]    -> OUTDIR/gt_SEED.json, OUTDIR/dt_SEED.json
  coco_gen.py jitter GT_JSON OUTDIR SEED       -> OUTDIR/dt_jitter_SEED.json
  coco_gen.py bench OUTDIR [IMAGES] [DETS]     -> OUTDIR/bench_gt.json, OUTDIR/bench_dt.json
"""
import json
import os
import sys

import numpy as np


def rand_box(rng, size_kind=None):
    kind = size_kind or rng.choice(["small", "medium", "large", "any"])
    lo, hi = {"small": (2, 40), "medium": (25, 110), "large": (80, 400), "any": (1, 500)}[kind]
    w = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    h = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    x, y = float(rng.uniform(0, 600)), float(rng.uniform(0, 600))
    if rng.random() < 0.5:  # integer boxes hit IoU thresholds exactly now and then
        return [round(x), round(y), max(1, round(w)), max(1, round(h))]
    return [round(x, 2), round(y, 2), max(0.5, round(w, 2)), max(0.5, round(h, 2))]


def jitter(rng, b, scale):
    x, y, w, h = b
    dx, dy = rng.normal(0, scale * w), rng.normal(0, scale * h)
    dw, dh = np.exp(rng.normal(0, scale)), np.exp(rng.normal(0, scale))
    out = [x + dx, y + dy, max(0.5, w * dw), max(0.5, h * dh)]
    if rng.random() < 0.3:
        return [round(v) if i < 2 else max(1, round(v)) for i, v in enumerate(out)]
    return [round(float(v), 3) for v in out]


def score(rng):
    r = rng.random()
    if r < 0.4:
        return round(float(rng.random()), 1)  # many exact ties
    if r < 0.5:
        return 0.5
    return float(rng.random())


def random_case(seed):
    rng = np.random.default_rng(seed)
    n_cat = int(rng.integers(1, 16))
    cat_ids = sorted(int(c) for c in rng.choice(np.arange(1, 120), n_cat, replace=False))
    n_img = int(rng.integers(1, 40))
    img_ids = [int(i) for i in rng.choice(np.arange(0, 10000), n_img, replace=False)]
    images = [{"id": i, "width": 640, "height": 640} for i in img_ids]
    cats = [{"id": c, "name": f"class{c}"} for c in cat_ids]
    anns, dts = [], []
    first_id = 0 if seed % 7 == 3 else 1  # pycocotools' quirk with annotation id 0
    many = seed % 5 == 0  # some images exceed maxDets=100
    for img in img_ids:
        if rng.random() < 0.2:
            n_gt = 0
        else:
            n_gt = int(rng.integers(1, 12))
        gts = []
        for _ in range(n_gt):
            b = rand_box(rng)
            crowd = int(rng.random() < 0.1)
            if crowd:
                b = [b[0], b[1], b[2] * 3 + 10, b[3] * 3 + 10]
            r = rng.random()
            if r < 0.1:
                area = float(rng.choice([1024, 9216, 1024.0001, 9215.9999]))
            elif r < 0.6:
                area = round(b[2] * b[3] * float(rng.uniform(0.4, 1.0)), 2)
            else:
                area = b[2] * b[3]
            a = {"id": first_id + len(anns), "image_id": img, "category_id": int(rng.choice(cat_ids)),
                 "bbox": b, "area": area, "iscrowd": crowd}
            anns.append(a)
            gts.append(a)
        if rng.random() < 0.15:
            continue  # image without detections
        for g in gts:
            for _ in range(int(rng.integers(0, 4))):
                cat = g["category_id"] if rng.random() < 0.85 else int(rng.choice(cat_ids))
                dts.append({"image_id": img, "category_id": cat,
                            "bbox": jitter(rng, g["bbox"], float(rng.choice([0.02, 0.1, 0.3]))),
                            "score": score(rng)})
        n_fp = int(rng.integers(0, 150 if many else 8))
        for _ in range(n_fp):
            dts.append({"image_id": img, "category_id": int(rng.choice(cat_ids)),
                        "bbox": rand_box(rng), "score": score(rng)})
        if rng.random() < 0.05:
            dts.append({"image_id": img, "category_id": 9999, "bbox": rand_box(rng), "score": 0.3})
    perm = rng.permutation(len(dts))
    dts = [dts[i] for i in perm]
    return {"images": images, "annotations": anns, "categories": cats}, dts


def jitter_case(gt, seed):
    rng = np.random.default_rng(seed)
    cat_ids = [c["id"] for c in gt["categories"]]
    dts = []
    for a in gt["annotations"]:
        for _ in range(int(rng.integers(0, 3))):
            cat = a["category_id"] if rng.random() < 0.9 else int(rng.choice(cat_ids))
            dts.append({"image_id": a["image_id"], "category_id": cat,
                        "bbox": jitter(rng, a["bbox"], float(rng.choice([0.02, 0.05, 0.15]))),
                        "score": score(rng)})
    for img in gt["images"]:
        for _ in range(int(rng.integers(0, 5))):
            dts.append({"image_id": img["id"], "category_id": int(rng.choice(cat_ids)),
                        "bbox": rand_box(rng), "score": score(rng)})
    return dts


def bench_case(n_img, n_det, seed=12345):
    rng = np.random.default_rng(seed)
    cats = [{"id": c, "name": f"class{c}"} for c in range(1, 81)]
    images = [{"id": i, "width": 640, "height": 480} for i in range(1, n_img + 1)]
    anns, dts = [], []
    for img in range(1, n_img + 1):
        gts = []
        for _ in range(int(rng.integers(1, 15))):
            b = rand_box(rng)
            a = {"id": len(anns) + 1, "image_id": img, "category_id": int(rng.integers(1, 81)),
                 "bbox": b, "area": b[2] * b[3], "iscrowd": int(rng.random() < 0.02)}
            anns.append(a)
            gts.append(a)
        for i in range(n_det):
            if i < len(gts) * 2:
                g = gts[i % len(gts)]
                dts.append({"image_id": img, "category_id": g["category_id"],
                            "bbox": jitter(rng, g["bbox"], 0.1), "score": round(float(rng.random()), 4)})
            else:
                dts.append({"image_id": img, "category_id": int(rng.integers(1, 81)),
                            "bbox": rand_box(rng), "score": round(float(rng.random()), 4)})
    return {"images": images, "annotations": anns, "categories": cats}, dts


def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f)


def main(argv):
    mode = argv[1]
    if mode == "random":
        out = argv[2]
        for s in argv[3:]:
            gt, dt = random_case(int(s))
            dump(gt, os.path.join(out, f"gt_{s}.json"))
            dump(dt, os.path.join(out, f"dt_{s}.json"))
    elif mode == "jitter":
        with open(argv[2]) as f:
            gt = json.load(f)
        dump(jitter_case(gt, int(argv[4])), os.path.join(argv[3], f"dt_jitter_{argv[4]}.json"))
    elif mode == "bench":
        n_img = int(argv[3]) if len(argv) > 3 else 5000
        n_det = int(argv[4]) if len(argv) > 4 else 100
        gt, dt = bench_case(n_img, n_det)
        dump(gt, os.path.join(argv[2], "bench_gt.json"))
        dump(dt, os.path.join(argv[2], "bench_dt.json"))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
