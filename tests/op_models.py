"""One small model per op the registry costs, for `mncost count` and `compare TARGET --measure`.

Nothing here uses mncost: tests/test_ops.py derives each count by hand and checks mncost against it, against
torch's flop counter where it has a formula for the op, and every counter against its prediction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Conv1d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(8, 16, 3, padding=1)

    def forward(self, x):  # x: (1, 3, 8, 32) -> (1, 8, 32)
        return self.conv(x.mean(1))


class NonSquare(nn.Module):
    """GhostNetV2's (1, 5) and (5, 1) convs, a (1, 2) stride and (0, 2) padding."""

    def __init__(self) -> None:
        super().__init__()
        self.wide = nn.Conv2d(3, 8, (1, 5), stride=(1, 2), padding=(0, 2), bias=False)
        self.tall = nn.Conv2d(8, 8, (5, 1), padding=(2, 0), groups=8, bias=False)

    def forward(self, x):
        return self.tall(self.wide(x))


class Conv3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3, padding=1, bias=False)

    def forward(self, x):  # (1, 3, 8, 8) -> (1, 3, 2, 8, 8)
        return self.conv(x.unsqueeze(2).expand(-1, -1, 2, -1, -1))


class Transposed(nn.Module):
    """The issue's ConvTranspose2d: 32 -> 16 channels, kernel 4, stride 2, from 16x16."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.Conv2d(3, 32, 1, bias=False)
        self.deconv = nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1, bias=False)

    def forward(self, x):  # x: (1, 3, 16, 16)
        return self.deconv(self.up(x))


class GroupedDilated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.grouped = nn.Conv2d(3, 12, 3, padding=1, groups=3, bias=False)
        self.dilated = nn.Conv2d(12, 12, 3, padding=2, dilation=2, bias=False)

    def forward(self, x):
        return self.dilated(self.grouped(x))


class ChannelsLast(nn.Module):
    """A Linear on (N, H, W, C), as ConvNeXt-style blocks run it: per token."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 10)

    def forward(self, x):
        return self.fc(x.permute(0, 2, 3, 1))


class MatrixProducts(nn.Module):
    """torch.addmm (1x8)@(8x10) with a bias, bmm, baddbmm and a broadcasting matmul."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(8, 10))
        self.b = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        v = x.mean((2, 3))[:, :1].expand(1, 8)  # (1, 8)
        y = torch.addmm(self.b, v, self.w)  # (1, 10): 80 multiply-adds
        a = x.reshape(3, 8, -1)  # (3, 8, 8) at 8x8
        z = torch.bmm(a, a)  # 3 x 8 x 8 x 8
        z = torch.baddbmm(z, a, a)  # the same again
        return torch.matmul(z, a[0]), y  # (3, 8, 8) @ (8, 8), broadcast


class Attention(nn.Module):
    """scaled_dot_product_attention: 4 heads of 16 (the fused CPU kernel), and 4 query heads over 1 key/value
    head (timm's Mobile MQA: torch's math path, bmm)."""

    def forward(self, x):  # x: (1, 3, 8, 8) -> 64 tokens
        t = x.flatten(2).transpose(1, 2).repeat(1, 1, 22)[..., :64]  # (1, 64, 64)
        q = t.reshape(1, 64, 4, 16).transpose(1, 2)  # (1, 4, 64, 16)
        fused = F.scaled_dot_product_attention(q, q, q)
        one = q[:, :1]
        mqa = F.scaled_dot_product_attention(q, one.expand(1, 4, 64, 16), one.expand(1, 4, 64, 16))
        return fused + mqa


class MultiheadAttention(nn.Module):
    """The issue's nn.MultiheadAttention: embed 64, 4 heads, 64 tokens (eval, no grad: the native kernel)."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(64, 4, batch_first=True)

    def forward(self, x):
        t = x.flatten(2).transpose(1, 2).repeat(1, 1, 22)[..., :64]  # (1, 64, 64)
        return self.attn(t, t, t, need_weights=False)[0]


class Einsum(nn.Module):
    def forward(self, x):  # (1, 3, 8, 8)
        a = x.reshape(3, 8, 8)
        return torch.einsum("bij,bjk->bik", a, a), torch.einsum("bhqd,bhkd->bhqk", x, x)


class Bilinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bilinear = nn.Bilinear(8, 6, 4)

    def forward(self, x):  # two samples
        v = x.reshape(-1)[:16].reshape(2, 8)
        return self.bilinear(v, v[:, :6])


class Recurrent(nn.Module):
    """A 2-layer bidirectional LSTM (input 8, hidden 16), a GRU and an RNN, over 5 steps of 2 sequences."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 16, num_layers=2, bidirectional=True, batch_first=True)
        self.gru = nn.GRU(32, 16)
        self.rnn = nn.RNN(16, 8)

    def forward(self, x):
        seq = x.reshape(-1)[:80].reshape(2, 5, 8)
        y = self.lstm(seq)[0]  # (2, 5, 32)
        y = self.gru(y.transpose(0, 1))[0]  # (5, 2, 16)
        return self.rnn(y)[0]


class Norms(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(3)
        self.gn = nn.GroupNorm(1, 3)
        self.inorm = nn.InstanceNorm2d(3, affine=True)
        self.ln = nn.LayerNorm(8)
        self.rms = nn.RMSNorm(8)

    def forward(self, x):
        return self.rms(self.ln(self.inorm(self.gn(self.bn(x)))))


class Activations(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.acts = nn.ModuleList([nn.ReLU(), nn.ReLU6(), nn.Hardswish(), nn.Hardsigmoid(), nn.Sigmoid(), nn.SiLU(),
                                   nn.GELU(), nn.Tanh(), nn.ELU(), nn.LeakyReLU(), nn.PReLU()])

    def forward(self, x):
        for act in self.acts:
            x = act(x)
        return F.gelu(F.silu(F.relu(x)))


class Elementwise(nn.Module):
    def forward(self, x):
        return torch.add(x, x) - x * 2 / (x + 1) + x.mul(x)


class Pools(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.avg = nn.AvgPool2d(3, 2, 1)
        self.max = nn.MaxPool2d(2)
        self.adaptive = nn.AdaptiveAvgPool2d(3)

    def forward(self, x):  # (1, 3, 10, 10)
        pooled = self.adaptive(self.max(self.avg(x)))  # 10 -> 5 -> 2 ... adaptive to 3
        return pooled, F.avg_pool1d(x.flatten(2), 4), F.max_pool3d(x.unsqueeze(2), (1, 2, 2)), x.mean((2, 3))


class Interpolate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        return self.up(x), F.interpolate(x, size=(12, 12), mode="bilinear", align_corners=False)


class Concat(nn.Module):
    def forward(self, x):
        return torch.cat([x, x * 2], dim=1)


class Shared(nn.Module):
    """One conv used twice (its weight once in the params), a parameter no op reads, a buffer passed as a
    conv weight (timm's BlurPool) and a constant tensor made in forward: neither is a parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        self.unused = nn.Parameter(torch.zeros(7))
        self.register_buffer("blur", torch.ones(3, 1, 3, 3) / 9, persistent=False)

    def forward(self, x):
        x = self.conv(self.conv(x))
        x = F.conv2d(x, self.blur, padding=1, groups=3)
        return F.conv2d(x, torch.ones(3, 1, 1, 1), groups=3)
