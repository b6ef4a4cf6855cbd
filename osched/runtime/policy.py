"""Should the job run?  Pure functions of (config, windows, overrides, job state, now).

The code around them (``decide``, ``supervisor``) gathers the inputs under the job's lock and
applies the result; these functions read no file, start no process and log nothing, so they
are tested in-process with tables (tests/test_policy.py).

* start firing of schedule S: acts only if S exists and is enabled, its window is open now
  (or opens within ``EARLY``), no stop override is active, the job is not running, and it has
  not finished (exit 0) or given up in this window.  A new window resets the crash count.
* stop firing: skips while any enabled schedule of the job has a window open (judged at
  ``now + EARLY``, so a stop firing at the end minute, or a little early, counts as the end)
  or a start override is active; otherwise the job is stopped.
* after an exit: exit 0 is done for the window; a crash is restarted after the backoff, at
  most ``retries`` times per window, only while the job should be running.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from ..core import rule
from ..model import Job, Schedule
from ..state import JobOutcome, JobState, Override, iso, parse_iso
from ..windows import Window, next_window, windows_between


def seconds(windows: list[Window]) -> list[tuple[float, float]]:
    """Windows as the rule takes them: UTC seconds."""
    return [(w.start.timestamp(), w.end.timestamp()) for w in windows]


def latest_open(job: Job, times: tuple[datetime, ...]) -> Window | None:
    """The window of an enabled schedule open at one of ``times`` that ends last
    (``core.rule.latest_open``: the latest stop wins)."""
    a, b = min(times), max(times) + _SECOND
    groups = [windows_between(s, a, b) for s in job.enabled_schedules]
    found = rule.latest_open([seconds(g) for g in groups], [t.timestamp() for t in times])
    return None if found is None else groups[found[0]][found[1]]


EARLY = timedelta(seconds=rule.EARLY)  # a firing this much early still counts
_SECOND = timedelta(seconds=1)
GRACE = 5.0  # the supervisor's own end-of-window stop comes this long after the stop firing
WAKE = 60.0  # the supervisor re-checks the clock (suspend, clock changes) and power this often


# Plain classes, not dataclasses or an Enum: this module is on the path every timer firing
# takes, and generating those classes costs more at import than the whole decision.
class Action:
    SKIP: Final = "skip"
    START: Final = "start"  # start the job (a new run in window ``window``)
    ADOPT: Final = "adopt"  # the job runs, its supervisor is gone: supervise it again
    STOP: Final = "stop"


class Decision:
    __slots__ = ("action", "new_window", "reason", "window")

    def __init__(
        self, action: str, reason: str, window: Window | None = None, new_window: bool = False
    ) -> None:
        self.action = action
        self.reason = reason
        self.window = window
        self.new_window = new_window  # the run belongs to a window the state has not seen: reset crashes

    def __repr__(self) -> str:
        return f"Decision({self.action!r}, {self.reason!r})"


def skip(reason: str) -> Decision:
    return Decision(Action.SKIP, reason)


class Facts:
    """What the caller read under the job's lock."""

    __slots__ = ("now", "refused", "running", "start_override", "state", "stop_override", "supervised")

    def __init__(
        self,
        now: datetime,
        state: JobState,
        running: bool,  # the job's pid is alive (checked with its start time)
        supervised: bool,  # its supervisor's pid is alive
        stop_override: Override | None = None,  # in force at ``now``
        start_override: Override | None = None,
        refused: str = "",  # the config failed the trust check at the last reload: why
    ) -> None:
        self.now, self.state, self.running, self.supervised = now, state, running, supervised
        self.stop_override, self.start_override, self.refused = stop_override, start_override, refused

    def with_refusal(self, refused: str) -> Facts:
        return Facts(
            self.now,
            self.state,
            self.running,
            self.supervised,
            self.stop_override,
            self.start_override,
            refused,
        )


