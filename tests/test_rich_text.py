"""User text (a spec's name and notes, an audit target) prints literally in rich tables, never as markup."""

from __future__ import annotations

import shutil

import pytest

from conftest import ROOT, run_cli

MARKUP = "[/]my[red]net[/red] [bold]"


@pytest.fixture
def markup_spec(tmp_path):
    text = (ROOT / "examples" / "v2.toml").read_text().replace('name = "v2"', f'name = "{MARKUP}"')
    path = tmp_path / "spec.toml"
    path.write_text(text + f'notes = ["note {MARKUP}"]\n')
    return path


@pytest.mark.parametrize("command", ["table", "compare", "scaling", "sweep", "fit"])
def test_markup_in_a_spec_name_and_notes_prints_literally(markup_spec, command):
    out = run_cli(command, "--arch", str(markup_spec))
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert MARKUP in out.stdout.splitlines()[0] or MARKUP in out.stdout.splitlines()[1]
    if command == "table":
        assert f"note {MARKUP}" in out.stdout


def test_markup_in_an_audit_target_prints_literally(tmp_path):
    pytest.importorskip("torch")
    model = tmp_path / "[bold]m[" / "]x.py"  # the target reads .../[bold]m[/]x.py
    model.parent.mkdir()
    shutil.copy(ROOT / "tests" / "audit_models.py", model)
    out = run_cli("audit", f"{model}:MobileNetV1")
    assert out.returncode == 0, out.stderr
    title = f"mncost audit {model.parent}/]x.py:MobileNetV1"
    assert "".join(title.split()) in "".join(out.stdout.split())  # a long title wraps
