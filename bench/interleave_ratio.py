#!/usr/bin/env python3
"""Per-process vs per-session speed modes: N fresh processes, each an interleaved session of
two sessions (engines) of the same architecture; prints each process's per-engine medians
and their ratio. Usage (from the repository root): bench/interleave_ratio.py BINARY CPU N LABEL OUT.jsonl [ENV=VAL]
(issue 21; docs/REGRESSION.md, "Interleaving removes it")"""
import csv, json, os, statistics as st, subprocess, sys, tempfile, time
binary, cpu, n, label, out = sys.argv[1:6]
env = dict(os.environ)
for kv in sys.argv[6:]:
    k, v = kv.split("=", 1); env[k] = v
repo = os.getcwd()
with open(out, "a") as f:
    for i in range(int(n)):
        d = tempfile.mkdtemp()
        t = time.time()
        subprocess.run(["taskset", "-c", cpu, binary, "-q", "validate", "--root", repo, "--scenario", "timing-loop",
                        "--engine", "demo-detector,demo-detector-fp16w", "--interleave", "--max-frames", "20",
                        "--repetitions", "20", "--out", os.path.join(d, "r")], env=env, capture_output=True)
        per = {}
        for x in csv.DictReader(open(os.path.join(d, "r", "latencies.csv"))):
            per.setdefault(x["engine"], []).append(float(x["infer_ns"]) / 1e6)
        med = {k: st.median(v) for k, v in per.items()}
        rec = {"label": label, "i": i, "cpu": cpu, "med": med,
               "ratio": med["demo-detector-fp16w"] / med["demo-detector"], "s": round(time.time() - t, 1)}
        f.write(json.dumps(rec) + "\n"); f.flush()
        subprocess.run(["rm", "-rf", d])
