"""The state dir as the full path sees it: per-job lock, state file, overrides, output log,
the events log.  Every byte goes through the state store (``core.store``: the layout, the
checks, private folders and files, atomic writes); this module gives it types.

A state file that cannot be parsed is moved aside (``state.json.corrupt-<time>``), reported as
an event, and treated as empty.  A file another user could have written is refused
(``trust.InsecureError``): a decision never rests on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from .core import events as core_events
from .core import jobstate
from .core.store import EVENTS, JOBS, OVERRIDE_KINDS, Store, try_lock
from .core.timefmt import iso_utc
from .core.trust import Untrusted
from .errors import OschedError


class JobOutcome(StrEnum):
    """Where a job's last run stands (``state.json``'s ``outcome``; ``status`` shows it)."""

    RUNNING = "running"
    BACKOFF = "backoff"  # crashed; a restart is due after the backoff delay
    FINISHED = "finished"  # exit 0: done for this window
    GAVE_UP = "gave_up"  # crashed more than ``retries`` times in this window
    STOPPED = "stopped"  # ended by a stop firing, a manual stop or the window end
    FAILED = "failed"  # could not start, or crashed with no restart due


def iso(t: datetime | None) -> str | None:
    """An instant as the state and events files hold it (``core.timefmt.iso_utc``)."""
    return None if t is None else iso_utc(t.timestamp())


def parse_iso(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# -- the state dir --------------------------------------------------------------------------------
def _refused(e: Untrusted) -> OschedError:
    from .trust import refused

    return refused(e)


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.store = Store(self.root)

    def ensure(self) -> None:
        try:
            self.store.ensure()
        except Untrusted as e:
            raise _refused(e) from None

    def job_dir(self, job: str) -> Path:
        try:
            return Path(self.store.ensure(JOBS, job))
        except Untrusted as e:
            raise _refused(e) from None

    def output_log(self, job: str) -> Path:
        return Path(self.store.path(*self.store.job(job, "output.log")))

    def open_log(self, job: str, header: str, max_bytes: int, keep: int = 3) -> int:
        """The job's output log, opened to append (rotated to ``output.log.1`` first when it
        is over ``max_bytes``), with ``header`` written."""
        parts = self.store.job(job, "output.log")
        try:
            self.store.ensure(JOBS, job)
            self.store.rotate(parts, max_bytes, keep)
            fd = self.store.open_append(parts)
        except Untrusted as e:
            raise _refused(e) from None
        os.write(fd, header.encode("utf-8", "replace"))
        return fd

    def rotate_log(self, job: str, max_bytes: int) -> None:
        """Copy-truncate the output log when it outgrows ``max_bytes`` (the job keeps its
        descriptor): the copy goes through the store, never through a planted link."""
        parts = self.store.job(job, "output.log")
        try:
            st = os.lstat(self.store.path(*parts))
            if st.st_size <= max_bytes:
                return
            data = self.store.read(parts, "log")
            self.store.write((*parts[:-1], "output.log.1"), data, durable=False)
            fd = self.store.open_append(parts)
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)
        except (OSError, Untrusted):
            pass

    # -- lock ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, job: str, timeout: float | None = None) -> Iterator[Held]:
        """An exclusive lock on the job, held for the ``with`` block (or until
        ``Held.release``).  ``timeout``: give up after that many seconds with ``LockBusy``
        (None: wait).  A forked supervisor that inherits the descriptor lets go of the lock by
        closing its own copy (``Held.fd``)."""
        try:
            fd = self.store.lock_fd(job)
        except Untrusted as e:
            raise _refused(e) from None
        held = Held(fd)
        try:
            _lock_fd(fd, timeout, job)
            yield held
        finally:
            held.release()

    # -- job state --------------------------------------------------------------------------------
    def read_state(self, job: str, now: datetime, *, read_only: bool = False) -> JobState:
        """The job's state; a corrupt file is moved aside (and reported), unless
        ``read_only`` (``osched status``), which changes nothing and reads it as empty.  A file
        another user could have written is refused (read only: read as empty)."""
        parts = self.store.job(job, "state.json")
        try:
            self.store.check_dirs(parts)  # a folder another user could change: a refusal
            raw = self.store.read(parts, "state")
        except FileNotFoundError:
            return JobState()
        except Untrusted as e:
            if read_only:
                return JobState()
            if not self.store.exists(parts):
                raise _refused(e) from None
            raw = f"unreadable: {e}".encode()  # the file itself: moved aside, never believed
        except OSError as e:  # a directory: not a state file
            raw = f"unreadable: {e.strerror}".encode()
        try:
            return JobState.from_dict(jobstate.parse(raw))
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            if read_only:
                return JobState()
            path = Path(self.store.path(*parts))
            aside = path.with_name(f"state.json.corrupt-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}")
            os.replace(path, aside)
            self.event(
                now, job, "state_corrupt", reason=f"{path} could not be read ({e}); moved to {aside.name}"
            )
            return JobState()

    def write_state(self, job: str, st: JobState) -> None:
        data = json.dumps(asdict(st), indent=1, sort_keys=True).encode("utf-8")
        try:
            self.store.write(self.store.job(job, "state.json"), data + b"\n")
        except Untrusted as e:
            raise _refused(e) from None

    # -- overrides --------------------------------------------------------------------------------
    def read_override(self, job: str, kind: str) -> Override | None:
        parts = self.store.override(job, kind)
        try:
            data = json.loads(self.store.read(parts, "override"))
        except FileNotFoundError:
            return None
        except (ValueError, OSError, Untrusted, RecursionError):
            return Override(kind, None, None, f"unreadable override file {parts[-1]}", corrupt=True)
        if not isinstance(data, dict):
            return Override(kind, None, None, f"unreadable override file {parts[-1]}", corrupt=True)
        return Override(
            kind,
            parse_iso(data.get("created")),
            parse_iso(data.get("expires")),
            str(data.get("reason", "")),
        )

    def write_override(self, job: str, ov: Override) -> None:
        body = {"kind": ov.kind, "created": iso(ov.created), "expires": iso(ov.expires), "reason": ov.reason}
        try:
            text = json.dumps(body, indent=1) + "\n"
            self.store.write(self.store.override(job, ov.kind), text.encode("utf-8"))
        except Untrusted as e:
            raise _refused(e) from None

    def remove_override(self, job: str, kind: str) -> bool:
        try:
            return self.store.remove(self.store.override(job, kind))
        except Untrusted as e:
            raise _refused(e) from None

    def active_override(self, job: str, kind: str, now: datetime) -> Override | None:
        """The override of ``kind`` if it is in force at ``now``; an expired one is removed
        (with an ``override_expired`` event), a corrupt one is removed and reported."""
        ov = self.read_override(job, kind)
        if ov is None:
            return None
        if ov.corrupt or ov.expires is None:
            self.remove_override(job, kind)
            self.event(now, job, "override_corrupt", kind=kind, reason=ov.reason)
            return None
        if ov.expires <= now:
            self.remove_override(job, kind)
            self.event(now, job, "override_expired", kind=kind, expires=iso(ov.expires))
            return None
        return ov

    def jobs_with_state(self) -> list[str]:
        return [name for name in self.store.listdir(JOBS) if os.path.isdir(self.store.path(JOBS, name))]

    # -- events -----------------------------------------------------------------------------------
    def event(self, now: datetime, job: str | None, event: str, **fields_: Any) -> dict[str, Any]:
        """Append one decision to the events log (``core.events``' line, one ``write`` in
        append mode).  Never raises: a full disk must not turn a decision into a crash."""
        rec = core_events.record(now.timestamp(), job, event, **fields_)
        try:
            self.store.ensure()
        except (OSError, Untrusted):
            return rec
        self.store.append_event(core_events.encode(rec))
        return rec

    def last_events(self, tail_bytes: int = 1 << 16) -> dict[str, dict[str, Any]]:
        """Each job's last event, from the log's tail (what ``status`` and ``doctor`` read
        at any size of log)."""
        out: dict[str, dict[str, Any]] = {}
        try:
            data = self.store.read((EVENTS,), "events")  # checked like every read; creates nothing
        except (OSError, Untrusted):
            return out
        raw = data[-tail_bytes:]
        for line in raw.decode("utf-8", errors="replace").splitlines()[1 if len(data) > tail_bytes else 0 :]:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("job"), str):
                out[rec["job"]] = rec
        return out

    def events(self, job: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in (EVENTS + ".1", EVENTS):
            try:
                raw = self.store.read((name,), "events")
            except (OSError, Untrusted):
                continue
            for line in raw.decode("utf-8", errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and (job is None or rec.get("job") == job):
                    out.append(rec)
        return out[-limit:] if limit else out


NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # state files are never opened through a symlink
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class LockBusy(OschedError):
    """Another decision about the job held its lock for longer than this one would wait."""


class Held:
    """A held job lock; ``release`` closes its descriptor once."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            with contextlib.suppress(OSError):
                os.close(fd)


