"""Commands that read: ``list``, ``show``, ``status``, ``next``, ``calendar``, ``override``,
``events``, ``logs``."""

from __future__ import annotations

from typing import Any

import click

from .. import views as report
from ..app import App
from ..errors import UsageError
from .base import (
    api_for,
    cli,
    complete_jobs,
    echo_lines,
    emit,
    for_terminal,
    json_option,
    json_result,
    pass_app,
    result,
    timezone_option,
)


@cli.command("list")
@json_option
@pass_app
def list_cmd(c: App, as_json: bool) -> None:
    """List jobs and their schedules."""
    cfg = c.load()
    if as_json:
        emit(
            {
                "config": str(cfg.path),
                "timezone": cfg.timezone,
                "jobs": [report.job_dict(j) for j in cfg.jobs.values()],
            }
        )
    else:
        click.echo(report.list_text(cfg))


@cli.command()
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@json_option
@pass_app
def show(c: App, job_name: str, as_json: bool) -> None:
    """Show one job: command, settings, schedules and where it stands now."""
    cfg = c.load()
    job_ = c.job(cfg, job_name)
    tz = c.view_tz
    rt = report.runtime_dict(c.state, job_.name, c.now, tz)
    if as_json:
        emit({**report.job_dict(job_), "status": {**report.status_dict(job_, c.now, tz), **rt}})
    else:
        click.echo(report.show_text(job_, c.now, tz))
        click.echo(f"{'process:':<16} {report.runtime_text(rt, tz)}")


@cli.command()
@click.argument("job_name", metavar="[JOB]", required=False, shell_complete=complete_jobs)
@timezone_option
@json_option
@pass_app
def status(c: App, job_name: str | None, as_json: bool) -> None:
    """A table like systemctl list-timers: per job the NEXT start (and time LEFT), the LAST run
    and its RESULT, the end of the open window; then the process, overrides and the starts
    they skip, crash restarts, and after a failure where to look (osched logs JOB).

    \b
    JOB    NEXT                      LEFT       LAST                      RESULT    WINDOW ENDS
    agent  Mon 2026-11-30 22:00 CET  in 2d 7h   Fri 2026-11-27 22:00 CET  exit 1    -
    \b
      agent: last run: exit 1; see its output: osched logs agent
    """
    from ..status import job_status, table

    cfg = c.load()
    jobs = [c.job(cfg, job_name)] if job_name else list(cfg.jobs.values())
    tz = c.view_tz
    installed = c.installed_report()
    last = c.state.last_events()
    rows = [job_status(c.state, j, c.now, tz, last.get(j.name)) for j in jobs]
    if as_json:
        emit(
            {
                "now": report.local_iso(c.now, tz),
                "timezone": tz.key,
                "installed": installed,
                "jobs": rows,
                "state_refusal": c.state_refusal,
            }
        )
        return
    if not jobs:
        click.echo(f"No jobs in {cfg.path}.")
    else:
        click.echo(table(rows, c.now, tz))
    if c.state_refusal:
        click.echo(f"Not shown: where it is installed and what ran ({c.state_refusal}).")
    elif not installed:
        click.echo("Not installed in any scheduler (osched install).")
    for inst_ in installed:
        drift = "; ".join(inst_["drift"]) or "matches what was installed"
        click.echo(f"Installed: {inst_['target']} in {inst_['location']}: {drift}")
        for why in inst_["renew"]:
            how = "the next firing renews it; or: " if inst_["renewed_by_firings"] else ""
            click.echo(f"  Due for renewal: {why} ({how}osched install --target {inst_['target']})")
        if "cluster_error" in inst_:
            click.echo(f"  cluster: {inst_['cluster_error']}")
        for cj in inst_.get("cluster", []):
            click.echo(
                f"  {cj['name']}: last scheduled {cj['last_schedule'] or 'never'}, "
                f"{cj['active']} active, last Job {cj['last_result'] or '-'}"
            )


