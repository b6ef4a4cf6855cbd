"""The events log's line format: one JSON object per line, keys in the order given, UTF-8,
non-ASCII kept as is (``json.dumps(rec, ensure_ascii=False)``, and the same bytes).  One
encoder for the full path and the fast lane, so the log cannot tell them apart.  A lone
surrogate (from a command line that was not UTF-8) is written as a ``\\udXXX`` escape: valid
JSON, where ``json.dumps`` would leave a character UTF-8 cannot encode."""

from __future__ import annotations

from .timefmt import iso_utc

_INF = float("inf")
_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def string(s: str) -> str:
    out = []
    for c in s:
        o = ord(c)
        if c in _ESC:
            out.append(_ESC[c])
        elif o < 0x20 or 0xD800 <= o <= 0xDFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def value(v: object) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return string(v)
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        if v != v or v in (_INF, -_INF):  # noqa: PLR0124 - NaN is the value unequal to itself
            return "null"
        return float.__repr__(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{string(str(k))}: {value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return string(str(v))


def encode(rec: dict[str, object]) -> bytes:
    """One record as one line of the log."""
    return (value(rec) + "\n").encode("utf-8")


def record(now: float, job: str | None, event: str, **fields: object) -> dict[str, object]:
    """The record of one decision: time, job, event, then the fields that are not None."""
    rec: dict[str, object] = {"time": iso_utc(now), "job": job, "event": event}
    rec.update({k: v for k, v in fields.items() if v is not None})
    return rec
