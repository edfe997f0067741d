"""Run the popular counters on a real module: one small function per tool.

Each function takes a fresh module (the tools attach hooks, buffers and patches
to it: a Network's is built anew, a user's model deep-copied) and the input (any batch),
runs its tool and returns the integer total and params the tool prints. A tool
that is not installed is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..arch.layers import Network
from .build import build_module, input_tensor
from .count import fvcore_analysis, trainable_params
from .target import user_code


@dataclass(frozen=True)
class Measurement:
    """What a tool printed: its ops total and params (None when it prints none), or why it was skipped."""

    total: int | None
    params: int | None
    note: str = ""


def _quiet() -> contextlib.ExitStack:
    """Silence the tools' warnings and prints while they count."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(torch.no_grad())
    return stack


def pytorch_params(module: nn.Module, x: torch.Tensor) -> Measurement:
    """sum(p.numel()) over the trainable parameters; PyTorch prints no ops total."""
    return Measurement(None, trainable_params(module))


def fvcore_count(module: nn.Module, x: torch.Tensor) -> Measurement:
    """fvcore FlopCountAnalysis(...).total() and parameter_count(...)['']."""
    from fvcore.nn import parameter_count

    with _quiet():
        total = fvcore_analysis(module, x).total()
    return Measurement(int(total), parameter_count(module)[""])


def ptflops_count(module: nn.Module, x: torch.Tensor) -> Measurement:
    """ptflops get_model_complexity_info with its default backend, as raw numbers."""
    from ptflops import get_model_complexity_info

    with _quiet():  # the input given as ptflops documents it, so that a batch above 1 runs as such
        macs, params = get_model_complexity_info(module, tuple(x.shape[1:]), as_strings=False,
                                                 print_per_layer_stat=False, verbose=False,
                                                 input_constructor=lambda _: x)
    if macs is None:
        raise RuntimeError("ptflops failed on the module")
    return Measurement(int(macs), int(params))


def thop_count(module: nn.Module, x: torch.Tensor) -> Measurement:
    """thop profile; it returns floats, exact integers at these sizes."""
    from thop import profile

    with _quiet():
        macs, params = profile(module, (x,), verbose=False)
    if macs != int(macs) or params != int(params):
        raise RuntimeError(f"thop returned fractional counts {macs}, {params}")
    return Measurement(int(macs), int(params))


def torchinfo_count(module: nn.Module, x: torch.Tensor) -> Measurement:
    """torchinfo summary: 'Total mult-adds' and 'Total params'."""
    from torchinfo import summary

    with _quiet():
        stats = summary(module, input_data=x, verbose=0)
    return Measurement(int(stats.total_mult_adds), int(stats.total_params))


def flop_counter_count(module: nn.Module, x: torch.Tensor) -> Measurement:
    """torch.utils.flop_counter.FlopCounterMode total FLOPs; it prints no params."""
    from torch.utils.flop_counter import FlopCounterMode

    module.eval()
    with _quiet(), FlopCounterMode(display=False) as counter:
        module(x)
    return Measurement(int(counter.get_total_flops()), None)


# convention name -> (the module the tool is imported as, its measuring function on a module and input)
TOOLS: dict[str, tuple[str, Callable[[nn.Module, torch.Tensor], Measurement]]] = {
    "pytorch": ("torch", pytorch_params),
    "fvcore": ("fvcore", fvcore_count),
    "ptflops": ("ptflops", ptflops_count),
    "thop": ("thop", thop_count),
    "torchinfo": ("torchinfo", torchinfo_count),
    "torch-flop-counter": ("torch", flop_counter_count),
}

def measure_module(module: nn.Module, x: torch.Tensor, names: list[str] | None = None,
                   fresh: bool = True) -> dict[str, Measurement]:
    """Run each installed tool (all, or the named conventions') on a deep copy of the module (fresh), or
    on the module itself (each tool removes the hooks, buffers and patches it adds)."""
    results = {}
    for name, (module_name, count) in TOOLS.items():
        if names is not None and name not in names:
            continue
        try:
            results[name] = count((copy.deepcopy(module) if fresh else module).eval(), x)
        except ImportError as error:  # not installed, or it cannot import here (thop needs distutils)
            results[name] = Measurement(None, None, f"skipped: {module_name} cannot be imported ({error})")
    return results


def measure_model(model: nn.Module, shape: tuple[int, ...], names: list[str] | None = None) -> dict[str, Measurement]:
    """Run each installed tool on a deep copy of anyone's model, on a zero input of this shape (its code
    contained: its prints on stderr, a failure one line)."""
    with user_code("running the counters on the model raised "):
        return measure_module(model, torch.zeros(shape), names)


def measure(net: Network, names: list[str] | None = None) -> dict[str, Measurement]:
    """Run each installed tool (all, or the named conventions') on the module of the network."""
    return measure_module(build_module(net), input_tensor(net), names)
