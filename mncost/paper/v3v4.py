"""[V3], [SLIM] V3 and [V4] tables: the engine's value beside every printed figure, a reason for every miss."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ..arch.builder import get_spec
from ..arch.spec import Spec
from ..cost.ops import LayerCost
from . import data
from .common import BILLION, PAPER_PARAMS, millions, paper_values, published_only, table, totals
from .compare import HEADERS, Line, PaperTable, at_precision, plain, reason
from .v1v2 import SLIM_PARAMS, slim_lines

ROUNDINGS = ("rounded", "truncated")  # a candidate figure "fits" by either

V3_BUILD_NOTE = ("Computed with the timm build (mncost.arch.v3.BUILDS), which the 0.75 checkpoints match: the 1x1 "
                 "1280/1024 conv after the pool is not thinned (slim's default thins it: Large 0.75 would have "
                 "{slim_075:.2f} M params). Every build agrees at alpha 1.")
EARLIER = "the earlier version's network (1280 wide after the pool, as its Table 2 prints)"
FINEGRAIN = "slim with finegrain_classification_mode (the conv after the pool unthinned below 1, the stem thinned)"
Values = dict[str, Decimal | None]


def earlier_small(arch: str = "v3-small") -> Spec:
    """[V3]'s Small as its earlier arXiv version prints it: 1280 channels after the pool (Table 2), not 1024."""
    return replace(get_spec(arch), pooled_head=1280)


def slim_finegrain(spec: Spec, alpha: float) -> Spec:
    """[SLIM]'s V3 with finegrain_classification_mode=True: slim's widths, but the conv after the pool keeps its
    width for alpha < 1 (and grows above 1). Without a build, the builder sizes a V3 spec exactly so."""
    return replace(spec, build=None, thin_pooled_head=alpha > 1)


def _fits(value: Decimal | None, printed: str, rounding: str = "rounded") -> bool:
    return value is not None and at_precision(value, printed, rounding) == Decimal(printed)


def _shown(value: Decimal | None) -> str:
    return "-" if value is None else plain(value)


def why_from(printed: dict[str, str], values: Values, candidates: list[tuple[str, Values]],
             extra: str = "") -> dict[str, str]:
    """The reason for each of mult-adds and params the values miss (a truncation is left to the rounding reason):
    the first candidate that gives the print, and which of its other figures do not; else every one tried."""
    why = {}
    keys = [key for key in ("macs_m", "params_m") if key in printed]
    for key in keys:
        if any(_fits(values[key], printed[key], rounding) for rounding in ROUNDINGS):
            continue
        fitting = [(name, other) for name, other in candidates if _fits(other[key], printed[key])]
        if fitting:
            name, other = fitting[0]
            misfits = [f"{HEADERS[k]} {_shown(other[k])} vs {printed[k]}" for k in keys
                       if k != key and not any(_fits(other[k], printed[k], r) for r in ROUNDINGS)]
            but = f" (but {', '.join(misfits)})" if misfits else ""
            why[key] = reason("candidate", f"{name} gives {_shown(other[key])}{but}")
        else:
            tried = "; ".join(f"{name}: {_shown(other[key])}" for name, other in candidates)
            why[key] = reason("unexplained", f"{extra if key == 'macs_m' else ''}tried {tried}")
    return why


def _v3_note() -> str:
    slim = totals(get_spec("v3-large", "slim"), 0.75, 224, data.SLIM_CLASSES)
    return V3_BUILD_NOTE.format(slim_075=(slim.weights + slim.bias) / 1e6)


