#!/usr/bin/env python3
"""Regenerates adasval's self-test reference cases (qualification/cases/*.json) and their
manifest (qualification/MANIFEST.sha256) from the independent references pinned in
tests/requirements.txt: scipy, statsmodels, lmoments3, pycocotools, Python's hashlib, and
the RFC 8032 test vectors. adasval never runs here: the inputs are drawn with numpy's
seeded generator and the expected values come from the references alone.

usage: qualification/generate.py [OUT_DIR]   (default: the directory of this script)

The output is byte-for-byte deterministic for the pinned versions (CI checks that it
equals the committed files: tests/cli/selftest.rs). Expected values are rounded to 12
significant digits, far below every tolerance, so last-bit differences between machines
do not change the files.
"""
import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import warnings

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))
import coco_gen  # noqa: E402  (the generator of the pycocotools equivalence tests)
import coco_reference  # noqa: E402
import wcet_reference  # noqa: E402  (the scipy / statsmodels / lmoments3 calls of the WCET tests)

warnings.simplefilter("ignore")


def r12(v):
    """Round to 12 significant digits (see the module comment)."""
    return float(f"{float(v):.12g}")


def data(values, digits=6):
    return [round(float(v), digits) for v in values]


def case(name, kind, reference, inputs, expected, tolerance):
    return {"name": name, "kind": kind, "reference": reference, "input": inputs,
            "expected": expected, "tolerance": tolerance}


def versions():
    import importlib.metadata as md
    return {p: md.version(p) for p in ("numpy", "scipy", "statsmodels", "lmoments3", "pycocotools",
                                       "onnxruntime", "onnx", "numba")}


def gev_sample(rng, n, xi, loc, scale):
    # scipy's genextreme uses c = -xi
    return stats.genextreme.rvs(-xi, loc=loc, scale=scale, size=n, random_state=rng)


def block_p(p, b):
    return -np.expm1(b * np.log1p(-p))


