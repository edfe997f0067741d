"""Does `--hw this` predict measured CPU latency? Dozens of MobileNets, timed on this machine.

    PYTHONPATH=$PWD python benchmarks/latency.py [--threads 1] [--runs 15] [--quick]

The machine is calibrated first from micro-benchmarks of single torch kernels (mncost.torch.calibrate, as
`--hw this` does): no network below is timed before it is predicted. Then timm's mobile families (eval, as
timm makes them: BatchNorm unfolded) and mncost's own V1-V4 at several widths and resolutions (built by
mncost.torch.build) are traced into rows and predicted (each op: max(mult-adds / its kind's rate, bytes /
rate) + a fixed cost), and timed: batch 1, fp32, --threads threads, no grad, warm-up, then --runs rounds in
which every model runs once (interleaved, so that the other tenants' load spreads over all models), the
median kept. Per layer, on a few models, every aten op is timed inside the real forward pass (a dispatch
mode around each kernel, median of --runs passes) and summed per row. Printed: Spearman rank correlation and
median absolute percentage error (MdAPE) of predicted ms, next to mult-adds alone and bytes alone (turned
into ms by the calibrated peak rates, and by the best single scale in-sample, which flatters them). A
benchmark, not a test: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from mncost.arch.builder import network  # noqa: E402
from mncost.cost.aten import REGISTRY  # noqa: E402
from mncost.cost.hardware import from_peaks, kernels_of  # noqa: E402
from mncost.cost.ops import costed  # noqa: E402
from mncost.cost.roofline import Roofline, network_roofline  # noqa: E402
from mncost.table import Column, Table, to_markdown  # noqa: E402
from mncost.torch.build import build_module  # noqa: E402
from mncost.torch.calibrate import measure  # noqa: E402
from mncost.torch.model import count  # noqa: E402

OWN = [("v1", 0.5, 160), ("v1", 0.75, 192), ("v1", 1.0, 224), ("v2", 0.35, 96), ("v2", 0.5, 160), ("v2", 0.75, 224),
       ("v2", 1.0, 224), ("v2", 1.4, 224), ("v3-large", 0.75, 224), ("v3-large", 1.0, 224), ("v3-small", 1.0, 224),
       ("v3-small", 0.75, 160), ("v4-conv-small", 1.0, 224), ("v4-conv-medium", 1.0, 256),
       ("v4-hybrid-medium", 1.0, 256)]
TIMM = ["mobilenetv1_100", "mobilenetv2_050", "mobilenetv2_100", "mobilenetv2_110d", "mobilenetv3_large_075",
        "mobilenetv3_large_100", "mobilenetv3_small_100", "mobilenetv4_conv_small", "mobilenetv4_conv_medium",
        "mobilenetv4_hybrid_medium", "mnasnet_050", "mnasnet_100", "semnasnet_100", "spnasnet_100", "fbnetc_100",
        "efficientnet_b0", "efficientnet_lite0", "tinynet_c", "tinynet_e", "mixnet_s", "mixnet_m", "ghostnet_050",
        "ghostnet_100", "lcnet_050", "lcnet_100", "mobilenet_edgetpu_100", "repvit_m1", "efficientvit_m0"]
CLOCK = time.thread_time  # CPU time of the one thread: not the time other tenants hold the core
QUICK = {"v1 1/224", "v2 1/224", "v3-large 1/224", "mobilenetv3_large_100", "ghostnet_100", "efficientnet_b0",
         "lcnet_100", "mixnet_s"}
PER_LAYER = ["v2 1/224", "mobilenetv3_large_100", "ghostnet_100", "efficientnet_b0", "mixnet_s", "lcnet_100",
             "mobilenetv4_hybrid_medium"]


def models(quick: bool) -> list[tuple[str, str, torch.nn.Module, tuple[int, ...]]]:
    """(name, family, eval module, input shape) of every model benchmarked."""
    from timm_models import create_model

    out = []
    for arch, alpha, res in OWN:
        out.append((f"{arch} {alpha:g}/{res}", f"mncost {arch.split('-')[0]}",
                    build_module(network(arch, alpha, res)).eval(), (1, 3, res, res)))
    for name in TIMM:
        out.append((name, f"timm {name.split('_')[0]}", create_model(name).eval(),
                    (1, 3, 224, 224)))
    return [m for m in out if not quick or m[0] in QUICK]


class OpTimes(TorchDispatchMode):
    """Each aten op with a cost entry, timed around its kernel, in the order they run."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[tuple[str, float]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        start = CLOCK()
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        if name in REGISTRY:
            self.times.append((name, CLOCK() - start))
        return out


def layer_times(model: torch.nn.Module, x: torch.Tensor, result: Roofline, runs: int) -> list[float] | None:
    """Each row's measured seconds (its ops' kernels, median over runs), or None if the ops do not line up."""
    rows = [[op.name for op, _ in costed(layer.ops)] for layer in result.network.layers]
    samples = []
    for _ in range(runs + 2):
        with OpTimes() as timer:
            model(x)
        samples.append([t for _, t in timer.times])
        names = [name for name, _ in timer.times]
    if names != [name for row in rows for name in row]:
        return None
    per_op = [statistics.median(column) for column in zip(*samples[2:])]
    out, at = [], 0
    for row in rows:
        out.append(sum(per_op[at:at + len(row)]))
        at += len(row)
    return out


