"""How each scheduler fires, modelled: the firing instants of one crontab line, ``OnCalendar=``
spec, task XML or plist over a range.  ``osched simulate`` replays them.

* **cron** (Debian cron 3.0, cron(8)): a fixed-time line at a wall time a spring-forward jump
  skips runs right after the jump; in a repeated hour it runs on the first pass only; a line
  with a wildcard hour or minute runs at every wall time that occurs (both passes, none in
  the gap).  Checked against cronsim and the real daemon under faketime.
* **systemd**: a weekly ``OnCalendar=`` elapses at the first occurrence of its wall time and
  not at all in a gap; a dated UTC line at its instant.  Or ``systemd-analyze calendar``.
* **Task Scheduler**: a one-time trigger with a UTC boundary at that instant; a weekly
  calendar trigger like cron's fixed-time line (documented behaviour is thin).
* **launchd**: a calendar interval like a cron line; launchd documents no DST behaviour, so a
  wall time in a repeated hour fires on the first pass, the second, or both (``repeated``),
  and osched's plists never depend on which.
"""

from __future__ import annotations

import plistlib
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .parse import zone as zone_info
from .windows import wall_to_instant

_DAY = timedelta(days=1)


def _days(a: datetime, b: datetime, tz: ZoneInfo) -> Iterator[date]:
    day = a.astimezone(tz).date() - _DAY
    last = b.astimezone(tz).date() + _DAY
    while day <= last:
        yield day
        day += _DAY


def _wild_instants(day: date, hour: int, minute: int, tz: ZoneInfo) -> list[datetime]:
    """Every instant the wall clock of ``tz`` shows ``day hour:minute``: none in a gap, two in
    a repeated hour."""
    out = []
    for fold in (0, 1):
        local = datetime(day.year, day.month, day.day, hour, minute, fold=fold, tzinfo=tz)
        u = local.astimezone(UTC)
        back = u.astimezone(tz)
        if back.replace(tzinfo=None) == local.replace(tzinfo=None) and u not in out:
            out.append(u)
    return out


def _field(text: str, low: int, high: int) -> tuple[bool, set[int]]:
    """(starts with a wildcard, values) of one cron field: ``*``, ``*/N``, N, N-M, lists."""
    if text.startswith("*"):
        step = int(text.split("/", 1)[1]) if "/" in text else 1
        return True, set(range(low, high + 1, step))
    values: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        values.update(range(int(lo), int(hi or lo) + 1))
    return False, values


def cron_fires(when: str, tz: ZoneInfo, a: datetime, b: datetime) -> list[datetime]:
    """Instants in ``[a, b)`` at which Debian cron runs a line with schedule ``when``."""
    f = when.split()
    min_star, minutes = _field(f[0], 0, 59)
    hour_star, hours = _field(f[1], 0, 23)
    dom_star, doms = _field(f[2], 1, 31)
    _, months = _field(f[3], 1, 12)
    dow_star, dows = _field(f[4], 0, 7)
    dows = {d % 7 for d in dows}
    wild = min_star or hour_star
    out: list[datetime] = []
    for day in _days(a, b, tz):
        if day.month not in months:
            continue
        dom_ok, dow_ok = day.day in doms, (day.weekday() + 1) % 7 in dows
        if not dom_star and not dow_star:
            if not (dom_ok or dow_ok):
                continue
        elif not (dom_ok and dow_ok):
            continue
        for h in sorted(hours):
            for m in sorted(minutes):
                found = _wild_instants(day, h, m, tz) if wild else [wall_to_instant(day, h, m, tz)]
                out += [t for t in found if a <= t < b]
    return sorted(set(out))


_WEEKLY = re.compile(r"^(?P<days>[A-Za-z,]+) \*-\*-\* (?P<h>\d\d):(?P<m>\d\d):00 (?P<zone>\S+)$")
_DATED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC$")
_DAY_INDEX = {name: i for i, name in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))}


