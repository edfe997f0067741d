"""Issue 22, files: every file mncost writes goes through mncost.output.files (its mark, no symlinks, atomic,
the user's umask), names derived from a network's name stay in the chosen folder, and the `--hw this` cache
is refused when foreign and measured again when damaged."""

from __future__ import annotations

import json
import os
import stat

import pytest

from mncost.cli import main
from mncost.cost.hardware import KERNEL_KINDS
from mncost.errors import MncostError
from mncost.output.files import JSON_MARK, safe_name, write_files, written_by_mncost

RECORD = {"peak_macs": 8.0e10, "bandwidth": 2.5e10, "method": "a test's record", "threads": 2, "torch": "2.13.0",
          "machine": "test x86_64 2 cpus", "measured": "2026-01-01 00:00 UTC",
          "kernels": {"overhead": 2e-6, "points": {kind: [[1e3, 1e9], [1e6, 4e9]] for kind in KERNEL_KINDS}}}
ARGS = ["latency", "--arch", "v1", "--alpha", "0.25", "--res", "96", "--hw", "this", "--dtype", "fp32",
        "--format", "json"]


def _main(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """MNCOST_CACHE_DIR in tmp_path; measuring returns RECORD at once and counts its calls."""
    monkeypatch.setenv("MNCOST_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr("mncost.torch.calibrate.measure", lambda: calls.append(1) or dict(RECORD))
    return tmp_path / "cache" / "hw.json", calls


def test_the_cache_is_marked_atomic_and_read_back(cache, capsys):
    path, calls = cache
    code, out, err = _main(ARGS, capsys)
    assert code == 0 and "measuring this machine" in err and len(calls) == 1
    saved = json.loads(path.read_text())
    assert saved == {**JSON_MARK, **RECORD} and written_by_mncost(path)
    assert json.loads(out)["hardware"]["peak_macs"] == RECORD["peak_macs"]
    assert [p.name for p in path.parent.iterdir()] == ["hw.json"]  # no temporary file left
    code, out, err = _main(ARGS, capsys)
    assert code == 0 and err == "" and len(calls) == 1  # read from the cache


@pytest.mark.parametrize("content", ['{"peak_macs": 1, "bandwidth": 1}', "{not json", "", "\x00\xff",
                                     json.dumps({**RECORD, "written_by": "someone else"})])
def test_a_foreign_cache_file_is_refused_and_left_alone(cache, capsys, content):
    path, calls = cache
    path.parent.mkdir()
    path.write_text(content, encoding="latin-1")
    for remeasure in ([], ["--remeasure"]):
        line = _main(ARGS + remeasure, capsys)
        assert line[0] == 2 and line[1] == "" and line[2].count("\n") == 1
        assert "exists and was not written by mncost" in line[2] and "MNCOST_CACHE_DIR" in line[2]
    assert path.read_text(encoding="latin-1") == content and calls == []


def test_a_symlinked_cache_is_never_followed(cache, tmp_path, capsys):
    path, calls = cache
    path.parent.mkdir()
    elsewhere = tmp_path / "elsewhere.json"
    path.symlink_to(elsewhere)
    code, out, err = _main(ARGS, capsys)
    assert code == 2 and "is a symlink" in err and not elsewhere.exists() and calls == []
    elsewhere.write_text(json.dumps({**JSON_MARK, **RECORD}))  # even one mncost wrote
    assert _main(ARGS + ["--remeasure"], capsys)[0] == 2 and path.is_symlink()


@pytest.mark.parametrize("field, value", [("peak_macs", 0), ("peak_macs", -5.0), ("bandwidth", float("nan")),
                                          ("bandwidth", float("inf")), ("peak_macs", "fast"), ("peak_macs", True),
                                          ("bandwidth", 1e300), ("threads", 0), ("machine", "\x1b[2J"),
                                          ("method", None)])
def test_every_cached_value_is_checked_and_a_damaged_cache_measured_again(cache, capsys, field, value):
    path, calls = cache
    path.parent.mkdir()
    path.write_text(json.dumps({**JSON_MARK, **RECORD, field: value}))  # json writes nan as NaN
    code, out, err = _main(ARGS, capsys)
    assert code == 0 and f"is damaged ({field} " in err and len(calls) == 1
    assert json.loads(path.read_text())[field] == RECORD[field]
    assert "NaN" not in out and json.loads(out)["hardware"]["peak_macs"] == RECORD["peak_macs"]


def test_a_failed_measurement_is_one_line_and_not_cached(cache, monkeypatch, capsys):
    path, _ = cache
    monkeypatch.setattr("mncost.torch.calibrate.measure", lambda: {**RECORD, "peak_macs": 0.0})
    code, out, err = _main(ARGS, capsys)
    assert code == 2 and out == "" and "measuring this machine failed: peak_macs 0.0" in err
    assert not path.exists()


# ---------- names and folders ----------


@pytest.mark.parametrize("name, safe", [("../escaped", "_escaped"), ("/etc/passwd", "_etc_passwd"), ("a\0b", "a_b"),
                                        ("..", "network"), ("", "network"), ("v2-slim", "v2-slim"),
                                        ("a/../../b", "a_.._.._b"), ("\x1b[31mred", "__31mred"),
                                        ("x" * 500, "x" * 100), ("C:\\win", "C__win")])
def test_a_file_name_from_a_network_name_never_leaves_its_folder(name, safe):
    assert safe_name(name) == safe and "/" not in safe_name(name) and not safe_name(name).startswith(".")


@pytest.mark.parametrize("name", ["../escaped.svg", "/tmp/abs.svg", "a\0b.svg", "sub/../../x.svg", "", ".", "a//b"])
def test_write_files_refuses_a_name_outside_the_folder(tmp_path, name):
    with pytest.raises(MncostError, match="is not a file name inside"):
        write_files({name: "x"}, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped.svg").exists()


@pytest.mark.parametrize("spec_name", ["../escaped", "/tmp/abs", "a\\u0000b", "\\u001b[31mred"])
def test_latency_plot_writes_only_inside_its_folder(tmp_path, capsys, spec_name):
    pytest.importorskip("matplotlib")
    spec = tmp_path / "spec.toml"
    spec.write_text(f'name = "{spec_name}"\nstem = 8\nstages = [{{c = 16, s = 2}}]\n')
    code, out, err = _main(["latency", "--arch", str(spec), "--res", "32", "--plot", str(tmp_path / "out"),
                            "--format", "csv"], capsys)
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(written) == 2 and all(name.endswith(("-roofline.svg", "-latency.svg")) for name in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "spec.toml"]


def test_an_empty_plot_folder_is_one_line(capsys):
    code, out, err = _main(["latency", "--plot", ""], capsys)
    assert code == 2 and err == "mncost: error: --plot is empty; name the folder to write the figures into\n"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_and_folders_honour_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        (path,) = write_files({"sub/report.md": "# a report\n"}, tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o777 & ~umask
