"""MobileNetV3 against implementations nobody here wrote (timm, geffnet), counted with our own hooks.

Params are sum(p.numel()); mult-adds are conv and linear multiply-adds from forward hooks
on nn.Conv2d / nn.Linear (not fvcore), so the check does not share code with mncost.
"""

from __future__ import annotations

import re

import geffnet
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from conftest import conv_signatures, import_timm, layer_signatures
from mncost.arch.builder import get_spec, network
from mncost.cost.ops import total_cost

RESOLUTIONS = [224, 160, 97, (192, 256)]


def hooked_macs(model: nn.Module, res) -> int:
    """Conv and linear multiply-adds of one batch-1 forward pass, from forward hooks."""
    total = 0

    def conv(module, inputs, output):
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        total += output.numel() * (module.in_channels // module.groups) * k

    def linear(module, inputs, output):
        nonlocal total
        total += output.numel() * module.in_features

    handles = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)
               for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, *((res, res) if isinstance(res, int) else res)))
    finally:
        for handle in handles:
            handle.remove()
    return total


def assert_equal_at(model: nn.Module, arch: str, build: str, alpha: float, resolutions) -> None:
    spec = get_spec(arch, build)
    assert conv_signatures(model) == layer_signatures(network(spec, alpha, 224, 1000))
    params = sum(p.numel() for p in model.parameters())
    for res in resolutions:
        cost = total_cost(network(spec, alpha, res, 1000))
        assert (hooked_macs(model, res), params) == (cost.macs, cost.params), res


TIMM = [
    ("mobilenetv3_large_100", "v3-large", 1.0), ("mobilenetv3_large_075", "v3-large", 0.75),
    ("mobilenetv3_small_100", "v3-small", 1.0), ("mobilenetv3_small_075", "v3-small", 0.75),
    ("mobilenetv3_small_050", "v3-small", 0.5),
    ("tf_mobilenetv3_large_minimal_100", "v3-large-minimal", 1.0),
    ("tf_mobilenetv3_small_minimal_100", "v3-small-minimal", 1.0),
    ("tf_mobilenetv3_large_075", "v3-large", 0.75), ("tf_mobilenetv3_small_100", "v3-small", 1.0),
]


@pytest.mark.parametrize("name,arch,alpha", TIMM, ids=[t[0] for t in TIMM])
def test_timm_v3_equals_the_timm_build(name, arch, alpha):
    model = import_timm().create_model(name, pretrained=False)
    assert_equal_at(model, arch, "timm", alpha, RESOLUTIONS)


def test_the_default_build_is_timm():
    assert network("v3-large", 0.5).layers == network(get_spec("v3-large", "timm"), 0.5).layers


@settings(max_examples=6, deadline=None)
@given(alpha=st.floats(0.1, 2.0), arch=st.sampled_from(["v3-large", "v3-small", "v3-large-minimal",
                                                        "v3-small-minimal"]))
def test_timm_generator_at_any_channel_multiplier(alpha, arch):
    """timm's own V3 generator at an arbitrary multiplier (stem fixed below 0.75, head never thinned)."""
    from timm.models import mobilenetv3

    import_timm()
    variant = {"v3-large": "mobilenetv3_large_100", "v3-small": "mobilenetv3_small_100",
               "v3-large-minimal": "tf_mobilenetv3_large_minimal_100",
               "v3-small-minimal": "tf_mobilenetv3_small_minimal_100"}[arch]
    model = mobilenetv3._gen_mobilenet_v3(variant, channel_multiplier=alpha)
    assert_equal_at(model, arch, "timm", alpha, [64])


GEFFNET = [("mobilenetv3_large_100", "v3-large", 1.0), ("mobilenetv3_large_075", "v3-large", 0.75),
           ("mobilenetv3_small_100", "v3-small", 1.0), ("mobilenetv3_small_075", "v3-small", 0.75),
           ("mobilenetv3_large_minimal_100", "v3-large-minimal", 1.0)]


@pytest.mark.parametrize("name,arch,alpha", GEFFNET, ids=[g[0] for g in GEFFNET])
def test_geffnet_v3_equals_the_timm_build(name, arch, alpha):
    # geffnet thins the stem at every alpha (timm keeps 16 below 0.75); at 0.75 and 1 the two agree.
    assert_equal_at(getattr(geffnet, name)(), arch, "timm", alpha, RESOLUTIONS)


@pytest.mark.parametrize("arch,params", [("v3-large", 5_483_032), ("v3-small", 2_542_856)])
def test_torchvision_documented_params(arch, params):
    """torchvision's weights metadata (num_params), every build at alpha 1."""
    for build in ("slim", "torchvision", "timm", "keras"):
        assert total_cost(network(get_spec(arch, build), 1.0, 224, 1000)).params == params


@pytest.mark.parametrize("name,arch,pooled_head", [("mobilenetv3_large_w1", "v3-large", 1280),
                                                   ("mobilenetv3_small_w1", "v3-small", 1280)])
