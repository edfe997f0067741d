"""The speed and memory targets of mncost's design issues, each printed next to its measure.

    PYTHONPATH=$PWD python benchmarks/run.py

The machine is shared: the figures that matter are ratios of measures taken in the same run
(commands interleaved), printed with the load average at the start and at the end.

1. Sweeps (issue 23): mncost.sweep from grid strings to a pandas DataFrame (pandas and numpy imported
   first), median of 3, for every built-in arch: 1,000,000 configs (1,000 alphas x 1,000 resolutions),
   target under 0.3 s; 4,000,000 (2,000 x 2,000), target under 1 s; and for v4-hybrid-large, 4,000,000
   in other shapes. Memory: the peak of every allocation during the sweep (tracemalloc, which numpy
   reports its arrays to) less the returned frame's own memory, per config; target at most 60 bytes.
2. One config (issue 23): a first mncost.totals (its per-config cache cleared; the arch's modules
   already imported), target at least 5x faster than mncost.analyze of the same config; and a repeated
   one. Beside them fvcore on the same config (building the nn.Module from the Network with
   mncost.torch.build, jit tracing and FlopCountAnalysis(...).total(), median of 5 after a warm-up):
   the repeated totals, target at least 5,000x faster.
3. Start-up (issue 23): `mncost ...` end to end as the console script runs it (python -c "from
   mncost.cli import main; main()" ARGS), stdout to /dev/null, interleaved runs, median, as a ratio to
   `python -c pass` in the same rounds. Measured twice: with mncost's bytecode compiled (a copy of the
   package run through compileall, as a pip install has it) and from sources only (another copy with
   no __pycache__, PYTHONDONTWRITEBYTECODE=1, as this editable checkout runs here). Targets: `table`,
   `--help` and `--version` at most 4x; `table` under 0.3 s. The floor: importing typer (with click)
   and rich, which every table needs, alone.
4. `mncost sweep` of 10,000 configs as a command (--format csv): under 0.5 s.
5. fit's Pareto front over 4,000 and 40,000 configs: O(n log n), so 10x the configs cost ~10x.
6. Tracing (issue 23): a model traced at the dispatcher (mncost.torch.trace and fold: what
   `mncost count` runs) against torch's FlopCounterMode on the same model and input, both under
   no_grad, interleaved, the fastest of several runs each, one thread; and the peak memory (RSS) of
   one traced forward pass against one plain forward pass at batch 16, each in a fresh process.
   Target: tracing at most 1.2x FlopCounterMode's time; memory close to the plain pass's.
"""

from __future__ import annotations

import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mncost  # noqa: E402
from mncost.arch.builder import FAMILIES  # noqa: E402
from mncost.cost.totals import spec_totals  # noqa: E402

CONFIG = ("v2", 1.0, 224, 1000)
MILLION = ("0.25:1.249:0.001", "32:1031:1")  # 1,000 alphas x 1,000 resolutions
FOUR_MILLION = ("0.25:2.249:0.001", "32:2031:1")  # 2,000 x 2,000
SHAPES = {"4,000 x 1,000": ("0.1:4.099:0.001", "32:1031:1"), "100 x 40,000": ("0.25:0.349:0.001", "32:40031:1"),
          "40,000 x 100": ("0.001:40:0.001", "32:131:1")}


def median_seconds(fn, number: int, repeat: int) -> float:
    """Median over `repeat` batches of the time of one call."""
    return statistics.median(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def sweep_bytes(arch: str, grid: tuple[str, str]) -> float:
    """Peak bytes allocated during the sweep beyond the returned frame's own, per config."""
    gc.collect()
    tracemalloc.start()
    frame = mncost.sweep(arch, *grid)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - int(frame.memory_usage(deep=False).sum())) / len(frame)


