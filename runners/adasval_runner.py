"""adasval external-runner protocol, version 1 (docs/RUNNER_PROTOCOL.md).

A runner is a process that owns an inference runtime and answers adasval on
stdin/stdout. Each message is a 4-byte little-endian header length, a JSON
header, then the raw bytes of every tensor the header's ``tensors`` list
declares ({"name", "dtype", "shape", "nbytes"}), in order.

Subclass :class:`Runner` (see ort_runner.py, trt_runner.py) and call
:func:`serve`. Nothing but protocol messages may reach stdout: ``serve``
points ``sys.stdout`` at stderr so stray prints cannot corrupt the channel.
"""

import hashlib
import json
import struct
import sys
import time

import numpy as np

PROTOCOL_VERSION = 1
MAX_HEADER_BYTES = 1 << 20

DTYPES = {
    "f32": np.dtype("<f4"),
    "f64": np.dtype("<f8"),
    "f16": np.dtype("<f2"),
    "i32": np.dtype("<i4"),
    "i64": np.dtype("<i8"),
    "u8": np.dtype("u1"),
    "i8": np.dtype("i1"),
    "bool": np.dtype("?"),
}


class RunnerError(Exception):
    """An error reported to adasval as an ``error`` message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def dtype_name(dt):
    dt = np.dtype(dt).newbyteorder("<") if np.dtype(dt).itemsize > 1 else np.dtype(dt)
    for name, d in DTYPES.items():
        if d == dt:
            return name
    raise RunnerError("unsupported_dtype", f"no protocol dtype for {dt}")


def _read_exact(stream, n):
    chunks = []
    while n > 0:
        b = stream.read(n)
        if not b:
            raise EOFError("channel closed")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_message(stream):
    """Read one message; returns (header, [(desc, bytes)]). Raises EOFError at end."""
    (length,) = struct.unpack("<I", _read_exact(stream, 4))
    if length > MAX_HEADER_BYTES:
        raise RunnerError("bad_message", f"header of {length} bytes")
    header = json.loads(_read_exact(stream, length))
    tensors = []
    for i, d in enumerate(header.get("tensors") or []):
        dt = DTYPES.get(d.get("dtype"))
        if dt is None:
            raise RunnerError("bad_message", f"tensor {i}: unknown dtype {d.get('dtype')}")
        want = int(np.prod(d["shape"], dtype=np.int64)) * dt.itemsize
        if want != d["nbytes"]:
            raise RunnerError("bad_message", f"tensor {i} `{d['name']}`: nbytes {d['nbytes']} != {want}")
        tensors.append((d, _read_exact(stream, d["nbytes"])))
    return header, tensors


def write_message(stream, header, arrays=()):
    """Write one message; ``arrays`` is a list of (name, numpy array)."""
    header = dict(header)
    payload = []
    if arrays:
        descs = []
        for name, a in arrays:
            a = np.ascontiguousarray(a)
            if a.dtype.byteorder == ">":
                a = a.astype(a.dtype.newbyteorder("<"))
            descs.append({"name": name, "dtype": dtype_name(a.dtype),
                          "shape": [int(s) for s in a.shape], "nbytes": int(a.nbytes)})
            payload.append(a.tobytes())
        header["tensors"] = descs
    text = json.dumps(header).encode()
    stream.write(struct.pack("<I", len(text)))
    stream.write(text)
    for p in payload:
        stream.write(p)
    stream.flush()


def as_array(desc, data):
    return np.frombuffer(data, dtype=DTYPES[desc["dtype"]]).reshape(desc["shape"])


class Runner:
    """Base class: override ``load``, ``infer`` and optionally ``close``."""

    name = "runner"
    version = "0"

    def libraries(self):
        return []

    def settings(self):
        return {}

    def load(self, engine_bytes, engine, input_spec):
        """Load verified engine bytes. Returns a dict of settings as they took effect."""
        raise NotImplementedError

    def infer(self, inputs):
        """``inputs``: {name: array}. Returns ([(name, array)], {"h2d"|"compute"|"d2h": ns or None})."""
        raise NotImplementedError

    def close(self):
        pass


def _load(runner, header, tensors):
    engine = header.get("engine") or {}
    expected = engine.get("sha256")
    if not expected:
        raise RunnerError("bad_message", "load without engine.sha256")
    if tensors:
        data = tensors[0][1]
        source = "bytes sent by adasval"
    elif engine.get("path"):
        with open(engine["path"], "rb") as f:
            data = f.read()
        source = engine["path"]
    else:
        raise RunnerError("bad_message", "load carries neither engine bytes nor a path")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise RunnerError("hash_mismatch",
                          f"sha256 of the {source} is {actual}, adasval expected {expected}")
    t0 = time.perf_counter_ns()
    settings = runner.load(data, engine, header.get("input") or {}) or {}
    return {"type": "loaded", "sha256": actual, "load_ns": time.perf_counter_ns() - t0,
            "settings": {k: str(v) for k, v in settings.items()}}


def serve(runner, stdin=None, stdout=None):
    """Answer adasval until ``close`` or end of input. Returns the process exit code."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    sys.stdout = sys.stderr  # protect the protocol channel from stray prints
    loaded = False
    while True:
        try:
            header, tensors = read_message(stdin)
        except EOFError:
            runner.close()
            return 0
        except RunnerError as e:
            write_message(stdout, {"type": "error", "code": e.code, "message": e.message})
            return 2
        kind = header.get("type")
        reply = {"seq": header.get("seq")}
        arrays = ()
        try:
            if kind == "hello":
                if header.get("protocol") != PROTOCOL_VERSION:
                    raise RunnerError("protocol_version",
                                      f"runner speaks {PROTOCOL_VERSION}, got {header.get('protocol')}")
                reply.update({"type": "hello", "protocol": PROTOCOL_VERSION, "runner": runner.name,
                              "version": runner.version, "libraries": runner.libraries(),
                              "settings": {k: str(v) for k, v in runner.settings().items()}})
            elif kind == "load":
                reply.update(_load(runner, header, tensors))
                loaded = True
            elif kind == "infer":
                if not loaded:
                    raise RunnerError("not_loaded", "infer before load")
                inputs = {d["name"]: as_array(d, b) for d, b in tensors}
                arrays, timings = runner.infer(inputs)
                reply.update({"type": "result",
                              "timings_ns": {k: (None if v is None else int(v)) for k, v in timings.items()}})
            elif kind == "close":
                runner.close()
                reply["type"] = "bye"
                write_message(stdout, reply)
                return 0
            else:
                raise RunnerError("unknown_message", f"unknown message type {kind!r}")
        except RunnerError as e:
            reply = {"seq": header.get("seq"), "type": "error", "code": e.code, "message": e.message}
            arrays = ()
        except Exception as e:  # runtime failures travel back as errors, not crashes
            reply = {"seq": header.get("seq"), "type": "error", "code": "runtime",
                     "message": f"{type(e).__name__}: {e}"}
            arrays = ()
        write_message(stdout, reply, arrays)
