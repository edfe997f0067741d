"""The README's design-studies and Python API sections show real output."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from test_readme import README, console_blocks

from conftest import ROOT, run_cli


@pytest.mark.parametrize("prefix", ["mncost sweep", "mncost fit"])
def test_pasted_sweep_and_fit_output_is_what_the_cli_prints(prefix):
    blocks = console_blocks(prefix)
    assert blocks
    for argv, pasted in blocks:
        out = run_cli(*argv)
        assert out.stdout + out.stderr == pasted, f"README output of `mncost {' '.join(argv)}` is stale"


def test_api_example_prints_what_the_readme_shows():
    api = README.split("## Python API", 1)[1].split("\n## ", 1)[0]
    code, output = re.search(r"```python\n(.*?)```.*?```text\n(.*?)```", api, flags=re.S).groups()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == output


def test_readme_shows_the_shipped_v2_spec():
    assert (ROOT / "examples" / "v2.toml").read_text() in README
