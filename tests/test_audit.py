"""`mncost audit` on MobileNets written from scratch with planted deviations, and on pytorchcv's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mncost.errors import MncostError
from mncost.torch.audit import audit

MODELS = str(Path(__file__).with_name("audit_models.py"))


def _target(name: str) -> str:
    return f"{MODELS}:{name}"


def _closes(result) -> None:
    assert sum(f.macs_delta for f in result.findings) == result.macs_model - result.macs_paper
    assert sum(f.params_delta for f in result.findings) == result.params_model - result.params_paper


def _fvcore_macs(model) -> int:
    """fvcore's conv + linear count of the whole model, measured here on its own."""
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model.eval(), torch.zeros(1, 3, 224, 224))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    ops = analysis.by_operator()
    return ops.get("conv", 0) + ops.get("linear", 0)


@pytest.mark.parametrize("name, arch", [("MobileNetV1", "v1"), ("MobileNetV2", "v2")])
def test_from_scratch_models_as_in_the_papers_match(name, arch):
    result = audit(_target(name), arch)
    assert result.ok and result.findings == ()
    assert result.macs_model == result.macs_paper and result.params_model == result.params_paper


def test_from_scratch_v2_has_torchvisions_documented_params():
    # torchvision documents 3,504,872 params for mobilenet_v2 (BatchNorm and the FC bias included).
    assert audit(_target("MobileNetV2"), "v2").params_model == 3_504_872


def test_extra_expand_conv_in_the_t1_block():
    result = audit(_target("v2_extra_expand"), "v2")
    (finding,) = result.findings
    assert (finding.kind, finding.model_layer, finding.paper_layer) == ("extra", "features.1.conv.0.0", None)
    assert finding.macs_delta == 32 * 32 * 112 * 112  # a 1x1 conv 32 -> 32 on a 112x112 map
    assert finding.params_delta == 32 * 32 + 2 * 32  # its weights and its BatchNorm
    assert "t = 1" in finding.detail
    assert result.params_model == 3_505_960  # the figure from the from-scratch model
    _closes(result)


def test_wrong_stride_is_the_root_and_the_rest_follows():
    result = audit(_target("v1_wrong_stride"), "v1")
    first, *rest = result.findings
    assert (first.kind, first.model_layer, first.paper_layer, first.cause) == \
        ("changed", "features.3.0", "block2.dw", None)
    assert first.detail.startswith("stride 1 vs 2")
    assert first.macs_delta == 3 * 3 * 64 * (112 * 112 - 56 * 56)
    assert rest and all(f.kind == "changed" and f.cause == "features.3.0" for f in rest)
    assert "following from features.3.0" in result.verdict()
    _closes(result)


def test_missing_block():
    result = audit(_target("v1_missing_block"), "v1")
    assert [f.kind for f in result.findings] == ["missing", "missing"]
    dw, pw = (f.paper_layer for f in result.findings)
    assert dw.endswith(".dw") and pw == dw.replace(".dw", ".pw")
    assert dw.split(".")[0] in {f"block{i}" for i in range(7, 12)}  # one of the five 14x14x512 blocks
    assert [f.macs_delta for f in result.findings] == [-9 * 512 * 14 * 14, -512 * 512 * 14 * 14]
    assert [f.params_delta for f in result.findings] == [-(9 * 512 + 2 * 512), -(512 * 512 + 2 * 512)]
    _closes(result)


def test_thinned_stage_is_one_table_row_rule():
    # One row of [V2] Table 2 (t 6, c 24, n 2, s 2) built with c = 16: both of its blocks' projections narrow, the
    # layers after follow. That is one rule, named once, carrying the whole difference fvcore measures.
    from audit_models import v2_thinned

    result = audit(_target("v2_thinned"), "v2")
    (rule,) = result.findings
    assert (rule.kind, rule.cause) == ("rule", None)
    assert rule.detail.startswith("table row 2 (Bottleneck t 6, c 24, n 2, s 2) with c = 16: "
                                  "block2.project 16 vs 24, block3.project 16 vs 24")
    assert result.macs_model == _fvcore_macs(v2_thinned())
    assert rule.macs_delta == result.macs_model - result.macs_paper
    _closes(result)


