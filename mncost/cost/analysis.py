"""The per-layer analysis of one network: rows, totals, shares, and its views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..arch.builder import network
from ..arch.layers import Layer, Network, Size
from ..arch.spec import Spec
from ..cost.ops import LayerCost, network_costs
from ..table import Column, Shown, Table

# [V1] Table 2's layer types; other kernels get their own label.
TYPE_LABELS = {"pw": "Conv 1x1", "dw": "Conv DW {k}x{k}", "conv": "Conv {k}x{k}",
               "gconv": "Conv grouped {k}x{k}", "fc": "Fully Connected", "matmul": "Attention MatMul"}
STRIDED = ("conv2d", "avgpool", "linear")  # the ops [V1] Table 1 gives a stride ("FC / s1"); not [V4]'s matmuls
PAPER_TYPES = {"conv": "Conv", "pw": "Conv", "gconv": "Conv", "dw": "Conv dw", "fc": "FC", "pool": "Avg Pool",
               "mul": "Multiply", "bn": "BatchNorm", "ls": "Layer scale", "matmul": "MatMul"}


def type_label(layer: Layer) -> str | None:
    """The [V1] Table 2 layer type (Conv 1x1, Conv DW 3x3, Conv 3x3, Fully Connected)."""
    label = TYPE_LABELS.get(layer.kind)
    return label.format(k=layer.kernel) if label else None


def arch_label(net: Network) -> str:
    """The arch name, with the build of a [V3] network: "v3-large (timm build)"."""
    return f"{net.arch} ({net.build} build)" if net.build else net.arch


def _size(size: Size, channels: int) -> str:
    return f"{size[0]}x{size[1]}x{channels}"


@dataclass(frozen=True)
class Analysis(Shown):
    """A network with the cost of every layer."""

    network: Network
    layers: tuple[tuple[Layer, LayerCost], ...]

    @property
    def totals(self) -> LayerCost:
        return sum((cost for _, cost in self.layers), LayerCost())

    def shares(self) -> dict[str, tuple[float, float]]:
        """Share of mult-adds and of paper params (weights only) per layer type, as [V1] Table 2."""
        total = self.totals
        grouped: dict[str, LayerCost] = {}
        for layer, cost in self.layers:
            label = type_label(layer)
            if label:
                grouped[label] = grouped.get(label, LayerCost()) + cost
        return {label: (c.macs / total.macs, c.weights / total.weights) for label, c in grouped.items()}

    def rows(self) -> list[dict[str, Any]]:
        """One dict per layer with exact integers (the JSON layer records)."""
        total_macs = self.totals.macs
        return [{
            "name": layer.name, "type": layer.kind, "filter_shape": layer.filter_shape,
            "kernel": layer.kernel, "stride": layer.stride, "groups": layer.groups,
            "in_channels": layer.in_channels, "out_channels": layer.out_channels,
            "input_size": list(layer.input_size), "output_size": list(layer.output_size),
            "macs": cost.macs, "params": cost.params, "weights": cost.weights, "bias": cost.bias,
            "bn_params": cost.bn_params, "activations": cost.activations,
            "share": cost.macs / total_macs if total_macs else 0.0,
        } for layer, cost in self.layers]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `mncost table`."""
        net, t = self.network, self.totals
        return {
            "arch": net.arch, **({"build": net.build} if net.build else {}), "alpha": net.alpha,
            "resolution": list(net.resolution), "num_classes": net.num_classes, "layers": self.rows(),
            "totals": {"macs": t.macs, "params": t.params, "params_paper": t.weights,
                       "weights": t.weights, "bias": t.bias, "bn_params": t.bn_params,
                       "activations": t.activations},
        }

    def to_table(self) -> Table:
        """The per-layer table in [V1] Table 1's columns, with totals and the share per type."""
        net, t = self.network, self.totals
        rows = [{**row, "type_stride": PAPER_TYPES[layer.kind] + (f" / s{layer.stride}" if layer.op in STRIDED else ""),
                 "input": _size(layer.input_size, layer.in_channels),
                 "output": _size(layer.output_size, layer.out_channels)}
                for row, (layer, _) in zip(self.rows(), self.layers)]
        totals = {"name": "Total", "macs": t.macs, "params": t.params, "activations": t.activations,
                  "share": 1.0}
        shares = "; ".join(f"{label} {m:.2%} / {p:.2%}" for label, (m, p) in self.shares().items())
        height, width = net.resolution
        return Table(
            title=f"MobileNet {arch_label(net)} alpha={net.alpha:g} {height}x{width}, {net.num_classes} classes",
            columns=[Column("name", "Layer"), Column("type_stride", "Type / Stride"),
                     Column("filter_shape", "Filter Shape"), Column("input", "Input Size", hide=1),
                     Column("output", "Output Size"), Column("macs", "Mult-Adds", "count"),
                     Column("params", "Params", "count"), Column("activations", "Activations", "count", hide=2),
                     Column("share", "Share", "share", hide=3)],
            rows=rows, totals=totals,
            footer=[f"Params {t.params:,} = weights {t.weights:,} + bias {t.bias:,} + BatchNorm {t.bn_params:,}; "
                    f"paper convention (conv and FC weights) {t.weights:,}.",
                    f"Share of mult-adds / paper params per layer type: {shares}.",
                    *net.notes],
        )

    def to_frame(self):
        """The layer rows as a pandas DataFrame (pandas imported only here)."""
        import pandas as pd

        return pd.DataFrame(self.rows()).set_index("name")


def analyze(arch: str | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
            classes: int = 1000) -> Analysis:
    """Cost every layer of an architecture at width multiplier alpha, resolution and class count."""
    net = network(arch, alpha, res, classes)
    return Analysis(net, tuple(network_costs(net)))
