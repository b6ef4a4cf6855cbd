"""macOS launchd property lists: LaunchAgents (per user), LaunchDaemons with ``--system``.

Labels ``org.osched.<config id>.J.S.start`` / ``.stop`` and ``org.osched.<config id>.resume``
(``RunAtLoad``: the login/boot catch-up).  launchd's ``StartCalendarInterval`` runs in the
host's local time, so the firings come from ``project.host_firings``; a firing missed while
asleep runs on wake.  The template writes exactly what plistlib would (the tests compare),
with plistlib's escaping (``plist_string``).
"""

from __future__ import annotations

from ..model import Config
from ..project import Firing, host_firings
from ..templating import render as render_template
from .base import File, RenderContext


def intervals(firings: list[Firing]) -> list[tuple[int, int, int]]:
    """(Weekday, Hour, Minute) integers; launchd weekdays: 0 is Sunday, 1 Monday .. 6 Saturday."""
    return [((d + 1) % 7, f.hour, f.minute) for f in firings for d in sorted(f.days)]


def _plist(
    label: str,
    argv: list[str],
    ctx: RenderContext,
    intervals: list[tuple[int, int, int]] | None = None,
    run_at_load: bool = False,
) -> File:
    text = render_template(
        "launchd/agent.plist.j2", label=label, argv=argv, intervals=intervals or [], run_at_load=run_at_load
    )
    return File(f"{label}.plist", text)


def label(ctx: RenderContext, rest: str) -> str:
    return f"org.osched.{ctx.config_id}.{rest}"


def render(cfg: Config, ctx: RenderContext) -> list[File]:
    files: list[File] = []
    for job in cfg.jobs.values():
        for s in job.enabled_schedules:
            starts, stops = host_firings(s, ctx.host_tz, ctx.now)
            files.append(
                _plist(
                    label(ctx, f"{job.name}.{s.id}.start"),
                    ctx.start_argv(job.name, s.id),
                    ctx,
                    intervals=intervals(starts),
                )
            )
            files.append(
                _plist(
                    label(ctx, f"{job.name}.{s.id}.stop"),
                    ctx.stop_argv(job.name, s.id),
                    ctx,
                    intervals=intervals(stops),
                )
            )
    if files:
        files.append(_plist(label(ctx, "resume"), ctx.resume_argv(), ctx, run_at_load=True))
    return files
