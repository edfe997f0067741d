"""SVG figures (matplotlib, the `figures` extra; the only module that imports it, lazily).

Deterministic output: a fixed SVG hash salt, no date, matplotlib's bundled DejaVu Sans
drawn as paths, so two runs on any machine with the same matplotlib give the same bytes.
"""

from __future__ import annotations

import io
from typing import Callable

from ..arch.spec import Spec
from ..cost.roofline import Roofline, roofline
from ..errors import MncostError
from ..paper import data
from ..paper.tables import checkpoint_costs
from ..study.scaling import DEFAULT_ALPHAS, DEFAULT_RESOLUTIONS, Grid
from ..table import human

STYLE = {"svg.hashsalt": "mncost", "svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 9,
         "axes.grid": True, "grid.alpha": 0.3}
SERIES = {"v1": ("MobileNetV1", "o", "tab:blue"), "v2": ("MobileNetV2", "s", "tab:orange"),
          "v3": ("MobileNetV3", "^", "tab:green")}


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise MncostError("figures need matplotlib; install it with `pip install mncost[figures]`") from None
    return matplotlib, Figure


def _svg(draw: Callable, size: tuple[float, float]) -> str:
    """Draw on a fresh Figure and return its SVG text, deterministically."""
    matplotlib, Figure = _matplotlib()
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size)
        draw(fig)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def accuracy_figure(axis: str = "macs") -> str:
    """ImageNet top-1 ([SLIM], published) against computed mult-adds (log scale) or params, as [V1] Figs. 4, 5."""
    if axis not in ("macs", "params"):
        raise MncostError(f"axis {axis!r} is invalid; use macs or params")

    def draw(fig) -> None:
        ax = fig.add_subplot()
        for arch, checkpoints in (("v1", data.V1_CHECKPOINTS), ("v2", data.V2_CHECKPOINTS),
                                  ("v3", data.V3_CHECKPOINTS)):
            costs = [checkpoint_costs(cp) for cp in checkpoints]
            x = [(macs if axis == "macs" else params) / 1e6 for macs, params in costs]
            y = [float(cp.top1) for cp in checkpoints]
            label, marker, color = SERIES[arch]
            ax.scatter(x, y, marker=marker, color=color, label=f"{label} ({len(checkpoints)} checkpoints)")
        if axis == "macs":
            ax.set_xscale("log")
            ax.set_xlabel("Mult-adds (millions, log scale; computed by mncost, 1001 classes)")
        else:
            ax.set_xlabel("Parameters (millions; computed by mncost as each table counts them)")
        ax.set_ylabel("ImageNet top-1 % (published, [SLIM])")
        ax.legend(loc="lower right")

    return _svg(draw, (6.4, 4.2))


def heatmap_figure(grid: Grid) -> str:
    """Mult-adds over width alpha x resolution, one annotated cell each."""

    def draw(fig) -> None:
        ax = fig.add_subplot()
        values = [[grid.macs(a, r) / 1e6 for r in grid.resolutions] for a in grid.alphas]
        image = ax.imshow(values, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(grid.resolutions)), [f"{h}" if h == w else f"{h}x{w}" for h, w in grid.resolutions])
        ax.set_yticks(range(len(grid.alphas)), [f"{a:g}" for a in grid.alphas])
        ax.set_xlabel("Resolution")
        ax.set_ylabel("Width multiplier alpha")
        ax.set_title(f"MobileNet {grid.arch}: mult-adds, {grid.classes} classes")
        ax.grid(False)
        peak = max(max(row) for row in values)
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                ax.text(j, i, human(grid.macs(grid.alphas[i], grid.resolutions[j])), ha="center", va="center",
                        color="black" if value > 0.6 * peak else "white")
        fig.colorbar(image, ax=ax, label="Mult-adds (millions)")

    return _svg(draw, (6.4, 3.8))


KIND_MARKERS = {"conv": ("Conv", "^"), "dw": ("Conv dw", "o"), "pw": ("Conv 1x1", "s"), "gconv": ("Conv grouped", "D"),
                "fc": ("FC", "P"), "pool": ("Avg Pool", "v"), "mul": ("SE multiply", "x")}


