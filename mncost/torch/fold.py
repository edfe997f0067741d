"""Any model as mncost's rows: what one forward pass executed, grouped the way the built-in archs are.

Each torch call a forward makes (F.relu, `x + y`, nn.Conv2d's F.conv2d, an RNN) is a row holding the aten
ops it ran, except that a conv or FC row takes the BatchNorm and the activation module that consume its
output and an `x + y` residual add, as mncost.arch lays them out. A row keeps its ops (costed by
mncost.cost.aten), the module calls that began in it and the parameters it read first, so that costs, terms,
conventions and the ledger apply unchanged: tracing the module mncost builds for `--arch v2` gives the
arch's own rows. An op with no registry entry is named (Network.unknown), never folded into a row.
Pure data in, pure data out: the recording is mncost.torch.trace.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from ..arch.layers import Layer, Network
from ..arch.records import ModuleCall, Op, Shape
from ..cost.aten import ACTIVATION_KINDS, op_cost
from ..cost.ops import param_role
from ..errors import MncostError
from .trace import Raw, Trace

# aten op -> the row kind it makes
KINDS = {"native_batch_norm": "batchnorm", "_native_batch_norm_legit_no_training": "batchnorm",
         "native_layer_norm": "layernorm", "native_group_norm": "groupnorm", "instance_norm": "instancenorm",
         "rms_norm": "rmsnorm", "add": "add", "add_": "add", "mul": "mul", "mul_": "mul", "sub": "sub",
         "div": "div", "_softmax": "softmax", "_safe_softmax": "softmax", "avg_pool2d": "avgpool",
         "avg_pool3d": "avgpool", "_adaptive_avg_pool2d": "avgpool", "_adaptive_avg_pool3d": "avgpool",
         "max_pool2d_with_indices": "maxpool", "max_pool3d_with_indices": "maxpool", "adaptive_max_pool2d": "maxpool",
         "mm": "matmul", "bmm": "matmul", "addmm": "matmul", "baddbmm": "matmul", "dot": "matmul", "mv": "matmul",
         "_trilinear": "bilinear", "einsum": "einsum", "lstm": "lstm", "gru": "gru", "rnn_tanh": "rnn",
         "rnn_relu": "rnn", "lstm_cell": "lstm", "gru_cell": "gru", "rnn_tanh_cell": "rnn", "rnn_relu_cell": "rnn",
         "_native_multi_head_attention": "attention", "_transformer_encoder_layer_fwd": "transformer",
         "_scaled_dot_product_flash_attention_for_cpu": "attention", "cat": "cat", "constant_pad_nd": "pad",
         **{name: "interpolate" for name in ("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d",
                                            "upsample_linear1d", "upsample_bilinear2d", "upsample_bicubic2d",
                                            "upsample_trilinear3d", "_upsample_nearest_exact2d")},
         **dict.fromkeys(ACTIVATION_KINDS, "act")}
# The nn module each kind has when mncost.torch.build builds it: a row run by it has call None.
STANDARD = {"conv2d": {"Conv2d"}, "linear": {"Linear"}, "batchnorm": {"BatchNorm2d", "BatchNorm1d"},
            "avgpool": {"AdaptiveAvgPool2d"}, "maxpool": {"MaxPool2d"}, "softmax": {"Softmax"},
            "relu": {"ReLU"}, "relu6": {"ReLU6"}, "hswish": {"Hardswish"}, "hsigmoid": {"Hardsigmoid"},
            "sigmoid": {"Sigmoid"}, "silu": {"SiLU"}, "gelu": {"GELU"}}
FREE_MODULES = {"Flatten", "Dropout", "Identity"}  # modules a layer's container may hold at no cost


@dataclass
class _Group:
    """The ops of one torch call."""

    ops: list[Raw]
    call: Any  # the Call record
    kind: str
    activation: str | None = None

    def __post_init__(self) -> None:
        self.head = next((op for op in self.ops if not op.inner), self.ops[0])
        module = self.head.module
        self.own = module is not None and module.type.startswith("torch.nn.modules.")


@dataclass
class _Row:
    groups: list[_Group]
    layer: dict[str, Any]
    input: int | None  # serial of its input
    parts: list[str] = field(default_factory=list)  # module paths folded into the row
    shortcut: int | None = None  # index of the row whose input the residual adds


def _kind(ops: list[Raw], function: str) -> tuple[str, str | None]:
    """The row kind of a call (conv2d, linear, act, ...) and, for an activation, its kind."""
    head = next((op for op in ops if not op.inner), ops[0])
    if head.name in ("convolution", "_convolution"):
        w = head.args["weight"]
        return f"conv{'_transpose' if head.args['transposed'] else ''}{len(w) - 2}d", None
    if function == "F.linear":
        return "linear", None
    if function == "F.scaled_dot_product_attention":
        return "attention", None
    kind = KINDS.get(head.name, head.name)
    if kind == "act":
        activation = ACTIVATION_KINDS[head.name]
        if activation == "relu6" and (head.args.get("min_val"), head.args.get("max_val")) != (0, 6):
            activation = "hardtanh"
        return "act", activation
    if kind in ("avgpool", "maxpool") or head.name != "mean":
        return kind, None
    dims = head.args.get("dim") or ()
    return ("avgpool", None) if len(head.args["self"]) == 4 and sorted(d % 4 for d in dims) == [2, 3] else ("mean", None)


def _side(value: Any) -> Any:
    """A kernel, stride or padding: one int when every side agrees, else the tuple."""
    value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return value[0] if len(set(value)) == 1 else value


def _spatial(shape: Shape | None) -> tuple[int, tuple[int, ...]]:
    """Channels and size of a tensor: N,C,H,W -> C, (H, W); (N, C) -> C, (1, 1); (N, T.., C) -> C, (T.., 1)."""
    if shape is None or len(shape) == 0:
        return 1, (1, 1)
    if len(shape) == 4:
        return shape[1], (shape[2], shape[3])
    if len(shape) <= 2:
        return shape[-1], (1, 1)
    return shape[-1], (*shape[1:-1], 1) if len(shape) == 3 else tuple(shape[1:-1])


def _layer(group: _Group, name: str) -> dict[str, Any]:
    """The Layer fields of a call that starts a row."""
    head, kind = group.head, group.kind
    first = next((v for v in head.args.values() if isinstance(v, Shape)), None)
    out = next((op.out[0] for op in reversed(group.ops) if op.out and not op.inner), None) or head.out[:1] or (None,)
    out = out[0] if isinstance(out, tuple) and out and isinstance(out[0], Shape) else out
    in_c, in_size = _spatial(first)
    out_c, out_size = _spatial(out)
    fields: dict[str, Any] = dict(name=name, op=kind, in_channels=in_c, out_channels=out_c, input_size=in_size,
                                  output_size=out_size, call=_call(group))
    if kind.startswith("conv"):
        a = head.args
        fields.update(in_channels=a["input"][1], out_channels=out[1], kernel=_side(a["weight"][2:]),
                      stride=_side(a["stride"]), padding=_side(a["padding"]), groups=a["groups"],
                      bias=a["bias"] is not None, input_size=tuple(a["input"][2:]), output_size=tuple(out[2:]))
    elif kind == "linear":
        weight = group.call.arg(1, "weight")
        fields.update(in_channels=weight[1], out_channels=weight[0], bias=group.call.arg(2, "bias") is not None)
    elif kind == "avgpool" and group.call.function in ("F.avg_pool2d",):  # a fixed kernel (nn.AvgPool2d too)
        kernel = group.call.arg(1, "kernel_size")
        fields.update(kernel=_side(kernel), stride=_side(group.call.arg(2, "stride") or kernel),
                      padding=_side(group.call.arg(3, "padding", 0)))
    elif kind == "mul" and _layer_scale(head, in_c):  # x * gamma, one learned gamma per channel
        fields.update(op="layerscale")
    elif kind in ("batchnorm", "act"):
        fields.update(norm=kind == "batchnorm", activation=group.activation)
    return fields


def _layer_scale(op: Raw, channels: int) -> bool:
    return len(op.params) == 1 and all(s.numel == channels for k, s in op.args.items() if k in op.params)


def _call(group: _Group) -> str | None:
    """None when the op ran in its standard nn module (as mncost builds it), else how it ran."""
    module = group.head.module
    if group.own and module.leaf:
        cls = module.type.rpartition(".")[2]
        return None if cls in STANDARD.get(group.activation or group.kind, ()) else module.name
    return group.call.function


def rows_of(trace: Trace) -> list[_Row]:
    """The rows of a traced forward pass, folded as mncost.arch lays out a network."""
    rows: list[_Row] = []
    produced: dict[int, int] = {}  # tensor serial -> index of the row whose output it is
    first_reader: dict[int, int] = {}  # tensor serial -> index of the first row reading it
    for ops in _calls(trace.ops):
        call = trace.calls[ops[0].call]
        kind, activation = _kind(ops, call.function)
        group = _Group(ops, call, kind, activation)
        head = group.head
        inputs = [s for op in ops if not op.inner for s in op.inputs.values()]
        if inputs and _fold(rows, produced.get(inputs[0]), group, produced, first_reader, inputs):
            continue
        if rows and _custom_leaf(head) and rows[-1].groups[-1].head.scope == head.scope:
            _merge(rows[-1], group)  # one call of a custom leaf module is one row: all it ran
            for op in ops:
                for serial in op.outputs:
                    produced[serial] = len(rows) - 1
            continue
        rows.append(_Row([group], _layer(group, _row_name(group)), inputs[0] if inputs else None,
                         [head.module.path] if group.own and head.module is not None and head.module.leaf else []))
        index = len(rows) - 1
        for serial in inputs:
            first_reader.setdefault(serial, index)
        for op in ops:
            for serial in op.outputs:
                produced[serial] = index
    return rows


def _custom_leaf(op: Raw) -> bool:
    return op.module is not None and op.module.leaf and not op.module.type.startswith("torch.nn.modules.")


MACS_OPS = frozenset({"convolution", "_convolution", "mm", "bmm", "addmm", "baddbmm", "dot", "mv", "_trilinear",
                      "einsum", "_scaled_dot_product_flash_attention_for_cpu"})


def _merge(row: _Row, group: _Group) -> None:
    """Add a call to a row; the row takes the kind of its first call with multiply-adds."""
    row.groups.append(group)
    main = next((g for g in row.groups if g.head.name in MACS_OPS), row.groups[0])
    if main is group:
        row.layer = {**_layer(group, row.layer["name"]), "name": row.layer["name"]}


def _calls(ops: list[Raw]) -> list[list[Raw]]:
    """The known ops grouped by the torch call they ran under, in order."""
    groups: list[list[Raw]] = []
    for op in ops:
        if not op.known and not op.inner:
            continue
        if groups and groups[-1][0].call == op.call:
            groups[-1].append(op)
        else:
            groups.append([op])
    return [g for g in groups if any(not op.inner for op in g)]


def _row_name(group: _Group) -> str:
    module = group.head.module
    path = module.path if module is not None else ""
    return path if group.own and module is not None and module.leaf else ".".join(filter(None, [path, group.call.function]))


def _fold(rows: list[_Row], source: int | None, group: _Group, produced: dict[int, int],
          first_reader: dict[int, int], inputs: list[int]) -> bool:
    """Fold a BatchNorm or activation module, or an `x + y` residual add, into the conv or FC row before it."""
    if source is not None and source == len(rows) - 1 and rows[source].layer["op"] in ("conv2d", "linear") \
            and _call(group) is None and group.head.module.leaf:
        owner = rows[source]
        layer = owner.layer
        if group.kind == "batchnorm" and not layer.get("norm") and not layer.get("activation") \
                and owner.shortcut is None:
            layer["norm"] = True
        elif group.kind == "act" and not layer.get("activation") and group.activation in STANDARD:
            layer["activation"] = group.activation
        else:
            return False
        owner.groups.append(group)
        owner.parts.append(group.head.module.path)
        for op in group.ops:
            for serial in op.outputs:
                produced[serial] = source
        return True
    if group.kind == "add" and group.call.function in ("Tensor.__add__", "Tensor.__iadd__") and len(inputs) == 2:
        last = len(rows) - 1
        pair = [produced.get(s) for s in inputs]
        if last in pair and rows[last].layer["op"] in ("conv2d", "linear", "layerscale") \
                and rows[last].shortcut is None \
                and not rows[last].layer.get("activation"):
            other = inputs[1 - pair.index(last)]
            start = first_reader.get(other, produced.get(other))
            if start is not None:
                rows[last].shortcut = start
                rows[last].groups.append(group)
                for op in group.ops:
                    for serial in op.outputs:
                        produced[serial] = last
                return True
    return False


def _named(rows: list[_Row], modules: dict[str, Any]) -> list[str]:
    """Rows named after the module holding exactly their parts (block1.dw for its conv, bn and act), unique."""
    used = Counter(part for row in rows for part in row.parts)
    calls = Counter(row.groups[0].head.module.path for row in rows if row.groups[0].head.module is not None)
    children: dict[str, list[str]] = defaultdict(list)
    for path in modules:
        if path:
            children[path.rpartition(".")[0]].append(path)
    names = []
    for row in rows:
        name = row.layer["name"]
        parent = name.rpartition(".")[0] if row.parts else ""
        if parent and row.layer["op"] in ("conv2d", "linear") and all(
                (c in row.parts and used[c] == 1) or modules[c].rpartition(".")[2] in FREE_MODULES
                for c in children[parent]):
            name = parent
        module = row.groups[0].head.module
        if not row.parts and module is not None and module.leaf and calls[module.path] == 1 and module.path:
            name = module.path  # the one call of a leaf module (a custom `x * gate`): the module's name
        names.append(name)
    seen: Counter = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return unique


def _ops(row: _Row) -> tuple[Op, ...]:
    """The row's records, each argument an earlier op of the row produced marked internal."""
    made: set[int] = set()
    ops = []
    for group in row.groups:
        for raw in group.ops:
            internal = frozenset(arg for arg, serial in raw.inputs.items() if serial in made)
            ops.append(Op(raw.name, raw.args, raw.out, group.call, raw.module, group.own, raw.params, raw.buffers,
                          internal, raw.inner, raw.data, op_cost(raw.name, raw.args, raw.out), raw.inputs,
                          raw.outputs))
            made.update(raw.outputs)
    return tuple(ops)