def sweeps() -> None:
    import pandas  # noqa: F401  (imported before timing: the DataFrame, not the import, is measured)

    print("1. mncost.sweep into a DataFrame (median of 3; memory: peak beyond the frame, per config)")
    print(f"   {'arch':18} {'1,000,000':>9}  < 0.3 s  {'4,000,000':>9}  < 1 s    bytes/config (1M, 4M)  <= 60")
    worst = []
    for arch in FAMILIES:
        one = median_seconds(lambda: mncost.sweep(arch, *MILLION), number=1, repeat=3)
        four = median_seconds(lambda: mncost.sweep(arch, *FOUR_MILLION), number=1, repeat=3)
        memory = (sweep_bytes(arch, MILLION), sweep_bytes(arch, FOUR_MILLION))
        worst.append((one, four, max(memory)))
        print(f"   {arch:18} {one:7.3f} s  {verdict(one < 0.3):6}  {four:7.3f} s  {verdict(four < 1):6}   "
              f"{memory[0]:5.1f}, {memory[1]:5.1f}            {verdict(max(memory) <= 60)}")
    print(f"   slowest: 1M {max(w[0] for w in worst):.3f} s, 4M {max(w[1] for w in worst):.3f} s; "
          f"most memory {max(w[2] for w in worst):.1f} bytes/config")
    for shape, grid in SHAPES.items():
        seconds = median_seconds(lambda: mncost.sweep("v4-hybrid-large", *grid), number=1, repeat=3)
        configs = len(mncost.sweep("v4-hybrid-large", *grid))
        print(f"   v4-hybrid-large, {shape} ({configs:,} configs): {seconds:.3f} s  "
              f"target < 1 s  {verdict(seconds < 1)}")


def fvcore_seconds(arch: str, alpha: float, res: int, classes: int, repeat: int = 5) -> tuple[float, int]:
    """Median time of build + trace + count, and fvcore's total."""
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
    times, total = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        total = count(build_module(mncost.network(arch, alpha, res, classes)), input_tensor(net))
        times.append(time.perf_counter() - start)
    return statistics.median(times), total


def single_config() -> None:
    arch, alpha, res, classes = CONFIG
    print(f"2. one config ({arch} alpha={alpha} {res}x{res}, {classes} classes)")
    for name in ("v2", "v4-hybrid-large"):
        def first():
            spec_totals.cache_clear()
            return mncost.totals(name, alpha, res, classes)

        cold = median_seconds(first, number=50, repeat=7)
        layers = median_seconds(lambda: mncost.analyze(name, alpha, res, classes), number=50, repeat=7)
        print(f"   {name:16} first mncost.totals {cold * 1e6:8.1f} us, mncost.analyze {layers * 1e6:8.1f} us: "
              f"{layers / cold:4.2f}x   target >= 5x   {verdict(layers / cold >= 5)}")
    warm = median_seconds(lambda: mncost.totals(*CONFIG), number=2000, repeat=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full, fvcore_total = fvcore_seconds(*CONFIG)
    print(f"   {arch:16} repeated mncost.totals {warm * 1e6:6.1f} us (macs {mncost.totals(*CONFIG).macs:,}); "
          f"fvcore build+trace+count {full * 1e3:.1f} ms (total {fvcore_total:,})")
    print(f"   speed-up of a repeated totals over fvcore {full / warm:9,.0f}x   target >= 5,000x   "
          f"{verdict(full / warm >= 5000)}")


def interleaved(commands: list[tuple[list[str], dict[str, str]]], rounds: int, cwd: Path = ROOT
                ) -> list[tuple[float, float]]:
    """Median wall and CPU seconds of each command, run in turn `rounds` times."""
    wall: list[list[float]] = [[] for _ in commands]
    cpu: list[list[float]] = [[] for _ in commands]
    for _ in range(rounds):
        for i, (argv, env) in enumerate(commands):
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall[i].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[i].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(wall, cpu)]


MAIN = "from mncost.cli import main; main()"  # what the console script `mncost` runs
STARTUP = [  # label, argv after `python`, target ratio to `python -c pass` (None: shown only)
    ("python -c pass", ["-c", "pass"], None),
    ("import typer, rich (the floor)", ["-c", "import typer, rich.console, rich.table"], None),
    ("mncost table", ["-c", MAIN, "table"], 4),
    ("mncost table --format json", ["-c", MAIN, "table", "--format", "json"], None),
    ("mncost table --arch v4-hybrid-large", ["-c", MAIN, "table", "--arch", "v4-hybrid-large"], None),
    ("mncost --help", ["-c", MAIN, "--help"], 4),
    ("mncost --version", ["-c", MAIN, "--version"], 4),
]


