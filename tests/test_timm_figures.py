"""The timm convention against timm's own published figures (results/benchmark-infer-*.csv, recorded in
mncost/paper/data.py with its commit), counted by the preset and rounded as timm's benchmark.py rounds
(Python's round). A model a built-in arch equals is traced once, at its smallest published size, and must give
the arch's integers exactly: `mncost paper timm` (tests/test_paper.py) then checks every published size of it.
Every other published model is traced at each of its sizes."""

from __future__ import annotations

import functools
from dataclasses import replace
from decimal import Decimal

import pytest

from conftest import import_timm
from mncost.arch.builder import get_spec, network
from mncost.cost.conventions import CONVENTIONS, _timm
from mncost.paper import data
from mncost.paper.compare import at_precision
from mncost.paper.libraries import TIMM_TWINS, as_timm_runs_it, timm_activations, timm_values

torch = pytest.importorskip("torch")

TIMM = CONVENTIONS["timm"]


def test_the_timm_preset_is_fvcore_plus_the_attention_matmuls():
    fvcore = CONVENTIONS["fvcore"]
    attention = (fvcore.ops or {}).get("attention", 0) + 1  # fvcore's attention terms, and the matmuls once more
    assert TIMM.ops == {**(fvcore.ops or {}), "attention": attention} and TIMM.params == fvcore.params
    # derived, not copied: a change to fvcore's scales carries over
    grown = _timm(replace(fvcore, ops={**(fvcore.ops or {}), "layer_scale": 1}))
    assert grown.ops is not None and grown.ops["layer_scale"] == 1 and grown.ops["attention"] == attention


@functools.lru_cache(maxsize=None)  # one forward pass per model and size for the whole file
def _traced(model_name: str, resolution: int):
    from mncost.torch.fold import network_of
    from mncost.torch.trace import trace

    timm = import_timm()  # the torchvision stand-in first
    model = timm.utils.reparameterize_model(timm.create_model(model_name))  # benchmark.py --reparam (most: no-op)
    return model, network_of(trace(model, torch.zeros(1, 3, resolution, resolution)), model_name)


TRACED = [fig for fig in data.TIMM_FIGURES if fig.model not in TIMM_TWINS]


@pytest.mark.parametrize("fig", TRACED, ids=lambda fig: f"{fig.model}-{fig.resolution}")
def test_timm_published_gmacs_and_activations_from_the_traced_model(fig):
    _, net = _traced(fig.model, fig.resolution)
    values = timm_values(net)
    for key, printed in (("gmacs", fig.gmacs), ("macts_m", fig.macts_m)):
        assert at_precision(values[key], printed, "python") == Decimal(printed), (key, values[key], printed)


@pytest.mark.parametrize("fig", TRACED, ids=lambda fig: f"{fig.model}-{fig.resolution}")
def test_timm_published_params_from_the_traced_model(fig):
    model, net = _traced(fig.model, fig.resolution)
    params = sum(p.numel() for p in model.parameters())
    assert at_precision(Decimal(params) / 10**6, fig.params_m, "python") == Decimal(fig.params_m)  # timm's own count
    assert TIMM.param_total(net) == params


@pytest.mark.parametrize("model_name", sorted(TIMM_TWINS))
def test_each_twin_arch_equals_the_timm_model_exactly(model_name):
    """The analytic `timm` table's rows: the built-in arch, run as timm runs it, gives timm's model's integers."""
    resolution = min(fig.resolution for fig in data.TIMM_FIGURES if fig.model == model_name)
    model, traced = _traced(model_name, resolution)
    arch, alpha = TIMM_TWINS[model_name]
    twin = as_timm_runs_it(network(get_spec(arch, "timm") if arch.startswith("v3") else get_spec(arch), alpha,
                                   resolution))
    assert TIMM.total(twin) == TIMM.total(traced)
    assert TIMM.param_total(twin) == TIMM.param_total(traced) == sum(p.numel() for p in model.parameters())
    assert timm_activations(twin) == timm_activations(traced)


def test_hybrid_figures_need_the_attention_matmuls():
    """fvcore alone skips scaled_dot_product_attention: 0.95 G for mobilenetv4_hybrid_medium at 224, printed 0.98."""
    _, net = _traced("mobilenetv4_hybrid_medium", 224)
    fvcore = CONVENTIONS["fvcore"].total(net) or 0
    assert round(fvcore / 1e9, 2) == 0.95 and round((TIMM.total(net) or 0) / 1e9, 2) == 0.98
