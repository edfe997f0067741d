"""Cross-check: the analytic rows joined by name with fvcore's count of the real module.

Only the counting (mncost.torch.count) touches torch, imported when a check runs.
A layer agrees when its conv/linear mult-adds equal fvcore's and its params
(weights + bias + BatchNorm affine) equal its module's; fvcore's own extras
(BatchNorm, pooling) are reported beside, never mixed in.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..arch.bounds import parse_classes
from ..arch.builder import get_spec, network
from ..arch.layers import Network
from ..cost.ops import MACS, network_costs
from ..errors import MncostError
from ..paper.data import SLIM_CLASSES, V1_CHECKPOINTS, V2_CHECKPOINTS
from ..study.sweep import check_grid, parse_alphas, parse_resolutions
from ..table import Column, Table

# The reference checkpoints (one source of truth: mncost.paper.data), trained with 1001 classes.
PAPER_CLASSES = SLIM_CLASSES
PAPER_GRID: tuple[tuple[str, float, int], ...] = tuple(
    (c.arch, c.alpha, c.resolution) for c in V1_CHECKPOINTS + V2_CHECKPOINTS)
GRIDS = {"paper": PAPER_GRID}
MAX_CONFIGS = 1_000  # each builds a real module and runs fvcore on it: about a second each


@dataclass(frozen=True)
class LayerCheck:
    """One layer: the analytic count beside fvcore's count of its module."""

    name: str
    macs_analytic: int
    macs_fvcore: int
    params_analytic: int
    params_module: int
    batch_norm_fvcore: int = 0
    pooling_fvcore: int = 0

    @property
    def ok(self) -> bool:
        return self.macs_analytic == self.macs_fvcore and self.params_analytic == self.params_module

    def row(self) -> dict[str, Any]:
        return {"name": self.name, "macs_analytic": self.macs_analytic, "macs_fvcore": self.macs_fvcore,
                "macs_delta": self.macs_fvcore - self.macs_analytic, "params_analytic": self.params_analytic,
                "params_module": self.params_module, "params_delta": self.params_module - self.params_analytic,
                "batch_norm_fvcore": self.batch_norm_fvcore, "pooling_fvcore": self.pooling_fvcore,
                "ok": self.ok}


