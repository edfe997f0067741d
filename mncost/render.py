"""One Table value rendered four ways: rich, markdown, csv, json.

Formatting lives here and nowhere else; rich and tabulate are imported only
when their format is asked for.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

Kind = Literal["text", "count", "share", "number", "delta"]


class Format(str, Enum):
    """The output formats every command offers."""

    rich = "rich"
    md = "md"
    csv = "csv"
    json = "json"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind = "text"


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
    if kind == "number":
        return f"{value:g}"
    if kind == "delta":  # an exact signed difference
        return f"{value:+,}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _text_rows(table: Table) -> list[list[str]]:
    rows = table.rows + ([table.totals] if table.totals else [])
    return [[cell(row.get(c.key), c.kind) for c in table.columns] for row in rows]


def _tabulate(table: Table, tablefmt: str) -> str:
    from tabulate import tabulate

    align = ["right" if c.kind != "text" else "left" for c in table.columns]
    return tabulate(_text_rows(table), headers=[c.header for c in table.columns], tablefmt=tablefmt,
                    colalign=align, disable_numparse=True)


def to_markdown(table: Table) -> str:
    """A GitHub markdown table (tabulate) with the footnotes below."""
    body = _tabulate(table, "github")
    notes = "".join(f"\n- {note}" for note in table.footer)
    return f"**{table.title}**\n\n{body}\n{notes}\n".rstrip() + "\n"


def to_html(table: Table) -> str:
    """An HTML table (tabulate) with the title above and the footnotes below, for notebooks."""
    from html import escape

    body = _tabulate(table, "html")
    notes = "".join(f"<li>{escape(note)}</li>" for note in table.footer)
    return f"<p><b>{escape(table.title)}</b></p>\n{body}\n" + (f"<ul>{notes}</ul>\n" if notes else "")


def to_rich(table: Table, natural_widths: bool = False):
    """A rich Table for the terminal, totals in bold, footnotes as its caption; natural_widths fixes each
    column at its widest cell, which spares rich measuring every cell (the same output when nothing wraps)."""
    from rich.cells import cell_len
    from rich.table import Table as RichTable

    rich_table = RichTable(title=table.title, caption="\n".join(table.footer) or None,
                           caption_justify="left")
    rows = _text_rows(table)
    for i, c in enumerate(table.columns):
        width = max([cell_len(c.header), *(cell_len(row[i]) for row in rows)]) if natural_widths else None
        rich_table.add_column(c.header, justify="left" if c.kind == "text" else "right", width=width,
                              no_wrap=natural_widths)
    for i, row in enumerate(rows):
        is_total = table.totals is not None and i == len(rows) - 1
        rich_table.add_row(*row, style="bold" if is_total else None, end_section=i == len(rows) - 2 and table.totals is not None)
    return rich_table


def print_rich(*tables: Table) -> None:
    """Print tables to the terminal; when piped, wide enough that nothing is cut."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # no styles are written: skip rich's per-cell markup, emoji and highlighting
        console = Console(markup=False, emoji=False, highlight=False)
    for table in tables:
        rich_table = to_rich(table, natural_widths=not console.is_terminal)
        if not console.is_terminal:  # a table does not expand: it prints at its natural width, in one pass
            console.width = 10_000
        console.print(rich_table)


def to_csv(table: Table) -> str:
    """The rows as CSV with exact values; sizes as HxW."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table.rows[0]) if table.rows else [], lineterminator="\n")
    writer.writeheader()
    for row in table.rows:
        writer.writerow({k: "x".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in row.items()})
    return out.getvalue()


def to_json(payload: Any) -> str:
    """Exact JSON, indented."""
    return json.dumps(payload, indent=2) + "\n"


def emit(fmt: Format, tables: list[Table], payload: Any) -> None:
    """Write the tables (or the payload, for json) to stdout in the chosen format."""
    import sys

    if fmt == Format.json:
        sys.stdout.write(to_json(payload))
    elif fmt == Format.csv:
        sys.stdout.write("\n".join(to_csv(t) for t in tables))
    elif fmt == Format.md:
        sys.stdout.write("\n".join(to_markdown(t) for t in tables))
    else:
        print_rich(*tables)
