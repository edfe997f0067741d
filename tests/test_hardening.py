"""Issue 10, input and CLI: a bad Spec, value, type or file is one MncostError; the CLI behaves like other tools."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from importlib.metadata import version

import numpy as np
import pytest

from conftest import ROOT, run_cli
from mncost import MncostError, fit, load_spec, network, sweep_rows, total_cost
from mncost.arch.builder import SPECS
from mncost.arch.v2 import Bottleneck
from mncost.arch.v1 import FullConv, Separable
from mncost.arch.spec import Spec
from mncost.arch.bounds import parse_alpha, parse_classes, parse_resolution
from mncost.cli import main
from mncost.study.sweep import parse_alphas, parse_count, parse_resolutions
from mncost.paper import TABLES


def run_main(*argv: str) -> tuple[int, str, str]:
    """mncost ARGV in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(argv))
            code = 0
        except SystemExit as exit:
            code = exit.code
    return code, out.getvalue(), err.getvalue()


def one_error_line(code: int, out: str, err: str) -> str:
    """The single stderr line of a user error (exit 2, nothing on stdout)."""
    assert code == 2 and out == "", (code, out, err)
    assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("mncost: error: "), err
    return err


# --- 1. A Spec is validated where it is made -------------------------------------------------------------------

ROW = Separable(64, 1)


@pytest.mark.parametrize("make,field", [
    (lambda: Bottleneck(-1, 16, 1, 1), "t"),
    (lambda: Bottleneck(0, 16, 1, 1), "t"),
    (lambda: Bottleneck(6, 16, 1, 0), "s"),
    (lambda: Bottleneck(6, 16, 0, 1), "n"),
    (lambda: Separable(64, -1), "s"),
    (lambda: Separable(64, 1.5), "s"),
    (lambda: Separable(64, 0), "s"),
    (lambda: Separable(-64, 1), "c"),
    (lambda: Separable(True, 1), "c"),
    (lambda: FullConv(64, 1, n=0), "n"),
    (lambda: Separable(64, 1, n=10**9), "n"),
    (lambda: Spec("x", 0, (ROW,)), "stem"),
    (lambda: Spec("x", -8, (ROW,)), "stem"),
    (lambda: Spec("x", 32.0, (ROW,)), "stem"),
    (lambda: Spec("x", 32, (ROW,), head=0), "head"),
    (lambda: Spec("x", 32, ()), "rows"),
    (lambda: Spec("x", 32, (ROW, "row")), "rows[1]"),
    (lambda: Spec("x", 32, (Separable(64, 1, n=600), Separable(64, 1, n=600))), "rows"),
    (lambda: Spec("x", 32, (ROW,), rounding="ceil"), "rounding"),
    (lambda: Spec("x", 32, (ROW,), activation="swish"), "activation"),
    (lambda: Spec("x", 32, (ROW,), dropout=1.0), "dropout"),
    (lambda: Spec("x", 32, (ROW,), thin_head=1), "thin_head"),
    (lambda: Spec("x", 32, (ROW,), notes=("ok", 3)), "notes"),
    (lambda: Spec(None, 32, (ROW,)), "name"),
])
def test_invalid_spec_is_one_error_naming_the_field(make, field):
    with pytest.raises(MncostError) as error:
        make()
    assert f": {field}: " in str(error.value) and "\n" not in str(error.value)


def test_builtin_and_example_specs_stay_valid_and_numpy_ints_are_ints():
    for spec in SPECS.values():
        assert Spec(**{f: getattr(spec, f) for f in spec.__dataclass_fields__}) == spec
    for name in ("v1", "v2", "v2-slim"):
        load_spec(ROOT / "examples" / f"{name}.toml")
    row = Bottleneck(np.int64(6), np.int32(24), np.int64(2), np.int8(2))
    assert row == Bottleneck(6, 24, 2, 2) and all(type(v) is int for v in (row.t, row.c, row.n, row.s))


def test_huge_depth_fails_fast_from_python_and_from_a_file(tmp_path):
    start = time.perf_counter()
    with pytest.raises(MncostError, match="at most 1,000"):
        network(Spec("deep", 32, (Separable(64, 1, n=10**9),)))
    path = tmp_path / "deep.toml"
    path.write_text("stem = 32\nstages = [{c = 64, s = 1, n = 1000000000}]\n")
    with pytest.raises(MncostError, match=r"deep.toml: stages\[0\].n: must be at most 1,000, got 1000000000"):
        load_spec(path)
    assert time.perf_counter() - start < 5