def wcet_cases():
    out = []
    rng = np.random.default_rng(20261207)
    probs = [1e-6, 1e-9]
    for i, (xi, loc, scale, n) in enumerate([(-0.25, 10.0, 1.0, 120), (-0.05, 3.0, 0.2, 400),
                                            (0.15, 0.5, 0.05, 250)]):
        x = data(gev_sample(rng, n, xi, loc, scale))
        r = wcet_reference.op_gev({"data": x, "block_probabilities": [block_p(p, 50) for p in probs]})
        out.append(case(f"gev_pwm_{i + 1}", "gev_pwm", "lmoments3 gev.lmom_fit", {"data": x},
                        {"xi": r12(r["pwm"]["xi"]), "loc": r12(r["pwm"]["loc"]), "scale": r12(r["pwm"]["scale"])},
                        {"xi": {"abs": 1e-3}, "loc": {"rel": 1e-3}, "scale": {"rel": 1e-3}}))
        # An optimiser's optimum: adasval's log-likelihood is at least scipy's, and the
        # bound it implies is within 1 % of scipy's fit.
        out.append(case(f"gev_mle_{i + 1}", "gev_mle", "scipy genextreme.fit, logpdf, isf",
                        {"data": x, "block_size": 50, "probabilities": {f"pwcet_{p:g}": p for p in probs}},
                        {"loglik": r12(r["mle"]["loglik"]),
                         **{f"pwcet_{p:g}": r12(v) for p, v in zip(probs, r["mle"]["isf"])}},
                        {"loglik": {"at_least_rel": 1e-6},
                         **{f"pwcet_{p:g}": {"rel": 0.01} for p in probs}}))
    rate = 0.05
    for i, (xi, scale, n) in enumerate([(-0.2, 1.0, 150), (0.0, 0.3, 500), (0.2, 2.0, 300)]):
        y = np.sort(data(stats.genpareto.rvs(xi, scale=scale, size=n, random_state=rng)))
        y = [float(v) for v in y]
        r = wcet_reference.op_gpd({"data": y, "conditional_probabilities": [p / rate for p in probs]})
        out.append(case(f"gpd_pwm_{i + 1}", "gpd_pwm", "Hosking & Wallis (1987) PWM, numpy", {"data": y},
                        {"xi": r12(r["pwm"]["xi"]), "scale": r12(r["pwm"]["scale"])},
                        {"xi": {"abs": 1e-3}, "scale": {"rel": 1e-3}}))
        out.append(case(f"gpd_mle_{i + 1}", "gpd_mle", "scipy genpareto.fit(floc=0), logpdf, isf",
                        {"data": y, "rate": rate, "probabilities": {f"excess_{p:g}": p for p in probs}},
                        {"loglik": r12(r["mle"]["loglik"]),
                         **{f"excess_{p:g}": r12(v) for p, v in zip(probs, r["mle"]["isf"])}},
                        {"loglik": {"at_least_rel": 1e-6},
                         **{f"excess_{p:g}": {"rel": 0.01} for p in probs}}))
    # The i.i.d. preconditions on an independent trace, an AR(1) trace and a drifting one.
    iid = data(gev_sample(rng, 600, -0.2, 10.0, 1.0))
    e = rng.normal(size=500)
    ar = np.zeros(500)
    for t in range(1, 500):
        ar[t] = 0.8 * ar[t - 1] + e[t]
    drift = np.asarray(data(gev_sample(rng, 700, -0.1, 5.0, 0.3))) + np.arange(700) * 1e-3
    for name, x in [("independent", iid), ("ar1", data(10.0 + ar)), ("drift", data(drift))]:
        r = wcet_reference.op_iid({"data": list(x), "lags": 20})
        out.append(case(f"iid_{name}", "iid", "statsmodels acorr_ljungbox, runstest_1samp, kpss; scipy ks_2samp",
                        {"data": list(x), "lags": 20},
                        {"ljung_box": r12(r["ljung_box"][0]), "ljung_box_p": r12(r["ljung_box"][1]),
                         "runs_z": r12(r["runs"][0]), "runs_p": r12(r["runs"][1]),
                         "ks": r12(r["ks"][0]), "ks_p": r12(r["ks"][1]),
                         "kpss": r12(r["kpss"][0]), "kpss_p": r12(r["kpss"][1]), "kpss_lags": r["kpss"][2]},
                        {"ljung_box": {"rel": 1e-6}, "ljung_box_p": {"rel": 1e-6, "abs": 1e-300},
                         "runs_z": {"rel": 1e-6}, "runs_p": {"rel": 1e-6},
                         "ks": {"rel": 1e-9}, "ks_p": {"rel": 1e-6},
                         "kpss": {"rel": 1e-6}, "kpss_p": {"abs": 1e-12}, "kpss_lags": "exact"}))
    # pWCET of a fixed latency trace (ms): GEV on blocks of 50 maxima, scipy's fit.
    trace = data(4.0 + rng.gamma(2.0, 0.05, size=5000) + gev_sample(rng, 5000, -0.1, 0.0, 0.02), 4)
    maxima = [max(trace[k:k + 50]) for k in range(0, 5000, 50)]
    r = wcet_reference.op_gev({"data": maxima, "block_probabilities": [block_p(p, 50) for p in probs]})
    out.append(case("pwcet_trace", "pwcet_block_maxima", "scipy genextreme.fit, isf on blocks of 50",
                    {"trace_ms": trace, "block_size": 50, "probabilities": {f"pwcet_{p:g}": p for p in probs}},
                    {f"pwcet_{p:g}": r12(v) for p, v in zip(probs, r["mle"]["isf"])},
                    {f"pwcet_{p:g}": {"rel": 0.01} for p in probs}))
    return out


