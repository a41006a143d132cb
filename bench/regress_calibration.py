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
cpu   The CPU backend (or --backend cuda) with the demo detector on `timing-loop` (--max-frames, --repetitions).
      A/A: the detector against itself. Shift: against `demo-detector-slow`, the same
      network behind two extra 3x3 convolutions (3 -> 8 -> 3 channels, weights that copy
      the image through unchanged, so the detections are identical and only the latency
      grows; made by bench/make_slow_detector.py). Then one interleaved A/A pair with a
      CPU hog beside it, and for contrast the same with separate runs.

--design sessions replaces each comparison's 3 + 3 separate runs with 3 interleaved sessions
(`validate --interleave`, baseline and candidate blocks alternating in one process) judged
by `adasval diff --sessions`: each session is one paired unit, so whatever makes one process
faster or slower than the next falls on both sides of its pair. On the no-op backend the
per-run offset becomes a per-session offset, shared by both engines of the session (that is
what pairing can remove); the shift scales the candidate engine inside the session
(ADASVAL_NOOP_SCALE). Records of this design carry the part name `noop-sessions` or
`cpu-sessions`.

Every finished comparison is printed on stderr as one short JSON line (the latency
decisions, the p50 change, each run's p50 and p99) and appended in full to --out at once,
so a call stopped by a time limit keeps what it measured; --deadline-s starts no
comparison that would not finish in time;
--summarize FILE... adds up the --out files of several calls. Prints a JSON summary on
stdout (and Markdown tables with --markdown), with the run-to-run coefficient of variation
of the runs' p50 and p99. Targets (issue #21): A/A regressed <= 5% and equivalent >= 80%;
shifts detected as regressed >= 90%.

Parallel comparisons (--jobs) share the host's memory bandwidth and caches; --cpus auto
gives each job one logical CPU on its own physical core with idle cores between
(docs/REGRESSION.md, "Where the run-to-run variation comes from").

Usage: bench/regress_calibration.py --part noop|cpu|all [--aa 20] [--shift-pairs 20]
       [--binary target/release/adasval] [--jobs N --cpus auto|LIST] [--deadline-s S]
       [--out FILE.jsonl] [--env KEY=VALUE] [--markdown] [--keep DIR]
       bench/regress_calibration.py --summarize FILE.jsonl... [--markdown]
"""
import argparse
import concurrent.futures
import csv
import itertools
import json
import math
import os
import random
import shutil
import statistics
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


EXTRA_ENV = {}


def sh(args, env=None, check=True, cwd=None):
    if EXTRA_ENV:
        env = {**(env or os.environ), **EXTRA_ENV}
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

    def __init__(self, binary, root, base_args, keep=False):
        self.binary, self.root, self.base_args, self.keep = binary, root, base_args, keep
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
        if cand == "sessions":
            args = [self.binary, "diff", "--sessions", *base, "--format", "json", "--root", self.root, *extra]
        elif cand is None:
            args = [self.binary, "diff", base, "--format", "json", "--root", self.root, *extra]
        else:
            args = [self.binary, "diff", "--baseline", *base, "--candidate", *cand, "--format", "json",
                    "--root", self.root, *extra]
        r = sh(args)
        v = json.loads(r.stdout)
        return v["decision"], {(c["scenario"], c["what"]): c["decision"] for c in v["checks"]}, v

    def forget(self, runs):
        """Delete runs already judged (a long calibration would otherwise fill the disk)."""
        if not self.keep:
            for r in runs:
                shutil.rmtree(r, ignore_errors=True)


P50, P99, PWCET = "infer latency p50 (ms)", "infer latency p99 (ms)", "pWCET UCB at 1e-6 (ms)"


def nearest_rank(sorted_v, q):
    """The q quantile of sorted values by nearest rank, as `diff` takes it."""
    return sorted_v[max(1, min(len(sorted_v), math.ceil(q * len(sorted_v)))) - 1]


def unit_stats(run, engine=None):
    """One run's p50 and p99 of `infer` (nearest rank, as `diff` takes them) from its
    latencies.csv, so the output shows the run-to-run spread behind each decision; in an
    interleaved session, of one engine's samples."""
    with open(os.path.join(run, "latencies.csv")) as f:
        v = sorted(int(row["infer_ns"]) / 1e6 for row in csv.DictReader(f)
                   if engine is None or row["engine"] == engine)
    return {"samples": len(v), "p50_ms": nearest_rank(v, 0.5), "p99_ms": nearest_rank(v, 0.99)}


def matched_p50_change(run, base_engine, cand_engine):
    """One interleaved session's change of the p50 (ms) from its time-matched blocks, written
    out here independently of `diff` (docs/REGRESSION.md, "Time-matched blocks"): the
    nearest-rank median, over adjacent baseline/candidate block pairs, of ln(candidate
    block p50 / baseline block p50), as a factor on the session's baseline p50. None where
    the session has no such pair."""
    with open(os.path.join(run, "run.json")) as f:
        blocks = json.load(f)["interleave"]["blocks"]
    trace = {base_engine: [], cand_engine: []}
    with open(os.path.join(run, "latencies.csv")) as f:
        for row in csv.DictReader(f):
            if row["engine"] in trace:
                trace[row["engine"]].append(int(row["infer_ns"]) / 1e6)

    def rank(v, q):
        return nearest_rank(sorted(v), q)

    def of(engine):
        return [trace[engine][b["first_sample"]:b["first_sample"] + b["samples"]]
                for b in blocks if b["engine"] == engine]
    ratios = [math.log(rank(y, 0.5) / rank(x, 0.5))
              for x, y in zip(of(base_engine), of(cand_engine))
              if x and y and rank(x, 0.5) > 0 and rank(y, 0.5) > 0]
    if not ratios:
        return None
    return rank(trace[base_engine], 0.5) * math.expm1(rank(ratios, 0.5))


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


def core_groups():
    """The logical CPUs this process may use, grouped by physical core (hyperthread
    siblings together), from sysfs; one group per CPU where the topology is not readable."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    groups = set()
    for cpu in sorted(allowed):
        try:
            text = open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read().strip()
        except OSError:
            text = str(cpu)
        ids = []
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            ids.extend(i for i in range(int(lo), int(hi or lo) + 1) if i in allowed)
        groups.add(tuple(sorted(ids)))
    return sorted(groups)


def auto_cpus(jobs):
    """`--cpus auto`: one logical CPU on each of `jobs` physical cores, spread evenly over
    the cores other than CPU 0's (left to the system and the script), so that idle cores
    lie between the jobs and no job shares a core with another's hyperthread."""
    groups = [g for g in core_groups() if 0 not in g]
    if jobs > len(groups):
        sys.exit(f"--cpus auto: {jobs} jobs but only {len(groups)} physical cores besides CPU 0's")
    step = len(groups) / jobs
    return [str(groups[int(i * step + step / 2)][0]) for i in range(jobs)]


def cpu_sets(a):
    if a.cpus:
        return a.cpus
    return [",".join(str(a.first_cpu + j * a.cpus_per_job + k) for k in range(a.cpus_per_job))
            for j in range(a.jobs)]


class Recorder:
    """Each finished comparison as one JSON line on stderr and, with --out, appended to the
    output file at once, so a call cut short by a time limit keeps what it measured and
    several calls can be summarized together (--summarize)."""

    def __init__(self, path):
        self.sink = open(path, "a") if path else None
        self.lock = threading.Lock()
        self.records = []

    def emit(self, rec):
        line = json.dumps(rec)
        with self.lock:
            if rec.get("type") in ("comparison", "hog"):
                self.records.append(rec)
            print(json.dumps(self.brief(rec)), file=sys.stderr, flush=True)
            if self.sink:
                self.sink.write(line + "\n")
                self.sink.flush()


    @staticmethod
    def brief(rec):
        """The stderr line: the latency checks and each run's p50/p99, not every accuracy
        check (a remote call returns only the tail of its output; --out has everything)."""
        if rec.get("type") == "summary":
            return {"type": "summary", "seconds": rec.get("seconds")}
        if rec.get("type") not in ("comparison", "hog") or rec.get("skipped"):
            return {k: v for k, v in rec.items() if k != "core_groups"}
        out = {k: rec[k] for k in ("type", "index", "part", "kind", "decision", "seconds", "cpus", "p50_change")
               if k in rec}
        out["checks"] = {k.rsplit(" (ms)", 1)[0].split(" ", 1)[1]: v for k, v in rec["checks"].items()
                         if k.endswith("(ms)")}
        for side in ("baseline_runs", "candidate_runs"):
            if side in rec:
                out[side] = [[round(u["p50_ms"], 3), round(u["p99_ms"], 3)] for u in rec[side]]
        return out


class Deadline:
    """`--deadline-s`: a comparison is started only if, by the longest one so far, it would
    finish in time; those not started are counted as skipped."""

    def __init__(self, seconds):
        self.end = time.time() + seconds if seconds else None
        self.longest = 0.0
        self.lock = threading.Lock()

    def allows(self, estimate=None):
        if self.end is None:
            return True
        with self.lock:
            return time.time() + (self.longest if estimate is None else estimate) <= self.end

    def took(self, seconds):
        with self.lock:
            self.longest = max(self.longest, seconds)


def in_parallel(a, tasks):
    """Run the comparisons (callables returning a record) on `--jobs` workers, each pinned
    to its own CPUs; every record is emitted as it finishes; records in the order given."""
    sets = cpu_sets(a)

    def logged(i, t):
        if not a.deadline.allows():
            rec = {"type": "comparison", "index": i, **t.describes, "skipped": "deadline"}
        else:
            t0 = time.time()
            rec = {"type": "comparison", "index": i, **t(), "cpus": getattr(PIN, "cpus", None),
                   "seconds": round(time.time() - t0, 1), "finished_at": time.strftime("%H:%M:%S", time.gmtime()),
                   "load1": round(os.getloadavg()[0], 2)}
            a.deadline.took(time.time() - t0)
        a.recorder.emit(rec)
        return rec

    if a.jobs <= 1:
        PIN.cpus = sets[0] if (a.pin or a.cpus) else None
        try:
            return [logged(i, t) for i, t in enumerate(tasks)]
        finally:
            PIN.cpus = None
    free = list(sets)
    lock = threading.Lock()

    def init():
        with lock:
            PIN.cpus = free.pop(0)

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs, initializer=init) as ex:
        return list(ex.map(lambda it: logged(*it), enumerate(tasks)))


