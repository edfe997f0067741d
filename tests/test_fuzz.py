"""Fuzzing the CLI (issues 10, 22): any arguments, spec file or TARGET model give exit 0, 1 or 2, never a
traceback, one line on exit 2, valid JSON otherwise, no file written."""

from __future__ import annotations

import io
import json
import os
import traceback
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mncost.cli import main

# Odd values a user or an adversary types; each option also gets free text.
ODD = ["", " ", "-1", "0", "-0", "0.0", "1", "1.5", "nan", "inf", "-inf", "1e308", "1e-308", "1e150", "9" * 200,
       "1" + "0" * 5000, "0x10", "1_000", "224x", "x224", "224x224x3", "160x192", "1:2:0", "2:1:1", "1:2", "::",
       "0.25:1:0.25", "96:224:64", "1e999999:1e999999:1", "0:1:1e-999999", "1,", ",", "1,,2", "[/]", "[bold]x",
       "\x00", "\u00e9", "\U0001f642", "100M", "1.5G", "250k", "1e1000000", "1T", "True", "None", "-h"]
VALID = {"--arch": ["v1", "v2", "v1-fullconv", "v1-shallow", "v3-small", "v4-conv-small", "v4-hybrid-medium", "SPEC"],
         "--alpha": ["1.0", "0.5", "0.25,1", "0.35:0.5:0.05", "1e-9", "100"],
         "--res": ["224", "96", "160x192", "1", "65536", "96:224:64"],
         "--classes": ["1000", "1", "1001", "1000000"],
         "--format": ["rich", "md", "csv", "json"],
         "--max-macs": ["100M", "1", "2e8", "1e30"], "--max-params": ["3M", "1"]}
OPTIONS = {"table": ["--arch", "--alpha", "--res", "--classes", "--format"],
           "paper": ["--format"],
           "scaling": ["--arch", "--alpha", "--res", "--classes", "--format"],
           "sweep": ["--arch", "--alpha", "--res", "--classes", "--format"],
           "fit": ["--arch", "--max-macs", "--max-params", "--res", "--alpha", "--classes", "--format"],
           "compare": ["--arch", "--alpha", "--res", "--classes", "--format"]}
ARGUMENTS = {"paper": ["v1-table2", "v2-slim", "v9", ""]}

# Spec contents: TOML made of odd keys and values, and plain odd text and bytes.
# Names and notes may hold rich markup ([/], [bold]): every table escapes user text.
INTS = st.one_of(st.integers(-3, 2100), st.sampled_from([10**9, 10**30, 65536, 65537, 1000, 1001]))
VALUES = st.one_of(INTS, st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                   st.text("abcxyz019 .-_", max_size=8).map(lambda s: f'"{s}"'))
ROW_KEYS = st.sampled_from(["t", "c", "n", "s", "type", "k", "e", "start_dw", "middle_dw", "heads", "key_dim",
                            "value_dim", "kv_strides", "layer_scale"])
ROW_TYPES = ['"separable"', '"conv"', '"dense"', '"bneck"', '"convbn"', '"fused_ib"', '"uib"', '"mqa"']
STAGE = st.dictionaries(ROW_KEYS, st.one_of(INTS, VALUES, st.sampled_from(ROW_TYPES)), max_size=6)
TOP = st.fixed_dictionaries({}, optional={
    "name": st.text("abcxyz019 .-_[]/", max_size=12).map(lambda s: f'"{s}"'),
    "stem": st.one_of(INTS, VALUES), "head": st.one_of(INTS, VALUES), "thin_head": VALUES,
    "rounding": st.sampled_from(['"floor"', '"divisible"', '"ceil"', "3"]),
    "activation": st.sampled_from(['"relu"', '"relu6"', '"gelu"', "true"]),
    "dropout": VALUES, "notes": st.sampled_from(['["a note"]', '["[/] a [bold]note"]', "[1]", '"text"', "[]"]), "width": INTS,
    "pooled_head": st.one_of(INTS, VALUES), "stem_fixed_below": VALUES, "thin_pooled_head": VALUES,
    "pooled_head_norm": VALUES,
})


def _inline(stage: dict) -> str:
    return "{" + ", ".join(f"{k} = {v}" for k, v in stage.items()) + "}"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    return str(value)


# Valid specs at the edges of the bounds, so that the engine and the renderers see them too.
EDGE = st.fixed_dictionaries({"t": st.sampled_from([1, 6, 64]), "c": st.sampled_from([1, 8, 65536]),
                              "n": st.sampled_from([1, 2, 300]), "s": st.sampled_from([1, 2, 64])})
