#!/usr/bin/env python3
"""Checks the farm recipes in deploy/ offline (tests/cli/farm_recipes.rs runs it):

1. Each validates against its published schema: the Kubernetes Jobs with
   kubernetes-validate --strict (the Kubernetes OpenAPI schemas it vendors), the GitHub
   Actions workflow and the GitLab CI file with check-jsonschema's vendored
   github-workflows and gitlab-ci schemas.
2. Each validator is live: a copy with one misspelt key is rejected.
3. Each turns its scheduler's index into the right `--shard K/N`: the Kubernetes shard
   command run with JOB_COMPLETION_INDEX 0..N-1 and the GitLab script with CI_NODE_INDEX
   1..N (a stub `adasval` prints its arguments), the GitHub matrix listing 1..N; the
   merge steps take every shard.

usage: farm_recipes.py REPO_ROOT
"""
import copy
import os
import subprocess
import sys
import tempfile

import yaml

ROOT = sys.argv[1]
D = os.path.join(ROOT, "deploy")
K8S = [os.path.join(D, "kubernetes", f) for f in ("validate-job.yaml", "merge-job.yaml")]
GH = os.path.join(D, "github", "farm.yml")
GL = os.path.join(D, "gitlab", "farm.gitlab-ci.yml")
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def k8s(path):
    return run([sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", path])


def schema(name, path):
    return run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", name, path])


tmp = tempfile.mkdtemp()


def mutated(doc, edit, name):
    d = copy.deepcopy(doc)
    edit(d)
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        yaml.safe_dump(d, f)
    return p


# 1. Schemas.
for p in K8S:
    r = k8s(p)
    check(r.returncode == 0, f"{p}: kubernetes-validate --strict: {r.stdout}{r.stderr}")
r = schema("vendor.github-workflows", GH)
check(r.returncode == 0, f"{GH}: {r.stdout}{r.stderr}")
r = schema("vendor.gitlab-ci", GL)
check(r.returncode == 0, f"{GL}: {r.stdout}{r.stderr}")

# 2. Liveness: one misspelt key each.
job = yaml.safe_load(open(K8S[0]))
bad = mutated(job, lambda d: d["spec"].__setitem__("completionsMode", "Indexed"), "bad-job.yaml")
check(k8s(bad).returncode != 0, "kubernetes-validate accepted spec.completionsMode")
gh = yaml.safe_load(open(GH))
bad = mutated(gh, lambda d: d["jobs"]["merge"].__setitem__("need", "shard"), "bad-gh.yml")
check(schema("vendor.github-workflows", bad).returncode != 0, "github schema accepted jobs.merge.need")
gl = yaml.safe_load(open(GL))
bad = mutated(gl, lambda d: d["shard"].__setitem__("paralel", 4), "bad-gl.yml")
check(schema("vendor.gitlab-ci", bad).returncode != 0, "gitlab schema accepted shard.paralel")

# 3. Index → --shard K/N.
stub = os.path.join(tmp, "bin")
os.makedirs(stub)
with open(os.path.join(stub, "adasval"), "w") as f:
    f.write('#!/bin/sh\necho "$@"\n')
os.chmod(os.path.join(stub, "adasval"), 0o755)
env0 = dict(os.environ, PATH=stub + os.pathsep + os.environ["PATH"])

spec = job["spec"]
n = spec["completions"]
check(spec["completionMode"] == "Indexed", "the shard Job is not Indexed")
check(spec["parallelism"] == n, "parallelism differs from completions")
c = spec["template"]["spec"]["containers"][0]
shards_env = {e["name"]: e.get("value") for e in c["env"]}
check(shards_env.get("SHARDS") == str(n), f"SHARDS {shards_env.get('SHARDS')} != completions {n}")
check(spec["template"]["spec"].get("nodeSelector"), "no node selector for the platform")
init = spec["template"]["spec"]["initContainers"][0]["command"]
check(init[-2:] == ["engine", "verify"], f"the init step does not verify the lock: {init}")
seen = []
for i in range(n):
    env = dict(env0, JOB_COMPLETION_INDEX=str(i), SHARDS=str(n))
    r = run(c["command"], env=env)
    check(r.returncode == 0, f"k8s shard command failed: {r.stderr}")
    args = r.stdout.split()
    k = args[args.index("--shard") + 1] if "--shard" in args else None
    seen.append(k)
check(seen == [f"{k}/{n}" for k in range(1, n + 1)], f"k8s shards: {seen}")

m = yaml.safe_load(open(K8S[1]))["spec"]["template"]["spec"]["containers"][0]["command"]
farm = os.path.join(tmp, "farm")
for k in range(1, 4):
    os.makedirs(os.path.join(farm, "shards", f"{k}-of-3"))
    if k != 2:
        open(os.path.join(farm, "shards", f"{k}-of-3", "MANIFEST.sha256"), "w").close()
script = m[-1].replace("/farm", farm)
r = run(m[:-1] + [script], env=env0)
check(r.returncode == 0 and "1-of-3" in r.stdout and "3-of-3" in r.stdout and "2-of-3" not in r.stdout,
      f"k8s merge takes the sealed shards only: {r.stdout}{r.stderr}")

gl_n = gl["shard"]["parallel"]
line = [s for s in gl["shard"]["script"] if "validate" in s][0]
seen = []
for i in range(1, gl_n + 1):
    env = dict(env0, CI_NODE_INDEX=str(i), CI_NODE_TOTAL=str(gl_n))
    r = run(["sh", "-c", line], env=env)
    args = r.stdout.split()
    seen.append(args[args.index("--shard") + 1] if "--shard" in args else None)
check(seen == [f"{k}/{gl_n}" for k in range(1, gl_n + 1)], f"gitlab shards: {seen}")
check(gl["merge"]["needs"] == ["shard"], "gitlab merge does not wait for the shards")

gh_n = int(gh["env"]["SHARDS"])
check(gh["jobs"]["shard"]["strategy"]["matrix"]["shard"] == list(range(1, gh_n + 1)),
      "github matrix is not 1..SHARDS")
check(gh["jobs"]["merge"]["needs"] == "shard", "github merge does not wait for the shards")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"ok: {len(K8S) + 2} recipes valid, validators live, shard indices mapped")
