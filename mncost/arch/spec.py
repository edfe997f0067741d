"""Spec: an architecture in the papers' table form (a stem, block rows, heads, a rounding rule), validated where made."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields
from typing import Protocol

from .bounds import MAX_BLOCKS, MAX_CHANNELS, SpecError, check_bools, check_choice, check_ints, integer_problem, shown
from .stack import ROUNDING, Stack


class Row(Protocol):
    """A block row of a spec's table: n blocks, c output channels at alpha 1, laid out by add()."""

    n: int

    @property
    def c(self) -> int: ...

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None: ...


ACTIVATIONS = ("relu", "relu6", "hswish", "gelu")  # a spec's default activation


@dataclass(frozen=True)
class Spec:
    """An architecture in the papers' table form."""

    name: str
    stem: int  # channels of the first 3x3 stride-2 conv
    rows: tuple[Row, ...]
    head: int | None = None  # channels of a final 1x1 conv ([V2]: 1280; [V3]: 960 / 576)
    thin_head: bool = True  # False: the head keeps its width for alpha < 1 ([V2])
    pooled_head: int | None = None  # a 1x1 conv after the pool, bias, no BatchNorm ([V3]: 1280 / 1024)
    build: str | None = None  # [V3]: the implementation it follows at alpha != 1, a key of BUILDS
    rounding: str = "floor"
    activation: str = "relu"
    dropout: float = 0.0
    notes: tuple[str, ...] = ()
    stem_fixed_below: float = 0.0  # the stem keeps its width when alpha < this (timm's [V4] fix_stem: 1.0)
    thin_pooled_head: bool = True  # False: the conv after the pool keeps its width at any alpha ([V4])
    pooled_head_norm: bool = False  # True: the conv after the pool has BatchNorm and no bias ([V4])

    def __hash__(self) -> int:
        # A Spec keys the totals caches (mncost.cost.totals): hash its fields once, not on every lookup.
        if "_hash" not in self.__dict__:
            object.__setattr__(self, "_hash", hash(tuple(getattr(self, f.name) for f in fields(self))))
        return self.__dict__["_hash"]

    def __post_init__(self) -> None:
        """Validate every field once, where the spec is made (in Python or from a spec file)."""
        label = f"spec {shown(self.name)}"

        def fail(name: str, problem: str) -> SpecError:
            return SpecError(label, name, problem)

        if not isinstance(self.name, str):
            raise fail("name", f"must be a string, got {shown(self.name)}")
        check_ints(self, {"stem": (1, MAX_CHANNELS)}, label)
        for name in ("head", "pooled_head"):
            if getattr(self, name) is not None:
                check_ints(self, {name: (1, MAX_CHANNELS)}, label)
        if not isinstance(self.rows, (tuple, list)) or not self.rows:
            raise fail("rows", f"must be a tuple of at least one row, got {shown(self.rows)}")
        for i, row in enumerate(self.rows):  # a row type of the user's own needs add() and a depth n
            if not callable(getattr(row, "add", None)) or integer_problem(getattr(row, "n", None), 1, MAX_BLOCKS):
                raise fail(f"rows[{i}]", f"must be a row such as Separable, FullConv or Bottleneck, got {shown(row)}")
        blocks = sum(row.n for row in self.rows)
        if blocks > MAX_BLOCKS:
            raise fail("rows", f"must have at most {MAX_BLOCKS:,} blocks in all (the sum of n), got {blocks:,}")
        check_bools(self, ("thin_head", "thin_pooled_head", "pooled_head_norm"), label)
        fixed_below = self.stem_fixed_below
        if isinstance(fixed_below, bool) or not isinstance(fixed_below, numbers.Real) or not fixed_below >= 0:
            raise fail("stem_fixed_below", f"must be a number >= 0 (inf: always fixed), got {shown(fixed_below)}")
        for name, choices in (("rounding", tuple(ROUNDING)), ("activation", ACTIVATIONS)):
            check_choice(self, name, choices, label)
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, numbers.Real) or not 0 <= self.dropout < 1:
            raise fail("dropout", f"must be a number in [0, 1), got {shown(self.dropout)}")
        if not isinstance(self.notes, (tuple, list)) or not all(isinstance(note, str) for note in self.notes):
            raise fail("notes", f"must be a tuple of strings, got {shown(self.notes)}")
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "dropout", float(self.dropout))
