"""MobileNets written from scratch, the way tutorials write them, with deviations planted on purpose.

Targets for `mncost audit tests/audit_models.py:NAME`. Nothing here uses mncost:
the audit must find each planted deviation on its own.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(inp: int, oup: int, kernel: int, stride: int, groups: int = 1, act: type | None = nn.ReLU,
            bias: bool = False) -> nn.Sequential:
    layers = [nn.Conv2d(inp, oup, kernel, stride, kernel // 2, groups=groups, bias=bias), nn.BatchNorm2d(oup)]
    return nn.Sequential(*layers, *([act(inplace=True)] if act else []))


# ---------- MobileNetV1 ([V1] Table 1) ----------

V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
             (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int = 1000, blocks=None, stem_bias: bool = False,
                 classifier_in: int | None = None) -> None:
        super().__init__()
        blocks = V1_BLOCKS if blocks is None else blocks
        layers, inp = [conv_bn(3, 32, 3, 2, bias=stem_bias)], 32
        for out, stride in blocks:
            layers += [conv_bn(inp, inp, 3, stride, groups=inp), conv_bn(inp, out, 1, 1)]
            inp = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(classifier_in or inp, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def v1_wrong_stride() -> nn.Module:
    """The second block's depthwise conv at stride 1 instead of 2."""
    blocks = list(V1_BLOCKS)
    blocks[1] = (128, 1)
    return MobileNetV1(blocks=blocks)


def v1_missing_block() -> nn.Module:
    """Four of the five 14x14x512 blocks."""
    return MobileNetV1(blocks=V1_BLOCKS[:6] + V1_BLOCKS[7:])


def v1_stem_bias() -> nn.Module:
    """A bias on the first conv, where the paper has BatchNorm and no bias."""
    return MobileNetV1(stem_bias=True)


def v1_bad_classifier() -> nn.Module:
    """A classifier that expects 1280 features (V2's head) after V1's 1024-channel body."""
    return MobileNetV1(classifier_in=1280)


# ---------- MobileNetV2 ([V2] Table 2) ----------

V2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
              (6, 320, 1, 1)]


def make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, t: int, keep_expand: bool = False) -> None:
        super().__init__()
        hidden = inp * t
        self.use_res = stride == 1 and inp == oup
        layers = []
        if t != 1 or keep_expand:
            layers.append(conv_bn(inp, hidden, 1, 1, act=nn.ReLU6))
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   conv_bn(hidden, oup, 1, 1, act=None)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, width: float = 1.0, setting=None,
                 keep_expand: bool = False) -> None:
        super().__init__()
        setting = V2_SETTING if setting is None else setting
        inp = make_divisible(32 * width)
        last = make_divisible(1280 * max(1.0, width))
        layers = [conv_bn(3, inp, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in setting:
            out = make_divisible(c * width)
            for i in range(n):
                layers.append(InvertedResidual(inp, out, s if i == 0 else 1, t, keep_expand))
                inp = out
        layers.append(conv_bn(inp, last, 1, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def v2_extra_expand() -> nn.Module:
    """Keeps the 1x1 expansion conv in the first (t = 1) block: 3,505,960 params."""
    return MobileNetV2(keep_expand=True)


def v2_thinned() -> nn.Module:
    """The 24-channel stage thinned to 16 channels."""
    setting = list(V2_SETTING)
    setting[1] = (6, 16, 2, 2)
    return MobileNetV2(setting=setting)


class V2WithScale(MobileNetV2):
    """An extra learnable output scale no conv or linear layer owns."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * self.scale


class KeywordCalls(MobileNetV1):
    """Calls its modules with keyword inputs (input=x), as some code does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.features:
            x = layer(input=x)
        return self.classifier(input=torch.flatten(self.pool(x), 1))


def broken_factory() -> nn.Module:
    raise RuntimeError("weights file missing")


NOT_A_MODEL = 42
