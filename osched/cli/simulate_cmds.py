"""``osched simulate``: what the rendered artifacts of a target would do over a year."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from .. import views as report
from ..app import App
from ..errors import EXIT_FAILURE, UsageError
from ..parse import zone
from .base import (
    TargetChoice,
    check,
    cli,
    complete_jobs,
    emit,
    json_option,
    pass_app,
    timezone_option,
    with_progress,
)

if TYPE_CHECKING:
    from ..simulate import Result
    from ..targets.base import RenderContext


def _when(text: str, option: str, tz: ZoneInfo, base: datetime | None = None) -> datetime:
    """An ISO date or instant (in ``tz`` unless it has an offset), or (``--to``) a span after
    ``base`` such as ``90d``."""
    from ..parse import split_duration

    seconds = split_duration(text) if base is not None else None
    if seconds is not None and not text.strip().isdigit() and base is not None:
        return base + timedelta(seconds=seconds)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        span = " or a span after --from (90d)" if base is not None else ""
        raise UsageError(
            f"{option}: {text!r} is not an ISO 8601 date or instant (2026-10-01){span}"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=tz)


@cli.command()
@click.argument("job_name", metavar="[JOB]", required=False, shell_complete=complete_jobs)
@click.option(
    "--target",
    type=TargetChoice("auto", first=True, simulated=True),
    default="auto",
    show_default=True,
    help="Whose artifacts to replay (auto: where this config is installed, else what install would choose).",
)
@click.option(
    "--host-timezone",
    metavar="TZ",
    help="The zone the host scheduler runs in (default: the system's, as for render).",
)
@click.option("--from", "start", metavar="WHEN", help="Start: ISO date or instant (default: now).")
@click.option("--to", "end", metavar="WHEN", help="End: ISO date or instant, or a span (default: 366d).")
@click.option(
    "--engine",
    type=click.Choice(["auto", "osched", "systemd-analyze", "launchd-second", "launchd-both"]),
    default="auto",
    show_default=True,
    help="systemd: who computes OnCalendar= elapses (auto: systemd-analyze when installed); "
    "launchd: a repeated wall time fires on its first pass, unless launchd-second or launchd-both.",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Replay a render made now, not the artifacts installed (the default when the target is installed).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Only the windows that open or close late, and the summary."
)
@timezone_option
@json_option
@pass_app
@with_progress
def simulate(
    c: App,
    job_name: str | None,
    target: str,
    host_timezone: str | None,
    start: str | None,
    end: str | None,
    engine: str,
    fresh: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Replay a year of the scheduler's firings through the real start/stop decisions.

    Replays what is installed when the target is installed for this config (the artifacts as
    the install rendered them: its date, its host zone, checked against the manifest), run in
    today's system zone; else, or with --fresh, renders them as install would now.  Works
    out when each line, timer, trigger or interval fires (cron under Debian cron's DST
    rules; systemd by systemd-analyze when installed), runs every firing through the
    entrypoints' decision code, and lists what starts, skips and stops.  Every window that
    would open or close a minute late or more, or never, is flagged; exit 1 when there is
    one.

    \b
    osched simulate --target cron --host-timezone Europe/Berlin --from 2026-10-20 --to 14d
    """
    from ..simulate import as_json as result_json
    from ..simulate import simulate as run

    cfg = c.load()
    if job_name is not None:
        job = c.job(cfg, job_name)
        cfg = type(cfg)(cfg.path, cfg.timezone, {job.name: job})
    if host_timezone is not None:
        check(zone, host_timezone, "--host-timezone")
    ctx = c.render_ctx(host_zone=host_timezone)
    if target == "auto":
        target = _auto_target(c, ctx)
    notes: list[str] = []
    run_zone, artifacts = None, "fresh"
    entry = c.installed().get(target)
    if entry and not fresh and host_timezone is None:
        from ..simulate import installed_context

        then, why = installed_context(c.load_trusted(), target, entry, ctx)
        if then is None:
            notes.append(f"replaying a fresh render, not what is installed: {why} (osched install)")
        else:
            run_zone, ctx, artifacts = ctx.host_zone, then, f"installed {then.now.date().isoformat()}"
    host_tz = ZoneInfo(run_zone) if run_zone else ctx.host_tz
    show_tz = c.view_tz if c.display_zone else host_tz
    a = _when(start, "--from", host_tz) if start else c.now
    b = _when(end, "--to", host_tz, base=a) if end else a + timedelta(days=366)
    if b <= a:
        raise UsageError(f"--to: {end!r} is not after --from")
    if b - a > timedelta(days=800):
        raise UsageError(f"--to: {end!r}: simulate covers at most 800 days")
    try:
        r = run(target, cfg, ctx, a, b, engine, run_zone, notes)
    except ValueError as e:
        raise UsageError(str(e)) from None
    r.artifacts = artifacts
    if as_json:
        emit(result_json(r))
    else:
        _print(r, show_tz, quiet)
    if r.problems:
        sys.exit(EXIT_FAILURE)


def _auto_target(c: App, ctx: RenderContext) -> str:
    from .. import targets
    from ..simulate import simulated

    known = simulated()
    installed = [n for n in c.installed() if n in known]
    if installed:
        return installed[0]
    name = targets.auto(ctx)
    return name if name in known else known[0]


def _print(r: Result, tz: ZoneInfo, quiet: bool) -> None:
    h = report.human
    what = f"{r.target} as {r.artifacts}" if r.artifacts != "fresh" else f"{r.target} rendered now"
    click.echo(
        f"{what}, on a host in {r.host_zone}, {h(r.start, tz)} to {h(r.end, tz)}"
        + (f" (computed by {r.engine})" if r.engine != "osched" else "")
    )
    for note in r.notes:
        click.echo(f"note: {note}")
    if not quiet:
        for d in r.decided:
            f = d.firing
            click.echo(f"{h(f.at, tz)}  {f.job}/{f.schedule}  {f.kind:5}  {d.action:5}  {d.reason}")
    for v in r.problems:
        w = v.window
        what = f"{w.schedule.job}/{w.schedule.id} window {h(w.start, tz)} -> {h(w.end, tz)}"
        if v.late_open:
            late = f"opens {_late(v.opened, w.start)}"
            click.echo(f"LATE  {what}: {late}")
        if v.late_close:
            click.echo(f"LATE  {what}: closes {_late(v.closed, w.end)}")
    counts: dict[tuple[str, str], int] = {}
    for d in r.decided:
        key = (d.firing.kind, d.action)
        counts[key] = counts.get(key, 0) + 1
    starts = sum(n for (k, _), n in counts.items() if k == "start")
    stops = sum(n for (k, _), n in counts.items() if k == "stop")
    click.echo(
        f"{len(r.verdicts)} windows, {len(r.problems)} open or close late or never; "
        f"{starts} start firings ({counts.get(('start', 'start'), 0)} start, "
        f"{counts.get(('start', 'skip'), 0)} skip), {stops} stop firings "
        f"({counts.get(('stop', 'stop'), 0)} stop, {counts.get(('stop', 'skip'), 0)} skip)"
    )


def _late(at: datetime | None, due: datetime) -> str:
    if at is None:
        return "never (no firing acts in the simulated range)"
    minutes = int((at - due).total_seconds() // 60)
    return f"{minutes} min late"
