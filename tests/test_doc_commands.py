"""Every ``osched`` command line shown in README.md and docs/ parses with today's CLI: the
subcommands exist, every option is known and gets its value, every argument is there.  Each
line is parsed by click itself (the command is not run: no config, no side effects), so a
renamed option or command fails here before it confuses a reader.

Shown lines: in ``sh``/``bash``/``console`` blocks every line that starts with ``osched``, and in
any block every line that starts with ``$ osched``.  A synopsis line (``[--target auto|...]``,
``<config id>``) is not a command and is left out."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from osched.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\s*$")


def shown_commands() -> list[tuple[str, int, str]]:
    """(page, line number, command line) of every osched command the docs show."""
    out = []
    for page in PAGES:
        if page.name == "cli.md":  # generated from the CLI itself (test_docs keeps it current)
            continue
        lang = None
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            m = _FENCE.match(line)
            if m:
                lang = None if lang is not None else m.group(1)
                continue
            if lang is None:
                continue
            text = line[2:] if line.startswith("$ ") else line if lang in ("sh", "bash", "console") else ""
            for piece in re.split(r"\s&&\s|\s;\s", text.split("  #", 1)[0]):
                part = piece.strip()
                if not part.startswith("osched ") or re.search(r"\[--|\|\.\.\.|<[a-z ]+>|\bauto\|", part):
                    continue
                out.append((page.name, n, part))
    return out


def parse(args: list[str]) -> None:
    """Parse ``osched ARGS`` down to the leaf command, as click would before running it."""
    cmd: click.Command = cli
    parent = None
    name = "osched"
    while True:
        ctx = cmd.make_context(name, list(args), parent=parent)
        if not isinstance(cmd, click.Group):
            return
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            return
        name, sub, args = cmd.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        cmd, parent = sub, ctx


COMMANDS = shown_commands()


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) > 35
    pages = {p for p, _, _ in COMMANDS}
    assert {"README.md", "windows.md", "render.md", "install-cron.md"} <= pages


@pytest.mark.parametrize(("page", "line", "command"), COMMANDS, ids=[f"{p}:{n}" for p, n, _ in COMMANDS])
def test_each_shown_command_parses(page: str, line: int, command: str) -> None:
    argv = shlex.split(command, comments=True)
    try:
        parse(argv[1:])
    except click.UsageError as e:
        pytest.fail(f"{page}:{line}: {command!r}: {e.format_message()}")


def test_a_drifted_command_fails() -> None:
    with pytest.raises(click.UsageError, match="No such option"):
        parse(["render", "--targets", "cron"])
    with pytest.raises(click.UsageError, match="No such command"):
        parse(["schedules", "add"])
