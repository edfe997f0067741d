"""The papers' cost formulas as pure functions, in the papers' notation.

D_K: kernel side, M: input channels, N: output channels, D_F: output feature
map side (a pair (h, w) works wherever a side does). [V1] is Howard et al. 2017,
[V2] is Sandler et al. 2018.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

from ..arch.bounds import shown
from ..errors import MncostError

Side = int | tuple[int, int]

__all__ = [
    "standard_conv_macs", "standard_conv_params", "grouped_conv_macs", "grouped_conv_params",
    "depthwise_conv_macs", "depthwise_conv_params", "pointwise_conv_macs", "pointwise_conv_params",
    "separable_conv_macs", "separable_conv_params", "reduction_ratio", "linear_macs", "linear_params",
    "bottleneck_macs",
]


def _area(d_f: Side) -> int:
    if isinstance(d_f, tuple):
        return d_f[0] * d_f[1]
    return d_f * d_f


def standard_conv_macs(d_k: int, m: int, n: int, d_f: Side) -> int:
    """Mult-adds of a standard convolution: D_K*D_K*M*N*D_F*D_F ([V1] Eq. 2)."""
    return d_k * d_k * m * n * _area(d_f)


def standard_conv_params(d_k: int, m: int, n: int) -> int:
    """Weights of a standard convolution: D_K*D_K*M*N ([V1] Sec. 3.1)."""
    return d_k * d_k * m * n


def _check_groups(m: int, n: int, groups: int) -> None:
    """groups must divide M and N (for every alpha, when they are a sweep's arrays of widths)."""
    if type(groups) is int and groups == 1 or groups is m and groups is n:  # plain or depthwise: nothing to take
        return
    remainders = (m % groups, n % groups)
    if any(r.any() if hasattr(r, "any") else r for r in remainders):
        raise ValueError(f"groups={groups} must divide M={m} and N={n}")


def grouped_conv_macs(d_k: int, m: int, n: int, d_f: Side, groups: int) -> int:
    """Mult-adds of a grouped convolution: D_K*D_K*(M/g)*N*D_F*D_F (Eq. 2 per group)."""
    _check_groups(m, n, groups)
    return d_k * d_k * (m // groups) * n * _area(d_f)


def grouped_conv_params(d_k: int, m: int, n: int, groups: int) -> int:
    """Weights of a grouped convolution: D_K*D_K*(M/g)*N."""
    _check_groups(m, n, groups)
    return d_k * d_k * (m // groups) * n


def depthwise_conv_macs(d_k: int, m: int, d_f: Side) -> int:
    """Mult-adds of a depthwise convolution: D_K*D_K*M*D_F*D_F ([V1] Eq. 3)."""
    return d_k * d_k * m * _area(d_f)


def depthwise_conv_params(d_k: int, m: int) -> int:
    """Weights of a depthwise convolution: D_K*D_K*M ([V1] Sec. 3.1)."""
    return d_k * d_k * m


def pointwise_conv_macs(m: int, n: int, d_f: Side) -> int:
    """Mult-adds of a pointwise (1x1) convolution: M*N*D_F*D_F ([V1] Eq. 4, second term)."""
    return m * n * _area(d_f)


def pointwise_conv_params(m: int, n: int) -> int:
    """Weights of a pointwise convolution: M*N."""
    return m * n


def separable_conv_macs(d_k: int, m: int, n: int, d_f: Side) -> int:
    """Depthwise separable mult-adds: D_K*D_K*M*D_F*D_F + M*N*D_F*D_F ([V1] Eq. 4)."""
    return depthwise_conv_macs(d_k, m, d_f) + pointwise_conv_macs(m, n, d_f)


def separable_conv_params(d_k: int, m: int, n: int) -> int:
    """Depthwise separable weights: D_K*D_K*M + M*N."""
    return depthwise_conv_params(d_k, m) + pointwise_conv_params(m, n)


def reduction_ratio(d_k: int, n: int) -> float:
    """Separable over standard cost: 1/N + 1/D_K^2 ([V1] Eq. 5)."""
    return 1 / n + 1 / (d_k * d_k)


def linear_macs(in_features: int, out_features: int) -> int:
    """Mult-adds of a fully connected layer: one per weight."""
    return in_features * out_features


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Weights (and bias) of a fully connected layer."""
    return in_features * out_features + (out_features if bias else 0)


def bottleneck_macs(h: int, w: int, d_in: int, t: int, k: int, d_out: int) -> int:
    """Mult-adds of a stride-1 bottleneck block: h*w*d'*t*(d' + k^2 + d'') ([V2] Table 1)."""
    return h * w * d_in * t * (d_in + k * k + d_out)


# The public formulas (mncost.formulas) check their arguments; the op registry calls the ones above
# directly, on the validated shapes of a Network and on numpy arrays of sides (mncost.cost.totals).


def _problem(name: str, value: Any) -> str | None:
    """What is wrong with one argument: a positive integer, D_F a side or a pair (h, w), bias a bool."""
    if name == "bias":
        return None if isinstance(value, bool) else "must be True or False"
    if name == "d_f" and isinstance(value, (tuple, list)):
        return None if len(value) == 2 and not any(_problem("h", side) for side in value) \
            else "must be a positive integer or a pair of them (h, w)"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        return "must be a positive integer"
    return None


def checked(formula: Callable[..., Any]) -> Callable[..., Any]:
    """The formula with every argument checked first: a MncostError names the first bad one."""
    import functools
    import inspect  # here: the analytic path never needs it

    signature = inspect.signature(formula)

    @functools.wraps(formula)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise MncostError(f"{formula.__name__}: {error}") from None
        for name, value in bound.arguments.items():
            problem = _problem(name, value)
            if problem:
                raise MncostError(f"{formula.__name__}: {name} {problem}, got {shown(value)}")
        try:
            return formula(*args, **kwargs)
        except ValueError as error:  # groups that do not divide M and N
            raise MncostError(f"{formula.__name__}: {error}") from None

    return run
