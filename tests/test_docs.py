"""docs/cli.md is generated from --help and must match it; every command is documented."""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.testing import CliRunner

from osched.cli import cli

from conftest import ROOT

CLI_DOC = ROOT / "docs" / "cli.md"

HEADER = """\
# Command reference

Generated from `--help` (`OSCHED_UPDATE_DOCS=1 python3 -m pytest tests/test_docs.py`
rewrites it; the test suite fails when it is out of date).

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. Errors are one line
on stderr (`Error: ...`); `--debug` adds the traceback.

`OSCHED_NOW` (an ISO 8601 instant with offset) makes the read commands answer for that
instant instead of now: for tests and "what if" questions.
"""


def commands(cmd: click.Command, path: list[str]) -> list[list[str]]:
    out = [path]
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            out.extend(commands(cmd.commands[name], [*path, name]))
    return out


def generate() -> str:
    parts = [HEADER]
    runner = CliRunner()
    for path in commands(cli, []):
        r = runner.invoke(cli, [*path, "--help"], prog_name="osched", terminal_width=100)
        assert r.exit_code == 0
        title = " ".join(["osched", *path])
        parts.append(f"\n## `{title}`\n\n```\n{r.stdout.rstrip()}\n```\n")
    return "".join(parts)


def test_cli_reference_is_current() -> None:
    text = generate()
    if os.environ.get("OSCHED_UPDATE_DOCS"):
        CLI_DOC.write_text(text, encoding="utf-8")
    assert CLI_DOC.read_text(encoding="utf-8") == text, "docs/cli.md is stale: regenerate it"


def test_docs_pages_exist_and_are_linked() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("config", "windows", "cli", "json", "render", "development"):
        p = Path(ROOT / "docs" / f"{page}.md")
        assert p.exists(), p
        assert f"docs/{page}.md" in readme
