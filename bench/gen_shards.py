#!/usr/bin/env python3
"""Generate N sealed shard run directories for bench/merge_bench.sh: each holds
TRACES traces (engines e00.. × one scenario per shard) of SAMPLES timed inferences
with one detection per frame, golden labels, shard.json, worklist.txt and a
MANIFEST.sha256 seal, built from a real shard directory used as a template (its run.json
and shard.json give every field the readers expect).

usage: gen_shards.py TEMPLATE_SHARD_DIR OUT_DIR N [TRACES] [SAMPLES]
"""
import copy
import hashlib
import json
import os
import random
import sys


def sha(b):
    return hashlib.sha256(b).hexdigest()


def main():
    template, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    traces = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    samples = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    run = json.load(open(os.path.join(template, "run.json")))
    shard = json.load(open(os.path.join(template, "shard.json")))
    engines = [f"e{e:02d}" for e in range(traces)]
    scen = [f"s{k:05d}" for k in range(n)]
    esha = {e: sha(e.encode()) for e in engines}
    ssha = {s: sha(s.encode()) for s in scen}
    worklist = (
        "".join(f"engine {e} {esha[e]}\n" for e in engines)
        + "".join(f"scenario {s} {ssha[s]}\n" for s in scen)
    ).encode()
    wl_sha = sha(worklist)
    t0 = run["traces"][0]
    s0 = run["scenarios"][0]
    rng = random.Random(1)
    os.makedirs(out, exist_ok=True)
    for k in range(n):
        s = scen[k]
        d = os.path.join(out, f"shard-{k + 1:05d}")
        os.makedirs(d, exist_ok=True)
        files = {}
        rows = ["scenario,engine,frame,rep,pre_ns,infer_ns,post_ns,total_ns,device_h2d_ns,device_compute_ns,device_d2h_ns\n"]
        dets = []
        for e in engines:
            for f in range(samples):
                infer = 10_000_000 + rng.randrange(2_000_000)
                rows.append(f"{s},{e},{f},0,300000,{infer},20000,{infer + 320000},,,\n")
                x = rng.random() * 500
                dets.append(
                    '{"scenario":"%s","engine":"%s","frame":%d,"output_sha256":"%s","detections":[{"bbox":[%.2f,120.5,40.25,90.75],"score":%.4f,"class":"pedestrian"}]}\n'
                    % (s, e, f, sha(f"{s}{e}{f}".encode()), x, rng.random())
                )
        files["latencies.csv"] = "".join(rows).encode()
        files["detections.jsonl"] = "".join(dets).encode()
        files["golden.jsonl"] = "".join(
            '{"scenario":"%s","frame":%d,"source":"generated","width":640,"height":384,"condition":null,"objects":[]}\n'
            % (s, f)
            for f in range(samples)
        ).encode()
        r = copy.deepcopy(run)
        r["run_id"] = f"bench-{k + 1:05d}"
        sr = copy.deepcopy(s0)
        sr.update(id=s, sha256=ssha[s], frames=samples)
        r["scenarios"] = [sr]
        r["traces"] = []
        eff = []
        for e in engines:
            t = copy.deepcopy(t0)
            t.update(scenario=s, engine=e, samples=samples)
            r["traces"].append(t)
            eff.append({"scenario": s, "engine": e, "platform": r["platform"]["name"]})
        r["settings"]["effective"]["traces"] = eff
        files["run.json"] = json.dumps(r, indent=1).encode()
        sh = copy.deepcopy(shard)
        sh.update(
            shard={"index": k + 1, "count": n},
            strategy="hash",
            plan_sha256=None,
            work_list_sha256=wl_sha,
            work_list_items=len(engines) * n,
            items=[f"{e}/{s}" for e in engines],
            run_id=r["run_id"],
        )
        files["shard.json"] = json.dumps(sh, indent=1).encode()
        files["worklist.txt"] = worklist
        manifest = ""
        for name in sorted(files):
            with open(os.path.join(d, name), "wb") as fh:
                fh.write(files[name])
            manifest += f"{sha(files[name])}  {name}\n"
        with open(os.path.join(d, "MANIFEST.sha256"), "w") as fh:
            fh.write(manifest)


if __name__ == "__main__":
    main()
