"""Manual control: ``start`` and ``stop`` (both in-process, through ``osched.api``)."""

from __future__ import annotations

import click

from ..app import App
from .base import api_for, cli, complete_jobs, json_result, pass_app, result


@cli.command()
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.option("--until", "until", metavar="WHEN", help="Keep it running until WHEN: 2h, 23:30, or ISO 8601.")
@pass_app
@json_result
def start(c: App, job_name: str, until: str | None) -> None:
    """Start JOB now, whatever its windows say.

    Writes a start override until the end of the open window(s) (or --until; with no window
    open, until the next window starts), so no scheduled stop ends it before.  Clears a stop
    override.  Runs again a job that finished or gave up in this window."""
    result(job=job_name, message=api_for(c).start(job_name, until))


@cli.command()
@click.argument("job_name", metavar="JOB", shell_complete=complete_jobs)
@click.option("--until", "until", metavar="WHEN", help="Keep it stopped until WHEN: 2h, 23:30, or ISO 8601.")
@pass_app
@json_result
def stop(c: App, job_name: str, until: str | None) -> None:
    """Stop JOB now (stop_signal to its process group, SIGKILL after stop_timeout).

    Writes a stop override until the end of the open window(s) (or --until), so no timer,
    catch-up or crash restart starts it again before.  Clears a start override."""
    result(job=job_name, message=api_for(c).stop(job_name, until))
