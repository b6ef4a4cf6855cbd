"""Shell completion without importing the CLI: a TAB answers within about twice a bare
interpreter's start (docs/performance.md), where importing click and every command took 300 ms.

``osched`` (``launch.main``) sends ``_OSCHED_COMPLETE=<shell>_complete`` here.  The command
tree is ``complete_table.TREE``, generated from the click commands and held equal to them by
tests/test_completion.py, which also holds every answer equal to click's own.  What a value
completes to is decided here once, for both paths: click's completers (``cli.base``) call these
functions.  The config is opened through the same trust check as every command
(``core.trust.open_config``); a config that cannot be read completes nothing.

The protocol is click's (``click.shell_completion``): the shell script that ``osched completion
SHELL`` prints sets ``COMP_WORDS``/``COMP_CWORD`` and reads ``type,value`` lines (bash) or
``type``/``value``/``help`` triples (zsh, fish)."""

from __future__ import annotations

import os

from .core.days import DAY_NAMES, DAY_SETS

TYPE_CHECKING = False  # not typing's: a TAB imports nothing it does not need
if TYPE_CHECKING:
    from typing import Any

Item = tuple[str, str, str]  # (type: plain|file|dir, value, help)
# the default config and state dir, as ``osched completion SHELL`` found them (platformdirs,
# which costs more to import than a TAB may take): the script passes them in
CONFIG_DEFAULT_ENV = "_OSCHED_DEFAULT_CONFIG"
STATE_DEFAULT_ENV = "_OSCHED_DEFAULT_STATE_DIR"
# how the installed click's script reads an answer (click has changed fish's between
# releases): the script says which, as osched completion found it; without it, click answers
FORMAT_ENV = "_OSCHED_COMPLETE_FORMAT"
FORMATS = ("bash", "zsh", "fish-lines", "fish-tab")


# -- what a value completes to ------------------------------------------------------------------
def days(incomplete: str) -> list[str]:
    """``--days mon-fri,sa<TAB>`` -> ``mon-fri,sat``: the last word of a list is completed and
    what comes before it kept (the shell replaces the whole word with what is offered)."""
    words = (*DAY_NAMES, "mon-fri", *DAY_SETS)
    head, sep, last = incomplete.rpartition(",")
    start, dash, end = last.rpartition("-") if "-" in last else ("", "", last)
    prefix = head + sep + start + dash
    return [prefix + w for w in words if w.startswith(end) and not (dash and w not in DAY_NAMES)]


def zones(incomplete: str) -> list[str]:
    import zoneinfo

    found = sorted(zoneinfo.available_timezones())
    return [z for z in found if z.lower().startswith(incomplete.lower())][:200]


