"""Adding a target is one module: a tiny example target, registered, works in every command
(render, install, status, doctor, uninstall) with no change anywhere else.  The same class in
``osched/targets/<name>.py`` with ``TARGET = Echo()`` is found without ``register``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from osched import targets
from osched.cli import cli
from osched.model import Config
from osched.plan import Plan, file_diff, files_drift, read_text, restore, sha, writer
from osched.targets.base import File, Finding, RenderContext


class Echo:
    """Writes one text file of entrypoint command lines into ``<state>/echo/``."""

    name: ClassVar[str] = "echo"
    rank: ClassVar[int] = 99
    in_all: ClassVar[bool] = False
    auto_priority: ClassVar[int | None] = None
    cost: ClassVar[int] = 1

    def detect(self, ctx: RenderContext) -> bool:
        return False

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        rows = [
            " ".join(ctx.start_argv(j.name, s.id)) + f"  # at {s.start_text} {s.timezone}"
            for j in cfg.jobs.values()
            for s in j.enabled_schedules
        ]
        return [File(f"echo-{ctx.config_id}.txt", "".join(r + "\n" for r in rows))]

    def plan(self, files: list[File], ctx: RenderContext, recorded: dict[str, Any], uninstall: bool) -> Plan:
        path = ctx.state_dir / "echo" / f"echo-{ctx.config_id}.txt"
        plan = Plan(self.name, location=str(path.parent))
        old, new = read_text(path), (None if uninstall else files[0].content)
        if new is not None:
            plan.artifacts.append({"id": path.name, "path": str(path), "sha256": sha(new)})
        if old != new:
            plan.diffs.append(file_diff(str(path), old, new))
            step = restore(path, None) if new is None else writer(path, new.encode(), 0o644)
            plan.add(step, restore(path, old))
            plan.summary.append(f"{path}: {'removed' if new is None else 'written'}")
        return plan

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        return files_drift(recorded.get("artifacts", []))

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        return [Finding("ok", "echo needs no scheduler")]


@pytest.fixture
def echo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    targets.register(Echo())
    cfg = tmp_path / "osched.toml"
    cfg.write_text(
        'timezone = "UTC"\n[jobs.agent]\ncommand = ["true"]\n'
        '[[jobs.agent.schedules]]\nid = "day"\nstart = "10:00"\nduration = "4h"\ndays = ["tue"]\n'
    )
    monkeypatch.setenv("OSCHED_CONFIG", str(cfg))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OSCHED_NOW", "2026-11-23T12:00:00+00:00")
    yield tmp_path
    targets.unregister("echo")


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_the_shipped_targets_are_found_by_discovery() -> None:
    assert targets.names() == ("cron", "systemd", "taskscheduler", "launchd", "kubernetes")
    assert targets.in_all() == ("cron", "systemd", "taskscheduler", "launchd")  # kubernetes needs images
    for t in targets.all_targets():  # each one has every member of the protocol
        for member in ("render", "plan", "drift", "doctor", "detect"):
            assert callable(getattr(t, member)), (t.name, member)


def test_a_registered_target_works_in_every_command(echo: Path) -> None:
    r = run("render", "--target", "echo")
    assert r.exit_code == 0, r.output
    assert "==> echo/echo-" in r.output and "agent --schedule day" in r.output
    assert "echo" not in run("render").output.split("==> ")[0]  # not part of --target all
    r = run("install", "--target", "echo", "--no-start")
    assert r.exit_code == 0, r.output
    (written,) = (echo / "state" / "echo").iterdir()
    assert "agent --schedule day" in written.read_text()
    status = json.loads(run("status", "--json").output)
    assert [(i["target"], i["drift"]) for i in status["installed"]] == [("echo", [])]
    written.write_text("edited\n")
    r = run("doctor")
    assert "ok    echo needs no scheduler" in r.output and f"FAIL  echo: {written} was edited" in r.output
    r = run("uninstall")
    assert r.exit_code == 0 and "removed" in r.output
    assert list((echo / "state" / "echo").iterdir()) == []


def test_an_unknown_target_is_a_usage_error(echo: Path) -> None:
    targets.unregister("echo")
    r = run("render", "--target", "echo")
    assert r.exit_code == 2 and "'echo' is not one of" in r.output
