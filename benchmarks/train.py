"""How close is `mncost train`'s peak memory to a real training step's? Measured on this machine (CPU).

    PYTHONPATH=$PWD python benchmarks/train.py [--archs v1,v2,v3-small] [--batches 8,32] [--res 160]

Each (arch, batch) runs in a fresh process with glibc's mmap threshold at 64 KiB (MALLOC_MMAP_THRESHOLD_), so
every tensor of any size is its own mapping and the resident set follows the live tensors (tracemalloc does
not see torch's allocator). After one warm-up step (kernels loaded, optimizer state made), the kernel's
high-water mark is reset (/proc/self/clear_refs), one step runs (zero_grad(set_to_none), forward,
cross-entropy, backward, optimizer step) and the measure is VmHWM - VmRSS before the step, plus the bytes of
the parameters and optimizer state already resident: the step's peak as mncost defines it. The prediction
is mncost.train(arch=...)'s memory()["peak"]. A benchmark, not a test: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, torch
from mncost.arch.builder import network
from mncost.torch.build import build_module
import mncost
arch, batch, res, optimizer = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(1)
net = network(arch, 1.0, res)
model = build_module(net).train()
opt = {"sgd": lambda p: torch.optim.SGD(p, 0.01), "adam": lambda p: torch.optim.Adam(p)}[optimizer](model.parameters())
x, y = torch.randn(batch, 3, res, res), torch.randint(0, 1000, (batch,))
def step():
    opt.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
def status(key):
    return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key))
step()
opt.zero_grad(set_to_none=True)
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS:")
step()
peak = status("VmHWM:") - before
resident = 4 * sum(p.numel() for p in model.parameters()) * (1 + (2 if optimizer == "adam" else 0))
predicted = mncost.train(arch=arch, res=res, batch=batch, optimizer=optimizer).memory()
print(json.dumps({"measured": peak + resident, "predicted": predicted["peak"], "saved": predicted["saved"]}))
"""


def run(arch: str, batch: int, res: int, optimizer: str) -> dict:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, arch, str(batch), str(res), optimizer], capture_output=True,
                         text=True, env=env, timeout=1800)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="v1,v2,v3-small")
    parser.add_argument("--batches", default="8,32")
    parser.add_argument("--res", type=int, default=160)
    parser.add_argument("--optimizer", default="sgd")
    args = parser.parse_args()
    print(f"load average {open('/proc/loadavg').read().split()[:3]}, {os.cpu_count()} cores, res {args.res}, "
          f"{args.optimizer}")
    print(f"{'arch':<10} {'batch':>5} {'predicted MB':>13} {'measured MB':>12} {'error':>7}")
    for arch in args.archs.split(","):
        for batch in map(int, args.batches.split(",")):
            r = run(arch, batch, args.res, args.optimizer)
            error = (r["predicted"] - r["measured"]) / r["measured"]
            print(f"{arch:<10} {batch:>5} {r['predicted'] / 1e6:>13.1f} {r['measured'] / 1e6:>12.1f} {error:>+7.1%}")


if __name__ == "__main__":
    main()
