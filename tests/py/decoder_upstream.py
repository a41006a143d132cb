"""The original projects' own post-processing for adasval's decoders (tests/reference/decoders.rs).

Reads {"requests": [request, ...]} as JSON on stdin, each request as decoder_reference.py
takes it ({"case", "seed", "width", "height", "classes", "conf", "iou", "max_det", ...}),
and prints {"results": [{"tensors", "detections", "transcription", "upstream"}, ...]} in
the same order. The raw output tensors are drawn by decoder_reference.py's case functions
(seeded numpy, float32; their transcribed post-processing is returned as `transcription`,
which the self-test's committed cases come from), then handed to the installed upstream
code (tests/requirements-upstream.txt, pinned), whose result is `detections`:

- YOLOX 0.3.0: `yolox/utils/demo_utils.py` `demo_postprocess` and `yolox/utils/boxes.py`
  `postprocess`, imported from the PyPI sdist that .ci/run unpacks into target/upstream/
  (the package's setup.py compiles a C++ COCO evaluator and its `yolox.utils` imports
  loguru, thop, tensorboard...; the two module files need only numpy, torch, torchvision).
  The directory is the request's `yolox_src`, else `ADASVAL_YOLOX_SRC`, else
  target/upstream/yolox-0.3.0;
- ultralytics 8.4.190 (AGPL-3.0): the YOLOv8/v11 `Detect` head's `_inference` (DFL,
  `make_anchors`, `dist2bbox`, sigmoid) on the raw `[1, 4·16 + C, N]` tensor, built with no
  weights (only its decoding runs), then `utils.nms.non_max_suppression`; the same
  `non_max_suppression` (end-to-end branch) on YOLOv10's `[1, 300, 6]` table;
- yolov5 7.0.14 (GPL-3.0; installed with --no-deps by .ci/run, see
  tests/requirements-upstream.txt): the anchor `Detect` head of `models/yolo.py`, built
  with no weights, whose eval-mode `forward` decodes the raw heads, then
  `utils/general.py` `non_max_suppression`; TensorFlow's channel-last heads are transposed
  for the same `Detect` (`TFDetect` needs TensorFlow; see `yolov5_detect`);
- torchvision 0.29.2: `FCOS`, `RetinaNet` and `SSD` models built around a stub backbone (no
  weights; only `postprocess_detections` runs, with the model's own `BoxLinearCoder` /
  `BoxCoder`), FCOS's anchors from its `AnchorGenerator`;
- transformers 5.25.0: `DetrImageProcessor` and `RTDetrImageProcessor`
  `.post_process_object_detection`.

No installable upstream exists for YOLOv7's end-to-end `[N, 7]` table (the repository is
not on PyPI; its README demo is a loop over the rows) and the tanh grid of issue 23 (no
project): the transcription. Each result says which (`upstream`).

Final boxes are clipped to the image and zero-area boxes dropped, as decoder_reference.py
does, as adasval does for every decoder.
"""

import contextlib
import importlib.util
import json
import os
import sys
import tempfile
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoder_reference as ref  # noqa: E402

# ultralytics writes its settings file on import: keep it out of the user's home (removed at
# exit).
SETTINGS = tempfile.TemporaryDirectory(prefix="adasval-ultralytics-")
os.environ.setdefault("YOLO_CONFIG_DIR", SETTINGS.name)
os.environ.setdefault("YOLO_OFFLINE", "1")
# The yolov5 package makes its own settings directory on import: the same temporary one.
os.environ.setdefault("YOLOV5_CONFIG_DIR", SETTINGS.name)

import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)
F = np.float32
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def t_(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=F))


YOLOX_SRC = os.environ.get("ADASVAL_YOLOX_SRC", os.path.join(REPO, "target", "upstream", "yolox-0.3.0"))


