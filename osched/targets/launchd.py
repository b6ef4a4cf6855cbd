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
from zoneinfo import ZoneInfo

from ..hostfirings import Firing, before_repeat, host_firings, per_firings
from ..model import Config
from ..plan import Plan, file_diff, files_drift, quiet, read_text, restore, run_step, sha
from ..templating import render as render_template
from .base import (
    BaseTarget,
    File,
    Finding,
    Fired,
    RenderContext,
    Target,
    each_enabled,
    tool_finding,
)
from .extras import as_system, condition_notes, limit_notes, wake_notes

Interval = tuple[tuple[str, int], ...]


@per_firings  # schedules with the same timing share their firings' tuple
def intervals(
    firings: tuple[Firing, ...], host: ZoneInfo
) -> tuple[tuple[Interval, ...], tuple[Interval, ...], int]:
    """``StartCalendarInterval`` dicts as (key, integer) pairs in plistlib's (sorted) key order
    (launchd weekdays: 0 is Sunday, 1 Monday .. 6 Saturday): (the firings', those of the
    waiting agent, the minutes it waits at most).  A dated firing names its Month and Day.
    launchd documents no behaviour in a repeated hour (one pass or both), so an instant there
    is not a wall time to fire at: the waiting agent fires one minute before the repeated span
    begins, a wall time that occurs once, and its entrypoint waits (``--wait``) to the
    instant."""
    out: list[Interval] = []
    waits: set[Interval] = set()
    longest = 0
    for f in firings:
        if f.at is None:
            hm = (("Hour", f.hour), ("Minute", f.minute))
            out += [(*hm, ("Weekday", (d + 1) % 7)) for d in sorted(f.days)]
        elif f.any_hour:
            u = before_repeat(f.at, host).astimezone(host)
            longest = max(longest, int((f.at - u).total_seconds()) // 60 + 1)
            waits.add((("Day", u.day), ("Hour", u.hour), ("Minute", u.minute), ("Month", u.month)))
        else:
            out.append((("Day", f.day), ("Hour", f.hour), ("Minute", f.minute), ("Month", f.month)))
    order = sorted(waits, key=lambda iv: (iv[3][1], iv[0][1], iv[1][1], iv[2][1]))
    return tuple(out), tuple(order), longest


def _wait_of(content: str) -> int:
    import plistlib

    argv = plistlib.loads(content.encode("utf-8"))["ProgramArguments"]
    return int(argv[argv.index("--wait") + 1])


def _plist(
    label: str,
    argv: list[str],
    ctx: RenderContext,
    intervals: tuple[Interval, ...] = (),
    run_at_load: bool = False,
    user: str | None = None,
    limits: dict[str, object] | None = None,
) -> File:
    text = render_template(
        "launchd/agent.plist.j2",
        label=label,
        argv=argv,
        intervals=intervals,
        run_at_load=run_at_load,
        user=user,
        nice=(limits or {}).get("nice"),
        low_io=(limits or {}).get("io") == "idle",
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
    renews_from_firing: ClassVar[bool] = False  # bootout would end the firing's own agent

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
        """Each plist's calendar intervals (``scheduler_models.launchd_fires``: a repeated wall
        time on its first pass unless ``engine`` names ``launchd-second`` or ``launchd-both``);
        a waiting agent's firing acts at the window's edge within its wait, as its entrypoint
        does."""
        from datetime import timedelta

        from ..scheduler_models import launchd_fires
        from ..windows import windows_between

        repeated = {"launchd-second": "second", "launchd-both": "both"}.get(engine, "first")
        by_name = {f.name: f.content for f in files}
        out: list[Fired] = []
        for job, sched in each_enabled(cfg, "firings"):
            for kind in ("start", "stop"):
                base = label(ctx, f"{job.name}.{sched.id}.{kind}")
                for t in launchd_fires(by_name[base + ".plist"], ctx.host_tz, a, b, repeated):
                    out.append((t, job.name, sched.id, kind))
                wait = by_name.get(base + "-wait.plist")
                if wait is None:
                    continue
                limit = timedelta(minutes=_wait_of(wait))
                for t in launchd_fires(wait, ctx.host_tz, a - limit, b, repeated):
                    edges = [
                        e
                        for w in windows_between(sched, t - timedelta(days=8), t + limit)
                        if t < (e := w.start if kind == "start" else w.end) <= t + limit
                    ]
                    at = min(edges) if edges else t
                    if a <= at < b:
                        out.append((at, job.name, sched.id, kind))
        return out, "osched" if repeated == "first" else engine

    def detect(self, ctx: RenderContext) -> bool:
        return sys.platform == "darwin"

    def notes(self, cfg: Config, ctx: RenderContext) -> list[str]:
        return limit_notes(cfg, "launchd") + wake_notes(cfg, "launchd") + condition_notes(cfg, "launchd")

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        files: list[File] = []
        user = None  # a LaunchDaemon runs as root unless it names a UserName
        if ctx.system:
            user, ctx = as_system(cfg, ctx)
        for job, s in each_enabled(cfg, "launchd plists"):
            starts, stops = host_firings(s, ctx.host_tz, ctx.now, exact=True)
            argvs = {
                "start": ctx.start_argv(job.name, s.id, random_delay=bool(s.random_delay)),
                "stop": ctx.stop_argv(job.name, s.id),
            }
            for kind, found in (("start", starts), ("stop", stops)):
                fixed, waits, minutes = intervals(found, ctx.host_tz)
                name = label(ctx, f"{job.name}.{s.id}.{kind}")
                lim = job.limits if kind == "start" else None
                files.append(_plist(name, argvs[kind], ctx, intervals=fixed, user=user, limits=lim))
                if waits:
                    wait_argv = [*argvs[kind], "--wait", str(minutes)]
                    files.append(
                        _plist(f"{name}-wait", wait_argv, ctx, intervals=waits, user=user, limits=lim)
                    )
        if files:
            files.append(_plist(label(ctx, "resume"), ctx.resume_argv(), ctx, run_at_load=True, user=user))
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