KERNEL, E = st.sampled_from([0, 1, 3, 6, 63]), st.sampled_from([0.5, 1, 4.0, 64])
EDGE_V4 = st.one_of(  # [V4] rows, valid or (an FFN with stride 2, a kernel of 0 where one is needed) refused
    st.fixed_dictionaries({"type": st.just('"uib"'), "start_dw": KERNEL, "middle_dw": KERNEL, "s": st.sampled_from([1, 2]),
                           "c": st.sampled_from([1, 8, 4096]), "e": E, "layer_scale": st.booleans()}),
    st.fixed_dictionaries({"type": st.just('"fused_ib"'), "k": KERNEL, "s": st.sampled_from([1, 2]),
                           "c": st.sampled_from([1, 48]), "e": E}),
    st.fixed_dictionaries({"type": st.just('"convbn"'), "k": KERNEL, "s": st.sampled_from([1, 2]), "c": st.just(16)}),
    st.fixed_dictionaries({"type": st.just('"mqa"'), "heads": st.sampled_from([1, 8]), "key_dim": st.sampled_from([1, 64]),
                           "value_dim": st.sampled_from([1, 64]), "kv_strides": st.sampled_from([1, 2, 64]),
                           "c": st.sampled_from([1, 64])}))
GOOD_TOP = st.fixed_dictionaries({"stem": st.sampled_from([1, 32, 65536])}, optional={
    "head": st.sampled_from([1, 1280, 65536]), "rounding": st.just('"divisible"'), "thin_head": st.booleans(),
    "pooled_head": st.sampled_from([1, 1280]), "pooled_head_norm": st.booleans(), "thin_pooled_head": st.booleans(),
    "stem_fixed_below": st.sampled_from([0, 1.0, float("inf")])})


def _toml(top: dict, stages: list[dict]) -> bytes:
    lines = [f"{k} = {_toml_value(v)}\n" for k, v in top.items()]
    rows = ", ".join(_inline({k: _toml_value(v) for k, v in stage.items()}) for stage in stages)
    return ("".join(lines) + f"stages = [{rows}]\n").encode()


SPEC = st.one_of(st.builds(_toml, GOOD_TOP, st.lists(EDGE, min_size=1, max_size=3)),
                 st.builds(_toml, GOOD_TOP, st.lists(EDGE_V4, min_size=1, max_size=3)),
                 st.builds(_toml, TOP, st.lists(st.one_of(STAGE, EDGE), max_size=4)),
                 st.text(max_size=200).map(str.encode), st.binary(max_size=200))


