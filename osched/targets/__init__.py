"""One renderer per OS scheduler.  Each ``render(cfg, ctx)`` is pure: it returns ``File``
objects and does no I/O; ``write_files`` is the one place that writes them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .base import File, RenderContext, write_files

if TYPE_CHECKING:
    from ..model import Config

TARGETS = ("cron", "systemd", "taskscheduler", "launchd")


def render(target: str, cfg: Config, ctx: RenderContext) -> list[File]:
    from importlib import import_module

    module = import_module(f".{target}", __name__)
    files: list[File] = module.render(cfg, ctx)
    return files


PARALLEL_MIN = 2000  # schedules; below this a second process costs more than it saves
COST = {"systemd": 4, "taskscheduler": 3, "cron": 2, "launchd": 2}  # relative, measured


def render_each(
    names: tuple[str, ...], cfg: Config, ctx: RenderContext, emit: Callable[[str, list[File]], bytes]
) -> list[bytes]:
    """``emit(name, render(name))`` for each target, in order, returning what each emitted.

    For big configs on POSIX with two or more CPUs, the targets are split in two halves of
    about equal cost and a forked child renders one half while this process renders the other
    (the child inherits the loaded config and the host-local firing times computed here).
    The child hands its bytes back through unlinked temporary files; the output is identical
    to rendering one by one (tests/test_render.py checks)."""
    count = sum(len(j.enabled_schedules) for j in cfg.jobs.values())
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if len(names) < 2 or count < PARALLEL_MIN or cpus < 2 or not hasattr(os, "fork"):
        return [emit(n, render(n, cfg, ctx)) for n in names]
    import tempfile

    from ..project import host_firings

    for job in cfg.jobs.values():  # computed once, shared by cron, Task Scheduler, launchd
        for s in job.enabled_schedules:
            host_firings(s, ctx.host_tz, ctx.now)
    mine, theirs = _halves(names)
    sinks = {n: tempfile.TemporaryFile() for n in theirs}  # noqa: SIM115 - closed below
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (its output is compared with the serial one)
        code = 1
        try:
            for n in theirs:
                sinks[n].write(emit(n, render(n, cfg, ctx)))
                sinks[n].flush()
            code = 0
        finally:
            os._exit(code)
    try:
        out = {n: emit(n, render(n, cfg, ctx)) for n in mine}
    finally:
        _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"rendering {', '.join(theirs)} in a child process failed (status {status})")
    for n, fh in sinks.items():
        fh.seek(0)
        out[n] = fh.read()
        fh.close()
    return [out[n] for n in names]


def _halves(names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    a: list[str] = []
    b: list[str] = []
    for n in sorted(names, key=lambda n: -COST.get(n, 1)):
        (a if sum(COST.get(x, 1) for x in a) <= sum(COST.get(x, 1) for x in b) else b).append(n)
    return a, b


__all__ = ["TARGETS", "File", "RenderContext", "render", "render_each", "write_files"]
