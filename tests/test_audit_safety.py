"""The torch path and user code: audit counts what executes, contains what user code does, refuses what it
cannot run, and says what to install without torch."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
import torch

from conftest import ROOT, run_cli
from mncost.cli import main
from mncost.errors import MncostError
from mncost.torch.audit import audit

MODELS = ROOT / "tests" / "audit_models.py"
V1_MACS = 568_740_352  # [V1] Table 1's 569 M, exact; fvcore measures it on MobileNetV1 below


def _fvcore_macs(model: torch.nn.Module) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model.eval(), torch.zeros(1, 3, 224, 224))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    ops = analysis.by_operator()
    return ops.get("conv", 0) + ops.get("linear", 0)


def _model_file(tmp_path, name: str, body: str) -> str:
    """A model file beside a copy of nothing: it imports the from-scratch models by path."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(f"""\
        import sys, warnings
        import torch
        from torch import nn
        sys.path.insert(0, {str(MODELS.parent)!r})
        from audit_models import MobileNetV1
        """) + textwrap.dedent(body))
    return str(path)


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    """The CLI in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def _one_error_line(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mncost: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


# ---------- 1. audit counts what executes ----------

DISCARDS = """
    class Discards(MobileNetV1):
        '''Runs a 3x3 conv 32 -> 32 on the stem's 112x112 output and throws the result away.'''
        def __init__(self):
            super().__init__()
            self.spare = nn.Conv2d(32, 32, 3, 1, 1, bias=False)
        def forward(self, x):
            x = self.features[0](x)
            self.spare(x)
            for layer in self.features[1:]:
                x = layer(x)
            return self.classifier(torch.flatten(self.pool(x), 1))

    class ReturnsNone(MobileNetV1):
        def forward(self, x):
            self.logits = super().forward(x)

    class FunctionalDiscard(MobileNetV1):
        '''A functional 1x1 conv 3 -> 8 at 224x224 outside any module, result unused.'''
        def forward(self, x):
            torch.nn.functional.conv2d(x, torch.ones(8, 3, 1, 1))
            return super().forward(x)
"""


def test_a_discarded_conv_is_counted_exactly(tmp_path):
    path = _model_file(tmp_path, "discards", DISCARDS)
    result = audit(f"{path}:Discards", "v1")
    (finding,) = result.findings
    assert (finding.kind, finding.model_layer, finding.paper_layer) == ("extra", "spare", None)
    assert finding.macs_delta == 3 * 3 * 32 * 32 * 112 * 112 and finding.params_delta == 3 * 3 * 32 * 32
    assert result.macs_model - result.macs_paper == 3 * 3 * 32 * 32 * 112 * 112
    assert result.macs_paper == V1_MACS
    assert any("what executed" in note for note in result.notes)


def test_a_forward_that_returns_none_is_counted(tmp_path):
    from audit_models import MobileNetV1

    assert _fvcore_macs(MobileNetV1()) == V1_MACS  # the same layers, returning their output
    result = audit(f"{_model_file(tmp_path, 'returns_none', DISCARDS)}:ReturnsNone", "v1")
    assert result.ok and result.macs_model == V1_MACS and result.matched == 28


def test_a_functional_conv_outside_modules_is_its_own_finding(tmp_path):
    result = audit(f"{_model_file(tmp_path, 'functional', DISCARDS)}:FunctionalDiscard", "v1")
    (finding,) = result.findings
    assert (finding.kind, finding.model_layer) == ("extra", "(outside conv/linear modules)")
    assert finding.macs_delta == 3 * 8 * 224 * 224


def test_a_module_called_twice_counts_both_calls(tmp_path):
    path = _model_file(tmp_path, "twice", """
        class Twice(MobileNetV1):
            def forward(self, x):
                logits = super().forward(x)
                self.classifier(torch.zeros(1, 1024))
                return logits
    """)
    result = audit(f"{path}:Twice", "v1")
    (finding,) = result.findings
    assert (finding.kind, finding.model_layer, finding.macs_delta) == ("params", "classifier", 1024 * 1000)


# ---------- 2. user code: exits, exceptions, Ctrl-C, prints ----------

WHERE = {
    "import": "{stmt}\nclass Net(MobileNetV1):\n    pass\n",
    "init": "class Net(MobileNetV1):\n    def __init__(self):\n        {stmt}\n",
    "forward": "class Net(MobileNetV1):\n    def forward(self, x):\n        {stmt}\n",
}
WHAT = {
    "exit0": ("sys.exit(0)", "sys.exit(0) was called"),
    "exit3": ("sys.exit(3)", "sys.exit(3) was called"),
    "exit7": ("raise SystemExit(7)", "sys.exit(7) was called"),
    "exitNone": ("sys.exit()", "sys.exit() was called"),
    "error": ("raise ValueError('no weights here')", "ValueError: no weights here"),
    "ctrl-c": ("raise KeyboardInterrupt", "KeyboardInterrupt"),
}


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("what", WHAT)
def test_user_code_that_exits_or_raises_is_one_line_exit_2(tmp_path, capsys, where, what):
    stmt, message = WHAT[what]
    path = _model_file(tmp_path, f"m_{where}_{what.replace('-', '_')}", WHERE[where].format(stmt=stmt))
    _one_error_line(*_run(["audit", f"{path}:Net"], capsys), message)


def test_prints_and_warnings_of_user_code_stay_off_stdout(tmp_path):
    path = _model_file(tmp_path, "chatty", """
        print("importing chatty")
        class Net(MobileNetV1):
            def __init__(self):
                print("building")
                super().__init__()
            def forward(self, x):
                print("forward")
                warnings.warn("a user warning")
                return super().forward(x)
    """)
    out = run_cli("audit", f"{path}:Net", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ok"] is True
    assert "importing chatty" in out.stderr and "forward" in out.stderr and "a user warning" in out.stderr


def test_the_cli_exit_code_is_2_in_a_real_process(tmp_path):
    path = _model_file(tmp_path, "exits", WHERE["forward"].format(stmt="print('bye'); sys.exit(0)"))
    out = run_cli("audit", f"{path}:Net", "--format", "json")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().splitlines()[-1] == (
        "mncost: error: forward pass failed in the model (Net), input (1, 3, 224, 224): "
        "SystemExit: sys.exit(0) was called")


# ---------- 4. without torch ----------

NO_TORCH = "import sys; sys.modules['torch'] = None; from mncost.cli import main; main(sys.argv[1:])"


@pytest.mark.parametrize("argv", [["crosscheck"], ["crosscheck", "--arch", "v2", "--format", "json"],
                                  ["audit", f"{MODELS}:MobileNetV1"], ["compare", "--measure"]])
def test_without_torch_one_line_names_the_extra(argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", NO_TORCH, *argv], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    _one_error_line(out.returncode, out.stdout, out.stderr, 'pip install "mncost[torch]"', argv[0])


# ---------- 5. memory estimate before building; empty option values ----------


def _spec(tmp_path, body: str) -> str:
    path = tmp_path / "huge.toml"
    path.write_text(body)
    return str(path)


@pytest.mark.parametrize("argv, needle", [
    # Within the input bounds (docs/errors.md), still far too large to build.
    (["crosscheck", "--classes", "1000000", "--alpha", "100"], "1,000,000 classes"),
    (["crosscheck", "--res", "65536"], "65536x65536"),
    (["compare", "--measure", "--res", "65536"], "65536x65536"),
    (["audit", f"{MODELS}:MobileNetV1", "--res", "65536"], "a forward pass of v1"),
])
def test_too_large_for_memory_is_refused_with_the_estimate(capsys, argv, needle):
    _one_error_line(*_run(argv, capsys), needle, "needs an estimated", "GiB", "over the limit of")


@pytest.mark.parametrize("field", ["t = 64", "stem"])
def test_a_spec_too_large_for_memory_is_refused(tmp_path, capsys, field):
    # Every value within the spec bounds (t <= 64, channels <= 65,536), the network still too large to build.
    rows = "{ t = 64, c = 16, n = 1, s = 1 }" if field.startswith("t") else "{ t = 6, c = 16, n = 1, s = 1 }"
    stem = 65_536
    spec = _spec(tmp_path, f'name = "huge"\nstem = {stem}\nrounding = "divisible"\nstages = [{rows}]\n')
    code, out, err = _run(["crosscheck", "--arch", spec], capsys)
    if code == 2 and "needs an estimated" not in err:
        pytest.fail(f"not refused by the memory estimate: {err}")
    _one_error_line(code, out, err, "needs an estimated", "over the limit of")


def test_the_estimate_bounds_a_real_module():
    from mncost.arch.builder import network
    from mncost.torch.build import build_module, estimated_bytes

    net = network("v2", 1.0, 224)
    module = build_module(net)
    weights = sum(p.numel() for p in module.parameters()) * 4
    largest = max(layer.out_channels * layer.output_size[0] * layer.output_size[1] for layer in net.layers) * 4
    assert weights + largest <= estimated_bytes(net) < 100 * 2**20  # about 41 MB: no small model is refused


@pytest.mark.parametrize("option", ["--arch", "--alpha", "--res"])
def test_empty_crosscheck_options_are_errors_not_defaults(capsys, option):
    _one_error_line(*_run(["crosscheck", option, ""], capsys), "''")


# ---------- 6. audit runs your code: refuse what is no model, say so in --help ----------


def test_standard_library_and_torch_callables_are_refused_and_not_run(tmp_path, capsys):
    marker = tmp_path / "ran"
    reexport = _model_file(tmp_path, "reexport", "from os import system\nfrom subprocess import run\nrun_code = exec\n")
    for target, needle in [(f"os:system('touch {marker}')", "the standard library ('os')"),
                           (f"subprocess:run(['touch', '{marker}'])", "the standard library ('subprocess')"),
                           (f"{reexport}:system('touch {marker}')", "the standard library ('posix')"),
                           (f"{reexport}:run(['touch', '{marker}'])", "the standard library ('subprocess')"),
                           (f"torch:save(1, '{marker}')", "torch itself"),
                           (f"{reexport}:run_code(\"open('{marker}', 'w')\")",
                            "the standard library ('builtins')")]:
        _one_error_line(*_run(["audit", target], capsys), needle)
    assert not marker.exists()


def test_a_class_that_is_not_a_module_is_not_called(tmp_path, capsys):
    path = _model_file(tmp_path, "plain", "class Plain:\n    def __init__(self):\n        raise SystemExit(9)\n")
    _one_error_line(*_run(["audit", f"{path}:Plain"], capsys), "is a class, not an nn.Module subclass")


def test_help_says_it_runs_your_code_and_needs_torch():
    audit_help = " ".join(run_cli("audit", "--help").stdout.split())
    assert "This runs your code" in audit_help and 'pip install "mncost[torch]"' in audit_help
    assert "path/to/file.py:NAME or package.module:NAME" in audit_help and "ast.literal_eval" in audit_help
    assert 'pip install "mncost[torch]"' in " ".join(run_cli("crosscheck", "--help").stdout.split())
