"""The three speed figures of the design-studies issue, each printed next to its target.

    PYTHONPATH=$PWD python benchmarks/run.py

1. One analytic config (mncost.totals: arch lookup, input validation and the
   totals, no cache) against fvcore on the same config in the same run. The
   fvcore time covers building the nn.Module from the Network (mncost.torch.build),
   jit tracing and counting (FlopCountAnalysis(...).total()); the trace and
   count alone are printed too. Target: analytic at least 5,000x faster.
2. mncost.sweep_rows over 10,000 configs (100 alphas x 100 resolutions), grid
   parsing included. Target: under 1 s.
3. `python -m mncost table` end to end in a subprocess (interpreter start
   included), timed by hyperfine when it is on PATH, else by repeated
   subprocess runs (mean). Target: well under 0.3 s.
Timings are medians (means for hyperfine) on this machine, batch size 1, CPU.
"""

from __future__ import annotations

import json
import os
import resource
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
    arch, alpha, res, classes = CONFIG
    analytic = median_seconds(lambda: mncost.totals(arch, alpha, res, classes), number=2000, repeat=7)
    layers = median_seconds(lambda: mncost.analyze(arch, alpha, res, classes).totals, number=200, repeat=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full, trace, fvcore_total = fvcore_seconds(arch, alpha, res, classes)
    print(f"1. one config ({arch} alpha={alpha} {res}x{res}, {classes} classes)")
    print(f"   mncost.totals            {analytic * 1e6:9.1f} us   (macs {mncost.totals(*CONFIG).macs:,})")
    print(f"   mncost.analyze (layers)  {layers * 1e6:9.1f} us")
    print(f"   fvcore build+trace+count {full * 1e3:9.1f} ms   (fvcore total {fvcore_total:,})")
    print(f"   fvcore trace+count       {trace * 1e3:9.1f} ms")
    print(f"   speed-up vs build+trace+count {full / analytic:9,.0f}x   target >= 5,000x   "
          f"{'OK' if full / analytic >= 5000 else 'MISSED'}")
    print(f"   speed-up vs trace+count alone {trace / analytic:9,.0f}x")


def sweep_10k() -> None:
    alphas, resolutions = "0.02:2.0:0.02", "32:428:4"  # 100 x 100
    rows = mncost.sweep_rows("v2", alphas, resolutions)
    assert len(rows) == 10_000
    seconds = median_seconds(lambda: mncost.sweep_rows("v2", alphas, resolutions), number=1, repeat=5)
    print(f"2. sweep of {len(rows):,} configs (v2, alpha {alphas}, resolution {resolutions})")
    print(f"   mncost.sweep_rows        {seconds:9.3f} s    target < 1 s   {'OK' if seconds < 1 else 'MISSED'}")


def table_end_to_end() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results = {}
    for fmt in ("rich", "json"):
        argv = [sys.executable, "-m", "mncost", "table", "--arch", "v2", "--format", fmt]
        if shutil.which("hyperfine"):
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", "30", "--export-json", out.name,
                                " ".join(argv)], env=env, check=True, capture_output=True)
                result = json.load(open(out.name))["results"][0]
            results[fmt] = result["mean"], result["user"] + result["system"]
            how = "hyperfine -N --warmup 3 --runs 30, mean"
        else:
            times, before = [], resource.getrusage(resource.RUSAGE_CHILDREN)
            for _ in range(20):
                start = time.perf_counter()
                subprocess.run(argv, env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / 20
            results[fmt] = statistics.mean(times), cpu
            how = "20 subprocess runs, mean"
    print(f"3. `python -m mncost table --arch v2` end to end, stdout piped ({how})")
    for fmt, (seconds, cpu) in results.items():
        print(f"   --format {fmt:4}            {seconds:9.3f} s    target < 0.3 s   "
              f"{'OK' if seconds < 0.3 else 'MISSED'}   (CPU user+sys {cpu:.3f} s)")
    start = time.perf_counter()
    for _ in range(10):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    print(f"   (a bare `python -c pass` takes {(time.perf_counter() - start) / 10:.3f} s here)")


if __name__ == "__main__":
    print(f"mncost benchmarks, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    single_config()
    sweep_10k()
    table_end_to_end()
