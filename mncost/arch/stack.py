"""The width rounding rules and the Stack that block rows append their layers to."""

from __future__ import annotations

from typing import Any, Callable

from .layers import Layer, Size, conv_output_size


def floor_width(c: int, alpha: float) -> int:
    """[V1] reference rounding: max(int(c * alpha), 8)."""
    return max(int(c * alpha), 8)


def divisible_width(c: int, alpha: float, divisor: int = 8) -> int:
    """[V2] reference rounding: nearest multiple of 8, at least 8, never 10% below c * alpha."""
    v = c * alpha
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


ROUNDING: dict[str, Callable[[int, float], int]] = {"floor": floor_width, "divisible": divisible_width}


class Stack:
    """Appends layers, tracking the current channels and feature map size.

    It also carries what a row needs to size itself: the width multiplier, the
    spec's build, and the channels the paper's table gives the row's input.
    """

    def __init__(self, resolution: Size, activation: str, alpha: float = 1.0, build: Any = None,
                 paper_channels: int = 3) -> None:
        self.channels, self.size, self.activation = 3, resolution, activation
        self.alpha, self.build, self.paper_channels = alpha, build, paper_channels
        self.layers: list[Layer] = []

    def conv(self, name: str, out: int, kernel: int, stride: int = 1, groups: int = 1,
             activation: str | None = "default", shortcut: str | None = None, bias: bool = False,
             norm: bool = True) -> Layer:
        padding = kernel // 2
        out_size = conv_output_size(self.size, kernel, stride, padding)
        act = self.activation if activation == "default" else activation
        layer = Layer(name, "conv2d", self.channels, out, self.size, out_size, kernel, stride, padding, groups,
                      bias=bias, norm=norm, activation=act, shortcut=shortcut)
        self.layers.append(layer)
        self.channels, self.size = out, out_size
        return layer

    def pool(self, name: str) -> Layer:
        """Global average pooling to 1x1."""
        layer = Layer(name, "avgpool", self.channels, self.channels, self.size, (1, 1))
        self.layers.append(layer)
        self.size = (1, 1)
        return layer

    def scale(self, name: str, operand: Layer) -> None:
        """Multiply the input of `operand` (channel by channel) by the current 1x1 map: the SE multiply."""
        self.layers.append(Layer(name, "mul", operand.in_channels, operand.in_channels, operand.input_size,
                                 operand.input_size, operand=operand.name))
        self.channels, self.size = operand.in_channels, operand.input_size

    def classifier(self, num_classes: int) -> None:
        self.layers.append(Layer("fc", "linear", self.channels, num_classes, (1, 1), (1, 1), bias=True))

    def append(self, layer: Layer) -> Layer:
        """Append a layer of any op, moving the stack to its output."""
        self.layers.append(layer)
        self.channels, self.size = layer.out_channels, layer.output_size
        return layer
