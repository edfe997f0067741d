"""Any model's own table (`mncost count`, `mncost.count`): each row's multiply-adds, parameters by role, output
and the work beyond multiply-adds, for the batch that ran, with the per-image figure beside it; the parameters
no op read shown apart; every op with no registry entry named. Each row is costed once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..arch.layers import Layer, Network
from ..table import Column, Shown, Table, human
from .aten import WORK_KINDS
from .ops import LayerCost, costed, layer_cost, layer_ops


def work(layer: Layer) -> dict[str, int]:
    """The row's work beyond multiply-adds, by kind (the registry's: bias, norm, activation, ...)."""
    kinds: Counter = Counter()
    for _, cost in costed(layer_ops(layer)):
        for kind, elements in cost.work:
            kinds[kind] += elements
    return {kind: kinds[kind] for kind in WORK_KINDS if kinds[kind]}


def per_image(value: int, batch: int) -> int | float:
    """A batch's count for one image: exact when the batch divides it."""
    return value // batch if value % batch == 0 else value / batch


def unknown_notes(net: Network) -> list[str]:
    """One line per op that ran with no cost entry: named, never counted."""
    return [f"{op} in {module or 'the model'} ({n} call{'s' * (n > 1)}): no cost entry, not counted"
            for op, module, n in net.unknown]


@dataclass(frozen=True)
class Count(Shown):
    """A traced model's exact counts for the batch that ran: totals, per image, params, its table and JSON."""

    network: Network

    @cached_property
    def costs(self) -> tuple[LayerCost, ...]:
        """Each row's cost, computed once."""
        return tuple(layer_cost(layer) for layer in self.network.layers)

    @cached_property
    def works(self) -> tuple[dict[str, int], ...]:
        return tuple(work(layer) for layer in self.network.layers)

    @property
    def totals(self) -> LayerCost:
        """The batch's mult-adds, params read once, and activations."""
        return sum(self.costs, LayerCost())

    @property
    def per_image(self) -> dict[str, int | float]:
        """Mult-adds and activations for one image of the batch."""
        t, batch = self.totals, self.network.batch
        return {"macs": per_image(t.macs, batch), "activations": per_image(t.activations, batch)}

    @property
    def params(self) -> int:
        """Every parameter once, the ones no op read included: the model's sum of unique p.numel()."""
        return self.totals.params + sum(n for _, n in self.network.unused)

    def to_table(self) -> Table:
        """The per-row table: mult-adds, params by role, output, activations and the other work."""
        net, total = self.network, self.totals
        rows = [{"layer": layer.name, "type": layer.activation or "act" if layer.op == "act" else layer.kind,
                 "call": layer.call or "", "output": _output(layer), "macs": cost.macs, "weights": cost.weights,
                 "bias": cost.bias, "norm_params": cost.bn_params, "activations": cost.activations,
                 "work": ", ".join(f"{k} {v:,}" for k, v in kinds.items()) or "-"}
                for layer, cost, kinds in zip(net.layers, self.costs, self.works)]
        totals = {"layer": "Total", "macs": total.macs, "weights": total.weights, "bias": total.bias,
                  "norm_params": total.bn_params, "activations": total.activations}
        return Table(
            title=f"{net.arch}: {len(rows)} rows at {'x'.join(map(str, _input(net)))}",
            columns=[Column("layer", "Layer"), Column("type", "Type"), Column("call", "Called as", hide=2),
                     Column("output", "Output", hide=3), Column("macs", "Mult-Adds", "count"),
                     Column("weights", "Weights", "count"), Column("bias", "Bias", "count", hide=4),
                     Column("norm_params", "Norm params", "count", hide=4),
                     Column("activations", "Activations", "count", hide=1),
                     Column("work", "Work beyond mult-adds", fold=True)],
            rows=rows, totals=totals, footer=self.footer())

    def footer(self) -> list[str]:
        """The totals a user asks for first: mult-adds for the batch and per image, every parameter once."""
        net, total = self.network, self.totals
        lines = ["Mult-Adds: every multiply-add of every op that ran (conv, FC, matmul, attention, RNN), exact. A "
                 "conv or FC row includes the BatchNorm and activation modules that consume its output and an "
                 "`x + y` residual add; any other torch call is a row of its own, 'Called as' saying how it ran "
                 "when not as an nn module."]
        if net.batch > 1:
            lines.append(f"Batch {net.batch}: {total.macs:,} mult-adds in all, {human(self.per_image['macs'])} "
                         f"({self.per_image['macs']:,}) per image; activations "
                         f"{human(self.per_image['activations'])} per image.")
        unused = sum(n for _, n in net.unused)
        used = f"Params: {total.params:,} read by the forward pass (each once"
        if unused:
            names = ", ".join(name for name, _ in net.unused[:3]) + (", ..." if len(net.unused) > 3 else "")
            lines.append(f"{used}), + {unused:,} never read ({names}) = {self.params:,}, the model's sum of "
                         "unique p.numel().")
        else:
            lines.append(f"{used}) = the model's sum of unique p.numel(); buffers are not params.")
        return lines + unknown_notes(net) + list(net.notes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `mncost count`: every row's exact counts and ops, the totals, the rest."""
        net, total = self.network, self.totals
        unused = sum(n for _, n in net.unused)
        return {"model": net.arch, "batch": net.batch, "resolution": list(net.resolution),
                "num_classes": net.num_classes, "totals": {**vars(total), "params": total.params},
                "per_image": self.per_image,
                "params": {"used": total.params, "unused": unused, "total": total.params + unused,
                           "unused_names": [name for name, _ in net.unused]},
                "layers": [_row(layer, cost, kinds) for layer, cost, kinds in zip(net.layers, self.costs, self.works)],
                "unknown": [{"op": op, "module": module, "calls": n} for op, module, n in net.unknown],
                "notes": unknown_notes(net) + list(net.notes)}


def _output(layer: Layer) -> str:
    outs = [op.out[0] for op in layer.ops if op.out and not op.inner]
    return "x".join(map(str, outs[-1] if outs else (*layer.output_size, layer.out_channels)))


def _input(net: Network) -> tuple[int, ...]:
    """The input shape that ran: the first op's first argument, else the first layer's input."""
    first = next((op for layer in net.layers for op in layer.ops), None)
    shape = first.call.args[0] if first is not None and first.call.args else None
    tail = tuple(shape[1:]) if isinstance(shape, tuple) else (net.layers[0].in_channels, *net.resolution)
    return (net.batch, *tail)


def _row(layer: Layer, cost: LayerCost, kinds: dict[str, int]) -> dict[str, Any]:
    return {"name": layer.name, "op": layer.op, "kind": layer.kind, "call": layer.call,
            "in_channels": layer.in_channels, "out_channels": layer.out_channels,
            "input_size": list(layer.input_size), "output_size": list(layer.output_size),
            "kernel": layer.kernel, "stride": layer.stride, "groups": layer.groups, "has_bias": layer.bias,
            "norm": layer.norm, "activation": layer.activation, "shortcut": layer.shortcut,
            **vars(cost), "params": cost.params, "work": kinds,
            "ops": [{"op": op.name, "call": op.call.function, "module": op.module.path if op.module else "",
                     "macs": c.macs, "work": dict(c.work), "reads": c.reads, "writes": c.writes}
                    for op, c in costed(layer_ops(layer))]}
