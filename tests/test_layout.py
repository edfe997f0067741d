"""The house's layout holds: folders by question, imports one way as docs/development.md draws them,
no import circle, torch and fvcore only under torch/, no module over 450 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mncost"
MAX_LINES = 450


def _units_of(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def house() -> dict[str, set[str]]:
    """docs/development.md's map: each folder or top-level module, and the units it may import."""
    text = (ROOT / "docs" / "development.md").read_text()
    allowed: dict[str, set[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        units = _units_of(cells[0])
        for unit in units:
            allowed[unit] = {*units, *_units_of(cells[2])}
    return allowed


def unit(module: str) -> str:
    """The folder (arch/) or top-level module (cli.py) a dotted module name belongs to."""
    parts = module.split(".")[1:]
    if not parts:
        return "__init__.py"
    if (PACKAGE / parts[0]).is_dir():
        return parts[0] + "/"
    return parts[0] + ".py"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> list[str]:
    """Every module this one imports, at any depth of its code (lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in known]
            found += subs or [module]
    return found


def test_every_import_flows_one_way_as_the_map_draws_it():
    allowed, known = house(), modules()
    wrong = []
    for name, path in known.items():
        mine = unit(name)
        assert mine in allowed, f"{path.relative_to(ROOT)}: {mine} is missing from docs/development.md's map"
        for target in imports(name, path, known):
            if target.startswith("mncost") and target in known and unit(target) not in allowed[mine]:
                wrong.append(f"{name} imports {target} ({mine} may import {sorted(allowed[mine])})")
    assert wrong == []


def test_every_package_folder_is_in_the_map():
    allowed = house()
    folders = {p.name + "/" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders, "no package folder found"
    assert folders - set(allowed) == set()


def test_no_import_circle():
    known = modules()
    graph = {name: {t for t in imports(name, path, known) if t in known and t != name} for name, path in known.items()}
    # A package's __init__ importing its own children is how a package re-exports, not a circle through it.
    graph = {name: {t for t in targets if not t.startswith(name + ".")} for name, targets in graph.items()}
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_torch_and_fvcore_are_imported_only_under_torch():
    known = modules()
    outside = [f"{name} imports {target}" for name, path in known.items() if unit(name) != "torch/"
               for target in imports(name, path, known) if target.split(".")[0] in ("torch", "fvcore")]
    assert outside == []


def test_no_module_over_450_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_map_checks_what_it_claims():
    # The walker sees a lazy import inside a function, and the map refuses an upward one.
    code = "def f():\n    from ..output.render import emit\n"
    path = ROOT / "tests" / "data" / "layout_probe.py"
    path.write_text(code)
    try:
        found = imports("mncost.cost.probe", path, modules())
    finally:
        path.unlink()
    assert found == ["mncost.output.render"]
    assert unit("mncost.output.render") not in house()["cost/"]
