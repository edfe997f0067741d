"""Totals and sweeps with no second layout: every layer's cost factors into an alpha side and a resolution side.

For a fixed spec, the layers and their stride chain do not depend on alpha, and the
channel widths do not depend on the resolution. So each cost field of each layer is
(a factor of alpha) x (a factor of the resolution):
- the alpha side is the layer's cost in arch.builder.build at a 1x1 input (every feature map 1x1);
- the resolution side is its cost at alpha 1 divided by its cost at alpha 1 and a 1x1
  input: the output area for a conv, 1 for the classifier, area squared for attention.
Both sides come from arch.builder.build and cost.ops.layer_cost, so a block's layout is written
once, in its row's add(). A sweep builds the network once per alpha (at 1x1) and once
for all resolutions (numpy arrays as the input sides), then one integer matrix product
per field combines them. Tests check it equals the layer-by-layer engine exactly.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from functools import lru_cache
from operator import mul
from typing import Any, Sequence

from ..arch.bounds import parse_alpha, parse_classes, parse_resolution
from ..arch.builder import build, get_spec
from ..arch.layers import Network, Size
from ..arch.spec import Spec
from .ops import LayerCost, layer_cost

FIELDS = tuple(f.name for f in fields(LayerCost))
UNIT = (1, 1)  # the input size at which every feature map is 1x1 ('same' padding convs keep it)
INT64_MAX = 2**63 - 1


def _field_costs(net: Network) -> list[list[Any]]:
    """Per cost field, the list of every layer's value (ints, or numpy arrays over resolutions)."""
    costs = [layer_cost(layer) for layer in net.layers]
    return [[getattr(cost, name) for cost in costs] for name in FIELDS]


def _names(net: Network) -> tuple[str, ...]:
    return tuple(sys.intern(layer.name) for layer in net.layers)  # interned: comparing two sides is cheap


@lru_cache(maxsize=4096)
def _alpha_side(spec: Spec, alpha: float, classes: int) -> tuple[tuple[str, ...], list[list[int]], tuple[int, ...]]:
    """Layer names and, per field, each layer's cost at this alpha with every feature map 1x1, and its sum."""
    net = build(spec, alpha, UNIT, classes)
    units = _field_costs(net)
    return _names(net), units, tuple(map(sum, units))


