#!/usr/bin/env python3
"""A/A and shift calibration of `adasval diff` (docs/REGRESSION.md, issue #21).

Every comparison uses fresh runs (3 per side by default; baseline and candidate runs
alternate unless --side-order sequential), never reuses one, and counts
the overall decision of `adasval diff --baseline ... --candidate ...`:

noop  The no-op backend with injected latency (ADASVAL_NOOP_DELAY_US): each run gets its
      own offset (normal, --run-sd of the base delay) and every frame exponential noise
      (ADASVAL_NOOP_JITTER_US). A/A: both sides from the same distribution. Shift: the
      candidate's delay and noise multiplied by 1 + --shift.
      One interleaved A/A session (`validate --interleave`) with a CPU-hogging process
      started before the candidate's first block: `diff RUN` must never say regressed.
cpu   The CPU backend with the demo detector on `timing-loop` (--max-frames, --repetitions).
      A/A: the detector against itself. Shift: against `demo-detector-slow`, the same
      network behind two extra 3x3 convolutions (3 -> 8 -> 3 channels, weights that copy
      the image through unchanged, so the detections are identical and only the latency
      grows; made by bench/make_slow_detector.py). Then one interleaved A/A pair with a
      CPU hog beside it, and for contrast the same with separate runs.

Prints a JSON summary on stdout (and Markdown tables with --markdown). Targets (issue #21):
A/A regressed <= 5% and equivalent >= 80%; shifts detected as regressed >= 90%.

Usage: bench/regress_calibration.py --part noop|cpu|all [--aa 20] [--shift-pairs 20]
       [--binary target/release/adasval] [--markdown] [--keep DIR]
"""
import argparse
import concurrent.futures
import itertools
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NOOP_ADAPTER = """schema_version: 1
name: fake
input:
  tensor: images
  layout: nchw
  width: 64
  height: 32
  channel_order: rgb
  scale: 0.00392156862745098
  resize: { policy: stretch }
output:
  decoder: boxes_scores_classes
  boxes: boxes
  scores: scores
  classes: classes
classes: [pedestrian, car]
safety_critical: [pedestrian]
score_threshold: 0.5
nms_iou: 0.5
"""

NOOP_SCENARIO = """schema_version: 1
id: two-frames
title: Two frames
category: pedestrian
tags: [day]
fps: 10
deadline_ms: 100
frames:
  files:
    glob: data/*.png
    labels: { format: coco, path: golden/labels.json }
    class_map: { person: pedestrian }
"""

LABELS = """{"images":[{"id":1,"file_name":"f0.png","width":40,"height":20},{"id":2,"file_name":"f1.png","width":40,"height":20}],
"annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[2,2,10,12],"area":120,"iscrowd":0}],
"categories":[{"id":1,"name":"person"}]}"""


def png(width, height, seed):
    """A tiny RGB PNG written with the standard library."""
    rows = b"".join(
        b"\x00" + bytes(((x * 5 + seed) % 256, (y * 9) % 256, seed * 50 % 256)[c]
                        for x in range(width) for c in range(3))
        for y in range(height)
    )

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PIN = threading.local()


def pinned(args):
    """The command pinned to this worker's CPUs (`--jobs`, `--pin`), so parallel comparisons
    do not share cores; unchanged when no CPU set is assigned or taskset is missing.
    (Real-time priority was tried and dropped: the kernel's RT throttling stops a busy
    SCHED_FIFO process for 50 ms of every second, a 54 ms spike on a 0.2 ms inference.)"""
    cpus = getattr(PIN, "cpus", None)
    out = list(args)
    if cpus and shutil.which("taskset"):
        out = ["taskset", "-c", cpus, *out]
    return out


def sh(args, env=None, check=True, cwd=None):
    r = subprocess.run(pinned(args), env=env, cwd=cwd, capture_output=True, text=True)
    if check and r.returncode not in (0, 1):
        sys.exit(f"command failed ({r.returncode}): {' '.join(args)}\n{r.stdout}\n{r.stderr}")
    return r


def freeze(binary, root, onnx, name, adapter):
    sh([binary, "engine", "freeze", onnx, "--name", name, "--adapter", adapter], cwd=root)


