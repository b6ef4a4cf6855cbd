"""``osched simulate``: replay what a target's rendered artifacts would fire, through the real
start/stop decisions, and flag every window that would open or close late or never.

The artifacts are rendered exactly as ``install`` would write them and read back (crontab
lines, ``OnCalendar=`` lines, task triggers, plist intervals); when each one fires comes from
``scheduler_models`` (Debian cron's DST rules; systemd's engine, or ``systemd-analyze calendar``
when it is installed).  Each firing then goes through ``runtime.policy`` (the code the
entrypoints run) with a simulated job that runs until it is stopped, in time order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .model import Config, Job, Schedule
from .runtime.policy import EARLY, Action, Facts, start_decision, stop_decision
from .state import JobOutcome, JobState, iso
from .targets.base import RenderContext
from .windows import Window, windows_between

if TYPE_CHECKING:
    from .config import Loaded

ON_TIME = timedelta(seconds=60)  # a firing within the window's first minute is on time


@dataclass(frozen=True, slots=True)
class Firing:
    at: datetime  # UTC
    job: str
    schedule: str
    kind: str  # start | stop


@dataclass(slots=True)
class Decided:
    firing: Firing
    action: str  # start | skip | stop
    reason: str


@dataclass(slots=True)
class Verdict:
    """One window: when the job was started and stopped for it, by the scheduler's firings."""

    window: Window
    opened: datetime | None = None  # the firing that started the job (or found it running)
    closed: datetime | None = None  # the firing that stopped it (end of the job's open span)
    judge_open: bool = True  # False: opened before the simulated range
    judge_close: bool = True  # False: its end is inside another open window of the job, or after the range

    @property
    def late_open(self) -> bool:
        return self.judge_open and (self.opened is None or self.opened >= self.window.start + ON_TIME)

    @property
    def late_close(self) -> bool:
        end = self.window.end
        return self.judge_close and (self.closed is None or self.closed >= end + ON_TIME)


@dataclass
class Result:
    target: str
    host_zone: str
    start: datetime
    end: datetime
    engine: str
    decided: list[Decided] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    artifacts: str = "fresh"  # or "installed <date>": what was replayed

    @property
    def problems(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.late_open or v.late_close]


# -- a target's artifacts, read back (its ``firings``) ------------------------------------------------
def simulated() -> tuple[str, ...]:
    """The targets whose artifacts simulate can read back."""
    from . import targets

    return tuple(t.name for t in targets.all_targets() if t.simulated)


def firings(
    target: str,
    cfg: Config,
    ctx: RenderContext,
    a: datetime,
    b: datetime,
    engine: str = "auto",
    notes: list[str] | None = None,
    run_zone: str | None = None,
) -> tuple[list[Firing], str]:
    """Every start and stop firing in ``[a, b)`` of ``target``'s artifacts for ``cfg``, and the
    engine that computed them (systemd: ``osched`` or ``systemd-analyze``).  The artifacts are
    rendered with ``ctx``; the scheduler runs them in ``run_zone`` (default: ``ctx``'s)."""
    from dataclasses import replace

    from . import targets

    t = targets.get(target)
    if not t.simulated:
        raise ValueError(f"simulate knows {', '.join(simulated())}, not {target!r}")
    files = targets.render(target, cfg, ctx)
    run_ctx = ctx if run_zone is None or run_zone == ctx.host_zone else replace(ctx, host_zone=run_zone)
    current = targets.ahead(cfg, ctx.now)  # what was rendered
    found, used = t.firings(current, run_ctx, files, a, b, engine, notes if notes is not None else [])
    out = sorted((Firing(*f) for f in found), key=lambda f: (f.at, f.job, f.kind != "stop", f.schedule))
    return out, used


def _enabled(cfg: Config) -> Iterator[tuple[Job, Schedule]]:
    for j in cfg.jobs.values():
        for s in j.enabled_schedules:
            yield j, s


# -- the replay ------------------------------------------------------------------------------------
class _Job:
    """A simulated job: runs from an acting start firing until an acting stop firing."""

    def __init__(self) -> None:
        self.state = JobState()
        self.running = False


