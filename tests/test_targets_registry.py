"""Adding a target is one module: a tiny example target, registered, works in every command
(render, install, status, doctor, uninstall) with no change anywhere else.  The same class in
``osched/targets/<name>.py`` with ``TARGET = Echo()`` is found without ``register``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from osched import targets
from osched.cli import cli
from osched.model import Config
from osched.plan import Plan, file_diff, files_drift, read_text, restore, sha, writer
from osched.targets.base import BaseTarget, File, Finding, Fired, RenderContext
from osched.windows import windows_between


class Echo(BaseTarget):
    """Writes one text file of entrypoint command lines into ``<state>/echo/``; it fires
    exactly at each window's edges (which ``firings`` reads back from that file)."""

    name: ClassVar[str] = "echo"
    rank: ClassVar[int] = 99
    in_all: ClassVar[bool] = False
    auto_priority: ClassVar[int | None] = None
    cost: ClassVar[int] = 1
    simulated: ClassVar[bool] = True

    def detect(self, ctx: RenderContext) -> bool:
        return False

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        rows = [
            " ".join(ctx.start_argv(j.name, s.id)) + f"  # at {s.start_text} {s.timezone} {j.name} {s.id}"
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

    def folders(self, ctx: RenderContext) -> list[Path]:
        return [ctx.state_dir / "echo"]

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        return files_drift(recorded.get("artifacts", []))

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        return [Finding("ok", "echo needs no scheduler")]

    def firings(self, cfg: Config, ctx: RenderContext, files: list[File], a: datetime, b: datetime,
                engine: str, notes: list[str]) -> tuple[list[Fired], str]:
        out: list[Fired] = []
        for line in files[0].content.splitlines():
            job, sid = line.split()[-2:]
            s = cfg.jobs[job].schedule(sid)
            assert s is not None
            for w in windows_between(s, a, b):
                out += [(w.start, job, sid, "start"), (w.end, job, sid, "stop")]
        return [f for f in out if a <= f[0] < b], "echo"


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
    from osched.targets.base import Target

    methods = [m for m in vars(Target) if not m.startswith("_") and callable(getattr(Target, m))]
    assert {"render", "plan", "drift", "doctor", "detect", "notes", "start_now", "stop_now", "report",
            "firings", "folders"} <= set(methods)
    for t in targets.all_targets():  # each one has every member of the protocol
        for member in methods:
            assert callable(getattr(t, member)), (t.name, member)
        for attr in ("name", "rank", "in_all", "auto_priority", "auto_reason", "cost", "host_local", "runs_here",
                     "simulated"):
            assert hasattr(t, attr), (t.name, attr)
    assert [t.name for t in targets.all_targets() if t.simulated] == ["cron", "systemd", "taskscheduler", "launchd"]
    assert [t.name for t in targets.all_targets() if not t.runs_here] == ["kubernetes"]


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


def test_a_registered_target_works_in_simulate(echo: Path) -> None:
    """simulate reads any target's artifacts back through its ``firings``: no list of names."""
    r = run("simulate", "--target", "echo", "--to", "14d")
    assert r.exit_code == 0, r.output
    assert "computed by echo" in r.output and "2 windows, 0 open or close late" in r.output
