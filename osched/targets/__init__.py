"""The registry of targets: every module in this package that defines ``TARGET`` is one.

Adding a scheduler means adding ``osched/targets/<name>.py`` (a class with the ``Target``
protocol's members and a module-level ``TARGET``) and its templates; the CLI's ``--target``
choices, ``render --target all``, ``install``'s ``auto`` choice, ``doctor`` and ``status`` all
read this registry.  ``register`` adds one from elsewhere (tests, plugins).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

from ..core.collect import paused_collection
from ..errors import UsageError
from .base import File, Finding, RenderContext, Target, ahead, write_files

if TYPE_CHECKING:
    from ..model import Config
    from ..runner import Runner

_extra: dict[str, Target] = {}


@cache
def _discovered() -> dict[str, Target]:
    import pkgutil
    from importlib import import_module

    found: dict[str, Target] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        target = getattr(import_module(f"{__name__}.{info.name}"), "TARGET", None)
        if target is not None:
            found[target.name] = target
    return found


def register(target: Target) -> None:
    """Add a target that does not live in this package."""
    _extra[target.name] = target


def unregister(name: str) -> None:
    _extra.pop(name, None)


def all_targets() -> list[Target]:
    return sorted({**_discovered(), **_extra}.values(), key=lambda t: (t.rank, t.name))


def names() -> tuple[str, ...]:
    return tuple(t.name for t in all_targets())


def in_all() -> tuple[str, ...]:
    """What ``render --target all`` renders."""
    return tuple(t.name for t in all_targets() if t.in_all)


def get(name: str) -> Target:
    for t in all_targets():
        if t.name == name:
            return t
    raise UsageError(f"unknown target {name!r} (known: {', '.join(names())})")


def unit_starter(
    mode: str | None, runner: Runner
) -> Callable[[str, str], tuple[str, str, str | None]] | None:
    """``osched-start --resume --systemd user|system``, which the systemd target's resume unit
    runs at boot: each open window's job starts in its own service unit.  The starter returns
    (unit, command, error or None); None when ``mode`` is empty."""
    if not mode:
        return None
    from .systemd import service_unit, start_unit_argv

    def start(job: str, schedule: str) -> tuple[str, str, str | None]:
        argv = start_unit_argv(job, schedule, mode == "system")
        r = runner(argv)
        return service_unit(job, schedule), " ".join(argv), None if r.code == 0 else r.last_line()

    return start


def auto(ctx: RenderContext) -> str:
    """The target ``--target auto`` means on this machine: the first that detects itself,
    by priority (launchd on macOS, Task Scheduler on Windows, systemd when a manager
    answers, else cron)."""
    ranked = sorted(
        (t for t in all_targets() if t.auto_priority is not None), key=lambda t: t.auto_priority or 0
    )
    for t in ranked:
        if t.detect(ctx):
            return t.name
    raise UsageError("no scheduler found on this machine: give --target")


def render(target: str, cfg: Config, ctx: RenderContext) -> list[File]:
    """``target``'s artifacts for ``cfg`` (one-off windows that are over left out: ``ahead``)."""
    return get(target).render(ahead(cfg, ctx.now), ctx)


PARALLEL_MIN = 2000  # schedules; below this a second process costs more than it saves


def render_each(
    names: tuple[str, ...], cfg: Config, ctx: RenderContext, emit: Callable[[str, list[File]], bytes]
) -> list[bytes]:
    """``emit(name, render(name))`` for each target, in order, returning what each emitted.

    For big configs on POSIX with two or more CPUs, the targets are split in two halves of
    about equal cost and a forked child renders one half while this process renders the other
    (the child inherits the loaded config; the exact host-local firings that Task Scheduler and
    launchd share are computed by the one that renders both).
    The child hands its bytes back through unlinked temporary files; the output is identical
    to rendering one by one (tests/test_render.py checks)."""
    count = sum(len(j.enabled_schedules) for j in cfg.jobs.values())
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    with _no_collection(count):
        if sys.platform == "win32" or len(names) < 2 or count < PARALLEL_MIN or cpus < 2:
            return [emit(n, render(n, cfg, ctx)) for n in names]
        return _render_forked(names, cfg, ctx, emit)


@contextmanager
def _no_collection(count: int) -> Iterator[None]:
    """Rendering makes no reference cycles worth collecting, but hundreds of thousands of
    short-lived objects: at scale the cyclic collector's full passes over the loaded config
    cost a tenth of the time, and in a forked child they dirty every page it shares.  So the
    loaded objects are frozen (out of the collector's sight) and collection paused."""
    if count < PARALLEL_MIN:
        yield
        return
    with paused_collection(freeze=True):
        yield


def _render_forked(
    names: tuple[str, ...], cfg: Config, ctx: RenderContext, emit: Callable[[str, list[File]], bytes]
) -> list[bytes]:
    import tempfile

    if sys.platform == "win32":  # pragma: no cover - render_each renders serially there
        raise NotImplementedError

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
    cost = {t.name: t.cost for t in all_targets()}
    a: list[str] = []
    b: list[str] = []
    for n in sorted(names, key=lambda n: -cost.get(n, 1)):
        (a if sum(cost.get(x, 1) for x in a) <= sum(cost.get(x, 1) for x in b) else b).append(n)
    return a, b


__all__ = [
    "File",
    "Finding",
    "RenderContext",
    "Target",
    "ahead",
    "all_targets",
    "auto",
    "get",
    "in_all",
    "names",
    "register",
    "render",
    "render_each",
    "write_files",
]
