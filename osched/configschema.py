"""The config's JSON Schema, for editors (taplo, Even Better TOML) and other tools: generated
from the loader's own rules, never written beside them.

Every table's keys and its required keys are the validator's sets (``validators``,
``dateconfig``, ``limits``); every pattern is built from the regular expressions and names
the parsers match with (``parse``, ``dates``, ``limits``, ``safe``, ``core.days``); every
bound is the parsers' constant.  What is new here is only the type of each key and a line
of help, and ``_table`` fails when a key has none, so a key cannot be added to the loader
without the schema following.  The loader stays the judge: the schema cannot see a zone
missing from the zone database, windows overlapping, ids repeated, a text duration out of
range or a holiday region the package does not know (docs/config.md, "Editor support").

``python3 -m osched.configschema > osched/config.schema.json`` regenerates the shipped
file; a test checks it is current.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import dateconfig, dates, limits, parse, safe, validators
from .core.days import DAY_NAMES, DAY_SETS, FULL_NAMES

FILE = "config.schema.json"  # beside this module, in the package
Fragment = dict[str, Any]


def _full(rx: re.Pattern[str] | str, *, pad: bool = False) -> str:
    """An anchored JSON Schema pattern for a Python pattern the parser ``fullmatch``es
    (``pad``: the parser strips the value first)."""
    body = rx if isinstance(rx, str) else rx.pattern
    space = r"\s*" if pad else ""
    return f"^{space}(?:{body}){space}$"


def _ci(word: str) -> str:
    """``word`` matched in any case (JSON Schema patterns take no flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _any_of(words: list[str]) -> str:
    return "(?:" + "|".join(_ci(w) for w in sorted(words, key=len, reverse=True)) + ")"


# -- the value languages of ``parse`` --------------------------------------------------------
_TEXT_DURATION = (
    r"(?=\s*[0-9])\s*"  # at least one number; spaces are dropped, the case is ignored
    + "".join(f"(?:[0-9][0-9 ]*{_ci(unit)} *)?" for unit in parse.DURATION_UNITS)
    + r"\s*"
)
_DAY = _any_of([*DAY_NAMES, *FULL_NAMES])
_DAY_TOKEN = r"\s*(?:" + _any_of(list(DAY_SETS)) + "|" + _DAY + "(?:-" + _DAY + r")?)\s*"
_DATE, _SEP = dates.DATE_RE.pattern, re.escape(dates.RANGE_SEP)
_SKIP_ITEM = rf"{_DATE}|\s*{_DATE}\s*{_SEP}\s*{_DATE}\s*"  # a date, or a range (its ends stripped)
_UNSAFE = safe.UNSAFE_RE.pattern.strip("[]")
_SAFE_TEXT = f"[^{_UNSAFE}]+"  # no control characters or line breaks (safe.unsafe_char)
_NO_SPACE = f"[^\\s{_UNSAFE}]+"  # and no spaces


def _string(pattern: str, help: str) -> Fragment:
    return {"type": "string", "pattern": pattern, "description": help}


def _duration(help: str) -> Fragment:
    low, high = parse.MIN_DURATION, parse.MAX_DURATION
    return {
        "description": help,
        "anyOf": [
            {"type": "integer", "minimum": low, "maximum": high},
            {"type": "string", "pattern": _full(_TEXT_DURATION)},
        ],
    }


def _delay(help: str) -> Fragment:
    return {
        "description": help,
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": parse.MAX_DELAY},
            {"type": "string", "pattern": _full(_TEXT_DURATION)},
        ],
    }


def _int(bounds: tuple[int, int], help: str) -> Fragment:
    return {"type": "integer", "minimum": bounds[0], "maximum": bounds[1], "description": help}


def _bool(help: str) -> Fragment:
    return {"type": "boolean", "description": help}


def _strings(help: str, *, argv: bool = False) -> Fragment:
    item: Fragment = {"type": "string", "pattern": "^[^\\x00]*$"}
    out: Fragment = {"type": "array", "items": item, "description": help}
    if argv:  # a program first: a non-empty list whose first item is not empty
        out["items"] = [{"type": "string", "minLength": 1, "pattern": "^[^\\x00]*$"}]
        out["additionalItems"] = item
        out["minItems"] = 1
    return out


def _env(help: str) -> Fragment:
    return {
        "type": "object",
        "description": help,
        "patternProperties": {_full(parse.ENV_NAME_RE): {"type": "string", "pattern": "^[^\\x00]*$"}},
        "additionalProperties": False,
    }


