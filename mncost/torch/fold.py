"""Any model as mncost's Layer rows: what one forward pass executed, folded the way the built-in archs are.

A conv or FC layer takes the BatchNorm and the activation module that consume its output (norm,
activation) and an `x + y` residual add (shortcut), as mncost.arch lays them out; any other op
(a functional activation, a pool, a softmax, an add, a matmul, attention) is a row of its own whose
`call` says how it ran. The rows are a Network, so costs, terms, conventions and the ledger apply
unchanged: `compare --arch v2` and `compare TARGET` on mncost's own V2 module are one computation.
Pure data in, pure data out: the recording itself is mncost.torch.trace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..arch.layers import Layer, Network, Size
from ..cost.ops import LayerCost, layer_cost
from ..cost.terms import SDPA_AS_BMM, TERMS, input_elements
from ..errors import MncostError
from ..table import Column, Table

# aten ops that move or view data and cost nothing in any counter's rule
FREE_ATEN = {
    "view", "_unsafe_view", "reshape", "t", "transpose", "permute", "expand", "clone", "contiguous",
    "detach", "alias", "squeeze", "unsqueeze", "flatten", "select", "slice", "split", "split_with_sizes",
    "unbind", "chunk", "cat", "stack", "empty", "empty_like", "zeros", "zeros_like", "ones", "fill_", "copy_",
    "lift_fresh", "_to_copy", "to", "as_strided", "new_empty", "new_zeros", "_reshape_alias", "dropout",
    "native_dropout", "sym_size", "sym_numel", "sym_stride", "is_same_size", "full", "scalar_tensor",
    "arange", "_local_scalar_dense", "resolve_conj", "resolve_neg", "unfold",
}


@dataclass(frozen=True)
class Aten:
    """One aten op as it executed: its name, the shapes of its tensor arguments and of its output."""

    name: str
    inputs: tuple[tuple[int, ...], ...]
    output: tuple[int, ...] | None


@dataclass
class Call:
    """One Python-level torch call and what ran under it."""

    function: str  # F.relu, torch.conv2d, Tensor.__add__, Tensor.mean, ...
    module: str  # path of the innermost module running ("" for the root)
    module_type: str  # that module's class name
    leaf_op: bool  # True: the module is a torch.nn op module (nn.ReLU, ...) and this is its op
    args: list[Any]  # tensor arguments as shapes, other arguments as they are
    kwargs: dict[str, Any]
    inputs: list[int]  # ids of the tensor arguments
    output: int | None = None  # id of the (first) output tensor
    shape: tuple[int, ...] | None = None  # its shape
    aten: list[Aten] = field(default_factory=list)
    params: int = 0  # elements of the nn.Parameters it reads, directly or through a view (a layer-scale gamma)

    @property
    def costly(self) -> list[Aten]:
        """The aten ops that are not views, copies or allocations."""
        return [a for a in self.aten if a.name not in FREE_ATEN]


@dataclass(frozen=True)
class Trace:
    """Every costly call of one forward pass, in order, and the model's modules."""

    calls: tuple[Call, ...]
    modules: dict[str, str]  # path -> class name


# aten op -> the row it makes; activations by their kind
ACTIVATIONS = {"relu": "relu", "relu_": "relu", "hardtanh": "relu6", "hardtanh_": "relu6",
               "hardswish": "hswish", "hardswish_": "hswish", "hardsigmoid": "hsigmoid",
               "hardsigmoid_": "hsigmoid", "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "silu": "silu",
               "silu_": "silu", "gelu": "gelu"}
OPS = {"convolution": "conv2d", "native_batch_norm": "batchnorm",
       "_native_batch_norm_legit_no_training": "batchnorm", "_adaptive_avg_pool2d": "avgpool",
       "avg_pool2d": "avgpool", "mean": "avgpool", "max_pool2d_with_indices": "maxpool", "max_pool2d": "maxpool",
       "add": "add", "add_": "add", "mul": "mul", "mul_": "mul", "_softmax": "softmax", "softmax": "softmax",
       "bmm": "matmul", "mm": "matmul", "addmm": "matmul", "matmul": "matmul",
       "_scaled_dot_product_flash_attention_for_cpu": "attention",
       "_scaled_dot_product_attention_math": "attention", "_scaled_dot_product_efficient_attention": "attention",
       **dict.fromkeys(ACTIVATIONS, "act")}
