"""One small builder per published table: the engine's value beside every printed figure."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

from ..arch.layers import Layer, Network
from ..arch.stack import floor_width
from ..cost.analysis import analyze
from ..cost.ops import LayerCost, layer_cost
from ..errors import MncostError
from . import data
from .compare import PaperRow, PaperTable, method, paper_row

MILLION = Decimal(10**6)
PAPER_PARAMS = ("Computed: mult-adds = conv and FC multiply-adds; params = conv and FC weights "
                "(the papers' convention, no bias, no BatchNorm); 1000 classes.")
PUBLISHED_ONLY = "published only: not a MobileNet, nothing to compute"


def _millions(count: int) -> Decimal:
    return Decimal(count) / MILLION


def _totals(arch: str, alpha: float = 1.0, res: int = 224, classes: int = 1000) -> LayerCost:
    return analyze(arch, alpha, res, classes).totals


def _paper(totals: LayerCost) -> dict[str, Decimal | None]:
    """The papers' convention: mult-adds and weights; accuracy is never computed."""
    return {"macs_m": _millions(totals.macs), "params_m": _millions(totals.weights), "top1": None}


def _published_only(label: str, printed: dict[str, str], note: str = PUBLISHED_ONLY) -> PaperRow:
    return paper_row(label, printed, {}, note=note)


def _rows(source: data.Source) -> dict[str, dict[str, str]]:
    return dict(source.rows)


def _table(table_id: str, source: data.Source, rows: list[PaperRow], *footer: str) -> PaperTable:
    return PaperTable(table_id, source.title, source.source, tuple(rows), footer)


def v1_table2() -> PaperTable:
    """Share of mult-adds and params per layer type, V1 1.0/224."""
    shares = analyze("v1").shares()
    misprint = ("a misprint: two digits swapped (the four printed mult-add shares add to 99.29%, "
                "with 1.91% they add to 100.01%)")
    rows = [paper_row(label, printed,
                      {"macs_share": Decimal(repr(100 * shares[label][0])),
                       "params_share": Decimal(repr(100 * shares[label][1]))},
                      why={"macs_share": misprint} if label == "Conv 3x3" else None)
            for label, printed in data.V1_TABLE2.rows]
    return _table("v1-table2", data.V1_TABLE2, rows,
                  "Computed: V1 1.0/224, 1000 classes; params share = conv and FC weights, without the FC bias.")


def _single_layer(channels: int, side: int) -> dict[str, tuple[Layer, ...]]:
    size = (side, side)
    standard = Layer("conv", "conv2d", channels, channels, size, size, kernel=3, padding=1)
    depthwise = Layer("dw", "conv2d", channels, channels, size, size, kernel=3, padding=1, groups=channels)
    pointwise = Layer("pw", "conv2d", channels, channels, size, size)
    return {"standard": (standard,), "separable": (depthwise, pointwise)}


def _layers_cost(layers: tuple[Layer, ...]) -> dict[str, Decimal | None]:
    total = sum((layer_cost(layer) for layer in layers), LayerCost())
    return {"macs_m": _millions(total.macs), "params_m": _millions(total.weights)}


def v1_table3() -> PaperTable:
    """The 14x14x512 layer (D_K=3, M=N=512): standard, separable, alpha=0.75, rho=0.714."""
    narrow = floor_width(512, 0.75)
    configs = {"Convolution": (512, 14, "standard"), "Depthwise Separable Conv": (512, 14, "separable"),
               "alpha = 0.75": (narrow, 14, "separable"), "rho = 0.714": (narrow, round(14 * 0.714), "separable")}
    rows = []
    for label, printed in data.V1_TABLE3.rows:
        channels, side, kind = configs[label]
        note = f"{side}x{side}x{channels} -> {side}x{side}x{channels}, {kind}"
        rows.append(paper_row(label, printed, _layers_cost(_single_layer(channels, side)[kind]), note=note))
    return _table("v1-table3", data.V1_TABLE3, rows,
                  "Computed with the engine's layer costs; params = weights (no BatchNorm).")


