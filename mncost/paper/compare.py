"""A computed value beside a published one, at the printed precision, under one rounding rule per table.

Every cell of a table is held to the table's rule (rounded, truncated, or Python's round); a cell that
misses carries a reason of a named kind, never a silent pass. Where the other rounding would give the
print, the reason says so ("rounding: ...").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from ..table import Column, Table

HEADERS = {"top1": "Top-1 %", "macs_m": "Mult-Adds M", "gmacs": "GMACs", "params_m": "Params M",
           "macs_share": "Mult-Adds %", "params_share": "Params %", "channels": "Channels", "memory_k": "Memory K",
           "macs_g": "MACs G", "macts_m": "Activations M", "params": "Params", "ops_g": "GFLOPS",
           # [V4] Table 6 latency targets: published only
           "ms_pixel6_cpu": "Pixel 6 CPU ms", "ms_pixel8_edgetpu": "Pixel 8 EdgeTPU ms",
           "ms_iphone13": "iPhone 13 CoreML ms", "ms_pixel4_dsp": "Pixel 4 Hexagon ms",
           "ms_pixel7_gpu": "Pixel 7 GPU ms", "ms_s23_cpu": "S23 CPU ms", "ms_s23_gpu": "S23 GPU ms"}

# How a table prints a value: "rounded" half up, "truncated", or "python": Python's round() on the float
# (to nearest, ties to even on the binary value), as timm's benchmark.py writes its CSVs.
ROUNDINGS = {"rounded": "rounded half up", "truncated": "truncated", "python": "rounded by Python's round()"}

# The kinds of reason a miss may carry; a reason always starts with its kind.
KINDS = {
    "misprint": "the print is a typo of the computed value",
    "rounding": "the other rounding gives the print; this table's rule does not",
    "convention": "the print counts another convention or configuration, named and computed",
    "inconsistent": "the source prints another figure for the same network elsewhere",
    "candidate": "a hypothesis that reproduces the print numerically, with no source saying so",
    "unexplained": "nothing known reproduces the print",
}


def reason(kind: str, text: str) -> str:
    """A miss's reason: 'kind: text', the kind one of KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of reason {kind!r}")
    return f"{kind}: {text}"


def quantum(printed: str, significant: bool = False) -> Decimal:
    """The printed precision: 1 for '569', 0.01 for '4.24'; with significant, 100 for '1600'."""
    if "." in printed:
        return Decimal(1).scaleb(-len(printed.split(".")[1]))
    zeros = len(printed) - len(printed.rstrip("0")) if significant and printed.strip("0") else 0
    return Decimal(1).scaleb(zeros)


def at_precision(value: Decimal, printed: str, rounding: str = "rounded", significant: bool = False) -> Decimal:
    """The value at the printed figure's precision, by the named rounding."""
    step = quantum(printed, significant)
    if rounding == "python":
        return Decimal(repr(round(float(value), -step.as_tuple().exponent))).quantize(step)
    return value.quantize(step, rounding=ROUND_DOWN if rounding == "truncated" else ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """An exact value as a note prints it: 4,867.29, 150."""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class Line:
    """A published row and mncost's values for it, before a table's rule is applied.

    why gives the reason (made with `reason`) for a key expected to miss; significant lists keys compared
    at the printed significant digits (1600 to the hundred).
    """

    label: str
    printed: dict[str, str]
    values: dict[str, Decimal | None] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    note: str = ""
    significant: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaperRow:
    """One published row beside mncost's value for it."""

    label: str
    published: dict[str, int | float]
    computed: dict[str, int | float | None]  # at the published precision, by the table's rule
    exact: dict[str, float | None]
    match: bool | None  # None: published only, nothing computed
    note: str
    misses: dict[str, str] = field(default_factory=dict)  # key -> its reason ("" when none is known)
    printed: dict[str, str] = field(default_factory=dict)  # the figures as printed (their digits: the precision)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "published": self.published, "computed": self.computed,
                "exact": self.exact, "match": self.match, "note": self.note, "misses": self.misses}


