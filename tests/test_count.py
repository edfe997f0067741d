"""`mncost count` and `mncost compare TARGET`: any model's rows predict every counter's own total on it.

Truth is each counter run on the real module (fvcore, ptflops, thop, torchinfo, torch's flop
counter, PyTorch's parameters), on models mncost did not build: pytorchcv and geffnet MobileNets,
timm's V2, V3 and V4, tutorial-style models written here, a ResNet-style net and an attention net.
"""

from __future__ import annotations

import functools
import json

import pytest
import torch
from hypothesis import given, settings, strategies as st

from mncost.arch.builder import get_spec, network
from mncost.cost.conventions import compare, ledger, with_classes
from mncost.torch.measure import TOOLS, measure_module
from mncost.torch.model import model_network

from conftest import import_timm, run_cli

MODELS = {
    "tutorial-v1": "tests/count_models.py:TutorialV1",
    "pytorchcv-v1": "pytorchcv.models.mobilenet:mobilenet_w1",
    "pytorchcv-v2": "pytorchcv.models.mobilenetv2:mobilenetv2_w1",
    "pytorchcv-v1b": "pytorchcv.models.mobilenetb:mobilenetb_w1",
    "pytorchcv-v2b": "pytorchcv.models.mobilenetv2:mobilenetv2b_w1",
    "geffnet-v2": "geffnet.gen_efficientnet:mobilenetv2_100",
    "timm-v2": "timm:create_model('mobilenetv2_100')",
    "timm-v3": "timm:create_model('mobilenetv3_large_100')",
    "timm-v4-conv-s": "timm:create_model('mobilenetv4_conv_small')",
    "timm-v4-hybrid-m": "timm:create_model('mobilenetv4_hybrid_medium')",  # attention through sdpa, layer scale
    "functional": "tests/count_models.py:FunctionalNet",
    "resnet": "tests/count_models.py:SmallResNet",
    "attention": "tests/count_models.py:ConvAttentionNet",
}
SHAPE = (1, 3, 224, 224)


@functools.lru_cache(maxsize=None)
def traced(target: str, shape: tuple[int, ...] = SHAPE):
    if target.startswith("timm:"):
        import_timm()  # through the test-only torchvision stand-in
    return model_network(target, shape)


@pytest.mark.parametrize("tool", list(TOOLS))
@pytest.mark.parametrize("model", list(MODELS))
def test_every_counter_measures_what_the_rows_predict(model, tool):
    module, net = traced(MODELS[model])
    entry = {e.convention.name: e for e in ledger(net).entries}[tool]
    measured = measure_module(module, torch.zeros(SHAPE), [tool])[tool]
    assert measured.note == ""
    assert (measured.total, measured.params) == (entry.total if measured.total is not None else None, entry.params)


def test_tutorial_v1_softmax_is_what_ptflops_and_thop_add_to_v1():
    """The tutorial V1 is [V1] plus nn.Softmax: ptflops prints 1,000 more, thop 2,999 (3K - 1) more."""
    module, net = traced(MODELS["tutorial-v1"])
    arch = {e.convention.name: e for e in compare("v1").entries}
    measured = measure_module(module, torch.zeros(SHAPE), ["ptflops", "thop", "fvcore"])
    assert measured["ptflops"].total - arch["ptflops"].total == 1000
    assert measured["thop"].total - arch["thop"].total == 2999
    assert measured["fvcore"].total == arch["fvcore"].total
    own = {e.convention.name: e for e in ledger(net).entries}
    assert own["ptflops"].terms["softmax_patched"] == 1000
    assert own["thop"].terms["softmax_module"] == 2999


