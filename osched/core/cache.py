"""The caches of a config in the state dir (plans and fire files): one key, one stamp, one
freshness rule.

A cache stands in for the config only while all of this holds, checked the same way for every
cache by ``fresh``:

* it records the config's absolute path and the identity (device, inode, size, mtime, ctime
  in ns) of the very descriptor the trust check opened;
* it was written at least ``RACY_NS`` after the config's last change (file times are coarse:
  an edit in the same tick could keep the identity, so such a cache is never used; git calls
  this "racily clean");
* the zone rules it was computed with are unchanged: ``$PYTHONTZPATH``, what names the system
  zone (a config without ``timezone`` means that zone), and each zone file's mtime and size.

The key (which folder of ``plans/``) is ``store.Store.cache_key``; reading and writing go
through the store, which refuses a file another user could have written; a cache that is
refused, unreadable, malformed or stale is rebuilt, never believed.

The fire file is the fast lane's cache: each schedule's windows as UTC seconds for a few
weeks.  Its format is here, for its writer (``osched.cache``) and its reader (the fast lane).
"""

from __future__ import annotations

import os

RACY_NS = 1_000_000_000
FIRE_FORMAT = "osched-fire 3"  # 3: skipped windows ("x" lines)
NAMES_FORMAT = "osched-names 1"
LOCALTIME = "/etc/localtime"  # where the system zone is named
TIMEZONE_FILE = "/etc/timezone"
HOST_TZ_ENV = "OSCHED_HOST_TZ"  # names the zone cron/Task Scheduler/launchd run in, if not the system's


def identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def zone_file(key: str) -> tuple[str, int, int] | None:
    """Where ``zoneinfo`` reads zone ``key`` from, with the file's mtime (ns) and size; None
    when the zone comes from elsewhere (the tzdata package)."""
    import zoneinfo

    for root in zoneinfo.TZPATH:
        candidate = os.path.join(root, key)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        return candidate, st.st_mtime_ns, st.st_size
    return None


def system_zone_key() -> str:
    """What names the system zone, as it stands: ``$OSCHED_HOST_TZ``, the link /etc/localtime
    and the identity of the file it leads to, and /etc/timezone's."""
    parts = [os.environ.get(HOST_TZ_ENV, "")]
    try:
        parts.append(os.readlink(LOCALTIME))
    except OSError:
        parts.append("")
    for path in (LOCALTIME, TIMEZONE_FILE):
        try:
            st = os.stat(path)
        except OSError:
            parts.append("")
            continue
        parts.append(f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}")
    return "|".join(parts).replace("\n", "?")


class Stamp:
    """What a cache was made from."""

    __slots__ = ("config", "identity", "system_zone", "tzpath", "written", "zones")

    def __init__(
        self,
        config: str,
        identity: list[int],
        written: int,
        zones: list[tuple[str, int, int]],
        tzpath: str | None = None,
        system_zone: str | None = None,
    ) -> None:
        self.config, self.identity, self.written, self.zones = config, identity, written, zones
        self.tzpath = os.environ.get("PYTHONTZPATH", "") if tzpath is None else tzpath
        self.system_zone = system_zone_key() if system_zone is None else system_zone

    def as_dict(self) -> dict[str, object]:
        return {
            "config": self.config,
            "identity": self.identity,
            "written": self.written,
            "tzpath": self.tzpath,
            "system_zone": self.system_zone,
            "zones": [list(z) for z in self.zones],
        }

    @classmethod
    def from_dict(cls, d: object) -> Stamp:
        """ValueError unless ``d`` is a stamp's dict."""
        if not isinstance(d, dict):
            raise ValueError("no stamp")
        try:
            ident = [int(x) for x in d["identity"]]
            zones = [(str(p), int(m), int(s)) for p, m, s in d["zones"]]
            config, tzpath, system_zone = d["config"], d["tzpath"], d["system_zone"]
            written = d["written"]
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"bad stamp: {e}") from None
        if not all(isinstance(x, str) for x in (config, tzpath, system_zone)) or not isinstance(written, int):
            raise ValueError("bad stamp")
        return cls(config, ident, written, zones, tzpath, system_zone)

    def lines(self) -> list[str]:
        out = [
            f"config {self.config}",
            "identity " + " ".join(str(i) for i in self.identity),
            f"written {self.written}",
            f"tzpath {self.tzpath}",
            f"systemzone {self.system_zone}",
        ]
        out += [f"zone {p} {m} {s}" for p, m, s in self.zones]
        return out


def too_soon(ident: list[int], written_ns: int) -> bool:
    """A cache written now would never be used: the config changed less than RACY_NS ago."""
    return max(ident[3], ident[4]) >= written_ns - RACY_NS


def fresh(stamp: Stamp, config: str, ident: list[int]) -> bool:
    """The freshness rule: may a cache with ``stamp`` stand in for ``config`` whose open
    descriptor has identity ``ident``?"""
    if stamp.config != config or stamp.identity != ident or too_soon(ident, stamp.written):
        return False
    if os.environ.get("PYTHONTZPATH", "") != stamp.tzpath:
        return False  # zoneinfo would look for the zones elsewhere
    if system_zone_key() != stamp.system_zone:
        return False  # a config without `timezone` means the system zone, which changed
    for path, mtime, size in stamp.zones:
        try:
            st = os.stat(path)
        except OSError:
            return False
        if st.st_mtime_ns != mtime or st.st_size != size:
            return False
    return True


