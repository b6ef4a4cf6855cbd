"""One error hierarchy and the exit codes, caught once at the top of each entry point.

Exit codes (documented in docs/cli.md):
  0  success
  1  runtime failure (a scheduler call failed, a process could not be started, ...)
  2  usage or configuration error (bad option, bad config value, missing config)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class OschedError(Exception):
    """Base error: its message is one sentence shown to the user as ``Error: <message>``."""

    exit_code = EXIT_FAILURE


class UsageError(OschedError):
    """The user asked for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The config file is missing, unreadable, not TOML, or not a valid osched config.

    ``where`` is the file (and line/column for syntax errors), ``key`` the dotted key path.
    """

    def __init__(self, message: str, where: str = "", key: str = "") -> None:
        where, key = printable(where), printable(key)
        self.where = where
        self.key = key
        self.detail = message
        parts = [p for p in (where, key) if p]
        super().__init__(": ".join([*parts, message]))


def printable(text: str) -> str:
    """``text`` with control characters and line separators shown as escapes: an error is
    one line, whatever a hostile key or path holds."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text
    )