def window_for_start(job: Job, sid: str, now: datetime) -> Window | None:
    """The window a start firing of ``sid`` at ``now`` belongs to (``core.rule.start_index``:
    open now, or opening within EARLY)."""
    s = job.schedule(sid)
    if s is None:
        return None
    windows = windows_between(s, now, now + EARLY + _SECOND)
    i = rule.start_index(seconds(windows), now.timestamp())
    return None if i is None else windows[i]


def dates_skip(s: Schedule, now: datetime) -> str | None:
    """Why a start firing of ``s`` at ``now`` is skipped when its weekday's window would be
    open but its date is skipped (``skip``, a holiday); None otherwise."""
    if not s.skip and s.holidays is None:
        return None
    from ..dates import undated, why_excluded

    windows = windows_between(undated(s), now, now + EARLY + _SECOND)
    i = rule.start_index(seconds(windows), now.timestamp())
    if i is None:
        return None
    day = windows[i].start.astimezone(s.tz).date()
    return f"{s.id}: {why_excluded(s, day)}"


def start_precheck(job: Job | None, job_name: str, sid: str, config: Path, now: datetime) -> Decision:
    """The part of the start decision that needs no state: the common skip takes no lock.
    SKIP, or START with the window (to be confirmed by ``start_decision``)."""
    if job is None:
        return skip(f"no job {job_name!r} in {config}")
    s = job.schedule(sid)
    if s is None:
        return skip(f"no schedule {sid!r} (removed from the config)")
    if not s.enabled:
        return skip(f"schedule {sid!r} is disabled")
    w = window_for_start(job, sid, now)
    if w is None:
        dated = dates_skip(s, now)
        if dated:
            return skip(dated)
        nxt = next_window(s, now)
        ahead = f"next start {iso(nxt.start)}" if nxt is not None else "no window ahead"
        return skip(f"outside the window of {sid} ({ahead})")
    return Decision(Action.START, f"window {sid} open until {iso(w.end)}", w)


def start_decision(
    job: Job | None, job_name: str, sid: str, config: Path, facts: Facts, foreground: bool
) -> Decision:
    """What a start firing of schedule ``sid`` does, given what was read under the lock."""
    pre = start_precheck(job, job_name, sid, config, facts.now)
    if pre.action == Action.SKIP or pre.window is None:
        return pre
    w, st = pre.window, facts.state
    if facts.stop_override is not None:
        return skip(f"stop override until {iso(facts.stop_override.expires)}")
    if facts.running:
        if not facts.supervised and not foreground:
            return Decision(Action.ADOPT, "its supervisor was gone")
        return skip(f"already running (pid {st.pid})")
    finished = f"finished (exit 0) at {st.finished_at} in this window"
    if st.window_key() == (sid, iso(w.start)):
        if st.outcome == JobOutcome.FINISHED:
            return skip(finished)
        if st.outcome == JobOutcome.GAVE_UP:
            n = st.crashes
            return skip(f"gave up after {n} crash restart{'s' if n != 1 else ''} in this window")
        return pre
    done_at = parse_iso(st.finished_at)
    if done_at is not None and done_at >= w.start:
        return skip(finished)
    manual_end = parse_iso(st.window_end) if st.schedule == "manual" else None
    if st.outcome == JobOutcome.GAVE_UP and manual_end is not None and manual_end > facts.now:
        # a manual run that gave up holds until its end: a start firing (or an install that
        # starts open windows) does not start it again, nor run on_failure again
        n = st.crashes
        restarts = f"{n} crash restart{'s' if n != 1 else ''}"
        return skip(f"gave up after {restarts} in its manual run until {iso(manual_end)}")
    return Decision(Action.START, pre.reason, w, new_window=True)


