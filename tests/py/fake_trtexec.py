#!/usr/bin/env python3
"""A stand-in for TensorRT's trtexec in tests: same flags, same console banner and
`=== Inference Options ===` block, same --exportOutput / --exportTimes formats.
It "runs" a detector whose one box scores 0.5 + mean(input) / 2, and appends what it
did (engine sha256, score) to $FAKE_TRTEXEC_LOG so the test can check the harness.
"""
import hashlib
import json
import os
import sys

import numpy as np

args = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "") for a in sys.argv[1:] if a.startswith("--"))
print("&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec " + " ".join(sys.argv[1:]))
if "help" in args:
    print("=== Inference Options ===\n  --useCudaGraph  Use CUDA graph (default = disabled)")
    sys.exit(0)
stamp = "[11/26/2026-09:00:00] [I] "
for line in ["=== Inference Options ===", "Batch: Explicit", "Iterations: " + args.get("iterations", "10"),
             "ExposeDMA: Disabled", "Data transfers: " + ("Disabled" if "noDataTransfers" in args else "Enabled"),
             "Spin-wait: " + ("Enabled" if "useSpinWait" in args else "Disabled"),
             "Multithreading: Disabled", "CUDA Graph: " + ("Enabled" if "useCudaGraph" in args else "Disabled"),
             "Separate profiling: Disabled", "=== Reporting Options ===", "Verbose: Disabled"]:
    print(stamp + line)
with open(args["loadEngine"], "rb") as f:
    engine_sha = hashlib.sha256(f.read()).hexdigest()
name, path = args["loadInputs"].split(":", 1)
x = np.fromfile(path, dtype="<f4")
score = float(np.float32(0.5) + np.float32(x.mean()) / np.float32(2))
with open(args["exportOutput"], "w") as f:
    f.write('[\n  { "name" : "boxes"\n  , "dimensions" : "1x1x4"\n  , "values" : [ 2, 2, 30, 20 ]\n  }\n')
    f.write(', { "name" : "scores"\n  , "dimensions" : "1x1"\n  , "values" : [ %.9g ]\n  }\n' % score)
    f.write(', { "name" : "classes"\n  , "dimensions" : "1x1"\n  , "values" : [ 0 ]\n  }\n')
    f.write(', { "name" : "debug"\n  , "dimensions" : "2"\n  , "values" : [ nan, -inf ]\n  }\n]\n')
with open(args["exportTimes"], "w") as f:
    f.write('[\n  { "startEnqMs" : 1, "endEnqMs" : 1.1, "startH2dMs" : 1, "endH2dMs" : 1.25, '
            '"startComputeMs" : 1.25, "endComputeMs" : 3.25, "startD2hMs" : 3.25, "endD2hMs" : 3.5, '
            '"h2dMs" : 0.25, "computeMs" : 2, "d2hMs" : 0.25, "latencyMs" : 2.5 }\n]\n')
with open(os.environ["FAKE_TRTEXEC_LOG"], "a") as f:
    f.write(json.dumps({"engine_sha256": engine_sha, "input": name, "n": int(x.size), "score": score}) + "\n")
print("&&&& PASSED TensorRT.trtexec [TensorRT v100300]")
