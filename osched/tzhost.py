"""The host's IANA zone name: ``$TZ``, ``/etc/timezone``, the ``/etc/localtime`` link, else UTC."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .parse import zone


def host_zone_name() -> str:
    candidates: list[str] = []
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        candidates.append(tz)
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        try:
            zone(name)
        except ValueError:
            continue
        return name
    return "UTC"
