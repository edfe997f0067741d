"""Hardware profiles for the roofline: peak mult-adds/s and memory bandwidth, or a ridge point, with sources.

The published profiles are data. `this` is the current machine, measured by mncost.torch.calibrate
and cached (mncost.output.machine) in ~/.cache/mncost/hw.json ($XDG_CACHE_HOME or $MNCOST_CACHE_DIR move it).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

from ..errors import MncostError

V4_TABLE16 = "[V4] Table 16 (Appendix F): ridge point fitted to measured int8 latency"


# The kernel kinds `--hw this` times apart: a kind with mult-adds is priced by its achieved mult-adds/s, the
# others by their achieved bytes/s (each at the op's size, between the calibrated sizes).
MAC_KINDS = ("conv", "pointwise", "depthwise3", "depthwise5", "depthwise7", "grouped", "matmul", "attention")
BYTE_KINDS = ("elementwise", "norm", "pooling")
KERNEL_KINDS = MAC_KINDS + BYTE_KINDS


@dataclass(frozen=True)
class Kernels:
    """A machine per kernel kind: achieved rates at calibrated sizes and a fixed cost per op (seconds).

    points[kind] is ((size, rate), ...) by ascending size: mult-adds and mult-adds/s for MAC_KINDS, bytes and
    bytes/s for BYTE_KINDS. A kind with mult-adds moves its bytes at the elementwise rate."""

    overhead: float
    points: Mapping[str, tuple[tuple[float, float], ...]]

    def rate(self, kind: str, size: float) -> float:
        """The achieved rate at this size: log-log interpolated between the calibrated sizes, held beyond them."""
        points = self.points[kind]
        if size <= points[0][0]:
            return points[0][1]
        for (s0, r0), (s1, r1) in zip(points, points[1:]):
            if size == s1:
                return r1
            if size < s1:
                f = math.log(size / s0) / math.log(s1 / s0)
                return math.exp(math.log(r0) + f * math.log(r1 / r0))
        return points[-1][1]

    def terms(self, kind: str, macs: int, nbytes: int) -> tuple[float, float, float]:
        """One op's (compute, memory, fixed) seconds; its time is max(compute, memory) + fixed."""
        if kind in BYTE_KINDS:
            return 0.0, nbytes / self.rate(kind, max(nbytes, 1)), self.overhead
        memory = nbytes / self.rate("elementwise", max(nbytes, 1))
        return macs / self.rate(kind, max(macs, 1)), memory, self.overhead


@dataclass(frozen=True)
class Hardware:
    """A roofline: the ridge point RP = PeakMACs / PeakMemBW, and the peaks themselves when known."""

    name: str
    label: str
    ridge: float  # mult-adds per byte
    source: str
    peak_macs: float | None = None  # mult-adds per second
    bandwidth: float | None = None  # bytes per second
    dtype: str | None = None  # the precision the profile was fitted or measured at
    kernels: Kernels | None = None  # measured per kernel kind (`--hw this`): each op priced on its own
    threads: int | None = None  # the threads it was measured at

    @property
    def absolute(self) -> bool:
        """Whether times are seconds (both peaks known) or relative units (ridge point only)."""
        return self.peak_macs is not None and self.bandwidth is not None


def from_peaks(name: str, label: str, peak_macs: float, bandwidth: float, source: str,
               dtype: str | None = None, kernels: Kernels | None = None, threads: int | None = None) -> Hardware:
    """A profile from its two peaks; the ridge point is their ratio."""
    return Hardware(name, label, peak_macs / bandwidth, source, peak_macs, bandwidth, dtype, kernels, threads)


def kernels_of(record: Mapping) -> Kernels:
    """The per-kernel model of a measured record (checked by mncost.output.machine.problem)."""
    return Kernels(float(record["overhead"]), {kind: tuple((float(s), float(r)) for s, r in record["points"][kind])
                                               for kind in KERNEL_KINDS})


PROFILES: dict[str, Hardware] = {hw.name: hw for hw in (
    Hardware("pixel6-cpu", "Pixel 6 CPU", 31.2, V4_TABLE16, dtype="int8"),
    Hardware("s23-cpu", "Samsung S23 CPU", 39.7, V4_TABLE16, dtype="int8"),
    Hardware("pixel4-dsp", "Pixel 4 DSP", 347.3, V4_TABLE16, dtype="int8"),
    Hardware("pixel8-edgetpu", "Pixel 8 EdgeTPU", 433.8, V4_TABLE16, dtype="int8"),
    Hardware("macs", "mult-adds only", 0.0, "[V4] section 3: counting mult-adds alone is the roofline with RP = 0"),
)}
THIS = "this"


def cache_path() -> Path:
    """Where `--hw this` keeps its measurement."""
    if os.environ.get("MNCOST_CACHE_DIR"):
        return Path(os.environ["MNCOST_CACHE_DIR"]) / "hw.json"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mncost" / "hw.json"


def published(name: str) -> Hardware:
    """A published profile by name, or a MncostError listing every name (`this` is measured)."""
    if name in PROFILES:
        return PROFILES[name]
    raise MncostError(f"unknown hardware {name!r}; use one of: {', '.join([*PROFILES, THIS])}")


def to_dict(hw: Hardware) -> dict:
    """The profile as JSON."""
    return asdict(hw)
