"""Bytes moved, arithmetic intensity and roofline latency per layer ([V4] section 3, Eq. 1).

ModelTime = sum over layers of max(MACs / PeakMACs, (weight bytes + activation bytes) / PeakMemBW).
Every tensor is counted once per row at the chosen precision: the parameters and constant
tensors its ops read (BatchNorm taken as folded into the conv, as deployed), the tensors the
row reads and the one it writes; a row is one fused kernel (a conv with its BatchNorm,
activation and residual add; one attention; one add). The tensors come from the row's aten ops
(mncost.cost.aten), so any traced model has bytes. Bytes are exact integers. On a measured machine
(`--hw this`, mncost.cost.hardware.Kernels) each op is priced as a kernel of its kind instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

from ..arch.builder import network
from ..arch.layers import Layer, Network, Size
from ..arch.spec import Spec
from ..errors import MncostError
from ..table import Column, Table
from .hardware import PROFILES, Hardware
from ..arch.records import Op, Shape, shapes
from .conventions import model_label
from .model import unknown_notes
from .aten import WITH_MACS, OpCost
from .ops import BATCH_NORMS, costed, layer_ops, network_costs, param_role

DTYPES: dict[str, int] = {"int8": 1, "fp16": 2, "fp32": 4}  # bytes per element


def _area(size: Size) -> int:
    return size[0] * size[1]


def row_elements(ops: list[tuple[Op, OpCost]]) -> tuple[int, int]:
    """(weight elements, input elements) a row moves: the parameters and constant tensors its ops read, a
    BatchNorm folded into the conv or FC before it (leaving one bias per channel when that had none; a
    BatchNorm alone deploys as a scale and a shift per channel), and every tensor it reads that no earlier
    op of the row wrote (a broadcast tensor once: one key head for all query heads)."""
    weights: dict[str, int] = {}
    reads, biased = 0, None  # biased: whether the last conv or FC of the row has a bias (None: none yet)
    for op, _ in ops:
        if op.name in BATCH_NORMS:
            channels = op.args["input"][1]
            weights[f"{id(op)}.folded"] = channels if biased is False else 0 if biased else 2 * channels
            biased = True
        elif op.name in WITH_MACS:
            biased = any(param_role(op.name, op.args, arg) == "bias" for arg in op.params)
        for arg, value in op.args.items():
            for index, shape in enumerate(shapes(value)):
                where = arg if isinstance(value, Shape) else f"{arg}.{index}"
                if where in op.params or where in op.buffers:
                    if op.name not in BATCH_NORMS:
                        weights[op.params.get(where, f"{id(op)}.{where}")] = shape.numel
                elif where not in op.internal:
                    reads += op.data.get(where, shape.numel)
    return sum(weights.values()), reads


TERMS = ("compute", "memory", "overhead")  # what bound a row: mult-adds, bytes or the fixed cost per op


def kernel_kind(op: Op, cost: OpCost) -> str:
    """The kernel kind `--hw this` times an op as (mncost.cost.hardware.KERNEL_KINDS)."""
    if cost.macs and op.name in ("convolution", "_convolution"):
        weight, groups = op.args["weight"], op.args.get("groups", 1)
        if groups > 1 and groups == op.args["input"][1] and weight[1] == 1:
            side = max(weight[2:], default=1)
            return "depthwise3" if side <= 3 else "depthwise5" if side <= 5 else "depthwise7"
        return "grouped" if groups > 1 else "pointwise" if prod(weight[2:]) == 1 else "conv"
    if cost.macs:
        return "attention" if "attention" in op.name else "matmul"  # the fused attention ops' names
    kinds = {kind for kind, _ in cost.work}
    return "norm" if "norm" in kinds else "pooling" if kinds & {"pooling", "reduction"} else "elementwise"


@dataclass(frozen=True)
class LayerRoofline:
    """One layer's mult-adds and bytes moved (exact), at one precision."""

    layer: Layer
    macs: int
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    kernels: tuple[tuple[str, int, int], ...] = ()  # each op as a kernel: (kind, mult-adds, bytes it moves)

    @property
    def bytes(self) -> int:
        """WeightBytes + ActivationBytes of [V4] Eq. 1."""
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def intensity(self) -> float:
        """Arithmetic (operational) intensity: mult-adds per byte moved."""
        return self.macs / self.bytes if self.bytes else 0.0

    def terms(self, hw: Hardware) -> tuple[float, float, float]:
        """(compute, memory, overhead) seconds the ops spend bound by each (`--hw this`): each op's time is
        max(compute, memory) + its fixed cost, and counts under the larger of its two terms."""
        spent = [0.0, 0.0, 0.0]
        for kind, macs, nbytes in self.kernels:
            compute, memory, fixed = hw.kernels.terms(kind, macs, nbytes)
            spent[0 if compute >= memory else 1] += max(compute, memory)
            spent[2] += fixed
        return spent[0], spent[1], spent[2]

    def time(self, hw: Hardware) -> float:
        """Predicted time: seconds when the machine is measured, else MAC-times (seconds x PeakMACs)."""
        if hw.kernels is not None:
            return sum(self.terms(hw))
        units = max(self.macs, self.bytes * hw.ridge)
        return units / hw.peak_macs if hw.absolute else units

    def bound(self, hw: Hardware) -> str:
        """Which term bound the row: its side of the ridge point, or on a measured machine the term its ops
        spent most time in (compute, memory or overhead)."""
        if hw.kernels is not None:
            terms = self.terms(hw)
            return TERMS[terms.index(max(terms))]
        return "compute" if self.intensity >= hw.ridge else "memory"


