"""Design studies: the fast totals path, grids, budgets, sweep and fit, each against the layer-by-layer engine."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, run_cli
from mncost import MncostError, analyze, fit, load_spec, sweep, sweep_rows
from mncost import totals
from mncost.arch.builder import SPECS as BUILT_IN, build, with_build
from mncost.arch.stack import ROUNDING, divisible_width, floor_width
from mncost.arch.v1 import V1, Separable
from mncost.arch.v2 import V2
from mncost.arch.v3 import BUILDS, SPECS as V3_SPECS
from mncost.arch.v4 import SPECS as V4_SPECS, UIB, V4_CONV_SMALL, V4_HYBRID_LARGE
from mncost.study.fit import ALPHA_GRID, pareto
from mncost.study.sweep import parse_alphas, parse_count, parse_resolutions
from mncost.cost.ops import total_cost
from mncost.cost.totals import EXACT_FLOAT, FIELDS, INT64_BOUND, _bound, _field_costs, sweep_totals

SPECS = [*BUILT_IN.values(), load_spec(ROOT / "examples" / "v2-slim.toml")]
# Every layout the sweep engine can meet: the built-ins, each [V3] spec as every implementation sizes it,
# and every spec file shipped.
EVERY_SPEC = [*BUILT_IN.values(), *(with_build(spec, name) for spec in V3_SPECS for name in BUILDS),
              *(load_spec(path) for path in sorted((ROOT / "examples").glob("*.toml")))]


@settings(max_examples=300, deadline=None)
@given(spec=st.sampled_from(SPECS), alpha=st.floats(0.01, 3.0), h=st.integers(1, 400), w=st.integers(1, 400),
       classes=st.integers(1, 2000))
def test_fast_totals_equal_the_layer_by_layer_engine(spec, alpha, h, w, classes):
    assert totals(spec, alpha, (h, w), classes) == analyze(spec, alpha, (h, w), classes).totals


@settings(max_examples=100, deadline=None)
@given(spec=st.sampled_from(V4_SPECS), alpha=st.floats(0.01, 3.0), h=st.integers(1, 600),
       w=st.integers(1, 600), classes=st.integers(1, 2000))
def test_fast_totals_equal_the_engine_on_v4(spec, alpha, h, w, classes):
    """[V4]: attention matmuls factor as (heads x key_dim) x (area_q x area_kv), every other op as before."""
    assert totals(spec, alpha, (h, w), classes) == analyze(spec, alpha, (h, w), classes).totals


@settings(max_examples=20, deadline=None)
@given(spec=st.sampled_from(V4_SPECS), alphas=st.lists(st.floats(0.01, 3.0), min_size=1, max_size=3),
       sizes=st.lists(st.tuples(st.integers(1, 600), st.integers(1, 600)), min_size=1, max_size=3))
def test_sweep_matrix_product_equals_the_engine_on_v4(spec, alphas, sizes):
    t = sweep_totals(spec, alphas, sizes, 1000)
    for i, alpha in enumerate(alphas):
        for j, size in enumerate(sizes):
            cost = analyze(spec, alpha, size, 1000).totals
            assert (int(t.macs[i, j]), int(t.params[i, j]), int(t.activations[i, j])) == \
                (cost.macs, cost.params, cost.activations)


@pytest.mark.parametrize("text,values", [
    ("0.1:0.3:0.1", [0.1, 0.2, 0.3]),  # exact decimal steps: no 0.30000000000000004
    ("0.25:1:0.25", [0.25, 0.5, 0.75, 1.0]),
    ("0.25:1.1:0.25", [0.25, 0.5, 0.75, 1.0]),  # stop off the grid: not included
    ("0.35,0.5:0.6:0.05,1.4", [0.35, 0.5, 0.55, 0.6, 1.4]),
    ("1", [1.0]),
])
def test_alpha_grids(text, values):
    assert parse_alphas(text) == values


def test_alpha_grid_of_the_issue_has_24_exact_values():
    values = parse_alphas("0.25:1.4:0.05")
    assert len(values) == 24 and values[0] == 0.25 and values[-1] == 1.4
    assert all(len(repr(v)) <= 4 for v in values)  # 0.3 and 1.35, never 0.30000000000000004


def test_resolution_grids():
    assert [r[0] for r in parse_resolutions("96:224:16")] == list(range(96, 225, 16))
    assert parse_resolutions("96:224:64,192x256") == [(96, 96), (160, 160), (224, 224), (192, 256)]
    assert parse_resolutions([224, "160x192", (1, 2)]) == [(224, 224), (160, 192), (1, 2)]


@pytest.mark.parametrize("bad", ["", "1,,2", "1:0:0.1", "0.1:1:0", "0.1:1", "a:b:c", "0:1:0.5", "0.1:1:1e-9", "-1"])
def test_bad_alpha_grids(bad):
    with pytest.raises(MncostError):
        parse_alphas(bad)


@pytest.mark.parametrize("bad", ["96:224:0.5", "0:224:32", "96:224", "9x", "1.5"])
def test_bad_resolution_grids(bad):
    with pytest.raises(MncostError):
        parse_resolutions(bad)


@pytest.mark.parametrize("text,value", [("100M", 100_000_000), ("1.5G", 1_500_000_000), ("2e8", 200_000_000),
                                        ("250k", 250_000), ("3400000", 3_400_000), ("0.5k", 500), ("2m", 2_000_000)])
def test_budget_units(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("bad", ["", "M", "100X", "-5M", "0", "nan", "inf", "1e", "ten"])
def test_bad_budgets(bad):
    with pytest.raises(MncostError):
        parse_count(bad)


def test_sweep_rows_equal_the_engine_and_the_issue_grid_size():
    rows = sweep_rows("v2", "0.25:1.4:0.05", "96:224:16", 1001)
    assert len(rows) == 24 * 9
    for row in rows[::7]:
        t = analyze("v2", row["alpha"], row["resolution"], 1001).totals
        assert (row["macs"], row["params"], row["params_paper"], row["activations"]) == \
            (t.macs, t.params, t.weights, t.activations)
    assert {row["arch"] for row in rows} == {"v2"}


def test_sweep_dataframe():
    frame = sweep("v1", [0.25, 1.0], [128, 224])
    assert list(frame.columns) == ["arch", "alpha", "resolution", "macs", "params", "params_paper", "activations"]
    assert frame.loc[(frame.alpha == 1.0) & (frame.resolution == 224), "macs"].item() == 568_740_352


def test_cli_sweep_json_is_a_list_of_rows_and_csv_matches():
    out = run_cli("sweep", "--arch", "examples/v1.toml", "--alpha", "0.5:1:0.25", "--res", "128,224",
                  "--classes", "10", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["alpha"], r["resolution"]) for r in rows] == [(a, r) for a in (0.5, 0.75, 1.0) for r in (128, 224)]
    assert rows == sweep_rows("v1", "0.5:1:0.25", "128,224", 10)
    csv_out = run_cli("sweep", "--arch", "v1", "--alpha", "0.5:1:0.25", "--res", "128,224", "--classes", "10",
                      "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "arch,alpha,resolution,macs,params,params_paper,activations"
    assert csv_out[1:] == [",".join(str(v) for v in r.values()) for r in rows]


@pytest.mark.parametrize("args", [["sweep", "--alpha", "0.1:0.3:0"], ["sweep", "--res", "96:224:0.5"],
                                  ["fit", "--max-macs", "lots"], ["fit", "--max-params", "-1"],
                                  ["fit", "--res", "160", "--alpha", "1"], ["sweep", "--classes", "0"]])
def test_cli_bad_input_is_one_line_exit_2(args):
    out = run_cli(*args)
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def brute_force_alpha(arch, budget, res, max_params=None):
    """The largest grid alpha whose mult-adds (and params) fit, by the layer-by-layer engine."""
    fitting = [a for a in ALPHA_GRID if (t := analyze(arch, a, res).totals).macs <= budget
               and (max_params is None or t.params <= max_params)]
    return max(fitting, default=None)


def test_fit_v2_100m_at_160_is_the_largest_alpha_that_fits():
    out = run_cli("fit", "--arch", "v2", "--max-macs", "100M", "--res", "160", "--format", "json")
    assert out.returncode == 0, out.stderr
    [config] = json.loads(out.stdout)["configs"]
    best = brute_force_alpha("v2", 100_000_000, 160)
    assert (config["alpha"], config["resolution"]) == (best, 160)
    assert config["macs"] == analyze("v2", best, 160).totals.macs <= 100_000_000
    following = ALPHA_GRID[ALPHA_GRID.index(best) + 1]
    assert analyze("v2", following, 160).totals.macs > 100_000_000


@pytest.mark.parametrize("arch,budget,params,res", [
    ("v1", 150_000_000, None, 224), ("v1", 50_000_000, 1_000_000, 192), ("v2", 300_000_000, None, 224),
    ("v2", 20_000_000, None, 96), ("v2", 600_000_000, 4_000_000, 224), ("v1-shallow", 1_000_000, None, 128)])
def test_fit_alpha_by_brute_force(arch, budget, params, res):
    result = fit(arch, budget, params, res=[res])
    best = brute_force_alpha(arch, budget, res, params)
    assert [c["alpha"] for c in result["configs"]] == ([best] if best else [])


@pytest.mark.parametrize("arch,budget,alpha", [("v1", 150_000_000, 0.5), ("v2", 100_000_000, 1.0),
                                               ("v2", 30_000_000, 0.35)])
def test_fit_resolution_by_brute_force(arch, budget, alpha):
    [config] = fit(arch, budget, alpha=[alpha])["configs"]
    fitting = [r for r in range(1, 600) if analyze(arch, alpha, r).totals.macs <= budget]
    assert config["resolution"] == max(fitting) < 599


def test_fit_reports_published_top1_at_a_reference_checkpoint():
    macs = analyze("v2", 1.0, 224).totals.macs
    [config] = fit("v2", macs, res="224")["configs"]
    assert (config["alpha"], config["top1"]) == (1.0, 71.8)  # [SLIM] mobilenet_v2_1.0_224
    [config] = fit("examples/v1.toml", analyze("v1", 0.5, 160).totals.macs, res="160")["configs"]
    assert (config["alpha"], config["top1"]) == (0.5, 59.1)  # a spec file equal to V1 gets it too
    assert fit("examples/v2-slim.toml", "100M")["references_within_budget"] is None
    renamed = replace(V2, name="my-v2", notes=("my own notes",))
    [config] = fit(renamed, analyze("v2", 1.0, 224).totals.macs, res="224")["configs"]
    assert config["top1"] == 71.8  # the same network under another name and notes


def test_fit_pareto_front_drops_dominated_configs():
    # 223 and 224 share every feature map size after the stem (PyTorch conv arithmetic), so the
    # same alpha fits both: 224 is the same width at a larger input, and 223 is dropped.
    result = fit("v2", "100M", res="223,224,96")
    assert [c["resolution"] for c in result["configs"]] == [224, 96]
    assert [d["resolution"] for d in result["dominated"]] == [223]
    rows = [{"alpha": a, "size": (r, r)} for a, r in [(1.0, 96), (0.5, 224), (0.5, 192), (0.4, 224)]]
    assert [(row["alpha"], row["size"][0]) for row in pareto(rows)] == [(1.0, 96), (0.5, 224)]


def test_fit_nothing_fits_and_params_budget():
    result = fit("v1", "300M", "2M", alpha="0.25,0.75")
    assert [c["alpha"] for c in result["configs"]] == [0.25]
    # 0.75 MobileNet has 2.6 M params at any resolution
    assert result["nothing_fits"] == ["alpha 0.75 (params over budget at any resolution)"]
    assert fit("v2", "1M", res="224")["nothing_fits"] == ["resolution 224 (over budget even at alpha 0.05)"]


def test_analysis_notebook_reprs():
    result = analyze("v2", 0.5, 160)
    html = result._repr_html_()
    assert html.count("<tr>") == len(result.layers) + 2  # header, layers, totals
    assert "block17.project" in html and "Params 1,968,680" in html
    assert "| block17.project" in result._repr_markdown_()


def assert_sweep_equals_the_engine(spec, alphas, sizes, classes):
    """Every field of every (alpha, size) of sweep_totals equals the layer-by-layer engine's total."""
    t = sweep_totals(spec, alphas, sizes, classes)
    computed = {name: getattr(t, name) for name in (*FIELDS, "params")}
    for i, alpha in enumerate(alphas):
        for j, size in enumerate(sizes):
            cost = analyze(spec, alpha, size, classes).totals
            assert {name: int(value[i, j]) for name, value in computed.items()} == \
                {**{name: getattr(cost, name) for name in FIELDS}, "params": cost.params}, (spec.name, alpha, size)


