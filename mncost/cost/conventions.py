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
from typing import Any, Callable

from ..arch.builder import get_spec, network
from ..arch.layers import Layer, Network, Size
from ..arch.records import Call, Module, Shape
from ..arch.spec import Spec
from ..table import Column, Table, human
from .terms import TERMS, term_total


@dataclass(frozen=True)
class Convention:
    """What one source counts: ops terms with their scales, params terms, unit and rule.

    A tool whose rule the terms explain only in part has its own count too (`count`, a term of the network):
    the ledger then shows the rest as one more term, labelled `other`."""

    name: str
    tool: str
    rule: str
    unit: str
    ops: dict[str, int] | None  # None: the tool reports no ops
    params: dict[str, int] | None  # None: the tool reports no params
    package: str | None = None  # the distribution measured (None: nothing to run)
    version: str | None = None  # the version whose source the rule follows
    classes: int | None = None  # a fixed class count (None: the one asked for)
    count: Callable[[Network], int] | None = None  # the tool's own ops count, when the terms explain part of it
    other: str = ""  # the label of the rest
    param_count: Callable[[Network], int] | None = None
    params_other: str = ""

    def total(self, net: Network) -> int | None:
        """The ops total this convention prints for the network, or None when it prints none."""
        if self.ops is None:
            return None
        return self.count(net) if self.count else _scaled(self.ops, net)

    def param_total(self, net: Network) -> int | None:
        """The params this convention prints, or None when it prints none."""
        if self.params is None:
            return None
        return self.param_count(net) if self.param_count else _scaled(self.params, net)


def _scaled(scales: dict[str, int], net: Network) -> int:
    return sum(scale * term_total(name, net) for name, scale in scales.items())


EXACT = {"macs": 1, "matmul": 1, "attention": 1, "recurrent": 1}  # every multiply-add, the exact count
USED_PARAMS = {"weights": 1, "layer_scale_params": 1, "bias": 1, "bn_params": 1, "norm_params": 1}
ALL_PARAMS = {**USED_PARAMS, "unused_params": 1}


def _ptflops(net: Network) -> int:
    """ptflops divides its module hooks' total by the batch, not its patched functions' (pytorch_engine.py)."""
    return int(term_total("ptflops_hooks", net) / net.batch + term_total("ptflops_patches", net))


def _thop_params(net: Network) -> int:
    return term_total("thop_params", net)


