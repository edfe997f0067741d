"""MobileNetV4 against timm's mobilenetv4_* (nobody here wrote them), counted by our own dispatch counter.

Params are sum(p.numel()); mult-adds are conv, linear and matmul multiply-adds seen by a TorchDispatchMode
(aten.convolution, addmm/mm, bmm, and the fused attention kernels if a build dispatches to one), not
fvcore, so the check shares no code with mncost. timm runs attention through
F.scaled_dot_product_attention; on this CPU build it decomposes into two bmm per Mobile MQA block.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from conftest import conv_signatures, import_timm, layer_signatures
from mncost import analyze
from mncost import totals
from mncost.arch.builder import SPECS, network
from mncost.arch.v4 import SPECS as V4_SPECS
from mncost.cost.ops import network_costs, total_cost

aten = torch.ops.aten
RESOLUTIONS = [224, 256, 384, (192, 256)]
V4 = [spec.name for spec in V4_SPECS]
TIMM = {"v4-conv-small": "mobilenetv4_conv_small", "v4-conv-medium": "mobilenetv4_conv_medium",
        "v4-conv-large": "mobilenetv4_conv_large", "v4-hybrid-medium": "mobilenetv4_hybrid_medium",
        "v4-hybrid-large": "mobilenetv4_hybrid_large"}
FUSED_ATTENTION = {getattr(aten, name) for name in (
    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention") if hasattr(aten, name)}


class MacCounter(TorchDispatchMode):
    """Multiply-adds of every convolution, matrix product and fused attention kernel that executes."""

    def __init__(self) -> None:
        super().__init__()
        self.macs, self.ops = 0, Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        packet = func._overloadpacket
        if packet is aten.convolution:  # weight (out, in / groups, kh, kw)
            self.macs += out.numel() * math.prod(args[1].shape[1:])
        elif packet in (aten.mm, aten.bmm):
            self.macs += args[0].numel() * args[1].shape[-1]
        elif packet is aten.addmm:
            self.macs += args[1].numel() * args[2].shape[-1]
        elif packet in FUSED_ATTENTION:  # q (B, h, Nq, d), k (B, hk, Nkv, d), v (B, hv, Nkv, dv)
            q, k, v = args[:3]
            self.macs += q.numel() // q.shape[-1] * k.shape[-2] * (q.shape[-1] + v.shape[-1])
        else:
            return out
        self.ops[str(packet)] += 1
        return out


def counted(model: nn.Module, res) -> MacCounter:
    """One batch-1 forward pass of a zero image under the counter."""
    counter = MacCounter()
    with torch.no_grad(), counter:
        model.eval()(torch.zeros(1, 3, *((res, res) if isinstance(res, int) else res)))
    return counter


def assert_equal_at(model: nn.Module, arch: str, alpha: float, resolutions) -> None:
    assert conv_signatures(model) == layer_signatures(network(arch, alpha, 224))
    params = sum(p.numel() for p in model.parameters())
    for res in resolutions:
        cost = total_cost(network(arch, alpha, res))
        counter = counted(model, res)
        assert (counter.macs, params) == (cost.macs, cost.params), res
        mqa = sum(1 for layer in network(arch, alpha, res).layers if layer.op == "attn_qk")
        assert counter.ops["aten.bmm"] + 2 * sum(counter.ops[str(op)] for op in FUSED_ATTENTION) == 2 * mqa


@pytest.mark.parametrize("arch", V4)
def test_timm_v4_params_and_macs(arch):
    model = import_timm().create_model(TIMM[arch], pretrained=False)
    assert_equal_at(model, arch, 1.0, RESOLUTIONS)


@pytest.mark.parametrize("name,arch,alpha", [("mobilenetv4_conv_small_035", "v4-conv-small", 0.35),
                                             ("mobilenetv4_conv_small_050", "v4-conv-small", 0.5),
                                             ("mobilenetv4_hybrid_medium_075", "v4-hybrid-medium", 0.75),
                                             ("mobilenetv4_hybrid_large_075", "v4-hybrid-large", 0.75)])
def test_timm_v4_width_multipliers(name, arch, alpha):
    """timm's registered thinner models: the stem keeps its width, the 1280 head is never thinned."""
    assert_equal_at(import_timm().create_model(name, pretrained=False), arch, alpha, [224, (160, 192)])