# The nn module each op has when mncost.torch.build builds it: a row run by it has call None.
STANDARD = {"conv2d": {"Conv2d"}, "linear": {"Linear"}, "batchnorm": {"BatchNorm2d", "BatchNorm1d"},
            "avgpool": {"AdaptiveAvgPool2d"}, "maxpool": {"MaxPool2d"}, "softmax": {"Softmax"},
            "relu": {"ReLU"}, "relu6": {"ReLU6"}, "hswish": {"Hardswish"}, "hsigmoid": {"Hardsigmoid"},
            "sigmoid": {"Sigmoid"}, "silu": {"SiLU"}, "gelu": {"GELU"}}
FREE_MODULES = {"Flatten", "Dropout", "Identity"}  # modules a layer's container may hold at no cost


def _side(value: Any) -> int:
    """A square kernel/stride/padding as one int."""
    if isinstance(value, str):
        raise MncostError(f"padding {value!r} is not supported; give the padding as integers")
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise MncostError(f"non-square kernel, stride or padding {tuple(value)} is not supported")
        return int(value[0])
    return int(value)


def _spatial(shape: tuple[int, ...]) -> tuple[int, Size]:
    """Channels and size of a tensor: NCHW -> C, (H, W); (N, C) -> C, (1, 1); (N, T, C) -> C, (T, 1)."""
    if len(shape) == 0:  # a scalar, as y.pow(2).mean() returns
        return 1, (1, 1)
    if len(shape) == 4:
        return shape[1], (shape[2], shape[3])
    if len(shape) == 2:
        return shape[1], (1, 1)
    return shape[-1], (math.prod(shape[1:-1]), 1)


def _arg(call: Call, index: int, name: str, default: Any = None) -> Any:
    if len(call.args) > index:
        return call.args[index]
    return call.kwargs.get(name, default)


def op_of(call: Call) -> tuple[str, str | None]:
    """The row kind of a call (conv2d, linear, act, ...) and, for an activation, its kind."""
    if call.function == "F.linear":
        return "linear", None
    if call.function == "F.scaled_dot_product_attention":  # whichever kernel ran it (math: mul, bmm, softmax)
        return "attention", None
    for aten in call.costly:
        op = OPS.get(aten.name)
        if op == "act":
            kind = ACTIVATIONS[aten.name]
            if kind == "relu6" and (call.function == "F.hardtanh"
                                    and (_arg(call, 1, "min_val", -1.0), _arg(call, 2, "max_val", 1.0)) != (0, 6)):
                kind = "hardtanh"
            return "act", kind
        if op is not None:
            return op, None
    return "other", None


def call_of(call: Call, op: str, kind: str | None) -> str | None:
    """None when the op ran in its standard nn module (as mncost builds it), else how it ran."""
    if call.leaf_op:
        return None if call.module_type in STANDARD.get(kind or op, ()) else f"nn.{call.module_type}"
    return call.function


@dataclass
class _Row:
    layer: Layer
    input: int | None  # id of the input tensor
    parts: list[str] = field(default_factory=list)  # module paths folded into the row
    shortcut: int | None = None  # index of the row whose input the residual adds


