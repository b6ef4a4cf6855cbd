"""The DST oracle sweep: random schedules x host zones over a year, every window must open and
close within its minute on cron and systemd, checked against schedulers' own engines.

* The reference window rule is written here with zoneinfo alone (no osched import): a window
  opens at the wall time on each listed day (inside a gap: the first instant after it; in a
  repeated hour: the first pass) and lasts its elapsed duration.
* cron: the rendered crontab lines, run through ``cronsim`` (which follows Debian cron's DST
  rules) in the host's zone.
* systemd: the rendered ``OnCalendar=`` lines, through ``systemd-analyze calendar``.
* ``osched simulate`` (its own cron and systemd models, and the real decision code) is run on
  part of the sweep and must agree: the same firings, no late window.

Hosts: Europe/Berlin; America/Nuuk (its repeated hour ends at midnight, and the issue's
Nuuk cases); Europe/Dublin (identical rules to Europe/London: no start may fire inside an open
window); Australia/Lord_Howe (30-minute DST).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from bisect import bisect_left, bisect_right
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytestmark = [pytest.mark.oracle, pytest.mark.slow]  # OSCHED_SWEEP_SCHEDULES sizes it (default 500)

# 500 x 4 hosts against the external engines; test_time_sweep.py runs 1,000 x 4 hosts for
# three years under every scheduler model
SCHEDULES = int(os.environ.get("OSCHED_SWEEP_SCHEDULES", "500"))
HOSTS = ("Europe/Berlin", "America/Nuuk", "Europe/Dublin", "Australia/Lord_Howe")
ZONES = (
    "UTC", "Europe/Berlin", "Europe/Paris", "Europe/London", "Europe/Dublin", "America/New_York",
    "America/Toronto", "America/Nuuk", "America/Santiago", "America/St_Johns", "America/Havana",
    "Asia/Beirut", "Africa/Cairo", "Australia/Lord_Howe", "Australia/Sydney", "Pacific/Chatham",
    "Pacific/Auckland", "Antarctica/Troll", "Asia/Kolkata", "Asia/Tehran",
)
NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
A, B = NOW, NOW + timedelta(days=366)
MINUTE = timedelta(minutes=1)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


# -- the reference rule (zoneinfo only) ------------------------------------------------------
def wall_instant(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    naive = datetime(day.year, day.month, day.day, hour, minute)
    found = []
    for fold in (0, 1):
        u = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if u.astimezone(tz).replace(tzinfo=None) == naive:
            found.append(u)
    if found:
        return min(found)
    # in a gap: the first instant whose wall time is past ``naive``
    lo, hi = sorted(int(naive.replace(tzinfo=tz, fold=f).timestamp()) for f in (0, 1))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) > naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def reference(h: int, m: int, dur: int, days: frozenset[int], zone: str, a: datetime = A,
              b: datetime = B) -> list[tuple[datetime, datetime]]:
    tz = ZoneInfo(zone)
    out = []
    day = (a - timedelta(days=9)).astimezone(tz).date()
    while day <= b.astimezone(tz).date() + timedelta(days=1):
        if day.weekday() in days:
            s = wall_instant(day, h, m, tz)
            out.append((s, s + timedelta(minutes=dur)))
        day += timedelta(days=1)
    return out


@cache
def constant_difference(zone: str, host: str) -> bool:
    """The two zones' offsets differ by the same amount all year (same rules)."""
    zt, ht = ZoneInfo(zone), ZoneInfo(host)
    diffs = set()
    t = A - timedelta(days=9)
    while t < B + timedelta(days=9):
        diffs.add(t.astimezone(ht).utcoffset() - t.astimezone(zt).utcoffset())  # type: ignore[operator]
        t += timedelta(minutes=30)
    return len(diffs) == 1


def random_schedules(n: int, seed: int = 12) -> list[tuple[int, int, int, frozenset[int], str]]:
    rnd = random.Random(seed)
    out = []
    while len(out) < n:
        days = frozenset(rnd.sample(range(7), rnd.choice([1, 1, 2, 3, 5, 7])))
        dur = rnd.choice([1, 15, 30, 45, 60, 90, 120, 180, 480, 600, 1440, 2000, 3000])
        h = rnd.choice([0, 0, 1, 1, 2, 2, 3, 3, 4, 22, 23, 23, rnd.randrange(24)])
        m = rnd.choice([0, 0, 15, 30, 45, 59, rnd.randrange(60)])
        if _self_overlap(days, dur):
            continue
        out.append((h, m, dur, days, rnd.choice(ZONES)))
    return out


def _self_overlap(days: frozenset[int], dur: int) -> bool:
    starts = sorted(days)
    gaps = [((starts[(i + 1) % len(starts)] - d) % 7 or 7) * 1440 for i, d in enumerate(starts)]
    return dur > min(gaps)


