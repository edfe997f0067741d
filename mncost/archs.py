"""Architectures as data: the papers' tables, a width rounding rule, one builder.

V1 keeps [V1] Table 1 as (c, s) rows and V2 keeps [V2] Table 2 as (t, c, n, s)
rows, the way torchvision keeps inverted_residual_setting. A new architecture
is a new Spec, not a new builder.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from decimal import Decimal
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Union

from .errors import MncostError
from .layers import AttentionMatmul, Layer, LayerScaleLayer, Network, NormLayer, Size, conv_output_size


def floor_width(c: int, alpha: float) -> int:
    """[V1] reference rounding: max(int(c * alpha), 8)."""
    return max(int(c * alpha), 8)


def divisible_width(c: int, alpha: float, divisor: int = 8) -> int:
    """[V2] reference rounding: nearest multiple of 8, at least 8, never 10% below c * alpha."""
    v = c * alpha
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


ROUNDING: dict[str, Callable[[int, float], int]] = {"floor": floor_width, "divisible": divisible_width}
ACTIVATIONS = ("relu", "relu6", "hswish", "gelu")  # a spec's default activation

# Bounds on user input (docs/errors.md): generous for any MobileNet, small enough that every count stays exact
# and every number renders, and that a typo fails at once instead of building for minutes.
MAX_ALPHA = 100
MAX_SIDE = 65_536  # pixels per side of the input
MAX_CLASSES = 1_000_000
MAX_CHANNELS = 65_536  # c, stem and head of a spec
MAX_EXPANSION = 64  # t, and [V4]'s expansion ratios e
MAX_STRIDE = 64  # s
MAX_KERNEL = 64  # k, and [V4]'s depthwise kernels
MAX_BLOCKS = 1_000  # n, and the sum of n over a spec's rows


def shown(value: Any, quote: bool = True, limit: int = 40) -> str:
    """A value as an error message quotes it (repr, or a string as is): one line, at most `limit` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return f"an integer of more than {limit} digits"
    text = " ".join((value if isinstance(value, str) and not quote else repr(value)).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class SpecError(MncostError):
    """An invalid Spec or row field: `field` names it (stem, rows, t), `problem` says what is wrong."""

    def __init__(self, owner: str, field: str, problem: str) -> None:
        super().__init__(f"{owner}: {field}: {problem}")
        self.field, self.problem = field, problem


def _integer(value: Any, low: int, high: int) -> str | None:
    """What is wrong with this integer field, or None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return f"must be an integer, got {shown(value)}"
    if value < low:
        return f"must be > {low - 1}, got {shown(value)}"
    if value > high:
        return f"must be at most {high:,}, got {shown(value)}"
    return None


def _check_ints(owner: Any, bounds: dict[str, tuple[int, int]], label: str) -> None:
    """Validate the integer fields of a frozen dataclass and store them as plain ints."""
    for name, (low, high) in bounds.items():
        value = getattr(owner, name)
        problem = _integer(value, low, high)
        if problem:
            raise SpecError(label, name, problem)
        object.__setattr__(owner, name, operator.index(value))  # a numpy integer becomes an int


def _check_bools(owner: Any, names: tuple[str, ...], label: str) -> None:
    for name in names:
        if not isinstance(getattr(owner, name), bool):
            raise SpecError(label, name, f"must be true or false, got {shown(getattr(owner, name))}")


def _check_kernels(row: Any, label: str) -> None:
    """Kernels are odd (0: absent): padding k // 2 keeps the map's size, as in every MobileNet."""
    for name in ("k", "start_dw", "middle_dw", "dw_kernel"):
        if getattr(row, name, 1) % 2 == 0 and getattr(row, name) != 0:
            raise SpecError(label, name, f"must be odd (padding k // 2 keeps the map's size), got {getattr(row, name)}")


def _check_row(row: Any, **bounds: tuple[int, int]) -> None:
    """Validate a row's c, s, n (and t, and any other integer field in bounds), and its expansion
    ratio e and layer_scale flag when it has them ([V4])."""
    label = f"{type(row).__name__} row"
    bounds = {"c": (1, MAX_CHANNELS), "s": (1, MAX_STRIDE), "n": (1, MAX_BLOCKS), **bounds}
    if hasattr(row, "t"):
        bounds = {"t": (1, MAX_EXPANSION), **bounds}
    _check_ints(row, bounds, label)
    _check_kernels(row, label)
    if hasattr(row, "e"):
        if isinstance(row.e, bool) or not isinstance(row.e, numbers.Real) or not 0 < row.e <= MAX_EXPANSION:
            raise SpecError(label, "e", f"must be a number in (0, {MAX_EXPANSION}], got {shown(row.e)}")
        object.__setattr__(row, "e", float(row.e))
    if hasattr(row, "layer_scale"):
        _check_bools(row, ("layer_scale",), label)


class _Stack:
    """Appends layers, tracking the current channels and feature map size.

    It also carries what a row needs to size itself: the width multiplier, the
    spec's build, and the channels the paper's table gives the row's input.
    """

    def __init__(self, resolution: Size, activation: str, alpha: float = 1.0, build: V3Build | None = None,
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


@dataclass(frozen=True)
class Separable:
    """[V1] depthwise separable rows: dw 3x3 stride s, then pw 1x1 to c; n times."""

    c: int
    s: int
    n: int = 1

    def __post_init__(self) -> None:
        _check_row(self)

    def add(self, stack: _Stack, name: str, out: int, stride: int) -> None:
        stack.conv(f"{name}.dw", stack.channels, 3, stride, groups=stack.channels)
        stack.conv(f"{name}.pw", out, 1)


@dataclass(frozen=True)
class FullConv:
    """A standard 3x3 conv row, as in [V1] Table 4's Conv MobileNet."""

    c: int
    s: int
    n: int = 1

    def __post_init__(self) -> None:
        _check_row(self)

    def add(self, stack: _Stack, name: str, out: int, stride: int) -> None:
        stack.conv(f"{name}.conv", out, 3, stride)


@dataclass(frozen=True)
class Bottleneck:
    """[V2] bottleneck rows (t, c, n, s): expand 1x1, depthwise 3x3, linear project 1x1."""

    t: int
    c: int
    n: int
    s: int

    def __post_init__(self) -> None:
        _check_row(self)

    def add(self, stack: _Stack, name: str, out: int, stride: int) -> None:
        first, hidden = f"{name}.dw", stack.channels * self.t
        residual = stride == 1 and stack.channels == out
        if self.t != 1:  # [V2]: with t = 1 there is no expand conv
            first = f"{name}.expand"
            stack.conv(first, hidden, 1)
        stack.conv(f"{name}.dw", hidden, 3, stride, groups=hidden)
        stack.conv(f"{name}.project", out, 1, activation=None, shortcut=first if residual else None)


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
        _check_ints(self, {"k": (1, MAX_KERNEL), "exp": (1, MAX_CHANNELS), "out": (1, MAX_CHANNELS),
                           "s": (1, MAX_STRIDE), "n": (1, MAX_BLOCKS)}, "Bneck row")
        _check_kernels(self, "Bneck row")

    @property
    def c(self) -> int:
        """The row's output channels at alpha 1 (the paper's "out")."""
        return self.out

    def add(self, stack: _Stack, name: str, out: int, stride: int) -> None:
        act, build = NONLINEARITY[self.nl], stack.build or BUILDS[DEFAULT_BUILD]
        hidden = build.widen(self.exp, build.expansion, stack)
        first, residual = f"{name}.dw", stride == 1 and stack.channels == out
        # Whether a block has an expand conv is the paper's choice (exp != in), never alpha's.
        if self.exp != stack.paper_channels:
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

    def widen(self, paper_width: int, rule: str, stack: _Stack) -> int:
        """A "paper" or "input" width (see the class docstring)."""
        if rule == "paper":
            return divisible_width(paper_width, stack.alpha)
        return divisible_width(stack.channels, paper_width / stack.paper_channels)

    def stem(self, paper_width: int, alpha: float) -> int:
        return paper_width if alpha < self.stem_fixed_below else divisible_width(paper_width, alpha)

    def head(self, paper_width: int, alpha: float) -> int:
        scale = {"alpha": alpha, "fixed": 1.0, "grows": max(alpha, 1.0)}[self.pooled_head]
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


@dataclass(frozen=True)
class Spec:
    """An architecture in the papers' table form."""

    name: str
    stem: int  # channels of the first 3x3 stride-2 conv
    rows: tuple[Row, ...]
    head: int | None = None  # channels of a final 1x1 conv ([V2]: 1280; [V3]: 960 / 576)
    thin_head: bool = True  # False: the head keeps its width for alpha < 1 ([V2])
    pooled_head: int | None = None  # a 1x1 conv after the pool, bias, no BatchNorm ([V3]: 1280 / 1024)
    build: str | None = None  # [V3]: the implementation it follows at alpha != 1, a key of BUILDS
    rounding: str = "floor"
    activation: str = "relu"
    dropout: float = 0.0
    notes: tuple[str, ...] = ()
    stem_fixed_below: float = 0.0  # the stem keeps its width when alpha < this (timm's [V4] fix_stem: 1.0)
    thin_pooled_head: bool = True  # False: the conv after the pool keeps its width at any alpha ([V4])
    pooled_head_norm: bool = False  # True: the conv after the pool has BatchNorm and no bias ([V4])

    def __hash__(self) -> int:
        # A Spec keys the totals caches (mncost.totals): hash its fields once, not on every lookup.
        if "_hash" not in self.__dict__:
            object.__setattr__(self, "_hash", hash(tuple(getattr(self, f.name) for f in fields(self))))
        return self.__dict__["_hash"]

    def __post_init__(self) -> None:
        """Validate every field once, where the spec is made (in Python or from a spec file)."""
        label = f"spec {shown(self.name)}"

        def fail(name: str, problem: str) -> SpecError:
            return SpecError(label, name, problem)

        if not isinstance(self.name, str):
            raise fail("name", f"must be a string, got {shown(self.name)}")
        _check_ints(self, {"stem": (1, MAX_CHANNELS)}, label)
        for name in ("head", "pooled_head"):
            if getattr(self, name) is not None:
                _check_ints(self, {name: (1, MAX_CHANNELS)}, label)
        if not isinstance(self.rows, (tuple, list)) or not self.rows:
            raise fail("rows", f"must be a tuple of at least one row, got {shown(self.rows)}")
        for i, row in enumerate(self.rows):  # a row type of the user's own needs add() and a depth n
            if not callable(getattr(row, "add", None)) or _integer(getattr(row, "n", None), 1, MAX_BLOCKS):
                raise fail(f"rows[{i}]", f"must be a row such as Separable, FullConv or Bottleneck, got {shown(row)}")
        blocks = sum(row.n for row in self.rows)
        if blocks > MAX_BLOCKS:
            raise fail("rows", f"must have at most {MAX_BLOCKS:,} blocks in all (the sum of n), got {blocks:,}")
        _check_bools(self, ("thin_head", "thin_pooled_head", "pooled_head_norm"), label)
        fixed_below = self.stem_fixed_below
        if isinstance(fixed_below, bool) or not isinstance(fixed_below, numbers.Real) or not fixed_below >= 0:
            raise fail("stem_fixed_below", f"must be a number >= 0 (inf: always fixed), got {shown(fixed_below)}")
        for name, choices in (("rounding", tuple(ROUNDING)), ("activation", ACTIVATIONS)):
            if getattr(self, name) not in choices:
                raise fail(name, f"must be one of {', '.join(choices)}, got {shown(getattr(self, name))}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, numbers.Real) or not 0 <= self.dropout < 1:
            raise fail("dropout", f"must be a number in [0, 1), got {shown(self.dropout)}")
        if not isinstance(self.notes, (tuple, list)) or not all(isinstance(note, str) for note in self.notes):
            raise fail("notes", f"must be a tuple of strings, got {shown(self.notes)}")
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "dropout", float(self.dropout))


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

# [V1] Table 4: Conv MobileNet, every separable block a full 3x3 conv of the same width and stride.
V1_FULLCONV = replace(V1, name="v1-fullconv", rows=tuple(FullConv(r.c, r.s, r.n) for r in V1.rows))

# [V1] Table 5: Shallow MobileNet, the five 14x14x512 separable blocks removed.
V1_SHALLOW = replace(V1, name="v1-shallow", rows=tuple(r for r in V1.rows if r != Separable(512, 1, n=5)))

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


SPECS: dict[str, Spec] = {spec.name: spec for spec in (
    V1, V2, V1_FULLCONV, V1_SHALLOW, V3_LARGE, V3_SMALL, minimalistic(V3_LARGE), minimalistic(V3_SMALL))}


def build(spec: Spec, alpha: float, resolution: Size, num_classes: int) -> Network:
    """Lay out the spec's layers at this width multiplier, resolution and class count."""
    width = ROUNDING[spec.rounding]
    v3 = BUILDS[spec.build] if spec.build else None
    stack = _Stack(resolution, spec.activation, alpha, v3, spec.stem)
    stem = spec.stem if alpha < spec.stem_fixed_below else width(spec.stem, alpha)
    stack.conv("conv1", v3.stem(spec.stem, alpha) if v3 else stem, 3, 2)
    index = 0
    for row in spec.rows:
        for repeat in range(row.n):
            index += 1
            row.add(stack, f"block{index}", width(row.c, alpha), row.s if repeat == 0 else 1)
            stack.paper_channels = row.c
    if spec.head is not None:
        head = (v3.widen(spec.head, v3.last_conv, stack) if v3
                else width(spec.head, alpha if spec.thin_head else max(alpha, 1.0)))
        stack.conv("conv2", head, 1)
    stack.pool("pool")
    if spec.pooled_head is not None:
        pooled = width(spec.pooled_head, alpha if spec.thin_pooled_head else 1.0)
        stack.conv("conv3", v3.head(spec.pooled_head, alpha) if v3 else pooled, 1,
                   bias=not spec.pooled_head_norm, norm=spec.pooled_head_norm)
    stack.classifier(num_classes)
    notes = spec.notes + ((f"Widths at alpha != 1 as the {v3.name} build: {v3.source}.",) if v3 else ())
    return Network(spec.name, alpha, resolution, num_classes, tuple(stack.layers), spec.dropout, notes,
                   spec.build)


def parse_alpha(alpha: float | str) -> float:
    """A finite width multiplier in (0, MAX_ALPHA], or a MncostError (a bool is not a number)."""
    try:
        if isinstance(alpha, bool) or not isinstance(alpha, (str, numbers.Real, Decimal)):
            raise TypeError
        value = float(alpha)
    except (TypeError, ValueError, OverflowError):
        raise MncostError(f"alpha {shown(alpha)} is not a number; use a finite number > 0 (e.g. 0.75)") from None
    if not math.isfinite(value) or value <= 0:
        raise MncostError(f"alpha {shown(alpha, quote=False)} is invalid; use a finite number > 0 (e.g. 0.75)")
    if value > MAX_ALPHA:
        raise MncostError(f"alpha {shown(alpha, quote=False)} is too large; use at most {MAX_ALPHA}")
    return value


def _integer_text(value: Any) -> int:
    """An int from an integer (numpy's too) or a decimal string; ValueError otherwise (floats, bools, bytes)."""
    if isinstance(value, str):
        return int(value.strip(), 10)  # ValueError beyond 4,300 digits too
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(value)
    return operator.index(value)


def parse_resolution(res: int | str | tuple[int, int]) -> Size:
    """N, 'N', 'HxW' or (H, W) with integers from 1 to MAX_SIDE, as (H, W), or a MncostError.

    Integers are ints or numpy integers, never floats: 224.0 is refused like 224.5.
    """
    message = f"resolution {shown(res)} is invalid; use a positive integer N or HxW (e.g. 224 or 192x256)"
    if isinstance(res, str):
        text = res.strip().lower()
        parts: list = text.split("x") if "x" in text else [text, text]
    elif isinstance(res, (tuple, list)):
        parts = list(res)
    else:
        parts = [res, res]
    try:
        sides = [_integer_text(side) for side in parts]
    except ValueError:
        raise MncostError(message) from None
    if len(sides) != 2 or not all(side >= 1 for side in sides):
        raise MncostError(message)
    if max(sides) > MAX_SIDE:
        raise MncostError(f"resolution {shown(res)} is too large; use sides of at most {MAX_SIDE} pixels")
    return sides[0], sides[1]


def parse_classes(classes: int | str) -> int:
    """A class count from 1 to MAX_CLASSES (an integer, never a float), or a MncostError."""
    message = f"classes {shown(classes)} is invalid; use an integer >= 1 (e.g. 1000)"
    try:
        value = _integer_text(classes)
    except ValueError:
        raise MncostError(message) from None
    if value < 1:
        raise MncostError(message)
    if value > MAX_CLASSES:
        raise MncostError(f"classes {shown(classes)} is too large; use at most {MAX_CLASSES:,}")
    return value


def get_spec(arch: str | os.PathLike, build: str | None = None) -> Spec:
    """The built-in spec of this name, a spec file path ending in .toml, or a MncostError;
    `build` picks a [V3] spec's implementation (a key of BUILDS)."""
    if isinstance(arch, str) and arch in SPECS:
        spec = SPECS[arch]
    elif isinstance(arch, (str, os.PathLike)) and os.fspath(arch).endswith(".toml"):
        from .spec import load_spec

        spec = load_spec(arch)
    else:
        raise MncostError(f"unknown arch {shown(arch)}; use one of: {', '.join(SPECS)}, or a spec file path.toml")
    return spec if build is None else with_build(spec, build)


def with_build(spec: Spec, build: str) -> Spec:
    """The [V3] spec sized as the named implementation does at alpha != 1, or a MncostError."""
    if build not in BUILDS:
        raise MncostError(f"unknown build {shown(build)}; use one of: {', '.join(BUILDS)}")
    if spec.build is None:
        raise MncostError(f"arch {spec.name!r} has no builds; --build applies to the V3 archs "
                          f"({', '.join(name for name, s in SPECS.items() if s.build)})")
    return replace(spec, build=build)


def network(arch: str | os.PathLike | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
            classes: int = 1000) -> Network:
    """The Network for an arch name (or Spec) at width multiplier alpha, resolution and classes."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    return build(spec, parse_alpha(alpha), parse_resolution(res), parse_classes(classes))


# --- MobileNetV4 ([V4]): block rows in TF Model Garden's order (kernel(s), strides, filters, expand_ratio) ---


def _append(stack: _Stack, layer: Layer) -> Layer:
    """Append a layer of any op, moving the stack to its output."""
    stack.layers.append(layer)
    stack.channels, stack.size = layer.out_channels, layer.output_size
    return layer


def _branch(stack: _Stack, source: Layer, name: str, out: int, kernel: int, stride: int = 1,
            groups: int = 1, norm: bool = True) -> Layer:
    """A linear conv reading the output of `source` (not the previous layer's): [V4]'s K and V branches."""
    stack.channels, stack.size = source.out_channels, source.output_size
    layer = replace(stack.conv(name, out, kernel, stride, groups=groups, activation=None, norm=norm),
                    source=source.name)
    stack.layers[-1] = layer
    return layer


def _close(stack: _Stack, name: str, out: int, block_input: str | None, layer_scale: bool,
           projection: str = "project", norm: bool = True) -> None:
    """The block's linear 1x1 projection, then [V4]'s layer scale, then the residual add of the block input
    (`block_input` names the layer whose input that is; None: no residual)."""
    stack.conv(f"{name}.{projection}", out, 1, activation=None, norm=norm,
               shortcut=None if layer_scale else block_input)
    if layer_scale:
        _append(stack, LayerScaleLayer(f"{name}.layer_scale", "layerscale", out, out, stack.size, stack.size,
                                       shortcut=block_input))


@dataclass(frozen=True)
class ConvBN:
    """[V4] a plain conv k x k + BatchNorm + activation (TFM 'convbn', timm 'cn'): Conv-S's stem pairs."""

    k: int
    s: int
    c: int
    n: int = 1

    def __post_init__(self) -> None:
        _check_row(self, k=(1, MAX_KERNEL))

    def add(self, stack: _Stack, name: str, out: int, stride: int) -> None:
        stack.conv(f"{name}.conv", out, self.k, stride)


@dataclass(frozen=True)
class FusedIB:
    """[V4] FusedIB (TFM 'fused_ib', timm 'er'): a k x k conv expanding to e x the input (BN, act), then a
    linear 1x1 projection (BN); residual when the stride is 1 and in == out."""

    k: int
    s: int
    c: int
    e: float
    n: int = 1

    def __post_init__(self) -> None:
        _check_row(self, k=(1, MAX_KERNEL))

    def add(self, stack: _Stack, name: str, out: int, stride: int) -> None:
        residual = stride == 1 and stack.paper_channels == self.c
        expand = stack.conv(f"{name}.expand", divisible_width(stack.channels, self.e), self.k, stride)
        _close(stack, name, out, expand.name if residual else None, layer_scale=False)


@dataclass(frozen=True)
class UIB:
    """[V4] Universal Inverted Bottleneck (TFM 'uib', timm 'uir'): an optional start depthwise conv (BN, no
    act), a 1x1 expansion to e x the input (BN, act), an optional middle depthwise conv (BN, act, the
    block's stride), a linear 1x1 projection (BN), layer scale in the hybrids, and a residual when the
    stride is 1 and in == out. Kernel 0 = absent: ExtraDW (both), IB (middle only), ConvNext-like
    (start only), FFN (neither)."""

    start_dw: int
    middle_dw: int
    s: int
    c: int
    e: float
    n: int = 1
    layer_scale: bool = False

    def __post_init__(self) -> None:
        _check_row(self, start_dw=(0, MAX_KERNEL), middle_dw=(0, MAX_KERNEL))
        if self.s > 1 and not (self.start_dw or self.middle_dw):
            raise SpecError("UIB row", "s", f"must be 1 in a UIB with no depthwise conv (an FFN), got {self.s}")

    def add(self, stack: _Stack, name: str, out: int, stride: int) -> None:
        residual, first = stride == 1 and stack.paper_channels == self.c, None
        if self.start_dw:  # strided only when there is no middle depthwise conv (TFM middle_dw_downsample)
            first = stack.conv(f"{name}.dw_start", stack.channels, self.start_dw, 1 if self.middle_dw else stride,
                               groups=stack.channels, activation=None).name
        expand = stack.conv(f"{name}.expand", divisible_width(stack.channels, self.e), 1)
        if self.middle_dw:
            stack.conv(f"{name}.dw_mid", stack.channels, self.middle_dw, stride, groups=stack.channels)
        _close(stack, name, out, (first or expand.name) if residual else None, self.layer_scale)


@dataclass(frozen=True)
class MobileMQA:
    """[V4] Mobile MQA (TFM 'mhsa' with use_multi_query, timm 'mqa'), Eq. 2: a BatchNorm pre-norm; a 1x1
    query projection to heads x key_dim; ONE key and ONE value head shared by all query heads, each a
    3x3 depthwise conv with stride kv_strides and BN (the spatial reduction SR, only when kv_strides > 1)
    then a 1x1 projection; softmax(Q K^T / sqrt(key_dim)) V; a 1x1 output projection; layer scale; the
    residual. Projections have no bias and no BN (timm use_bias=False). Query strides are not modelled."""

    heads: int
    key_dim: int
    value_dim: int
    kv_strides: int
    c: int
    s: int = 1
    n: int = 1
    layer_scale: bool = False
    dw_kernel: int = 3

    def __post_init__(self) -> None:
        _check_row(self, heads=(1, MAX_CHANNELS), key_dim=(1, MAX_CHANNELS), value_dim=(1, MAX_CHANNELS),
                   kv_strides=(1, MAX_STRIDE), dw_kernel=(1, MAX_KERNEL))
        if self.s != 1:
            raise SpecError("MobileMQA row", "s", f"must be 1 (query strides are not modelled), got {self.s}")

    def add(self, stack: _Stack, name: str, out: int, stride: int) -> None:
        residual, c = stack.paper_channels == self.c, stack.channels
        norm = _append(stack, NormLayer(f"{name}.norm", "batchnorm", c, c, stack.size, stack.size, norm=True))
        query = stack.conv(f"{name}.query.proj", self.heads * self.key_dim, 1, activation=None, norm=False)
        key = self._head(stack, name, "key", self.key_dim, norm)
        value = self._head(stack, name, "value", self.value_dim, norm)
        qk = _append(stack, AttentionMatmul(f"{name}.qk", "attn_qk", query.out_channels, self.heads,
                                            query.output_size, query.output_size, groups=self.heads,
                                            source=query.name, kv_size=key.output_size, other=key.name))
        _append(stack, AttentionMatmul(f"{name}.av", "attn_av", self.heads, self.heads * self.value_dim,
                                       qk.output_size, qk.output_size, groups=self.heads,
                                       kv_size=value.output_size, other=value.name))
        _close(stack, name, out, norm.name if residual else None, self.layer_scale, "output.proj", norm=False)

    def _head(self, stack: _Stack, name: str, part: str, dim: int, norm: Layer) -> Layer:
        """The shared key (or value) head: [SR: depthwise conv stride kv_strides + BN] then a 1x1 projection."""
        if self.kv_strides > 1:
            _branch(stack, norm, f"{name}.{part}.down", norm.out_channels, self.dw_kernel, self.kv_strides,
                    groups=norm.out_channels)
            return stack.conv(f"{name}.{part}.proj", dim, 1, activation=None, norm=False)
        return _branch(stack, norm, f"{name}.{part}.proj", dim, 1, norm=False)


Row = Union[Separable, FullConv, Bottleneck, Bneck, ConvBN, FusedIB, UIB, MobileMQA]


def _layer_scaled(rows: tuple) -> tuple:
    """The hybrids' rows: layer scale on every UIB and Mobile MQA block (timm layer_scale_init_value 1e-5)."""
    return tuple(replace(row, layer_scale=True) if isinstance(row, (UIB, MobileMQA)) else row for row in rows)


V4_NOTES = ("[V4] defines no width multiplier; at alpha != 1 widths follow timm's _gen_mobilenet_v4: "
            "make_divisible(c x alpha, 8) per block, expansions from the actual input, the stem fixed below "
            "alpha 1, the 1280 head never thinned; Mobile MQA heads and key/value dims stay fixed.",)

# [V4] Table 11 (TFM MNv4ConvSmall, timm mobilenetv4_conv_small): nominal input 224.
V4_CONV_SMALL = Spec(
    name="v4-conv-small",
    stem=32,
    rows=(ConvBN(3, 2, 32), ConvBN(1, 1, 32), ConvBN(3, 2, 96), ConvBN(1, 1, 64),
          UIB(5, 5, 2, 96, 3.0), UIB(0, 3, 1, 96, 2.0, n=4), UIB(3, 0, 1, 96, 4.0),
          UIB(3, 3, 2, 128, 6.0), UIB(5, 5, 1, 128, 4.0), UIB(0, 5, 1, 128, 4.0), UIB(0, 5, 1, 128, 3.0),
          UIB(0, 3, 1, 128, 4.0, n=2)),
    head=960,
    pooled_head=1280,
    rounding="divisible",
    activation="relu",
    notes=V4_NOTES,
    stem_fixed_below=1.0,
    thin_pooled_head=False,
    pooled_head_norm=True,
)

# [V4] Table 12 (MNv4ConvMedium): nominal input 256.
V4_CONV_MEDIUM = replace(
    V4_CONV_SMALL,
    name="v4-conv-medium",
    rows=(FusedIB(3, 2, 48, 4.0),
          UIB(3, 5, 2, 80, 4.0), UIB(3, 3, 1, 80, 2.0),
          UIB(3, 5, 2, 160, 6.0), UIB(3, 3, 1, 160, 4.0, n=2), UIB(3, 5, 1, 160, 4.0), UIB(3, 3, 1, 160, 4.0),
          UIB(3, 0, 1, 160, 4.0), UIB(0, 0, 1, 160, 2.0), UIB(3, 0, 1, 160, 4.0),
          UIB(5, 5, 2, 256, 6.0), UIB(5, 5, 1, 256, 4.0), UIB(3, 5, 1, 256, 4.0, n=2), UIB(0, 0, 1, 256, 4.0),
          UIB(3, 0, 1, 256, 4.0), UIB(3, 5, 1, 256, 2.0), UIB(5, 5, 1, 256, 4.0), UIB(0, 0, 1, 256, 4.0, n=2),
          UIB(5, 0, 1, 256, 2.0)),
)

# [V4] Table 13 (MNv4ConvLarge): stem 24, nominal input 384.
V4_CONV_LARGE = replace(
    V4_CONV_SMALL,
    name="v4-conv-large",
    stem=24,
    rows=(FusedIB(3, 2, 48, 4.0),
          UIB(3, 5, 2, 96, 4.0), UIB(3, 3, 1, 96, 4.0),
          UIB(3, 5, 2, 192, 4.0), UIB(3, 3, 1, 192, 4.0, n=3), UIB(3, 5, 1, 192, 4.0), UIB(5, 3, 1, 192, 4.0, n=5),
          UIB(3, 0, 1, 192, 4.0),
          UIB(5, 5, 2, 512, 4.0, n=4), UIB(5, 0, 1, 512, 4.0), UIB(5, 3, 1, 512, 4.0), UIB(5, 0, 1, 512, 4.0, n=2),
          UIB(5, 3, 1, 512, 4.0), UIB(5, 5, 1, 512, 4.0), UIB(5, 0, 1, 512, 4.0, n=3)),
)

_MQA_M16, _MQA_M8 = MobileMQA(4, 64, 64, 2, 160), MobileMQA(4, 64, 64, 1, 256)

# [V4] Table 14 (MNv4HybridMedium): Conv-M's stages with 4 Mobile MQA blocks in each of the last two.
V4_HYBRID_MEDIUM = replace(
    V4_CONV_SMALL,
    name="v4-hybrid-medium",
    rows=_layer_scaled((
        FusedIB(3, 2, 48, 4.0),
        UIB(3, 5, 2, 80, 4.0), UIB(3, 3, 1, 80, 2.0),
        UIB(3, 5, 2, 160, 6.0), UIB(0, 0, 1, 160, 2.0), UIB(3, 3, 1, 160, 4.0), UIB(3, 5, 1, 160, 4.0),
        _MQA_M16, UIB(3, 3, 1, 160, 4.0), _MQA_M16, UIB(3, 0, 1, 160, 4.0), _MQA_M16, UIB(3, 3, 1, 160, 4.0),
        _MQA_M16, UIB(3, 0, 1, 160, 4.0),
        UIB(5, 5, 2, 256, 6.0), UIB(5, 5, 1, 256, 4.0), UIB(3, 5, 1, 256, 4.0, n=2), UIB(0, 0, 1, 256, 2.0),
        UIB(3, 5, 1, 256, 2.0), UIB(0, 0, 1, 256, 2.0), UIB(0, 0, 1, 256, 4.0),
        _MQA_M8, UIB(3, 0, 1, 256, 4.0), _MQA_M8, UIB(5, 5, 1, 256, 4.0), _MQA_M8, UIB(5, 0, 1, 256, 4.0),
        _MQA_M8, UIB(5, 0, 1, 256, 4.0))),
)

_MQA_L16, _MQA_L8 = MobileMQA(8, 48, 48, 2, 192), MobileMQA(8, 64, 64, 1, 512)

# [V4] Table 15 (MNv4HybridLarge): Conv-L's stages with 4 Mobile MQA blocks in each of the last two, GELU.
V4_HYBRID_LARGE = replace(
    V4_CONV_LARGE,
    name="v4-hybrid-large",
    activation="gelu",
    rows=_layer_scaled((
        FusedIB(3, 2, 48, 4.0),
        UIB(3, 5, 2, 96, 4.0), UIB(3, 3, 1, 96, 4.0),
        UIB(3, 5, 2, 192, 4.0), UIB(3, 3, 1, 192, 4.0, n=3), UIB(3, 5, 1, 192, 4.0), UIB(5, 3, 1, 192, 4.0, n=2),
        _MQA_L16, UIB(5, 3, 1, 192, 4.0), _MQA_L16, UIB(5, 3, 1, 192, 4.0), _MQA_L16, UIB(5, 3, 1, 192, 4.0),
        _MQA_L16, UIB(3, 0, 1, 192, 4.0),
        UIB(5, 5, 2, 512, 4.0, n=4), UIB(5, 0, 1, 512, 4.0), UIB(5, 3, 1, 512, 4.0), UIB(5, 0, 1, 512, 4.0, n=2),
        UIB(5, 3, 1, 512, 4.0), UIB(5, 5, 1, 512, 4.0),
        _MQA_L8, UIB(5, 0, 1, 512, 4.0), _MQA_L8, UIB(5, 0, 1, 512, 4.0), _MQA_L8, UIB(5, 0, 1, 512, 4.0),
        _MQA_L8, UIB(5, 0, 1, 512, 4.0))),
)

V4_SPECS = (V4_CONV_SMALL, V4_CONV_MEDIUM, V4_CONV_LARGE, V4_HYBRID_MEDIUM, V4_HYBRID_LARGE)
SPECS.update({spec.name: spec for spec in V4_SPECS})