def _new_row(call: Call, op: str, kind: str | None) -> Layer | None:
    """The Layer of one call that starts a row."""
    name = call.module if call.leaf_op else ".".join(filter(None, [call.module, call.function]))
    how = call_of(call, op, kind)
    first = call.args[0] if call.args and isinstance(call.args[0], tuple) else None
    if first is None or call.shape is None:
        return None
    in_c, in_size = _spatial(first)
    out_c, out_size = _spatial(call.shape)
    if op == "conv2d":
        weight = call.args[1]
        return Layer(name, "conv2d", in_c, weight[0], in_size, out_size, _side(weight[2:]),
                     _side(_arg(call, 3, "stride", 1)), _side(_arg(call, 4, "padding", 0)),
                     int(_arg(call, 6, "groups", 1)), bias=_arg(call, 2, "bias") is not None, call=how)
    if op == "linear":
        weight = call.args[1]
        return Layer(name, "linear", weight[1], weight[0], in_size, out_size, bias=_arg(call, 2, "bias") is not None,
                     call=how)
    if op == "avgpool" and call.function == "F.avg_pool2d":  # a fixed kernel (nn.AvgPool2d calls it too)
        kernel = _side(_arg(call, 1, "kernel_size"))
        stride = _arg(call, 2, "stride")
        return Layer(name, "avgpool", in_c, out_c, in_size, out_size, kernel, _side(stride or kernel),
                     _side(_arg(call, 3, "padding", 0)), call=how)
    if op == "softmax":
        dim = _arg(call, 1, "dim")
        k = first[dim] if first else 1  # softmax of a scalar: one element
        return Layer(name, "softmax", k, k, (math.prod(first) // k, 1), (math.prod(first) // k, 1), call=how)
    if op == "matmul":
        inner = first[-1]
        return Layer(name, "matmul", inner, call.shape[-1], (math.prod(call.shape[:-1]), 1),
                     (math.prod(call.shape[:-1]), 1), call=how)
    if op == "attention":
        query, key, value = call.args[:3]
        ran_as_bmm = any(aten.name == "bmm" for aten in call.costly)
        return Layer(name, "attention", query[-1], value[-1], (query[-2], key[-2]), (query[-2], 1),
                     groups=math.prod(query[:-2]), call=SDPA_AS_BMM if ran_as_bmm else how)
    if op == "mul" and call.params == in_c == out_c:  # x * gamma, one learned gamma per channel
        return Layer(name, "layerscale", in_c, out_c, in_size, out_size, call=how)
    return Layer(name, op, in_c, out_c, in_size, out_size, norm=op == "batchnorm", activation=kind, call=how)


def _foldable(call: Call, op: str, kind: str | None) -> bool:
    return call.leaf_op and call_of(call, op, kind) is None


def rows_of(trace: Trace) -> tuple[list[Layer], list[str]]:
    """The Layer rows of a traced forward pass, and a note per executed op no row counts."""
    rows: list[_Row] = []
    produced: dict[int, int] = {}  # tensor id -> index of the row whose output it is
    notes: list[str] = []
    for call in trace.calls:
        op, kind = op_of(call)
        source = produced.get(call.inputs[0]) if call.inputs else None
        owner = rows[source] if source is not None else None
        if op == "other":
            notes.append(f"{call.function} ({', '.join(a.name for a in call.costly)}) in "
                         f"{call.module or 'the model'}: counted by no term")
            continue
        if owner is not None and owner.layer.op in ("conv2d", "linear") and _foldable(call, op, kind):
            if op == "batchnorm" and not owner.layer.norm and owner.layer.activation is None \
                    and owner.shortcut is None:
                owner.layer = replace(owner.layer, norm=True)
            elif op == "act" and owner.layer.activation is None and kind in STANDARD:
                owner.layer = replace(owner.layer, activation=kind)
            else:
                owner = None
            if owner is not None:
                owner.parts.append(call.module)
                produced[call.output] = source
                continue
        if op == "add" and call.function in ("Tensor.__add__", "Tensor.__iadd__") and len(call.inputs) == 2:
            pair = [produced.get(i) for i in call.inputs]
            last = len(rows) - 1
            if last in pair and rows[last].layer.op in ("conv2d", "linear") and rows[last].shortcut is None \
                    and rows[last].layer.activation is None and call.shape is not None:
                other = call.inputs[1 - pair.index(last)]
                start = next((i for i, r in enumerate(rows) if r.input == other), produced.get(other))
                if start is not None:
                    rows[last].shortcut = start
                    produced[call.output] = last
                    continue
        layer = _new_row(call, op, kind)
        if layer is None:
            notes.append(f"{call.function} in {call.module or 'the model'}: shapes not understood, not counted")
            continue
        rows.append(_Row(layer, call.inputs[0] if call.inputs else None, [call.module] if call.leaf_op else []))
        if call.output is not None:
            produced[call.output] = len(rows) - 1
    return _named(rows, trace), notes


def _named(rows: list[_Row], trace: Trace) -> list[Layer]:
    """Rows named after the module holding exactly their parts (block1.dw for its conv, bn and act), unique."""
    used: dict[str, int] = {}
    for row in rows:
        for part in row.parts:
            used[part] = used.get(part, 0) + 1
    names = []
    for row in rows:
        name = row.layer.name
        parent = name.rpartition(".")[0] if row.parts else ""
        children = [p for p in trace.modules if p.rpartition(".")[0] == parent and p != parent]
        if parent and all(c in row.parts and used[c] == 1 or trace.modules[c] in FREE_MODULES for c in children) \
                and row.layer.op in ("conv2d", "linear"):
            name = parent
        names.append(name)
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return [replace(row.layer, name=unique[i],
                    shortcut=unique[row.shortcut] if row.shortcut is not None else None)
            for i, row in enumerate(rows)]


def network_of(trace: Trace, label: str, resolution: Size) -> Network:
    """The traced model as a Network (classes: the last conv or FC layer's outputs)."""
    layers, notes = rows_of(trace)
    weighted = [layer for layer in layers if layer.op in ("conv2d", "linear")]
    if not weighted:
        raise MncostError("the model ran but has no nn.Conv2d or nn.Linear layer to count")
    return Network(label, 1.0, resolution, weighted[-1].out_channels, tuple(layers), notes=tuple(notes))


def work(layer: Layer) -> dict[str, int]:
    """The work of one row beyond the papers' mult-adds, by kind, however it was called."""
    out = layer_cost(layer).activations
    kinds = {
        "BatchNorm": out if layer.norm else 0,
        layer.activation or "activation": out if layer.activation else 0,
        "bias adds": TERMS["bias_add"].count(layer),
        "residual adds": TERMS["residual_add"].count(layer),
        "pooling": input_elements(layer) if layer.op in ("avgpool", "maxpool") else 0,
        "adds": out if layer.op == "add" else 0,
        "multiplies": out if layer.op == "mul" else 0,
        "softmax": out if layer.op == "softmax" else 0,
    }
    return {k: v for k, v in kinds.items() if v}


def count_table(net: Network) -> Table:
    """The model's own per-layer table: mult-adds, params by kind, activations and the work terms."""
    rows = []
    for layer in net.layers:
        cost = layer_cost(layer)
        rows.append({
            "layer": layer.name, "type": layer.kind if layer.op != "act" else layer.activation,
            "call": layer.call or "", "output": "x".join(map(str, (*layer.output_size, layer.out_channels)))
            if layer.op != "attention" else f"{layer.groups}x{layer.output_size[0]}x{layer.out_channels}",
            "macs": cost.macs, "weights": cost.weights, "bias": cost.bias, "bn_params": cost.bn_params,
            "params": cost.params, "activations": cost.activations,
            "work": ", ".join(f"{k} {v:,}" for k, v in work(layer).items()) or "-",
        })
    totals = {"layer": "Total", **{key: sum(r[key] for r in rows) for key in
                                   ("macs", "weights", "bias", "bn_params", "params", "activations")}}
    height, width = net.resolution
    return Table(
        title=f"{net.arch}: {len(rows)} layers at 1x3x{height}x{width}",
        columns=[Column("layer", "Layer"), Column("type", "Type"), Column("call", "Called as"),
                 Column("output", "Output (HxWxC)"), Column("macs", "Mult-Adds", "count"),
                 Column("weights", "Weights", "count"), Column("bias", "Bias", "count"),
                 Column("bn_params", "BN params", "count"), Column("activations", "Activations", "count"),
                 Column("work", "Work beyond mult-adds")],
        rows=rows, totals=totals,
        footer=["Mult-Adds: conv, FC and matmul multiply-adds, the exact count. A conv or FC row includes the BatchNorm and "
                "the activation module that consume its output and an `x + y` residual add; any other op is a row "
                "of its own, 'Called as' saying how it ran when not as an nn module.",
                *net.notes],
    )


def to_dict(net: Network) -> dict[str, Any]:
    """The JSON document of `mncost count`: every row with its exact counts, and the totals."""
    total = sum((layer_cost(layer) for layer in net.layers), LayerCost())
    return {"model": net.arch, "resolution": list(net.resolution), "num_classes": net.num_classes,
            "totals": {**vars(total), "params": total.params},
            "layers": [{"name": layer.name, "op": layer.op, "kind": layer.kind, "call": layer.call,
                        "in_channels": layer.in_channels, "out_channels": layer.out_channels,
                        "input_size": list(layer.input_size), "output_size": list(layer.output_size),
                        "kernel": layer.kernel, "stride": layer.stride, "groups": layer.groups,
                        "has_bias": layer.bias, "norm": layer.norm, "activation": layer.activation,
                        "shortcut": layer.shortcut, **vars(layer_cost(layer)), "params": layer_cost(layer).params,
                        "work": work(layer),
                        "terms": {name: term.count(layer) for name, term in TERMS.items() if term.count(layer)}}
                       for layer in net.layers],
            "notes": list(net.notes)}
