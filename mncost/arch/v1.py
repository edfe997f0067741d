"""MobileNetV1 ([V1]): Table 1 as (c, s) rows of depthwise separable blocks, and the Conv and Shallow
MobileNets of Tables 4 and 5."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .bounds import check_row
from .spec import Spec
from .stack import Stack


@dataclass(frozen=True)
class Separable:
    """[V1] depthwise separable rows: dw 3x3 stride s, then pw 1x1 to c; n times."""

    c: int
    s: int
    n: int = 1

    def __post_init__(self) -> None:
        check_row(self)

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None:
        stack.conv(f"{name}.dw", stack.channels, 3, stride, groups=stack.channels)
        stack.conv(f"{name}.pw", out, 1)


@dataclass(frozen=True)
class FullConv:
    """A standard 3x3 conv row, as in [V1] Table 4's Conv MobileNet."""

    c: int
    s: int
    n: int = 1

    def __post_init__(self) -> None:
        check_row(self)

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None:
        stack.conv(f"{name}.conv", out, 3, stride)


# [V1] Table 1 as (out channels, stride of the depthwise conv).
V1 = Spec(
    name="v1",
    stem=32,
    rows=(Separable(64, 1), Separable(128, 2), Separable(128, 1), Separable(256, 2),
          Separable(256, 1), Separable(512, 2), Separable(512, 1, n=5),
          Separable(1024, 2),
          # Printed as "Conv dw / s2" with a 7x7 output: a misprint, stride 1 as in the reference.
          Separable(1024, 1)),
    notes=("[V1] Table 1 prints the last block's depthwise conv as s2, yet at 224 its output stays 7x7: "
           "mncost uses s1, as the reference implementation does.",),
)

# [V1] Table 4: Conv MobileNet, every separable block a full 3x3 conv of the same width and stride.
V1_FULLCONV = replace(V1, name="v1-fullconv", rows=tuple(FullConv(r.c, r.s, r.n) for r in V1.rows))

# [V1] Table 5: Shallow MobileNet, the five 14x14x512 separable blocks removed.
V1_SHALLOW = replace(V1, name="v1-shallow", rows=tuple(r for r in V1.rows if r != Separable(512, 1, n=5)))

SPECS = (V1, V1_FULLCONV, V1_SHALLOW)
