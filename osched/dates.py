"""Dates beside weekdays: blackout dates (``skip``), public holidays (``holidays``) and
one-off windows (``[[jobs.NAME.windows]]``).

* ``skip = ["2026-12-24", "2026-12-25..2027-01-01"]`` (per job and per schedule): a window is
  skipped when its *start* falls on a listed date of the schedule's zone; a window already
  open when a skipped date begins runs to its end.
* ``holidays = "DE-BY"`` (per job and per schedule): that region's public holidays are skipped
  too, from the ``holidays`` package (``pip install 'osched[holidays]'``), imported only when
  a date is asked about (never by the fire lane: its cache holds the windows already).
* A one-off window is a schedule of one date (``Schedule.on``): the calendar gives it on that
  date only.

``excluded`` is the one check the calendar (``windows``) makes per date."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Schedule

MAX_RANGE_DAYS = 3 * 366  # a skip range longer than this is a typo, not a plan
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # always fullmatch
AT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")  # a one-off window's start
RANGE_SEP = ".."  # "2026-12-24..2027-01-01"
REGION_RE = re.compile(r"([A-Z]{2,3})(?:-([A-Z0-9]{1,4}))?")
HOLIDAYS_EXTRA = "pip install 'osched[holidays]'"


class DateError(ValueError):
    pass


def parse_date(text: object) -> date:
    if not isinstance(text, str) or not DATE_RE.fullmatch(text):
        raise DateError(f"expected a date YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise DateError(f"{text!r} is not a date ({e})") from None


def parse_skip_item(text: object) -> frozenset[date]:
    """``"2026-12-24"`` or an inclusive range ``"2026-12-24..2027-01-01"``."""
    if isinstance(text, str) and RANGE_SEP in text:
        first, _, last = text.partition(RANGE_SEP)
        a, b = parse_date(first.strip()), parse_date(last.strip())
        if b < a:
            raise DateError(f"{text!r}: the range ends before it begins")
        if (b - a).days >= MAX_RANGE_DAYS:
            raise DateError(f"{text!r}: a range of more than three years")
        return frozenset(a + timedelta(days=i) for i in range((b - a).days + 1))
    return frozenset({parse_date(text)})


def parse_skip(value: object) -> tuple[tuple[str, ...], frozenset[date]]:
    """(the items as written, every date they name)."""
    if not isinstance(value, list):
        raise DateError('must be a list of dates such as ["2026-12-24", "2026-12-25..2027-01-01"]')
    out: set[date] = set()
    for item in value:
        out |= parse_skip_item(item)
    return tuple(str(v) for v in value), frozenset(out)


def parse_region(value: object) -> str:
    """``"DE"`` or ``"DE-BY"``: a country code, optionally a subdivision."""
    if not isinstance(value, str) or not REGION_RE.fullmatch(value):
        raise DateError(
            f'expected a country code, optionally with a subdivision ("DE", "DE-BY"), got {value!r}'
        )
    return value


@lru_cache(maxsize=256)
def holiday_dates(region: str, year: int) -> frozenset[date]:
    """The public holidays of ``region`` in ``year`` (the ``holidays`` package).  DateError
    names the extra when the package is missing, or the region it does not know."""
    try:
        import holidays
    except ImportError:
        raise DateError(f"holidays = {region!r} needs the holidays package: {HOLIDAYS_EXTRA}") from None
    m = REGION_RE.fullmatch(region)
    if m is None:
        raise DateError(f"{region!r} is not a region code")
    try:
        found = holidays.country_holidays(m.group(1), subdiv=m.group(2), years=year)
    except NotImplementedError as e:  # an unknown country or subdivision
        raise DateError(f"the holidays package does not know {region!r} ({e})") from None
    return frozenset(found.keys())


def check_region(region: str) -> None:
    """Raise DateError now for a region the package does not know (or no package)."""
    holiday_dates(region, date.today().year)


def excluded(s: Schedule, day: date) -> bool:
    """Is ``day`` (the schedule zone's date of a window's start) not one of its windows'
    dates, beyond the weekday: a skipped date, a holiday, or not a one-off window's date."""
    if s.on is not None and day != s.on:
        return True
    if day in s.skip:
        return True
    return s.holidays is not None and day in holiday_dates(s.holidays, day.year)


def parse_at(value: object) -> tuple[date, int, int]:
    """A one-off window's start, ``"2026-12-05T02:00"`` (wall time in its zone)."""
    if not isinstance(value, str) or not AT_RE.fullmatch(value):
        raise DateError(f"expected a date and wall time YYYY-MM-DDTHH:MM, got {value!r}")
    try:
        t = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError as e:
        raise DateError(f"{value!r} is not a date and time ({e})") from None
    return t.date(), t.hour, t.minute


def window_id(day: date, hour: int, minute: int) -> str:
    """The id of a one-off window that has none: ``once-20261205-0200``."""
    return f"once-{day:%Y%m%d}-{hour:02d}{minute:02d}"


def undated(s: Schedule) -> Schedule:
    """``s`` without its skipped dates and holidays: the windows its dates take away are those
    of ``undated(s)`` that ``s`` lacks (the fire file lists them; a firing there names why)."""
    from dataclasses import replace

    return replace(s, skip=frozenset(), holidays=None)


def why_excluded(s: Schedule, day: date) -> str:
    """What keeps a window of ``s`` from starting on ``day`` (``excluded`` is True)."""
    if s.on is not None and day != s.on:
        return f"a one-off window on {s.on.isoformat()}, not {day.isoformat()}"
    if day in s.skip:
        return f"{day.isoformat()} is a skipped date (skip)"
    if s.holidays is not None:
        import holidays

        m = REGION_RE.fullmatch(s.holidays)
        assert m is not None
        name = holidays.country_holidays(m.group(1), subdiv=m.group(2), years=day.year).get(day)
        return f"{day.isoformat()} is a public holiday in {s.holidays} ({name})"
    return f"{day.isoformat()} is not one of its dates"
