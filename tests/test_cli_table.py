"""`mncost table` through the CLI: formats, bad input, and no heavy imports."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import run_cli
from mncost import network, total_cost


def test_json_has_the_documented_shape_and_exact_totals():
    out = run_cli("table", "--arch", "v1", "--alpha", "0.25", "--res", "128", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["arch"], doc["alpha"], doc["resolution"], doc["num_classes"]) == ("v1", 0.25, [128, 128], 1000)
    layer_keys = {"name", "type", "kernel", "stride", "groups", "in_channels", "out_channels", "input_size",
                  "output_size", "macs", "params", "activations"}
    assert all(layer_keys <= set(layer) for layer in doc["layers"])
    t = total_cost(network("v1", 0.25, 128))
    assert doc["totals"]["macs"] == t.macs == sum(layer["macs"] for layer in doc["layers"])
    assert doc["totals"]["params"] == t.params and doc["totals"]["params_paper"] == t.weights


def test_json_at_the_paper_config():
    doc = json.loads(run_cli("table", "--format", "json").stdout)
    assert doc["totals"]["macs"] == 568_740_352
    assert (doc["totals"]["params"], doc["totals"]["params_paper"]) == (4_231_976, 4_209_088)


def test_csv_carries_exact_integers():
    out = run_cli("table", "--arch", "v2", "--res", "160x192", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert sum(int(r["macs"]) for r in rows) == total_cost(network("v2", 1.0, (160, 192))).macs
    assert rows[0]["input_size"] == "160x192"


def test_markdown_and_rich_show_the_layers_totals_and_shares():
    md = run_cli("table", "--arch", "v2", "--format", "md").stdout
    assert "| block17.project" in md and "| Total" in md and "300.77 M" in md
    rich_out = run_cli("table", "--arch", "v1", "--alpha", "0.25", "--res", "128").stdout
    assert "block13.pw" in rich_out and "Total" in rich_out and "Conv 1x1" in rich_out


@pytest.mark.parametrize("args,names", [
    (["--alpha", "0"], "alpha"), (["--alpha", "-0.5"], "alpha"), (["--alpha", "nan"], "alpha"),
    (["--alpha", "inf"], "alpha"), (["--alpha", "abc"], "alpha"),
    (["--res", "0"], "resolution"), (["--res", "-224"], "resolution"), (["--res", "22x"], "resolution"),
    (["--res", "224.5"], "resolution"), (["--res", "axb"], "resolution"),
    (["--arch", "v9"], "arch"), (["--classes", "0"], "classes"), (["--classes", "ten"], "classes"),
    (["--format", "xml"], "format"), (["--bogus"], "bogus"),
])
def test_bad_input_is_one_line_and_exit_2(args, names):
    out = run_cli("table", *args)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0] and "Traceback" not in out.stderr
