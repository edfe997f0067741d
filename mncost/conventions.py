"""Counting conventions as data, and the ledger that explains how they differ.

A Convention is a selection and scaling of cost terms (mncost.terms): the ops it
adds up, the params it adds up, and for the reference checkpoints a fixed class
count. It never special-cases a network. Each tool preset names the version whose
source its rule was read from; the rule is a summary of that source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

from .archs import Spec, get_spec, network
from .layers import Network, Size
from .render import Column, Table, human
from .terms import TERMS, term_total


@dataclass(frozen=True)
class Convention:
    """What one source counts: ops terms with their scales, params terms, unit and rule."""

    name: str
    tool: str
    rule: str
    unit: str
    ops: dict[str, int]
    params: dict[str, int] | None  # None: the tool reports no params
    package: str | None = None  # the distribution measured (None: nothing to run)
    version: str | None = None  # the version whose source the rule follows
    classes: int | None = None  # a fixed class count (None: the one asked for)

    def total(self, net: Network) -> int:
        """The ops total this convention prints for the network."""
        return sum(scale * term_total(name, net) for name, scale in self.ops.items())

    def param_count(self, net: Network) -> int | None:
        """The params this convention prints, or None when it prints none."""
        if self.params is None:
            return None
        return sum(scale * term_total(name, net) for name, scale in self.params.items())


ALL_PARAMS = {"weights": 1, "layer_scale_params": 1, "bias": 1, "bn_params": 1}
# [V4] attention matmuls: counted by the tools that see torch.matmul (measured on mncost's module); thop and
# torchinfo hook modules only and never see them; thop also skips the layer-scale gammas (no rule for that module).
# ptflops counts nn.GELU twice, as nn.ReLU (its module hook and the patched F.gelu).
ATTENTION = {"attention_macs": 1}

CONVENTIONS: dict[str, Convention] = {c.name: c for c in (
    Convention(
        "paper", "[V1]/[V2] papers",
        "conv and FC multiply-adds only; params = conv and FC weights (no BatchNorm, no FC bias)",
        "mult-adds", {"macs": 1, **ATTENTION}, {"weights": 1, "layer_scale_params": 1}),
    Convention(
        "slim", "tensorflow/models research/slim checkpoint tables",
        "always 1001 classes (background + 1000); conv and FC multiply-adds; "
        "params = weights and biases, BatchNorm excluded",
        "MACs", {"macs": 1, **ATTENTION}, {"weights": 1, "layer_scale_params": 1, "bias": 1}, classes=1001),
    Convention(
        "pytorch", "torch.nn.Module.parameters()",
        "params = every trainable parameter (weights, FC bias, BatchNorm weight and bias); "
        "mult-adds as the paper",
        "mult-adds", {"macs": 1, **ATTENTION}, ALL_PARAMS, package="torch", version="2.13.0"),
    Convention(
        "fvcore", "fvcore FlopCountAnalysis",
        "one flop per multiply-add of aten::_convolution and aten::linear (bias not counted); "
        "aten::batch_norm in eval mode 2 per element (affine); aten::adaptive_avg_pool2d 1 per input "
        "element; relu, hardtanh (ReLU6), add and dropout ignored; params = parameter_count (all)",
        "flops", {"macs": 1, **ATTENTION, "batchnorm": 2, "avgpool": 1}, ALL_PARAMS,
        package="fvcore", version="0.1.5.post20221221"),
    Convention(
        "ptflops", "ptflops get_model_complexity_info",
        "default backend 'pytorch' (module hooks): conv and Linear multiply-adds plus bias adds, "
        "BatchNorm 2 per element (affine), ReLU/ReLU6 1 per output element, pooling 1 per input "
        "element; the patched F.relu and F.adaptive_avg_pool2d, which nn.ReLU and "
        "nn.AdaptiveAvgPool2d call, count ReLU and the pool a second time (nn.ReLU6 calls the "
        "unpatched F.hardtanh); a residual `x + y` is not seen (only torch.add / Tensor.add are "
        "patched); params = all trainable",
        "MACs", {"macs": 1, **ATTENTION, "bias_add": 1, "batchnorm": 2, "relu": 2, "relu6": 1, "avgpool": 2,
                 "gelu": 2},
        ALL_PARAMS, package="ptflops", version="0.7.5"),
    Convention(
        "thop", "thop profile",
        "conv in/groups*k*k per output element and Linear in_features per output element (bias "
        "ignored); BatchNorm 2 per element, doubled when affine (4); nn.ReLU, nn.ReLU6 and Dropout "
        "zero_ops; AdaptiveAvgPool2d (kernel + 1) per output element = input elements + one "
        "division per output; adds not seen; total returned as a float; params = leaf modules "
        "with a rule (all here)",
        "MACs", {"macs": 1, "batchnorm": 4, "avgpool": 1, "avgpool_div": 1},
        {"weights": 1, "bias": 1, "bn_params": 1},
        package="thop", version="0.1.1.post2209072238"),
    Convention(
        "torchinfo", "torchinfo summary",
        "'Total mult-adds': per leaf module, each weight and bias parameter times the output's "
        "spatial size for Conv layers and times the batch (1) otherwise: conv multiply-adds, FC "
        "weights and bias, BatchNorm weight and bias once per channel; activations, pooling and "
        "adds count nothing; params = all",
        "mult-adds", {"macs": 1, "bias_add": 1, "bn_params": 1}, ALL_PARAMS,
        package="torchinfo", version="1.8.0"),
    Convention(
        "torch-flop-counter", "torch.utils.flop_counter.FlopCounterMode",
        "2 FLOPs per multiply-add of convolution and addmm/mm (bias not counted); BatchNorm, "
        "activations, pooling and adds not counted; reports no params",
        "FLOPs", {"macs": 2, "attention_macs": 2}, None, package="torch", version="2.13.0"),
)}

PAPER = CONVENTIONS["paper"]


def explain(scales: dict[str, int] | None, net: Network, base_scales: dict[str, int] | None,
            base_net: Network) -> dict[str, int]:
    """The nonzero terms of scales(net) - base_scales(base_net): the scale change of each term
    on the base network, plus one "classes" term when the two networks' class counts differ."""
    if scales is None or base_scales is None:
        return {}
    terms: dict[str, int] = {}
    for name in dict.fromkeys([*base_scales, *scales]):
        scale, base = scales.get(name, 0), base_scales.get(name, 0)
        base_count = term_total(name, base_net)
        terms[name] = terms.get(name, 0) + (scale - base) * base_count
        terms["classes"] = terms.get("classes", 0) + scale * (term_total(name, net) - base_count)
    return {name: value for name, value in terms.items() if value}


