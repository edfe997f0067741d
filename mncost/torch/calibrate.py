"""`--hw this`: this machine per kernel kind, from micro-benchmarks of real torch kernels at the threads in use.

Each kind (mncost.cost.hardware.KERNEL_KINDS) is timed at a few sizes MobileNets span (fp32, batch 1, eval):
the median of repeated runs, less the fixed cost of one op (a third of an
nn.Sequential of three activations and an identity on one element: the calls a network makes), gives the achieved
mult-adds/s (or bytes/s) at that size. No network is timed: the predictor is validated on networks it never saw.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

# (in channels, out channels, side, stride) of 1x1 and full convs; (channels, side, stride) of depthwise ones
POINTWISE = ((16, 16, 56, 1), (16, 96, 112, 1), (24, 144, 56, 1), (64, 128, 28, 1), (96, 576, 14, 1),
             (160, 960, 7, 1), (320, 1280, 7, 1))
FULL = ((3, 16, 224, 2), (3, 32, 224, 2), (16, 64, 56, 1), (32, 96, 56, 2), (64, 128, 28, 1), (96, 192, 28, 2))
# Depthwise kernels down to the 3x3 maps of low resolutions: below ~0.4M mult-adds their time is nearly fixed
# (~85 us here), which a rate held from larger sizes would miss.
DEPTHWISE = ((32, 112, 1), (96, 112, 2), (144, 56, 1), (240, 28, 1), (480, 14, 1), (960, 7, 1), (96, 12, 2),
             (144, 6, 1), (336, 3, 1))
GROUPED = ((64, 4, 56), (128, 8, 28), (256, 16, 14), (512, 32, 7))  # (channels, groups, side)
LINEAR = ((1, 576, 1024), (1, 1280, 1000), (49, 256, 1024), (196, 384, 1536))  # (tokens, in, out)
ATTENTION = ((4, 49, 49, 64), (8, 196, 49, 64), (4, 196, 196, 64), (4, 784, 196, 32))  # (heads, L, S, d)
SCRATCH = 8 * 2**20  # bytes written between timed calls: more than a core's L2 cache
MAPS = ((16, 28), (96, 28), (32, 112), (144, 56), (96, 112), (480, 28))  # (channels, side) of maps


def _seconds(run: Callable[[], object], budget: float, scratch: torch.Tensor) -> float:
    """The median time of one call, with the caches holding other data first (in a network each kernel meets
    weights and maps the caches have not kept): two warm-up calls, then at least 8 timed calls within the
    budget. One thread is timed by its CPU time, so that the time another process holds the core is not
    counted; several threads by the wall clock."""
    clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
    run(), run()
    times: list[float] = []
    end = time.perf_counter() + budget
    while len(times) < 8 or (time.perf_counter() < end and len(times) < 500):
        scratch.add_(1.0)
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times)


def _conv(cin: int, cout: int, side: int, stride: int, kernel: int, groups: int):
    x, w = torch.rand(1, cin, side, side), torch.rand(cout, cin // groups, kernel, kernel)
    out = (side + 2 * (kernel // 2) - kernel) // stride + 1
    return (lambda: F.conv2d(x, w, None, stride, kernel // 2, 1, groups)), out * out * w.numel()


def _cases() -> dict[str, list[tuple[Callable[[], object], int]]]:
    """Each kind's benchmarks: (run, size) with size in mult-adds, or in bytes moved (fp32) for byte kinds."""
    cases: dict[str, list] = {
        "pointwise": [_conv(ci, co, s, st, 1, 1) for ci, co, s, st in POINTWISE],
        "conv": [_conv(ci, co, s, st, 3, 1) for ci, co, s, st in FULL],
        "grouped": [_conv(c, c, s, 1, 3, g) for c, g, s in GROUPED],
        **{f"depthwise{k}": [_conv(c, c, s, st, k, c) for c, s, st in DEPTHWISE] for k in (3, 5, 7)},
        "matmul": [], "attention": [], "elementwise": [], "norm": [], "pooling": []}
    for tokens, cin, cout in LINEAR:
        x, w, b = torch.rand(tokens, cin), torch.rand(cout, cin), torch.rand(cout)
        cases["matmul"].append(((lambda x=x, w=w, b=b: F.linear(x, w, b)), tokens * cin * cout))
    for heads, length, keys, dim in ATTENTION:
        q, kv = torch.rand(1, heads, length, dim), torch.rand(1, heads, keys, dim)
        cases["attention"].append(((lambda q=q, kv=kv: F.scaled_dot_product_attention(q, kv, kv)),
                                   heads * length * keys * 2 * dim))
    for channels, side in MAPS:
        x, y = torch.rand(1, channels, side, side), torch.rand(1, channels, side, side)
        stats = [torch.rand(channels) for _ in range(4)]
        n = x.numel()
        cases["elementwise"].append(((lambda x=x, y=y: torch.add(x, y)), 12 * n))
        cases["norm"].append(((lambda x=x, s=stats: F.batch_norm(x, s[0], s[1], s[2], s[3])), 4 * (2 * n + 4 * channels)))
        cases["pooling"].append(((lambda x=x: F.adaptive_avg_pool2d(x, 1)), 4 * (n + channels)))
    return cases


def use_threads(threads: int | None) -> None:
    """Run torch at this many threads (None: as it is)."""
    if threads is not None:
        torch.set_num_threads(threads)


def measure(budget: float = 0.12) -> dict:
    """This machine's per-kernel model at torch's current thread count, and its best rates as the two peaks."""
    with torch.no_grad():  # the aten ops a model runs in eval (inference mode swaps some of them)
        tiny, scratch = torch.rand(1, 1, 1, 1), torch.zeros(SCRATCH // 4)
        block = nn.Sequential(nn.ReLU(), nn.Hardswish(), nn.Sigmoid(), nn.Identity()).eval()
        overhead = _seconds(lambda: block(tiny), budget, scratch) / 3
        points: dict[str, list[list[float]]] = {}
        for kind, cases in _cases().items():
            rates = {}
            for run, size in cases:
                spent = max(_seconds(run, budget, scratch) - overhead, overhead / 10)
                rates.setdefault(float(size), float(size) / spent)
            points[kind] = [[size, rates[size]] for size in sorted(rates)]
    count = sum(len(p) for p in points.values())
    return {"peak_macs": max(r for kind, p in points.items() if kind not in ("elementwise", "norm", "pooling")
                             for _, r in p),
            "bandwidth": max(r for _, r in points["elementwise"]),
            "kernels": {"overhead": overhead, "points": points},
            "method": f"median times of {count} torch kernels in 11 kinds, fp32, batch 1, caches "
                      f"flushed, {torch.get_num_threads()} thread(s)",
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
