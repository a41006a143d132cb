"""Write a tiny ONNX network with one detector family's output layout, for the round trip
"engine probe -> suggested adapter -> engine freeze -> validate" (tests/cli/decoder_families.rs).

Input `images` f32[1, 3, 64, 64]; every output is a constant raw tensor plus 0 × the input's
mean (so nothing folds away and tract runs the graph), holding exactly one confident
prediction of class 2 centred at (24, 16) of the input, 16 × 16 px (inside the
image part of a letterboxed 16:9 frame), in the family's encoding
as the probe's suggestion reads it. Five classes.

usage: make_family_networks.py FAMILY OUT.onnx   (FAMILY: grid_heads, yolov8, table, end_to_end)
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


def main(family, path):
    outs = {"grid_heads": grid_heads, "yolov8": yolov8, "table": table, "end_to_end": end_to_end}[family]()
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Mul", ["mean", "zero"], ["zeros4"]),
    ]
    outputs = []
    for name, v in outs.items():
        inits.append(numpy_helper.from_array(v, f"c_{name}"))
        zeros = "zeros4"
        if v.ndim == 3:
            inits.append(numpy_helper.from_array(np.array([1, 1, 1], np.int64), f"s_{name}"))
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