def _names(config_flag: str | None, state_flag: str | None) -> list[tuple[str, list[str]]]:
    """The config's job names with their schedule ids, in the config's order; [] when the
    config cannot be read.  The config is opened through the trust check every command uses;
    its names come from the state dir's names file when that is fresh for the descriptor just
    checked (``core.cache``: the freshness rule of every cache; the store refuses a file another
    user could have written), else from the TOML, and the names file is written for the next
    TAB (reading TOML imports ``re``, which alone costs half an interpreter's start)."""
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows: the click path decides
        raise _Fallback
    from .core import cache
    from .core.ids import is_id
    from .core.store import Store
    from .core.trust import Untrusted, open_config
    from .where import CONFIG_ENV, STATE_ENV, config_file, state_file

    uid = os.geteuid()
    config = config_file(config_flag or os.environ.get(CONFIG_ENV) or os.environ.get(CONFIG_DEFAULT_ENV))
    try:
        fd, st = open_config(config, uid)
    except (OSError, Untrusted):
        return []
    ident = cache.identity(st)
    state = state_flag or os.environ.get(STATE_ENV) or os.environ.get(STATE_DEFAULT_ENV)
    store = Store(state_file(state), uid)
    usable = store.refusal() is None and os.path.isdir(store.root)
    parts = store.cache(config, "names")
    try:
        if usable:
            stamp, jobs = cache.parse_names(store.read(parts, "names").decode("utf-8"))
            if cache.fresh(stamp, config, ident) and all(is_id(n) and all(map(is_id, s)) for n, s in jobs):
                os.close(fd)
                return jobs
    except (OSError, Untrusted, ValueError, IndexError, UnicodeDecodeError):
        pass
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    from .tomlread import toml_reader

    toml = toml_reader()
    try:
        doc = toml.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, toml.TOMLDecodeError):
        return []
    raw = doc.get("jobs")
    jobs = []
    for name, job in raw.items() if isinstance(raw, dict) else ():
        scheds = job.get("schedules") if isinstance(job, dict) else None
        sids = [s.get("id") for s in scheds if isinstance(s, dict)] if isinstance(scheds, list) else []
        if is_id(name):
            jobs.append((name, [str(i) for i in sids if is_id(i)]))
    import time

    written = time.time_ns()
    text = cache.format_names(cache.Stamp(config, ident, written, []), jobs)
    if usable and text is not None and not cache.too_soon(ident, written):
        try:  # noqa: SIM105 - contextlib costs a TAB more than this
            store.write(parts, text.encode("utf-8"), durable=False)
        except (OSError, Untrusted):
            pass  # a names file is a convenience: the next TAB reads the TOML again
    return jobs


def job_names(config_flag: str | None, incomplete: str, state_flag: str | None = None) -> list[str]:
    return [n for n, _ in _names(config_flag, state_flag) if n.startswith(incomplete)]


def schedule_ids(
    config_flag: str | None, job: str, incomplete: str, state_flag: str | None = None
) -> list[str]:
    for name, sids in _names(config_flag, state_flag):
        if name == job:
            return [i for i in sids if i.startswith(incomplete)]
    return []


# -- where the cursor is: click's rules (shell_completion._resolve_context/_resolve_incomplete) ---
class _Fallback(Exception):
    """Something the fast path does not answer: click answers instead."""


def _option(node: dict[str, Any], name: str) -> tuple[Any, ...] | None:
    for opt in node["opts"]:
        if name in opt[0]:
            return tuple(opt)
    return None


def items(args: list[str], incomplete: str) -> list[Item]:
    from .complete_table import TREE

    tree: dict[str, Any] = TREE
    path, node = "", tree[""]
    given: set[str] = set()
    positional: list[str] = []
    flags: dict[str, str] = {}  # --config, --state-dir as given on the line
    dashdash = False
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if not dashdash and a == "--":
            dashdash = True
            continue
        if not dashdash and a[:1] == "-" and len(a) > 1:
            name, eq, value = a.partition("=")
            opt = _option(node, name)
            if opt is None:
                raise _Fallback  # a short-option cluster or an unknown option: click decides
            if opt[2] and not eq:
                if i == len(args):  # its value is the word being completed
                    break
                value = args[i]
                i += 1
            given.add(opt[0][0])
            if path == "" and opt[0][0] in ("--config", "--state-dir"):
                flags[opt[0][0]] = value
            continue
        if node["cmds"] and not positional:
            if a not in node["cmds"]:
                raise _Fallback
            path = f"{path} {a}".strip()
            node, given, dashdash = tree[path], set(), False
            continue
        positional.append(a)

    if incomplete == "=":
        incomplete = ""
    elif "=" in incomplete and incomplete[:1] == "-":
        name, _, incomplete = incomplete.partition("=")
        args = [*args, name]
    if "--" not in args and incomplete[:1] == "-":
        return [
            ("plain", name, opt[1])
            for opt in node["opts"]
            if opt[3] or opt[0][0] not in given
            for name in opt[0]
            if name.startswith(incomplete)
        ]
    if args and args[-1][:1] == "-":
        opt = _option(node, args[-1])
        if opt is not None and opt[2]:
            return _values(opt[4], incomplete, flags, positional)
    left = len(positional)
    for _name, nargs, kind in node["args"]:
        if nargs == -1 or left < 1:
            return _values(kind, incomplete, flags, positional)
        left -= nargs
    if node["cmds"]:
        return [("plain", n, h) for n, h in node["cmds"].items() if n.startswith(incomplete)]
    return []


