"""At 80 and 120 columns every table shows every layer name and number whole: nothing cut to '…'."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

COMMANDS = [["table"], ["table", "--arch", "v2"], ["table", "--arch", "v1-fullconv", "--alpha", "1.4"],
            ["paper"], ["paper", "v1-slim"], ["scaling"],
            ["scaling", "--arch", "v2", "--alpha", "1.4,1.0,0.75,0.5,0.35", "--res", "224,192,160,128,96"],
            ["compare"], ["compare", "--arch", "v2", "--alpha", "1.4"], ["sweep"], ["fit"],
            ["fit", "--arch", "v1", "--max-macs", "150M", "--max-params", "1.5M", "--alpha", "0.25:1:0.25"]]


def run(args: list[str], columns: int | None) -> str:
    """The CLI's stdout as a terminal of that many columns shows it (COLUMNS; None: piped, unset)."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["PYTHONPATH"] = str(ROOT)
    if columns:
        env["COLUMNS"] = str(columns)
    out = subprocess.run([sys.executable, "-m", "mncost", *args], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    return out.stdout


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_no_cell_is_cut_and_no_line_is_wider_than_the_terminal(args, columns):
    out = run(args, columns)
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= columns


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("arch", ["v1", "v2"])
def test_every_layer_name_and_count_is_shown_whole(arch, columns):
    from mncost.table import human

    out = run(["table", "--arch", arch], columns)
    cells = {cell.strip() for line in out.splitlines() for cell in re.split(r"│|┃|\s{2,}", line)}
    layers = json.loads(run(["table", "--arch", arch, "--format", "json"], None))["layers"]
    for layer in layers:
        assert layer["name"] in cells, layer["name"]
        assert human(layer["macs"]) in cells and human(layer["params"]) in cells, layer["name"]


@pytest.mark.parametrize("columns", [80, 120])
def test_every_paper_row_label_is_shown_whole(columns):
    out = run(["paper", "v1-slim", "v2-slim"], columns)
    labels = [row["label"] for t in json.loads(run(["paper", "v1-slim", "v2-slim", "--format", "json"], None))
              for row in t["rows"]]
    assert len(labels) == 38
    starts = {line.strip("│ ").split(" ")[0] for line in out.splitlines()}
    assert set(labels) <= starts


def test_hidden_columns_are_named_and_wide_shows_them():
    narrow = run(["table"], 80)
    assert "Not shown at this width: Input Size" in narrow and "Input Size" not in narrow.split("Not shown")[0]
    wide = run(["table", "--wide"], 80)
    assert "Input Size" in wide and "Not shown" not in wide and wide == run(["table"], None)
    assert max(len(line) for line in wide.splitlines()) > 80


def test_piped_output_keeps_its_natural_width():
    # Without COLUMNS, piped output is never wrapped or cut, however wide (as pasted in the docs).
    out = run(["compare"], None)
    assert max(len(line) for line in out.splitlines()) > 200 and "…" not in out
