"""Every published number mncost rebuilds, as printed, with its source.

Values are strings exactly as printed (their digits give the precision a
computed value is compared at). Keys: macs_m (million mult-adds), params_m
(million params), top1 (ImageNet top-1 %), macs_share / params_share (% per
layer type), channels and memory_k (K = 1000 bytes of 16-bit activations),
macs_g ([V4], G), params (an exact count), ops_g (torchvision's GFLOPS), gmacs and
macts_m (timm's GMACs and million activations).
[V1] Howard et al. 2017 (arXiv:1704.04861), [V2] Sandler et al. 2018
(arXiv:1801.04381), [V3] Howard et al. 2019 (arXiv:1905.02244), [V4] Qin et al.
2024 (arXiv:2404.10518), [SLIM] tensorflow/models research/slim reference tables;
Keras Applications, torchvision and timm as cited where their figures are.
"""

from __future__ import annotations

from dataclasses import dataclass

Printed = dict[str, str]


@dataclass(frozen=True)
class Source:
    """One published table: where it is printed and its rows (label, printed values)."""

    source: str
    title: str
    rows: tuple[tuple[str, Printed], ...]


def _cost(top1: str | None, macs: str, params: str | None) -> Printed:
    values = {"top1": top1, "macs_m": macs, "params_m": params}
    return {k: v for k, v in values.items() if v is not None}


V1_TABLE2 = Source("[V1] Table 2", "Resource per layer type", (
    ("Conv 1x1", {"macs_share": "94.86", "params_share": "74.59"}),
    ("Conv DW 3x3", {"macs_share": "3.06", "params_share": "1.06"}),
    ("Conv 3x3", {"macs_share": "1.19", "params_share": "0.02"}),
    ("Fully Connected", {"macs_share": "0.18", "params_share": "24.33"}),
))

V1_TABLE3 = Source("[V1] Table 3", "Resource usage for modifications to standard convolution", (
    ("Convolution", {"macs_m": "462", "params_m": "2.36"}),
    ("Depthwise Separable Conv", {"macs_m": "52.3", "params_m": "0.27"}),
    ("alpha = 0.75", {"macs_m": "29.6", "params_m": "0.15"}),
    ("rho = 0.714", {"macs_m": "15.1", "params_m": "0.15"}),
))

V1_TABLE4 = Source("[V1] Table 4", "Depthwise Separable vs Full Convolution MobileNet", (
    ("Conv MobileNet", _cost("71.7", "4866", "29.3")),
    ("MobileNet", _cost("70.6", "569", "4.2")),
))

V1_TABLE5 = Source("[V1] Table 5", "Narrow vs Shallow MobileNet", (
    ("0.75 MobileNet", _cost("68.4", "325", "2.6")),
    ("Shallow MobileNet", _cost("65.3", "307", "2.9")),
))

V1_TABLE6 = Source("[V1] Table 6", "MobileNet Width Multiplier", (
    ("1.0 MobileNet-224", _cost("70.6", "569", "4.2")),
    ("0.75 MobileNet-224", _cost("68.4", "325", "2.6")),
    ("0.5 MobileNet-224", _cost("63.7", "149", "1.3")),
    ("0.25 MobileNet-224", _cost("50.6", "41", "0.5")),
))

V1_TABLE7 = Source("[V1] Table 7", "MobileNet Resolution", (
    ("1.0 MobileNet-224", _cost("70.6", "569", "4.2")),
    ("1.0 MobileNet-192", _cost("69.1", "418", "4.2")),
    ("1.0 MobileNet-160", _cost("67.2", "290", "4.2")),
    ("1.0 MobileNet-128", _cost("64.4", "186", "4.2")),
))

V1_TABLE8 = Source("[V1] Table 8", "MobileNet Comparison to Popular Models", (
    ("1.0 MobileNet-224", _cost("70.6", "569", "4.2")),
    ("GoogleNet", _cost("69.8", "1550", "6.8")),
    ("VGG 16", _cost("71.5", "15300", "138")),
))

V1_TABLE9 = Source("[V1] Table 9", "Smaller MobileNet Comparison to Popular Models", (
    ("0.50 MobileNet-160", _cost("60.2", "76", "1.32")),
    ("Squeezenet", _cost("57.5", "1700", "1.25")),
    ("AlexNet", _cost("57.2", "720", "60")),
))

