"""``osched simulate``: replay what a target's rendered artifacts would fire, through the real
start/stop decisions, and flag every window that would open or close late or never.

The artifacts are rendered exactly as ``install`` would write them and read back (crontab
lines, ``OnCalendar=`` lines, task triggers, plist intervals).  When each one fires is worked
out by a scheduler model:

* **cron** (Debian cron 3.0, cron(8)): a fixed-time line at a wall time a spring-forward jump
  skips runs right after the jump; in a repeated hour it runs on the first pass only; a line
  with a wildcard hour or minute runs at every wall time that occurs (both passes, none in
  the gap).
* **systemd**: a weekly ``OnCalendar=`` elapses at the first occurrence of its wall time and
  not at all in a gap; a dated UTC line at its instant.  ``systemd-analyze calendar`` computes
  them instead when it is installed (``engine="systemd-analyze"``); the tests hold the two
  equal.
* **Task Scheduler**: a one-time trigger with a UTC boundary fires at that instant; a weekly
  calendar trigger is modelled as cron's fixed-time line (documented behaviour is thin).
* **launchd**: a calendar interval is modelled as cron's fixed-time line, one without
  ``Hour`` as its wildcard-hour line (launchd documents no DST behaviour).

Each firing then goes through ``runtime.policy`` (the code the entrypoints run) with a
simulated job that runs until it is stopped, in time order.
"""

from __future__ import annotations

import plistlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .model import Config, Job, Schedule
from .parse import zone as zone_info
from .runtime.policy import EARLY, Action, Facts, start_decision, stop_decision
from .state import JobOutcome, JobState, iso
from .targets.base import File, RenderContext
from .windows import Window, wall_to_instant, windows_between

ON_TIME = timedelta(seconds=60)  # a firing within the window's first minute is on time
SIMULATED = ("cron", "systemd", "taskscheduler", "launchd")
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Firing:
    at: datetime  # UTC
    job: str
    schedule: str
    kind: str  # start | stop


@dataclass(slots=True)
class Decided:
    firing: Firing
    action: str  # start | skip | stop
    reason: str


@dataclass(slots=True)
class Verdict:
    """One window: when the job was started and stopped for it, by the scheduler's firings."""

    window: Window
    opened: datetime | None = None  # the firing that started the job (or found it running)
    closed: datetime | None = None  # the firing that stopped it (end of the job's open span)
    judge_open: bool = True  # False: opened before the simulated range
    judge_close: bool = True  # False: its end is inside another open window of the job, or after the range

    @property
    def late_open(self) -> bool:
        return self.judge_open and (self.opened is None or self.opened >= self.window.start + ON_TIME)

    @property
    def late_close(self) -> bool:
        end = self.window.end
        return self.judge_close and (self.closed is None or self.closed >= end + ON_TIME)


@dataclass
class Result:
    target: str
    host_zone: str
    start: datetime
    end: datetime
    engine: str
    decided: list[Decided] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.late_open or v.late_close]


# -- scheduler models ----------------------------------------------------------------------------
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


# -- each target's artifacts, read back -----------------------------------------------------------
def _task_fires(xml_text: str, tz: ZoneInfo, a: datetime, b: datetime) -> list[datetime]:
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


def _launchd_fires(content: str, tz: ZoneInfo, a: datetime, b: datetime) -> list[datetime]:
    data = plistlib.loads(content.encode("utf-8"))
    out: list[datetime] = []
    for iv in data.get("StartCalendarInterval", []):
        when = " ".join(str(iv[k]) if k in iv else "*" for k in ("Minute", "Hour", "Day", "Month", "Weekday"))
        out += cron_fires(when, tz, a, b)
    return sorted(set(out))


