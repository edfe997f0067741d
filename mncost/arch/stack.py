"""The width rounding rules and the Stack that block rows append their layers to.

The rules are elementwise: alpha may be a numpy array holding every alpha of a sweep, and the
widths are then float64 arrays of whole numbers, so that one build lays the network out at every
alpha at once (mncost.cost.totals). at_least, choose and same are the branches a row or the builder
takes on a width or on alpha, written so that they hold for one value and for such an array alike.
"""

from __future__ import annotations

from typing import Any, Callable

from .layers import Layer, Size, conv_output_size


def _scalar(x: Any) -> bool:
    return isinstance(x, (int, float))


def _whole(x: Any) -> Any:
    """int(x) for x >= 0; over an array, floor(x) kept as float64 (exact for whole numbers below 2^53)."""
    return int(x) if _scalar(x) else x // 1


def at_least(x: Any, low: float) -> Any:
    """max(x, low), elementwise over an array."""
    return max(x, low) if _scalar(x) else x.clip(min=low)


def choose(condition: Any, if_true: Any, if_false: Any) -> Any:
    """if_true where condition holds, else if_false, elementwise over an array condition."""
    if getattr(condition, "ndim", 0) == 0:
        return if_true if condition else if_false
    return if_false + (if_true - if_false) * condition


def same(a: Any, b: Any) -> bool:
    """a == b for two widths; over arrays, equal at every alpha. A build at many alphas serves only their
    costs, which no residual add (the one thing decided by it) changes."""
    equal = a == b
    return bool(equal.all()) if hasattr(equal, "all") else equal


def floor_width(c: int, alpha: Any) -> Any:
    """[V1] reference rounding: max(int(c * alpha), 8)."""
    return at_least(_whole(c * alpha), 8)


def divisible_width(c: Any, alpha: Any, divisor: int = 8) -> Any:
    """[V2] reference rounding: nearest multiple of 8, at least 8, never 10% below c * alpha."""
    v = c * alpha
    rounded = at_least(_whole(v + divisor / 2) // divisor * divisor, divisor)
    return rounded + divisor * (rounded < 0.9 * v)


ROUNDING: dict[str, Callable[[int, Any], Any]] = {"floor": floor_width, "divisible": divisible_width}


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