def startup(rounds: int = 15) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        variants = {"compiled": Path(tmp, "compiled"), "sources": Path(tmp, "sources")}
        for where in variants.values():
            shutil.copytree(ROOT / "mncost", where / "mncost", ignore=shutil.ignore_patterns("__pycache__"))
        compile_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(variants["compiled"])], check=True,
                       env=compile_env, stdout=subprocess.DEVNULL)
        plain = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # tables at natural width
        envs = {name: {**plain, "PYTHONPATH": str(where), "PYTHONDONTWRITEBYTECODE": "1"}
                for name, where in variants.items()}
        for name, env in envs.items():  # each copy, not this checkout, is what runs (from a folder without one)
            found = subprocess.run([sys.executable, "-c", "import mncost; print(mncost.__file__)"], env=env,
                                   cwd=tmp, check=True, capture_output=True, text=True).stdout
            assert found.startswith(str(variants[name])), found
        commands = [([sys.executable, *argv], envs[name]) for name in envs for _, argv, _ in STARTUP]
        times = interleaved(commands, rounds, cwd=Path(tmp))
    print(f"3. start-up end to end, stdout to /dev/null ({rounds} interleaved rounds, median; ratio to "
          "`python -c pass`, wall (CPU))")
    print(f"   {'':38} {'bytecode compiled (pip install)':>34}   {'sources only (this checkout)':>32}")
    for i, (label, _, target) in enumerate(STARTUP):
        cells = []
        for v in range(len(envs)):
            (wall, cpu), (base_wall, base_cpu) = times[v * len(STARTUP) + i], times[v * len(STARTUP)]
            cells.append(f"{wall * 1e3:6.1f} ms {wall / base_wall:5.2f}x ({cpu / base_cpu:4.2f}x)")
        goal = "" if target is None else f"   target <= {target}x   " + verdict(
            times[i][0] / times[0][0] <= target)
        print(f"   {label:38} {cells[0]:>34}   {cells[1]:>32}{goal}")
    table = times[[label for label, _, _ in STARTUP].index("mncost table")][0]
    print(f"   mncost table (compiled) {table:.3f} s   target < 0.3 s   {verdict(table < 0.3)}")


def sweep_command() -> None:
    argv = [sys.executable, "-m", "mncost", "sweep", "--arch", "v2", "--alpha", "0.02:2.0:0.02",
            "--res", "32:428:4", "--format", "csv"]
    [(seconds, _)] = interleaved([(argv, {**os.environ, "PYTHONPATH": str(ROOT)})], rounds=10)
    print("4. `mncost sweep --arch v2 --alpha 0.02:2.0:0.02 --res 32:428:4 --format csv` (10,000 configs; "
          f"median of 10): {seconds:.3f} s   target < 0.5 s   {verdict(seconds < 0.5)}")


def pareto_scaling() -> None:
    from mncost.study.fit import pareto

    def rows(n: int) -> list[dict]:
        return [{"alpha": 0.05 + (i * 7919 % n) / n, "size": (96 + i * 104729 % 1000,) * 2} for i in range(n)]

    small, large = rows(4_000), rows(40_000)
    t_small = median_seconds(lambda: pareto(small), number=1, repeat=5)
    t_large = median_seconds(lambda: pareto(large), number=1, repeat=5)
    print(f"5. fit's Pareto front: 4,000 configs {t_small * 1e3:.1f} ms, 40,000 configs {t_large * 1e3:.1f} ms: "
          f"{t_large / t_small:.1f}x for 10x the configs (quadratic would be 100x)")


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
              f"{min(times['trace']) * 1e3:7.1f} ms, {ratio:.2f}x   target <= 1.2x   {verdict(ratio <= 1.2)}; "
              f"peak RSS at batch 16: plain pass {peaks[0]} MB, traced {peaks[1]} MB")


if __name__ == "__main__":
    print(f"mncost benchmarks, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    sweeps()
    single_config()
    startup()
    sweep_command()
    pareto_scaling()
    tracing()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
