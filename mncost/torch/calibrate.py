"""This machine's peak mult-adds/s and memory bandwidth, measured with real torch kernels (`--hw this`)."""

from __future__ import annotations

import os
import platform
import time

import torch


def _best(run, repeats: int) -> float:
    """The shortest of several timed runs, in seconds (the least disturbed on a shared machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(size: int = 1024, copy_bytes: int = 256 * 2**20, repeats: int = 10) -> dict:
    """Peak fp32 MACs/s (size^3 matmul) and copy bandwidth (bytes read + written) of this machine, via torch."""
    a, b = torch.rand(size, size), torch.rand(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)  # warm-up
    matmul = _best(lambda: torch.mm(a, b, out=out), repeats)
    src = torch.ones(copy_bytes // 4)
    dst = torch.empty_like(src)
    dst.copy_(src)  # warm-up: pages touched
    copy = _best(lambda: dst.copy_(src), repeats)
    return {"peak_macs": size ** 3 / matmul, "bandwidth": 2 * copy_bytes / copy,
            "method": f"best of {repeats}: fp32 {size}x{size} matmul; copy of {copy_bytes // 2**20} MiB",
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