def test_timm_modules_the_counters_have_no_rule_for_are_named_terms():
    """timm's BatchNormAct2d and Linear subclass nn modules: ptflops and thop look rules up by exact type."""
    module, net = traced(MODELS["timm-v3"])
    entries = {e.convention.name: e for e in ledger(net).entries}
    classifier = net.layers[-1]
    assert classifier.op == "linear" and classifier.call == "F.linear"  # timm's Linear, a subclass of nn.Linear
    assert entries["thop"].terms["macs_unhooked"] == -classifier.in_channels * classifier.out_channels
    # thop counts the params of modules with a rule only: not timm's Linear, not its BatchNormAct2d
    unruled = (classifier.in_channels + 1) * classifier.out_channels + sum(
        p.numel() for m in module.modules() if type(m).__name__ == "BatchNormAct2d" for p in m.parameters())
    assert entries["thop"].params_terms["thop_other"] == -unruled
    _, net = traced(MODELS["timm-v2"])
    entries = {e.convention.name: e for e in ledger(net).entries}
    assert "batchnorm" not in entries["ptflops"].terms and entries["fvcore"].terms["batchnorm_functional"] > 0


def test_how_an_op_was_called_is_a_named_term():
    _, net = traced(MODELS["functional"])
    calls = {layer.call for layer in net.layers}
    assert {"F.relu", "F.relu6", "torch.add", "F.adaptive_avg_pool2d", "Tensor.mean", "Tensor.__add__",
            "F.softmax"} <= calls
    ptflops = {e.convention.name: e for e in ledger(net).entries}["ptflops"]
    for term in ("relu_functional", "relu6_functional", "add_named", "avgpool_functional", "softmax_patched"):
        assert ptflops.terms[term] > 0, term
    assert "add" not in ptflops.terms  # `pooled + x.mean(...)`: the operator is not patched


def test_same_engine_for_the_arch_and_for_mncosts_own_module():
    """Tracing the module mncost builds for V2 gives the arch's own Layer rows, hence its ledger."""
    for arch, alpha, res in [("v2", 1.0, 224), ("v1", 0.5, 160), ("v2", 0.35, 192)]:
        _, net = model_network(f"tests/own_models.py:mncost_module(arch={arch!r}, alpha={alpha}, res={res})",
                               (1, 3, res, res))
        assert net.layers == network(arch, alpha, res, 1000).layers
    arch_json = json.loads(run_cli("compare", "--arch", "v2", "--format", "json").stdout)
    target_json = json.loads(run_cli("compare", "tests/own_models.py:mncost_module", "--format", "json").stdout)
    assert arch_json["conventions"] == target_json["conventions"]


@pytest.mark.parametrize("arch,alpha,res", [("v1", 0.5, 96), ("v2", 0.35, 96), ("v3-large", 0.75, 96),
                                            ("v3-small", 1.0, 64), ("v4-conv-small", 1.0, 64),
                                            ("v4-hybrid-medium", 0.5, 96)])
def test_a_built_in_layer_derives_the_ops_and_module_calls_its_traced_module_runs(arch, alpha, res):
    """mncost.cost.layout's records of each built-in layer are what tracing the module mncost builds records:
    every aten op with its arguments, call, module and context, every module call (but the network's own and
    the classifier's dropout, which no layer owns)."""
    from mncost.cost.layout import layer_records

    built = network(arch, alpha, res, 1000)
    _, net = model_network(f"tests/own_models.py:mncost_module(arch={arch!r}, alpha={alpha}, res={res})",
                           (1, 3, res, res))
    assert [op for layer in net.layers for op in layer.ops] == \
        [op for layer in built.layers for op in layer_records(layer)[0]]
    assert [c for layer in net.layers for c in layer.calls if c.module.path and "Dropout" not in c.module.type] == \
        [c for layer in built.layers for c in layer_records(layer)[1]]
    from mncost.cost.hardware import PROFILES
    from mncost.cost.roofline import network_roofline

    hw = PROFILES["pixel6-cpu"]
    assert network_roofline(net, "int8", hw).totals() == network_roofline(built, "int8", hw).totals()


