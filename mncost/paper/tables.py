"""Every published table mncost rebuilds, by id: one small builder each (v1v2, v3v4, libraries)."""

from __future__ import annotations

from typing import Callable

from ..errors import MncostError
from . import libraries, v1v2, v3v4
from .compare import PaperTable
from .v1v2 import checkpoint_costs

__all__ = ["TABLES", "checkpoint_costs", "paper_tables"]

TABLES: dict[str, Callable[[], PaperTable]] = {
    "v1-table2": v1v2.v1_table2, "v1-table3": v1v2.v1_table3, "v1-table4": v1v2.v1_table4,
    "v1-table5": v1v2.v1_table5, "v1-table6": v1v2.v1_table6, "v1-table7": v1v2.v1_table7,
    "v1-table8": v1v2.v1_table8, "v1-table9": v1v2.v1_table9, "v1-table10": v1v2.v1_table10,
    "v1-slim": v1v2.v1_slim, "v2-table3": v1v2.v2_table3, "v2-table4": v1v2.v2_table4, "v2-slim": v1v2.v2_slim,
    "v3-table3": v3v4.v3_table3, "v3-table9": v3v4.v3_table9, "v3-slim": v3v4.v3_slim,
    "v4-table6": v3v4.v4_table6, "keras": libraries.keras, "keras-v3": libraries.keras_v3,
    "torchvision": libraries.torchvision,
    "timm": libraries.timm,
}


def paper_tables(ids: list[str] | None = None) -> list[PaperTable]:
    """The named tables (all of them when none are named), or a MncostError naming a bad id."""
    for table_id in ids or []:
        if table_id not in TABLES:
            raise MncostError(f"unknown paper table {table_id!r}; use one of: {', '.join(TABLES)}")
    return [TABLES[table_id]() for table_id in (ids or TABLES)]