def run(argv: list[str]) -> tuple[object, str, str]:
    """mncost ARGV in this process: (exit code, stdout, stderr); an escaping exception is a traceback."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as exit:
            code = exit.code
        except BaseException:
            code = "exception"
            err.write(traceback.format_exc())
    return code, out.getvalue(), err.getvalue()


@st.composite
def argvs(draw) -> tuple[list[str], bytes]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    options = draw(st.lists(st.sampled_from(OPTIONS[command]), min_size=1, max_size=5))
    # Mostly typical values with one or two odd ones, so that an odd value is not hidden behind another's error.
    values = [draw(st.sampled_from(VALID[option] + (["SPEC"] if option == "--arch" else []))) for option in options]
    for _ in range(draw(st.integers(0, 2))):
        values[draw(st.integers(0, len(values) - 1))] = draw(st.one_of(st.sampled_from(ODD), st.text(max_size=12)))
    argv = [command] + [token for pair in zip(options, values) for token in pair]
    if command in ARGUMENTS:
        argv += draw(st.lists(st.sampled_from(ARGUMENTS[command]), max_size=2))
    return argv, draw(SPEC)


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "spec.toml"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=argvs())
def test_cli_never_tracebacks_and_errors_in_one_line(spec_path, case):
    argv, spec = case
    spec_path.write_bytes(spec)
    argv = [str(spec_path) if a == "SPEC" else a for a in argv]
    code, out, err = run(argv)
    event(f"{argv[0]} exit {code}")
    assert code in (0, 1, 2), (argv, code, err[-2000:])
    assert "Traceback" not in err, (argv, err[-2000:])
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("mncost: error: "), (argv, err)
        assert out == "", (argv, out[:500])


# ---------- TARGET models (issue 22): generated model files doing what user code does ----------

# Lines of forward on x, a 1x3x16x16 input: the zoo's ops on 3 channels, then perhaps one that ends the map.
MODEL_OPS = {
    "conv": "x = self.conv(x)", "dw": "x = self.dw(x)", "bn": "x = self.bn(x)", "relu": "x = F.relu(x)",
    "hswish": "x = F.hardswish(x)", "se": "x = x * torch.sigmoid(x.mean((2, 3), keepdim=True))",
    "residual": "x = x + self.conv(x)", "pool": "x = F.avg_pool2d(x, 2)",
    "matmul": "x = x @ x.transpose(-1, -2)", "softmax": "x = x.softmax(-1)",
}
MODEL_ENDS = {"none": "", "mean": "x = x.pow(2).mean()", "fc": "x = self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))",
              "scalar-softmax": "x = x.sum().softmax(-1)"}
# What user code does besides: prints (to sys.stdout, to descriptor 1, to stderr), warns, exits, raises,
# forks (the child carries on), sleeps (past --timeout or not), runs a layer in a thread.
MODEL_EVENTS = {
    "print": "print('user print')", "fd1": "os.write(1, b'user fd 1\\n')", "stderr": "print('e', file=sys.stderr)",
    "warn": "warnings.warn('user warning')", "exit0": "sys.exit(0)", "exit3": "sys.exit(3)",
    "raise": "raise ValueError('user error')", "generator-exit": "raise GeneratorExit",
    "ctrl-c": "raise KeyboardInterrupt", "fork": "os.fork()", "nap": "time.sleep(0.01)", "hang": "time.sleep(60)",
    "thread": "t = threading.Thread(target=lambda: self.dw(torch.zeros(1, 3, 4, 4))); t.start(); t.join()",
}
MODEL_RETURNS = ["return x", "return None", "return (x, x)", "return {'out': x}", "return 3", "return [x]"]
MODEL_FILE = """import os, sys, threading, time, warnings
import torch
import torch.nn.functional as F
from torch import nn
{at_import}

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        {at_init}
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.dw = nn.Conv2d(3, 3, 3, padding=1, groups=3)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        {forward}
"""
MODEL_COMMANDS = {"count": ["--input", "1x3x16x16"], "compare": ["--input", "1x3x16x16"],
                  "latency": ["--input", "1x3x16x16"], "audit": ["--res", "16"]}


@st.composite
def model_files(draw) -> tuple[str, str]:
    """(the model file's text, the command to run on it)."""
    lines = [MODEL_OPS[op] for op in draw(st.lists(st.sampled_from(sorted(MODEL_OPS)), min_size=1, max_size=4))]
    lines += [MODEL_ENDS[end] for end in [draw(st.sampled_from(sorted(MODEL_ENDS)))] if MODEL_ENDS[end]]
    events = draw(st.lists(st.tuples(st.sampled_from(sorted(MODEL_EVENTS)), st.sampled_from(["import", "init", "forward"])),
                           max_size=2))
    where = {"import": [], "init": [], "forward": lines}
    for event, place in events:
        spot = where[place]
        spot.insert(draw(st.integers(0, len(spot))), MODEL_EVENTS[event])
    forward = "\n        ".join([*lines, draw(st.sampled_from(MODEL_RETURNS))])
    text = MODEL_FILE.format(at_import="\n".join(where["import"]), at_init="\n        ".join(where["init"]) or "pass",
                             forward=forward)
    return text, draw(st.sampled_from(sorted(MODEL_COMMANDS)))


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    import torch

    torch.nn.functional.conv2d(torch.zeros(1, 3, 16, 16), torch.zeros(3, 3, 3, 3))  # kernels ready: no example
    root = tmp_path_factory.mktemp("models")                                         # pays their set-up
    (root / "work").mkdir()
    return root


@settings(max_examples=int(os.environ.get("FUZZ_MODELS", 40)), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(case=model_files())
def test_target_models_never_traceback_nor_write_and_json_stays_valid(model_folder, monkeypatch, case):
    text, command = case
    path = model_folder / f"model_{len(list(model_folder.glob('model_*.py')))}.py"
    path.write_text(text)
    monkeypatch.chdir(model_folder / "work")
    monkeypatch.setenv("MNCOST_CACHE_DIR", str(model_folder / "cache"))
    argv = [command, f"{path}:Net", *MODEL_COMMANDS[command], "--timeout", "3", "--format", "json"]
    code, out, err = run(argv)
    event(f"{command} exit {code}")
    assert code in (0, 1, 2), (text, code, err[-2000:])
    assert "Traceback" not in err, (text, err[-2000:])
    if code == 2:
        assert out == "" and err.count("mncost: error: ") == 1, (text, out[:500], err)
        assert err.strip().splitlines()[-1].startswith("mncost: error: "), (text, err)
    else:
        json.loads(out)
    assert list((model_folder / "work").iterdir()) == [] and not (model_folder / "cache").exists()