@settings(max_examples=150, deadline=None)
@given(spec=st.sampled_from(EVERY_SPEC),
       alphas=st.lists(st.one_of(st.floats(0.01, 3.0), st.floats(3.0, 100.0)), min_size=1, max_size=5),
       sizes=st.lists(st.tuples(st.integers(1, 300), st.integers(1, 300)), min_size=1, max_size=4),
       classes=st.integers(1, 2000))
def test_sweep_matrix_product_equals_the_layer_by_layer_engine(spec, alphas, sizes, classes):
    """All alphas in one build (widths as arrays), all sizes in another: every spec, V3 build and spec file."""
    assert_sweep_equals_the_engine(spec, alphas, sizes, classes)


@pytest.mark.parametrize("spec", EVERY_SPEC, ids=lambda spec: f"{spec.name}-{spec.build}")
def test_sweep_of_a_dense_alpha_grid_equals_the_engine(spec):
    """Every rounding step between 0.05 and 2: each alpha's widths step on their own, in one build."""
    alphas = parse_alphas("0.05:2:0.01")
    t = sweep_totals(spec, alphas, [(224, 224)], 1000)
    for i, alpha in enumerate(alphas):
        cost = analyze(spec, alpha, 224).totals
        assert (int(t.macs[i, 0]), int(t.params[i, 0]), int(t.activations[i, 0])) == \
            (cost.macs, cost.params, cost.activations), alpha


