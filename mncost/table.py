"""The Table value: what a command shows, as data (columns, rows of exact values, totals, footnotes), and
its plain-text forms (markdown and HTML, through tabulate) that reports and notebooks use.

Every layer may build a Table; mncost.output.render puts one on a terminal, or writes it as csv or json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["text", "count", "share", "number", "delta"]
# What a terminal acts on instead of showing: C0 and C1 controls (newline and tab aside), DEL, and the
# bidirectional overrides. User text (a spec's name and notes, a model's module names) shows them escaped.
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The text with every control character written as its escape (ESC as \\x1b), safe on a terminal."""
    return UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text)


@dataclass(frozen=True)
class Column:
    """A column; `hide` > 0 lets a terminal too narrow for the table hide it (1 first, then 2, ...)."""

    key: str
    header: str
    kind: Kind = "text"
    hide: int = 0
    fold: bool = False  # long notes: a narrow terminal numbers them and prints them under the table


@dataclass
class Table:
    """Columns, rows of raw values (exact integers), an optional totals row and footnotes."""

    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    footer: list[str] = field(default_factory=list)


def human(n: int | float) -> str:
    """A count in human units: 928, 2.18 K, 568.74 M, 4.87 G."""
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:g}" if isinstance(n, float) else str(n)


def cell(value: Any, kind: Kind) -> str:
    """One value as a human reads it."""
    if value is None:
        return ""
    if kind == "count":
        return human(value)
    if kind == "share":
        return f"{100 * value:.2f}%"
    if kind == "number":  # :g would turn integers of 7 digits or more into 5.48303e+06
        return f"{value:,}" if isinstance(value, int) and abs(value) >= 10**6 else f"{value:g}"
    if kind == "delta":  # an exact signed difference
        return f"{value:+,}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return printable(str(value))


def text_rows(table: Table) -> list[list[str]]:
    rows = table.rows + ([table.totals] if table.totals else [])
    return [[cell(row.get(c.key), c.kind) for c in table.columns] for row in rows]


def _tabulate(table: Table, tablefmt: str) -> str:
    from tabulate import tabulate

    align = ["right" if c.kind != "text" else "left" for c in table.columns]
    return tabulate(text_rows(table), headers=[c.header for c in table.columns], tablefmt=tablefmt,
                    colalign=align, disable_numparse=True)


def to_markdown(table: Table) -> str:
    """A GitHub markdown table (tabulate) with the footnotes below."""
    body = _tabulate(table, "github")
    notes = "".join(f"\n- {printable(note)}" for note in table.footer)
    return f"**{printable(table.title)}**\n\n{body}\n{notes}\n".rstrip() + "\n"


def to_html(table: Table) -> str:
    """An HTML table (tabulate) with the title above and the footnotes below, for notebooks."""
    from html import escape

    body = _tabulate(table, "html")
    notes = "".join(f"<li>{escape(note)}</li>" for note in table.footer)
    return f"<p><b>{escape(table.title)}</b></p>\n{body}\n" + (f"<ul>{notes}</ul>\n" if notes else "")


class Shown:
    """Notebook reprs for a result with a to_table(): a cell that ends in the result shows the table."""

    def to_table(self) -> Table:
        raise NotImplementedError

    def _repr_markdown_(self) -> str:
        return to_markdown(self.to_table())

    def _repr_html_(self) -> str:
        return to_html(self.to_table())
