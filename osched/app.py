"""The service layer's one entry (``services.App``), where the CLI and tests import it from."""

from __future__ import annotations

from .services import App

__all__ = ["App"]