def stats_cases():
    out = []
    for x, n, c in [(0, 1, 0.95), (3, 10, 0.95), (50, 100, 0.99), (999, 1000, 0.95),
                    (1, 100000, 0.95), (17, 23, 0.5)]:
        a = 1 - c
        lo = 0.0 if x == 0 else stats.beta.ppf(a / 2, x, n - x + 1)
        hi = 1.0 if x == n else stats.beta.isf(a / 2, x + 1, n - x)
        out.append(case(f"clopper_pearson_{x}_of_{n}_at_{c:g}", "clopper_pearson", "scipy beta.ppf / beta.isf",
                        {"successes": x, "trials": n, "confidence": c},
                        {"lower": r12(lo), "upper": r12(hi)},
                        {"lower": {"rel": 1e-9, "abs": 1e-15}, "upper": {"rel": 1e-9, "abs": 1e-15}}))
    rng = np.random.default_rng(28)
    for i, (na, nb, shift, ties) in enumerate([(40, 55, 0.0, False), (120, 90, 0.4, True), (12, 9, 1.0, False)]):
        a = rng.normal(size=na)
        b = rng.normal(loc=shift, size=nb)
        if ties:
            a, b = np.round(a, 1), np.round(b, 1)
        a, b = data(a), data(b)
        r = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
        out.append(case(f"mann_whitney_{i + 1}", "mann_whitney",
                        "scipy mannwhitneyu (two-sided, asymptotic, continuity)", {"x": a, "y": b},
                        {"u": r12(r.statistic), "p": r12(r.pvalue)},
                        {"u": {"rel": 1e-12}, "p": {"rel": 1e-6}}))
    for i, (sizes, shifts, ties) in enumerate([([30, 30, 30], [0, 0, 0], False),
                                               ([20, 35, 25, 40], [0, 0.3, 0.6, 0], True)]):
        groups = [data(np.round(rng.normal(loc=s, size=k), 1) if ties else rng.normal(loc=s, size=k))
                  for k, s in zip(sizes, shifts)]
        r = stats.kruskal(*groups)
        out.append(case(f"kruskal_wallis_{i + 1}", "kruskal_wallis", "scipy kruskal (tie-corrected)",
                        {"groups": groups}, {"h": r12(r.statistic), "p": r12(r.pvalue)},
                        {"h": {"rel": 1e-9}, "p": {"rel": 1e-6}}))
    # Nearest-rank percentiles of latency samples (ns): the smallest sample with at least
    # p% of the samples at or below it, the rank computed in exact rationals.
    from fractions import Fraction
    import math
    for i, n in enumerate([1, 7, 200, 1000, 1001, 10000]):
        x = [int(v) for v in rng.integers(1_000_000, 9_000_000, size=n)]
        s = sorted(x)
        expected = {}
        for p in ("50", "90", "99", "99.9"):
            rank = math.ceil(Fraction(p) * n / 100)
            expected[f"p{p}"] = s[min(max(rank, 1), n) - 1]
        expected.update({"min": s[0], "max": s[-1], "mean": r12(np.mean(x)),
                         "stddev": r12(np.std(x, ddof=1)) if n > 1 else 0.0})
        tol = {k: "exact" for k in expected}
        tol.update({"mean": {"rel": 1e-12}, "stddev": {"rel": 1e-9, "abs": 1e-9}})
        out.append(case(f"latency_summary_{n}", "latency_summary",
                        "nearest rank in exact rationals (Python fractions); numpy mean, std(ddof=1)",
                        {"samples_ns": x}, expected, tol))
    from statsmodels.stats.proportion import confint_proportions_2indep
    for k1, n1, k2, n2 in [(45, 50, 40, 50), (0, 20, 3, 25), (998, 1000, 990, 1000)]:
        lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=0.05)
        out.append(case(f"newcomb_{k1}_{n1}_{k2}_{n2}", "newcomb",
                        "statsmodels confint_proportions_2indep(method=newcomb, diff)",
                        {"k1": k1, "n1": n1, "k2": k2, "n2": n2, "confidence": 0.95},
                        {"lower": r12(lo), "upper": r12(hi)},
                        {"lower": {"abs": 1e-9}, "upper": {"abs": 1e-9}}))
    return out


def coco_cases():
    # The first seeded case of the equivalence tests' generator that is small, has several
    # classes and no detection of an unknown class.
    for seed in range(1, 500):
        gt, dt = coco_gen.random_case(seed)
        cats = {c["id"] for c in gt["categories"]}
        if 3 <= len(cats) <= 6 and len(gt["images"]) <= 12 and all(d["category_id"] in cats for d in dt) \
                and 20 <= len(dt) <= 200:
            break
    with tempfile.TemporaryDirectory() as d:
        gp, dp = os.path.join(d, "gt.json"), os.path.join(d, "dt.json")
        with open(gp, "w") as f:
            json.dump(gt, f)
        with open(dp, "w") as f:
            json.dump(dt, f)
        with contextlib.redirect_stdout(io.StringIO()):
            r = coco_reference.evaluate(gp, dp)
    names = ["AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
             "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large"]
    expected = {n: r12(v) for n, v in zip(names, r["stats"])}
    for c in r["per_class"]:
        expected[f"class{c['category_id']}_AP"] = r12(c["AP"])
        expected[f"class{c['category_id']}_AP50"] = r12(c["AP50"])
    # -1 is pycocotools' "no value"; the self-test compares it as such.
    return [case(f"coco_bbox_seed{seed}", "coco_bbox", "pycocotools COCOeval (bbox)",
                 {"ground_truth": gt, "detections": dt}, expected,
                 {k: {"abs": 1e-9} for k in expected})]


# RFC 8032, section 7.1: TEST 1, TEST 2, TEST 3 (secret key, public key, message, signature).
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]