def _other(rounding: str) -> str | None:
    return {"rounded": "truncated", "truncated": "rounded"}.get(rounding)


def paper_row(line: Line, rule: str) -> PaperRow:
    """Each computed value held to the rule at its printed precision; each miss with its reason."""
    computed: dict[str, int | float | None] = {}
    exact: dict[str, float | None] = {}
    misses: dict[str, str] = {}
    grouped: dict[str, list[str]] = {}
    for key, figure in line.printed.items():
        value = line.values.get(key)
        computed[key] = exact[key] = None
        if value is None:
            continue
        digits = key in line.significant
        shown = at_precision(value, figure, rule, digits)
        computed[key], exact[key] = _number(shown), float(value)
        if shown == Decimal(figure):
            continue
        other = _other(rule)
        if key in line.why:
            misses[key] = line.why[key]
        elif other and at_precision(value, figure, other, digits) == Decimal(figure):
            misses[key] = reason("rounding", f"{plain(value)} {other} gives {figure}; this table's figures are "
                                             f"{ROUNDINGS[rule]} ({_number(shown)})")
        else:
            misses[key] = ""
        grouped.setdefault(misses[key] or "no reason recorded", []).append(f"{HEADERS[key]} {plain(value)} vs {figure}")
    notes = [line.note, *(f"{', '.join(keys)}: {why}" for why, keys in grouped.items())]
    compared = any(value is not None for value in exact.values())
    return PaperRow(line.label, {k: _number(Decimal(v)) for k, v in line.printed.items()}, computed, exact,
                    not misses if compared else None, "; ".join(filter(None, notes)), misses, line.printed)


def rule_text(rule: str) -> str:
    """The rule as the footer states it, once for the table."""
    return f"Rounding: every figure is compared with mncost's value {ROUNDINGS[rule]} to the printed precision."


@dataclass(frozen=True)
class PaperTable:
    """A published table rebuilt: rows of label, published, computed, match, note, under one rule."""

    id: str
    title: str
    source: str
    rows: tuple[PaperRow, ...]
    footer: tuple[str, ...] = field(default=())
    rule: str = "rounded"  # a key of ROUNDINGS: how every figure of the table is compared
    secondary: tuple[str, ...] = ()  # keys whose columns a narrow terminal hides after the published-only ones

    @property
    def keys(self) -> list[str]:
        return [key for key in HEADERS if any(key in row.published for row in self.rows)]

    @property
    def score(self) -> str:
        """How many computed rows match: '3 of 4'."""
        return f"{sum(row.match is True for row in self.rows)} of {sum(row.match is not None for row in self.rows)}"

    def _computed(self, key: str) -> bool:
        return any(row.computed.get(key) is not None for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record of `mncost paper`."""
        return {"id": self.id, "title": self.title, "source": self.source, "rule": self.rule,
                "rows": [row.to_dict() for row in self.rows], "notes": [rule_text(self.rule), *self.footer]}

    def to_table(self) -> Table:
        """Published and computed side by side, per key."""
        columns = [Column("label", "")]
        for key in self.keys:
            # Published-only columns (accuracy, [V4]'s latencies) are the first to go on a narrow terminal.
            hide = 2 if key in self.secondary else 0
            columns.append(Column(f"published_{key}", f"{HEADERS[key]} paper", "number",
                                  hide=hide or int(not self._computed(key))))
            if self._computed(key):  # accuracy is published only
                columns.append(Column(f"computed_{key}", f"{HEADERS[key]} mncost", "number", hide=hide))
        columns += [Column("match", "Match"), Column("note", "Note", fold=True)]
        rows = []
        for row in self.rows:
            record: dict[str, Any] = {"label": row.label}
            for key in self.keys:
                record[f"published_{key}"] = row.published.get(key)
                if self._computed(key):
                    record[f"computed_{key}"] = row.computed.get(key)
            rows.append({**record, "match": row.match, "note": row.note})
        return Table(f"{self.id}: {self.source}, {self.title}", columns, rows,
                     footer=[f"{self.score} computed rows match.", rule_text(self.rule), *self.footer])
