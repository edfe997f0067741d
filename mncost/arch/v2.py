"""MobileNetV2 ([V2]): Table 2 as (t, c, n, s) bottleneck rows, as torchvision keeps inverted_residual_setting."""

from __future__ import annotations

from dataclasses import dataclass

from .bounds import check_row
from .spec import Spec
from .stack import Stack, same


@dataclass(frozen=True)
class Bottleneck:
    """[V2] bottleneck rows (t, c, n, s): expand 1x1, depthwise 3x3, linear project 1x1."""

    t: int
    c: int
    n: int
    s: int

    def __post_init__(self) -> None:
        check_row(self)

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None:
        first, hidden = f"{name}.dw", stack.channels * self.t
        residual = stride == 1 and same(stack.channels, out)
        if self.t != 1:  # [V2]: with t = 1 there is no expand conv
            first = f"{name}.expand"
            stack.conv(first, hidden, 1)
        stack.conv(f"{name}.dw", hidden, 3, stride, groups=hidden)
        stack.conv(f"{name}.project", out, 1, activation=None, shortcut=first if residual else None)


# [V2] Table 2: expansion t, output channels c, repeats n, stride s of the first block.
V2 = Spec(
    name="v2",
    stem=32,
    rows=(Bottleneck(1, 16, 1, 1), Bottleneck(6, 24, 2, 2), Bottleneck(6, 32, 3, 2),
          Bottleneck(6, 64, 4, 2), Bottleneck(6, 96, 3, 1), Bottleneck(6, 160, 3, 2),
          Bottleneck(6, 320, 1, 1)),
    head=1280,
    thin_head=False,
    rounding="divisible",
    activation="relu6",
    dropout=0.2,
)

SPECS = (V2,)