def crypto_cases():
    out = []
    for i, msg in enumerate([b"", b"abc", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                             bytes(range(256)) * 5]):
        out.append(case(f"sha256_{i + 1}", "sha256", "Python hashlib.sha256 (FIPS 180-4 vectors 1-3)",
                        {"message_hex": msg.hex()}, {"digest": hashlib.sha256(msg).hexdigest()},
                        {"digest": "exact"}))
    for i, (sk, pk, msg, sig) in enumerate(RFC8032):
        out.append(case(f"ed25519_rfc8032_test{i + 1}", "ed25519", "RFC 8032 section 7.1",
                        {"secret_key_hex": sk, "message_hex": msg},
                        {"public_key": pk, "signature": sig, "verifies": True, "tampered_verifies": False},
                        {k: "exact" for k in ("public_key", "signature", "verifies", "tampered_verifies")}))
    return out


def kitti_line(cls, trunc, occ, b, score=None):
    s = (f"{cls} {trunc:.2f} {occ} -10 {b[0]:.2f} {b[1]:.2f} {b[2]:.2f} {b[3]:.2f} "
         "-1 -1 -1 -1000 -1000 -1000 -10")
    return s + (f" {score:.2f}" if score is not None else "") + "\n"


def kitti_frames(seed, n):
    """KITTI label and result files exercising the devkit's rules (levels and their
    boundaries, occlusion 3, Van / Person_sitting, DontCare with detections partly inside,
    score ties, frames without labels or detections), as tests/reference/kitti_equivalence.rs
    generates them."""
    rng = np.random.default_rng(seed)
    classes = ["Car", "Car", "Car", "Van", "Pedestrian", "Pedestrian", "Person_sitting", "Cyclist",
               "Truck", "Misc"]
    counted = ["Car", "Pedestrian", "Cyclist"]
    heights = [20.0, 24.99, 25.0, 25.01, 30.0, 39.5, 40.0, 40.01, 55.0, 80.0, 130.0]
    truncs = [0.0, 0.0, 0.1, 0.15, 0.16, 0.3, 0.31, 0.5, 0.51, 0.8]
    frames = []
    for f in range(n):
        gt, dt = "", ""
        for _ in range(0 if f % 7 == 3 else int(rng.integers(7))):
            cls = classes[rng.integers(len(classes))]
            h = heights[rng.integers(len(heights))] if rng.integers(3) == 0 else rng.uniform(15, 150)
            aspect = 0.4 if cls.startswith("P") or cls == "Cyclist" else 1.6
            w = max(4.0, h * aspect * rng.uniform(0.8, 1.2))
            x, y = rng.uniform(0, 1100), rng.uniform(100, 250)
            b = [x, y, x + w, y + h]
            gt += kitti_line(cls, truncs[rng.integers(len(truncs))], int(rng.integers(4)), b)
            if f % 11 == 5:
                continue
            for _ in range([0, 1, 1, 1, 2][rng.integers(5)]):
                j, k = rng.uniform(0, 0.1) * w, rng.uniform(0, 0.1) * h
                swap = rng.integers(6)
                dcls = {"Van": "Car", "Person_sitting": "Pedestrian"}.get(cls, cls) if swap <= 2 else cls
                if cls == "Cyclist" and swap == 0:
                    dcls = "Pedestrian"
                dt += kitti_line(dcls, -1, -1, [b[0] + j, b[1] - k, b[2] + j, b[3] + k * 0.5],
                                 (int(rng.integers(60)) + 41) / 100)
        for _ in range(int(rng.integers(3))):
            x, y, w, h = rng.uniform(0, 1100), rng.uniform(100, 250), rng.uniform(20, 120), rng.uniform(20, 80)
            gt += kitti_line("DontCare", -1, -1, [x, y, x + w, y + h])
            inside, cls = rng.uniform(0.3, 1.0), counted[rng.integers(3)]
            dw, dh = w * 0.6, max(26.0, h * 0.9)
            dx = x + w - dw * inside
            if f % 11 != 5:
                dt += kitti_line(cls, -1, -1, [dx, y, dx + dw, y + dh], (int(rng.integers(60)) + 1) / 100)
        if f % 11 != 5:
            for _ in range(int(rng.integers(3))):
                cls, h, x = counted[rng.integers(3)], rng.uniform(10, 100), rng.uniform(0, 1100)
                dt += kitti_line(cls, -1, -1, [x, 150, x + h, 150 + h], (int(rng.integers(60)) + 1) / 100)
        frames.append({"gt": gt, "dt": dt})
    return frames


