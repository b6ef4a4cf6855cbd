"""Zone names of this host.

* ``system_zone_name()``: the zone the OS schedulers run in.  The cron daemon, Task Scheduler
  and launchd run in the system's zone (``/etc/localtime``), not in the ``$TZ`` of whoever
  runs osched; cron, Task Scheduler and launchd artifacts are rendered for it, and a config
  without a ``timezone`` means it (the entrypoints, started by the scheduler, see the same).
  On Windows the registry's zone, mapped to IANA by tzlocal.  ``$OSCHED_HOST_TZ`` overrides
  it (a cron daemon started with its own ``TZ``).
* ``host_zone_name()``: the zone times are shown in: ``$TZ`` first, then the system's.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from .core import cache as core_cache
from .parse import zone
from .paths import HOST_TZ_ENV


def _valid(names: list[str]) -> str | None:
    for name in names:
        try:
            zone(name)
        except ValueError:
            continue
        return name
    return None


def _system_candidates() -> list[str]:
    candidates: list[str] = []
    try:
        target = os.readlink(core_cache.LOCALTIME)
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append(Path(core_cache.TIMEZONE_FILE).read_text(encoding="utf-8").strip())
    return candidates


def _windows_zone() -> list[str]:
    """Windows keeps its zone as a Windows name; tzlocal maps it to the IANA one."""
    try:
        import tzlocal

        return [str(tzlocal.get_localzone_name())]
    except Exception:  # no tzlocal, or a zone it cannot map: $TZ, then UTC
        return []


def system_zone_name(override: bool = True) -> str:
    """``$OSCHED_HOST_TZ`` (when ``override``), else the system zone, else (Windows) ``$TZ``,
    else UTC."""
    value = os.environ.get(HOST_TZ_ENV, "").strip() if override else ""
    names = [value] if value else []
    names += _system_candidates()
    if sys.platform == "win32":
        names += _windows_zone()
        names.append(os.environ.get("TZ", "").lstrip(":"))
    return _valid([n for n in names if n]) or "UTC"


def host_zone_name() -> str:
    """The zone to show times in: ``$TZ``, else the system zone."""
    tz = os.environ.get("TZ", "").lstrip(":")
    return _valid([tz] if tz else []) or system_zone_name()


def tz_differs() -> str | None:
    """A one-line warning when ``$TZ`` names another zone than the schedulers run in."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if not tz or os.environ.get(HOST_TZ_ENV):
        return None
    system = system_zone_name()
    try:
        same = zone(tz).key == zone(system).key
    except ValueError:
        return None
    if same or _equal_zones(tz, system):
        return None
    return (
        f"$TZ is {tz}, but cron, Task Scheduler and launchd run in the system zone {system}: "
        f"their times are rendered for {system} (set {HOST_TZ_ENV} if the scheduler runs elsewhere)"
    )


def _equal_zones(a: str, b: str) -> bool:
    """Aliases (Etc/UTC and UTC): the same offsets all year."""
    from datetime import UTC, datetime, timedelta

    za, zb = zone(a), zone(b)
    t = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(53):
        if t.astimezone(za).utcoffset() != t.astimezone(zb).utcoffset():
            return False
        t += timedelta(days=7)
    return True
