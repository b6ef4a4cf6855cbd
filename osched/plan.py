"""A change to the OS scheduler as data: a ``Plan`` is a diff to show, the commands it would
run, and steps each paired with an undo.  Targets build plans; ``install`` runs them.

``apply`` runs the steps in order; when one fails, the undo actions of the steps already done
run newest first, and the failure is raised with what could not be undone.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import OschedError
from .fsutil import atomic_write, create_new, sync_dirs
from .runner import Runner, must

Step = Callable[[], None]


@dataclass
class Plan:
    target: str
    diffs: list[str] = field(default_factory=list)  # parts of the diff: joined once (4,000 files)
    commands: list[list[str]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # for the manifest
    location: str = ""
    steps: list[Step] = field(default_factory=list)
    undo: list[Step] = field(default_factory=list)
    dirs: set[Path] = field(default_factory=set)  # where steps wrote files: synced once at the end
    record: dict[str, Any] = field(default_factory=dict)  # more for the manifest entry (kubectl settings)

    @property
    def diff(self) -> str:
        return "".join(self.diffs)

    @property
    def empty(self) -> bool:
        return not self.steps

    def write(self, path: Path, data: bytes, mode: int) -> Step:
        """A step that writes ``path`` (made durable with the plan's one sync at the end).  A new
        file is created in place: the OS tool reads it only at the reload or bootstrap step that
        follows, and a failed install removes it.  An existing one is replaced atomically,
        so nothing ever reads half of a changed file."""
        self.dirs.add(path.parent)

        def step() -> None:
            if not create_new(path, data, mode):
                atomic_write(path, data, mode=mode, durable=False)

        return step

    def add(self, step: Step, undo: Step, command: list[str] | None = None) -> None:
        self.steps.append(step)
        self.undo.append(undo)
        if command is not None:
            self.commands.append(command)

    def apply(self) -> None:
        """Run the steps; on failure run the undo actions of what was done, newest first."""
        done: list[Step] = []
        try:
            for step, undo in zip(self.steps, self.undo, strict=True):
                step()
                done.append(undo)
            sync_dirs(self.dirs)
        except BaseException as e:
            left = rollback(done)
            if left and isinstance(e, OschedError):
                raise type(e)(f"{e}; rollback incomplete: {'; '.join(left)}") from e
            raise

    def rollback(self) -> list[str]:
        """Undo every step (after a later failure, e.g. writing the manifest)."""
        return rollback(list(self.undo))


def rollback(done: list[Step]) -> list[str]:
    """Run ``done``'s undo actions newest first; return what failed (one line each)."""
    failed = []
    for u in reversed(done):
        try:
            u()
        except Exception as e:
            failed.append(str(e) or type(e).__name__)
    return failed


def noop() -> None:
    pass


def sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def file_diff(name: str, old: str | None, new: str | None) -> str:
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            a,
            b,
            fromfile=name if old is not None else "/dev/null",
            tofile=name if new is not None else "/dev/null",
        )
    )


def read_text(path: Path, encoding: str = "utf-8") -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if encoding == "utf-16":
        return data.decode("utf-16")
    return data.decode(encoding, errors="replace")


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def writer(path: Path, data: bytes, mode: int) -> Step:
    def write() -> None:
        atomic_write(path, data, mode=mode)

    return write


def restore(path: Path, old: str | bytes | None, mode: int | None = None) -> Step:
    """Put ``path`` back as it was: ``old`` content, or absent."""

    def undo() -> None:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, old.encode("utf-8") if isinstance(old, str) else old, mode=mode)

    return undo


def run_step(run: Runner, argv: list[str]) -> Step:
    """A step that must succeed."""

    def step() -> None:
        must(run, argv)

    return step


def quiet(run: Runner, argv: list[str]) -> Step:
    """A step that runs ``argv`` and ignores its failure (undo actions, disabling)."""

    def step() -> None:
        run(argv)

    return step


def files_drift(artifacts: list[dict[str, Any]]) -> list[str]:
    """Artifacts kept as files: missing or edited since install."""
    found = []
    for a in artifacts:
        path = Path(a.get("path", ""))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            found.append(f"{path} is missing")
            continue
        except OSError as e:
            found.append(f"{path}: {e.strerror}")
            continue
        if sha(data) != a["sha256"] and sha(data.decode("utf-8", "replace")) != a["sha256"]:
            found.append(f"{path} was edited")
    return found
