"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import torchvision_stub  # noqa: E402,F401  (tests/ is on sys.path)

# ptflops hooks timm's Attention only when timm imports at ptflops' own import (ptflops/pytorch_ops.py), as it
# does for a user with torchvision: the stand-in goes in first, so that no test's order decides what ptflops
# counts (tests/test_timm_zoo.py's mobilevits measured 28% more when a test imported ptflops before timm).
ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python -m mncost ARGS` in a subprocess, with this checkout first on the path (piped, no COLUMNS:
    tables at their natural width)."""
    env = {**{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "mncost", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def heavy_imports(argv: list[str], heavy: tuple[str, ...] = ("torch", "fvcore", "pandas")) -> list[str]:
    """Run the CLI with argv in a fresh interpreter; the heavy top-level modules it imported."""
    code = (
        "import sys\n"
        "from mncost.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.returncode == 0, out.stderr
    return eval(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def cli():
    return run_cli


def import_timm():
    """timm, importable beside the CPU torch through the test-only torchvision stand-in."""
    import torchvision_stub  # noqa: F401  (tests/ is on sys.path; installs the stand-in finder)
    import timm

    return timm


def conv_signatures(model) -> list[tuple]:
    """Each nn.Conv2d of a model in registration order: in, out, kernel, stride, groups, bias."""
    from torch import nn

    return [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.groups, m.bias is not None)
            for m in model.modules() if isinstance(m, nn.Conv2d)]


def layer_signatures(net) -> list[tuple]:
    """The same signature for each conv layer of a Network."""
    return [(layer.in_channels, layer.out_channels, layer.kernel, layer.stride, layer.groups, layer.bias)
            for layer in net.layers if layer.op == "conv2d"]
