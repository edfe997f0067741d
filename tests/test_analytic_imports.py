"""The analytic commands never import torch, fvcore or pandas (nor matplotlib), whatever the format."""

from __future__ import annotations

import pytest

from conftest import heavy_imports

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
