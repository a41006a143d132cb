"""Load a synth dataset's instances.json with pycocotools and check it independently.

Usage: synth_coco_check.py DIR
Prints one JSON line with counts; exits non-zero on any inconsistency.
"""
import json
import os
import sys

from pycocotools.coco import COCO


def main(d):
    coco = COCO(os.path.join(d, "instances.json"))
    cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert cats == {1: "pedestrian", 2: "cyclist", 3: "car", 4: "truck", 5: "obstacle"}, cats
    img_ids = coco.getImgIds()
    n_ann = 0
    for img in coco.loadImgs(img_ids):
        path = os.path.join(d, img["file_name"])
        assert os.path.isfile(path), path
        assert img["condition"] in {"day", "dusk", "night", "fog", "rain"}, img
        for a in coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]])):
            n_ann += 1
            x, y, w, h = a["bbox"]
            assert w >= 1 and h >= 1, a
            assert x >= 0 and y >= 0 and x + w <= img["width"] and y + h <= img["height"], a
            # The visible area cannot exceed its box.
            assert 0 < a["area"] <= w * h, a
            assert a["iscrowd"] == 0 and a["ignore"] in (0, 1), a
            assert 0.0 <= a["occlusion"] <= 1.0 and 0.0 <= a["truncation"] <= 1.0, a
            assert a["category_id"] in cats, a
    # A detector that returns the ground truth itself must score AP = 1 on the
    # non-ignored boxes (checks ids, bbox format and categories end to end).
    from pycocotools.cocoeval import COCOeval

    dets = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
        for a in coco.loadAnns(coco.getAnnIds())
    ]
    if dets:
        dt = coco.loadRes(dets)
        ev = COCOeval(coco, dt, "bbox")
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()
        # Categories absent from this small set hold -1; average the others.
        p = ev.eval["precision"][0, :, :, 0, -1]
        ap50 = float(p[p > -1].mean())
    else:
        ap50 = -1.0
    print(json.dumps({"images": len(img_ids), "annotations": n_ann, "ap50_self": ap50}))


if __name__ == "__main__":
    main(sys.argv[1])