class HogSessionPin:
    """Hog sessions run after the parallel comparisons, alone, on one CPU shared by the
    session and the hog (the first job's CPU with --jobs or --cpus; otherwise wherever the
    OS puts them)."""

    def __init__(self, a):
        self.cpu = cpu_sets(a)[0].split(",")[0] if a.jobs > 1 or a.pin or a.cpus else None

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


def comparison_record(part, kind, runner, base, cand):
    """Judge one comparison and describe it: decisions, the p50 change, each run's p50/p99."""
    decision, checks, v = runner.diff(base, cand)
    rel = None
    for c in v["checks"]:
        if c["what"] == P50 and c.get("baseline") and c.get("delta") is not None:
            rel = c["delta"] / c["baseline"]
    rec = {"part": part, "kind": kind, "decision": decision,
           "checks": {f"{k[0]} {k[1]}": d for k, d in checks.items()}, "p50_change": rel,
           "baseline_runs": [unit_stats(r) for r in base], "candidate_runs": [unit_stats(r) for r in cand]}
    runner.forget([*base, *cand])
    return rec


def sessions_record(part, kind, runner, sessions, base_engine, cand_engine):
    """Judge one comparison of interleaved sessions (`diff --sessions`) and describe it as
    comparison_record does, each session's two engines as its baseline and candidate run."""
    decision, checks, v = runner.diff(sessions, "sessions")
    rel = None
    for c in v["checks"]:
        if c["what"] == P50 and c.get("baseline") and c.get("delta") is not None:
            rel = c["delta"] / c["baseline"]
    rec = {"part": part, "kind": kind, "design": "sessions", "decision": decision,
           "checks": {f"{k[0]} {k[1]}": d for k, d in checks.items()}, "p50_change": rel,
           "baseline_runs": [unit_stats(r, base_engine) for r in sessions],
           "candidate_runs": [unit_stats(r, cand_engine) for r in sessions],
           "matched_p50_change_ms": [matched_p50_change(r, base_engine, cand_engine) for r in sessions]}
    runner.forget(sessions)
    return rec


