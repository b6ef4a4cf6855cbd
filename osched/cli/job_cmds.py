"""``osched job add|set|remove``: round-trip edits of a job (comments and layout kept), validated
whole and written atomically; an installed config is re-synced after each edit."""

from __future__ import annotations

import shlex
from typing import Any

import click

from ..app import App
from ..errors import UsageError
from ..parse import ENV_NAME_RE, parse_id, parse_seconds, parse_signal, parse_url, parse_user
from ..validators import LOG_KEEP, RETRIES
from .base import api_for, check, cli, complete_jobs, json_result, pass_app, record_json, result


def env_pairs(pairs: tuple[str, ...], option: str = "--env") -> dict[str, str]:
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
    f = click.option("--log-keep", type=int, metavar="N", help="Old output logs kept when it rotates (3).")(f)
    f = click.option(
        "--keep-awake/--no-keep-awake",
        default=None,
        help="Keep the machine from sleeping on idle while the job runs.",
    )(f)
    f = click.option(
        "--on-ac-power/--no-on-ac-power",
        default=None,
        help="Start a window only on AC power (it waits for power within the window).",
    )(f)
    f = click.option(
        "--network/--no-network",
        default=None,
        help="Start a window only with a network route up (it waits within the window).",
    )(f)
    f = click.option(
        "--stop-on-battery/--no-stop-on-battery",
        default=None,
        help="Stop the job when the machine goes on battery power.",
    )(f)
    f = click.option(
        "--limit",
        "limit",
        multiple=True,
        metavar="KEY=VALUE",
        help="A resource limit: nice=10, io=idle|best-effort:N, cpu=50%, memory=4G, tasks=256 "
        "(repeat; KEY= removes it).",
    )(f)
    f = click.option(
        "--env-file",
        "env_file",
        multiple=True,
        metavar="PATH",
        help="Read KEY=VALUE secrets from PATH when the job starts (repeat; replaces the list; "
        "'' clears it). Never rendered or printed.",
    )(f)
    f = click.option(
        "--user",
        metavar="NAME",
        help="Who a --system install runs the job as (never root unless NAME is root); '' removes it.",
    )(f)
    f = click.option(
        "--ping-url",
        metavar="URL",
        help="GET URL/start, URL and URL/fail as the job starts, succeeds, fails (healthchecks.io); "
        "'' removes it.",
    )(f)
    for hook, when in HOOK_OPTIONS.items():
        f = click.option(
            f"--{hook.replace('_', '-')}",
            hook,
            metavar="CMD",
            help=f"Run CMD (words split like a shell's, no shell) {when}; '' removes it.",
        )(f)
    return click.option("--backoff", metavar="D,D,...", help="Delays between restarts (10s,30s,90s).")(f)


HOOK_OPTIONS = {
    "on_failure": "when the job gives up or cannot start",
    "on_start": "when the job starts",
    "on_success": "when the job finishes (exit 0) or is stopped",
}


