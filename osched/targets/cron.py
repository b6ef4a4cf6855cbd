"""crontab lines (user crontab) or an ``/etc/cron.d`` file (``--system``).

Cron runs in the host's zone (Debian's cron has no CRON_TZ), so the firings come from
``project.host_firings``.  Each line ends in a marker comment
``osched:<config id>:<job>.<schedule>:<start|stop>`` (``osched:<config id>:resume`` for the
``@reboot`` catch-up): install and uninstall find osched's lines by it, never by command text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..model import Config
from ..project import Firing, host_firings
from ..templating import render as render_template
from .base import File, RenderContext


@dataclass(frozen=True, slots=True)
class Line:
    when: str
    argv: list[str]
    marker: str


@lru_cache(maxsize=256)
def dow_field(days: frozenset[int]) -> str:
    """Monday=0 weekdays -> cron's day-of-week field (Sunday=0), with ranges."""
    if len(days) == 7:
        return "*"
    cron_days = sorted((d + 1) % 7 for d in days)
    parts: list[str] = []
    run: list[int] = []
    for d in [*cron_days, 99]:
        if run and d == run[-1] + 1:
            run.append(d)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)))
        run = [d]
    return ",".join(parts)


def when(f: Firing) -> str:
    return f"{f.minute} {f.hour} * * {dow_field(f.days)}"


def marker(ctx: RenderContext, job: str, schedule: str, kind: str) -> str:
    return f"osched:{ctx.config_id}:{job}.{schedule}:{kind}"


def lines(cfg: Config, ctx: RenderContext) -> list[Line]:
    out: list[Line] = []
    host = ctx.host_tz
    for job in cfg.jobs.values():
        for s in job.enabled_schedules:
            starts, stops = host_firings(s, host, ctx.now)
            out.extend(
                Line(when(f), ctx.start_argv(job.name, s.id), marker(ctx, job.name, s.id, "start"))
                for f in starts
            )
            out.extend(
                Line(when(f), ctx.stop_argv(job.name, s.id), marker(ctx, job.name, s.id, "stop"))
                for f in stops
            )
    if out:
        out.append(Line("@reboot", ctx.resume_argv(), f"osched:{ctx.config_id}:resume"))
    return out


def render(cfg: Config, ctx: RenderContext) -> list[File]:
    rows = lines(cfg, ctx)
    if ctx.system:
        text = render_template(
            "cron/cron.d.j2", lines=rows, user=ctx.user, config=str(ctx.config_path), cid=ctx.config_id
        )
        return [File(f"osched-{ctx.config_id}", text)]
    return [File("crontab", render_template("cron/crontab.j2", lines=rows))]
