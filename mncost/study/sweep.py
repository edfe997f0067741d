"""Design studies: grids of width multipliers and resolutions, and sweeps over them.

A grid is a comma list of values and ranges start:stop:step. A range runs
from start in exact decimal steps and includes stop when stop lands on the
grid (0.25:1:0.25 is 0.25, 0.5, 0.75, 1.0; 96:224:48 is 96, 144, 192), so
0.1:0.3:0.1 gives 0.3, never 0.30000000000000004.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, TypeVar

from ..arch.bounds import MAX_SIDE, parse_alpha, parse_classes, parse_resolution, shown
from ..arch.builder import get_spec
from ..arch.layers import Size
from ..arch.spec import Spec
from ..cost.ops import MACS
from ..cost.totals import spec_totals, sweep_totals
from ..errors import MncostError
from ..table import Column, Table

MAX_GRID = 100_000  # values in one grid; a typo such as 0:1:0.00001 fails fast instead of hanging
MAX_CONFIGS = 4_000_000  # alphas x resolutions in one sweep: about 200 MB of exact int64 totals
MAX_ROWS = 200_000  # configs listed row by row (the CLI, sweep_rows); sweep() returns arrays, up to MAX_CONFIGS
UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
MAX_COUNT = 10**30  # a budget beyond any network mncost can lay out
T = TypeVar("T")


def _each(values: Any, parse: Callable[[Any], T], what: str) -> list[T]:
    """parse over a list, tuple or other iterable, at least one value; a single value (a number, None,
    bytes) parsed alone."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return [parse(values)]
    try:
        items = list(values)
    except TypeError:  # a 0-d numpy array
        return [parse(values)]
    if not items:
        raise MncostError(f"the {what} grid is empty; give at least one value")
    return [parse(value) for value in items]


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise MncostError(f"{what} {shown(text.strip())} is not a number") from None
    if not value.is_finite():
        raise MncostError(f"{what} {shown(text.strip())} is not a finite number")
    return value


def _range(item: str, what: str) -> list[Decimal]:
    parts = item.split(":")
    if len(parts) != 3:
        raise MncostError(f"{what} range {shown(item)} is invalid; use start:stop:step (e.g. 0.25:1.4:0.05)")
    start, stop, step = (_decimal(p, what) for p in parts)
    if step <= 0 or stop < start:
        raise MncostError(f"{what} range {shown(item)} is invalid; it needs step > 0 and start <= stop")
    try:
        steps = (stop - start) / step
    except ArithmeticError:  # decimal.Overflow: exponents beyond the decimal context
        steps = Decimal(MAX_GRID)
    if steps >= MAX_GRID:
        raise MncostError(f"{what} range {shown(item)} has more than {MAX_GRID:,} values; at most {MAX_GRID:,} "
                          "are allowed")
    count = int(steps) + 1
    return [start + i * step for i in range(count)]


def _items(text: str, what: str) -> list[str]:
    items = [item.strip() for item in str(text).split(",")]
    if not all(items):
        raise MncostError(f"{what} {shown(text)} is invalid; use a comma list of values or start:stop:step ranges")
    return items


def parse_alphas(alphas: str | float | Iterable[float | str]) -> list[float]:
    """Width multipliers from '0.25:1.4:0.05,1.3', a number, or an iterable of numbers."""
    if not isinstance(alphas, str):
        return _each(alphas, parse_alpha, "alpha")
    values: list[float] = []
    for item in _items(alphas, "alpha"):
        if ":" in item:
            values += [parse_alpha(float(d)) for d in _range(item, "alpha")]
        else:
            values.append(parse_alpha(item))
    return values


def parse_resolutions(resolutions: str | int | Iterable[int | str | Size]) -> list[Size]:
    """Resolutions from '96:224:16,256x192', an integer, or an iterable of resolutions (N, 'HxW', (H, W))."""
    if not isinstance(resolutions, str):
        return _each(resolutions, parse_resolution, "resolution")
    values: list[Size] = []
    for item in _items(resolutions, "resolution"):
        if ":" in item:
            grid = _range(item, "resolution")
            if any(d != d.to_integral_value() or not 1 <= d <= MAX_SIDE for d in grid):  # int(1e999999) hangs
                raise MncostError(f"resolution range {shown(item)} is invalid; use integers from 1 to {MAX_SIDE} "
                                  "in start:stop:step")
            values += [(side, side) for side in map(int, grid)]  # each checked above
        else:
            values.append(parse_resolution(item))
    return values


