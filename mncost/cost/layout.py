"""The aten ops a built-in arch's layer runs, as the module mncost.torch.build makes for it runs them.

A conv layer is an nn.Sequential of nn.Conv2d (F.conv2d: aten convolution), nn.BatchNorm2d (F.batch_norm:
native_batch_norm) and the activation module, and `x + shortcut` in the network's forward; an FC layer is
nn.Flatten and nn.Linear (F.linear: addmm, or mm without a bias); and so on for each op of
mncost.arch.layers. `parts` gives each op's arguments and outputs alone, which is all costing needs (and
fast: the sweeps cost millions of layers); `layer_records` adds the calls and modules, which is what
tracing that module records (tested), so that every counter's convention sees the same calls and modules.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from ..arch.layers import Layer
from ..arch.records import Call, Module, ModuleCall, Op, Shape
from ..errors import MncostError

NN = "torch.nn.modules."
BUILD = "mncost.torch.build."
ACTIVATIONS: dict[str, tuple[str, str, str, dict[str, Any]]] = {  # kind -> module class, call, aten op, args
    "relu": ("activation.ReLU", "F.relu", "relu", {}),
    "relu6": ("activation.ReLU6", "F.hardtanh", "hardtanh", {"min_val": 0.0, "max_val": 6.0}),
    "hswish": ("activation.Hardswish", "F.hardswish", "hardswish", {}),
    "hsigmoid": ("activation.Hardsigmoid", "F.hardsigmoid", "hardsigmoid", {}),
    "sigmoid": ("activation.Sigmoid", "torch.sigmoid", "sigmoid", {}),
    "silu": ("activation.SiLU", "F.silu", "silu", {}),
    "gelu": ("activation.GELU", "F.gelu", "gelu", {"approximate": "none"}),
}
ROOT = Module("", BUILD + "NetworkModule", False)
EMPTY = Shape((0,))  # the saved statistics native_batch_norm returns in eval mode


class Part(NamedTuple):
    """One aten op of a layer, its role in the layer's module, and the parameters it reads (arg -> key)."""

    role: str  # conv, bn, act, add, fc, pool, mul, scale, qk, qk_scale, softmax, av
    name: str
    args: dict[str, Any]
    out: tuple[Shape, ...]
    params: dict[str, str]


def _n(*sizes: Any) -> Shape:
    return Shape(sizes)


def _tensor(channels: Any, size: tuple[Any, Any]) -> Shape:
    return _n(1, channels, *size)


def _norm(path: str, x: Shape, channels: Any) -> Part:
    c = Shape((channels,))
    args = {"input": x, "weight": c, "bias": c, "running_mean": c, "running_var": c, "training": False,
            "momentum": 0.1, "eps": 1e-05}
    return Part("bn", "native_batch_norm", args, (x, EMPTY, EMPTY), {"weight": path + ".weight", "bias": path + ".bias"})


def _activation(kind: str, x: Shape) -> Part:
    _, _, name, extra = ACTIVATIONS[kind]
    return Part("act", name, {"self": x, **extra}, (x,), {})


def _add(x: Shape) -> Part:
    return Part("add", "add", {"self": x, "other": x, "alpha": 1}, (x,), {})


