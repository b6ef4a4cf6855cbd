"""The state file (``jobs/<job>/state.json``): its fields and what they must hold.  The full
path reads it into ``state.JobState``; the fast lane asks only ``idle``; both check it here."""

from __future__ import annotations

FIELDS = (
    "pid",  # the job's process (leader of its own process group)
    "pid_start",  # that process's start time, as the OS reports it
    "pgid",  # the last run's process group (kept after its leader exits)
    "pgid_start",  # its leader's start time: members started no earlier
    "supervisor_pid",
    "supervisor_start",
    "started_at",
    "schedule",  # the schedule whose window the run belongs to ("manual": none)
    "window_start",
    "window_end",
    "crashes",  # crash restarts used in this window
    "outcome",  # a JobOutcome value
    "finished_at",  # last exit 0
    "last_exit",
    "stop_requested",
)
_PIDS = ("pid", "pgid", "supervisor_pid")
LIVE_OUTCOMES = ("running", "backoff")  # a job in these has a process or a supervisor to end


def check(data: dict[str, object]) -> dict[str, object]:
    """The known fields of a parsed state file; ValueError when one holds the wrong type."""
    out = {k: v for k, v in data.items() if k in FIELDS}
    crashes = out.get("crashes", 0)
    if isinstance(crashes, bool) or not isinstance(crashes, int):
        raise ValueError("crashes is not an integer")
    for name in _PIDS:
        value = out.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"{name} is not a process id")
    return out


def idle(data: dict[str, object]) -> bool:
    """Nothing of the job's is recorded as running: no job or supervisor process, and an
    outcome that has none.  (The last run's process group may still hold leftovers: the
    caller asks the process layer.)"""
    return (
        data.get("pid") is None
        and data.get("supervisor_pid") is None
        and data.get("outcome") not in LIVE_OUTCOMES
    )


def parse(raw: bytes) -> dict[str, object]:
    """A state file's bytes as its checked fields (ValueError when it is not one).  The JSON
    is read with the C scanner ``json`` itself uses (``json.decoder`` would import ``re``, the
    largest import on the fast lane)."""
    import _json

    class _Context:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int

        @staticmethod
        def parse_constant(name: str) -> float:
            raise ValueError(name)

    text = raw.decode("utf-8").lstrip(" \t\n\r")
    try:
        obj, end = _json.make_scanner(_Context())(text, 0)  # type: ignore[arg-type]
    except StopIteration:
        raise ValueError("not JSON") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(obj, dict) or text[end:].strip():
        raise ValueError("not a JSON object")
    return check(obj)