@settings(max_examples=300, deadline=None)
@given(c=st.integers(1, 65536), alphas=st.lists(st.floats(0.001, 100.0), min_size=1, max_size=20))
def test_rounding_rules_are_elementwise(c, alphas):
    """A sweep's widths: each rule over an array of alphas (or of channels) equals the rule at each one."""
    for rule in ROUNDING.values():
        assert rule(c, np.array(alphas)).tolist() == [rule(c, alpha) for alpha in alphas]
    channels = [floor_width(c, alpha) for alpha in alphas]
    assert divisible_width(np.array(channels, dtype=float), 4.5).tolist() == \
        [divisible_width(m, 4.5) for m in channels]  # [V4] expansions of the actual input


def test_sweep_past_float64_whole_numbers_builds_alpha_by_alpha():
    # 65,536 channels expanded 64x at alpha 100: a 1x1 cost passes 2^53, so the float64 build is not exact.
    spec = replace(V4_CONV_SMALL, name="huge", rows=(UIB(0, 3, 1, 65536, 64.0, n=4),))
    floats = build(spec, np.array([100.0, 1.0]), (1, 1), 1000)
    assert _bound(_field_costs(floats)) >= EXACT_FLOAT
    assert_sweep_equals_the_engine(spec, [100.0, 1.0], [(7, 5), (224, 224)], 1000)