def _zone(help: str) -> Fragment:
    return _string(r"^[A-Za-z][-A-Za-z0-9_+]*(?:/[-A-Za-z0-9_+]+)*$", help + " (an IANA name)")


def _dates() -> dict[str, Fragment]:
    return {
        "skip": {
            "type": "array",
            "items": {"type": "string", "pattern": _full(_SKIP_ITEM)},
            "description": 'Dates without a window: "2026-12-24", or a range "2026-12-24..2027-01-01".',
        },
        "holidays": _string(
            _full(dates.REGION_RE), 'Skip the public holidays of a region: "DE", "DE-BY" (osched[holidays]).'
        ),
    }


def _table(
    keys: set[str] | tuple[str, ...], required: tuple[str, ...], fragments: dict[str, Fragment]
) -> Fragment:
    """A table of exactly the loader's ``keys``: a KeyError here is a key without a schema."""
    props = {k: fragments[k] for k in sorted(keys)}
    extra = set(fragments) - set(keys)
    if extra:
        raise KeyError(f"schema for keys the loader does not know: {sorted(extra)}")
    out: Fragment = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


def _schedule() -> Fragment:
    return _table(
        validators.SCHEDULE_KEYS,
        validators.SCHEDULE_REQUIRED,
        {
            "id": _string(_full(parse.ID_RE), "The schedule's id: 1-50 letters, digits, '_' or '-'."),
            "start": _string(_full(parse.TIME_RE), 'Start time "HH:MM" on the 24-hour clock, in its zone.'),
            "duration": _duration(
                'The window\'s length, 1 minute to 7 days: "8h", "90m", "1h30m" or minutes.'
            ),
            "days": {
                "description": 'Days a window starts on: ["mon-fri"], "daily", "weekdays", "sat,sun".',
                "anyOf": [
                    {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "pattern": _full(_DAY_TOKEN)},
                    },
                    {"type": "string", "pattern": _full(f"{_DAY_TOKEN}(?:,{_DAY_TOKEN})*")},
                ],
            },
            "timezone": _zone("This schedule's zone (default: the config's)"),
            "enabled": _bool("false keeps the schedule without its windows."),
            "args": _strings("Arguments added to the job's command in this schedule's windows."),
            "env": _env("Variables added to the job's environment in this schedule's windows."),
            "random_delay": _delay(
                "Start up to this much later than the window's start (shorter than the window)."
            ),
            "wake": _bool("Wake the machine from sleep for the window's start (systemd, Task Scheduler)."),
            **_dates(),
        },
    )


def _window() -> Fragment:
    return _table(
        dateconfig.WINDOW_KEYS,
        dateconfig.WINDOW_REQUIRED,
        {
            "id": _string(_full(parse.ID_RE), "The window's id (default: once-YYYYMMDD-HHMM)."),
            "start": _string(_full(dates.AT_RE), 'Date and wall time "YYYY-MM-DDTHH:MM", in its zone.'),
            "duration": _duration("The window's length, 1 minute to 7 days."),
            "timezone": _zone("This window's zone (default: the config's)"),
            "enabled": _bool("false keeps the window without running it."),
            "args": _strings("Arguments added to the job's command in this window."),
            "env": _env("Variables added to the job's environment in this window."),
        },
    )


def _limits() -> Fragment:
    return _table(
        limits.KEYS,
        (),
        {
            "nice": _int(limits.NICE, "CPU niceness."),
            "io": _string(
                _full(limits.IO_RE, pad=True), 'I/O class: "idle" or "best-effort:0".."best-effort:7".'
            ),
            "cpu": _string(_full(limits.CPU_RE, pad=True), 'CPU time as a percentage of one CPU: "50%".'),
            "memory": {
                "description": 'Memory: bytes, or "512M", "4G" (powers of 1024), at least 1M.',
                "anyOf": [
                    {"type": "integer", "minimum": limits.MIN_MEMORY},
                    {"type": "string", "pattern": _full(limits.SIZE_RE, pad=True)},
                ],
            },
            "tasks": _int(limits.TASKS, "Processes and threads."),
        },
    )


