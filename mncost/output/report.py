"""The markdown reports and their SVG figures, written deterministically (no timestamps)."""

from __future__ import annotations

from pathlib import Path

from ..cost.analysis import Analysis, analyze
from ..paper import paper_tables
from ..study.scaling import scaling_grid
from ..table import Column, Table, to_markdown
from .files import HEADER, mark, out_folder, write_files, written_by_mncost

GRIDS = {"v1": ("1.0,0.75,0.5,0.25", "224,192,160,128"),  # [V1] Tables 6 and 7
         "v2": ("1.4,1.0,0.75,0.5,0.35", "224,192,160,128,96")}  # the [SLIM] V2 checkpoints
TITLES = {"v1": "MobileNetV1", "v2": "MobileNetV2"}


def shares_table(result: Analysis) -> Table:
    """The share of mult-adds and paper params per layer type, as [V1] Table 2."""
    rows = [{"type": label, "macs": macs, "params": params} for label, (macs, params) in result.shares().items()]
    return Table(f"Share per layer type, {result.network.arch} 1.0/224", [
        Column("type", "Type"), Column("macs", "Mult-Adds", "share"), Column("params", "Parameters", "share")],
        rows, footer=["Parameters: conv and FC weights (the papers' convention)."])


def _arch_report(arch: str) -> str:
    result = analyze(arch)
    grid = scaling_grid(arch, *GRIDS[arch])
    return (f"{HEADER}# {TITLES[arch]}\n\n[Index](README.md)\n\n## Per layer, alpha 1.0, 224x224\n\n"
            f"{to_markdown(result.to_table())}\n## Share per layer type\n\n{to_markdown(shares_table(result))}\n"
            f"## Width multiplier x resolution\n\n{to_markdown(grid.to_table())}\n"
            f"![Mult-adds over alpha x resolution](figures/{arch}-scaling.svg)\n\n"
            "## Roofline (Pixel 6 CPU, int8)\n\nPer layer, mult-adds per byte moved against attainable "
            "throughput ([V4] Eq. 1, ridge point 31.2 from [V4] Table 16), and the model's mult-adds against "
            "its predicted time over the alpha x resolution grid (`mncost latency`, docs/latency.md).\n\n"
            f"![Per-layer roofline](figures/{arch}-roofline.svg)\n\n"
            f"![Mult-adds against predicted time](figures/{arch}-latency.svg)\n")


def _paper_report() -> str:
    parts = [f"{HEADER}# The papers' tables, rebuilt\n\n[Index](README.md)\n\n"
             "Every published figure beside the value mncost computes at the printed precision. "
             "Match: the printed figure equals the computed value under the table's one rounding rule (its "
             "footer); every miss has a note that starts with the kind of its reason (misprint, rounding, "
             "convention, inconsistent, candidate, unexplained).\n"]
    for table in paper_tables():
        parts.append(f"\n## {table.id}\n\n{to_markdown(table.to_table())}")
    parts.append("\n## Accuracy against cost, [SLIM] checkpoints\n\n"
                 "Published top-1, mult-adds and params computed by mncost (as [V1] Figures 4 and 5).\n\n"
                 "![Top-1 against mult-adds](figures/accuracy-macs.svg)\n\n"
                 "![Top-1 against params](figures/accuracy-params.svg)\n")
    return "".join(parts)


def _index() -> str:
    summary = Table("The papers' tables", [Column("id", "Table"), Column("source", "Source"), Column("title", "Title"),
                                           Column("matched", "Rows matching")],
                    [{"id": f"[{t.id}](paper.md#{t.id})", "source": t.source, "title": t.title,
                      "matched": t.score}
                     for t in paper_tables()])
    return (f"{HEADER}# mncost reports\n\n"
            "- [MobileNetV1](v1.md): per-layer costs at 1.0/224, share per layer type, alpha x resolution grid.\n"
            "- [MobileNetV2](v2.md): the same for V2.\n"
            "- [The papers' tables](paper.md): every published figure beside mncost's, with notes.\n\n"
            f"{to_markdown(summary)}\n![Top-1 against mult-adds](figures/accuracy-macs.svg)\n")


def render_reports() -> dict[str, str]:
    """Every report file's relative path and text, each carrying mncost's mark."""
    from ..cost.roofline import roofline
    from .figures import accuracy_figure, grid_rooflines, heatmap_figure, latency_figure, roofline_figure

    files = {"README.md": _index(), "v1.md": _arch_report("v1"), "v2.md": _arch_report("v2"),
             "paper.md": _paper_report(),
             "figures/accuracy-macs.svg": accuracy_figure("macs"),
             "figures/accuracy-params.svg": accuracy_figure("params")}
    for arch in GRIDS:
        files[f"figures/{arch}-scaling.svg"] = heatmap_figure(scaling_grid(arch, *GRIDS[arch]))
        result = roofline(arch)
        files[f"figures/{arch}-roofline.svg"] = roofline_figure(result)
        files[f"figures/{arch}-latency.svg"] = latency_figure(grid_rooflines(arch, result))
    return {name: mark(name, text) for name, text in files.items()}


def write_reports(out: str | Path = "reports") -> list[Path]:
    """Write every report file under out, all or nothing; the paths written."""
    return write_files(render_reports(), out)


def check_reports(out: str | Path = "reports") -> list[str]:
    """The report files under out that are stale or missing, and mncost's own files no longer generated.

    A file mncost did not write is never judged: at a report's name it is named as blocking that report.
    """
    out = out_folder(out)
    fresh = {name: text.encode("utf-8") for name, text in render_reports().items()}
    problems = []
    for name, content in fresh.items():
        path = out / name
        if not (path.exists() or path.is_symlink()):
            problems.append(name)
        elif not written_by_mncost(path):
            problems.append(f"{name} (not written by mncost: `mncost report` will not replace it)")
        elif path.read_bytes() != content:
            problems.append(name)
    extra = [p.relative_to(out).as_posix() for pattern in ("*.md", "figures/*.svg") for p in out.glob(pattern)
             if written_by_mncost(p)]
    return sorted(problems + [name for name in extra if name not in fresh])
