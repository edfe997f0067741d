"""What each counter counts, rule for rule, on the records of a row (ops, torch calls, module calls).

Each counter keys on something else: torch's flop counter on the aten ops dispatched, fvcore on the ops
jit tracing records (one per torch call: F.linear, torch.matmul, F.batch_norm), ptflops and thop on the
exact class of each module a forward hook fires on (a subclass has no rule) and ptflops also on the
torch.nn.functional and tensor functions it patches, torchinfo on the parameters of each leaf module. The
rules below follow fvcore 0.1.5 (nn/jit_handles.py), ptflops 0.7.5 (pytorch_ops.py, pytorch_engine.py),
thop 0.1.1 (profile.py, vision/*.py, rnn_hooks.py), torchinfo 1.8.0 (layer_info.py) and torch 2.13
(utils/flop_counter.py). mncost.cost.conventions breaks each count into the ledger's named terms.
"""

from __future__ import annotations

from math import prod
from typing import Any, Iterator

from ..arch.records import Call, Module, ModuleCall, Op, Shape
from .aten import op_cost

NN = "torch.nn.modules."
TIMM_ATTENTION = "timm.layers.attention.Attention"  # ptflops hooks it when timm imports at its import


def nn_class(call: ModuleCall) -> str:
    """The torch.nn class name of a module (Conv2d), or "" for any other class (subclasses included)."""
    kind = call.module.type
    return kind.rpartition(".")[2] if kind.startswith(NN) else ""


def groups(ops: tuple[Op, ...]) -> Iterator[tuple[Call, list[Op]]]:
    """The row's ops by the torch call they ran under, in order."""
    calls: dict[int, tuple[Call, list[Op]]] = {}
    for op in ops:
        calls.setdefault(id(op.call), (op.call, []))[1].append(op)
    yield from calls.values()


def _macs(op: Op) -> int:
    cost = op.cost if op.cost is not None else op_cost(op.name, op.args, op.out)
    return cost.macs if cost is not None else 0


# --- torch.utils.flop_counter: 2 per multiply-add of these aten ops, at dispatch (inside composites too) ---

FLOP_COUNTER_OPS = frozenset({"convolution", "_convolution", "mm", "addmm", "bmm", "baddbmm",
                              "_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
                              "_scaled_dot_product_cudnn_attention"})
COMPOSITES = frozenset({"einsum", "instance_norm", "rms_norm", "lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell",
                        "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"})


def flop_counter_macs(ops: tuple[Op, ...]) -> int:
    """The multiply-adds torch's flop counter sees (it prints twice this)."""
    return sum(_macs(op) for op in ops if op.name in FLOP_COUNTER_OPS and op.name not in COMPOSITES)


# --- fvcore: its jit handles, one per traced op ---

FVCORE_MATMULS = {"torch.matmul", "Tensor.matmul", "Tensor.__matmul__", "torch.mm", "Tensor.mm"}


