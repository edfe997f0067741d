"""The aten ops a built-in arch's layer runs, as the module mncost.torch.build makes for it runs them.

A conv layer is an nn.Sequential of nn.Conv2d (F.conv2d: aten convolution), nn.BatchNorm2d (F.batch_norm:
native_batch_norm) and the activation module, and `x + shortcut` in the network's forward; an FC layer is
nn.Flatten and nn.Linear (F.linear: addmm, or mm without a bias); and so on for each op of
mncost.arch.layers. These records are what tracing that module records (tested), so the registry costs a
built-in layer and a traced row alike, and every counter's convention sees the same calls and modules.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from ..arch.layers import Layer
from ..arch.records import Call, Module, ModuleCall, Op, Shape
from ..errors import MncostError

NN = "torch.nn.modules."
ACTIVATIONS: dict[str, tuple[str, str, str, dict[str, Any]]] = {  # kind -> module class, call, aten op, args
    "relu": ("activation.ReLU", "F.relu", "relu", {}),
    "relu6": ("activation.ReLU6", "F.hardtanh", "hardtanh", {"min_val": 0.0, "max_val": 6.0}),
    "hswish": ("activation.Hardswish", "F.hardswish", "hardswish", {}),
    "hsigmoid": ("activation.Hardsigmoid", "F.hardsigmoid", "hardsigmoid", {}),
    "sigmoid": ("activation.Sigmoid", "torch.sigmoid", "sigmoid", {}),
    "silu": ("activation.SiLU", "F.silu", "silu", {}),
    "gelu": ("activation.GELU", "F.gelu", "gelu", {"approximate": "none"}),
}
ROOT = Module("", "mncost.torch.build.NetworkModule", False)


def _n(*sizes: Any) -> Shape:
    return Shape(sizes)


def _module(path: str, cls: str, leaf: bool = True, params: tuple = (), inside: bool = True, **attrs: Any) -> Module:
    """A torch.nn module at `path`: a part of a layer's nn.Sequential (inside), or a layer itself."""
    return Module(path, NN + cls, leaf, attrs, params, _ancestors(path, inside=leaf and inside))


def _ancestors(path: str, inside: bool) -> tuple[str, ...]:
    """NetworkModule, a plain nn.Module per dot of the layer's name, and the layer's nn.Sequential."""
    layer_dots = path.count(".") - 1 if inside else path.count(".")
    return (ROOT.type, *(NN + "module.Module",) * layer_dots, *((NN + "container.Sequential",) if inside else ()))


def _own(path: str, cls: str, params: tuple = ()) -> Module:
    """A module of mncost.torch.build that is a layer itself (Multiply, LayerScale, the attention matmuls)."""
    return Module(path, f"mncost.torch.build.{cls}", True, {}, params, _ancestors(path, inside=False))


