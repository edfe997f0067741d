"""The intermediate form: typed layers with shapes, and a Network of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .records import ModuleCall, Op, Shape

# A layer's op: conv2d, linear, avgpool, mul, and [V4]'s batchnorm, layerscale, attn_qk, attn_av; a traced
# model's rows (mncost.torch.fold) add the op they ran: conv1d, conv_transpose2d, matmul, attention, act,
# add, maxpool, layernorm, interpolate, cat, einsum, lstm, ... (the aten op's name for any other).
Size = tuple[int, int]


def conv_output_size(size: Size, kernel: int, stride: int, padding: int) -> Size:
    """PyTorch conv arithmetic: floor((H + 2p - k) / s) + 1 per side."""
    h, w = size
    return (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class Layer:
    """One layer as the paper's table lists it, with PyTorch shapes."""

    name: str
    op: str
    in_channels: int
    out_channels: int
    input_size: Size
    output_size: Size
    kernel: Any = 1  # an int, or a tuple when not square (a traced conv)
    stride: Any = 1
    padding: Any = 0
    groups: int = 1
    bias: bool = False
    norm: bool = False  # BatchNorm after the op
    activation: str | None = None  # "relu", "relu6", "hswish", "hsigmoid" or None (linear)
    shortcut: str | None = None  # add the input of this named layer to the output
    operand: str | None = None  # op "mul": multiply the input of this named layer by this layer's input
    source: str | None = None  # read the output of this named layer, not the previous layer's ([V4] K/V branches)
    # How the op ran when not as mncost.torch.build builds it (None): "F.relu", "nn.AvgPool2d",
    # "torch.add", "Tensor.mean", ... Counters that hook modules or patch functions key on it.
    call: str | None = None
    # A traced row: the aten ops it ran, the module calls that began in it, and the parameters it used first
    # (key, role, shape). A built-in arch's layer leaves them empty: mncost.cost.layout derives its ops.
    ops: tuple[Op, ...] = field(default=(), compare=False, repr=False)
    calls: tuple[ModuleCall, ...] = field(default=(), compare=False, repr=False)
    params: tuple[tuple[str, str, Shape], ...] = field(default=(), compare=False, repr=False)

    @property
    def kind(self) -> str:
        """The paper's layer type: conv, dw, pw, gconv, fc, pool or mul."""
        if self.op == "linear":
            return "fc"
        if self.op == "avgpool":
            return "pool"
        if self.op != "conv2d":
            return self.op
        if self.groups == 1:
            return "pw" if self.kernel == 1 else "conv"
        if self.groups == self.in_channels == self.out_channels:
            return "dw"
        return "gconv"

    @property
    def filter_shape(self) -> str:
        """The filter shape in [V1] Table 1 notation (3x3x32 dw, 1x1x32x64, 1024x1000)."""
        k = f"{self.kernel}x{self.kernel}"
        if self.kind == "fc":
            return f"{self.in_channels}x{self.out_channels}"
        if self.kind == "pool":
            return "Pool {}x{}".format(*self.input_size)
        if self.kind == "mul":
            return f"x 1x1x{self.in_channels}"
        if self.op != "conv2d":
            return ""
        if not isinstance(self.kernel, int):
            k = "x".join(map(str, self.kernel))
        if self.kind == "dw":
            return f"{k}x{self.in_channels} dw"
        groups = f" g{self.groups}" if self.groups > 1 else ""
        return f"{k}x{self.in_channels // self.groups}x{self.out_channels}{groups}"


@dataclass(frozen=True)
class Network:
    """An architecture at one width multiplier, resolution and class count."""

    arch: str
    alpha: float
    resolution: Size
    num_classes: int
    layers: tuple[Layer, ...]
    dropout: float = 0.0  # before the classifier, as the reference V2 has it
    notes: tuple[str, ...] = field(default=())
    build: str | None = None  # the implementation a [V3] network follows at alpha != 1 (arch.v3.BUILDS)
    # A traced model: the batch that ran, parameters no op read (key, numel), ops with no registry entry
    # (op, module, calls)
    batch: int = 1
    unused: tuple[tuple[str, int], ...] = ()
    unknown: tuple[tuple[str, str, int], ...] = ()
    frozen: int = 0  # elements of the parameters that do not require grad

    def layer(self, name: str) -> Layer:
        """The layer with this name."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


# [V4] Mobile MQA and layer scale: ops beyond conv, FC, pool and multiply, each its own Layer subclass.
# NormLayer and LayerScaleLayer add no field: plain subclasses, they use Layer's dataclass methods as they
# are (repr, eq and hash by class and fields) instead of generating them again at import.


class NormLayer(Layer):
    """A BatchNorm on its own (op "batchnorm"): [V4]'s pre-norm of a Mobile MQA block."""

    @property
    def kind(self) -> str:
        return "bn"

    @property
    def filter_shape(self) -> str:
        return f"BN {self.in_channels}"


class LayerScaleLayer(Layer):
    """A learned per-channel scale gamma (op "layerscale"), [V4]'s layer scale before the residual add."""

    @property
    def kind(self) -> str:
        return "ls"

    @property
    def filter_shape(self) -> str:
        return f"x gamma {self.in_channels}"


@dataclass(frozen=True)
class AttentionMatmul(Layer):
    """One of attention's two batched matmuls over `groups` heads, queries at output_size, keys and
    values at kv_size. Op "attn_qk": softmax(Q K^T) from in_channels = heads x key_dim query channels
    to out_channels = heads maps; op "attn_av": those maps times V, out_channels = heads x value_dim.
    `other` names the layer whose output is the second operand (K or V)."""

    kv_size: Size = (1, 1)
    other: str | None = None

    @property
    def kind(self) -> str:
        return "matmul"

    @property
    def filter_shape(self) -> str:
        kv = "{}x{}".format(*self.kv_size)
        if self.op == "attn_qk":
            return f"QK^T {self.groups}h x{self.in_channels // self.groups}, kv {kv}"
        return f"AV {self.groups}h x{self.out_channels // self.groups}, kv {kv}"