def _kube_job() -> Fragment:
    quantity = {
        "anyOf": [
            {"type": "string", "pattern": _full(validators.QUANTITY)},
            {"type": "integer", "minimum": 0},
        ]
    }
    secret = _full(f"{validators.DNS_SUBDOMAIN.pattern}/{validators.SECRET_KEY.pattern}")
    return _table(
        validators.KUBE_JOB_KEYS,
        (),
        {
            "image": _string(_full(_NO_SPACE), "The container image (the kubernetes target needs it)."),
            "service_account": _string(_full(validators.DNS_SUBDOMAIN), "The pod's service account."),
            "resources": _table(validators.RESOURCE_KEYS, (), {"cpu": quantity, "memory": quantity}),
            "secret_env": {
                "type": "object",
                "description": 'Variables from a Secret: { API_TOKEN = "secret-name/key" }.',
                "patternProperties": {_full(parse.ENV_NAME_RE): {"type": "string", "pattern": secret}},
                "additionalProperties": False,
            },
        },
    )


def _job() -> Fragment:
    hooks = {
        h: _strings(f"A command run {what} (detached).", argv=True)
        for h, what in (("on_failure", "when a start or the job fails"), ("on_start", "at a start"))
    }
    hooks["on_success"] = _strings("A command run when the job succeeds or is stopped (detached).", argv=True)
    return _table(
        validators.JOB_KEYS,
        validators.JOB_REQUIRED,
        {
            "command": _strings('The job\'s argv (no shell): ["python3", "-m", "agent"].', argv=True),
            "workdir": {
                "type": "string",
                "minLength": 1,
                "pattern": "^[^\\x00]*$",
                "description": "Working directory.",
            },
            "env": _env("Environment variables of the job."),
            "stop_signal": _string(
                "^\\s*(?:"
                + _ci("SIG")
                + ")?"
                + _any_of([s.removeprefix("SIG") for s in parse.SIGNALS])
                + "\\s*$",
                "The signal sent at the end of the window (to the whole process group).",
            ),
            "stop_timeout": _delay("How long to wait after stop_signal before SIGKILL."),
            "restart": _table(
                validators.RESTART_KEYS,
                (),
                {
                    "retries": _int(validators.RETRIES, "Crash restarts per window."),
                    "backoff": {
                        "type": "array",
                        "minItems": 1,
                        "items": _delay("A wait before a restart."),
                        "description": 'Waits before each restart: ["10s", "30s", "90s"].',
                    },
                },
            ),
            "schedules": {"type": "array", "items": _schedule(), "description": "Weekly windows."},
            "windows": {"type": "array", "items": _window(), "description": "One-off windows on a date."},
            "kubernetes": _kube_job(),
            **hooks,
            "ping_url": _string(
                f"^https?://[^\\s{_UNSAFE}/?#]+[^\\s{_UNSAFE}]*$", "Pinged at start, success, failure."
            ),
            "user": _string(
                _full(safe.USER_RE), "The account the job runs as (needed by --system installs)."
            ),
            "env_files": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "pattern": "^[^\\x00]*$"},
                "description": "Files of KEY=VALUE lines read at each start (for secrets).",
            },
            "limits": _limits(),
            "log_keep": _int(validators.LOG_KEEP, "Old output logs kept."),
            **{flag: _bool(_LAPTOP_HELP[flag]) for flag in validators.LAPTOP_FLAGS},
            **_dates(),
        },
    )


_LAPTOP_HELP = {
    "keep_awake": "Keep the machine from sleeping while the job runs.",
    "on_ac_power": "Start only on AC power.",
    "network": "Start only when the network is up.",
    "stop_on_battery": "Stop the job when the machine goes on battery.",
}


def schema() -> Fragment:
    """The JSON Schema (draft-07, keywords draft-04 knows too) of an osched config."""
    root = _table(
        validators.TOP_KEYS,
        (),
        {
            "timezone": _zone("The default zone of every schedule (default: the host's)"),
            "jobs": {
                "type": "object",
                "description": "The jobs, by name: [jobs.NAME].",
                "patternProperties": {_full(parse.ID_RE): _job()},
                "additionalProperties": False,
            },
            "kubernetes": _table(
                validators.KUBE_KEYS,
                (),
                {
                    "namespace": _string(_full(validators.DNS_LABEL), "The namespace of the CronJobs."),
                    "context": _string(_full(_SAFE_TEXT), "The kubeconfig context."),
                },
            ),
        },
    )
    head = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "osched config",
        "description": "Time-window schedules for osched (docs/config.md).",
    }
    return {**head, **root}


def text() -> str:
    return json.dumps(schema(), indent=1, ensure_ascii=True) + "\n"


def path() -> str:
    """The shipped schema file's path."""
    from pathlib import Path

    return str(Path(__file__).with_name(FILE))


if __name__ == "__main__":
    print(text(), end="")