def detection_cases():
    import subprocess
    out = []
    # Matching and the log-average miss rate: greedy matching by descending score with
    # ignore regions and crowd boxes, and the Caltech LAMR, as the Python reference of the
    # metrics tests computes them (tests/py/coco_frames_reference.py).
    import coco_frames_reference as cfr
    rng = np.random.default_rng(2028)
    for seed in (1, 2):
        frames, scored, positives, counts = [], [], 0, {"tp": 0, "fp": 0, "ignored": 0, "missed": 0}
        for _ in range(40):
            gts = []
            for _ in range(int(rng.integers(0, 5))):
                x, y, w, h = rng.uniform(0, 600), rng.uniform(0, 300), rng.uniform(10, 80), rng.uniform(20, 160)
                kind = rng.integers(8)
                gts.append({"bbox": data([x, y, w, h], 2), "ignore": bool(kind == 0), "crowd": bool(kind == 1)})
            dets = []
            for g in gts:
                for _ in range(int(rng.integers(0, 3))):
                    jit = rng.uniform(-0.25, 0.25, 4) * [g["bbox"][2], g["bbox"][3], g["bbox"][2], g["bbox"][3]]
                    b = [g["bbox"][0] + jit[0], g["bbox"][1] + jit[1], max(2.0, g["bbox"][2] + jit[2]),
                         max(2.0, g["bbox"][3] + jit[3])]
                    dets.append({"bbox": data(b, 2), "score": round(float(rng.uniform(0.05, 1.0)), 2)})
            for _ in range(int(rng.integers(0, 3))):
                dets.append({"bbox": data([rng.uniform(0, 600), rng.uniform(0, 300), rng.uniform(10, 80),
                                           rng.uniform(20, 160)], 2),
                             "score": round(float(rng.uniform(0.05, 0.9)), 2)})
            outcomes, missed = cfr.match(gts, dets, 0.5)
            for d, o in zip(dets, outcomes):
                scored.append((d["score"], o))
                counts[{"tp": "tp", "fp": "fp", "ign": "ignored"}[o]] += 1
            counts["missed"] += missed
            positives += sum(1 for g in gts if not (g["ignore"] or g["crowd"]))
            frames.append({"gt": gts, "dt": dets})
        value, mrs = cfr.lamr(scored, positives, len(frames))
        expected = dict(counts)
        expected["lamr"] = r12(value)
        expected.update({f"mr_at_fppi_{i}": r12(m) for i, m in enumerate(mrs)})
        tol = {k: "exact" for k in counts}
        tol.update({k: {"abs": 1e-12} for k in expected if k.startswith(("lamr", "mr_"))})
        out.append(case(f"match_lamr_{seed}", "match_lamr",
                        "tests/py/coco_frames_reference.py (greedy matching at IoU 0.5, Caltech LAMR), numpy",
                        {"frames": frames, "iou": 0.5}, expected, tol))
    # Critical misses: safety-critical objects (class, height, region of interest) with no
    # same-class detection at IoU >= 0.5 in K consecutive frames of their track, by the
    # definition of docs/METRICS.md, counted here independently.
    rng = np.random.default_rng(2029)
    settings = {"classes": [0], "min_height_px": 30.0, "roi": [100.0, 50.0, 400.0, 300.0],
                "min_consecutive": 3, "iou_threshold": 0.5}
    tracks = [{"id": t, "cls": int(rng.uniform() < 0.25), "x": rng.uniform(60, 480), "y": rng.uniform(20, 330),
               "w": rng.uniform(10, 60), "h": rng.uniform(20, 110), "vx": rng.uniform(-3, 3),
               "p": rng.uniform(0.2, 0.8)} for t in range(8)]
    seq = []
    for f in range(60):
        gts, dets = [], []
        for t in tracks:
            if rng.uniform() < 0.05:
                continue  # absent from this frame: ends a run of misses
            x = t["x"] + t["vx"] * f
            box = data([x, t["y"], t["w"], t["h"] + 0.5 * f * (t["id"] % 3 - 1)], 2)
            gts.append({"class_id": t["cls"], "bbox": box, "track_id": t["id"]})
            if rng.uniform() < t["p"]:
                j = rng.uniform(-0.35, 0.35, 2) * [box[2], box[3]]
                cls = t["cls"] if rng.uniform() < 0.9 else 1 - t["cls"]
                dets.append({"class_id": cls, "bbox": data([box[0] + j[0], box[1] + j[1], box[2], box[3]], 2),
                             "score": 0.9})
        seq.append({"frame": f, "gt": gts, "dt": dets})

    def crit_iou(a, b):
        w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
        h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
        if w <= 0 or h <= 0:
            return 0.0
        return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)

    def critical(g):
        r = settings["roi"]
        b = g["bbox"]
        return (g["class_id"] in settings["classes"] and b[3] >= settings["min_height_px"]
                and b[0] < r[0] + r[2] and r[0] < b[0] + b[2] and b[1] < r[1] + r[3] and r[1] < b[1] + b[3])

    by_track = {}
    for fr in seq:
        for g in fr["gt"]:
            if critical(g):
                best = max([crit_iou(d["bbox"], g["bbox"]) for d in fr["dt"] if d["class_id"] == g["class_id"]],
                           default=0.0)
                by_track.setdefault(g["track_id"], []).append((fr["frame"], best < settings["iou_threshold"]))
    runs = []
    for t, obs in sorted(by_track.items()):
        i = 0
        while i < len(obs):
            if not obs[i][1]:
                i += 1
                continue
            j = i
            while j + 1 < len(obs) and obs[j + 1][1] and obs[j + 1][0] == obs[j][0] + 1:
                j += 1
            if j - i + 1 >= settings["min_consecutive"]:
                runs.append((obs[i][0], t, obs[j][0]))
            i = j + 1
    runs.sort()
    out.append(case("critical_misses_2029", "critical_misses",
                    "the K-consecutive-miss definition (docs/METRICS.md), counted in Python",
                    {"frames": seq, "settings": settings},
                    {"misses": len(runs), "missed_frames": sum(e - f + 1 for f, _, e in runs),
                     "runs": ";".join(f"track {t}: frames {f}-{e}" for f, t, e in runs)},
                    {"misses": "exact", "missed_frames": "exact", "runs": "exact"}))
    # KITTI 2-D AP by the devkit's Python port (shared folder).
    shared = os.environ.get("ADASVAL_SHARED", os.path.join(HERE, "..", "..", "shared"))
    refs = os.path.join(shared, "references")
    classes = ["Car", "Pedestrian", "Cyclist"]
    with tempfile.TemporaryDirectory() as tmp:
        frames = kitti_frames(2028, 160)
        for sub in ("gt", "dt"):
            os.makedirs(os.path.join(tmp, sub))
            for i, fr in enumerate(frames):
                with open(os.path.join(tmp, sub, f"{i:06d}.txt"), "w") as f:
                    f.write(fr[sub])
        r = subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "py", "kitti_reference.py"), refs,
                            ",".join(classes), tmp], check=True, capture_output=True, text=True)
        ap = json.loads(r.stdout)[tmp]
    expected = {f"{c}_{lvl}_{k}": r12(ap[c][lvl][i] / 100.0) for c in classes
                for lvl in ("easy", "moderate", "hard") for i, k in enumerate(("ap11", "ap40"))}
    out.append(case("kitti_ap_2028", "kitti_ap", "KITTI devkit, Python port kitti-object-eval-python (eval_class)",
                    {"frames": frames, "classes": classes}, expected, {k: {"abs": 1e-8} for k in expected}))
    return out


