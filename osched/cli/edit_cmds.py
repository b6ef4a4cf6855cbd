"""Commands that write the config: ``init``, ``job add|set|remove``,
``schedule add|set|remove|enable|disable``.

Edits are round-trip (comments and layout kept), validated whole and written atomically; an
installed config is re-synced after each edit."""

from __future__ import annotations

import shlex
from typing import Any

import click

from .. import report
from ..app import App
from ..errors import UsageError
from ..model import Config
from ..parse import (
    ENV_NAME_RE,
    parse_days,
    parse_duration,
    parse_id,
    parse_seconds,
    parse_signal,
    parse_time,
    zone,
)
from .base import check, cli, echo_lines, pass_app

# -- init -------------------------------------------------------------------------------------
STARTER = """\
# osched configuration (reference: docs/config.md, or `osched --help`).
#
# Default time zone for every schedule below (IANA name). A schedule may set its own.
timezone = "{zone}"

# A job is a command (an argv list; no shell) that runs only inside its windows.
#
# [jobs.nightly-agent]
# command = ["python3", "-m", "agent", "--project", "demo"]
# workdir = "~/projects/demo"
# env = {{ MODEL = "opus" }}
# stop_signal = "SIGTERM"        # sent to the whole process group at the end of the window
# stop_timeout = "30s"           # then SIGKILL
# restart = {{ retries = 3, backoff = ["10s", "30s", "90s"] }}   # crash restarts per window
#
# [[jobs.nightly-agent.schedules]]
# id = "weeknights"
# start = "22:00"                # wall clock in the schedule's zone
# duration = "8h"                # 1 minute .. 7 days: "90m", "1h30m", or minutes as an integer
# days = ["mon-fri"]             # mon..sun, ranges, "daily", "weekdays", "weekends"
# enabled = true
"""


@cli.command()
@click.option("--timezone", "tz", metavar="TZ", help="Default zone (default: the host's zone).")
@click.option("--force", is_flag=True, help="Overwrite an existing config.")
@pass_app
def init(c: App, tz: str | None, force: bool) -> None:
    """Write a commented starter config."""
    from ..fsutil import atomic_write
    from ..tzhost import host_zone_name

    path = c.config_path
    if path.exists() and not force:
        raise UsageError(f"{path} already exists (use --force to overwrite it)")
    name = tz or host_zone_name()
    check(zone, name, "--timezone")
    atomic_write(path, STARTER.format(zone=name).encode("utf-8"), mode=0o600)
    click.echo(f"Wrote {path} (time zone {name}).")
    click.echo("Next: osched job add NAME -- COMMAND...   then   osched schedule add NAME ...")


def _env_pairs(pairs: tuple[str, ...], option: str = "--env") -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not ENV_NAME_RE.fullmatch(name):
            raise UsageError(f"{option}: expected NAME=VALUE, got {pair!r}")
        out[name] = value
    return out


# -- job --------------------------------------------------------------------------------------
@cli.group()
def job() -> None:
    """Add, change or remove jobs."""


def _job_options(f: Any) -> Any:
    f = click.option("--workdir", metavar="DIR", help="Working directory (~ is expanded).")(f)
    f = click.option("--env", "env", multiple=True, metavar="NAME=VALUE", help="Set a variable.")(f)
    f = click.option("--stop-signal", metavar="SIG", help="Signal at window end (SIGTERM).")(f)
    f = click.option("--stop-timeout", metavar="D", help="Then SIGKILL after D (30s).")(f)
    f = click.option("--retries", type=int, help="Crash restarts per window (3).")(f)
    return click.option("--backoff", metavar="D,D,...", help="Delays between restarts (10s,30s,90s).")(f)


