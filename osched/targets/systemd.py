"""systemd ``.timer`` + ``.service`` units, user units by default (``--system``: system units).

Per schedule ``S`` of job ``J``:

* ``osched-J.S.timer`` -> ``osched-J.S.service``: ``OnCalendar=`` at the window start in the
  schedule's own IANA zone.  The service runs ``osched-start`` in the foreground, so the job
  runs inside a unit systemd tracks.  ``Persistent=true`` fires a missed start after boot.
* ``osched-J.S.stop.timer`` -> ``osched-J.S.stop.service`` (oneshot ``osched-stop``) at the
  window end: the nominal wall time plus its DST-shifted variants (a duration is elapsed time,
  so across a DST change the end moves by the shift; the stop entrypoint skips early ones).
* ``osched-resume-<config id>.service``: boot/login catch-up, ``osched-start --resume``.

systemd skips a start inside a DST gap; osched opens the window at the end of the gap, so the
start timer also lists that instant as a dated ``OnCalendar=`` line for the coming year.
``AccuracySec=1s``: the default (1 min) would let a start drift by up to a minute.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from ..model import Config, Job, Schedule
from ..parse import DAY_NAMES
from ..project import transitions
from ..templating import render as render_template
from ..windows import Window, window_on
from .base import File, RenderContext

ACCURACY = "1s"


def unit_base(job: str, schedule: str) -> str:
    return f"osched-{job}.{schedule}"


def _days(days: set[int] | frozenset[int]) -> str:
    return ",".join(DAY_NAMES[d].capitalize() for d in sorted(days))


def _specs(table: dict[int, set[int]], zone: str) -> list[str]:
    return [f"{_days(days)} *-*-* {m // 60:02d}:{m % 60:02d}:00 {zone}" for m, days in sorted(table.items())]


def _add(table: dict[int, set[int]], day: int, minute: int) -> None:
    total = (day * 1440 + minute) % (7 * 1440)
    table.setdefault(total % 1440, set()).add(total // 1440)


def _gap_day_windows(s: Schedule, now: datetime) -> list[Window]:
    """Windows of the coming year that start on a spring-forward day of the schedule's zone."""
    found = []
    for t in transitions(s.timezone, int(now.timestamp()) // 86400)[1]:
        if t.after > t.before:
            day: date = datetime.fromtimestamp(t.at, UTC).astimezone(s.tz).date()
            w = window_on(s, day)
            if w is not None:
                found.append(w)
    return found


def _dated(t: datetime, s: Schedule) -> str:
    """A one-off instant, in UTC: systemd 252 mis-computes some wall times on a zone's
    spring-forward day (Pacific/Chatham: 03:45 on that day elapses 'never')."""
    return f"{t.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def start_specs(s: Schedule, now: datetime) -> list[str]:
    specs = _specs({s.hour * 60 + s.minute: set(s.days)}, s.timezone)
    # every window on a spring-forward day also gets a dated line: systemd skips a start in
    # the gap, and systemd 252 also skips some times right after a gap (Pacific/Chatham)
    for w in _gap_day_windows(s, now):
        spec = _dated(w.start, s)
        if spec not in specs:
            specs.append(spec)
    return specs


def stop_specs(s: Schedule, now: datetime) -> list[str]:
    _, ts = transitions(s.timezone, int(now.timestamp()) // 86400)
    shifts = {0} | {t.after - t.before for t in ts} | {t.before - t.after for t in ts}
    table: dict[int, set[int]] = {}
    wall = s.hour * 60 + s.minute
    for d in s.days:
        for shift in shifts:
            _add(table, d, wall + s.duration + shift)
    specs = _specs(table, s.timezone)
    for w in _gap_day_windows(s, now):  # a start moved by a gap moves its end too
        spec = _dated(w.end, s)
        if spec not in specs:
            specs.append(spec)
    return specs


def _common(ctx: RenderContext) -> dict[str, object]:
    return {
        "accuracy": ACCURACY,
        "wanted_by": "multi-user.target" if ctx.system else "default.target",
        "config": str(ctx.config_path),
        # system units would run as root: run them as the user who rendered them
        "run_as": ctx.user if ctx.system else None,
    }


def schedule_files(job: Job, s: Schedule, ctx: RenderContext) -> list[File]:
    base = unit_base(job.name, s.id)
    what = f"{job.name}/{s.id} ({s.start_text} for {s.duration_text} on {s.days_text}, {s.timezone})"
    common = {**_common(ctx), "what": what}

    def unit(name: str, template: str, **kw: object) -> File:
        return File(name, render_template(f"systemd/{template}", **common, **kw))

    return [
        unit(f"{base}.timer", "start.timer.j2", specs=start_specs(s, ctx.now), unit=f"{base}.service"),
        unit(
            f"{base}.service",
            "start.service.j2",
            argv=ctx.start_argv(job.name, s.id, foreground=True),
            stop_timeout=int(job.stop_timeout) + 15,
        ),
        unit(
            f"{base}.stop.timer",
            "stop.timer.j2",
            specs=stop_specs(s, ctx.now),
            unit=f"{base}.stop.service",
        ),
        unit(f"{base}.stop.service", "stop.service.j2", argv=ctx.stop_argv(job.name, s.id)),
    ]


def render(cfg: Config, ctx: RenderContext) -> list[File]:
    files: list[File] = []
    for job in cfg.jobs.values():
        for s in job.enabled_schedules:
            files.extend(schedule_files(job, s, ctx))
    if files:
        files.append(
            File(
                f"osched-resume-{ctx.config_id}.service",
                render_template(
                    "systemd/resume.service.j2",
                    argv=ctx.resume_argv("system" if ctx.system else "user"),
                    **_common(ctx),
                ),
            )
        )
    return files
