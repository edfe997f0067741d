"""The README and docs/ tell the truth: every example block is run and its pasted output compared.

Every fenced block in README.md and docs/*.md has a kind this file tests; a block of any other
kind (or with no kind) fails, so an untested example cannot be added silently:
- console: each `$ ` line is run with bash (`mncost` is `python -m mncost` from this checkout, no
  COLUMNS set) and its stdout + stderr must equal the lines pasted under it;
- python: run; its stdout must equal the text block right after it (or be empty when none follows);
- text: only as the output of the python block before it;
- toml: must be one of the shipped spec files in examples/, verbatim;
- bash: only the README's set-up commands, checked against .ci/run below.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = (ROOT / "README.md").read_text()
# Output that cannot be compared byte for byte, with the check that replaces the comparison.
# Each maps to a pattern the pasted output must match instead.
NOT_COMPARED = {
    "PYTHONPATH=$PWD python benchmarks/run.py": (
        r"mncost benchmarks, .*load average \d+\.\d\d", "timings differ on every run: it states its load average"),
    "PYTHONPATH=$PWD python benchmarks/latency.py": (
        r"machine: .*load average \d+\.\d\d", "timings differ on every run: it states its load average"),
    "mncost latency --arch v2 --alpha 0.35 --res 96 --hw this --threads 1 --dtype fp32 --format md": (
        r"(?s).*Hardware this \(this machine, \d+ threads?\): each op priced", "--hw this measures the machine"),
}
# Citation keys: each page defines a key where it first uses it (the phrase must follow within a few lines).
CITATIONS = {"[V1]": "Howard et al.", "[V2]": "Sandler et al.", "[SLIM]": "research/slim",
             "[V3]": "Howard et al.", "[V4]": "Qin et al."}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, in order."""
    text = page.read_text()
    found = []
    for match in re.finditer(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", text, flags=re.S | re.M):
        found.append(Block(page, text[:match.start()].count("\n") + 1, match.group(1).strip(), match.group(2)))
    return found


ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]


def console_commands() -> list[tuple[Block, str, str]]:
    """(block, command, pasted output) for each `$ ` line of every console block."""
    found = []
    for block in ALL_BLOCKS:
        if block.kind == "console":
            assert block.text.startswith("$ "), f"{block}: a console block starts with a `$ ` command"
            for match in re.finditer(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", block.text, flags=re.M):
                found.append((block, match.group(1), match.group(2)))
    return found


def console_blocks(command_prefix: str) -> list[tuple[list[str], str]]:
    """(argv, pasted output) of the console commands that start with command_prefix (no shell syntax)."""
    import shlex

    return [(shlex.split(command)[1:], pasted) for _, command, pasted in console_commands()
            if command.startswith(command_prefix) and not re.search(r"[|;&>#]", command)]


# Pages whose examples make files (docs/errors.md: a FIFO, spec files): their commands run in order in a
# fresh folder of their own, as a reader would run them in an empty one.
OWN_FOLDER = {"errors.md"}
_FOLDERS: dict[Path, str] = {}


def folder_for(page: Path) -> Path:
    """Where a page's commands run: the repository root, or the page's own fresh folder."""
    if page.name not in OWN_FOLDER:
        return ROOT
    return Path(_FOLDERS.setdefault(page, tempfile.mkdtemp(prefix=f"mncost-{page.stem}-")))


def run_shell(command: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """A documented command as a reader runs it (from the repository root), `mncost` being this checkout's."""
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    script = f'mncost() {{ "{sys.executable}" -m mncost "$@"; }}\n{command}\n'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


def test_every_block_has_a_tested_kind():
    kinds = {"console", "python", "text", "toml", "bash"}
    for block in ALL_BLOCKS:
        assert block.kind in kinds, f"{block}: block kind {block.kind!r} is not tested; use one of {sorted(kinds)}"
        if block.kind == "bash":
            assert block.page.name == "README.md" and block.text.startswith("python3 -m venv "), (
                f"{block}: bash blocks are the README's set-up commands only")


def test_there_is_something_to_check():
    commands = [command for _, command, _ in console_commands()]
    for prefix in ("mncost table", "mncost paper", "mncost compare", "mncost sweep", "mncost fit",
                   "mncost scaling", "mncost report", "mncost crosscheck", "mncost audit"):
        assert any(c.startswith(prefix) for c in commands), f"no documented example of {prefix}"
    assert set(NOT_COMPARED) <= set(commands), "an exemption names a command the docs no longer show"


@pytest.mark.parametrize("block,command,pasted", console_commands(),
                         ids=lambda value: str(value) if isinstance(value, Block) else None)
def test_pasted_console_output_is_what_the_command_prints(block, command, pasted):
    if command in NOT_COMPARED:
        pattern, why = NOT_COMPARED[command]
        assert re.match(pattern, pasted), why
        return
    out = run_shell(command, folder_for(block.page))
    assert out.stdout + out.stderr == pasted, f"{block}: output of `$ {command}` is stale"


def python_examples() -> list[tuple[Block, str]]:
    """(python block, the output pasted in the text block right after it, or "")."""
    pairs = []
    for i, block in enumerate(ALL_BLOCKS):
        if block.kind == "text":
            previous = ALL_BLOCKS[i - 1] if i else None
            assert previous and previous.kind == "python" and previous.page == block.page, (
                f"{block}: a text block is the output of the python block right before it")
        if block.kind == "python":
            following = ALL_BLOCKS[i + 1] if i + 1 < len(ALL_BLOCKS) else None
            output = following.text if following and following.kind == "text" and following.page == block.page else ""
            pairs.append((block, output))
    return pairs


@pytest.mark.parametrize("block,output", python_examples(), ids=str)
def test_python_examples_print_what_the_docs_show(block, output):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", block.text], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=600)
    assert out.returncode == 0, f"{block}: {out.stderr}"
    assert out.stdout == output, f"{block}: the pasted output is stale"


def test_toml_blocks_are_the_shipped_spec_files():
    shipped = {p.read_text() for p in (ROOT / "examples").glob("*.toml")}
    tomls = [b for b in ALL_BLOCKS if b.kind == "toml"]
    assert tomls
    for block in tomls:
        assert block.text in shipped, f"{block}: not a file in examples/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_citation_keys_are_defined_where_first_used(page):
    text = " ".join(page.read_text().split())
    for key in set(re.findall(r"\[[A-Z][A-Z0-9]*\](?!\()", text)):
        assert key in CITATIONS, f"{page.name}: citation key {key} is not a known source"
        first = text.index(key)
        assert CITATIONS[key] in text[first:first + 300], f"{page.name}: {key} is used before it is defined"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_and_paths_point_at_files_a_reader_has(page):
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)  # code is not a link
    assert "../shared" not in text and "/work/" not in text
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_readme_is_a_short_first_read():
    assert len(README.splitlines()) <= 300
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in README, f"README does not link to docs/{page.name}"


def test_ci_installs_and_tests_as_the_readme_says():
    ci_lines = {line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()}
    commands = re.findall(r"^python3 -m venv .*$", README, flags=re.M)
    test_command = next(c for c in commands if "pytest" in c)
    steps = [step.strip() for step in test_command.split("&&")]
    assert steps[0].startswith("python3 -m venv") and steps[1].startswith(".")  # .ci/run makes its own venv
    for step in steps[2:]:
        assert step in ci_lines, f"README step {step!r} is not in .ci/run"
    assert any(c.endswith("mncost table --arch v1 --alpha 0.25 --res 128") for c in commands)