CONVENTIONS: dict[str, Convention] = {c.name: c for c in (
    Convention(
        "paper", "[V1]/[V2] papers",
        "conv, FC, matmul, attention and recurrent multiply-adds; params = conv and FC weights, and [V4] "
        "layer-scale gammas (no BatchNorm, no bias)",
        "mult-adds", EXACT, {"weights": 1, "layer_scale_params": 1}),
    Convention(
        "slim", "tensorflow/models research/slim checkpoint tables",
        "always 1001 classes (background + 1000); multiply-adds as the paper; "
        "params = weights and biases, BatchNorm excluded",
        "MACs", EXACT, {"weights": 1, "layer_scale_params": 1, "bias": 1}, classes=1001),
    Convention(
        "pytorch", "torch.nn.Module.parameters()",
        "params = every trainable parameter (weights, biases, norms' affine, the ones no op reads); "
        "mult-adds as the paper",
        "mult-adds", EXACT, ALL_PARAMS, package="torch", version="2.13.0"),
    Convention(
        "fvcore", "fvcore FlopCountAnalysis",
        "one flop per multiply-add of the ops jit tracing records: aten::_convolution, linear, matmul, mm, "
        "bmm, addmm and einsum (its own formula: numpy's path / 2 beyond two bmm-like equations; bias not "
        "counted); batch_norm 2 per element (1 without affine), group_norm, layer_norm and instance_norm 5 "
        "(4 without affine), upsample_nearest2d 1 and upsample_bilinear2d 4 per output element, "
        "adaptive_avg_pool2d 1 per input element; scaled_dot_product_attention, nn.MultiheadAttention's and "
        "TransformerEncoderLayer's native kernels, RNNs, bilinear, baddbmm and every other op count nothing; "
        "params = parameter_count (all)",
        "flops", {**EXACT, "unseen_fvcore": -1, "batchnorm": 2, "batchnorm_functional": 2, "avgpool": 1,
                  "avgpool_functional": 1}, ALL_PARAMS,
        package="fvcore", version="0.1.5.post20221221", count=lambda net: term_total("fvcore_count", net),
        other="other fvcore handles (norms x5/x4, upsampling, BatchNorm without affine)"),
    Convention(
        "ptflops", "ptflops get_model_complexity_info",
        "default backend 'pytorch': forward hooks on modules of an exact class (a subclass such as timm's "
        "Linear or BatchNormAct2d has none; a hooked module hides its descendants): conv and Linear "
        "multiply-adds plus bias adds, BatchNorm, InstanceNorm and GroupNorm 2 per element with affine "
        "(LayerNorm 1), ReLU/ReLU6/GELU/ELU/PReLU/LeakyReLU 1 per output element, every pooling 1 per input "
        "element, Upsample 1 per output element, its own formulas for nn.MultiheadAttention, RNNs and timm's "
        "Attention; and patched functions, counted wherever they are called: F.relu, F.relu6, F.gelu, "
        "F.silu, F.elu, F.prelu, F.softmax and the F pools 1 per input element (so nn.ReLU, nn.GELU and "
        "every pooling module count twice), F.interpolate, torch.matmul/mm/bmm and x.matmul/mm/bmm(y) per "
        "multiply-add, torch.addmm/baddbmm with their bias, torch.add/mul and x.add/mul(y) 1 per element; "
        "`x + y`, `x * y`, `x @ y`, F.linear, F.conv2d and scaled_dot_product_attention count nothing; "
        "module hooks are divided by the batch, patches are not; params = all trainable",
        "MACs", {"macs": 1, "macs_unhooked": -1, "bias_add": 1, "bias_add_unhooked": -1, "batchnorm": 2, "relu": 2,
                 "relu_functional": 1, "relu6": 1, "relu6_functional": 1, "gelu": 2, "gelu_functional": 1, "silu": 1,
                 "avgpool": 2, "avgpool_functional": 1, "softmax_patched": 1, "matmul_named": 1, "add_named": 1,
                 "mul_named": 1, "ptflops_module_rules": 1},
        {**ALL_PARAMS, "frozen_params": -1}, package="ptflops", version="0.7.5", count=_ptflops,
        other="other ptflops hooks and patches (pools, norms, upsampling)"),
    Convention(
        "thop", "thop profile",
        "forward hooks on modules of an exact class: conv in/groups x kernel per output element (a "
        "transposed conv too), Linear in_features per output element (bias ignored), BatchNorm, LayerNorm "
        "and InstanceNorm 2 per element, doubled with affine, AdaptiveAvgPool (input/output + 1) per "
        "output element, AvgPool 1 per output element, nn.Softmax 3K-1 per row of K, PReLU 1 per element, "
        "Upsample per output element (nearest 1, bilinear 11), its own formulas for RNNs; ReLU, pooling "
        "maxima, Dropout and every module without a rule (subclasses, GroupNorm, attention) zero; functional "
        "ops, adds and matmuls not seen; total returned as a float; params = the parameters of the modules "
        "with a rule that ran",
        "MACs", {"macs": 1, "macs_unhooked": -1, "batchnorm": 4, "avgpool": 1, "avgpool_div": 1,
                 "avgpool_fixed_outputs": 1, "softmax_module": 1},
        USED_PARAMS, package="thop", version="0.1.1.post2209072238",
        count=lambda net: int(term_total("thop_count", net)), other="other thop rules (norms, pools, RNNs)",
        param_count=_thop_params, params_other="params of modules thop has no rule for"),
    Convention(
        "torchinfo", "torchinfo summary",
        "'Total mult-adds': per call of each leaf module, each weight and bias parameter times the "
        "output's batch and spatial size for a class named Conv*, times the batch otherwise (a Linear on "
        "T tokens counts once, a norm's affine parameters once per sample); ops outside leaf modules "
        "(functional calls, matmuls, attention) count nothing; params = all",
        "mult-adds", {"macs": 1, "matmul": 0, "attention": 0, "recurrent": 0, "bias_add": 1, "norm_params_batch": 1,
                      "linear_tokens": -1},
        ALL_PARAMS, package="torchinfo", version="1.8.0", count=lambda net: term_total("torchinfo_count", net),
        other="other leaf-module parameters torchinfo multiplies by the output size"),
    Convention(
        "torch-flop-counter", "torch.utils.flop_counter.FlopCounterMode",
        "2 FLOPs per multiply-add of the aten ops dispatched: convolution, mm, addmm, bmm, baddbmm and the "
        "CUDA attention kernels (bias not counted); scaled_dot_product_attention counted when torch runs it "
        "as bmm (its math path: timm's Mobile MQA, one key/value head for several query heads), not the fused "
        "CPU kernel, nn.MultiheadAttention's native kernel or the LSTM kernel, which have no formula; "
        "reports no params",
        "FLOPs", {"macs": 2, "matmul": 2, "attention": 2, "recurrent": 2, "unseen_flop_counter": -2}, None,
        package="torch", version="2.13.0"),
    Convention(
        "torchvision", "torchvision weights meta (docs 'GFLOPS', num_params)",
        "the documented 'GFLOPS' (meta _ops, e.g. 0.301 for mobilenet_v2 IMAGENET1K_V1, printed 0.30 in "
        "the docs' table) are conv and FC multiply-adds in billions, not 2 FLOPs each (pytorch/vision "
        "PR #6936); num_params = every parameter (3,504,872 for mobilenet_v2); torchvision has no V1",
        "GFLOPS", EXACT, ALL_PARAMS),
    Convention(
        "keras", "Keras model.summary() (keras.applications)",
        "'Total params' include BatchNorm's non-trainable moving mean and variance beside its gamma "
        "and beta (4 per channel, x2 of the affine params), conv and FC weights and biases "
        "(keras.io applications table: MobileNet 4,253,864, MobileNetV2 3,538,984); reports no ops",
        "params", None, {"weights": 1, "layer_scale_params": 1, "bias": 1, "bn_params": 2, "norm_params": 1}),
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
        unit="MACs", ops={**(fvcore.ops or {}), "attention": (fvcore.ops or {}).get("attention", 0) + 1},
        count=lambda net: fvcore.total(net) + term_total("attention", net), package=None, version=None)


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
    """The network with another class count: its last conv or FC layer, and the rows after it, resized
    (a traced row's records too: every size equal to the class count, but a tensor's batch)."""
    weighted = [i for i, layer in enumerate(net.layers) if layer.op in ("conv2d", "linear")]
    if not weighted or net.layers[weighted[-1]].groups > 1:  # no classifier to resize (none, or a grouped conv)
        return net
    last, k = weighted[-1], net.num_classes
    layers = [layer if i < last else _resized(replace(
        layer, out_channels=classes if layer.out_channels == k else layer.out_channels,
        in_channels=classes if i > last and layer.in_channels == k else layer.in_channels), k, classes)
        for i, layer in enumerate(net.layers)]
    return replace(net, num_classes=classes, layers=tuple(layers))


def _size(value: Any, k: int, n: int, batch: bool) -> Any:
    """Every size k in a shape (or in shapes nested in tuples and dicts) as n; the first of a tensor kept."""
    if isinstance(value, Shape):
        return Shape(side if (side != k or (batch and i == 0)) else n for i, side in enumerate(value))
    if isinstance(value, tuple):
        return tuple(_size(v, k, n, batch) for v in value)
    if isinstance(value, dict):
        return {key: _size(v, k, n, batch) for key, v in value.items()}
    return value


def _resized(layer: Layer, k: int, n: int) -> Layer:
    """A traced row's records with k classes as n (a built-in layer derives its records from its fields)."""
    if not layer.ops:
        return layer
    def module(m: Module) -> Module:
        return replace(m, attrs={a: n if v == k and a.startswith("out_") else v for a, v in m.attrs.items()},
                       params=tuple((name, key, numel // k * n if numel % k == 0 else numel, trainable)
                                    for name, key, numel, trainable in m.params))
    calls = {id(op.call): Call(op.call.function, (_size(op.call.args[:1], k, n, True) + _size(op.call.args[1:], k, n,
                                                                                              False)),
                               _size(dict(op.call.kwargs), k, n, False)) for op in layer.ops}
    ops = tuple(replace(op, args={a: _size(v, k, n, a not in op.params) for a, v in op.args.items()},
                        out=_size(op.out, k, n, True), call=calls[id(op.call)],
                        module=module(op.module) if op.module else None, cost=None) for op in layer.ops)
    return replace(layer, ops=ops, params=_size(layer.params, k, n, False),
                   calls=tuple(replace(c, module=module(c.module), inputs=_size(c.inputs, k, n, True),
                                       output=_size(c.output, k, n, True)) for c in layer.calls))


def entry(conv: Convention, spec: Spec | None, net: Network) -> Entry:
    """A convention's totals on the network (its own class count if fixed), explained against the paper.

    A traced model has no spec: a fixed class count resizes its classifier (with_classes)."""
    own = net
    if conv.classes not in (None, net.num_classes):
        own = network(spec, net.alpha, net.resolution, conv.classes) if spec else with_classes(net, conv.classes)
    total, params = conv.total(own), conv.param_total(own)
    base_total, base_params = PAPER.total(net), PAPER.param_total(net)
    terms = explain(conv.ops, own, PAPER.ops, net)
    params_terms = explain(conv.params, own, PAPER.params, net)
    delta = None if total is None else total - base_total
    params_delta = None if params is None else params - base_params
    if conv.count and total is not None:  # the rest of the tool's own count: one term, `other`
        terms = _nonzero({**terms, f"{conv.name}_other": total - _scaled(conv.ops, own)})
    if conv.param_count and params is not None:
        params_terms = _nonzero({**params_terms, f"{conv.name}_other": params - _scaled(conv.params, own)})
    # The ledger's promise: the terms add up to the delta, exactly.
    assert delta is None or sum(terms.values()) == delta, (conv.name, terms, delta)
    assert params_delta is None or sum(params_terms.values()) == params_delta, (conv.name, params_terms)
    return Entry(conv, own, total, params, delta, terms, params_delta, params_terms)


def _nonzero(terms: dict[str, int]) -> dict[str, int]:
    return {name: value for name, value in terms.items() if value}


def term_label(name: str, scales: dict[str, int], net: Network, base: Network, other: str = "") -> str:
    """A term as the ledger names it: its label, with the convention's scale when it is not 1."""
    if name == "classes":
        return f"classes {base.num_classes}->{net.num_classes}"
    if name.endswith("_other") and name not in TERMS:
        return other
    scale = abs(scales.get(name, 0))  # the sign is the term's own
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

    def describe(self, terms: dict[str, int], scales: dict[str, int] | None, e: Entry, other: str = "") -> str:
        """The terms of a delta as text: '+10.09 M BatchNorm (x2), +50.18 K avgpool'."""
        return ", ".join(f"{_signed(v)} {term_label(k, scales or {}, e.network, self.network, other)}"
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
            "delta": e.delta, "terms": self.describe(e.terms, e.convention.ops, e, e.convention.other)
            or ("-" if e.total is not None else "no ops"),
            "params_terms": self.describe(e.params_terms, e.convention.params, e, e.convention.params_other)
            or ("-" if e.params is not None else "no params"),
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