V1_TABLE10 = Source("[V1] Table 10", "MobileNet for Stanford Dogs", (
    ("Inception V3", _cost("84", "5000", "23.2")),
    ("1.0 MobileNet-224", _cost("83.3", "569", "3.3")),
    ("0.75 MobileNet-224", _cost("81.9", "325", "1.9")),
    ("1.0 MobileNet-192", _cost("81.9", "418", "3.3")),
    ("0.75 MobileNet-192", _cost("80.5", "239", "1.9")),
))
STANFORD_DOGS_CLASSES = 120

V2_TABLE4 = Source("[V2] Table 4", "Performance on ImageNet, comparison for different networks", (
    ("MobileNetV1", _cost("70.6", "575", "4.2")),
    ("ShuffleNet (1.5)", _cost("71.5", "292", "3.4")),
    ("ShuffleNet (x2)", _cost("73.7", "524", "5.4")),
    ("NasNet-A", _cost("74.0", "564", "5.3")),
    ("MobileNetV2", _cost("72.0", "300", "3.4")),
    ("MobileNetV2 (1.4)", _cost("74.7", "585", "6.9")),
))

# [V2] Table 3: max channels / memory (K, 16-bit activations) at each spatial resolution. Two printings exist:
# this one (the arXiv version as ar5iv renders it; its caption points to "the trick described in Section 4")
# is quoted; the other (its caption: "Section 5") prints 1 / O(1) at 112x112 and a max of 800K / 200K.
V2_TABLE3 = Source("[V2] Table 3", "Max channels / memory (Kb) materialized at each spatial resolution", (
    ("MobileNetV1 112x112", {"channels": "64", "memory_k": "1600"}),
    ("MobileNetV1 56x56", {"channels": "128", "memory_k": "800"}),
    ("MobileNetV1 28x28", {"channels": "256", "memory_k": "400"}),
    ("MobileNetV1 14x14", {"channels": "512", "memory_k": "200"}),
    ("MobileNetV1 7x7", {"channels": "1024", "memory_k": "199"}),
    ("MobileNetV1 1x1", {"channels": "1024", "memory_k": "2"}),
    ("MobileNetV1 max", {"memory_k": "1600"}),
    ("MobileNetV2 112x112", {"channels": "16", "memory_k": "400"}),
    ("MobileNetV2 56x56", {"channels": "32", "memory_k": "200"}),
    ("MobileNetV2 28x28", {"channels": "64", "memory_k": "100"}),
    ("MobileNetV2 14x14", {"channels": "160", "memory_k": "62"}),
    ("MobileNetV2 7x7", {"channels": "320", "memory_k": "32"}),
    ("MobileNetV2 1x1", {"channels": "1280", "memory_k": "2"}),
    ("MobileNetV2 max", {"memory_k": "400"}),
))
V2_TABLE3_OTHER = (  # the other printing's rows where it differs; its 112x112 cells read "1 / O(1)"
    ("MobileNetV1 112x112 (other printing)", {"channels": "1"}),
    ("MobileNetV1 max (other printing)", {"memory_k": "800"}),
    ("MobileNetV2 112x112 (other printing)", {"channels": "1"}),
    ("MobileNetV2 max (other printing)", {"memory_k": "200"}),
)

# [V4] Qin et al. 2024 (arXiv:2404.10518) Table 6: ImageNet-1k top-1, params (M), MACs (G) at each model's
# input size, and latency (ms) on seven targets; "-" and "Failed" are printed, not numbers.
V4_LATENCY_TARGETS = ("ms_pixel6_cpu", "ms_pixel8_edgetpu", "ms_iphone13", "ms_pixel4_dsp", "ms_pixel7_gpu",
                      "ms_s23_cpu", "ms_s23_gpu")


def _v4_row(top1: str, params: str, macs: str, *latency: str) -> Printed:
    values = {"top1": top1, "params_m": params, "macs_g": macs, **dict(zip(V4_LATENCY_TARGETS, latency))}
    return {k: v for k, v in values.items() if v not in ("-", "Failed")}


