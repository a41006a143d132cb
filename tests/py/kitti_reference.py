"""KITTI 2-D AP from the devkit's Python port (kitti-object-eval-python, in the shared
folder), the oracle of tests/reference/kitti_equivalence.rs.

usage: kitti_reference.py SHARED_REFERENCES CLASS[,CLASS...] CASE_DIR...

Each CASE_DIR holds `gt/` and `dt/` (KITTI files named 000000.txt, ...). Prints JSON:
{CASE_DIR: {class: {"easy": [AP11, AP40], "moderate": [...], "hard": [...]}}} in the
devkit's percent (one process for every case: numba compiles once). Only the 2-D (bbox) metric is evaluated, so the port's CUDA rotated-IoU
module (bird's-eye and 3-D) is replaced by a stub that is never called; the labels are read
by the port's own `get_label_annos` (its image-reading dependency, skimage, is stubbed too:
it is only used for image sizes).
"""
import json
import pathlib
import sys
import types

import numpy as np

refs, classes, cases = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]

pkg = "kitti_object_eval_python"
stub = types.ModuleType(pkg + ".rotate_iou")


def _unused(*_a, **_k):
    raise RuntimeError("rotated IoU is not part of the 2-D evaluation")


stub.rotate_iou_gpu_eval = _unused
sys.modules[stub.__name__] = stub
skimage = types.ModuleType("skimage")
skimage.io = types.ModuleType("skimage.io")
sys.modules["skimage"] = skimage
sys.modules["skimage.io"] = skimage.io
sys.path.insert(0, refs)

import kitti_object_eval_python.eval as E  # noqa: E402
import kitti_object_eval_python.kitti_common as K  # noqa: E402

names = ["Car", "Pedestrian", "Cyclist", "Van", "Person_sitting", "Truck"]
overlap_0_7 = np.array([[0.7, 0.5, 0.5, 0.7, 0.5, 0.7]] * 3)
overlap_0_5 = np.array([[0.7, 0.5, 0.5, 0.7, 0.5, 0.5], [0.5, 0.25, 0.25, 0.5, 0.25, 0.5],
                        [0.5, 0.25, 0.25, 0.5, 0.25, 0.5]])
current = [names.index(c) for c in classes]
min_overlaps = np.stack([overlap_0_7, overlap_0_5], axis=0)[:, :, current]
result = {}
for case in cases:
    gt_dir, dt_dir = str(pathlib.Path(case) / "gt"), str(pathlib.Path(case) / "dt")
    ids = sorted(int(p.stem) for p in pathlib.Path(gt_dir).glob("*.txt"))
    gt = K.get_label_annos(gt_dir, ids)
    dt = K.get_label_annos(dt_dir, ids)
    # As get_official_eval_result → do_eval, bbox metric (0) only.
    ret = E.eval_class(gt, dt, current, [0, 1, 2], 0, min_overlaps)
    ap11 = E.get_mAP(ret["precision"])
    ap40 = E.get_mAP_R40(ret["precision"])
    result[case] = {
        c: {lvl: [float(ap11[j, l, 0]), float(ap40[j, l, 0])]
            for l, lvl in enumerate(["easy", "moderate", "hard"])}
        for j, c in enumerate(classes)
    }
print(json.dumps(result))