def v1_table4() -> PaperTable:
    """Conv MobileNet (arch v1-fullconv) against MobileNet."""
    printed = _rows(data.V1_TABLE4)
    analysis = analyze("v1-fullconv")
    full = analysis.totals
    fc = sum(cost.macs for layer, cost in analysis.layers if layer.kind == "fc")
    why = {"macs_m": f"FC excluded, the best-known explanation: without the FC's {fc / 1e6:.2f} M the count is "
                     f"{(full.macs - fc) / 1e6:.2f} M, which rounds to 4866 (MobileNet's 569 M includes it)"}
    rows = [paper_row("Conv MobileNet", printed["Conv MobileNet"], _paper(full), why=why,
                      note="arch v1-fullconv: each separable block a full 3x3 conv"),
            paper_row("MobileNet", printed["MobileNet"], _paper(_totals("v1")), note="arch v1")]
    return _table("v1-table4", data.V1_TABLE4, rows, PAPER_PARAMS)


def v1_table5() -> PaperTable:
    """0.75 MobileNet against Shallow MobileNet (arch v1-shallow)."""
    printed = _rows(data.V1_TABLE5)
    rows = [paper_row("0.75 MobileNet", printed["0.75 MobileNet"], _paper(_totals("v1", 0.75)), note="arch v1, alpha 0.75"),
            paper_row("Shallow MobileNet", printed["Shallow MobileNet"], _paper(_totals("v1-shallow")),
                      note="arch v1-shallow: the five 14x14x512 blocks removed")]
    return _table("v1-table5", data.V1_TABLE5, rows, PAPER_PARAMS)


def v1_table6() -> PaperTable:
    """The width multiplier at 224."""
    rows = [paper_row(label, printed, _paper(_totals("v1", float(label.split()[0]))))
            for label, printed in data.V1_TABLE6.rows]
    return _table("v1-table6", data.V1_TABLE6, rows, PAPER_PARAMS)


def v1_table7() -> PaperTable:
    """The resolution at alpha 1.0."""
    rows = [paper_row(label, printed, _paper(_totals("v1", 1.0, int(label.split("-")[1]))))
            for label, printed in data.V1_TABLE7.rows]
    return _table("v1-table7", data.V1_TABLE7, rows, PAPER_PARAMS)


def _mobilenet_or_published(source: data.Source, configs: dict[str, tuple[float, int]]) -> list[PaperRow]:
    return [paper_row(label, printed, _paper(_totals("v1", *configs[label]))) if label in configs
            else _published_only(label, printed) for label, printed in source.rows]


def v1_table8() -> PaperTable:
    """MobileNet computed; GoogleNet and VGG 16 as published."""
    return _table("v1-table8", data.V1_TABLE8,
                  _mobilenet_or_published(data.V1_TABLE8, {"1.0 MobileNet-224": (1.0, 224)}), PAPER_PARAMS)


def v1_table9() -> PaperTable:
    """0.50 MobileNet-160 computed; Squeezenet and AlexNet as published."""
    return _table("v1-table9", data.V1_TABLE9,
                  _mobilenet_or_published(data.V1_TABLE9, {"0.50 MobileNet-160": (0.5, 160)}), PAPER_PARAMS)


