"""Hypothesis: random small nets composed from the zoo's ops count exactly: multiply-adds equal torch's flop
counter (plus torch's attention formula for the fused CPU kernel), params equal the sum of unique p.numel(),
and every counter measures what the ledger predicts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch import nn
from torch.utils import flop_counter
from torch.utils._python_dispatch import TorchDispatchMode

from mncost.cost.conventions import ledger
from mncost.cost.ops import total_cost
from mncost.torch.fold import network_of
from mncost.torch.measure import measure_module
from mncost.torch.trace import trace

ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "silu": nn.SiLU, "gelu": nn.GELU,
               "sigmoid": nn.Sigmoid}


class Block(nn.Module):
    """One random step on an (N, C, H, W) tensor; `out` is the channels it leaves."""

    def __init__(self, kind: str, channels: int, arg: int) -> None:
        super().__init__()
        self.kind, self.out = kind, channels
        if kind == "conv":  # any kernel (non-square), stride, groups, dilation, with or without bias
            k, groups = (1 + arg % 3, 1 + arg % 2 * 2), channels if arg % 4 == 0 else 1
            self.op = nn.Conv2d(channels, channels * 2 if groups == 1 else channels, k, 1 + arg % 2, (k[0] // 2, k[1]),
                                dilation=(1, 1 + arg % 2), groups=groups, bias=arg % 3 == 0)
            self.out = self.op.out_channels
        elif kind == "deconv":
            self.op = nn.ConvTranspose2d(channels, 4, 2, stride=2, bias=False)
            self.out = 4
        elif kind == "norm":
            self.op = [nn.BatchNorm2d(channels), nn.GroupNorm(1, channels), nn.InstanceNorm2d(channels, affine=True)][arg % 3]
        elif kind == "act":
            self.op = list(ACTIVATIONS.values())[arg % len(ACTIVATIONS)]()
        elif kind == "residual":
            self.op = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        elif kind == "tokens":  # a Linear per position and an attention over the positions
            self.op = nn.Linear(channels, channels)
        elif kind == "se":
            self.op = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, channels, 1), nn.Hardsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "residual":
            return x + self.op(x)
        if self.kind == "pool":
            return F.max_pool2d(x, 2, ceil_mode=True) if x.shape[-1] > 2 else x
        if self.kind == "upsample":
            return F.interpolate(x, scale_factor=2, mode="bilinear" if x.shape[1] % 2 else "nearest")
        if self.kind == "tokens":
            t = self.op(x.flatten(2).transpose(1, 2))  # (N, HW, C)
            q = t.unsqueeze(1)
            return F.scaled_dot_product_attention(q, q, q).squeeze(1).transpose(1, 2).reshape(x.shape)
        if self.kind == "se":
            return x * self.op(x)
        return self.op(x)


class RandomNet(nn.Module):
    def __init__(self, steps: list[tuple[str, int]]) -> None:
        super().__init__()
        channels, blocks = 4, []
        for kind, arg in steps:
            blocks.append(Block(kind, channels, arg))
            channels = blocks[-1].out
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


class _Fused(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.macs = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func._overloadpacket.__name__ == "_scaled_dot_product_flash_attention_for_cpu":
            self.macs += flop_counter.sdpa_flop_count(args[0].shape, args[1].shape, args[2].shape) // 2
        return func(*args, **(kwargs or {}))


STEPS = st.lists(st.tuples(st.sampled_from(["conv", "deconv", "norm", "act", "residual", "pool", "upsample",
                                            "tokens", "se"]), st.integers(0, 11)), min_size=1, max_size=6)


@settings(max_examples=12, deadline=None)
@given(steps=STEPS, side=st.integers(4, 12))
def test_random_nets_count_exactly(steps, side):
    model = RandomNet(steps).eval()
    x = torch.zeros(1, 3, side, side)
    net = network_of(trace(model, x), "random")
    counter, fused = flop_counter.FlopCounterMode(display=False), _Fused()
    with torch.no_grad(), counter, fused:
        model(x)
    cost = total_cost(net)
    assert cost.macs == counter.get_total_flops() // 2 + fused.macs
    assert cost.params + sum(n for _, n in net.unused) == sum(p.numel() for p in model.parameters())
    predicted = {e.convention.name: e for e in ledger(net).entries}
    for tool, m in measure_module(model, x, fresh=False).items():
        assert m.note == "" and m.total in (None, predicted[tool].total), (tool, m.total, predicted[tool].total)
        assert m.params == predicted[tool].params, (tool, m.params, predicted[tool].params)
