"""Totals of one config, and of a whole grid of alphas x resolutions at once, with no second layout.

One config is the sum of its layers' costs (arch.builder.build, cost.ops.layer_cost), cached.

A grid factors: for a fixed spec the layers and their stride chain do not depend on alpha, and the
widths do not depend on the resolution, so each cost field of each layer is (a factor of alpha) x
(a factor of the resolution):
- the alpha side is the layer's cost with every feature map 1x1, at every alpha at once: one build
  whose alpha is a numpy array of the alphas (the rounding rules are elementwise, see arch.stack);
- the resolution side is its cost at alpha 1 over its cost at alpha 1 with 1x1 maps, at every
  resolution at once: one build whose input sides are numpy arrays (the output area for a conv, 1 for
  the classifier, area squared for attention).
Both come from build() and layer_cost(), so a block's layout is written once, in its row's add().
Layers sharing a resolution factor are summed first (a few feature map sizes, not ~200 layers), then
one matrix product per column combines the sides. Every step is exact: the builds run in float64, whole
numbers below 2^53 (checked); past that the alphas are built one at a time and the sides in int64 or
Python integers; a product runs in int64 while no partial sum can pass 2^62, else in Python integers.
Tests check every path against the layer-by-layer engine.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from functools import cached_property, lru_cache
from typing import Any, Sequence

from ..arch.bounds import parse_alpha, parse_classes, parse_resolution
from ..arch.builder import build, get_spec
from ..arch.layers import Network, Size
from ..arch.spec import Spec
from .ops import LayerCost, layer_cost

FIELDS = tuple(f.name for f in fields(LayerCost))
UNIT = (1, 1)  # the input size at which every feature map is 1x1 ('same' padding convs keep it)
EXACT_FLOAT = 2.0**53  # float64 holds every whole number below this
INT64_BOUND = 2.0**62  # int64 sums below this cannot overflow (a margin for a bound computed in float)
INT64_MAX = 2**63 - 1


@lru_cache(maxsize=4096)
def spec_totals(spec: Spec, alpha: float, resolution: Size, num_classes: int) -> LayerCost:
    """Sum of every layer's LayerCost for an already validated config (see totals() for user input)."""
    costs = _field_costs(build(spec, alpha, resolution, num_classes))
    return LayerCost(*map(sum, costs))


def totals(arch: str | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
           classes: int = 1000) -> LayerCost:
    """Total mult-adds, params and activations of a network, without listing its layers."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    return spec_totals(spec, parse_alpha(alpha), parse_resolution(res), parse_classes(classes))


def _field_costs(net: Network) -> list[list[Any]]:
    """Per cost field, every layer's value (ints, or numpy arrays over alphas or resolutions)."""
    costs = [layer_cost(layer) for layer in net.layers]
    return [[getattr(cost, name) for cost in costs] for name in FIELDS]


def _names(net: Network) -> tuple[str, ...]:
    return tuple(sys.intern(layer.name) for layer in net.layers)  # interned: comparing two layouts is cheap


def _bound(columns: list[list[Any]]) -> float:
    """The largest sum over the layers of one field (each layer at its largest): no partial sum passes it."""
    return max(sum(float(value.max()) if hasattr(value, "max") else float(value) for value in column)
               for column in columns)


def _int64(np: Any, columns: list[list[Any]]) -> list[list[Any]]:
    """Each array as int64 where its values fit (whole float64s below 2^53; Python ints up to int64's
    largest), else as it is; ints as they are."""
    return [[value if not hasattr(value, "dtype") or value.dtype == object and value.max() > INT64_MAX
             else value.astype(np.int64, copy=False) for value in column] for column in columns]


def _alpha_side(np: Any, spec: Spec, alphas: Sequence[float], num_classes: int) -> tuple[tuple[str, ...], list]:
    """Layer names and, per field, each layer's cost with 1x1 feature maps: an array over the alphas, or an int."""
    try:
        net = build(spec, np.array(alphas, dtype=float), UNIT, num_classes)
        units = _field_costs(net)
        if _bound(units) < EXACT_FLOAT:
            return _names(net), _int64(np, units)
    except (TypeError, ValueError):  # a row of the user's own that branches on a width: build alpha by alpha
        pass
    nets = [build(spec, alpha, UNIT, num_classes) for alpha in alphas]
    names = _names(nets[0])
    if any(_names(net) != names for net in nets):
        raise ValueError(f"{spec.name}: the layer list depends on alpha; it cannot be factorised")
    per_alpha = [_field_costs(net) for net in nets]
    units = [[np.array([costs[i][j] for costs in per_alpha], dtype=object) for j in range(len(names))]
             for i in range(len(FIELDS))]
    return names, units if _bound(units) >= EXACT_FLOAT else _int64(np, units)  # int64: no group's sum can overflow


