"""Models written the way tutorials write them, for `mncost count` and `mncost compare TARGET`.

Nothing here uses mncost: the counters' own totals on these modules are the truth.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TutorialV1(nn.Module):
    """The from-scratch MobileNetV1 of many tutorials: one nn.ReLU reused everywhere, nn.Softmax at the end."""

    def __init__(self, num_classes: int = 1000, width: float = 1.0) -> None:
        super().__init__()
        c = lambda n: int(n * width)  # noqa: E731
        cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
               (512, 1), (512, 1), (1024, 2), (1024, 1)]
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(3, c(32), 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c(32))
        blocks, inp = [], c(32)
        for out, stride in cfg:
            blocks.append(nn.ModuleDict({
                "dw": nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), "dw_bn": nn.BatchNorm2d(inp),
                "pw": nn.Conv2d(inp, c(out), 1, bias=False), "pw_bn": nn.BatchNorm2d(c(out))}))
            inp = c(out)
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inp, num_classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for b in self.blocks:
            x = self.relu(b["dw_bn"](b["dw"](x)))
            x = self.relu(b["pw_bn"](b["pw"](x)))
        return self.softmax(self.fc(torch.flatten(self.pool(x), 1)))


class FunctionalNet(nn.Module):
    """Functional ops in forward: F.relu, F.adaptive_avg_pool2d, torch.add, x.mean, F.softmax."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.conv3 = nn.Conv2d(16, 32, 1, bias=False)
        self.fc = nn.Linear(32, num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = torch.add(x, F.relu6(self.conv2(x)))
        x = self.conv3(x)
        pooled = F.adaptive_avg_pool2d(x, 1).flatten(1) + x.mean((2, 3))
        return F.softmax(self.fc(pooled), dim=-1)


class BasicBlock(nn.Module):
    """The ResNet basic block: two 3x3 convs, `out += identity`, a 1x1 projection when the shape changes."""

    def __init__(self, inp: int, out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class SmallResNet(nn.Module):
    """A ResNet-style net: stem, max pool, four basic blocks, fixed-kernel average pool, classifier."""

    def __init__(self, num_classes: int = 100) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 7, 2, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layers = nn.Sequential(BasicBlock(32, 32, 1), BasicBlock(32, 64, 2), BasicBlock(64, 64, 1),
                                    BasicBlock(64, 128, 2))
        self.avgpool = nn.AvgPool2d(2)
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.maxpool(self.stem(x)))
        x = self.avgpool(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Attention(nn.Module):
    """Multi-head self-attention over the positions of a feature map, with F.scaled_dot_product_attention."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, n, c))


class ConvAttentionNet(nn.Module):
    """A conv stem, one attention block over the 7x7 (at 224) positions with a residual, a classifier."""

    def __init__(self, num_classes: int = 10, dim: int = 64, heads: int = 4) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 8, 8, bias=False), nn.BatchNorm2d(dim), nn.ReLU6(inplace=True),
                                  nn.Conv2d(dim, dim, 4, 4, bias=False), nn.BatchNorm2d(dim), nn.ReLU6(inplace=True))
        self.attn = Attention(dim, heads)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).flatten(2).transpose(1, 2)
        x = x + self.attn(x)
        return self.head(x.mean(1))


class LayerNormNet(nn.Module):
    """A conv and a LayerNorm, an op mncost has no row for."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.norm = nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x).mean((2, 3)))


class SortNet(nn.Module):
    """A conv and a sort, an op mncost has no cost entry for."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sort(self.conv(x), dim=1).values