def test_bias_where_the_paper_has_none():
    result = audit(_target("v1_stem_bias"), "v1")
    (finding,) = result.findings
    assert (finding.kind, finding.model_layer, finding.paper_layer) == ("params", "features.0.0", "conv1")
    assert (finding.macs_delta, finding.params_delta) == (0, 32)
    assert "bias where the paper has none" in finding.detail


def test_parameters_outside_any_layer_close_the_sum():
    result = audit(_target("V2WithScale"), "v2")
    (finding,) = result.findings
    assert (finding.kind, finding.model_layer, finding.params_delta) == ("params", "scale", 1000)
    _closes(result)


def test_classes_read_off_the_last_layer_and_kwargs_passed():
    result = audit(_target("MobileNetV2(num_classes=10, width=0.5)"), "v2", alpha=0.5)
    assert result.ok and result.network.num_classes == 10
    (finding,) = audit(_target("MobileNetV2(num_classes=10)"), "v2", classes=1000).findings
    assert (finding.kind, finding.paper_layer) == ("changed", "fc")
    assert finding.detail == "out channels 10 vs 1000"


def test_other_resolution_and_keyword_inputs():
    result = audit(_target("MobileNetV2"), "v2", res="160x192")
    assert result.ok and result.network.resolution == (160, 192)
    assert audit(_target("KeywordCalls"), "v1").ok


def test_classifier_with_the_wrong_input_size_cannot_run():
    with pytest.raises(MncostError, match=r"classifier \(Linear\): expects in_features 1280, gets .* 1024"):
        audit(_target("v1_bad_classifier"), "v1")


def test_pytorchcv_mobilenet_matches():
    result = audit("pytorchcv.models.mobilenet:mobilenet_w1", "v1")
    assert result.ok and result.matched == 28


def test_pytorchcv_mobilenetv2_deviates_and_the_deltas_add_up():
    from pytorchcv.models.mobilenetv2 import mobilenetv2_w1

    result = audit("pytorchcv.models.mobilenetv2:mobilenetv2_w1", "v2")
    assert not result.ok
    assert [(f.kind, f.model_layer, f.paper_layer) for f in result.findings] == [
        ("extra", "features.stage1.unit1.conv1.conv", None),  # the t = 1 block keeps its expand conv
        ("params", "output", "fc"),  # the classifier: a 1x1 conv without bias
    ]
    assert "no bias where the paper has one" in result.findings[1].detail
    assert result.macs_model == _fvcore_macs(mobilenetv2_w1())
    assert result.macs_model - result.macs_paper == 12_845_056  # the measured difference, from the issue
    assert sum(f.macs_delta for f in result.findings) == 12_845_056
    _closes(result)


def test_geffnet_mobilenetv2_matches():
    result = audit("geffnet.gen_efficientnet:mobilenetv2_100", "v2")
    assert result.ok and result.matched == 53 and result.params_model == 3_504_872


def test_pytorchcv_thinned_v2_rounds_widths_down():
    # pytorchcv thins with int(c * 0.75) (16 -> 12, 24 -> 18); [V2]'s reference rounds to a multiple of 8 (16, 24).
    # That one rule is named once; its delta is what pytorchcv's own model without the t = 1 expand conv
    # (remove_exp_conv=True), measured by fvcore, differs from the paper by (its FC has no bias: 1,000 params).
    from pytorchcv.models.mobilenetv2 import get_mobilenetv2

    result = audit("pytorchcv.models.mobilenetv2:mobilenetv2_w3d4", "v2", alpha=0.75)
    assert [(f.kind, f.model_layer, f.paper_layer) for f in result.findings] == [
        ("rule", None, None), ("extra", "features.stage1.unit1.conv1.conv", None), ("params", "output", "fc")]
    rule = result.findings[0]
    assert rule.detail.startswith("widths rounded with int(c x alpha) instead of the nearest multiple of 8: "
                                  "block1.project 12 vs 16, block2.project 18 vs 24, block3.project 18 vs 24")
    plain = get_mobilenetv2(0.75, remove_exp_conv=True)
    assert rule.macs_delta == _fvcore_macs(plain) - result.macs_paper
    assert rule.params_delta == sum(p.numel() for p in plain.parameters()) + 1000 - result.params_paper
    _closes(result)