@dataclass(frozen=True)
class Entry:
    """One convention's row of the ledger; measured fields are filled by --measure."""

    convention: Convention
    network: Network
    total: int
    params: int | None
    delta: int
    terms: dict[str, int]
    params_delta: int | None
    params_terms: dict[str, int]
    measured: int | None = None
    measured_params: int | None = None
    note: str = ""

    @property
    def matches(self) -> bool | None:
        """True or False once measured, None when nothing was measured."""
        if self.measured is None and self.measured_params is None:
            return None
        return ((self.measured is None or self.measured == self.total)
                and (self.measured_params is None or self.measured_params == self.params))


def entry(conv: Convention, spec: Spec, net: Network) -> Entry:
    """A convention's totals on the network (its own class count if fixed), explained against the paper."""
    own = net
    if conv.classes not in (None, net.num_classes):
        own = network(spec, net.alpha, net.resolution, conv.classes)
    total, params = conv.total(own), conv.param_count(own)
    base_total, base_params = PAPER.total(net), PAPER.param_count(net)
    terms = explain(conv.ops, own, PAPER.ops, net)
    params_terms = explain(conv.params, own, PAPER.params, net)
    delta = total - base_total
    params_delta = None if params is None else params - base_params
    # The ledger's promise: the terms add up to the delta, exactly.
    assert sum(terms.values()) == delta, (conv.name, terms, delta)
    assert params_delta is None or sum(params_terms.values()) == params_delta, (conv.name, params_terms)
    return Entry(conv, own, total, params, delta, terms, params_delta, params_terms)


def term_label(name: str, scales: dict[str, int], net: Network, base: Network) -> str:
    """A term as the ledger names it: its label, with the convention's scale when it is not 1."""
    if name == "classes":
        return f"classes {base.num_classes}->{net.num_classes}"
    scale = scales.get(name, 0)
    suffix = f" (x{scale})" if scale not in (0, 1) else ""
    return TERMS[name].label + suffix


