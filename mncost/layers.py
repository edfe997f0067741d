"""The intermediate form: typed layers with shapes, and a Network of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Op = Literal["conv2d", "linear", "avgpool",
             # rows a traced model adds (mncost.usermodel): ops that fold into no conv or FC layer
             "maxpool", "act", "batchnorm", "add", "mul", "softmax", "matmul", "attention"]
Size = tuple[int, int]


def conv_output_size(size: Size, kernel: int, stride: int, padding: int) -> Size:
    """PyTorch conv arithmetic: floor((H + 2p - k) / s) + 1 per side."""
    h, w = size
    return (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class Layer:
    """One layer as the paper's table lists it, with PyTorch shapes."""

    name: str
    op: Op
    in_channels: int
    out_channels: int
    input_size: Size
    output_size: Size
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False
    norm: bool = False  # BatchNorm after the op
    activation: str | None = None  # "relu", "relu6" or None (linear)
    shortcut: str | None = None  # add the input of this named layer to the output
    # How the op ran when not as mncost.torch.build builds it (None): "F.relu", "nn.AvgPool2d",
    # "torch.add", "Tensor.mean", ... Counters that hook modules or patch functions key on it.
    call: str | None = None

    @property
    def kind(self) -> str:
        """The paper's layer type: conv, dw, pw, gconv, fc or pool."""
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
        if self.op != "conv2d":
            return ""
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

    def layer(self, name: str) -> Layer:
        """The layer with this name."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)
