"""Issue 22, user code: a TARGET is resolved before anything is called and only a model is called; what the
model does (writes to descriptor 1, forks, hangs, raises GeneratorExit, runs layers in a thread, is TorchScript)
changes neither an exit code nor an output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import ROOT
from test_audit_safety import _run as _main
from mncost.cli import main
from mncost.errors import MncostError
from mncost.torch.target import DEFAULT_TIMEOUT, _import_source, load_target, parse_target, refusal

ENV = {**{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}, "PYTHONPATH": str(ROOT)}
HEADER = "import os, sys, threading, time, warnings\nimport torch\nfrom torch import nn\n"
NET = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        {forward}
"""


def _model(tmp_path, forward: str, extra: str = "", name: str = "model") -> str:
    """A model file: Net runs `forward` (its last line returns), plus any extra code; its path."""
    path = tmp_path / f"{name}.py"
    path.write_text(HEADER + extra + NET.format(forward=forward.replace("\n", "\n        ")))
    return str(path)


def _cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mncost", *argv], capture_output=True, text=True, env=ENV,
                          cwd=ROOT, timeout=timeout)


def _one_line(code: int, out: str, err: str, *needles: str) -> str:
    assert code == 2 and out == "", (code, out, err)
    line = err.strip().splitlines()[-1]
    assert line.startswith("mncost: error: ") and err.count("mncost: error: ") == 1, err
    for needle in needles:
        assert needle in line, line
    return line


# ---------- 1. only a model is called: resolved first, refused before it runs ----------


def test_rmtree_and_numpy_save_are_refused_before_they_run(tmp_path, capsys):
    pytest.importorskip("pip._internal.utils.misc")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("mine")
    for command in ("audit", "count", "compare", "latency"):
        _one_line(*_main([command, f"pip._internal.utils.misc:rmtree({str(victim)!r})"], capsys),
                  "is refused: rmtree is declared to return None, not an nn.Module")
        _one_line(*_main([command, f"numpy:save({str(tmp_path / 'saved.npy')!r}, 1)"], capsys),
                  "is refused: save is a numpy._ArrayFunctionDispatcher, not an nn.Module class or a function")
    assert (victim / "keep").read_text() == "mine" and not (tmp_path / "saved.npy").exists()


REFUSED = """
import shutil
from pathlib import Path
from pytorchcv.models.mobilenet import mobilenet_w1 as imported_net

def remove_tree(path):
    Path(path, "gone").write_text("ran")

def save_model(model=None, file="m.pt"):
    Path(file).write_text("ran")

def build(width=1.0):
    Path("built").write_text("ran")

def helper() -> int:
    Path("helped").write_text("ran")
    return 1

class NotAModel:
    def __init__(self):
        Path("constructed").write_text("ran")

copy = shutil.copy
"""


@pytest.mark.parametrize("name, reason", [
    ("remove_tree('{tmp}')", "takes 'path', a file, folder or command"),
    ("save_model(file='{tmp}/m.pt')", "takes 'file', a file, folder or command"),
    ("build()", "neither the name 'build' nor a return annotation says it makes a model"),
    ("helper()", "is declared to return int, not an nn.Module"),
    ("NotAModel()", "is a class, not an nn.Module subclass"),
    ("copy('{tmp}/a', '{tmp}/b')", "comes from the standard library ('shutil')"),
    ("imported_net()", "is defined in pytorchcv.models.mobilenet, not in"),
])
def test_what_is_no_model_of_the_targets_own_file_is_never_called(tmp_path, monkeypatch, capsys, name, reason):
    monkeypatch.chdir(tmp_path)
    path = _model(tmp_path, "return self.conv(x)", REFUSED)
    _one_line(*_main(["count", f"{path}:{name.format(tmp=tmp_path)}"], capsys), reason)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.py"]  # nothing ran


