"""Shared plumbing of the PyTorch reference benchmarks: flags, threads, the synthetic batch,
the timing loop and the one-line JSON report that `betadarts bench compare` reads.

Written for betadarts from its spec (shared/spec/betadarts.md); not copied from any repository.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time


def parser(description, **defaults):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="cpu or cuda:N")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: torch default)")
    p.add_argument("--batch-size", type=int, default=defaults.get("batch_size", 64))
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--channels", type=int, default=defaults.get("channels", 16))
    p.add_argument("--cells", type=int, default=defaults.get("cells", 5))
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def setup(args):
    """Imports torch with the thread count fixed first (it must be set before any work)."""
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    if args.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    return torch, torch.device(args.device)


def synthetic_batch(torch, args, device, classes=None):
    """Random bytes normalised with mean 0.5, std 0.25, as `betadarts bench` does: the cost of
    a step does not depend on pixel values."""
    g = torch.Generator().manual_seed(args.seed)
    n, s = args.batch_size, args.image_size
    images = torch.randint(0, 256, (n, 3, s, s), generator=g).float().div_(255.0)
    images = (images - 0.5) / 0.25
    labels = torch.randint(0, classes or args.classes, (n,), generator=g)
    return images.to(device), labels.to(device)


def sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(torch, device, step, warmup, repeats):
    """Median and spread of `step()` wall time; the device is synced after each step."""
    times = []
    for i in range(warmup + repeats):
        sync(torch, device)
        t0 = time.perf_counter()
        step()
        sync(torch, device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def peak_rss_bytes():
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def report(name, args, times, extra=None):
    import torch

    out = {
        "bench": name,
        "impl": "pytorch",
        "torch": torch.__version__,
        "device": args.device,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "repeats": len(times),
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "times_s": times,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if args.device.startswith("cuda"):
        out["peak_gpu_bytes"] = torch.cuda.max_memory_allocated()
    out.update(extra or {})
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"{name} (PyTorch {out['torch']}, {args.device}, {out['threads']} threads): "
            f"median {out['median_s']:.4f} s over {len(times)} steps "
            f"(min {out['min_s']:.4f}, max {out['max_s']:.4f}); "
            f"peak RSS {out['peak_rss_bytes'] / 2**20:.0f} MiB"
        )
    sys.stdout.flush()


def load_safetensors(path):
    """Tensors of a safetensors file (the `safetensors` package: the format's own reader)."""
    from safetensors.torch import load_file

    return load_file(path)


def threads_from_env(args):
    if args.threads == 0 and os.environ.get("BETADARTS_THREADS"):
        args.threads = int(os.environ["BETADARTS_THREADS"])