def ranks(values: list[float]) -> list[float]:
    """Ranks from 1, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in order[i:j + 1]:
            out[k] = (i + j) / 2 + 1
        i = j + 1
    return out


def rho(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation: Pearson's of the ranks."""
    return statistics.correlation(ranks(a), ranks(b))


def mdape(predicted: list[float], measured: list[float]) -> float:
    return statistics.median(abs(p - m) / m for p, m in zip(predicted, measured))


def scaled(values: list[float], measured: list[float]) -> list[float]:
    """Values times the single scale that makes their median ratio to measured 1 (fitted in-sample)."""
    scale = statistics.median(m / v for v, m in zip(values, measured))
    return [v * scale for v in values]


def table(title: str, columns: list[tuple[str, str, str]], rows: list[dict]) -> str:
    return to_markdown(Table(title, [Column(*c) for c in columns], rows))


def main() -> None:
    global CLOCK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help=f"{len(QUICK)} models only")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    if opts.threads > 1:
        CLOCK = time.perf_counter  # the other threads' CPU time is not the calling thread's
    torch.manual_seed(0)
    start, load = time.perf_counter(), os.getloadavg()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cpus, python "
          f"{platform.python_version()}, torch {torch.__version__}, {opts.threads} thread(s), fp32, batch 1; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start")
    record = measure()
    hw = from_peaks("this", "this machine", record["peak_macs"], record["bandwidth"], record["method"], "fp32",
                    kernels_of(record["kernels"]), record["threads"])
    slow_bytes = record["kernels"]["points"]["elementwise"][-1][1]  # out of cache
    print(f"calibrated in {time.perf_counter() - start:.0f} s: {record['method']}; fixed cost "
          f"{hw.kernels.overhead * 1e6:.1f} us per op; peak {hw.peak_macs / 1e9:.1f} G mult-adds/s; "
          f"elementwise {slow_bytes / 1e9:.1f} GB/s out of cache")

    zoo = models(opts.quick)
    results = {name: network_roofline(count(module, shape).network, "fp32", hw) for name, _, module, shape in zoo}
    with torch.no_grad():  # as the trace runs: the same aten ops
        inputs = {name: torch.randn(shape) for name, _, _, shape in zoo}
        for name, _, module, _ in zoo:  # warm-up
            for _ in range(3):
                module(inputs[name])
        runs: dict[str, list[float]] = {name: [] for name, *_ in zoo}
        for _ in range(opts.runs):
            for name, _, module, _ in zoo:
                tick = CLOCK()
                module(inputs[name])
                runs[name].append(CLOCK() - tick)
        per_layer = {name: layer_times(module, inputs[name], results[name], opts.runs)
                     for name, _, module, _ in zoo if name in PER_LAYER}

    names = [name for name, *_ in zoo]
    measured = [statistics.median(runs[n]) * 1e3 for n in names]
    predicted = [results[n].time * 1e3 for n in names]
    macs = [results[n].totals()["macs"] for n in names]
    nbytes = [results[n].totals()["bytes"] for n in names]
    macs_ms = [m / hw.peak_macs * 1e3 for m in macs]
    bytes_ms = [b / slow_bytes * 1e3 for b in nbytes]
    families = {family for _, family, _, _ in zoo}
    print(table(f"Whole-model latency, {len(names)} models from {len(families)} families (ms)",
                [("model", "Model"), ("family", "Family"), ("macs", "Mult-Adds", "count"),
                 ("bytes", "Bytes (fp32)", "count"), ("predicted", "Predicted ms", "number"),
                 ("measured", "Measured ms (median)", "number"), ("error", "Error", "share")],
                [{"model": n, "family": f, "macs": m, "bytes": b, "predicted": round(p, 3), "measured": round(t, 3),
                  "error": (p - t) / t}
                 for (n, f, *_), m, b, p, t in zip(zoo, macs, nbytes, predicted, measured)]))
    rows = [("predicted ms (`--hw this`)", predicted, predicted),
            ("mult-adds alone (/ peak mult-adds/s)", macs_ms, scaled(macs, measured)),
            ("bytes alone (/ elementwise bytes/s)", bytes_ms, scaled(nbytes, measured))]
    print(table(f"Across models: {len(names)} models",
                [("predictor", "Predictor"), ("rho", "Spearman", "number"), ("mdape", "MdAPE", "share"),
                 ("best", "MdAPE, best scale in-sample", "share")],
                [{"predictor": p, "rho": round(rho(v, measured), 3), "mdape": mdape(v, measured),
                  "best": mdape(s, measured)} for p, v, s in rows]))

    layer_rows = []
    for name, times in per_layer.items():
        if times is None:
            print(f"{name}: its ops did not line up with its rows; not compared per layer")
            continue
        r = results[name]
        layer_rows.append({"model": name, "rows": len(times),
                           "predicted": round(rho([x.time(hw) for x in r.layers], times), 3),
                           "macs": round(rho([x.macs for x in r.layers], times), 3),
                           "bytes": round(rho([x.bytes for x in r.layers], times), 3),
                           "mdape": mdape([x.time(hw) for x in r.layers], [max(t, 1e-9) for t in times])})
    print(table("Per layer: Spearman of each row's measured kernel time (sum of its ops)",
                [("model", "Model"), ("rows", "Rows", "count"), ("predicted", "Predicted", "number"),
                 ("macs", "Mult-adds", "number"), ("bytes", "Bytes", "number"), ("mdape", "MdAPE predicted", "share")],
                layer_rows))
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end; "
          f"{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
