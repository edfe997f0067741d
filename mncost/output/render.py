"""A Table (mncost.table) on the terminal, fitted to its width, or written as markdown, csv or json.

rich, tabulate, csv and json are imported only when their format is asked for.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from typing import Any

from ..table import Table, printable, text_rows, to_markdown


class Format(str, Enum):
    """The output formats every command offers."""

    rich = "rich"
    md = "md"
    csv = "csv"
    json = "json"


def to_rich(table: Table, compact: bool = False, hidden: tuple[str, ...] = (), widths: list[int] | None = None):
    """A rich Table for the terminal, totals in bold, footnotes as its caption.

    compact drops the outer border and padding, and moves the text of `fold` columns under the
    table as numbered notes; hidden names the column keys left out (a note says so); widths fixes
    the shown columns' widths (None: rich measures every cell). Cells are Text, never markup: a
    spec's name or notes, or an audit target, may hold `[...]`.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.markup import escape
    from rich.table import Table as RichTable
    from rich.text import Text

    table = _folded(table) if compact else table
    keep = [i for i, c in enumerate(table.columns) if c.key not in hidden]
    footer = [*table.footer]
    if hidden:
        names = ", ".join(c.header for c in table.columns if c.key in hidden)
        footer.append(f"Not shown at this width: {names} (--wide, or --format md, csv or json, shows every column).")
    style = {"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False, "collapse_padding": True} if compact else {}
    rich_table = RichTable(title=escape(printable(table.title)), caption=escape(printable("\n".join(footer))) or None,
                           caption_justify="left", **style)
    for n, j in enumerate(keep):
        c = table.columns[j]
        rich_table.add_column(escape(c.header), justify="left" if c.kind == "text" else "right",
                              width=widths[n] if widths else None)
    rows = [[row[j] for j in keep] for row in text_rows(table)]
    body, totals = (rows[:-1], rows[-1:]) if table.totals is not None else (rows, [])
    # rich spends ~0.5 ms on each cell; consecutive rows whose every cell fits on one line print
    # the same as one row of multi-line cells, in a third of the time (a 200-layer V4 table).
    def fits(row: list[str]) -> bool:
        return widths is not None and all("\n" not in text and cell_len(text) <= width
                                          for text, width in zip(row, widths))

    runs: list[tuple[bool, list[list[str]]]] = []
    for row in body:
        if runs and runs[-1][0] and fits(row):
            runs[-1][1].append(row)
        else:
            runs.append((fits(row), [row]))
    for i, (one_line, run) in enumerate(runs):
        rich_table.add_row(*(Text("\n".join(column), no_wrap=one_line) for column in zip(*run)),
                           end_section=bool(totals) and i == len(runs) - 1)
    for row in totals:
        rich_table.add_row(*map(Text, row), style="bold")
    return rich_table


def _natural_widths(table: Table) -> list[int]:
    """Each column's widest cell or header, on one line."""
    from rich.cells import cell_len

    rows = text_rows(table)
    return [max([cell_len(c.header), *(cell_len(row[j]) for row in rows)]) for j, c in enumerate(table.columns)]


def _folded(table: Table) -> Table:
    """The table with each `fold` column's text replaced by a number, the texts as numbered footnotes."""
    keys = [c.key for c in table.columns if c.fold]
    if not keys:
        return table
    notes: list[str] = []
    rows = []
    for row in table.rows:
        row = dict(row)
        for key in keys:
            if row.get(key):
                notes.append(f"({len(notes) + 1}) {row[key]}")
                row[key] = f"({len(notes)})"
        rows.append(row)
    return replace(table, rows=rows, footer=[*notes, *table.footer])


def _column_ranges(table: Table) -> dict[str, tuple[int, int]]:
    """Each column's (narrowest, unwrapped) width: its longest word (a number cell whole) and the
    longest line of its cells (a header may wrap at spaces)."""
    from rich.cells import cell_len

    rows = text_rows(table)
    ranges = {}
    for j, c in enumerate(table.columns):
        cells = [row[j] for row in rows]
        words = [*c.header.split(), *(word for text in cells for word in (text.split() if c.kind == "text" else [text]))]
        low = max([cell_len(w) for w in words] + [1])
        ranges[c.key] = (low, max([low, *(cell_len(line) for text in cells for line in text.splitlines())]))
    return ranges


def fit_rich(table: Table, console, width: int):
    """The rich table laid out in width with no cell cut. In order, the first that fits: the table as
    is, or compact with long notes under it, with nothing wrapped; then the same with text wrapped at
    spaces; then without its hideable columns, fewest first (the caption names them). Column widths
    are set here because rich, short of room, cuts words it could have wrapped."""
    from rich.measure import Measurement

    levels = sorted({c.hide for c in table.columns if c.hide})
    attempts = [((), False), ((), True)] + [
        (tuple(c.key for c in table.columns if 0 < c.hide <= level), True) for level in levels]
    options = console.options.update(max_width=10_000)
    ranges_of = {compact: _column_ranges(_folded(table) if compact else table) for compact in (False, True)}
    for wrap, tries in ((False, attempts[:2]), (True, attempts)):
        for hidden, compact in tries:
            ranges = [ranges_of[compact][c.key] for c in table.columns if c.key not in hidden]
            frame = to_rich(replace(table, rows=[], totals=None), compact=compact, hidden=hidden,
                            widths=[1] * len(ranges))  # borders and padding: the same for any rows
            overhead = Measurement.get(console, options, frame).maximum - len(ranges)
            room = width - overhead - sum((low if wrap else high) for low, high in ranges)
            if room < 0:
                continue
            widths = [low if wrap else high for low, high in ranges]
            if wrap:  # widen the columns that need least first: the fewest cells wrap
                for i in sorted(range(len(ranges)), key=lambda i: ranges[i][1] - ranges[i][0]):
                    widths[i] += min(ranges[i][1] - ranges[i][0], room)
                    room -= widths[i] - ranges[i][0]
            return to_rich(table, compact=compact, hidden=hidden, widths=widths)
    return to_rich(table, compact=True, hidden=attempts[-1][0])  # too narrow for anything: rich cuts


def print_rich(*tables: Table, wide: bool = False) -> None:
    """Print tables to the terminal, fitted to its width (COLUMNS when set) so that no cell is cut;
    when piped without COLUMNS, or with wide, at their natural width, however wide."""
    import os

    from rich.console import Console

    console = Console(emoji=False)  # like every cell, a title or note is shown as written (:name: too)
    natural = wide or (not console.is_terminal and "COLUMNS" not in os.environ)
    width = console.width
    if natural:  # a table does not expand: it prints at its natural width, in one pass
        console.width = 10_000
    for table in tables:
        if natural:  # nothing to crop at natural widths; rich's cropping pass costs ~15% of the print
            console.print(to_rich(table, widths=_natural_widths(table)), crop=False)
        else:
            console.print(fit_rich(table, console, width))


def to_csv(table: Table) -> str:
    """The rows as CSV with exact values; sizes as HxW."""
    import csv
    import io

    out = io.StringIO()
    keys = list(table.rows[0]) if table.rows else [c.key for c in table.columns]  # no rows: still the header
    writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in table.rows:
        writer.writerow({k: "x".join(map(str, v)) if isinstance(v, (list, tuple)) else
                         printable(v) if isinstance(v, str) else v for k, v in row.items()})
    return out.getvalue()


def to_json(payload: Any) -> str:
    """Exact JSON, indented."""
    import json

    return json.dumps(payload, indent=2) + "\n"


def emit(fmt: Format, tables: list[Table], payload: Any, wide: bool = False) -> None:
    """Write the tables (or the payload, for json) to stdout in the chosen format (rich: wide or fitted)."""
    import sys

    if fmt == Format.json:
        sys.stdout.write(to_json(payload))
    elif fmt == Format.csv:
        sys.stdout.write("\n".join(to_csv(t) for t in tables))
    elif fmt == Format.md:
        sys.stdout.write("\n".join(to_markdown(t) for t in tables))
    else:
        print_rich(*tables, wide=wide)
