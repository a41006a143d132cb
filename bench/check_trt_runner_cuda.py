#!/usr/bin/env python3
"""Exercise runners/trt_runner.py's CUDA half on a GPU machine without TensorRT.

TensorRT cannot be installed where this runs, so a stand-in `tensorrt` module provides
an "engine" whose execution is a device-to-device copy (output = input). Everything
else is real: cuda-python's runtime API, device buffers bound by tensor name, the
H2D / execute / D2H sequence on one stream, CUDA-event timings and the protocol loop
(serve) of adasval_runner.py. Prints one JSON line; exits 1 on any mismatch.

usage: python3 bench/check_trt_runner_cuda.py [--spin]
"""
import hashlib
import io
import json
import os
import sys
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "runners"))

try:
    from cuda.bindings import runtime as cudart
except ImportError:
    from cuda import cudart

SHAPE = (1, 3, 32, 64)


def fake_tensorrt():
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "stand-in (device-to-device copy)"

    class Logger:
        WARNING = 2

        def __init__(self, level):
            self.level = level

    class TensorIOMode:
        INPUT = "input"
        OUTPUT = "output"

    class Context:
        def __init__(self):
            self.addr = {}

        def set_tensor_address(self, name, ptr):
            self.addr[name] = ptr

        def set_input_shape(self, name, shape):
            pass

        def execute_async_v3(self, stream):
            n = int(np.prod(SHAPE)) * 4
            err, = cudart.cudaMemcpyAsync(self.addr["out"], self.addr["images"], n,
                                          cudart.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream)
            return int(err) == 0

    class Engine:
        num_io_tensors = 2

        def get_tensor_name(self, i):
            return ["images", "out"][i]

        def get_tensor_mode(self, name):
            return TensorIOMode.INPUT if name == "images" else TensorIOMode.OUTPUT

        def get_tensor_shape(self, name):
            return SHAPE

        def get_tensor_dtype(self, name):
            return "float32"

        def create_execution_context(self):
            return Context()

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data):
            return Engine() if data == b"stand-in engine" else None

    trt.Logger = Logger
    trt.TensorIOMode = TensorIOMode
    trt.Runtime = Runtime
    trt.nptype = lambda dt: np.float32
    return trt


def main():
    sys.modules["tensorrt"] = fake_tensorrt()
    import adasval_runner as proto
    import trt_runner

    engine = b"stand-in engine"
    x = np.random.default_rng(7).standard_normal(SHAPE).astype(np.float32)
    requests = io.BytesIO()
    proto.write_message(requests, {"type": "hello", "protocol": 1, "seq": 1})
    proto.write_message(requests, {"type": "load", "seq": 2, "input": {"name": "images", "shape": list(SHAPE)},
                                   "engine": {"name": "e", "format": "trt",
                                              "sha256": hashlib.sha256(engine).hexdigest()}},
                        [("engine", np.frombuffer(engine, dtype=np.uint8))])
    for seq in range(3, 8):
        proto.write_message(requests, {"type": "infer", "seq": seq}, [("images", x)])
    proto.write_message(requests, {"type": "close", "seq": 8})
    requests.seek(0)
    replies = io.BytesIO()
    code = proto.serve(trt_runner.TrtRunner(0, "--spin" in sys.argv), stdin=requests, stdout=replies)
    replies.seek(0)
    got = []
    while replies.tell() < len(replies.getvalue()):
        got.append(proto.read_message(replies))
    kinds = [h["type"] for h, _ in got]
    results = [(h, t) for h, t in got if h["type"] == "result"]
    ok = code == 0 and kinds == ["hello", "loaded"] + ["result"] * 5 + ["bye"]
    timings = []
    for h, t in results:
        out = proto.as_array(*t[0])
        ok &= bool(np.array_equal(out, x))
        tm = h["timings_ns"]
        ok &= all(isinstance(tm[k], int) and tm[k] >= 0 for k in ("h2d", "compute", "d2h"))
        timings.append(tm)
    print(json.dumps({"ok": bool(ok), "kinds": kinds, "libraries": got[0][0]["libraries"], "loaded": got[1][0], "timings_ns": timings}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
