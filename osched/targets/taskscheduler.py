"""Windows Task Scheduler task XML (UTF-16 LE with a BOM, as ``schtasks /Create /XML`` wants).

Tasks live in the ``\\osched\\`` folder: ``\\osched\\J.S.start`` and ``\\osched\\J.S.stop`` per
schedule, and ``\\osched\\resume-<config id>`` with boot and logon triggers.  Task Scheduler
runs calendar triggers in the host's local time, so the firings come from
``project.host_firings``.  Every calendar trigger has a ``StartBoundary``; ``StartWhenAvailable``
runs a missed firing as soon as possible; ``ExecutionTimeLimit`` is ``PT0S`` (none), so the
supervisor is never killed by the scheduler.
"""

from __future__ import annotations

from ..model import Config
from ..project import Firing, host_firings
from ..templating import render as render_template
from .base import File, RenderContext

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _triggers(firings: list[Firing], ctx: RenderContext) -> list[tuple[str, list[str]]]:
    """(StartBoundary, day names) per firing."""
    day = ctx.now.astimezone(ctx.host_tz).date().isoformat()
    return [(f"{day}T{f.hour:02d}:{f.minute:02d}:00", [WEEKDAYS[d] for d in sorted(f.days)]) for f in firings]


def _task(name: str, description: str, argv: list[str], ctx: RenderContext, **kw: object) -> File:
    text = render_template(
        "taskscheduler/task.xml.j2",
        uri=f"\\osched\\{name}",
        description=description,
        command=argv[0],
        arguments=argv[1:],
        system=ctx.system,
        triggers=kw.get("triggers", []),
        boot=kw.get("boot", False),
        config=str(ctx.config_path),
    )
    return File(f"{name}.xml", text, encoding="utf-16", newline="\r\n")


def render(cfg: Config, ctx: RenderContext) -> list[File]:
    files: list[File] = []
    for job in cfg.jobs.values():
        for s in job.enabled_schedules:
            starts, stops = host_firings(s, ctx.host_tz, ctx.now)
            what = f"{job.name}/{s.id}: {s.start_text} for {s.duration_text} on {s.days_text} ({s.timezone})"
            files.append(
                _task(
                    f"{job.name}.{s.id}.start",
                    f"osched window start of {what}",
                    ctx.start_argv(job.name, s.id),
                    ctx,
                    triggers=_triggers(starts, ctx),
                )
            )
            files.append(
                _task(
                    f"{job.name}.{s.id}.stop",
                    f"osched window end of {what}",
                    ctx.stop_argv(job.name, s.id),
                    ctx,
                    triggers=_triggers(stops, ctx),
                )
            )
    if files:
        files.append(
            _task(
                f"resume-{ctx.config_id}",
                "osched catch-up: start jobs whose window is open",
                ctx.resume_argv(),
                ctx,
                boot=True,
            )
        )
    return files
