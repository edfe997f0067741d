"""Issue 22, the analytic side: spec files of any TOML type, every accepted spec buildable at every accepted
alpha, every invalid argument of every public function a MncostError, grids bounded, user text never sent to
the terminal as control characters."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mncost
from mncost import Layer, MncostError, formulas
from mncost.arch.builder import network, with_build
from mncost.arch.specfile import spec_from_dict
from mncost.arch.v3 import BUILDS, Bneck
from mncost.cost.ops import network_costs
from test_hardening import one_error_line as one_line, run_main


# ---------- spec files ----------


@pytest.mark.parametrize("body, needle", [
    ('stem = 16\nstages = [{type = [], c = 32, s = 1}]\n', "stages[0].type: must be one of separable"),
    ('stem = 16\nstages = [{type = {}, c = 32, s = 1}]\n', "stages[0].type: must be one of"),
    ('stem = 16\nstages = [{type = "bneck", k = 3, exp = 16, out = 16, se = true, nl = {}, s = 2}]\n',
     "stages[0].nl: must be one of RE, HS, got {}"),
    ('stem = 16\nstages = [{type = "bneck", k = 3, exp = 16, out = 16, se = 1, nl = "RE", s = 2}]\n',
     "stages[0].se: must be true or false, got 1"),
    ('stem = 16\nbuild = []\nstages = [{type = "bneck", k = 3, exp = 16, out = 16, se = true, nl = "RE", s = 2}]\n',
     "build: must be one of slim, torchvision, timm, keras, got []"),
    ('stem = 16\nrounding = ["floor"]\nstages = [{c = 32, s = 1}]\n', "rounding: must be one of floor, divisible"),
    ('stem = 16\nactivation = {a = 1}\nstages = [{c = 32, s = 1}]\n', "activation: must be one of relu"),
])
def test_a_spec_choice_of_any_toml_type_is_one_line(tmp_path, body, needle):
    path = tmp_path / "odd.toml"
    path.write_text(body)
    assert needle in one_line(*run_main("table", "--arch", str(path)))


def test_a_utf8_bom_spec_file_is_read_as_without_it(tmp_path):
    body = b'name = "bom"\nstem = 16\nstages = [{c = 32, s = 2}]\n'
    (tmp_path / "plain.toml").write_bytes(body)
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + body)
    plain, bom = (run_main("table", "--arch", str(tmp_path / f"{name}.toml"), "--format", "csv")
                  for name in ("plain", "bom"))
    assert bom == plain and plain[0] == 0


def test_python_api_choices_of_any_type_are_mncost_errors():
    for call in (lambda: Bneck(3, 16, 16, True, {}, 2), lambda: Bneck(3, 16, 16, 1, "RE", 2),
                 lambda: with_build(mncost.arch.builder.SPECS["v3-large"], []),
                 lambda: network(mncost.Spec("x", 16, (Bneck(3, 16, 16, True, "RE", 2),), build="nope"))):
        with pytest.raises(MncostError):
            call()


# The rule: a bneck without an expand conv (exp equal to its input in the paper's table) runs its depthwise
# conv at its input's actual width, whatever the spec's rounding made of it at this alpha.
THE_ROW = {"type": "bneck", "k": 3, "exp": 16, "out": 16, "se": True, "nl": "RE", "s": 2, "n": 2}


@pytest.mark.parametrize("alpha", [0.75, 1.3])
@pytest.mark.parametrize("build", list(BUILDS))
def test_the_issue_row_builds_and_its_depthwise_keeps_the_input_width(alpha, build):
    net = network(with_build(spec_from_dict({"stem": 16, "stages": [THE_ROW]}), build), alpha, 224)
    stem, dw = net.layer("conv1"), net.layer("block1.dw")
    assert dw.in_channels == dw.out_channels == dw.groups == stem.out_channels
    second = net.layer("block2.dw")
    assert second.groups == net.layer("block1.project").out_channels == int(16 * alpha)  # floor rounding


CHANNELS, KERNEL, STRIDE = st.integers(1, 400), st.sampled_from([1, 3, 5, 7]), st.sampled_from([1, 2])
BNECK = st.fixed_dictionaries({"type": st.just("bneck"), "k": KERNEL, "exp": CHANNELS, "out": CHANNELS,
                               "se": st.booleans(), "nl": st.sampled_from(["RE", "HS"]), "s": STRIDE,
                               "n": st.integers(1, 3)})
OTHER_ROWS = st.one_of(
    st.fixed_dictionaries({"c": CHANNELS, "s": STRIDE}),
    st.fixed_dictionaries({"t": st.integers(1, 6), "c": CHANNELS, "n": st.integers(1, 2), "s": STRIDE}),
    st.fixed_dictionaries({"type": st.just("uib"), "start_dw": st.sampled_from([0, 3]), "middle_dw": st.sampled_from([3, 5]),
                           "s": STRIDE, "c": CHANNELS, "e": st.sampled_from([0.5, 1.0, 4.0])}),
    st.fixed_dictionaries({"type": st.just("fused_ib"), "k": KERNEL, "s": STRIDE, "c": CHANNELS, "e": st.just(4.0)}),
    st.fixed_dictionaries({"type": st.just("mqa"), "heads": st.integers(1, 8), "key_dim": st.integers(1, 64),
                           "value_dim": st.integers(1, 64), "kv_strides": STRIDE, "c": CHANNELS}))
SPECS = st.fixed_dictionaries(
    {"stem": CHANNELS, "stages": st.lists(st.one_of(BNECK, BNECK, OTHER_ROWS), min_size=1, max_size=4)},
    optional={"rounding": st.sampled_from(["floor", "divisible"]), "head": CHANNELS, "pooled_head": CHANNELS,
              "thin_head": st.booleans(), "stem_fixed_below": st.sampled_from([0.0, 1.0])})
ALPHAS = st.one_of(st.floats(min_value=1e-9, max_value=100, allow_nan=False, exclude_min=False),
                   st.sampled_from([0.75, 1.3, 0.35, 1.0, 100.0]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=SPECS, alpha=ALPHAS, build=st.sampled_from([None, *BUILDS]))
def test_every_accepted_spec_builds_at_every_accepted_alpha_and_build(doc, alpha, build):
    spec = spec_from_dict(doc)
    if build and spec.build:
        spec = with_build(spec, build)
    for layer, cost in network_costs(network(spec, alpha, 32, 10)):
        if layer.op == "conv2d":
            assert layer.in_channels % layer.groups == 0 and layer.out_channels % layer.groups == 0, layer
        assert all(isinstance(v, int) and v >= 0 for v in (cost.macs, cost.params, cost.activations))


# ---------- the public API ----------


def test_the_formulas_refuse_negative_fractional_and_bool_arguments():
    for call, needle in [(lambda: formulas.pointwise_conv_macs(-1, 32, 64), "m must be a positive integer, got -1"),
                         (lambda: formulas.standard_conv_macs(3, 32, 64, 7.0), "d_f must be a positive integer"),
                         (lambda: formulas.depthwise_conv_macs(True, 32, 7), "d_k must be a positive integer"),
                         (lambda: formulas.linear_params(10, 10, bias="yes"), "bias must be True or False"),
                         (lambda: formulas.grouped_conv_macs(3, 10, 12, 7, 4), "groups=4 must divide M=10"),
                         (lambda: formulas.bottleneck_macs(7, 7, 32, 0.5, 3, 32), "t must be a positive integer"),
                         (lambda: formulas.reduction_ratio(3, 0), "n must be a positive integer"),
                         (lambda: formulas.standard_conv_macs(3, 32), "missing a required argument")]:
        with pytest.raises(MncostError, match=needle):
            call()
    assert formulas.standard_conv_macs(3, 4, 5, (6, 7)) == 3 * 3 * 4 * 5 * 6 * 7  # [V1] Eq. 2 by hand
    assert formulas.pointwise_conv_macs(np.int64(4), 5, 6) == 4 * 5 * 36


ODD = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 0), st.floats(), st.text(max_size=5),
                st.binary(max_size=3), st.just([]), st.just(()), st.just({}), st.just(np.array([])),
                st.lists(st.one_of(st.none(), st.text(max_size=2)), max_size=2), st.just(object()))
VALID = {"analyze": ["v1", 1.0, 224, 1000], "sweep": ["v1", [1.0], [224], 1000], "sweep_rows": ["v1", [1.0], [224], 1000],
         "fit": ["v2", "100M", None, None, None, 1000], "totals": ["v1", 1.0, 224, 1000],
         "network": ["v1", 1.0, 224, 1000], "load_spec": ["examples/v1.toml"], "layer_cost": ["LAYER"],
         "network_costs": ["NET"], "total_cost": ["NET"], "standard_conv_macs": [3, 8, 8, 7],
         "grouped_conv_macs": [3, 8, 8, 7, 2], "bottleneck_macs": [7, 7, 8, 6, 3, 8], "linear_params": [8, 8, True]}


def _call(name: str, args: list):
    stand_ins = {"NET": mncost.network("v1", 0.25, 32), "LAYER": Layer("x", "conv2d", 3, 8, (8, 8), (8, 8), 3, 1, 1)}
    args = [stand_ins[a] if isinstance(a, str) and a in stand_ins else a for a in args]
    function = getattr(formulas, name, None) or getattr(mncost, name)
    return function(*args)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(VALID)), position=st.integers(0, 5), value=ODD)
def test_every_invalid_argument_of_every_public_function_is_a_mncost_error(name, position, value):
    args = list(VALID[name])
    args[position % len(args)] = value
    try:
        _call(name, args)
    except MncostError as error:
        assert "\n" not in str(error)


@pytest.mark.parametrize("field, value", [("in_channels", -1), ("output_size", (8, 8.5)), ("op", "nope"),
                                          ("groups", 3), ("bias", 1), ("kernel", True)])
def test_a_layer_that_cannot_be_costed_is_named_never_counted(field, value):
    from dataclasses import replace

    layer = replace(Layer("x", "conv2d", 4, 8, (8, 8), (8, 8), 3, 1, 1), **{field: value})
    with pytest.raises(MncostError, match=f"layer 'x': {field}"):
        mncost.layer_cost(layer)
    with pytest.raises(MncostError, match=f"layer 'x': {field}"):
        mncost.total_cost(mncost.Network("mine", 1.0, (8, 8), 8, (layer,)))


def test_empty_grids_are_mncost_errors():
    for call in (lambda: mncost.sweep("v1", [], 224), lambda: mncost.sweep_rows("v1", 1.0, ()),
                 lambda: mncost.sweep("v1", np.array([]), 224)):
        with pytest.raises(MncostError, match="grid is empty"):
            call()


@pytest.mark.parametrize("argv", [["scaling", "--alpha", "0.01:100:0.01", "--res", "1:10000:1"],
                                  ["scaling", "--alpha", "0.01:1.01:0.01", "--res", "1:101:1"],
                                  ["crosscheck", "--alpha", "0.01:1:0.01", "--res", "96:224:1"],
                                  ["crosscheck", "--arch", "v1,v2", "--alpha", "0.1:1:0.1", "--res", "32:256:4"]])
def test_scaling_and_crosscheck_grids_are_bounded_as_sweep_is(argv):
    start = time.perf_counter()
    err = one_line(*run_main(*argv))
    assert "configs; at most" in err and "split the grid" in err
    assert time.perf_counter() - start < 30  # refused before any work (a generous bound on a loaded machine)


def test_scaling_at_its_bound_is_exact():
    from mncost.study.scaling import MAX_CELLS, scaling_grid

    grid = scaling_grid("v1", "0.01:1:0.01", "1:100:1")
    assert len(grid.cells) == MAX_CELLS
    assert grid.macs(1.0, (100, 100)) == mncost.totals("v1", 1.0, 100).macs


# ---------- the terminal ----------


ESCAPES = 'name = "\\u001b[2J\\u001b[31mred\\u009b"\nnotes = ["\\u001b]0;title\\u0007 note", "bidi \\u202e"]\n'


@pytest.mark.parametrize("fmt", ["rich", "md", "csv"])
def test_escape_sequences_from_a_spec_never_reach_the_terminal(tmp_path, fmt):
    path = tmp_path / "ansi.toml"
    path.write_text(ESCAPES + "stem = 16\nstages = [{c = 32, s = 2}]\n")
    code, out, err = run_main("table", "--arch", str(path), "--format", fmt)
    assert code == 0 and err == ""
    assert not any(ch in out for ch in "\x1b\x07\x9b\u202e")
    if fmt != "csv":  # csv has the layer rows only
        assert "\\x1b[31mred" in out and "\\x1b]0;title\\x07 note" in out and "bidi \\u202e" in out


def test_escape_sequences_in_an_error_line_are_shown_escaped(tmp_path):
    path = tmp_path / "\x1b[2Jbad.toml"
    path.write_text("stem = 0\nstages = [{c = 32, s = 2}]\n")
    err = one_line(*run_main("table", "--arch", str(path)))
    assert "\x1b" not in err and "\\x1b[2Jbad.toml" in err