def test_a_projection_is_not_blamed_on_its_input():
    # Without the rules, block2.project's "out channels 18 vs 24" is its own int(24 x 0.75) rounding, not a
    # consequence of stage 1 (a projection's width is its own table entry, whatever its input).
    from mncost.torch.align import align, close, paper_entries
    from mncost.arch.builder import network
    from mncost.torch.audit import extract
    from mncost.torch.target import load_target

    found = extract(load_target("pytorchcv.models.mobilenetv2:mobilenetv2_w3d4"), (224, 224))
    net = network("v2", 0.75)
    result = close("w3d4", net, align(found.entries, paper_entries(net)), found.macs, found.params, found.unowned)
    by_paper = {f.paper_layer: f for f in result.findings}
    assert (by_paper["block2.project"].cause, by_paper["block3.project"].cause) == (None, None)
    assert by_paper["block2.project"].detail == "in channels 72 vs 96; out channels 18 vs 24"
    assert by_paper["block2.expand"].cause == "features.stage1.unit1.conv3.conv"  # t x its input: follows
    _closes(result)


def test_cli_exit_codes_and_json(cli):
    ok = cli("audit", "pytorchcv.models.mobilenet:mobilenet_w1", "--arch", "v1", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    bad = cli("audit", _target("v2_extra_expand"), "--arch", "v2", "--format", "json")
    assert bad.returncode == 1, bad.stderr
    doc = json.loads(bad.stdout)
    assert doc["ok"] is False and doc["findings"][0]["macs_delta"] == 12_845_056
    assert doc["totals"]["params_model"] - doc["totals"]["params_paper"] == 1088


def test_cli_md_report_names_the_deviation(cli):
    out = cli("audit", _target("v2_extra_expand"), "--arch", "v2", "--format", "md")
    assert out.returncode == 1
    assert "features.1.conv.0.0" in out.stdout and "+12,845,056" in out.stdout
    assert "add up exactly" in out.stdout and "DEVIATES" in out.stdout


@pytest.mark.parametrize("target, message, arch", [
    ("tests/nosuch.py:Net", "no such file", "v1"),
    (_target("Nope"), "has no 'Nope'", "v1"),
    (_target("NOT_A_MODEL"), "is a builtins.int, not an nn.Module class or a function", "v1"),
    (_target("broken_factory"), "raised RuntimeError: weights file missing", "v1"),
    (_target("MobileNetV2(width="), "is invalid; use path/to/file.py:NAME", "v1"),
    (_target("MobileNetV2(width=__import__('os'))"), "arguments must be literals", "v1"),
    ("no_such_package.models:Net", "cannot import module", "v1"),
    ("tests/conftest.py", "target 'tests/conftest.py' is invalid", "v1"),
    (_target("MobileNetV1"), "unknown arch 'v3'", "v3"),
    (_target("v1_bad_classifier"), "expects in_features 1280", "v1"),
])
def test_cli_unloadable_or_failing_targets_exit_2_with_one_line(cli, target, message, arch):
    out = cli("audit", target, "--arch", arch)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mncost: error:") and message in lines[0], out.stderr


def test_a_file_that_does_not_import_exits_2(cli, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nclass Net(torch.nn.Module:\n    pass\n")
    out = cli("audit", f"{broken}:Net")
    assert out.returncode == 2 and out.stdout == ""
    line = out.stderr.strip()
    assert line.startswith(f"mncost: error: cannot load {str(broken)!r}: SyntaxError: ") and "line 2" in line
    assert "\n" not in line
