"""Does the roofline rank MobileNets' latency better than mult-adds? Measured on this machine.

    PYTHONPATH=$PWD python benchmarks/latency.py [--threads 1] [--runs 25] [--quick] [--archs v1,v2]

Every V1/V2 (and V3/V4 when the registry has them) variant at alphas 0.35-1.0 and
resolutions 96-224 is built by mncost.torch.build with BatchNorm folded into its conv
(the network the roofline describes), eval mode, no grad, batch 1, fp32, a fixed
thread count. Whole-model latency: median of --runs after warm-up. Per-layer latency:
the time from entering each layer's module to entering the next (its residual add included)
in the real forward pass, median of --runs after warm-up. Predicted: [V4] Eq. 1 with this machine's peaks,
measured here with the same thread count (mncost.torch.calibrate.measure). Printed: Spearman
rank correlation of predicted vs measured across models and across layers, next to
mult-adds alone (the roofline with ridge point 0), and the ridge point that ranks best
(fitted in-sample, as [V4] Table 16 fits its devices). A benchmark, not a test: the
machine is shared, so the load average is printed next to the figures.
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
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.fusion import fuse_conv_bn_eval  # noqa: E402

from mncost.arch.builder import SPECS  # noqa: E402
from mncost.cost.hardware import Hardware, from_peaks  # noqa: E402
from mncost.torch.calibrate import measure  # noqa: E402
from mncost.table import Column, Table, to_markdown  # noqa: E402
from mncost.cost.roofline import Roofline, roofline  # noqa: E402
from mncost.torch.build import build_module, input_tensor  # noqa: E402

ARCHS = [a for a in SPECS if a in ("v1", "v2") or a.startswith(("v3", "v4"))]
ALPHAS = (0.35, 0.5, 0.75, 1.0)
RESOLUTIONS = (96, 128, 160, 224)
RIDGES = [0.0, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 31.2, 40, 60, 100, 200, 347.3, 500]


def run_seconds(fn, runs: int, warmup: int) -> list[float]:
    """Wall time of each of `runs` calls, after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def folded(model: nn.Module) -> nn.Module:
    """BatchNorm folded into each conv-BN pair (the deployed network the roofline counts)."""
    for module in model.modules():
        if isinstance(module, nn.Sequential) and hasattr(module, "conv") and hasattr(module, "bn"):
            module.conv = fuse_conv_bn_eval(module.conv, module.bn)
            module.bn = nn.Identity()
    return model


def measure_network(result: Roofline, runs: int, warmup: int) -> tuple[list[float], list[float]]:
    """Whole-model latency of each run, and each layer's median latency inside the real forward pass (seconds).

    A layer's time runs from entering its module to entering the next one, so it includes its
    residual add; timing layers one by one in a loop instead would keep their tensors in cache,
    which the whole model does not.
    """
    net = result.network
    model, x = folded(build_module(net)), torch.randn(input_tensor(net).shape)
    with torch.inference_mode():
        whole = run_seconds(lambda: model(x), runs, warmup)
        stamps: list[float] = []
        stamp = lambda *_: stamps.append(time.perf_counter())  # noqa: E731
        modules = [model.get_submodule(layer.name) for layer in net.layers]
        hooks = [m.register_forward_pre_hook(stamp) for m in modules] + [modules[-1].register_forward_hook(stamp)]
        samples = []
        for i in range(warmup + runs):
            stamps.clear()
            model(x)
            if i >= warmup:
                samples.append([b - a for a, b in zip(stamps, stamps[1:])])
        for hook in hooks:
            hook.remove()
    return whole, [statistics.median(column) for column in zip(*samples)]


def rho(predicted: list[float], measured: list[float]) -> float:
    return float(spearmanr(predicted, measured).statistic)


