"""``osched schedule add|set|remove|enable|disable``: round-trip edits of a job's windows,
through ``osched.api``: an installed config is re-synced, and a window that becomes live now
starts the job."""

from __future__ import annotations

from typing import Any

import click

from ..app import App
from ..errors import UsageError
from ..parse import parse_days, parse_duration, parse_seconds, parse_time, zone
from .base import (
    api_for,
    check,
    cli,
    complete_days_param,
    complete_jobs,
    complete_schedules,
    complete_zones_param,
    json_result,
    pass_app,
    record_json,
    result,
)
from .job_cmds import env_pairs


# -- schedule ---------------------------------------------------------------------------------
@cli.group()
def schedule() -> None:
    """Add, change, enable, disable or remove a job's schedules."""


def _schedule_fields(
    start: str | None,
    duration: str | None,
    days: str | None,
    timezone: str | None,
    arg: tuple[str, ...],
    env: tuple[str, ...],
    random_delay: str | None = None,
    wake: bool | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if wake is not None:
        fields["wake"] = wake
    if random_delay is not None:
        check(parse_seconds, random_delay, "--random-delay")
        fields["random_delay"] = random_delay
    if start is not None:
        h, m = check(parse_time, start, "--start")
        fields["start"] = f"{h:02d}:{m:02d}"
    if duration is not None:
        if duration.strip().isdigit():
            raise UsageError(
                f"--duration: {duration!r} has no unit: did you mean {duration}h or {duration}m?"
            )
        check(parse_duration, duration, "--duration")
        fields["duration"] = duration
    if days is not None:
        tokens = [d.strip() for d in days.split(",") if d.strip()]
        check(parse_days, tokens, "--days")
        fields["days"] = tokens
    if timezone is not None:
        check(zone, timezone, "--timezone")
        fields["timezone"] = timezone
    if arg:
        fields["args"] = list(arg)
    if env:
        fields["env"] = env_pairs(env)
    return fields


def _schedule_options(required: bool) -> Any:
    def deco(f: Any) -> Any:
        opts = [
            click.option(
                "--wake/--no-wake",
                default=None,
                help="Wake the machine for the window's start (systemd, Task Scheduler; a note elsewhere).",
            ),
            click.option(
                "--random-delay",
                metavar="D",
                help="Delay each window's start by a random amount up to D (e.g. 10m); the stop still "
                "comes at the window's end.",
            ),
            click.option("--env", multiple=True, metavar="NAME=VALUE", help="Variable for this window."),
            click.option(
                "--arg",
                multiple=True,
                metavar="ARG",
                help="Argument appended to the command (repeat).",
            ),
            click.option(
                "--timezone",
                metavar="TZ",
                help="IANA zone (default: the config's).",
                shell_complete=complete_zones_param,
            ),
            click.option(
                "--days",
                required=required,
                metavar="DAYS",
                help="e.g. mon-fri,sun | daily | weekdays | weekends.",
                shell_complete=complete_days_param,
            ),
            click.option(
                "--duration",
                required=required,
                metavar="D",
                help="e.g. 8h, 90m, 1h30m, 2d (1 minute to 7 days).",
            ),
            click.option("--start", required=required, metavar="HH:MM", help="Wall-clock start in the zone."),
        ]
        for o in opts:
            f = o(f)
        return f

    return deco


@schedule.command("add")
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@_schedule_options(required=True)
@click.option("--id", "sid", metavar="ID", help="Schedule id (default: s1, s2, ...).")
@click.option("--disabled", is_flag=True, help="Add it disabled.")
@click.option("--no-start", is_flag=True, help="Do not start the job now even if the window is open.")
@pass_app
@json_result
def schedule_add(c: App, job_name: str, sid: str | None, disabled: bool, no_start: bool, **opts: Any) -> None:
    """Add a window to JOB: --start HH:MM --duration D --days DAYS.

    If the new window is open now, the job starts at once (unless a stop override is active
    or --no-start is given)."""
    fields = _schedule_fields(**opts)
    s, started = api_for(c).add_schedule(
        job_name,
        **{k: fields.pop(k) for k in ("start", "duration", "days")},
        id=sid,
        enabled=not disabled,
        start_now=not no_start,
        **fields,
    )
    result(job=job_name, schedule=record_json(s), started=started)


@schedule.command("set")
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.argument("sid", metavar="ID", shell_complete=complete_schedules)
@_schedule_options(required=False)
@click.option("--new-id", metavar="ID", help="Rename the schedule.")
@click.option("--unset-env", multiple=True, metavar="NAME", help="Remove a variable.")
@click.option("--clear-args", is_flag=True, help="Remove the schedule's extra arguments.")
@click.option("--no-start", is_flag=True, help="Do not start the job now even if the window is open.")
@pass_app
@json_result
def schedule_set(
    c: App,
    job_name: str,
    sid: str,
    new_id: str | None,
    unset_env: tuple[str, ...],
    clear_args: bool,
    no_start: bool,
    **opts: Any,
) -> None:
    """Change schedule ID of JOB (only the options given); starts the job if the changed
    window is open now (unless --no-start)."""
    fields = _schedule_fields(**opts)
    if clear_args and "args" in fields:
        raise UsageError("--clear-args and --arg do not go together")
    if clear_args:
        fields["args"] = []
    if new_id is not None:
        fields["id"] = new_id
    if unset_env:
        fields["unset_env"] = list(unset_env)
    if not fields:
        raise UsageError("nothing to change: give at least one option")
    s, started = api_for(c).set_schedule(job_name, sid, start_now=not no_start, **fields)
    result(job=job_name, schedule=record_json(s), started=started)


@schedule.command("remove")
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.argument("sid", metavar="ID", shell_complete=complete_schedules)
@pass_app
@json_result
def schedule_remove(c: App, job_name: str, sid: str) -> None:
    """Remove schedule ID from JOB."""
    api_for(c).remove_schedule(job_name, sid)
    result(job=job_name, schedule=sid, removed=True)


@schedule.command("enable")
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.argument("sid", metavar="ID", shell_complete=complete_schedules)
@click.option("--no-start", is_flag=True, help="Do not start the job now even if the window is open.")
@pass_app
@json_result
def schedule_enable(c: App, job_name: str, sid: str, no_start: bool) -> None:
    """Enable schedule ID of JOB; starts the job if its window is open now (unless --no-start)."""
    s, started = api_for(c).enable_schedule(job_name, sid, start_now=not no_start)
    result(job=job_name, schedule=record_json(s), started=started)


@schedule.command("disable")
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.argument("sid", metavar="ID", shell_complete=complete_schedules)
@pass_app
@json_result
def schedule_disable(c: App, job_name: str, sid: str) -> None:
    """Disable schedule ID of JOB (kept in the file, never fires)."""
    s = api_for(c).disable_schedule(job_name, sid)
    result(job=job_name, schedule=record_json(s), started=None)
