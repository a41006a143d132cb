"""Reference for adasval's CityPersons subsets (crates/judge/src/metrics/citypersons.rs).

The CityPersons evaluation (`eval_MR_multisetup.py` in the CityPersons repository) is not
on PyPI, so it cannot be installed in CI; this script re-implements its logic, written from
reading that script, in numpy: per image and setup, objects out of the setup's height or
visibility range become ignore regions, detections are sorted by score (mergesort) and kept
within [low / 1.25, high * 1.25), overlap with an ignore region is intersection over the
detection's area, each detection takes the best free regular object and else the best
ignore region (the script's loop, with its `break`); then the accumulation over images
(mergesort on the scores of every image, false positives per image over all images) and the
miss rate at the script's 9 rounded reference FPPI values, with its numpy index -1 and ln 0.

Reads {"frames": [{"gt": [{"bbox", "occlusion", "ignore"}], "dt": [{"bbox", "score"}]}]}
on stdin (one class); prints per setup the script's miss rate, the Caltech variant
(exact references, miss rate 1 where no point is reached, floor 1e-10), whether the two
conventions agree on these data, and the counts.
"""

import json
import sys

import numpy as np

SETUPS = [
    ("Reasonable", (50, 1e5**2), (0.65, 1e5**2)),
    ("Reasonable_small", (50, 75), (0.65, 1e5**2)),
    ("Reasonable_occ=heavy", (50, 1e5**2), (0.2, 0.65)),
    ("All", (20, 1e5**2), (0.2, 1e5**2)),
]
ROUNDED = np.array([0.0100, 0.0178, 0.0316, 0.0562, 0.1000, 0.1778, 0.3162, 0.5623, 1.0000])
EXACT = 10.0 ** np.linspace(-2.0, 0.0, 9)
EXP_FILTER = 1.25
MAX_DETS = 1000


def overlaps(dts, gts, ignore):
    out = np.zeros((len(dts), len(gts)))
    for j, g in enumerate(gts):
        gx2, gy2 = g[0] + g[2], g[1] + g[3]
        garea = g[2] * g[3]
        for i, d in enumerate(dts):
            w = min(d[0] + d[2], gx2) - max(d[0], g[0])
            if w <= 0:
                continue
            h = min(d[1] + d[3], gy2) - max(d[1], g[1])
            if h <= 0:
                continue
            inter = w * h
            darea = d[2] * d[3]
            union = darea if ignore[j] else darea + garea - inter
            out[i, j] = inter / union
    return out


def evaluate_image(frame, hrng, vrng, next_id):
    gts = []
    for g in frame["gt"]:
        occ = g.get("occlusion")
        vis = None if occ is None else 1.0 - occ
        ig = bool(g.get("ignore", False))
        h = g["bbox"][3]
        if h < hrng[0] or h > hrng[1]:
            ig = True
        if vis is None or vis < vrng[0] or vis > vrng[1]:
            ig = True
        gts.append((g["bbox"], 1 if ig else 0, next_id()))
    dts = [(d["bbox"], d["score"], next_id()) for d in frame["dt"]]
    if not gts and not dts:
        return None
    gorder = np.argsort([g[1] for g in gts], kind="mergesort")
    gts = [gts[i] for i in gorder]
    dorder = np.argsort([-d[1] for d in dts], kind="mergesort")
    dts = [dts[i] for i in dorder[:MAX_DETS]]
    kept = [d for d in dts if hrng[0] / EXP_FILTER <= d[0][3] < hrng[1] * EXP_FILTER]
    filtered = len(dts) - len(kept)
    dts = kept
    gt_ig = np.array([g[1] for g in gts])
    ious = overlaps([d[0] for d in dts], [g[0] for g in gts], gt_ig) if dts else []
    gtm = np.zeros(len(gts))
    dtm = np.zeros(len(dts))
    dt_ig = np.zeros(len(dts))
    if len(ious) != 0 and len(gts) != 0:
        for di, d in enumerate(dts):
            best = min(0.5, 1 - 1e-10)
            bg, bm = -2, -2
            for gi, g in enumerate(gts):
                if gtm[gi] > 0:
                    continue
                if bm != -2 and gt_ig[gi] == 1:
                    break
                if ious[di, gi] < best:
                    continue
                best = ious[di, gi]
                bg = gi
                bm = 1 if gt_ig[gi] == 0 else -1
            if bg == -2:
                continue
            dt_ig[di] = gt_ig[bg]
            dtm[di] = gts[bg][2]
            if bm == 1:
                gtm[bg] = d[2]
    return {
        "scores": [d[1] for d in dts],
        "dtm": dtm,
        "dt_ig": dt_ig,
        "gt_ig": gt_ig,
        "filtered": filtered,
    }


def miss_rates(images, n_images):
    scores = np.concatenate([np.array(e["scores"], dtype=float) for e in images])
    order = np.argsort(-scores, kind="mergesort")
    dtm = np.concatenate([e["dtm"] for e in images])[order]
    dt_ig = np.concatenate([e["dt_ig"] for e in images])[order]
    gt_ig = np.concatenate([e["gt_ig"] for e in images])
    npig = int(np.count_nonzero(gt_ig == 0))
    if npig == 0:
        return None
    tps = np.logical_and(dtm, np.logical_not(dt_ig))
    fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
    keep = np.where(dt_ig == 0)[0]
    tp = np.cumsum(tps[keep]).astype(float)
    fp = np.cumsum(fps[keep]).astype(float)
    fppi = fp / n_images
    recall = (tp / npig).tolist()

    # The script: index -1 where no point is reached, no floor on ln.
    q = np.zeros(len(ROUNDED)).tolist()
    inds = np.searchsorted(fppi, ROUNDED, side="right") - 1
    try:
        for ri, pi in enumerate(inds):
            q[ri] = recall[pi]
    except IndexError:
        pass
    mrs = 1 - np.array(q)
    with np.errstate(divide="ignore"):
        script = float(np.exp(np.mean(np.log(mrs))))

    # Caltech: exact references, miss rate 1 where no point is reached, floor 1e-10.
    inds_exact = np.searchsorted(fppi, EXACT, side="right") - 1
    mr_exact = np.array([1.0 if i < 0 else 1.0 - recall[i] for i in inds_exact])
    caltech = float(np.exp(np.mean(np.log(np.maximum(mr_exact, 1e-10)))))
    agree = (
        bool(np.array_equal(inds, inds_exact))
        and bool(np.all(inds >= 0))
        and bool(np.all(mr_exact > 0))
    )
    return {
        "script": script,
        "caltech": caltech,
        "conventions_agree": agree,
        "objects": npig,
        "tp": int(tps[keep].sum()),
        "fp": int(fps[keep].sum()),
        "ignored": int(np.count_nonzero(dt_ig)),
    }


def main():
    req = json.load(sys.stdin)
    frames = req["frames"]
    out = []
    for name, hrng, vrng in SETUPS:
        counter = iter(range(1, 1 << 40))
        images = [evaluate_image(f, hrng, vrng, lambda: next(counter)) for f in frames]
        filtered = sum(e["filtered"] for e in images if e is not None)
        images = [e for e in images if e is not None]
        r = miss_rates(images, len(frames)) if images else None
        out.append({"name": name, "filtered_out": filtered, "result": r})
    json.dump({"setups": out}, sys.stdout)


if __name__ == "__main__":
    main()