def _limits(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--limit KEY=VALUE`` -> {KEY: value as TOML gets it, or None to remove it}."""
    from .. import limits

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in limits.KEYS:
            known = ", ".join(limits.KEYS)
            raise UsageError(f"--limit: expected KEY=VALUE with KEY one of {known}, got {pair!r}")
        if value == "":
            out[key] = None
            continue
        typed: Any = int(value) if key in ("nice", "tasks") and value.lstrip("-").isdigit() else value
        check(lambda v, k=key: limits.parse({k: v}), typed, f"--limit {key}")
        out[key] = typed
    return out


def _within(value: int, bounds: tuple[int, int], option: str) -> None:
    if not bounds[0] <= value <= bounds[1]:
        raise UsageError(f"{option}: must be from {bounds[0]} to {bounds[1]}")


def _delay(text: str, option: str) -> str | int | float:
    """A delay as given: ``30s``, ``1m30s``, or plain seconds (``5``, ``2.5``)."""
    value: str | int | float = text
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        value = int(number) if number.is_integer() else number
    check(parse_seconds, value, option)
    return value


def _job_fields(
    workdir: str | None,
    env: tuple[str, ...],
    stop_signal: str | None,
    stop_timeout: str | None,
    retries: int | None,
    backoff: str | None,
    ping_url: str | None,
    user: str | None,
    env_file: tuple[str, ...] = (),
    limit: tuple[str, ...] = (),
    log_keep: int | None = None,
    keep_awake: bool | None = None,
    on_ac_power: bool | None = None,
    network: bool | None = None,
    stop_on_battery: bool | None = None,
    **hooks: str | None,
) -> dict[str, Any]:
    """The fields to write (a hook's program is resolved on PATH by the API, as the command)."""
    fields: dict[str, Any] = {"workdir": workdir, "env": env_pairs(env) or None}
    for hook, text in hooks.items():
        option = f"--{hook.replace('_', '-')}"
        if text == "":
            fields[f"unset_{hook}"] = True
        elif text is not None:
            try:
                words = shlex.split(text)
            except ValueError as e:
                raise UsageError(f"{option}: {e}") from None
            if not words:
                raise UsageError(f"{option}: give a command, or '' to remove it")
            fields[hook] = words
    if limit:
        fields["limits"] = _limits(limit)
    flags = {"keep_awake": keep_awake, "on_ac_power": on_ac_power, "network": network}
    flags["stop_on_battery"] = stop_on_battery
    fields.update({k: v for k, v in flags.items() if v is not None})
    if log_keep is not None:
        _within(log_keep, LOG_KEEP, "--log-keep")
        fields["log_keep"] = log_keep
    if env_file == ("",):
        fields["unset_env_files"] = True
    elif env_file:
        if "" in env_file:
            raise UsageError("--env-file: give file paths, or '' alone to clear the list")
        fields["env_files"] = list(env_file)
    if user == "":
        fields["unset_user"] = True
    elif user is not None:
        fields["user"] = check(parse_user, user, "--user")
    if ping_url == "":
        fields["unset_ping_url"] = True
    elif ping_url is not None:
        fields["ping_url"] = check(parse_url, ping_url, "--ping-url")
    if stop_signal is not None:
        fields["stop_signal"] = check(parse_signal, stop_signal, "--stop-signal")
    if stop_timeout is not None:
        fields["stop_timeout"] = _delay(stop_timeout, "--stop-timeout")
    if retries is not None:
        _within(retries, RETRIES, "--retries")
        fields["retries"] = retries
    if backoff is not None:
        steps = [b.strip() for b in backoff.split(",") if b.strip()]
        if not steps:
            raise UsageError("--backoff: give at least one delay, e.g. 10s,30s,90s")
        fields["backoff"] = [_delay(step, "--backoff") for step in steps]
    return fields


@job.command("add")
@click.argument("name")
@click.argument("command", nargs=-1, required=True)
@_job_options
@pass_app
@json_result
def job_add(c: App, name: str, command: tuple[str, ...], **opts: Any) -> None:
    """Add job NAME that runs COMMAND (put it after --: osched job add agent -- python3 a.py)."""
    check(lambda v: parse_id(v, "job name"), name, "NAME")
    added = api_for(c).add_job(name, list(command), **_job_fields(**opts))
    result(job=record_json(added))
    click.echo(f"Next: osched schedule add {name} --start HH:MM --duration 8h --days mon-fri")


@job.command("set")
@click.argument("name", shell_complete=complete_jobs)
@click.argument("command", nargs=-1)
@_job_options
@click.option("--unset-env", multiple=True, metavar="NAME", help="Remove a variable.")
@pass_app
@json_result
def job_set(c: App, name: str, command: tuple[str, ...], unset_env: tuple[str, ...], **opts: Any) -> None:
    """Change job NAME; a COMMAND after -- replaces its command."""
    fields = _job_fields(**opts)
    if command:
        fields["command"] = list(command)
    if unset_env:
        fields["unset_env"] = list(unset_env)
    if not any(v is not None for v in fields.values()):
        raise UsageError("nothing to change: give an option or a new command after --")
    result(job=record_json(api_for(c).set_job(name, **fields)))


@job.command("remove")
@click.argument("name", shell_complete=complete_jobs)
@pass_app
@json_result
def job_remove(c: App, name: str) -> None:
    """Remove job NAME, its schedules and its state (overrides, last result, logs); refused
    while it runs."""
    api_for(c).remove_job(name)
    result(job=name, removed=True)