def hog_record(part, kind, runner, run, cand=None):
    decision, checks, _ = runner.diff(run, cand)
    rec = {"type": "hog", "part": part, "kind": kind, "decision": decision,
           "checks": {f"{k[0]} {k[1]}": d for k, d in checks.items()}}
    runner.forget(run if isinstance(run, list) else [run])
    if cand:
        runner.forget(cand)
    return rec


def noop_part(binary, work, a):
    root = os.path.join(work, "noop")
    os.makedirs(root)
    noop_project(binary, root)
    runner = Runner(binary, root, ["--backend", "noop", "--engine", "fake", "--repetitions", str(a.noop_reps)],
                    a.keep)

    def env_for(scale, rng):
        e = dict(os.environ)
        offset = 1.0 + rng.gauss(0.0, a.run_sd)
        e["ADASVAL_NOOP_DELAY_US"] = f"{a.delay_us * offset * scale:.3f}"
        e["ADASVAL_NOOP_JITTER_US"] = f"{a.jitter_us * scale:.3f}"
        e["ADASVAL_NOOP_SEED"] = str(rng.randrange(1 << 62))
        return e

    def comparison(kind, cand_scale, index):
        # Each comparison draws from its own generator, so results do not depend on --jobs.
        rng = random.Random(a.seed * 1_000_003 + index)

        def task():
            b, c = pair(a, lambda: runner.validate([], env_for(1.0, rng)),
                        lambda: runner.validate([], env_for(cand_scale, rng)))
            return comparison_record("noop", kind, runner, b, c)
        task.describes = {"part": "noop", "kind": kind}
        return task

    def session_comparison(kind, cand_scale, index):
        rng = random.Random(a.seed * 1_000_003 + index)
        sessions = Runner(binary, root, ["--backend", "noop", "--engine", "fake,fake-b", "--interleave",
                                         "--repetitions", str(a.noop_reps), "--block-repetitions",
                                         str(a.noop_block_reps)], a.keep)

        def task():
            ss = []
            for _ in range(a.runs):
                # The session's own offset falls on both engines; the shift on the candidate.
                e = env_for(1.0, rng)
                e["ADASVAL_NOOP_SCALE"] = f"fake-b={cand_scale}"
                ss.append(sessions.validate([], e))
            runner.seconds.extend(sessions.seconds[-a.runs:])
            return sessions_record("noop-sessions", kind, sessions, ss, "fake", "fake-b")
        task.describes = {"part": "noop-sessions", "kind": kind}
        return task

    make = session_comparison if a.design == "sessions" else comparison
    in_parallel(a, [make("aa", 1.0, i) for i in range(a.aa)]
                + [make("shift", 1.0 + a.shift, a.aa + i) for i in range(a.shift_pairs)])
    # Interleaved A/A with a hog started beside the session.
    hog_runner = Runner(binary, root, ["--backend", "noop", "--engine", "fake,fake-b", "--interleave",
                                       "--repetitions", str(a.hog_reps or a.noop_reps), "--block-repetitions",
                                       str(a.noop_block_reps)], a.keep)
    for k in range(a.hog_sessions):
        if not a.deadline.allows(4 * statistics.fmean(runner.seconds or [1.0])):
            a.recorder.emit({"type": "hog", "part": "noop", "kind": "interleaved", "skipped": "deadline"})
            continue
        with HogSessionPin(a):
            hog = Hog()
            try:
                il = hog_runner.validate([], env_for(1.0, random.Random(a.seed + 7 * k)))
            finally:
                hog.stop()
        a.recorder.emit(hog_record("noop", "interleaved", runner, il))
    return {"settings": {"design": a.design, "side_order": a.side_order, "delay_us": a.delay_us, "jitter_us": a.jitter_us,
                         "run_sd": a.run_sd, "repetitions": a.noop_reps, "frames": 2, "runs_per_side": a.runs,
                         "shift": a.shift, "hog_session_repetitions": a.hog_reps or a.noop_reps,
                         "hog_session_block_repetitions": a.noop_block_reps},
            "seconds_per_run": statistics.fmean(runner.seconds or [0.0])}


