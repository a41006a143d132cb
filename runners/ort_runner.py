#!/usr/bin/env python3
"""Reference adasval runner on onnxruntime (CPU): the runner CI runs end to end.

    adasval validate --backend runner --runner "python3 runners/ort_runner.py"

Options: --threads N (intra-op threads, default 1, like the cpu backend).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from adasval_runner import Runner, RunnerError, serve  # noqa: E402


class OrtRunner(Runner):
    name = "ort_runner"
    version = "1"

    def __init__(self, threads):
        self.threads = threads
        self.session = None

    def libraries(self):
        return [f"onnxruntime {ort.__version__}", f"numpy {np.__version__}"]

    def settings(self):
        return {"intra_op_threads": self.threads, "providers": "CPUExecutionProvider"}

    def load(self, engine_bytes, engine, input_spec):
        if engine.get("format") not in (None, "onnx"):
            raise RunnerError("unsupported_format", f"ort_runner runs onnx, not {engine.get('format')}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(engine_bytes, opts, providers=["CPUExecutionProvider"])
        names = [i.name for i in self.session.get_inputs()]
        want = input_spec.get("name")
        if want and want not in names:
            raise RunnerError("bad_input", f"the model's inputs are {names}; the adapter names {want!r}")
        self.outputs = [o.name for o in self.session.get_outputs()]
        return {"graph_optimization_level": opts.graph_optimization_level,
                "outputs": ",".join(self.outputs)}

    def infer(self, inputs):
        t0 = time.perf_counter_ns()
        result = self.session.run(self.outputs, inputs)
        t1 = time.perf_counter_ns()
        arrays = []
        for name, a in zip(self.outputs, result):
            a = np.asarray(a)
            if a.dtype.kind == "f" and a.dtype != np.float32:
                a = a.astype(np.float32)
            arrays.append((name, a))
        # Host memory throughout: no transfers to report.
        return arrays, {"h2d": None, "compute": t1 - t0, "d2h": None}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    return serve(OrtRunner(a.threads))


if __name__ == "__main__":
    sys.exit(main())
