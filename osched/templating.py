"""The one Jinja2 environment, and the named escaping filter of each output format.

Templates live in the top-level ``templates/`` folder of the source tree and ship inside the
wheel as ``osched/templates``.
"""

from __future__ import annotations

import plistlib
import shlex
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

import jinja2

from .errors import UsageError

_HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = _HERE / "templates" if (_HERE / "templates").is_dir() else _HERE.parent / "templates"


def _no_newline(value: str, fmt: str) -> str:
    if "\n" in value or "\r" in value or "\x00" in value:
        raise UsageError(f"{value!r} contains a line break or NUL, which {fmt} cannot hold")
    return value


def cron_command(argv: list[str]) -> str:
    """A crontab command: each argument quoted for /bin/sh, then ``%`` escaped as ``\\%``
    (cron turns a bare ``%`` into a newline).  python-crontab parses ``\\%`` back to ``%``
    and escapes it again when it writes the crontab, so the net escaping happens once."""
    return " ".join(shlex.quote(_no_newline(a, "a crontab line")) for a in argv).replace("%", "\\%")


def systemd_arg(value: str) -> str:
    """One ``ExecStart=`` argument: double-quoted, with ``\\`` and ``"`` escaped, ``%``
    specifiers doubled and ``$`` variable expansion disabled (``$$``)."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("%", "%%")
        .replace("$", "$$")
        .replace("\n", "\\n")
        .replace("\t", "\\t")
    )
    if "\x00" in escaped:
        raise UsageError(f"{value!r} contains a NUL character")
    return f'"{escaped}"'


def systemd_executable(path: str) -> str:
    """The program word of ``ExecStart=``: systemd expands ``%`` specifiers there but not
    ``$`` variables, and refuses quotes and backslashes in it outright."""
    if any(c in path for c in "\"'\\\n\x00"):
        raise UsageError(
            f"systemd cannot run a program whose path contains a quote or backslash: {path!r}; "
            "install osched under a plainer path"
        )
    return '"' + path.replace("%", "%%") + '"'


def systemd_exec(argv: list[str]) -> str:
    return " ".join([systemd_executable(argv[0]), *(systemd_arg(a) for a in argv[1:])])


def systemd_text(value: str) -> str:
    """Free text such as ``Description=``: specifiers doubled, one line."""
    return _no_newline(value, "a unit file line").replace("%", "%%")


def xml_text(value: str) -> str:
    """Text or attribute content in XML."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise UsageError(f"{value!r} contains a control character that XML cannot hold")
    return _xml_escape(value, {'"': "&quot;", "'": "&apos;"})


def windows_cmdline(argv: list[str]) -> str:
    """Arguments joined by the MS C runtime rules (what CreateProcess's callee parses)."""
    return subprocess.list2cmdline(argv)


def plist(value: dict[str, Any]) -> str:
    """A whole property list through plistlib (it does the XML escaping)."""
    return plistlib.dumps(value, sort_keys=True).decode("utf-8")


FILTERS = {
    "cron_command": cron_command,
    "systemd_exec": systemd_exec,
    "systemd_arg": systemd_arg,
    "systemd_executable": systemd_executable,
    "systemd_text": systemd_text,
    "xml": xml_text,
    "windows_cmdline": windows_cmdline,
    "plist": plist,
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