def cpu_part(binary, work, a):
    root = os.path.join(work, "cpu")
    os.makedirs(root)
    cpu_project(binary, root, a.slow_onnx)
    base = ["--backend", a.backend, "--scenario", "timing-loop", "--max-frames", str(a.cpu_frames),
            "--repetitions", str(a.cpu_reps)]
    runner = Runner(binary, root, base, a.keep)

    def comparison(kind, cand):
        def task():
            b, c = pair(a, lambda: runner.validate(["--engine", "demo-detector"]),
                        lambda: runner.validate(["--engine", cand]))
            return comparison_record("cpu", kind, runner, b, c)
        task.describes = {"part": "cpu", "kind": kind}
        return task

    def session_comparison(kind, cand):
        def task():
            ss = [runner.validate(["--engine", f"demo-detector,{cand}", "--interleave",
                                   "--block-repetitions", str(a.cpu_block_reps)]) for _ in range(a.runs)]
            return sessions_record("cpu-sessions", kind, runner, ss, "demo-detector", cand)
        task.describes = {"part": "cpu-sessions", "kind": kind}
        return task

    if a.design == "sessions":
        in_parallel(a, [session_comparison("aa", "demo-detector-b")] * a.cpu_aa
                    + [session_comparison("shift", "demo-detector-slow")] * a.cpu_shift)
    else:
        in_parallel(a, [comparison("aa", "demo-detector")] * a.cpu_aa
                    + [comparison("shift", "demo-detector-slow")] * a.cpu_shift)
    # Hog beside the candidate: interleaved session (A/A, hog for the whole session) ...
    hog_runner = Runner(binary, root, base + ["--engine", "demo-detector,demo-detector-b", "--interleave"], a.keep)
    per_run = statistics.fmean(runner.seconds or [15.0])
    with HogSessionPin(a):
        for _ in range(a.hog_sessions):
            if not a.deadline.allows(4 * per_run):
                a.recorder.emit({"type": "hog", "part": "cpu", "kind": "interleaved", "skipped": "deadline"})
                continue
            hog = Hog(a.hogs)
            try:
                il = hog_runner.validate([])
            finally:
                hog.stop()
            a.recorder.emit(hog_record("cpu", "interleaved", runner, il))
        # ... and, for contrast, separate runs with the hog only beside the candidate's.
        if a.separate_hog:
            if not a.deadline.allows((1 + 2) * a.runs * per_run):
                a.recorder.emit({"type": "hog", "part": "cpu", "kind": "separate", "skipped": "deadline"})
            else:
                b = [runner.validate(["--engine", "demo-detector"]) for _ in range(a.runs)]
                hog = Hog(a.hogs)
                try:
                    c = [runner.validate(["--engine", "demo-detector"]) for _ in range(a.runs)]
                finally:
                    hog.stop()
                a.recorder.emit(hog_record("cpu", "separate", runner, b, c))
    return {"settings": {"backend": a.backend, "design": a.design, "side_order": a.side_order,
                         "frames": a.cpu_frames,
                         "repetitions": a.cpu_reps, "runs_per_side": a.runs,
                         **({"block_repetitions": a.cpu_block_reps} if a.design == "sessions" else {})},
            "seconds_per_run": statistics.fmean(runner.seconds or [0.0])}


