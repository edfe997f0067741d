"""What every table builder shares: the engine's totals in the papers' units, and a table from its lines."""

from __future__ import annotations

from decimal import Decimal

from ..arch.spec import Spec
from ..cost.analysis import analyze
from ..cost.ops import LayerCost
from . import data
from .compare import Line, PaperTable, paper_row

MILLION = Decimal(10**6)
BILLION = Decimal(10**9)
PAPER_PARAMS = ("Computed: mult-adds = conv and FC multiply-adds; params = conv and FC weights "
                "(the papers' convention, no bias, no BatchNorm); 1000 classes.")
PUBLISHED_ONLY = "published only: not a MobileNet, nothing to compute"


def millions(count: int) -> Decimal:
    return Decimal(count) / MILLION


def totals(arch: str | Spec, alpha: float = 1.0, res: int = 224, classes: int = 1000) -> LayerCost:
    return analyze(arch, alpha, res, classes).totals


def paper_values(cost: LayerCost) -> dict[str, Decimal | None]:
    """The papers' convention: mult-adds and weights; accuracy is never computed."""
    return {"macs_m": millions(cost.macs), "params_m": millions(cost.weights), "top1": None}


def published_only(label: str, printed: dict[str, str], note: str = PUBLISHED_ONLY) -> Line:
    return Line(label, printed, note=note)


def table(table_id: str, source: data.Source, lines: list[Line], rule: str, *footer: str,
          secondary: tuple[str, ...] = ()) -> PaperTable:
    """The published table rebuilt: every line held to the one rule."""
    return PaperTable(table_id, source.title, source.source, tuple(paper_row(line, rule) for line in lines),
                      footer, rule, secondary)
