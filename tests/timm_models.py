"""timm's models as TARGETs on this machine, where torchvision cannot import beside the CPU torch:
the test-only stand-in goes first. With torchvision installed, `timm:create_model(...)` is the same.

mncost calls only model factories defined in the target's own file, so each is a function of this file."""

from __future__ import annotations

from typing import Any

import torchvision_stub  # noqa: F401  (installs the stand-in before timm imports torchvision)
import timm
from timm.models import mobilenetv3
from torch import nn


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """timm.create_model: tests/timm_models.py:create_model('mobilenetv4_conv_small')."""
    return timm.create_model(name, **kwargs)


def mobilenet_v4(variant: str, channel_multiplier: float = 1.0, **kwargs: Any) -> nn.Module:
    """timm's MobileNetV4 generator at any channel multiplier."""
    return mobilenetv3._gen_mobilenet_v4(variant, channel_multiplier, **kwargs)