def test_pytorchcv_v3_at_alpha_1(name, arch, pooled_head):
    """pytorchcv's V3 deviates in two named ways: its 1x1 conv after the pool has no bias, and its
    Small keeps 1280 there (the first arXiv version's Table 2) instead of 1024."""
    from dataclasses import replace

    import pytorchcv.models.mobilenetv3 as pytorchcv_v3

    model = getattr(pytorchcv_v3, name)()
    model.features.final_pool = nn.AdaptiveAvgPool2d(1)  # a fixed 7x7 pool; global, as in the paper
    spec = replace(get_spec(arch), pooled_head=pooled_head)
    params = sum(p.numel() for p in model.parameters())
    for res in RESOLUTIONS:
        net = network(spec, 1.0, res, 1000)
        cost = total_cost(net)
        assert hooked_macs(model, res) == cost.macs
        assert params == cost.params - net.layer("conv3").out_channels  # no bias on conv3


V3_ARCHS = ["v3-large", "v3-small", "v3-large-minimal", "v3-small-minimal"]
BUILDS = ["slim", "torchvision", "timm", "keras"]
sides = st.integers(16, 300)


@settings(max_examples=8, deadline=None)
@given(arch=st.sampled_from(V3_ARCHS), build=st.sampled_from(BUILDS), alpha=st.floats(0.1, 2.0),
       res=st.one_of(sides, st.tuples(sides, sides)), classes=st.integers(1, 2000))
def test_every_v3_layer_equals_fvcore(arch, build, alpha, res, classes):
    from mncost.torch.crosscheck import check

    result = check(network(get_spec(arch, build), alpha, res, classes))
    assert result.ok, result.failures()
    assert [c.name for c in result.layers] == [layer.name for layer in result.network.layers]
    for c, layer in zip(result.layers, result.network.layers):
        if layer.op == "avgpool":  # the SE pools are their own modules, counted by fvcore there
            assert c.pooling_fvcore == layer.in_channels * layer.input_size[0] * layer.input_size[1]


@settings(max_examples=40, deadline=None)
@given(arch=st.sampled_from(V3_ARCHS), build=st.sampled_from(BUILDS), alpha=st.floats(0.05, 3.0),
       res=st.tuples(sides, sides))
def test_each_cost_is_a_channel_factor_times_a_spatial_factor(arch, build, alpha, res):
    """What the sweep engine relies on: cost(alpha, res) * cost(1, 1x1) == cost(alpha, 1x1) * cost(1, res),
    field by field, and the layer names depend on neither alpha nor the resolution."""
    from dataclasses import astuple

    from mncost.cost.ops import network_costs

    spec = get_spec(arch, build)
    nets = [network(spec, a, r, 1000) for a, r in ((alpha, res), (1.0, 1), (alpha, 1), (1.0, res))]
    assert len({tuple(layer.name for layer in net.layers) for net in nets}) == 1
    for full, unit, channels, spatial in zip(*(network_costs(net) for net in nets)):
        for f, u, c, s in zip(*(astuple(cost) for _, cost in (full, unit, channels, spatial))):
            assert f * u == c * s and (u != 0 or f == 0), full[0].name


MEASURED = [("v3-large", "timm", 1.0, 224), ("v3-small", "torchvision", 0.5, (193, 160)),
            ("v3-large-minimal", "keras", 1.3, 128), ("v3-small-minimal", "slim", 0.35, 96)]
TOOLS = ["pytorch", "fvcore", "ptflops", "thop", "torchinfo", "torch-flop-counter"]


@pytest.mark.parametrize("arch,build,alpha,res", MEASURED)
def test_every_preset_predicts_its_tool_on_v3(arch, build, alpha, res):
    from mncost.cost.conventions import compare
    from mncost.torch.measure import measure

    for entry in compare(get_spec(arch, build), alpha, res).entries:
        if entry.convention.name not in TOOLS:
            continue
        measured = measure(entry.network, [entry.convention.name])[entry.convention.name]
        assert measured.note == ""
        assert (measured.total, measured.params) == (
            entry.total if measured.total is not None else None, entry.params), entry.convention.name


@pytest.mark.parametrize("name,arch", [("mobilenetv3_large_100", "v3-large"), ("mobilenetv3_small_075", "v3-small")])
def test_v3_terms_count_timms_activation_and_se_outputs(name, arch):
    """The hard-swish, hard-sigmoid and SE-multiply terms equal the output elements of timm's modules."""
    from mncost.cost.terms import term_total

    model = import_timm().create_model(name)
    seen = {"hardswish": 0, "hardsigmoid": 0, "se_mul": 0}
    kinds = {"Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "SqueezeExcite": "se_mul"}

    def hook(module, inputs, output):
        seen[kinds[type(module).__name__]] += output.numel()

    for module in model.modules():
        if type(module).__name__ in kinds:
            module.register_forward_hook(hook)
    alpha = 0.75 if name.endswith("075") else 1.0
    for res in (224, (160, 97)):
        for key in seen:
            seen[key] = 0
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, *((res, res) if isinstance(res, int) else res)))
        net = network(get_spec(arch, "timm"), alpha, res, 1000)
        assert seen == {key: term_total(key, net) for key in seen}


