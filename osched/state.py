"""The state dir: per-job lock, state file, overrides, output log; the events log.

Layout (``$OSCHED_STATE_DIR``, made private, 0700)::

    events.jsonl                 every decision, one JSON object per line (rotated by size)
    jobs/<job>/lock              flock'ed around every decision about the job
    jobs/<job>/state.json        pid + process start time, supervisor, window, crash count
    jobs/<job>/override-start.json, override-stop.json
    jobs/<job>/output.log        the job's stdout and stderr (rotated by size)

Standard library only: the entrypoints import this on their fast path.  Every write is
atomic (``fsutil.atomic_write``); a state file that cannot be parsed is moved aside
(``state.json.corrupt-<time>``), reported as an event, and treated as empty.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import OschedError
from .fire import append_event, read_nofollow
from .fsutil import atomic_write
from .osdep import try_lock
from .paths import EVENTS_FILE, JOBS_DIR

EVENTS = EVENTS_FILE
OVERRIDE_KINDS = ("start", "stop")


class JobOutcome(StrEnum):
    """Where a job's last run stands (``state.json``'s ``outcome``; ``status`` shows it)."""

    RUNNING = "running"
    BACKOFF = "backoff"  # crashed; a restart is due after the backoff delay
    FINISHED = "finished"  # exit 0: done for this window
    GAVE_UP = "gave_up"  # crashed more than ``retries`` times in this window
    STOPPED = "stopped"  # ended by a stop firing, a manual stop or the window end
    FAILED = "failed"  # could not start, or crashed with no restart due


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


# -- the state dir --------------------------------------------------------------------------------
class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def ensure(self) -> None:
        if not self.root.is_dir():
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def job_dir(self, job: str) -> Path:
        d = self.root / JOBS_DIR / job
        if not d.is_dir():
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        return d

    def output_log(self, job: str) -> Path:
        return self.root / JOBS_DIR / job / "output.log"

    # -- lock ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, job: str, timeout: float | None = None) -> Iterator[Held]:
        """An exclusive lock on the job, held for the ``with`` block (or until
        ``Held.release``).  ``timeout``: give up after that many seconds with ``LockBusy``
        (None: wait).  A forked supervisor that inherits the descriptor lets go of the lock by
        closing its own copy (``Held.fd``)."""
        path = self.job_dir(job) / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW | CLOEXEC, 0o600)
        held = Held(fd)
        try:
            _lock_fd(fd, timeout, job)
            yield held
        finally:
            held.release()

    # -- job state --------------------------------------------------------------------------------
    def read_state(self, job: str, now: datetime, *, read_only: bool = False) -> JobState:
        """The job's state; a corrupt file is moved aside (and reported), unless
        ``read_only`` (``osched status``), which changes nothing and reads it as empty."""
        path = self.root / JOBS_DIR / job / "state.json"  # reading creates nothing (osched status)
        try:
            raw = read_nofollow(path)
        except FileNotFoundError:
            return JobState()
        except OSError as e:  # a directory, a symlink: not a state file
            raw = f"unreadable: {e.strerror}".encode()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return JobState.from_dict(data)
        except (ValueError, TypeError) as e:
            if read_only:
                return JobState()
            aside = path.with_name(f"state.json.corrupt-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}")
            os.replace(path, aside)
            self.event(
                now, job, "state_corrupt", reason=f"{path} could not be read ({e}); moved to {aside.name}"
            )
            return JobState()

    def write_state(self, job: str, st: JobState) -> None:
        data = json.dumps(asdict(st), indent=1, sort_keys=True).encode("utf-8")
        atomic_write(self.job_dir(job) / "state.json", data + b"\n", mode=0o600)

    # -- overrides --------------------------------------------------------------------------------
    def _override_path(self, job: str, kind: str) -> Path:
        return self.root / JOBS_DIR / job / f"override-{kind}.json"

    def read_override(self, job: str, kind: str) -> Override | None:
        path = self._override_path(job, kind)
        try:
            data = json.loads(read_nofollow(path))
        except FileNotFoundError:
            return None
        except (ValueError, OSError):
            return Override(kind, None, None, f"unreadable override file {path.name}", corrupt=True)
        if not isinstance(data, dict):
            return Override(kind, None, None, f"unreadable override file {path.name}", corrupt=True)
        return Override(
            kind,
            parse_iso(data.get("created")),
            parse_iso(data.get("expires")),
            str(data.get("reason", "")),
        )

    def write_override(self, job: str, ov: Override) -> None:
        body = {"kind": ov.kind, "created": iso(ov.created), "expires": iso(ov.expires), "reason": ov.reason}
        atomic_write(
            self.job_dir(job) / f"override-{ov.kind}.json",
            (json.dumps(body, indent=1) + "\n").encode("utf-8"),
            mode=0o600,
        )

    def remove_override(self, job: str, kind: str) -> bool:
        try:
            self._override_path(job, kind).unlink()
        except FileNotFoundError:
            return False
        return True

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
        d = self.root / JOBS_DIR
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []

    # -- events -----------------------------------------------------------------------------------
    def event(self, now: datetime, job: str | None, event: str, **fields_: Any) -> dict[str, Any]:
        """Append one decision to the events log (one ``write`` of one line: atomic in append
        mode).  Never raises: a full disk must not turn a decision into a crash."""
        rec: dict[str, Any] = {"time": iso(now), "job": job, "event": event}
        rec.update({k: v for k, v in fields_.items() if v is not None})
        line = (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.ensure()
        except OSError:
            return rec
        append_event(str(self.root), line)
        return rec

    def events(self, job: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in (EVENTS + ".1", EVENTS):
            path = self.root / name
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except FileNotFoundError:
                continue
            for line in lines:
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
        known = {f.name for f in fields(cls)}
        st = cls(**{k: v for k, v in data.items() if k in known})
        if not isinstance(st.crashes, int):
            raise TypeError("crashes is not an integer")
        for name in ("pid", "pgid", "supervisor_pid"):
            value = getattr(st, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} is not an integer")
        return st

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