def layer_roofline(layer: Layer, macs: int, outputs: int, itemsize: int) -> LayerRoofline:
    """A row's bytes: the weights and tensors it reads (row_elements), the output it writes, and its ops as
    kernels (what each reads and writes)."""
    ops = list(costed(layer_ops(layer)))
    weights, reads = row_elements(ops)
    kernels = tuple((kernel_kind(op, cost), cost.macs, (cost.reads + cost.writes) * itemsize) for op, cost in ops)
    return LayerRoofline(layer, macs, weights * itemsize, reads * itemsize, outputs * itemsize, kernels)


def parse_dtype(dtype: str) -> int:
    """Bytes per element of a precision name, or a MncostError."""
    if dtype not in DTYPES:
        raise MncostError(f"dtype {dtype!r} is invalid; use one of: {', '.join(DTYPES)}")
    return DTYPES[dtype]


@dataclass(frozen=True)
class Roofline:
    """A network's layers on one hardware's roofline, at one precision."""

    network: Network
    dtype: str
    hardware: Hardware
    layers: tuple[LayerRoofline, ...]

    @property
    def time(self) -> float:
        """ModelTime: the sum of the layers' times."""
        return sum(row.time(self.hardware) for row in self.layers)

    @property
    def unit(self) -> str:
        return "ms" if self.hardware.absolute else "MAC-times"

    def _time_value(self, seconds_or_units: float) -> float:
        return seconds_or_units * 1e3 if self.hardware.absolute else seconds_or_units

    def rows(self) -> list[dict[str, Any]]:
        """One dict per layer, bytes exact."""
        total = self.time
        hw = self.hardware
        return [{"name": r.layer.name, "type": r.layer.kind, "filter_shape": r.layer.filter_shape,
                 "macs": r.macs, "weight_bytes": r.weight_bytes, "input_bytes": r.input_bytes,
                 "output_bytes": r.output_bytes, "bytes": r.bytes, "intensity": r.intensity,
                 "bound": r.bound(hw), "time": self._time_value(r.time(hw)),
                 "share": r.time(hw) / total if total else 0.0} for r in self.layers]

    def totals(self) -> dict[str, Any]:
        """The sums, and the whole network's intensity."""
        macs = sum(r.macs for r in self.layers)
        sums = {key: sum(getattr(r, key) for r in self.layers)
                for key in ("weight_bytes", "input_bytes", "output_bytes", "bytes")}
        bounds = [r.bound(self.hardware) for r in self.layers]
        return {"macs": macs, **sums, "intensity": macs / sums["bytes"] if sums["bytes"] else 0.0,
                "time": self._time_value(self.time), "memory_bound": bounds.count("memory"),
                "bound": {term: bounds.count(term) for term in TERMS if term in bounds}}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `mncost latency`."""
        net = self.network
        return {"arch": net.arch, "alpha": net.alpha, "resolution": list(net.resolution),
                "num_classes": net.num_classes, "dtype": self.dtype, "bytes_per_element": DTYPES[self.dtype],
                "hardware": {"name": self.hardware.name, "label": self.hardware.label, "ridge": self.hardware.ridge,
                             "peak_macs": self.hardware.peak_macs, "bandwidth": self.hardware.bandwidth,
                             "dtype": self.hardware.dtype, "source": self.hardware.source,
                             "threads": self.hardware.threads, "kernels": _kernels(self.hardware)},
                "time_unit": self.unit, "layers": self.rows(), "totals": self.totals()}

    def to_table(self) -> Table:
        """Per-layer bytes, intensity, bound and predicted time, with totals and the model's assumptions."""
        net, hw, t = self.network, self.hardware, self.totals()
        height, width = net.resolution
        unit = "Time (ms)" if hw.absolute else "Time (MAC-times)"
        digits = 3 if hw.absolute else 2
        rows = [{**row, "intensity": round(row["intensity"], 2), "time": round(row["time"], digits)}
                for row in self.rows()]
        bound = ", ".join(f"{n} {term}" for term, n in t["bound"].items())
        totals = {"name": "Total", "macs": t["macs"], "weight_bytes": t["weight_bytes"],
                  "input_bytes": t["input_bytes"], "output_bytes": t["output_bytes"], "bytes": t["bytes"],
                  "intensity": round(t["intensity"], 2), "bound": bound, "time": round(t["time"], digits), "share": 1.0}
        footer = [*_time_notes(hw, t["time"]),
                  f"Bytes at {self.dtype} ({DTYPES[self.dtype]} B/element): the parameters and constants each row's ops "
                  f"read (BatchNorm folded: one bias per channel), every tensor it reads (the residual's shortcut "
                  f"too) and the one it writes, once per row.",
                  f"Bound: {bound} of {len(self.layers)} rows." if hw.kernels else
                  f"{t['memory_bound']} of {len(self.layers)} layers fall below the ridge point (memory-bound).",
                  *unknown_notes(net)]
        if hw.dtype and hw.dtype != self.dtype:
            footer.append(f"The profile was {'measured' if hw.absolute else 'fitted'} at {hw.dtype}; "
                          f"bytes here are {self.dtype}.")
        what = (f"Predicted ms on {hw.label}" if hw.absolute else
                f"Ratios only, not ms (MAC-times, {hw.label} profile)")
        return Table(
            title=f"{what}: roofline of {model_label(net)} {height}x{width}{_batch(net)}, {self.dtype}",
            columns=[Column("name", "Layer"), Column("filter_shape", "Filter Shape"),
                     Column("macs", "Mult-Adds", "count"), Column("weight_bytes", "Weight Bytes", "count"),
                     Column("input_bytes", "Input Bytes", "count"), Column("output_bytes", "Output Bytes", "count"),
                     Column("intensity", "MACs/B", "number"), Column("bound", "Bound"),
                     Column("time", unit, "count" if not hw.absolute else "number"),
                     Column("share", "Time Share", "share")],
            rows=rows, totals=totals, footer=footer)


