"""Any model counted, as `mncost count`, `compare TARGET` and `latency TARGET` and `mncost.count` do: the input
shape checked, the TARGET loaded (running its code), one forward pass traced (mncost.torch.trace) and folded
into rows (mncost.torch.fold)."""

from __future__ import annotations

from typing import Any

import torch

from ..arch.layers import Network
from ..cost.model import Count
from ..errors import MncostError
from .fold import network_of
from .target import load_target
from .trace import trace

MAX_INPUT_ELEMENTS = 3 * 4096 * 4096  # a 4096x4096 RGB image: the activations of a real model are many times more


def parse_input(text: str, batch: int | str | None = None) -> tuple[int, ...]:
    """An input shape NxCxHxW (N the batch; --batch sets it too), as in --input 1x3x224x224."""
    try:
        shape = tuple(int(side) for side in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise MncostError(f"input {text!r} is invalid; use NxCxHxW with positive sides, as in 1x3x224x224")
    if batch is not None:
        try:
            n = int(batch)
        except (TypeError, ValueError):
            n = 0
        if n < 1:
            raise MncostError(f"batch {batch!r} is invalid; use a whole number >= 1, as in --batch 8")
        if shape[0] not in (1, n):
            raise MncostError(f"--input {text!r} has batch {shape[0]} and --batch is {n}; give the batch once")
        shape = (n, *shape[1:])
    if shape[0] * shape[1] * shape[2] * shape[3] > MAX_INPUT_ELEMENTS:
        raise MncostError(f"input {'x'.join(map(str, shape))} has more than {MAX_INPUT_ELEMENTS:,} elements; "
                          "a forward pass on it would not fit in memory")
    return shape


def model_network(target: str, shape: tuple[int, ...] = (1, 3, 224, 224)) -> tuple[Any, Network]:
    """Load TARGET, trace one forward pass on a zero input of this shape, and return it with its rows."""
    model = load_target(target)
    return model, network_of(trace(model, torch.zeros(shape)), target)


def count(model: Any, input: str | tuple[int, ...] = (1, 3, 224, 224), batch: int | None = None) -> Count:
    """A model's exact counts for the batch that ran, per image beside them: model is an nn.Module or a
    TARGET string (path/to/file.py:NAME, package.module:NAME), whose code this runs."""
    shape = parse_input(input if isinstance(input, str) else "x".join(map(str, input)), batch)
    module = load_target(model) if isinstance(model, str) else model
    label = model if isinstance(model, str) else type(model).__name__
    return Count(network_of(trace(module, torch.zeros(shape)), label))
