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
from ..windows import window_on
from .base import File, RenderContext

ACCURACY = "1s"


def unit_base(job: str, schedule: str) -> str:
    return f"osched-{job}.{schedule}"


def _days(days: set[int] | frozenset[int]) -> str:
    return ",".join(DAY_NAMES[d].capitalize() for d in sorted(days))


def _specs(table: dict[int, set[int]], zone: str) -> list[str]:
    return [
        f"{_days(days)} *-*-* {m // 60:02d}:{m % 60:02d}:00 {zone}"
        for m, days in sorted(table.items())
    ]


def _add(table: dict[int, set[int]], day: int, minute: int) -> None:
    total = (day * 1440 + minute) % (7 * 1440)
    table.setdefault(total % 1440, set()).add(total // 1440)


def start_specs(s: Schedule, now: datetime) -> list[str]:
    table: dict[int, set[int]] = {s.hour * 60 + s.minute: set(s.days)}
    specs = _specs(table, s.timezone)
    start_day = int(now.timestamp()) // 86400
    for t in transitions(s.timezone, start_day)[1]:
        if t.after <= t.before:
            continue
        day: date = datetime.fromtimestamp(t.at, UTC).astimezone(s.tz).date()
        w = window_on(s, day)
        if w is None:
            continue
        local = w.start.astimezone(s.tz)
        if (local.hour, local.minute) != (s.hour, s.minute):  # start fell into the gap
            specs.append(f"{local:%Y-%m-%d %H:%M:%S} {s.timezone}")
    return specs


def stop_specs(s: Schedule, now: datetime) -> list[str]:
    start_day = int(now.timestamp()) // 86400
    _, ts = transitions(s.timezone, start_day)
    shifts = {0} | {t.after - t.before for t in ts} | {t.before - t.after for t in ts}
    table: dict[int, set[int]] = {}
    wall = s.hour * 60 + s.minute
    for d in s.days:
        for shift in shifts:
            _add(table, d, wall + s.duration + shift)
    specs = _specs(table, s.timezone)
    for t in ts:  # gap-day starts end at start-after-gap + duration
        if t.after <= t.before:
            continue
        w = window_on(s, datetime.fromtimestamp(t.at, UTC).astimezone(s.tz).date())
        if w is not None:
            end = w.end.astimezone(s.tz)
            spec = f"{end:%Y-%m-%d %H:%M:%S} {s.timezone}"
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
    what = (
        f"{job.name}/{s.id} ({s.start_text} for {s.duration_text} on {s.days_text}, {s.timezone})"
    )
    common = _common(ctx)
    return [
        File(
            f"{base}.timer",
            render_template(
                "systemd/start.timer.j2",
                what=what,
                specs=start_specs(s, ctx.now),
                unit=f"{base}.service",
                **common,
            ),
        ),
        File(
            f"{base}.service",
            render_template(
                "systemd/start.service.j2",
                what=what,
                argv=ctx.start_argv(job.name, s.id),
                stop_timeout=int(job.stop_timeout) + 15,
                **common,
            ),
        ),
        File(
            f"{base}.stop.timer",
            render_template(
                "systemd/stop.timer.j2",
                what=what,
                specs=stop_specs(s, ctx.now),
                unit=f"{base}.stop.service",
                **common,
            ),
        ),
        File(
            f"{base}.stop.service",
            render_template(
                "systemd/stop.service.j2",
                what=what,
                argv=ctx.stop_argv(job.name, s.id),
                **common,
            ),
        ),
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
                    "systemd/resume.service.j2", argv=ctx.resume_argv(), **_common(ctx)
                ),
            )
        )
    return files
