"""``osched skip`` and ``osched window add|list|remove``: dates beside weekdays (blackout
dates and one-off windows, docs/windows.md)."""

from __future__ import annotations

import click

from .. import views as report
from ..app import App
from ..errors import UsageError
from .base import (
    api_for,
    cli,
    complete_jobs,
    complete_zones_param,
    emit,
    json_option,
    json_result,
    pass_app,
    record_json,
    result,
)


@cli.command()
@click.argument("job_name", metavar="JOB|list", shell_complete=complete_jobs)
@click.argument("items", metavar="DATE|RANGE...", nargs=-1)
@click.option("--schedule", "sid", metavar="ID", help="The schedule's skip list (default: the job's).")
@click.option("--remove", is_flag=True, help="Remove the dates or ranges (as written) instead.")
@json_option
@pass_app
def skip(c: App, job_name: str, items: tuple[str, ...], sid: str | None, remove: bool, as_json: bool) -> None:
    """Skip windows that start on DATE (2026-12-24) or in RANGE (2026-12-24..2027-01-01).

    Dates are the schedule's own zone's; a window already open when a skipped date begins runs
    to its end.  ``osched skip list`` lists every skipped date and holiday region."""
    if job_name == "list" and not items:
        _list_skips(c, as_json)
        return
    if not items:
        raise UsageError("give at least one DATE or RANGE (or: osched skip list)")
    messages: list[str] = []
    tell = messages.append if as_json else click.echo
    o = api_for(c, tell)
    out = o.unskip(job_name, *items, schedule=sid) if remove else o.skip(job_name, *items, schedule=sid)
    if as_json:
        changed = {"removed" if remove else "added": list(out.changed)}
        emit({"job": job_name, "schedule": sid, **changed, "skip": list(out.skip), "messages": messages})


def _list_skips(c: App, as_json: bool) -> None:
    cfg = c.load()
    found: list[tuple[str, str | None, tuple[str, ...], str | None]] = []
    for job in cfg.jobs.values():
        if job.skip_items or job.holidays:
            found.append((job.name, None, job.skip_items, job.holidays))
        for s in job.schedules:
            if s.skip_items or (s.holidays and s.holidays != job.holidays):
                found.append((job.name, s.id, s.skip_items, s.holidays))
    if as_json:
        keys = ("job", "schedule", "skip", "holidays")
        emit({"skips": [dict(zip(keys, (j, s, list(i), h), strict=True)) for j, s, i, h in found]})
        return
    lines = [f"{j}{'/' + s if s else ''}: {_what(i, h)}" for j, s, i, h in found]
    click.echo("\n".join(lines) if lines else "No skipped dates.")


def _what(items: tuple[str, ...], region: str | None) -> str:
    parts = list(items) + ([f"public holidays in {region}"] if region else [])
    return ", ".join(parts)


@cli.group()
def window() -> None:
    """Add, list or remove one-off windows (a date and time, not a weekday)."""


@window.command("add")
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.option(
    "--at", "at", required=True, metavar="YYYY-MM-DDTHH:MM", help="Its start, wall time in the zone."
)
@click.option("--duration", required=True, metavar="D", help="e.g. 4h, 90m.")
@click.option(
    "--timezone", metavar="TZ", help="IANA zone (default: the config's).", shell_complete=complete_zones_param
)
@click.option("--id", "wid", metavar="ID", help="Its id (default: once-YYYYMMDD-HHMM).")
@click.option("--no-start", is_flag=True, help="Do not start the job now even if the window is open.")
@pass_app
@json_result
def window_add(
    c: App, job_name: str, at: str, duration: str, timezone: str | None, wid: str | None, no_start: bool
) -> None:
    """Add a one-off window to JOB: --at 2026-12-05T02:00 --duration 4h.

    It behaves as any window (overrides, crash restarts, next, status, simulate); if it is
    open now the job starts at once (unless --no-start)."""
    s, started = api_for(c).add_window(
        job_name, start=at, duration=duration, timezone=timezone, id=wid, start_now=not no_start
    )
    result(job=job_name, window=record_json(s), started=started)


@window.command("list")
@click.argument("job_name", metavar="[JOB]", required=False, shell_complete=complete_jobs)
@json_option
@pass_app
def window_list(c: App, job_name: str | None, as_json: bool) -> None:
    """The one-off windows (of JOB, or of every job), with their instants."""
    from ..windows import window_on

    cfg = c.load()
    jobs = [c.job(cfg, job_name)] if job_name else list(cfg.jobs.values())
    lines = []
    shapes = []
    for job in jobs:
        for s in job.schedules:
            if s.on is None:
                continue
            w = window_on(s, s.on)
            shapes.append(
                {
                    "job": job.name,
                    "id": s.id,
                    "date": s.on.isoformat(),
                    "start": report.local_iso(w.start, c.view_tz) if w else None,
                    "end": report.local_iso(w.end, c.view_tz) if w else None,
                    "schedule_timezone": s.timezone,
                    "enabled": s.enabled,
                    "over": w is None or w.end <= c.now,
                }
            )
            when = (
                f"{report.human(w.start, c.view_tz)} -> {report.human(w.end, c.view_tz)}" if w else "skipped"
            )
            over = "  [over]" if w is not None and w.end <= c.now else ""
            lines.append(f"{job.name}/{report.describe_schedule(s)}  {when}{over}")
    if as_json:
        emit({"timezone": c.view_tz.key, "windows": shapes})
        return
    click.echo("\n".join(lines) if lines else "No one-off windows.")


@window.command("remove")
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.argument("wid", metavar="ID")
@pass_app
@json_result
def window_remove(c: App, job_name: str, wid: str) -> None:
    """Remove one-off window ID from JOB."""
    api_for(c).remove_window(job_name, wid)
    result(job=job_name, window=wid, removed=True)