def _cron(cfg: Config, ctx: RenderContext, files: list[File], a: datetime, b: datetime) -> Iterator[Firing]:
    from .targets.cron import marker

    names = {
        marker(ctx, j.name, s.id, k): (j.name, s.id, k) for j, s in _enabled(cfg) for k in ("start", "stop")
    }
    tail = re.compile(r"#\s*(osched:\S+)\s*$")
    for f in files:  # a line: five time fields, (cron.d: a user), the command, the marker
        for line in f.content.splitlines():
            m = tail.search(line)
            if m is None or line.startswith(("@", "#")) or m.group(1) not in names:
                continue
            job, sid, kind = names[m.group(1)]
            when = " ".join(line.split()[:5])
            yield from (Firing(t, job, sid, kind) for t in cron_fires(when, ctx.host_tz, a, b))


def _systemd(
    cfg: Config, files: list[File], a: datetime, b: datetime, exe: str | None, notes: list[str]
) -> Iterator[Firing]:
    from .targets.systemd import unit_base

    by_name = {f.name: f.content for f in files}
    for j, s in _enabled(cfg):
        for kind, suffix in (("start", ".timer"), ("stop", ".stop.timer")):
            text = by_name[unit_base(j.name, s.id) + suffix]
            specs = [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith("OnCalendar=")]
            found: Iterable[list[datetime]] = (
                systemd_analyze_fires(specs, a, b, exe, notes).values()
                if exe
                else [systemd_fires(spec, a, b) for spec in specs]
            )
            yield from (Firing(t, j.name, s.id, kind) for t in sorted({t for ts in found for t in ts}))


def _per_file(
    cfg: Config,
    files: list[File],
    a: datetime,
    b: datetime,
    name: Callable[[str, str, str], str],
    fires: Callable[[str, datetime, datetime], list[datetime]],
) -> Iterator[Firing]:
    by_name = {f.name: f.content for f in files}
    for j, s in _enabled(cfg):
        for kind in ("start", "stop"):
            yield from (Firing(t, j.name, s.id, kind) for t in fires(by_name[name(j.name, s.id, kind)], a, b))


def firings(
    target: str,
    cfg: Config,
    ctx: RenderContext,
    a: datetime,
    b: datetime,
    engine: str = "auto",
    notes: list[str] | None = None,
) -> tuple[list[Firing], str]:
    """Every start and stop firing in ``[a, b)`` of ``target``'s artifacts for ``cfg``, and the
    engine that computed systemd's (``osched`` or ``systemd-analyze``)."""
    from . import targets
    from .targets.launchd import label

    if target not in SIMULATED:
        raise ValueError(f"simulate knows {', '.join(SIMULATED)}, not {target!r}")
    files = targets.render(target, cfg, ctx)
    tz, used = ctx.host_tz, "osched"
    if target == "cron":
        found = _cron(cfg, ctx, files, a, b)
    elif target == "systemd":
        exe = shutil.which("systemd-analyze") if engine in ("auto", "systemd-analyze") else None
        if engine == "systemd-analyze" and exe is None:
            raise ValueError("systemd-analyze is not installed (--engine osched uses osched's own)")
        used = "systemd-analyze" if exe else "osched"
        found = _systemd(cfg, files, a, b, exe, notes if notes is not None else [])
    elif target == "taskscheduler":
        found = _per_file(
            cfg,
            files,
            a,
            b,
            lambda j, s, k: f"{ctx.config_id}.{j}.{s}.{k}.xml",
            lambda text, a, b: _task_fires(text, tz, a, b),
        )
    else:
        found = _per_file(
            cfg,
            files,
            a,
            b,
            lambda j, s, k: label(ctx, f"{j}.{s}.{k}") + ".plist",
            lambda text, a, b: _launchd_fires(text, tz, a, b),
        )
    out = sorted(found, key=lambda f: (f.at, f.job, f.kind != "stop", f.schedule))
    return out, used


def _enabled(cfg: Config) -> Iterator[tuple[Job, Schedule]]:
    for j in cfg.jobs.values():
        for s in j.enabled_schedules:
            yield j, s


