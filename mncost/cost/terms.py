"""Cost terms beyond the papers' mult-adds: one small pure function per term, and a registry.

Each term counts one kind of work (or one kind of parameter) in a Layer, in the
unit a counter would scale: elements, channels or mult-adds. A convention
(mncost.cost.conventions) is a selection and scaling of these terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..arch.layers import Layer, Network
from .ops import layer_cost


def _elements(channels: int, size: tuple[int, int]) -> int:
    return channels * size[0] * size[1]


def output_elements(layer: Layer) -> int:
    """Elements of the layer's output tensor (batch 1)."""
    return _elements(layer.out_channels, layer.output_size)


ATTENTION_OPS = ("attn_qk", "attn_av")  # [V4] Mobile MQA's two matmuls
MATMUL_OPS = (*ATTENTION_OPS, "matmul", "attention")  # mult-adds that are not a conv's or an FC's


def macs(layer: Layer) -> int:
    """Conv and FC multiply-adds, the papers' mult-adds."""
    return 0 if layer.op in MATMUL_OPS else layer_cost(layer).macs


def attention_macs(layer: Layer) -> int:
    """[V4] attention's Q K^T and attention x V multiply-adds (matmuls, which some counters never see)."""
    return layer_cost(layer).macs if layer.op in ATTENTION_OPS else 0


def batchnorm(layer: Layer) -> int:
    """BatchNorm by an nn.BatchNorm module at inference: one scale-and-shift per output element."""
    return output_elements(layer) if layer.norm and layer.call is None else 0


def batchnorm_functional(layer: Layer) -> int:
    """BatchNorm run as F.batch_norm by a module no counter has a rule for (timm's BatchNormAct2d)."""
    return output_elements(layer) if layer.norm and layer.call is not None else 0


def bn_params_functional(layer: Layer) -> int:
    """The affine params of such a BatchNorm (in a module with children, so no leaf layer owns them)."""
    return layer_cost(layer).bn_params if layer.op == "batchnorm" and layer.call is not None else 0


def relu(layer: Layer) -> int:
    """ReLU by an nn.ReLU module: one comparison per output element."""
    return output_elements(layer) if layer.activation == "relu" and layer.call is None else 0


def relu6(layer: Layer) -> int:
    """ReLU6 by an nn.ReLU6 module: one clamp per output element."""
    return output_elements(layer) if layer.activation == "relu6" and layer.call is None else 0


def input_elements(layer: Layer) -> int:
    """Elements of the layer's input tensor (batch 1)."""
    return _elements(layer.in_channels, layer.input_size)


def hardswish(layer: Layer) -> int:
    """[V3] hard-swish x * ReLU6(x + 3) / 6: one per output element."""
    return output_elements(layer) if layer.activation == "hswish" else 0


def hardsigmoid(layer: Layer) -> int:
    """[V3] hard-sigmoid ReLU6(x + 3) / 6, the squeeze-and-excite gate: one per output element."""
    return output_elements(layer) if layer.activation == "hsigmoid" else 0


def se_mul(layer: Layer) -> int:
    """The squeeze-and-excite multiply: one per output element."""
    return output_elements(layer) if layer.op == "mul" else 0


def se_pool(layer: Layer) -> int:
    """The additions of the pools inside [V3] blocks (the squeeze): one per input element."""
    return avgpool(layer) if layer.op == "avgpool" and layer.name.endswith(".se.pool") else 0


def avgpool(layer: Layer) -> int:
    """Average pooling by nn.AdaptiveAvgPool2d, its additions: one per input element."""
    return input_elements(layer) if layer.op == "avgpool" and layer.call is None else 0


def avgpool_div(layer: Layer) -> int:
    """Average pooling by nn.AdaptiveAvgPool2d, its divisions: one per output element."""
    return output_elements(layer) if layer.op == "avgpool" and layer.call is None else 0


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


def _called(op: str, calls: tuple[str, ...], measure: Callable[[Layer], int], attr: str = "op") -> Callable[[Layer], int]:
    """A term: measure(layer) on the rows of this op (or activation) run through one of these calls."""
    def count(layer: Layer) -> int:
        return measure(layer) if getattr(layer, attr) == op and layer.call in calls else 0
    return count


def softmax_ops(layer: Layer) -> int:
    """nn.Softmax over K classes, per row: K exp, K-1 adds and K divisions."""
    return (3 * layer.out_channels - 1) * layer.output_size[0] * layer.output_size[1] \
        if layer.op == "softmax" and layer.call is None else 0


def matmul_macs(layer: Layer) -> int:
    """The multiply-adds of a matmul row, whichever way it was called."""
    return layer_cost(layer).macs if layer.op == "matmul" else 0


def attention(layer: Layer) -> int:
    """Scaled dot-product attention's two matmuls, Q K^T and A V, per head: L*S*(E + Ev) mult-adds."""
    return layer_cost(layer).macs if layer.op == "attention" else 0


SDPA_AS_BMM = "F.scaled_dot_product_attention (math: bmm)"  # the call of an attention torch ran as bmm


def attention_bmm(layer: Layer) -> int:
    """Those matmuls when torch ran the attention as bmm (its math path), as dispatch-level counters see it;
    a fused kernel (flash attention on CPU) they may have no formula for."""
    return attention(layer) if layer.call == SDPA_AS_BMM else 0