@settings(max_examples=5, deadline=None)
@given(alpha=st.floats(0.2, 2.0), arch=st.sampled_from(V4))
def test_timm_generator_at_any_channel_multiplier(alpha, arch):
    from timm.models import mobilenetv3

    import_timm()
    model = mobilenetv3._gen_mobilenet_v4(TIMM[arch], channel_multiplier=alpha)
    assert_equal_at(model, arch, alpha, [64])


def test_timm_published_param_counts():
    """timm results-imagenet.csv param_count (M, 2 decimals)."""
    published = {"v4-conv-small": 3.77, "v4-conv-medium": 9.72, "v4-conv-large": 32.59,
                 "v4-hybrid-medium": 11.07, "v4-hybrid-large": 37.76}
    assert {arch: round(totals(arch).params / 1e6, 2) for arch in V4} == published


def test_attention_matmuls_grow_with_area_q_times_area_kv():
    """Hybrid-M, first MQA block (16x stage, K/V reduced by a stride-2 3x3 depthwise conv): 4 heads x 64."""
    for res in (256, 512, (224, 320)):
        h, w = (res, res) if isinstance(res, int) else res
        q = (h // 16) * (w // 16)
        kv = ((h // 16 + 1) // 2) * ((w // 16 + 1) // 2)
        rows = {layer.name: cost for layer, cost in network_costs(network("v4-hybrid-medium", 1.0, res))}
        assert rows["block8.qk"].macs == rows["block8.av"].macs == 4 * 64 * q * kv
        assert rows["block8.key.proj"].macs == rows["block8.value.proj"].macs == 160 * 64 * kv
    small, large = (analyze("v4-hybrid-medium", 1.0, r).layers for r in (256, 512))
    for (layer, a), (_, b) in zip(small, large):
        if layer.op in ("attn_qk", "attn_av"):
            assert b.macs == 16 * a.macs  # area doubles twice over: area_q x area_kv
        elif layer.op == "conv2d" and layer.input_size != (1, 1):
            assert b.macs == 4 * a.macs


def test_layer_list_does_not_depend_on_alpha_or_resolution():
    for arch in V4:
        names = [layer.name for layer in network(arch, 1.0, 224).layers]
        for alpha, res in [(0.05, 224), (3.0, 7), (0.5, (1, 1)), (1.3, (97, 300))]:
            assert [layer.name for layer in network(arch, alpha, res).layers] == names


def test_uib_variants_and_mqa_wiring():
    net = network("v4-hybrid-medium", 1.0, 256)
    kinds = {layer.name.rsplit(".", 1)[-1] for layer in net.layers if layer.name.startswith("block5.")}
    assert kinds == {"expand", "project", "layer_scale"}  # an FFN UIB: no depthwise conv at all
    convnext = {layer.name.rsplit(".", 1)[-1] for layer in net.layers if layer.name.startswith("block11.")}
    assert convnext == {"dw_start", "expand", "project", "layer_scale"}
    assert net.layer("block11.dw_start").activation is None and net.layer("block11.expand").activation == "relu"
    assert net.layer("block5.expand").input_size == (16, 16)
    key, value = net.layer("block8.key.down"), net.layer("block8.value.down")
    assert key.source == value.source == "block8.norm" and key.stride == 2 and key.groups == 160
    assert net.layer("block8.qk").source == "block8.query.proj" and net.layer("block8.qk").other == "block8.key.proj"
    assert net.layer("block8.layer_scale").shortcut == "block8.norm"
    assert "block8.key.down" not in {layer.name for layer in network("v4-conv-medium").layers}
    assert all(SPECS[arch] is spec for arch, spec in zip(V4, V4_SPECS))


@pytest.mark.parametrize("arch,alpha,res", [("v4-conv-small", 1.0, 224), ("v4-conv-medium", 0.5, (160, 192)),
                                            ("v4-hybrid-medium", 1.0, 256), ("v4-hybrid-medium", 0.75, (97, 130)),
                                            ("v4-hybrid-large", 0.5, 128), ("v4-conv-large", 1.25, 96)])
def test_every_layer_of_the_built_module_equals_fvcore(arch, alpha, res):
    """mncost's own nn.Module of the Network, counted per module by fvcore (which counts aten::matmul)."""
    import fvcore.nn as fvcore_nn

    from mncost.torch.build import build_module, input_tensor
    from mncost.torch.count import fvcore_analysis

    net = network(arch, alpha, res)
    model = build_module(net)
    by_module = fvcore_analysis(model, input_tensor(net)).by_module_and_operator()
    with torch.no_grad():
        assert model(input_tensor(net)).shape == (1, 1000)
    params = fvcore_nn.parameter_count(model)
    for layer, cost in network_costs(net):
        ops = by_module.get(layer.name, {})
        assert ops.get("conv", 0) + ops.get("linear", 0) + ops.get("matmul", 0) == cost.macs, layer.name
        assert params.get(layer.name, 0) == cost.params, layer.name
        if layer.op in ("attn_qk", "attn_av"):
            assert ops.get("matmul", 0) == cost.macs > 0, layer.name  # counted as a matmul, not missed
    assert params[""] == sum(p.numel() for p in model.parameters()) == total_cost(net).params


def test_attention_terms():
    from mncost.cost.terms import term_total

    net = network("v4-hybrid-medium", 1.0, 256)
    # 4 blocks at 16x16 queries over 8x8 keys, 4 at 8x8 over 8x8; 4 heads each
    assert term_total("attention_softmax", net) == 4 * 4 * 256 * (3 * 64 - 1) + 4 * 4 * 64 * (3 * 64 - 1)
    scaled = [layer for layer in net.layers if layer.op == "layerscale"]
    assert len(scaled) == sum(1 for layer in net.layers if layer.name.endswith(".project")) - 1 + 8  # FusedIB: none
    assert term_total("layer_scale", net) == sum(l.out_channels * l.output_size[0] * l.output_size[1] for l in scaled)
    assert term_total("gelu", net) == 0 < term_total("gelu", network("v4-hybrid-large"))
    assert term_total("layer_scale", network("v4-conv-large")) == 0


def test_v4_table6_baselines_match_and_the_mnv4_gap_is_shown():
    """[V4] Table 6 as printed: the MobileNet baselines rebuild; the M/L models build 5-8% over the print."""
    from mncost.paper import paper_tables

    (table,) = paper_tables(["v4-table6"])
    rows = {row.label: row for row in table.rows}
    for label in ("MobileNet-V1", "MobileNet-V2", "MobileNet-V3L-0.5x", "MobileNet-V2-1.5x", "MobileNet-V2-2.0x"):
        assert rows[label].match, label
    assert "slim's and PyTorch's give 2.0" in rows["MobileNet-V2-0.5x"].note
    assert rows["MNv4-Conv-S"].computed["macs_g"] == 0.2 and "PyTorch's gives 3.8" in rows["MNv4-Conv-S"].note
    for label in ("MNv4-Conv-M", "MNv4-Hybrid-M", "MNv4-Conv-L", "MNv4-Hybrid-L"):
        row = rows[label]
        assert row.match is False and "unexplained" in row.note
        assert 1.04 < row.exact["params_m"] / row.published["params_m"] < 1.06
        assert 1.05 < row.exact["macs_g"] / row.published["macs_g"] < 1.09
    assert rows["MNv4-Hybrid-L"].published["ms_pixel8_edgetpu"] == 3.8  # latency: published only
    assert rows["MNv4-Hybrid-L"].computed["ms_pixel8_edgetpu"] is None
    assert "ms_iphone13" not in rows["MNv4-Hybrid-L"].published  # printed "-"


def test_sweep_and_fit_on_v4():
    from mncost import fit, sweep_rows

    rows = sweep_rows("v4-hybrid-large", "0.5,1", "224,256x320", 1000)
    for row in rows:
        t = analyze("v4-hybrid-large", row["alpha"], row["resolution"]).totals
        assert (row["macs"], row["params"]) == (t.macs, t.params)
    [config] = fit("v4-hybrid-medium", "1G", res="256")["configs"]
    assert analyze("v4-hybrid-medium", config["alpha"], 256).totals.macs <= 10**9 \
        < analyze("v4-hybrid-medium", round(config["alpha"] + 0.01, 2), 256).totals.macs


@pytest.mark.parametrize("tool", ["pytorch", "fvcore", "ptflops", "thop", "torchinfo", "torch-flop-counter"])
@pytest.mark.parametrize("arch,alpha,res", [("v4-hybrid-medium", 1.0, "64x96"), ("v4-hybrid-large", 0.5, 64)])
def test_the_ledger_predicts_each_counter_on_a_hybrid(arch, alpha, res, tool):
    """Each tool run on mncost's own module equals the ledger's prediction, attention and layer scale included:
    thop and torchinfo never see the matmuls, thop misses the layer-scale gammas."""
    from mncost.cost.conventions import compare
    from mncost.torch.measure import measure

    entry = {e.convention.name: e for e in compare(arch, alpha, res).entries}[tool]
    measured = measure(entry.network, [tool])[tool]
    assert measured.note == ""
    assert measured.total is None or measured.total == entry.total
    assert measured.params == entry.params
    if tool in ("thop", "torchinfo"):
        assert "matmul" in entry.terms and entry.terms["matmul"] < 0  # the attention matmuls


@pytest.mark.parametrize("argv", [["table", "--arch", "v4-hybrid-large"], ["paper", "v4-table6"],
                                  ["compare", "--arch", "v4-hybrid-medium"],
                                  ["sweep", "--arch", "v4-hybrid-medium", "--alpha", "0.5,1", "--res", "224,384"],
                                  ["fit", "--arch", "v4-conv-small", "--max-macs", "100M"]], ids=" ".join)
def test_v4_analytic_commands_stay_torch_free(argv):
    from conftest import heavy_imports

    assert heavy_imports(argv, ("torch", "fvcore", "pandas", "matplotlib")) == []



@pytest.mark.parametrize("arch,res", [(arch, 224) for arch in V4] + [("v4-hybrid-large", (192, 256))])
def test_audit_of_timm_v4_matches_the_paper_attention_and_layer_scale_included(arch, res):
    """audit counts timm's model (FlopCounterMode, hooks, parameters) and finds nothing: its attention
    matmuls and layer-scale/pre-norm params are the paper's, outside the conv and FC layers."""
    from mncost.torch.audit import audit

    import_timm()
    result = audit(f"timm:create_model('{TIMM[arch]}')", arch, res=res)
    assert result.findings == () and result.ok
    cost = total_cost(network(arch, 1.0, res))
    assert (result.macs_model, result.params_model) == (result.macs_paper, result.params_paper) == \
        (cost.macs, cost.params)


def test_audit_names_timm_v4_at_half_width_as_one_rule():
    from mncost.torch.audit import audit

    import_timm()
    result = audit("timm.models.mobilenetv3:_gen_mobilenet_v4('mobilenetv4_hybrid_medium', 0.5)",
                   "v4-hybrid-medium")
    [rule] = result.findings
    assert rule.kind == "rule" and rule.detail.startswith("width multiplier 0.5 instead of 1: block1.project 24 vs 48")
    assert "layer_scale" not in rule.detail  # layer scale follows its block's width: not a width of its own
    half, full = total_cost(network("v4-hybrid-medium", 0.5)), total_cost(network("v4-hybrid-medium"))
    assert (rule.macs_delta, rule.params_delta) == (half.macs - full.macs, half.params - full.params)
    assert (result.macs_model, result.params_model) == (half.macs, half.params)


def test_audit_of_a_hybrid_against_its_conv_twin_names_the_attention():
    """timm's Hybrid-M held against Conv-M: the attention's matmuls and layer scale are extra, exactly."""
    from mncost.torch.audit import audit

    import_timm()
    result = audit("timm:create_model('mobilenetv4_hybrid_medium')", "v4-conv-medium")
    outside = {f.model_layer: f for f in result.findings if f.paper_layer is None and f.kind in ("extra", "params")}
    hybrid = [(layer, cost) for layer, cost in network_costs(network("v4-hybrid-medium"))]
    attention = sum(cost.macs for layer, cost in hybrid if layer.op in ("attn_qk", "attn_av"))
    assert outside["(outside conv/linear modules)"].macs_delta == attention
    scale_and_norm = sum(cost.params for layer, cost in hybrid if layer.op in ("layerscale", "batchnorm"))
    assert sum(f.params_delta for f in result.findings if f.kind == "params" and f.paper_layer is None) == scale_and_norm
    assert any(f.kind == "extra" and f.model_layer.endswith("attn.query.proj") for f in result.findings)
    assert (sum(f.macs_delta for f in result.findings), result.macs_paper) == \
        (result.macs_model - result.macs_paper, total_cost(network("v4-conv-medium")).macs)
