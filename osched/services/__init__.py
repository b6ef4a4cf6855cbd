"""The service layer: one module per use case over one command's loaded world
(``base.AppBase``).  The CLI parses and formats only; it reaches everything through ``App``."""

from __future__ import annotations

from .control import Control
from .installing import Installing
from .reading import Reading


class App(Control, Reading, Installing):
    """What a command does, without click: the use cases over one command's view of the world."""


__all__ = ["App"]
