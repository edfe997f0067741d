"""Architectures against the papers' tables, the reference checkpoints and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mncost import MncostError, network, total_cost
from mncost.cost.analysis import analyze
from mncost.arch.stack import divisible_width, floor_width
from mncost.arch.bounds import parse_resolution
from mncost.paper.data import V1_TABLE6, V1_TABLE7, V2_CHECKPOINTS, Source



def published_rows(source: Source) -> list[tuple[float, int, str, str]]:
    """(alpha, resolution, million mult-adds, million params) of "1.0 MobileNet-224"-style rows."""
    rows = []
    for label, printed in source.rows:
        alpha, res = label.split(" MobileNet-")
        rows.append((float(alpha), int(res), printed["macs_m"], printed["params_m"]))
    return rows


def printed_as(printed: str, exact: int) -> bool:
    """The paper prints millions rounded or truncated to the printed digits; either counts."""
    decimals = len(printed.partition(".")[2])
    value, scale = exact / 1e6, 10 ** decimals
    return float(printed) in (round(value, decimals), math.floor(value * scale) / scale)


def test_v1_totals():
    t = total_cost(network("v1", 1.0, 224))
    assert (t.macs, t.params, t.weights) == (568_740_352, 4_231_976, 4_209_088)


def test_v2_totals():
    t = total_cost(network("v2", 1.0, 224))
    assert (t.macs, t.params) == (300_774_272, 3_504_872)


@pytest.mark.parametrize("alpha,res,macs_m,params_m", published_rows(V1_TABLE6) + published_rows(V1_TABLE7))
def test_v1_tables_6_and_7(alpha, res, macs_m, params_m):
    t = total_cost(network("v1", alpha, res))
    assert printed_as(macs_m, t.macs)
    assert printed_as(params_m, t.weights)


@pytest.mark.parametrize("checkpoint", V2_CHECKPOINTS, ids=lambda c: c.name)
def test_v2_reference_checkpoints(checkpoint):
    """Mult-adds with 1001 classes floored to whole millions, params without BatchNorm to 0.01 M."""
    t = total_cost(network("v2", checkpoint.alpha, checkpoint.resolution, classes=1001))
    assert len(V2_CHECKPOINTS) == 22
    assert t.macs // 10**6 == int(checkpoint.macs_m)
    assert round((t.weights + t.bias) / 1e6, 2) == float(checkpoint.params_m)


def test_v1_layout_follows_table1():
    net = network("v1")
    convs = [layer for layer in net.layers if layer.op == "conv2d"]
    assert len(convs) == 27 and len(net.layers) == 29  # 27 convs + FC = the paper's 28 layers; plus the pool
    assert [layer.kind for layer in convs[:3]] == ["conv", "dw", "pw"]
    last_dw = net.layer("block13.dw")
    assert last_dw.stride == 1 and last_dw.output_size == (7, 7)  # the printed "s2" is a misprint
    assert net.layer("fc").in_channels == 1024 and net.layer("pool").input_size == (7, 7)


def test_v2_layout_follows_table2():
    net = network("v2")
    assert not any(layer.name == "block1.expand" for layer in net.layers)  # t = 1: no expand conv
    assert net.layer("block2.expand").out_channels == 96
    assert net.layer("block17.project").out_channels == 320
    assert net.layer("conv2").out_channels == 1280
    residuals = [layer.name for layer in net.layers if layer.shortcut]
    assert len(residuals) == 10  # stride 1 and in == out: 1 + 2 + 3 + 2 + 2 blocks
    assert all(layer.activation is None for layer in net.layers if layer.name.endswith(".project"))


def test_v2_head_is_not_thinned_below_one_but_grows_above():
    assert network("v2", 0.35).layer("conv2").out_channels == 1280
    assert network("v2", 1.4).layer("conv2").out_channels == 1792


def test_width_rounding_as_the_reference_implementations():
    assert floor_width(32, 0.25) == 8 and floor_width(64, 0.1) == 8 and floor_width(1024, 0.75) == 768
    assert divisible_width(32, 0.35) == 16  # 11.2 rounds to 8, more than 10% low, so 16
    assert divisible_width(24, 0.5) == 16 and divisible_width(320, 1.4) == 448


def test_non_square_follows_pytorch_conv_arithmetic():
    net = network("v1", 1.0, "225x97")
    assert net.layer("conv1").output_size == (113, 49)  # floor((225 + 2 - 3) / 2) + 1, floor((97 - 1) / 2) + 1
    assert net.layer("pool").input_size == (8, 4)


@pytest.mark.parametrize("arch", ["v1", "v2", "v1-fullconv", "v1-shallow"])
def test_analysis_totals_equal_sum_of_rows(arch):
    result = analyze(arch, 0.5, 160)
    rows = result.rows()
    assert sum(r["macs"] for r in rows) == result.totals.macs
    assert sum(r["params"] for r in rows) == result.totals.params
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, "abc"])
def test_bad_alpha(bad):
    with pytest.raises(MncostError, match="alpha"):
        network("v1", bad)


@pytest.mark.parametrize("bad", [0, -5, "22x", "x", "1.5", "3x4x5", True, 2.0])
def test_bad_resolution(bad):
    with pytest.raises(MncostError, match="resolution"):
        network("v1", 1.0, bad)


def test_resolution_forms():
    assert parse_resolution(224) == parse_resolution("224") == parse_resolution("224x224") == (224, 224)
    assert parse_resolution("192X256") == parse_resolution((192, 256)) == (192, 256)


archs = st.sampled_from(["v1", "v2", "v1-fullconv", "v1-shallow"])
alphas = st.floats(0.05, 3.0)
sides = st.integers(1, 512)


@settings(max_examples=60)
@given(archs, alphas, sides, sides, sides, sides)
def test_params_do_not_depend_on_resolution(arch, alpha, h1, w1, h2, w2):
    a, b = network(arch, alpha, (h1, w1)), network(arch, alpha, (h2, w2))
    assert total_cost(a).params == total_cost(b).params
    assert len(a.layers) == len(b.layers)


@settings(max_examples=60)
@given(archs, alphas, alphas, sides, sides)
def test_macs_never_decrease_when_alpha_or_resolution_grows(arch, a1, a2, r1, r2):
    lo_a, hi_a = sorted((a1, a2))
    lo_r, hi_r = sorted((r1, r2))
    assert total_cost(network(arch, lo_a, lo_r)).macs <= total_cost(network(arch, hi_a, lo_r)).macs
    assert total_cost(network(arch, lo_a, lo_r)).macs <= total_cost(network(arch, lo_a, hi_r)).macs


@settings(max_examples=40)
@given(archs, alphas, sides, st.integers(1, 5000))
def test_layer_count_is_fixed(arch, alpha, res, classes):
    assert len(network(arch, alpha, res, classes).layers) == len(network(arch).layers)


def test_the_builder_knows_each_family_spec_by_name():
    """arch.builder.FAMILIES, which lets a command import only the family it builds, names every spec of
    arch.v1 to arch.v4 in the order of SPECS (the order `--arch` errors list them in)."""
    from mncost.arch import builder, v1, v2, v3, v4

    families = {spec.name: module.__name__.rsplit(".", 1)[1] for module in (v1, v2, v3, v4) for spec in module.SPECS}
    assert builder.FAMILIES == families
    assert list(builder.FAMILIES) == ["v1", "v2", "v1-fullconv", "v1-shallow", *(s.name for s in v3.SPECS),
                                      *(s.name for s in v4.SPECS)]
    assert all(builder.SPECS[name] is builder.builtin_spec(name) for name in families)