def version_note(conv: Convention) -> str:
    """A note when the installed tool is not the version the preset's rule was read from."""
    if conv.package is None or conv.version is None:
        return ""
    try:
        installed = metadata.version(conv.package)
    except metadata.PackageNotFoundError:
        return ""
    # PEP 440 spells "0.1.1-2209072238" (thop's metadata) as "0.1.1.post2209072238"; "+cpu" is local.
    if re.sub(r"-(\d+)$", r".post\1", installed.split("+")[0]) == conv.version:
        return ""
    return f"installed {conv.package} {installed}, rule read from {conv.version}"


def _signed(value: int) -> str:
    return ("+" if value >= 0 else "-") + human(abs(value))


@dataclass(frozen=True)
class Ledger:
    """Every convention's total and params for one network, and why each differs from the paper."""

    network: Network
    entries: tuple[Entry, ...]
    measured: bool = False

    def describe(self, terms: dict[str, int], scales: dict[str, int] | None, e: Entry) -> str:
        """The terms of a delta as text: '+10.09 M BatchNorm (x2), +50.18 K avgpool'."""
        return ", ".join(f"{_signed(v)} {term_label(k, scales or {}, e.network, self.network)}"
                         for k, v in terms.items())

    def with_measurements(self, results: dict[str, Any]) -> Ledger:
        """The ledger with each tool's measurement (a mapping name -> Measurement) beside its prediction."""
        entries = []
        for e in self.entries:
            m = results.get(e.convention.name)
            if m is not None:
                note = m.note or version_note(e.convention)
                e = replace(e, measured=m.total, measured_params=m.params, note=note)
            entries.append(e)
        return replace(self, entries=tuple(entries), measured=True)

    def mismatches(self) -> list[Entry]:
        """The measured entries whose measurement differs from the prediction."""
        return [e for e in self.entries if e.matches is False]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `mncost compare`."""
        net = self.network
        return {
            "arch": net.arch, "alpha": net.alpha, "resolution": list(net.resolution),
            "num_classes": net.num_classes,
            "conventions": [{
                "name": e.convention.name, "tool": e.convention.tool, "version": e.convention.version,
                "rule": e.convention.rule, "unit": e.convention.unit, "num_classes": e.network.num_classes,
                "total": e.total, "params": e.params, "delta_vs_paper": e.delta, "terms": e.terms,
                "params_delta_vs_paper": e.params_delta, "params_terms": e.params_terms,
                "measured": e.measured, "measured_params": e.measured_params,
                "match": e.matches, "note": e.note or None,
            } for e in self.entries],
        }

    def to_table(self) -> Table:
        """One row per convention: total, params, delta against the paper and its terms."""
        net = self.network
        rows = [{
            "name": e.convention.name,
            "tool": e.convention.tool + (f" {e.convention.version}" if e.convention.version else ""),
            "unit": e.convention.unit, "total": e.total, "params": e.params,
            "delta": e.delta, "terms": self.describe(e.terms, e.convention.ops, e) or "-",
            "params_terms": self.describe(e.params_terms, e.convention.params, e) or ("-" if e.params is not None else "no params"),
            "measured": e.measured, "measured_params": e.measured_params,
            "match": {True: "exact", False: "MISMATCH", None: ""}[e.matches] + (
                f" ({e.note})" if e.note else ""),
        } for e in self.entries]
        columns = [Column("name", "Convention"), Column("tool", "Tool"), Column("unit", "Unit"),
                   Column("total", "Total", "count"), Column("params", "Params", "count"),
                   Column("delta", "Delta vs paper", "count"), Column("terms", "Terms of the delta"),
                   Column("params_terms", "Params vs paper")]
        if self.measured:
            columns += [Column("measured", "Measured", "count"),
                        Column("measured_params", "Measured params", "count"), Column("match", "Check")]
        height, width = net.resolution
        return Table(
            title=f"Counting conventions: MobileNet {net.arch} alpha={net.alpha:g} {height}x{width}, "
                  f"{net.num_classes} classes",
            columns=columns, rows=rows,
            footer=["Each delta is the exact sum of its terms (xN: the convention counts the term N times); "
                    "a term a convention leaves as the paper does is not shown.",
                    "slim always counts 1001 classes: its delta carries a classes term for the change.",
                    *(f"{c.name}: {c.rule}." for c in (e.convention for e in self.entries))],
        )


def compare(arch: str | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
            classes: int = 1000, names: list[str] | None = None) -> Ledger:
    """The ledger of every convention (or the named ones) for one network."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    net = network(spec, alpha, res, classes)
    chosen = [CONVENTIONS[name] for name in names] if names else list(CONVENTIONS.values())
    return Ledger(net, tuple(entry(c, spec, net) for c in chosen))
