"""Bounds and checks on user input: every field of a Spec and its rows, alpha, resolution and classes.

Each check fails with one MncostError naming the field and what is wrong (docs/errors.md).
"""

from __future__ import annotations

import math
import numbers
import operator
from decimal import Decimal
from typing import Any

from ..errors import MncostError
from .layers import Layer, Network, Size

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


def integer_problem(value: Any, low: int, high: int) -> str | None:
    """What is wrong with this integer field, or None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return f"must be an integer, got {shown(value)}"
    if value < low:
        return f"must be > {low - 1}, got {shown(value)}"
    if value > high:
        return f"must be at most {high:,}, got {shown(value)}"
    return None


def check_ints(owner: Any, bounds: dict[str, tuple[int, int]], label: str) -> None:
    """Validate the integer fields of a frozen dataclass and store them as plain ints."""
    for name, (low, high) in bounds.items():
        value = getattr(owner, name)
        problem = integer_problem(value, low, high)
        if problem:
            raise SpecError(label, name, problem)
        object.__setattr__(owner, name, operator.index(value))  # a numpy integer becomes an int


def check_bools(owner: Any, names: tuple[str, ...], label: str) -> None:
    for name in names:
        if not isinstance(getattr(owner, name), bool):
            raise SpecError(label, name, f"must be true or false, got {shown(getattr(owner, name))}")


def check_choice(owner: Any, name: str, choices: tuple[str, ...], label: str) -> None:
    """A field that must be one of a few names (a list, a table or a number is none of them)."""
    value = getattr(owner, name)
    if not isinstance(value, str) or value not in choices:
        raise SpecError(label, name, f"must be one of {', '.join(choices)}, got {shown(value)}")


def check_kernels(row: Any, label: str) -> None:
    """Kernels are odd (0: absent): padding k // 2 keeps the map's size, as in every MobileNet."""
    for name in ("k", "start_dw", "middle_dw", "dw_kernel"):
        if getattr(row, name, 1) % 2 == 0 and getattr(row, name) != 0:
            raise SpecError(label, name, f"must be odd (padding k // 2 keeps the map's size), got {getattr(row, name)}")


def check_row(row: Any, **bounds: tuple[int, int]) -> None:
    """Validate a row's c, s, n (and t, and any other integer field in bounds), and its expansion
    ratio e and layer_scale flag when it has them ([V4])."""
    label = f"{type(row).__name__} row"
    bounds = {"c": (1, MAX_CHANNELS), "s": (1, MAX_STRIDE), "n": (1, MAX_BLOCKS), **bounds}
    if hasattr(row, "t"):
        bounds = {"t": (1, MAX_EXPANSION), **bounds}
    check_ints(row, bounds, label)
    check_kernels(row, label)
    if hasattr(row, "e"):
        if isinstance(row.e, bool) or not isinstance(row.e, numbers.Real) or not 0 < row.e <= MAX_EXPANSION:
            raise SpecError(label, "e", f"must be a number in (0, {MAX_EXPANSION}], got {shown(row.e)}")
        object.__setattr__(row, "e", float(row.e))
    if hasattr(row, "layer_scale"):
        check_bools(row, ("layer_scale",), label)


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


def _layer_problem(layer: Any) -> str | None:
    """What makes this no Layer mncost can cost (a field and its value), or None."""
    if not isinstance(layer, Layer):
        return f"must be a mncost Layer, got {shown(layer)}"
    if not isinstance(layer.op, str):  # which ops have a cost is the registry's to say (cost.layout, cost.aten)
        return f"op: must be an op name such as conv2d, got {shown(layer.op)}"
    for name, low in (("in_channels", 1), ("out_channels", 1), ("kernel", 1), ("stride", 1), ("padding", 0),
                      ("groups", 1)):
        problem = integer_problem(getattr(layer, name), low, 10**12)
        if problem:
            return f"{name}: {problem}"
    for name in ("input_size", "output_size", *(("kv_size",) if hasattr(layer, "kv_size") else ())):
        size = getattr(layer, name)
        if not isinstance(size, tuple) or len(size) != 2 or any(integer_problem(side, 1, 10**12) for side in size):
            return f"{name}: must be a pair of positive integers (h, w), got {shown(size)}"
    if layer.op == "conv2d" and (layer.in_channels % layer.groups or layer.out_channels % layer.groups):
        return f"groups: {layer.groups} must divide in_channels {layer.in_channels} and out_channels {layer.out_channels}"
    for name in ("bias", "norm"):
        if not isinstance(getattr(layer, name), bool):
            return f"{name}: must be true or false, got {shown(getattr(layer, name))}"
    return None


def check_network(net: Any) -> None:
    """A Network (or one Layer) mncost can cost, else one MncostError naming the layer and field."""
    if isinstance(net, Layer) or not isinstance(net, Network):
        problem = _layer_problem(net)
        if problem:
            raise MncostError(f"layer {shown(getattr(net, 'name', ''))}: {problem}" if isinstance(net, Layer)
                              else f"{problem.replace('a mncost Layer', 'a mncost Layer or Network')}")
        return
    if not isinstance(net.layers, tuple):
        raise MncostError(f"network {shown(net.arch)}: layers must be a tuple of Layers, got {shown(net.layers)}")
    for layer in net.layers:
        problem = _layer_problem(layer)
        if problem:
            raise MncostError(f"network {shown(net.arch)}: layer {shown(getattr(layer, 'name', layer))}: {problem}")
