"""The config's small validators: each checks one value at one key path and raises the loader's
one-line error (``fail(key, message)``).  ``config.validate`` composes them; the Kubernetes
tables (``[kubernetes]``, ``[jobs.NAME.kubernetes]``) are checked here too."""

from __future__ import annotations

import re
from typing import Any

from . import parse
from .model import DEFAULT_BACKOFF, DEFAULT_RETRIES

# every key the config may hold, per table (anything else is an error naming it)
TOP_KEYS = {"timezone", "jobs", "kubernetes"}
JOB_KEYS = {
    *("command", "workdir", "env", "stop_signal", "stop_timeout", "restart", "schedules", "kubernetes"),
    *("on_failure", "on_start", "on_success", "ping_url", "user", "env_files", "limits", "log_keep"),
    *("keep_awake", "on_ac_power", "network", "stop_on_battery"),
    *("skip", "holidays", "windows"),
}
LAPTOP_FLAGS = ("keep_awake", "on_ac_power", "network", "stop_on_battery")
RESTART_KEYS = {"retries", "backoff"}
JOB_REQUIRED = ("command",)
SCHEDULE_REQUIRED = ("id", "start", "duration", "days")
RETRIES = (0, 100)  # restart.retries: crash restarts per window
LOG_KEEP = (1, 100)  # old output logs kept
SCHEDULE_KEYS = {
    *("id", "start", "duration", "days", "timezone", "enabled", "args", "env"),
    *("random_delay", "wake", "skip", "holidays"),
}
KUBE_KEYS = {"namespace", "context"}
KUBE_JOB_KEYS = {"image", "service_account", "resources", "secret_env"}
RESOURCE_KEYS = {"cpu", "memory"}
SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")  # a key in a Kubernetes Secret
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")


HOOK_KEYS = ("on_failure", "on_start", "on_success")


def _job_extras(raw: dict[str, Any], key: str, fail: Any) -> dict[str, Any]:
    """A job's hooks, ``ping_url``, ``user``, ``env_files`` and ``limits``: the Job fields they
    set (only those given)."""
    from . import limits

    out: dict[str, Any] = {
        h: _strings(raw[h], f"{key}.{h}", fail, nonempty=True) for h in HOOK_KEYS if h in raw
    }
    if "ping_url" in raw:
        out["ping_url"] = _call(parse.parse_url, raw["ping_url"], f"{key}.ping_url", fail)
    if "user" in raw:
        out["user"] = _call(parse.parse_user, raw["user"], f"{key}.user", fail)
    if "env_files" in raw:
        files = _strings(raw["env_files"], f"{key}.env_files", fail)
        if any(not f or "\x00" in f for f in files):
            raise fail(f"{key}.env_files", "must be a list of file paths")
        out["env_files"] = files
    if "limits" in raw:
        out["limits"] = _call(limits.parse, raw["limits"], f"{key}.limits", fail)
    for name in LAPTOP_FLAGS:
        if name in raw:
            out[name] = _flag(raw, name, False, key, fail)
    if "log_keep" in raw:
        keep = raw["log_keep"]
        low, high = LOG_KEEP
        if isinstance(keep, bool) or not isinstance(keep, int) or not low <= keep <= high:
            raise fail(f"{key}.log_keep", f"must be an integer from {low} to {high} (old output logs kept)")
        out["log_keep"] = keep
    return out


def _flag(raw: dict[str, Any], name: str, default: bool, key: str, fail: Any) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise fail(f"{key}.{name}", "must be true or false")
    return value


def _kube_defaults(raw: object, fail: Any) -> dict[str, str]:
    """``[kubernetes]``: namespace (a DNS-1123 label) and context (a kubeconfig context)."""
    if not isinstance(raw, dict):
        raise fail("kubernetes", "must be a table ([kubernetes])")
    _unknown(raw, KUBE_KEYS, "kubernetes", fail)
    out: dict[str, str] = {}
    if "namespace" in raw:
        out["namespace"] = _name(raw["namespace"], "kubernetes.namespace", DNS_LABEL, fail)
    if "context" in raw:
        out["context"] = _text(raw["context"], "kubernetes.context", fail)
    return out