@pytest.mark.parametrize("spec,side,low,high", [
    # attention's area_q x area_kv x heads x key_dim: past 2^53, so the sides are built in int64
    (V4_HYBRID_LARGE, 65536, EXACT_FLOAT, INT64_BOUND),
    # a 65,536-channel pointwise conv over 2^30 pixels: past int64's margin, so in Python integers
    (replace(V1, name="wide", stem=65536, rows=(Separable(65536, 1),)), 65536, INT64_BOUND, math.inf),
], ids=["int64-sides", "python-int-sides"])
def test_sweep_past_float64_on_the_resolution_side(spec, side, low, high):
    sides = np.array([float(side), 224.0])
    assert low <= _bound(_field_costs(build(spec, 1.0, (sides, sides), 1000))) < high
    assert_sweep_equals_the_engine(spec, [1.0, 0.5], [(side, side), (224, 224)], 1000)


@dataclass(frozen=True)
class WidthBranchRow:
    """A row of a user's own that branches on a width: one build at many alphas cannot take that branch."""

    c: int
    s: int
    n: int = 1

    def add(self, stack, name, out, stride):
        stack.conv(f"{name}.conv", out, 3, stride)
        if stack.channels > 64:
            stack.conv(f"{name}.wide", out, 1)


def test_a_row_branching_on_a_width_is_built_alpha_by_alpha():
    spec = replace(V1, name="branching", rows=(WidthBranchRow(128, 2), WidthBranchRow(256, 1)))
    assert_sweep_equals_the_engine(spec, [0.75, 1.0, 2.0], [(224, 224), (33, 65)], 10)
    with pytest.raises(ValueError, match="depends on alpha"):
        sweep_totals(spec, [0.25, 1.0], [(224, 224)], 10)  # 32 channels at 0.25, 128 at 1: two layouts