def network_of(trace: Trace, label: str) -> Network:
    """The traced model as a Network: its rows, the parameters no op read, the ops with no entry."""
    rows = rows_of(trace)
    if not rows:
        raise MncostError("the model ran but executed no op mncost can count")
    names = _named(rows, trace.modules)
    calls = _attach(trace, rows)
    seen: set[str] = set()
    layers = []
    for i, row in enumerate(rows):
        ops = _ops(row)
        params = []
        for op in ops:
            for arg, key in op.params.items():
                if key not in seen:
                    seen.add(key)
                    params.append((key, param_role(op.name, op.args, arg), trace.params[key][0]))
        layers.append(Layer(**{**row.layer, "name": names[i]},
                            shortcut=names[row.shortcut] if row.shortcut is not None else None,
                            ops=ops, calls=tuple(calls[i]), params=tuple(params)))
    unknown = Counter((op.name, op.module.path if op.module else "") for op in trace.ops
                      if not op.known and not op.inner)
    weighted = [layer for layer in layers if layer.op in ("conv2d", "linear")] or layers
    return Network(label, 1.0, tuple(trace.input[2:4]) if len(trace.input) >= 4 else (1, 1),
                   weighted[-1].out_channels, tuple(layers), batch=trace.input[0] if trace.input else 1,
                   unused=tuple((key, shape.numel) for key, (shape, _) in trace.params.items() if key not in seen),
                   unknown=tuple((op, module, n) for (op, module), n in unknown.items()),
                   frozen=sum(shape.numel for shape, trainable in trace.params.values() if not trainable))


def _attach(trace: Trace, rows: list[_Row]) -> list[list[ModuleCall]]:
    """Each module call to the row of the first op it ran, in call order (one that ran none: the row before)."""
    row_of = {id(op): index for index, row in enumerate(rows) for group in row.groups for op in group.ops}
    position, current = [], 0  # op index in the trace -> the row of the first counted op from it on
    for op in reversed(trace.ops):
        current = row_of.get(id(op), current)
        position.append(current)
    position.reverse()
    before = [0] * (len(trace.ops) + 1)  # op index -> the row of the last counted op before it
    for i, op in enumerate(trace.ops):
        before[i + 1] = row_of.get(id(op), before[i])
    attached: list[list[ModuleCall]] = [[] for _ in rows]
    def order(item: tuple[int, ModuleCall]) -> tuple[int, int]:  # by first op, a module before its children
        return item[0], item[1].module.path.count(".") if item[1].module.path else -1

    for start, call in sorted(trace.module_calls, key=order):
        attached[position[start] if start < len(trace.ops) else before[start]].append(call)
    return attached

