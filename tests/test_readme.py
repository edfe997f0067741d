"""The README tells the truth: its pasted output is real, and CI installs as it says."""

from __future__ import annotations

import re
import shlex

from conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text()


def console_blocks(command_prefix: str, text: str = README) -> list[tuple[list[str], str]]:
    """(argv, pasted output) for each `$ mncost ...` line inside a console block of text (the README)."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for match in re.finditer(r"^\$ (mncost .*)\n((?:(?!\$ ).*\n)*)", block, flags=re.M):
            if match.group(1).startswith(command_prefix):
                found.append((shlex.split(match.group(1))[1:], match.group(2)))
    return found


def test_pasted_table_output_is_what_the_cli_prints():
    blocks = console_blocks("mncost table")
    assert len(blocks) >= 3
    for argv, pasted in blocks:
        out = run_cli(*argv)
        assert out.stdout + out.stderr == pasted, f"README output of `mncost {' '.join(argv)}` is stale"


def test_ci_installs_and_tests_as_the_readme_says():
    ci_lines = {line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()}
    commands = re.findall(r"^python3 -m venv .*$", README, flags=re.M)
    test_command = next(c for c in commands if "pytest" in c)
    steps = [step.strip() for step in test_command.split("&&")]
    assert steps[0].startswith("python3 -m venv") and steps[1].startswith(".")  # .ci/run makes its own venv
    for step in steps[2:]:
        assert step in ci_lines, f"README step {step!r} is not in .ci/run"
    assert any(c.endswith("mncost table --arch v1 --alpha 0.25 --res 128") for c in commands)
