"""The backward registry, beside the forward one (mncost.cost.aten): for each aten op, the multiply-adds of the
gradient of each tensor argument, and what autograd saves for backward, as torch's derivatives.yaml has it.

`GRADS[op](args, out)` gives {argument: multiply-adds of its gradient}: a gradient is computed only for an
argument that requires grad (an activation downstream of a trainable parameter, or a trainable parameter),
so the caller picks. `SAVES[op](args, out, needs)` gives what the op's autograd node keeps: argument names,
`out.<i>` for an output, given which arguments require grad. Parameters and buffers are never extra memory.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..arch.records import Shape
from .aten import REGISTRY, WITH_MACS, Args, Outs

Saved = tuple[str, ...]  # argument names, or out.<i> for the op's i-th output
GRADS: dict[str, Callable[[Args, Outs], dict[str, int]]] = {}
SAVES: dict[str, Callable[[Args, Outs, frozenset[str]], Saved]] = {}


def grads(*names: str) -> Callable:
    """Register the gradients' multiply-adds of one or more aten ops."""
    def register(fn: Callable[[Args, Outs], dict[str, int]]) -> Callable[[Args, Outs], dict[str, int]]:
        GRADS.update(dict.fromkeys(names, fn))
        return fn
    return register


@grads("convolution", "_convolution")
def convolution(a: Args, out: Outs) -> dict[str, int]:
    """convolution_backward: grad_input is the transposed convolution of grad_output with the weight, and
    grad_weight the convolution of the input with grad_output: each meets every weight of its group once per
    output position, as the forward does (the bias's gradient is a sum, no multiply-adds)."""
    macs = REGISTRY["convolution"](a, out).macs
    return {"input": macs, "weight": macs}


def _product(left: str, right: str) -> Callable[[Args, Outs], dict[str, int]]:
    def fn(a: Args, out: Outs) -> dict[str, int]:
        """A matrix product A B: dA = dC B^T and dB = A^T dC, each as many multiply-adds as the forward."""
        macs = out[0].numel * a[left][-1]
        return {left: macs, right: macs}
    return fn


for _name, _pair in {"mm": ("self", "mat2"), "bmm": ("self", "mat2"), "addmm": ("mat1", "mat2"),
                     "baddbmm": ("batch1", "batch2"), "mv": ("self", "vec"), "addmv": ("mat", "vec"),
                     "dot": ("self", "tensor")}.items():
    GRADS[_name] = _product(*_pair)


def saves(*names: str) -> Callable:
    """Register what one or more aten ops save for backward."""
    def register(fn: Callable[[Args, Outs, frozenset[str]], Saved]) -> Callable:
        SAVES.update(dict.fromkeys(names, fn))
        return fn
    return register


def _fixed(*refs: str) -> Callable[[Args, Outs, frozenset[str]], Saved]:
    return lambda a, out, needs: refs


# one formula for all of an op's gradients: its node keeps these whichever argument requires grad
SAVES.update({
    **dict.fromkeys(("convolution", "_convolution"), _fixed("input", "weight")),
    # training mode: the input and the batch statistics (mean and inverse std, fp32, one per channel)
    **dict.fromkeys(("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training"),
                    _fixed("input", "weight", "out.1", "out.2")),
    "native_layer_norm": _fixed("input", "weight", "bias", "out.1", "out.2"),
    "native_group_norm": _fixed("input", "weight", "out.1", "out.2"),
    # activations whose derivative reads the output, and those that read the input
    **dict.fromkeys(("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "_softmax", "_log_softmax"),
                    _fixed("out.0")),
    **dict.fromkeys(("hardtanh", "hardtanh_", "hardswish", "hardswish_", "hardsigmoid", "hardsigmoid_", "silu",
                     "silu_", "gelu", "gelu_", "leaky_relu", "leaky_relu_", "mish", "mish_", "softplus",
                     "_adaptive_avg_pool2d", "avg_pool2d", "exp"), _fixed("self")),
    **dict.fromkeys(("max_pool2d_with_indices",), _fixed("self", "out.1")),
})
# sums, means, concatenations, padding, interpolation and reshapes keep only sizes
SAVES.update(dict.fromkeys(("add", "add_", "sub", "sub_", "mean", "sum", "cat", "constant_pad_nd", "neg",
                            "upsample_nearest2d", "upsample_bilinear2d", "flatten"), _fixed()))


def _cross(left: str, right: str) -> Callable[[Args, Outs, frozenset[str]], Saved]:
    def fn(a: Args, out: Outs, needs: frozenset[str]) -> Saved:
        """A product keeps each operand only for the other's gradient."""
        return tuple(ref for ref, other in ((left, right), (right, left)) if other in needs)
    return fn


for _name, _pair in {"mul": ("self", "other"), "mul_": ("self", "other"), "mm": ("self", "mat2"),
                     "bmm": ("self", "mat2"), "addmm": ("mat1", "mat2"), "baddbmm": ("batch1", "batch2"),
                     "mv": ("self", "vec"), "dot": ("self", "tensor")}.items():
    SAVES[_name] = _cross(*_pair)


@saves("div", "div_")
def divide(a: Args, out: Outs, needs: frozenset[str]) -> Saved:
    """x / y: dx needs y; dy needs x and y."""
    return ("self", "other") if "other" in needs else ("other",) if "self" in needs else ()


def saved(name: str, args: Args, out: Outs, needs: frozenset[str]) -> list[tuple[str, Shape]] | None:
    """(reference, shape) of each tensor the op's node saves, or None: no entry (named, never guessed)."""
    fn = SAVES.get(name)
    if fn is None:
        return None
    found = [(ref, out[int(ref[4:])] if ref.startswith("out.") else args.get(ref)) for ref in fn(args, out, needs)]
    return [(ref, shape) for ref, shape in found if isinstance(shape, Shape)]


def grad_macs(name: str, args: Mapping[str, Any], out: Outs) -> dict[str, int] | None:
    """{argument: multiply-adds of its gradient}, {} for an op with no multiply-adds, None: no entry."""
    fn = GRADS.get(name)
    if fn is not None:
        return fn(args, out)
    return None if name in WITH_MACS else {}
