"""Spec files: an architecture in the papers' table form, read from TOML into a Spec.

A stem, stages of depthwise separable rows (c, s, n) or bottleneck rows
(t, c, n, s), an optional head, and the width rounding rule. Every mistake is
one MncostError naming the file, the key and what is wrong.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .archs import BUILDS, DEFAULT_BUILD, NONLINEARITY, ROUNDING, Bneck, Bottleneck, FullConv, Row, Separable, Spec
from .errors import MncostError

ACTIVATIONS = ("relu", "relu6", "hswish")
# Row type -> (class, required keys, optional keys with defaults). Keys are positive integers,
# except the [V3] bneck's se (true or false) and nl ("RE" or "HS").
ROW_TYPES: dict[str, tuple[type, tuple[str, ...], dict[str, int]]] = {
    "separable": (Separable, ("c", "s"), {"n": 1}),
    "bottleneck": (Bottleneck, ("t", "c", "n", "s"), {}),
    "conv": (FullConv, ("c", "s"), {"n": 1}),
    "bneck": (Bneck, ("k", "exp", "out", "se", "nl", "s"), {"n": 1}),
}
TOP_KEYS = {"name", "stem", "stages", "head", "thin_head", "pooled_head", "build", "rounding", "activation",
            "dropout", "notes"}


class _Reader:
    """Typed look-ups in one table of the file, each failure naming file and key."""

    def __init__(self, path: str, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def fail(self, key: str, problem: str) -> MncostError:
        return MncostError(f"spec file {self.path}: {self.prefix}{key}: {problem}")

    def unknown(self, allowed: set[str] | tuple[str, ...]) -> None:
        for key in self.table:
            if key not in allowed:
                raise self.fail(key, f"unknown key; valid keys: {', '.join(sorted(allowed))}")

    def get(self, key: str, kind: type, default: Any = ..., positive: bool = False) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "missing")
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be {_KIND_NAMES[kind]}, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"must be > 0, got {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...] | list[str], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value


_KIND_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               list: "an array", dict: "a table"}


def _row(reader: _Reader) -> Row:
    """One stage: a bottleneck when it has t, else separable, unless `type` says otherwise."""
    kind = reader.choice("type", list(ROW_TYPES), "bottleneck" if "t" in reader.table else "separable")
    cls, required, optional = ROW_TYPES[kind]
    reader.unknown({"type", *required, *optional})
    values = {key: reader.get(key, int, positive=True) for key in required if key not in ("se", "nl")}
    if kind == "bneck":
        nl = reader.choice("nl", list(NONLINEARITY), ...)  # type: ignore[arg-type]  # ...: required
        values.update(se=reader.get("se", bool), nl=nl)
    values.update({key: reader.get(key, int, default, positive=True) for key, default in optional.items()})
    return cls(**values)


def _build(top: _Reader, rows: list[Row]) -> str | None:
    """A [V3] spec's build (default timm); a spec without bneck rows has none."""
    if not any(isinstance(row, Bneck) for row in rows):
        if "build" in top.table:
            raise top.fail("build", "applies only to a spec with bneck stages")
        return None
    return top.choice("build", list(BUILDS), DEFAULT_BUILD)


def spec_from_dict(data: dict[str, Any], path: str = "<spec>") -> Spec:
    """A Spec from a parsed TOML document; `path` names the source in error messages."""
    top = _Reader(path, data)
    top.unknown(TOP_KEYS)
    stages = top.get("stages", list)
    if not stages:
        raise top.fail("stages", "must list at least one stage")
    rows = []
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict):
            raise top.fail(f"stages[{i}]", f"must be a table such as {{t = 6, c = 24, n = 2, s = 2}}, got {stage!r}")
        rows.append(_row(_Reader(path, stage, f"stages[{i}].")))
    notes = top.get("notes", list, [])
    if not all(isinstance(note, str) for note in notes):
        raise top.fail("notes", "must be an array of strings")
    dropout = top.get("dropout", float, 0.0)
    if not 0 <= dropout < 1:
        raise top.fail("dropout", f"must be in [0, 1), got {dropout!r}")
    return Spec(
        name=top.get("name", str, Path(path).stem),
        stem=top.get("stem", int, positive=True),
        rows=tuple(rows),
        head=top.get("head", int, None, positive=True),
        thin_head=top.get("thin_head", bool, True),
        pooled_head=top.get("pooled_head", int, None, positive=True),
        build=_build(top, rows),
        rounding=top.choice("rounding", list(ROUNDING), "floor"),
        activation=top.choice("activation", ACTIVATIONS, "relu"),
        dropout=dropout,
        notes=tuple(notes),
    )


def load_spec(path: str | Path) -> Spec:
    """Read a TOML spec file into a Spec, or raise a one-line MncostError."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise MncostError(f"spec file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise MncostError(f"spec file {path}: cannot be read ({error})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MncostError(f"spec file {path}: not valid TOML: {error}") from None
    return spec_from_dict(data, str(path))
