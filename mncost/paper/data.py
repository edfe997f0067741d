"""Every published number mncost rebuilds, as printed, with its source.

Values are strings exactly as printed (their digits give the precision a
computed value is compared at). Keys: macs_m (million mult-adds), params_m
(million params), top1 (ImageNet top-1 %), macs_share / params_share (% per
layer type), channels and memory_k (K = 1000 bytes of 16-bit activations).
[V1] Howard et al. 2017 (arXiv:1704.04861), [V2] Sandler et al. 2018
(arXiv:1801.04381), [SLIM] tensorflow/models research/slim reference tables.
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

V2_TABLE4 = Source("[V2] Table 4", "Performance on ImageNet, comparison for different networks", (
    ("MobileNetV1", _cost("70.6", "575", "4.2")),
    ("ShuffleNet (1.5)", _cost("71.5", "292", "3.4")),
    ("ShuffleNet (x2)", _cost("73.7", "524", "5.4")),
    ("NasNet-A", _cost("74.0", "564", "5.3")),
    ("MobileNetV2", _cost("72.0", "300", "3.4")),
    ("MobileNetV2 (1.4)", _cost("74.7", "585", "6.9")),
))

# [V2] Table 3: max channels / memory (K, 16-bit activations) at each spatial resolution.
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

# torchvision's weights metadata (torchvision/models/mobilenetv3.py): num_params and _ops (GFLOPS).
V3_TORCHVISION = Source("torchvision weights metadata", "MobileNetV3 num_params and GFLOPS (convention check)", (
    ("mobilenet_v3_large", {"params": "5483032", "ops_g": "0.217"}),
    ("mobilenet_v3_small", {"params": "2542856", "ops_g": "0.057"}),
))

