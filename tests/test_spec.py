"""Spec files: the shipped examples equal the built-ins, a spec-file V2 crosschecks against fvcore, bad specs fail clearly."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, run_cli
from mncost import MncostError, network
from mncost.arch.builder import SPECS
from mncost.cost.ops import network_costs
from mncost.arch.specfile import load_spec

EXAMPLES = ROOT / "examples"
CONFIGS = [(1.0, 224, 1000), (0.35, 96, 1001), (0.75, (160, 192), 10), (1.4, 224, 1000), (0.1, 33, 7)]


@pytest.mark.parametrize("name", ["v1", "v2", "v4-conv-small", "v4-hybrid-medium"])
def test_example_spec_is_the_builtin(name):
    path = EXAMPLES / f"{name}.toml"
    assert load_spec(path) == SPECS[name]
    for alpha, res, classes in CONFIGS:
        from_file, builtin = network(str(path), alpha, res, classes), network(name, alpha, res, classes)
        assert from_file.layers == builtin.layers  # every field of every layer: shapes, groups, shortcuts
        assert network_costs(from_file) == network_costs(builtin)
        assert from_file.dropout == builtin.dropout and from_file.notes == builtin.notes


def test_spec_file_works_through_the_cli_like_the_builtin():
    from_file = run_cli("table", "--arch", "examples/v2.toml", "--alpha", "0.5", "--res", "160", "--format", "json")
    builtin = run_cli("table", "--arch", "v2", "--alpha", "0.5", "--res", "160", "--format", "json")
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout) == json.loads(builtin.stdout)


def test_custom_example_follows_its_table():
    spec = load_spec(EXAMPLES / "v2-slim.toml")
    net = network(spec, 1.0, 224, 1000)
    assert [layer.out_channels for layer in net.layers if layer.name.endswith(".expand")][:2] == [16 * 4, 24 * 4]
    assert sum(row.n for row in spec.rows) == 15 and net.layer("conv2").out_channels == 1024
    assert network(spec, 0.5, 224).layer("conv2").out_channels == 512  # thin_head = true


@pytest.mark.parametrize("alpha,res", [(1.0, 224), (0.5, (160, 192))])
def test_spec_file_v2_crosschecks_against_fvcore(alpha, res):
    from mncost.torch.crosscheck import check

    result = check(network(str(EXAMPLES / "v2.toml"), alpha, res, 1000))
    assert result.ok, [layer.name for layer in result.layers if not layer.ok]
    assert len(result.layers) == len(network("v2", alpha, res).layers)


V2_HEAD = 'stem = 32\nrounding = "divisible"\n'
V4_HEAD = 'stem = 32\nhead = 960\npooled_head = 1280\nrounding = "divisible"\nstages = ['
GOOD_STAGES = 'stages = [{t = 1, c = 16, n = 1, s = 1}, {t = 6, c = 24, n = 2, s = 2}, {t = 6, c = 32, n = 3, s = 2}]\n'


@pytest.mark.parametrize("text,key,problem", [
    (V2_HEAD + 'stages = [{t = 1, c = 16, n = 1, s = 1}, {t = 6, c = 24, n = 2, s = 2}, {t = 0, c = 32, n = 3, s = 2}]',
     "stages[2].t", "> 0"),
    (V2_HEAD + 'stages = [{t = 1, c = 16, n = 1}]', "stages[0].s", "missing"),
    (V2_HEAD + 'stages = [{t = 1, c = 16.5, n = 1, s = 1}]', "stages[0].c", "integer"),
    (V2_HEAD + 'stages = [{t = 1, c = 16, n = 1, s = 1, k = 5}]', "stages[0].k", "unknown key"),
    (V2_HEAD + 'stages = [{c = 16, s = 1, type = "dense"}]', "stages[0].type", "one of"),
    (V2_HEAD + 'stages = [{c = 64, s = 1, n = true}]', "stages[0].n", "integer"),
    (V2_HEAD + 'stages = [3]', "stages[0]", "table"),
    (V2_HEAD + 'stages = []', "stages", "at least one"),
    (V2_HEAD, "stages", "missing"),
    ('rounding = "floor"\n' + GOOD_STAGES, "stem", "missing"),
    ('stem = -32\n' + GOOD_STAGES, "stem", "> 0"),
    ('stem = 32\nrounding = "ceil"\n' + GOOD_STAGES, "rounding", "floor, divisible"),
    ('stem = 32\nactivation = "swish"\n' + GOOD_STAGES, "activation", "relu, relu6, hswish, gelu"),
    ('stem = 32\nhead = "big"\n' + GOOD_STAGES, "head", "integer"),
    ('stem = 32\nthin_head = 1\n' + GOOD_STAGES, "thin_head", "true or false"),
    ('stem = 32\ndropout = 1.5\n' + GOOD_STAGES, "dropout", "[0, 1)"),
    ('stem = 32\nwidth = 2\n' + GOOD_STAGES, "width", "unknown key"),
    ('stem = 32\nstages = [{t = 1, c = 16', "", "not valid TOML"),
    ('stem = 32\npooled_head = "wide"\n' + GOOD_STAGES, "pooled_head", "integer"),
    ('stem = 32\npooled_head_norm = "yes"\n' + GOOD_STAGES, "pooled_head_norm", "true or false"),
    ('stem = 32\nstem_fixed_below = -1\n' + GOOD_STAGES, "stem_fixed_below", ">= 0"),
    # [V4] rows
    (V4_HEAD + '{type = "uib", start_dw = 3, middle_dw = 3, s = 1, c = 64, e = 0}]', "stages[0].e", "(0, 64]"),
    (V4_HEAD + '{type = "uib", start_dw = 3, middle_dw = 3, s = 1, c = 64, e = true}]', "stages[0].e", "number"),
    (V4_HEAD + '{type = "uib", start_dw = -3, middle_dw = 3, s = 1, c = 64, e = 4}]', "stages[0].start_dw", "> -1"),
    (V4_HEAD + '{type = "uib", start_dw = 0, middle_dw = 0, s = 2, c = 64, e = 4}]', "stages[0].s", "no depthwise"),
    (V4_HEAD + '{type = "uib", start_dw = 3, middle_dw = 0, s = 1, c = 64}]', "stages[0].e", "missing"),
    (V4_HEAD + '{type = "uib", start_dw = 3, middle_dw = 0, s = 1, c = 64, e = 4, layer_scale = 1}]',
     "stages[0].layer_scale", "true or false"),
    (V4_HEAD + '{type = "fused_ib", k = 3, s = 2, c = 48, e = 4, t = 6}]', "stages[0].t", "unknown key"),
    (V4_HEAD + '{type = "convbn", k = 0, s = 2, c = 48}]', "stages[0].k", "> 0"),
    (V4_HEAD + '{type = "uib", start_dw = 0, middle_dw = 6, s = 1, c = 64, e = 4}]', "stages[0].middle_dw", "odd"),
    (V4_HEAD + '{type = "bneck", k = 4, exp = 16, out = 16, se = false, nl = "RE", s = 1}]', "stages[0].k", "odd"),
    (V4_HEAD + '{type = "mqa", heads = 4, key_dim = 64, value_dim = 64, kv_strides = 2, c = 64, s = 2}]',
     "stages[0].s", "query strides"),
    (V4_HEAD + '{type = "mqa", heads = 0, key_dim = 64, value_dim = 64, kv_strides = 2, c = 64}]',
     "stages[0].heads", "> 0"),
    (V4_HEAD + '{type = "mqa", heads = 4, key_dim = 64, kv_strides = 2, c = 64}]', "stages[0].value_dim", "missing"),
])
def test_bad_spec_names_file_key_and_problem(tmp_path, text, key, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(MncostError) as error:
        load_spec(path)
    message = str(error.value)
    assert message.startswith(f"spec file {path}: ")
    assert not key or f": {key}: " in message
    assert problem in message and "\n" not in message


@pytest.mark.parametrize("command", [["table"], ["sweep", "--alpha", "1", "--res", "224"], ["fit"]])
def test_bad_spec_through_the_cli_is_one_line_exit_2(tmp_path, command):
    path = tmp_path / "bad.toml"
    path.write_text(V2_HEAD + 'stages = [{t = 1, c = 16, n = 1, s = 1}, {t = 6, c = 24, n = 2, s = 2}, '
                              '{t = -6, c = 32, n = 3, s = 2}]')
    out = run_cli(*command, "--arch", str(path))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == f"mncost: error: spec file {path}: stages[2].t: must be > 0, got -6"
    missing = run_cli(*command, "--arch", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "nope.toml: no such file" in missing.stderr


V4_STAGES = {
    "convbn": '{type = "convbn", k = 3, s = 2, c = 32}',
    "fused_ib": '{type = "fused_ib", k = 3, s = 1, c = 48, e = 4.0}',
    "uib": '{type = "uib", start_dw = 3, middle_dw = 5, s = 2, c = 64, e = 4, layer_scale = true}',
    "ffn": '{type = "uib", start_dw = 0, middle_dw = 0, s = 1, c = 64, e = 2, n = 2}',
    "mqa": '{type = "mqa", heads = 2, key_dim = 16, value_dim = 24, kv_strides = 2, c = 64, layer_scale = true}',
}


@pytest.mark.parametrize("alpha,res", [(1.0, 96), (0.5, (64, 80))])
def test_a_spec_file_of_every_v4_row_type_crosschecks_against_fvcore(tmp_path, alpha, res):
    """A custom V4-style network from a file: every layer, attention matmuls included, equal to fvcore."""
    from mncost.torch.crosscheck import check

    path = tmp_path / "mini-v4.toml"
    path.write_text(V4_HEAD.replace("stages = [", "pooled_head_norm = true\nstages = [")
                    + ", ".join(V4_STAGES.values()) + "]\n")
    net = network(str(path), alpha, res, 10)
    assert {"attn_qk", "attn_av", "layerscale", "batchnorm"} <= {layer.op for layer in net.layers}
    result = check(net)
    assert result.ok, [layer.name for layer in result.layers if not layer.ok]
