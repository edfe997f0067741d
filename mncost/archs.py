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
from dataclasses import dataclass, replace
from typing import Any, Callable, Union

from .errors import MncostError
from .layers import Layer, Network, Size, conv_output_size


def floor_width(c: int, alpha: float) -> int:
    """[V1] reference rounding: max(int(c * alpha), 8)."""
    return max(int(c * alpha), 8)


def divisible_width(c: int, alpha: float, divisor: int = 8) -> int:
    """[V2] reference rounding: nearest multiple of 8, at least 8, never 10% below c * alpha."""
    v = c * alpha
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


ROUNDING: dict[str, Callable[[int, float], int]] = {"floor": floor_width, "divisible": divisible_width}
ACTIVATIONS = ("relu", "relu6")

# Bounds on user input (docs/errors.md): generous for any MobileNet, small enough that every count stays exact
# and every number renders, and that a typo fails at once instead of building for minutes.
MAX_ALPHA = 100
MAX_SIDE = 65_536  # pixels per side of the input
MAX_CLASSES = 1_000_000
MAX_CHANNELS = 65_536  # c, stem and head of a spec
MAX_EXPANSION = 64  # t
MAX_STRIDE = 64  # s
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


def _check_row(row: Any) -> None:
    bounds = {"c": (1, MAX_CHANNELS), "s": (1, MAX_STRIDE), "n": (1, MAX_BLOCKS)}
    if hasattr(row, "t"):
        bounds = {"t": (1, MAX_EXPANSION), **bounds}
    _check_ints(row, bounds, f"{type(row).__name__} row")


class _Stack:
    """Appends layers, tracking the current channels and feature map size."""

    def __init__(self, resolution: Size, activation: str) -> None:
        self.channels, self.size, self.activation = 3, resolution, activation
        self.layers: list[Layer] = []

    def conv(self, name: str, out: int, kernel: int, stride: int = 1, groups: int = 1,
             activation: str | None = "default", shortcut: str | None = None) -> None:
        padding = kernel // 2
        out_size = conv_output_size(self.size, kernel, stride, padding)
        act = self.activation if activation == "default" else activation
        self.layers.append(Layer(name, "conv2d", self.channels, out, self.size, out_size, kernel,
                                 stride, padding, groups, norm=True, activation=act, shortcut=shortcut))
        self.channels, self.size = out, out_size

    def pool_and_classifier(self, num_classes: int) -> None:
        self.layers.append(Layer("pool", "avgpool", self.channels, self.channels, self.size, (1, 1)))
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


Row = Union[Separable, FullConv, Bottleneck]


@dataclass(frozen=True)
class Spec:
    """An architecture in the papers' table form."""

    name: str
    stem: int  # channels of the first 3x3 stride-2 conv
    rows: tuple[Row, ...]
    head: int | None = None  # channels of a final 1x1 conv ([V2]: 1280)
    thin_head: bool = True  # False: the head keeps its width for alpha < 1 ([V2])
    rounding: str = "floor"
    activation: str = "relu"
    dropout: float = 0.0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Validate every field once, where the spec is made (in Python or from a spec file)."""
        label = f"spec {shown(self.name)}"

        def fail(name: str, problem: str) -> SpecError:
            return SpecError(label, name, problem)

        if not isinstance(self.name, str):
            raise fail("name", f"must be a string, got {shown(self.name)}")
        _check_ints(self, {"stem": (1, MAX_CHANNELS)}, label)
        if self.head is not None:
            _check_ints(self, {"head": (1, MAX_CHANNELS)}, label)
        if not isinstance(self.rows, (tuple, list)) or not self.rows:
            raise fail("rows", f"must be a tuple of at least one row, got {shown(self.rows)}")
        for i, row in enumerate(self.rows):  # a row type of the user's own needs add() and a depth n
            if not callable(getattr(row, "add", None)) or _integer(getattr(row, "n", None), 1, MAX_BLOCKS):
                raise fail(f"rows[{i}]", f"must be a row such as Separable, FullConv or Bottleneck, got {shown(row)}")
        blocks = sum(row.n for row in self.rows)
        if blocks > MAX_BLOCKS:
            raise fail("rows", f"must have at most {MAX_BLOCKS:,} blocks in all (the sum of n), got {blocks:,}")
        if not isinstance(self.thin_head, bool):
            raise fail("thin_head", f"must be true or false, got {shown(self.thin_head)}")
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

SPECS: dict[str, Spec] = {spec.name: spec for spec in (V1, V2, V1_FULLCONV, V1_SHALLOW)}


def build(spec: Spec, alpha: float, resolution: Size, num_classes: int) -> Network:
    """Lay out the spec's layers at this width multiplier, resolution and class count."""
    width = ROUNDING[spec.rounding]
    stack = _Stack(resolution, spec.activation)
    stack.conv("conv1", width(spec.stem, alpha), 3, 2)
    index = 0
    for row in spec.rows:
        for repeat in range(row.n):
            index += 1
            row.add(stack, f"block{index}", width(row.c, alpha), row.s if repeat == 0 else 1)
    if spec.head is not None:
        stack.conv("conv2", width(spec.head, alpha if spec.thin_head else max(alpha, 1.0)), 1)
    stack.pool_and_classifier(num_classes)
    return Network(spec.name, alpha, resolution, num_classes, tuple(stack.layers), spec.dropout, spec.notes)


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


def get_spec(arch: str | os.PathLike) -> Spec:
    """The built-in spec of this name, a spec file path ending in .toml, or a MncostError."""
    if isinstance(arch, str) and arch in SPECS:
        return SPECS[arch]
    if isinstance(arch, (str, os.PathLike)) and os.fspath(arch).endswith(".toml"):
        from .spec import load_spec

        return load_spec(arch)
    raise MncostError(f"unknown arch {shown(arch)}; use one of: {', '.join(SPECS)}, or a spec file path.toml")


def network(arch: str | os.PathLike | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
            classes: int = 1000) -> Network:
    """The Network for an arch name (or Spec) at width multiplier alpha, resolution and classes."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    return build(spec, parse_alpha(alpha), parse_resolution(res), parse_classes(classes))
