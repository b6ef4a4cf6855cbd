"""Commands as the timer will run them.

A timer runs with a bare environment (cron: ``PATH=/usr/bin:/bin``), so a command that works
from your shell (``my-agent`` in ``~/.local/bin``) may not be found from the timer.  osched
resolves a bare ``command[0]`` on your PATH, and a relative one (``./ticker.sh``) against the
folder you typed it in, when the job is added or changed, and stores the absolute path;
``doctor`` checks every job's program against the timer's PATH later.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import UsageError
from .model import Job

TIMER_PATH = "/usr/bin:/bin"  # what cron gives a job; systemd's and launchd's are no wider


def resolve(argv: list[str], what: str) -> tuple[list[str], str]:
    """``argv`` with a bare program name made absolute (on the caller's PATH), and a note
    saying so ("" when nothing changed).  A program that cannot be found is a usage error."""
    prog = argv[0]
    if os.sep in prog or "/" in prog:
        path = os.path.abspath(os.path.expanduser(prog))  # as typed: relative to where you are
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise UsageError(f"{what}: {prog} is not an executable file")
        if path == prog:
            return argv, ""
        note = f"{prog} stored as {path} (a timer does not run in the folder you typed it in)"
        return [path, *argv[1:]], note
    found = shutil.which(prog)
    if found is None:
        raise UsageError(
            f"{what}: command {prog!r} is not found on your PATH; give its full path "
            f"(the timer would not find it either: it runs with PATH={TIMER_PATH})"
        )
    found = os.path.abspath(found)
    return [found, *argv[1:]], f"{prog} resolved to {found} (timers run with PATH={TIMER_PATH})"


def timer_problem(job: Job, config_dir: Path, argv: tuple[str, ...], what: str) -> str:
    """Why the timer could not run ``argv`` of ``job`` ("" if it can)."""
    prog = argv[0]
    if os.path.isabs(prog):
        ok = os.path.isfile(prog) and os.access(prog, os.X_OK)
        return "" if ok else f"job {job.name}: {what} {prog} is not an executable file"
    if "/" in prog or os.sep in prog:
        base = Path(os.path.expanduser(job.workdir)) if job.workdir else config_dir
        path = (base if base.is_absolute() else config_dir / base) / prog
        ok = path.is_file() and os.access(path, os.X_OK)
        return "" if ok else f"job {job.name}: {what} {prog} is not an executable file in {path.parent}"
    if shutil.which(prog, path=TIMER_PATH) is None:
        return f"job {job.name}: {what} {prog!r} is not on the timer's PATH ({TIMER_PATH})"
    return ""
