"""The ``osched`` command line: a thin click layer over the library modules.

Every library error is an ``OschedError``; ``main()`` prints it as one line on stderr
(``Error: ...``) and exits with its code (0 ok, 1 runtime failure, 2 usage/config error).
``--debug`` shows the traceback.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click

from . import __version__, paths, report
from . import config as config_mod
from .errors import EXIT_FAILURE, EXIT_USAGE, OschedError, UsageError
from .model import Config, Job
from .parse import (
    ENV_NAME_RE,
    format_days,
    parse_days,
    parse_duration,
    parse_id,
    parse_seconds,
    parse_signal,
    parse_time,
    zone,
)

NOW_ENV = "OSCHED_NOW"


@dataclass
class Ctx:
    config_flag: str | None = None
    state_flag: str | None = None
    debug: bool = False
    _now: datetime | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return paths.config_path(self.config_flag)

    @property
    def state_dir(self) -> Path:
        return paths.state_dir(self.state_flag)

    @property
    def state(self) -> Any:
        from .state import StateDir

        return StateDir(self.state_dir)

    def load(self) -> Config:
        return config_mod.load(self.config_path)

    def job(self, cfg: Config, name: str) -> Job:
        job = cfg.job(name)
        if job is None:
            known = ", ".join(cfg.jobs) or "none"
            raise UsageError(f"no job named {name!r} in {cfg.path} (jobs: {known})")
        return job

    @property
    def now(self) -> datetime:
        if self._now is None:
            raw = os.environ.get(NOW_ENV)
            if raw:
                try:
                    t = datetime.fromisoformat(raw)
                except ValueError:
                    raise UsageError(f"{NOW_ENV}={raw!r} is not an ISO 8601 instant") from None
                if t.tzinfo is None:
                    raise UsageError(f"{NOW_ENV}={raw!r} needs a UTC offset, e.g. +00:00")
                self._now = t.astimezone(UTC)
            else:
                self._now = datetime.now(UTC)
        return self._now

    @property
    def host_tz(self) -> ZoneInfo:
        from .tzhost import host_zone_name

        return zone(host_zone_name())


pass_ctx = click.make_pass_decorator(Ctx)


class OschedGroup(click.Group):
    """A group whose errors are one line on stderr."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        argv = kwargs.get("args")
        debug = "--debug" in (sys.argv[1:] if argv is None else argv)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(EXIT_FAILURE)
        except click.ClickException as e:
            _fail(e.format_message(), e.exit_code, debug)
        except OschedError as e:
            _fail(str(e), e.exit_code, debug)
        except OSError as e:
            _fail(f"{e.filename or ''}{': ' if e.filename else ''}{e.strerror or e}", 1, debug)
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


def _fail(message: str, code: int, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exc()
    message = " ".join(message.split("\n")).strip()
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/json.md).")


