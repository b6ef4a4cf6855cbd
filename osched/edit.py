"""Round-trip edits of the config with tomlkit: the user's comments, order and layout survive.

Every edit is validated as a whole config before the file is replaced atomically, so a bad
edit leaves the file byte for byte as it was.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, InlineTable, Table

from . import config as config_mod
from .errors import ConfigError, OschedError, UsageError
from .fsutil import atomic_write, locked_file

_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\[#\n]+?)[ \t]*\]\]?[ \t]*(?:#[^\n]*)?$", re.M)


# job keys written as one TOML value each
SCALAR_JOB_KEYS = (
    "workdir",
    "stop_signal",
    "stop_timeout",
    "ping_url",
    "user",
    "log_keep",
    "keep_awake",
    "on_ac_power",
    "network",
    "stop_on_battery",
)


class Editor:
    """Open the config once, apply edits to the tomlkit document, then ``save()``.

    ``job``: the edit touches only that job.  Then only the job's own tables are parsed and
    re-emitted with tomlkit (it parses a 10,000-schedule file in seconds) and spliced back into
    the text, when they can be cut out exactly (checked against the whole file's parse); the
    result is validated as a whole before anything is written, as always."""

    def __init__(self, path: Path, job: str | None = None) -> None:
        self.path = path
        with config_mod.open_trusted(path) as opened:  # an edit is refused where a firing would be
            self.original = config_mod.decode(opened.read(), path)
            self.identity = opened.identity
        config_mod.check_keys(self.original, path)
        self.prefix = self.suffix = ""
        self.appending = False
        part = _job_part(self.original, job) if job is not None else None
        self.partial = part is not None
        if part is None:
            # refuse to edit a config that is already broken: the error names what to fix first
            config_mod.validate(config_mod.parse_toml(self.original, path), path)
            self.doc = _tomlkit_parse(self.original, path)
        else:  # a broken config is still refused, by save()'s whole validation
            start, end = part
            self.prefix, self.suffix = self.original[:start], self.original[end:]
            self.appending = start == end
            self.doc = _tomlkit_parse(self.original[start:end], path)

    # -- jobs -------------------------------------------------------------------------------
    def _jobs(self, create: bool = False) -> Any:
        jobs = self.doc.get("jobs")
        if jobs is None:
            if not create:
                return {}
            jobs = tomlkit.table(is_super_table=True)
            self.doc["jobs"] = jobs
        return jobs

    def job(self, name: str) -> Any:
        jobs = self._jobs()
        if name not in jobs:
            import difflib

            close = difflib.get_close_matches(name, list(jobs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (jobs: {', '.join(jobs) or 'none'})"
            raise UsageError(f"no job named {name!r} in {self.path}{hint}")
        return jobs[name]

    def check_new_job(self, name: str) -> None:
        if name in self._jobs():
            raise UsageError(f"job {name!r} already exists in {self.path}")

    def add_job(self, name: str, command: list[str], **fields: Any) -> None:
        self.check_new_job(name)
        jobs = self._jobs(create=True)
        table = tomlkit.table()
        table["command"] = _array(command)
        self._set_job_fields(table, fields)
        table.add(tomlkit.nl())
        jobs[name] = table

    def set_job(self, name: str, **fields: Any) -> None:
        self._set_job_fields(self.job(name), fields)

    def _set_job_fields(self, table: Any, fields: Mapping[str, Any]) -> None:
        for key, value in fields.items():
            if value is None:
                continue
            if key in ("command", "on_failure", "on_start", "on_success", "env_files"):
                _put(table, key, _array(value))
            elif key.startswith("unset_") and key != "unset_env":  # unset_on_failure, unset_ping_url ...
                if key[len("unset_") :] in table:
                    del table[key[len("unset_") :]]
            elif key in SCALAR_JOB_KEYS:
                _put(table, key, value)
            elif key == "limits":  # {KEY: value, or None to remove it}
                _merge_limits(table, value)
            elif key == "env":
                _merge_env(table, value)
            elif key == "unset_env":
                _unset_env(table, value)
            elif key in ("retries", "backoff"):
                restart = table.get("restart")
                if restart is None:
                    restart = tomlkit.inline_table()
                    _put(table, "restart", restart)
                    restart = table["restart"]
                restart[key] = _array(value) if key == "backoff" else value
            else:  # pragma: no cover - programming error
                raise KeyError(key)

    def remove_job(self, name: str) -> None:
        self.job(name)
        del self._jobs()[name]

    # -- schedules --------------------------------------------------------------------------
    def _schedules(self, job: str) -> Any:
        table = self.job(job)
        return table.get("schedules")

    def schedule(self, job: str, sid: str) -> Any:
        for item in self._schedules(job) or []:
            if item.get("id") == sid:
                return item
        raise UsageError(f"job {job!r} has no schedule with id {sid!r}")

    def schedule_ids(self, job: str) -> list[str]:
        return [str(item.get("id")) for item in self._schedules(job) or []]

    def add_schedule(self, job: str, fields: Mapping[str, Any]) -> str:
        table = self.job(job)
        ids = self.schedule_ids(job)
        sid = fields.get("id") or _free_id(ids)
        if sid in ids:
            raise UsageError(f"job {job!r} already has a schedule with id {sid!r}")
        item = tomlkit.table()
        item["id"] = sid
        for key in (
            *("start", "duration", "days", "timezone", "enabled", "args", "env"),
            "random_delay",
            "wake",
        ):
            value = fields.get(key)
            if value is None:
                continue
            item[key] = _inline(value) if key == "env" else _value(value)
        item.add(tomlkit.nl())
        schedules = table.get("schedules")
        if schedules is None:
            schedules = tomlkit.aot()
            table["schedules"] = schedules
        if not isinstance(schedules, AoT):
            raise UsageError(
                f"jobs.{job}.schedules in {self.path} is an inline array; "
                "write it as [[jobs.NAME.schedules]] tables to edit it from the CLI"
            )
        schedules.append(item)
        return str(sid)

    def set_schedule(self, job: str, sid: str, fields: Mapping[str, Any]) -> None:
        item = self.schedule(job, sid)
        for key, value in fields.items():
            if value is None:
                continue
            if key == "env":
                _merge_env(item, value)
            elif key == "unset_env":
                _unset_env(item, value)
            elif key == "id":
                if value != sid and value in self.schedule_ids(job):
                    raise UsageError(f"job {job!r} already has a schedule with id {value!r}")
                item["id"] = value
            else:
                _put(item, key, _value(value))

    def remove_schedule(self, job: str, sid: str) -> None:
        schedules = self._schedules(job)
        for i, item in enumerate(schedules or []):
            if item.get("id") == sid:
                del schedules[i]
                if not len(schedules):
                    del self.job(job)["schedules"]
                return
        raise UsageError(f"job {job!r} has no schedule with id {sid!r}")

    # -- saving -----------------------------------------------------------------------------
    def render(self) -> str:
        body = tomlkit.dumps(self.doc)
        if self.appending and self.prefix.strip() and body and not self.prefix.endswith("\n\n"):
            # a new job at the end: a blank line before its table, as tomlkit writes one
            body = "\n" + body
        return self.prefix + body + self.suffix

    def save(self) -> config_mod.Loaded:
        """Validate the edited document as a whole, then replace the file atomically; the
        result is the command's one load of the config (``config.Loaded``)."""
        text = self.render()
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:  # pragma: no cover - tomlkit wrote bad TOML
            raise ConfigError(
                f"edit produced invalid TOML ({e}); file left unchanged", str(self.path)
            ) from None
        cfg = config_mod.validate(doc, self.path)
        data = text.encode("utf-8")
        if text == self.original:
            return config_mod.Loaded(self.path, self.identity, data, cfg)
        if config_mod.read_text(self.path) != self.original:  # compare just before the rename
            raise ConfigError(
                "the config changed while it was being edited; nothing was saved: try again",
                str(self.path),
            )
        st = atomic_write(self.path, data)
        return config_mod.written(self.path, data, cfg, st)


def _remove_stale_temps(path: Path) -> None:
    """Temp files an edit killed halfway left beside the config (``.osched.toml.*.tmp``): under
    the config's lock no edit is writing one, so an old one of ours is litter."""
    import stat
    import time

    from .osdep import euid

    for p in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            st = p.lstat()
            if stat.S_ISREG(st.st_mode) and st.st_uid == euid() and time.time() - st.st_mtime > 60:
                p.unlink()
        except OSError:
            continue


def _tomlkit_parse(text: str, path: Path) -> Any:
    config_mod.check_keys(text, path)
    try:
        return tomlkit.parse(text)
    except RecursionError:
        raise ConfigError("TOML nested too deeply", str(path)) from None


def _put(table: Any, key: str, value: Any) -> None:
    """Set ``key``; a new key goes right after the table's last key, ahead of the comments and
    blank lines that end the table (which belong visually to what follows)."""
    if key in table:
        table[key] = value
        return
    container = getattr(table, "value", None)
    body = getattr(container, "body", None)
    last = None
    for k, _item in body or []:
        if k is not None and not isinstance(_item, (Table, AoT)):
            last = k
    if last is None or container is None or body is None or body[-1][0] == last:
        table[key] = value
        return
    try:
        container._insert_after(last, key, value)
    except Exception:  # pragma: no cover - tomlkit internals changed: append instead
        table[key] = value


def _free_id(ids: Iterable[str]) -> str:
    taken = set(ids)
    n = 1
    while f"s{n}" in taken:
        n += 1
    return f"s{n}"


def _array(values: Iterable[Any]) -> Any:
    arr = tomlkit.array()
    arr.extend(values)
    return arr


def _inline(mapping: Mapping[str, Any]) -> InlineTable:
    table = tomlkit.inline_table()
    table.update(mapping)
    return table


def _value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return _array(value)
    return value


def _merge_limits(table: Any, changes: Mapping[str, Any]) -> None:
    limits = table.get("limits")
    if limits is None:
        limits = tomlkit.inline_table()
        _put(table, "limits", limits)
        limits = table["limits"]
    for k, v in changes.items():
        if v is None:
            if k in limits:
                del limits[k]
        else:
            limits[k] = v
    if not len(limits):
        del table["limits"]


def _merge_env(table: Table | Any, env: Mapping[str, str]) -> None:
    if not env:
        return
    current = table.get("env")
    if current is None:
        _put(table, "env", _inline(env))
        return
    for k, v in env.items():
        current[k] = v


def _unset_env(table: Table | Any, names: Iterable[str]) -> None:
    current = table.get("env")
    for name in names:
        if current is None or name not in current:
            raise UsageError(f"no environment variable {name!r} to unset")
        del current[name]
    if current is not None and not len(current):
        del table["env"]


_OTHER_JOB_SYNTAX = re.compile(r"^[ \t]*(?:\[[ \t]*jobs[ \t]*\]|jobs[ \t]*[.=])", re.M)


def _job_part(text: str, job: str) -> tuple[int, int] | None:
    """Where job ``job``'s tables stand in ``text`` (``[jobs.JOB]``, ``[jobs.JOB.x]``,
    ``[[jobs.JOB.schedules]]``, all together), or None when they cannot be cut out for sure.
    A job with no table gets an empty part at the end (``job add``).  What this cannot see
    (a job also defined another way) makes the whole result fail to parse at ``save``, and
    ``edit`` then does the edit the full way."""
    if '"""' in text or "'''" in text:  # a multi-line string could hold a header-like line
        return None
    if _OTHER_JOB_SYNTAX.search(text):  # jobs as a table, dotted or inline keys: full parse
        return None
    heads = [(m.start(), re.sub(r"[ \t]", "", m.group(1))) for m in _HEADER.finditer(text)]
    ours = f"jobs.{job}"
    mine = [i for i, (_, name) in enumerate(heads) if name == ours or name.startswith(ours + ".")]
    if not mine:
        return len(text), len(text)
    if mine != list(range(mine[0], mine[-1] + 1)):
        return None
    start = heads[mine[0]][0]
    end = heads[mine[-1] + 1][0] if mine[-1] + 1 < len(heads) else len(text)
    try:
        alone = tomllib.loads(text[start:end])
    except (tomllib.TOMLDecodeError, RecursionError):
        return None  # the whole file's parse says what is wrong
    if list(alone) != ["jobs"] or list(alone["jobs"]) != [job]:
        return None
    return start, end


def edit(
    path: Path, change: Callable[[Editor], Any], job: str | None = None
) -> tuple[config_mod.Loaded, Any]:
    """Open, apply ``change``, validate and save; return the new config (as loaded: bytes,
    config, identity) and change's result.
    ``job``: the change touches only that job (faster on big files).  Concurrent edits
    serialise on a lock on the config file itself, so both land."""
    if not path.exists():
        Editor(path)  # the one-line "config file not found" error
    with locked_file(path):
        _remove_stale_temps(path)
        editor = Editor(path, job)
        try:
            result = change(editor)
            return editor.save(), result
        except OschedError:
            if not editor.partial:
                raise
        editor = Editor(path)  # the job's part alone did not do: the whole file, with tomlkit
        result = change(editor)
        return editor.save(), result