# -- rendering, through osched ---------------------------------------------------------------
def render(target: str, sched: tuple[int, int, int, frozenset[int], str], host: str) -> list[str]:
    from osched import targets
    from osched.model import Config, Job, Schedule
    from osched.targets.base import RenderContext

    h, m, dur, days, zone = sched
    s = Schedule(id="s", job="j", hour=h, minute=m, duration=dur, days=days, timezone=zone)
    cfg = Config(Path("/c.toml"), zone, {"j": Job(name="j", command=("x",), schedules=(s,))})
    ctx = RenderContext(config_path=Path("/c.toml"), state_dir=Path("/s"), now=NOW, host_zone=host,
                        start_exe="/x/osched-start", stop_exe="/x/osched-stop")
    out = []
    for f in targets.render(target, cfg, ctx):
        for line in f.content.splitlines():
            if target == "cron" and "# osched:" in line and not line.startswith(("@", "#")):
                kind = line.rsplit(":", 1)[1].strip()
                out.append(f"{kind} {' '.join(line.split()[:5])}")
            elif target == "systemd" and line.startswith("OnCalendar="):
                out.append(f"{'stop' if '.stop.' in f.name else 'start'} {line.split('=', 1)[1]}")
    return out


def cron_firings(lines: list[str], host: str) -> dict[str, set[datetime]]:
    from cronsim import CronSim

    tz = ZoneInfo(host)
    out: dict[str, set[datetime]] = {"start": set(), "stop": set()}
    begin, end = (A - timedelta(days=8, seconds=17)).astimezone(tz), B + timedelta(days=8)
    for line in lines:
        kind, when = line.split(" ", 1)
        if when.split()[1] == "*":
            out[kind].update(wildcard_hour(when, tz, begin, end))
            continue
        for t in CronSim(when, begin):
            if t >= end:
                break
            out[kind].add(t.astimezone(UTC))
    return out


def wildcard_hour(when: str, tz: ZoneInfo, begin: datetime, end: datetime) -> set[datetime]:
    """A dated line with a wildcard hour (``M * D Mo *``): Debian cron runs it at every
    occurrence of the wall time ``:M`` that day, both passes of a repeated hour included
    (``test_integration_cron_dst.py`` shows it with the real daemon).  cronsim misses the second
    pass when the repeated span is not a whole hour (Lord Howe's 30 minutes)."""
    minute, _, day, month, _ = when.split()
    out = set()
    for year in range(begin.year, end.year + 1):
        try:
            d = date(year, int(month), int(day))
        except ValueError:
            continue
        t = datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC) - timedelta(hours=3)
        stop = t + timedelta(hours=30)
        while t < stop:
            local = t.astimezone(tz)
            if local.date() == d and local.minute == int(minute) and begin <= t < end:
                out.add(t)
            t += MINUTE
    return out


