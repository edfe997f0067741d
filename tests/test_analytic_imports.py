"""The analytic commands never import torch, fvcore or pandas (nor matplotlib), whatever the format."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, heavy_imports

ANALYTIC = [
    *(["table", "--arch", "v1", "--alpha", "0.25", "--res", "128", "--format", fmt] for fmt in ("rich", "md", "csv", "json")),
    ["table", "--arch", "examples/v2.toml", "--format", "json"],
    *(["table", "--arch", arch, "--build", "slim"] for arch in ("v3-large", "v3-small-minimal")),
    ["table", "--arch", "v3-large"],
    ["paper", "--format", "json"],
    ["scaling", "--format", "csv"],
    ["compare", "--format", "md"],
    ["sweep", "--arch", "v2", "--format", "rich"],
    ["sweep", "--arch", "v2", "--format", "json"],
    ["fit", "--format", "rich"],
]


@pytest.mark.parametrize("argv", ANALYTIC, ids=" ".join)
def test_analytic_commands_import_no_heavy_module(argv):
    assert heavy_imports(argv, ("torch", "fvcore", "pandas", "matplotlib")) == []


@pytest.mark.parametrize("argv", [argv for argv in ANALYTIC if argv[0] in ("table", "paper", "compare")], ids=" ".join)
def test_table_paths_do_not_import_numpy(argv):
    # numpy loads for sweep and fit only (their matrix products); the table path stays light.
    assert heavy_imports(argv, ("numpy",)) == []


def loaded_modules(argv: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after running the CLI with argv (exit 0)."""
    code = ("import contextlib, io, sys\n"
            "from mncost.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        main({argv!r})\n"
            "    except SystemExit as e:\n"
            "        assert e.code == 0, e.code\n"
            "print(sorted(sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.returncode == 0, out.stderr
    return set(eval(out.stdout.strip().splitlines()[-1]))


LATER = ("mncost.arch", "mncost.cost", "mncost.paper", "mncost.study", "importlib.metadata")


@pytest.mark.parametrize("argv,absent", [
    (["--version"], LATER),
    (["--help"], LATER),
    (["table", "--help"], LATER),
    (["table", "--arch", "v1", "--format", "json"], ("mncost.arch.v3", "mncost.arch.v4", "mncost.arch.specfile",
                                                     "mncost.paper", "mncost.study")),
], ids=" ".join)
def test_a_command_loads_only_what_it_shows(argv, absent):
    """The start-up that benchmarks/run.py times: the version and the help import no network, a V1 table no
    other family, spec file reader or paper table."""
    assert sorted(m for m in loaded_modules(argv) if m.startswith(absent)) == []