def replay(cfg: Config, fired: list[Firing]) -> list[Decided]:
    jobs: dict[str, _Job] = {name: _Job() for name in cfg.jobs}
    out = []
    for f in fired:
        job, sim = cfg.jobs[f.job], jobs[f.job]
        if f.kind == "start":
            facts = Facts(f.at, sim.state, sim.running, supervised=True)
            d = start_decision(job, f.job, f.schedule, cfg.path, facts, foreground=False)
            if d.action == Action.START and d.window is not None:
                sim.running = True
                sim.state = JobState(
                    pid=1,
                    started_at=iso(f.at),
                    schedule=f.schedule,
                    window_start=iso(d.window.start),
                    window_end=iso(d.window.end),
                    outcome=JobOutcome.RUNNING,
                )
                out.append(Decided(f, "start", d.reason))
            else:
                out.append(Decided(f, d.action, d.reason))
        else:
            d = stop_decision(job, f.at, None)
            if d.action == Action.STOP:
                was = sim.running
                sim.running = False
                sim.state = JobState(
                    schedule=sim.state.schedule,
                    window_start=sim.state.window_start,
                    outcome=JobOutcome.STOPPED,
                )
                out.append(Decided(f, "stop", "window ended" + ("" if was else " (not running)")))
            else:
                out.append(Decided(f, "skip", d.reason))
    return out


def judge(cfg: Config, decided: list[Decided], a: datetime, b: datetime) -> list[Verdict]:
    verdicts = []
    for j in cfg.jobs.values():
        windows = sorted(
            (w for s in j.enabled_schedules for w in windows_between(s, a, b)), key=lambda w: w.start
        )
        mine = [d for d in decided if d.firing.job == j.name]
        starts = [d for d in mine if d.firing.kind == "start"]
        stops = [d for d in mine if d.action == "stop"]
        for w in windows:
            v = Verdict(w, judge_open=w.start >= a, judge_close=w.end < b - ON_TIME)
            sid = w.schedule.id
            for d in starts:
                t = d.firing.at
                if d.firing.schedule != sid or t < w.start - EARLY or t >= w.end:
                    continue
                if d.action == "start" or d.reason.startswith("already running"):
                    v.opened = t
                    break
            # the job's open span: its end is the close that must come on time
            if any(o.start <= w.end < o.end and o is not w for o in windows):
                v.judge_close = False
            for d in stops:
                if d.firing.at >= w.end - EARLY:
                    v.closed = d.firing.at
                    break
            verdicts.append(v)
    return verdicts


def simulate(
    target: str,
    cfg: Config,
    ctx: RenderContext,
    a: datetime,
    b: datetime,
    engine: str = "auto",
    run_zone: str | None = None,
    notes: list[str] | None = None,
) -> Result:
    notes = list(notes or [])
    fired, used = firings(target, cfg, ctx, a, b, engine, notes, run_zone)
    decided = replay(cfg, fired)
    zone = run_zone or ctx.host_zone
    return Result(target, zone, a, b, used, decided, judge(cfg, decided, a, b), notes)


# -- what is installed -----------------------------------------------------------------------------
def installed_context(
    loaded: Loaded, target: str, entry: dict[str, Any], ctx: RenderContext
) -> tuple[RenderContext | None, str]:
    """The context ``target`` was installed with (its date, host zone, entrypoints, from the
    manifest), when rendering with it gives back exactly the artifacts the manifest records
    and the scheduler still has; else (None, why not)."""
    from . import install as inst
    from . import targets
    from .plan import sha
    from .upkeep import as_installed

    if sha(loaded.data) != entry.get("config_sha256"):
        return None, "the config changed since it was installed"
    try:
        at = datetime.fromisoformat(str(entry.get("installed_at")))
    except ValueError:
        return None, "the install date in the manifest is unreadable"
    then = as_installed(ctx, entry, now=at, host_zone=str(entry.get("host_timezone") or ctx.host_zone))
    drifted = targets.get(target).drift(entry, then)
    if drifted:
        return None, f"the installed artifacts differ from the manifest ({drifted[0]})"
    plan = inst.install(loaded, then, target, dry_run=True).plan
    if sorted(a.get("sha256", "") for a in plan.artifacts) != sorted(
        a.get("sha256", "") for a in entry.get("artifacts", [])
    ):
        return None, "this osched renders other artifacts than the ones installed"
    return then, ""


def as_json(r: Result) -> dict[str, Any]:
    return {
        "target": r.target,
        "host_timezone": r.host_zone,
        "from": iso(r.start),
        "to": iso(r.end),
        "engine": r.engine,
        "artifacts": r.artifacts,
        "firings": [
            {
                "at": iso(d.firing.at),
                "job": d.firing.job,
                "schedule": d.firing.schedule,
                "kind": d.firing.kind,
                "action": d.action,
                "reason": d.reason,
            }
            for d in r.decided
        ],
        "windows": [
            {
                "job": v.window.schedule.job,
                "schedule": v.window.schedule.id,
                "start": iso(v.window.start),
                "end": iso(v.window.end),
                "opened": iso(v.opened),
                "closed": iso(v.closed),
                "late_open": v.late_open,
                "late_close": v.late_close,
            }
            for v in r.verdicts
        ],
        "problems": len(r.problems),
        "notes": r.notes,
    }
