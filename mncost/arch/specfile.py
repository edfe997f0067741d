"""Spec files: an architecture in the papers' table form, read from TOML into a Spec.

A stem, stages of depthwise separable rows (c, s, n), bottleneck rows
(t, c, n, s), [V3] bneck rows or [V4] block rows, optional heads, and the
width rounding rule. Every mistake is one MncostError naming the file, the
key and what is wrong.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

from ..errors import MncostError
from .bounds import SpecError, shown
from .spec import Row, Spec
from .v1 import FullConv, Separable
from .v2 import Bottleneck
from .v3 import BUILDS, DEFAULT_BUILD, Bneck
from .v4 import UIB, ConvBN, FusedIB, MobileMQA

MAX_BYTES = 1_000_000  # a spec file is a few hundred bytes; anything larger is not one
# Row type -> (class, required keys, optional keys with defaults); the row classes validate the values.
# The [V4] types take TF Model Garden's block names (timm's: cn, er, uir, mqa).
ROW_TYPES: dict[str, tuple[type, tuple[str, ...], dict[str, Any]]] = {
    "separable": (Separable, ("c", "s"), {"n": 1}),
    "bottleneck": (Bottleneck, ("t", "c", "n", "s"), {}),
    "conv": (FullConv, ("c", "s"), {"n": 1}),
    "bneck": (Bneck, ("k", "exp", "out", "se", "nl", "s"), {"n": 1}),
    "convbn": (ConvBN, ("k", "s", "c"), {"n": 1}),
    "fused_ib": (FusedIB, ("k", "s", "c", "e"), {"n": 1}),
    "uib": (UIB, ("start_dw", "middle_dw", "s", "c", "e"), {"n": 1, "layer_scale": False}),
    "mqa": (MobileMQA, ("heads", "key_dim", "value_dim", "kv_strides", "c"),
            {"s": 1, "n": 1, "layer_scale": False, "dw_kernel": 3}),
}
TOP_KEYS = {"name", "stem", "stages", "head", "thin_head", "pooled_head", "build", "rounding", "activation",
            "dropout", "notes", "stem_fixed_below", "thin_pooled_head", "pooled_head_norm"}


class _Reader:
    """Look-ups in one table of the file, each failure naming file and key."""

    def __init__(self, path: str, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def fail(self, key: str, problem: str) -> MncostError:
        return MncostError(f"spec file {self.path}: {self.prefix}{key}: {problem}")

    def unknown(self, allowed: set[str] | tuple[str, ...]) -> None:
        for key in self.table:
            if key not in allowed:
                raise self.fail(key, f"unknown key; valid keys: {', '.join(sorted(allowed))}")

    def get(self, key: str, default: Any = ...) -> Any:
        """The raw value (the Spec and its rows validate it), or the default, or a 'missing' error."""
        if key in self.table:
            return self.table[key]
        if default is ...:
            raise self.fail(key, "missing")
        return default

    def build(self, cls: type, **values: Any) -> Any:
        """cls(**values), a SpecError named by this table's key (rows are stages in a file)."""
        try:
            return cls(**values)
        except SpecError as error:
            raise self.fail(error.field.replace("rows", "stages", 1), error.problem) from None


def _row(reader: _Reader) -> Row:
    """One stage: a bottleneck when it has t, else separable, unless `type` says otherwise."""
    kind = reader.get("type", "bottleneck" if "t" in reader.table else "separable")
    if not isinstance(kind, str) or kind not in ROW_TYPES:
        raise reader.fail("type", f"must be one of {', '.join(ROW_TYPES)}, got {shown(kind)}")
    cls, required, optional = ROW_TYPES[kind]
    reader.unknown({"type", *required, *optional})
    values = {key: reader.get(key) for key in required}
    values.update({key: reader.get(key, default) for key, default in optional.items()})
    return reader.build(cls, **values)


def _build(top: _Reader, rows: list[Row]) -> str | None:
    """A [V3] spec's build (default timm); a spec without bneck rows has none."""
    if not any(isinstance(row, Bneck) for row in rows):
        if "build" in top.table:
            raise top.fail("build", "applies only to a spec with bneck stages")
        return None
    build = top.get("build", DEFAULT_BUILD)
    if not isinstance(build, str) or build not in BUILDS:
        raise top.fail("build", f"must be one of {', '.join(BUILDS)}, got {shown(build)}")
    return build


def spec_from_dict(data: dict[str, Any], path: str = "<spec>") -> Spec:
    """A Spec from a parsed TOML document; `path` names the source in error messages."""
    top = _Reader(path, data)
    top.unknown(TOP_KEYS)
    stages = top.get("stages")
    if not isinstance(stages, list) or not stages:
        raise top.fail("stages", f"must be an array of at least one stage table, got {shown(stages)}")
    rows = []
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict):
            raise top.fail(f"stages[{i}]", f"must be a table such as {{t = 6, c = 24, n = 2, s = 2}}, got "
                                           f"{shown(stage)}")
        rows.append(_row(_Reader(path, stage, f"stages[{i}].")))
    notes = top.get("notes", [])
    return top.build(Spec, name=top.get("name", Path(path).stem), stem=top.get("stem"), rows=tuple(rows),
                     head=top.get("head", None), thin_head=top.get("thin_head", True),
                     pooled_head=top.get("pooled_head", None), build=_build(top, rows),
                     rounding=top.get("rounding", "floor"), activation=top.get("activation", "relu"),
                     dropout=top.get("dropout", 0.0), notes=tuple(notes) if isinstance(notes, list) else notes,
                     stem_fixed_below=top.get("stem_fixed_below", 0.0),
                     thin_pooled_head=top.get("thin_pooled_head", True),
                     pooled_head_norm=top.get("pooled_head_norm", False))


def _read_text(path: str | Path) -> str:
    """The file's text: a regular file of at most MAX_BYTES in UTF-8, else a one-line MncostError."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    except FileNotFoundError:
        raise MncostError(f"spec file {path}: no such file") from None
    except OSError as error:
        raise MncostError(f"spec file {path}: cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise MncostError(f"spec file {path}: not a regular file")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(MAX_BYTES + 1)
        except OSError as error:
            raise MncostError(f"spec file {path}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_BYTES:
        raise MncostError(f"spec file {path}: larger than {MAX_BYTES:,} bytes; a spec file is a short TOML table")
    try:
        return data.decode("utf-8-sig")  # a byte order mark, as some editors write, is no content
    except UnicodeDecodeError as error:
        raise MncostError(f"spec file {path}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def load_spec(path: str | Path) -> Spec:
    """Read a TOML spec file into a Spec, or raise a one-line MncostError."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    if not isinstance(path, (str, os.PathLike)):
        raise MncostError(f"spec file path {shown(path)} is invalid; use a str or pathlib.Path")
    text = _read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MncostError(f"spec file {path}: not valid TOML: {error}") from None
    except RecursionError:
        raise MncostError(f"spec file {path}: not valid TOML: nested too deeply") from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise MncostError(f"spec file {path}: not valid TOML: {error}") from None
    return spec_from_dict(data, str(path))
