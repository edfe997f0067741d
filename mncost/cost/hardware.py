"""Hardware profiles for the roofline: peak mult-adds/s and memory bandwidth, or a ridge point, with sources.

The published profiles are data. `this` is the current machine, measured by mncost.torch.calibrate
and cached (mncost.output.machine) in ~/.cache/mncost/hw.json ($XDG_CACHE_HOME or $MNCOST_CACHE_DIR move it).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import MncostError

V4_TABLE16 = "[V4] Table 16 (Appendix F): ridge point fitted to measured int8 latency"


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

    @property
    def absolute(self) -> bool:
        """Whether times are seconds (both peaks known) or relative units (ridge point only)."""
        return self.peak_macs is not None and self.bandwidth is not None


def from_peaks(name: str, label: str, peak_macs: float, bandwidth: float, source: str,
               dtype: str | None = None) -> Hardware:
    """A profile from its two peaks; the ridge point is their ratio."""
    return Hardware(name, label, peak_macs / bandwidth, source, peak_macs, bandwidth, dtype)


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
