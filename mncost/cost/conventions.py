"""Counting conventions as data, and the ledger that explains how they differ.

A Convention is a selection and scaling of cost terms (mncost.cost.terms): the ops it
adds up, the params it adds up, and for the reference checkpoints a fixed class
count. It never special-cases a network. Each tool preset names the version whose
source its rule was read from; the rule is a summary of that source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

from ..arch.builder import get_spec, network
from ..arch.layers import Network, Size
from ..arch.spec import Spec
from ..table import Column, Table, human
from .terms import TERMS, term_total


@dataclass(frozen=True)
class Convention:
    """What one source counts: ops terms with their scales, params terms, unit and rule."""

    name: str
    tool: str
    rule: str
    unit: str
    ops: dict[str, int] | None  # None: the tool reports no ops
    params: dict[str, int] | None  # None: the tool reports no params
    package: str | None = None  # the distribution measured (None: nothing to run)
    version: str | None = None  # the version whose source the rule follows
    classes: int | None = None  # a fixed class count (None: the one asked for)

    def total(self, net: Network) -> int | None:
        """The ops total this convention prints for the network, or None when it prints none."""
        if self.ops is None:
            return None
        return sum(scale * term_total(name, net) for name, scale in self.ops.items())

    def param_count(self, net: Network) -> int | None:
        """The params this convention prints, or None when it prints none."""
        if self.params is None:
            return None
        return sum(scale * term_total(name, net) for name, scale in self.params.items())


ALL_PARAMS = {"weights": 1, "layer_scale_params": 1, "bias": 1, "bn_params": 1}
# Every matmul is part of the exact count: [V4]'s attention rows, and a traced F.scaled_dot_product_attention
# or torch.matmul. fvcore and ptflops see torch.matmul but not scaled_dot_product_attention; thop and torchinfo
# hook modules only and see neither; thop also skips the layer-scale gammas (no rule for that module). torch's
# flop counter sees the attention when torch runs it as bmm. ptflops counts nn.GELU twice, as nn.ReLU.
MATMULS = {"attention_macs": 1, "attention": 1, "matmul": 1}

CONVENTIONS: dict[str, Convention] = {c.name: c for c in (
    Convention(
        "paper", "[V1]/[V2] papers",
        "conv, FC and matmul multiply-adds (attention included); params = conv and FC weights, and [V4] layer-scale "
        "gammas (no BatchNorm, no FC bias)",
        "mult-adds", {"macs": 1, **MATMULS}, {"weights": 1, "layer_scale_params": 1}),
    Convention(
        "slim", "tensorflow/models research/slim checkpoint tables",
        "always 1001 classes (background + 1000); conv and FC multiply-adds; "
        "params = weights and biases, BatchNorm excluded",
        "MACs", {"macs": 1, **MATMULS}, {"weights": 1, "layer_scale_params": 1, "bias": 1}, classes=1001),
    Convention(
        "pytorch", "torch.nn.Module.parameters()",
        "params = every trainable parameter (weights, FC bias, BatchNorm weight and bias); "
        "mult-adds as the paper",
        "mult-adds", {"macs": 1, **MATMULS}, ALL_PARAMS, package="torch", version="2.13.0"),
    Convention(
        "fvcore", "fvcore FlopCountAnalysis",
        "one flop per multiply-add of aten::_convolution and aten::linear (bias not counted); "
        "aten::batch_norm in eval mode 2 per element (affine), whichever module runs it; aten::adaptive_avg_pool2d 1 per input "
        "element, whether nn.AdaptiveAvgPool2d or F.adaptive_avg_pool2d ran it (aten::avg_pool2d and "
        "aten::mean count nothing); aten::matmul 1 per multiply-add; scaled_dot_product_attention, softmax, "
        "max pooling, relu, hardtanh (ReLU6), add and dropout ignored; params = parameter_count (all)",
        "flops", {"macs": 1, "attention_macs": 1, "batchnorm": 2, "batchnorm_functional": 2, "avgpool": 1, "avgpool_functional": 1,
                  "matmul": 1}, ALL_PARAMS,
        package="fvcore", version="0.1.5.post20221221"),
    Convention(
        "ptflops", "ptflops get_model_complexity_info",
        "default backend 'pytorch' (module hooks): conv and Linear multiply-adds plus bias adds, "
        "nn.BatchNorm 2 per element (affine; a subclass such as timm's BatchNormAct2d has no hook), "
        "ReLU/ReLU6 1 per output element, pooling 1 per input "
        "element; the patched F.relu and F.adaptive_avg_pool2d, which nn.ReLU and "
        "nn.AdaptiveAvgPool2d call, count ReLU and the pool a second time (nn.ReLU6 calls the "
        "unpatched F.hardtanh); a residual `x + y` is not seen (only torch.add / Tensor.add are "
        "patched); nn.GELU twice, as nn.ReLU; the same holds for nn.AvgPool2d and nn.MaxPool2d (module hook plus the patched F.avg_pool2d, "
        "F.max_pool2d); F.relu, F.relu6, F.softmax (so nn.Softmax), the F pools, torch.add/mul/matmul and "
        "x.add/mul/matmul(y) count once each (1 per element, matmul per multiply-add); `x @ y`, `x * y`, "
        "x.mean and scaled_dot_product_attention count nothing; hooks are looked up by exact type, so "
        "a subclass (timm's Linear) counts nothing and F.linear is not patched; params = all trainable",
        "MACs", {"macs": 1, "attention_macs": 1, "bias_add": 1, "batchnorm": 2, "relu": 2, "relu6": 1, "avgpool": 2,
                 "relu_functional": 1, "relu6_functional": 1, "avgpool_functional": 1, "avgpool_fixed": 2,
                 "avgpool_fixed_functional": 1, "maxpool": 2, "maxpool_functional": 1, "add_named": 1,
                 "mul_named": 1, "softmax_patched": 1, "matmul_named": 1, "macs_unhooked": -1,
                 "bias_add_unhooked": -1, "gelu": 2},
        ALL_PARAMS, package="ptflops", version="0.7.5"),
    Convention(
        "thop", "thop profile",
        "conv in/groups*k*k per output element and Linear in_features per output element (bias "
        "ignored); BatchNorm 2 per element, doubled when affine (4); nn.ReLU, nn.ReLU6 and Dropout "
        "zero_ops; AdaptiveAvgPool2d (kernel + 1) per output element = input elements + one "
        "division per output; nn.AvgPool2d 1 per output element; nn.Softmax 3K-1 per row of K; "
        "nn.MaxPool2d zero; functional ops, adds, matmuls and module subclasses (timm's Linear) not seen "
        "and [V4] layer-scale gammas (rules by exact type); total returned as a "
        "float; params = modules with a rule (a BatchNorm subclass such as timm's BatchNormAct2d has none: "
        "neither its work nor its params count)",
        "MACs", {"macs": 1, "batchnorm": 4, "avgpool": 1, "avgpool_div": 1, "avgpool_fixed_outputs": 1,
                 "softmax_module": 1, "macs_unhooked": -1},
        {"weights": 1, "bias": 1, "bn_params": 1, "bn_params_functional": -1, "params_unhooked": -1},
        package="thop", version="0.1.1.post2209072238"),
    Convention(
        "torchinfo", "torchinfo summary",
        "'Total mult-adds': per leaf module, each weight and bias parameter times the output's "
        "spatial size for Conv layers and times the batch (1) otherwise: conv multiply-adds, FC "
        "weights and bias (once, however many tokens a Linear runs on), BatchNorm weight and bias once per "
        "channel (not when the BatchNorm module has children, as timm's BatchNormAct2d); activations, pooling and "
        "adds count nothing; params = all",
        "mult-adds", {"macs": 1, "bias_add": 1, "bn_params": 1, "linear_tokens": -1, "bn_params_functional": -1},
        ALL_PARAMS,
        package="torchinfo", version="1.8.0"),
    Convention(
        "torch-flop-counter", "torch.utils.flop_counter.FlopCounterMode",
        "2 FLOPs per multiply-add of convolution and addmm/mm/bmm (bias not counted); "
        "scaled_dot_product_attention counted when torch runs it as bmm (its math path: timm's Mobile MQA, one "
        "key/value head for several query heads), not when it runs the fused CPU kernel, which has no formula; BatchNorm, "
        "activations, pooling and adds not counted; reports no params",
        "FLOPs", {"macs": 2, "matmul": 2, "attention_macs": 2, "attention_bmm": 2}, None, package="torch",
        version="2.13.0"),
    Convention(
        "torchvision", "torchvision weights meta (docs 'GFLOPS', num_params)",
        "the documented 'GFLOPS' (meta _ops, e.g. 0.301 for mobilenet_v2 IMAGENET1K_V1, printed 0.30 in "
        "the docs' table) are conv and FC multiply-adds in billions, not 2 FLOPs each (pytorch/vision "
        "PR #6936); num_params = every parameter (3,504,872 for mobilenet_v2); torchvision has no V1",
        "GFLOPS", {"macs": 1, **MATMULS}, ALL_PARAMS),
    Convention(
        "keras", "Keras model.summary() (keras.applications)",
        "'Total params' include BatchNorm's non-trainable moving mean and variance beside its gamma "
        "and beta (4 per channel, x2 of the affine params), conv and FC weights and biases "
        "(keras.io applications table: MobileNet 4,253,864, MobileNetV2 3,538,984); reports no ops",
        "params", None, {"weights": 1, "layer_scale_params": 1, "bias": 1, "bn_params": 2}),
)}

PAPER = CONVENTIONS["paper"]


def _timm(fvcore: Convention) -> Convention:
    """timm's published figures: fvcore's rules (whatever they grow to) plus the attention matmuls."""
    return replace(
        fvcore, name="timm", tool="timm's published GMACs (results/benchmark-*.csv, model cards)",
        rule="timm's benchmark.py runs fvcore's FlopCountAnalysis: the fvcore preset's total, plus the two matmuls "
             "of F.scaled_dot_product_attention (Q K^T and A V), which timm's published figures include and fvcore "
             "alone skips; printed as round(total / 1e9, 2) GMACs; params = sum(p.numel()), printed "
             "round(params / 1e6, 2); a re-parameterisable model (mobileone, repvit, fastvit) is counted after "
             "reparameterize_model(), as benchmark.py --reparam does",
        unit="MACs", ops={**(fvcore.ops or {}), "attention": 1}, package=None, version=None)


CONVENTIONS["timm"] = _timm(CONVENTIONS["fvcore"])

# [V3]'s extra ops. Each preset's tool skips them on the module mncost builds (and on torchvision's
# and timm's): no hook or handle for Hardswish / Hardsigmoid, the SE scale written `x * gate`.
V3_TERMS = ("hardswish", "hardsigmoid", "se_mul", "se_pool")


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
    total: int | None
    params: int | None
    delta: int | None
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


def with_classes(net: Network, classes: int) -> Network:
    """The network with another class count: its last conv or FC layer, and the rows after it, resized.
    A traced model that ends in a grouped conv has no classifier to resize: it is returned as it is."""
    last = max(i for i, layer in enumerate(net.layers) if layer.op in ("conv2d", "linear"))
    if net.layers[last].groups > 1:
        return net
    k = net.num_classes
    layers = [layer if i < last else replace(
        layer, out_channels=classes if layer.out_channels == k else layer.out_channels,
        in_channels=classes if i > last and layer.in_channels == k else layer.in_channels)
        for i, layer in enumerate(net.layers)]
    return replace(net, num_classes=classes, layers=tuple(layers))


def entry(conv: Convention, spec: Spec | None, net: Network) -> Entry:
    """A convention's totals on the network (its own class count if fixed), explained against the paper.

    A traced model has no spec: a fixed class count resizes its classifier (with_classes)."""
    own = net
    if conv.classes not in (None, net.num_classes):
        own = network(spec, net.alpha, net.resolution, conv.classes) if spec else with_classes(net, conv.classes)
    total, params = conv.total(own), conv.param_count(own)
    base_total, base_params = PAPER.total(net), PAPER.param_count(net)
    terms = explain(conv.ops, own, PAPER.ops, net)
    params_terms = explain(conv.params, own, PAPER.params, net)
    delta = None if total is None else total - base_total
    params_delta = None if params is None else params - base_params
    # The ledger's promise: the terms add up to the delta, exactly.
    assert delta is None or sum(terms.values()) == delta, (conv.name, terms, delta)
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


def model_label(net: Network) -> str:
    """MobileNet v1 alpha=1 for an arch, the TARGET (path.py:NAME) for a traced model."""
    return net.arch if ":" in net.arch else f"MobileNet {net.arch} alpha={net.alpha:g}"


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
            "delta": e.delta, "terms": self.describe(e.terms, e.convention.ops, e) or ("-" if e.total is not None else "no ops"),
            "params_terms": self.describe(e.params_terms, e.convention.params, e) or ("-" if e.params is not None else "no params"),
            "measured": e.measured, "measured_params": e.measured_params,
            "match": {True: "exact", False: "MISMATCH", None: ""}[e.matches] + (
                f" ({e.note})" if e.note else ""),
        } for e in self.entries]
        columns = [Column("name", "Convention"), Column("tool", "Tool", hide=1), Column("unit", "Unit", hide=4),
                   Column("total", "Total", "count"), Column("params", "Params", "count"),
                   Column("delta", "Delta vs paper", "count"), Column("terms", "Terms of the delta", hide=5),
                   Column("params_terms", "Params vs paper", hide=2)]
        if self.measured:
            columns += [Column("measured", "Measured", "count", hide=3),
                        Column("measured_params", "Measured params", "count", hide=3), Column("match", "Check")]
        height, width = net.resolution
        return Table(
            title=f"Counting conventions: {model_label(net)} {height}x{width}, {net.num_classes} classes",
            columns=columns, rows=rows,
            footer=["Each delta is the exact sum of its terms (xN: the convention counts the term N times); "
                    "a term a convention leaves as the paper does is not shown.",
                    "slim always counts 1001 classes: its delta carries a classes term for the change.",
                    *v3_footer(self),
                    *(f"{c.name}: {c.rule}." for c in (e.convention for e in self.entries))],
        )


def v3_footer(ledger: Ledger) -> list[str]:
    """One line on [V3]'s hard-swish, hard-sigmoid, SE multiply and SE pools, and who counts them."""
    totals = {name: term_total(name, ledger.network) for name in V3_TERMS}
    if not any(totals.values()):
        return []
    counted = {name: [e.convention.name for e in ledger.entries if name in (e.convention.ops or {})
                      or (name == "se_pool" and "avgpool" in (e.convention.ops or {}))] for name in V3_TERMS}
    parts = [f"{TERMS[name].label} {human(total)} ({', '.join(counted[name]) or 'no preset'})"
             for name, total in totals.items()]
    return ["V3 elementwise work, elements, and the presets that count it: " + "; ".join(parts) + "."]


def compare(arch: str | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
            classes: int = 1000, names: list[str] | None = None) -> Ledger:
    """The ledger of every convention (or the named ones) for one network."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    return ledger(network(spec, alpha, res, classes), spec, names)


def ledger(net: Network, spec: Spec | None = None, names: list[str] | None = None) -> Ledger:
    """The ledger of every convention (or the named ones) for a network: an arch's, or a traced model's."""
    chosen = [CONVENTIONS[name] for name in names] if names else list(CONVENTIONS.values())
    return Ledger(net, tuple(entry(c, spec, net) for c in chosen))