def test_factories_of_the_targets_own_file_or_package_are_called(tmp_path):
    path = _model(tmp_path, "return self.conv(x)", textwrap.dedent("""
        def make_net(width=1.0):
            return Net()

        def anything(width: float = 1.0) -> nn.Module:
            return Net()

        class Builder:
            @classmethod
            def mobilenet(cls):
                return Net()
        """))
    for name in ("make_net(width=0.5)", "anything()", "Builder.mobilenet", "Net"):
        assert type(load_target(f"{path}:{name}")).__name__ == "Net", name
    assert type(load_target("pytorchcv.models.mobilenet:mobilenet_w1")).__name__ == "MobileNet"


def test_an_instance_is_used_as_is_and_never_called(tmp_path, capsys):
    path = _model(tmp_path, "return self.conv(x)", "", "inst")
    with open(path, "a") as file:
        file.write("\nnet = Net()\n")
    assert type(load_target(f"{path}:net")).__name__ == "Net"
    _one_line(*_main(["count", f"{path}:net(1)"], capsys), "is an nn.Module instance; give it without arguments")


def test_refusal_reads_the_annotation_without_evaluating_it(tmp_path):
    path = _model(tmp_path, "return self.conv(x)", "", "annotated")
    with open(path, "a") as file:
        file.write(textwrap.dedent("""
            def factory() -> "Net":
                return Net()

            def listed() -> "list[Net]":
                return [Net()]
            """))
    module = _import_source(parse_target(f"{path}:Net"))
    assert refusal(parse_target(f"{path}:factory"), module.factory) is None  # a string naming an nn.Module
    assert "neither the name 'listed'" in refusal(parse_target(f"{path}:listed"), module.listed)  # not resolved


# ---------- 2. what user code does cannot change an exit code or an output ----------


def test_writes_to_descriptor_1_go_to_stderr_and_json_stays_valid(tmp_path, capfd):
    path = _model(tmp_path, "os.write(1, b'native noise\\n')\nsubprocess.run(['echo', 'child noise'])\n"
                  "return self.conv(x)", "import subprocess\n")
    for argv in (["count", f"{path}:Net", "--format", "json"], ["audit", f"{path}:Net", "--format", "json"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        out, err = capfd.readouterr()  # what reached descriptors 1 and 2
        assert exit_info.value.code in (0, 1), err
        json.loads(out)
        assert "native noise" in err and "child noise" in err and "noise" not in out


def test_a_model_that_forks_prints_the_output_once(tmp_path):
    path = _model(tmp_path, "os.fork()\nreturn self.conv(x)")
    out = _cli("count", f"{path}:Net", "--input", "1x3x8x8", "--format", "json")
    assert out.returncode == 0, out.stderr
    json.loads(out.stdout)  # one document, not two (the fuzz tests fork at import and in __init__ too)


def test_a_forked_child_stuck_in_native_code_lets_go_of_stdout(tmp_path):
    """A child computing after a fork may hang in torch's thread pool: the reader of mncost's stdout still
    gets its end when mncost exits, and the child is ended at the time limit."""
    path = _model(tmp_path, "if os.fork() == 0:\n    torch.set_num_threads(2)\n    for _ in range(100):\n"
                            "        self.conv(torch.zeros(1, 3, 512, 512))\nreturn self.conv(x)")
    with open(tmp_path / "stderr", "w") as err:
        out = subprocess.run([sys.executable, "-m", "mncost", "count", f"{path}:Net", "--timeout", "20",
                              "--format", "json"], stdout=subprocess.PIPE, stderr=err, text=True, env=ENV, cwd=ROOT,
                             timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)


def test_timeout_ends_a_forward_that_never_returns(tmp_path, capsys):
    path = _model(tmp_path, "time.sleep(600)")
    start = time.perf_counter()
    line = _one_line(*_main(["count", f"{path}:Net", "--timeout", "1"], capsys),
                     "did not finish within --timeout 1 s")
    assert "in the model (Net)" in line and time.perf_counter() - start < 60
    swallows = _model(tmp_path, "while True:\n    try:\n        time.sleep(600)\n    except BaseException:\n"
                                "        pass", name="swallows")
    out = _cli("audit", f"{swallows}:Net", "--timeout", "1", timeout=120)  # ignores the interrupt: ended anyway
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().splitlines()[-1] == ("mncost: error: the model's code did not finish within "
                                                   "--timeout 1 s, and did not stop when interrupted")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "abc", "100000"])
