"""Cost terms beyond the papers' mult-adds: one small pure function per term, and a registry.

Each term counts one kind of work (or one kind of parameter) in a Layer, in the
unit a counter would scale: elements, channels or mult-adds. A convention
(mncost.conventions) is a selection and scaling of these terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .costs import layer_cost
from .layers import Layer, Network


def _elements(channels: int, size: tuple[int, int]) -> int:
    return channels * size[0] * size[1]


def output_elements(layer: Layer) -> int:
    """Elements of the layer's output tensor (batch 1)."""
    return _elements(layer.out_channels, layer.output_size)


ATTENTION_OPS = ("attn_qk", "attn_av")  # [V4] Mobile MQA's two matmuls


def macs(layer: Layer) -> int:
    """Conv and FC multiply-adds, the papers' mult-adds."""
    return 0 if layer.op in ATTENTION_OPS else layer_cost(layer).macs


def attention_macs(layer: Layer) -> int:
    """[V4] attention's Q K^T and attention x V multiply-adds (matmuls, which some counters never see)."""
    return layer_cost(layer).macs if layer.op in ATTENTION_OPS else 0


def batchnorm(layer: Layer) -> int:
    """BatchNorm at inference: one scale-and-shift per output element."""
    return output_elements(layer) if layer.norm else 0


def relu(layer: Layer) -> int:
    """ReLU: one comparison per output element."""
    return output_elements(layer) if layer.activation == "relu" else 0


def relu6(layer: Layer) -> int:
    """ReLU6: one clamp per output element."""
    return output_elements(layer) if layer.activation == "relu6" else 0


def avgpool(layer: Layer) -> int:
    """Average pooling's additions: one per input element."""
    return _elements(layer.in_channels, layer.input_size) if layer.op == "avgpool" else 0


def avgpool_div(layer: Layer) -> int:
    """Average pooling's divisions: one per output element."""
    return output_elements(layer) if layer.op == "avgpool" else 0


def bias_add(layer: Layer) -> int:
    """Bias adds of a conv or FC layer with a bias: one per output element."""
    return output_elements(layer) if layer.bias else 0


def residual_add(layer: Layer) -> int:
    """The [V2] residual add after this layer: one per output element."""
    return output_elements(layer) if layer.shortcut else 0


def softmax(layer: Layer) -> int:
    """The classifier's softmax ([V1] Table 1) over K classes: K exp, K-1 adds, K divisions."""
    k = layer.out_channels
    return 3 * k - 1 if layer.op == "linear" else 0


def attention_softmax(layer: Layer) -> int:
    """[V4] attention's softmax over each query's area_kv logits, per head: area_kv exp, area_kv - 1 adds,
    area_kv divisions (as the classifier's softmax above)."""
    if layer.op != "attn_qk":
        return 0
    kv = layer.kv_size[0] * layer.kv_size[1]  # type: ignore[attr-defined]  (AttentionMatmul)
    return layer.out_channels * layer.output_size[0] * layer.output_size[1] * (3 * kv - 1)


def layer_scale(layer: Layer) -> int:
    """[V4] layer scale: one multiply per output element."""
    return output_elements(layer) if layer.op == "layerscale" else 0


def gelu(layer: Layer) -> int:
    """GELU ([V4] Hybrid-L): one evaluation per output element."""
    return output_elements(layer) if layer.activation == "gelu" else 0


def weights(layer: Layer) -> int:
    """Conv and FC weights (the papers' params)."""
    return 0 if layer.op == "layerscale" else layer_cost(layer).weights


def layer_scale_params(layer: Layer) -> int:
    """[V4] layer scale's gammas, one per channel."""
    return layer_cost(layer).weights if layer.op == "layerscale" else 0


def bias(layer: Layer) -> int:
    """Conv and FC bias parameters."""
    return layer_cost(layer).bias


def bn_params(layer: Layer) -> int:
    """BatchNorm affine parameters: a weight and a bias per channel."""
    return layer_cost(layer).bn_params


@dataclass(frozen=True)
class Term:
    """A named cost term: a label for people and a function of one layer."""

    name: str
    label: str
    count: Callable[[Layer], int]


TERMS: dict[str, Term] = {t.name: t for t in (
    Term("macs", "conv+FC mult-adds", macs),
    Term("attention_macs", "attention matmul mult-adds", attention_macs),
    Term("batchnorm", "BatchNorm", batchnorm),
    Term("relu", "ReLU", relu),
    Term("relu6", "ReLU6", relu6),
    Term("avgpool", "avgpool", avgpool),
    Term("avgpool_div", "avgpool divisions", avgpool_div),
    Term("bias_add", "bias adds", bias_add),
    Term("residual_add", "residual adds", residual_add),
    Term("softmax", "softmax", softmax),
    Term("attention_softmax", "attention softmax", attention_softmax),
    Term("layer_scale", "layer scale", layer_scale),
    Term("gelu", "GELU", gelu),
    Term("weights", "weights", weights),
    Term("layer_scale_params", "layer-scale gammas", layer_scale_params),
    Term("bias", "bias", bias),
    Term("bn_params", "BatchNorm params", bn_params),
)}


def term_total(name: str, net: Network) -> int:
    """One term summed over every layer of the network."""
    count = TERMS[name].count
    return sum(count(layer) for layer in net.layers)
