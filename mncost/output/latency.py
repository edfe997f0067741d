"""`mncost latency` as one function: an arch (analytic) or any PyTorch model (traced) on a hardware profile."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Callable

from ..arch.bounds import parse_resolution
from ..cost.roofline import Roofline, network_roofline, parse_dtype, roofline
from ..cost.hardware import PROFILES
from .machine import hardware


def is_model(model_or_arch: Any) -> bool:
    """An nn.Module or a TARGET string (path/to/file.py:NAME), not an arch name, spec file or Spec."""
    if isinstance(model_or_arch, (str, os.PathLike)):
        text = os.fspath(model_or_arch)
        return ":" in text and not text.endswith(".toml")
    return hasattr(model_or_arch, "forward")


def latency(model_or_arch: Any, *, alpha: Any = 1.0, res: Any = 224, input: Any = None, hw: str = "pixel6-cpu",
            dtype: str = "int8", classes: Any = 1000, batch: Any = None, timeout: Any = None,
            remeasure: bool = False, notify: Callable[[str], None] | None = None,
            threads: int | None = None) -> Roofline:
    """Every row's bytes, bound and predicted time on a profile (`this`: measured once, then cached); a model
    (an nn.Module or a TARGET, whose code this runs) is traced on a zero input (default 1x3xRESxRES). Bad
    input fails before anything is measured. threads: the threads `this` is measured at (None: torch's)."""
    parse_dtype(dtype)
    if is_model(model_or_arch):
        from ..torch import require
        from ..torch.model import count
        from ..torch.target import DEFAULT_TIMEOUT, parse_target, time_limit

        if isinstance(model_or_arch, str):
            parse_target(model_or_arch)
        require("latency TARGET")
        shape = input if input is not None else "1x3x{}x{}".format(*parse_resolution(res))
        with time_limit(DEFAULT_TIMEOUT if timeout is None else timeout):
            net = count(model_or_arch, shape, batch).network
        result = network_roofline(net, dtype, PROFILES["pixel6-cpu"])
    else:
        result = roofline(model_or_arch, alpha, res, classes, dtype)
    return replace(result, hardware=hardware(hw, remeasure, notify, threads))
