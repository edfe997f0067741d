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
from ..cost.hardware import THIS, Hardware, cache_path, from_peaks, published
from ..errors import MncostError
from .files import read_own_json, write_files

REMEDY = "move it, or set MNCOST_CACHE_DIR to another folder"
MAX_RATE = 1e18  # mult-adds or bytes per second: far beyond any machine, so that a typo'd value is caught
TEXT_FIELDS = ("machine", "measured", "method", "torch")


def problem(record: Any) -> str | None:
    """What makes a cached or measured record no profile (a field and its value), or None."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    for key in ("peak_macs", "bandwidth"):
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
                or not 0 < value <= MAX_RATE:
            return f"{key} {shown(value)} is not a number of operations per second in (0, {MAX_RATE:g}]"
    threads = record.get("threads")
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 1_000_000:
        return f"threads {shown(threads)} is not a thread count"
    for key in TEXT_FIELDS:
        if not isinstance(record.get(key), str) or not record[key].isprintable() or len(record[key]) > 200:
            return f"{key} {shown(record.get(key))} is not a line of text"
    return None


def _measure(notify: Callable[[str], None] | None) -> dict[str, Any]:
    if notify:
        notify("measuring this machine (matmul and copy, a few seconds)...")
    try:
        from ..torch.calibrate import measure
    except ImportError:
        raise MncostError("--hw this measures with torch; install mncost[torch] or pick a published profile") \
            from None
    record = measure()
    wrong = problem(record)
    if wrong:
        raise MncostError(f"measuring this machine failed: {wrong}; run it again with --remeasure")
    return record


def this_machine(remeasure: bool = False, notify: Callable[[str], None] | None = None) -> Hardware:
    """The current machine's profile: measured now (telling notify) if asked or not cached yet, else cached."""
    path = cache_path()
    record = read_own_json(path, REMEDY)  # a foreign file or a symlink is refused, even with --remeasure
    wrong = problem(record) if record is not None else None
    if wrong and not remeasure and notify:
        notify(f"the cached profile {path} is damaged ({wrong}); measuring again")
    if record is None or wrong or remeasure:
        record = _measure(notify)
        write_files({path.name: json.dumps(record)}, path.parent, "mncost", REMEDY)
    source = (f"measured on {record['machine']} at {record['measured']} ({record['method']}, "
              f"{record['threads']} threads, torch {record['torch']}); cached in {path}")
    return from_peaks(THIS, "this machine", float(record["peak_macs"]), float(record["bandwidth"]), source, "fp32")


def hardware(name: str, remeasure: bool = False, notify: Callable[[str], None] | None = None) -> Hardware:
    """The named profile (`this` is measured), or a MncostError listing the names."""
    return this_machine(remeasure, notify) if name == THIS else published(name)
