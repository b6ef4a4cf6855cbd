"""Read-only views of a config at an instant, as JSON-ready dicts and as text.  No click."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .core.days import DAY_NAMES
from .model import Config, Job, Schedule
from .parse import format_seconds
from .windows import Window, around, job_times, upcoming, windows_between


def local_iso(t: datetime | None, tz: ZoneInfo) -> str | None:
    """An instant in ``tz``, ISO 8601 with its offset (the JSON views)."""
    return None if t is None else t.astimezone(tz).isoformat()


def human(t: datetime | None, tz: ZoneInfo, seconds: bool = False) -> str:
    """The one format every command prints a time in: ``Fri 2026-11-27 22:00 CET``."""
    if t is None:
        return "-"
    local = t.astimezone(tz)
    return local.strftime("%a %Y-%m-%d %H:%M:%S " if seconds else "%a %Y-%m-%d %H:%M ") + (
        local.tzname() or ""
    )


def schedule_dict(s: Schedule) -> dict[str, Any]:
    """A schedule as ``--json`` gives it: the API's ``Schedule`` (``records``)."""
    from .records import as_json, schedule_record

    out: dict[str, Any] = as_json(schedule_record(s))
    return out


def job_dict(job: Job) -> dict[str, Any]:
    """Every key of a job, the one list ``show`` (text and JSON) is made from: the API's
    ``Job`` (``records``)."""
    from .records import as_json, job_record

    out: dict[str, Any] = as_json(job_record(job))
    return out


def _shown(key: str, value: Any) -> str:
    """One value of ``job_dict`` as ``show`` prints it."""
    if value is None or value in ([], {}):
        return "-"
    if key == "limits":
        from .limits import text

        return text(value)
    if key == "restart":
        backoff = ", ".join(format_seconds(b) for b in value["backoff_seconds"])
        return f"{value['retries']} retries, backoff {backoff}"
    if key.endswith("_seconds"):
        return format_seconds(value)
    if isinstance(value, list):
        return shlex.join(value)
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def window_dict(w: Window, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "job": w.schedule.job,
        "schedule": w.schedule.id,
        "start": local_iso(w.start, tz),
        "end": local_iso(w.end, tz),
        "schedule_timezone": w.schedule.timezone,
    }


