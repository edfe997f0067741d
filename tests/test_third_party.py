"""Implementations nobody here wrote: fvcore's conv+linear total and trainable params equal mncost's."""

from __future__ import annotations

# geffnet and pytorchcv are part of the test set-up (README, .ci/run): a missing one fails, never skips.
import geffnet
import pytest
import pytorchcv.models.mobilenet as mobilenet
import torch
from torch import nn

from mncost.arch.builder import network
from mncost.cost.ops import total_cost
from mncost.torch.count import count_model

RESOLUTIONS = [224, 160, 128, (192, 256)]


def _zeros(res):
    return torch.zeros(1, 3, *((res, res) if isinstance(res, int) else res))


def _conv_signatures(model: nn.Module) -> list[tuple]:
    """Each Conv2d in registration order: in, out, kernel, stride, padding, groups, bias."""
    return [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0], m.groups, m.bias is not None)
            for m in model.modules() if isinstance(m, nn.Conv2d)]


def _layer_signatures(net) -> list[tuple]:
    return [(layer.in_channels, layer.out_channels, layer.kernel, layer.stride, layer.padding, layer.groups,
             layer.bias)
            for layer in net.layers if layer.op == "conv2d"]


def _assert_totals_equal(model, arch, alpha, res):
    measured, analytic = count_model(model, _zeros(res)), total_cost(network(arch, alpha, res, 1000))
    assert (measured.macs, measured.params) == (analytic.macs, analytic.params)


# pytorchcv's V1 builders; its get_mobilenet scales widths by int(c * alpha), as [V1]'s reference does.
PYTORCHCV_V1 = [("mobilenet_w1", 1.0), ("mobilenet_w3d4", 0.75), ("mobilenet_wd2", 0.5), ("mobilenet_wd4", 0.25)]


@pytest.mark.parametrize("builder,alpha", PYTORCHCV_V1)
def test_pytorchcv_mobilenet_v1(builder, alpha):
    model = getattr(mobilenet, builder)()
    assert _conv_signatures(model) == _layer_signatures(network("v1", alpha, 224, 1000))
    _assert_totals_equal(model, "v1", alpha, 224)
    # Its final pool is a fixed AvgPool2d(7), which only fits a 7x7 map; a global pool (no
    # mult-adds, no params) lets the same convs and FC run at other resolutions.
    model.features.final_pool = nn.AdaptiveAvgPool2d(1)
    for res in RESOLUTIONS[1:]:
        _assert_totals_equal(model, "v1", alpha, res)


def test_pytorchcv_v1_alpha_1_at_224_is_568_740_352():
    assert count_model(mobilenet.mobilenet_w1(), _zeros(224)).macs == 568_740_352


def test_geffnet_mobilenetv2_100():
    model = geffnet.mobilenetv2_100()
    assert _conv_signatures(model) == _layer_signatures(network("v2", 1.0, 224, 1000))
    assert count_model(model, _zeros(224)).macs == 300_774_272
    for res in RESOLUTIONS:
        _assert_totals_equal(model, "v2", 1.0, res)


def test_torchvision_mobilenet_v2():
    try:
        import torchvision

        if torchvision.__file__ == "torchvision-stand-in":  # tests/torchvision_stub.py, loaded for timm
            raise ImportError("only the test stand-in for torchvision is loaded")
        from torchvision.models import mobilenet_v2
    except Exception as error:  # torchvision's compiled ops may not load beside this torch build
        reason = f"torchvision does not import here: {type(error).__name__}: {error}"
        print(reason)
        pytest.skip(reason)
    for alpha in (1.0, 0.5):
        model = mobilenet_v2(width_mult=alpha)
        assert _conv_signatures(model) == _layer_signatures(network("v2", alpha, 224, 1000))
        for res in RESOLUTIONS:
            _assert_totals_equal(model, "v2", alpha, res)