def _resolution_side(np: Any, spec: Spec, sizes: Sequence[Size], num_classes: int) -> tuple[tuple[str, ...], list]:
    """Layer names and, per field, each layer's resolution factor: an array over the sizes, or an int."""
    unit = build(spec, 1.0, UNIT, num_classes)
    heights, widths = [h for h, _ in sizes], [w for _, w in sizes]

    def sides(dtype: Any) -> tuple[Any, Any]:
        return np.array(heights, dtype=dtype), np.array(widths, dtype=dtype)

    net = build(spec, 1.0, sides(float), num_classes)
    full = _field_costs(net)
    bound = _bound(full)
    if bound >= EXACT_FLOAT:  # past float64's whole numbers: int64 sides where they cannot overflow, else Python ints
        net = build(spec, 1.0, sides(np.int64 if bound < INT64_BOUND else object), num_classes)
        full = _field_costs(net)
    names = _names(unit)
    if _names(net) != names:
        raise ValueError(f"{spec.name}: the layer list depends on the input size; it cannot be factorised")
    factors = []
    for name, units, values in zip(FIELDS, _field_costs(unit), full):
        column = []
        for layer, u, value in zip(names, units, values):
            if u == 0 and _any(value != 0) or u != 0 and _any(value % u != 0):
                raise ValueError(f"{spec.name}: {layer}.{name} is not (alpha factor) x (resolution factor)")
            column.append(0 if u == 0 else value // u)
        factors.append(column)
    return names, _int64(np, factors)


def _any(value: Any) -> bool:
    return bool(value.any()) if hasattr(value, "any") else bool(value)


def _grouped(np: Any, pairs: list[tuple[Any, Any]]) -> list[list[Any]]:
    """(alpha side, resolution factor) pairs, the alpha sides of equal factors summed: [summed side, factor]
    per distinct factor. A factor is an int, or an array over the sizes keyed by a sample of it and
    compared in full."""
    buckets: dict[Any, list[list[Any]]] = {}
    for unit, factor in pairs:
        if hasattr(factor, "dtype"):
            bucket = buckets.setdefault((factor.dtype.str, factor[::max(1, factor.size // 64)].tobytes()), [])
            group = next((g for g in bucket if np.array_equal(g[1], factor)), None)
        else:
            bucket = buckets.setdefault(factor, [])
            group = bucket[0] if bucket else None
        if group is None:
            bucket.append([unit, factor])
        else:
            group[0] = group[0] + unit
    return [group for bucket in buckets.values() for group in bucket]


def _column(*names: str) -> cached_property:
    """A SweepTotals column: the sum of these cost fields, computed on first use."""
    return cached_property(lambda totals: totals.total(*names))


@dataclass(frozen=True)
class SweepTotals:
    """Exact totals of every (alpha, resolution): each field an (alphas x resolutions) integer array,
    computed when asked for from the two sides."""

    alphas: tuple[float, ...]
    sizes: tuple[Size, ...]
    units: list[list[Any]] = field(repr=False)  # per field, per layer: its cost with 1x1 maps (over the alphas)
    factors: list[list[Any]] = field(repr=False)  # per field, per layer: its resolution factor (over the sizes)

    def total(self, *names: str) -> Any:
        """The sum of these cost fields at every (alpha, resolution): int64, or Python ints past int64."""
        import numpy as np

        i = [FIELDS.index(name) for name in names]
        groups = _grouped(np, [pair for j in i for pair in zip(self.units[j], self.factors[j])])
        exact = any(getattr(v, "dtype", None) == object for group in groups for v in group)
        dtype = object if exact else np.int64
        left = np.empty((len(self.alphas), len(groups)), dtype=dtype)  # alphas x groups: summed alpha sides
        right = np.empty((len(groups), len(self.sizes)), dtype=dtype, order="F")  # groups x sizes: factors
        for g, (coefficient, row) in enumerate(groups):
            left[:, g], right[g] = coefficient, row
        # No partial sum passes the bound; int64's matmul runs fastest with a column of `right` contiguous.
        if not exact and float(left.max(axis=0) @ right.max(axis=1).astype(float)) < INT64_BOUND:
            return left @ right
        return left.astype(object) @ right.astype(object)

    macs = _column("macs")
    weights = _column("weights")
    bias = _column("bias")
    bn_params = _column("bn_params")
    activations = _column("activations")
    params = _column("weights", "bias", "bn_params")  # every trainable parameter


def sweep_totals(spec: Spec, alphas: Sequence[float], sizes: Sequence[Size], num_classes: int) -> SweepTotals:
    """Totals for every alpha x size of an already validated grid, as numpy arrays (numpy imported here)."""
    import numpy as np

    names, units = _alpha_side(np, spec, alphas, num_classes)
    resolution_names, factors = _resolution_side(np, spec, sizes, num_classes)
    if names != resolution_names:
        raise ValueError(f"{spec.name}: the layer list depends on alpha; it cannot be factorised")
    return SweepTotals(tuple(alphas), tuple(sizes), units, factors)