def _job_fields(
    workdir: str | None,
    env: tuple[str, ...],
    stop_signal: str | None,
    stop_timeout: str | None,
    retries: int | None,
    backoff: str | None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"workdir": workdir, "env": _env_pairs(env) or None}
    if stop_signal is not None:
        fields["stop_signal"] = check(parse_signal, stop_signal, "--stop-signal")
    if stop_timeout is not None:
        check(parse_seconds, stop_timeout, "--stop-timeout")
        fields["stop_timeout"] = stop_timeout
    if retries is not None:
        if not 0 <= retries <= 100:
            raise UsageError("--retries: must be from 0 to 100")
        fields["retries"] = retries
    if backoff is not None:
        steps = [b.strip() for b in backoff.split(",") if b.strip()]
        if not steps:
            raise UsageError("--backoff: give at least one delay, e.g. 10s,30s,90s")
        for step in steps:
            check(parse_seconds, step, "--backoff")
        fields["backoff"] = steps
    return fields


@job.command("add")
@click.argument("name")
@click.argument("command", nargs=-1, required=True)
@_job_options
@pass_app
def job_add(c: App, name: str, command: tuple[str, ...], **opts: Any) -> None:
    """Add job NAME that runs COMMAND (put it after --: osched job add agent -- python3 a.py)."""
    from ..edit import edit

    check(lambda v: parse_id(v, "job name"), name, "NAME")
    fields = _job_fields(**opts)
    edit(c.config_path, lambda e: e.add_job(name, list(command), **fields))
    echo_lines(c.resync())
    click.echo(f"Added job {name!r}: {shlex.join(command)}")
    click.echo(f"Next: osched schedule add {name} --start HH:MM --duration 8h --days mon-fri")


@job.command("set")
@click.argument("name")
@click.argument("command", nargs=-1)
@_job_options
@click.option("--unset-env", multiple=True, metavar="NAME", help="Remove a variable.")
@pass_app
def job_set(c: App, name: str, command: tuple[str, ...], unset_env: tuple[str, ...], **opts: Any) -> None:
    """Change job NAME; a COMMAND after -- replaces its command."""
    from ..edit import edit

    fields = _job_fields(**opts)
    if command:
        fields["command"] = list(command)
    if unset_env:
        fields["unset_env"] = list(unset_env)
    if not any(v is not None for v in fields.values()):
        raise UsageError("nothing to change: give an option or a new command after --")
    edit(c.config_path, lambda e: e.set_job(name, **fields))
    echo_lines(c.resync())
    click.echo(f"Updated job {name!r}.")


@job.command("remove")
@click.argument("name")
@pass_app
def job_remove(c: App, name: str) -> None:
    """Remove job NAME and its schedules."""
    from ..edit import edit

    edit(c.config_path, lambda e: e.remove_job(name))
    echo_lines(c.resync())
    click.echo(f"Removed job {name!r}.")


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
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if start is not None:
        h, m = check(parse_time, start, "--start")
        fields["start"] = f"{h:02d}:{m:02d}"
    if duration is not None:
        value: Any = int(duration) if duration.isdigit() else duration
        check(parse_duration, value, "--duration")
        fields["duration"] = value
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
        fields["env"] = _env_pairs(env)
    return fields


