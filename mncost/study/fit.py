"""Budget fitting: the largest configurations whose mult-adds (and params) fit a budget.

Every channel count is a non-decreasing step function of alpha under both
rounding rules, and every feature map side a non-decreasing function of the
resolution, so mult-adds and params grow monotonically with both: a binary
search finds the largest alpha on the grid (or the largest integer resolution)
that fits. tests/test_design.py checks it against brute force.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import groupby
from typing import Any, Callable, Sequence

from ..arch import v1, v2
from ..arch.bounds import parse_classes
from ..arch.builder import get_spec
from ..arch.layers import Size
from ..arch.spec import Spec
from ..cost.totals import spec_totals
from ..errors import MncostError
from ..table import Column, Table
from .sweep import SWEEP_COLUMNS, config_row, parse_alphas, parse_count, parse_resolutions, resolution_label

# alpha is searched on 0.05, 0.06, ..., 2.00: the reference checkpoints' alphas all lie on it.
ALPHA_GRID: tuple[float, ...] = tuple(float(Decimal(i) / 100) for i in range(5, 201))
DEFAULT_RESOLUTIONS = "96,128,160,192,224"  # the reference checkpoints' resolutions
MAX_RESOLUTION = 8192


def _checkpoints(spec: Spec) -> dict[tuple[float, int], float]:
    """[SLIM] top-1 (%) of the reference checkpoints of this network, by (alpha, resolution); {} if none."""
    from ..paper.data import V1_CHECKPOINTS, V2_CHECKPOINTS

    for builtin, checkpoints in ((v1.V1, V1_CHECKPOINTS), (v2.V2, V2_CHECKPOINTS)):
        # The same network whatever its name and notes (a spec file restating the built-in counts too).
        if replace(spec, name=builtin.name, notes=builtin.notes) == builtin:
            return {(c.alpha, c.resolution): float(c.top1) for c in checkpoints}
    return {}


def _last_true(count: int, fits: Callable[[int], bool]) -> int | None:
    """The largest index i < count with fits(i), for a fits that is true then false."""
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo - 1 if lo else None


def _within(max_macs: int, max_params: int | None, spec: Spec, classes: int) -> Callable[[float, Size], bool]:
    def fits(alpha: float, size: Size) -> bool:
        t = spec_totals(spec, alpha, size, classes)
        return t.macs <= max_macs and (max_params is None or t.params <= max_params)
    return fits


def largest_alpha(fits: Callable[[float, Size], bool], size: Size, grid: Sequence[float] = ALPHA_GRID) -> float | None:
    """The largest alpha on the grid that fits at this resolution, or None."""
    i = _last_true(len(grid), lambda j: fits(grid[j], size))
    return None if i is None else grid[i]


def largest_resolution(fits: Callable[[float, Size], bool], alpha: float) -> int | None:
    """The largest square integer resolution that fits at this alpha, or None."""
    if fits(alpha, (MAX_RESOLUTION, MAX_RESOLUTION)):
        raise MncostError(f"at alpha {alpha:g} the budget admits resolutions above {MAX_RESOLUTION}; "
                          "lower the budget")
    i = _last_true(MAX_RESOLUTION, lambda j: fits(alpha, (j + 1, j + 1)))
    return None if i is None else i + 1


def pareto(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a config when another one is at least as wide and at least as large an input (in pixels).

    O(n log n): by alpha, widest first, a row survives when no row of its alpha has more pixels and
    every wider row has fewer pixels.
    """
    keys = [(row["alpha"], row["size"][0] * row["size"][1]) for row in rows]
    kept, wider_pixels = set(), -1
    for _, group in groupby(sorted(range(len(rows)), key=lambda i: -keys[i][0]), key=lambda i: keys[i][0]):
        members = list(group)
        most = max(keys[i][1] for i in members)
        if most > wider_pixels:
            kept.update(i for i in members if keys[i][1] == most)
        wider_pixels = max(wider_pixels, most)
    return [row for i, row in enumerate(rows) if i in kept]


