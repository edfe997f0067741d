"""The design-studies and Python API pages show real examples (test_readme runs and compares every block)."""

from __future__ import annotations

from test_readme import ALL_BLOCKS, console_commands

from conftest import ROOT


def test_design_studies_page_shows_sweep_fit_and_the_shipped_v2_spec():
    page = ROOT / "docs" / "design-studies.md"
    commands = [command for block, command, _ in console_commands() if block.page == page]
    assert any(c.startswith("mncost sweep") for c in commands)
    assert any(c.startswith("mncost fit") for c in commands)
    assert (ROOT / "examples" / "v2.toml").read_text() in page.read_text()


def test_api_page_has_a_python_example_with_its_output():
    page = [b for b in ALL_BLOCKS if b.page == ROOT / "docs" / "api.md"]
    kinds = [b.kind for b in page]
    assert "python" in kinds and kinds[kinds.index("python") + 1] == "text"
