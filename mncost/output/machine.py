"""`--hw this`: this machine's profile, measured once (mncost.torch.calibrate) and cached.

The cache is one of mncost's own files (mncost.output.files): marked, never a symlink, written atomically.
A file there that mncost did not write is refused; one of mncost's whose values are not a valid profile is
measured again and replaced, and said so.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Callable

from ..arch.bounds import shown
from ..cost.hardware import KERNEL_KINDS, THIS, Hardware, cache_path, from_peaks, kernels_of, published
from ..errors import MncostError
from .files import read_own_json, write_files

REMEDY = "move it, or set MNCOST_CACHE_DIR to another folder"
MAX_RATE = 1e18  # mult-adds or bytes per second: far beyond any machine, so that a typo'd value is caught
MAX_THREADS = 1024
TEXT_FIELDS = ("machine", "measured", "method", "torch")


def problem(record: Any) -> str | None:
    """What makes a cached or measured record no profile (a field and its value), or None."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    for key in ("peak_macs", "bandwidth"):
        value = record.get(key)
        if not _rate(value):
            return f"{key} {shown(value)} is not a number of operations per second in (0, {MAX_RATE:g}]"
    threads = record.get("threads")
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 1_000_000:
        return f"threads {shown(threads)} is not a thread count"
    for key in TEXT_FIELDS:
        if not isinstance(record.get(key), str) or not record[key].isprintable() or len(record[key]) > 200:
            return f"{key} {shown(record.get(key))} is not a line of text"
    return _kernels_problem(record.get("kernels"))


def _rate(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value) \
        and 0 < value <= MAX_RATE


def _kernels_problem(kernels: Any) -> str | None:
    """What makes a record's per-kernel model no model (an older mncost's record has none), or None."""
    if not isinstance(kernels, dict) or not isinstance(kernels.get("points"), dict):
        return "it has no per-kernel model (an older mncost measured it)"
    overhead = kernels.get("overhead")
    if not _rate(overhead) or overhead > 1:
        return f"kernels.overhead {shown(overhead)} is not a time in (0, 1] s"
    for kind in KERNEL_KINDS:
        points = kernels["points"].get(kind)
        if not isinstance(points, list) or not points or not all(
                isinstance(p, list) and len(p) == 2 and _rate(p[0]) and _rate(p[1]) for p in points) \
                or [p[0] for p in points] != sorted({p[0] for p in points}):
            return f"kernels.points.{kind} {shown(points)} is not a list of [size, rate] by ascending size"
    return None


def _measure(notify: Callable[[str], None] | None, threads: int | None) -> dict[str, Any]:
    if notify:
        notify(f"measuring this machine (torch kernels of every kind at {threads or 'all'} thread"
               f"{'s' * (threads != 1)}, under a minute)...")
    try:
        from ..torch.calibrate import measure, use_threads
    except ImportError:
        raise MncostError("--hw this measures with torch; install mncost[torch] or pick a published profile") \
            from None
    use_threads(threads)
    record = measure()
    wrong = problem(record)
    if wrong:
        raise MncostError(f"measuring this machine failed: {wrong}; run it again with --remeasure")
    return record


def this_machine(remeasure: bool = False, notify: Callable[[str], None] | None = None,
                 threads: int | None = None) -> Hardware:
    """The current machine's profile at that many threads (None: torch's default): measured now (telling
    notify) if asked, not cached yet, or cached at another thread count; else the cached one."""
    path = cache_path()
    record = read_own_json(path, REMEDY)  # a foreign file or a symlink is refused, even with --remeasure
    wrong = problem(record) if record is not None else None
    if wrong and not remeasure and notify:
        notify(f"the cached profile {path} is damaged ({wrong}); measuring again")
    if record is None or wrong or remeasure or (threads is not None and record["threads"] != threads):
        record = _measure(notify, threads)
        write_files({path.name: json.dumps(record)}, path.parent, "mncost", REMEDY)
    source = (f"measured on {record['machine']} at {record['measured']} ({record['method']}, "
              f"torch {record['torch']}); cached in {path}")
    return from_peaks(THIS, "this machine", float(record["peak_macs"]), float(record["bandwidth"]), source, "fp32",
                      kernels_of(record["kernels"]), record["threads"])


def hardware(name: str, remeasure: bool = False, notify: Callable[[str], None] | None = None,
             threads: int | None = None) -> Hardware:
    """The named profile (`this` is measured, at threads), or a MncostError listing the names."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or not 1 <= threads <= MAX_THREADS):
        raise MncostError(f"threads {shown(threads)} is invalid; use a whole number from 1 to {MAX_THREADS}")
    if threads is not None and name != THIS:
        raise MncostError(f"--threads sets the threads `--hw this` measures at; {name!r} is a published profile")
    return this_machine(remeasure, notify, threads) if name == THIS else published(name)
