"""`--hw this`: this machine's profile, measured once (mncost.torch.calibrate) and cached."""

from __future__ import annotations

import json
from typing import Callable

from ..cost.hardware import THIS, Hardware, cache_path, from_peaks, published
from ..errors import MncostError


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
        try:
            from ..torch.calibrate import measure
        except ImportError:
            raise MncostError("--hw this measures with torch; install mncost[torch] or pick a published profile") \
                from None

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
    return this_machine(remeasure, notify) if name == THIS else published(name)
