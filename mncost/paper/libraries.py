"""The libraries' published figures: Keras Applications, torchvision's weights metadata, timm's benchmark results."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

from ..arch.builder import get_spec, network
from ..arch.layers import Network
from ..cost.conventions import CONVENTIONS
from ..cost.ops import layer_cost
from . import data
from .common import BILLION, millions, published_only, table, totals
from .compare import Line, PaperTable, reason

KERAS = CONVENTIONS["keras"]
TIMM = CONVENTIONS["timm"]
KERAS_V3 = {"Large 1.0": ("v3-large", 1.0), "Large 0.75": ("v3-large", 0.75),
            "Large minimalistic 1.0": ("v3-large-minimal", 1.0), "Small 1.0": ("v3-small", 1.0),
            "Small 0.75": ("v3-small", 0.75), "Small minimalistic 1.0": ("v3-small-minimal", 1.0)}


KERAS_PARAMS = ("Computed: params = weights + bias + 4 per BatchNorm channel (gamma, beta and the moving mean and "
                "variance, which Keras's 'Total params' counts), 1000 classes")


def keras() -> PaperTable:
    """keras.io's MobileNet and MobileNetV2: params = weights + bias + BatchNorm's four values per channel."""
    lines = []
    for label, printed in data.KERAS.rows:
        net = network("v2" if label.startswith("MobileNetV2") else "v1")
        count = KERAS.param_total(net) or 0
        lines.append(Line(label, printed, {"params": Decimal(count), "params_m": millions(count), "top1": None},
                          note=f"arch {net.arch}"))
    return table("keras", data.KERAS, lines, "rounded", KERAS_PARAMS + ".")


def _keras_v3_line(label: str, printed: dict[str, str]) -> Line:
    """A V3 checkpoint as Keras builds it (the keras build); where the docstring copies [SLIM], the miss says so."""
    arch, alpha = KERAS_V3[label.removeprefix("MobileNetV3").removesuffix(" 224")]
    spec = get_spec(arch, "keras")
    params = KERAS.param_total(network(spec, alpha)) or 0
    values = {"macs_m": millions(totals(spec, alpha).macs), "params_m": millions(params), "top1": None}
    slim = next(cp for cp in data.V3_CHECKPOINTS if cp.arch == arch and cp.alpha == alpha)
    copied = {key: reason("convention", f"the docstring prints [SLIM]'s README figure for this checkpoint "
                                        f"({getattr(slim, key)}, rebuilt in v3-slim), not Keras's own count")
              for key in ("macs_m", "params_m") if printed[key] == getattr(slim, key)}
    return Line(label, printed, values, copied, note=f"arch {arch}, keras build")


def keras_v3() -> PaperTable:
    """The V3 checkpoints of Keras's docstring: mult-adds and params of the networks Keras builds."""
    return table("keras-v3", data.KERAS_V3, [_keras_v3_line(label, printed) for label, printed in data.KERAS_V3.rows],
                 "rounded", KERAS_PARAMS + "; mult-adds = conv and FC multiply-adds; the keras build of V3.")


def torchvision() -> PaperTable:
    """torchvision's documented params and GFLOPS: all PyTorch params; GFLOPS = conv and FC multiply-adds."""
    lines = []
    for label, printed in data.TORCHVISION.rows:
        arch = "v2" if label == "mobilenet_v2" else "v3-" + label.rsplit("_", 1)[1]  # mobilenet_v3_large -> v3-large
        cost = totals(get_spec(arch, "torchvision") if arch != "v2" else arch)
        lines.append(Line(label, printed, {"params": Decimal(cost.params), "ops_g": Decimal(cost.macs) / BILLION},
                          note=f"arch {arch}"))
    return table("torchvision", data.TORCHVISION, lines, "rounded",
                 "Computed: params = every PyTorch parameter (weights, biases, BatchNorm affine), 1000 classes; "
                 "GFLOPS = conv and FC multiply-adds / 1e9 (torchvision's counter reports multiply-adds, half "
                 "of torch's FlopCounterMode).")