V4_TABLE6 = Source("[V4] Table 6", "Classification results on ImageNet-1k, with latency on seven targets", (
    ("MNv4-Conv-S", _v4_row("73.8", "3.8", "0.2", "2.4", "0.7", "0.6", "2.4", "8.4", "1.8", "2.0")),
    ("MNv4-Conv-M", _v4_row("79.9", "9.2", "1.0", "11.4", "1.1", "1.1", "7.3", "18.1", "8.6", "4.1")),
    ("MNv4-Hybrid-M", _v4_row("80.7", "10.5", "1.2", "14.3", "1.5", "-", "Failed", "17.9", "10.8", "5.9")),
    ("MNv4-Conv-L", _v4_row("82.9", "31", "5.9", "59.9", "2.4", "3.0", "20.8", "37.6", "43.0", "13.2")),
    ("MNv4-Hybrid-L", _v4_row("83.4", "35.9", "7.2", "87.6", "3.8", "-", "Failed", "61.3", "61.8", "18.1")),
    ("MobileNet-V1", _v4_row("74.0", "4.2", "0.6", "6.1", "0.8", "0.7", "3.2", "13.0", "4.6", "2.1")),
    ("MobileNet-V2", _v4_row("73.4", "3.5", "0.3", "5.0", "0.7", "0.7", "3.9", "13.6", "4.1", "2.5")),
    ("MobileNet-V2-0.5x", _v4_row("66", "2.0", "0.1", "2.4", "0.7", "0.5", "2.9", "8.3", "1.8", "1.9")),
    ("MobileNet-V3L-0.5x", _v4_row("69.2", "2.7", "0.1", "2.4", "0.8", "0.45", "3.5", "9.9", "2.0", "2.1")),
    ("MobileNet-V2-1.5x", _v4_row("76.8", "6.8", "0.7", "9.3", "0.9", "1.0", "5.6", "16.4", "7.3", "3.3")),
    ("MobileNet-V2-2.0x", _v4_row("78.4", "11.2", "1.1", "13.9", "1.1", "1.5", "6.9", "19.1", "10.6", "4.2")),
))
# The input size of each [V4] model in Table 6 ([V4] Appendix tables 11-15 and its model descriptions).
V4_RESOLUTIONS = {"v4-conv-small": 224, "v4-conv-medium": 256, "v4-hybrid-medium": 256, "v4-conv-large": 384,
                  "v4-hybrid-large": 384}


@dataclass(frozen=True)
class Checkpoint:
    """One [SLIM] reference checkpoint: width multiplier, resolution, million MACs and params, top-1."""

    arch: str
    width: str  # the width multiplier as the checkpoint's name prints it (1.0, 0.50, 0.35)
    resolution: int
    macs_m: str
    params_m: str
    top1: str

    @property
    def alpha(self) -> float:
        return float(self.width)

    @property
    def name(self) -> str:
        if self.arch.startswith("v3"):  # [SLIM] names the V3 checkpoints by size and multiplier, e.g. "large dm=1"
            return f"{self.arch} {self.width} {self.resolution}"
        return f"mobilenet_{self.arch}_{self.width}_{self.resolution}"


def _checkpoints(arch: str, table: str) -> tuple[Checkpoint, ...]:
    rows = []
    for line in table.strip().splitlines():
        alpha, cells = line.split(":")
        for cell in cells.split("|"):
            res, macs, params, top1 = cell.split()
            rows.append(Checkpoint(arch, alpha, int(res), macs, params, top1))
    return tuple(rows)


# [SLIM] research/slim/nets/mobilenet_v1.md: 16 checkpoints, 1001 classes.
V1_CHECKPOINTS = _checkpoints("v1", """
1.0: 224 569 4.24 70.9 | 192 418 4.24 70.0 | 160 291 4.24 68.0 | 128 186 4.24 65.2
0.75: 224 317 2.59 68.4 | 192 233 2.59 67.2 | 160 162 2.59 65.3 | 128 104 2.59 62.1
0.50: 224 150 1.34 63.3 | 192 110 1.34 61.7 | 160 77 1.34 59.1 | 128 49 1.34 56.3
0.25: 224 41 0.47 49.8 | 192 34 0.47 47.7 | 160 21 0.47 45.5 | 128 14 0.47 41.5
""")

# [SLIM] research/slim/nets/mobilenet/README.md: 22 checkpoints, 1001 classes, params without BatchNorm.
V2_CHECKPOINTS = _checkpoints("v2", """
1.4: 224 582 6.06 75.0
1.3: 224 509 5.34 74.4
1.0: 224 300 3.47 71.8 | 192 221 3.47 70.7 | 160 154 3.47 68.8 | 128 99 3.47 65.3 | 96 56 3.47 60.3
0.75: 224 209 2.61 69.8 | 192 153 2.61 68.7 | 160 107 2.61 66.4 | 128 69 2.61 63.2 | 96 39 2.61 58.8
0.5: 224 97 1.95 65.4 | 192 71 1.95 63.9 | 160 50 1.95 61.0 | 128 32 1.95 57.7 | 96 18 1.95 51.2
0.35: 224 59 1.66 60.3 | 192 43 1.66 58.2 | 160 30 1.66 55.7 | 128 20 1.66 50.8 | 96 11 1.66 45.5
""")

