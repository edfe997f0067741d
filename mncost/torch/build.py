"""A Network as a real nn.Module, module names equal to the layer names.

Layer "block1.dw" is `dict(model.named_modules())["block1.dw"]`, a conv-BN-act
Sequential, so a counter's per-module rows join the analytic rows by name.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Callable

import torch
from torch import nn

from ..arch.layers import Layer, Network
from ..cost.ops import network_costs
from ..errors import MncostError

BYTES_PER_VALUE = 4  # float32
FALLBACK_MEMORY = 16 * 2**30  # when the machine's memory cannot be read

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "hswish": nn.Hardswish,
    "hsigmoid": nn.Hardsigmoid,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
}


def _activation(layer: Layer) -> list[tuple[str, nn.Module]]:
    if layer.activation is None:
        return []
    if layer.activation not in ACTIVATIONS:
        raise MncostError(f"activation {layer.activation!r} of layer {layer.name!r} has no PyTorch module; "
                          f"use one of: {', '.join(ACTIVATIONS)} or none")
    return [("act", ACTIVATIONS[layer.activation]())]


def conv_module(layer: Layer) -> nn.Module:
    """conv (+ BatchNorm2d) (+ activation), as .conv/.bn/.act children."""
    parts: list[tuple[str, nn.Module]] = [("conv", nn.Conv2d(
        layer.in_channels, layer.out_channels, layer.kernel, layer.stride, layer.padding,
        groups=layer.groups, bias=layer.bias))]
    if layer.norm:
        parts.append(("bn", nn.BatchNorm2d(layer.out_channels)))
    return nn.Sequential(OrderedDict(parts + _activation(layer)))


def linear_module(layer: Layer) -> nn.Module:
    """linear (+ BatchNorm1d) (+ activation), as .fc/.bn/.act children; flattens its input."""
    parts: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten()),
                                          ("fc", nn.Linear(layer.in_channels, layer.out_channels, bias=layer.bias))]
    if layer.norm:
        parts.append(("bn", nn.BatchNorm1d(layer.out_channels)))
    return nn.Sequential(OrderedDict(parts + _activation(layer)))


def pool_module(layer: Layer) -> nn.Module:
    """Average pooling to the layer's output size (global average pooling for 1x1)."""
    return nn.AdaptiveAvgPool2d(layer.output_size)


class Multiply(nn.Module):
    """x * gate, the [V3] squeeze-and-excite scale, written `x * gate` as torchvision and timm do."""

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        return x * gate


def mul_module(layer: Layer) -> nn.Module:
    """The elementwise multiply of a layer of op "mul"."""
    return Multiply()