def systemd_fires(spec: str, a: datetime, b: datetime) -> list[datetime]:
    """osched's own evaluator for the two ``OnCalendar=`` forms it writes."""
    dated = _DATED.match(spec)
    if dated:
        t = datetime.fromisoformat(dated.group(1) + "+00:00")
        return [t] if a <= t < b else []
    m = _WEEKLY.match(spec)
    if m is None:
        raise ValueError(f"not an OnCalendar= form osched writes: {spec!r}")
    tz = zone_info(m["zone"])
    days = {_DAY_INDEX[d] for d in m["days"].split(",")}
    h, mi = int(m["h"]), int(m["m"])
    out = []
    for day in _days(a, b, tz):
        if day.weekday() not in days:
            continue
        found = _wild_instants(day, h, mi, tz)  # first occurrence; none in a gap
        if found and a <= found[0] < b:
            out.append(found[0])
    return out


_ELAPSE = re.compile(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")


def systemd_analyze_fires(
    specs: list[str], a: datetime, b: datetime, exe: str, notes: list[str] | None = None
) -> dict[str, list[datetime]]:
    """Elapse times in ``[a, b)`` of each spec, from systemd's own calendar engine.  A spec
    the engine fails on elapses never (as the timer would), and is said in ``notes``."""
    try:
        return _analyze(specs, a, b, exe)
    except ValueError:
        if len(specs) == 1:
            if notes is not None:
                notes.append(f"systemd cannot compute OnCalendar={specs[0]}: it never elapses")
            return {specs[0]: []}
    out: dict[str, list[datetime]] = {}
    for spec in specs:
        out.update(systemd_analyze_fires([spec], a, b, exe, notes))
    return out


def _analyze(specs: list[str], a: datetime, b: datetime, exe: str) -> dict[str, list[datetime]]:
    n = (b - a).days + 2
    r = subprocess.run(
        [exe, "calendar", f"--iterations={n}", f"--base-time=@{int(a.timestamp()) - 1}", *specs],
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin", "LANG": "C"},
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise ValueError(f"systemd-analyze calendar failed: {r.stderr.strip()}")
    blocks = re.split(r"\n\s*\n", r.stdout.strip())
    out: dict[str, list[datetime]] = {}
    for spec, block in zip(specs, blocks, strict=True):
        times = [datetime.fromisoformat(t + "+00:00") for t in _ELAPSE.findall(block)]
        out[spec] = [t for t in times if a <= t < b]
    return out


def task_fires(xml_text: str, tz: ZoneInfo, a: datetime, b: datetime) -> list[datetime]:
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    root = ET.fromstring(xml_text.encode("utf-16"))
    out: list[datetime] = []
    for trig in root.iterfind("t:Triggers/t:TimeTrigger", ns):
        boundary = trig.findtext("t:StartBoundary", "", ns)
        t = datetime.fromisoformat(boundary.replace("Z", "+00:00"))
        if a <= t < b:
            out.append(t)
    for trig in root.iterfind("t:Triggers/t:CalendarTrigger", ns):
        local = datetime.fromisoformat(trig.findtext("t:StartBoundary", "", ns))
        days = trig.find("t:ScheduleByWeek/t:DaysOfWeek", ns)
        names = [child.tag.split("}", 1)[1] for child in days] if days is not None else []
        dow = ",".join(str((_TASK_DAYS.index(n) + 1) % 7) for n in names)
        out += cron_fires(f"{local.minute} {local.hour} * * {dow}", tz, a, b)
    return sorted(set(out))


_TASK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def launchd_fires(
    content: str, tz: ZoneInfo, a: datetime, b: datetime, repeated: str = "first"
) -> list[datetime]:
    """A plist's ``StartCalendarInterval`` firings.  launchd documents no DST behaviour: a wall
    time in a repeated span fires on the ``repeated`` pass ("first", "second" or "both"), one
    in a gap right after the jump (osched relies on neither: docs/render.md)."""
    data = plistlib.loads(content.encode("utf-8"))
    out: list[datetime] = []
    for iv in data.get("StartCalendarInterval", []):
        when = " ".join(str(iv[k]) if k in iv else "*" for k in ("Minute", "Hour", "Day", "Month", "Weekday"))
        for t in cron_fires(when, tz, a - timedelta(hours=3), b):
            local = t.astimezone(tz)
            passes = _wild_instants(local.date(), local.hour, local.minute, tz)
            if len(passes) == 2 and "Hour" in iv:
                chosen = {"first": passes[:1], "second": passes[1:], "both": passes}[repeated]
            else:
                chosen = [t]
            out += [u for u in chosen if a <= u < b]
    return sorted(set(out))