def spread(records, stat):
    """Run-to-run spread of one unit statistic: the coefficient of variation of each side's
    runs around that side's own mean, pooled over sides and comparisons (what the t
    interval of `diff` sees), and across all baseline runs (adds drift between comparisons)."""
    ss, df, means, base_all = 0.0, 0, [], []
    for r in records:
        for side in ("baseline_runs", "candidate_runs"):
            xs = [u[stat] for u in r.get(side, [])]
            if len(xs) > 1:
                m = statistics.fmean(xs)
                ss += sum((x / m - 1.0) ** 2 for x in xs)
                df += len(xs) - 1
        base_all += [u[stat] for u in r.get("baseline_runs", [])]
    out = {"pooled_cv": math.sqrt(ss / df) if df else None, "df": df}
    # Sessions: the spread of the candidate/baseline ratio from session to session, pooled
    # within comparisons; that is what the paired interval of `diff --sessions` sees.
    rs, rdf = 0.0, 0
    for r in records:
        if r.get("design") != "sessions":
            continue
        ratios = [c[stat] / b[stat] for b, c in zip(r["baseline_runs"], r["candidate_runs"])]
        if len(ratios) > 1:
            m = statistics.fmean(ratios)
            rs += sum((x - m) ** 2 for x in ratios)
            rdf += len(ratios) - 1
    if rdf:
        out["paired_ratio_sd"] = math.sqrt(rs / rdf)
    if len(base_all) > 1:
        out["cv_all_baseline_runs"] = statistics.stdev(base_all) / statistics.fmean(base_all)
        out["baseline_runs"] = len(base_all)
    return out


