"""macOS launchd property lists: LaunchAgents (per user), LaunchDaemons with ``--system``.

Labels ``org.osched.<config id>.J.S.start`` / ``.stop`` and ``org.osched.<config id>.resume``
(``RunAtLoad``: the login/boot catch-up).  launchd's ``StartCalendarInterval`` runs in the
host's local time, so the firings come from ``project.host_firings``; a firing missed while
asleep runs on wake.  The template writes exactly what plistlib would (the tests compare),
with plistlib's escaping (``plist_string``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, ClassVar

from ..fsutil import atomic_write
from ..model import Config
from ..plan import Plan, file_diff, files_drift, read_text, restore, sha
from ..project import Firing, host_firings
from ..runner import must
from ..templating import render as render_template
from .base import File, Finding, RenderContext, tool_finding


def intervals(firings: list[Firing]) -> list[dict[str, int]]:
    """``StartCalendarInterval`` dicts; launchd weekdays: 0 is Sunday, 1 Monday .. 6 Saturday.
    A dated firing names its Month and Day; one in the host's repeated hour leaves out Hour
    (every hour that day), as cron's wildcard-hour line does."""
    out: list[dict[str, int]] = []
    for f in firings:
        if f.at is not None:
            dated = {"Month": f.month, "Day": f.day, "Minute": f.minute}
            out.append(dated if f.any_hour else {**dated, "Hour": f.hour})
        else:
            out += [{"Weekday": (d + 1) % 7, "Hour": f.hour, "Minute": f.minute} for d in sorted(f.days)]
    return out


def _plist(
    label: str,
    argv: list[str],
    ctx: RenderContext,
    intervals: list[dict[str, int]] | None = None,
    run_at_load: bool = False,
) -> File:
    text = render_template(
        "launchd/agent.plist.j2", label=label, argv=argv, intervals=intervals or [], run_at_load=run_at_load
    )
    return File(f"{label}.plist", text)


def label(ctx: RenderContext, rest: str) -> str:
    return f"org.osched.{ctx.config_id}.{rest}"


def domain(system: bool) -> str:
    return "system" if system else f"gui/{os.getuid() if hasattr(os, 'getuid') else 0}"


class Launchd:
    name: ClassVar[str] = "launchd"
    rank: ClassVar[int] = 40
    in_all: ClassVar[bool] = True
    auto_priority: ClassVar[int | None] = 10
    auto_reason: ClassVar[str] = "this is macOS"
    cost: ClassVar[int] = 2
    host_local: ClassVar[bool] = True  # fires by the host clock (the system zone)

    def detect(self, ctx: RenderContext) -> bool:
        return sys.platform == "darwin"

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        files: list[File] = []
        for job in cfg.jobs.values():
            for s in job.enabled_schedules:
                starts, stops = host_firings(s, ctx.host_tz, ctx.now, exact=True)
                start = label(ctx, f"{job.name}.{s.id}.start")
                stop = label(ctx, f"{job.name}.{s.id}.stop")
                files.append(_plist(start, ctx.start_argv(job.name, s.id), ctx, intervals=intervals(starts)))
                files.append(_plist(stop, ctx.stop_argv(job.name, s.id), ctx, intervals=intervals(stops)))
        if files:
            files.append(_plist(label(ctx, "resume"), ctx.resume_argv(), ctx, run_at_load=True))
        return files

    def plan(self, files: list[File], ctx: RenderContext, recorded: dict[str, Any], uninstall: bool) -> Plan:
        directory = ctx.settings.launchd_dir(ctx.system)
        dom = domain(ctx.system)
        plan = Plan(self.name, location=f"{directory} ({dom})")
        desired = {} if uninstall else {f.name: f.content for f in files}
        before = {a["id"] for a in recorded.get("artifacts", [])}
        for name, content in sorted(desired.items()):
            path = directory / name
            plan.artifacts.append({"id": name, "path": str(path), "sha256": sha(content)})
            _plan_load(plan, ctx, path, content)
        for name in sorted(before - set(desired)):
            _plan_unload(plan, ctx, directory / name)
        if plan.steps:
            plan.summary.append(f"{directory}: {len(plan.steps)} agents loaded, changed or removed")
        return plan

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        return files_drift(recorded.get("artifacts", []))

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        return tool_finding("launchctl", "macOS")


def _plan_load(plan: Plan, ctx: RenderContext, path: Path, content: str) -> None:
    """Write a plist and (re)load it: bootout the old one, bootstrap the new one."""
    old = read_text(path)
    if old == content:
        return
    run, dom = ctx.runner, domain(ctx.system)
    plan.diff += file_diff(str(path), old, content)
    boot_out = ["launchctl", "bootout", f"{dom}/{path.name[: -len('.plist')]}"]
    boot_in = ["launchctl", "bootstrap", dom, str(path)]
    plan.commands += [boot_out, boot_in] if old is not None else [boot_in]
    plan.dirs.add(path.parent)

    def step() -> None:
        if old is not None:
            run(boot_out)
        atomic_write(path, content.encode("utf-8"), mode=0o644, durable=False)
        must(run, boot_in)

    def undo() -> None:
        run(boot_out)
        restore(path, old)()
        if old is not None:
            run(boot_in)

    plan.add(step, undo)


def _plan_unload(plan: Plan, ctx: RenderContext, path: Path) -> None:
    run, dom = ctx.runner, domain(ctx.system)
    old = read_text(path)
    cmd = ["launchctl", "bootout", f"{dom}/{path.name[: -len('.plist')]}"]
    plan.diff += file_diff(str(path), old or "", None)

    def remove() -> None:
        run(cmd)  # not loaded is fine
        path.unlink(missing_ok=True)

    def unremove() -> None:
        if old is not None:
            restore(path, old)()
            run(["launchctl", "bootstrap", dom, str(path)])

    plan.add(remove, unremove, cmd)


TARGET = Launchd()