_ELAPSE = re.compile(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")


def systemd_firings(lines: list[str]) -> dict[str, set[datetime]]:
    """Each line's elapses over the year, from systemd-analyze (zone specs cost about 0.5 ms
    an iteration: each spec gets only the iterations its days need)."""
    assert SYSTEMD_ANALYZE is not None
    out: dict[str, set[datetime]] = {"start": set(), "stop": set()}
    groups: dict[int, list[tuple[str, str]]] = {}
    for line in lines:
        kind, spec = line.split(" ", 1)
        days = spec.split(" ", 1)[0].count(",") + 1 if "*-*-*" in spec else 0
        groups.setdefault(days * 56 + 2 if days else 1, []).append((kind, spec))
    for n, group in groups.items():
        r = subprocess.run(
            [SYSTEMD_ANALYZE, "calendar", f"--iterations={n}", f"--base-time=@{int(A.timestamp()) - 9 * 86400}",
             *(spec for _, spec in group)],
            env={"TZ": "UTC", "PATH": "/usr/bin:/bin", "LANG": "C"}, capture_output=True, text=True,
            check=False,
        )
        assert r.returncode == 0, (group, r.stderr)
        blocks = re.split(r"\n\s*\n", r.stdout.strip())
        for (kind, _), block in zip(group, blocks, strict=True):
            out[kind].update(datetime.fromisoformat(t + "+00:00") for t in _ELAPSE.findall(block))
    return out


# -- the check -----------------------------------------------------------------------------------
def check(sched: tuple[int, int, int, frozenset[int], str], fired: dict[str, set[datetime]],
          same_rules: bool) -> list[str]:
    """Every window in the year opens at a start firing in its first minute and closes at a
    stop firing in its minute; with same rules, no start fires strictly inside a window."""
    problems = []
    windows = reference(*sched[:4], sched[4])
    starts, stops = sorted(fired["start"]), sorted(fired["stop"])

    def fires_in(times: list[datetime], lo: datetime, hi: datetime) -> bool:  # any t, lo <= t < hi
        i = bisect_left(times, lo)
        return i < len(times) and times[i] < hi

    for i, (s, e) in enumerate(windows):
        if A <= s < B and not fires_in(starts, s, s + MINUTE):
            problems.append(f"window {s:%F %R}Z-{e:%F %R}Z opens late or never")
        # a close hidden by the next window (back-to-back 24h windows) needs no stop firing
        covered = any(s2 <= e < e2 for s2, e2 in windows[i + 1 : i + 3])
        if A <= e < B and not covered and not fires_in(stops, e - MINUTE + timedelta(seconds=1), e + MINUTE):
            problems.append(f"window {s:%F %R}Z-{e:%F %R}Z closes late or never")
    if same_rules:
        opens = {s for s, _ in windows}
        for s, e in windows:
            for t in starts[bisect_right(starts, s) : bisect_left(starts, e)]:
                if A <= t < B and t not in opens:
                    problems.append(f"a start fires at {t:%F %R}Z inside an open window")
    return problems


SIMULATE_EVERY = 10  # osched simulate runs on every 10th schedule of the sweep


def simulated(target: str, sched: tuple[int, int, int, frozenset[int], str], host: str,
              engine: str = "osched") -> tuple[dict[str, set[datetime]], int]:
    """``osched simulate``'s own firings (its cron model, its systemd evaluator) in [A, B),
    and how many windows it flags."""
    from osched.model import Config, Job, Schedule
    from osched.simulate import simulate
    from osched.targets.base import RenderContext

    h, m, dur, days, zone = sched
    s = Schedule(id="s", job="j", hour=h, minute=m, duration=dur, days=days, timezone=zone)
    cfg = Config(Path("/c.toml"), zone, {"j": Job(name="j", command=("x",), schedules=(s,))})
    ctx = RenderContext(config_path=Path("/c.toml"), state_dir=Path("/s"), now=NOW, host_zone=host,
                        start_exe="/x/osched-start", stop_exe="/x/osched-stop")
    r = simulate(target, cfg, ctx, A, B, engine)
    out: dict[str, set[datetime]] = {"start": set(), "stop": set()}
    for d in r.decided:
        out[d.firing.kind].add(d.firing.at)
    return out, len(r.problems)


def agree(kind: str, sched: tuple[int, int, int, frozenset[int], str], host: str,
          oracle: dict[str, set[datetime]]) -> list[str]:
    ours, problems = simulated(kind, sched, host)
    theirs = {k: {t for t in v if A <= t < B} for k, v in oracle.items()}
    out = []
    if ours != theirs:
        diff = sorted((ours["start"] ^ theirs["start"]) | (ours["stop"] ^ theirs["stop"]))
        out.append(f"simulate's {kind} firings differ from the oracle's at {diff[:3]}")
    if problems:
        out.append(f"simulate flags {problems} windows")
    return out


def sweep_host(host: str, schedules: list[tuple[int, int, int, frozenset[int], str]]) -> list[str]:
    bad = []
    for i, sched in enumerate(schedules):
        fired = cron_firings(render("cron", sched, host), host)
        problems = check(sched, fired, constant_difference(sched[4], host))
        if i % SIMULATE_EVERY == 0:
            problems += agree("cron", sched, host, fired)
        bad += [f"cron on {host}: {sched}: {p}" for p in problems]
    return bad


def test_cron_sweep() -> None:
    schedules = random_schedules(SCHEDULES)
    chunks = [(host, schedules[i::2]) for host in HOSTS for i in range(2)]
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = list(pool.map(sweep_host, *zip(*chunks, strict=True)))
    bad = [p for r in results for p in r]
    assert bad == [], f"{len(bad)} problems; first: " + "\n".join(bad[:10])


def sweep_systemd(schedules: list[tuple[int, int, int, frozenset[int], str]]) -> list[str]:
    bad = []
    for i, sched in enumerate(schedules):
        fired = systemd_firings(render("systemd", sched, "UTC"))
        problems = check(sched, fired, same_rules=True)
        if i % SIMULATE_EVERY == 0:
            problems += agree("systemd", sched, "UTC", fired)
        bad += [f"systemd: {sched}: {p}" for p in problems]
    return bad


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)")
def test_systemd_sweep() -> None:
    schedules = random_schedules(SCHEDULES)
    half = len(schedules) // 2
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(sweep_systemd, [schedules[:half], schedules[half:]]))
    bad = [p for r in results for p in r]
    assert bad == [], f"{len(bad)} problems; first: " + "\n".join(bad[:10])