def summarize(records, hogs, scenario):
    """The tallies of one part, from its records (live or read back with --summarize)."""
    done = [r for r in records if not r.get("skipped")]
    out = {"skipped": sum(1 for r in records if r.get("skipped"))}
    for kind in ("aa", "shift"):
        rs = [r for r in done if r["kind"] == kind]
        out[kind] = tally(r["decision"] for r in rs)
        out[f"{kind}_n"] = len(rs)
        for short, what in (("p50", P50), ("p99", P99), ("pwcet", PWCET)):
            out[f"{kind}_{short}"] = tally(r["checks"].get(f"{scenario} {what}") for r in rs)
    aa = [r for r in done if r["kind"] == "aa"]
    out["aa_run_to_run"] = {"p50": spread(aa, "p50_ms"), "p99": spread(aa, "p99_ms")}
    rel = [r["p50_change"] for r in done if r["kind"] == "shift" and r.get("p50_change") is not None]
    out["slow_engine_p50_increase"] = statistics.fmean(rel) if rel else None
    il = [h for h in hogs if h["kind"] == "interleaved" and not h.get("skipped")]
    out["interleaved_hog_sessions"] = tally(h["decision"] for h in il)
    out["interleaved_hog_sessions_checks"] = {
        k: tally(h["checks"].get(f"{scenario} {k}") for h in il) for k in (P50, P99)}
    if il:
        out["interleaved_hog_aa"] = il[0]["decision"]
        out["interleaved_hog_checks"] = il[0]["checks"]
    sep = [h for h in hogs if h["kind"] == "separate" and not h.get("skipped")]
    if sep:
        out["separate_runs_hog_aa"] = sep[0]["decision"]
    return out


SCENARIO = {"noop": "two-frames", "cpu": "timing-loop", "noop-sessions": "two-frames",
            "cpu-sessions": "timing-loop"}
PARTS = tuple(SCENARIO)


