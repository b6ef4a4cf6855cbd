"""Windows Task Scheduler task XML (UTF-16 LE with a BOM, as ``schtasks /Create /XML`` wants).

Tasks live in the ``\\osched\\`` folder and carry the config id, so two configs with the same
job and schedule ids never collide: ``\\osched\\<config id>.J.S.start`` and ``...J.S.stop`` per
schedule, and ``\\osched\\<config id>.resume`` with boot and logon triggers.  Task Scheduler
runs calendar triggers in the host's local time, so the firings come from
``hostfirings.host_firings`` (instants near a DST change: one-time triggers at their UTC instant).
Every calendar trigger has a ``StartBoundary``; ``StartWhenAvailable``
runs a missed firing as soon as possible; ``ExecutionTimeLimit`` is ``PT0S`` (none), so the
supervisor is never killed by the scheduler.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from ..fsutil import atomic_write
from ..hostfirings import Firing, host_firings, per_firings
from ..limits import task_priority
from ..model import Config
from ..paths import target_work_dir
from ..plan import Plan, file_diff, files_drift, read_bytes, sha
from ..runner import Runner, must
from ..templating import render_with, task_triggers
from .base import (
    BaseTarget,
    File,
    Finding,
    Fired,
    RenderContext,
    Target,
    each_enabled,
    per_file_firings,
    tool_finding,
)
from .extras import as_system, condition_notes, limit_notes

FOLDER = "\\osched\\"


def task_file(ctx: RenderContext, job: str, schedule: str, kind: str) -> str:
    """The task XML of a schedule's start or stop (``kind``)."""
    return f"{ctx.config_id}.{job}.{schedule}.{kind}.xml"


def task_path(name: str) -> str:
    """A task's full name in Task Scheduler (``name`` is the XML file's stem)."""
    return f"{FOLDER}{name}"


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _triggers(
    firings: Sequence[Firing], ctx: RenderContext, day: str = ""
) -> list[tuple[str, tuple[str, ...]]]:
    """(StartBoundary, day names) per firing.  A weekly firing is a calendar trigger in local
    time; a dated one (an instant near a DST change) a one-time trigger at its UTC instant,
    which Task Scheduler fires at that instant whatever the local clock does.  ``day``: the
    host-local date of ``ctx.now`` (ISO), when the caller has it."""
    return _boundaries(firings, day or ctx.now.astimezone(ctx.host_tz).date().isoformat())


def _boundaries(firings: Sequence[Firing], day: str) -> list[tuple[str, tuple[str, ...]]]:
    return [
        _utc_trigger(f.at) if f.at is not None else _weekly_trigger(day, f.hour, f.minute, f.days)
        for f in firings
    ]


@per_firings  # one per schedule timing: 10,000 schedules have a few thousand
def _trigger_elements(firings: tuple[Firing, ...], day: str, random_delay: int) -> str:
    """A task's ``<Triggers>`` children for ``firings`` (``templating.task_triggers``)."""
    return task_triggers(_boundaries(firings, day), random_delay)


@lru_cache(maxsize=4096)  # the same instant near a change recurs across schedules
def _utc_trigger(at: datetime) -> tuple[str, tuple[str, ...]]:
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z", ()


@lru_cache(maxsize=4096)  # so does a weekly time and its days
def _weekly_trigger(day: str, hour: int, minute: int, days: frozenset[int]) -> tuple[str, tuple[str, ...]]:
    return f"{day}T{hour:02d}:{minute:02d}:00", tuple(WEEKDAYS[d] for d in sorted(days))


def _task(
    name: str,
    description: str,
    argv: list[str],
    ctx: RenderContext,
    *,
    run_as: str | None = None,
    triggers: str = "",
    boot: bool = False,
    priority: int | None = None,
    wake: bool = False,
    ac_power: bool = False,
    stop_on_battery: bool = False,
    network: bool = False,
) -> File:
    text = render_with(
        "taskscheduler/task.xml.j2",
        {
            "uri": task_path(name),
            "description": description,
            "command": argv[0],
            "arguments": argv[1:],
            "triggers": triggers,
            "boot": boot,
            "settings": _settings(
                ctx.system, run_as, priority or 7, wake, ac_power, stop_on_battery, network
            ),
            "config": str(ctx.config_path),
        },
    )
    return File(f"{name}.xml", text, encoding="utf-16", newline="\r\n")


@lru_cache(maxsize=1024)  # the same for every task of a job, and most jobs share one
def _settings(
    system: bool,
    run_as: str | None,
    priority: int,
    wake: bool,
    ac_power: bool,
    stop_on_battery: bool,
    network: bool,
) -> str:
    """A task's Principals and Settings (``taskscheduler/settings.xml.j2``)."""
    return render_with(
        "taskscheduler/settings.xml.j2",
        {
            "system": system,
            "run_as": run_as,
            "priority": priority,
            "wake": wake,
            "ac_power": ac_power,
            "stop_on_battery": stop_on_battery,
            "network": network,
        },
    )


