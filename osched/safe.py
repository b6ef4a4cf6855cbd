"""The one check of every string that reaches an OS artifact (paths, ids, user and zone names).

Refused: every control character (C0, DEL, C1: ``\\t \\n \\r \\v \\f \\x1c``-``\\x1e``, U+0085 ...)
and the Unicode line and paragraph separators (U+2028, U+2029): any character some target's
parser (crontab, systemd, XML, plist, ``str.splitlines``) could take as the end of a line.
Standard library only.
"""

from __future__ import annotations

import re

UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?")  # a login name as useradd accepts it


def unsafe_char(value: str) -> str | None:
    """The first character of ``value`` that no artifact may hold, or None.  ASCII text (the
    usual case; ``isascii`` reads a flag) that ``str.isprintable`` accepts has none: the ASCII
    characters UNSAFE_RE refuses are exactly those it does not accept (C0 and DEL; a test
    checks all 128), and two C scans cost less than the regex over a long value."""
    if value.isascii() and value.isprintable():
        return None
    m = UNSAFE_RE.search(value)
    return m.group(0) if m else None


def check(value: str, what: str) -> str:
    """``value``, or ValueError naming ``what`` and the offending character."""
    bad = unsafe_char(value)
    if bad is not None:
        raise ValueError(
            f"{what} {value!r} contains {bad!r} (U+{ord(bad):04X}), which no scheduler file may hold"
        )
    return value


def check_user(name: str) -> str:
    if not USER_RE.fullmatch(name):
        raise ValueError(f"user name {name!r} is not a plain login name")
    return name
