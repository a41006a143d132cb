"""PyTorch baselines for bench/gpu_bench.sh: batch-1 per-frame latency of the demo detector
(train/model.py + engines/demo/training/model.pt) and YOLOX-Nano (onnx2torch, when
installed), fp32 and fp16, eager and torch.compile, on the GPU this runs on.

Per frame, as the harness measures it: host tensor -> device, forward, device -> host,
synchronise (wall, median of N frames after warm-up). Summed kernel time: torch.profiler's
CUDA kernel time of N frames / N (the device-side work only)."""
import argparse
import json
import os
import statistics
import sys
import time

import torch


def frame_wall(model, x_host, n, dtype):
    times = []
    with torch.inference_mode():
        for _ in range(20):
            model(x_host.to("cuda", non_blocking=False).to(dtype)).float().cpu()
        torch.cuda.synchronize()
        for _ in range(n):
            t = time.perf_counter()
            model(x_host.to("cuda").to(dtype)).float().cpu()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def kernel_sum(model, x_host, n, dtype):
    from torch.profiler import ProfilerActivity, profile

    x = x_host.to("cuda").to(dtype)
    with torch.inference_mode():
        for _ in range(10):
            model(x)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(n):
                model(x)
            torch.cuda.synchronize()
    total_us = 0.0
    kernels = 0
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            total_us += e.device_time
            kernels += 1
    return total_us / n / 1e3, kernels / n


def bench(name, model, shape, results, n=200):
    x_host = torch.rand(*shape)
    for p, dtype in [("fp32", torch.float32), ("fp16", torch.float16)]:
        key = f"{name}-{p}"
        r = results.setdefault(key, {})
        m = model.to("cuda").to(dtype).eval()
        try:
            r["eager_wall_ms"] = frame_wall(m, x_host, n, dtype)
            r["eager_kernel_ms"], r["eager_kernels_per_frame"] = kernel_sum(m, x_host, 50, dtype)
        except Exception as e:  # reported, not hidden
            r["note"] = f"eager failed: {e!r}"[:300]
            continue
        try:
            c = torch.compile(m)
            r["compile_wall_ms"] = frame_wall(c, x_host, n, dtype)
            r["compile_kernel_ms"], r["compile_kernels_per_frame"] = kernel_sum(c, x_host, 50, dtype)
        except Exception as e:
            r["note"] = f"torch.compile failed: {type(e).__name__}: {str(e)[:200]}"
        print(key, json.dumps(r), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print("torch", torch.__version__, torch.cuda.get_device_name(0), flush=True)
    results = {"_meta": {"torch": torch.__version__, "device": torch.cuda.get_device_name(0),
                         "cudnn_benchmark": True, "tf32": False}}
    sys.path.insert(0, os.path.join(a.repo, "train"))
    from export import load  # noqa: E402
    from model import HEIGHT, WIDTH  # noqa: E402

    demo = load(os.path.join(a.repo, "engines/demo/training/model.pt"))
    bench("demo", demo, (1, 3, HEIGHT, WIDTH), results)
    onnx_path = os.path.join(a.shared, "models/yolox_nano/yolox_nano.onnx")
    try:
        import onnx
        from onnx2torch import convert

        yolox = convert(onnx.load(onnx_path))
        bench("yolox", yolox, (1, 3, 416, 416), results)
    except Exception as e:
        results["yolox-fp32"] = {"note": f"YOLOX-Nano in PyTorch skipped: {type(e).__name__}: {str(e)[:200]}"}
    del results["_meta"]["tf32"]
    json.dump(results, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