def slim_v1_params(totals: LayerCost) -> int:
    """Every variable of a slim V1 checkpoint: weights, FC bias, and 3 per BatchNorm channel.

    slim's BatchNorm keeps beta, moving mean and moving variance, but no gamma (scale=False).
    """
    return totals.weights + totals.bias + 3 * (totals.bn_params // 2)


def slim_v2_params(totals: LayerCost) -> int:
    """A [SLIM] V2 checkpoint's params as its table counts them: weights and bias, no BatchNorm."""
    return totals.weights + totals.bias


SLIM_PARAMS: dict[str, Callable[[LayerCost], int]] = {
    "v1": slim_v1_params, "v2": slim_v2_params,
    **dict.fromkeys(("v3-large", "v3-small", "v3-large-minimal", "v3-small-minimal"), slim_v2_params)}


def checkpoint_costs(checkpoint: data.Checkpoint) -> tuple[int, int]:
    """(mult-adds, params) of a [SLIM] checkpoint as its table counts them, 1001 classes."""
    totals = _totals(checkpoint.arch, checkpoint.alpha, checkpoint.resolution, data.SLIM_CLASSES)
    return totals.macs, SLIM_PARAMS[checkpoint.arch](totals)


def _slim_rows(checkpoints: tuple[data.Checkpoint, ...], why: dict[str, dict[str, str]]) -> list[PaperRow]:
    rows = []
    for cp in checkpoints:
        macs, params = checkpoint_costs(cp)
        printed = {"macs_m": cp.macs_m, "params_m": cp.params_m, "top1": cp.top1}
        rows.append(paper_row(cp.name, printed, {"macs_m": _millions(macs), "params_m": _millions(params),
                                                 "top1": None}, why=why.get(cp.name)))
    return rows


def v1_slim() -> PaperTable:
    """The 16 [SLIM] V1 checkpoints."""
    narrow = {"macs_m": "unexplained: the 0.75 checkpoints are about 2.6% under the engine and under [V1] "
                        "Table 6's 325 M for the same network; the gap scales with the resolution squared"}
    why = {f"mobilenet_v1_0.75_{res}": narrow for res in (224, 192, 160, 128)}
    why["mobilenet_v1_0.50_224"] = {"macs_m": "unexplained: 149,497,600 lies 2,400 mult-adds under the 149.5 M "
                                              "rounding boundary; [V1] Table 6 prints 149"}
    why["mobilenet_v1_0.25_192"] = {"macs_m": "unexplained, likely a misprint: the other 0.25 rows follow "
                                              "the resolution squared (41 M x (192/224)^2 = 30 M)"}
    full = _totals("v1", classes=data.SLIM_CLASSES)
    return _table("v1-slim", data.V1_CHECKPOINTS_SOURCE, _slim_rows(data.V1_CHECKPOINTS, why),
                  "Computed with 1001 classes (slim keeps a background class). Params = every slim variable: "
                  "weights + FC bias + 3 per BatchNorm channel (beta, moving mean, moving variance; "
                  "slim's BatchNorm has no gamma). All four widths' params match this way; PyTorch's 2 per "
                  f"channel would give {full.params / 1e6:.2f} M for 1.0 instead of 4.24.",
                  "Mult-adds rounded to whole millions.")


def v2_slim() -> PaperTable:
    """The 22 [SLIM] V2 checkpoints."""
    return _table("v2-slim", data.V2_CHECKPOINTS_SOURCE, _slim_rows(data.V2_CHECKPOINTS, {}),
                  "Computed with 1001 classes; params = weights + bias, BatchNorm excluded (as the table says); "
                  "mult-adds truncated to whole millions.")


def v2_table4() -> PaperTable:
    """The MobileNetV2 rows computed; the other networks as published."""
    rows = []
    for label, values in data.V2_TABLE4.rows:
        if label.startswith("MobileNetV2"):
            alpha = 1.4 if "1.4" in label else 1.0
            why = {"macs_m": "unexplained ([SLIM] prints 582 M, which the engine matches)",
                   "params_m": "unexplained ([SLIM] prints 6.06 M, which the engine matches)"} if alpha == 1.4 else None
            rows.append(paper_row(label, values, _paper(_totals("v2", alpha)), why=why, note=f"arch v2, alpha {alpha:g}"))
        elif label == "MobileNetV1":
            v1 = _totals("v1")
            rows.append(_published_only(label, values, note=f"published only; [V1] Table 6 prints 569 M for this "
                                                            f"network, the engine gives {v1.macs / 1e6:.2f} M"))
        else:
            rows.append(_published_only(label, values))
    return _table("v2-table4", data.V2_TABLE4, rows, PAPER_PARAMS)


def materialized(net: Network) -> list[Layer]:
    """The layers whose output is kept in memory.

    Every layer of V1; in V2 only bottleneck outputs and the head, since a bottleneck's
    expanded tensors are streamed ([V2] Section 5) and so is the first conv ([V2] Table 3 caption).
    """
    bottlenecks = {layer.name.split(".")[0] for layer in net.layers if layer.name.endswith(".project")}
    if not bottlenecks:
        return list(net.layers)
    return [layer for layer in net.layers if layer.name != "conv1"
            and (layer.name.split(".")[0] not in bottlenecks or layer.name.endswith(".project"))]


def memory_by_side(net: Network) -> dict[int, tuple[int, int]]:
    """Per output side: (max channels, their bytes in 16-bit) over the materialized layers."""
    widest: dict[int, int] = {}
    for layer in materialized(net):
        side = layer.output_size[0]
        widest[side] = max(widest.get(side, 0), layer.out_channels)
    return {side: (c, 2 * c * side * side) for side, c in sorted(widest.items(), reverse=True)}


V2_TABLE3_RULE = ("Rule: at each spatial side, the largest tensor the network materializes: every layer "
                  "output of V1; in V2 the bottleneck outputs, the 1x1 head, pool and FC (expanded tensors "
                  "inside a bottleneck are streamed, [V2] Section 5, and so is the first conv). Memory = "
                  "channels x side^2 x 2 bytes (16-bit), K = 1000 bytes; compared at the printed significant digits.")


# Why [V2] Table 3's MobileNetV2 column misses the rule, side by side.
V2_TABLE3_MISSES = {
    56: "unexplained: 32 x 56^2 x 2 B = 200.7 K, but V2's 32-channel tensors are 28x28; the widest 56x56 one has 24",
    28: "unexplained: 64 x 28^2 x 2 B = 100.4 K, but V2's 64-channel tensors are 14x14; the widest 28x28 one has 32",
    14: "unexplained: 160 x 14^2 x 2 B = 62.7 K, but V2's 160-channel tensors are 7x7; the widest 14x14 one has 96",
    7: "the printed row leaves out the 7x7x1280 head conv (320 is the widest bottleneck output); "
       "even so 320 x 7^2 x 2 B = 31.4 K, printed 32",
}


def v2_table3() -> PaperTable:
    """Activation memory at each spatial resolution, by the rule in V2_TABLE3_RULE."""
    printed = _rows(data.V2_TABLE3)
    rows = []
    for name, arch in (("MobileNetV1", "v1"), ("MobileNetV2", "v2")):
        by_side = memory_by_side(analyze(arch).network)
        for side in (112, 56, 28, 14, 7, 1):
            label = f"{name} {side}x{side}"
            channels, size = by_side[side]
            if arch == "v2":
                why = dict.fromkeys(("channels", "memory_k"), V2_TABLE3_MISSES.get(side, "unexplained"))
            else:
                why = {"memory_k": "unexplained: twice this rule's value; input + output of a 7x7x1024 "
                                   "layer would give 200.7 K"}
            rows.append(paper_row(label, printed[label], {"channels": Decimal(channels),
                                                          "memory_k": Decimal(size) / 1000},
                                  why=why, significant=("memory_k",)))
        peak = max(size for _, size in by_side.values())
        rows.append(paper_row(f"{name} max", printed[f"{name} max"], {"memory_k": Decimal(peak) / 1000},
                              significant=("memory_k",)))
    return _table("v2-table3", data.V2_TABLE3, rows, V2_TABLE3_RULE)


# --- [V4] ---

BILLION = Decimal(10**9)
V4_MODELS = {"MNv4-Conv-S": ("v4-conv-small", 1.0), "MNv4-Conv-M": ("v4-conv-medium", 1.0),
             "MNv4-Hybrid-M": ("v4-hybrid-medium", 1.0), "MNv4-Conv-L": ("v4-conv-large", 1.0),
             "MNv4-Hybrid-L": ("v4-hybrid-large", 1.0)}
V4_BASELINES = {"MobileNet-V1": ("v1", 1.0), "MobileNet-V2": ("v2", 1.0), "MobileNet-V2-0.5x": ("v2", 0.5),
                "MobileNet-V3L-0.5x": ("v3-large", 0.5), "MobileNet-V2-1.5x": ("v2", 1.5),
                "MobileNet-V2-2.0x": ("v2", 2.0)}


def _v4_values(totals: LayerCost) -> dict[str, Decimal | None]:
    return {"macs_g": Decimal(totals.macs) / BILLION, "params_m": _millions(totals.weights), "top1": None}


def _v4_why(arch: str, alpha: float, printed: dict[str, str], totals: LayerCost) -> dict[str, str]:
    """The known reason for each figure of a [V4] Table 6 row that misses, else the measured gap."""
    why = {}
    if method(_millions(totals.params), printed["params_m"]) is not None:
        why["params_m"] = f"with BatchNorm and bias ({totals.params:,} params, as PyTorch counts) it gives the print"
    if arch in data.V4_RESOLUTIONS:
        sizes = " / ".join(f"{_totals(arch, alpha, res).macs / 1e9:.2f}" for res in (224, 256, 384))
        gap = (f"unexplained: {100 * (totals.macs / (float(printed['macs_g']) * 1e9) - 1):+.1f}% mult-adds and "
               f"{100 * (totals.weights / (float(printed['params_m']) * 1e6) - 1):+.1f}% params over the print; "
               f"timm's mobilenetv4 model (which mncost equals exactly) and TF Model Garden's spec build this "
               f"network; at 224 / 256 / 384 it has {sizes} G mult-adds")
        why = {"macs_g": gap, "params_m": why.get("params_m", gap)}
    return why


def v4_table6() -> PaperTable:
    """[V4] Table 6: the five MNv4 models at their input sizes, and the MobileNet baselines at 224."""
    rows = []
    for label, printed in data.V4_TABLE6.rows:
        arch, alpha = {**V4_MODELS, **V4_BASELINES}[label]
        res = data.V4_RESOLUTIONS.get(arch, 224)
        totals = _totals(arch, alpha, res)
        rows.append(paper_row(label, printed, _v4_values(totals), why=_v4_why(arch, alpha, printed, totals),
                              note=f"arch {arch}, alpha {alpha:g}, {res}"))
    return _table("v4-table6", data.V4_TABLE6, rows,
                  "Computed: MACs = conv, FC and attention matmul multiply-adds, in G; params = conv and FC "
                  "weights and layer-scale gammas (the papers' convention, no bias, no BatchNorm); 1000 classes. "
                  "MNv4 models at the input size [V4] gives each (Conv-S 224, M 256, L 384); baselines at 224. "
                  "Top-1 and latency are published only; '-' and 'Failed' cells are left empty.")

V3_SMALL_EARLIER = ("the earlier arXiv version's Small (its Table 2 prints 1280 after the pool, not 1024); "
                    "1280 there adds 0.15 M mult-adds and 0.40 M params, not this gap: unexplained")
V3_BUILD_NOTE = ("Computed with the timm build (mncost.arch.v3.BUILDS), which the 0.75 checkpoints match: the 1x1 1280/1024 "
                 "conv after the pool is not thinned (slim's default thins it: Large 0.75 would have "
                 "{slim_075:.2f} M params). Every build agrees at alpha 1.")


def _v3_note() -> str:
    from ..arch.builder import get_spec

    slim = analyze(get_spec("v3-large", "slim"), 0.75, 224, data.SLIM_CLASSES).totals
    return V3_BUILD_NOTE.format(slim_075=(slim.weights + slim.bias) / 1e6)


def v3_table3() -> PaperTable:
    """[V3] Table 3: the V3 and V2 rows computed; MnasNet and Proxyless as published."""
    why_large = {"macs_m": "unexplained ([SLIM] prints 217 M for the same network, which the engine matches)"}
    why_small = {"macs_m": "unexplained ([SLIM] prints 44 too)"}
    configs: dict[str, tuple[str, float, dict[str, str] | None]] = {
        "V3-Large 1.0": ("v3-large", 1.0, why_large), "V3-Large 0.75": ("v3-large", 0.75, None),
        "V2 1.0": ("v2", 1.0, None), "V3-Small 1.0": ("v3-small", 1.0, None),
        "V3-Small 0.75": ("v3-small", 0.75, why_small), "V2 0.35": ("v2", 0.35, None),
        "V3-Small 1.0 (earlier arXiv version)": ("v3-small", 1.0, dict.fromkeys(("macs_m", "params_m"),
                                                                                   V3_SMALL_EARLIER)),
        "V3-Small 0.75 (earlier arXiv version)": ("v3-small", 0.75, dict.fromkeys(("macs_m", "params_m"),
                                                                                    V3_SMALL_EARLIER))}
    rows = []
    for label, printed in data.V3_TABLE3.rows:
        if label not in configs:
            rows.append(_published_only(label, printed))
            continue
        arch, alpha, why = configs[label]
        rows.append(paper_row(label, printed, _paper(_totals(arch, alpha)), why=why,
                              note=f"arch {arch}, alpha {alpha:g}"))
    return _table("v3-table3", data.V3_TABLE3, rows, PAPER_PARAMS, _v3_note())


def v3_slim() -> PaperTable:
    """The [SLIM] V3 float checkpoints: 1001 classes, params = weights and biases."""
    small = {"macs_m": "unexplained: [V3]'s earlier arXiv version prints the same 66 M / 2.9 M for Small, the "
                       "current one 56 M / 2.5 M (which the engine matches); these rows look like the earlier Small",
             "params_m": "unexplained, as the mult-adds"}
    why = {cp.name: small for cp in data.V3_CHECKPOINTS if cp.arch.startswith("v3-small")}
    return _table("v3-slim", data.V3_CHECKPOINTS_SOURCE, _slim_rows(data.V3_CHECKPOINTS, why),
                  "Computed with 1001 classes; params = weights + bias, BatchNorm excluded (as the V2 rows of the "
                  "same table).", _v3_note())


def v3_torchvision() -> PaperTable:
    """torchvision's documented params and GFLOPS: all PyTorch params; GFLOPS = conv and FC multiply-adds."""
    rows = []
    for label, printed in data.V3_TORCHVISION.rows:
        totals = _totals("v3-" + label.rsplit("_", 1)[1], 1.0)  # mobilenet_v3_large -> v3-large
        values = {"params": Decimal(totals.params), "ops_g": Decimal(totals.macs) / 10**9}
        rows.append(paper_row(label, printed, values))
    return _table("v3-torchvision", data.V3_TORCHVISION, rows,
                  "Computed: params = every PyTorch parameter (weights, biases, BatchNorm affine), 1000 classes; "
                  "GFLOPS = conv and FC multiply-adds / 1e9 (torchvision's counter reports multiply-adds, half "
                  "of torch's FlopCounterMode).")


TABLES: dict[str, Callable[[], PaperTable]] = {
    "v1-table2": v1_table2, "v1-table3": v1_table3, "v1-table4": v1_table4, "v1-table5": v1_table5,
    "v1-table6": v1_table6, "v1-table7": v1_table7, "v1-table8": v1_table8, "v1-table9": v1_table9,
    "v1-slim": v1_slim, "v2-table3": v2_table3, "v2-table4": v2_table4, "v2-slim": v2_slim,
    "v3-table3": v3_table3, "v3-slim": v3_slim, "v3-torchvision": v3_torchvision, "v4-table6": v4_table6,
}


def paper_tables(ids: list[str] | None = None) -> list[PaperTable]:
    """The named tables (all of them when none are named), or a MncostError naming a bad id."""
    for table_id in ids or []:
        if table_id not in TABLES:
            raise MncostError(f"unknown paper table {table_id!r}; use one of: {', '.join(TABLES)}")
    return [TABLES[table_id]() for table_id in (ids or TABLES)]
