"""Per-layer costs: a registry from op kind to one small pure function.

In the spirit of fvcore's jit handles. Params keep their terms apart (weights,
bias, BatchNorm affine) because every convention adds up a different subset.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from ..arch.layers import Layer, Network
from . import formulas

MACS = "conv, FC and attention-matmul multiply-adds"  # what `macs` counts, as the tables' footers say it


@dataclass(frozen=True)
class LayerCost:
    """The cost terms of one layer, exact integers."""

    macs: int = 0  # conv and FC multiply-adds (the papers' mult-adds), and attention / matmul multiply-adds
    weights: int = 0
    bias: int = 0
    bn_params: int = 0  # BatchNorm affine weight and bias (2 per channel)
    activations: int = 0  # output elements

    @property
    def params(self) -> int:
        """Every trainable parameter of the equivalent PyTorch module."""
        return self.weights + self.bias + self.bn_params

    def __add__(self, other: LayerCost) -> LayerCost:
        return LayerCost(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def _area(layer: Layer) -> int:
    return layer.output_size[0] * layer.output_size[1]


def _with_outputs(layer: Layer, macs: int, weights: int) -> LayerCost:
    """The terms every conv and FC layer shares: bias, BatchNorm and output elements."""
    n = layer.out_channels
    return LayerCost(macs, weights, n if layer.bias else 0, 2 * n if layer.norm else 0, n * _area(layer))


def conv_cost(layer: Layer) -> LayerCost:
    """Any 2-d convolution, grouped or not: D_K*D_K*(M/g)*N*D_F*D_F mult-adds."""
    k, m, n, g = layer.kernel, layer.in_channels, layer.out_channels, layer.groups
    return _with_outputs(layer, formulas.grouped_conv_macs(k, m, n, layer.output_size, g),
                         formulas.grouped_conv_params(k, m, n, g))


def linear_cost(layer: Layer) -> LayerCost:
    """A fully connected layer: in*out mult-adds and weights, per token when it runs on a sequence."""
    m, n = layer.in_channels, layer.out_channels
    return _with_outputs(layer, formulas.linear_macs(m, n) * _area(layer), formulas.linear_params(m, n, bias=False))


def pool_cost(layer: Layer) -> LayerCost:
    """Global average pooling: no mult-adds in the papers' count, no params."""
    return LayerCost(activations=layer.out_channels * _area(layer))


def outputs_cost(layer: Layer) -> LayerCost:
    """An op with no mult-adds in the papers' count and no params: the [V3] squeeze-and-excite multiply,
    and a traced model's activation, add, softmax, ... rows."""
    return LayerCost(activations=layer.out_channels * _area(layer))


def norm_cost(layer: Layer) -> LayerCost:
    """A BatchNorm on its own ([V4] MQA pre-norm): its affine params, no mult-adds."""
    return LayerCost(bn_params=2 * layer.out_channels, activations=layer.out_channels * _area(layer))


def layer_scale_cost(layer: Layer) -> LayerCost:
    """[V4] layer scale: one learned gamma per channel (counted as weights), no mult-adds."""
    return LayerCost(weights=layer.out_channels, activations=layer.out_channels * _area(layer))


def _kv_area(layer: Layer) -> int:
    return layer.kv_size[0] * layer.kv_size[1]  # type: ignore[attr-defined]  (AttentionMatmul)


def attention_logits_cost(layer: Layer) -> LayerCost:
    """Q K^T over every head: heads x key_dim x area_q x area_kv mult-adds, heads x area_q x area_kv outputs."""
    return LayerCost(macs=layer.in_channels * _area(layer) * _kv_area(layer),
                     activations=layer.out_channels * _area(layer) * _kv_area(layer))


def attention_values_cost(layer: Layer) -> LayerCost:
    """attention x V over every head: heads x value_dim x area_q x area_kv mult-adds."""
    return LayerCost(macs=layer.out_channels * _area(layer) * _kv_area(layer),
                     activations=layer.out_channels * _area(layer))


def matmul_cost(layer: Layer) -> LayerCost:
    """A traced matmul: inner dimension x output elements mult-adds."""
    outputs = layer.out_channels * _area(layer)
    return LayerCost(macs=layer.in_channels * outputs, activations=outputs)


def attention_cost(layer: Layer) -> LayerCost:
    """A traced scaled dot-product attention over `groups` heads, L queries and S keys: Q K^T and A V,
    L*S*(E + Ev) mult-adds per head."""
    (length, source), heads = layer.input_size, layer.groups
    return LayerCost(macs=heads * length * source * (layer.in_channels + layer.out_channels),
                     activations=heads * layer.out_channels * length)


COST_FUNCTIONS: dict[str, Callable[[Layer], LayerCost]] = {
    "conv2d": conv_cost,
    "linear": linear_cost,
    "avgpool": pool_cost,
    **dict.fromkeys(("mul", "maxpool", "act", "add", "softmax"), outputs_cost),
    "matmul": matmul_cost,
    "batchnorm": norm_cost,
    "layerscale": layer_scale_cost,
    "attn_qk": attention_logits_cost,
    "attn_av": attention_values_cost,
    "attention": attention_cost,
}


def layer_cost(layer: Layer) -> LayerCost:
    """The cost of one layer, through the registry."""
    return COST_FUNCTIONS[layer.op](layer)


def network_costs(net: Network) -> list[tuple[Layer, LayerCost]]:
    """Each layer with its cost, in order."""
    return [(layer, layer_cost(layer)) for layer in net.layers]


def total_cost(net: Network) -> LayerCost:
    """The sum over all layers."""
    return sum((cost for _, cost in network_costs(net)), LayerCost())