def plan_cases():
    # The CUDA plan builder and its executors against onnxruntime (CPU, no graph
    # optimisation) on two small models of the builder's import tests: the plan's CPU
    # reference interpreter everywhere, the CUDA executor where a GPU is present.
    import onnxruntime as rt
    import cudaplan_models
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in [("conv_bn_relu", cudaplan_models.conv_bn_relu), ("grouped", cudaplan_models.grouped)]:
            path = os.path.join(tmp, name + ".onnx")
            make(path)
            with open(path, "rb") as f:
                model = f.read()
            so = rt.SessionOptions()
            so.graph_optimization_level = rt.GraphOptimizationLevel.ORT_DISABLE_ALL
            so.intra_op_num_threads = 1
            sess = rt.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            inp = sess.get_inputs()[0]
            x = np.random.default_rng(len(model)).uniform(-1, 1, inp.shape).astype(np.float32)
            outs = sess.run(None, {inp.name: x})
            expected, tol, chosen = {}, {}, {}
            for o, v in zip(sess.get_outputs(), outs):
                v = np.asarray(v, dtype=np.float64).ravel()
                picks = sorted(int(i) for i in np.random.default_rng(v.size).choice(v.size, 8, replace=False))
                chosen[o.name] = picks
                q = {f"{o.name}_sum": v.sum(), f"{o.name}_l2": np.sqrt((v * v).sum()),
                     f"{o.name}_min": v.min(), f"{o.name}_max": v.max()}
                q.update({f"{o.name}[{i}]": v[i] for i in picks})
                # fp32 values: 7 significant digits are all there is; summation order differs
                # between onnxruntime, the interpreter and cuDNN.
                expected.update({k: float(f"{float(val):.7g}") for k, val in q.items()})
                tol.update({k: {"abs": 1e-4 * max(1.0, np.sqrt(v.size)) if k.endswith("_sum") else 1e-4,
                                "rel": 1e-4} for k in q})
            inputs = {"model_hex": model.hex(), "input_shape": list(inp.shape),
                      "input": [float(t) for t in x.ravel()], "picks": chosen}
            out.append(case(f"plan_reference_{name}", "plan_reference",
                            "onnxruntime (CPU, no graph optimisation)", inputs, expected, tol))
            out.append(case(f"plan_cuda_{name}", "plan_cuda",
                            "onnxruntime (CPU, no graph optimisation)", inputs, expected, tol))
    return out


