"""Every mobile-family model of timm 1.0.31 and its neighbours, traced: `count`'s params are the model's sum of
unique p.numel(), its multiply-adds equal an independent count, `latency TARGET` answers, and every counter
measures exactly what `compare TARGET` predicts.

Each model is built, traced and measured once per session, at the smallest input it accepts, and the tests
assert on those results. The independent count is torch's flop counter (convolutions and matrix products,
2 FLOPs each) plus torch's own attention formula for the fused CPU attention kernel, which the flop counter
has no entry for; every other op the zoo runs is one without multiply-adds, listed below.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils import flop_counter
from torch.utils._python_dispatch import TorchDispatchMode

from mncost.cost.conventions import ledger
from mncost.cost.hardware import PROFILES
from mncost.cost.ops import total_cost
from mncost.cost.roofline import network_roofline
from mncost.torch.fold import network_of
from mncost.torch.measure import TOOLS, measure_module
from mncost.torch.trace import trace

from conftest import import_timm

# model -> the smallest input side it accepts (ghostnet v2/v3's attention pools to 1/4 and back: 64)
ZOO = {
    **dict.fromkeys(["mobilenetv1_100", "mobilenetv1_100h", "mobilenetv1_125", "mobilenetv2_035", "mobilenetv2_050",
                     "mobilenetv2_100", "mobilenetv2_110d", "mobilenetv3_large_075", "mobilenetv3_large_100",
                     "mobilenetv3_rw", "mobilenetv3_small_050", "mobilenetv3_small_100", "mobilenetv4_conv_small",
                     "mobilenetv4_conv_small_035", "mobilenetv4_conv_medium", "mobilenetv4_conv_blur_medium",
                     "mobilenetv4_conv_aa_medium", "mobilenetv4_hybrid_medium", "mobilenetv4_hybrid_medium_075",
                     "mobilenetv4_hybrid_large_075", "tf_mobilenetv3_large_075", "tf_mobilenetv3_small_100",
                     "tf_mobilenetv3_large_minimal_100", "tf_mobilenetv3_small_minimal_100", "mobilenet_edgetpu_100",
                     "mobilenet_edgetpu_v2_xs", "mobilenet_edgetpu_v2_s", "lcnet_035", "lcnet_050", "lcnet_100",
                     "lcnetv2_small", "mnasnet_050", "mnasnet_100", "mnasnet_small", "semnasnet_050", "semnasnet_100",
                     "spnasnet_100", "fbnetc_100", "fbnetv3_b", "efficientnet_b0", "efficientnet_b0_gn",
                     "efficientnet_b0_g8_gn", "efficientnet_b0_g16_evos", "efficientnet_lite0", "efficientnet_blur_b0",
                     "ghostnet_050", "ghostnet_100", "repghostnet_050", "repghostnet_100", "tinynet_e", "tinynet_d",
                     "tinynet_c", "mixnet_s", "mixnet_m", "tf_mixnet_s", "mobilevit_xxs", "mobilevit_xs",
                     "mobilevitv2_050", "mobilevitv2_075", "efficientvit_b0", "efficientvit_b1", "efficientvit_m0",
                     "efficientvit_m1", "mobileone_s0", "mobileone_s1", "fastvit_t8", "fastvit_sa12", "fastvit_mci0",
                     "repvit_m0_9", "repvit_m1", "repvit_m1_0"], 32),
    **dict.fromkeys(["ghostnetv2_100", "ghostnetv3_050"], 64),
}
FUSED_ATTENTION = "_scaled_dot_product_flash_attention_for_cpu"
# the ops the zoo runs that have no multiply-adds (views, copies and allocations aside)
WITHOUT_MACS = {
    "mean", "sum", "native_batch_norm", "native_layer_norm", "native_group_norm", "add", "add_", "sub", "mul",
    "mul_", "div", "relu", "relu_", "sigmoid", "sigmoid_", "hardsigmoid", "hardswish", "hardswish_", "silu",
    "silu_", "gelu", "hardtanh", "hardtanh_", "_softmax", "_safe_softmax", "cat", "constant_pad_nd",
    "upsample_bilinear2d", "upsample_nearest2d", "avg_pool2d", "max_pool2d_with_indices", "index",
    "clamp_min", "rsub", "_unsafe_index", "neg", "exp", "pow", "sqrt", "rsqrt", "reciprocal", "where",
}
FREE = {"view", "_unsafe_view", "t", "transpose", "permute", "expand", "clone", "squeeze", "unsqueeze", "select",
        "slice", "split", "split_with_sizes", "unbind", "alias", "detach", "reshape", "_reshape_alias",
        "zeros", "empty", "fill_", "copy_", "lift_fresh", "_to_copy", "as_strided", "chunk", "unsafe_split",
        "contiguous", "expand_as", "new_zeros", "full", "scalar_tensor", "_local_scalar_dense", "zero_", "ones"}


class _Independent(TorchDispatchMode):
    """The fused CPU attention by torch's sdpa formula; fails on any op the lists above do not place."""

    def __init__(self) -> None:
        super().__init__()
        self.macs = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._overloadpacket.__name__
        if name == FUSED_ATTENTION:
            self.macs += flop_counter.sdpa_flop_count(args[0].shape, args[1].shape, args[2].shape) // 2
        elif func._overloadpacket not in flop_counter.flop_registry:
            assert name in WITHOUT_MACS | FREE, f"op {name}: no independent count for it"
        return func(*args, **(kwargs or {}))


