"""to_rich hands rich runs of one-line rows as multi-line cells (for speed): the print must be the same
as rich's own one row per layer, at any width, compact or not, in a terminal's colours."""

from __future__ import annotations

import copy
import dataclasses
import io

import pytest
from rich.console import Console
from rich.text import Text

from mncost.cost.analysis import analyze
from mncost.paper import paper_tables
from mncost.output.render import _folded, _natural_widths, to_rich
from mncost.table import text_rows

TABLES = {
    "v1": lambda: analyze("v1").to_table(),
    "v4-hybrid-large": lambda: analyze("v4-hybrid-large", 0.5, (192, 256)).to_table(),
    "v1-table8": lambda: paper_tables(["v1-table8"])[0].to_table(),  # long notes: wrap, fold
}


def one_row_per_layer(merged, table, compact: bool, hidden: tuple[str, ...]):
    """The same rich table (title, caption, box, widths) with every row added on its own."""
    reference = copy.copy(merged)
    reference.columns = [dataclasses.replace(column, _cells=[]) for column in merged.columns]
    reference.rows = []
    shown = _folded(table) if compact else table
    keep = [j for j, c in enumerate(shown.columns) if c.key not in hidden]
    rows = [[row[j] for j in keep] for row in text_rows(shown)]
    for i, row in enumerate(rows):
        is_total = shown.totals is not None and i == len(rows) - 1
        reference.add_row(*map(Text, row), style="bold" if is_total else None,
                          end_section=shown.totals is not None and i == len(rows) - 2)
    return reference


def printed(rich_table, width: int = 400) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=True, color_system="standard").print(rich_table)
    return out.getvalue()


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("squeeze", [None, 0, 3, 8])  # None: rich measures; else natural widths minus squeeze
def test_merged_rows_print_as_one_row_per_layer(name, compact, squeeze):
    table = TABLES[name]()
    hidden = tuple(c.key for c in table.columns if c.hide) if compact else ()
    shown = [c for c in (_folded(table) if compact else table).columns if c.key not in hidden]
    natural = [w for w, c in zip(_natural_widths(_folded(table) if compact else table), table.columns)
               if c.key not in hidden]
    widths = None if squeeze is None else [max(4, w - squeeze) for w in natural]
    assert len(widths or shown) == len(shown)
    merged = to_rich(table, compact=compact, hidden=hidden, widths=widths)
    if squeeze == 0:  # every row fits: one run, one rich row of multi-line cells (and the totals)
        assert len(merged.rows) <= 2
    assert printed(merged) == printed(one_row_per_layer(merged, table, compact, hidden))
