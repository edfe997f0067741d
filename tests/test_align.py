"""The alignment on its own (no torch): edits planted in the paper's own layer list are found exactly."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mncost.torch.align import Entry, SIGNATURE, align, audit_entries, close, differences, paper_entries
from mncost.arch.v2 import Bottleneck
from mncost.arch.builder import build, get_spec, network
from mncost.cost.ops import layer_cost

NETS = {arch: network(arch) for arch in ("v1", "v2")}


def _signature(entry: Entry) -> tuple:
    return tuple(str(getattr(entry.layer, attr)) for attr in SIGNATURE if attr != "kind") + (entry.layer.kind,)


def _audit(model: list[Entry], arch: str):
    net = NETS[arch]
    return close("model", net, align(model, paper_entries(net)), sum(e.cost.macs for e in model),
                 sum(e.cost.params for e in model))


@pytest.mark.parametrize("arch", ["v1", "v2", "v1-fullconv", "v1-shallow"])
def test_the_paper_matches_itself(arch):
    net = network(arch)
    entries = paper_entries(net)
    result = close("paper", net, align(entries, entries), sum(e.cost.macs for e in entries),
                   sum(e.cost.params for e in entries))
    assert result.ok and result.matched == len(entries) and result.verdict().startswith("MATCH")


@settings(max_examples=40, deadline=None)
@given(arch=st.sampled_from(["v1", "v2"]), data=st.data())
def test_dropped_layers_are_exactly_the_missing_ones(arch, data):
    entries = paper_entries(NETS[arch])
    dropped = data.draw(st.sets(st.integers(0, len(entries) - 1), min_size=1, max_size=4))
    model = [e for i, e in enumerate(entries) if i not in dropped]
    result = _audit(model, arch)
    assert [f.kind for f in result.findings] == ["missing"] * len(dropped)
    # Among identical repeats another copy may be named, but the dropped signatures are exactly the missing ones.
    named = {e.layer.name: e for e in entries}
    assert Counter(_signature(named[f.paper_layer]) for f in result.findings) == \
        Counter(_signature(entries[i]) for i in dropped)
    assert sum(f.macs_delta for f in result.findings) == -sum(entries[i].cost.macs for i in dropped)
    assert sum(f.params_delta for f in result.findings) == -sum(entries[i].cost.params for i in dropped)


@settings(max_examples=40, deadline=None)
@given(arch=st.sampled_from(["v1", "v2"]), data=st.data())
def test_inserted_layers_are_exactly_the_extra_ones(arch, data):
    entries = paper_entries(NETS[arch])
    model = list(entries)
    inserted = []
    for n in range(data.draw(st.integers(1, 3))):
        channels = data.draw(st.integers(1, 4096))
        layer = replace(entries[0].layer, name=f"extra{n}", in_channels=channels, out_channels=channels + 1,
                        kernel=1, padding=0)
        extra = Entry(layer, layer_cost(layer))
        model.insert(data.draw(st.integers(0, len(model))), extra)
        inserted.append(extra)
    result = _audit(model, arch)
    assert sorted((f.kind, f.model_layer) for f in result.findings) == \
        sorted(("extra", e.layer.name) for e in inserted)
    assert sum(f.macs_delta for f in result.findings) == sum(e.cost.macs for e in inserted)


@pytest.mark.parametrize("attr, value, word", [("stride", 3, "stride"), ("kernel", 5, "kernel"),
                                               ("output_size", (9, 9), "output size")])
def test_a_changed_attribute_is_named(attr, value, word):
    entries = paper_entries(NETS["v1"])
    target = entries[5]
    layer = replace(target.layer, **{attr: value})
    model = entries[:5] + [Entry(layer, layer_cost(layer))] + entries[6:]
    (finding,) = _audit(model, "v1").findings
    assert (finding.kind, finding.model_layer, finding.paper_layer) == ("changed", target.layer.name,
                                                                        target.layer.name)
    assert finding.detail.startswith(f"{word} {value if attr != 'output_size' else '9x9'}")
    assert differences(layer, target.layer) == [attr]
    assert finding.macs_delta == layer_cost(layer).macs - target.cost.macs


def test_bias_and_batchnorm_differences_are_params_findings():
    entries = paper_entries(NETS["v2"])
    biased = replace(entries[0].layer, bias=True)
    bare_fc = replace(entries[-1].layer, bias=False)
    model = [Entry(biased, layer_cost(biased)), *entries[1:-1], Entry(bare_fc, layer_cost(bare_fc))]
    findings = _audit(model, "v2").findings
    assert [(f.kind, f.paper_layer, f.params_delta, f.macs_delta) for f in findings] == \
        [("params", "conv1", 32, 0), ("params", "fc", -1000, 0)]
    assert "bias where the paper has none" in findings[0].detail
    assert "no bias where the paper has one" in findings[1].detail


def test_a_1x1_conv_classifier_stands_for_the_fc():
    entries = paper_entries(NETS["v2"])
    fc = entries[-1].layer
    conv = replace(fc, name="output", op="conv2d", bias=True)
    assert layer_cost(conv) == layer_cost(fc)
    result = _audit([*entries[:-1], Entry(conv, layer_cost(conv))], "v2")
    assert result.ok and any("1x1 conv in place of the paper's FC" in note for note in result.notes)


def test_the_json_document_has_the_documented_fields():
    entries = paper_entries(NETS["v1"])
    doc = _audit(entries[:-2] + entries[-1:], "v1").to_dict()
    assert doc["ok"] is False
    assert set(doc["totals"]) == {"macs_model", "macs_paper", "params_model", "params_paper"}
    assert set(doc["findings"][0]) >= {"kind", "model_layer", "paper_layer", "detail", "macs_delta", "params_delta"}


def test_the_alignment_does_not_import_torch():
    code = "import sys, mncost.torch.align; sys.exit(any(m in sys.modules for m in ('torch', 'fvcore')))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("arch, alpha, change, model_alpha, words", [
    ("v2", 0.75, {"rounding": "floor"}, 0.75,
     "widths rounded with int(c x alpha) instead of the nearest multiple of 8: block1.project 12 vs 16, "
     "block2.project 18 vs 24, block3.project 18 vs 24; the layers after follow"),
    ("v2", 0.5, {"thin_head": True}, 0.5, "head conv thinned by alpha: conv2 640 vs 1280"),
    ("v1", 0.5, {"stem": 64}, 0.5, "stem conv not thinned by alpha (32 channels): conv1 32 vs 16"),
    ("v1", 1.0, {}, 0.5, "width multiplier 0.5 instead of 1: conv1 16 vs 32, block1.pw 32 vs 64"),
    ("v2", 1.0, {"rows": (Bottleneck(1, 16, 1, 1), Bottleneck(6, 24, 2, 2), Bottleneck(6, 40, 3, 2))}, 1.0,
     "table row 3 (Bottleneck t 6, c 32, n 3, s 2) with c = 40: block4.project 40 vs 32"),
])
def test_one_rule_explains_a_set_of_changes_with_their_total_delta(arch, alpha, change, model_alpha, words):
    # The model is the paper's own network under one spec change: the audit names that change once, as a rule
    # whose delta is the whole difference, and finds nothing else.
    spec, net = get_spec(arch), network(arch, alpha)
    if "rows" in change:
        change = {"rows": change["rows"] + get_spec(arch).rows[3:]}
    model = paper_entries(build(replace(spec, **change), model_alpha, net.resolution, net.num_classes))
    result = audit_entries("model", net, model, sum(e.cost.macs for e in model), sum(e.cost.params for e in model),
                           spec=spec)
    (rule,) = result.findings
    assert rule.kind == "rule" and rule.detail.startswith(words), rule.detail
    assert (rule.macs_delta, rule.params_delta) == (result.macs_model - result.macs_paper,
                                                    result.params_model - result.params_paper) != (0, 0)
    assert result.matched == len(model)