def parse_count(text: str | int | float, what: str = "budget") -> int:
    """A count from 1 to MAX_COUNT such as 100M, 1.5G, 2e8, 250k or 3400000, as an int (rounded down)."""
    raw = str(text).strip()
    unit = raw[-1:].upper() if raw[-1:].isalpha() and raw[-1:].upper() in UNITS else ""
    message = (f"{what} {shown(text)} is invalid; use a count from 1 to 1e30 such as 100M, 1.5G, 2e8 or 250k")
    if isinstance(text, bool):
        raise MncostError(message)
    try:
        value = Decimal(raw[:-1] if unit else raw) * UNITS[unit]
    except ArithmeticError:  # InvalidOperation, or decimal.Overflow for 1e1000000
        raise MncostError(message) from None
    if not value.is_finite() or not 1 <= value <= MAX_COUNT:
        raise MncostError(message)
    return int(value)


def resolution_label(size: Size) -> int | str:
    """224 for a square input, '192x256' otherwise."""
    return size[0] if size[0] == size[1] else f"{size[0]}x{size[1]}"


def config_row(spec: Spec, alpha: float, size: Size, classes: int) -> dict[str, Any]:
    """One sweep row: arch, alpha, resolution and the exact totals."""
    t = spec_totals(spec, alpha, size, classes)
    return {"arch": spec.name, "alpha": alpha, "resolution": resolution_label(size), "macs": t.macs,
            "params": t.params, "params_paper": t.weights, "activations": t.activations}


def check_grid(what: str, limit: int, **factors: int) -> None:
    """Refuse a grid of more than `limit` configs, naming its factors (alphas=3, resolutions=4)."""
    count = math.prod(factors.values())
    if count > limit:
        sides = " x ".join(f"{n:,} {name}" for name, n in factors.items() if n > 1)
        raise MncostError(f"{what} has {sides} = {count:,} configs; at most {limit:,} are allowed here: split the grid")


def _grid(arch: str | Spec, alphas: Any, resolutions: Any, classes: int | str, limit: int):
    """The spec, parsed grid and class count, refusing a grid of more than `limit` configs."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    alpha_values, sizes, num_classes = parse_alphas(alphas), parse_resolutions(resolutions), parse_classes(classes)
    check_grid("the sweep", limit, alphas=len(alpha_values), resolutions=len(sizes))
    return spec, alpha_values, sizes, num_classes


def sweep_rows(arch: str | Spec, alphas: Any, resolutions: Any, classes: int | str = 1000) -> list[dict[str, Any]]:
    """One row per (alpha, resolution), alpha-major, with exact integer totals."""
    spec, alpha_values, sizes, num_classes = _grid(arch, alphas, resolutions, classes, MAX_ROWS)
    t = sweep_totals(spec, alpha_values, sizes, num_classes)
    labels = [resolution_label(size) for size in sizes]
    macs, params, weights, acts = (t.macs.tolist(), t.params.tolist(), t.weights.tolist(), t.activations.tolist())
    return [{"arch": spec.name, "alpha": a, "resolution": label, "macs": macs[i][j], "params": params[i][j],
             "params_paper": weights[i][j], "activations": acts[i][j]}
            for i, a in enumerate(alpha_values) for j, label in enumerate(labels)]


def sweep(arch: str | Spec = "v1", alphas: Any = "0.25:1.0:0.25", resolutions: Any = "128:224:32",
          classes: int | str = 1000):
    """The sweep as a pandas DataFrame, alpha-major, up to MAX_CONFIGS configs (pandas imported only here)."""
    import numpy as np
    import pandas as pd

    spec, alpha_values, sizes, num_classes = _grid(arch, alphas, resolutions, classes, MAX_CONFIGS)
    t = sweep_totals(spec, alpha_values, sizes, num_classes)
    labels = [resolution_label(size) for size in sizes]
    label_type = np.int64 if all(isinstance(label, int) for label in labels) else object
    # copy=False: the frame keeps each column computed here, instead of a second copy of every one
    return pd.DataFrame({
        "arch": spec.name,
        "alpha": np.repeat(np.array(alpha_values, dtype=float), len(sizes)),
        "resolution": np.tile(np.array(labels, dtype=label_type), len(alpha_values)),
        "macs": t.macs.ravel(), "params": t.params.ravel(), "params_paper": t.weights.ravel(),
        "activations": t.activations.ravel(),
    }, copy=False)


SWEEP_COLUMNS = [Column("arch", "Arch"), Column("alpha", "Alpha", "number"), Column("resolution", "Resolution"),
                 Column("macs", "Mult-Adds", "count"), Column("params", "Params", "count"),
                 Column("params_paper", "Params (paper)", "count"), Column("activations", "Activations", "count")]


def sweep_table(rows: list[dict[str, Any]], classes: int) -> Table:
    """The sweep rows as a Table, one row per config."""
    arch = rows[0]["arch"] if rows else ""
    return Table(title=f"Sweep of {arch}: {len(rows)} configs, {classes} classes", columns=SWEEP_COLUMNS,
                 rows=rows, footer=[f"Mult-Adds: {MACS}. Params: every trainable parameter "
                                    "(weights, FC bias, BatchNorm); Params (paper): conv and FC weights."])