DECODER_PREAMBLE = ("schema_version: 1\nname: t\ninput:\n  tensor: images\n  layout: nchw\n  width: {W}\n"
                    "  height: {H}\n  channel_order: rgb\n  resize: {{ policy: stretch }}\n")
ULTRA = {"agnostic": False, "max_nms": 30000, "max_det": 300}
# (case, width, height, classes, conf, iou, max_det, adapter from `output:` on, extra request fields),
# as tests/reference/decoders.rs configures them.
DECODER_CASES = [
    ("yolox", 64, 64, 3, 0.3, 0.45, 100,
     "output:\n  decoder: yolox\n  tensor: output\n  strides: [8, 16, 32]\n", {"strides": [8, 16, 32]}),
    ("yolov8_dfl", 64, 96, 4, 0.25, 0.5, 300,
     "output:\n  decoder: grid\n  tensors: [output0]\n  layout: columns\n  strides: [8, 16, 32]\n"
     "  channels: { box: 0, classes: 64 }\n  boxes: { encoding: ltrb, dfl_bins: 16, unit: stride, cell_center: 0.5 }\n"
     "  score: { classes: sigmoid }\ntop_k: 30000\n",
     dict(ULTRA, strides=[8, 16, 32], dfl_bins=16)),
    ("yolov5", 64, 64, 3, 0.25, 0.45, 300,
     "output:\n  decoder: grid\n  tensors: [p0, p1, p2]\n  layout: channel_first\n  strides: [8, 16, 32]\n"
     "  anchors: [[[10, 13], [16, 30], [33, 23]], [[30, 61], [62, 45], [59, 119]], [[116, 90], [156, 198], [373, 326]]]\n"
     "  channels: { box: 0, objectness: 4, classes: 5 }\n  boxes:\n    encoding: center_size\n"
     "    xy: { activation: sigmoid, scale: 2, offset: -0.5, unit: cell }\n"
     "    wh: { activation: sigmoid, scale: 2, power: 2, unit: anchor }\n"
     "  score: { objectness: sigmoid, classes: sigmoid }\ntop_k: 30000\n",
     dict(ULTRA, strides=[8, 16, 32], anchors=[[[10, 13], [16, 30], [33, 23]], [[30, 61], [62, 45], [59, 119]],
                                                [[116, 90], [156, 198], [373, 326]]])),
    ("fcos", 64, 64, 3, 0.2, 0.6, 100,
     "output:\n  decoder: grid\n  tensors: [head]\n  layout: rows\n  strides: [8, 16, 32]\n"
     "  channels: { box: 0, objectness: 4, classes: 5 }\n  boxes: { encoding: ltrb, unit: stride, cell_center: 0 }\n"
     "  score: { objectness: sigmoid, classes: sigmoid, objectness_power: 0.5, class_power: 0.5, multi_label: true }\n"
     "clip_to_input: true\n", {"strides": [8, 16, 32], "topk_candidates": 1000}),
    ("ssd", 96, 64, 3, 0.3, 0.45, 200,
     "output:\n  decoder: priors\n  deltas: deltas\n  scores: scores\n  priors: priors\n  prior_format: xyxy\n"
     "  variances: [0.1, 0.1, 0.2, 0.2]\n  scores_activation: softmax\n  background: first\nclip_to_input: true\n",
     {"priors": 300, "topk_candidates": 400}),
    ("retinanet", 64, 64, 3, 0.3, 0.5, 300,
     "output:\n  decoder: priors\n  deltas: deltas\n  scores: scores\n  priors: priors\n  variances: [1, 1, 1, 1]\n"
     "  scores_activation: sigmoid\n  background: none\nclip_to_input: true\n",
     {"priors": 300, "topk_candidates": 1000}),
    ("detr", 128, 96, 4, 0.5, 0.5, 100,
     "output:\n  decoder: end_to_end\n  boxes: pred_boxes\n  logits: logits\n  scoring: softmax_no_object\n",
     {"queries": 100}),
    ("rtdetr", 128, 96, 4, 0.4, 0.5, 300,
     "output:\n  decoder: end_to_end\n  boxes: pred_boxes\n  logits: logits\n  scoring: sigmoid\n",
     {"queries": 60}),
]


