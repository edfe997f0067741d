"""The Keras and torchvision presets reproduce the figures those projects publish, exactly where they are exact.

The published figures live here, as reference data with their sources; mncost computes its own.
"""

from __future__ import annotations

import json

import pytest

from mncost.cost.conventions import compare

from conftest import run_cli

# keras-team/keras-io templates/api/applications/index.md (commit 01b6d6c4), the "Parameters" column,
# which is model.summary()'s "Total params" of keras.applications.MobileNet / MobileNetV2 (1000 classes).
KERAS_TOTAL_PARAMS = {"v1": 4_253_864, "v2": 3_538_984}
# torchvision/models/mobilenetv2.py, MobileNet_V2_Weights.IMAGENET1K_V1 meta: num_params and _ops
# (the docs' "GFLOPS" column, 0.30). torchvision ships no MobileNetV1.
TORCHVISION_V2 = {"num_params": 3_504_872, "_ops": 0.301}


def _entries(arch: str) -> dict:
    return {e.convention.name: e for e in compare(arch, 1.0, 224, 1000).entries}


@pytest.mark.parametrize("arch", ["v1", "v2"])
def test_keras_preset_is_model_summarys_total_params(arch):
    keras = _entries(arch)["keras"]
    assert keras.params == KERAS_TOTAL_PARAMS[arch]
    assert keras.total is None and keras.delta is None  # model.summary() prints no ops


def test_keras_counts_the_batchnorm_buffers_beside_pytorchs_parameters():
    # Keras's 4 numbers per BatchNorm channel against PyTorch's 2 trainable ones: the BN buffers.
    for arch in ("v1", "v2"):
        e = _entries(arch)
        assert e["keras"].params - e["pytorch"].params == e["pytorch"].params_terms["bn_params"] > 0


def test_torchvision_preset_is_the_documented_gflops_and_num_params():
    tv = _entries("v2")["torchvision"]
    assert tv.params == TORCHVISION_V2["num_params"]
    assert round(tv.total / 1e9, 3) == TORCHVISION_V2["_ops"]
    assert f"{tv.total / 1e9:.2f}" == "0.30"  # the docs' table
    # "GFLOPS" that are mult-adds: half of what a 2-FLOPs-per-multiply-add counter prints.
    assert _entries("v2")["torch-flop-counter"].total == 2 * tv.total


def test_compare_shows_both_presets_with_their_sources():
    out = run_cli("compare", "--arch", "v2", "--format", "json")
    rows = {c["name"]: c for c in json.loads(out.stdout)["conventions"]}
    assert rows["keras"]["params"] == KERAS_TOTAL_PARAMS["v2"] and rows["keras"]["total"] is None
    assert rows["torchvision"]["params"] == TORCHVISION_V2["num_params"]
    assert "model.summary" in rows["keras"]["tool"] and "torchvision" in rows["torchvision"]["tool"]
    assert "keras.io" in rows["keras"]["rule"] and "PR #6936" in rows["torchvision"]["rule"]
    md = run_cli("compare", "--arch", "v1", "--format", "md").stdout
    assert "| keras " in md and "| torchvision " in md and "no ops" in md