def v3_table3() -> PaperTable:
    """[V3] Table 3: the V3 and V2 rows computed; MnasNet and Proxyless as published."""
    earlier_075 = paper_values(totals(earlier_small(), 0.75))
    configs: dict[str, tuple[str | Spec, float, str]] = {
        "V3-Large 1.0": ("v3-large", 1.0, ""), "V3-Large 0.75": ("v3-large", 0.75, ""),
        "V2 1.0": ("v2", 1.0, "quoted from [V2] Table 4, which truncates"), "V3-Small 1.0": ("v3-small", 1.0, ""),
        "V3-Small 0.75": ("v3-small", 0.75, ""), "V2 0.35": ("v2", 0.35, "truncated, as the V2 1.0 row"),
        "V3-Small 1.0 (earlier arXiv version)": (earlier_small(), 1.0, "1280 wide after the pool, as its Table 2"),
        "V3-Small 0.75 (earlier arXiv version)": (earlier_small(), 0.75, "1280 wide after the pool, as its Table 2")}
    appendix = {label: printed["macs_m"] for label, printed in data.V3_TABLE9.rows}
    small = paper_values(totals("v3-small"))
    earlier = {res: totals(earlier_small(), 1.0, res) for res in (192, 224, 256)}
    whys = {
        "V3-Large 1.0": {"macs_m": reason("inconsistent", f"the same paper's Appendix Table 9 (and the earlier "
                                                          f"version's) prints {appendix['large 224/1.0']} for this "
                                                          "model, as [SLIM] does")},
        "V3-Small 1.0": {"macs_m": reason("inconsistent", f"{_shown(small['macs_m'])} truncated; the same paper's "
                                                          "Appendix Table 9 prints "
                                                          f"{appendix['small 224/1.0 (current version)']} for this "
                                                          "network, rounded")},
        "V3-Small 0.75": why_from(dict(data.V3_TABLE3.rows)["V3-Small 0.75"], paper_values(totals("v3-small", 0.75)),
                                  [(EARLIER, earlier_075)]),
        "V3-Small 1.0 (earlier arXiv version)": {"macs_m": reason(
            "unexplained", f"its 1280-wide network gives {earlier[224].macs / 1e6:.2f} M, though its params and its "
                           f"Table 9 neighbours at 192 and 256 ({earlier[192].macs / 1e6:.2f} and "
                           f"{earlier[256].macs / 1e6:.2f} M) follow that network")}}
    lines = []
    for label, printed in data.V3_TABLE3.rows:
        if label not in configs:
            lines.append(published_only(label, printed))
            continue
        arch, alpha, note = configs[label]
        name = arch if isinstance(arch, str) else arch.name
        lines.append(Line(label, printed, paper_values(totals(arch, alpha)), whys.get(label, {}),
                          note="; ".join(filter(None, [f"arch {name}, alpha {alpha:g}", note]))))
    return table("v3-table3", data.V3_TABLE3, lines, "rounded", PAPER_PARAMS, _v3_note())


def _appendix_config(label: str) -> tuple[Spec, float, int, bool]:
    """'small 224/0.75 (current version)' -> (spec, alpha, resolution, whether it is the current version)."""
    size, shape = label.split()[:2]
    res, alpha = shape.split("/")
    current = label.endswith("(current version)")
    spec = earlier_small() if size == "small" and not current else get_spec(f"v3-{size}")
    return spec, float(alpha), int(res), current


def v3_table9() -> PaperTable:
    """[V3] Appendix Table 9, the earlier version's 20 rows and the current version's Small rows."""
    lines = []
    for label, printed in data.V3_TABLE9.rows:
        spec, alpha, res, current = _appendix_config(label)
        values = paper_values(totals(spec, alpha, res))
        candidates = [(FINEGRAIN, paper_values(totals(slim_finegrain(spec, alpha), alpha, res)))]
        if current:
            candidates.insert(0, (EARLIER, paper_values(totals(earlier_small(), alpha, res))))
        extra = ""
        if label == "small 224/1.0":
            extra = (f"its neighbours at 192 and 256 follow this network, which gives {_shown(values['macs_m'])} M "
                     "here; ")
        width = "1280" if spec.pooled_head == 1280 else "1024"
        wide = f", {width} wide after the pool" if "small" in label else ""
        note = f"arch {spec.name}, alpha {alpha:g}, {res}{wide}"
        lines.append(Line(label, printed, values, why_from(printed, values, candidates, extra), note=note))
    return table("v3-table9", data.V3_TABLE9, lines, "rounded", PAPER_PARAMS,
                 "The earlier version's Small is 1280 wide after the pool (its Table 2); the current version's 1024.",
                 _v3_note())


def v3_slim() -> PaperTable:
    """The [SLIM] V3 float checkpoints: 1001 classes, params = weights and biases."""
    why = {}
    for cp in data.V3_CHECKPOINTS:
        if cp.arch.startswith("v3-small"):
            mine, earlier = (totals(spec, cp.alpha, cp.resolution, data.SLIM_CLASSES)
                             for spec in (cp.arch, earlier_small(cp.arch)))
            printed = {"macs_m": cp.macs_m, "params_m": cp.params_m}
            why[cp.name] = why_from(printed, _slim_values(mine), [(EARLIER, _slim_values(earlier))])
    return table("v3-slim", data.V3_CHECKPOINTS_SOURCE, slim_lines(data.V3_CHECKPOINTS, why), "rounded",
                 "Computed with 1001 classes; params = weights + bias, BatchNorm excluded (as the V2 rows of the "
                 "same table). Its Small 1.0 and 0.75 rows print [V3]'s earlier version's figures (66 M / 2.9 M, "
                 "44 M / 2.4 M).",
                 _v3_note())