def roofline_figure(result) -> str:
    """Per-layer roofline of one network (a roofline.Roofline): intensity against attainable throughput, log-log."""
    hw, rows = result.hardware, [r for r in result.layers if r.macs > 0]
    scale, unit = ((hw.peak_macs / 1e9, "G mult-adds/s") if hw.absolute else (1.0, "fraction of PeakMACs"))

    def attainable(intensity: float) -> float:
        return scale * (min(1.0, intensity / hw.ridge) if hw.ridge else 1.0)

    def draw(fig) -> None:
        ax = fig.add_subplot()
        low = min(r.intensity for r in rows) / 2
        high = max(max(r.intensity for r in rows), hw.ridge) * 2
        xs = [low * (high / low) ** (i / 200) for i in range(201)]
        ax.plot(xs, [attainable(x) for x in xs], color="black", linewidth=1, label="roofline")
        if hw.ridge:
            ax.axvline(hw.ridge, color="grey", linestyle="--", linewidth=0.8,
                       label=f"ridge point {hw.ridge:.1f} mult-adds/byte")
        for kind, (label, marker) in KIND_MARKERS.items():
            points = [r for r in rows if r.layer.kind == kind]
            if points:
                ax.scatter([r.intensity for r in points], [attainable(r.intensity) for r in points], marker=marker,
                           s=[20 + 400 * r.time(hw) / result.time for r in points], alpha=0.7,
                           label=f"{label} ({len(points)})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"Arithmetic intensity (mult-adds per byte, {result.dtype})")
        ax.set_ylabel(f"Attainable throughput ({unit})")
        net = result.network
        ax.set_title(f"MobileNet {net.arch} {net.alpha:g}/{net.resolution[0]} on {hw.label} "
                     "(marker area: share of predicted time)")
        ax.legend(loc="lower right", fontsize=7)

    return _svg(draw, (6.4, 4.2))


def latency_figure(results: list) -> str:
    """Model level: mult-adds against roofline-predicted time, one point per network (roofline.Roofline)."""
    hw = results[0].hardware

    def draw(fig) -> None:
        ax = fig.add_subplot()
        for arch in dict.fromkeys(r.network.arch for r in results):
            label, marker, color = SERIES.get(arch, (arch, "D", None))
            mine = [r for r in results if r.network.arch == arch]
            ax.scatter([r.totals()["macs"] / 1e6 for r in mine], [r.totals()["time"] for r in mine],
                       marker=marker, color=color, label=f"{label} ({len(mine)} configs)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("Mult-adds (millions, log scale)")
        ax.set_ylabel(f"Predicted time ({'ms' if hw.absolute else 'MAC-times, relative'}; log scale)")
        ax.set_title(f"Roofline-predicted time on {hw.label}, {results[0].dtype}")
        ax.legend(loc="lower right")

    return _svg(draw, (6.4, 4.2))


def grid_rooflines(arch: str | Spec, result: Roofline) -> list[Roofline]:
    """The same arch, precision and hardware over the [V1] Table 6/7 grid of alphas x resolutions."""
    return [roofline(arch, float(a), int(r), result.network.num_classes, result.dtype, result.hardware)
            for a in DEFAULT_ALPHAS.split(",") for r in DEFAULT_RESOLUTIONS.split(",")]


def write_latency_figures(arch: str | Spec, result: Roofline, out: str) -> list:
    """Write <name>-roofline.svg (this network's layers) and <name>-latency.svg (mult-adds vs time over a grid)
    into out, the name made safe for a file name (mncost.output.files.safe_name)."""
    from .files import safe_name, write_files

    name = safe_name(result.network.arch)
    return write_files({f"{name}-roofline.svg": roofline_figure(result),
                        f"{name}-latency.svg": latency_figure(grid_rooflines(arch, result))}, out,
                       "mncost latency --plot", "move it or choose another --plot folder")
