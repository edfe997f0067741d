"""Per-layer costs, from the op registry: a layer's cost is the sum of its aten ops' entries.

A traced row holds the ops it ran; a built-in arch's layer derives the ops its module runs
(mncost.cost.layout), so a conv layer's mult-adds are the aten convolution entry applied to its shapes,
for both. Params keep their roles apart (weights, bias, BatchNorm affine, other norms' affine) because
every convention adds up a different subset; each parameter counts once, in the row that reads it first.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Iterator, Mapping

from ..arch.layers import Layer, Network
from ..arch.records import Op, Shape
from .aten import REGISTRY, WITH_MACS, OpCost, op_cost
from .layout import layer_records, parts

MACS = "conv, FC and attention-matmul multiply-adds"  # what `macs` counts, as the tables' footers say it
BATCH_NORMS = frozenset({"native_batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit"})
NORMS = frozenset({"native_layer_norm", "native_group_norm", "instance_norm", "rms_norm"})
BIAS_FIRST = frozenset({"addmm", "baddbmm", "addmv"})  # ops whose `self` is the bias they add
RECURRENT = frozenset({"lstm", "gru", "rnn_tanh", "rnn_relu"})


@dataclass(frozen=True)
class LayerCost:
    """The cost terms of one layer, exact integers."""

    macs: int = 0  # conv and FC multiply-adds (the papers' mult-adds), and every other op's multiply-adds
    weights: int = 0
    bias: int = 0
    bn_params: int = 0  # norms' affine weight and bias (BatchNorm's 2 per channel; layer, group, ... norms')
    activations: int = 0  # output elements

    @property
    def params(self) -> int:
        """Every trainable parameter of the equivalent PyTorch module."""
        return self.weights + self.bias + self.bn_params

    def __add__(self, other: LayerCost) -> LayerCost:
        return LayerCost(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def param_role(name: str, args: Mapping[str, Any], arg: str) -> str:
    """Which LayerCost field a parameter passed to aten op `name` as `arg` counts in."""
    if name in BATCH_NORMS:
        return "bn_params"
    if name in NORMS:
        return "norm_params"
    if name in RECURRENT and arg.startswith("params."):  # w_ih, w_hh[, b_ih, b_hh][, w_hr] per layer
        runs = args["num_layers"] * (2 if args["bidirectional"] else 1)
        position = int(arg.split(".")[1]) % (len(args["params"]) // runs)
        return "bias" if args["has_biases"] and position in (2, 3) else "weights"
    return "bias" if "bias" in arg or arg.startswith("b_") or (name in BIAS_FIRST and arg == "self") else "weights"


def layer_ops(layer: Layer) -> tuple[Op, ...]:
    """The aten ops a layer runs: a traced row's own, or those its module runs as mncost builds it."""
    return layer.ops or layer_records(layer)[0]


def costed(ops: tuple[Op, ...]) -> Iterator[tuple[Op, OpCost]]:
    """Each op the registry costs (not the inside of a composite op, not an op without an entry)."""
    for op in ops:
        if not op.inner:
            cost = op.cost if op.cost is not None else op_cost(op.name, op.args, op.out)
            if cost is not None:
                yield op, cost


def layer_params(layer: Layer, ops: tuple[Op, ...]) -> tuple[tuple[str, str, Shape], ...]:
    """The parameters a layer reads first, with their roles: a traced row's own, or each its ops read."""
    if layer.ops:
        return layer.params
    seen: dict[str, tuple[str, str, Shape]] = {}
    for op in ops:
        for arg, key in op.params.items():
            seen.setdefault(key, (key, param_role(op.name, op.args, arg), op.args[arg]))
    return tuple(seen.values())


def layer_cost(layer: Layer) -> LayerCost:
    """The cost of one layer, through the registry: a traced row's ops, or the ops of a built-in layer's
    layout (mncost.cost.layout.parts: their arguments alone, as the sweeps cost millions of layers)."""
    roles = {"weights": 0, "bias": 0, "bn_params": 0, "norm_params": 0}
    macs, last = 0, None
    if layer.ops:
        for op, cost in costed(layer.ops):
            macs += cost.macs
            last = op.out[0] if op.out else last
        for _, role, shape in layer.params:
            roles[role] += Shape(shape).numel
    else:
        seen: set[str] = set()
        for part in parts(layer):
            if part.name in WITH_MACS:
                macs += REGISTRY[part.name](part.args, part.out).macs
            last = part.out[0]
            for arg, key in part.params.items():
                if key not in seen:
                    seen.add(key)
                    roles[param_role(part.name, part.args, arg)] += part.args[arg].numel
    roles["bn_params"] += roles.pop("norm_params")
    return LayerCost(macs=macs, activations=last.numel if last is not None else 0, **roles)


def network_costs(net: Network) -> list[tuple[Layer, LayerCost]]:
    """Each layer with its cost, in order."""
    return [(layer, layer_cost(layer)) for layer in net.layers]


def total_cost(net: Network) -> LayerCost:
    """The sum over all layers."""
    return sum((cost for _, cost in network_costs(net)), LayerCost())