def _kube_job(raw: object, key: str, fail: Any) -> dict[str, Any]:
    """``[jobs.NAME.kubernetes]``: image, service_account, resources = { cpu, memory }.  The
    image is required by the kubernetes target only (it says so when it renders)."""
    if not isinstance(raw, dict):
        raise fail(key, "must be a table ([jobs.NAME.kubernetes])")
    _unknown(raw, KUBE_JOB_KEYS, key, fail)
    out: dict[str, Any] = {}
    if "image" in raw:
        image = _text(raw["image"], f"{key}.image", fail)
        if any(c.isspace() for c in image):
            raise fail(f"{key}.image", "must not contain spaces")
        out["image"] = image
    if "service_account" in raw:
        out["service_account"] = _name(raw["service_account"], f"{key}.service_account", DNS_SUBDOMAIN, fail)
    if "secret_env" in raw:
        out["secret_env"] = _secret_env(raw["secret_env"], f"{key}.secret_env", fail)
    if "resources" in raw:
        res = raw["resources"]
        if not isinstance(res, dict):
            raise fail(f"{key}.resources", 'must be a table such as { cpu = "2", memory = "4Gi" }')
        _unknown(res, RESOURCE_KEYS, f"{key}.resources", fail)
        out["resources"] = {}
        for k, v in res.items():
            text = str(v) if isinstance(v, int) and not isinstance(v, bool) else v
            if not isinstance(text, str) or not QUANTITY.fullmatch(text):
                raise fail(
                    f"{key}.resources.{k}", 'must be a Kubernetes quantity such as "500m", "2" or "4Gi"'
                )
            out["resources"][k] = text
    return out


def _secret_env(raw: object, key: str, fail: Any) -> dict[str, dict[str, str]]:
    """``secret_env = { NAME = "secret-name/key" }``: a variable from a Kubernetes Secret."""
    if not isinstance(raw, dict):
        raise fail(key, 'must be a table such as { API_TOKEN = "agent-secrets/token" }')
    out = {}
    for name, ref in raw.items():
        if not parse.ENV_NAME_RE.fullmatch(name):
            raise fail(f"{key}.{name}", "must be a variable name (letters, digits, _)")
        secret, slash, item = ref.partition("/") if isinstance(ref, str) else ("", "", "")
        if not slash or not DNS_SUBDOMAIN.fullmatch(secret) or not SECRET_KEY.fullmatch(item):
            raise fail(f"{key}.{name}", 'must be "secret-name/key" (a Secret in the namespace, and its key)')
        out[name] = {"name": secret, "key": item}
    return out


def _text(value: object, key: str, fail: Any) -> str:
    from .safe import unsafe_char

    if not isinstance(value, str) or not value:
        raise fail(key, "must be a non-empty string")
    if unsafe_char(value) is not None:
        raise fail(key, "must not contain control characters or line breaks")
    return value


def _name(value: object, key: str, pattern: re.Pattern[str], fail: Any) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise fail(key, f"must be a Kubernetes name (lower case letters, digits and '-'): {value!r}")
    return value


def _quote(name: str) -> str:
    return name if parse.ID_RE.fullmatch(name) else '"' + name.replace('"', '\\"') + '"'


def _unknown(table: dict[str, Any], allowed: set[str], prefix: str, fail: Any) -> None:
    for k in table:
        if k not in allowed:
            dotted = f"{prefix}.{k}" if prefix else k
            raise fail(dotted, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _zone(value: object, key: str, fail: Any) -> str:
    if not isinstance(value, str):
        raise fail(key, f"invalid time zone {value!r}: expected an IANA name such as 'Europe/Berlin'")
    try:
        parse.zone(value)
    except ValueError as e:
        raise fail(key, str(e)) from None
    return value


def _call(func: Any, value: object, key: str, fail: Any) -> Any:
    try:
        return func(value)
    except ValueError as e:
        raise fail(key, str(e)) from None


def _strings(value: object, key: str, fail: Any, *, nonempty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(key, "must be a list of strings")
    if nonempty and (not value or not value[0]):
        raise fail(key, 'must name a program: a non-empty list such as ["python3", "job.py"]')
    if any("\x00" in v for v in value):
        raise fail(key, "must not contain NUL characters")
    return tuple(value)


def _env(value: object, key: str, fail: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise fail(key, 'must be a table of NAME = "value" strings')
    out: dict[str, str] = {}
    for k, v in value.items():
        if not parse.ENV_NAME_RE.fullmatch(k):
            raise fail(f"{key}.{k}", "invalid environment variable name")
        if not isinstance(v, str) or "\x00" in v:
            raise fail(f"{key}.{k}", "must be a string")
        out[k] = v
    return out


def _restart(restart: object, rkey: str, fail: Any) -> tuple[int, tuple[float, ...]]:
    """``restart = { retries = N, backoff = [...] }`` -> (retries, backoff)."""
    if not isinstance(restart, dict):
        raise fail(rkey, 'must be a table such as { retries = 3, backoff = ["10s"] }')
    _unknown(restart, RESTART_KEYS, rkey, fail)
    retries = restart.get("retries", DEFAULT_RETRIES)
    low, high = RETRIES
    if isinstance(retries, bool) or not isinstance(retries, int) or not low <= retries <= high:
        raise fail(f"{rkey}.retries", f"must be an integer from {low} to {high}")
    if "backoff" not in restart:
        return retries, DEFAULT_BACKOFF
    steps = restart["backoff"]
    if not isinstance(steps, list) or not steps:
        raise fail(f"{rkey}.backoff", 'must be a non-empty list of delays such as ["10s"]')
    return retries, tuple(
        _call(parse.parse_seconds, step, f"{rkey}.backoff[{i}]", fail) for i, step in enumerate(steps)
    )