def noop_project(binary, root):
    for d in ("engines", "scenarios", "data", "golden"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    open(os.path.join(root, "engines/fake.onnx"), "wb").write(b"not a model, hashed all the same")
    open(os.path.join(root, "engines/fake.adapter.yaml"), "w").write(NOOP_ADAPTER)
    for i in range(2):
        open(os.path.join(root, f"data/f{i}.png"), "wb").write(png(40, 20, i))
    open(os.path.join(root, "golden/labels.json"), "w").write(LABELS)
    open(os.path.join(root, "scenarios/two-frames.yaml"), "w").write(NOOP_SCENARIO)
    freeze(binary, root, "engines/fake.onnx", "fake", "engines/fake.adapter.yaml")
    freeze(binary, root, "engines/fake.onnx", "fake-b", "engines/fake.adapter.yaml")


def cpu_project(binary, root, slow_onnx=None):
    for d in ("engines/demo", "scenarios", "platforms"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for f in ("detector.onnx", "adapter.yaml"):
        shutil.copy(os.path.join(REPO, "engines/demo", f), os.path.join(root, "engines/demo", f))
    shutil.copy(os.path.join(REPO, "scenarios/timing-loop.yaml"), os.path.join(root, "scenarios"))
    for f in os.listdir(os.path.join(REPO, "platforms")):
        shutil.copy(os.path.join(REPO, "platforms", f), os.path.join(root, "platforms", f))
    if slow_onnx:
        # Made beforehand where the onnx package is missing (e.g. the GPU host).
        shutil.copy(slow_onnx, os.path.join(root, "engines/demo/detector-slow.onnx"))
    else:
        sh([sys.executable, os.path.join(REPO, "bench/make_slow_detector.py"),
            os.path.join(root, "engines/demo/detector.onnx"),
            os.path.join(root, "engines/demo/detector-slow.onnx")], check=True)
    freeze(binary, root, "engines/demo/detector.onnx", "demo-detector", "engines/demo/adapter.yaml")
    freeze(binary, root, "engines/demo/detector.onnx", "demo-detector-b", "engines/demo/adapter.yaml")
    freeze(binary, root, "engines/demo/detector-slow.onnx", "demo-detector-slow",
           "engines/demo/adapter.yaml")


class Runner:
    made = itertools.count(1)

    def __init__(self, binary, root, base_args):
        self.binary, self.root, self.base_args = binary, root, base_args
        self.seconds = []

    def validate(self, extra, env=None):
        out = os.path.join(self.root, "runs", f"r{next(Runner.made):04d}")
        t0 = time.time()
        r = sh([self.binary, "validate", "--root", self.root, "--quiet", "--out", out, *self.base_args, *extra],
               env=env)
        self.seconds.append(time.time() - t0)
        if not os.path.exists(os.path.join(out, "MANIFEST.sha256")):
            sys.exit(f"run {out} not sealed: {r.stdout}{r.stderr}")
        return out

    def diff(self, base, cand, extra=()):
        if cand is None:
            args = [self.binary, "diff", base, "--format", "json", "--root", self.root, *extra]
        else:
            args = [self.binary, "diff", "--baseline", *base, "--candidate", *cand, "--format", "json",
                    "--root", self.root, *extra]
        r = sh(args)
        v = json.loads(r.stdout)
        return v["decision"], {(c["scenario"], c["what"]): c["decision"] for c in v["checks"]}, v


P50, P99, PWCET = "infer latency p50 (ms)", "infer latency p99 (ms)", "pWCET UCB at 1e-6 (ms)"


def pair(a, base, cand):
    """Fresh runs for one comparison: baseline and candidate alternating (B C B C B C), so
    that a trend of the machine's load falls on both sides, or all baseline runs first
    (`--side-order sequential`, how a release is usually measured: old build, then new)."""
    if a.side_order == "sequential":
        b = [base() for _ in range(a.runs)]
        return b, [cand() for _ in range(a.runs)]
    b, c = [], []
    for _ in range(a.runs):
        b.append(base())
        c.append(cand())
    return b, c


def cpu_sets(a):
    return [",".join(str(a.first_cpu + j * a.cpus_per_job + k) for k in range(a.cpus_per_job))
            for j in range(a.jobs)]


def in_parallel(a, tasks):
    """Run the comparisons (callables) on `--jobs` workers, each pinned to its own CPUs;
    results in the order given."""
    if a.jobs <= 1:
        PIN.cpus = cpu_sets(a)[0] if a.pin else None
        try:
            return [t() for t in tasks]
        finally:
            PIN.cpus = None
    free = list(cpu_sets(a))
    lock = threading.Lock()

    def init():
        with lock:
            PIN.cpus = free.pop(0)

    def logged(i, t):
        # One line per finished comparison on stderr, so a run cut short by a time limit
        # still shows what it measured.
        r = t()
        decision, checks = r[0], r[1]
        print(json.dumps({"comparison": i, "decision": decision,
                          "checks": {f"{k[0]} {k[1]}": v for k, v in checks.items()}}),
              file=sys.stderr, flush=True)
        return r

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs, initializer=init) as ex:
        return list(ex.map(lambda it: logged(*it), enumerate(tasks)))


class HogSessionPin:
    """Hog sessions run after the parallel comparisons, alone, on one CPU shared by the
    session and the hog (with --jobs; otherwise wherever the OS puts them)."""

    def __init__(self, a):
        self.cpu = str(a.first_cpu) if a.jobs > 1 or a.pin else None

    def __enter__(self):
        PIN.cpus = self.cpu

    def __exit__(self, *exc):
        PIN.cpus = None


def tally(decisions):
    out = {}
    for d in decisions:
        d = "not judged" if d is None else d
        out[d] = out.get(d, 0) + 1
    return out


class Hog:
    """A process that keeps one core busy (or more with `n`), on the worker's CPUs when
    they are pinned, so that it competes with the session however many cores the host has."""

    def __init__(self, n=1):
        self.procs = [subprocess.Popen(pinned([sys.executable, "-c", "while True: pass"])) for _ in range(n)]

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()


def noop_part(binary, work, a):
    root = os.path.join(work, "noop")
    os.makedirs(root)
    noop_project(binary, root)
    runner = Runner(binary, root, ["--backend", "noop", "--engine", "fake", "--repetitions", str(a.noop_reps)])

    def env_for(scale, rng):
        e = dict(os.environ)
        offset = 1.0 + rng.gauss(0.0, a.run_sd)
        e["ADASVAL_NOOP_DELAY_US"] = f"{a.delay_us * offset * scale:.3f}"
        e["ADASVAL_NOOP_JITTER_US"] = f"{a.jitter_us * scale:.3f}"
        e["ADASVAL_NOOP_SEED"] = str(rng.randrange(1 << 62))
        return e

    def comparison(cand_scale, index):
        # Each comparison draws from its own generator, so results do not depend on --jobs.
        rng = random.Random(a.seed * 1_000_003 + index)

        def task():
            return runner.diff(*pair(a, lambda: runner.validate([], env_for(1.0, rng)),
                                     lambda: runner.validate([], env_for(cand_scale, rng))))
        return task

    results = in_parallel(a, [comparison(1.0, i) for i in range(a.aa)]
                          + [comparison(1.0 + a.shift, a.aa + i) for i in range(a.shift_pairs)])
    aa = [d for d, _, _ in results[:a.aa]]
    aa_checks = [c for _, c, _ in results[:a.aa]]
    shift = [d for d, _, _ in results[a.aa:]]
    shift_checks = [c for _, c, _ in results[a.aa:]]
    # Interleaved A/A with a hog started beside the session.
    hog_runner = Runner(binary, root, ["--backend", "noop", "--engine", "fake,fake-b", "--interleave",
                                       "--repetitions", str(a.hog_reps or a.noop_reps), "--block-repetitions",
                                       str(a.noop_block_reps)])
    il_sessions = []
    for k in range(a.hog_sessions):
        with HogSessionPin(a):
            hog = Hog()
            try:
                il = hog_runner.validate([], env_for(1.0, random.Random(a.seed + 7 * k)))
            finally:
                hog.stop()
        il_sessions.append(runner.diff(il, None, ()))
    il_decision, il_checks, _ = il_sessions[0]
    return {
        "settings": {"side_order": a.side_order, "delay_us": a.delay_us, "jitter_us": a.jitter_us, "run_sd": a.run_sd,
                     "repetitions": a.noop_reps, "frames": 2, "runs_per_side": a.runs, "shift": a.shift,
                     "hog_session_repetitions": a.hog_reps or a.noop_reps,
                     "hog_session_block_repetitions": a.noop_block_reps},
        "aa": tally(aa), "aa_n": len(aa), "shift": tally(shift), "shift_n": len(shift),
        "aa_p50": tally(c.get(("two-frames", P50)) for c in aa_checks),
        "aa_p99": tally(c.get(("two-frames", P99)) for c in aa_checks),
        "shift_p50": tally(c.get(("two-frames", P50)) for c in shift_checks),
        "shift_p99": tally(c.get(("two-frames", P99)) for c in shift_checks),
        "aa_pwcet": tally(c.get(("two-frames", PWCET)) for c in aa_checks),
        "shift_pwcet": tally(c.get(("two-frames", PWCET)) for c in shift_checks),
        "interleaved_hog_sessions": tally(d for d, _, _ in il_sessions),
        "interleaved_hog_sessions_checks": {
            f"{k}": tally(c.get(("two-frames", k)) for _, c, _ in il_sessions) for k in (P50, P99)},
        "interleaved_hog_aa": il_decision, "interleaved_hog_checks": {f"{k[0]} {k[1]}": v for k, v in il_checks.items()},
        "seconds_per_run": sum(runner.seconds) / max(1, len(runner.seconds)),
    }


def cpu_part(binary, work, a):
    root = os.path.join(work, "cpu")
    os.makedirs(root)
    cpu_project(binary, root, a.slow_onnx)
    base = ["--backend", "cpu", "--scenario", "timing-loop", "--max-frames", str(a.cpu_frames),
            "--repetitions", str(a.cpu_reps)]
    runner = Runner(binary, root, base)

    def side(engine):
        return [runner.validate(["--engine", engine]) for _ in range(a.runs)]

    def sides(cand):
        return pair(a, lambda: runner.validate(["--engine", "demo-detector"]),
                    lambda: runner.validate(["--engine", cand]))

    results = in_parallel(a, [lambda: runner.diff(*sides("demo-detector"))] * a.cpu_aa
                          + [lambda: runner.diff(*sides("demo-detector-slow"))] * a.cpu_shift)
    aa = [d for d, _, _ in results[:a.cpu_aa]]
    aa_checks = [c for _, c, _ in results[:a.cpu_aa]]
    shift = [d for d, _, _ in results[a.cpu_aa:]]
    shift_checks = [c for _, c, _ in results[a.cpu_aa:]]
    slow_delta = []
    for _, _, v in results[a.cpu_aa:]:
        for c in v["checks"]:
            if c["what"] == "infer latency p50 (ms)" and c["baseline"]:
                slow_delta.append(c["delta"] / c["baseline"])
    result = {
        "settings": {"side_order": a.side_order, "frames": a.cpu_frames, "repetitions": a.cpu_reps, "runs_per_side": a.runs},
        "aa": tally(aa), "aa_n": len(aa),
        "aa_p50": tally(c.get(("timing-loop", P50)) for c in aa_checks),
        "aa_p99": tally(c.get(("timing-loop", P99)) for c in aa_checks),
        "aa_pwcet": tally(c.get(("timing-loop", PWCET)) for c in aa_checks),
        "shift": tally(shift), "shift_n": len(shift),
        "shift_p50": tally(c.get(("timing-loop", P50)) for c in shift_checks),
        "shift_p99": tally(c.get(("timing-loop", P99)) for c in shift_checks),
        "shift_pwcet": tally(c.get(("timing-loop", PWCET)) for c in shift_checks),
        "slow_engine_p50_increase": sum(slow_delta) / len(slow_delta) if slow_delta else None,
    }
    # Hog beside the candidate: interleaved session (A/A, hog for the whole session) ...
    hog_runner = Runner(binary, root, base + ["--engine", "demo-detector,demo-detector-b", "--interleave"])
    il_sessions = []
    with HogSessionPin(a):
        for _ in range(a.hog_sessions):
            hog = Hog(a.hogs)
            try:
                il = hog_runner.validate([])
            finally:
                hog.stop()
            il_sessions.append(runner.diff(il, None, ()))
        d, checks, _ = il_sessions[0]
        result["interleaved_hog_aa"] = d
        result["interleaved_hog_checks"] = {f"{k[0]} {k[1]}": v for k, v in checks.items()}
        result["interleaved_hog_sessions"] = tally(d for d, _, _ in il_sessions)
        result["interleaved_hog_sessions_checks"] = {
            k: tally(c.get(("timing-loop", k)) for _, c, _ in il_sessions) for k in (P50, P99)}
        # ... and, for contrast, separate runs with the hog only beside the candidate's.
        b = side("demo-detector")
        hog = Hog(a.hogs)
        try:
            c = side("demo-detector")
        finally:
            hog.stop()
        d, checks, _ = runner.diff(b, c)
    result["separate_runs_hog_aa"] = d
    result["seconds_per_run"] = sum(runner.seconds) / max(1, len(runner.seconds))
    return result


def markdown(res):
    lines = []
    for part in ("noop", "cpu"):
        r = res.get(part)
        if not r:
            continue
        lines.append(f"**{part}** (settings: {json.dumps(r['settings'])}; {r['seconds_per_run']:.1f} s per run)\n")
        lines.append("| comparison | n | decisions |")
        lines.append("|---|---|---|")
        lines.append(f"| A/A, overall | {r['aa_n']} | {json.dumps(r['aa'])} |")
        for k in ("aa_p50", "aa_p99", "aa_pwcet"):
            if k in r:
                lines.append(f"| A/A, {k[3:]} check | {r['aa_n']} | {json.dumps(r[k])} |")
        lines.append(f"| shift, overall | {r['shift_n']} | {json.dumps(r['shift'])} |")
        for k in ("shift_p50", "shift_p99", "shift_pwcet"):
            lines.append(f"| shift, {k[6:]} check | {r['shift_n']} | {json.dumps(r[k])} |")
        if part == "cpu":
            lines.append(f"| separate runs, hog beside the candidate | 1 | {r['separate_runs_hog_aa']} |")
        n_il = sum(r["interleaved_hog_sessions"].values())
        lines.append(f"| interleaved A/A with a CPU hog, overall | {n_il} | {json.dumps(r['interleaved_hog_sessions'])} |")
        for k, v in r["interleaved_hog_sessions_checks"].items():
            lines.append(f"| interleaved A/A with a CPU hog, {k[14:17]} check | {n_il} | {json.dumps(v)} |")
        lines.append("")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["noop", "cpu", "all"], default="all")
    p.add_argument("--binary", default=os.path.join(REPO, "target/release/adasval"))
    p.add_argument("--runs", type=int, default=3, help="runs per side")
    p.add_argument("--side-order", choices=["alternate", "sequential"], default="alternate",
                   help="order of a comparison's fresh runs: B C B C ... or B B B C C C")
    p.add_argument("--aa", type=int, default=20, help="noop A/A comparisons")
    p.add_argument("--shift-pairs", type=int, default=20, help="noop shifted comparisons")
    p.add_argument("--shift", type=float, default=0.10)
    p.add_argument("--delay-us", type=float, default=1000.0)
    p.add_argument("--jitter-us", type=float, default=100.0)
    p.add_argument("--run-sd", type=float, default=0.01, help="per-run offset, fraction of the delay")
    p.add_argument("--noop-reps", type=int, default=100)
    p.add_argument("--noop-block-reps", type=int, default=10,
                   help="repetitions per block of the interleaved hog session")
    p.add_argument("--hog-sessions", type=int, default=1, help="interleaved A/A sessions with a hog")
    p.add_argument("--hog-reps", type=int, help="repetitions of the no-op hog session (default --noop-reps)")
    p.add_argument("--jobs", type=int, default=1,
                   help="comparisons run in parallel, each pinned to its own --cpus-per-job CPUs")
    p.add_argument("--cpus-per-job", type=int, default=1)
    p.add_argument("--pin", action="store_true", help="pin even a single job to --first-cpu")
    p.add_argument("--first-cpu", type=int, default=1, help="CPUs from here on are given to the jobs")
    p.add_argument("--slow-onnx", help="the slower candidate, made beforehand by make_slow_detector.py")
    p.add_argument("--cpu-aa", type=int, default=20)
    p.add_argument("--cpu-shift", type=int, default=20)
    p.add_argument("--cpu-frames", type=int, default=20)
    p.add_argument("--cpu-reps", type=int, default=10)
    p.add_argument("--hogs", type=int, default=1)
    p.add_argument("--seed", type=int, default=21)
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--keep", help="keep the projects and runs here")
    a = p.parse_args()
    # The runs execute inside their project directories.
    a.binary = os.path.abspath(a.binary)
    a.slow_onnx = a.slow_onnx and os.path.abspath(a.slow_onnx)
    work = a.keep or tempfile.mkdtemp(prefix="adasval-calibration-")
    os.makedirs(work, exist_ok=True)
    res = {"machine": os.uname().nodename, "cpus": os.cpu_count(), "load_before": os.getloadavg(),
           "jobs": a.jobs, "cpu_sets": cpu_sets(a) if a.jobs > 1 or a.pin else None,
           "argv": sys.argv[1:]}
    t0 = time.time()
    try:
        if a.part in ("noop", "all"):
            res["noop"] = noop_part(a.binary, work, a)
        if a.part in ("cpu", "all"):
            res["cpu"] = cpu_part(a.binary, work, a)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    res["load_after"] = os.getloadavg()
    res["seconds"] = time.time() - t0
    print(json.dumps(res, indent=1))
    if a.markdown:
        print(markdown(res))


if __name__ == "__main__":
    main()
