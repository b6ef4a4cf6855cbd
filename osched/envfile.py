"""``env_files``: secrets kept outside the config, read by the entrypoint when it starts the job
(and its hooks), never by ``render``, ``show`` or anything that prints.

The syntax is systemd's ``EnvironmentFile=``: ``KEY=VALUE`` lines; blank lines and lines
starting with ``#`` or ``;`` are skipped; a value may be quoted with ``'`` (as is) or ``"``
(``\\"``, ``\\\\``, ``\\$`` and ``\\n`` escapes), and whitespace around an unquoted value is
dropped.  A file is opened and checked like the config (``core.trust.open_config``: the user's
or root's, writable by no one else, no link another user owns, every folder above it safe).

Errors name the file and the line, never a value: a value is a secret."""

from __future__ import annotations

import os
from pathlib import Path

from .core.trust import Untrusted, open_config
from .parse import ENV_NAME_RE

MAX_BYTES = 1 << 20


class EnvFileError(Exception):
    """An env file that cannot be used: the message names the file (and line), no value."""


def path_of(raw: str, config_path: Path) -> Path:
    """``~`` expanded (the entrypoint's home), a relative path relative to the config's folder."""
    p = Path(os.path.expanduser(raw))
    return p if p.is_absolute() else config_path.parent / p


def read(path: Path, uid: int) -> dict[str, str]:
    try:
        fd, _ = open_config(str(path), uid, "env file")
    except Untrusted as e:
        raise EnvFileError(str(e)) from None
    except OSError as e:
        raise EnvFileError(f"env file {path}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise EnvFileError(f"env file {path} is larger than 1 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvFileError(f"env file {path} is not UTF-8") from None
    return parse(text, str(path))


def parse(text: str, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        key, eq, value = stripped.partition("=")
        key = key.strip()
        if not eq or not ENV_NAME_RE.fullmatch(key):
            raise EnvFileError(f"{where}:{n}: expected KEY=VALUE (a name of letters, digits and _)")
        out[key] = _value(value.strip(), where, n)
    return out


def _value(raw: str, where: str, n: int) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        out, i, body = [], 0, raw[1:-1]
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                out.append("\n" if nxt == "n" else nxt if nxt in '"\\$`' else c + nxt)
                i += 2
                continue
            out.append(c)
            i += 1
        return "".join(out)
    if raw[:1] in ("'", '"'):
        raise EnvFileError(f"{where}:{n}: an unterminated quote")
    return raw


def load(raws: tuple[str, ...], config_path: Path, uid: int) -> dict[str, str]:
    """Every env file of a job, in order (a later file's KEY wins)."""
    env: dict[str, str] = {}
    for raw in raws:
        env.update(read(path_of(raw, config_path), uid))
    return env
