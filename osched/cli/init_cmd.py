"""``osched init``: a commented starter config; ``osched schema``: the config's JSON Schema."""

from __future__ import annotations

from pathlib import Path

import click

from ..app import App
from .base import api_for, cli, json_result, pass_app, result


@cli.command()
@click.option("--timezone", "tz", metavar="TZ", help="Default zone (default: the host's zone).")
@click.option("--force", is_flag=True, help="Overwrite an existing config.")
@pass_app
@json_result
def init(c: App, tz: str | None, force: bool) -> None:
    """Write a commented starter config."""
    path = api_for(c).init(tz, force=force)
    result(config=str(path), timezone=c.load().timezone)
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
