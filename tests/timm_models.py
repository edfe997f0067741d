"""timm's models as TARGETs on this machine, where torchvision cannot import beside the CPU torch:
the test-only stand-in goes first. With torchvision installed, `timm:create_model(...)` is the same."""

from __future__ import annotations

import torchvision_stub  # noqa: F401  (installs the stand-in before timm imports torchvision)
from timm import create_model  # noqa: F401  (the TARGET: tests/timm_models.py:create_model('...'))
from timm.models.mobilenetv3 import _gen_mobilenet_v4 as mobilenet_v4  # noqa: F401  (any channel multiplier)
