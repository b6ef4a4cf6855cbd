"""Commands that face the OS scheduler: ``render``, ``install``, ``uninstall``, ``doctor``.

The ``--target`` choices come from the target registry (``osched.targets``)."""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import paths
from ..app import App
from ..errors import EXIT_FAILURE, UsageError
from ..parse import zone
from .base import (
    TargetChoice,
    api_for,
    check,
    cli,
    emit,
    json_option,
    json_result,
    pass_app,
    result,
    skip_teardown,
    with_progress,
)


@cli.command()
@click.option(
    "--target",
    type=TargetChoice("all"),
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
@pass_app
@with_progress
def render(c: App, target: str, output: str | None, system: bool, host_timezone: str | None) -> None:
    """Print (or write) what install would put into the OS scheduler."""
    from .. import targets

    cfg = c.load()
    if host_timezone is not None:
        check(zone, host_timezone, "--host-timezone")
    ctx = c.render_ctx(system, host_zone=host_timezone)
    names = targets.in_all() if target == "all" else (target,)

    def emit_files(name: str, files: list[targets.File]) -> list[str]:
        """What ``render`` prints for one target (after writing its files with --output)."""
        if output:
            folder = paths.absolute(output) / name
            try:
                written = targets.write_files(files, folder)
            except OSError as e:
                where = f" ({e.strerror} on {e.filename})" if e.filename else f" ({e.strerror})"
                raise UsageError(f"--output: cannot write the files into {folder}{where}") from None
            return [f"{p}\n" for p in written]
        out = []
        for f in files:
            out.append(f"==> {name}/{f.name} <==\n")
            out.append(f.content if f.content.endswith("\n") else f.content + "\n")
        return out

    notes: list[str] = []  # worked out while a forked child may still be rendering

    stream = sys.stdout.buffer  # binary writes (click 8.5 deprecates get_binary_stream)
    targets.render_each(
        names, cfg, ctx, emit_files, stream, meanwhile=lambda: notes.extend(c.render_notes(names, cfg, ctx))
    )
    stream.flush()
    _echo_notes(notes)
    skip_teardown()


def _echo_notes(notes: list[str]) -> None:
    """What the user should know about how the targets were rendered (on stderr)."""
    for line in notes:
        click.echo(line, err=True)


def auto_target_option(help: str) -> Any:
    return click.option(
        "--target", type=TargetChoice("auto", first=True), default="auto", show_default=True, help=help
    )


@cli.command()
@auto_target_option(
    "auto: systemd if a manager answers, else cron (launchd on macOS, taskscheduler on Windows)."
)
@click.option(
    "--system", is_flag=True, help="System-wide (/etc/cron.d, system units, LaunchDaemons); needs root."
)
@click.option("--dry-run", is_flag=True, help="Print the change as a diff and the commands; change nothing.")
@click.option("--no-start", is_flag=True, help="Do not start jobs whose window is open now.")
@pass_app
@with_progress
@json_result
def install(c: App, target: str, system: bool, dry_run: bool, no_start: bool) -> None:
    """Put the schedules into the OS scheduler (idempotent; records an install manifest).

    Replaces only what osched wrote for this config; other crontab lines and units are never
    touched.  A failed step rolls back what this run wrote.  Jobs whose window is open now
    start at once (unless --no-start or a stop override)."""
    out = api_for(c).install(target, system, start_now=not no_start, dry_run=dry_run)
    result(target=out.target, system=system, dry_run=dry_run, changed=out.changed, started=out.started)


@cli.command()
@auto_target_option("auto: every target this config is installed in.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@click.option(
    "--purge",
    is_flag=True,
    help="Also stop this config's running jobs and remove their state (logs, overrides).",
)
@pass_app
@with_progress
@json_result
def uninstall(c: App, target: str, dry_run: bool, purge: bool) -> None:
    """Remove exactly what install recorded for this config, even if the TOML changed since.

    Then says what still runs (a job started by hand keeps running: osched stop JOB) and what
    stays in the state dir; --purge stops those jobs and removes their state."""
    out = api_for(c).uninstall(target, purge=purge, dry_run=dry_run)
    result(targets=out.targets, dry_run=dry_run, purge=purge)


@cli.command()
@json_option
@pass_app
def doctor(c: App, as_json: bool) -> None:
    """Check the scheduler (cron daemon, systemd manager and linger, schtasks, launchctl), the
    entrypoints, config and state permissions, and the installed artifacts against the config.

    One line per finding with a fix; exit 1 when anything is wrong."""
    from ..doctor import run_checks

    findings = run_checks(c.render_ctx())
    failed = any(f.level == "FAIL" for f in findings)
    if as_json:
        emit({"ok": not failed, "findings": [f.as_dict() for f in findings]})
    else:
        for f in findings:
            click.echo(f.line())
    if failed:
        sys.exit(EXIT_FAILURE)
