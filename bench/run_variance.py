#!/usr/bin/env python3
"""Where does the run-to-run variation of a CPU engine's latency come from? (issue #21)

Makes N fresh `adasval validate` runs of one engine, one after the other (never two at a
time), and for each run reads its `latencies.csv` (samples in acquisition order) and the
process's resource usage. Prints one JSON line per run as it finishes, then a summary:

- the coefficient of variation (sd / mean) across runs of each run's p50 and p99
  (nearest rank, as `adasval diff` computes them);
- the same CV expected from sampling alone: the mean over runs of each run's bootstrap
  standard error of its own p50 / p99 (frames resampled with replacement) divided by the
  mean; where the observed CV is much larger, runs differ by more than their samples do
  and more samples per run cannot help;
- drift inside a run: the second half's p50 over the first half's (1.0: no warm-up left);
- minor page faults and involuntary context switches per run (another process taking the
  core shows up as the latter).

Variants, to test a suspected cause one at a time: --prefix (e.g. "setarch -R" for a fixed
memory layout, "taskset -c 1" to pin), --env KEY=VALUE (e.g. a glibc malloc tunable), and
any further `validate` arguments after `--` (e.g. `-- --warmup 100 --order sequential`).

Usage: bench/run_variance.py [--runs 8] [--frames 20] [--reps 50] [--engine demo-detector]
       [--binary target/release/adasval] [--prefix CMD] [--env K=V ...] [--label TEXT]
       [--out FILE.jsonl] [-- validate args...]
"""
import argparse
import csv
import json
import math
import os
import random
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nearest_rank(sorted_values, q):
    """As adasval's `percentile_sorted`: rank ceil(q·n), clamped to 1..n."""
    n = len(sorted_values)
    return sorted_values[max(1, min(n, math.ceil(q * n))) - 1]


def boot_se(values, q, rng, b=200):
    n = len(values)
    est = []
    for _ in range(b):
        s = sorted(values[rng.randrange(n)] for _ in range(n))
        est.append(nearest_rank(s, q))
    return statistics.stdev(est)


def project(binary, root, engine_onnx, adapter, name):
    for d in ("engines/demo", "scenarios", "platforms"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy(engine_onnx, os.path.join(root, "engines/demo/model.onnx"))
    shutil.copy(adapter, os.path.join(root, "engines/demo/adapter.yaml"))
    shutil.copy(os.path.join(REPO, "scenarios/timing-loop.yaml"), os.path.join(root, "scenarios"))
    for f in os.listdir(os.path.join(REPO, "platforms")):
        shutil.copy(os.path.join(REPO, "platforms", f), os.path.join(root, "platforms", f))
    subprocess.run([binary, "engine", "freeze", "engines/demo/model.onnx", "--name", name, "--adapter",
                    "engines/demo/adapter.yaml"], cwd=root, check=True, capture_output=True)


def one_run(a, root, k, env):
    out = os.path.join(root, "runs", f"r{k:03d}")
    cmd = [*shlex.split(a.prefix or ""), a.binary, "validate", "--root", root, "--quiet", "--out", out,
           "--backend", "cpu", "--scenario", "timing-loop", "--max-frames", str(a.frames),
           "--repetitions", str(a.reps), "--engine", a.name, *a.validate_args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in (0, 1):
        sys.exit(f"validate failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    with open(os.path.join(out, "latencies.csv")) as f:
        infer = [int(row["infer_ns"]) / 1e6 for row in csv.DictReader(f)]
    shutil.rmtree(out)
    s = sorted(infer)
    half = len(infer) // 2
    rng = random.Random(k)
    return {
        "run": k, "samples": len(infer), "wall_s": round(wall, 2),
        "p50_ms": nearest_rank(s, 0.5), "p99_ms": nearest_rank(s, 0.99), "mean_ms": statistics.fmean(infer),
        "min_ms": s[0], "p10_ms": nearest_rank(s, 0.1),
        "p50_first_half_ms": nearest_rank(sorted(infer[:half]), 0.5),
        "p50_second_half_ms": nearest_rank(sorted(infer[half:]), 0.5),
        "p50_first_100_ms": nearest_rank(sorted(infer[:100]), 0.5),
        "boot_se_p50_ms": boot_se(infer, 0.5, rng), "boot_se_p99_ms": boot_se(infer, 0.99, rng),
        "minflt": after.ru_minflt - before.ru_minflt, "nivcsw": after.ru_nivcsw - before.ru_nivcsw,
        "user_s": round(after.ru_utime - before.ru_utime, 2), "sys_s": round(after.ru_stime - before.ru_stime, 3),
        "load1": os.getloadavg()[0],
    }


def cv(xs):
    return statistics.stdev(xs) / statistics.fmean(xs) if len(xs) > 1 else None


def summary(a, runs):
    p50 = [r["p50_ms"] for r in runs]
    p99 = [r["p99_ms"] for r in runs]
    return {
        "label": a.label, "runs": len(runs), "frames": a.frames, "reps": a.reps, "prefix": a.prefix,
        "env": a.env, "validate_args": a.validate_args,
        "cv_p50": cv(p50), "cv_p99": cv(p99), "cv_mean": cv([r["mean_ms"] for r in runs]),
        "sampling_cv_p50": statistics.fmean(r["boot_se_p50_ms"] for r in runs) / statistics.fmean(p50),
        "sampling_cv_p99": statistics.fmean(r["boot_se_p99_ms"] for r in runs) / statistics.fmean(p99),
        "mean_p50_ms": statistics.fmean(p50), "mean_p99_ms": statistics.fmean(p99),
        "drift_second_over_first_half": statistics.fmean(
            r["p50_second_half_ms"] / r["p50_first_half_ms"] for r in runs),
        "first_100_over_p50": statistics.fmean(r["p50_first_100_ms"] / r["p50_ms"] for r in runs),
        "minflt_per_run": statistics.fmean(r["minflt"] for r in runs),
        "nivcsw_per_run": statistics.fmean(r["nivcsw"] for r in runs),
        "load1_range": [min(r["load1"] for r in runs), max(r["load1"] for r in runs)],
    }


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=8)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--binary", default=os.path.join(REPO, "target/release/adasval"))
    p.add_argument("--onnx", default=os.path.join(REPO, "engines/demo/detector.onnx"))
    p.add_argument("--adapter", default=os.path.join(REPO, "engines/demo/adapter.yaml"))
    p.add_argument("--name", default="demo-detector")
    p.add_argument("--prefix", help="command put before adasval, e.g. 'setarch -R'")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE for the runs")
    p.add_argument("--label", default="")
    p.add_argument("--out", help="append each run's JSON line and the summary here")
    a = p.parse_args(argv)
    a.validate_args = extra
    a.binary = os.path.abspath(a.binary)
    env = dict(os.environ)
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    root = tempfile.mkdtemp(prefix="adasval-variance-")
    sink = open(a.out, "a") if a.out else None

    def emit(obj):
        line = json.dumps(obj)
        print(line, flush=True)
        if sink:
            sink.write(line + "\n")
            sink.flush()

    try:
        project(a.binary, root, a.onnx, a.adapter, a.name)
        runs = []
        for k in range(a.runs):
            runs.append(one_run(a, root, k, env))
            emit({"label": a.label, **runs[-1]})
        emit({"summary": summary(a, runs)})
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
