"""macOS launchd property lists: LaunchAgents (per user), LaunchDaemons with ``--system``.

Labels ``org.osched.<config id>.J.S.start`` / ``.stop`` and ``org.osched.<config id>.resume``
(``RunAtLoad``: the login/boot catch-up).  launchd's ``StartCalendarInterval`` runs in the
host's local time, so the firings come from ``project.host_firings``; a firing missed while
asleep runs on wake.  The plist itself is written by plistlib, which does the escaping.
"""

from __future__ import annotations

from typing import Any

from ..model import Config
from ..project import Firing, host_firings
from ..templating import render as render_template
from .base import File, RenderContext


def intervals(firings: list[Firing]) -> list[dict[str, int]]:
    """launchd weekdays: 0 (or 7) is Sunday, 1 Monday .. 6 Saturday."""
    return [
        {"Weekday": (d + 1) % 7, "Hour": f.hour, "Minute": f.minute}
        for f in firings
        for d in sorted(f.days)
    ]


def _plist(label: str, argv: list[str], ctx: RenderContext, **extra: Any) -> File:
    body: dict[str, Any] = {
        "Label": label,
        "ProgramArguments": argv,
        "ProcessType": "Background",
        **extra,
    }
    return File(f"{label}.plist", render_template("launchd/agent.plist.j2", agent=body))


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
                    StartCalendarInterval=intervals(starts),
                )
            )
            files.append(
                _plist(
                    label(ctx, f"{job.name}.{s.id}.stop"),
                    ctx.stop_argv(job.name, s.id),
                    ctx,
                    StartCalendarInterval=intervals(stops),
                )
            )
    if files:
        files.append(_plist(label(ctx, "resume"), ctx.resume_argv(), ctx, RunAtLoad=True))
    return files