def _conv(layer: Layer, path: str, x: Shape, out: Shape) -> tuple[Op, Module]:
    k, m, n, g = layer.kernel, layer.in_channels, layer.out_channels, layer.groups
    params = ((("weight", f"{path}.weight", n * (m // g) * k * k, True),)
              + ((("bias", f"{path}.bias", n, True),) if layer.bias else ()))
    module = _module(path, "conv.Conv2d", params=params, in_channels=m, out_channels=n, kernel_size=(k, k),
                     stride=(layer.stride,) * 2, padding=(layer.padding,) * 2, dilation=(1, 1), groups=g)
    weight = _n(n, m // g, k, k)
    args = {"input": x, "weight": weight, "bias": _n(n) if layer.bias else None, "stride": (layer.stride,) * 2,
            "padding": (layer.padding,) * 2, "dilation": (1, 1), "transposed": False, "output_padding": (0, 0),
            "groups": g}
    call = Call("F.conv2d", (x, weight, args["bias"], args["stride"], args["padding"], (1, 1), g))
    return Op("convolution", args, (out,), call, module, True, {"weight": f"{path}.weight"} | (
        {"bias": f"{path}.bias"} if layer.bias else {})), module


def _norm(path: str, x: Shape, channels: int, cls: str = "batchnorm.BatchNorm2d", inside: bool = True
          ) -> tuple[Op, Module]:
    params = (("weight", f"{path}.weight", channels, True), ("bias", f"{path}.bias", channels, True))
    module = _module(path, cls, params=params, inside=inside, num_features=channels, affine=True)
    c = _n(channels)
    args = {"input": x, "weight": c, "bias": c, "running_mean": c, "running_var": c, "training": False,
            "momentum": 0.1, "eps": 1e-05}
    call = Call("F.batch_norm", (x, c, c), {"weight": c, "bias": c, "training": False, "momentum": 0.1,
                                            "eps": 1e-05})
    return Op("native_batch_norm", args, (x, _n(0), _n(0)), call, module, True,
              {"weight": f"{path}.weight", "bias": f"{path}.bias"}, frozenset({"running_mean", "running_var"}),
              frozenset({"input"})), module


def _activation(kind: str, path: str, x: Shape) -> tuple[Op, Module]:
    cls, function, name, extra = ACTIVATIONS[kind]
    module = _module(path, cls, inplace=False)
    call = Call(function, (x,), {**extra, "inplace": False} if function.startswith("F.") else {})
    return Op(name, {"self": x, **extra}, (x,), call, module, True, internal=frozenset({"self"})), module


def _add(x: Shape) -> Op:
    """The residual `x + shortcut` in NetworkModule.forward."""
    return Op("add", {"self": x, "other": x, "alpha": 1}, (x,), Call("Tensor.__add__", (x, x)), ROOT,
              internal=frozenset({"self"}))


def _tensor(channels: int, size: tuple[int, int], batch: int = 1) -> Shape:
    return _n(batch, channels, *size)


def conv_ops(layer: Layer) -> tuple[list[Op], list[ModuleCall]]:
    """nn.Sequential(conv, bn, act) and the residual add."""
    x, out = _tensor(layer.in_channels, layer.input_size), _tensor(layer.out_channels, layer.output_size)
    conv, module = _conv(layer, f"{layer.name}.conv", x, out)
    ops, calls = [conv], [ModuleCall(_module(layer.name, "container.Sequential", False), (x,), out, True),
                          ModuleCall(module, (x,), out, True)]
    if layer.norm:
        op, module = _norm(f"{layer.name}.bn", out, layer.out_channels)
        ops.append(op)
        calls.append(ModuleCall(module, (out,), out, True))
    if layer.activation:
        op, module = _activation(layer.activation, f"{layer.name}.act", out)
        ops.append(op)
        calls.append(ModuleCall(module, (out,), out, True))
    if layer.shortcut:
        ops.append(_add(out))
    return ops, calls


def linear_ops(layer: Layer) -> tuple[list[Op], list[ModuleCall]]:
    """nn.Sequential(flatten, fc, bn, act): F.linear runs addmm (mm without a bias) on the flat input."""
    m, n, path = layer.in_channels, layer.out_channels, f"{layer.name}.fc"
    x, flat, out = _tensor(m, layer.input_size), _n(1, m), _n(1, n)
    params = (("weight", f"{path}.weight", n * m, True),) + ((("bias", f"{path}.bias", n, True),) if layer.bias else ())
    fc = _module(path, "linear.Linear", params=params, in_features=m, out_features=n)
    call = Call("F.linear", (flat, _n(n, m), _n(n) if layer.bias else None))
    if layer.bias:
        op = Op("addmm", {"self": _n(n), "mat1": flat, "mat2": _n(m, n), "beta": 1, "alpha": 1}, (out,), call, fc,
                True, {"self": f"{path}.bias", "mat2": f"{path}.weight"})
    else:
        op = Op("mm", {"self": flat, "mat2": _n(m, n)}, (out,), call, fc, True, {"mat2": f"{path}.weight"})
    ops, calls = [op], [ModuleCall(_module(layer.name, "container.Sequential", False), (x,), out, True),
                        ModuleCall(_module(f"{layer.name}.flatten", "flatten.Flatten"), (x,), flat, True),
                        ModuleCall(fc, (flat,), out, True)]
    if layer.norm:
        op, module = _norm(f"{layer.name}.bn", out, n, "batchnorm.BatchNorm1d")
        ops.append(op)
        calls.append(ModuleCall(module, (out,), out, True))
    if layer.activation:
        op, module = _activation(layer.activation, f"{layer.name}.act", out)
        ops.append(op)
        calls.append(ModuleCall(module, (out,), out, True))
    return ops, calls


def pool_ops(layer: Layer) -> tuple[list[Op], list[ModuleCall]]:
    """nn.AdaptiveAvgPool2d to the layer's output size: aten mean for 1x1."""
    x, out = _tensor(layer.in_channels, layer.input_size), _tensor(layer.out_channels, layer.output_size)
    module = _module(layer.name, "pooling.AdaptiveAvgPool2d", inside=False, output_size=tuple(layer.output_size))
    call = Call("F.adaptive_avg_pool2d", (x, tuple(layer.output_size)))
    op = Op("mean", {"self": x, "dim": (-1, -2), "keepdim": True, "dtype": None}, (out,), call, module, True)
    return [op], [ModuleCall(module, (x,), out, True)]


def mul_ops(layer: Layer) -> tuple[list[Op], list[ModuleCall]]:
    """[V3] squeeze-and-excite's `x * gate` (mncost.torch.build.Multiply)."""
    x, gate = _tensor(layer.out_channels, layer.output_size), _tensor(layer.in_channels, (1, 1))
    module = _own(layer.name, "Multiply")
    op = Op("mul", {"self": x, "other": gate}, (x,), Call("Tensor.__mul__", (x, gate)), module)
    return [op], [ModuleCall(module, (x, gate), x, True)]


def batchnorm_ops(layer: Layer) -> tuple[list[Op], list[ModuleCall]]:
    """[V4]'s standalone BatchNorm (the MQA pre-norm)."""
    x = _tensor(layer.out_channels, layer.output_size)
    op, module = _norm(layer.name, x, layer.out_channels, inside=False)
    return [replace(op, internal=frozenset())], [ModuleCall(module, (x,), x, True)]


def layerscale_ops(layer: Layer) -> tuple[list[Op], list[ModuleCall]]:
    """[V4] layer scale `x * gamma.view(1, -1, 1, 1)` (mncost.torch.build.LayerScale), and its residual."""
    x, c = _tensor(layer.out_channels, layer.output_size), layer.out_channels
    module = _own(layer.name, "LayerScale", (("gamma", f"{layer.name}.gamma", c, True),))
    gamma = _n(1, c, 1, 1)
    ops = [Op("mul", {"self": x, "other": gamma}, (x,), Call("Tensor.__mul__", (x, gamma)), module,
              params={"other": f"{layer.name}.gamma"})]
    if layer.shortcut:
        ops.append(_add(x))
    return ops, [ModuleCall(module, (x,), x, True)]


def attention_ops(layer: Layer) -> tuple[list[Op], list[ModuleCall]]:
    """[V4] Mobile MQA's Q K^T (softmax included) or A V: torch.matmul broadcasts the one key or value head
    over the query heads (expand: the data read is one head), which torch runs as bmm."""
    heads, (h, w) = layer.groups, layer.output_size
    queries, keys = h * w, layer.kv_size[0] * layer.kv_size[1]  # type: ignore[attr-defined]  (AttentionMatmul)
    if layer.op == "attn_qk":
        d = layer.in_channels // heads
        q, k, logits = _n(heads, queries, d), _n(heads, d, keys), _n(1, heads, queries, keys)
        module = _own(layer.name, "AttentionLogits")
        matmul = Op("bmm", {"self": q, "mat2": k}, (_n(heads, queries, keys),),
                    Call("torch.matmul", (_n(1, heads, queries, d), _n(1, 1, d, keys))), module, data={"mat2": d * keys})
        scale = Op("mul", {"self": logits, "other": d ** -0.5}, (logits,), Call("Tensor.__mul__", (logits, d ** -0.5)),
                   module, internal=frozenset({"self"}))
        softmax = Op("_softmax", {"self": logits, "dim": -1, "half_to_float": False}, (logits,),
                     Call("torch.softmax", (logits,), {"dim": -1}), module, internal=frozenset({"self"}))
        return [matmul, scale, softmax], [ModuleCall(module, (_tensor(layer.in_channels, (h, w)), _kv(layer, d)), logits, True)]
    d = layer.out_channels // heads
    a, v = _n(heads, queries, keys), _n(heads, keys, d)
    module = _own(layer.name, "AttentionValues")
    matmul = Op("bmm", {"self": a, "mat2": v}, (_n(heads, queries, d),),
                Call("torch.matmul", (_n(1, heads, queries, keys), _n(1, 1, keys, d))), module, data={"mat2": d * keys})
    return [matmul], [ModuleCall(module, (_n(1, heads, queries, keys), _kv(layer, d)),
                                 _tensor(layer.out_channels, (h, w)), True)]


def _kv(layer: Layer, channels: int) -> Shape:
    """The key or value feature map the attention reads (one head, at the K/V size)."""
    return _n(1, channels, *layer.kv_size)  # type: ignore[attr-defined]  (AttentionMatmul)


LAYOUTS: dict[str, Callable[[Layer], tuple[list[Op], list[ModuleCall]]]] = {
    "conv2d": conv_ops, "linear": linear_ops, "avgpool": pool_ops, "mul": mul_ops, "batchnorm": batchnorm_ops,
    "layerscale": layerscale_ops, "attn_qk": attention_ops, "attn_av": attention_ops,
}


def layer_records(layer: Layer) -> tuple[tuple[Op, ...], tuple[ModuleCall, ...]]:
    """The ops and module calls of a built-in layer."""
    if layer.op not in LAYOUTS:
        raise MncostError(f"layer {layer.name!r} has op {layer.op!r}, which a built-in network has no layout for; "
                          f"known ops: {', '.join(LAYOUTS)}")
    ops, calls = LAYOUTS[layer.op](layer)
    return tuple(ops), tuple(calls)


def layer_ops(layer: Layer) -> tuple[Op, ...]:
    """The ops of a built-in layer."""
    return layer_records(layer)[0]