def _einsum_fvcore(call: Call) -> int:
    """fvcore's einsum handle: two bmm-like equations exactly, else numpy's optimal path flops / 2, floored."""
    equation = call.args[0].replace(" ", "")
    shapes = list(call.args[1] if len(call.args) == 2 and isinstance(call.args[1], tuple)
                  and call.args[1] and isinstance(call.args[1][0], tuple) else call.args[1:])
    order = {}
    for ch in equation:
        if ch.isalpha():
            order.setdefault(ch, chr(97 + len(order)))
    equation = "".join(order.get(ch, ch) for ch in equation)
    if equation == "abc,abd->acd":
        return prod(shapes[0]) * shapes[-1][-1]
    if equation == "abc,adc->adb":
        return prod(shapes[0]) * shapes[-1][1]
    import numpy as np  # numpy ships with fvcore; only a traced model's einsum reaches here

    path = np.einsum_path(equation, *[np.zeros(s) for s in shapes], optimize="optimal")[1]
    line = next(line for line in path.split("\n") if "optimized flop" in line.lower())
    return int(float(line.split(":")[-1]) // 2)


def fvcore_call(call: Call, ops: list[Op]) -> tuple[int, int]:
    """(multiply-adds, other flops) fvcore counts for one torch call."""
    f, a = call.function, call.args
    main = [op for op in ops if not op.inner]
    if any(op.name in ("convolution", "_convolution") for op in main):
        return sum(_macs(op) for op in main if op.name in ("convolution", "_convolution")), 0
    if f == "F.linear":
        return prod(a[0]) * a[1][0], 0
    if f in FVCORE_MATMULS:
        return prod(a[0]) * a[1][-1], 0
    if f == "Tensor.__rmatmul__":
        return prod(a[1]) * a[0][-1], 0
    if f in ("torch.bmm", "Tensor.bmm"):
        return prod(a[0]) * a[1][-1], 0
    if f in ("torch.addmm", "Tensor.addmm"):
        return prod(a[1]) * a[2][-1], 0
    if f == "torch.einsum":
        return _einsum_fvcore(call), 0
    if f in ("nn.MultiheadAttention", "nn.TransformerEncoderLayer", "nn.TransformerEncoder"):  # jit: linear, bmm
        return sum(_macs(op) for op in main if op.name in ("addmm", "mm", "bmm")), 0
    return 0, fvcore_other(call, main)


def fvcore_other(call: Call, ops: list[Op]) -> int:
    """The flops fvcore counts beyond multiply-adds: norms, upsampling, adaptive average pooling."""
    f = call.function
    if f in ("F.batch_norm", "torch.batch_norm"):
        weight = call.arg(3, "weight") if f == "F.batch_norm" else call.arg(1, "weight")
        return prod(call.args[0]) * (2 if weight is not None else 1)
    if f in ("F.layer_norm", "F.group_norm", "torch.layer_norm", "torch.group_norm"):
        return prod(call.args[0]) * (5 if call.arg(2, "weight") is not None else 4)
    if f in ("F.instance_norm", "torch.instance_norm"):
        weight = call.arg(3, "weight") if f == "F.instance_norm" else call.arg(1, "weight")
        return prod(call.args[0]) * (5 if weight is not None else 4)
    if f == "F.adaptive_avg_pool2d":
        return prod(call.args[0])
    scale = {"upsample_nearest2d": 1, "upsample_bilinear2d": 4}
    return sum(scale[op.name] * op.out[0].numel for op in ops if op.name in scale)


def fvcore_counts(ops: tuple[Op, ...]) -> tuple[int, int]:
    """(multiply-adds, other flops) fvcore counts for a row."""
    macs = other = 0
    for call, group in groups(ops):
        m, o = fvcore_call(call, group)
        macs, other = macs + m, other + o
    return macs, other


# --- ptflops: module hooks by exact class (a hooked module hides its descendants) and functional patches ---

PTFLOPS_POOLS = {f"{kind}Pool{d}d" for kind in ("Max", "Avg", "AdaptiveMax", "AdaptiveAvg") for d in (1, 2, 3)}
PTFLOPS_ACTIVATIONS = {"ReLU", "PReLU", "ELU", "LeakyReLU", "ReLU6", "GELU"}
PTFLOPS_NORMS = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
                 "GroupNorm", "LayerNorm"}
