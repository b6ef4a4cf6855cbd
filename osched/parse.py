"""Parsers for the small value languages of the config: times, durations, days, ids, zones.

Each raises ``ValueError`` with a message that says what was expected; the config loader adds
the file and key path.  Imported by the entrypoints, so standard library only.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from functools import lru_cache

from .core.days import DAY_NAMES, DAY_SETS, FULL_NAMES

ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,49}")  # always fullmatch: "$" lets "\n" in
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TIME_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")  # always fullmatch
DURATION_UNITS = "dhms"  # "1d2h30m": the units in their order (lower case; text is lowered)
_DURATION_RE = re.compile("".join(f"(?:([0-9]+){u})?" for u in DURATION_UNITS))
MAX_DELAY = 7 * 24 * 3600  # seconds: stop_timeout, a backoff step, random_delay

MIN_DURATION = 1  # minutes
MAX_DURATION = 7 * 24 * 60  # minutes

_DAY_ALIASES = {
    **{name: i for i, name in enumerate(DAY_NAMES)},
    **{full: i for i, full in enumerate(FULL_NAMES)},
}
_DAY_SETS = DAY_SETS
SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2")


def parse_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise ValueError(
            f"invalid {what} {value!r}: use 1-50 ASCII letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def parse_time(value: object) -> tuple[int, int]:
    """``"HH:MM"`` (24-hour clock) -> (hour, minute)."""
    if isinstance(value, str):
        return _parse_time(value)
    raise ValueError(f"invalid time {value!r}: expected HH:MM between 00:00 and 23:59")


@lru_cache(maxsize=4096)  # pure; a big config repeats its times, durations and day lists
def _parse_time(value: str) -> tuple[int, int]:
    m = TIME_RE.fullmatch(value)
    if not m:
        raise ValueError(f"invalid time {value!r}: expected HH:MM between 00:00 and 23:59")
    return int(m.group(1)), int(m.group(2))


def split_duration(value: object) -> int | None:
    """Seconds in ``"1d2h30m"``-style text, or None when it does not parse."""
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    return _split_duration(value)


@lru_cache(maxsize=4096)
def _split_duration(value: str) -> int | None:
    text = value.strip().lower().replace(" ", "")
    m = _DURATION_RE.fullmatch(text)
    if not text or not m or not any(m.groups()):
        return None
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def parse_duration(value: object) -> int:
    """A window length in whole minutes: ``"8h"``, ``"90m"``, ``"1h30m"``, ``"2d"`` or an
    integer number of minutes; between 1 minute and 7 days."""
    if isinstance(value, int) and not isinstance(value, bool):
        minutes = value
    else:
        seconds = split_duration(value)
        if seconds is None or seconds % 60:
            raise ValueError(
                f"invalid duration {value!r}: expected minutes as an integer or text like "
                "'90m', '8h', '1h30m', '2d'"
            )
        minutes = seconds // 60
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise ValueError(f"duration {value!r} is out of range: it must be between 1 minute and 7 days")
    return minutes


def parse_user(value: object) -> str:
    """A login name (``user = "alice"``): letters, digits, ``_``, ``-``, ``.``, not leading ``-``."""
    from .safe import USER_RE

    if not isinstance(value, str) or not USER_RE.fullmatch(value):
        raise ValueError(f"invalid user {value!r}: expected a login name such as 'alice'")
    return value


def parse_url(value: object) -> str:
    """A ping URL: ``http://`` or ``https://``, a host, no spaces or control characters."""
    from urllib.parse import urlsplit

    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError(f"invalid URL {value!r}: expected http:// or https://...")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value) or not urlsplit(value).hostname:
        raise ValueError(f"invalid URL {value!r}: expected a host and no spaces")
    return value.rstrip("/")


