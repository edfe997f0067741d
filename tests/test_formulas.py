"""Each formula against a brute-force count and the papers' published figures."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mncost import formulas as f


def brute_force_conv_macs(d_k: int, m: int, n: int, d_f: int, groups: int = 1) -> int:
    """Count multiply-adds by walking every output element and its receptive field."""
    count = 0
    for out_c, _y, _x in itertools.product(range(n), range(d_f), range(d_f)):
        group = out_c // (n // groups)
        in_channels = range(group * (m // groups), (group + 1) * (m // groups))
        count += sum(1 for _c in in_channels for _ky in range(d_k) for _kx in range(d_k))
    return count


@given(st.sampled_from([1, 3, 5]), st.integers(1, 6), st.integers(1, 6), st.integers(1, 5))
def test_standard_conv_matches_brute_force(d_k, m, n, d_f):
    assert f.standard_conv_macs(d_k, m, n, d_f) == brute_force_conv_macs(d_k, m, n, d_f)
    assert f.standard_conv_params(d_k, m, n) == d_k * d_k * m * n


@given(st.sampled_from([1, 3]), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 4))
def test_grouped_and_depthwise_match_brute_force(d_k, groups, per_in, per_out, d_f):
    m, n = groups * per_in, groups * per_out
    assert f.grouped_conv_macs(d_k, m, n, d_f, groups) == brute_force_conv_macs(d_k, m, n, d_f, groups)
    assert f.depthwise_conv_macs(d_k, m, d_f) == brute_force_conv_macs(d_k, m, m, d_f, groups=m)
    assert f.depthwise_conv_params(d_k, m) == f.grouped_conv_params(d_k, m, m, m)


def test_grouped_conv_rejects_groups_that_do_not_divide():
    with pytest.raises(ValueError):
        f.grouped_conv_macs(3, 10, 12, 7, groups=4)


@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 6))
def test_pointwise_matches_brute_force(m, n, d_f):
    assert f.pointwise_conv_macs(m, n, d_f) == brute_force_conv_macs(1, m, n, d_f)
    assert f.pointwise_conv_params(m, n) == f.standard_conv_params(1, m, n)


def test_separable_is_depthwise_plus_pointwise():
    assert f.separable_conv_macs(3, 32, 64, 112) == f.depthwise_conv_macs(3, 32, 112) + f.pointwise_conv_macs(32, 64, 112)
    assert f.separable_conv_params(3, 32, 64) == 3 * 3 * 32 + 32 * 64


def test_non_square_feature_map():
    assert f.standard_conv_macs(3, 4, 5, (6, 7)) == 3 * 3 * 4 * 5 * 6 * 7
    assert f.pointwise_conv_macs(4, 5, (6, 7)) == 4 * 5 * 42


@given(st.sampled_from([1, 3, 5, 7]), st.integers(1, 2048), st.integers(1, 2048), st.integers(1, 64))
def test_reduction_ratio_is_separable_over_standard(d_k, m, n, d_f):
    """[V1] Eq. 5: the ratio of Eq. 4 to Eq. 2 is 1/N + 1/D_K^2, whatever M and D_F."""
    ratio = f.separable_conv_macs(d_k, m, n, d_f) / f.standard_conv_macs(d_k, m, n, d_f)
    assert ratio == pytest.approx(f.reduction_ratio(d_k, n))


def test_reduction_is_8_to_9_times_for_3x3():
    """[V1] Sec. 3.1: 3x3 depthwise separable convs use 8 to 9 times less computation."""
    for n in (128, 256, 512, 1024):  # N = 64 gives 7.9: "8 to 9" holds from N = 72 up
        assert 8 <= 1 / f.reduction_ratio(3, n) <= 9


def test_v1_table3_published_figures():
    """[V1] Table 3: one layer with D_K=3, M=N=512, D_F=14 (published in millions)."""
    assert round(f.standard_conv_macs(3, 512, 512, 14) / 1e6) == 462
    assert round(f.standard_conv_params(3, 512, 512) / 1e6, 2) == 2.36
    assert round(f.separable_conv_macs(3, 512, 512, 14) / 1e6, 1) == 52.3
    assert round(f.separable_conv_params(3, 512, 512) / 1e6, 2) == 0.27
    assert round(f.separable_conv_macs(3, 384, 384, 14) / 1e6, 1) == 29.6  # alpha = 0.75
    assert round(f.separable_conv_macs(3, 384, 384, 10) / 1e6, 1) == 15.1  # rho = 0.714


def test_linear():
    assert f.linear_macs(1024, 1000) == 1_024_000
    assert f.linear_params(1024, 1000) == 1_025_000
    assert f.linear_params(1024, 1000, bias=False) == 1_024_000


@given(st.integers(1, 32), st.integers(1, 32), st.integers(1, 64), st.integers(1, 8), st.sampled_from([1, 3, 5]),
       st.integers(1, 64))
def test_bottleneck_is_expand_plus_depthwise_plus_project(h, w, d_in, t, k, d_out):
    """[V2] Table 1's h*w*d'*t*(d'+k^2+d'') equals its three convs counted one by one."""
    hidden = d_in * t
    parts = (f.pointwise_conv_macs(d_in, hidden, (h, w)) + f.depthwise_conv_macs(k, hidden, (h, w))
             + f.pointwise_conv_macs(hidden, d_out, (h, w)))
    assert f.bottleneck_macs(h, w, d_in, t, k, d_out) == parts


def _conv_entry(d_k: int, m: int, n: int, d_f: tuple[int, int], groups: int, transposed: bool = False):
    """The op registry's aten convolution entry on a conv's shapes (what costs every layer)."""
    from mncost.arch.records import Shape
    from mncost.cost.aten import op_cost

    weight = Shape((m, n // groups, d_k, d_k) if transposed else (n, m // groups, d_k, d_k))
    x, out = Shape((1, m, *d_f)), Shape((1, n, *d_f))
    args = {"input": x, "weight": weight, "bias": None, "stride": (1, 1), "padding": (d_k // 2,) * 2,
            "dilation": (1, 1), "transposed": transposed, "output_padding": (0, 0), "groups": groups}
    return op_cost("convolution", args, (out,)), weight.numel


@given(st.sampled_from([1, 3, 5, 7]), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.tuples(st.integers(1, 30), st.integers(1, 30)))
def test_the_papers_formulas_agree_with_the_op_registry(d_k, groups, per_in, per_out, d_f):
    """mncost.formulas are the papers' public formulas; every layer is costed by the aten registry: they agree."""
    from mncost.arch.records import Shape
    from mncost.cost.aten import op_cost

    m, n = groups * per_in, groups * per_out
    cost, weights = _conv_entry(d_k, m, n, d_f, groups)
    assert cost.macs == f.grouped_conv_macs(d_k, m, n, d_f, groups) and weights == f.grouped_conv_params(d_k, m, n, groups)
    cost, weights = _conv_entry(d_k, m, m, d_f, m)
    assert cost.macs == f.depthwise_conv_macs(d_k, m, d_f) and weights == f.depthwise_conv_params(d_k, m)
    cost, weights = _conv_entry(1, m, n, d_f, 1)
    assert cost.macs == f.pointwise_conv_macs(m, n, d_f) and weights == f.pointwise_conv_params(m, n)
    linear = op_cost("addmm", {"self": Shape((n,)), "mat1": Shape((1, m)), "mat2": Shape((m, n))},
                     (Shape((1, n)),))
    assert linear.macs == f.linear_macs(m, n) and linear.of("bias") == n
    # a transposed conv over the same positions does the same work: each input meets every tap of its group
    assert _conv_entry(d_k, m, n, d_f, groups, transposed=True)[0].macs == f.grouped_conv_macs(d_k, m, n, d_f, groups)
