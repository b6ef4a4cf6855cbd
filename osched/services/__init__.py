"""The service layer: one module per use case over one command's loaded world
(``base.AppBase``): ``editing`` and ``setup`` are the use cases that change something, each
once, with what it tells the user; ``osched.api`` calls them, and the CLI calls ``osched.api``
for every change (it reads through ``App``: ``reading``)."""

from __future__ import annotations

from .setup import Setup


class App(Setup):
    """What a command does, without click: the use cases over one command's view of the world."""


__all__ = ["App"]