@dataclass(frozen=True)
class GroupedRow:
    """A row type the sweep engine has never seen: grouped 3x3 conv, then a 1x1 at 1x1 (an SE-like pool branch)."""

    c: int
    s: int
    n: int = 1

    def add(self, stack, name, out, stride):
        stack.conv(f"{name}.gconv", out, 3, stride, groups=8)


def test_a_new_row_type_needs_no_second_layout():
    spec = replace(V1, name="grouped", rows=(GroupedRow(64, 2), GroupedRow(128, 1, n=3)))
    for alpha, size in [(1.0, (224, 224)), (0.5, (97, 130)), (2.0, (1, 1))]:
        assert totals(spec, alpha, size) == analyze(spec, alpha, size).totals
    t = sweep_totals(spec, [0.5, 1.0], [(224, 224), (160, 160)], 1000)
    assert int(t.macs[1, 0]) == analyze(spec, 1.0, 224).totals.macs


def test_exact_beyond_int64():
    # Built directly (validated input): the values the int64 fast path would overflow on are exact Python ints.
    t = sweep_totals(V1, [1000.0, 1.0], [(40000, 40000), (224, 224)], 1000)
    assert t.macs[0, 0] == total_cost(build(V1, 1000.0, (40000, 40000), 1000)).macs > 2**63
    assert t.macs[1, 1] == 568_740_352


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.25, 0.5, 0.75, 1.0]), st.integers(1, 6)), max_size=12))
def test_pareto_front_equals_brute_force(points):
    rows = [{"alpha": a, "size": (r, r)} for a, r in points]

    def dominated(row):
        key = (row["alpha"], row["size"][0] ** 2)
        return any((o["alpha"], o["size"][0] ** 2) != key and o["alpha"] >= key[0] and o["size"][0] ** 2 >= key[1]
                   for o in rows)

    assert pareto(rows) == [row for row in rows if not dominated(row)]


def test_sweep_caps_the_number_of_configs_not_just_each_range():
    with pytest.raises(MncostError, match="split the grid"):
        sweep_rows("v1", "0.01:10:0.01", "1:1000:1")
    out = run_cli("sweep", "--alpha", "0.001:100:0.001", "--res", "1:10000:1", "--format", "csv")
    assert out.returncode == 2 and "split the grid" in out.stderr and len(out.stderr.splitlines()) == 1