def _lock_fd(fd: int, timeout: float | None, job: str) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if try_lock(fd, blocking=deadline is None):
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise LockBusy(f"job {job!r} is busy: another osched decision held its lock for {timeout:g}s")
        time.sleep(0.05)


@dataclass
class JobState:
    """What osched knows about a job between decisions."""

    pid: int | None = None  # the job's process (leader of its own process group)
    pid_start: str | None = None  # that process's start time, as the OS reports it
    pgid: int | None = None  # the last run's process group (kept after its leader exits)
    pgid_start: str | None = None  # its leader's start time: members started no earlier
    supervisor_pid: int | None = None
    supervisor_start: str | None = None
    started_at: str | None = None
    schedule: str | None = None  # the schedule whose window the run belongs to ("manual": none)
    window_start: str | None = None
    window_end: str | None = None
    crashes: int = 0  # crash restarts used in this window
    outcome: str | None = None  # a JobOutcome value
    finished_at: str | None = None  # last exit 0
    last_exit: int | None = None
    stop_requested: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobState:
        """The state of a parsed file, checked by ``core.jobstate`` (ValueError)."""
        return cls(**jobstate.check(data))  # type: ignore[arg-type]

    def window_key(self) -> tuple[str | None, str | None]:
        return (self.schedule, self.window_start)


@dataclass(frozen=True)
class Override:
    kind: str
    created: datetime | None
    expires: datetime | None
    reason: str
    corrupt: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "created": iso(self.created),
            "expires": iso(self.expires),
            "reason": self.reason,
        }


__all__ = [
    "OVERRIDE_KINDS",
    "Held",
    "JobOutcome",
    "JobState",
    "LockBusy",
    "Override",
    "StateDir",
    "iso",
    "parse_iso",
]
