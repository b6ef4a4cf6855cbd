"""What the parts of the runtime need of each other, as narrow types: the launcher, the
supervisor and the hooks see the runtime (``decide.Runtime``) only as a ``Host``, and the
supervisor sees the launcher only as a ``Starter``.  So they import this module, never each
other's (no import runs back up: decide -> launch -> supervisor -> hooks -> spawn).

Also the one vocabulary for how a job ended (``how_ended``) and ``Reply``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..model import Config, Job, Schedule
    from ..state import JobOutcome, JobState, StateDir
    from .clock import Clock
    from .policy import Facts


@dataclass
class Reply:
    """What an entrypoint or a manual start/stop says: its exit code and one message."""

    code: int
    message: str


def how_ended(how: str, job: Job | None) -> str:
    """How a stop ended the job's processes, in the events log's words: the stop signal, or
    "SIGKILL after Ns" when they outlived ``stop_timeout``, or "exited" (nothing was left)."""
    if how == "signal":
        return job.stop_signal if job else "SIGTERM"
    if how == "killed":
        return f"SIGKILL after {job.stop_timeout if job else 30.0:g}s"
    return "exited"


class Host(Protocol):
    """The runtime as the launcher, the supervisor and the hooks use it."""

    state: StateDir
    clock: Clock
    procs: Any
    foreground: bool

    @property
    def cfg(self) -> Config: ...

    def event(self, job: str | None, event: str, **kw: Any) -> None: ...

    def change(self, job: str, st: JobState, event: str, **kw: Any) -> None: ...

    def record(self, job: str, st: JobState, what: str) -> bool: ...

    def transition(
        self,
        job: str,
        st: JobState,
        outcome: JobOutcome,
        event: str | None = None,
        *,
        supervised: bool = False,
        **kw: Any,
    ) -> bool: ...

    def facts(self, job: str, now: datetime | None = None) -> Facts: ...

    def keep_running(self, job: Job, now: datetime, strict: bool = False) -> tuple[datetime | None, str]: ...

    def running(self, st: JobState) -> bool: ...

    def job(self, name: str) -> Job: ...

    def reload(self, job: str, refused: str) -> str: ...

    def start_or_wait(
        self, job_name: str, sid: str, first: bool = False
    ) -> tuple[Reply, datetime | None]: ...


class Starter(Protocol):
    """The launcher as the supervisor uses it: start the job again, or record that it could not."""

    def spawn(self, job: Job, s: Schedule | None, until: datetime | None, st: JobState, why: str) -> Any: ...

    def failed(self, job: Job, sid: str | None, st: JobState, e: BaseException) -> Reply: ...

    def open_log(self, job: str, header: str) -> int: ...