def _rows(table_id):
    from mncost.paper import paper_tables

    return {row.label: row for row in paper_tables([table_id])[0].rows}


def test_v3_table3_published_beside_computed():
    rows = _rows("v3-table3")
    assert {label for label, row in rows.items() if row.match} == {"V3-Large 0.75",
                                                                 "V3-Small 0.75 (earlier arXiv version)"}
    # 5.45 M rounds to 5.5 (the paper prints 5.4: truncated, a rounding miss); 216.59 M to 217 (printed 219)
    assert rows["V3-Large 1.0"].computed["params_m"] == 5.5 and rows["V3-Large 1.0"].computed["macs_m"] == 217
    assert all(row.note for row in rows.values() if row.match is not True)


def test_v3_slim_checkpoints():
    rows = _rows("v3-slim")
    assert {label for label, row in rows.items() if row.match} == {"v3-large 0.75 224", "v3-large-minimal 1.0 224"}
    assert all(row.misses and all(row.misses.values()) for row in rows.values() if not row.match)


def test_torchvision_metadata_is_all_params_and_conv_fc_multiply_adds():
    rows = _rows("torchvision")
    assert rows["mobilenet_v3_large"].match and rows["mobilenet_v3_small"].match
    assert rows["mobilenet_v3_large"].computed["params"] == 5_483_032


@pytest.mark.parametrize("args", [["table", "--arch", "v3-large", "--build", "nope"],
                                  ["table", "--arch", "v2", "--build", "timm"],
                                  ["crosscheck", "--grid", "paper", "--build", "slim"]])
def test_bad_build_is_one_line_and_exit_2(cli, args):
    out = cli(*args)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("mncost: error: ") and out.stderr.count("\n") == 1


def test_build_option_changes_only_what_the_builds_disagree_on(cli):
    """At alpha 0.5 the slim build thins the 1280 conv after the pool, timm keeps it (facts A.8)."""
    import json

    layers = {build: {row["name"]: row for row in json.loads(cli(
        "table", "--arch", "v3-large", "--alpha", "0.5", "--build", build, "--format", "json").stdout)["layers"]}
        for build in ("slim", "timm")}
    assert layers["slim"]["conv3"]["out_channels"] == 640 and layers["timm"]["conv3"]["out_channels"] == 1280
    assert layers["slim"]["conv1"]["out_channels"] == 8 and layers["timm"]["conv1"]["out_channels"] == 16


def test_spec_file_v3_small_equals_the_builtin():
    from mncost.arch.builder import SPECS
    from mncost.arch.specfile import load_spec

    spec = load_spec("examples/v3-small.toml")
    assert spec == SPECS["v3-small"]
    for build in BUILDS:
        from_file = network(get_spec("examples/v3-small.toml", build), 0.6, 200)
        assert from_file == network(get_spec("v3-small", build), 0.6, 200)


@pytest.mark.parametrize("change,message", [
    ({"nl": "XX"}, "stages[0].nl: must be one of RE, HS"), ({"se": 1}, "stages[0].se: must be true or false"),
    ({"nl": None}, "stages[0].nl: missing")])
def test_spec_file_bneck_errors(change, message):
    from mncost.errors import MncostError
    from mncost.arch.specfile import spec_from_dict

    row = {"type": "bneck", "k": 3, "exp": 16, "out": 16, "se": True, "nl": "RE", "s": 1, **change}
    with pytest.raises(MncostError, match=re.escape(message)):
        spec_from_dict({"stem": 16, "stages": [{k: v for k, v in row.items() if v is not None}]})


def test_audit_geffnet_v3_matches_the_paper_layer_by_layer():
    from mncost.torch.audit import audit

    result = audit("geffnet:mobilenetv3_large_100", "v3-large")
    assert result.ok and result.findings == ()


def test_audit_names_the_head_thinning_of_a_timm_style_v3_against_slim():
    """geffnet at 0.5 thins the stem like slim but keeps the 1280 conv: one finding and its consequence."""
    from mncost.torch.audit import audit

    result = audit("geffnet.mobilenetv3:_gen_mobilenet_v3('mobilenetv3_large_100', 0.5)",
                   get_spec("v3-large", "slim"), 0.5)
    assert [(f.kind, f.model_layer, f.paper_layer) for f in result.findings] == [
        ("changed", "conv_head", "conv3"), ("changed", "classifier", "fc")]
    assert sum(f.params_delta for f in result.findings) == (1280 - 640) * (960 // 2 + 1 + 1000)

