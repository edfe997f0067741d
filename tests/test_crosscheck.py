"""mncost crosscheck: every analytic layer equals fvcore's count of the real module."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from mncost import cli
from mncost.cost import formulas
from mncost.arch.builder import network
from mncost.torch.crosscheck import PAPER_GRID, check

sides = st.integers(32, 320)
resolutions = st.one_of(sides, st.tuples(sides, sides))  # about half non-square


@pytest.mark.parametrize("arch", ["v1", "v2"])
@settings(max_examples=12, deadline=None)
@given(alpha=st.floats(0.1, 2.0, allow_nan=False), res=resolutions, classes=st.integers(1, 2000))
def test_every_layer_and_total_equal_fvcore(arch, alpha, res, classes):
    result = check(network(arch, alpha, res, classes))
    assert result.ok, result.failures()
    assert [c.name for c in result.layers] == [layer.name for layer in result.network.layers]
    assert result.total.macs_fvcore == sum(c.macs_fvcore for c in result.layers)
    assert result.total.params_module == sum(c.params_module for c in result.layers)


@pytest.mark.parametrize("arch", ["v1-fullconv", "v1-shallow"])
def test_variants_agree(arch):
    assert check(network(arch, 0.5, 160, 1000)).ok


def test_fvcore_extras_stay_out_of_the_comparison():
    """BatchNorm and pooling, which fvcore counts, are reported beside the mult-adds, not in them."""
    result = check(network("v2", 1.0, 224, 1000))
    layers = {c.name: c for c in result.layers}
    assert layers["conv1"].batch_norm_fvcore == 2 * 32 * 112 * 112  # fvcore, eval: 2 per element (affine)
    assert layers["pool"].pooling_fvcore == 1280 * 7 * 7 and layers["pool"].macs_fvcore == 0
    assert layers["fc"].batch_norm_fvcore == 0
    assert result.total.macs_fvcore == result.total.macs_analytic == 300_774_272


def test_json_schema_one_config(cli):
    out = cli("crosscheck", "--arch", "v1", "--alpha", "1.0", "--res", "224", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["ok"] is True and len(doc["configs"]) == 1
    config = doc["configs"][0]
    assert (config["arch"], config["alpha"], config["resolution"], config["ok"]) == ("v1", 1.0, [224, 224], True)
    assert config["totals"]["macs_fvcore"] == config["totals"]["macs_analytic"] == 568_740_352
    assert config["totals"]["params_module"] == config["totals"]["params_analytic"]
    assert len(config["layers"]) == 29
    for layer in config["layers"]:
        assert {"name", "macs_analytic", "macs_fvcore", "params_analytic", "params_module"} <= set(layer)


def test_comma_lists_are_the_cartesian_product(cli):
    out = cli("crosscheck", "--arch", "v1,v2", "--alpha", "0.5,0.25", "--res", "96,64x80", "--format", "json")
    assert out.returncode == 0, out.stderr
    configs = json.loads(out.stdout)["configs"]
    assert [(c["arch"], c["alpha"], c["resolution"]) for c in configs] == [
        (a, w, r) for a in ("v1", "v2") for w in (0.5, 0.25) for r in ([96, 96], [64, 80])]


def test_md_table_names_every_layer(cli):
    out = cli("crosscheck", "--arch", "v2", "--alpha", "0.35", "--res", "96", "--format", "md")
    assert out.returncode == 0, out.stderr
    assert "every layer agrees" in out.stdout
    for name in ("conv1", "block1.dw", "block17.project", "conv2", "pool", "fc", "total"):
        assert f"| {name} " in out.stdout


def test_grid_paper_passes_on_all_38_configs(cli):
    out = cli("crosscheck", "--grid", "paper", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["ok"] is True and len(doc["configs"]) == len(PAPER_GRID) == 38
    assert sum(c["arch"] == "v1" for c in doc["configs"]) == 16
    assert all(c["ok"] and len(c["layers"]) in (29, 54) for c in doc["configs"])
    assert {layer["name"]: layer["macs_fvcore"] for layer in doc["configs"][0]["layers"]}["fc"] == 1024 * 1001


@pytest.mark.parametrize("args", [
    ("--arch", "v9"), ("--alpha", "0"), ("--alpha", "1.0,nan"), ("--res", "224,0"), ("--res", "1,,2"),
    ("--classes", "0"), ("--grid", "table"), ("--grid", "paper", "--arch", "v1"), ("--format", "xml"),
])
def test_bad_input_exits_2_with_one_line(cli, args):
    out = cli("crosscheck", *args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith("mncost: error: ") and out.stderr.count("\n") == 1


def _run_main(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    return exit_info.value.code, capsys.readouterr()


def test_a_perturbed_conv_entry_fails_and_names_the_layer(monkeypatch, capsys):
    """Off by one for standard (groups 1) 3x3 convs in the op registry: only V1's stem conv1 is one."""
    from mncost.cost import aten

    true_conv = aten.REGISTRY["convolution"]

    def perturbed(a, out):
        cost = true_conv(a, out)
        off = a["groups"] == 1 and tuple(a["weight"][2:]) == (3, 3)
        return aten.OpCost(cost.macs + off, cost.work)

    monkeypatch.setitem(aten.REGISTRY, "convolution", perturbed)
    code, captured = _run_main(["crosscheck", "--arch", "v1", "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(captured.out)
    assert doc["ok"] is False
    failing = [layer["name"] for layer in doc["configs"][0]["layers"] if not layer["ok"]]
    assert failing == ["conv1"]
    assert "conv1: mult-adds 10838017 analytic vs 10838016 fvcore" in captured.err
    assert "block1.dw" not in captured.err


def test_a_perturbed_conv_layout_fails_on_every_depthwise_layer(monkeypatch, capsys):
    """Depthwise weights laid out without the k x k taps: the summary names each dw layer that disagrees."""
    from mncost.arch.records import Shape
    from mncost.cost import layout

    true_conv = layout.PARTS["conv2d"]

    def perturbed(layer):
        parts = true_conv(layer)
        if layer.groups == layer.in_channels == layer.out_channels:
            conv = parts[0]
            parts[0] = conv._replace(args={**conv.args, "weight": Shape((layer.out_channels, 1, 1, 1))})
        return parts

    monkeypatch.setitem(layout.PARTS, "conv2d", perturbed)
    code, captured = _run_main(["crosscheck", "--arch", "v2", "--alpha", "0.5,0.35", "--res", "96",
                                "--format", "md"], capsys)
    assert code == 1
    assert "0 of 2 configs agree" in captured.out
    named = [line.split(": ")[3] for line in captured.err.splitlines()]
    assert set(named) == {f"block{i}.dw" for i in range(1, 18)} | {"total"}


def test_the_analytic_path_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, mncost.cli, mncost.torch.crosscheck, mncost.torch; "
            "mncost.torch.crosscheck.configs('v1,v2', '1.0', '224', None, None); "
            "sys.exit(int(any(m in sys.modules for m in ('torch', 'fvcore'))))")
    assert subprocess.run([sys.executable, "-c", code], cwd=cli.__file__.rsplit("/mncost/", 1)[0]).returncode == 0
