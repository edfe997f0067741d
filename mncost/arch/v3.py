"""MobileNetV3 ([V3]): Tables 1 and 2 as bneck rows (k, exp, out, SE, NL, s), the minimalistic variants, and
the four implementations' ways of sizing them at alpha != 1 (BUILDS)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .bounds import (
    MAX_BLOCKS,
    MAX_CHANNELS,
    MAX_KERNEL,
    MAX_STRIDE,
    check_bools,
    check_choice,
    check_ints,
    check_kernels,
)
from .spec import Spec
from .stack import Stack, at_least, choose, divisible_width, same

NONLINEARITY = {"RE": "relu", "HS": "hswish"}  # [V3] Tables 1-2, column NL


@dataclass(frozen=True)
class Bneck:
    """[V3] bneck rows (k, exp, out, SE, NL, s): expand 1x1, depthwise k x k, squeeze-and-excite
    (pool, 1x1 reduce with bias and ReLU, 1x1 expand with bias and hard-sigmoid, multiply),
    linear project 1x1; a residual add when the stride is 1 and in == out."""

    k: int
    exp: int
    out: int
    se: bool
    nl: str  # "RE" or "HS"
    s: int
    n: int = 1

    def __post_init__(self) -> None:
        check_ints(self, {"k": (1, MAX_KERNEL), "exp": (1, MAX_CHANNELS), "out": (1, MAX_CHANNELS),
                           "s": (1, MAX_STRIDE), "n": (1, MAX_BLOCKS)}, "Bneck row")
        check_kernels(self, "Bneck row")
        check_bools(self, ("se",), "Bneck row")
        check_choice(self, "nl", tuple(NONLINEARITY), "Bneck row")

    @property
    def c(self) -> int:
        """The row's output channels at alpha 1 (the paper's "out")."""
        return self.out

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None:
        act, build = NONLINEARITY[self.nl], stack.build or BUILDS[DEFAULT_BUILD]
        # Whether a block has an expand conv is the paper's choice (exp != in), never alpha's. Without one,
        # the depthwise conv runs on the input as it is, at the input's width (as in every implementation):
        # at alpha != 1 a spec's rounding may have made that width other than the build's expansion width.
        expands = self.exp != stack.paper_channels
        hidden = build.widen(self.exp, build.expansion, stack) if expands else stack.channels
        first, residual = f"{name}.dw", stride == 1 and same(stack.channels, out)
        if expands:
            first = f"{name}.expand"
            stack.conv(first, hidden, 1, activation=act)
        stack.conv(f"{name}.dw", hidden, self.k, stride, groups=hidden, activation=act)
        if self.se:  # [V3] section 5.3: the squeeze is 1/4 of the expansion, rounded to a multiple of 8
            pool = stack.pool(f"{name}.se.pool")
            stack.conv(f"{name}.se.reduce", divisible_width(hidden, 0.25), 1, activation="relu", bias=True,
                       norm=False)
            stack.conv(f"{name}.se.expand", hidden, 1, activation="hsigmoid", bias=True, norm=False)
            stack.scale(f"{name}.se.mul", pool)
        stack.conv(f"{name}.project", out, 1, activation=None, shortcut=first if residual else None)


@dataclass(frozen=True)
class V3Build:
    """How one implementation sizes MobileNetV3 at alpha != 1 (facts A.8; all agree at alpha 1).

    A "paper" width is make_divisible(paper width x alpha); an "input" width is
    make_divisible(actual input x paper width / paper input), the factor slim writes.
    """

    name: str
    source: str
    expansion: str  # the expanded width of a bneck: "paper" or "input"
    last_conv: str  # the 1x1 conv before the pool (960 / 576): "paper" or "input"
    stem_fixed_below: float  # the stem keeps the paper's 16 channels when alpha < this
    pooled_head: str  # the 1x1 conv after the pool (1280 / 1024): "alpha", "fixed" or "grows" (alpha > 1 only)

    def widen(self, paper_width: int, rule: str, stack: Stack) -> int:
        """A "paper" or "input" width (see the class docstring)."""
        if rule == "paper":
            return divisible_width(paper_width, stack.alpha)
        return divisible_width(stack.channels, paper_width / stack.paper_channels)

    def stem(self, paper_width: int, alpha: float) -> int:
        return choose(alpha < self.stem_fixed_below, paper_width, divisible_width(paper_width, alpha))

    def head(self, paper_width: int, alpha: float) -> int:
        scale = {"alpha": alpha, "fixed": 1.0, "grows": at_least(alpha, 1.0)}[self.pooled_head]
        return divisible_width(paper_width, scale)


BUILDS: dict[str, V3Build] = {b.name: b for b in (
    V3Build("slim", "tensorflow/models research/slim/nets/mobilenet/mobilenet_v3.py (the authors' reference)",
            expansion="input", last_conv="paper", stem_fixed_below=0.0, pooled_head="alpha"),
    V3Build("torchvision", "pytorch/vision torchvision/models/mobilenetv3.py",
            expansion="paper", last_conv="input", stem_fixed_below=0.0, pooled_head="alpha"),
    V3Build("timm", "huggingface/pytorch-image-models timm/models/mobilenetv3.py (mobilenetv3_*, tf_mobilenetv3_*)",
            expansion="input", last_conv="paper", stem_fixed_below=0.75, pooled_head="fixed"),
    V3Build("keras", "keras-team/keras keras/src/applications/mobilenet_v3.py",
            expansion="input", last_conv="input", stem_fixed_below=math.inf, pooled_head="grows"),
)}
DEFAULT_BUILD = "timm"  # matches the published 0.75 checkpoints (slim table: 155 M, 4.0 M)


# [V3] Table 1: MobileNetV3-Large as (k, exp, out, SE, NL, s); conv2 1x1 960, pool, 1x1 1280 (no BN).
V3_LARGE = Spec(
    name="v3-large",
    stem=16,
    rows=(Bneck(3, 16, 16, False, "RE", 1), Bneck(3, 64, 24, False, "RE", 2), Bneck(3, 72, 24, False, "RE", 1),
          Bneck(5, 72, 40, True, "RE", 2), Bneck(5, 120, 40, True, "RE", 1), Bneck(5, 120, 40, True, "RE", 1),
          Bneck(3, 240, 80, False, "HS", 2), Bneck(3, 200, 80, False, "HS", 1),
          Bneck(3, 184, 80, False, "HS", 1), Bneck(3, 184, 80, False, "HS", 1),
          Bneck(3, 480, 112, True, "HS", 1), Bneck(3, 672, 112, True, "HS", 1),
          Bneck(5, 672, 160, True, "HS", 2), Bneck(5, 960, 160, True, "HS", 1), Bneck(5, 960, 160, True, "HS", 1)),
    head=960,
    pooled_head=1280,
    rounding="divisible",
    activation="hswish",
    dropout=0.2,
    build=DEFAULT_BUILD,
)

# [V3] Table 2: MobileNetV3-Small; conv2 1x1 576, pool, 1x1 1024 (no BN).
V3_SMALL = replace(
    V3_LARGE,
    name="v3-small",
    rows=(Bneck(3, 16, 16, True, "RE", 2), Bneck(3, 72, 24, False, "RE", 2), Bneck(3, 88, 24, False, "RE", 1),
          Bneck(5, 96, 40, True, "HS", 2), Bneck(5, 240, 40, True, "HS", 1), Bneck(5, 240, 40, True, "HS", 1),
          Bneck(5, 120, 48, True, "HS", 1), Bneck(5, 144, 48, True, "HS", 1), Bneck(5, 288, 96, True, "HS", 2),
          Bneck(5, 576, 96, True, "HS", 1), Bneck(5, 576, 96, True, "HS", 1)),
    head=576,
    pooled_head=1024,
    notes=("[V3] Table 2 marks SE on the 1x1 576 conv; no implementation has it there, nor does mncost.",),
)


def minimalistic(spec: Spec) -> Spec:
    """[SLIM]'s minimalistic V3: every kernel 3x3, no squeeze-and-excite, ReLU everywhere."""
    rows = tuple(replace(row, k=3, se=False, nl="RE") for row in spec.rows)
    return replace(spec, name=f"{spec.name}-minimal", rows=rows, activation="relu", notes=())

SPECS = (V3_LARGE, V3_SMALL, minimalistic(V3_LARGE), minimalistic(V3_SMALL))