@cli.command("next")
@click.argument("job_name", metavar="[JOB]", required=False, shell_complete=complete_jobs)
@timezone_option
@click.option("--count", "-n", default=10, show_default=True, help="How many windows.")
@json_option
@pass_app
def next_cmd(c: App, job_name: str | None, count: int, as_json: bool) -> None:
    """Upcoming windows (start and end), in the host's zone (or --timezone)."""
    if count < 1:
        raise UsageError("--count must be at least 1")
    cfg = c.load()
    job_ = c.job(cfg, job_name) if job_name else None
    tz = c.view_tz
    windows = report.next_windows(cfg, job_, c.now, count)
    if as_json:
        emit(
            {
                "now": report.local_iso(c.now, tz),
                "timezone": tz.key,
                "windows": [report.window_dict(w, tz) for w in windows],
            }
        )
    else:
        click.echo(report.next_text(windows, tz))
        for inst_ in c.installed_report():
            if any("config changed since install" in d for d in inst_["drift"]):
                click.echo(
                    f"Note: the config changed since it was installed in {inst_['target']}: "
                    "the OS still fires the old times until you run osched install",
                    err=True,
                )


@cli.command()
@click.argument("job_name", metavar="[JOB]", required=False, shell_complete=complete_jobs)
@timezone_option
@json_option
@pass_app
def calendar(c: App, job_name: str | None, as_json: bool) -> None:
    """The next 7 days from today as a grid (7 days x 24 hours) in the host's zone; windows that
    really overlap are marked with their count."""
    cfg = c.load()
    jobs = [c.job(cfg, job_name)] if job_name else list(cfg.jobs.values())
    schedules = [s for j in jobs for s in j.enabled_schedules]
    tz = c.view_tz
    week_start, grid = report.week_grid(schedules, c.now, tz)
    if as_json:
        from datetime import timedelta

        emit(
            {
                "timezone": tz.key,
                "week_start": report.local_iso(week_start, tz),
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
        local = c.now.astimezone(tz)
        if 0 <= (local.date() - week_start.date()).days < 7:
            click.echo(f"Now: {report.human(c.now, tz)} (row {local.strftime('%a')}, column {local.hour}).")
        echo_lines([f"Overlap: {o}" for o in report.week_overlaps(schedules, week_start, tz)])


@cli.group()
def override() -> None:
    """List or clear the start/stop overrides that manual start and stop write."""


@override.command("list")
@click.argument("job_name", metavar="[JOB]", required=False, shell_complete=complete_jobs)
@json_option
@pass_app
def override_list(c: App, job_name: str | None, as_json: bool) -> None:
    """Overrides in force (expired ones are not shown)."""
    tz = c.view_tz
    rows = c.overrides_in_force(job_name)
    if as_json:
        emit(
            {
                "overrides": [
                    {
                        "job": name,
                        **ov.as_dict(),
                        "created": report.local_iso(ov.created, tz),
                        "expires": report.local_iso(ov.expires, tz),
                    }
                    for name, ov in rows
                ]
            }
        )
        return
    if not rows:
        click.echo("No overrides in force.")
    for name, ov in rows:
        click.echo(f"{name}: {ov.kind} override until {report.human(ov.expires, tz)} ({ov.reason})")


@override.command("clear")
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.option("--kind", type=click.Choice(["start", "stop"]), help="Only this kind (default: both).")
@pass_app
@json_result
def override_clear(c: App, job_name: str, kind: str | None) -> None:
    """Remove JOB's overrides; the schedule decides again from the next firing."""
    result(job=job_name, cleared=api_for(c).clear_overrides(job_name, kind))


@cli.command()
@click.argument("job_name", metavar="[JOB]", required=False, shell_complete=complete_jobs)
@timezone_option
@click.option("--limit", "-n", type=int, default=50, show_default=True, help="Show the last N events.")
@json_option
@pass_app
def events(c: App, job_name: str | None, limit: int, as_json: bool) -> None:
    """osched's decisions (started, skipped and why, crashed, stopped, overrides), oldest first."""
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    recs = c.state.events(c.known_job(job_name) if job_name else None, limit)
    if as_json:
        emit({"events": recs})
        return
    tz = c.view_tz
    if not recs:
        click.echo("No events yet.")
    for rec in recs:
        click.echo(for_terminal(report.event_text(rec, tz)))


@cli.command()
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new output (Ctrl-C to end).")
@click.option("--lines", "-n", type=int, default=200, show_default=True, help="Start with the last N lines.")
@pass_app
def logs(c: App, job_name: str, follow: bool, lines: int) -> None:
    """The job's stdout and stderr, each line stamped with the UTC time it came (appended per
    run, rotated by size, log_keep old files kept).  Under systemd the journal has it too."""
    entry = c.installed().get("systemd")
    if entry is not None:
        scope = "" if entry.get("system") else "--user "
        click.echo(f"(also in the journal: journalctl {scope}-u 'osched-{job_name}.*')", err=True)
    tail, pos = c.log_tail(job_name, lines, follow)
    if not pos and not follow:
        click.echo(f"No output yet for {job_name!r}: the job has not run.")
    if tail:
        click.echo(for_terminal(tail.decode("utf-8", "replace"), keep_lines=True))
    if follow:
        for chunk in c.follow_log(job_name, pos):
            click.echo(for_terminal(chunk.decode("utf-8", "replace"), keep_lines=True), nl=False)


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (job names, schedule ids, targets, days and
    zones complete too).  Enable it with, in ~/.bashrc: eval "$(osched completion bash)"; in
    ~/.zshrc: eval "$(osched completion zsh)"; for fish: osched completion fish >
    ~/.config/fish/completions/osched.fish.  A TAB is answered by osched-complete (installed
    next to osched) in about the time the interpreter takes to start."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    comp = cls(cli, {}, "osched", "_OSCHED_COMPLETE")
    click.echo(fast_completer(shell, comp.source(), answer_format(comp)))


def answer_format(comp: Any) -> str:
    """How this click's script reads an answer (``complete.FORMATS``), found by asking its own
    formatter; "" when it is none osched knows (then click answers every TAB)."""
    from click.shell_completion import CompletionItem

    with_help = comp.format_completion(CompletionItem("v", help="h"))
    known = {
        "plain,v": "bash",
        "plain\nv\nh": "zsh" if comp.name == "zsh" else "fish-lines",
        "plain,v\th": "fish-tab",
    }
    return known.get(with_help, "") if comp.name in ("bash", "zsh", "fish") else ""


def fast_completer(shell: str, script: str, fmt: str = "") -> str:
    """click's completion script, with the answer asked of ``osched-complete`` (installed next
    to ``osched``: a plain script that skips the console-script wrapper's imports) instead of
    ``osched`` when it is there, and the default config and state dir passed in (finding them
    imports platformdirs, which costs more than a TAB may take); the protocol is click's."""
    import os
    import shlex
    import shutil
    import sys

    from .. import complete, where

    if not fmt:
        return script
    defaults = (
        f"{complete.FORMAT_ENV}={fmt} "
        f"{complete.CONFIG_DEFAULT_ENV}={shlex.quote(where.default_config_file())} "
        f"{complete.STATE_DEFAULT_ENV}={shlex.quote(where.default_state_file())} "
    )
    script = script.replace("_OSCHED_COMPLETE=", defaults + "_OSCHED_COMPLETE=", 1)
    here = os.path.dirname(os.path.abspath(sys.argv[0])) if os.sep in sys.argv[0] else ""
    found = os.path.join(here, "osched-complete") if here else ""
    if not (found and os.access(found, os.X_OK)):
        found = shutil.which("osched-complete") or ""
    if not found:
        return script
    exe = shlex.quote(found)
    calls = {
        "bash": ("=bash_complete $1)", f"=bash_complete {exe})"),
        "zsh": ("=zsh_complete osched)", f"=zsh_complete {exe})"),
        "fish": ("COMP_CWORD=(commandline -t) osched)", f"COMP_CWORD=(commandline -t) {exe})"),
    }
    old, new = calls[shell]
    return script.replace(old, new) if old in script else script