def test_a_batch_is_counted_whole_with_the_per_image_figure_beside():
    """--batch N: every count for the N images that ran, and the per-image figure: never one for the other."""
    one = json.loads(run_cli("count", MODELS["functional"], "--input", "1x3x64x64", "--format", "json").stdout)
    out = run_cli("count", MODELS["functional"], "--input", "1x3x64x64", "--batch", "4", "--format", "json")
    four = json.loads(out.stdout)
    assert four["batch"] == 4 and four["totals"]["macs"] == 4 * one["totals"]["macs"]
    assert four["per_image"] == {"macs": one["totals"]["macs"], "activations": one["totals"]["activations"]}
    assert four["params"] == one["params"]  # parameters do not grow with the batch
    table = run_cli("count", MODELS["functional"], "--input", "4x3x64x64", "--format", "md").stdout
    assert f"Batch 4: {4 * one['totals']['macs']:,} mult-adds in all" in table
    measured = run_cli("compare", MODELS["functional"], "--input", "1x3x64x64", "--batch", "2", "--measure",
                       "--format", "json")
    assert measured.returncode == 0, measured.stderr
    assert all(c["match"] is not False for c in json.loads(measured.stdout)["conventions"])


@pytest.mark.parametrize("arch,alpha,res", [("v4-hybrid-medium", 0.5, 96), ("v4-hybrid-large", 1.0, 64),
                                            ("v4-conv-small", 1.0, 128)])
def test_every_counter_predicts_the_same_for_a_v4_arch_and_for_mncosts_own_module(arch, alpha, res):
    """V4's attention traces as matmul rows and its layer scale as layer-scale rows; every convention's total
    and params equal the arch's own rows'."""
    _, net = model_network(f"tests/own_models.py:mncost_module(arch={arch!r}, alpha={alpha}, res={res})",
                           (1, 3, res, res))
    own = {e.convention.name: (e.total, e.params) for e in ledger(net).entries}
    assert own == {e.convention.name: (e.total, e.params) for e in compare(arch, alpha, res).entries}


@pytest.mark.parametrize("arch", ["v1", "v2"])
def test_a_traced_models_classes_change_as_the_arch_rebuilds(arch):
    net = network(arch, 1.0, 224, 1000)
    assert with_classes(net, 1001).layers == network(get_spec(arch), 1.0, 224, 1001).layers


@settings(max_examples=4, deadline=None)
@given(model=st.sampled_from(["functional", "resnet", "tutorial-v1"]),
       side=st.tuples(st.integers(64, 200), st.integers(64, 200)))
def test_counters_match_at_any_input_size(model, side):
    shape = (1, 3, *side)
    module, net = traced(MODELS[model], shape)
    measured = measure_module(module, torch.zeros(shape), ["fvcore", "ptflops", "thop", "torchinfo"])
    for e in ledger(net).entries:
        if e.convention.name in measured:
            assert measured[e.convention.name].total == e.total, e.convention.name