def markdown(res):
    lines = []
    for part in PARTS:
        r = res.get(part)
        if not r:
            continue
        settings = f"settings: {json.dumps(r['settings'])}; " if "settings" in r else ""
        per_run = f"{r['seconds_per_run']:.1f} s per run" if "seconds_per_run" in r else ""
        lines.append(f"**{part}** ({settings}{per_run})\n")
        lines.append("| comparison | n | decisions |")
        lines.append("|---|---|---|")
        for kind, name in (("aa", "A/A"), ("shift", "shift")):
            lines.append(f"| {name}, overall | {r[f'{kind}_n']} | {json.dumps(r[kind])} |")
            for k in ("p50", "p99", "pwcet"):
                lines.append(f"| {name}, {k} check | {r[f'{kind}_n']} | {json.dumps(r[f'{kind}_{k}'])} |")
        if "separate_runs_hog_aa" in r:
            lines.append(f"| separate runs, hog beside the candidate | 1 | {r['separate_runs_hog_aa']} |")
        n_il = sum(r["interleaved_hog_sessions"].values())
        lines.append(f"| interleaved A/A with a CPU hog, overall | {n_il} | {json.dumps(r['interleaved_hog_sessions'])} |")
        for k, v in r["interleaved_hog_sessions_checks"].items():
            lines.append(f"| interleaved A/A with a CPU hog, {k[14:17]} check | {n_il} | {json.dumps(v)} |")
        rr = r["aa_run_to_run"]
        fmt = lambda x: "n/a" if x is None else f"{100 * x:.1f}%"  # noqa: E731
        lines.append("")
        lines.append(f"A/A run-to-run CV (pooled within sides, df {rr['p50']['df']}): p50 {fmt(rr['p50']['pooled_cv'])}, "
                     f"p99 {fmt(rr['p99']['pooled_cv'])}; across all baseline runs: "
                     f"p50 {fmt(rr['p50'].get('cv_all_baseline_runs'))}, p99 {fmt(rr['p99'].get('cv_all_baseline_runs'))}"
                     + (f"; slower engine's p50 +{100 * r['slow_engine_p50_increase']:.0f}%"
                        if r.get("slow_engine_p50_increase") is not None else "")
                     + (f"; paired session-to-session sd of the candidate/baseline ratio: p50 "
                        f"{fmt(rr['p50']['paired_ratio_sd'])}, p99 {fmt(rr['p99'].get('paired_ratio_sd'))}"
                        if "paired_ratio_sd" in rr["p50"] else "")
                     + (f"; {r['skipped']} comparisons skipped by the deadline" if r["skipped"] else ""))
        lines.append("")
    return "\n".join(lines)


