"""Make `detector-fp16w.onnx`: the demo detector with every weight and bias rounded to the
nearest IEEE half-precision value (stored as float32). Same graph, slightly different
numbers: the CPU analogue of a reduced-precision engine build of the same model, whose
outputs differ a little and whose decisions may flip near the score threshold (the study's
label flips across engine builds). Frozen in the lock as `demo-detector-fp16w`.

usage: python3 engines/demo/make_fp16w.py engines/demo/detector.onnx engines/demo/detector-fp16w.onnx
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

src, dst = sys.argv[1], sys.argv[2]
m = onnx.load(src)
rounded = 0
for i, init in enumerate(m.graph.initializer):
    a = numpy_helper.to_array(init)
    if a.dtype == np.float32:
        m.graph.initializer[i].CopyFrom(numpy_helper.from_array(a.astype(np.float16).astype(np.float32), init.name))
        rounded += a.size
onnx.checker.check_model(m)
onnx.save(m, dst)
print(f"rounded {rounded} float32 parameters to float16 precision -> {dst}")