def yolox_module(name):
    """One module file of the YOLOX sdist, imported on its own."""
    root = YOLOX_SRC
    path = os.path.join(root, "yolox", "utils", name + ".py")
    if not os.path.exists(path):
        sys.exit(f"{path} not found: .ci/run unpacks the yolox==0.3.0 sdist there (or set ADASVAL_YOLOX_SRC)")
    spec = importlib.util.spec_from_file_location(f"yolox_upstream_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def yolox(t, req):
    demo_utils, boxes = yolox_module("demo_utils"), yolox_module("boxes")
    if list(req["strides"]) != [8, 16, 32]:
        raise ValueError("YOLOX's demo_postprocess knows strides [8, 16, 32] (or p6) only")
    out = demo_utils.demo_postprocess(t["output"].copy(), (req["height"], req["width"]))
    dets = boxes.postprocess(t_(out), req["classes"], req["conf"], req["iou"])[0]
    if dets is None:
        return np.zeros((0, 4), F), np.zeros(0, F), np.zeros(0, np.int64)
    return dets[:, :4], dets[:, 4] * dets[:, 5], dets[:, 6]


def ultralytics_nms(prediction, req, end2end=False):
    from ultralytics.utils.nms import non_max_suppression

    out = non_max_suppression(
        prediction,
        conf_thres=req["conf"],
        iou_thres=req["iou"],
        agnostic=req.get("agnostic", False),
        max_det=req["max_det"],
        max_nms=req.get("max_nms", 30000),
        end2end=end2end,
    )[0]
    return out[:, :4], out[:, 4], out[:, 5]


def yolov8_dfl(t, req):
    from ultralytics.nn.modules.head import Detect

    c, bins = req["classes"], req["dfl_bins"]
    grids = ref.grids(req)
    x = t_(t["output0"])
    head = Detect(nc=c, reg_max=bins, ch=tuple(16 for _ in grids)).eval()
    head.stride = torch.tensor([float(s) for _, _, s in grids])
    feats = [torch.zeros(1, 16, gh, gw) for gw, gh, _ in grids]
    with torch.no_grad():
        y = head._inference({"boxes": x[:, : 4 * bins], "scores": x[:, 4 * bins:], "feats": feats})
    return ultralytics_nms(y, req)


def yolov5_detect(t, req, channel_last):
    """yolov5 7.0.14 `models/yolo.py` `Detect.forward` in eval mode (sigmoid; xy = (2σ + grid −
    0.5) × stride, wh = (2σ)² × anchor_grid), then its `utils/general.py`
    `non_max_suppression` (obj > conf, class scores obj × cls, best class, batched NMS).

    The head is built with no weights and its 1×1 output convolutions replaced by identities,
    so `forward` decodes the raw tensors as they are; its `anchors` buffer holds them in grid
    units, as `DetectionModel` leaves it (pixels ÷ stride), and `_make_grid` multiplies them
    back. TensorFlow's channel-last heads `[1, H, W, A·(5+C)]` are transposed to `[1, A·(5+C),
    H, W]`: `TFDetect.call` reads channel a·(5+C) + k as anchor a, field k, as `Detect` does,
    and its arithmetic (σ² × 4 anchor, ÷ then × the input size) is `Detect`'s up to float
    rounding, so the same `Detect` decodes both (TFDetect itself needs TensorFlow)."""
    from yolov5.models.yolo import Detect
    from yolov5.utils.general import non_max_suppression

    if req.get("max_nms", 30000) != 30000:
        raise ValueError("yolov5's non_max_suppression keeps max_nms = 30000")
    grids = ref.grids(req)
    no = 5 + req["classes"]
    anchors = [np.array(a, F) for a in req["anchors"]]
    flat = [a.reshape(-1).tolist() for a in anchors]
    head = Detect(nc=req["classes"], anchors=flat, ch=[len(a) * no for a in anchors])
    head.m = nn.ModuleList(nn.Identity() for _ in grids)
    head.stride = torch.tensor([float(s) for _, _, s in grids])
    head.anchors /= head.stride.view(-1, 1, 1)
    head.eval()
    heads = [t[f"p{li}"] for li in range(len(grids))]
    x = [t_(p.transpose(0, 3, 1, 2) if channel_last else p) for p in heads]
    with torch.no_grad():
        y = head(x)[0]
        out = non_max_suppression(
            y,
            conf_thres=req["conf"],
            iou_thres=req["iou"],
            agnostic=req.get("agnostic", False),
            max_det=req["max_det"],
        )[0]
    return out[:, :4], out[:, 4], out[:, 5]


def yolov5(t, req):
    return yolov5_detect(t, req, False)


def yolov5_tf(t, req):
    return yolov5_detect(t, req, True)


def table_yolov10(t, req):
    return ultralytics_nms(t_(t["output0"]), req, end2end=True)


class StubBackbone(nn.Module):
    """What torchvision's detection models ask of a backbone to be built; never run."""

    out_channels = 32  # FCOS's head uses GroupNorm(32, channels)

    def forward(self, x):
        raise AssertionError("only postprocess_detections runs")


def tv_thresholds(req):
    return dict(
        score_thresh=req["conf"],
        nms_thresh=req["iou"],
        detections_per_img=req["max_det"],
        topk_candidates=req["topk_candidates"],
    )


def tv_result(dets, label_offset=0):
    return dets["boxes"], dets["scores"], dets["labels"] - label_offset


def fcos(t, req):
    from torchvision.models.detection import FCOS
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList

    c, w, h = req["classes"], req["width"], req["height"]
    grids = ref.grids(req)
    gen = AnchorGenerator(sizes=tuple((s,) for _, _, s in grids), aspect_ratios=((1.0,),) * len(grids))
    model = FCOS(StubBackbone(), num_classes=c, anchor_generator=gen, **tv_thresholds(req)).eval()
    feats = [torch.zeros(1, 1, gh, gw) for gw, gh, _ in grids]
    anchors = model.anchor_generator(ImageList(torch.zeros(1, 3, h, w), [(h, w)]), feats)
    per_level = [gw * gh for gw, gh, _ in grids]
    head = t_(t["head"])  # rows: 4 ltrb distances, centre-ness, C logits
    outputs = {
        "bbox_regression": list(head[..., :4].split(per_level, dim=1)),
        "bbox_ctrness": list(head[..., 4:5].split(per_level, dim=1)),
        "cls_logits": list(head[..., 5:].split(per_level, dim=1)),
    }
    split_anchors = [list(a.split(per_level)) for a in anchors]
    with torch.no_grad():
        dets = model.postprocess_detections(outputs, split_anchors, [(h, w)])[0]
    return tv_result(dets)


def retinanet(t, req):
    from torchvision.models.detection import RetinaNet
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    c, w, h = req["classes"], req["width"], req["height"]
    gen = AnchorGenerator(sizes=((32,),), aspect_ratios=((1.0,),))
    model = RetinaNet(StubBackbone(), num_classes=c, anchor_generator=gen, **tv_thresholds(req)).eval()
    outputs = {"cls_logits": [t_(t["scores"])], "bbox_regression": [t_(t["deltas"])]}
    with torch.no_grad():
        dets = model.postprocess_detections(outputs, [[t_(t["priors"])]], [(h, w)])[0]
    return tv_result(dets)


def ssd(t, req):
    from torchvision.models.detection.ssd import SSD, SSDHead
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator

    c, w, h = req["classes"], req["width"], req["height"]
    gen = DefaultBoxGenerator([[2]])
    head = SSDHead([StubBackbone.out_channels], gen.num_anchors_per_location(), c + 1)
    model = SSD(StubBackbone(), gen, (h, w), c + 1, head=head, **tv_thresholds(req)).eval()
    outputs = {"bbox_regression": t_(t["deltas"]), "cls_logits": t_(t["scores"])}
    with torch.no_grad():
        dets = model.postprocess_detections(outputs, [t_(t["priors"])], [(h, w)])[0]
    # torchvision's label 0 is the background; adasval's class ids start after it.
    return tv_result(dets, label_offset=1)


def hf_result(r):
    return r["boxes"], r["scores"], r["labels"]


def detr(t, req):
    from transformers import DetrImageProcessor

    out = SimpleNamespace(logits=t_(t["logits"]), pred_boxes=t_(t["pred_boxes"]))
    r = DetrImageProcessor().post_process_object_detection(
        out, threshold=req["conf"], target_sizes=[(req["height"], req["width"])]
    )[0]
    return hf_result(r)


def rtdetr(t, req):
    from transformers import RTDetrImageProcessor

    out = SimpleNamespace(logits=t_(t["logits"]), pred_boxes=t_(t["pred_boxes"]))
    r = RTDetrImageProcessor().post_process_object_detection(
        out, threshold=req["conf"], target_sizes=[(req["height"], req["width"])], use_focal_loss=True
    )[0]
    return hf_result(r)


# case -> (upstream function, what runs)
UPSTREAM = {
    "yolox": (yolox, "yolox 0.3.0 demo_postprocess + postprocess"),
    "yolov8_dfl": (yolov8_dfl, "ultralytics Detect._inference + non_max_suppression"),
    "yolov5": (yolov5, "yolov5 7.0.14 Detect.forward + non_max_suppression"),
    "yolov5_tf": (yolov5_tf, "yolov5 7.0.14 Detect.forward (channel-last transposed) + non_max_suppression"),
    "table_yolov10": (table_yolov10, "ultralytics non_max_suppression (end-to-end)"),
    "fcos": (fcos, "torchvision FCOS.postprocess_detections"),
    "retinanet": (retinanet, "torchvision RetinaNet.postprocess_detections"),
    "ssd": (ssd, "torchvision SSD.postprocess_detections"),
    "detr": (detr, "transformers DetrImageProcessor.post_process_object_detection"),
    "rtdetr": (rtdetr, "transformers RTDetrImageProcessor.post_process_object_detection"),
}


def run(req):
    rng = np.random.default_rng(req["seed"])
    tensors, *transcribed = ref.CASES[req["case"]](rng, req)
    out = ref.result(tensors, *transcribed, req)
    # The transcription's detections, for the test to hold them to upstream's: the
    # self-test's committed cases (qualification/generate.py) come from them.
    out["transcription"] = out["detections"]
    out["upstream"] = "transcription (no installable upstream)"
    if req["case"] in UPSTREAM:
        fn, out["upstream"] = UPSTREAM[req["case"]]
        boxes, scores, labels = (np.asarray(torch.as_tensor(v).detach().numpy()) for v in fn(tensors, req))
        out["detections"] = ref.result(tensors, boxes, scores, labels, req)["detections"]
    return out


def main():
    global YOLOX_SRC
    body = json.load(sys.stdin)
    YOLOX_SRC = body.get("yolox_src", YOLOX_SRC)
    # ultralytics prints to stdout (its settings file, warnings): stdout carries the JSON.
    with contextlib.redirect_stdout(sys.stderr):
        results = [run(r) for r in body["requests"]]
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