def read_records(paths):
    """Records of earlier calls (--out files), for --summarize."""
    recs, hogs, headers = {k: [] for k in PARTS}, {k: [] for k in PARTS}, []
    for path in paths:
        for n, line in enumerate(open(path), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not a JSON line ({e})")
            if r.get("type") == "header":
                headers.append(r)
            elif r.get("type") == "comparison" and "part" in r:
                recs[r["part"]].append(r)
            elif r.get("type") == "hog" and "part" in r:
                hogs[r["part"]].append(r)
    return recs, hogs, headers


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
    p.add_argument("--separate-hog", action=argparse.BooleanOptionalAction, default=True,
                   help="CPU part: also the A/A with separate runs and a hog beside the candidate's")
    p.add_argument("--hog-reps", type=int, help="repetitions of the no-op hog session (default --noop-reps)")
    p.add_argument("--jobs", type=int, default=1,
                   help="comparisons run in parallel, each pinned to its own --cpus-per-job CPUs")
    p.add_argument("--cpus-per-job", type=int, default=1)
    p.add_argument("--pin", action="store_true", help="pin even a single job to --first-cpu")
    p.add_argument("--first-cpu", type=int, default=1, help="CPUs from here on are given to the jobs")
    p.add_argument("--cpus", help="the jobs' CPUs, one entry per job (e.g. 2,6,10,14; an entry may be a "
                   "taskset range such as 2-3), or `auto`: --jobs physical cores spread over the host with "
                   "idle cores between, one logical CPU each, CPU 0's core left free")
    p.add_argument("--deadline-s", type=float,
                   help="start no comparison that would end later than this many seconds after the start "
                   "(by the longest so far); the rest are counted as skipped")
    p.add_argument("--out", help="append every finished comparison here as a JSON line, as it finishes")
    p.add_argument("--summarize", nargs="+", metavar="FILE",
                   help="run nothing: summarize the --out files of earlier calls together")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="set for every adasval command, e.g. GLIBC_TUNABLES=... to test an allocator setting")
    p.add_argument("--slow-onnx", help="the slower candidate, made beforehand by make_slow_detector.py")
    p.add_argument("--cpu-aa", type=int, default=20)
    p.add_argument("--cpu-shift", type=int, default=20)
    p.add_argument("--cpu-frames", type=int, default=20)
    p.add_argument("--cpu-reps", type=int, default=10)
    p.add_argument("--backend", default="cpu",
                   help="backend of the detector part (`--part cpu`): cpu, or cuda on a GPU host")
    p.add_argument("--design", choices=["runs", "sessions"], default="runs",
                   help="each comparison from --runs separate runs per side, or --runs interleaved sessions "
                   "judged by `diff --sessions`")
    p.add_argument("--cpu-block-reps", type=int, default=1,
                   help="--design sessions, CPU part: repetitions per block of each session (1, validate's "
                   "default, alternates most finely: docs/REGRESSION.md)")
    p.add_argument("--hogs", type=int, default=1)
    p.add_argument("--seed", type=int, default=21)
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--keep", help="keep the projects and runs here")
    a = p.parse_args()
    if a.summarize:
        recs, hogs, headers = read_records(a.summarize)
        res = {"files": a.summarize, "calls": [{k: h.get(k) for k in ("machine", "cpus", "cpu_sets", "argv", "started")}
                                               for h in headers]}
        for part in PARTS:
            if recs[part] or hogs[part]:
                res[part] = summarize(recs[part], hogs[part], SCENARIO[part])
        print(json.dumps(res, indent=1))
        if a.markdown:
            print(markdown(res))
        return
    for kv in a.env:
        k, eq, v = kv.partition("=")
        if not eq:
            sys.exit(f"--env {kv}: expected KEY=VALUE")
        EXTRA_ENV[k] = v
    if a.cpus == "auto":
        a.cpus = auto_cpus(a.jobs)
    elif a.cpus:
        a.cpus = a.cpus.split(",")
    if a.cpus:
        a.jobs = len(a.cpus)
    # The runs execute inside their project directories.
    a.binary = os.path.abspath(a.binary)
    a.slow_onnx = a.slow_onnx and os.path.abspath(a.slow_onnx)
    a.recorder = Recorder(a.out)
    a.deadline = Deadline(a.deadline_s)
    work = a.keep or tempfile.mkdtemp(prefix="adasval-calibration-")
    os.makedirs(work, exist_ok=True)
    res = {"machine": os.uname().nodename, "cpus": os.cpu_count(), "load_before": os.getloadavg(),
           "jobs": a.jobs, "cpu_sets": cpu_sets(a) if a.jobs > 1 or a.pin or a.cpus else None,
           "core_groups": core_groups(), "argv": sys.argv[1:]}
    a.recorder.emit({"type": "header", "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **res})
    t0 = time.time()
    try:
        for part, fn in (("noop", noop_part), ("cpu", cpu_part)):
            if a.part in (part, "all"):
                info = fn(a.binary, work, a)
                key = f"{part}-sessions" if a.design == "sessions" else part
                mine = [r for r in a.recorder.records if r.get("part") in (part, key)]
                hogs = [r for r in mine if r["type"] == "hog"]
                comps = [r for r in mine if r["type"] == "comparison"]
                res[key] = {**info, **summarize(comps, hogs, SCENARIO[part])}
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    res["load_after"] = os.getloadavg()
    res["seconds"] = time.time() - t0
    a.recorder.emit({"type": "summary", **res})
    print(json.dumps(res, indent=1))
    if a.markdown:
        print(markdown(res))


if __name__ == "__main__":
    main()
