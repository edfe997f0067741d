"""The alpha x rho grid of mult-adds and params, in the shape of [V1] Tables 6 and 7."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..arch.bounds import parse_classes
from ..arch.builder import get_spec
from ..arch.layers import Size
from ..arch.spec import Spec
from ..cost.ops import MACS
from ..cost.totals import spec_totals
from ..table import Column, Table
from .sweep import check_grid, parse_alphas, parse_resolutions, resolution_label

DEFAULT_ALPHAS = "1.0,0.75,0.5,0.25"
DEFAULT_RESOLUTIONS = "224,192,160,128"
MAX_CELLS = 10_000  # a table of one row per alpha and one column per resolution: 100 x 100 at most


@dataclass(frozen=True)
class Grid:
    """Mult-adds and params of one arch at every (alpha, resolution)."""

    arch: str
    classes: int
    alphas: tuple[float, ...]
    resolutions: tuple[Size, ...]
    cells: tuple[dict[str, Any], ...]  # alpha, resolution, macs, params_paper, params

    def macs(self, alpha: float, res: Size) -> int:
        return next(c["macs"] for c in self.cells if c["alpha"] == alpha and tuple(c["resolution"]) == res)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `mncost scaling`: exact integers per cell."""
        return {"arch": self.arch, "classes": self.classes, "alphas": list(self.alphas),
                "resolutions": [list(r) for r in self.resolutions], "grid": list(self.cells)}

    def to_table(self) -> Table:
        """One row per alpha: mult-adds at each resolution, then params (they do not depend on it)."""
        columns = [Column("alpha", "Width alpha", "number")]
        columns += [Column(f"macs_{resolution_label(r)}", f"Mult-Adds {resolution_label(r)}", "count") for r in self.resolutions]
        columns += [Column("params_paper", "Params (paper)", "count"), Column("params", "Params (all)", "count")]
        rows = []
        for alpha in self.alphas:
            cells = [c for c in self.cells if c["alpha"] == alpha]
            row: dict[str, Any] = {"alpha": alpha, "params_paper": cells[0]["params_paper"], "params": cells[0]["params"]}
            row.update({f"macs_{resolution_label(tuple(c['resolution']))}": c["macs"] for c in cells})
            rows.append(row)
        return Table(f"MobileNet {self.arch}: mult-adds over width alpha x resolution, {self.classes} classes",
                     columns, rows,
                     footer=[f"Mult-adds: {MACS}. Params (paper): conv and FC weights, as "
                             "[V1] Tables 6 and 7; Params (all): with bias and BatchNorm. Params do not depend "
                             "on the resolution."])


def scaling_grid(arch: str | Spec = "v1", alphas: str | list = DEFAULT_ALPHAS, resolutions: str | list = DEFAULT_RESOLUTIONS,
                 classes: int | str = 1000) -> Grid:
    """Cost the arch at every alpha and resolution (lists, or comma lists and start:stop:step ranges)."""
    alpha_list, res_list = parse_alphas(alphas), parse_resolutions(resolutions)
    n_classes = parse_classes(classes)
    alpha_list, res_list = list(dict.fromkeys(alpha_list)), list(dict.fromkeys(res_list))
    check_grid("the scaling grid", MAX_CELLS, alphas=len(alpha_list), resolutions=len(res_list))
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    cells = []
    for alpha in alpha_list:
        for res in res_list:
            t = spec_totals(spec, alpha, res, n_classes)
            cells.append({"alpha": alpha, "resolution": list(res), "macs": t.macs,
                          "params_paper": t.weights, "params": t.params})
    return Grid(spec.name, n_classes, tuple(alpha_list), tuple(res_list), tuple(cells))
