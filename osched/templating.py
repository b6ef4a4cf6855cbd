"""The one Jinja2 environment, and the named escaping filter of each output format.

Templates live in the top-level ``templates/`` folder (DESIGN section 1) and ship inside the
wheel as ``osched/templates``; ``TEMPLATE_DIR`` is the one place that finds them: the
package's copy when installed from a wheel, the checkout's in an editable install.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .safe import UNSAFE_RE, unsafe_char

if TYPE_CHECKING:
    import jinja2
    import jinja2.runtime

_HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = _HERE / "templates" if (_HERE / "templates").is_dir() else _HERE.parent / "templates"


def _no_newline(value: str, fmt: str) -> str:
    """Every filter refuses what ``safe.check`` refuses (defence in depth: the context already
    checked the values it holds)."""
    bad = unsafe_char(value)
    if bad is not None:
        raise UsageError(f"{value!r} contains {bad!r}, which {fmt} cannot hold")
    return value


# a value with no character XML escapes and none that ``safe`` refuses (its character class,
# not a copy of it): one pass instead of the check and five replacements
_XML_PLAIN = re.compile("[^&<>\"'" + UNSAFE_RE.pattern.removeprefix("[") + "*")


def cron_command(argv: list[str]) -> str:
    """A crontab command: each argument quoted for /bin/sh, then ``%`` escaped as ``\\%``
    (cron turns a bare ``%`` into a newline).  python-crontab parses ``\\%`` back to ``%``
    and escapes it again when it writes the crontab, so the net escaping happens once."""
    return _cron_command(tuple(argv))


@lru_cache(maxsize=256)  # a schedule's start (and stop) lines share their command
def _cron_command(argv: tuple[str, ...]) -> str:
    return " ".join([_cron_word(a) for a in argv])


@lru_cache(maxsize=4096)  # the config and state paths repeat on every line
def _cron_word(arg: str) -> str:
    if "\\%" in arg:  # cron reads "\\\\%" as "\\" + a command-ending "%": no escape exists for it
        raise UsageError(f"{arg!r} contains a backslash before '%', which a crontab line cannot pass on")
    if "#" in arg:  # python-crontab, which checks osched's lines, drops an @reboot line that holds one
        raise UsageError(f"{arg!r} contains '#', which osched does not put into a crontab line")
    return shlex.quote(_no_newline(arg, "a crontab line")).replace("%", "\\%")


@lru_cache(maxsize=4096)
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
    _no_newline(value, "a unit file line")
    return f'"{escaped}"'


@lru_cache(maxsize=64)  # the start and stop entrypoints, on every unit
def systemd_executable(path: str) -> str:
    """The program word of ``ExecStart=``: systemd expands ``%`` specifiers there but not
    ``$`` variables, and refuses quotes and backslashes in it outright."""
    _no_newline(path, "a unit file line")
    if any(c in path for c in "\"'\\"):
        raise UsageError(
            f"systemd cannot run a program whose path contains a quote or backslash: {path!r}; "
            "install osched under a plainer path"
        )
    return '"' + path.replace("%", "%%") + '"'


def systemd_exec(argv: list[str]) -> str:
    return " ".join([systemd_executable(argv[0]), *map(systemd_arg, argv[1:])])


@lru_cache(maxsize=4096)  # names, paths and descriptions repeat across thousands of units
def systemd_text(value: str) -> str:
    """Free text such as ``Description=``: specifiers doubled, one line."""
    return _no_newline(value, "a unit file line").replace("%", "%%")


@lru_cache(maxsize=4096)
def xml_text(value: str) -> str:
    """Text or attribute content in XML (a ``\\r`` would silently become ``\\n``)."""
    if _XML_PLAIN.fullmatch(value):  # most values (descriptions, names): nothing to escape
        return value
    _no_newline(value, "XML")
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def windows_cmdline(argv: list[str]) -> str:
    """Arguments joined by the MS C runtime rules (what CreateProcess's callee parses)."""
    return " ".join([_cmdline_arg(a) for a in argv])


@lru_cache(maxsize=4096)
def _cmdline_arg(arg: str) -> str:
    return subprocess.list2cmdline([arg])


@lru_cache(maxsize=4096)
def plist_string(value: str) -> str:
    """A ``<string>`` of an XML property list, escaped exactly as plistlib escapes it
    (line ends normalised to \\n; ``&``, ``<``, ``>``); control characters are refused."""
    _no_newline(value, "a property list")
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plist_strings(values: list[str]) -> str:
    """The ``<string>`` lines of an array of strings, in plistlib's layout (two tabs deep):
    one call per array, not a template loop per element (each agent's ProgramArguments)."""
    return "".join([f"\t\t<string>{plist_string(v)}</string>\n" for v in values])


@lru_cache(maxsize=4096)  # schedules with the same timing share one calendar
def plist_dicts(dicts: tuple[tuple[tuple[str, int], ...], ...]) -> str:
    """The ``<dict>`` elements of an array of integer dicts (``StartCalendarInterval``), in
    plistlib's layout: one call per array (10,000 schedules make 100,000 dicts)."""
    return "".join([_plist_dict(d) for d in dicts])


@lru_cache(maxsize=4096)
def _plist_dict(pairs: tuple[tuple[str, int], ...]) -> str:
    """One dict of ``<key>``/``<integer>`` lines, three tabs deep.  The keys are launchd's own
    names."""
    body = "".join(f"\t\t\t<key>{k}</key>\n\t\t\t<integer>{int(v)}</integer>\n" for k, v in pairs)
    return f"\t\t<dict>\n{body}\t\t</dict>\n"


def task_triggers(triggers: list[tuple[str, tuple[str, ...]]], random_delay: int) -> str:
    """The ``<Triggers>`` children of a task (``taskscheduler/task.xml.j2``'s ``triggers``):
    ``taskscheduler/trigger.xml.j2`` for each (StartBoundary, day names) pair.  Each distinct
    trigger is rendered once (10,000 schedules make 20,000 tasks but a few thousand distinct
    triggers), and the target asks once per schedule timing."""
    return "".join([_task_trigger(boundary, days, random_delay) for boundary, days in triggers])


@lru_cache(maxsize=8192)
def _task_trigger(boundary: str, days: tuple[str, ...], random_delay: int) -> str:
    return render_with(
        "taskscheduler/trigger.xml.j2", {"boundary": boundary, "days": days, "random_delay": random_delay}
    )


def cron_comment(value: str) -> str:
    """Text in a crontab comment: one line (checked like every other value)."""
    return _no_newline(value, "a crontab line")


def yaml_document(value: Any) -> str:
    """A YAML block of dicts, lists, strings, ints and bools.  Every string is written
    double-quoted with JSON's escapes (a subset of YAML's), so YAML cannot retype it:
    ``"yes"``, ``"1e3"``, ``"null"`` stay strings, ``#`` and ``:`` stay text.  Mapping keys are
    osched's own names and label keys, written plain; values are checked like every other."""
    import json

    def scalar(v: Any) -> str:
        if isinstance(v, dict | list):  # only empty ones reach here
            return "{}" if isinstance(v, dict) else "[]"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            bad = next((c for c in v if c in "\ufffe\uffff" or "\ud800" <= c <= "\udfff"), None)
            if bad is not None:  # outside YAML's printable set: a parser refuses or mangles it
                raise UsageError(f"{v!r} contains U+{ord(bad):04X}, which a Kubernetes manifest cannot hold")
            return json.dumps(_no_newline(v, "a Kubernetes manifest"), ensure_ascii=False)
        raise TypeError(f"no YAML form for {type(v).__name__}")

    def block(v: Any, indent: str) -> list[str]:
        out: list[str] = []
        if isinstance(v, dict):
            for k, item in v.items():
                if isinstance(item, dict | list) and item:
                    out.append(f"{indent}{k}:")
                    out += block(item, indent + "  ")
                else:
                    out.append(f"{indent}{k}: {scalar(item)}")
            return out
        for item in v:
            if isinstance(item, dict | list) and item:
                inner = block(item, indent + "  ")
                out.append(f"{indent}- {inner[0].lstrip()}")
                out += inner[1:]
            else:
                out.append(f"{indent}- {scalar(item)}")
        return out

    return "\n".join(block(value, ""))


FILTERS = {
    "cron_comment": cron_comment,
    "cron_command": cron_command,
    "systemd_exec": systemd_exec,
    "systemd_arg": systemd_arg,
    "systemd_executable": systemd_executable,
    "systemd_text": systemd_text,
    "xml": xml_text,
    "windows_cmdline": windows_cmdline,
    "plist_string": plist_string,
    "plist_strings": plist_strings,
    "plist_dicts": plist_dicts,
    "yaml": yaml_document,
    "one_line": cron_comment,
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Imported on first use: the entrypoints import target modules for their names only."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        auto_reload=False,  # templates do not change while osched runs: no stat per render
    )
    env.filters.update(FILTERS)
    return env


@lru_cache(maxsize=64)
def template(name: str) -> jinja2.Template:
    return environment().get_template(name)


def render(name: str, **context: Any) -> str:
    """Render template ``name`` with exactly ``context`` (``render_with``)."""
    return render_with(name, context)


def render_with(name: str, context: dict[str, Any]) -> str:
    """Render template ``name`` with exactly the variables of ``context``, a dict the caller
    built (``render`` takes them as keywords).

    One call is made per file (80,000 files for 10,000 schedules), so the per-call cost
    counts.  ``Template.render`` merges Jinja's globals into a new Context on every call
    (over half of that cost); here the template's root function runs on a Context that
    holds exactly ``context`` (the templates use no globals), and the Context of a finished
    render is kept for the next render of that template: its only per-render state is
    ``parent`` (the variables, set here) and what a template's own ``{% set %}`` adds, and a
    Context that holds any of that is not kept.  A Context is taken out of ``_idle`` while it
    renders (``dict.pop`` is atomic), so a render in another thread, or one nested in a
    filter, makes its own.  ``"".join`` is Jinja's own ``concat``."""
    t = template(name)
    ctx = _idle.pop(name, None)
    if ctx is None:
        ctx = t.environment.context_class(t.environment, context, t.name, t.blocks)
    else:
        ctx.parent = context
    text = "".join(t.root_render_func(ctx))
    ctx.parent = _NOTHING
    if not (ctx.vars or ctx.exported_vars or ctx.eval_ctx.volatile):
        _idle[name] = ctx
    return text


_idle: dict[str, jinja2.runtime.Context] = {}  # a finished render's Context, per template
_NOTHING: dict[str, Any] = {}