def keep_running(
    job: Job, now: datetime, start_override: Override | None, strict: bool = False
) -> tuple[datetime | None, str]:
    """Should the job be running at ``now``?  (until, why), or (None, "").

    For a stop firing a window counts as open at ``now + EARLY``: one that ends within a
    minute is over, one that opens within a minute has begun ("latest stop wins" across
    schedules).  ``strict`` (the supervisor's own clock) also counts a window open at ``now``
    itself, so nothing is stopped before its end."""
    last = latest_open(job, (now, now + EARLY) if strict else (now + EARLY,))
    if last is not None:
        return last.end, f"window {job.name}/{last.schedule.id} is open until {iso(last.end)}"
    if start_override is not None and start_override.expires is not None:
        return start_override.expires, f"start override until {iso(start_override.expires)}"
    return None, ""


def stop_decision(job: Job, now: datetime, start_override: Override | None) -> Decision:
    until, why = keep_running(job, now, start_override)
    return skip(why) if until is not None else Decision(Action.STOP, "window ended")


def restart_blocker(job: Job | None, facts: Facts) -> str:
    """Why a crashed job must not be restarted now, or "" when it may."""
    if facts.refused:
        return f"the config is refused ({facts.refused})"
    if job is None:
        return "the job was removed from the config"
    if facts.state.stop_requested:
        return "it was stopped"
    if facts.stop_override is not None:
        return "a stop override is active"
    if keep_running(job, facts.now, facts.start_override, strict=True)[0] is None:
        return "its window is over"
    if facts.running:
        return f"already running (pid {facts.state.pid})"
    return ""


def describe_exit(code: int | None) -> str:
    if code is None:
        return "ended (exit status unknown: adopted)"
    return f"exit {code}" if code >= 0 else f"killed by signal {-code}"


class ExitDecision:
    __slots__ = ("delay", "outcome", "reason")

    def __init__(self, outcome: JobOutcome, reason: str, delay: float | None = None) -> None:
        self.outcome = outcome  # FINISHED, GAVE_UP, FAILED (no restart) or BACKOFF (restart after delay)
        self.reason = reason
        self.delay = delay


def exit_decision(
    job: Job | None, code: int | None, crashes: int, facts: Facts, note: str = ""
) -> ExitDecision:
    """What follows the job's exit with ``code`` after ``crashes`` restarts in this window
    (``note``: said with the exit, such as the memory limit it ran under)."""
    if code == 0:
        return ExitDecision(JobOutcome.FINISHED, "exit 0: done for this window")
    what = describe_exit(code) + note
    why_not = ""
    if facts.refused:
        why_not = f"the config is refused ({facts.refused})"
    elif job is None:
        why_not = "the job was removed from the config"
    elif facts.stop_override is not None:
        why_not = "a stop override is active"
    elif keep_running(job, facts.now, facts.start_override, strict=True)[0] is None:
        why_not = "its window is over"
    elif crashes >= job.retries:
        return ExitDecision(
            JobOutcome.GAVE_UP, f"{what}; {crashes} crash restarts used (retries = {job.retries})"
        )
    if why_not or job is None:
        return ExitDecision(JobOutcome.FAILED, f"{what}; no restart: {why_not}")
    n = crashes + 1
    delay = job.backoff[min(n - 1, len(job.backoff) - 1)]
    return ExitDecision(JobOutcome.BACKOFF, f"{what}; restart {n} of {job.retries} in {delay:g}s", delay)


def random_start(job: Job, sid: str, now: datetime) -> datetime | None:
    """When a start firing of ``sid`` acts, if the schedule has a ``random_delay`` and the
    firing has a window to start (``window_for_start``): a random instant up to the delay
    later, never later than a minute before the window ends (the stop still comes at the
    window's end).  None: act now (no delay, or no window: the decision says why)."""
    import random

    s = job.schedule(sid)
    if s is None or not s.enabled or not s.random_delay:
        return None
    w = window_for_start(job, sid, now)
    if w is None:
        return None
    latest = min(max(w.start, now) + timedelta(seconds=s.random_delay), w.end - timedelta(minutes=1))
    if latest <= now:
        return None
    return now + (latest - now) * random.SystemRandom().random()
