"""Cost terms: named counts of one kind of work or parameter in a row, read off its records.

Each term counts one thing in the unit a counter scales it by: multiply-adds, elements, parameters. A
convention (mncost.cost.conventions) is a selection and scaling of these terms. A row's terms come from
its aten ops (costed by mncost.cost.aten), the torch calls they ran under and the module calls that began
in it (mncost.arch.records; a built-in layer derives its own, mncost.cost.layout), so `compare --arch v2`
and `compare TARGET` on the module mncost builds for it count the same terms. Every row's terms are
computed once per network.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from ..arch.layers import Layer, Network
from ..arch.records import ModuleCall, Op, Shape
from . import tools
from .aten import ACTIVATION_KINDS, OpCost
from .ops import BATCH_NORMS, costed, layer_params

CONVS = frozenset({"convolution", "_convolution"})
MATRIX = frozenset({"mm", "bmm", "addmm", "baddbmm", "dot", "mv", "addmv", "matmul", "einsum", "_trilinear"})
ATTENTION_CALLS = ("F.scaled_dot_product_attention", "nn.MultiheadAttention", "nn.TransformerEncoderLayer",
                   "nn.TransformerEncoder")
RECURRENT = frozenset({"lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell",
                       "rnn_relu_cell", "mkldnn_rnn_layer"})
BATCH_NORM_MODULES = frozenset({"BatchNorm1d", "BatchNorm2d", "BatchNorm3d"})
# an activation's kind -> the nn module that runs it (its hook) and the F function that does (a patch)
ACTIVATION_FACTS = {"relu": ("ReLU", "F.relu"), "relu6": ("ReLU6", "F.relu6"), "gelu": ("GELU", "F.gelu"),
                    "elu": ("ELU", "F.elu"), "prelu": ("PReLU", "F.prelu"), "leaky_relu": ("LeakyReLU", "")}
ANY_CALL = {"hswish": "hardswish", "hsigmoid": "hardsigmoid", "silu": "silu"}  # counted however called


ATTENTION_OPS = frozenset({"_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
                           "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
                           "_native_multi_head_attention", "_transformer_encoder_layer_fwd"})


def kind_of(op: Op) -> str | None:
    """Which exact-count term an op's multiply-adds belong to: macs, matmul, attention, recurrent, or none."""
    if op.name in CONVS or op.call.function == "F.linear" and op.name in MATRIX:
        return "macs"
    if op.name in ATTENTION_OPS or op.call.function in ATTENTION_CALLS and op.name in MATRIX:
        return "attention"
    if op.name in RECURRENT:
        return "recurrent"
    return "matmul" if op.name in MATRIX else None


def _module_op(op: Op, classes: frozenset[str] | set[str]) -> bool:
    """The op is the own op of a module of one of these exact torch.nn classes."""
    return op.own and op.module is not None and op.module.type.startswith(tools.NN) \
        and op.module.type.rpartition(".")[2] in classes


def _op_facts(op: Op, cost: OpCost, facts: Counter, shortcut: bool) -> None:
    kind = kind_of(op)
    if kind:
        facts[kind] += cost.macs
    if kind == "macs":
        facts["bias_add"] += cost.of("bias")
        hooked = _module_op(op, tools.PTFLOPS_CONVS | {"Linear"}) and not tools.ptflops_shadowed(op.module)
        if not hooked:
            facts["macs_unhooked"] += cost.macs
            facts["bias_add_unhooked"] += cost.of("bias")
    elements = op.out[0].numel if op.out else 0
    if op.name in BATCH_NORMS and op.args.get("weight") is not None:
        exact = _module_op(op, BATCH_NORM_MODULES) and not tools.ptflops_shadowed(op.module)
        facts["batchnorm" if exact else "batchnorm_functional"] += cost.of("norm")
    activation = ACTIVATION_KINDS.get(op.name)
    if activation == "relu6" and (op.args.get("min_val"), op.args.get("max_val")) != (0, 6):
        activation = None  # a hardtanh
    if activation in ANY_CALL:  # however called (the [V3] terms; F.silu)
        facts[ANY_CALL[activation]] += elements
    elif activation in ACTIVATION_FACTS:  # by its nn module (relu, gelu, ...), or as F.relu, F.gelu, ... in a forward
        module, function = ACTIVATION_FACTS[activation]
        if _module_op(op, {module}):
            facts[activation] += elements
        elif function and op.call.function == function:
            facts[f"{activation}_functional"] += elements
    if op.name in ("add", "add_") and op.call.function in ("Tensor.__add__", "Tensor.__iadd__") and shortcut:
        facts["residual_add"] += elements
    pooled = op.args["self"].numel if op.name in ("mean", "_adaptive_avg_pool2d") and "self" in op.args else 0
    if pooled and op.call.function == "F.adaptive_avg_pool2d":
        module = _module_op(op, {"AdaptiveAvgPool2d"})
        facts["avgpool" if module else "avgpool_functional"] += pooled
        facts["avgpool_div"] += elements if module else 0
    if op.name in ("_softmax", "_safe_softmax") and op.call.function in ("F.softmax", "torch.softmax",
                                                                          "Tensor.softmax"):
        facts["softmax_patched" if op.call.function == "F.softmax" else "softmax_other"] += op.args["self"].numel


