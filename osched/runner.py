"""Running the OS's scheduler tools (crontab, systemctl, schtasks, launchctl, kubectl).

A ``Runner`` is any callable ``(argv, input=None) -> Result``.  The real one runs
``subprocess``; tests hand a recording fake to the CLI (``cli.main(obj=Services(runner=...))``)
or to a target directly.  Nothing swaps a module global.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .errors import OschedError


@dataclass
class Result:
    code: int
    out: str
    err: str

    def last_line(self) -> str:
        lines = [ln.strip() for ln in (self.err + "\n" + self.out).split("\n") if ln.strip()]
        return lines[-1] if lines else "no message"


class Runner(Protocol):
    def __call__(self, argv: list[str], input: str | None = None) -> Result: ...


class ToolError(OschedError):
    """A scheduler tool refused a step; what this run wrote has been rolled back."""


def subprocess_runner(argv: list[str], input: str | None = None) -> Result:
    import subprocess

    try:
        r = subprocess.run(argv, input=input, capture_output=True, text=True, check=False, timeout=120)
    except FileNotFoundError:
        return Result(127, "", f"{argv[0]}: command not found")
    return Result(r.returncode, r.stdout, r.stderr)


def must(run: Runner, argv: list[str], input: str | None = None) -> Result:
    """Run ``argv``; a non-zero exit is a ``ToolError`` quoting the tool's last line."""
    r = run(argv, input=input)
    if r.code != 0:
        raise ToolError(f"{' '.join(argv)} failed (exit {r.code}): {r.last_line()}")
    return r
