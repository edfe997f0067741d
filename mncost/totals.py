"""Network totals straight from a Spec's rows with plain integers: the fast path for sweeps and fits.

It walks the same table as archs.build but keeps only running sums, no Layer
objects; tests check that it equals the layer-by-layer engine exactly. It restates
each row type's layout on purpose: driving the rows' own `add()` with a summing
stack is exact too but three times slower (30 us against 10 us for V2), which
would miss the 5,000x-faster-than-fvcore target.
"""

from __future__ import annotations

from .archs import ROUNDING, Bottleneck, FullConv, Separable, Spec, get_spec, parse_alpha, parse_classes, \
    parse_resolution
from .costs import LayerCost
from .layers import Size


def spec_totals(spec: Spec, alpha: float, resolution: Size, num_classes: int) -> LayerCost:
    """Sum of every layer's LayerCost for an already validated config (see totals() for user input)."""
    width = ROUNDING[spec.rounding]
    h, w = resolution
    h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1  # 3x3 conv, padding 1, stride 2
    m = width(spec.stem, alpha)
    area = h * w
    macs = weights = 27 * m  # 3x3x3xM weights, one mult-add each per output pixel
    macs *= area
    bn = 2 * m
    acts = m * area
    for row in spec.rows:
        n = width(row.c, alpha)
        for repeat in range(row.n):
            stride = row.s if repeat == 0 else 1
            if type(row) is Bottleneck:
                hidden = m * row.t
                if row.t != 1:  # expand 1x1 at the input size
                    macs += m * hidden * area
                    weights += m * hidden
                    bn += 2 * hidden
                    acts += hidden * area
                if stride != 1:
                    h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
                    area = h * w
                # depthwise 3x3, then linear project 1x1
                macs += (9 + n) * hidden * area
                weights += (9 + n) * hidden
                bn += 2 * (hidden + n)
                acts += (hidden + n) * area
            else:
                if stride != 1:
                    h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
                    area = h * w
                if type(row) is Separable:  # depthwise 3x3, then pointwise 1x1
                    macs += (9 + n) * m * area
                    weights += (9 + n) * m
                    bn += 2 * (m + n)
                    acts += (m + n) * area
                elif type(row) is FullConv:
                    macs += 9 * m * n * area
                    weights += 9 * m * n
                    bn += 2 * n
                    acts += n * area
                else:
                    raise TypeError(f"unknown row type {type(row).__name__}")
            m = n
    if spec.head is not None:
        n = width(spec.head, alpha if spec.thin_head else max(alpha, 1.0))
        macs += m * n * area
        weights += m * n
        bn += 2 * n
        acts += n * area
        m = n
    # global average pool (m outputs), then the classifier with its bias
    fc = m * num_classes
    return LayerCost(macs=macs + fc, weights=weights + fc, bias=num_classes, bn_params=bn,
                     activations=acts + m + num_classes)


def totals(arch: str | Spec = "v1", alpha: float = 1.0, res: int | str | Size = 224,
           classes: int = 1000) -> LayerCost:
    """Total mult-adds, params and activations of a network, without listing its layers."""
    spec = arch if isinstance(arch, Spec) else get_spec(arch)
    return spec_totals(spec, parse_alpha(alpha), parse_resolution(res), parse_classes(classes))
