"""The op registry on one small model per op: every count derived by hand here, equal to torch's flop counter
where it has a formula for the op, and every counter's prediction equal to what it measures."""

from __future__ import annotations

import functools
import json

import pytest
import torch
from torch.utils import flop_counter

from mncost.cost.conventions import ledger
from mncost.cost.model import work
from mncost.cost.ops import total_cost
from mncost.torch.model import model_network
from mncost.torch.measure import TOOLS, measure_module

from conftest import run_cli

SHAPES = {"Transposed": (1, 3, 16, 16), "Pools": (1, 3, 10, 10), "Conv1d": (1, 3, 8, 32)}


@functools.lru_cache(maxsize=None)
def traced(name: str, shape: tuple[int, ...] | None = None):
    return model_network(f"tests/op_models.py:{name}", shape or SHAPES.get(name, (1, 3, 8, 8)))


def macs(name: str) -> int:
    return total_cost(traced(name)[1]).macs


def params(name: str) -> int:
    return total_cost(traced(name)[1]).params


def kinds(name: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for layer in traced(name)[1].layers:
        for kind, n in work(layer).items():
            total[kind] = total.get(kind, 0) + n
    return total


def flop_counter_macs(name: str) -> int:
    module, net = traced(name)
    with torch.no_grad(), flop_counter.FlopCounterMode(display=False) as counter:
        module(torch.zeros(SHAPES.get(name, (1, 3, 8, 8))))
    return counter.get_total_flops() // 2


# (model, multiply-adds derived by hand, parameters the forward pass reads (weights and biases), True: torch's
# flop counter has a formula for every op with multiply-adds in it)
HAND = [
    ("Conv1d", 16 * 32 * 8 * 3, 16 * 8 * 3 + 16, True),  # out channels x positions x in channels x kernel
    ("NonSquare", 8 * (8 * 4) * 3 * 5 + 8 * (8 * 4) * 5, 8 * 3 * 5 + 8 * 5, True),  # (1,5) stride (1,2); (5,1) dw
    ("Conv3d", 4 * (2 * 8 * 8) * 3 * 27, 4 * 3 * 27, True),
    # the ConvTranspose2d: each of 32 x 16 x 16 inputs meets 16 outputs x 4 x 4 taps (not 16,777,216)
    ("Transposed", 32 * 16 * 16 * 3 + 32 * 16 * 16 * 16 * 16, 32 * 3 + 32 * 16 * 16, True),
    ("GroupedDilated", 12 * 64 * 1 * 9 + 12 * 64 * 12 * 9, 12 * 9 + 12 * 12 * 9, True),
    ("ChannelsLast", 64 * 3 * 10, 3 * 10 + 10, True),  # per token: 8 x 8 tokens
    # addmm (1x8)@(8x10) is 80 (not 100); bmm, baddbmm and a broadcast matmul: 3 x 8 x 8 x 8 each
    ("MatrixProducts", 1 * 8 * 10 + 3 * 8 ** 3 * 3, 8 * 10 + 10, True),
    ("Attention", 2 * 4 * 64 * 64 * (16 + 16), 0, False),  # heads x L x S x (E + Ev), fused and math path
    # the nn.MultiheadAttention: Q, K, V projections, attention, output projection (not 262,144)
    ("MultiheadAttention", 3 * 64 * 64 * 64 + 64 * 64 * 2 * 64 + 64 * 64 * 64, 3 * 64 * 64 + 3 * 64 + 64 * 64 + 64,
     False),
    ("Einsum", 3 * 8 * 8 * 8 + 1 * 3 * 8 * 8 * 8, 0, True),
    ("Bilinear", 2 * 4 * 8 * 6, 4 * 8 * 6 + 4, False),  # samples x out x in1 x in2 (nn.Bilinear's _trilinear)
    # gates x hidden x (input + hidden) per step (2 sequences x 5 steps), layer and direction
    ("Recurrent", 10 * (2 * 4 * 16 * (8 + 16) + 2 * 4 * 16 * (32 + 16) + 3 * 16 * (32 + 16) + 8 * (16 + 8)),
     2 * (64 * 8 + 64 * 16 + 2 * 64) + 2 * (64 * 32 + 64 * 16 + 2 * 64) + 48 * 32 + 48 * 16 + 2 * 48
     + 8 * 16 + 8 * 8 + 2 * 8, False),
    ("Shared", 2 * 3 * 64 * 27 + 3 * 64 * 9 + 3 * 64, 3 * 27, True),  # one weight twice; a buffer; a constant
]


@pytest.mark.parametrize("name,expected_macs,expected_params,defined", HAND)
def test_multiply_adds_are_derived_by_hand(name, expected_macs, expected_params, defined):
    assert macs(name) == expected_macs
    assert params(name) == expected_params
    if defined:
        assert flop_counter_macs(name) == expected_macs


def test_fused_attention_equals_torchs_formula():
    """The CPU kernel has no flop-counter entry; torch's own sdpa formula gives the same count."""
    q = (1, 4, 64, 16)
    assert macs("Attention") == 2 * flop_counter.sdpa_flop_count(q, q, q) // 2


def test_biases_and_norms_are_params_of_their_own_roles():
    from mncost.cost.terms import term_total

    net = traced("Norms")[1]
    assert (term_total("bn_params", net), term_total("norm_params", net)) == (2 * 3, 2 * 3 + 2 * 3 + 2 * 8 + 8)
    assert total_cost(net).bn_params == 2 * 3 + 2 * 3 + 2 * 3 + 2 * 8 + 8  # every norm's affine: BN, GN, IN, LN, RMS
    assert total_cost(traced("Recurrent")[1]).bias == 2 * 2 * 64 + 2 * 2 * 64 + 2 * 48 + 2 * 8


@pytest.mark.parametrize("name,expected", [
    ("Norms", {"norm": 5 * 3 * 8 * 8}),  # batch, group, instance, layer and RMS norm: one per element each
    ("Activations", {"activation": 14 * 3 * 8 * 8}),  # 11 modules and 3 functional calls
    ("Elementwise", {"elementwise": 7 * 3 * 8 * 8}),  # torch.add, -, *, /, +, x.mul, +
    # avg 3x3 s2 p1 to 5x5: 9 taps each; max 2x2 to 2x2; adaptive 2 -> 3 reads windows 1, 2, 1 per side;
    # avg_pool1d 4 to 25; max_pool3d (1, 2, 2) to 5x5; and a mean over 10x10
    ("Pools", {"pooling": 3 * 25 * 9 + 3 * 4 * 4 + 3 * 4 * 4 + 3 * 25 * 4 + 3 * 25 * 4, "reduction": 3 * 100}),
    ("Interpolate", {"interpolation": 3 * 16 * 16 + 3 * 12 * 12}),  # nearest x2; bilinear to 12x12
    ("Concat", {"elementwise": 3 * 8 * 8}),  # the cat moves data, it computes nothing
])
def test_work_beyond_multiply_adds_is_derived_by_hand(name, expected):
    assert macs(name) == 0
    assert kinds(name) == expected


def test_a_shared_weight_counts_once_and_the_unused_one_apart():
    net = traced("Shared")[1]
    module = traced("Shared")[0]
    assert total_cost(net).params == 3 * 27 and net.unused == (("unused", 7),)
    assert total_cost(net).params + 7 == sum(p.numel() for p in module.parameters())


MEASURED = ["Conv1d", "NonSquare", "Conv3d", "Transposed", "GroupedDilated", "ChannelsLast", "MatrixProducts",
            "Attention", "MultiheadAttention", "Einsum", "Bilinear", "Recurrent", "Norms", "Activations",
            "Elementwise", "Pools", "Interpolate", "Concat", "Shared"]


@functools.lru_cache(maxsize=None)
def measured(name: str):
    module, _ = traced(name)
    return measure_module(module, torch.zeros(SHAPES.get(name, (1, 3, 8, 8))))


@pytest.mark.parametrize("name", MEASURED)
def test_every_counter_measures_what_the_ledger_predicts(name):
    entries = {e.convention.name: e for e in ledger(traced(name)[1]).entries}
    for tool, m in measured(name).items():
        assert m.note == "", (tool, m.note)
        assert (m.total, m.params) == (entries[tool].total if m.total is not None else None, entries[tool].params), tool
    assert set(measured(name)) == set(TOOLS)


def test_an_op_with_no_entry_is_named_in_notes_and_json():
    out = run_cli("count", "tests/count_models.py:SortNet", "--input", "1x3x8x8", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["unknown"] == [{"op": "sort", "module": "", "calls": 1}]
    assert [layer["op"] for layer in doc["layers"]] == ["conv2d"]  # never folded into a row, never given a type
    assert doc["notes"] == ["sort in the model (1 call): no cost entry, not counted"]
