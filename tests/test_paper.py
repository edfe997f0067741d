"""The papers' tables rebuilt from the engine, checked against the published figures ([V1], [V2], [SLIM])."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import run_cli
from mncost import formulas
from mncost.paper import TABLES, data, paper_tables
from mncost.paper.compare import method


def _table(table_id: str):
    (table,) = paper_tables([table_id])
    return {row.label: row for row in table.rows}


@pytest.mark.parametrize("value, printed, significant, expected", [
    ("568.740352", "569", False, "rounded"),
    ("290.676224", "290", False, "truncated"),  # [V1] Table 7 prints 290 for 290.68 M
    ("1.9056", "1.19", False, None),
    ("3.472041", "3.47", False, "rounded"),
    ("1605.632", "1600", True, "rounded"),
    ("1605.632", "1600", False, None),
    ("2.56", "2", True, "truncated"),
])
def test_match_rounded_or_truncated_at_printed_precision(value, printed, significant, expected):
    assert method(Decimal(value), printed, significant) == expected


def test_v1_table2_shares_and_the_swapped_digits():
    rows = _table("v1-table2")
    for label, (macs, params) in {"Conv 1x1": (94.86, 74.59), "Conv DW 3x3": (3.06, 1.06),
                                  "Conv 3x3": (1.91, 0.02), "Fully Connected": (0.18, 24.33)}.items():
        assert rows[label].computed == {"macs_share": macs, "params_share": params}
    assert rows["Conv 3x3"].published["macs_share"] == 1.19
    assert rows["Conv 3x3"].match is False and "misprint" in rows["Conv 3x3"].note
    assert all(rows[label].match for label in ("Conv 1x1", "Conv DW 3x3", "Fully Connected"))


def test_v1_table3_all_eight_figures():
    rows = _table("v1-table3")
    assert len(rows) == 4 and all(row.match for row in rows.values())
    assert rows["Convolution"].computed == {"macs_m": 462, "params_m": 2.36}
    assert rows["rho = 0.714"].computed == {"macs_m": 15.1, "params_m": 0.15}


# [V1] Table 1 with every separable block a standard 3x3 conv: (M, N, D_F) per conv, then the FC.
CONV_MOBILENET = [(3, 32, 112), (32, 64, 112), (64, 128, 56), (128, 128, 56), (128, 256, 28), (256, 256, 28),
                  (256, 512, 14), *[(512, 512, 14)] * 5, (512, 1024, 7), (1024, 1024, 7)]


def test_v1_table4_conv_mobilenet_params_match_and_macs_delta_explained():
    convs = sum(formulas.standard_conv_macs(3, m, n, d_f) for m, n, d_f in CONV_MOBILENET)
    fc = formulas.linear_macs(1024, 1000)
    row = _table("v1-table4")["Conv MobileNet"]
    assert row.computed["params_m"] == 29.3 and row.published["params_m"] == 29.3
    assert row.match is False and row.exact["macs_m"] == pytest.approx((convs + fc) / 1e6)
    assert "FC excluded" in row.note and f"{convs / 1e6:.2f}" in row.note and round(convs / 1e6) == 4866
    assert _table("v1-table4")["MobileNet"].match


def test_v1_table5_shallow_and_narrow():
    rows = _table("v1-table5")
    assert rows["Shallow MobileNet"].computed == {"top1": None, "macs_m": 307, "params_m": 2.9}
    assert rows["0.75 MobileNet"].computed == {"top1": None, "macs_m": 325, "params_m": 2.6}
    assert all(row.match for row in rows.values())


@pytest.mark.parametrize("table_id", ["v1-table6", "v1-table7", "v2-slim"])
def test_every_row_matches(table_id):
    (table,) = paper_tables([table_id])
    expected = len(data.V2_CHECKPOINTS) if table_id == "v2-slim" else 4
    assert [row.match for row in table.rows] == [True] * expected


def test_v1_table7_160_is_a_truncation():
    row = _table("v1-table7")["1.0 MobileNet-160"]
    assert row.computed["macs_m"] == 290 and "truncated" in row.note


def test_reference_checkpoint_lists():
    assert len(data.V1_CHECKPOINTS) == 16 and len(data.V2_CHECKPOINTS) == 22
    assert {cp.name for cp in data.V2_CHECKPOINTS} >= {"mobilenet_v2_1.4_224", "mobilenet_v2_0.35_96"}


def test_v1_slim_params_all_match_and_macs_misses_are_annotated():
    (table,) = paper_tables(["v1-slim"])
    for row in table.rows:
        assert row.computed["params_m"] == row.published["params_m"], row.label
        assert row.match or "unexplained" in row.note, row.label
    misses = {row.label for row in table.rows if not row.match}
    assert {f"mobilenet_v1_0.75_{r}" for r in (224, 192, 160, 128)} <= misses


def test_v2_table3_states_its_rule_and_shows_hits_and_misses():
    (table,) = paper_tables(["v2-table3"])
    rows = {row.label: row for row in table.rows}
    assert any(note.startswith("Rule:") for note in table.footer)
    assert all(rows[f"MobileNetV1 {s}x{s}"].computed["channels"] == rows[f"MobileNetV1 {s}x{s}"].published["channels"]
               for s in (112, 56, 28, 14, 7, 1))
    assert rows["MobileNetV1 max"].match and rows["MobileNetV2 max"].match
    assert all(row.note for row in table.rows if row.match is False)
    assert sum(row.match is False for row in table.rows) >= 1


def test_published_only_rows_have_no_computed_values():
    for table_id in ("v1-table8", "v1-table9", "v2-table4"):
        for row in paper_tables([table_id])[0].rows:
            if "MobileNet" not in row.label or row.label == "MobileNetV1":
                assert row.match is None and set(row.computed.values()) == {None} and row.note


def test_cli_paper_json_schema():
    result = run_cli("paper", "v1-table6", "v2-slim", "--format", "json")
    assert result.returncode == 0, result.stderr
    tables = json.loads(result.stdout)
    assert [t["id"] for t in tables] == ["v1-table6", "v2-slim"]
    for table in tables:
        assert {"id", "title", "source", "rows"} <= set(table)
        for row in table["rows"]:
            assert {"label", "published", "computed", "match", "note"} <= set(row)
            assert set(row["published"]) == set(row["computed"])
            assert isinstance(row["match"], bool)


def test_cli_paper_all_tables_markdown():
    result = run_cli("paper", "--format", "md")
    assert result.returncode == 0, result.stderr
    for table_id in TABLES:
        assert f"**{table_id}: " in result.stdout


def test_cli_paper_unknown_table_is_a_user_error():
    result = run_cli("paper", "v1-table99")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "v1-table99" in result.stderr and "v1-table6" in result.stderr


def test_cli_scaling_grid_agrees_with_table_and_papers():
    result = run_cli("scaling", "--arch", "v1", "--alpha", "1.0,0.5", "--res", "224,160", "--format", "json")
    assert result.returncode == 0, result.stderr
    grid = json.loads(result.stdout)["grid"]
    cells = {(c["alpha"], c["resolution"][0]): c for c in grid}
    single = json.loads(run_cli("table", "--alpha", "0.5", "--res", "160", "--format", "json").stdout)["totals"]
    assert cells[(0.5, 160)]["macs"] == single["macs"] and cells[(0.5, 160)]["params"] == single["params"]
    # [V1] Table 6 (0.5: 149 M, 1.3 M) and Table 7 (160: 290 M, truncated)
    assert round(cells[(0.5, 224)]["macs"] / 1e6) == 149 and round(cells[(0.5, 224)]["params_paper"] / 1e6, 1) == 1.3
    assert int(cells[(1.0, 160)]["macs"] / 1e6) == 290
    # params do not depend on the resolution; cost grows with both multipliers
    assert cells[(1.0, 224)]["params"] == cells[(1.0, 160)]["params"]
    assert cells[(1.0, 224)]["macs"] > cells[(1.0, 160)]["macs"] > cells[(0.5, 160)]["macs"]


@pytest.mark.parametrize("args", [["--alpha", ","], ["--alpha", "1,-1"], ["--res", "224,0"], ["--arch", "v9"]])
def test_cli_scaling_bad_input(args):
    result = run_cli("scaling", *args)
    assert result.returncode == 2 and result.stdout == "" and result.stderr.startswith("mncost: error: ")


@pytest.mark.parametrize("arch, macs_m, params_m", [("v1-fullconv", 4867, 29.3), ("v1-shallow", 307, 2.9)])
def test_variants_work_in_mncost_table(arch, macs_m, params_m):
    totals = json.loads(run_cli("table", "--arch", arch, "--format", "json").stdout)["totals"]
    assert round(totals["macs"] / 1e6) == macs_m and round(totals["params_paper"] / 1e6, 1) == params_m
