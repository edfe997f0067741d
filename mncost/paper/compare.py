"""A computed value beside a published one: compared at the printed precision, rounded or truncated."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from ..table import Column, Table

HEADERS = {"top1": "Top-1 %", "macs_m": "Mult-Adds M", "params_m": "Params M", "macs_share": "Mult-Adds %",
           "params_share": "Params %", "channels": "Channels", "memory_k": "Memory K", "macs_g": "MACs G",
           "params": "Params", "ops_g": "GFLOPS",
           # [V4] Table 6 latency targets: published only
           "ms_pixel6_cpu": "Pixel 6 CPU ms", "ms_pixel8_edgetpu": "Pixel 8 EdgeTPU ms",
           "ms_iphone13": "iPhone 13 CoreML ms", "ms_pixel4_dsp": "Pixel 4 Hexagon ms",
           "ms_pixel7_gpu": "Pixel 7 GPU ms", "ms_s23_cpu": "S23 CPU ms", "ms_s23_gpu": "S23 GPU ms"}


def quantum(printed: str, significant: bool = False) -> Decimal:
    """The printed precision: 1 for '569', 0.01 for '4.24'; with significant, 100 for '1600'."""
    if "." in printed:
        return Decimal(1).scaleb(-len(printed.split(".")[1]))
    zeros = len(printed) - len(printed.rstrip("0")) if significant and printed.strip("0") else 0
    return Decimal(1).scaleb(zeros)


def at_precision(value: Decimal, printed: str, truncate: bool = False, significant: bool = False) -> Decimal:
    """The value at the printed figure's precision, rounded half up or truncated."""
    return value.quantize(quantum(printed, significant), rounding=ROUND_DOWN if truncate else ROUND_HALF_UP)


def method(value: Decimal, printed: str, significant: bool = False) -> str | None:
    """'rounded' or 'truncated' when that reading of value gives the printed figure, else None."""
    if at_precision(value, printed, significant=significant) == Decimal(printed):
        return "rounded"
    if at_precision(value, printed, truncate=True, significant=significant) == Decimal(printed):
        return "truncated"
    return None


def _plain(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class PaperRow:
    """One published row beside mncost's value for it."""

    label: str
    published: dict[str, int | float]
    computed: dict[str, int | float | None]  # at the published precision
    exact: dict[str, float | None]
    match: bool | None  # None: published only, nothing computed
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "published": self.published, "computed": self.computed,
                "exact": self.exact, "match": self.match, "note": self.note}


def paper_row(label: str, printed: dict[str, str], values: dict[str, Decimal | None], why: dict[str, str] | None = None,
              note: str = "", significant: tuple[str, ...] = ()) -> PaperRow:
    """Compare each computed value with its printed figure; the note says how each matched or why not.

    why gives the known reason for a key that misses; without one the note says "unexplained".
    Keys in significant compare at the printed significant digits (1600 to the hundred).
    """
    why = why or {}
    computed: dict[str, int | float | None] = {}
    notes, matches, misses = [], [], {}
    for key, figure in printed.items():
        value = values.get(key)
        if value is None:
            computed[key] = None
            continue
        digits = key in significant
        how = method(value, figure, digits)
        matches.append(how is not None)
        shown = at_precision(value, figure, truncate=how == "truncated", significant=digits)
        computed[key] = _number(shown)
        if how == "truncated":
            rounded = at_precision(value, figure, significant=digits)
            notes.append(f"{HEADERS[key]}: {_plain(value)} truncated to {figure} (rounding gives {_number(rounded)})")
        elif how is None:
            misses.setdefault(why.get(key, "unexplained"), []).append(f"{HEADERS[key]} {_plain(value)} vs {figure}")
    notes += [f"{', '.join(keys)}: {reason}" for reason, keys in misses.items()]
    exact = {key: None if values.get(key) is None else float(values[key]) for key in printed}
    return PaperRow(label, {k: _number(Decimal(v)) for k, v in printed.items()}, computed, exact,
                    all(matches) if matches else None, "; ".join(filter(None, [note, *notes])))


@dataclass(frozen=True)
class PaperTable:
    """A published table rebuilt: rows of label, published, computed, match, note."""

    id: str
    title: str
    source: str
    rows: tuple[PaperRow, ...]
    footer: tuple[str, ...] = field(default=())

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
        return {"id": self.id, "title": self.title, "source": self.source,
                "rows": [row.to_dict() for row in self.rows], "notes": list(self.footer)}

    def to_table(self) -> Table:
        """Published and computed side by side, per key."""
        columns = [Column("label", "")]
        for key in self.keys:
            # Published-only columns (accuracy, [V4]'s latencies) are the first to go on a narrow terminal.
            columns.append(Column(f"published_{key}", f"{HEADERS[key]} paper", "number",
                                  hide=int(not self._computed(key))))
            if self._computed(key):  # accuracy is published only
                columns.append(Column(f"computed_{key}", f"{HEADERS[key]} mncost", "number"))
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
                     footer=[f"{self.score} computed rows match.", *self.footer])


# [V4] Table 6's columns: MACs in G, and latency on seven targets (published only).
HEADERS.update({"macs_g": "MACs G", "ms_pixel6_cpu": "Pixel 6 CPU ms", "ms_pixel8_edgetpu": "Pixel 8 EdgeTPU ms",
                "ms_iphone13": "iPhone 13 CoreML ms", "ms_pixel4_dsp": "Pixel 4 Hexagon ms",
                "ms_pixel7_gpu": "Pixel 7 GPU ms", "ms_s23_cpu": "S23 CPU ms", "ms_s23_gpu": "S23 GPU ms"})