def decoder_cases():
    # Each decoder on one stored output tensor (seeded), against a transcription of the
    # original project's post-processing (tests/py/decoder_reference.py: YOLOX, ultralytics,
    # torchvision, Hugging Face), so that regenerating these cases needs no PyTorch;
    # tests/reference/decoders.rs holds that transcription to the projects' own code
    # (tests/py/decoder_upstream.py) on every case.
    import subprocess
    out = []
    script = os.path.join(HERE, "..", "tests", "py", "decoder_reference.py")
    for name, w, h, ncls, conf, iou, max_det, adapter, extra in DECODER_CASES:
        req = dict(extra, case=name, seed=7, width=w, height=h, classes=ncls, conf=conf, iou=iou, max_det=max_det)
        r = subprocess.run([sys.executable, script], input=json.dumps(req), check=True, capture_output=True, text=True)
        ref = json.loads(r.stdout)
        text = (DECODER_PREAMBLE.format(W=w, H=h) + adapter + "classes: [" + ", ".join(f"c{i}" for i in range(ncls))
                + f"]\nscore_threshold: {conf}\nnms_iou: {iou}\nmax_detections: {max_det}\n")
        dets = ref["detections"]
        expected, tol = {"count": len(dets)}, {"count": "exact"}
        # Every detection counts through the totals; the ten best one by one.
        for c in range(ncls):
            expected[f"class{c}_count"] = sum(1 for d in dets if int(d[5]) == c)
            tol[f"class{c}_count"] = "exact"
        expected["sum_coordinates"] = r12(sum(sum(d[:4]) for d in dets))
        tol["sum_coordinates"] = {"abs": 4e-4 * max(1, len(dets))}
        expected["sum_scores"] = r12(sum(d[4] for d in dets))
        tol["sum_scores"] = {"abs": 1e-5 * max(1, len(dets))}
        for i, d in enumerate(dets[:10]):
            for k, v in zip(("x1", "y1", "x2", "y2"), d[:4]):
                expected[f"det{i}_{k}"] = r12(v)
                tol[f"det{i}_{k}"] = {"abs": 1e-4}
            expected[f"det{i}_score"] = r12(d[4])
            tol[f"det{i}_score"] = {"abs": 1e-5}
            expected[f"det{i}_class"] = int(d[5])
            tol[f"det{i}_class"] = "exact"
        out.append(case(f"decode_{name}", "decode", "tests/py/decoder_reference.py: numpy transcription of the "
                        "project's post-processing", {"adapter": text, "tensors": ref["tensors"]}, expected, tol))
    return out


def integrity_cases():
    # Behaviour cases: what must be detected; nothing numeric to compute elsewhere.
    return [
        case("lock_round_trip", "lock_round_trip", "the lock format (docs/schema/lock.schema.json)",
             {}, {"verified": True, "modified_engine_detected": True}, {"verified": "exact",
                                                                       "modified_engine_detected": "exact"}),
        case("tamper_detection", "tamper_detection", "sha256sum format of MANIFEST.sha256",
             {}, {"intact_verifies": True, "modified_file_detected": True, "added_file_detected": True,
                  "removed_file_detected": True},
             {k: "exact" for k in ("intact_verifies", "modified_file_detected", "added_file_detected",
                                   "removed_file_detected")}),
        case("replay_incomplete_never_passes", "replay_fault", "docs/EVIDENCE.md: an incomplete run never passes",
             {}, {"complete_run_complete": True, "complete_run_gate_exit": 0, "faulty_run_exit": 1,
                  "faulty_run_complete": False, "faulty_run_gate_exit": 1},
             {k: "exact" for k in ("complete_run_complete", "complete_run_gate_exit", "faulty_run_exit",
                                   "faulty_run_complete", "faulty_run_gate_exit")}),
    ]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else HERE
    os.makedirs(os.path.join(out_dir, "cases"), exist_ok=True)
    families = {"wcet": wcet_cases(), "stats": stats_cases(), "coco": coco_cases(),
                "crypto": crypto_cases(), "integrity": integrity_cases(),
                "detection": detection_cases(), "plan": plan_cases(), "decoders": decoder_cases()}
    manifest = []
    for fam, cases in families.items():
        doc = {"family": fam, "generator": "qualification/generate.py", "references": versions(),
               "cases": cases}
        text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
        rel = f"cases/{fam}.json"
        with open(os.path.join(out_dir, rel), "w") as f:
            f.write(text)
        manifest.append(f"{hashlib.sha256(text.encode()).hexdigest()}  {rel}\n")
    with open(os.path.join(out_dir, "MANIFEST.sha256"), "w") as f:
        f.write("".join(manifest))


if __name__ == "__main__":
    main()