def parse_seconds(value: object, *, allow_zero: bool = True) -> float:
    """A short delay such as ``stop_timeout`` or a backoff step: ``"30s"``, ``"1m30s"``, or a
    number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError(f"invalid delay {value!r}: expected a finite number of seconds")
    else:
        parsed = split_duration(value)
        if parsed is None:
            raise ValueError(
                f"invalid delay {value!r}: expected seconds as a number or text like '30s', '1m30s'"
            )
        seconds = float(parsed)
    if seconds < 0 or (seconds == 0 and not allow_zero) or seconds > MAX_DELAY:
        raise ValueError(f"delay {value!r} is out of range (0 to 7 days)")
    return seconds


def parse_days(value: object) -> frozenset[int]:
    """Days a window starts on: a list of ``mon``..``sun``, ranges such as ``mon-fri`` (a range
    may wrap: ``fri-mon``), ``daily``, ``weekdays``, ``weekends``.  A comma-separated string
    is accepted too.  Monday is 0."""
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(x, str) for x in value)):
        return _parse_days_cached(value if isinstance(value, str) else tuple(value))
    return _parse_days(value)


@lru_cache(maxsize=4096)
def _parse_days_cached(key: str | tuple[str, ...]) -> frozenset[int]:
    return _parse_days(key if isinstance(key, str) else list(key))


def _parse_days(value: object) -> frozenset[int]:
    items: list[object]
    if isinstance(value, str):
        items = list(value.split(","))
    elif isinstance(value, list):
        items = list(value)
    else:
        raise ValueError(f'invalid days {value!r}: expected a list such as ["mon-fri"]')
    days: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"invalid day {item!r}: expected text such as 'mon' or 'mon-fri'")
        token = item.strip().lower()
        if token in _DAY_SETS:
            days |= _DAY_SETS[token]
            continue
        if "-" in token:
            first, _, last = token.partition("-")
            if first in _DAY_ALIASES and last in _DAY_ALIASES:
                a, b = _DAY_ALIASES[first], _DAY_ALIASES[last]
                span = (b - a) % 7
                days.update((a + i) % 7 for i in range(span + 1))
                continue
        elif token in _DAY_ALIASES:
            days.add(_DAY_ALIASES[token])
            continue
        raise ValueError(
            f"invalid day {item!r}: use mon..sun, a range such as 'mon-fri', "
            "'daily', 'weekdays' or 'weekends'"
        )
    if not days:
        raise ValueError("empty day set: list at least one day")
    return frozenset(days)


@lru_cache(maxsize=256)  # 127 weekday sets: render asks once per schedule and unit
def format_days(days: frozenset[int]) -> str:
    """The shortest usual spelling: ``daily``, ``mon-fri``, ``sat,sun``, ``mon,wed-fri``."""
    if len(days) == 7:
        return "daily"
    runs: list[tuple[int, int]] = []
    for d in sorted(days):
        if runs and runs[-1][1] == d - 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    parts = []
    for a, b in runs:
        if b - a >= 2:
            parts.append(f"{DAY_NAMES[a]}-{DAY_NAMES[b]}")
        else:
            parts.extend(DAY_NAMES[d] for d in range(a, b + 1))
    return ",".join(parts)


@lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA zone by name, or ValueError.  Cached: the same name gives the same object."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(f"invalid time zone {name!r}: expected an IANA name such as 'Europe/Berlin'")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        hint = _zone_hint(name)
        raise ValueError(
            f"unknown time zone {name!r}: "
            + (f"did you mean {hint}?" if hint else "expected an IANA name such as 'Europe/Berlin'")
        ) from None


# abbreviations people type for a zone (they are not zones: PST would be a fixed offset at best)
ABBREVIATIONS = {
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "PT": "America/Los_Angeles",
    "MDT": "America/Denver",
    "MT": "America/Denver",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "CT": "America/Chicago",
    "EDT": "America/New_York",
    "ET": "America/New_York",
    "AKST": "America/Anchorage",
    "BST": "Europe/London",
    "IST": "Asia/Kolkata",
    "CEST": "Europe/Berlin",
    "EEST": "Europe/Athens",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}


def _zone_hint(name: str) -> str:
    import difflib

    if name.upper() in ABBREVIATIONS:
        return repr(ABBREVIATIONS[name.upper()])
    names = zoneinfo.available_timezones()
    folded = {n.lower(): n for n in names}
    if name.lower() in folded:
        return repr(folded[name.lower()])
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    close += [n for n in names if n.lower().endswith("/" + name.lower().replace(" ", "_"))][:3]
    return " or ".join(repr(n) for n in dict.fromkeys(close)) if close else ""


LEGACY_ZONES = {
    "EST": "America/New_York",
    "MST": "America/Denver",
    "HST": "Pacific/Honolulu",
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "CET": "Europe/Paris",
    "EET": "Europe/Athens",
    "WET": "Europe/Lisbon",
    "MET": "Europe/Paris",
}


def zone_note(name: str) -> str:
    """A note for a legacy zone name that is valid but rarely what a user means ("" if none)."""
    if name not in LEGACY_ZONES:
        return ""
    fixed = " (a fixed offset, no daylight saving time)" if name in ("EST", "MST", "HST") else ""
    return f"{name!r} is a legacy zone name{fixed}; for a place's local time use e.g. {LEGACY_ZONES[name]!r}"


def parse_signal(value: object) -> str:
    if isinstance(value, str):
        name = value.strip().upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        if name in SIGNALS:
            return name
    raise ValueError(f"invalid stop_signal {value!r}: use one of {', '.join(SIGNALS)}")


@lru_cache(maxsize=4096)
def format_minutes(minutes: int) -> str:
    """480 -> '8h', 90 -> '1h30m', 2880 -> '2d'."""
    d, rest = divmod(minutes, 1440)
    h, m = divmod(rest, 60)
    out = (f"{d}d" if d else "") + (f"{h}h" if h else "") + (f"{m}m" if m else "")
    return out or "0m"


def format_seconds(seconds: float) -> str:
    if seconds != int(seconds):
        return f"{seconds:g}s"
    whole = int(seconds)
    m, s = divmod(whole, 60)
    if m and not s:
        return format_minutes(m)
    if m:
        return f"{format_minutes(m)}{s}s"
    return f"{s}s"