# -- the replay ------------------------------------------------------------------------------------
class _Job:
    """A simulated job: runs from an acting start firing until an acting stop firing."""

    def __init__(self) -> None:
        self.state = JobState()
        self.running = False


def replay(cfg: Config, fired: list[Firing], a: datetime) -> list[Decided]:
    jobs: dict[str, _Job] = {name: _Job() for name in cfg.jobs}
    out = []
    for f in fired:
        job, sim = cfg.jobs[f.job], jobs[f.job]
        if f.kind == "start":
            facts = Facts(f.at, sim.state, sim.running, supervised=True)
            d = start_decision(job, f.job, f.schedule, cfg.path, facts, foreground=False)
            if d.action == Action.START and d.window is not None:
                sim.running = True
                sim.state = JobState(
                    pid=1,
                    started_at=iso(f.at),
                    schedule=f.schedule,
                    window_start=iso(d.window.start),
                    window_end=iso(d.window.end),
                    outcome=JobOutcome.RUNNING,
                )
                out.append(Decided(f, "start", d.reason))
            else:
                out.append(Decided(f, d.action, d.reason))
        else:
            d = stop_decision(job, f.at, None)
            if d.action == Action.STOP:
                was = sim.running
                sim.running = False
                sim.state = JobState(
                    schedule=sim.state.schedule,
                    window_start=sim.state.window_start,
                    outcome=JobOutcome.STOPPED,
                )
                out.append(Decided(f, "stop", "window ended" + ("" if was else " (not running)")))
            else:
                out.append(Decided(f, "skip", d.reason))
    return out


def judge(cfg: Config, decided: list[Decided], a: datetime, b: datetime) -> list[Verdict]:
    verdicts = []
    for j in cfg.jobs.values():
        windows = sorted(
            (w for s in j.enabled_schedules for w in windows_between(s, a, b)), key=lambda w: w.start
        )
        mine = [d for d in decided if d.firing.job == j.name]
        starts = [d for d in mine if d.firing.kind == "start"]
        stops = [d for d in mine if d.action == "stop"]
        for w in windows:
            v = Verdict(w, judge_open=w.start >= a, judge_close=w.end < b - ON_TIME)
            sid = w.schedule.id
            for d in starts:
                t = d.firing.at
                if d.firing.schedule != sid or t < w.start - EARLY or t >= w.end:
                    continue
                if d.action == "start" or d.reason.startswith("already running"):
                    v.opened = t
                    break
            # the job's open span: its end is the close that must come on time
            if any(o.start <= w.end < o.end and o is not w for o in windows):
                v.judge_close = False
            for d in stops:
                if d.firing.at >= w.end - EARLY:
                    v.closed = d.firing.at
                    break
            verdicts.append(v)
    return verdicts


def simulate(
    target: str, cfg: Config, ctx: RenderContext, a: datetime, b: datetime, engine: str = "auto"
) -> Result:
    notes: list[str] = []
    fired, used = firings(target, cfg, ctx, a, b, engine, notes)
    decided = replay(cfg, fired, a)
    return Result(target, ctx.host_zone, a, b, used, decided, judge(cfg, decided, a, b), notes)


def as_json(r: Result) -> dict[str, Any]:
    return {
        "target": r.target,
        "host_timezone": r.host_zone,
        "from": iso(r.start),
        "to": iso(r.end),
        "engine": r.engine,
        "firings": [
            {
                "at": iso(d.firing.at),
                "job": d.firing.job,
                "schedule": d.firing.schedule,
                "kind": d.firing.kind,
                "action": d.action,
                "reason": d.reason,
            }
            for d in r.decided
        ],
        "windows": [
            {
                "job": v.window.schedule.job,
                "schedule": v.window.schedule.id,
                "start": iso(v.window.start),
                "end": iso(v.window.end),
                "opened": iso(v.opened),
                "closed": iso(v.closed),
                "late_open": v.late_open,
                "late_close": v.late_close,
            }
            for v in r.verdicts
        ],
        "problems": len(r.problems),
        "notes": r.notes,
    }
