"""The ``osched`` command line: a thin click layer over ``app.App`` and the library.

One module per command group: ``init_cmd`` (init), ``job_cmds``, ``schedule_cmds``,
``view_cmds`` (list, show, status, next, calendar, override, events, logs, completion),
``control_cmds`` (start, stop), ``date_cmds`` (skip, window), ``os_cmds`` (render, install,
uninstall, doctor) and ``simulate_cmds``.  ``base`` holds the group, the error handling and
the completion helpers.
"""

from __future__ import annotations

from . import (  # noqa: F401 - register
    control_cmds,
    date_cmds,
    init_cmd,
    job_cmds,
    os_cmds,
    schedule_cmds,
    simulate_cmds,
    view_cmds,
)
from .base import cli, exit_now


def main() -> None:
    """The ``osched`` console script."""
    try:
        cli.main(prog_name="osched")
    except SystemExit as e:
        exit_now(e.code)  # when the command asked for it (base.skip_teardown); else returns
        raise


__all__ = ["cli", "main"]
