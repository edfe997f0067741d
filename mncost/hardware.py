"""Hardware profiles for the roofline: peak mult-adds/s and memory bandwidth, or a ridge point, with sources.

The published profiles are data. `this` is the current machine, measured once with
a short micro-benchmark (a large matmul for peak MACs/s, a large copy for bandwidth)
and cached in ~/.cache/mncost/hw.json ($XDG_CACHE_HOME or $MNCOST_CACHE_DIR move it).
Only measuring imports torch.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .errors import MncostError

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


def _best(run, repeats: int) -> float:
    """The shortest of several timed runs, in seconds (the least disturbed on a shared machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(size: int = 1024, copy_bytes: int = 256 * 2**20, repeats: int = 10) -> dict:
    """Peak fp32 MACs/s (size^3 matmul) and copy bandwidth (bytes read + written) of this machine, via torch."""
    try:
        import torch
    except ImportError:
        raise MncostError("--hw this measures with torch; install mncost[torch] or pick a published profile") from None
    a, b = torch.rand(size, size), torch.rand(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)  # warm-up
    matmul = _best(lambda: torch.mm(a, b, out=out), repeats)
    src = torch.ones(copy_bytes // 4)
    dst = torch.empty_like(src)
    dst.copy_(src)  # warm-up: pages touched
    copy = _best(lambda: dst.copy_(src), repeats)
    return {"peak_macs": size ** 3 / matmul, "bandwidth": 2 * copy_bytes / copy,
            "method": f"best of {repeats}: fp32 {size}x{size} matmul; copy of {copy_bytes // 2**20} MiB",
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def this_machine(remeasure: bool = False, notify: Callable[[str], None] | None = None) -> Hardware:
    """The current machine's profile: measured now (telling notify) if asked or not cached yet, else cached."""
    path = cache_path()
    record = None
    if not remeasure and path.exists():
        try:
            record = json.loads(path.read_text())
            float(record["peak_macs"]), float(record["bandwidth"])
        except (ValueError, KeyError, TypeError):
            record = None  # a damaged cache is measured again
    if record is None:
        if notify:
            notify("measuring this machine (matmul and copy, a few seconds)...")
        record = measure()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record, indent=2) + "\n")
        except OSError as error:
            raise MncostError(f"cannot write the hardware cache {path}: {error.strerror}") from None
    source = (f"measured on {record['machine']} at {record['measured']} ({record['method']}, "
              f"{record['threads']} threads, torch {record['torch']}); cached in {path}")
    return from_peaks(THIS, "this machine", float(record["peak_macs"]), float(record["bandwidth"]), source, "fp32")


def hardware(name: str, remeasure: bool = False, notify: Callable[[str], None] | None = None) -> Hardware:
    """The named profile (`this` is measured), or a MncostError listing the names."""
    if name == THIS:
        return this_machine(remeasure, notify)
    if name in PROFILES:
        return PROFILES[name]
    raise MncostError(f"unknown hardware {name!r}; use one of: {', '.join([*PROFILES, THIS])}")


def to_dict(hw: Hardware) -> dict:
    """The profile as JSON."""
    return asdict(hw)