V1_CHECKPOINTS_SOURCE = Source("[SLIM] mobilenet_v1.md", "MobileNet V1 reference checkpoints", ())
V2_CHECKPOINTS_SOURCE = Source("[SLIM] mobilenet/README.md", "MobileNet V2 reference checkpoints", ())
SLIM_CLASSES = 1001  # the reference checkpoints keep a background class

# [V3] Howard et al. 2019, "Searching for MobileNetV3" (arXiv:1905.02244), Table 3 (float, Pixel phones).
# The current arXiv version prints Small 56 M / 2.5 M; an earlier one 66 M / 2.9 M (and 0.75: 44 / 2.4).
V3_TABLE3 = Source("[V3] Table 3", "Floating point performance on the Pixel family of phones", (
    ("V3-Large 1.0", _cost("75.2", "219", "5.4")),
    ("V3-Large 0.75", _cost("73.3", "155", "4.0")),
    ("MnasNet-A1", _cost("75.2", "315", "3.9")),
    ("Proxyless", _cost("74.6", "320", "4.0")),
    ("V2 1.0", _cost("72.0", "300", "3.4")),
    ("V3-Small 1.0", _cost("67.4", "56", "2.5")),
    ("V3-Small 0.75", _cost("65.4", "44", "2.0")),
    ("Mnas-small", _cost("64.9", "65.1", "1.9")),
    ("V2 0.35", _cost("60.8", "59.2", "1.6")),
    ("V3-Small 1.0 (earlier arXiv version)", _cost("67.4", "66", "2.9")),
    ("V3-Small 0.75 (earlier arXiv version)", _cost("65.4", "44", "2.4")),
))

# [SLIM] research/slim/nets/mobilenet/README.md, the V3 float checkpoints (224, 1001 classes);
# the 8-bit checkpoints print the same MACs and params.
V3_CHECKPOINTS = (
    Checkpoint("v3-large", "1.0", 224, "217", "5.4", "75.2"),
    Checkpoint("v3-large", "0.75", 224, "155", "4.0", "73.3"),
    Checkpoint("v3-small", "1.0", 224, "66", "2.9", "67.5"),
    Checkpoint("v3-small", "0.75", 224, "44", "2.4", "65.4"),
    Checkpoint("v3-large-minimal", "1.0", 224, "209", "3.9", "72.3"),
    Checkpoint("v3-small-minimal", "1.0", 224, "65", "2.0", "61.9"),
)
V3_CHECKPOINTS_SOURCE = Source("[SLIM] mobilenet/README.md", "MobileNet V3 reference checkpoints (float)", ())

# [V3] Appendix A, Table 9 ("Floating point performance for Large and Small V3 models"): "large 224/1.0" is
# size, resolution / multiplier. The earlier arXiv version (whose Table 3 prints Small 66 M / 2.9 M and Pixel-1
# latencies 66 / 50 ms for Large; transcription in the code index, file id 38048214849) has 20 rows; the current
# one (file id 70253733526) prints the same Large rows and other Small rows, given here where they differ.
def _appendix(table: str, suffix: str = "") -> tuple[tuple[str, Printed], ...]:
    rows = []
    for line in table.strip().splitlines():
        label, top1, macs, params = line.rsplit(maxsplit=3)
        rows.append((label + suffix, _cost(top1, macs, params)))
    return tuple(rows)


V3_TABLE9 = Source("[V3] Table 9 (earlier arXiv version)", "Large and Small V3 models by multiplier and resolution",
                   _appendix("""
large 224/1.25 76.6 356 7.5
large 224/1.0 75.2 217 5.4
large 224/0.75 73.3 155 4.0
large 224/0.5 68.8 69 2.6
large 224/0.35 64.2 40 2.2
large 256/1.0 76.0 282 5.4
large 192/1.0 73.7 160 5.4
large 160/1.0 71.7 112 5.4
large 128/1.0 68.4 73 5.4
large 96/1.0 63.3 43 5.4
small 224/1.25 70.4 91 3.6
small 224/1.0 67.5 66 2.9
small 224/0.75 65.4 44 2.4
small 224/0.5 58.0 23 1.9
small 224/0.35 49.8 13 1.7
small 256/1.0 68.5 74 2.9
small 192/1.0 65.4 42 2.9
small 160/1.0 62.8 30 2.9
small 128/1.0 57.3 20 2.9
small 96/1.0 51.7 12 2.9
""") + _appendix("""
small 224/1.25 70.4 91 3.6
small 224/1.0 67.5 57 2.5
small 224/0.75 65.4 44 2.0
small 224/0.5 58.0 21 1.6
small 224/0.35 49.8 12 1.4
small 256/1.0 68.5 74 2.5
small 160/1.0 62.8 30 2.5
small 128/1.0 57.3 20 2.5
small 96/1.0 51.7 12 2.5
""", " (current version)"))

