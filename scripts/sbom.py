#!/usr/bin/env python3
"""Checks the CycloneDX SBOM cargo-cyclonedx wrote for the adasval binary against Cargo.lock
and completes it with the libraries the CUDA backend loads at run time.

usage: scripts/sbom.py SBOM.json Cargo.lock

Fails (exit 1) when a crate of the SBOM is not in Cargo.lock at that version, when its
SHA-256 differs from the lock's checksum, or when the SBOM lists no crate. Adds, once, the
CUDA libraries cudarc opens with dlopen (`--backend cuda`; features driver, nvrtc, cublas,
cudnn, curand of the workspace's cudarc dependency) as optional components: they are not
part of the binary, but a run on the GPU uses them, so an assessor needs to know.
"""
import json
import sys
import tomllib

CUDA = [
    ("libcuda", "CUDA driver API (cudarc feature cuda-13000)", "13.0"),
    ("libnvrtc", "NVRTC run-time compiler of the fused kernels", "13.0"),
    ("libcublas", "cuBLAS", "13.0"),
    ("libcudnn", "cuDNN convolutions (cudarc feature cudnn-09010)", "9.1"),
    ("libcurand", "cuRAND", "13.0"),
]


def main(sbom_path, lock_path):
    with open(sbom_path) as f:
        sbom = json.load(f)
    with open(lock_path, "rb") as f:
        lock = tomllib.load(f)
    locked = {}
    for p in lock.get("package", []):
        locked.setdefault(p["name"], {})[p["version"]] = p.get("checksum")
    problems, crates, unlicensed = [], 0, []
    for c in sbom.get("components", []):
        purl = c.get("purl", "")
        if not purl.startswith("pkg:cargo/"):
            continue
        crates += 1
        name, version = c["name"], c["version"]
        if version not in locked.get(name, {}):
            problems.append(f"{name} {version} is not in Cargo.lock")
            continue
        checksum = locked[name][version]
        hashes = {h.get("alg"): h.get("content") for h in c.get("hashes", [])}
        if checksum and hashes.get("SHA-256") != checksum:
            problems.append(f"{name} {version}: SHA-256 {hashes.get('SHA-256')} but Cargo.lock says {checksum}")
        if not c.get("licenses"):
            unlicensed.append(f"{name} {version}")
    if crates == 0:
        problems.append("the SBOM lists no crate")
    for p in problems:
        print(f"sbom: {p}")
    if problems:
        return 1
    names = {c.get("name") for c in sbom.get("components", [])}
    added = 0
    for name, what, version in CUDA:
        if name in names:
            continue
        sbom.setdefault("components", []).append({
            "type": "library", "name": name, "version": version, "scope": "optional",
            "description": f"{what}; loaded at run time with dlopen by the CUDA backend "
                           "(--backend cuda), not linked into the binary; the version is the "
                           "API level adasval is built against, the installed one is recorded "
                           "in run.json (platform.fingerprint.gpu)",
            "bom-ref": f"dynamic:{name}",
        })
        added += 1
    with open(sbom_path, "w") as f:
        json.dump(sbom, f, indent=2)
        f.write("\n")
    print(f"sbom: {crates} crates, every version and checksum as in Cargo.lock"
          + (f"; no licence recorded for {len(unlicensed)}: {', '.join(unlicensed)}" if unlicensed else "")
          + f"; {added} CUDA libraries added as optional components")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