# timm's published models that a built-in arch equals layer by layer (tests/test_timm_figures.py checks each integer).
_WIDTHS = {"mobilenetv1": ("v1", ("100", "125")), "mobilenetv2": ("v2", ("035", "050", "075", "100", "140")),
           "mobilenetv3_large": ("v3-large", ("075", "100")), "mobilenetv3_small": ("v3-small", ("050", "075", "100")),
           "tf_mobilenetv3_large": ("v3-large", ("075", "100")), "tf_mobilenetv3_small": ("v3-small", ("075", "100")),
           "tf_mobilenetv3_large_minimal": ("v3-large-minimal", ("100",)),
           "tf_mobilenetv3_small_minimal": ("v3-small-minimal", ("100",)),
           "mobilenetv4_conv_small": ("v4-conv-small", ("035", "050")),
           "mobilenetv4_hybrid_medium": ("v4-hybrid-medium", ("075",)),
           "mobilenetv4_hybrid_large": ("v4-hybrid-large", ("075",))}
TIMM_TWINS = {f"{prefix}_{width}": (arch, int(width) / 100) for prefix, (arch, widths) in _WIDTHS.items()
              for width in widths}
TIMM_TWINS.update({f"mobilenetv4_{name}": (f"v4-{name.replace('_', '-')}", 1.0)
                   for name in ("conv_small", "conv_medium", "conv_large", "hybrid_medium", "hybrid_large")})
MEAN_POOLED = "Tensor.mean"  # how timm's SqueezeExcite pools: x.mean((2, 3)), which fvcore does not count


def as_timm_runs_it(net: Network) -> Network:
    """The network with its squeeze-and-excite pools called as timm calls them (x.mean), not nn.AdaptiveAvgPool2d."""
    return replace(net, layers=tuple(replace(layer, call=MEAN_POOLED) if layer.name.endswith(".se.pool") else layer
                                     for layer in net.layers))


def timm_activations(net: Network) -> int:
    """The activations timm publishes (fvcore's ActivationCountAnalysis): the output elements of every conv, linear
    and matmul, an attention's two matmuls included (its logits, heads x L x S, and its output)."""
    total = 0
    for layer in net.layers:
        if layer.op in ("conv2d", "linear", "matmul", "attn_qk", "attn_av"):
            total += layer_cost(layer).activations
        for op in layer.ops if layer.op == "attention" else ():  # traced: the logits and the output of each head
            if {"query", "key", "value"} <= op.args.keys():  # a fused kernel
                q, k, v = op.args["query"], op.args["key"], op.args["value"]
                total += math.prod(q[:-1]) * (k[-2] + v[-1])
            elif op.name in ("bmm", "mm") and not op.inner:  # the math path: Q K^T and A V
                total += op.out[0].numel
    return total


def timm_values(net: Network) -> dict[str, Decimal | None]:
    """GMACs, params and activations by the timm convention."""
    return {"gmacs": Decimal(TIMM.total(net) or 0) / BILLION, "params_m": millions(TIMM.param_total(net) or 0),
            "macts_m": millions(timm_activations(net))}


def timm() -> PaperTable:
    """timm's published MobileNet figures, each model by the built-in arch that equals it (those first)."""
    lines, others = [], []
    for fig in data.TIMM_FIGURES:
        printed = {"gmacs": fig.gmacs, "params_m": fig.params_m, "macts_m": fig.macts_m}
        label = f"{fig.model} {fig.resolution}"
        if fig.model in TIMM_TWINS:
            arch, alpha = TIMM_TWINS[fig.model]
            spec = get_spec(arch, "timm") if arch.startswith("v3") else get_spec(arch)
            lines.append(Line(label, printed, timm_values(as_timm_runs_it(network(spec, alpha, fig.resolution))),
                              note=f"arch {arch}, alpha {alpha:g}"))
        elif "mobilenet" in fig.model:
            others.append(published_only(label, printed, "published only: no built-in arch equals this model; "
                                                         "the timm preset on the traced model gives the print"))
    lines += others
    return table("timm", data.TIMM_SOURCE, lines, "python",
                 "Computed: the timm convention (mncost compare: fvcore's total plus the attention matmuls; params = "
                 "every parameter) and the activations fvcore's ActivationCountAnalysis counts (conv, linear and "
                 "matmul outputs) on the built-in arch that equals each model, its squeeze-and-excite pools run as "
                 "timm runs them (x.mean, which fvcore does not count).", secondary=("macts_m",))
