"""The TOML reader: ``tomli`` if installed (a compiled wheel parses 3x faster), else the
standard library's ``tomllib``: the same parser, the same errors.  Imports nothing else, so
shell completion can read the config with it too."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def toml_reader() -> Any:
    try:
        import tomli
    except ImportError:  # pragma: no cover - tomli is a dependency; a bare install still works
        import tomllib

        return tomllib
    return tomli
