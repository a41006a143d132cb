"""Write a tiny ONNX detector for runner tests: input `images` f32[1,3,32,64];
outputs boxes [1,3,4] (fixed xyxy boxes), scores [1,3] = sigmoid(8*(channel mean - 0.3)),
classes [1,3] = [0, 1, 0]. Every output depends on the input, so nothing folds away.

usage: make_tiny_detector.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main(out):
    c = lambda name, v: numpy_helper.from_array(np.asarray(v, dtype=np.float32), name)  # noqa: E731
    inits = [
        c("c_off", 0.3), c("c_gain", 8.0), c("c_zero", 0.0),
        c("c_boxes", [[[2, 2, 30, 20], [10, 5, 40, 25], [0, 0, 64, 32]]]),
        c("c_classes", [[0, 1, 0]]),
        numpy_helper.from_array(np.array([1, 3, 1], dtype=np.int64), "c_shape"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[2, 3], keepdims=0),
        helper.make_node("Sub", ["mean", "c_off"], ["centred"]),
        helper.make_node("Mul", ["centred", "c_gain"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["scores"]),
        helper.make_node("Mul", ["mean", "c_zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "c_classes"], ["classes"]),
        helper.make_node("Reshape", ["zeros", "c_shape"], ["zeros3"]),
        helper.make_node("Add", ["zeros3", "c_boxes"], ["boxes"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 64])],
        [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 3, 4]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3]),
         helper.make_tensor_value_info("classes", TensorProto.FLOAT, [1, 3])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main(sys.argv[1])
