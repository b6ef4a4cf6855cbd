"""``osched status``: a table like ``systemctl list-timers`` — per job NEXT (and LEFT), LAST and
its RESULT, the window end — then what needs saying: the process, overrides and the starts
they suppress, crash restarts, a pointer to ``osched logs`` after a failure.  No click."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .model import Job
from .views import human, local_iso, runtime_dict, status_times

HEADERS = ("JOB", "NEXT", "LEFT", "LAST", "RESULT", "WINDOW ENDS")


def left(t: datetime | None, now: datetime) -> str:
    """``in 3h 05m`` / ``5m ago`` / ``-``."""
    if t is None:
        return "-"
    raw = (t - now).total_seconds()
    ahead = raw >= 0
    seconds = abs(raw)
    seconds = int(-(-seconds // 60) * 60) if seconds >= 60 else int(seconds)  # whole minutes, rounded up
    d, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m = rest // 60
    if d:
        text = f"{d}d {h}h"
    elif h:
        text = f"{h}h {m:02d}m"
    elif m:
        text = f"{m}m"
    else:
        text = f"{seconds}s"
    return f"in {text}" if ahead else f"{text} ago"


def result(rt: dict[str, Any]) -> str:
    """The last run's result, as RESULT shows it."""
    outcome, code, crashes = rt["outcome"], rt["last_exit"], rt["crash_count"]
    if outcome == "running":
        return "running"
    if outcome == "finished":
        return "exit 0"
    if outcome == "gave_up":
        return f"gave up (exit {code})" if code is not None else "gave up"
    if outcome == "backoff":
        return f"restarting ({crashes} of the retries used)"
    if outcome == "failed":
        return f"exit {code}" if code is not None else "could not start"
    if outcome == "stopped":
        return "stopped"
    return "-"


# what a firing that failed logs: the scheduler ran osched, and osched could not act
FIRING_FAILURES = (
    "config_error",
    "refused",
    "start_failed",
    "restart_failed",
    "state_unrecorded",
    "supervisor_error",
    "on_failure_failed",
)


def last_failure(last: dict[str, Any] | None) -> dict[str, Any] | None:
    """The job's last event when it says a firing failed (None when the last word is not a
    failure: a later decision went through)."""
    if last is None or last.get("event") not in FIRING_FAILURES:
        return None
    return {"time": last.get("time"), "event": last["event"], "reason": str(last.get("reason", ""))}


def job_status(
    state: Any, job: Job, now: datetime, tz: ZoneInfo, last: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON object of one job (docs/json.md); ``last``: its last event (``last_events``)."""
    rt = runtime_dict(state, job.name, now, tz)
    fields, next_run = status_times(job, now, tz)
    suppressed_by = None
    for ov in rt["overrides"]:
        if (
            ov["kind"] == "stop"
            and next_run is not None
            and datetime.fromisoformat(ov["expires"]) > next_run.start
        ):
            suppressed_by = ov
    failed = rt["outcome"] in ("failed", "gave_up")
    return {
        **fields,
        **rt,
        "next_run": None
        if next_run is None
        else {
            "schedule": next_run.schedule.id,
            "start": local_iso(next_run.start, tz),
            "left_seconds": int((next_run.start - now).total_seconds()),
            "suppressed_by_override": suppressed_by is not None,
        },
        "result": result(rt),
        "hint": f"osched logs {job.name}" if failed else None,
        "last_failure": last_failure(last),
    }


def table(rows: list[dict[str, Any]], now: datetime, tz: ZoneInfo) -> str:
    """The list-timers-like table and, under it, one indented line per thing worth saying."""

    def when(text: str | None) -> str:
        return human(datetime.fromisoformat(text), tz) if text else "-"

    cells = []
    notes: list[str] = []
    for r in rows:
        nxt = r["next_run"]
        start = datetime.fromisoformat(nxt["start"]) if nxt else None
        next_cell = when(nxt["start"]) if nxt else "-"
        if nxt and nxt["suppressed_by_override"]:
            next_cell += " (skipped)"
        cells.append(
            (
                r["name"],
                next_cell,
                left(start, now),
                when(r["last_started"]),
                r["result"],
                when(r["window_end"]),
            )
        )
        notes += [f"  {r['name']}: {n}" for n in _notes(r, when)]
    widths = [max(len(str(c[i])) for c in [HEADERS, *cells]) for i in range(len(HEADERS))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(c, widths, strict=True)).rstrip() for c in [HEADERS, *cells]
    ]
    n = len(rows)
    lines.append(f"\n{n} job{'s' if n != 1 else ''} listed; times in {tz.key}.")
    return "\n".join(lines + (["", *notes] if notes else []))


def _notes(r: dict[str, Any], when: Any) -> list[str]:
    out = []
    p = r["process"]
    if p:
        sup = f", supervisor {p['supervisor_pid']}" if p["supervisor_pid"] else ", no supervisor"
        out.append(f"running (pid {p['pid']} since {when(p['since'])}{sup})")
    elif r["in_window"]:
        why = {"finished": "it finished (exit 0) in this window", "gave_up": "it gave up in this window"}
        stop = [o for o in r["overrides"] if o["kind"] == "stop"]
        reason = (
            f"stop override until {when(stop[0]['expires'])}" if stop else why.get(r["outcome"] or "", "")
        )
        out.append("in window, not running" + (f": {reason}" if reason else ""))
    for ov in r["overrides"]:
        what = f"{ov['kind']} override until {when(ov['expires'])} ({ov['reason']})"
        if ov["kind"] == "stop" and r["next_run"] and r["next_run"]["suppressed_by_override"]:
            what += f"; it skips the start at {when(r['next_run']['start'])}"
        out.append(what)
    crashes = r["crash_count"]
    if crashes and r["outcome"] in ("running", "backoff"):
        out.append(f"{crashes} crash restart{'s' if crashes != 1 else ''} in this window")
    if r["hint"]:
        out.append(f"last run: {r['result']}; see its output: {r['hint']}")
    f = r.get("last_failure")
    if f:
        out.append(f"the last firing failed at {when(f['time'])}: {f['event']}: {f['reason']}")
    return out