def _values(kind: Any, incomplete: str, flags: dict[str, str], positional: list[str]) -> list[Item]:
    config_flag, state_flag = flags.get("--config"), flags.get("--state-dir")
    if kind is None:
        return []
    if kind in ("file", "dir"):
        return [(kind, incomplete, "")]
    if kind == "job":
        found = job_names(config_flag, incomplete, state_flag)
    elif kind == "schedule":
        found = schedule_ids(config_flag, positional[0] if positional else "", incomplete, state_flag)
    elif kind == "days":
        found = days(incomplete)
    elif kind == "zone":
        found = zones(incomplete)
    else:  # ("choice", names)
        found = [c for c in kind[1] if c.startswith(incomplete)]
    return [("plain", v, "") for v in found]


# -- the shells' side of click's protocol ----------------------------------------------------------
def _split(s: str) -> list[str]:
    """Words as a POSIX shell splits them (``shlex`` in posix mode with whitespace splitting,
    as click's ``split_arg_string``; written out because ``shlex`` imports ``re``, which alone
    costs half a bare interpreter's start): quotes and backslashes; an unfinished quote or
    escape keeps its partial word."""
    out: list[str] = []
    word: list[str] = []
    started = False
    quote = ""
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        i += 1
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                word.append(c)
        elif quote == '"':
            if c == '"':
                quote = ""
            elif c == "\\" and (i == n or s[i] in '"\\'):
                word.append(s[i] if i < n else "")
                i += 1
            else:
                word.append(c)
        elif c in " \t\r\n":
            if started:
                out.append("".join(word))
                word, started = [], False
        elif c in "'\"":
            quote, started = c, True
        elif c == "\\":
            started = True
            if i < n:
                word.append(s[i])
                i += 1
        else:
            word.append(c)
            started = True
    if started:
        out.append("".join(word))
    return out


def _request(shell: str) -> tuple[list[str], str]:
    words = _split(os.environ["COMP_WORDS"])
    if shell == "fish":
        incomplete = os.environ["COMP_CWORD"]
        incomplete = _split(incomplete)[0] if incomplete else ""
        args = words[1:]
        if incomplete and args and args[-1] == incomplete:
            args.pop()
        return args, incomplete
    cword = int(os.environ["COMP_CWORD"])
    return words[1:cword], (words[cword] if cword < len(words) else "")


def line(fmt: str, item: Item) -> str:
    """One item in the format the script reads (``FORMATS``)."""
    kind, value, help_ = item
    if fmt == "bash":
        return f"{kind},{value}"
    if fmt == "fish-tab":  # click 8.5: type,value TAB help
        shown = help_.replace("\n", "\\n").replace("\t", " ")
        return f"{kind},{value}\t{shown}" if help_ else f"{kind},{value}"
    help_ = help_ or "_"
    if fmt == "zsh":
        return f"{kind}\n{value.replace(':', chr(92) + ':') if help_ != '_' else value}\n{help_}"
    return f"{kind}\n{value.replace(chr(10), chr(92) + 'n')}\n{help_.replace(chr(10), chr(92) + 'n')}"


def answer(instruction: str) -> str | None:
    """The completion text for ``$_OSCHED_COMPLETE`` (``bash_complete`` etc.), or None when
    click should answer (``*_source``, an input this path does not model)."""
    shell, _, what = instruction.partition("_")
    fmt = os.environ.get(FORMAT_ENV, "")
    if what != "complete" or fmt not in FORMATS or fmt.partition("-")[0] != shell:
        return None
    try:
        args, incomplete = _request(shell)
        return "\n".join(line(fmt, it) for it in items(args, incomplete))
    except (_Fallback, KeyError, ValueError):
        return None