def fit(arch: str | Spec = "v2", max_macs: int | str = "100M", max_params: int | str | None = None,
        res: Any = None, alpha: Any = None, classes: int | str = 1000) -> dict[str, Any]:
    """The Pareto front of configs within budget: per resolution the largest alpha, or per alpha the largest resolution."""
    if res is not None and alpha is not None:
        raise MncostError("give either a resolution list (largest alpha per resolution) or an alpha list "
                          "(largest resolution per alpha), not both")
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    macs_budget = parse_count(max_macs, "mult-add budget")
    params_budget = None if max_params is None else parse_count(max_params, "params budget")
    num_classes = parse_classes(classes)
    fits = _within(macs_budget, params_budget, spec, num_classes)
    found, misses = [], []
    if alpha is not None:
        for a in parse_alphas(alpha):
            side = largest_resolution(fits, a)
            if side is None:
                t = spec_totals(spec, a, (1, 1), num_classes)
                over = "params" if params_budget is not None and t.params > params_budget else "mult-adds"
                misses.append(f"alpha {a:g} ({over} over budget at any resolution)")
            else:
                found.append((a, (side, side)))
    else:
        for size in parse_resolutions(DEFAULT_RESOLUTIONS if res is None else res):
            best = largest_alpha(fits, size)
            if best is None:
                misses.append(f"resolution {resolution_label(size)} (over budget even at alpha {ALPHA_GRID[0]:g})")
            else:
                found.append((best, size))
    checkpoints = _checkpoints(spec)
    rows = [{**config_row(spec, a, size, num_classes), "size": size,
             "top1": checkpoints.get((a, size[0])) if size[0] == size[1] else None} for a, size in found]
    front = pareto(rows)
    return {"arch": spec.name, "classes": num_classes, "max_macs": macs_budget, "max_params": params_budget,
            "search": "resolution" if alpha is not None else "alpha",
            "configs": [{k: v for k, v in row.items() if k != "size"} for row in front],
            "dominated": [{k: v for k, v in row.items() if k != "size"} for row in rows if row not in front],
            "nothing_fits": misses,
            "references_within_budget": _references(checkpoints, fits)}


def _references(checkpoints: dict[tuple[float, int], float],
                fits: Callable[[float, Size], bool]) -> list[dict[str, Any]] | None:
    """The reference checkpoints that fit, best published top-1 first (None: the network has none)."""
    if not checkpoints:
        return None
    hits = [{"alpha": a, "resolution": r, "top1": top1} for (a, r), top1 in checkpoints.items() if fits(a, (r, r))]
    return sorted(hits, key=lambda hit: -hit["top1"])


def fit_table(result: dict[str, Any]) -> Table:
    """The fitted configs as a Table, the search rule and the reference checkpoints in the footer."""
    budget = f"mult-adds <= {result['max_macs']:,}"
    if result["max_params"] is not None:
        budget += f" and params <= {result['max_params']:,}"
    if result["search"] == "alpha":
        rule = (f"For each resolution the largest alpha on the grid {ALPHA_GRID[0]:.2f}, {ALPHA_GRID[1]:.2f}, ..., "
                f"{ALPHA_GRID[-1]:.2f} that fits.")
    else:
        rule = f"For each alpha the largest integer resolution (up to {MAX_RESOLUTION}) that fits."
    footer = [rule + " Params: every trainable parameter (weights, FC bias, BatchNorm).",
              "Pareto front: a config is dropped when another is at least as wide and at least as large an input."]
    footer += [f"Dropped (dominated): alpha {r['alpha']:g} at {r['resolution']}." for r in result["dominated"]]
    footer += [f"Nothing fits at {miss}." for miss in result["nothing_fits"]]
    refs = result["references_within_budget"]
    if refs:
        footer.append("Reference checkpoints within budget, best published top-1 first ([SLIM], 1001 classes): "
                      + "; ".join(f"{r['alpha']:g}/{r['resolution']} {r['top1']}%" for r in refs[:5]) + ".")
    elif refs is not None:
        footer.append("No reference checkpoint fits this budget.")
    columns = [*SWEEP_COLUMNS, Column("top1", "Top-1 % [SLIM]", "number")]
    return Table(title=f"{result['arch']} within {budget}, {result['classes']} classes", columns=columns,
                 rows=result["configs"], footer=footer)
