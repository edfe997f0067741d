"""build_module: a real nn.Module whose per-module fvcore counts equal the analytic rows."""

from __future__ import annotations

import pytest

import fvcore.nn as fvcore_nn
import torch

from mncost.arch.builder import network
from mncost.cost.ops import network_costs
from mncost.torch.build import build_module, input_tensor
from mncost.torch.count import fvcore_analysis


def _fvcore(net):
    model = build_module(net)
    by_module = fvcore_analysis(model, input_tensor(net)).by_module_and_operator()
    return model, by_module, fvcore_nn.parameter_count(model)


@pytest.mark.parametrize("arch", ["v1", "v2", "v1-fullconv", "v1-shallow"])
def test_every_layer_equals_fvcore_at_224(arch):
    net = network(arch, 1.0, 224, 1000)
    model, by_module, params = _fvcore(net)
    modules = dict(model.named_modules())
    for layer, cost in network_costs(net):
        assert layer.name in modules
        ops = by_module.get(layer.name, {})
        assert ops.get("conv", 0) + ops.get("linear", 0) == cost.macs, layer.name
        assert params.get(layer.name, 0) == cost.params, layer.name
    assert params[""] == sum(cost.params for _, cost in network_costs(net))


def test_module_structure_names_and_shapes():
    net = network("v2", 0.5, (160, 192), 10)
    model = build_module(net)
    modules = dict(model.named_modules())
    assert isinstance(modules["block2.dw"].conv, torch.nn.Conv2d)
    assert modules["block2.dw"].conv.groups == net.layer("block2.dw").in_channels
    assert isinstance(modules["block2.project"].bn, torch.nn.BatchNorm2d)
    assert not hasattr(modules["block2.project"], "act")  # the linear bottleneck
    assert isinstance(modules["block2.expand"].act, torch.nn.ReLU6)
    assert model.classifier_dropout.p == 0.2
    with torch.no_grad():
        assert model(input_tensor(net)).shape == (1, 10)


def test_v2_residual_adds_are_traced():
    """Ten residual adds in V2 ([V2] Table 2: n - 1 per stage, 1+2+3+2+2 = 10)."""
    net = network("v2", 1.0, 224, 1000)
    model = build_module(net)
    graph = torch.jit.trace(model, input_tensor(net))
    adds = [n for n in graph.inlined_graph.nodes() if n.kind() in ("aten::add", "aten::add_")]
    assert len(adds) == sum(1 for layer in net.layers if layer.shortcut) == 10
