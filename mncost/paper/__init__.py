"""The papers' published numbers as data, and the tables rebuilt from the engine beside them."""

from .compare import PaperRow, PaperTable
from .tables import TABLES, checkpoint_costs, paper_tables

__all__ = ["PaperRow", "PaperTable", "TABLES", "checkpoint_costs", "paper_tables"]