# Keras Applications, keras-team/keras-io templates/api/applications/index.md: the table at commit 01b6d6c4
# prints exact params (and top-1 as a fraction), the one at e7be306b rounds them to 0.1 M.
KERAS = Source("Keras Applications (keras.io)", "MobileNet and MobileNetV2 params, model.summary()'s Total params", (
    ("MobileNet (01b6d6c4)", {"top1": "70.4", "params": "4253864"}),
    ("MobileNetV2 (01b6d6c4)", {"top1": "71.3", "params": "3538984"}),
    ("MobileNet (e7be306b)", {"top1": "70.4", "params_m": "4.3"}),
    ("MobileNetV2 (e7be306b)", {"top1": "71.3", "params_m": "3.5"}),
))

# keras-team/keras keras/src/applications/mobilenet_v3.py (commit 08995a40), the docstring's table of the V3
# checkpoints (named there mobilenet_v3_large_1.0_224 ...; here by Keras's functions, MobileNetV3Large and Small).
KERAS_V3 = Source("Keras Applications (mobilenet_v3.py docstring)", "MobileNetV3 checkpoints", (
    ("MobileNetV3Large 1.0 224", _cost("75.6", "217", "5.4")),
    ("MobileNetV3Large 0.75 224", _cost("73.3", "155", "4.0")),
    ("MobileNetV3Large minimalistic 1.0 224", _cost("72.3", "209", "3.9")),
    ("MobileNetV3Small 1.0 224", _cost("68.1", "66", "2.9")),
    ("MobileNetV3Small 0.75 224", _cost("65.4", "44", "2.4")),
    ("MobileNetV3Small minimalistic 1.0 224", _cost("61.9", "65", "2.0")),
))

# torchvision's weights metadata (torchvision/models/mobilenetv2.py and mobilenetv3.py, the weights API):
# num_params and _ops, the "GFLOPS" of the docs' table; every weight of a model prints the same two.
TORCHVISION = Source("torchvision weights metadata", "MobileNetV2 and V3 num_params and GFLOPS", (
    ("mobilenet_v2", {"params": "3504872", "ops_g": "0.301"}),
    ("mobilenet_v3_large", {"params": "5483032", "ops_g": "0.217"}),
    ("mobilenet_v3_small", {"params": "2542856", "ops_g": "0.057"}),
))


@dataclass(frozen=True)
class TimmFigure:
    """One row of timm's benchmark results: a model at one input size, its GMACs, params (M), activations (M)."""

    model: str
    resolution: int
    gmacs: str
    params_m: str
    macts_m: str


def _timm(table: str) -> tuple[TimmFigure, ...]:
    rows = []
    for line in table.strip().splitlines():
        model, cells = line.split(":")
        rows += [TimmFigure(model, int(res), *values) for res, *values in (c.split() for c in cells.split("|"))]
    return tuple(rows)


# huggingface/pytorch-image-models results/benchmark-infer-amp-nchw-pt291-cu128-4090.csv at commit 90cae8c5
# (its last change; the model cards print the same figures): infer_gmacs, param_count and infer_macts, written by
# benchmark.py as round(x / 1e9, 2) and round(x / 1e6, 2) of fvcore's totals and sum(p.numel()). The CSV prints
# Python floats, whose repr drops trailing zeros ("1.0" is 1.00): they are written here at their two decimals.
# The MobileNet family (but mobilenetv5, 20 to 436 GMACs) and a few other mobile models.
TIMM_SOURCE = Source("timm results/benchmark-infer-amp-nchw-pt291-cu128-4090.csv @ 90cae8c5",
                     "MobileNets as timm publishes them: GMACs, params and activations", ())
