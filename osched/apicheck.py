"""The API's argument checks (``osched.api``): each value through the parser the config uses,
a ValueError turned into ``UsageError`` naming the argument as the caller spells it
(``label``: the API's keyword, or the CLI's option)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import UsageError

Label = Callable[[str], str]


def check(func: Any, value: Any, what: str) -> Any:
    try:
        return func(value)
    except ValueError as e:
        raise UsageError(f"{what}: {e}") from None


def skip_items(items: tuple[str, ...], label: Label) -> tuple[str, ...]:
    from .dates import parse_skip_item

    if not items:
        raise UsageError(f"{label('items')}: give at least one date or range")
    for item in items:
        check(parse_skip_item, item, label("items"))
    return items


def schedule_fields(
    label: Label,
    start: str | None,
    duration: str | int | None,
    days: str | list[str] | None,
    timezone: str | None,
    random_delay: str | float | None,
) -> dict[str, Any]:
    """The schedule keys given, checked; ``start`` as HH:MM, ``days`` as a list of tokens."""
    from .parse import parse_days, parse_duration, parse_seconds, parse_time, zone

    fields: dict[str, Any] = {}
    if start is not None:
        h, m = check(parse_time, start, label("start"))
        fields["start"] = f"{h:02d}:{m:02d}"
    if duration is not None:
        check(parse_duration, duration, label("duration"))
        fields["duration"] = duration
    if days is not None:
        tokens = [d.strip() for d in days.split(",") if d.strip()] if isinstance(days, str) else list(days)
        check(parse_days, tokens, label("days"))
        fields["days"] = tokens
    if timezone is not None:
        check(zone, timezone, label("timezone"))
        fields["timezone"] = timezone
    if random_delay is not None:
        check(parse_seconds, random_delay, label("random_delay"))
        fields["random_delay"] = random_delay
    return fields