class LayerScale(nn.Module):
    """[V4] layer scale: x * gamma, one learned gamma per channel (timm's LayerScale2d)."""

    def __init__(self, channels: int, init: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(1, -1, 1, 1)


class AttentionLogits(nn.Module):
    """softmax(Q K^T / sqrt(key_dim)) over `heads` query heads and one shared key head ([V4] Mobile MQA)."""

    def __init__(self, heads: int, key_dim: int) -> None:
        super().__init__()
        self.heads, self.key_dim = heads, key_dim

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        b, _, h, w = q.shape
        q = q.reshape(b, self.heads, self.key_dim, h * w).transpose(-1, -2)  # (B, heads, Nq, key_dim)
        logits = torch.matmul(q, k.flatten(2).unsqueeze(1))  # (B, heads, Nq, Nkv)
        return torch.softmax(logits * self.key_dim ** -0.5, dim=-1)


class AttentionValues(nn.Module):
    """The attention maps times one shared value head, back to a (heads x value_dim) feature map."""

    def __init__(self, heads: int, value_dim: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.heads, self.value_dim, self.size = heads, value_dim, size

    def forward(self, attention: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        out = torch.matmul(attention, v.flatten(2).transpose(1, 2).unsqueeze(1))  # (B, heads, Nq, value_dim)
        return out.transpose(-1, -2).reshape(out.shape[0], self.heads * self.value_dim, *self.size)


MODULES: dict[str, Callable[[Layer], nn.Module]] = {
    "conv2d": conv_module,
    "linear": linear_module,
    "avgpool": pool_module,
    "mul": mul_module,
    "batchnorm": lambda layer: nn.BatchNorm2d(layer.out_channels),
    "layerscale": lambda layer: LayerScale(layer.out_channels),
    "attn_qk": lambda layer: AttentionLogits(layer.groups, layer.in_channels // layer.groups),
    "attn_av": lambda layer: AttentionValues(layer.groups, layer.out_channels // layer.groups, layer.output_size),
}


def _place(root: nn.Module, name: str, module: nn.Module) -> None:
    """Register module at a dotted name, creating plain containers on the way."""
    *parents, leaf = name.split(".")
    owner = root
    for part in parents:
        if not hasattr(owner, part):
            owner.add_module(part, nn.Module())
        owner = getattr(owner, part)
    if hasattr(owner, leaf):
        raise MncostError(f"layer name {name!r} is used twice; layer names must be unique")
    owner.add_module(leaf, module)


class NetworkModule(nn.Module):
    """Runs a Network's layers in order: residual adds, multiplies, dropout before the first linear layer."""

    def __init__(self, net: Network) -> None:
        super().__init__()
        self.network = net
        self.names = [layer.name for layer in net.layers]
        self.shortcuts = {layer.name: layer.shortcut for layer in net.layers if layer.shortcut}
        self.operands = {layer.name: layer.operand for layer in net.layers if layer.operand}
        self.saved = set(self.shortcuts.values()) | set(self.operands.values())
        # [V4] attention: a layer may read an earlier layer's output (source), or take it as a second operand.
        self.sources = {layer.name: layer.source for layer in net.layers if layer.source}
        self.others = {layer.name: layer.other for layer in net.layers if getattr(layer, "other", None)}
        self.kept = set(self.sources.values()) | set(self.others.values())
        for layer in net.layers:
            _place(self, layer.name, MODULES[layer.op](layer))
        # Not a layer of the paper's table: no name clash with the layers, no cost.
        self.classifier_dropout = nn.Dropout(net.dropout) if net.dropout else None
        self.first_linear = next((layer.name for layer in net.layers if layer.op == "linear"), None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs: dict[str, torch.Tensor] = {}
        outputs: dict[str, torch.Tensor] = {}
        for name in self.names:
            if name in self.sources:
                x = outputs[self.sources[name]]
            if name in self.saved:
                inputs[name] = x
            if name == self.first_linear and self.classifier_dropout is not None:
                x = self.classifier_dropout(x)
            if name in self.operands:
                x = self.get_submodule(name)(inputs[self.operands[name]], x)
            elif name in self.others:
                x = self.get_submodule(name)(x, outputs[self.others[name]])
            else:
                x = self.get_submodule(name)(x)
            if name in self.shortcuts:
                x = x + inputs[self.shortcuts[name]]
            if name in self.kept:
                outputs[name] = x
        return x


def estimated_bytes(net: Network) -> int:
    """float32 bytes of the module's parameters, its input and every layer's output (all kept: an upper bound)."""
    rows = network_costs(net)
    first = net.layers[0]
    values = first.in_channels * first.input_size[0] * first.input_size[1]
    return BYTES_PER_VALUE * (values + sum(cost.params + cost.activations for _, cost in rows))


def memory_limit() -> int:
    """Half this machine's physical memory (16 GiB when it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, ValueError, OSError):
        return FALLBACK_MEMORY // 2


def check_memory(net: Network, what: str = "the module of") -> None:
    """Refuse, in one line, a Network whose module or forward pass would not fit in memory."""
    need, limit = estimated_bytes(net), memory_limit()
    if need > limit:
        height, width = net.resolution
        raise MncostError(f"{what} {net.arch} (alpha {net.alpha:g}, {height}x{width}, {net.num_classes:,} classes) "
                          f"needs an estimated {need / 2**30:,.1f} GiB (float32 weights and activations), over "
                          f"the limit of {limit / 2**30:,.1f} GiB (half this machine's memory); "
                          "use a smaller resolution, alpha or class count")


def build_module(net: Network) -> nn.Module:
    """An nn.Module of this Network, in eval mode, module names equal to the layer names."""
    check_memory(net)
    return NetworkModule(net).eval()


def input_tensor(net: Network) -> torch.Tensor:
    """A zero input of batch 1 and the Network's resolution."""
    return torch.zeros(1, net.layers[0].in_channels, *net.resolution)