TIMM_FIGURES = _timm("""
efficientnet_b0: 224 0.40 5.29 6.75 | 256 0.52 5.29 8.81
efficientvit_b0: 224 0.10 3.41 2.87
fbnetc_100: 224 0.40 5.57 6.51
ghostnet_100: 224 0.15 5.18 3.55
hardcorenas_a: 224 0.23 5.26 4.38
lcnet_100: 224 0.16 2.95 2.52
mnasnet_100: 224 0.33 4.38 5.46
mobilenet_edgetpu_100: 224 1.00 4.09 5.75
mobilenet_edgetpu_v2_l: 224 2.55 10.92 9.05
mobilenet_edgetpu_v2_m: 224 1.85 8.46 8.15 | 256 2.42 8.46 10.65
mobilenet_edgetpu_v2_s: 224 1.21 5.99 6.60
mobilenet_edgetpu_v2_xs: 224 0.70 4.46 4.80
mobilenetv1_100: 224 0.58 4.23 5.04 | 256 0.76 4.23 6.59
mobilenetv1_100h: 224 0.63 5.28 5.09 | 256 0.82 5.28 6.65
mobilenetv1_125: 224 0.89 6.27 6.30 | 256 1.16 6.27 8.23
mobilenetv2_035: 224 0.07 1.68 2.86
mobilenetv2_050: 224 0.10 1.97 3.64
mobilenetv2_075: 224 0.22 2.64 5.86
mobilenetv2_100: 224 0.31 3.50 6.68
mobilenetv2_110d: 224 0.45 4.52 8.71
mobilenetv2_120d: 224 0.69 5.83 11.97
mobilenetv2_140: 224 0.60 6.11 9.57
mobilenetv3_large_075: 224 0.16 3.99 4.00
mobilenetv3_large_100: 224 0.23 5.48 4.41 | 256 0.29 5.48 5.75
mobilenetv3_large_150d: 256 1.03 14.62 12.35 | 320 1.61 14.62 19.29
mobilenetv3_rw: 224 0.23 5.48 4.41
mobilenetv3_small_050: 224 0.03 1.59 0.92
mobilenetv3_small_075: 224 0.05 2.04 1.30
mobilenetv3_small_100: 224 0.06 2.54 1.42
mobilenetv4_conv_aa_large: 384 7.07 32.59 32.29 | 448 9.63 32.59 43.94 | 480 11.05 32.59 50.45
mobilenetv4_conv_aa_large: 544 14.19 32.59 64.79
mobilenetv4_conv_aa_medium: 256 1.58 9.72 10.30
mobilenetv4_conv_blur_medium: 224 1.22 9.72 8.58 | 256 1.59 9.72 11.20
mobilenetv4_conv_large: 256 2.86 32.59 12.14 | 320 4.47 32.59 18.97 | 384 6.43 32.59 27.31
mobilenetv4_conv_large: 448 8.75 32.59 37.17
mobilenetv4_conv_medium: 224 0.84 9.72 5.80 | 256 1.10 9.72 7.58 | 320 1.71 9.72 11.84 | 384 2.46 9.72 17.05
mobilenetv4_conv_small: 224 0.19 3.77 1.97 | 256 0.25 3.77 2.57 | 320 0.39 3.77 4.01
mobilenetv4_conv_small_035: 224 0.05 1.91 0.98 | 256 0.06 1.91 1.28
mobilenetv4_conv_small_050: 224 0.07 2.24 1.18 | 256 0.09 2.24 1.55
mobilenetv4_hybrid_large: 384 7.77 37.76 34.52 | 448 10.74 37.76 48.61
mobilenetv4_hybrid_large_075: 256 2.06 22.75 11.64
mobilenetv4_hybrid_medium: 224 0.98 11.07 6.84 | 256 1.29 11.07 9.01 | 320 2.05 11.07 14.36
mobilenetv4_hybrid_medium: 384 3.01 11.07 21.18 | 448 4.20 11.07 29.64
mobilenetv4_hybrid_medium_075: 224 0.66 7.31 5.65
mobileone_s0: 224 0.28 2.08 3.79
mobilevitv2_050: 256 0.48 1.37 8.04
tf_mobilenetv3_large_075: 224 0.16 3.99 4.00
tf_mobilenetv3_large_100: 224 0.23 5.48 4.41
tf_mobilenetv3_large_minimal_100: 224 0.22 3.92 4.40
tf_mobilenetv3_small_075: 224 0.05 2.04 1.30
tf_mobilenetv3_small_100: 224 0.06 2.54 1.42
tf_mobilenetv3_small_minimal_100: 224 0.06 2.04 1.41
tinynet_a: 192 0.35 6.19 5.41
""")