def _time_notes(hw: Hardware, total: float) -> list[str]:
    """What the time column means on this profile, and where the profile comes from."""
    if hw.kernels is not None:
        return [f"Hardware {hw.name} ({hw.label}, {hw.threads} thread{'s' * (hw.threads != 1)}): each op priced "
                f"as a kernel: max(mult-adds / its kind's achieved mult-adds/s, bytes / achieved bytes/s) + "
                f"{hw.kernels.overhead * 1e6:.1f} us per op; predicted {total:,.3f} ms; {hw.source}."]
    if hw.absolute:
        return [f"Hardware {hw.name} ({hw.label}): peak {hw.peak_macs / 1e9:.2f} G mult-adds/s, bandwidth "
                f"{hw.bandwidth / 1e9:.2f} GB/s, ridge point {hw.ridge:.1f} mult-adds/byte; source: {hw.source}.",
                f"Predicted time {total:,.3f} ms = sum over layers of max(mult-adds / peak, bytes / bandwidth)."]
    return [f"Only ratios between networks on this profile mean anything: time in MAC-times, a relative unit "
            f"(seconds x PeakMACs), max(mult-adds, bytes x ridge) per layer; model total {total:,.0f}.",
            f"Hardware {hw.name} ({hw.label}): ridge point {hw.ridge:g} mult-adds/byte (no absolute peaks "
            f"published); source: {hw.source}."]


def _kernels(hw: Hardware) -> dict[str, Any] | None:
    """The measured per-kernel model as JSON: the fixed cost per op and each kind's (size, rate) points."""
    if hw.kernels is None:
        return None
    return {"overhead": hw.kernels.overhead, "points": {k: [list(p) for p in v] for k, v in hw.kernels.points.items()}}


def _batch(net: Network) -> str:
    return f", batch {net.batch}" if net.batch > 1 else ""


def roofline(arch: str | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224, classes: int = 1000,
             dtype: str = "int8", hw: Hardware | None = None) -> Roofline:
    """Every layer's bytes, intensity and roofline time for an arch at alpha, resolution and classes."""
    return network_roofline(network(arch, alpha, res, classes), dtype, hw or PROFILES["pixel6-cpu"])


def network_roofline(net: Network, dtype: str, hw: Hardware) -> Roofline:
    """The roofline of any Network's layers: a built-in arch's, or a traced model's (mncost count)."""
    itemsize = parse_dtype(dtype)
    layers = tuple(layer_roofline(layer, cost.macs, cost.activations, itemsize) for layer, cost in network_costs(net))
    return Roofline(net, dtype, hw, layers)