def test_a_valid_spec_never_counts_negative_or_fractional():
    net = network(Spec("x", 8, (Bottleneck(1, 8, 1, 1), FullConv(16, 2, 2))), 0.25, 33, 7)
    from mncost.cost.ops import network_costs

    for _, cost in network_costs(net):
        assert all(isinstance(v, int) and v >= 0 for v in (cost.macs, cost.params, cost.activations))


# --- 2. API types -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: network(None), lambda: network(1), lambda: network(b"v1"), lambda: network(["v1"]),
    lambda: network("v1", res=224.0), lambda: network("v1", res=(224.0, 224)), lambda: network("v1", res=b"224"),
    lambda: network("v1", alpha=True), lambda: network("v1", alpha=np.bool_(True)), lambda: network("v1", alpha=b"1"),
    lambda: network("v1", alpha=None), lambda: network("v1", classes=1000.0), lambda: network("v1", classes=b"10"),
    lambda: parse_resolutions(224.0), lambda: parse_resolutions(None), lambda: parse_resolutions(b"224"),
    lambda: parse_alphas(None), lambda: parse_alphas(True), lambda: parse_alphas([0.5, None]),
    lambda: sweep_rows("v1", None, 224), lambda: sweep_rows("v1", 1.0, 224.0), lambda: sweep_rows(None, 1.0, 224),
    lambda: load_spec(None), lambda: load_spec(3), lambda: fit("v2", None), lambda: fit("v2", True),
    lambda: parse_count(1e400), lambda: parse_classes(None),
])
def test_non_user_types_are_a_mncost_error(call):
    with pytest.raises(MncostError):
        call()


def test_numpy_integers_and_floats_are_accepted_as_numbers():
    assert parse_resolution(np.int64(224)) == parse_resolution((np.int32(224), 224)) == (224, 224)
    assert parse_resolutions(np.int64(160)) == [(160, 160)]
    assert parse_resolutions(np.arange(96, 225, 64)) == [(96, 96), (160, 160), (224, 224)]
    assert parse_alphas(np.float32(0.5)) == [0.5] and parse_alphas(np.array([0.25, 1.0])) == [0.25, 1.0]
    assert parse_classes(np.int64(10)) == 10
    rows = sweep_rows("v1", np.array([0.5]), np.array([128]), np.int64(10))
    assert rows == sweep_rows("v1", 0.5, 128, 10)


# --- 3. Bounds --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv,bound", [
    (["table", "--alpha", "1e308"], "at most 100"),
    (["table", "--alpha", "1e150"], "at most 100"),
    (["table", "--alpha", "101"], "at most 100"),
    (["table", "--res", "9" * 200], "at most 65536"),
    (["table", "--res", "224x65537"], "at most 65536"),
    (["table", "--res", "9" * 5000], "positive integer"),
    (["table", "--classes", "1" + "0" * 60], "at most 1,000,000"),
    (["sweep", "--res", "1e999999:1e999999:1"], "from 1 to 65536"),
    (["sweep", "--alpha", "0:1e999999:1e-999999"], "at most 100,000"),
    (["scaling", "--alpha", "1e150,1"], "at most 100"),
    (["fit", "--max-macs", "1e1000000"], "from 1 to 1e30"),
    (["fit", "--max-macs", "1e31"], "from 1 to 1e30"),
    (["fit", "--max-params", "1e1000000"], "from 1 to 1e30"),
    (["compare", "--alpha", "1e308"], "at most 100"),
])
def test_out_of_bounds_values_are_one_line_naming_the_bound(argv, bound):
    start = time.perf_counter()
    err = one_error_line(*run_main(*argv))
    assert bound in err and time.perf_counter() - start < 10


def test_the_largest_values_within_bounds_render_exactly():
    code, out, err = run_main("table", "--alpha", "100", "--res", "65536", "--classes", "1000000", "--format", "csv")
    assert code == 0 and err == ""
    assert out.splitlines()[1].split(",")[0] == "conv1"


# --- 4. Spec files ----------------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs /dev/zero and FIFOs (POSIX)")
def test_special_files_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    (tmp_path / "folder.toml").mkdir()
    for path, problem in ((fifo, "not a regular file"), (tmp_path / "zero.toml", "not a regular file"),
                          (tmp_path / "folder.toml", "not a regular file")):
        out = run_cli("table", "--arch", str(path), timeout=60)  # before: a FIFO blocked, /dev/zero filled memory
        assert out.returncode == 2 and out.stderr == f"mncost: error: spec file {path}: {problem}\n"


