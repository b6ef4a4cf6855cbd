"""macOS launchd property lists: LaunchAgents (per user), LaunchDaemons with ``--system``.

Labels ``org.osched.<config id>.J.S.start`` / ``.stop`` and ``org.osched.<config id>.resume``
(``RunAtLoad``: the login/boot catch-up).  launchd's ``StartCalendarInterval`` runs in the
host's local time, so the firings come from ``hostfirings.host_firings``; a firing missed while
asleep runs on wake.  The template writes exactly what plistlib would (the tests compare),
with plistlib's escaping (``plist_string``).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from ..hostfirings import Firing, host_firings
from ..model import Config
from ..plan import Plan, file_diff, files_drift, quiet, read_text, restore, run_step, sha
from ..templating import render as render_template
from .base import BaseTarget, File, Finding, Fired, RenderContext, Target, per_file_firings, tool_finding


def intervals(firings: list[Firing]) -> list[tuple[tuple[str, int], ...]]:
    """``StartCalendarInterval`` dicts as (key, integer) pairs in plistlib's (sorted) key order;
    launchd weekdays: 0 is Sunday, 1 Monday .. 6 Saturday.  A dated firing names its Month and
    Day; one in the host's repeated hour leaves out Hour (every hour that day), as cron's
    wildcard-hour line does."""
    out: list[tuple[tuple[str, int], ...]] = []
    for f in firings:
        if f.at is None:
            hm = (("Hour", f.hour), ("Minute", f.minute))
            out += [(*hm, ("Weekday", (d + 1) % 7)) for d in sorted(f.days)]
        elif f.any_hour:
            out.append((("Day", f.day), ("Minute", f.minute), ("Month", f.month)))
        else:
            out.append((("Day", f.day), ("Hour", f.hour), ("Minute", f.minute), ("Month", f.month)))
    return out


def _plist(
    label: str,
    argv: list[str],
    ctx: RenderContext,
    intervals: list[tuple[tuple[str, int], ...]] | None = None,
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


class Launchd(BaseTarget):
    name: ClassVar[str] = "launchd"
    rank: ClassVar[int] = 40
    in_all: ClassVar[bool] = True
    auto_priority: ClassVar[int | None] = 10
    auto_reason: ClassVar[str] = "this is macOS"
    cost: ClassVar[int] = 3
    host_local: ClassVar[bool] = True  # fires by the host clock (the system zone)
    simulated: ClassVar[bool] = True

    def folders(self, ctx: RenderContext) -> list[Path]:
        return [ctx.settings.launchd_dir(ctx.system)]

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
        """Each plist's calendar intervals (modelled as cron's fixed lines: docs/render.md)."""
        from ..scheduler_models import launchd_fires

        def name(j: str, s: str, k: str) -> str:
            return label(ctx, f"{j}.{s}.{k}") + ".plist"

        return per_file_firings(
            cfg, files, name, lambda text: launchd_fires(text, ctx.host_tz, a, b)
        ), "osched"

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
        """Unload what changes or goes (one ``launchctl bootout`` for all), write the files,
        load what is new or changed (one ``launchctl bootstrap`` for all): two launchctl
        processes for any number of agents."""
        directory = ctx.settings.launchd_dir(ctx.system)
        plan = Plan(self.name, location=f"{directory} ({domain(ctx.system)})")
        desired = {} if uninstall else {f.name: f.content for f in files}
        before = {a["id"] for a in recorded.get("artifacts", [])}
        changed: list[tuple[Path, str | None, str]] = []
        for name, content in sorted(desired.items()):
            path = directory / name
            plan.artifacts.append({"id": name, "path": str(path), "sha256": sha(content)})
            old = read_text(path)
            if old != content:
                changed.append((path, old, content))
        gone = [(directory / name, read_text(directory / name)) for name in sorted(before - set(desired))]
        _plan_batch(plan, ctx, changed, gone)
        if plan.steps:
            n = len(changed) + len(gone)
            plan.summary.append(f"{directory}: {n} agents loaded, changed or removed")
        return plan

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        return files_drift(recorded.get("artifacts", []))

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        return tool_finding("launchctl", "macOS")


def _plan_batch(
    plan: Plan,
    ctx: RenderContext,
    changed: list[tuple[Path, str | None, str]],
    gone: list[tuple[Path, str | None]],
) -> None:
    run, dom = ctx.runner, domain(ctx.system)
    loaded = [p for p, old, _ in changed if old is not None] + [p for p, old in gone if old is not None]
    if loaded:  # not loaded is fine: bootout's failure is ignored
        out = ["launchctl", "bootout", dom, *map(str, loaded)]
        back = ["launchctl", "bootstrap", dom, *map(str, loaded)]
        plan.add(quiet(run, out), quiet(run, back), out)
    for path, old, content in changed:
        plan.diffs.append(file_diff(str(path), old, content))
        plan.add(plan.write(path, content.encode("utf-8"), 0o644), restore(path, old))
    for path, old in gone:
        plan.diffs.append(file_diff(str(path), old or "", None))
        plan.add(_unlink(path), restore(path, old))
    if changed:
        new = [str(p) for p, _, _ in changed]
        boot_in = ["launchctl", "bootstrap", dom, *new]
        plan.add(run_step(run, boot_in), quiet(run, ["launchctl", "bootout", dom, *new]), boot_in)


def _unlink(path: Path) -> Any:
    def step() -> None:
        path.unlink(missing_ok=True)

    return step


TARGET: Target = Launchd()
