"""The speed figures of the design-studies and one-layout issues, each printed next to its target.

    PYTHONPATH=$PWD python benchmarks/run.py

1. One analytic config through mncost.totals (arch lookup, input validation and the
   totals) against fvcore on the same config in the same run. The fvcore time covers
   building the nn.Module from the Network (mncost.torch.build), jit tracing and counting
   (FlopCountAnalysis(...).total()). mncost.totals caches each width multiplier's and each
   resolution's side of the factorised costs; "warm" is a config whose alpha and resolution
   were seen before (sweeps, fits, notebooks), "cold" clears both caches before every call.
   Target: at least 5,000x faster.
0./2. mncost.sweep over 1,000,000 configs (1,000 alphas x 1,000 resolutions, caches cleared)
   into a pandas DataFrame, pandas and numpy already imported; and its peak memory in a fresh
   process. Targets: under 1 s, under 500 MB.
3. `mncost sweep` of 10,000 configs as a command (--format csv), interpreter start included.
   Target: under 0.5 s.
4. fit's Pareto front over 4,000 and 40,000 configs: O(n log n), so 10x the configs cost ~10x.
5. `python -m mncost table` end to end in a subprocess, timed by hyperfine when it is on PATH,
   else by repeated subprocess runs (mean), for v2 and for the longest table, v4-hybrid-large
   (206 layers; also fitted to 80 columns, as in a terminal). Target: under 0.3 s.
6. Tracing a model at the dispatcher (mncost.torch.trace and fold: what `mncost count` runs) against
   torch's FlopCounterMode on the same model and input, both under no_grad, interleaved, the fastest of
   several runs each, one thread; and the peak memory (RSS) of one traced forward pass against one plain
   forward pass at batch 16, each in a fresh process. Target: tracing at most 1.2x FlopCounterMode's time;
   memory not growing with the activations (close to the plain pass's).
Timings are medians (means for hyperfine) on this machine, batch size 1, CPU; the machine is
shared, so the load average is printed and the figures that matter are the ratios.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mncost  # noqa: E402

CONFIG = ("v2", 1.0, 224, 1000)


def median_seconds(fn, number: int, repeat: int) -> float:
    """Median over `repeat` batches of the time of one call."""
    return statistics.median(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))


def fvcore_seconds(arch: str, alpha: float, res: int, classes: int, repeat: int = 5) -> tuple[float, float, int]:
    """Median time of build + trace + count, median of trace + count alone, and fvcore's total."""
    import torch
    from fvcore.nn import FlopCountAnalysis

    from mncost.torch.build import build_module, input_tensor

    def count(model, inputs) -> int:
        with torch.no_grad():
            analysis = FlopCountAnalysis(model, inputs)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            return int(analysis.total())

    net = mncost.network(arch, alpha, res, classes)
    count(build_module(net), input_tensor(net))  # warm-up: first-call costs of torch.jit
    full, trace = [], []
    total = 0
    for _ in range(repeat):
        start = time.perf_counter()
        model, inputs = build_module(mncost.network(arch, alpha, res, classes)), input_tensor(net)
        built = time.perf_counter()
        total = count(model, inputs)
        done = time.perf_counter()
        full.append(done - start)
        trace.append(done - built)
    return statistics.median(full), statistics.median(trace), total