def test_cli_count_formats_carry_exact_counts():
    out = run_cli("count", MODELS["resnet"], "--input", "1x3x160x128", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    module, net = traced(MODELS["resnet"], (1, 3, 160, 128))
    assert sum(layer["macs"] for layer in doc["layers"]) == \
        measure_module(module, torch.zeros(1, 3, 160, 128), ["torch-flop-counter"])["torch-flop-counter"].total // 2
    assert sum(layer["params"] for layer in doc["layers"]) == sum(p.numel() for p in module.parameters())
    md = run_cli("count", MODELS["resnet"], "--format", "md")
    assert md.returncode == 0 and "| layers.1.downsample" in md.stdout and "nn.AvgPool2d" in md.stdout
    csv = run_cli("count", MODELS["attention"], "--format", "csv")
    assert csv.returncode == 0 and "F.scaled_dot_product_attention" in csv.stdout


@pytest.mark.parametrize("argv,message", [
    (["count", "tests/count_models.py:Nope"], "has no 'Nope'"),
    (["count", MODELS["functional"], "--batch", "0"], "batch '0' is invalid"),
    (["count", MODELS["functional"], "--input", "2x3x64x64", "--batch", "4"], "give the batch once"),
    (["compare", "--arch", "v2", "--batch", "2"], "--batch counts a traced model's batch"),
    (["count", MODELS["functional"], "--input", "1x3x64"], "NxCxHxW"),
    (["count", MODELS["tutorial-v1"], "--input", "1x4x64x64"], "forward pass on input (1, 4, 64, 64) failed in conv1"),
    (["compare", "tests/count_models.py:FunctionalNet(width=2)"], "FunctionalNet(...) raised TypeError"),
    (["compare", MODELS["functional"], "--res", "160"], "--res describe a built-in arch"),
])
def test_cli_user_errors_exit_2_with_one_line(argv, message):
    out = run_cli(*argv)
    assert out.returncode == 2
    assert out.stderr.startswith("mncost: error: ") and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stdout == ""


def test_cli_compare_target_measure_exits_0_when_all_match():
    out = run_cli("compare", MODELS["functional"], "--input", "1x3x96x96", "--measure", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {c["name"]: c["match"] for c in doc["conventions"] if c["match"] is not None} == dict.fromkeys(TOOLS, True)


@pytest.mark.parametrize("body", ["sys.exit(3)", "sys.exit(0)", "raise KeyboardInterrupt", "raise ValueError('no')"])
@pytest.mark.parametrize("command", ["count", "compare"])
def test_user_code_that_exits_raises_or_prints_is_one_line_exit_2(tmp_path, command, body):
    (tmp_path / "faulty.py").write_text(
        "import sys\nimport torch\n\n\nclass Faulty(torch.nn.Module):\n    def forward(self, x):\n"
        f"        print('debug output')\n        {body}\n")
    out = run_cli(command, f"{tmp_path}/faulty.py:Faulty", "--format", "json")
    assert out.returncode == 2 and out.stdout == "", (out.stdout, out.stderr)
    assert out.stderr.splitlines()[-1].startswith("mncost: error: forward pass") and "Traceback" not in out.stderr


def test_an_input_too_large_to_run_is_refused_before_the_model_is_loaded():
    out = run_cli("count", "tests/count_models.py:TutorialV1", "--input", "1x3x99999x99999")
    assert out.returncode == 2 and "would not fit in memory" in out.stderr and len(out.stderr.splitlines()) == 1


@pytest.mark.parametrize("arch,res", [("v4-hybrid-medium", (192, 256)), ("v4-hybrid-large", 256)])
def test_a_traced_timm_v4_hybrid_is_the_paper_network_attention_and_layer_scale_included(arch, res):
    """timm runs Mobile MQA through F.scaled_dot_product_attention (one key/value head for several query
    heads: torch's math path, bmm) and layer scale as x * gamma: the trace makes them attention and
    layer-scale rows, and the exact count is mncost's analytic one for the arch."""
    from mncost.cost.ops import total_cost

    height, width = (res, res) if isinstance(res, int) else res
    _, net = traced(f"timm:create_model('mobilenetv4_{arch[3:].replace('-', '_')}')", (1, 3, height, width))
    paper = {e.convention.name: e for e in ledger(net).entries}["paper"]
    analytic = total_cost(network(arch, 1.0, res))
    assert (paper.total, paper.params) == (analytic.macs, analytic.weights)
    assert total_cost(net).macs == analytic.macs  # `mncost count`'s Mult-Adds: matmuls included, as in `table`
    attention = [layer for layer in net.layers if layer.op == "attention"]
    assert len(attention) == 8 and all(layer.call == "F.scaled_dot_product_attention" for layer in attention)
    assert all([op.name for op in layer.ops if op.name == "bmm"] == ["bmm", "bmm"] for layer in attention)  # math
    assert sum(1 for layer in net.layers if layer.op == "layerscale") == \
        sum(1 for layer in network(arch).layers if layer.op == "layerscale")
