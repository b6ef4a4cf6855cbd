"""One renderer per OS scheduler.  Each ``render(cfg, ctx)`` is pure: it returns ``File``
objects and does no I/O; ``write_files`` is the one place that writes them."""

from __future__ import annotations

from .base import File, RenderContext, write_files

TARGETS = ("cron", "systemd", "taskscheduler", "launchd")


def render(target: str, cfg: object, ctx: RenderContext) -> list[File]:
    from importlib import import_module

    module = import_module(f".{target}", __name__)
    files: list[File] = module.render(cfg, ctx)
    return files


__all__ = ["TARGETS", "File", "RenderContext", "render", "write_files"]