# -- the fire file ---------------------------------------------------------------------------------
class Fire:
    """A parsed fire file: its stamp, the horizon it covers, and each schedule's windows
    ``(id, enabled, [(start, end), ...])`` in the job's order, windows in start order; and per
    schedule the windows its dates skip (``skip``, holidays), whose firings the full path
    decides (it names the date)."""

    __slots__ = ("horizon", "schedules", "skipped", "stamp")

    def __init__(
        self,
        stamp: Stamp,
        horizon: tuple[int, int],
        schedules: list[tuple[str, bool, list[tuple[int, int]]]],
        skipped: dict[str, list[tuple[int, int]]] | None = None,
    ) -> None:
        self.stamp, self.horizon, self.schedules = stamp, horizon, schedules
        self.skipped = skipped or {}

    def covers(self, now: float, ahead: float) -> bool:
        return self.horizon[0] <= now and now + ahead < self.horizon[1]


def format_fire(fire: Fire) -> str | None:
    """The fire file's text; None when a value cannot be written on one line."""
    lines = [FIRE_FORMAT, *fire.stamp.lines(), f"horizon {fire.horizon[0]} {fire.horizon[1]}"]
    for sid, enabled, windows in fire.schedules:
        lines.append(f"schedule {sid} {int(enabled)}")
        lines.extend(f"w {a} {b}" for a, b in windows)
        lines.extend(f"x {a} {b}" for a, b in fire.skipped.get(sid, []))
    if any("\n" in line or "\r" in line for line in lines):
        return None
    return "\n".join(lines) + "\n"


def parse_fire(text: str) -> Fire:
    """ValueError (or IndexError) unless ``text`` is a whole fire file."""
    lines = text.split("\n")
    if lines[0] != FIRE_FORMAT or lines[-1] != "":
        raise ValueError("not a fire file")
    head: dict[str, str] = {}
    zones: list[tuple[str, int, int]] = []
    schedules: list[tuple[str, bool, list[tuple[int, int]]]] = []
    horizon: tuple[int, int] | None = None
    windows: list[tuple[int, int]] = []
    skipped: dict[str, list[tuple[int, int]]] = {}
    sid = ""
    for line in lines[1:-1]:
        kind, _, rest = line.partition(" ")
        if kind == "w":
            a, b = rest.split(" ")
            windows.append((int(a), int(b)))
        elif kind == "x" and schedules:
            a, b = rest.split(" ")
            skipped.setdefault(sid, []).append((int(a), int(b)))
        elif kind == "schedule":
            sid, enabled = rest.split(" ")
            windows = []
            schedules.append((sid, enabled == "1", windows))
        elif kind == "horizon":
            a, b = rest.split(" ")
            horizon = (int(a), int(b))
        elif not _stamp_line(kind, rest, head, zones):
            raise ValueError(f"unknown line {kind!r}")
    if horizon is None:
        raise ValueError("not a whole fire file")
    return Fire(_stamp(head, zones), horizon, schedules, skipped)


def _stamp_line(kind: str, rest: str, head: dict[str, str], zones: list[tuple[str, int, int]]) -> bool:
    """Take one of a stamp's lines (``Stamp.lines``); False when ``kind`` is not one."""
    if kind == "zone":
        zpath, mtime, size = rest.rsplit(" ", 2)
        zones.append((zpath, int(mtime), int(size)))
        return True
    if kind in ("config", "identity", "written", "tzpath", "systemzone") and kind not in head:
        head[kind] = rest
        return True
    return False


def _stamp(head: dict[str, str], zones: list[tuple[str, int, int]]) -> Stamp:
    if len(head) != 5:
        raise ValueError("no whole stamp")
    return Stamp(
        head["config"],
        [int(x) for x in head["identity"].split(" ")],
        int(head["written"]),
        zones,
        head["tzpath"],
        head["systemzone"],
    )


# -- the names file: the config's job names and schedule ids, for shell completion -----------------
def format_names(stamp: Stamp, jobs: list[tuple[str, list[str]]]) -> str | None:
    """The names file's text (``job NAME SID SID ...`` lines in the config's order); None when
    a value cannot be written on one line."""
    lines = [NAMES_FORMAT, *stamp.lines(), *(" ".join(["job", name, *sids]) for name, sids in jobs)]
    if any("\n" in line or "\r" in line for line in lines):
        return None
    return "\n".join(lines) + "\n"


def parse_names(text: str) -> tuple[Stamp, list[tuple[str, list[str]]]]:
    """ValueError (or IndexError) unless ``text`` is a whole names file."""
    lines = text.split("\n")
    if lines[0] != NAMES_FORMAT or lines[-1] != "":
        raise ValueError("not a names file")
    head: dict[str, str] = {}
    zones: list[tuple[str, int, int]] = []
    jobs: list[tuple[str, list[str]]] = []
    for line in lines[1:-1]:
        kind, _, rest = line.partition(" ")
        if kind == "job":
            name, *sids = rest.split(" ")
            jobs.append((name, sids))
        elif not _stamp_line(kind, rest, head, zones):
            raise ValueError(f"unknown line {kind!r}")
    return _stamp(head, zones), jobs