def independent_macs(model: torch.nn.Module, x: torch.Tensor) -> int:
    counter, extra = flop_counter.FlopCounterMode(display=False), _Independent()
    with torch.no_grad(), counter, extra:
        model(x)
    return counter.get_total_flops() // 2 + extra.macs


@pytest.fixture(scope="session")
def zoo() -> dict:
    return {}


def result(zoo: dict, name: str) -> dict:
    """Build, trace and measure one model, once per session."""
    if name not in zoo:
        timm = import_timm()
        model = timm.create_model(name).eval()
        x = torch.zeros(1, 3, ZOO[name], ZOO[name])
        net = network_of(trace(model, x), name)
        zoo[name] = {"net": net, "params": sum(p.numel() for p in model.parameters()),
                     "independent": independent_macs(model, x), "measured": measure_module(model, x, fresh=False)}
    return zoo[name]


@pytest.mark.parametrize("name", ZOO)
def test_params_are_the_sum_of_unique_parameters(zoo, name):
    r = result(zoo, name)
    net = r["net"]
    assert total_cost(net).params + sum(n for _, n in net.unused) == r["params"]


@pytest.mark.parametrize("name", ZOO)
def test_multiply_adds_equal_an_independent_count(zoo, name):
    r = result(zoo, name)
    assert total_cost(r["net"]).macs == r["independent"] > 0
    assert r["net"].unknown == ()  # every op the zoo runs has a cost entry


@pytest.mark.parametrize("name", ZOO)
def test_latency_answers_with_bytes_for_every_row(zoo, name):
    result_ = network_roofline(result(zoo, name)["net"], "int8", PROFILES["pixel6-cpu"])
    assert len(result_.layers) == len(result(zoo, name)["net"].layers)
    assert all(row.output_bytes > 0 and row.bytes > 0 for row in result_.layers)
    assert result_.time > 0


@pytest.mark.parametrize("name", ZOO)
def test_every_counter_measures_what_compare_predicts(zoo, name):
    r = result(zoo, name)
    predicted = {e.convention.name: e for e in ledger(r["net"]).entries}
    assert set(r["measured"]) == set(TOOLS)
    for tool, m in r["measured"].items():
        assert m.note == "", (tool, m.note)
        assert m.total is None or m.total == predicted[tool].total, (tool, m.total, predicted[tool].total)
        assert m.params == predicted[tool].params, (tool, m.params, predicted[tool].params)


def test_the_zoo_covers_every_family_the_issue_names():
    families = ["mobilenetv1", "mobilenetv2", "mobilenetv3", "mobilenetv4_conv_blur", "mobilenetv4_hybrid",
                "tf_mobilenetv3", "mobilenet_edgetpu", "lcnet", "mnasnet", "semnasnet", "spnasnet", "fbnetc",
                "fbnetv3", "efficientnet_b0", "efficientnet_b0_gn", "efficientnet_lite", "ghostnet_", "ghostnetv2",
                "ghostnetv3", "repghostnet", "tinynet", "mixnet", "mobilevit_", "mobilevitv2", "efficientvit",
                "mobileone", "fastvit", "repvit"]
    assert all(any(name.startswith(f) for name in ZOO) for f in families)
    assert len(ZOO) >= 60
