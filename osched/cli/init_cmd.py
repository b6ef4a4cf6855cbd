"""``osched init``: a commented starter config; ``osched schema``: the config's JSON Schema."""

from __future__ import annotations

from pathlib import Path

import click

from ..app import App
from ..errors import UsageError
from ..parse import zone, zone_note
from .base import check, cli, pass_app

# -- init -------------------------------------------------------------------------------------
STARTER = """\
#:schema {schema}
# osched configuration (reference: docs/config.md, or `osched --help`).  The line above lets
# an editor with a TOML language server (taplo, Even Better TOML) check keys as you type.
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
    import stat

    from ..fsutil import atomic_write
    from ..tzhost import host_zone_name

    path = c.config_path
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise UsageError(f"{path} exists and is not a regular file: init replaces only a config file")
    if mode is not None and not force:
        raise UsageError(f"{path} already exists (use --force to overwrite it)")
    name = tz or host_zone_name()
    check(zone, name, "--timezone")
    note = zone_note(name)
    from ..configschema import path as schema_path

    text = STARTER.format(zone=name, schema=Path(schema_path()).as_uri())
    atomic_write(path, text.encode("utf-8"), mode=0o600)
    click.echo(f"Wrote {path} (time zone {name}).")
    if note:
        click.echo(f"Note: {note}")
    click.echo("Next: osched job add NAME -- COMMAND...   then   osched schedule add NAME ...")


@cli.command()
@click.option("--path", "show_path", is_flag=True, help="Print where the schema file is, not the schema.")
def schema(show_path: bool) -> None:
    """Print the config's JSON Schema (draft-07), generated from the loader's own rules.

    Editors with a TOML language server (taplo, Even Better TOML) read it from a first line
    '#:schema file:///...' (osched init writes it); other tools take the file from --path.
    The loader stays the judge: 'osched list' checks what a schema cannot (zones, overlapping
    windows, repeated ids)."""
    from ..configschema import path

    if show_path:
        click.echo(path())
        return
    click.echo(Path(path()).read_text(encoding="utf-8"), nl=False)
