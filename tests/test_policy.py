"""The decision policy, in-process and table-driven: no files, no processes, no clock.

One schedule ``day`` of job ``agent``: Tuesdays 10:00-14:00 UTC (2026-11-24 is a Tuesday).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from osched.model import Job, Schedule
from osched.runtime.policy import (
    Action,
    Facts,
    exit_decision,
    keep_running,
    restart_blocker,
    start_decision,
    stop_decision,
)
from osched.state import JobOutcome, JobState, Override

CFG = Path("/cfg/osched.toml")
DAY = Schedule(id="day", job="agent", hour=10, minute=0, duration=240, days=frozenset({1}), timezone="UTC")
OFF = replace(DAY, id="off", enabled=False)
LATE = replace(DAY, id="late", hour=13, minute=0, duration=120)  # 13:00-15:00, overlaps `day`
JOB = Job(name="agent", command=("x",), retries=3, backoff=(10.0, 30.0, 90.0), schedules=(DAY, OFF))
BOTH = replace(JOB, schedules=(DAY, LATE))


def t(hhmm: str, day: int = 24) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, day, h, m, tzinfo=UTC)


NOON = t("12:00")
WIN_START = "2026-11-24T10:00:00+00:00"


def ov(kind: str, until: str) -> Override:
    return Override(kind, t("09:00"), t(until), "manual")


def facts(now: datetime = NOON, running: bool = False, supervised: bool = False, **kw: object) -> Facts:
    st = JobState(**{k: v for k, v in kw.items() if k not in ("stop_override", "start_override")})  # type: ignore[arg-type]
    return Facts(
        now=now,
        state=st,
        running=running,
        supervised=supervised,
        stop_override=kw.get("stop_override"),  # type: ignore[arg-type]
        start_override=kw.get("start_override"),  # type: ignore[arg-type]
    )


START_CASES = [
    # (what, job, sid, facts, foreground) -> (action, reason contains, new window)
    ("no such job", None, "day", facts(), False, Action.SKIP, "no job 'agent' in /cfg/osched.toml", False),
    ("no such schedule", JOB, "gone", facts(), False, Action.SKIP, "no schedule 'gone'", False),
    ("disabled", JOB, "off", facts(), False, Action.SKIP, "schedule 'off' is disabled", False),
    ("before the window", JOB, "day", facts(now=t("08:00")), False, Action.SKIP, "outside the window", False),
    ("after the window", JOB, "day", facts(now=t("14:00")), False, Action.SKIP, "next start 2026-12-01", False),
    ("in the window", JOB, "day", facts(), False, Action.START, "window day open until", True),
    ("59 s early", JOB, "day", facts(now=t("09:59")), False, Action.START, "window day open", True),
    ("stop override", JOB, "day", facts(stop_override=ov("stop", "13:00")), False, Action.SKIP, "stop override", False),
    (
        "running and supervised",
        JOB, "day", facts(running=True, supervised=True, pid=7), False, Action.SKIP, "already running (pid 7)", False,
    ),
    ("running, supervisor gone", JOB, "day", facts(running=True, pid=7), False, Action.ADOPT, "supervisor was gone", False),
    ("running, foreground", JOB, "day", facts(running=True, pid=7), True, Action.SKIP, "already running", False),
    (
        "finished in this window",
        JOB, "day", facts(schedule="day", window_start=WIN_START, outcome="finished", finished_at="x"),
        False, Action.SKIP, "finished (exit 0)", False,
    ),
    (
        "gave up in this window",
        JOB, "day", facts(schedule="day", window_start=WIN_START, outcome="gave_up", crashes=3),
        False, Action.SKIP, "gave up after 3 crash restarts", False,
    ),
    (
        "crashed earlier in this window: same window, count kept",
        JOB, "day", facts(schedule="day", window_start=WIN_START, outcome="failed", crashes=2),
        False, Action.START, "window day open", False,
    ),
    (
        "finished by a manual run after the window opened",
        JOB, "day", facts(schedule="manual", finished_at="2026-11-24T11:00:00+00:00"),
        False, Action.SKIP, "finished (exit 0) at 2026-11-24T11:00", False,
    ),
    (
        "a manual run that gave up holds until its end (install's start of open windows too)",
        JOB, "day", facts(schedule="manual", window_start="2026-11-24T11:00:00+00:00",
                          window_end="2026-11-24T13:00:00+00:00", outcome="gave_up", crashes=3),
        False, Action.SKIP, "gave up after 3 crash restarts in its manual run until 2026-11-24T13:00", False,
    ),
    (
        "a manual run that gave up and ended: the window starts it",
        JOB, "day", facts(now=t("13:30"), schedule="manual", window_start="2026-11-24T11:00:00+00:00",
                          window_end="2026-11-24T13:00:00+00:00", outcome="gave_up", crashes=3),
        False, Action.START, "window day open", True,
    ),
    (
        "finished last week: a new window",
        JOB, "day", facts(schedule="day", window_start="2026-11-17T10:00:00+00:00", outcome="finished",
                          finished_at="2026-11-17T11:00:00+00:00"),
        False, Action.START, "window day open", True,
    ),
]


@pytest.mark.parametrize(
    ("what", "job", "sid", "fx", "foreground", "action", "reason", "new"), START_CASES, ids=[c[0] for c in START_CASES]
)
def test_start_decision(
    what: str, job: Job | None, sid: str, fx: Facts, foreground: bool, action: Action, reason: str, new: bool
) -> None:
    d = start_decision(job, "agent", sid, CFG, fx, foreground)
    assert (d.action, d.new_window) == (action, new)
    assert reason in d.reason


STOP_CASES = [
    ("in the window", JOB, NOON, None, Action.SKIP, "window agent/day is open until 2026-11-24T14:00"),
    ("at the end minute", JOB, t("14:00"), None, Action.STOP, "window ended"),
    ("59 s before the end: counts as the end", JOB, t("13:59"), None, Action.STOP, "window ended"),
    ("another schedule still open: latest stop wins", BOTH, t("14:00"), None, Action.SKIP, "agent/late"),
    ("a start override", JOB, t("15:00"), ov("start", "16:00"), Action.SKIP, "start override until"),
    ("an expired start override is the caller's to drop", JOB, t("17:00"), None, Action.STOP, "window ended"),
]


@pytest.mark.parametrize(("what", "job", "now", "start_ov", "action", "reason"), STOP_CASES, ids=[c[0] for c in STOP_CASES])
def test_stop_decision(what: str, job: Job, now: datetime, start_ov: Override | None, action: Action, reason: str) -> None:
    d = stop_decision(job, now, start_ov)
    assert d.action == action and reason in d.reason


def test_keep_running_strict_counts_the_window_open_now() -> None:
    # the stop firing's view (now + 60 s) sees the window over at 13:59:30; the supervisor's does not
    at = datetime(2026, 11, 24, 13, 59, 30, tzinfo=UTC)
    assert keep_running(JOB, at, None)[0] is None
    assert keep_running(JOB, at, None, strict=True)[0] == t("14:00")


RESTART_CASES = [
    ("may restart", JOB, facts(), ""),
    ("job removed", None, facts(), "the job was removed from the config"),
    ("stopped", JOB, facts(stop_requested=True), "it was stopped"),
    ("stop override", JOB, facts(stop_override=ov("stop", "13:00")), "a stop override is active"),
    ("window over", JOB, facts(now=t("14:01")), "its window is over"),
    ("manual start keeps it going", JOB, facts(now=t("15:00"), start_override=ov("start", "16:00")), ""),
    ("someone started it", JOB, facts(running=True, pid=9), "already running (pid 9)"),
]


@pytest.mark.parametrize(("what", "job", "fx", "why"), RESTART_CASES, ids=[c[0] for c in RESTART_CASES])
def test_restart_blocker(what: str, job: Job | None, fx: Facts, why: str) -> None:
    assert restart_blocker(job, fx) == why


EXIT_CASES = [
    ("exit 0", JOB, 0, 0, facts(), JobOutcome.FINISHED, None, "exit 0: done for this window"),
    ("first crash", JOB, 1, 0, facts(), JobOutcome.BACKOFF, 10.0, "exit 1; restart 1 of 3 in 10s"),
    ("second crash", JOB, 1, 1, facts(), JobOutcome.BACKOFF, 30.0, "restart 2 of 3 in 30s"),
    ("third crash", JOB, 1, 2, facts(), JobOutcome.BACKOFF, 90.0, "restart 3 of 3 in 90s"),
    ("retries used", JOB, 1, 3, facts(), JobOutcome.GAVE_UP, None, "3 crash restarts used (retries = 3)"),
    ("killed by a signal", JOB, -9, 0, facts(), JobOutcome.BACKOFF, 10.0, "killed by signal 9"),
    ("adopted: status unknown", JOB, None, 0, facts(), JobOutcome.BACKOFF, 10.0, "exit status unknown"),
    ("window over", JOB, 1, 0, facts(now=t("14:01")), JobOutcome.FAILED, None, "no restart: its window is over"),
    ("stop override", JOB, 2, 0, facts(stop_override=ov("stop", "13:00")), JobOutcome.FAILED, None, "a stop override"),
    ("job removed", None, 1, 0, facts(), JobOutcome.FAILED, None, "the job was removed"),
    ("backoff list shorter than retries", replace(JOB, retries=5, backoff=(1.0,)), 1, 4, facts(),
     JobOutcome.BACKOFF, 1.0, "restart 5 of 5 in 1s"),
]


@pytest.mark.parametrize(
    ("what", "job", "code", "crashes", "fx", "outcome", "delay", "reason"), EXIT_CASES, ids=[c[0] for c in EXIT_CASES]
)
def test_exit_decision(
    what: str, job: Job | None, code: int | None, crashes: int, fx: Facts, outcome: JobOutcome,
    delay: float | None, reason: str,
) -> None:
    d = exit_decision(job, code, crashes, fx)
    assert (d.outcome, d.delay) == (outcome, delay)
    assert reason in d.reason
