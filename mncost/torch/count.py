"""fvcore's counts of a module, split by operator, per named module.

fvcore counts one "flop" per multiply-add for conv and linear, and adds terms of
its own (BatchNorm, adaptive pooling); those stay in separate fields here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

import torch
from torch import nn

from ..arch.layers import Network
from .build import build_module, input_tensor

MAC_OPS = ("conv", "linear", "addmm", "matmul")  # multiply-adds of conv and FC layers
BATCH_NORM_OPS = ("batch_norm",)
POOLING_OPS = ("adaptive_avg_pool2d", "avg_pool2d")


@dataclass(frozen=True)
class ModuleCount:
    """fvcore's count of one module: conv/linear mult-adds, its own extras, and its params."""

    macs: int = 0
    batch_norm: int = 0
    pooling: int = 0
    other: int = 0  # any other operator fvcore counted
    params: int = 0


def split_ops(ops: Mapping[str, int], params: int = 0) -> ModuleCount:
    """Sort fvcore's per-operator counts into mult-adds, BatchNorm, pooling and the rest."""
    def total(names: Iterable[str]) -> int:
        return sum(int(ops.get(name, 0)) for name in names)

    known = MAC_OPS + BATCH_NORM_OPS + POOLING_OPS
    other = sum(int(v) for k, v in ops.items() if k not in known)
    return ModuleCount(total(MAC_OPS), total(BATCH_NORM_OPS), total(POOLING_OPS), other, params)


def fvcore_analysis(model: nn.Module, inputs: torch.Tensor):
    """fvcore's FlopCountAnalysis on batch-1 input, eval mode, no grad, warnings silenced."""
    from fvcore.nn import FlopCountAnalysis

    model.eval()
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, inputs)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        analysis.by_module_and_operator()  # trace now, under no_grad
    return analysis


def count_modules(model: nn.Module, inputs: torch.Tensor, names: Iterable[str]) -> dict[str, ModuleCount]:
    """fvcore's count of each named module, and of the whole model under the name ""."""
    from fvcore.nn import parameter_count

    by_module = fvcore_analysis(model, inputs).by_module_and_operator()
    params = parameter_count(model)
    return {name: split_ops(by_module.get(name, Counter()), int(params.get(name, 0)))
            for name in ["", *names]}


def count_network(net: Network) -> dict[str, ModuleCount]:
    """Build the Network's module and count each layer with fvcore; "" is the whole model."""
    return count_modules(build_module(net), input_tensor(net), [layer.name for layer in net.layers])


def trainable_params(model: nn.Module) -> int:
    """The number of trainable parameters, as PyTorch users count them."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_model(model: nn.Module, inputs: torch.Tensor) -> ModuleCount:
    """fvcore's count of a whole model (anyone's), with its trainable parameters."""
    return split_ops(fvcore_analysis(model, inputs).by_operator(), trainable_params(model))
