"""The time audit's sweep, kept in the suite: random schedules x 4 host zones, every target,
three years from an install, under every scheduler model; the install renewed as the firings
renew it (every ``upkeep.RENEW_AFTER_DAYS``, the render of that day).

Each model is written here, apart from osched's (``scheduler_models``), from what the
scheduler is known or feared to do with a wall time that a DST change skips or repeats:

* cron, Debian 3.0 (proven against the real daemon in ``test_integration_cron_dst``): a fixed
  time in a gap runs right after the jump, in a repeated span on the first pass; a wildcard
  hour runs at every wall time that occurs;
* cron that ignores DST (busybox crond, a naive cron): a fixed time fires whenever the wall
  clock shows it: never in a gap, twice in a repeated span;
* launchd firing a repeated wall time on the first pass, the second, or both, and never one
  in a gap; its ``--wait`` agents act at the window's edge within their wait;
* Task Scheduler, conservatively: a local calendar trigger counts only at a wall time that
  occurs once; a one-time UTC trigger at its instant;
* systemd: a weekly ``OnCalendar=`` in a zone at the first occurrence, none in a gap; a dated
  UTC line at its instant (``test_dst_sweep`` checks osched's specs with systemd-analyze);
* Kubernetes' controller (a repeated wall time twice, a skipped one never; Forbid; each Job
  to its deadline): every window starts once and no Job runs outside one.

A window must open at a firing in its first minute and close at one in its minute (a close
inside the next window needs none); extra firings are skips and are allowed.  Size:
``OSCHED_SWEEP3_SCHEDULES`` (default 1000).
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_dst_sweep import random_schedules, reference, wall_instant

pytestmark = [pytest.mark.slow]

SCHEDULES = int(os.environ.get("OSCHED_SWEEP3_SCHEDULES", "1000"))
HOSTS = ("Europe/Berlin", "America/New_York", "America/Nuuk", "Australia/Lord_Howe")
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
END = T0 + timedelta(days=3 * 365 + 1)
MINUTE = timedelta(minutes=1)
CRON_MODELS = ("debian", "nodst")
LAUNCHD_MODELS = ("first", "second", "both")

Sched = tuple[int, int, int, frozenset[int], str]


def renders() -> list[datetime]:
    from osched.upkeep import RENEW_AFTER_DAYS

    out, t = [], T0
    while t < END:
        out.append(t)
        t += timedelta(days=RENEW_AFTER_DAYS)
    return out


# -- wall times, as the models see them ---------------------------------------------------------------
@lru_cache(maxsize=1 << 18)
def passes(ordinal: int, h: int, m: int, zone: str) -> tuple[tuple[datetime, ...], datetime | None]:
    """(the instants the wall clock of ``zone`` shows day ``ordinal`` h:m, sorted: none in a
    gap, two in a repeated span; the first instant after the gap, when in one)."""
    tz = ZoneInfo(zone)
    d = date.fromordinal(ordinal)
    naive = datetime(d.year, d.month, d.day, h, m)
    found = sorted(
        {
            u
            for fold in (0, 1)
            if (u := naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)).astimezone(tz).replace(tzinfo=None)
            == naive
        }
    )
    if found:
        return tuple(found), None
    return (), wall_instant(d, h, m, tz)  # in a gap: the first instant after it


MODELS = ("debian", "nodst", "first", "second", "both", "certain")


@lru_cache(maxsize=1 << 18)
def fixed(ordinal: int, h: int, m: int, zone: str) -> dict[str, tuple[datetime, ...]]:
    """Where a fixed wall time fires under each model."""
    exact, gap_exit = passes(ordinal, h, m, zone)
    if not exact:
        none: tuple[datetime, ...] = ()
        return {x: (gap_exit,) if x == "debian" and gap_exit is not None else none for x in MODELS}
    if len(exact) == 1:
        return dict.fromkeys(MODELS, exact)
    one, two = exact[:1], exact[1:]
    return {"debian": one, "nodst": exact, "first": one, "second": two, "both": exact, "certain": ()}


@cache
def weekdays(a: datetime, b: datetime, zone: str, day: int) -> tuple[int, ...]:
    """The ordinals of local dates around [a, b) that are weekday ``day`` (Monday 0)."""
    tz = ZoneInfo(zone)
    first = a.astimezone(tz).date().toordinal() - 1
    last = b.astimezone(tz).date().toordinal() + 1
    first += (day - date.fromordinal(first).weekday()) % 7
    return tuple(range(first, last + 1, 7))


def _dated_days(mo: int, d: int, a: datetime, b: datetime) -> list[int]:
    out = []
    for year in range(a.year, b.year + 1):
        try:
            out.append(date(year, mo, d).toordinal())
        except ValueError:
            continue
    return out


# -- each target's artifacts, through each model ------------------------------------------------------------
def cron_fires(
    when: str, host: str, a: datetime, b: datetime, models: tuple[str, ...]
) -> dict[str, list[datetime]]:
    m, h, dom, mo, dow = when.split()
    out: dict[str, list[datetime]] = {x: [] for x in models}
    if dom == "*":  # weekly: M H * * DOW (cron: 0 is Sunday)
        listed = set()
        for part in dow.split(",") if dow != "*" else ["0-6"]:
            lo, _, hi = part.partition("-")
            listed.update(range(int(lo), int(hi or lo) + 1))
        ordinals = [o for d in {(x - 1) % 7 for x in listed} for o in weekdays(a, b, host, d)]
    else:
        ordinals = _dated_days(int(mo), int(dom), a, b)
    for o in ordinals:
        if h == "*":  # every wall time that day, both passes: every cron
            every = [t for hh in range(24) for t in passes(o, hh, int(m), host)[0]]
            for x in models:
                out[x] += every
        else:
            found = fixed(o, int(h), int(m), host)
            for x in models:
                out[x] += found[x]
    return {x: [t for t in v if a <= t < b] for x, v in out.items()}


def launchd_fires(
    iv: dict[str, int], host: str, a: datetime, b: datetime, models: tuple[str, ...]
) -> dict[str, list[datetime]]:
    if "Weekday" in iv:
        ordinals: Iterable[int] = weekdays(a, b, host, (iv["Weekday"] - 1) % 7)
    else:
        assert "Hour" in iv, iv  # no wildcard hour: launchd's repeated hour is not known
        ordinals = _dated_days(iv["Month"], iv["Day"], a, b)
    out: dict[str, list[datetime]] = {x: [] for x in models}
    for o in ordinals:
        found = fixed(o, iv["Hour"], iv["Minute"], host)
        for x in models:
            out[x] += [t for t in found[x] if a <= t < b]
    return out


def task_fires(boundary: str, names: tuple[str, ...], host: str, a: datetime, b: datetime) -> list[datetime]:
    from osched.targets.taskscheduler import WEEKDAYS

    if boundary.endswith("Z"):
        t = datetime.fromisoformat(boundary[:-1] + "+00:00")
        return [t] if a <= t < b else []
    local = datetime.fromisoformat(boundary)
    out: list[datetime] = []
    for n in names:
        for o in weekdays(a, b, host, WEEKDAYS.index(n)):
            out += fixed(o, local.hour, local.minute, host)["certain"]
    return [t for t in out if a <= t < b]


def systemd_fires(spec: str, a: datetime, b: datetime) -> list[datetime]:
    if spec.endswith(" UTC") and spec[0].isdigit():
        t = datetime.fromisoformat(spec[:-4] + "+00:00")
        return [t] if a <= t < b else []
    names, _, hm, zone = spec.split(" ")
    index = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    h, m, _ = (int(x) for x in hm.split(":"))
    out = []
    for n in names.split(","):
        for o in weekdays(a, b, zone, index.index(n)):
            exact = passes(o, h, m, zone)[0]
            if exact and a <= exact[0] < b:
                out.append(exact[0])
    return out


# -- one schedule on one host: every target and model ----------------------------------------------------
def firings(sched: Sched, host: str) -> dict[str, dict[str, set[datetime]]]:
    """Per target and model (``cron/debian``, ``launchd/second``, ...): the start and stop
    instants over the three years, each from the render in force then."""
    from osched.hostfirings import host_firings
    from osched.model import Config, Job, Schedule
    from osched.targets.base import RenderContext
    from osched.targets.cron import lines
    from osched.targets.launchd import intervals
    from osched.targets.systemd_calendar import start_specs, stop_specs
    from osched.targets.taskscheduler import _triggers

    h, m, dur, days, zone = sched
    s = Schedule(id="s", job="j", hour=h, minute=m, duration=dur, days=days, timezone=zone)
    cfg = Config(Path("/c.toml"), zone, {"j": Job(name="j", command=("x",), schedules=(s,))})
    keys = [f"cron/{x}" for x in CRON_MODELS] + [f"launchd/{x}" for x in LAUNCHD_MODELS]
    out = {k: {"start": set(), "stop": set()} for k in [*keys, "taskscheduler", "systemd"]}
    points = sorted(windows_of(sched))
    starts = [a for a, _ in points]
    ends = sorted(b for _, b in points)
    times = renders()
    for k, now in enumerate(times):
        a, b = now, times[k + 1] if k + 1 < len(times) else END
        ctx = RenderContext(
            config_path=Path("/c.toml"),
            state_dir=Path("/s"),
            now=now,
            host_zone=host,
            start_exe="/x/osched-start",
            stop_exe="/x/osched-stop",
        )
        for line in lines(cfg, ctx):
            kind = line.marker.rsplit(":", 1)[1]
            if kind not in ("start", "stop"):
                continue  # @reboot: the resume
            for model, got in cron_fires(line.when, host, a, b, CRON_MODELS).items():
                out[f"cron/{model}"][kind].update(got)
        found = host_firings(s, ctx.host_tz, now, exact=True)
        for kind, firing in zip(("start", "stop"), found, strict=True):
            fixed_ivs, waits, minutes = intervals(firing, ctx.host_tz)
            edges = starts if kind == "start" else ends
            for iv in fixed_ivs:
                for model, got in launchd_fires(dict(iv), host, a, b, LAUNCHD_MODELS).items():
                    out[f"launchd/{model}"][kind].update(got)
            for iv in waits:  # the entrypoint waits to the window's edge
                early = a - timedelta(minutes=minutes)
                for model, got in launchd_fires(dict(iv), host, early, b, LAUNCHD_MODELS).items():
                    for u in got:
                        i = bisect_left(edges, u + timedelta(seconds=1))
                        t = edges[i] if i < len(edges) and edges[i] <= u + timedelta(minutes=minutes) else u
                        if a <= t < b:
                            out[f"launchd/{model}"][kind].add(t)
            for boundary, names in _triggers(firing, ctx):
                out["taskscheduler"][kind].update(task_fires(boundary, names, host, a, b))
        for kind, specs in (("start", start_specs(s, now)), ("stop", stop_specs(s, now))):
            for spec in specs:
                out["systemd"][kind].update(systemd_fires(spec, a, b))
    return out


@cache
def windows_of(sched: Sched) -> list[tuple[datetime, datetime]]:
    return reference(*sched[:4], sched[4], T0 - timedelta(days=9), END + timedelta(days=2))


def check(sched: Sched, fired: dict[str, set[datetime]]) -> list[str]:
    windows = windows_of(sched)
    starts, stops = sorted(fired["start"]), sorted(fired["stop"])

    def fires_in(times: list[datetime], lo: datetime, hi: datetime) -> bool:
        i = bisect_left(times, lo)
        return i < len(times) and times[i] < hi

    problems = []
    for i, (s, e) in enumerate(windows):
        if T0 <= s < END and not fires_in(starts, s, s + MINUTE):
            problems.append(f"window {s:%F %R}Z opens late or never")
        covered = any(s2 <= e < e2 for s2, e2 in windows[i + 1 : i + 3])
        if (
            T0 <= e < END
            and not covered
            and not fires_in(stops, e - MINUTE + timedelta(seconds=1), e + MINUTE)
        ):
            problems.append(f"window {s:%F %R}Z-{e:%F %R}Z closes late or never")
    return problems


def sweep(schedules: list[Sched]) -> tuple[list[str], int]:
    bad, checked = [], 0
    for sched in schedules:
        for host in HOSTS:
            for target, fired in firings(sched, host).items():
                checked += 1
                bad += [f"{target} on {host}: {sched}: {p}" for p in check(sched, fired)[:2]]
        bad += [f"kubernetes: {sched}: {p}" for p in kubernetes(sched)]
    return bad, checked


def kubernetes(sched: Sched) -> list[str]:
    from test_kubernetes import controller_fires, run_cluster

    from osched.errors import ConfigError
    from osched.model import Config, Job, Schedule
    from osched.targets.base import RenderContext
    from osched.targets.kubeobjects import cronjobs

    h, m, dur, days, zone = sched
    s = Schedule(id="s", job="j", hour=h, minute=m, duration=dur, days=days, timezone=zone)
    job = Job(name="j", command=("x",), schedules=(s,), kubernetes={"image": "i"})
    ctx = RenderContext(config_path=Path("/c.toml"), state_dir=Path("/s"), now=T0, host_zone="UTC")
    try:
        (obj,) = cronjobs(Config(Path("/c.toml"), zone, {"j": job}), job, s, ctx)
    except ConfigError:
        return []  # refused with the day (test_kubernetes checks each refusal has one)
    ran = run_cluster(controller_fires(obj["spec"]["schedule"], zone, T0, END), dur)
    windows = [w for w in reference(h, m, dur, days, zone, T0, END) if T0 <= w[0] < END]
    if ran != windows:
        return [f"Jobs {sorted(set(ran) ^ set(windows))[:2]} differ from the windows"]
    return []


def test_three_years_every_target_every_model() -> None:
    schedules = random_schedules(SCHEDULES, seed=23)
    workers = min(4, os.cpu_count() or 1)
    chunks = [schedules[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(sweep, chunks))
    bad = [p for r, _ in results for p in r]
    checked = sum(n for _, n in results)
    assert checked == len(schedules) * len(HOSTS) * 7
    assert bad == [], f"{len(bad)} problems in {checked} schedule x host x model runs; first:\n" + "\n".join(
        bad[:12]
    )