def linear_tokens(layer: Layer) -> int:
    """A Linear on T tokens counted once instead of T times: (T-1) * (weights + bias)."""
    if layer.op != "linear":
        return 0
    cost = layer_cost(layer)
    return (layer.output_size[0] * layer.output_size[1] - 1) * (cost.weights + cost.bias)


def _unhooked(layer: Layer) -> bool:
    """A conv or FC layer run by a module that is not exactly nn.Conv2d / nn.Linear (timm's Linear, F.linear)."""
    return layer.op in ("conv2d", "linear") and layer.call is not None


def macs_unhooked(layer: Layer) -> int:
    """The mult-adds of such a layer: counters that look modules up by exact type skip them."""
    return macs(layer) if _unhooked(layer) else 0


def bias_add_unhooked(layer: Layer) -> int:
    """Its bias adds."""
    return bias_add(layer) if _unhooked(layer) else 0


def params_unhooked(layer: Layer) -> int:
    """Its weights and bias."""
    return weights(layer) + bias(layer) if _unhooked(layer) else 0


NAMED_MATMULS = ("torch.matmul", "Tensor.matmul", "torch.mm", "Tensor.mm", "torch.bmm", "Tensor.bmm")

TERMS: dict[str, Term] = {t.name: t for t in (
    Term("macs", "conv+FC mult-adds", macs),
    Term("attention_macs", "attention matmul mult-adds", attention_macs),
    Term("batchnorm", "BatchNorm", batchnorm),
    Term("relu", "ReLU", relu),
    Term("relu6", "ReLU6", relu6),
    Term("hardswish", "hard-swish", hardswish),
    Term("hardsigmoid", "hard-sigmoid", hardsigmoid),
    Term("se_mul", "SE multiply", se_mul),
    Term("se_pool", "SE pools (in avgpool)", se_pool),
    Term("avgpool", "avgpool", avgpool),
    Term("avgpool_div", "avgpool divisions", avgpool_div),
    Term("bias_add", "bias adds", bias_add),
    Term("residual_add", "residual adds", residual_add),
    Term("softmax", "softmax", softmax),
    Term("attention_softmax", "attention softmax", attention_softmax),
    Term("layer_scale", "layer scale", layer_scale),
    Term("gelu", "GELU", gelu),
    # How the op was called matters to the counters that hook modules or patch functions:
    Term("macs_unhooked", "conv/FC of a module subclass or F.linear", macs_unhooked),
    Term("bias_add_unhooked", "their bias adds", bias_add_unhooked),
    Term("params_unhooked", "their weights and bias", params_unhooked),
    Term("batchnorm_functional", "F.batch_norm", batchnorm_functional),
    Term("bn_params_functional", "BatchNorm params of F.batch_norm", bn_params_functional),
    Term("relu_functional", "F.relu", _called("relu", ("F.relu",), output_elements, "activation")),
    Term("relu6_functional", "F.relu6", _called("relu6", ("F.relu6",), output_elements, "activation")),
    Term("avgpool_functional", "F.adaptive_avg_pool2d",
         _called("avgpool", ("F.adaptive_avg_pool2d",), input_elements)),
    Term("avgpool_fixed", "nn.AvgPool2d", _called("avgpool", ("nn.AvgPool2d",), input_elements)),
    Term("avgpool_fixed_outputs", "nn.AvgPool2d outputs", _called("avgpool", ("nn.AvgPool2d",), output_elements)),
    Term("avgpool_fixed_functional", "F.avg_pool2d", _called("avgpool", ("F.avg_pool2d",), input_elements)),
    Term("maxpool", "nn.MaxPool2d", _called("maxpool", (None,), input_elements)),
    Term("maxpool_functional", "F.max_pool2d", _called("maxpool", ("F.max_pool2d",), input_elements)),
    Term("add", "adds (x + y)", _called("add", (None,), output_elements)),
    Term("add_named", "torch.add / x.add(y)", _called("add", ("torch.add", "Tensor.add"), output_elements)),
    Term("mul", "multiplies (x * y)", _called("mul", (None,), output_elements)),
    Term("mul_named", "torch.mul / x.mul(y)", _called("mul", ("torch.mul", "Tensor.mul"), output_elements)),
    Term("softmax_module", "nn.Softmax (exp, adds, divisions)", softmax_ops),
    Term("softmax_patched", "softmax via F.softmax", _called("softmax", (None, "F.softmax"), output_elements)),
    Term("matmul", "matmuls", matmul_macs),
    Term("matmul_named", "torch.matmul / mm / bmm", _called("matmul", NAMED_MATMULS, matmul_macs)),
    Term("attention", "attention matmuls (sdpa)", attention),
    Term("attention_bmm", "attention matmuls (sdpa run as bmm)", attention_bmm),
    Term("linear_tokens", "Linear per token (counted once)", linear_tokens),
    Term("weights", "weights", weights),
    Term("layer_scale_params", "layer-scale gammas", layer_scale_params),
    Term("bias", "bias", bias),
    Term("bn_params", "BatchNorm params", bn_params),
)}


def term_total(name: str, net: Network) -> int:
    """One term summed over every layer of the network."""
    count = TERMS[name].count
    return sum(count(layer) for layer in net.layers)