def _slim_values(cost: LayerCost) -> Values:
    return {"macs_m": millions(cost.macs), "params_m": millions(SLIM_PARAMS["v3-small"](cost))}


V4_MODELS = {"MNv4-Conv-S": ("v4-conv-small", 1.0), "MNv4-Conv-M": ("v4-conv-medium", 1.0),
             "MNv4-Hybrid-M": ("v4-hybrid-medium", 1.0), "MNv4-Conv-L": ("v4-conv-large", 1.0),
             "MNv4-Hybrid-L": ("v4-hybrid-large", 1.0)}
V4_BASELINES = {"MobileNet-V1": ("v1", 1.0), "MobileNet-V2": ("v2", 1.0), "MobileNet-V2-0.5x": ("v2", 0.5),
                "MobileNet-V3L-0.5x": ("v3-large", 0.5), "MobileNet-V2-1.5x": ("v2", 1.5),
                "MobileNet-V2-2.0x": ("v2", 2.0)}


PARAMS_COUNTS = {"the papers'": "weights", "slim's": "+ bias", "PyTorch's": "+ bias + BatchNorm"}


def params_conventions(cost: LayerCost) -> dict[str, int]:
    """A network's params as three conventions count them (layer-scale gammas are weights in LayerCost)."""
    return dict(zip(PARAMS_COUNTS, (cost.weights, cost.weights + cost.bias, cost.params)))


def _which(names: list[str]) -> str:
    return "all three give" if len(names) == 3 else f"{' and '.join(names)} give{'s' if len(names) == 1 else ''}"


def _v4_line(label: str, printed: dict[str, str]) -> Line:
    """A [V4] Table 6 row; its note says which params convention gives the print."""
    arch, alpha = {**V4_MODELS, **V4_BASELINES}[label]
    res = data.V4_RESOLUTIONS.get(arch, 224)
    cost = totals(arch, alpha, res)
    counts = params_conventions(cost)
    giving = [name for name, count in counts.items() if _fits(millions(count), printed["params_m"])]
    shown = ", ".join(f"{name} ({PARAMS_COUNTS[name]}) {count / 1e6:.3f}" for name, count in counts.items())
    why = {}
    if giving and not _fits(millions(cost.weights), printed["params_m"]):
        why["params_m"] = reason("convention", f"{_which(giving)} the print, the papers' count does not")
    if not giving:
        sizes = " / ".join(f"{totals(arch, alpha, r).macs / 1e9:.2f}" for r in (224, 256, 384))
        macs, params = (100 * (count / (float(printed[key]) * scale) - 1) for count, key, scale in
                        ((cost.macs, "macs_g", 1e9), (cost.weights, "params_m", 1e6)))
        gap = reason("unexplained", f"{macs:+.1f}% mult-adds and {params:+.1f}% params over the print; timm's "
                                    "mobilenetv4 model (which mncost equals exactly) and TF Model Garden's spec build "
                                    f"this network; at 224 / 256 / 384 it has {sizes} G mult-adds")
        why = {"macs_g": gap, "params_m": gap}
    values = {"macs_g": Decimal(cost.macs) / BILLION, "params_m": millions(cost.weights), "top1": None}
    note = f"arch {arch}, alpha {alpha:g}, {res}; Params M counted as {shown}: " + (
        f"{_which(giving)} {printed['params_m']}" if giving else "none gives the print")
    return Line(label, printed, values, why, note=note)


def v4_table6() -> PaperTable:
    """[V4] Table 6: the five MNv4 models at their input sizes, and the MobileNet baselines at 224."""
    return table("v4-table6", data.V4_TABLE6, [_v4_line(label, printed) for label, printed in data.V4_TABLE6.rows],
                 "rounded",
                 "Computed: MACs = conv, FC and attention matmul multiply-adds, in G; params = conv and FC weights and "
                 "layer-scale gammas (the papers' convention, no bias, no BatchNorm); 1000 classes. No one params "
                 "convention gives all the prints: each row's note says which do. MNv4 models at the input size [V4] "
                 "gives each (Conv-S 224, M 256, L 384); baselines at 224. Top-1 and latency are published only; "
                 "'-' and 'Failed' cells are left empty.")