def _resolution_factors(spec: Spec, size: Any, classes: int) -> tuple[tuple[str, ...], list[list[Any] | None]]:
    """Per field, each layer's resolution factor at this size (None: the field does not depend on it).

    `size` is (H, W) as ints, or as numpy int64 arrays to get every resolution of a sweep at once.
    """
    names, units, _ = _alpha_side(spec, 1.0, classes)
    net = build(spec, 1.0, size, classes)
    if _names(net) != names:
        raise ValueError(f"{spec.name}: the layer list depends on the input size; it cannot be factorised")
    factors: list[list[Any] | None] = []
    for name, unit, full in zip(FIELDS, units, _field_costs(net)):
        column = []
        for layer, u, value in zip(names, unit, full):
            if u == 0 and not _all_equal(value, 0):
                raise ValueError(f"{spec.name}: {layer}.{name} is 0 with 1x1 feature maps but not at {size}")
            if u != 0 and not _all_equal(value % u, 0):
                raise ValueError(f"{spec.name}: {layer}.{name} is not (alpha factor) x (resolution factor)")
            column.append(0 if u == 0 else value // u)
        factors.append(None if all(_all_equal(c, 1) for c in column) else column)
    return names, factors


def _all_equal(value: Any, number: int) -> bool:
    """value == number, for an int or for every element of a numpy array."""
    return bool((value == number).all()) if hasattr(value, "all") else value == number


_resolution_side = lru_cache(maxsize=4096)(_resolution_factors)


def spec_totals(spec: Spec, alpha: float, resolution: Size, num_classes: int) -> LayerCost:
    """Sum of every layer's LayerCost for an already validated config (see totals() for user input)."""
    names, units, sums = _alpha_side(spec, alpha, num_classes)
    res_names, factors = _resolution_side(spec, resolution, num_classes)
    if names != res_names:
        raise ValueError(f"{spec.name}: the layer list depends on alpha; it cannot be factorised")
    return LayerCost(*(total if factor is None else sum(map(mul, unit, factor))
                       for unit, factor, total in zip(units, factors, sums)))


def totals(arch: str | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
           classes: int = 1000) -> LayerCost:
    """Total mult-adds, params and activations of a network, without listing its layers."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    return spec_totals(spec, parse_alpha(alpha), parse_resolution(res), parse_classes(classes))


@dataclass(frozen=True)
class SweepTotals:
    """Exact totals of every (alpha, resolution): each field an (alphas x resolutions) integer array."""

    alphas: tuple[float, ...]
    sizes: tuple[Size, ...]
    macs: Any
    weights: Any
    bias: Any
    bn_params: Any
    activations: Any

    @property
    def params(self) -> Any:
        """Every trainable parameter (weights, bias, BatchNorm), per config."""
        return self.weights + self.bias + self.bn_params


def sweep_totals(spec: Spec, alphas: Sequence[float], sizes: Sequence[Size], num_classes: int) -> SweepTotals:
    """Totals for every alpha x size of an already validated grid, as numpy arrays (numpy imported here)."""
    import numpy as np

    names, factors = _resolution_factors(spec, _sides(np, spec, sizes, num_classes), num_classes)
    sides = [_alpha_side(spec, alpha, num_classes) for alpha in alphas]
    if any(side[0] != names for side in sides):
        raise ValueError(f"{spec.name}: the layer list depends on alpha; it cannot be factorised")
    result = {}
    for i, name in enumerate(FIELDS):
        units = [side[1][i] for side in sides]  # alphas x layers, Python ints
        result[name] = _combine(np, units, factors[i], len(sizes))
    return SweepTotals(tuple(alphas), tuple(sizes), **result)


def _sides(np: Any, spec: Spec, sizes: Sequence[Size], num_classes: int) -> tuple[Any, Any]:
    """Every size's heights and widths as arrays: int64 when no cost at alpha 1 can pass 2^62 (a float64
    build says how large they get), else exact Python ints in object arrays."""
    heights, widths = [h for h, _ in sizes], [w for _, w in sizes]
    probe = build(spec, 1.0, (np.array(heights, dtype=float), np.array(widths, dtype=float)), num_classes)
    largest = max(float(np.max(value)) for field in _field_costs(probe) for value in field)
    dtype = np.int64 if largest < 2.0**62 else object
    return np.array(heights, dtype=dtype), np.array(widths, dtype=dtype)


def _combine(np: Any, units: list[list[int]], factor: list[Any] | None, count: int) -> Any:
    """units (alphas x layers) times factors (layers x resolutions), exact: int64 when it cannot overflow."""
    if factor is None:  # the field does not depend on the resolution
        column = np.array([sum(row) for row in units], dtype=object)
        return np.repeat(column[:, None], count, axis=1).astype(_dtype(np, column))
    # Layers sharing one resolution factor (one feature map size) are summed first: a few groups, not ~50 layers.
    exact = any(getattr(f, "dtype", None) == object for f in factor)
    rows = [tuple(np.broadcast_to(np.asarray(f, dtype=object if exact else np.int64), (count,)).tolist())
            for f in factor]
    index: dict[tuple, int] = {}
    group_of = [index.setdefault(row, len(index)) for row in rows]
    groups = np.array(list(index), dtype=object if exact else np.int64).reshape(len(index), count)
    summed = [[0] * len(groups) for _ in units]
    for out, row in zip(summed, units):
        for g, u in zip(group_of, row):
            out[g] += u
    coefficients = np.array(summed, dtype=object)
    bound = max(sum(abs(c) for c in row) for row in summed) * max(max(row) for row in index)
    if not exact and bound <= INT64_MAX:
        return coefficients.astype(np.int64) @ groups
    return coefficients @ groups.astype(object)


def _dtype(np: Any, column: Any) -> Any:
    return np.int64 if max(abs(v) for v in column) <= INT64_MAX else object
