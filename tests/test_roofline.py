"""Roofline bytes against the real nn.Module; the model's laws; the latency command."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from mncost.arch.builder import SPECS, network
from mncost.cost.ops import total_cost
from mncost.errors import MncostError
from mncost.cost.hardware import PROFILES, Hardware, from_peaks
from mncost.output.machine import hardware
from mncost.cost.roofline import roofline

torch = pytest.importorskip("torch")

TORCH_DTYPES = {"int8": torch.int8, "fp16": torch.float16, "fp32": torch.float32}
CONFIGS = [(arch, alpha, res) for arch in SPECS for alpha, res in ((1.0, 224), (0.35, 96), (0.75, "160x128"))]


def measured_bytes(net, dtype: str) -> dict[str, tuple[int, int, int]]:
    """Per layer: bytes of the conv/FC parameters, of the tensors its module reads and writes (hooks)."""
    from torch import nn

    from mncost.torch.build import build_module, input_tensor

    # Meta tensors carry real shapes and dtypes without computing; int8 (no int8 float modules) scales fp32 sizes.
    run_dtype = torch.float16 if dtype == "fp16" else torch.float32
    model = build_module(net).to(device="meta", dtype=run_dtype)
    x = input_tensor(net).to(device="meta", dtype=run_dtype)
    scale = torch.empty(0, dtype=TORCH_DTYPES[dtype]).element_size() / x.element_size()
    size = lambda t: int(t.numel() * t.element_size() * scale)  # noqa: E731
    reads, writes, weights = {}, {}, {}
    handles = []
    for layer in net.layers:
        module = model.get_submodule(layer.name)
        # BatchNorm is folded into the conv (bias-free in mncost's modules), leaving a bias shaped as its own;
        # a BatchNorm alone ([V4]'s pre-norm) is a scale and a shift; every other parameter is read.
        weights[layer.name] = sum(size(m.bias) if isinstance(m, nn.BatchNorm2d) else size(p)
                                  for m in module.modules() for p in m.parameters(recurse=False)
                                  if not isinstance(m, nn.BatchNorm2d) or p is m.bias)
        if isinstance(module, nn.BatchNorm2d):
            weights[layer.name] += size(module.weight)
        handles.append(module.register_forward_pre_hook(
            lambda mod, args, name=layer.name: reads.__setitem__(name, sum(size(a) for a in args))))
        handles.append(module.register_forward_hook(
            lambda mod, args, out, name=layer.name: writes.__setitem__(name, size(out))))
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    # A residual add reads the saved input of the block's first layer: that module's input tensor.
    for layer in net.layers:
        if layer.shortcut:
            reads[layer.name] += reads[layer.shortcut]
    return {name: (weights[name], reads[name], writes[name]) for name in weights}


@pytest.mark.parametrize("dtype", ["int8", "fp16", "fp32"])
@pytest.mark.parametrize("arch,alpha,res", CONFIGS)
def test_bytes_equal_the_real_modules_tensors(arch, alpha, res, dtype):
    net = network(arch, alpha, res)
    truth = measured_bytes(net, dtype)
    result = roofline(arch, alpha, res, dtype=dtype)
    got = {r.layer.name: (r.weight_bytes, r.input_bytes, r.output_bytes) for r in result.layers}
    assert got == truth


def test_shortcut_layers_read_their_residual():
    result = roofline("v2", 1.0, 224, dtype="fp32")
    project = next(r for r in result.layers if r.layer.name == "block3.project")
    assert project.layer.shortcut == "block3.expand"
    # 1x1x144x24 at 56x56 reads its 144-channel input and the 24-channel shortcut, writes 24 channels.
    assert project.input_bytes == 4 * 56 * 56 * (144 + 24)
    assert project.output_bytes == 4 * 56 * 56 * 24


def test_ridge_zero_is_mult_adds_alone():
    """[V4] section 3: counting MACs only is the roofline with RP = 0."""
    result = roofline("v1", 0.5, 160, hw=PROFILES["macs"])
    assert result.time == sum(r.macs for r in result.layers) == total_cost(result.network).macs


@settings(max_examples=30, deadline=None)
@given(arch=st.sampled_from(sorted(SPECS)), alpha=st.floats(0.2, 1.5), res=st.integers(32, 256),
       ridge=st.floats(0.5, 500))
def test_roofline_bounds(arch, alpha, res, ridge):
    """Each layer's time is the larger of its compute and memory time; the model's lies between both sums."""
    hw = Hardware("x", "x", ridge, "test")
    result = roofline(arch, alpha, res, dtype="int8", hw=hw)
    compute = sum(r.macs for r in result.layers)
    memory = sum(r.bytes for r in result.layers) * ridge
    assert max(compute, memory) <= result.time * (1 + 1e-12) <= compute + memory
    for r in result.layers:
        assert (r.bound(hw) == "compute") == (r.macs >= r.bytes * ridge)


@settings(max_examples=20, deadline=None)
@given(arch=st.sampled_from(sorted(SPECS)), alpha=st.floats(0.2, 1.5), res=st.integers(32, 256))
def test_bytes_scale_with_the_element_size(arch, alpha, res):
    int8, fp16, fp32 = (roofline(arch, alpha, res, dtype=d) for d in ("int8", "fp16", "fp32"))
    for a, b, c in zip(int8.layers, fp16.layers, fp32.layers):
        assert 4 * a.bytes == 2 * b.bytes == c.bytes and a.macs == c.macs


def test_absolute_profile_is_seconds():
    hw = from_peaks("t", "t", peak_macs=1e9, bandwidth=1e8, source="test")
    result = roofline("v1", 1.0, 224, dtype="fp32", hw=hw)
    expected = sum(max(r.macs / 1e9, r.bytes / 1e8) for r in result.layers)
    assert result.time == pytest.approx(expected)
    assert hw.ridge == pytest.approx(10.0)


def test_unknown_op_and_names_are_user_errors():
    from dataclasses import replace

    from mncost.cost.roofline import layer_roofline

    layer = replace(network("v1").layers[0], op="attention")
    with pytest.raises(MncostError, match="op 'attention'"):
        layer_roofline(layer, 0, 0, 1)
    with pytest.raises(MncostError, match="unknown hardware"):
        hardware("tpu9000")
    with pytest.raises(MncostError, match="dtype"):
        roofline("v1", dtype="int4")


def test_v4_paper_profiles_are_its_table_16():
    assert {name: hw.ridge for name, hw in PROFILES.items() if hw.dtype == "int8"} == {
        "pixel6-cpu": 31.2, "s23-cpu": 39.7, "pixel4-dsp": 347.3, "pixel8-edgetpu": 433.8}


# --- the latency command ---

def test_latency_json_is_exact_and_adds_up(cli):
    out = cli("latency", "--arch", "v2", "--alpha", "0.5", "--res", "128", "--hw", "s23-cpu", "--dtype", "fp16",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    layers = doc["layers"]
    assert doc["hardware"]["ridge"] == 39.7 and doc["time_unit"] == "MAC-times" and doc["bytes_per_element"] == 2
    for key in ("macs", "weight_bytes", "input_bytes", "output_bytes", "bytes"):
        assert doc["totals"][key] == sum(row[key] for row in layers)
        assert all(isinstance(row[key], int) for row in layers)
    assert doc["totals"]["time"] == pytest.approx(sum(max(r["macs"], 39.7 * r["bytes"]) for r in layers))


@pytest.mark.parametrize("fmt", ["rich", "md", "csv"])
def test_latency_every_format(cli, fmt):
    out = cli("latency", "--arch", "v1", "--alpha", "0.25", "--res", "128", "--format", fmt)
    assert out.returncode == 0, out.stderr
    assert "block13.pw" in out.stdout
    if fmt != "csv":
        assert "MAC-times" in out.stdout and "[V4] Table 16" in out.stdout


@pytest.mark.parametrize("args,message", [
    (["--dtype", "int4"], "dtype 'int4' is invalid"),
    (["--hw", "tpu9000"], "unknown hardware 'tpu9000'"),
    (["--alpha", "0"], "alpha 0"),
])
def test_latency_bad_input_is_one_line_exit_2(cli, args, message):
    out = cli("latency", *args)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("mncost: error: ") and message in out.stderr and len(out.stderr.splitlines()) == 1


def test_latency_imports_no_heavy_module():
    from conftest import heavy_imports

    argv = ["latency", "--arch", "v2", "--hw", "pixel8-edgetpu", "--format", "json"]
    assert heavy_imports(argv, ("torch", "fvcore", "pandas", "matplotlib", "numpy")) == []


def test_hw_this_measures_once_then_reads_the_cache(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MNCOST_CACHE_DIR", str(tmp_path))
    args = ("latency", "--arch", "v1", "--alpha", "0.25", "--res", "96", "--hw", "this", "--dtype", "fp32",
            "--format", "json")
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    assert "measuring this machine" in first.stderr
    cached = json.loads((tmp_path / "hw.json").read_text())
    hw = json.loads(first.stdout)["hardware"]
    assert hw["peak_macs"] == cached["peak_macs"] > 1e8 and hw["bandwidth"] == cached["bandwidth"] > 1e8
    assert hw["ridge"] == pytest.approx(hw["peak_macs"] / hw["bandwidth"])
    second = cli(*args)
    assert second.returncode == 0 and "measuring" not in second.stderr
    assert json.loads(second.stdout)["hardware"] == hw
    layers = json.loads(second.stdout)["layers"]
    assert json.loads(second.stdout)["time_unit"] == "ms" and hw["kernels"]["overhead"] > 0
    assert json.loads(second.stdout)["totals"]["time"] == pytest.approx(sum(r["time"] for r in layers))
    assert {r["bound"] for r in layers} <= {"compute", "memory", "overhead"}
    cached["peak_macs"] = 0
    (tmp_path / "hw.json").write_text(json.dumps(cached))  # mncost's own file, damaged: measured again
    again = cli(*args)
    assert again.returncode == 0 and "is damaged (peak_macs 0 is not" in again.stderr and "measuring" in again.stderr
    assert json.loads((tmp_path / "hw.json").read_text())["peak_macs"] > 1e8


def test_hw_this_checks_the_input_before_measuring(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MNCOST_CACHE_DIR", str(tmp_path))
    out = cli("latency", "--hw", "this", "--alpha", "-1")
    assert out.returncode == 2 and "measuring" not in out.stderr and not (tmp_path / "hw.json").exists()


def test_plot_writes_both_figures(cli, tmp_path):
    pytest.importorskip("matplotlib")
    # A spec file's grid is laid out from the file, not from its name.
    out = cli("latency", "--arch", "examples/v2-slim.toml", "--alpha", "0.35", "--res", "96", "--plot", str(tmp_path),
              "--format", "csv")
    assert out.returncode == 0, out.stderr
    name = network("examples/v2-slim.toml").arch
    for figure in (f"{name}-roofline.svg", f"{name}-latency.svg"):
        assert (tmp_path / figure).read_text().startswith("<?xml")


def test_docs_figures_are_current(tmp_path):
    """docs/figures is what `mncost latency --arch v1|v2 --plot docs/figures` writes (deterministic SVG)."""
    pytest.importorskip("matplotlib")
    from conftest import ROOT

    from mncost.output.figures import write_latency_figures

    for arch in ("v1", "v2"):
        for path in write_latency_figures(arch, roofline(arch), tmp_path):
            assert path.read_bytes() == (ROOT / "docs" / "figures" / path.name).read_bytes(), path.name


def test_latency_of_a_users_model_is_the_same_engine_as_an_arch(cli):
    """`latency TARGET` traces the model into Layer rows: on mncost's own V2 module every layer equals --arch v2."""
    import json

    traced = cli("latency", "tests/own_models.py:mncost_module", "--dtype", "fp16", "--format", "json")
    built = cli("latency", "--arch", "v2", "--dtype", "fp16", "--format", "json")
    assert traced.returncode == built.returncode == 0, traced.stderr
    assert json.loads(traced.stdout)["layers"] == json.loads(built.stdout)["layers"]
    tutorial = cli("latency", "tests/count_models.py:TutorialV1", "--format", "json")
    assert tutorial.returncode == 0 and json.loads(tutorial.stdout)["totals"]["macs"] == 568_740_352
    plot = cli("latency", "tests/count_models.py:TutorialV1", "--plot", "somewhere")
    assert plot.returncode == 2 and len(plot.stderr.splitlines()) == 1 and "--arch" in plot.stderr