def _call_facts(call: ModuleCall, facts: Counter) -> None:
    cls = tools.nn_class(call)
    if tools.ptflops_hooked(call):
        facts["ptflops_hooks"] += tools.ptflops_hook(call)
        if cls in tools.PTFLOPS_RNNS | {"MultiheadAttention"} or call.module.type == tools.TIMM_ATTENTION:
            facts["ptflops_module_rules"] += tools.ptflops_hook(call)
    if tools.thop_ruled(call):
        facts["thop_count"] += tools.thop_hook(call)
        if call.first:
            facts["thop_params"] += sum(n for _, _, n, _ in call.module.params)
    facts["torchinfo_count"] += tools.torchinfo_macs(call)
    if cls == "Softmax":
        facts["softmax_module"] += int(tools.thop_hook(call))
    if cls.startswith("AvgPool") and call.output is not None:
        facts["avgpool_fixed_outputs"] += call.output.numel
    if "Norm" in cls and call.module.leaf and call.output is not None:
        facts["norm_params_batch"] += call.output[0] * sum(n for _, _, n, _ in call.module.params)
    if cls == "Linear" and call.output is not None and len(call.output) > 2:
        params = sum(n for _, _, n, _ in call.module.params)
        facts["linear_tokens"] += (call.output.numel // call.output[-1] - call.output[0]) * params


def row_facts(layer: Layer) -> Counter:
    """Every term of one row, read off its records in one pass."""
    from .layout import layer_records  # a built-in layer's records, derived

    ops, calls = (layer.ops, layer.calls) if layer.ops else layer_records(layer)
    facts: Counter = Counter()
    for op, cost in costed(ops):
        _op_facts(op, cost, facts, layer.shortcut is not None)
    for call in calls:
        _call_facts(call, facts)
    exact = facts["macs"] + facts["matmul"] + facts["attention"] + facts["recurrent"]
    facts["unseen_flop_counter"] += exact - tools.flop_counter_macs(ops)
    fv_macs, fv_other = tools.fvcore_counts(ops)
    facts["unseen_fvcore"] += exact - fv_macs
    facts["fvcore_count"] += fv_macs + fv_other
    for call, group in tools.groups(ops):
        patch = tools.ptflops_patch(call, group)
        facts["ptflops_patches"] += patch
        named = {**dict.fromkeys(tools.PTFLOPS_MATMULS, "matmul_named"), "torch.add": "add_named",
                 "Tensor.add": "add_named", "torch.mul": "mul_named", "Tensor.mul": "mul_named"}
        if call.function in named:
            facts[named[call.function]] += patch
    for _, role, shape in layer_params(layer, ops):
        facts["layer_scale_params" if layer.op == "layerscale" and role == "weights" else role] += Shape(shape).numel
    _analytic(layer, facts)
    return facts


def _analytic(layer: Layer, facts: Counter) -> None:
    """Terms of the papers' own layers: [V3] squeeze-and-excite, [V4] attention softmax and layer scale,
    and the classifier's softmax ([V1] Table 1)."""
    out = layer.out_channels * layer.output_size[0] * layer.output_size[1] if len(layer.output_size) == 2 else 0
    if layer.op == "mul":
        facts["se_mul"] += out
    if layer.op == "avgpool" and layer.name.endswith(".se.pool"):
        facts["se_pool"] += layer.in_channels * layer.input_size[0] * layer.input_size[1]
    if layer.op == "layerscale":
        facts["layer_scale"] += out
    if layer.op == "linear":
        facts["softmax"] += 3 * layer.out_channels - 1
    if layer.op == "attn_qk":
        kv = layer.kv_size[0] * layer.kv_size[1]  # type: ignore[attr-defined]  (AttentionMatmul)
        facts["attention_softmax"] += out * kv // kv * (3 * kv - 1) if kv else 0


@lru_cache(maxsize=64)
def network_facts(net: Network) -> tuple[Counter, ...]:
    """Every row's terms, computed once per network."""
    return tuple(row_facts(layer) for layer in net.layers)


@dataclass(frozen=True)
class Term:
    """A named cost term: a label for people and how to count it on one row (or on the whole network)."""

    name: str
    label: str
    network: Callable[[Network], int] | None = None  # a term of the network, not of its rows


def _unused(net: Network) -> int:
    return sum(numel for _, numel in net.unused)


TERMS: dict[str, Term] = {t.name: t for t in (
    Term("macs", "conv+FC mult-adds"),
    Term("matmul", "matmul mult-adds"),
    Term("attention", "attention mult-adds"),
    Term("recurrent", "recurrent (RNN) mult-adds"),
    Term("bias_add", "bias adds"),
    Term("residual_add", "residual adds"),
    Term("batchnorm", "BatchNorm"),
    Term("batchnorm_functional", "F.batch_norm"),
    Term("relu", "ReLU"), Term("relu_functional", "F.relu"), Term("relu6", "ReLU6"),
    Term("relu6_functional", "F.relu6"), Term("gelu", "GELU"), Term("gelu_functional", "F.gelu"),
    Term("silu", "SiLU (F.silu)"), Term("hardswish", "hard-swish"), Term("hardsigmoid", "hard-sigmoid"),
    Term("se_mul", "SE multiply"), Term("se_pool", "SE pools (in avgpool)"),
    Term("avgpool", "avgpool"), Term("avgpool_div", "avgpool divisions"),
    Term("avgpool_functional", "F.adaptive_avg_pool2d"), Term("avgpool_fixed_outputs", "nn.AvgPool2d outputs"),
    Term("softmax", "softmax"), Term("attention_softmax", "attention softmax"), Term("layer_scale", "layer scale"),
    Term("softmax_module", "nn.Softmax (exp, adds, divisions)"), Term("softmax_patched", "softmax via F.softmax"),
    Term("macs_unhooked", "conv/FC of a module subclass or F.linear"), Term("bias_add_unhooked", "their bias adds"),
    Term("matmul_named", "torch.matmul / mm / bmm"), Term("add_named", "torch.add / x.add(y)"),
    Term("mul_named", "torch.mul / x.mul(y)"), Term("linear_tokens", "Linear per token (counted once)"),
    Term("norm_params_batch", "norm params"),
    Term("ptflops_module_rules", "nn.MultiheadAttention, RNNs and timm's Attention by ptflops's formulas"),
    Term("unseen_flop_counter", "mult-adds with no flop-counter formula"),
    Term("unseen_fvcore", "mult-adds fvcore has no handle for"),
    Term("weights", "weights"), Term("layer_scale_params", "layer-scale gammas"), Term("bias", "bias"),
    Term("bn_params", "BatchNorm params"), Term("norm_params", "other norms' params"),
    Term("unused_params", "params no op read", network=_unused),
    Term("frozen_params", "params that do not require grad", network=lambda net: net.frozen),
)}


def term_total(name: str, net: Network) -> int:
    """One term summed over every row of the network."""
    term = TERMS.get(name)
    if term is not None and term.network is not None:
        return term.network(net)
    return sum(facts[name] for facts in network_facts(net))