@pytest.mark.parametrize("content,problem", [
    (b"# " + b"x" * 1_000_001 + b"\nstem = 32\n", "larger than 1,000,000 bytes"),
    (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
    (b"a = " + b"{b = " * 5000 + b"1" + b"}" * 5000 + b"\n", "nested too deeply"),
    (b'name = "caf\xe9"\nstem = 32\n', "not UTF-8"),
    (b"stem = " + b"9" * 5000 + b"\n", "not valid TOML"),
])
def test_odd_spec_files_are_one_line(tmp_path, content, problem):
    path = tmp_path / "odd.toml"
    path.write_bytes(content)
    err = one_error_line(*run_main("table", "--arch", str(path)))
    assert problem in err and str(path) in err


# --- 5. The command line ----------------------------------------------------------------------------------------

def test_version_and_short_help():
    assert run_main("--version") == (0, f"mncost {version('mncost')}\n", "")
    help_text = run_main("--help")
    assert help_text[0] == 0 and "Usage: mncost" in help_text[1]
    assert run_main("-h") == help_text
    assert run_main("table", "-h") == run_main("table", "--help")


def test_bare_mncost_prints_the_help_and_no_empty_error():
    code, out, err = run_main()
    assert (code, err) == (0, "") and out.strip() == run_main("--help")[1].strip()


def test_shell_completion_is_offered():
    code, out, err = run_main("--help")
    assert "--install-completion" in out and "--show-completion" in out
    # typer names the shell by walking up the process tree (shellingham): run under bash, kept as the parent
    script = subprocess.run(["bash", "-c", shlex.join([*_mncost(), "--show-completion"]) + "; exit $?"],
                            capture_output=True, text=True, cwd=ROOT, env=ENV)
    assert script.returncode == 0 and "_MNCOST_COMPLETE=complete_bash" in script.stdout, script.stderr
    completion = subprocess.run(_mncost(), capture_output=True, text=True, cwd=ROOT, env={
        **ENV, "_MNCOST_COMPLETE": "complete_bash", "COMP_WORDS": "mncost table --fo", "COMP_CWORD": "2"})
    assert (completion.returncode, completion.stdout) == (0, "--format\n")


def test_a_typo_suggests_the_command_once():
    err = one_error_line(*run_main("tabel"))
    assert err.count("Did you mean 'table'?") == 1


def test_paper_help_lists_the_table_ids():
    code, out, _ = run_main("paper", "--help")
    assert code == 0 and all(table_id in out for table_id in TABLES)


def _mncost(*args: str) -> list[str]:
    return [sys.executable, "-m", "mncost", *args]


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("fmt", ["rich", "csv", "json", "md"])
def test_a_reader_that_stops_early_is_no_error(fmt):
    with subprocess.Popen(_mncost("paper", "--format", fmt), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=ENV, cwd=ROOT) as process:
        assert process.stdout.readline()
        process.stdout.close()  # like `mncost paper | head -1`
        assert process.wait(timeout=120) == 0
        assert process.stderr.read() == b""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["paper"], ["paper", "--format", "csv"], ["--help"]])
def test_a_full_disk_is_one_line_exit_2(argv):
    with open("/dev/full", "w") as full:
        out = subprocess.run(_mncost(*argv), stdout=full, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr == "mncost: error: cannot write the output: No space left on device\n"


def test_a_closed_stdout_is_one_line_exit_2():
    out = subprocess.run(_mncost("table"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=ENV, cwd=ROOT, preexec_fn=lambda: os.close(1))
    assert (out.returncode, out.stderr) == (2, "mncost: error: standard output is closed\n")


def test_fit_csv_with_nothing_fitting_prints_the_header():
    code, out, err = run_main("fit", "--max-macs", "1", "--format", "csv")
    assert code == 0 and out == "arch,alpha,resolution,macs,params,params_paper,activations,top1\n"
    _, fitting, _ = run_main("fit", "--max-macs", "100M", "--format", "csv")
    assert fitting.splitlines()[0] == out.strip()
    assert re.fullmatch(r"v2,[\d.]+,96,\d+,\d+,\d+,\d+,", fitting.splitlines()[1])


def test_sweep_is_exact_at_the_bounds():
    spec = Spec("big", 65536, (Bottleneck(64, 65536, 300, 1),), head=65536)
    assert sweep_rows(spec, [1.0, 100], [16384, 65536])[-1]["macs"] == total_cost(network(spec, 100, 65536)).macs
