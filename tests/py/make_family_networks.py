"""Write a tiny ONNX network with one detector family's output layout, for the round trip
"engine probe -> suggested adapter -> engine freeze -> validate" (tests/cli/decoder_families.rs).

Input `images` f32[1, 3, 64, 64]; every output is a constant raw tensor plus 0 × the input's
mean (so nothing folds away and tract runs the graph), holding exactly one confident
prediction of class 2 centred at (24, 16) of the input, 16 × 16 px (inside the
image part of a letterboxed 16:9 frame), in the family's encoding
as the probe's suggestion reads it. Five classes.

usage: make_family_networks.py FAMILY OUT.onnx
  FAMILY: grid_heads, yolov8, table, end_to_end, and the layouts whose decoding needs more than
  the shapes say: ssd (deltas, scores and priors), yolov5 (anchor-based heads), yolov8_dfl
  (the raw head with DFL bins)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

C = 5
W = H = 64
CX, CY, BW, BH, CLS = 24.0, 16.0, 16.0, 16.0, 2


def logit(p):
    return float(np.log(p / (1 - p)))


def grid_heads():
    # Suggested: channels box 0, objectness 4, classes 5; xy in cells (none), wh exp × stride,
    # sigmoid objectness and classes; strides 8 and 16.
    outs = {}
    for s in (8, 16):
        g = W // s
        t = np.full((1, 5 + C, g, g), -12.0, np.float32)
        t[0, 0:4] = 0.0
        if s == 8:
            gx, gy = int(CX // s), int(CY // s)
            t[0, 0, gy, gx] = CX / s - gx
            t[0, 1, gy, gx] = CY / s - gy
            t[0, 2, gy, gx] = np.log(BW / s)
            t[0, 3, gy, gx] = np.log(BH / s)
            t[0, 4, gy, gx] = logit(0.95)
            t[0, 5 + CLS, gy, gx] = logit(0.9)
        outs[f"head_s{s}"] = t
    return outs


def yolov8():
    n = sum((W // s) ** 2 for s in (8, 16, 32))
    t = np.zeros((1, 4 + C, n), np.float32)
    t[0, 0], t[0, 1], t[0, 2], t[0, 3] = 8.0, 8.0, 4.0, 4.0
    i = int(CY // 8) * (W // 8) + int(CX // 8)
    t[0, 0:4, i] = [CX, CY, BW, BH]
    t[0, 4 + CLS, i] = 0.9
    return {"output0": t}


def table():
    t = np.zeros((1, 10, 6), np.float32)
    t[0, 0] = [CX - BW / 2, CY - BH / 2, CX + BW / 2, CY + BH / 2, 0.9, CLS]
    return {"output0": t}


def end_to_end():
    q = 10
    boxes = np.tile(np.array([0.5, 0.5, 0.1, 0.1], np.float32), (1, q, 1))
    boxes[0, 3] = [CX / W, CY / H, BW / W, BH / H]
    logits = np.full((1, q, C), -8.0, np.float32)
    logits[0, 3, CLS] = logit(0.9)
    return {"pred_boxes": boxes, "pred_logits": logits}


def ssd():
    # torchvision SSD: deltas (dx, dy, dw, dh) against xyxy priors in input pixels, variances
    # 0.1 / 0.2, softmax scores with the background first. The prediction is prior 3 itself
    # (deltas 0); every other prior is background.
    n = 10
    priors = np.tile(np.array([0.0, 0.0, 8.0, 8.0], np.float32), (n, 1))
    priors += np.arange(n, dtype=np.float32)[:, None] * 4
    priors[3] = [CX - BW / 2, CY - BH / 2, CX + BW / 2, CY + BH / 2]
    deltas = np.zeros((1, n, 4), np.float32)
    scores = np.zeros((1, n, 1 + C), np.float32)
    scores[0, :, 0] = 10.0
    scores[0, 3] = 0.0
    scores[0, 3, 1 + CLS] = 10.0
    return {"deltas": deltas, "scores": scores, "priors": priors}


YOLOV5_ANCHORS = {8: [(10, 13), (16, 30), (33, 23)], 16: [(30, 61), (62, 45), (59, 119)],
                  32: [(116, 90), (156, 198), (373, 326)]}


def yolov5():
    # YOLOv5/v7 raw heads [1, 3 (5 + C), H/s, W/s] at strides 8, 16, 32 with the default COCO
    # anchors: xy = (2 sigmoid - 0.5 + cell) x stride, wh = (2 sigmoid)^2 x anchor. The
    # prediction uses anchor 0 of stride 8 (10 x 13).
    no = 5 + C
    outs = {}
    for s in (8, 16, 32):
        g = W // s
        t = np.full((1, 3 * no, g, g), -12.0, np.float32)
        if s == 8:
            gx, gy = int(CX // s), int(CY // s)
            aw, ah = YOLOV5_ANCHORS[8][0]
            t[0, 0, gy, gx] = logit((CX / s - gx + 0.5) / 2)
            t[0, 1, gy, gx] = logit((CY / s - gy + 0.5) / 2)
            t[0, 2, gy, gx] = logit(np.sqrt(BW / aw) / 2)
            t[0, 3, gy, gx] = logit(np.sqrt(BH / ah) / 2)
            t[0, 4, gy, gx] = logit(0.95)
            t[0, 5 + CLS, gy, gx] = logit(0.9)
        outs[f"p{s}"] = t
    return outs


def yolov8_dfl():
    # The YOLOv8/v11 head before its DFL and sigmoid: [1, 4 x 16 + C, cells], distances from
    # the cell's point ((cell + 0.5) x stride) to the left, top, right, bottom edges as 16-bin
    # distributions in strides. The prediction's cell at stride 8 has its point at (20, 12):
    # edges 0.5 and 1.5 strides away, the expectation of two equal bins.
    bins = 16
    n = sum((W // s) ** 2 for s in (8, 16, 32))
    t = np.zeros((1, 4 * bins + C, n), np.float32)
    t[0, 4 * bins:] = -12.0
    gx, gy = int(CX // 8) - 1, int(CY // 8) - 1
    i = gy * (W // 8) + gx
    for side, (a, b) in enumerate([(0, 1), (0, 1), (1, 2), (1, 2)]):
        t[0, side * bins + a, i] = 20.0
        t[0, side * bins + b, i] = 20.0
    t[0, 4 * bins + CLS, i] = logit(0.9)
    return {"output0": t}


FAMILIES = {"grid_heads": grid_heads, "yolov8": yolov8, "table": table, "end_to_end": end_to_end,
            "ssd": ssd, "yolov5": yolov5, "yolov8_dfl": yolov8_dfl}


def main(family, path):
    outs = FAMILIES[family]()
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Mul", ["mean", "zero"], ["zeros4"]),
    ]
    outputs = []
    for name, v in outs.items():
        inits.append(numpy_helper.from_array(v, f"c_{name}"))
        zeros = "zeros4"
        if v.ndim < 4:
            inits.append(numpy_helper.from_array(np.ones(v.ndim, np.int64), f"s_{name}"))
            nodes.append(helper.make_node("Reshape", ["zeros4", f"s_{name}"], [f"z_{name}"]))
            zeros = f"z_{name}"
        nodes.append(helper.make_node("Add", [zeros, f"c_{name}"], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(v.shape)))
    graph = helper.make_graph(
        nodes, family,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, H, W])],
        outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
