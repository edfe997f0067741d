"""The analytic commands never import torch, fvcore or pandas (nor matplotlib), whatever the format."""

from __future__ import annotations

import pytest

from conftest import heavy_imports

ANALYTIC = [
    *(["table", "--arch", "v1", "--alpha", "0.25", "--res", "128", "--format", fmt] for fmt in ("rich", "md", "csv", "json")),
    ["table", "--arch", "examples/v2.toml", "--format", "json"],
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
