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

import os
import sys
from functools import lru_cache
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
    """The system zone's name: ``/etc/localtime``'s link target (Debian, macOS); for a copy
    (containers, several distributions), the zone file with the same content, ``/etc/timezone``'s
    name first; then ``/etc/timezone`` as written."""
    return list(_identified(_key())[0])


@lru_cache(maxsize=4)
def _identified(key: str) -> tuple[tuple[str, ...], str | None]:
    """(candidate names, doubt): cached per ``_key()`` (the paths, the link and the identities
    of both files), which changes whenever either file does."""
    candidates: list[str] = []
    try:
        written = Path(core_cache.TIMEZONE_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        written = ""
    try:
        target = os.readlink(core_cache.LOCALTIME)
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        return (target.split("zoneinfo/", 1)[1], *([written] if written else [])), None
    try:
        with open(core_cache.LOCALTIME, "rb") as f:
            content = f.read(1 << 20)
    except OSError:
        content = b""
    if not content.startswith(b"TZif"):  # no /etc/localtime: the C library (cron) runs in UTC
        if written and written not in ("UTC", "Etc/UTC"):
            where = f"{core_cache.LOCALTIME} is missing (cron runs in UTC)"
            return (), f"{where}; {core_cache.TIMEZONE_FILE} says {written}"
        return (), None
    found = zone_by_content(content, written)
    if found is not None:
        return (found,), None
    doubt = f"{core_cache.LOCALTIME} is a copy that matches no zone file" + (
        f"; assuming {written} from {core_cache.TIMEZONE_FILE}" if written else "; assuming UTC"
    )
    candidates += [written] if written else []
    return tuple(candidates), doubt


def zone_by_content(content: bytes, prefer: str = "") -> str | None:
    """The zone whose file (under ``zoneinfo.TZPATH``) holds exactly ``content``: ``prefer``
    when it does, else a canonical name (listed in ``zone1970.tab``), else the shortest."""
    import zoneinfo

    roots = [r for r in zoneinfo.TZPATH if os.path.isdir(r)]
    if prefer and not prefer.startswith("/") and ".." not in prefer.split("/"):
        for root in roots:
            if _same(os.path.join(root, prefer), content):
                return prefer
    matches: set[str] = set()
    canonical: set[str] = set()
    for root in roots:
        canonical |= _tab_names(root)
        for folder, dirs, files in os.walk(root):
            rel = os.path.relpath(folder, root)
            if rel.split(os.sep)[0] in ("posix", "right"):
                dirs.clear()
                continue
            for name in files:
                path = os.path.join(folder, name)
                key = os.path.normpath(os.path.join(rel, name)).replace(os.sep, "/")
                try:
                    if os.path.getsize(path) != len(content):
                        continue
                except OSError:
                    continue
                if _same(path, content):
                    matches.add(key)
        if matches:
            break
    if not matches:
        return None
    return min(matches, key=lambda k: (k not in canonical, len(k), k))


def _same(path: str, content: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(content) + 1) == content
    except OSError:
        return False


def _tab_names(root: str) -> set[str]:
    out = set()
    for tab in ("zone1970.tab", "zone.tab"):
        try:
            text = Path(root, tab).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out |= {
            ln.split("\t")[2]
            for ln in text.splitlines()
            if ln and not ln.startswith("#") and ln.count("\t") >= 2
        }
    return out | {"UTC"}


def system_zone_doubt() -> str | None:
    """Why the system zone is a guess (``/etc/localtime`` is a copy no zone file matches);
    None when it is known.  ``doctor`` and ``render`` say it."""
    if os.environ.get(HOST_TZ_ENV, "").strip() or sys.platform == "win32":
        return None
    return _identified(_key())[1]


def _key() -> str:
    return f"{core_cache.LOCALTIME}|{core_cache.TIMEZONE_FILE}|{core_cache.system_zone_key()}"


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
