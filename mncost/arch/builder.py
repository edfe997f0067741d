"""The one builder: a Spec at a width multiplier, resolution and class count, laid out as a Network; and the
built-in specs by name. A new architecture is a new Spec, not a new builder."""

from __future__ import annotations

import os
from dataclasses import replace
from importlib import import_module
from typing import Any

from ..errors import MncostError
from .bounds import parse_alpha, parse_classes, parse_resolution, shown
from .layers import Network, Size
from .spec import Spec
from .stack import ROUNDING, Stack, at_least, choose

# Each built-in spec's name and the family module (arch.v1 ... arch.v4) whose SPECS hold it: a family is
# imported when one of its specs is first asked for, so `mncost table --arch v1` builds no V4 spec.
FAMILIES: dict[str, str] = {
    "v1": "v1", "v2": "v2", "v1-fullconv": "v1", "v1-shallow": "v1",
    **dict.fromkeys(("v3-large", "v3-small", "v3-large-minimal", "v3-small-minimal"), "v3"),
    **dict.fromkeys(("v4-conv-small", "v4-conv-medium", "v4-conv-large", "v4-hybrid-medium", "v4-hybrid-large"), "v4"),
}


def builtin_spec(name: str) -> Spec:
    """The built-in spec of this name (a key of FAMILIES)."""
    family = import_module(f"{__package__}.{FAMILIES[name]}")
    return next(spec for spec in family.SPECS if spec.name == name)


def __getattr__(name: str) -> Any:
    """SPECS: every built-in spec by name (this imports every family)."""
    if name == "SPECS":
        return {spec_name: builtin_spec(spec_name) for spec_name in FAMILIES}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _sizing(spec: Spec) -> Any:
    """How the [V3] implementation a spec names sizes it at alpha != 1 (arch.v3.BUILDS); None for no build."""
    if spec.build is None:
        return None
    from .v3 import BUILDS

    if not isinstance(spec.build, str) or spec.build not in BUILDS:
        raise MncostError(f"spec {shown(spec.name)}: build: must be one of {', '.join(BUILDS)}, got {shown(spec.build)}")
    return BUILDS[spec.build]


def build(spec: Spec, alpha: float, resolution: Size, num_classes: int) -> Network:
    """Lay out the spec's layers at this width multiplier, resolution and class count."""
    width = ROUNDING[spec.rounding]
    sizing = _sizing(spec)
    stack = Stack(resolution, spec.activation, alpha, sizing, spec.stem)
    stem = choose(alpha < spec.stem_fixed_below, spec.stem, width(spec.stem, alpha))
    stack.conv("conv1", sizing.stem(spec.stem, alpha) if sizing else stem, 3, 2)
    index = 0
    for row in spec.rows:
        for repeat in range(row.n):
            index += 1
            row.add(stack, f"block{index}", width(row.c, alpha), row.s if repeat == 0 else 1)
            stack.paper_channels = row.c
    if spec.head is not None:
        head = (sizing.widen(spec.head, sizing.last_conv, stack) if sizing
                else width(spec.head, alpha if spec.thin_head else at_least(alpha, 1.0)))
        stack.conv("conv2", head, 1)
    stack.pool("pool")
    if spec.pooled_head is not None:
        pooled = width(spec.pooled_head, alpha if spec.thin_pooled_head else 1.0)
        stack.conv("conv3", sizing.head(spec.pooled_head, alpha) if sizing else pooled, 1,
                   bias=not spec.pooled_head_norm, norm=spec.pooled_head_norm)
    stack.classifier(num_classes)
    notes = spec.notes + ((f"Widths at alpha != 1 as the {sizing.name} build: {sizing.source}.",) if sizing else ())
    return Network(spec.name, alpha, resolution, num_classes, tuple(stack.layers), spec.dropout, notes,
                   spec.build)


def get_spec(arch: str | os.PathLike, build: str | None = None) -> Spec:
    """The built-in spec of this name, a spec file path ending in .toml, or a MncostError;
    `build` picks a [V3] spec's implementation (a key of BUILDS)."""
    if isinstance(arch, str) and arch in FAMILIES:
        spec = builtin_spec(arch)
    elif isinstance(arch, (str, os.PathLike)) and os.fspath(arch).endswith(".toml"):
        from .specfile import load_spec

        spec = load_spec(arch)
    else:
        raise MncostError(f"unknown arch {shown(arch)}; use one of: {', '.join(FAMILIES)}, or a spec file path.toml")
    return spec if build is None else with_build(spec, build)


def with_build(spec: Spec, build: str) -> Spec:
    """The [V3] spec sized as the named implementation does at alpha != 1, or a MncostError."""
    from .v3 import BUILDS

    if not isinstance(build, str) or build not in BUILDS:
        raise MncostError(f"unknown build {shown(build)}; use one of: {', '.join(BUILDS)}")
    if spec.build is None:
        v3_archs = [name for name, family in FAMILIES.items() if family == "v3"]
        raise MncostError(f"arch {spec.name!r} has no builds; --build applies to the V3 archs "
                          f"({', '.join(v3_archs)})")
    return replace(spec, build=build)


def network(arch: str | os.PathLike | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
            classes: int = 1000) -> Network:
    """The Network for an arch name (or Spec) at width multiplier alpha, resolution and classes."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    return build(spec, parse_alpha(alpha), parse_resolution(res), parse_classes(classes))