PTFLOPS_CONVS = {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"}
PTFLOPS_RNNS = {"RNN", "GRU", "LSTM", "RNNCell", "LSTMCell", "GRUCell"}
PTFLOPS_HOOKED = (PTFLOPS_POOLS | PTFLOPS_ACTIVATIONS | PTFLOPS_NORMS | PTFLOPS_CONVS | PTFLOPS_RNNS
                  | {"Linear", "Upsample", "MultiheadAttention"})
PTFLOPS_PATCHED = ({f"F.{name}" for name in ("relu", "prelu", "elu", "relu6", "gelu", "silu", "softmax")}
                   | {f"F.{kind}_pool{d}d" for kind in ("avg", "max", "adaptive_avg", "adaptive_max") for d in (1, 2, 3)})
PTFLOPS_MATMULS = {"torch.matmul", "Tensor.matmul", "torch.mm", "Tensor.mm", "torch.bmm", "Tensor.bmm"}


def _ptflops_hooks(kind: str) -> bool:
    return kind == TIMM_ATTENTION or (kind.startswith(NN) and kind.rpartition(".")[2] in PTFLOPS_HOOKED)


def ptflops_shadowed(module: Module | None) -> bool:
    """An ancestor has a ptflops hook: ptflops reads that one's count, never its descendants'."""
    return module is not None and any(_ptflops_hooks(kind) for kind in module.ancestors)


def ptflops_hooked(call: ModuleCall) -> bool:
    """The module has a ptflops hook (exact class) and no ancestor has one."""
    return _ptflops_hooks(call.module.type) and not ptflops_shadowed(call.module)


def _rnn_ptflops(call: ModuleCall, cls: str) -> int:
    a, x = call.module.attrs, call.input
    hidden, cell = a["hidden_size"], cls.endswith("Cell")
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[cls.removesuffix("Cell")]
    extra = {"RNN": hidden, "GRU": 7 * hidden, "LSTM": 10 * hidden}[cls.removesuffix("Cell")]
    bias = 2 * gates * hidden if a.get("bias", True) else 0
    if cell:
        return (gates * hidden * (a["input_size"] + hidden) + extra + bias) * x[0]
    layers, directions = a["num_layers"], 2 if a.get("bidirectional") else 1
    per = sum(gates * hidden * ((a["input_size"] if i == 0 else hidden * directions) + hidden) + extra + bias
              for i in range(layers))
    return per * x[0] * x[1] * directions


def _mha_ptflops(call: ModuleCall) -> int:
    a = call.module.attrs
    q, k, v = call.inputs[:3]
    length = 1 if a.get("batch_first") else 0
    batch = q[1 - length]
    qlen, klen, vlen, e, heads = q[length], k[length], v[length], q[2], a["num_heads"]
    flops = qlen * e + qlen * e * e + klen * k[2] * k[2] + vlen * v[2] * v[2]
    if any(name == "in_proj_bias" for name, *_ in call.module.params):
        flops += (qlen + klen + vlen) * e
    flops += heads * (qlen * klen * (e // heads) + qlen * klen + qlen * klen * (v[2] // heads))
    return (flops + qlen * v[2] * (v[2] + 1)) * batch


def ptflops_hook(call: ModuleCall) -> int:
    """What a ptflops module hook adds for one call (before ptflops divides by the batch)."""
    cls, x, y = nn_class(call), call.input, call.output
    if call.module.type == TIMM_ATTENTION:
        b, n, _ = x
        hd, heads = call.module.attrs["head_dim"], call.module.attrs["num_heads"]
        return (n * hd * heads + heads * (2 * n * n * hd + n * n)) * b
    if cls in PTFLOPS_CONVS:
        a = call.module.attrs
        per = prod(a["kernel_size"]) * a["in_channels"] * (a["out_channels"] // a["groups"])
        positions = x[0] * prod((x if cls.startswith("ConvT") else y)[2:])
        bias = x[0] * prod(y[1:]) if any(n == "bias" for n, *_ in call.module.params) else 0
        return per * positions + bias
    if cls in PTFLOPS_ACTIVATIONS:
        return y.numel
    if cls in PTFLOPS_POOLS:
        return x.numel
    if cls in PTFLOPS_NORMS:
        return x.numel * (2 if call.module.attrs.get("affine") else 1)
    if cls == "Linear":
        bias = y[-1] if any(n == "bias" for n, *_ in call.module.params) else 0
        return (x[-1] * y[-1] + bias) * prod(x[:-1])
    if cls == "Upsample":  # output[0]: the first sample's elements
        return prod(y[1:])
    if cls in PTFLOPS_RNNS:
        return _rnn_ptflops(call, cls)
    if cls == "MultiheadAttention":
        return _mha_ptflops(call)
    return 0


def _broadcast(a: Any, b: Any) -> int:
    if not isinstance(a, Shape):
        return b.numel if isinstance(b, Shape) else 1
    if not isinstance(b, Shape):
        return a.numel
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    return prod(max(i, j) for i, j in zip(a, b))


def _interpolate_ptflops(call: Call) -> float:
    x = call.arg(0, "input")
    size = call.arg(1, "size")
    if size is not None:
        return prod(size) * prod(x[:2]) if isinstance(size, tuple) else size ** (len(x) - 2) * prod(x[:2])
    scale = call.arg(2, "scale_factor")
    if isinstance(scale, tuple) and len(scale) == len(x) - 2:
        return x.numel * int(prod(scale))
    return x.numel * scale ** (len(x) - 2)


def ptflops_patch(call: Call, ops: list[Op]) -> float:
    """What ptflops's patched functions add for one torch call (not divided by the batch)."""
    f, a = call.function, call.args
    if f in PTFLOPS_PATCHED:
        return call.arg(0, "input").numel
    if f in ("F.interpolate", "F.upsample"):
        return _interpolate_ptflops(call)
    if f in PTFLOPS_MATMULS:
        return a[0].numel * a[1][-1]
    if f in ("torch.addmm", "torch.baddbmm", "Tensor.addmm"):
        return a[1].numel * a[2][-1] + (a[0].numel if call.kwargs.get("beta", 1) != 0 else 0)
    if f in ("torch.mul", "Tensor.mul", "torch.add", "Tensor.add"):
        return _broadcast(call.arg(0, "input"), call.arg(1, "other"))
    if f.startswith("nn.") and f[3:] in ("MultiheadAttention", "TransformerEncoderLayer"):
        return sum(op.args["self"].numel for op in ops if op.name == "_softmax")  # F.softmax inside, patched
    return 0


# --- thop: module hooks by exact class; the rest is not seen ---

THOP_ZERO = {"ZeroPad2d", "ReLU", "ReLU6", "LeakyReLU", "Dropout", "Sequential", "PixelShuffle",
             *(f"{kind}Pool{d}d" for kind in ("Max", "AdaptiveMax") for d in (1, 2, 3))}
THOP_NORMS = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "InstanceNorm1d", "InstanceNorm2d",
              "InstanceNorm3d", "SyncBatchNorm"}
THOP_UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259, "trilinear": 31}
THOP_RULES = (THOP_ZERO | THOP_NORMS | PTFLOPS_CONVS | PTFLOPS_RNNS
              | {"PReLU", "Softmax", "Linear", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"}
              | {f"{kind}Pool{d}d" for kind in ("Avg", "AdaptiveAvg") for d in (1, 2, 3)})


def _rnn_cell_thop(kind: str, inputs: int, hidden: int, bias: bool) -> int:
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    ops = gates * (hidden * (inputs + hidden) + hidden + (2 * hidden if bias else 0))
    return ops + {"RNN": 0, "GRU": hidden + 3 * hidden, "LSTM": 4 * hidden}[kind]


def _rnn_thop(call: ModuleCall, cls: str) -> int:
    a, x = call.module.attrs, call.input
    kind, bias, hidden = cls.removesuffix("Cell"), a.get("bias", True), a["hidden_size"]
    if cls.endswith("Cell"):
        return _rnn_cell_thop(kind, a["input_size"], hidden, bias) * x[0]
    directions = 2 if a.get("bidirectional") else 1
    total = _rnn_cell_thop(kind, a["input_size"], hidden, bias) * directions
    total += (a["num_layers"] - 1) * _rnn_cell_thop(kind, hidden * directions, hidden, bias) * directions
    batch, steps = (x[0], x[1]) if a.get("batch_first") else (x[1], x[0])
    return total * steps * batch


def thop_hook(call: ModuleCall) -> float:
    """What thop's rule for the module's exact class counts for one call (thop sums floats)."""
    cls, x, y, a = nn_class(call), call.input, call.output, call.module.attrs
    if cls in PTFLOPS_CONVS:
        return y.numel * (x[1] // a["groups"]) * prod(a["kernel_size"])
    if cls in THOP_NORMS:
        return 2 * x.numel * (2 if a.get("affine") or a.get("elementwise_affine") else 1)
    if cls == "PReLU":
        return x.numel
    if cls == "Softmax":
        k = x[a["dim"]]
        return x.numel // k * (3 * k - 1)
    if cls.startswith("AvgPool"):
        return y.numel
    if cls.startswith("AdaptiveAvgPool"):
        kernel = prod(i / o for i, o in zip(x[2:], y[2:]))
        return int((kernel + 1) * y.numel)
    if cls == "Linear":
        return a["in_features"] * y.numel
    if cls.startswith("Upsampl"):
        return THOP_UPSAMPLE.get(a.get("mode", "nearest"), 0) * y.numel
    if cls in PTFLOPS_RNNS:
        return _rnn_thop(call, cls)
    return 0


def thop_ruled(call: ModuleCall) -> bool:
    return nn_class(call) in THOP_RULES


# --- torchinfo: per leaf module call, each weight and bias parameter times the output size ---


def torchinfo_macs(call: ModuleCall) -> int:
    """torchinfo's 'mult-adds' of one leaf module call (0 for a module with children)."""
    if not call.module.leaf or call.output is None or not call.module.params:
        return 0
    out, conv = call.output, "Conv" in call.module.type.rpartition(".")[2]
    total = 0
    for name, _, numel, _ in call.module.params:
        if name in ("weight", "bias"):
            total += numel * (prod((*out[:1], *out[2:])) if conv else out[0])
        elif "weight" in name or "bias" in name:
            total += prod(out[:2]) * numel
    return total
