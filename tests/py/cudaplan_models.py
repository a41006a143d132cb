"""Small ONNX models for the CUDA plan builder's import tests, and onnxruntime as their
independent reference.

usage:
  cudaplan_models.py gen OUTDIR          write the models below into OUTDIR
  cudaplan_models.py ort MODEL IN.f32 OUTDIR
      run MODEL with onnxruntime on the raw little-endian f32 input (shape from the model)
      and write each output as OUTDIR/<index>.f32 (raw little-endian f32)

models:
  conv_bn_relu.onnx   Conv+BatchNormalization+Relu, and a bias-free strided Conv+BN
  grouped.onnx        depthwise dilated conv, grouped strided conv, MaxPool, Resize (scales
                      from a Constant node), Slice, Add/Mul with broadcasting either way
  misc.onnx           Focus-style Slice with step 2, Concat, SiLU, a Reshape whose shape
                      comes from a Shape/Gather/Unsqueeze/Concat constant subgraph,
                      Transpose, Identity, Flatten
  softmax.onnx        Conv then Softmax (unsupported: node `the_softmax`)
  asym_pads.onnx      Conv with asymmetric pads (unsupported: node `asym_conv`)
  legacy.onnx         opset 9: attribute Slice, Upsample, Unsqueeze/Squeeze on activations;
                      the output comes out of an Identity
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261126)


def f32(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def i64(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.int64), name)


def rnd(*shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def save(path, nodes, inputs, outputs, inits, opset=13):
    graph = helper.make_graph(nodes, os.path.basename(path), inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def bn_params(prefix, c):
    return [
        f32(prefix + "_gamma", rng.uniform(0.5, 1.5, c)),
        f32(prefix + "_beta", rng.uniform(-0.5, 0.5, c)),
        f32(prefix + "_mean", rng.uniform(-0.3, 0.3, c)),
        f32(prefix + "_var", rng.uniform(0.2, 2.0, c)),
    ]


def conv_bn_relu(out):
    inits = [f32("w1", rnd(8, 3, 3, 3)), f32("b1", rnd(8)), f32("w2", rnd(6, 3, 1, 1))]
    inits += bn_params("bn1", 8) + bn_params("bn2", 6)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1_gamma", "bn1_beta", "bn1_mean", "bn1_var"],
                         ["n1"], name="bn1", epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["y1"], name="relu1"),
        helper.make_node("Conv", ["x", "w2"], ["c2"], name="conv2", strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c2", "bn2_gamma", "bn2_beta", "bn2_mean", "bn2_var"],
                         ["y2"], name="bn2"),
    ]
    save(out, nodes, [vi("x", [1, 3, 16, 20])], [vi("y1", [1, 8, 16, 20]), vi("y2", [1, 6, 8, 10])], inits)


def grouped(out):
    inits = [
        f32("wd", rnd(8, 1, 3, 3)), f32("bd", rnd(8)),
        f32("wg", rnd(12, 4, 3, 3)), f32("bg", rnd(12)),
        i64("s_starts", [0]), i64("s_ends", [1]), i64("s_axes", [2]),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "wd", "bd"], ["d"], name="depthwise", group=8,
                         dilations=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("Conv", ["d", "wg", "bg"], ["g"], name="grouped", group=2,
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["g"], ["gs"], name="sig"),
        helper.make_node("MaxPool", ["gs"], ["p"], name="pool", kernel_shape=[3, 3],
                         strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("Constant", [], ["scales"], name="scales_const",
                         value=f32("scales_v", [1.0, 1.0, 2.0, 2.0])),
        helper.make_node("Resize", ["p", "", "scales"], ["r"], name="up", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        helper.make_node("Slice", ["r", "s_starts", "s_ends", "s_axes"], ["row"], name="first_row"),
        # [1,12,1,W] + [1,12,H,W]: the smaller operand first, so the builder must swap.
        helper.make_node("Add", ["row", "r"], ["a"], name="add_bcast"),
        helper.make_node("Mul", ["a", "row"], ["y"], name="mul_bcast"),
    ]
    save(out, nodes, [vi("x", [1, 8, 18, 22])], [vi("y", [1, 12, 18, 22])], inits)


def misc(out):
    inits = [
        i64("st0", [0]), i64("st1", [1]), i64("big", [2**63 - 1]), i64("ax2", [2]), i64("ax3", [3]),
        i64("two", [2]), f32("wc", rnd(6, 12, 3, 3)), f32("bc", rnd(6)), i64("idx1", 1),
        i64("minus1", [-1]),
    ]
    nodes = []
    parts = []
    for k, (sy, sx) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        nodes += [
            helper.make_node("Slice", ["x", ["st0", "st1"][sy], "big", "ax2", "two"], [f"h{k}"], name=f"slice_h{k}"),
            helper.make_node("Slice", [f"h{k}", ["st0", "st1"][sx], "big", "ax3", "two"], [f"q{k}"], name=f"slice_w{k}"),
        ]
        parts.append(f"q{k}")
    nodes += [
        helper.make_node("Concat", parts, ["focus"], name="focus_concat", axis=1),
        helper.make_node("Conv", ["focus", "wc", "bc"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c"], ["cs"], name="silu_sig"),
        helper.make_node("Mul", ["c", "cs"], ["silu"], name="silu_mul"),
        helper.make_node("Identity", ["silu"], ["ident"], name="ident"),
        # shape = [Shape(ident)[1], -1] built from a constant subgraph
        helper.make_node("Shape", ["ident"], ["shp"], name="shape"),
        helper.make_node("Gather", ["shp", "idx1"], ["ch"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["ch", "st0"], ["ch1"], name="unsq"),
        helper.make_node("Concat", ["st1", "ch1", "minus1"], ["newshape"], name="shape_concat", axis=0),
        helper.make_node("Reshape", ["ident", "newshape"], ["flat"], name="reshape"),
        helper.make_node("Transpose", ["flat"], ["t"], name="transpose", perm=[0, 2, 1]),
        helper.make_node("Flatten", ["t"], ["y"], name="flatten", axis=2),
    ]
    save(out, nodes, [vi("x", [1, 3, 20, 24])], [vi("y", [120, 6])], inits)


def softmax(out):
    inits = [f32("w", rnd(4, 3, 1, 1))]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Softmax", ["c"], ["y"], name="the_softmax", axis=1),
    ]
    save(out, nodes, [vi("x", [1, 3, 8, 8])], [vi("y", [1, 4, 8, 8])], inits)


def asym_pads(out):
    inits = [f32("w", rnd(4, 3, 3, 3))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="asym_conv", pads=[0, 0, 1, 1])]
    save(out, nodes, [vi("x", [1, 3, 8, 8])], [vi("y", [1, 4, 7, 7])], inits)


def legacy(out):
    # Opset 9: Slice and Unsqueeze/Squeeze take attributes, Upsample takes scales as input.
    inits = [f32("up_scales", [1.0, 1.0, 2.0, 3.0])]
    nodes = [
        helper.make_node("Slice", ["x"], ["s"], name="slice_attr", starts=[1], ends=[5], axes=[3]),
        helper.make_node("Upsample", ["s", "up_scales"], ["u"], name="upsample", mode="nearest"),
        helper.make_node("Unsqueeze", ["u"], ["u5"], name="unsqueeze", axes=[0]),
        helper.make_node("Squeeze", ["u5"], ["q"], name="squeeze", axes=[0]),
        helper.make_node("Relu", ["q"], ["r"], name="relu"),
        helper.make_node("Identity", ["r"], ["y"], name="final_identity"),
    ]
    save(out, nodes, [vi("x", [1, 4, 6, 8])], [vi("y", [1, 4, 12, 12])], inits, opset=9)


def ort(model, inp, outdir):
    import onnxruntime as rt

    so = rt.SessionOptions()
    so.graph_optimization_level = rt.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = rt.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    i = sess.get_inputs()[0]
    x = np.fromfile(inp, dtype="<f4").reshape(i.shape)
    outs = sess.run(None, {i.name: x})
    os.makedirs(outdir, exist_ok=True)
    for k, o in enumerate(outs):
        np.asarray(o, dtype="<f4").tofile(os.path.join(outdir, f"{k}.f32"))


def main():
    if sys.argv[1] == "gen":
        d = sys.argv[2]
        os.makedirs(d, exist_ok=True)
        for name, fn in [("conv_bn_relu", conv_bn_relu), ("grouped", grouped), ("misc", misc),
                         ("softmax", softmax), ("asym_pads", asym_pads), ("legacy", legacy)]:
            fn(os.path.join(d, name + ".onnx"))
    elif sys.argv[1] == "ort":
        ort(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
