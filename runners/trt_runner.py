#!/usr/bin/env python3
"""adasval runner on TensorRT (JetPack's ``tensorrt`` + ``cuda-python``).

Deserializes a frozen ``.engine``/``.plan`` from the bytes adasval verified,
binds device buffers by tensor name and times every inference with CUDA
events: H2D copy, engine execution, D2H copy. See docs/JETSON.md.

    adasval validate --backend runner --runner "python3 runners/trt_runner.py"

Options: --device N (CUDA device, default 0), --spin (busy-wait on events
instead of blocking sync, like trtexec --useSpinWait).

This file is a thin layer over adasval_runner.py (the protocol code the
onnxruntime runner exercises in CI); it cannot run without a GPU and TensorRT.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorrt as trt  # noqa: E402

try:  # cuda-python >= 12.6 moved the bindings
    from cuda.bindings import runtime as cudart  # noqa: E402
except ImportError:  # pragma: no cover - older JetPack wheels
    from cuda import cudart  # noqa: E402

from adasval_runner import Runner, RunnerError, serve  # noqa: E402


def check(result):
    """cuda-python calls return (error, *values)."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        _, name = cudart.cudaGetErrorName(err)
        raise RunnerError("cuda", f"CUDA error {int(err)} {name.decode() if isinstance(name, bytes) else name}")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


class TrtRunner(Runner):
    name = "trt_runner"
    version = "1"

    def __init__(self, device, spin):
        self.device = device
        self.spin = spin
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.io = []  # (name, is_input, shape, dtype, device_ptr, host_array)

    def libraries(self):
        _, rt = cudart.cudaRuntimeGetVersion()
        return [f"tensorrt {trt.__version__}", f"cudart {rt // 1000}.{(rt % 1000) // 10}",
                f"numpy {np.__version__}"]

    def settings(self):
        return {"device": self.device, "spin_wait": self.spin}

    def load(self, engine_bytes, engine, input_spec):
        if engine.get("format") not in (None, "trt"):
            raise RunnerError("unsupported_format", f"trt_runner runs TensorRT engines, not {engine.get('format')}")
        check(cudart.cudaSetDevice(self.device))
        if self.spin:
            check(cudart.cudaSetDeviceFlags(cudart.cudaDeviceScheduleSpin))
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise RunnerError("deserialize", "TensorRT could not deserialize the engine "
                              "(built with another TensorRT version or for another GPU?)")
        self.context = self.engine.create_execution_context()
        self.stream = check(cudart.cudaStreamCreate())
        self.events = [check(cudart.cudaEventCreate()) for _ in range(4)]
        self.named_api = hasattr(self.engine, "num_io_tensors")  # TensorRT >= 8.5
        names = ([self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
                 if self.named_api else [self.engine.get_binding_name(i) for i in range(self.engine.num_bindings)])
        for i, name in enumerate(names):
            if self.named_api:
                is_input = self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
                shape = tuple(self.engine.get_tensor_shape(name))
                dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
            else:
                is_input = self.engine.binding_is_input(i)
                shape = tuple(self.engine.get_binding_shape(i))
                dtype = np.dtype(trt.nptype(self.engine.get_binding_dtype(i)))
            if any(d < 0 for d in shape):
                if not is_input:
                    raise RunnerError("dynamic_shape", f"output {name} has a dynamic shape {shape}")
                shape = tuple(input_spec.get("shape") or ())
                if self.named_api:
                    self.context.set_input_shape(name, shape)
                else:
                    self.context.set_binding_shape(i, shape)
            host = np.zeros(shape, dtype=dtype)
            ptr = check(cudart.cudaMalloc(max(host.nbytes, 1)))
            if self.named_api:
                self.context.set_tensor_address(name, ptr)
            self.io.append((name, is_input, shape, dtype, ptr, host))
        inputs = [n for n, is_in, *_ in self.io if is_in]
        want = input_spec.get("name")
        if want and want not in inputs:
            raise RunnerError("bad_input", f"the engine's inputs are {inputs}; the adapter names {want!r}")
        return {"api": "tensor-address (execute_async_v3)" if self.named_api else "bindings (execute_async_v2)",
                "io": ";".join(f"{n}:{'in' if i else 'out'}:{'x'.join(map(str, s))}:{d}"
                               for n, i, s, d, _, _ in self.io)}

    def infer(self, inputs):
        kind_h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        kind_d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        ev = self.events
        check(cudart.cudaEventRecord(ev[0], self.stream))
        for name, is_input, shape, dtype, ptr, host in self.io:
            if not is_input:
                continue
            if name not in inputs:
                raise RunnerError("bad_input", f"no tensor for input {name}")
            a = np.ascontiguousarray(inputs[name], dtype=dtype).reshape(shape)
            host[...] = a
            check(cudart.cudaMemcpyAsync(ptr, host.ctypes.data, host.nbytes, kind_h2d, self.stream))
        check(cudart.cudaEventRecord(ev[1], self.stream))
        if self.named_api:
            ok = self.context.execute_async_v3(self.stream)
        else:
            ok = self.context.execute_async_v2([p for *_, p, _ in self.io], self.stream)
        if not ok:
            raise RunnerError("execute", "TensorRT enqueue failed")
        check(cudart.cudaEventRecord(ev[2], self.stream))
        for name, is_input, shape, dtype, ptr, host in self.io:
            if not is_input:
                check(cudart.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes, kind_d2h, self.stream))
        check(cudart.cudaEventRecord(ev[3], self.stream))
        check(cudart.cudaStreamSynchronize(self.stream))

        def ns(a, b):
            return int(round(check(cudart.cudaEventElapsedTime(a, b)) * 1e6))

        outputs = [(name, host.copy()) for name, is_input, _, _, _, host in self.io if not is_input]
        return outputs, {"h2d": ns(ev[0], ev[1]), "compute": ns(ev[1], ev[2]), "d2h": ns(ev[2], ev[3])}

    def close(self):
        for *_, ptr, _ in self.io:
            cudart.cudaFree(ptr)
        self.io = []


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", type=int, default=0)
    p.add_argument("--spin", action="store_true")
    a = p.parse_args()
    return serve(TrtRunner(a.device, a.spin))


if __name__ == "__main__":
    sys.exit(main())
