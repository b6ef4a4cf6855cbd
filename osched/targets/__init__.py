"""The registry of targets: every module in this package that defines ``TARGET`` is one.

Adding a scheduler means adding ``osched/targets/<name>.py`` (a class with the ``Target``
protocol's members and a module-level ``TARGET``) and its templates; the CLI's ``--target``
choices, ``render --target all``, ``install``'s ``auto`` choice, ``doctor`` and ``status`` all
read this registry.  ``register`` adds one from elsewhere (tests, plugins).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import IO, TYPE_CHECKING

from ..errors import UsageError
from .base import File, Finding, RenderContext, Target, ahead, write_files

if TYPE_CHECKING:
    from ..model import Config
    from ..runner import Runner
    from .parallel import Emit

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


def render_each(
    names: tuple[str, ...],
    cfg: Config,
    ctx: RenderContext,
    emit: Emit,
    out: IO[bytes],
    meanwhile: Callable[[], object] = lambda: None,
) -> None:
    """Write ``emit(name, render(name))`` for each target of ``names`` to ``out``, in order:
    in two processes for a big config (``parallel``).  ``meanwhile`` runs once this process's
    targets are rendered, before the text goes out."""
    from . import parallel

    cost = {t.name: t.cost for t in all_targets()}
    parallel.render_each(names, cfg, ctx, render, emit, out, cost, meanwhile)


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
