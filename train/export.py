"""Export a trained demo detector to ONNX and check it.

Where it sits: after train.py; its output is engines/demo/detector.onnx. BatchNorm is folded
into the convolutions, the sigmoid is part of the graph, shapes are static (1x3x288x512).
Checks: onnx.checker, the op set (plain-CNN ops only), and onnxruntime against PyTorch.

    python3 train/export.py --weights model.pt --out engines/demo/detector.onnx
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import HEIGHT, WIDTH, DemoDetector, count_macs, fuse_for_export  # noqa: E402

ALLOWED_OPS = {"Conv", "Relu", "MaxPool", "Resize", "Concat", "Add", "Sigmoid", "Reshape", "Transpose"}
# Resize's scales input and Reshape's shape input are exported as Constant nodes or
# initializers; they carry no computation.
HARMLESS_OPS = {"Constant"}
OPSET = 13


def load(weights):
    ckpt = torch.load(weights, map_location="cpu", weights_only=True)
    model = DemoDetector(widths=tuple(ckpt.get("widths", (8, 16, 32, 80))), res8=int(ckpt.get("res8", 0)),
                         post8=int(ckpt.get("post8", 0)))
    model.load_state_dict(ckpt["model"])
    return model.eval()


def export(model, out_path):
    fused = fuse_for_export(model)
    dummy = torch.rand(1, 3, HEIGHT, WIDTH)
    torch.onnx.export(
        fused,
        (dummy,),
        str(out_path),
        input_names=["images"],
        output_names=["output"],
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )
    inline_identities(out_path)
    return fused


def inline_identities(path):
    """The exporter shares equal initializers through Identity nodes; give each its own copy
    so the graph holds only computing ops."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    inits = {i.name: i for i in proto.graph.initializer}
    keep = []
    for node in proto.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            copy = numpy_helper.from_array(numpy_helper.to_array(inits[node.input[0]]), node.output[0])
            proto.graph.initializer.append(copy)
        else:
            keep.append(node)
    del proto.graph.node[:]
    proto.graph.node.extend(keep)
    onnx.save(proto, str(path))


def check(model, fused, onnx_path, seed=0):
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(onnx_path))
    onnx.checker.check_model(proto, full_check=True)
    ops = sorted({n.op_type for n in proto.graph.node})
    bad = [o for o in ops if o not in ALLOWED_OPS | HARMLESS_OPS]
    if bad:
        raise SystemExit(f"ONNX contains ops outside the plain-CNN set: {bad}")
    counts = {}
    for n in proto.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    shape_in = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    shape_out = [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]

    g = torch.Generator().manual_seed(seed)
    x = torch.rand(4, 1, 3, HEIGHT, WIDTH, generator=g)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    max_abs_unfused = 0.0
    max_abs_fused = 0.0
    model = model.eval()
    for i in range(x.shape[0]):
        with torch.no_grad():
            model.export = True
            ref = model(x[i]).numpy()
            model.export = False
            ref_fused = fused(x[i]).numpy()
        got = sess.run(["output"], {"images": x[i].numpy()})[0]
        max_abs_unfused = max(max_abs_unfused, float(np.abs(got - ref).max()))
        max_abs_fused = max(max_abs_fused, float(np.abs(got - ref_fused).max()))
    return {
        "opset": OPSET,
        "ops": ops,
        "op_counts": counts,
        "input_shape": shape_in,
        "output_shape": shape_out,
        "ort_vs_torch_max_abs_diff": max_abs_unfused,
        "ort_vs_torch_fused_max_abs_diff": max_abs_fused,
        "params": int(sum(p.numel() for p in model.parameters())),
        "macs": int(count_macs(model)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", help="checkpoint from train.py (random init if omitted)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", help="write the check results as JSON here")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = load(args.weights) if args.weights else DemoDetector().eval()
    fused = export(model, args.out)
    info = check(model, fused, args.out)
    print(json.dumps(info, indent=1))
    if args.report:
        Path(args.report).write_text(json.dumps(info, indent=1) + "\n")


if __name__ == "__main__":
    main()