@dataclass(frozen=True)
class ConfigCheck:
    """Every layer of one network, and the whole model's totals (which must agree too)."""

    network: Network
    layers: tuple[LayerCheck, ...]
    total: LayerCheck  # analytic sums vs fvcore's whole-model conv/linear count and parameter_count

    @property
    def ok(self) -> bool:
        return self.total.ok and all(layer.ok for layer in self.layers)

    @property
    def label(self) -> str:
        net = self.network
        return f"{net.arch} alpha={net.alpha:g} res={'x'.join(map(str, net.resolution))}"

    def failures(self) -> list[str]:
        """One line per disagreeing layer (and the totals), naming it and both counts."""
        return [f"{self.label}: {c.name}: mult-adds {c.macs_analytic} analytic vs {c.macs_fvcore} fvcore, "
                f"params {c.params_analytic} analytic vs {c.params_module} module"
                for c in (*self.layers, self.total) if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        net, t = self.network, self.total
        keys = ("name", "macs_analytic", "macs_fvcore", "params_analytic", "params_module",
                "batch_norm_fvcore", "pooling_fvcore", "ok")
        return {"arch": net.arch, "alpha": net.alpha, "resolution": list(net.resolution),
                "num_classes": net.num_classes, "ok": self.ok,
                "totals": {k: getattr(t, k) for k in keys[1:-1]},
                "layers": [{k: getattr(c, k) for k in keys[:-1]} | {"ok": c.ok} for c in self.layers]}

    def summary_row(self) -> dict[str, Any]:
        net = self.network
        return {"arch": net.arch, "alpha": net.alpha, "resolution": "x".join(map(str, net.resolution)),
                "classes": net.num_classes, "layers": len(self.layers),
                "layers_ok": sum(c.ok for c in self.layers), **self.total.row(), "ok": self.ok}


def join(net: Network, counts: dict[str, Any]) -> ConfigCheck:
    """Join the analytic rows with fvcore's ModuleCounts by layer name ("" is the whole model)."""
    rows = network_costs(net)
    layers = tuple(LayerCheck(layer.name, cost.macs, counts[layer.name].macs, cost.params,
                              counts[layer.name].params, counts[layer.name].batch_norm,
                              counts[layer.name].pooling) for layer, cost in rows)
    whole = counts[""]
    total = LayerCheck("total", sum(c.macs for _, c in rows), whole.macs, sum(c.params for _, c in rows),
                       whole.params, whole.batch_norm, whole.pooling)
    return ConfigCheck(net, layers, total)


def check(net: Network) -> ConfigCheck:
    """Build the Network as an nn.Module, count it with fvcore, join by layer name."""
    from . import require

    require("crosscheck", ("torch", "fvcore"))
    from .count import count_network

    return join(net, count_network(net))


def configs(arch: str | None, alpha: str | None, res: str | None, classes: str | None,
            grid: str | None, build: str | None = None) -> list[Network]:
    """The Networks to check: a named grid, or the cartesian product of comma lists ([V3] archs
    sized as `build`)."""
    if grid is not None:
        if grid not in GRIDS:
            raise MncostError(f"unknown grid {grid!r}; use one of: {', '.join(GRIDS)}")
        if any(v is not None for v in (arch, alpha, res, build)):
            raise MncostError(f"--grid {grid} sets arch, alpha and resolution; drop --arch/--alpha/--res/--build")
        k = parse_classes(classes) if classes is not None else PAPER_CLASSES
        return [network(a, w, r, k) for a, w, r in GRIDS[grid]]
    # None means the default; an empty string is a value, and an invalid one.
    archs = [get_spec(name.strip(), build) for name in ("v1" if arch is None else arch).split(",")]
    alphas = parse_alphas("1.0" if alpha is None else alpha)
    sizes = parse_resolutions("224" if res is None else res)
    k = parse_classes(classes if classes is not None else "1000")
    check_grid("the cross-check", MAX_CONFIGS, archs=len(archs), alphas=len(alphas), resolutions=len(sizes))
    return [network(a, w, r, k) for a, w, r in itertools.product(archs, alphas, sizes)]


def run(nets: Iterable[Network], progress: Callable[[Network], None] | None = None) -> list[ConfigCheck]:
    """Check each Network in turn (each one estimated to fit in memory first); progress(net) is called after each."""
    from . import require

    require("crosscheck", ("torch", "fvcore"))
    from .build import check_memory

    nets = list(nets)
    for net in nets:
        check_memory(net)
    results = []
    for net in nets:
        results.append(check(net))
        if progress:
            progress(net)
    return results


def to_payload(results: list[ConfigCheck]) -> dict[str, Any]:
    """The JSON document of `mncost crosscheck`."""
    return {"ok": all(r.ok for r in results), "configs": [r.to_dict() for r in results]}


_COUNTS = [Column("macs_analytic", "mult-adds (mncost)", "count"), Column("macs_fvcore", "mult-adds (fvcore)", "count"),
           Column("macs_delta", "delta", "count"), Column("params_analytic", "params (mncost)", "count"),
           Column("params_module", "params (module)", "count"), Column("params_delta", "delta", "count"),
           Column("batch_norm_fvcore", "fvcore BatchNorm", "count"),
           Column("pooling_fvcore", "fvcore pooling", "count"), Column("ok", "ok")]
_FOOTER = [f"mult-adds: {MACS}, fvcore's conv + linear + matmul count of the "
           "module of the same name.",
           "params: weights + bias + BatchNorm affine, against the module's parameter_count.",
           "fvcore BatchNorm and pooling: what fvcore counts on its own; not part of the comparison."]


def layer_table(result: ConfigCheck) -> Table:
    """One config, one row per layer, the whole model as totals."""
    net = result.network
    title = (f"Cross-check {result.label} classes={net.num_classes}: "
             f"{'every layer agrees' if result.ok else 'MISMATCH'}")
    return Table(title, [Column("name", "layer"), *_COUNTS], [c.row() for c in result.layers],
                 totals=result.total.row(), footer=_FOOTER)


def summary_table(results: list[ConfigCheck]) -> Table:
    """Several configs, one row each (whole-model totals, layers agreeing)."""
    passed = sum(r.ok for r in results)
    columns = [Column("arch", "arch"), Column("alpha", "alpha", "number"), Column("resolution", "res"),
               Column("classes", "classes"), Column("layers_ok", "layers ok"), Column("layers", "of"), *_COUNTS]
    return Table(f"Cross-check against fvcore: {passed} of {len(results)} configs agree on every layer",
                 columns, [r.summary_row() for r in results], footer=_FOOTER)


def tables(results: list[ConfigCheck]) -> list[Table]:
    """The per-layer table for one config, the summary for several."""
    return [layer_table(results[0])] if len(results) == 1 else [summary_table(results)]
