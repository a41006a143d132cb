#!/usr/bin/env python3
"""Make a slower copy of an ONNX detector with identical outputs: two 3x3 convolutions
(3 -> 8 -> 3 channels by default) in front of the network whose weights copy the image through
(channel c of the first maps to channel c of the second with a 1 at the kernel centre, the
other 13 channels are zero), so every detection is the same and only the compute grows.
Used by bench/regress_calibration.py as the "candidate made slower by a documented change".

Usage: make_slow_detector.py IN.onnx OUT.onnx [--hidden 16]"""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper

p = argparse.ArgumentParser()
p.add_argument("src")
p.add_argument("dst")
p.add_argument("--hidden", type=int, default=8)
a = p.parse_args()

m = onnx.load(a.src)
g = m.graph
inp = g.input[0].name
h = a.hidden
w1 = np.zeros((h, 3, 3, 3), np.float32)
w2 = np.zeros((3, h, 3, 3), np.float32)
for c in range(3):
    w1[c, c, 1, 1] = 1.0
    w2[c, c, 1, 1] = 1.0
g.initializer.extend([numpy_helper.from_array(w1, "slow_w1"), numpy_helper.from_array(w2, "slow_w2")])
for n in g.node:
    n.input[:] = ["slow_out" if x == inp else x for x in n.input]
pre = [
    helper.make_node("Conv", [inp, "slow_w1"], ["slow_mid"], pads=[1, 1, 1, 1], name="slow_conv1"),
    helper.make_node("Conv", ["slow_mid", "slow_w2"], ["slow_out"], pads=[1, 1, 1, 1], name="slow_conv2"),
]
nodes = pre + list(g.node)
del g.node[:]
g.node.extend(nodes)
onnx.checker.check_model(m)
onnx.save(m, a.dst)