class TaskScheduler(BaseTarget):
    name: ClassVar[str] = "taskscheduler"
    rank: ClassVar[int] = 30
    in_all: ClassVar[bool] = True
    auto_priority: ClassVar[int | None] = 10
    auto_reason: ClassVar[str] = "this is Windows"
    cost: ClassVar[int] = 4
    host_local: ClassVar[bool] = True  # fires by the host clock (the system zone)
    simulated: ClassVar[bool] = True

    def folders(self, ctx: RenderContext) -> list[Path]:
        return [target_work_dir(ctx.state_dir, self.name)]

    def firings(
        self,
        cfg: Config,
        ctx: RenderContext,
        files: list[File],
        a: datetime,
        b: datetime,
        engine: str,
        notes: list[str],
    ) -> tuple[list[Fired], str]:
        """Each task's triggers, as Task Scheduler runs them."""
        from ..scheduler_models import task_fires

        def name(j: str, s: str, k: str) -> str:
            return task_file(ctx, j, s, k)

        return per_file_firings(cfg, files, name, lambda text: task_fires(text, ctx.host_tz, a, b)), "osched"

    def detect(self, ctx: RenderContext) -> bool:
        return sys.platform == "win32"

    def notes(self, cfg: Config, ctx: RenderContext) -> list[str]:
        carried = limit_notes(cfg, "Task Scheduler (its Priority comes from nice)", carried=("nice",))
        return carried + condition_notes(cfg, self.name)

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        files: list[File] = []
        # a --system task runs as the jobs' user (S4U: logged on or not), as SYSTEM only when the
        # config says user = "root" or "SYSTEM"
        run_as = None
        if ctx.system:
            run_as, ctx = as_system(cfg, ctx, local=sys.platform == "win32")
        today = ctx.now.astimezone(ctx.host_tz).date().isoformat()
        host = ctx.host_tz
        for job, s in each_enabled(cfg, "tasks"):
            starts, stops = host_firings(s, host, ctx.now, exact=True)
            what = f"{job.name}/{s.id}: {s.start_text} for {s.duration_text} on {s.days_text} ({s.timezone})"
            for kind, argv, firings in (
                ("start", ctx.start_argv(job.name, s.id), starts),
                ("stop", ctx.stop_argv(job.name, s.id), stops),
            ):
                title = f"osched window {'start' if kind == 'start' else 'end'} of {what}"
                name = task_file(ctx, job.name, s.id, kind).removesuffix(".xml")
                delay = int(s.random_delay) if kind == "start" else 0
                triggers = _trigger_elements(firings, today, delay)
                priority = task_priority(job.limits)
                files.append(
                    _task(
                        name,
                        title,
                        argv,
                        ctx,
                        triggers=triggers,
                        run_as=run_as,
                        priority=priority,
                        wake=s.wake and kind == "start",
                        # the start's conditions; the stop task always runs
                        ac_power=job.on_ac_power and kind == "start",
                        stop_on_battery=job.stop_on_battery and kind == "start",
                        network=job.network and kind == "start",
                    )
                )
        if files:
            files.append(
                _task(
                    f"{ctx.config_id}.resume",
                    "osched catch-up: start jobs whose window is open",
                    ctx.resume_argv(),
                    ctx,
                    boot=True,
                    run_as=run_as,
                )
            )
        return files

    def plan(self, files: list[File], ctx: RenderContext, recorded: dict[str, Any], uninstall: bool) -> Plan:
        directory = target_work_dir(ctx.state_dir, self.name)
        plan = Plan(self.name, location=f"Task Scheduler folder {FOLDER}")
        desired = {} if uninstall else {f.name[: -len(".xml")]: f for f in files}
        before = {a["id"]: a for a in recorded.get("artifacts", [])}
        for name, f in sorted(desired.items()):
            data, path = f.data(), directory / f.name
            plan.artifacts.append({"id": name, "path": str(path), "sha256": sha(data)})
            old = read_bytes(path)
            if name in before and before[name]["sha256"] == sha(data) and old == data:
                continue
            plan.diffs.append(
                file_diff(f"{task_path(name)} ({path})", old.decode("utf-16") if old else None, f.content)
            )
            _plan_create(plan, ctx.runner, task_path(name), path, data, old)
        for name in sorted(set(before) - set(desired)):
            path = Path(before[name].get("path", directory / f"{name}.xml"))
            _plan_delete(plan, ctx.runner, task_path(name), path)
        if plan.steps:
            plan.summary.append(f"{len(plan.steps)} tasks created, changed or deleted in {FOLDER}")
        return plan

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        return files_drift(recorded.get("artifacts", []))

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        return tool_finding("schtasks", "Windows")


def _create(task: str, path: Path) -> list[str]:
    return ["schtasks", "/Create", "/TN", task, "/XML", str(path), "/F"]


def _plan_create(plan: Plan, run: Runner, task: str, path: Path, data: bytes, old: bytes | None) -> None:
    cmd = _create(task, path)
    plan.dirs.add(path.parent)

    def step() -> None:
        atomic_write(path, data, mode=0o600, durable=False)
        must(run, cmd)

    def undo() -> None:
        if old is None:
            run(["schtasks", "/Delete", "/TN", task, "/F"])
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, old, mode=0o600)
            run(cmd)

    plan.add(step, undo, cmd)


def _plan_delete(plan: Plan, run: Runner, task: str, path: Path) -> None:
    cmd = ["schtasks", "/Delete", "/TN", task, "/F"]
    old = read_bytes(path)
    plan.diffs.append(file_diff(task, old.decode("utf-16") if old else "(task)\n", None))

    def delete() -> None:
        must(run, cmd)
        path.unlink(missing_ok=True)

    def undo() -> None:
        if old is not None:
            atomic_write(path, old, mode=0o600)
            run(_create(task, path))

    plan.add(delete, undo, cmd)


TARGET: Target = TaskScheduler()