def single_config() -> None:
    from mncost.cost.totals import _alpha_side, _resolution_side

    def cold():
        _alpha_side.cache_clear()
        _resolution_side.cache_clear()
        return mncost.totals(*CONFIG)

    warm = median_seconds(lambda: mncost.totals(*CONFIG), number=2000, repeat=7)
    cold_seconds = median_seconds(cold, number=50, repeat=7)
    layers = median_seconds(lambda: mncost.analyze(*CONFIG).totals, number=200, repeat=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full, trace, fvcore_total = fvcore_seconds(*CONFIG)
    arch, alpha, res, classes = CONFIG
    print(f"1. one config ({arch} alpha={alpha} {res}x{res}, {classes} classes)")
    print(f"   mncost.totals, warm      {warm * 1e6:9.1f} us   (macs {mncost.totals(*CONFIG).macs:,})")
    print(f"   mncost.totals, cold      {cold_seconds * 1e6:9.1f} us")
    print(f"   mncost.analyze (layers)  {layers * 1e6:9.1f} us")
    print(f"   fvcore build+trace+count {full * 1e3:9.1f} ms   (fvcore total {fvcore_total:,})")
    print(f"   fvcore trace+count       {trace * 1e3:9.1f} ms")
    print(f"   speed-up, warm           {full / warm:9,.0f}x   target >= 5,000x   {_verdict(full / warm >= 5000)}")
    print(f"   speed-up, cold           {full / cold_seconds:9,.0f}x")


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


MILLION = ("0.25:1.249:0.001", "32:1031:1")  # 1,000 alphas x 1,000 resolutions


def sweep_million() -> None:
    import pandas  # noqa: F401  (imported before timing: the DataFrame, not the import, is measured)

    from mncost.cost.totals import _alpha_side

    def cold(arch: str):
        _alpha_side.cache_clear()  # every alpha built afresh in every run
        return mncost.sweep(arch, *MILLION)

    for arch in ("v1", "v2"):
        assert len(cold(arch)) == 1_000_000
        seconds = median_seconds(lambda: cold(arch), number=1, repeat=3)
        print(f"2. sweep of 1,000,000 configs ({arch}, alpha {MILLION[0]}, resolution {MILLION[1]})")
        print(f"   mncost.sweep (DataFrame) {seconds:9.3f} s    target < 1 s     {_verdict(seconds < 1)}")


def sweep_memory() -> None:
    """Peak memory of the million-config sweep, in a fresh process started before torch is loaded here."""
    code = ("import resource, tracemalloc, numpy, pandas, mncost\n"
            "tracemalloc.start()\n"
            f"frame = mncost.sweep('v2', *{MILLION!r})\n"
            "peak = tracemalloc.get_traced_memory()[1]\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, peak // 2**20)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    process_mb, sweep_mb = map(int, out.stdout.split())
    print(f"0. memory of the 1,000,000-config v2 sweep (fresh process): peak allocations {sweep_mb} MB, "
          f"process peak RSS {process_mb} MB   target < 500 MB   {_verdict(process_mb < 500)}")


def command(argv: list[str], runs: int = 20, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Mean wall time of a command (env added to this process's), by hyperfine when available."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", out.name,
                            " ".join(argv)], env=env, check=True, capture_output=True)
            return json.load(open(out.name))["results"][0]["mean"], f"hyperfine -N --warmup 3 --runs {runs}, mean"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.mean(times), f"{runs} subprocess runs, mean"


def sweep_command() -> None:
    argv = [sys.executable, "-m", "mncost", "sweep", "--arch", "v2", "--alpha", "0.02:2.0:0.02",
            "--res", "32:428:4", "--format", "csv"]
    seconds, how = command(argv)
    print(f"3. `mncost sweep --arch v2 --alpha 0.02:2.0:0.02 --res 32:428:4 --format csv` (10,000 configs; {how})")
    print(f"   command                  {seconds:9.3f} s    target < 0.5 s   {_verdict(seconds < 0.5)}")


def pareto_scaling() -> None:
    from mncost.study.fit import pareto

    def rows(n: int) -> list[dict]:
        return [{"alpha": 0.05 + (i * 7919 % n) / n, "size": (96 + i * 104729 % 1000,) * 2} for i in range(n)]

    small, large = rows(4_000), rows(40_000)
    t_small = median_seconds(lambda: pareto(small), number=1, repeat=5)
    t_large = median_seconds(lambda: pareto(large), number=1, repeat=5)
    print("4. fit's Pareto front")
    print(f"   4,000 configs {t_small * 1e3:8.1f} ms, 40,000 configs {t_large * 1e3:8.1f} ms: "
          f"{t_large / t_small:.1f}x for 10x the configs (quadratic would be 100x)")


def table_end_to_end() -> None:
    print("5. `python -m mncost table` end to end, stdout piped")
    for arch, fmt, columns in (("v2", "rich", None), ("v2", "json", None), ("v4-hybrid-large", "rich", None),
                               ("v4-hybrid-large", "rich", "80"), ("v4-hybrid-large", "json", None)):
        argv = [sys.executable, "-m", "mncost", "table", "--arch", arch, "--format", fmt]
        seconds, how = command(argv, runs=30, env={"COLUMNS": columns} if columns else {})
        label = f"--arch {arch} --format {fmt}" + (f", COLUMNS={columns}" if columns else "")
        print(f"   {label:46} {seconds:6.3f} s   target < 0.3 s   {_verdict(seconds < 0.3)}   ({how})")
    start = time.perf_counter()
    for _ in range(10):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    print(f"   (a bare `python -c pass` takes {(time.perf_counter() - start) / 10:.3f} s here)")


TRACED = (("mobilenetv2_100", 224), ("efficientnet_b0", 224), ("mobilevit_s", 256), ("fastvit_t8", 256))
# one pass at batch 16 in a fresh process: the activations of all its layers together would be 100s of MB
PEAK = ("import resource, sys, torch\n"
        "sys.path.insert(0, 'tests')\n"
        "import torchvision_stub, timm\n"
        "torch.set_num_threads(1)\n"
        "model = timm.create_model({name!r}).eval()\n"
        "x = torch.zeros(16, 3, {side}, {side})\n"
        "if {traced}:\n"
        "    from mncost.torch.fold import network_of\n"
        "    from mncost.torch.trace import trace\n"
        "    network_of(trace(model, x), 'model')\n"
        "else:\n"
        "    with torch.no_grad():\n"
        "        model(x)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")


def tracing(runs: int = 9) -> None:
    """mncost's trace against torch's FlopCounterMode on a few timm models (one thread), and its peak memory."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT / "tests"))
    import torchvision_stub  # noqa: F401  (timm beside the CPU torch)
    import timm

    from mncost.torch.fold import network_of
    from mncost.torch.trace import trace

    print("6. tracing at the dispatcher (trace + rows) against torch's FlopCounterMode, same model and input")
    for name, side in TRACED:
        model, x = timm.create_model(name).eval(), torch.zeros(1, 3, side, side)

        def flop_counter() -> None:
            with torch.no_grad(), FlopCounterMode(display=False):
                model(x)

        def traced() -> None:
            network_of(trace(model, x), name)

        flop_counter(), traced()  # warm-up
        times: dict[str, list[float]] = {"flop": [], "trace": []}
        for _ in range(runs):
            for key, fn in (("flop", flop_counter), ("trace", traced)):
                start = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - start)
        ratio = min(times["trace"]) / min(times["flop"])
        peaks = [int(subprocess.run([sys.executable, "-c", PEAK.format(name=name, side=side, traced=traced_)],
                                    capture_output=True, text=True, check=True, cwd=ROOT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()[-1])
                 for traced_ in (False, True)]
        print(f"   {name} {side}x{side}: FlopCounterMode {min(times['flop']) * 1e3:7.1f} ms, trace "
              f"{min(times['trace']) * 1e3:7.1f} ms, {ratio:.2f}x   target <= 1.2x   {_verdict(ratio <= 1.2)}; "
              f"peak RSS at batch 16: plain pass {peaks[0]} MB, traced {peaks[1]} MB")


if __name__ == "__main__":
    print(f"mncost benchmarks, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    sweep_memory()
    single_config()
    sweep_million()
    sweep_command()
    pareto_scaling()
    table_end_to_end()
    tracing()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
