"""MobileNetV4 ([V4]): Tables 11-15 as block rows in TF Model Garden's order (kernel(s), strides, filters,
expand_ratio), one small row class per block type: ConvBN, FusedIB, UIB and Mobile MQA."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .bounds import MAX_CHANNELS, MAX_KERNEL, MAX_STRIDE, SpecError, check_row
from .layers import AttentionMatmul, Layer, LayerScaleLayer, NormLayer
from .spec import Spec
from .stack import Stack, divisible_width


def _branch(stack: Stack, source: Layer, name: str, out: int, kernel: int, stride: int = 1,
            groups: int = 1, norm: bool = True) -> Layer:
    """A linear conv reading the output of `source` (not the previous layer's): [V4]'s K and V branches."""
    stack.channels, stack.size = source.out_channels, source.output_size
    layer = replace(stack.conv(name, out, kernel, stride, groups=groups, activation=None, norm=norm),
                    source=source.name)
    stack.layers[-1] = layer
    return layer


def _close(stack: Stack, name: str, out: int, block_input: str | None, layer_scale: bool,
           projection: str = "project", norm: bool = True) -> None:
    """The block's linear 1x1 projection, then [V4]'s layer scale, then the residual add of the block input
    (`block_input` names the layer whose input that is; None: no residual)."""
    stack.conv(f"{name}.{projection}", out, 1, activation=None, norm=norm,
               shortcut=None if layer_scale else block_input)
    if layer_scale:
        stack.append(LayerScaleLayer(f"{name}.layer_scale", "layerscale", out, out, stack.size, stack.size,
                                       shortcut=block_input))


@dataclass(frozen=True)
class ConvBN:
    """[V4] a plain conv k x k + BatchNorm + activation (TFM 'convbn', timm 'cn'): Conv-S's stem pairs."""

    k: int
    s: int
    c: int
    n: int = 1

    def __post_init__(self) -> None:
        check_row(self, k=(1, MAX_KERNEL))

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None:
        stack.conv(f"{name}.conv", out, self.k, stride)


@dataclass(frozen=True)
class FusedIB:
    """[V4] FusedIB (TFM 'fused_ib', timm 'er'): a k x k conv expanding to e x the input (BN, act), then a
    linear 1x1 projection (BN); residual when the stride is 1 and in == out."""

    k: int
    s: int
    c: int
    e: float
    n: int = 1

    def __post_init__(self) -> None:
        check_row(self, k=(1, MAX_KERNEL))

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None:
        residual = stride == 1 and stack.paper_channels == self.c
        expand = stack.conv(f"{name}.expand", divisible_width(stack.channels, self.e), self.k, stride)
        _close(stack, name, out, expand.name if residual else None, layer_scale=False)


@dataclass(frozen=True)
class UIB:
    """[V4] Universal Inverted Bottleneck (TFM 'uib', timm 'uir'): an optional start depthwise conv (BN, no
    act), a 1x1 expansion to e x the input (BN, act), an optional middle depthwise conv (BN, act, the
    block's stride), a linear 1x1 projection (BN), layer scale in the hybrids, and a residual when the
    stride is 1 and in == out. Kernel 0 = absent: ExtraDW (both), IB (middle only), ConvNext-like
    (start only), FFN (neither)."""

    start_dw: int
    middle_dw: int
    s: int
    c: int
    e: float
    n: int = 1
    layer_scale: bool = False

    def __post_init__(self) -> None:
        check_row(self, start_dw=(0, MAX_KERNEL), middle_dw=(0, MAX_KERNEL))
        if self.s > 1 and not (self.start_dw or self.middle_dw):
            raise SpecError("UIB row", "s", f"must be 1 in a UIB with no depthwise conv (an FFN), got {self.s}")

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None:
        residual, first = stride == 1 and stack.paper_channels == self.c, None
        if self.start_dw:  # strided only when there is no middle depthwise conv (TFM middle_dw_downsample)
            first = stack.conv(f"{name}.dw_start", stack.channels, self.start_dw, 1 if self.middle_dw else stride,
                               groups=stack.channels, activation=None).name
        expand = stack.conv(f"{name}.expand", divisible_width(stack.channels, self.e), 1)
        if self.middle_dw:
            stack.conv(f"{name}.dw_mid", stack.channels, self.middle_dw, stride, groups=stack.channels)
        _close(stack, name, out, (first or expand.name) if residual else None, self.layer_scale)


@dataclass(frozen=True)
class MobileMQA:
    """[V4] Mobile MQA (TFM 'mhsa' with use_multi_query, timm 'mqa'), Eq. 2: a BatchNorm pre-norm; a 1x1
    query projection to heads x key_dim; ONE key and ONE value head shared by all query heads, each a
    3x3 depthwise conv with stride kv_strides and BN (the spatial reduction SR, only when kv_strides > 1)
    then a 1x1 projection; softmax(Q K^T / sqrt(key_dim)) V; a 1x1 output projection; layer scale; the
    residual. Projections have no bias and no BN (timm use_bias=False). Query strides are not modelled."""

    heads: int
    key_dim: int
    value_dim: int
    kv_strides: int
    c: int
    s: int = 1
    n: int = 1
    layer_scale: bool = False
    dw_kernel: int = 3

    def __post_init__(self) -> None:
        check_row(self, heads=(1, MAX_CHANNELS), key_dim=(1, MAX_CHANNELS), value_dim=(1, MAX_CHANNELS),
                   kv_strides=(1, MAX_STRIDE), dw_kernel=(1, MAX_KERNEL))
        if self.s != 1:
            raise SpecError("MobileMQA row", "s", f"must be 1 (query strides are not modelled), got {self.s}")

    def add(self, stack: Stack, name: str, out: int, stride: int) -> None:
        residual, c = stack.paper_channels == self.c, stack.channels
        norm = stack.append(NormLayer(f"{name}.norm", "batchnorm", c, c, stack.size, stack.size, norm=True))
        query = stack.conv(f"{name}.query.proj", self.heads * self.key_dim, 1, activation=None, norm=False)
        key = self._head(stack, name, "key", self.key_dim, norm)
        value = self._head(stack, name, "value", self.value_dim, norm)
        qk = stack.append(AttentionMatmul(f"{name}.qk", "attn_qk", query.out_channels, self.heads,
                                            query.output_size, query.output_size, groups=self.heads,
                                            source=query.name, kv_size=key.output_size, other=key.name))
        stack.append(AttentionMatmul(f"{name}.av", "attn_av", self.heads, self.heads * self.value_dim,
                                       qk.output_size, qk.output_size, groups=self.heads,
                                       kv_size=value.output_size, other=value.name))
        _close(stack, name, out, norm.name if residual else None, self.layer_scale, "output.proj", norm=False)

    def _head(self, stack: Stack, name: str, part: str, dim: int, norm: Layer) -> Layer:
        """The shared key (or value) head: [SR: depthwise conv stride kv_strides + BN] then a 1x1 projection."""
        if self.kv_strides > 1:
            _branch(stack, norm, f"{name}.{part}.down", norm.out_channels, self.dw_kernel, self.kv_strides,
                    groups=norm.out_channels)
            return stack.conv(f"{name}.{part}.proj", dim, 1, activation=None, norm=False)
        return _branch(stack, norm, f"{name}.{part}.proj", dim, 1, norm=False)


def _layer_scaled(rows: tuple) -> tuple:
    """The hybrids' rows: layer scale on every UIB and Mobile MQA block (timm layer_scale_init_value 1e-5)."""
    return tuple(replace(row, layer_scale=True) if isinstance(row, (UIB, MobileMQA)) else row for row in rows)


V4_NOTES = ("[V4] defines no width multiplier; at alpha != 1 widths follow timm's _gen_mobilenet_v4: "
            "make_divisible(c x alpha, 8) per block, expansions from the actual input, the stem fixed below "
            "alpha 1, the 1280 head never thinned; Mobile MQA heads and key/value dims stay fixed.",)

# [V4] Table 11 (TFM MNv4ConvSmall, timm mobilenetv4_conv_small): nominal input 224.
V4_CONV_SMALL = Spec(
    name="v4-conv-small",
    stem=32,
    rows=(ConvBN(3, 2, 32), ConvBN(1, 1, 32), ConvBN(3, 2, 96), ConvBN(1, 1, 64),
          UIB(5, 5, 2, 96, 3.0), UIB(0, 3, 1, 96, 2.0, n=4), UIB(3, 0, 1, 96, 4.0),
          UIB(3, 3, 2, 128, 6.0), UIB(5, 5, 1, 128, 4.0), UIB(0, 5, 1, 128, 4.0), UIB(0, 5, 1, 128, 3.0),
          UIB(0, 3, 1, 128, 4.0, n=2)),
    head=960,
    pooled_head=1280,
    rounding="divisible",
    activation="relu",
    notes=V4_NOTES,
    stem_fixed_below=1.0,
    thin_pooled_head=False,
    pooled_head_norm=True,
)

# [V4] Table 12 (MNv4ConvMedium): nominal input 256.
V4_CONV_MEDIUM = replace(
    V4_CONV_SMALL,
    name="v4-conv-medium",
    rows=(FusedIB(3, 2, 48, 4.0),
          UIB(3, 5, 2, 80, 4.0), UIB(3, 3, 1, 80, 2.0),
          UIB(3, 5, 2, 160, 6.0), UIB(3, 3, 1, 160, 4.0, n=2), UIB(3, 5, 1, 160, 4.0), UIB(3, 3, 1, 160, 4.0),
          UIB(3, 0, 1, 160, 4.0), UIB(0, 0, 1, 160, 2.0), UIB(3, 0, 1, 160, 4.0),
          UIB(5, 5, 2, 256, 6.0), UIB(5, 5, 1, 256, 4.0), UIB(3, 5, 1, 256, 4.0, n=2), UIB(0, 0, 1, 256, 4.0),
          UIB(3, 0, 1, 256, 4.0), UIB(3, 5, 1, 256, 2.0), UIB(5, 5, 1, 256, 4.0), UIB(0, 0, 1, 256, 4.0, n=2),
          UIB(5, 0, 1, 256, 2.0)),
)

# [V4] Table 13 (MNv4ConvLarge): stem 24, nominal input 384.
V4_CONV_LARGE = replace(
    V4_CONV_SMALL,
    name="v4-conv-large",
    stem=24,
    rows=(FusedIB(3, 2, 48, 4.0),
          UIB(3, 5, 2, 96, 4.0), UIB(3, 3, 1, 96, 4.0),
          UIB(3, 5, 2, 192, 4.0), UIB(3, 3, 1, 192, 4.0, n=3), UIB(3, 5, 1, 192, 4.0), UIB(5, 3, 1, 192, 4.0, n=5),
          UIB(3, 0, 1, 192, 4.0),
          UIB(5, 5, 2, 512, 4.0, n=4), UIB(5, 0, 1, 512, 4.0), UIB(5, 3, 1, 512, 4.0), UIB(5, 0, 1, 512, 4.0, n=2),
          UIB(5, 3, 1, 512, 4.0), UIB(5, 5, 1, 512, 4.0), UIB(5, 0, 1, 512, 4.0, n=3)),
)

_MQA_M16, _MQA_M8 = MobileMQA(4, 64, 64, 2, 160), MobileMQA(4, 64, 64, 1, 256)

# [V4] Table 14 (MNv4HybridMedium): Conv-M's stages with 4 Mobile MQA blocks in each of the last two.
V4_HYBRID_MEDIUM = replace(
    V4_CONV_SMALL,
    name="v4-hybrid-medium",
    rows=_layer_scaled((
        FusedIB(3, 2, 48, 4.0),
        UIB(3, 5, 2, 80, 4.0), UIB(3, 3, 1, 80, 2.0),
        UIB(3, 5, 2, 160, 6.0), UIB(0, 0, 1, 160, 2.0), UIB(3, 3, 1, 160, 4.0), UIB(3, 5, 1, 160, 4.0),
        _MQA_M16, UIB(3, 3, 1, 160, 4.0), _MQA_M16, UIB(3, 0, 1, 160, 4.0), _MQA_M16, UIB(3, 3, 1, 160, 4.0),
        _MQA_M16, UIB(3, 0, 1, 160, 4.0),
        UIB(5, 5, 2, 256, 6.0), UIB(5, 5, 1, 256, 4.0), UIB(3, 5, 1, 256, 4.0, n=2), UIB(0, 0, 1, 256, 2.0),
        UIB(3, 5, 1, 256, 2.0), UIB(0, 0, 1, 256, 2.0), UIB(0, 0, 1, 256, 4.0),
        _MQA_M8, UIB(3, 0, 1, 256, 4.0), _MQA_M8, UIB(5, 5, 1, 256, 4.0), _MQA_M8, UIB(5, 0, 1, 256, 4.0),
        _MQA_M8, UIB(5, 0, 1, 256, 4.0))),
)

_MQA_L16, _MQA_L8 = MobileMQA(8, 48, 48, 2, 192), MobileMQA(8, 64, 64, 1, 512)

# [V4] Table 15 (MNv4HybridLarge): Conv-L's stages with 4 Mobile MQA blocks in each of the last two, GELU.
V4_HYBRID_LARGE = replace(
    V4_CONV_LARGE,
    name="v4-hybrid-large",
    activation="gelu",
    rows=_layer_scaled((
        FusedIB(3, 2, 48, 4.0),
        UIB(3, 5, 2, 96, 4.0), UIB(3, 3, 1, 96, 4.0),
        UIB(3, 5, 2, 192, 4.0), UIB(3, 3, 1, 192, 4.0, n=3), UIB(3, 5, 1, 192, 4.0), UIB(5, 3, 1, 192, 4.0, n=2),
        _MQA_L16, UIB(5, 3, 1, 192, 4.0), _MQA_L16, UIB(5, 3, 1, 192, 4.0), _MQA_L16, UIB(5, 3, 1, 192, 4.0),
        _MQA_L16, UIB(3, 0, 1, 192, 4.0),
        UIB(5, 5, 2, 512, 4.0, n=4), UIB(5, 0, 1, 512, 4.0), UIB(5, 3, 1, 512, 4.0), UIB(5, 0, 1, 512, 4.0, n=2),
        UIB(5, 3, 1, 512, 4.0), UIB(5, 5, 1, 512, 4.0),
        _MQA_L8, UIB(5, 0, 1, 512, 4.0), _MQA_L8, UIB(5, 0, 1, 512, 4.0), _MQA_L8, UIB(5, 0, 1, 512, 4.0),
        _MQA_L8, UIB(5, 0, 1, 512, 4.0))),
)

SPECS = (V4_CONV_SMALL, V4_CONV_MEDIUM, V4_CONV_LARGE, V4_HYBRID_MEDIUM, V4_HYBRID_LARGE)