def conv_parts(layer: Layer) -> list[Part]:
    """nn.Sequential(conv, bn, act) and the residual add."""
    k, m, n, g, s, p = layer.kernel, layer.in_channels, layer.out_channels, layer.groups, layer.stride, layer.padding
    (h, w), (oh, ow), path = layer.input_size, layer.output_size, f"{layer.name}.conv"
    out = Shape((1, n, oh, ow))
    args = {"input": Shape((1, m, h, w)), "weight": Shape((n, m // g, k, k)), "bias": Shape((n,)) if layer.bias
            else None, "stride": (s, s), "padding": (p, p), "dilation": (1, 1), "transposed": False,
            "output_padding": (0, 0), "groups": g}
    params = {"weight": path + ".weight"}
    if layer.bias:
        params["bias"] = path + ".bias"
    parts = [Part("conv", "convolution", args, (out,), params)]
    if layer.norm:
        parts.append(_norm(f"{layer.name}.bn", out, n))
    if layer.activation:
        parts.append(_activation(layer.activation, out))
    if layer.shortcut:
        parts.append(_add(out))
    return parts


def linear_parts(layer: Layer) -> list[Part]:
    """nn.Sequential(flatten, fc, bn, act): F.linear runs addmm (mm without a bias) on the flat input."""
    m, n, path = layer.in_channels, layer.out_channels, f"{layer.name}.fc"
    flat, out = _n(1, m), _n(1, n)
    if layer.bias:
        parts = [Part("fc", "addmm", {"self": _n(n), "mat1": flat, "mat2": _n(m, n), "beta": 1, "alpha": 1}, (out,),
                      {"self": f"{path}.bias", "mat2": f"{path}.weight"})]
    else:
        parts = [Part("fc", "mm", {"self": flat, "mat2": _n(m, n)}, (out,), {"mat2": f"{path}.weight"})]
    if layer.norm:
        parts.append(_norm(f"{layer.name}.bn", out, n))
    if layer.activation:
        parts.append(_activation(layer.activation, out))
    return parts


def pool_parts(layer: Layer) -> list[Part]:
    """nn.AdaptiveAvgPool2d to the layer's output size: aten mean for 1x1."""
    x, out = _tensor(layer.in_channels, layer.input_size), _tensor(layer.out_channels, layer.output_size)
    return [Part("pool", "mean", {"self": x, "dim": (-1, -2), "keepdim": True, "dtype": None}, (out,), {})]


def mul_parts(layer: Layer) -> list[Part]:
    """[V3] squeeze-and-excite's `x * gate` (mncost.torch.build.Multiply)."""
    x, gate = _tensor(layer.out_channels, layer.output_size), _tensor(layer.in_channels, (1, 1))
    return [Part("mul", "mul", {"self": x, "other": gate}, (x,), {})]


def batchnorm_parts(layer: Layer) -> list[Part]:
    """[V4]'s standalone BatchNorm (the MQA pre-norm)."""
    return [_norm(layer.name, _tensor(layer.out_channels, layer.output_size), layer.out_channels)]


def layerscale_parts(layer: Layer) -> list[Part]:
    """[V4] layer scale `x * gamma.view(1, -1, 1, 1)` (mncost.torch.build.LayerScale), and its residual."""
    x = _tensor(layer.out_channels, layer.output_size)
    parts = [Part("scale", "mul", {"self": x, "other": _n(1, layer.out_channels, 1, 1)}, (x,),
                  {"other": f"{layer.name}.gamma"})]
    return parts + [_add(x)] if layer.shortcut else parts


def attention_parts(layer: Layer) -> list[Part]:
    """[V4] Mobile MQA's Q K^T (softmax included) or A V: torch.matmul broadcasts the one key or value head
    over the query heads, which torch runs as bmm (its second operand stored once: one head)."""
    heads, (h, w) = layer.groups, layer.output_size
    queries, keys = h * w, layer.kv_size[0] * layer.kv_size[1]  # type: ignore[attr-defined]  (AttentionMatmul)
    if layer.op == "attn_qk":
        d = layer.in_channels // heads
        logits = _n(1, heads, queries, keys)
        return [Part("qk", "bmm", {"self": _n(heads, queries, d), "mat2": _n(heads, d, keys)},
                     (_n(heads, queries, keys),), {}),
                Part("qk_scale", "mul", {"self": logits, "other": d ** -0.5}, (logits,), {}),
                Part("softmax", "_softmax", {"self": logits, "dim": -1, "half_to_float": False}, (logits,), {})]
    d = layer.out_channels // heads
    return [Part("av", "bmm", {"self": _n(heads, queries, keys), "mat2": _n(heads, keys, d)},
                 (_n(heads, queries, d),), {})]


PARTS: dict[str, Callable[[Layer], list[Part]]] = {
    "conv2d": conv_parts, "linear": linear_parts, "avgpool": pool_parts, "mul": mul_parts,
    "batchnorm": batchnorm_parts, "layerscale": layerscale_parts, "attn_qk": attention_parts,
    "attn_av": attention_parts,
}


def parts(layer: Layer) -> list[Part]:
    """The ops of a built-in layer: arguments and outputs, no context (what costing needs)."""
    if layer.op not in PARTS:
        raise MncostError(f"layer {layer.name!r} has op {layer.op!r}, which a built-in network has no layout for; "
                          f"known ops: {', '.join(PARTS)}")
    return PARTS[layer.op](layer)


# --- the context tracing records: the torch call each op runs under and the module it runs in ---


def _ancestors(path: str, inside: bool) -> tuple[str, ...]:
    """NetworkModule, a plain nn.Module per dot of the layer's name, and the layer's nn.Sequential."""
    layer_dots = path.count(".") - 1 if inside else path.count(".")
    return (ROOT.type, *(NN + "module.Module",) * layer_dots, *((NN + "container.Sequential",) if inside else ()))


def _module(path: str, cls: str, part: Part | None = None, leaf: bool = True, inside: bool = True,
            **attrs: Any) -> Module:
    """The module at `path`: torch.nn's (cls: conv.Conv2d) in a layer's nn.Sequential (inside), or mncost's own
    (cls: Multiply), the parameters the part reads being its own."""
    own = tuple((key.rpartition(".")[2], key, part.args[arg].numel, True) for arg, key in part.params.items()) \
        if part else ()
    kind = BUILD + cls if cls[0].isupper() else NN + cls
    return Module(path, kind, leaf, attrs, tuple(sorted(own, key=lambda p: p[0] != "weight")),
                  _ancestors(path, inside=leaf and inside and not cls[0].isupper()))


def _op(part: Part, call: Call, module: Module, own: bool = True, internal: bool = False) -> Op:
    data = {"mat2": part.args["mat2"].numel // part.args["mat2"][0]} if part.role in ("qk", "av") else {}
    buffers = frozenset({"running_mean", "running_var"}) if part.role == "bn" else frozenset()
    inside = frozenset({"input" if part.role == "bn" else "self"}) if internal else frozenset()
    return Op(part.name, part.args, part.out, call, module, own, part.params, buffers, inside, data=data)


def _tail(layer: Layer, parts: list[Part], ops: list[Op], calls: list[ModuleCall], inside: bool = True) -> None:
    """BatchNorm, activation and residual add after a conv or FC (or a standalone BatchNorm)."""
    for part in parts:
        x = part.args["input"] if "input" in part.args else part.args["self"]
        if part.role == "bn":
            c = part.args["weight"]
            cls = "batchnorm.BatchNorm1d" if layer.op == "linear" else "batchnorm.BatchNorm2d"
            module = _module(f"{layer.name}.bn" if inside else layer.name, cls, part, inside=inside, num_features=c[0],
                             affine=True)
            call = Call("F.batch_norm", (x, c, c), {"weight": c, "bias": c, "training": False, "momentum": 0.1,
                                                    "eps": 1e-05})
        elif part.role == "act":
            cls, function, _, extra = ACTIVATIONS[layer.activation]
            module = _module(f"{layer.name}.act", cls, inplace=False)
            call = Call(function, (x,), {**extra, "inplace": False} if function.startswith("F.") else {})
        else:  # the residual `x + shortcut` in NetworkModule.forward
            ops.append(Op(part.name, part.args, part.out, Call("Tensor.__add__", (x, x)), ROOT,
                          internal=frozenset({"self"})))
            continue
        ops.append(_op(part, call, module, internal=bool(ops)))
        calls.append(ModuleCall(module, (x,), part.out[0], True))


def conv_records(layer: Layer, parts: list[Part]) -> tuple[list[Op], list[ModuleCall]]:
    conv, a = parts[0], parts[0].args
    module = _module(f"{layer.name}.conv", "conv.Conv2d", conv, in_channels=layer.in_channels,
                     out_channels=layer.out_channels, kernel_size=(layer.kernel,) * 2, stride=a["stride"],
                     padding=a["padding"], dilation=(1, 1), groups=layer.groups)
    call = Call("F.conv2d", (a["input"], a["weight"], a["bias"], a["stride"], a["padding"], (1, 1), a["groups"]))
    ops = [_op(conv, call, module)]
    calls = [ModuleCall(_module(layer.name, "container.Sequential", leaf=False), (a["input"],), conv.out[0], True),
             ModuleCall(module, (a["input"],), conv.out[0], True)]
    _tail(layer, parts[1:], ops, calls)
    return ops, calls


def linear_records(layer: Layer, parts: list[Part]) -> tuple[list[Op], list[ModuleCall]]:
    fc, m, n = parts[0], layer.in_channels, layer.out_channels
    x, flat = _tensor(m, layer.input_size), fc.args.get("mat1", fc.args["self"])
    module = _module(f"{layer.name}.fc", "linear.Linear", fc, in_features=m, out_features=n)
    ops = [_op(fc, Call("F.linear", (flat, _n(n, m), _n(n) if layer.bias else None)), module)]
    calls = [ModuleCall(_module(layer.name, "container.Sequential", leaf=False), (x,), fc.out[0], True),
             ModuleCall(_module(f"{layer.name}.flatten", "flatten.Flatten"), (x,), flat, True),
             ModuleCall(module, (flat,), fc.out[0], True)]
    _tail(layer, parts[1:], ops, calls)
    return ops, calls


def pool_records(layer: Layer, parts: list[Part]) -> tuple[list[Op], list[ModuleCall]]:
    pool = parts[0]
    x = pool.args["self"]
    module = _module(layer.name, "pooling.AdaptiveAvgPool2d", inside=False, output_size=tuple(layer.output_size))
    return [_op(pool, Call("F.adaptive_avg_pool2d", (x, tuple(layer.output_size))), module)], \
        [ModuleCall(module, (x,), pool.out[0], True)]


def batchnorm_records(layer: Layer, parts: list[Part]) -> tuple[list[Op], list[ModuleCall]]:
    ops: list[Op] = []
    calls: list[ModuleCall] = []
    _tail(layer, parts, ops, calls, inside=False)
    return ops, calls


def own_records(layer: Layer, parts: list[Part]) -> tuple[list[Op], list[ModuleCall]]:
    """A layer mncost.torch.build writes as a module of its own: `x * gate`, layer scale, attention."""
    first = parts[0]
    x, other = first.args["self"], first.args.get("mat2", first.args.get("other"))
    cls = {"mul": "Multiply", "layerscale": "LayerScale", "attn_qk": "AttentionLogits",
           "attn_av": "AttentionValues"}[layer.op]
    module = _module(layer.name, cls, first if layer.op == "layerscale" else None, inside=False)
    functions = {"qk": "torch.matmul", "av": "torch.matmul", "softmax": "torch.softmax"}
    ops = []
    for part in parts:
        if part.role == "add":
            _tail(layer, [part], ops, [])
            continue
        args = part.args
        call_args = (args["self"], args["other"]) if "other" in args else (args["self"],)
        if part.role in ("qk", "av"):  # torch.matmul's operands before it broadcasts and batches them
            heads, rows, inner = args["self"]
            call_args = (_n(1, heads, rows, inner), _n(1, 1, *args["mat2"][1:]))
        call = Call(functions.get(part.role, "Tensor.__mul__"), call_args,
                    {"dim": -1} if part.role == "softmax" else {})
        ops.append(_op(part, call, module, own=False, internal=bool(ops)))
    inputs = (x,) if layer.op == "layerscale" else (
        (_tensor(layer.in_channels, layer.output_size), _kv(layer, first.args["mat2"][1])) if layer.op == "attn_qk"
        else (_n(1, *x), _kv(layer, first.args["mat2"][2])) if layer.op == "attn_av" else (x, other))
    output = _tensor(layer.out_channels, layer.output_size) if layer.op == "attn_av" else parts[-1].out[0] \
        if layer.op != "layerscale" else x
    return ops, [ModuleCall(module, inputs, output, True)]


def _kv(layer: Layer, channels: Any) -> Shape:
    """The key or value feature map the attention reads (one head, at the K/V size)."""
    return _n(1, channels, *layer.kv_size)  # type: ignore[attr-defined]  (AttentionMatmul)


RECORDS: dict[str, Callable[[Layer, list[Part]], tuple[list[Op], list[ModuleCall]]]] = {
    "conv2d": conv_records, "linear": linear_records, "avgpool": pool_records, "batchnorm": batchnorm_records,
    **dict.fromkeys(("mul", "layerscale", "attn_qk", "attn_av"), own_records),
}


def layer_records(layer: Layer) -> tuple[tuple[Op, ...], tuple[ModuleCall, ...]]:
    """The ops of a built-in layer with their calls and modules, and its module calls, as tracing records them."""
    layout = parts(layer)  # an op with no layout is a MncostError here, before the lookup
    ops, calls = RECORDS[layer.op](layer, layout)
    return tuple(ops), tuple(calls)


def layer_ops(layer: Layer) -> tuple[Op, ...]:
    """The ops of a built-in layer, with their context."""
    return layer_records(layer)[0]