def _schedule_options(required: bool) -> Any:
    def deco(f: Any) -> Any:
        opts = [
            click.option("--env", multiple=True, metavar="NAME=VALUE", help="Variable for this window."),
            click.option(
                "--arg",
                multiple=True,
                metavar="ARG",
                help="Argument appended to the command (repeat).",
            ),
            click.option("--timezone", metavar="TZ", help="IANA zone (default: the config's)."),
            click.option(
                "--days",
                required=required,
                metavar="DAYS",
                help="e.g. mon-fri,sun | daily | weekdays | weekends.",
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
@click.argument("job_name", metavar="JOB")
@_schedule_options(required=True)
@click.option("--id", "sid", metavar="ID", help="Schedule id (default: s1, s2, ...).")
@click.option("--disabled", is_flag=True, help="Add it disabled.")
@click.option("--no-start", is_flag=True, help="Do not start the job now even if the window is open.")
@pass_app
def schedule_add(c: App, job_name: str, sid: str | None, disabled: bool, no_start: bool, **opts: Any) -> None:
    """Add a window to JOB: --start HH:MM --duration D --days DAYS.

    If the new window is open now, the job starts at once (unless a stop override is active
    or --no-start is given)."""
    from ..edit import edit

    fields = _schedule_fields(**opts)
    if sid is not None:
        fields["id"] = check(lambda v: parse_id(v, "schedule id"), sid, "--id")
    if disabled:
        fields["enabled"] = False
    cfg, new_id = edit(c.config_path, lambda e: e.add_schedule(job_name, fields))
    echo_lines(c.resync())
    _echo_schedule(c, cfg, job_name, new_id, "Added")
    if not no_start:
        echo_lines([m for m in [c.live_start(cfg, job_name, new_id)] if m])


def _echo_schedule(c: App, cfg: Config, job_name: str, sid: str, verb: str) -> None:
    from ..windows import current_window, next_window

    s = c.job(cfg, job_name).schedule(sid)
    assert s is not None
    click.echo(f"{verb} schedule {job_name}/{report.describe_schedule(s)}")
    if s.enabled:
        tz = c.host_tz
        w = current_window(s, c.now)
        if w is not None:
            click.echo(f"Its window is open now, until {report.human(w.end, tz)}.")
        else:
            click.echo(f"Next window: {report.human(next_window(s, c.now).start, tz)}.")


@schedule.command("set")
@click.argument("job_name", metavar="JOB")
@click.argument("sid", metavar="ID")
@_schedule_options(required=False)
@click.option("--new-id", metavar="ID", help="Rename the schedule.")
@click.option("--unset-env", multiple=True, metavar="NAME", help="Remove a variable.")
@click.option("--clear-args", is_flag=True, help="Remove the schedule's extra arguments.")
@click.option("--no-start", is_flag=True, help="Do not start the job now even if the window is open.")
@pass_app
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
    from ..edit import edit

    fields = _schedule_fields(**opts)
    if clear_args and "args" in fields:
        raise UsageError("--clear-args and --arg do not go together")
    if clear_args:
        fields["args"] = []
    if new_id is not None:
        fields["id"] = check(lambda v: parse_id(v, "schedule id"), new_id, "--new-id")
    if unset_env:
        fields["unset_env"] = list(unset_env)
    if not fields:
        raise UsageError("nothing to change: give at least one option")
    cfg, _ = edit(c.config_path, lambda e: e.set_schedule(job_name, sid, fields))
    echo_lines(c.resync())
    _echo_schedule(c, cfg, job_name, fields.get("id", sid), "Updated")
    if not no_start:
        echo_lines([m for m in [c.live_start(cfg, job_name, fields.get("id", sid))] if m])


@schedule.command("remove")
@click.argument("job_name", metavar="JOB")
@click.argument("sid", metavar="ID")
@pass_app
def schedule_remove(c: App, job_name: str, sid: str) -> None:
    """Remove schedule ID from JOB."""
    from ..edit import edit

    edit(c.config_path, lambda e: e.remove_schedule(job_name, sid))
    echo_lines(c.resync())
    click.echo(f"Removed schedule {job_name}/{sid}.")


def _toggle(c: App, job_name: str, sid: str, enabled: bool, no_start: bool = True) -> None:
    from ..edit import edit

    cfg, _ = edit(c.config_path, lambda e: e.set_schedule(job_name, sid, {"enabled": enabled}))
    echo_lines(c.resync())
    _echo_schedule(c, cfg, job_name, sid, "Enabled" if enabled else "Disabled")
    if not no_start:
        echo_lines([m for m in [c.live_start(cfg, job_name, sid)] if m])


@schedule.command("enable")
@click.argument("job_name", metavar="JOB")
@click.argument("sid", metavar="ID")
@click.option("--no-start", is_flag=True, help="Do not start the job now even if the window is open.")
@pass_app
def schedule_enable(c: App, job_name: str, sid: str, no_start: bool) -> None:
    """Enable schedule ID of JOB; starts the job if its window is open now (unless --no-start)."""
    _toggle(c, job_name, sid, True, no_start)


@schedule.command("disable")
@click.argument("job_name", metavar="JOB")
@click.argument("sid", metavar="ID")
@pass_app
def schedule_disable(c: App, job_name: str, sid: str) -> None:
    """Disable schedule ID of JOB (kept in the file, never fires)."""
    _toggle(c, job_name, sid, False)