def status_dict(job: Job, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    return status_times(job, now, tz)[0]


def status_times(job: Job, now: datetime, tz: ZoneInfo) -> tuple[dict[str, Any], Window | None]:
    """Where ``job`` stands at ``now`` (the seed's next-run semantics: ``next_start`` only
    outside windows), and its next window start after ``now`` either way.  Each schedule's
    windows are computed once (at 10,000 schedules this is most of ``status``)."""
    opened: list[Window] = []
    nexts: list[Window] = []
    for s in job.enabled_schedules:
        now_open, nxt = around(s, now)
        opened += now_open
        nexts += [nxt] if nxt is not None else []
    next_run = min(nexts, key=lambda w: (w.start, w.schedule.id)) if nexts else None
    fields = {
        "name": job.name,
        "in_window": bool(opened),
        "active_schedules": len({w.schedule.id for w in opened}),
        "enabled_schedules": len(job.enabled_schedules),
        "open_windows": [window_dict(w, tz) for w in opened],
        "window_end": local_iso(max(w.end for w in opened), tz) if opened else None,
        "next_start": None if opened or next_run is None else local_iso(next_run.start, tz),
    }
    return fields, next_run


def describe_schedule(s: Schedule) -> str:
    state = "" if s.enabled else "  [disabled]"
    extra = ""
    if s.args:
        extra += "  args: " + " ".join(s.args)
    if s.env:
        extra += "  env: " + " ".join(f"{k}={v}" for k, v in s.env.items())
    if s.random_delay:
        extra += f"  random delay up to {format_seconds(s.random_delay)}"
    if s.wake:
        extra += "  wakes the machine"
    if s.skip_items:
        extra += "  skip: " + ", ".join(s.skip_items)
    if s.holidays:
        extra += f"  skips public holidays in {s.holidays}"
    when = f"{s.start_text} for {s.duration_text} on {s.days_text} ({s.timezone})"
    return f"{s.id}: {when}{state}{extra}"


def list_text(cfg: Config) -> str:
    if not cfg.jobs:
        return f"No jobs in {cfg.path}. Add one with: osched job add NAME -- COMMAND..."
    lines = []
    for job in cfg.jobs.values():
        lines.append(f"{job.name}: {shlex.join(job.command)}")
        if not job.schedules:
            lines.append("  (no schedules)")
        lines.extend(f"  {describe_schedule(s)}" for s in job.schedules)
    return "\n".join(lines)


def show_text(job: Job, now: datetime, tz: ZoneInfo) -> str:
    """``show``: every key of ``job_dict`` (so a new job key is shown the day it lands)."""
    lines = [f"{'job:':<16} {job.name}"]
    for key, value in job_dict(job).items():
        if key not in ("name", "schedules"):
            label = key.removesuffix("_seconds").replace("_", " ") + ":"
            lines.append(f"{label:<16} {_shown(key, value)}")
    lines.append("schedules:")
    lines.extend(f"  {describe_schedule(s)}" for s in job.schedules)
    if not job.schedules:
        lines.append("  (none)")
    lines.append(status_line(job, now, tz))
    return "\n".join(lines)


def status_line(job: Job, now: datetime, tz: ZoneInfo) -> str:
    times = job_times(job, now)
    if times.in_window:
        n = times.active_count
        return (
            f"{job.name}: in window ({n} active schedule{'s' if n != 1 else ''}) "
            f"until {human(times.next_end, tz)}"
        )
    if times.next_start is None:
        return f"{job.name}: no enabled schedules"
    return f"{job.name}: outside its windows; next start {human(times.next_start, tz)}"


def next_windows(cfg: Config, job: Job | None, now: datetime, count: int) -> list[Window]:
    jobs = [job] if job else list(cfg.jobs.values())
    schedules = [s for j in jobs for s in j.enabled_schedules]
    return upcoming(schedules, now, count)


def next_text(windows: list[Window], tz: ZoneInfo) -> str:
    if not windows:
        return "No upcoming windows (no enabled schedules)."
    rows = []
    for w in windows:
        line = f"{human(w.start, tz)}  ->  {human(w.end, tz)}  {w.schedule.job}/{w.schedule.id}"
        if w.schedule.tz.key != tz.key:
            line += f"  ({w.start.astimezone(w.schedule.tz).strftime('%H:%M')} {w.schedule.timezone})"
        rows.append(line)
    return "\n".join(rows)


# -- calendar ---------------------------------------------------------------------------------
def week_grid(schedules: list[Schedule], now: datetime, tz: ZoneInfo) -> tuple[datetime, list[list[int]]]:
    """The next seven days from today (host-local, 7 x 24 hours): per hour, the most windows
    open at one instant of it: 1 in a window, 2 or more only where windows really overlap (two
    that merely share an hour, one after the other, are 1)."""
    today = now.astimezone(tz).date()
    start = datetime(today.year, today.month, today.day, tzinfo=tz)
    last = today + timedelta(days=7)
    end = datetime(last.year, last.month, last.day, tzinfo=tz)
    windows = sorted((w for s in schedules for w in windows_between(s, start, end)), key=lambda w: w.start)
    grid = [[0] * 24 for _ in range(7)]
    live: list[Window] = []  # by start: those that started before this hour's end
    k = 0
    for d in range(7):
        day = today + timedelta(days=d)
        for h in range(24):
            a = datetime(day.year, day.month, day.day, h, tzinfo=tz).astimezone(UTC)
            b = a + timedelta(hours=1)
            while k < len(windows) and windows[k].start < b:
                live.append(windows[k])
                k += 1
            live = [w for w in live if w.end > a]  # what ended before this hour never returns
            grid[d][h] = _most_at_once([(max(w.start, a), min(w.end, b)) for w in live])
    return start, grid


def _most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    """The largest number of half-open spans that share an instant."""
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in edges:  # at one instant an end (-1) comes before a start (+1): half-open
        now += step
        most = max(most, now)
    return most


def week_overlaps(schedules: list[Schedule], week_start: datetime, tz: ZoneInfo) -> list[str]:
    """Which windows of this week overlap, and when (one line per pair of schedules: the
    first overlapping pair of their windows, in the order the schedules and windows come).
    A sweep over the windows by start time: each is compared only with those still open
    when it starts, not with every other window of the week (3,000 schedules took 9 s)."""
    week_end = week_start + timedelta(days=7)
    windows = [w for s in schedules for w in windows_between(s, week_start, week_end)]
    names = [f"{w.schedule.job}/{w.schedule.id}" for w in windows]
    first: dict[tuple[str, str], tuple[int, int]] = {}
    open_: list[int] = []  # indexes of windows started and not yet over
    for j in sorted(range(len(windows)), key=lambda k: windows[k].start):
        b = windows[j]
        open_ = [i for i in open_ if windows[i].end > b.start]
        for i in open_:
            a = windows[i]
            if a.schedule is b.schedule or not a.start < b.end:
                continue
            pair = (i, j) if i < j else (j, i)
            key = (names[i], names[j]) if names[i] <= names[j] else (names[j], names[i])
            known = first.get(key)
            if known is None or pair < known:
                first[key] = pair
        open_.append(j)
    out = []
    for (x, y), (i, j) in sorted(first.items(), key=lambda item: item[1]):
        a, b = windows[i], windows[j]
        lo, hi = max(a.start, b.start), min(a.end, b.end)
        out.append(f"{x} and {y}, {human(lo, tz)} to {human(hi, tz)}")
    return out


def calendar_text(week_start: datetime, grid: list[list[int]], tz: ZoneInfo) -> str:
    head = "      " + "".join(f"{h:>3}" for h in range(24))
    lines = [
        f"7 days from {week_start.strftime('%a %Y-%m-%d')} in {tz.key}   "
        "# = in a window, 2-9 = overlapping windows, . = free",
        head,
    ]
    for d, row in enumerate(grid):
        day = week_start + timedelta(days=d)
        cells = "".join(f"{_cell(n):>3}" for n in row)
        lines.append(f"{DAY_NAMES[day.weekday()].capitalize()} {day.day:>2}{cells}")
    return "\n".join(lines)


def _cell(n: int) -> str:
    if n == 0:
        return "."
    if n == 1:
        return "#"
    return str(min(n, 9))


# -- runtime state (pid, overrides, crashes) ----------------------------------------------------
def runtime_dict(state: Any, job: str, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """What the state dir says about ``job``: process, supervisor, overrides, crash count.
    Reads only (an expired override is shown as absent, not deleted)."""
    from .runtime.proc import default_procs as current
    from .state import parse_iso

    st = state.read_state(job, now, read_only=True)
    procs = current()
    running = procs.alive(st.pid, st.pid_start)
    overrides = []
    for kind in ("start", "stop"):
        ov = state.read_override(job, kind)
        if ov is not None and ov.expires is not None and ov.expires > now:
            overrides.append(
                {
                    "kind": kind,
                    "created": local_iso(ov.created, tz),
                    "expires": local_iso(ov.expires, tz),
                    "reason": ov.reason,
                }
            )
    return {
        "process": (
            {
                "pid": st.pid,
                "since": local_iso(parse_iso(st.started_at), tz),
                "supervisor_pid": st.supervisor_pid
                if procs.alive(st.supervisor_pid, st.supervisor_start)
                else None,
            }
            if running
            else None
        ),
        "outcome": st.outcome if not running else "running",
        "run_schedule": st.schedule,
        "last_started": local_iso(parse_iso(st.started_at), tz),
        "crash_count": st.crashes,
        "last_exit": st.last_exit,
        "finished_at": local_iso(parse_iso(st.finished_at), tz),
        "overrides": overrides,
    }


def runtime_text(rt: dict[str, Any], tz: ZoneInfo) -> str:
    def short(text: str | None) -> str:
        from datetime import datetime as _dt

        return human(_dt.fromisoformat(text), tz) if text else "-"

    parts = []
    p = rt["process"]
    if p:
        parts.append(f"running (pid {p['pid']} since {short(p['since'])})")
        if p["supervisor_pid"] is None:
            parts.append("no supervisor")
    else:
        n = rt["crash_count"]
        outcome = {
            "finished": "finished (exit 0)",
            "gave_up": f"gave up after {n} crash restart{'s' if n != 1 else ''}",
            "backoff": "waiting to restart after a crash",
        }.get(rt["outcome"] or "", "not running")
        parts.append(outcome)
    if rt["crash_count"] and p:
        parts.append(f"{rt['crash_count']} crash restart{'s' if rt['crash_count'] != 1 else ''}")
    for ov in rt["overrides"]:
        parts.append(f"{ov['kind']} override until {short(ov['expires'])}")
    return "; ".join(parts)


def event_text(rec: dict[str, Any], tz: ZoneInfo) -> str:
    try:
        when = human(datetime.fromisoformat(str(rec["time"])), tz, seconds=True)
    except (KeyError, ValueError, TypeError):  # a hand-edited or damaged record
        when = "-"
    what = rec.get("event", "?")
    sched = f"/{rec['schedule']}" if rec.get("schedule") else ""
    extra = []
    if rec.get("pid") and what in ("started", "restarted", "adopted"):
        extra.append(f"pid {rec['pid']}")
    if rec.get("reason"):
        extra.append(str(rec["reason"]))
    if rec.get("kind"):
        extra.append(f"kind {rec['kind']}")
    if rec.get("expires"):
        extra.append(f"expires {rec['expires']}")
    if rec.get("how"):
        extra.append(f"by {rec['how']}")
    return f"{when}  {rec.get('job') or '-'}{sched}  {what}" + (f"  {'; '.join(extra)}" if extra else "")
