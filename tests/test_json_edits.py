"""``--json`` on every command that changes something (issue 28): one object whose top-level
keys are exactly those docs/json.md shows for the command, with ``messages`` the lines the
command would print."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osched.cli import cli

DOC = (Path(__file__).resolve().parent.parent / "docs" / "json.md").read_text()


def shapes() -> dict[str, set[str]]:
    """Each documented editing command's top-level keys (heading -> keys of its example)."""
    part = DOC.split("## Editing commands", 1)[1]
    out = {}
    for head, body in re.findall(r"### `osched ([^`]*)`\n\n```json\n(.*?)```", part, re.S):
        out[head] = set(json.loads(body))
    return out


def run(*args: str) -> dict[str, Any]:
    cut = args.index("--") if "--" in args else len(args)  # options go before a command's --
    r = CliRunner().invoke(cli, [*args[:cut], "--json", *args[cut:]])
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)
    return data


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OSCHED_NOW", "2026-11-24T12:00:00+00:00")
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tmp_path / "crontab"))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "state"))
    config = tmp_path / "osched.toml"
    config.write_text('timezone = "UTC"\n')
    config.chmod(0o600)
    monkeypatch.setenv("OSCHED_CONFIG", str(config))
    return config


def test_every_editing_command_prints_the_documented_object(site: Path) -> None:
    doc = shapes()
    assert len(doc) == 12, sorted(doc)
    site.unlink()
    seen = {
        "init --json": [run("init", "--timezone", "UTC")],
        "job add|set NAME ... --json": [run("job", "add", "agent", "--", "sleep", "3600"),
                                        run("job", "set", "agent", "--retries", "2")],
        "schedule add|set|enable|disable JOB ... --json": [
            run("schedule", "add", "agent", "--start", "10:00", "--duration", "4h", "--days", "mon-fri", "--no-start"),
            run("schedule", "set", "agent", "s1", "--duration", "3h", "--no-start"),
            run("schedule", "disable", "agent", "s1"),
            run("schedule", "enable", "agent", "s1"),
        ],
        "install --json": [run("install", "--target", "cron")],
        "skip JOB DATE|RANGE... [--remove] --json": [run("skip", "agent", "2026-12-24")],
        "window add JOB ... --json": [run("window", "add", "agent", "--at", "2026-12-05T02:00", "--duration", "1h")],
        "window remove JOB ID --json": [run("window", "remove", "agent", "once-20261205-0200")],
        "start|stop JOB --json": [run("start", "agent"), run("stop", "agent")],
        "override clear JOB [--kind K] --json": [run("override", "clear", "agent")],
        "schedule remove JOB ID --json": [run("schedule", "remove", "agent", "s1")],
        "uninstall --json": [run("uninstall", "--purge")],
        "job remove NAME --json": [run("job", "remove", "agent")],
    }  # fmt: skip
    assert set(seen) == set(doc)
    for head, outs in seen.items():
        for out in outs:
            assert set(out) == doc[head], (head, sorted(out))
            assert out["messages"] and all(isinstance(m, str) for m in out["messages"])
    assert seen["schedule add|set|enable|disable JOB ... --json"][0]["schedule"]["id"] == "s1"
    enabled = seen["schedule add|set|enable|disable JOB ... --json"][3]  # inside its window: started
    assert enabled["started"].startswith("agent: started (pid ")
    assert seen["start|stop JOB --json"][0]["message"].startswith("agent: already running (pid ")
    assert seen["start|stop JOB --json"][1]["message"].startswith("agent: stopped (manual stop)")
    assert seen["install --json"][0]["changed"] is True


def test_skip_remove_reports_removed(site: Path) -> None:
    run("job", "add", "agent", "--", "sleep", "3600")
    run("skip", "agent", "2026-12-24", "2026-12-31")
    out = run("skip", "agent", "--remove", "2026-12-24")
    assert out["removed"] == ["2026-12-24"] and out["skip"] == ["2026-12-31"] and "added" not in out


def test_an_error_prints_no_object(site: Path) -> None:
    r = CliRunner().invoke(
        cli, ["schedule", "add", "nope", "--start", "10:00", "--duration", "1h", "--days", "mon", "--json"]
    )
    assert r.exit_code == 2 and r.stdout == "" and "no job named 'nope'" in r.output