@click.group(cls=OschedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_flag",
    metavar="PATH",
    help="Config file (default: $OSCHED_CONFIG, else the user config dir's osched/osched.toml).",
)
@click.option(
    "--state-dir",
    "state_flag",
    metavar="PATH",
    help="State dir (default: $OSCHED_STATE_DIR, else the user state dir's osched/).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(__version__, prog_name="osched")
@click.pass_context
def cli(ctx: click.Context, config_flag: str | None, state_flag: str | None, debug: bool) -> None:
    """Run long jobs only inside time windows, timed by the OS scheduler.

    Schedules live in a TOML file; osched renders them for cron, systemd, Windows Task
    Scheduler or launchd.  Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
    """
    ctx.obj = Ctx(config_flag=config_flag, state_flag=state_flag, debug=debug)


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
@pass_ctx
def init(c: Ctx, tz: str | None, force: bool) -> None:
    """Write a commented starter config."""
    from .fsutil import atomic_write
    from .tzhost import host_zone_name

    path = c.config_path
    if path.exists() and not force:
        raise UsageError(f"{path} already exists (use --force to overwrite it)")
    name = tz or host_zone_name()
    _check(zone, name, "--timezone")
    atomic_write(path, STARTER.format(zone=name).encode("utf-8"), mode=0o600)
    click.echo(f"Wrote {path} (time zone {name}).")
    click.echo("Next: osched job add NAME -- COMMAND...   then   osched schedule add NAME ...")


def _check(func: Any, value: Any, option: str) -> Any:
    try:
        return func(value)
    except ValueError as e:
        raise UsageError(f"{option}: {e}") from None


def _env_pairs(pairs: tuple[str, ...], option: str = "--env") -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not ENV_NAME_RE.match(name):
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
        fields["stop_signal"] = _check(parse_signal, stop_signal, "--stop-signal")
    if stop_timeout is not None:
        _check(parse_seconds, stop_timeout, "--stop-timeout")
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
            _check(parse_seconds, step, "--backoff")
        fields["backoff"] = steps
    return fields


@job.command("add")
@click.argument("name")
@click.argument("command", nargs=-1, required=True)
@_job_options
@pass_ctx
def job_add(c: Ctx, name: str, command: tuple[str, ...], **opts: Any) -> None:
    """Add job NAME that runs COMMAND (put it after --: osched job add agent -- python3 a.py)."""
    from .edit import edit

    _check(lambda v: parse_id(v, "job name"), name, "NAME")
    fields = _job_fields(**opts)
    edit(c.config_path, lambda e: e.add_job(name, list(command), **fields))
    _resync(c)
    click.echo(f"Added job {name!r}: {shlex.join(command)}")
    click.echo(f"Next: osched schedule add {name} --start HH:MM --duration 8h --days mon-fri")


@job.command("set")
@click.argument("name")
@click.argument("command", nargs=-1)
@_job_options
@click.option("--unset-env", multiple=True, metavar="NAME", help="Remove a variable.")
@pass_ctx
def job_set(c: Ctx, name: str, command: tuple[str, ...], unset_env: tuple[str, ...], **opts: Any) -> None:
    """Change job NAME; a COMMAND after -- replaces its command."""
    from .edit import edit

    fields = _job_fields(**opts)
    if command:
        fields["command"] = list(command)
    if unset_env:
        fields["unset_env"] = list(unset_env)
    if not any(v is not None for v in fields.values()):
        raise UsageError("nothing to change: give an option or a new command after --")
    edit(c.config_path, lambda e: e.set_job(name, **fields))
    _resync(c)
    click.echo(f"Updated job {name!r}.")


@job.command("remove")
@click.argument("name")
@pass_ctx
def job_remove(c: Ctx, name: str) -> None:
    """Remove job NAME and its schedules."""
    from .edit import edit

    edit(c.config_path, lambda e: e.remove_job(name))
    _resync(c)
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
        h, m = _check(parse_time, start, "--start")
        fields["start"] = f"{h:02d}:{m:02d}"
    if duration is not None:
        value: Any = int(duration) if duration.isdigit() else duration
        _check(parse_duration, value, "--duration")
        fields["duration"] = value
    if days is not None:
        tokens = [d.strip() for d in days.split(",") if d.strip()]
        _check(parse_days, tokens, "--days")
        fields["days"] = tokens
    if timezone is not None:
        _check(zone, timezone, "--timezone")
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
@pass_ctx
def schedule_add(c: Ctx, job_name: str, sid: str | None, disabled: bool, no_start: bool, **opts: Any) -> None:
    """Add a window to JOB: --start HH:MM --duration D --days DAYS.

    If the new window is open now, the job starts at once (unless a stop override is active
    or --no-start is given)."""
    from .edit import edit

    fields = _schedule_fields(**opts)
    if sid is not None:
        fields["id"] = _check(lambda v: parse_id(v, "schedule id"), sid, "--id")
    if disabled:
        fields["enabled"] = False
    cfg, new_id = edit(c.config_path, lambda e: e.add_schedule(job_name, fields))
    _resync(c)
    _echo_schedule(c, cfg, job_name, new_id, "Added")
    _live_start(c, cfg, job_name, new_id, no_start)


def _echo_schedule(c: Ctx, cfg: Config, job_name: str, sid: str, verb: str) -> None:
    from .windows import current_window, next_window

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
@pass_ctx
def schedule_set(
    c: Ctx,
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
    from .edit import edit

    fields = _schedule_fields(**opts)
    if clear_args and "args" in fields:
        raise UsageError("--clear-args and --arg do not go together")
    if clear_args:
        fields["args"] = []
    if new_id is not None:
        fields["id"] = _check(lambda v: parse_id(v, "schedule id"), new_id, "--new-id")
    if unset_env:
        fields["unset_env"] = list(unset_env)
    if not fields:
        raise UsageError("nothing to change: give at least one option")
    cfg, _ = edit(c.config_path, lambda e: e.set_schedule(job_name, sid, fields))
    _resync(c)
    _echo_schedule(c, cfg, job_name, fields.get("id", sid), "Updated")
    _live_start(c, cfg, job_name, fields.get("id", sid), no_start)


@schedule.command("remove")
@click.argument("job_name", metavar="JOB")
@click.argument("sid", metavar="ID")
@pass_ctx
def schedule_remove(c: Ctx, job_name: str, sid: str) -> None:
    """Remove schedule ID from JOB."""
    from .edit import edit

    edit(c.config_path, lambda e: e.remove_schedule(job_name, sid))
    _resync(c)
    click.echo(f"Removed schedule {job_name}/{sid}.")


def _toggle(c: Ctx, job_name: str, sid: str, enabled: bool, no_start: bool = True) -> None:
    from .edit import edit

    cfg, _ = edit(c.config_path, lambda e: e.set_schedule(job_name, sid, {"enabled": enabled}))
    _resync(c)
    _echo_schedule(c, cfg, job_name, sid, "Enabled" if enabled else "Disabled")
    _live_start(c, cfg, job_name, sid, no_start)


@schedule.command("enable")
@click.argument("job_name", metavar="JOB")
@click.argument("sid", metavar="ID")
@click.option("--no-start", is_flag=True, help="Do not start the job now even if the window is open.")
@pass_ctx
def schedule_enable(c: Ctx, job_name: str, sid: str, no_start: bool) -> None:
    """Enable schedule ID of JOB; starts the job if its window is open now (unless --no-start)."""
    _toggle(c, job_name, sid, True, no_start)


@schedule.command("disable")
@click.argument("job_name", metavar="JOB")
@click.argument("sid", metavar="ID")
@pass_ctx
def schedule_disable(c: Ctx, job_name: str, sid: str) -> None:
    """Disable schedule ID of JOB (kept in the file, never fires)."""
    _toggle(c, job_name, sid, False)


# -- read commands ----------------------------------------------------------------------------
@cli.command("list")
@json_option
@pass_ctx
def list_cmd(c: Ctx, as_json: bool) -> None:
    """List jobs and their schedules."""
    cfg = c.load()
    if as_json:
        _emit(
            {
                "config": str(cfg.path),
                "timezone": cfg.timezone,
                "jobs": [report.job_dict(j) for j in cfg.jobs.values()],
            }
        )
    else:
        click.echo(report.list_text(cfg))


@cli.command()
@click.argument("job_name", metavar="JOB")
@json_option
@pass_ctx
def show(c: Ctx, job_name: str, as_json: bool) -> None:
    """Show one job: command, settings, schedules and where it stands now."""
    cfg = c.load()
    job_ = c.job(cfg, job_name)
    tz = c.host_tz
    rt = report.runtime_dict(c.state, job_.name, c.now, tz)
    if as_json:
        _emit({**report.job_dict(job_), "status": {**report.status_dict(job_, c.now, tz), **rt}})
    else:
        click.echo(report.show_text(job_, c.now, tz))
        click.echo(f"process:      {report.runtime_text(rt, tz)}")


@cli.command()
@click.argument("job_name", metavar="[JOB]", required=False)
@json_option
@pass_ctx
def status(c: Ctx, job_name: str | None, as_json: bool) -> None:
    """Per job: in a window or not, active schedules, window end, next start, process (pid,
    since), overrides and crash restarts."""
    cfg = c.load()
    jobs = [c.job(cfg, job_name)] if job_name else list(cfg.jobs.values())
    tz = c.host_tz
    state = c.state
    installed = _installed(c, cfg.path)
    if as_json:
        _emit(
            {
                "now": report.iso(c.now, tz),
                "timezone": tz.key,
                "installed": installed,
                "jobs": [
                    {**report.status_dict(j, c.now, tz), **report.runtime_dict(state, j.name, c.now, tz)}
                    for j in jobs
                ],
            }
        )
        return
    if not jobs:
        click.echo(f"No jobs in {cfg.path}.")
    for j in jobs:
        rt = report.runtime_dict(state, j.name, c.now, tz)
        click.echo(f"{report.status_line(j, c.now, tz)}\n  {report.runtime_text(rt, tz)}")
    if not installed:
        click.echo("Not installed in any scheduler (osched install).")
    for inst_ in installed:
        drift = "; ".join(inst_["drift"]) or "matches what was installed"
        click.echo(f"Installed: {inst_['target']} in {inst_['location']}: {drift}")


def _installed(c: Ctx, cfg_path: Path) -> list[dict[str, Any]]:
    """Where this config is installed, and any drift since."""
    from . import install as inst

    ctx = _render_ctx(c, cfg_path, False)
    out = []
    for name, entry in inst.installed_targets(c.state_dir, ctx.config_id).items():
        system = bool(entry.get("system"))
        out.append(
            {
                "target": name,
                "system": system,
                "location": entry.get("location"),
                "installed_at": entry.get("installed_at"),
                "artifacts": len(entry.get("artifacts", [])),
                "drift": inst.drift(name, entry, _render_ctx(c, cfg_path, system), cfg_path),
            }
        )
    return out


@cli.command("next")
@click.argument("job_name", metavar="[JOB]", required=False)
@click.option("--count", "-n", default=10, show_default=True, help="How many windows.")
@json_option
@pass_ctx
def next_cmd(c: Ctx, job_name: str | None, count: int, as_json: bool) -> None:
    """Upcoming windows (start and end), in the host's zone."""
    if count < 1:
        raise UsageError("--count must be at least 1")
    cfg = c.load()
    job_ = c.job(cfg, job_name) if job_name else None
    tz = c.host_tz
    windows = report.next_windows(cfg, job_, c.now, count)
    if as_json:
        _emit(
            {
                "now": report.iso(c.now, tz),
                "timezone": tz.key,
                "windows": [report.window_dict(w, tz) for w in windows],
            }
        )
    else:
        click.echo(report.next_text(windows, tz))


@cli.command()
@click.argument("job_name", metavar="[JOB]", required=False)
@json_option
@pass_ctx
def calendar(c: Ctx, job_name: str | None, as_json: bool) -> None:
    """This week as a grid (7 days x 24 hours) in the host's zone; overlaps are marked."""
    cfg = c.load()
    jobs = [c.job(cfg, job_name)] if job_name else list(cfg.jobs.values())
    schedules = [s for j in jobs for s in j.enabled_schedules]
    tz = c.host_tz
    week_start, grid = report.week_grid(schedules, c.now, tz)
    if as_json:
        from datetime import timedelta

        _emit(
            {
                "timezone": tz.key,
                "week_start": report.iso(week_start, tz),
                "days": [
                    {
                        "date": (week_start + timedelta(days=d)).date().isoformat(),
                        "hours": row,
                    }
                    for d, row in enumerate(grid)
                ],
            }
        )
    else:
        click.echo(report.calendar_text(week_start, grid, tz))


# -- runtime: manual control, overrides, events, logs ---------------------------------------------
def _run_entry(c: Ctx, kind: str, *args: str) -> str:
    """Run ``python -m osched.entry KIND ARGS`` (the same code the OS timers run) and return
    its message; a failure becomes an error with the entrypoint's own words."""
    import subprocess

    argv = [sys.executable, "-m", "osched.entry", kind, *args]
    argv += ["--config", str(c.config_path), "--state-dir", str(c.state_dir), "-v"]
    r = subprocess.run(argv, capture_output=True, text=True, check=False)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        lines = [ln for ln in out.splitlines() if ln.strip()]
        msg = lines[-1] if lines else f"{kind} failed (exit {r.returncode})"
        err = OschedError(msg.removeprefix("Error: "))
        err.exit_code = r.returncode
        raise err
    return out


def _live_start(c: Ctx, cfg: Config, job_name: str, sid: str, no_start: bool) -> None:
    """A schedule that becomes live inside its window starts the job at once."""
    from . import install as inst
    from .windows import current_window

    s = c.job(cfg, job_name).schedule(sid)
    if no_start or s is None or not s.enabled or current_window(s, c.now) is None:
        return
    systemd = inst.installed_targets(c.state_dir, _render_ctx(c, cfg.path, False).config_id).get("systemd")
    if systemd is not None:  # the job belongs inside its service unit
        sc = inst.systemctl(bool(systemd.get("system")))
        unit = f"osched-{job_name}.{sid}.service"
        inst.must([*sc, "start", "--no-block", unit])
        click.echo(f"{job_name}: started {unit}")
        return
    click.echo(_run_entry(c, "start", job_name, "--schedule", sid))


def _parse_when(c: Ctx, text: str) -> datetime:
    """--until: a delay ('2h', '90m'), a wall time in the host zone ('23:30', the next one),
    or an ISO 8601 instant ('2026-11-27T06:00', host zone unless it has an offset)."""
    from datetime import timedelta

    from .parse import _split_duration

    tz = c.host_tz
    seconds = _split_duration(text)
    if seconds is not None and not text.strip().isdigit():
        t = c.now + timedelta(seconds=seconds)
    else:
        try:
            h, m = parse_time(text)
        except ValueError:
            try:
                t = datetime.fromisoformat(text)
            except ValueError:
                raise UsageError(
                    f"--until: {text!r} is not a delay (2h, 90m), a time (23:30) or an ISO 8601 instant"
                ) from None
            t = t if t.tzinfo else t.replace(tzinfo=tz)
        else:
            local = c.now.astimezone(tz)
            t = local.replace(hour=h, minute=m, second=0, microsecond=0)
            if t <= local:
                t = (local + timedelta(days=1)).replace(hour=h, minute=m, second=0, microsecond=0)
                t = t.replace(tzinfo=None).replace(tzinfo=tz)
    if t <= c.now:
        raise UsageError(f"--until: {text!r} is not in the future")
    return t.astimezone(UTC)


@cli.command()
@click.argument("job_name", metavar="JOB")
@click.option("--until", "until", metavar="WHEN", help="Keep it running until WHEN: 2h, 23:30, or ISO 8601.")
@pass_ctx
def start(c: Ctx, job_name: str, until: str | None) -> None:
    """Start JOB now, whatever its windows say.

    Writes a start override until the end of the open window(s) (or --until; with no window
    open, until the next window starts), so no scheduled stop ends it before.  Clears a stop
    override.  Runs again a job that finished or gave up in this window."""
    from .windows import job_times

    cfg = c.load()
    job_ = c.job(cfg, job_name)
    if until is not None:
        t = _parse_when(c, until)
    else:
        times = job_times(job_, c.now)
        t_opt = times.next_end or times.next_start
        if t_opt is None:
            raise UsageError(f"job {job_name!r} has no enabled schedule: give --until WHEN")
        t = t_opt
    click.echo(_run_entry(c, "start", job_name, "--manual", "--until", t.isoformat()))


@cli.command()
@click.argument("job_name", metavar="JOB")
@click.option("--until", "until", metavar="WHEN", help="Keep it stopped until WHEN: 2h, 23:30, or ISO 8601.")
@pass_ctx
def stop(c: Ctx, job_name: str, until: str | None) -> None:
    """Stop JOB now (stop_signal to its process group, SIGKILL after stop_timeout).

    Writes a stop override until the end of the open window(s) (or --until), so no timer,
    catch-up or crash restart starts it again before.  Clears a start override."""
    from .runtime import Runtime
    from .windows import job_times

    cfg = c.load()
    job_ = c.job(cfg, job_name)
    t = _parse_when(c, until) if until is not None else job_times(job_, c.now).next_end
    out = Runtime(cfg, c.state).manual_stop(job_name, t)
    click.echo(out.message)


@cli.group()
def override() -> None:
    """List or clear the start/stop overrides that manual start and stop write."""


@override.command("list")
@click.argument("job_name", metavar="[JOB]", required=False)
@json_option
@pass_ctx
def override_list(c: Ctx, job_name: str | None, as_json: bool) -> None:
    """Overrides in force (expired ones are not shown)."""
    state = c.state
    names = [job_name] if job_name else sorted(set(state.jobs_with_state()))
    tz = c.host_tz
    rows = []
    for name in names:
        for kind in ("start", "stop"):
            ov = state.read_override(name, kind)
            if ov is not None and ov.expires is not None and ov.expires > c.now:
                rows.append({"job": name, **ov.as_dict()})
    if as_json:
        _emit(
            {
                "overrides": [
                    {
                        **r,
                        "created": report.iso(datetime.fromisoformat(r["created"]), tz)
                        if r["created"]
                        else None,
                        "expires": report.iso(datetime.fromisoformat(r["expires"]), tz),
                    }
                    for r in rows
                ]
            }
        )
        return
    if not rows:
        click.echo("No overrides in force.")
    for r in rows:
        click.echo(
            f"{r['job']}: {r['kind']} override until "
            f"{report.human(datetime.fromisoformat(r['expires']), tz)} ({r['reason']})"
        )


@override.command("clear")
@click.argument("job_name", metavar="JOB")
@click.option("--kind", type=click.Choice(["start", "stop"]), help="Only this kind (default: both).")
@pass_ctx
def override_clear(c: Ctx, job_name: str, kind: str | None) -> None:
    """Remove JOB's overrides; the schedule decides again from the next firing."""
    from .state import OVERRIDE_KINDS

    state = c.state
    cleared = []
    for k in [kind] if kind else list(OVERRIDE_KINDS):
        if state.remove_override(job_name, k):
            state.event(c.now, job_name, "override_cleared", kind=k, reason="osched override clear")
            cleared.append(k)
    click.echo(
        f"Cleared {' and '.join(cleared)} override of {job_name}."
        if cleared
        else f"{job_name} has no override."
    )


@cli.command()
@click.argument("job_name", metavar="[JOB]", required=False)
@click.option("--limit", "-n", type=int, default=50, show_default=True, help="Show the last N events.")
@json_option
@pass_ctx
def events(c: Ctx, job_name: str | None, limit: int, as_json: bool) -> None:
    """osched's decisions (started, skipped and why, crashed, stopped, overrides), oldest first."""
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    recs = c.state.events(job_name, limit)
    if as_json:
        _emit({"events": recs})
        return
    tz = c.host_tz
    if not recs:
        click.echo("No events yet.")
    for rec in recs:
        click.echo(report.event_text(rec, tz))


@cli.command()
@click.argument("job_name", metavar="JOB")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new output (Ctrl-C to end).")
@click.option("--lines", "-n", type=int, default=200, show_default=True, help="Start with the last N lines.")
@pass_ctx
def logs(c: Ctx, job_name: str, follow: bool, lines: int) -> None:
    """The job's stdout and stderr (appended per run, rotated by size)."""
    import time

    path = c.state.output_log(job_name)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not follow:
            raise UsageError(f"no output yet for {job_name!r} ({path})") from None
        data = b""
    tail = b"\n".join(data.splitlines()[-lines:]) if lines > 0 else b""
    if tail:
        click.echo(tail.decode("utf-8", "replace"))
    if not follow:
        return
    pos = len(data)
    while True:
        time.sleep(0.5)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if size < pos:  # rotated or truncated
            pos = 0
        if size > pos:
            with open(path, "rb") as fh:
                fh.seek(pos)
                chunk = fh.read()
            pos += len(chunk)
            click.echo(chunk.decode("utf-8", "replace"), nl=False)


# -- render -----------------------------------------------------------------------------------
TARGET_CHOICES = ("cron", "systemd", "taskscheduler", "launchd", "all")


@cli.command()
@click.option(
    "--target",
    type=click.Choice(TARGET_CHOICES),
    default="all",
    show_default=True,
    help="Which scheduler's artifacts.",
)
@click.option("--output", metavar="DIR", help="Write files into DIR/<target>/ instead of printing.")
@click.option("--system", is_flag=True, help="System-wide artifacts (cron.d, system units, ...).")
@click.option(
    "--host-timezone",
    metavar="TZ",
    help="Render host-local times (cron, Task Scheduler, launchd) for this zone.",
)
@pass_ctx
def render(c: Ctx, target: str, output: str | None, system: bool, host_timezone: str | None) -> None:
    """Print (or write) what install would put into the OS scheduler."""
    from . import targets
    from .tzhost import host_zone_name

    cfg = c.load()
    host = host_timezone or host_zone_name()
    _check(zone, host, "--host-timezone")
    ctx = targets.RenderContext(
        config_path=cfg.path, state_dir=c.state_dir, now=c.now, host_zone=host, system=system
    )
    names = targets.TARGETS if target == "all" else (target,)

    def emit(name: str, files: list[targets.File]) -> bytes:
        """What ``render`` prints for one target (after writing its files with --output)."""
        if output:
            written = targets.write_files(files, paths.absolute(output) / name)
            return "".join(f"{p}\n" for p in written).encode()
        out = []  # one write per target: 10,000 schedules are 80,000 files
        for f in files:
            out.append(f"==> {name}/{f.name} <==\n")
            out.append(f.content if f.content.endswith("\n") else f.content + "\n")
        return "".join(out).encode()

    stream = click.get_binary_stream("stdout")
    for chunk in targets.render_each(names, cfg, ctx, emit):
        stream.write(chunk)
    stream.flush()


# -- install / uninstall / doctor -------------------------------------------------------------------
INSTALL_TARGETS = ("auto", "cron", "systemd", "taskscheduler", "launchd")


def _render_ctx(c: Ctx, cfg_path: Path, system: bool) -> Any:
    from .targets import RenderContext
    from .tzhost import host_zone_name

    return RenderContext(
        config_path=cfg_path, state_dir=c.state_dir, now=c.now, host_zone=host_zone_name(), system=system
    )


def _show_plan(out: Any, dry_run: bool) -> None:
    plan = out.plan
    if plan.empty:
        click.echo(f"{out.target}: nothing to change ({plan.location}).")
        return
    if dry_run:
        click.echo(plan.diff, nl=not plan.diff.endswith("\n"))
        for cmd in plan.commands:
            click.echo(f"would run: {shlex.join(cmd)}")
        click.echo(f"{out.target}: dry run, nothing changed.")
        return
    for line in plan.summary:
        click.echo(f"{out.target}: {line}")


@cli.command()
@click.option(
    "--target",
    type=click.Choice(INSTALL_TARGETS),
    default="auto",
    show_default=True,
    help="auto: systemd if a manager answers, else cron (launchd on macOS, taskscheduler on Windows).",
)
@click.option(
    "--system", is_flag=True, help="System-wide (/etc/cron.d, system units, LaunchDaemons); needs root."
)
@click.option("--dry-run", is_flag=True, help="Print the change as a diff and the commands; change nothing.")
@click.option("--no-start", is_flag=True, help="Do not start jobs whose window is open now.")
@pass_ctx
def install(c: Ctx, target: str, system: bool, dry_run: bool, no_start: bool) -> None:
    """Put the schedules into the OS scheduler (idempotent; records an install manifest).

    Replaces only what osched wrote for this config; other crontab lines and units are never
    touched.  A failed step rolls back what this run wrote.  Jobs whose window is open now
    start at once (unless --no-start or a stop override)."""
    from . import install as inst

    cfg = c.load()
    name = inst.auto_target(system) if target == "auto" else target
    out = inst.install(cfg, _render_ctx(c, cfg.path, system), name, dry_run)
    _show_plan(out, dry_run)
    if not dry_run and not no_start:
        _start_open_windows(c, cfg, name, system)


def _start_open_windows(c: Ctx, cfg: Config, target: str, system: bool) -> None:
    from .windows import open_windows

    if not any(open_windows(s, c.now) for j in cfg.jobs.values() for s in j.enabled_schedules):
        return
    extra = ["--systemd", "system" if system else "user"] if target == "systemd" else []
    click.echo(_run_entry(c, "start", "--resume", *extra))


@cli.command()
@click.option(
    "--target",
    type=click.Choice(INSTALL_TARGETS),
    default="auto",
    show_default=True,
    help="auto: every target this config is installed in.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@pass_ctx
def uninstall(c: Ctx, target: str, dry_run: bool) -> None:
    """Remove exactly what install recorded for this config, even if the TOML changed since.

    Running jobs are not stopped (osched stop JOB does that)."""
    from . import install as inst

    cfg_path = c.config_path
    ctx = _render_ctx(c, cfg_path, False)
    recorded = inst.installed_targets(c.state_dir, ctx.config_id)
    names = list(recorded) if target == "auto" else [target]
    if not names:
        click.echo(f"Nothing is installed for {cfg_path}.")
        return
    for name in names:
        _show_plan(inst.uninstall(ctx, name, dry_run), dry_run)


@cli.command()
@json_option
@pass_ctx
def doctor(c: Ctx, as_json: bool) -> None:
    """Check the scheduler (cron daemon, systemd manager and linger, schtasks, launchctl), the
    entrypoints, config and state permissions, and the installed artifacts against the config.

    One line per finding with a fix; exit 1 when anything is wrong."""
    from .doctor import run_checks

    cfg_path = c.config_path
    findings = run_checks(cfg_path, c.state_dir, lambda system: _render_ctx(c, cfg_path, system))
    failed = any(f.level == "FAIL" for f in findings)
    if as_json:
        _emit({"ok": not failed, "findings": [f.as_dict() for f in findings]})
    else:
        for f in findings:
            click.echo(f.line())
    if failed:
        sys.exit(EXIT_FAILURE)


def _resync(c: Ctx) -> None:
    """After an edit of an installed config: install it again where it is installed."""
    from . import install as inst

    cfg_path = c.config_path
    ctx = _render_ctx(c, cfg_path, False)
    recorded = inst.installed_targets(c.state_dir, ctx.config_id)
    if not recorded:
        return
    cfg = c.load()
    for name, entry in recorded.items():
        system = bool(entry.get("system"))
        try:
            out = inst.install(cfg, _render_ctx(c, cfg_path, system), name)
        except OschedError as e:
            raise OschedError(
                f"the config was saved, but re-syncing {name} failed: {e} (run osched install)"
            ) from None
        for line in out.plan.summary:
            click.echo(f"Re-synced {name}: {line}")


def main() -> None:
    cli.main(prog_name="osched")


__all__ = ["EXIT_USAGE", "cli", "format_days", "main"]
