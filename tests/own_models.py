"""mncost's own modules as TARGETs: the same-engine test traces what mncost.torch.build builds."""

from __future__ import annotations

from torch import nn

from mncost.arch.builder import network
from mncost.torch.build import build_module


def mncost_module(arch: str = "v2", alpha: float = 1.0, res: int = 224, classes: int = 1000) -> nn.Module:
    """The nn.Module mncost builds for an arch."""
    return build_module(network(arch, alpha, res, classes))