def times(result: Roofline, ridge: float) -> list[float]:
    """Each layer's [V4] Eq. 1 time in MAC-times at a ridge point (ranks do not depend on the peaks)."""
    hw = Hardware("sweep", "sweep", ridge, "sweep")
    return [row.time(hw) for row in result.layers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="alphas 0.5, 1.0 and resolutions 128, 224 only")
    parser.add_argument("--archs", default=",".join(ARCHS), help=f"comma list (default {','.join(ARCHS)})")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    torch.manual_seed(0)
    start, load_start = time.perf_counter(), os.getloadavg()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cpus, {platform.processor() or ''}"
          f" python {platform.python_version()}, torch {torch.__version__}, {opts.threads} thread(s), fp32, batch 1; "
          f"load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} at the start")
    peaks = measure()
    hw = from_peaks("this", "this machine", peaks["peak_macs"], peaks["bandwidth"], peaks["method"], "fp32")
    print(f"this machine: peak {hw.peak_macs / 1e9:.2f} G mult-adds/s, bandwidth {hw.bandwidth / 1e9:.2f} GB/s, "
          f"ridge point {hw.ridge:.2f} mult-adds/byte ({peaks['method']})")

    alphas, resolutions = ((0.5, 1.0), (128, 224)) if opts.quick else (ALPHAS, RESOLUTIONS)
    results = [roofline(arch, alpha, res, 1000, "fp32", hw) for arch in opts.archs.split(",") for alpha in alphas for res in resolutions]
    measured_models, fastest_models, measured_layers = [], [], []
    for result in results:
        whole, layers = measure_network(result, opts.runs, max(3, opts.runs // 5))
        measured_models.append(statistics.median(whole))
        fastest_models.append(min(whole))  # the run least disturbed by the other tenants
        measured_layers.append(layers)
    runs = list(zip(results, measured_models, measured_layers, fastest_models))

    model_rows = []
    for r, m, layers, fastest in runs:
        net = r.network
        model_rows.append({"model": f"{net.arch} {net.alpha:g}/{net.resolution[0]}", "macs": r.totals()["macs"],
                           "bytes": r.totals()["bytes"], "predicted": r.time * 1e3, "measured": m * 1e3,
                           "fastest": fastest * 1e3,
                           "layers_sum": sum(layers) * 1e3})
    print(to_markdown(Table(f"Whole-model latency, {len(runs)} models (ms; predicted: roofline with this machine's peaks)",
                            [Column("model", "Model"), Column("macs", "Mult-Adds", "count"),
                             Column("bytes", "Bytes (fp32)", "count"), Column("predicted", "Predicted ms", "number"),
                             Column("measured", "Measured ms (median)", "number"),
                             Column("fastest", "Fastest run ms", "number"),
                             Column("layers_sum", "Sum of layers ms", "number")],
                            [{**row, **{k: round(row[k], 3) for k in ("predicted", "measured", "fastest", "layers_sum")}}
                             for row in model_rows])))

    def model_rho(ridge: float, measured: list[float] = measured_models) -> float:
        return rho([sum(times(r, ridge)) for r in results], measured)

    def layer_rho(ridge: float) -> float:
        return rho([t for r in results for t in times(r, ridge)], [t for ls in measured_layers for t in ls])

    n_layers = sum(len(ls) for ls in measured_layers)
    best_model = max(RIDGES, key=model_rho)
    best_layer = max(RIDGES, key=layer_rho)
    predictors = [("mult-adds alone (ridge point 0)", 0.0, 0.0),
                  (f"roofline, this machine's ridge point {hw.ridge:.2f}", hw.ridge, hw.ridge),
                  ("roofline, Pixel 6 CPU ridge point 31.2 ([V4] Table 16)", 31.2, 31.2),
                  (f"roofline, best ridge point in-sample (models {best_model:g}, layers {best_layer:g})",
                   best_model, best_layer)]
    rows = [{"predictor": name, "models": model_rho(for_models), "fastest": model_rho(for_models, fastest_models),
             "layers": layer_rho(for_layers)} for name, for_models, for_layers in predictors]
    print(to_markdown(Table(f"Spearman rank correlation with measured latency: {len(runs)} models, {n_layers} layers",
                            [Column("predictor", "Predictor"), Column("models", "Across models (median)", "number"),
                             Column("fastest", "Across models (fastest run)", "number"),
                             Column("layers", "Across layers (median)", "number")],
                            [{**row, **{k: round(row[k], 3) for k in ("models", "fastest", "layers")}}
                             for row in rows],
                            footer=[f"Ridge points tried: {', '.join(f'{x:g}' for x in RIDGES)}."])))

    kinds: dict[str, list[float]] = {}
    for r, ls in zip(results, measured_layers):
        for row, t in zip(r.layers, ls):
            k = kinds.setdefault(row.layer.kind, [0, 0, 0.0, 0.0])
            k[0] += row.macs
            k[1] += row.bytes
            k[2] += row.time(hw)
            k[3] += t
    totals = [sum(k[i] for k in kinds.values()) for i in range(4)]
    print(to_markdown(Table("Share per layer type, summed over all models",
                            [Column("kind", "Type"), Column("macs", "Mult-Adds", "share"),
                             Column("bytes", "Bytes", "share"), Column("predicted", "Predicted time", "share"),
                             Column("measured", "Measured time", "share")],
                            [{"kind": kind, **{key: k[i] / totals[i] for i, key in
                                               enumerate(("macs", "bytes", "predicted", "measured"))}}
                             for kind, k in kinds.items()])))
    load_end = os.getloadavg()
    print(f"load average {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} at the end; "
          f"{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
