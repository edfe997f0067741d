"""The committed reports are current, deterministic, and link to files that exist."""

from __future__ import annotations

import re

from conftest import ROOT, run_cli


def test_committed_reports_are_current():
    result = run_cli("report", "--check")
    assert result.returncode == 0, result.stderr


def test_check_names_stale_and_missing_files(tmp_path):
    assert run_cli("report", "--out", str(tmp_path)).returncode == 0
    (tmp_path / "v1.md").write_text("edited\n")
    (tmp_path / "figures" / "v2-scaling.svg").unlink()
    result = run_cli("report", "--out", str(tmp_path), "--check")
    assert result.returncode == 1
    assert "stale: v1.md" in result.stderr and "stale: figures/v2-scaling.svg" in result.stderr
    assert "paper.md" not in result.stderr


def test_svg_is_byte_identical_across_runs():
    from mncost.figures import heatmap_figure
    from mncost.scaling import scaling_grid

    grid = scaling_grid("v1", "1.0,0.5", "224,128")
    first, second = heatmap_figure(grid), heatmap_figure(grid)
    assert first == second and first.lstrip().startswith("<?xml") and "<dc:date>" not in first


def test_report_links_resolve_and_numbers_match_the_cli():
    reports = ROOT / "reports"
    for page in reports.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            assert (reports / target).is_file(), f"{page.name} links to missing {target}"
    table_md = run_cli("table", "--format", "md").stdout
    assert table_md in (reports / "v1.md").read_text()
    assert run_cli("paper", "v2-slim", "--format", "md").stdout in (reports / "paper.md").read_text()


def test_an_unwritable_folder_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = run_cli("report", "--out", str(blocker / "reports"))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("mncost: error: cannot write") and len(out.stderr.splitlines()) == 1