def test_a_bad_timeout_is_one_line(tmp_path, capsys, value):
    _one_line(*_main(["count", f"{_model(tmp_path, 'return x')}:Net", "--timeout", value], capsys),
              "timeout", "is invalid")


def test_the_default_timeout_is_documented():
    from typer.testing import CliRunner

    from mncost.cli import app

    for command in ("count", "compare", "latency", "audit"):
        help_text = " ".join(CliRunner().invoke(app, [command, "--help"]).output.split())
        assert f"(default {DEFAULT_TIMEOUT:g})" in help_text, command
    assert f"--timeout SECONDS` (default {DEFAULT_TIMEOUT:g})" in (ROOT / "docs" / "cli.md").read_text()


OTHER = {
    "scalar": ("return self.conv(x).pow(2).mean()", None),
    "generator-exit": ("raise GeneratorExit", "GeneratorExit"),
    "thread": ("out = []\nthread = threading.Thread(target=lambda: out.append(self.conv(x)))\nthread.start()\n"
               "thread.join()\nreturn out[0]", "the model ran conv (Conv2d) in another thread"),
}


@pytest.mark.parametrize("case", OTHER)
@pytest.mark.parametrize("command", ["count", "audit", "latency"])
def test_odd_forwards_are_counted_or_one_line(tmp_path, capsys, case, command):
    forward, message = OTHER[case]
    code, out, err = _main([command, f"{_model(tmp_path, forward)}:Net", "--format", "json"], capsys)
    if message:
        _one_line(code, out, err, message)
    else:
        assert code in (0, 1) and json.loads(out), err


def test_torchscript_and_a_failing_named_modules_are_one_line(tmp_path, capsys):
    path = _model(tmp_path, "return self.conv(x)", "", "odd")
    with open(path, "a") as file:
        file.write(textwrap.dedent("""
            def scripted_model():
                return torch.jit.script(Net())

            class Listless(Net):
                def named_modules(self, *args, **kwargs):
                    raise RuntimeError("no modules for you")
            """))
    for command in ("count", "audit"):
        _one_line(*_main([command, f"{path}:scripted_model"], capsys), "is a TorchScript module")
        _one_line(*_main([command, f"{path}:Listless"], capsys),
                  "listing the model's modules and parameters raised RuntimeError: no modules for you")


# ---------- 3. TARGET syntax: before torch, and never echoed whole ----------


NO_TORCH = "import sys; sys.modules['torch'] = None; from mncost.cli import main; main(sys.argv[1:])"


@pytest.mark.parametrize("command", ["latency", "count", "compare", "audit"])
def test_a_malformed_target_is_refused_before_torch_is_imported(command):
    out = subprocess.run([sys.executable, "-c", NO_TORCH, command, "x.py:Net("], capture_output=True, text=True,
                         env=ENV, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and out.stderr == (
        "mncost: error: target 'x.py:Net(' is invalid; use path/to/file.py:NAME or package.module:NAME, "
        "NAME(key=literal, ...)\n")


@pytest.mark.parametrize("target", ["a" * 100_000, "x.py:Net(" + "1," * 50_000 + ")", "tests/x\0.py:Net",
                                    "tests/count_models.py:" + "N" * 100_000])
def test_a_huge_or_odd_target_is_not_echoed_whole(capsys, target):
    line = _one_line(*_main(["count", target], capsys))
    assert len(line) < 400


def test_parse_target_reads_literals_only():
    assert parse_target("tests/count_models.py:TutorialV1(num_classes=10, width=0.5)").kwargs == {
        "num_classes": 10, "width": 0.5}
    with pytest.raises(MncostError, match="arguments must be literals"):
        parse_target("tests/count_models.py:TutorialV1(width=__import__('os'))")
