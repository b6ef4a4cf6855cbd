"""Property: any string in a value that reaches an artifact (config path, state dir, entrypoint
path) gives either a clear refusal, or artifacts that each target's own parser reads back as
exactly the entrypoint invocations osched meant, one per line or element, argv intact.

Parsers: python-crontab + POSIX shell words (cron), the systemd ExecStart= quoting rules,
ElementTree + the MS C runtime argument rules (Task Scheduler), plistlib (launchd)."""

from __future__ import annotations

import plistlib
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from crontab import CronTab
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osched import targets
from osched.errors import UsageError
from osched.model import Config, Job, Schedule
from osched.targets.base import RenderContext

SEPARATORS = "\n\r\f\v\t\x00\x1c\x1d\x1e\x7f\x85\u2028\u2029"
TRICKY = "%\\\"' $`#;&|*?~<>(){}[]!=:,\u00e9\u202e"
segment = st.text(
    alphabet=st.one_of(st.sampled_from(SEPARATORS + TRICKY), st.characters(codec="utf-8", exclude_characters="/\x00")),
    min_size=1,
    max_size=12,
)

S = Schedule(id="day", job="agent", hour=10, minute=0, duration=240, days=frozenset({1}), timezone="UTC")
CFG_JOB = Job(name="agent", command=("x",), schedules=(S,))


# -- the targets' own parsers ---------------------------------------------------------------------------
def cron_argvs(text: str) -> list[list[str]]:
    rows = [ln for ln in text.split("\n") if ln.strip() and not ln.startswith("#")]
    assert len(rows) == len([ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")])
    tab = CronTab(tab=text)
    jobs = list(tab)
    assert len(jobs) == len(rows)
    return [shlex.split(j.command) for j in jobs]


def _systemd_words(line: str) -> list[str]:
    """ExecStart= words as systemd reads them (quoted words with C escapes, then %% and $$)."""
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        assert line[i] == '"', line
        i += 1
        w = []
        while line[i] != '"':
            if line[i] == "\\":
                nxt = line[i + 1]
                w.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}[nxt])
                i += 2
            else:
                w.append(line[i])
                i += 1
        i += 1
        word = "".join(w).replace("%%", "\0")
        if words:  # systemd expands $ variables in the arguments, never in the program word
            word = word.replace("$$", "$")
        words.append(word.replace("\0", "%"))
    return words


def systemd_argvs(files: list[targets.File]) -> list[list[str]]:
    out = []
    for f in files:
        assert f.content.split("\n")[:-1] == f.content.splitlines()
        out += [_systemd_words(ln[len("ExecStart="):]) for ln in f.content.split("\n") if ln.startswith("ExecStart=")]
    return out


def _ms_split(s: str) -> list[str]:
    """CommandLineToArgvW / MS C runtime rules (the callee's parse of a command line)."""
    args, cur, i, quoted, have = [], [], 0, False, False
    while i < len(s):
        c = s[i]
        if c == "\\":
            n = 0
            while i < len(s) and s[i] == "\\":
                n += 1
                i += 1
            if i < len(s) and s[i] == '"':
                cur.append("\\" * (n // 2))
                if n % 2:
                    cur.append('"')
                    i += 1
                have = True
            else:
                cur.append("\\" * n)
            continue
        if c == '"':
            quoted, have = not quoted, True
        elif c in " \t" and not quoted:
            if cur or have:
                args.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(c)
        i += 1
    if cur or have:
        args.append("".join(cur))
    return args


def task_argvs(files: list[targets.File]) -> list[list[str]]:
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    out = []
    for f in files:
        text = f.data().decode("utf-16")
        root = ET.fromstring(text[text.index("?>") + 2 :])  # the declaration names UTF-16
        ex = root.find("t:Actions/t:Exec", ns)
        assert ex is not None
        cmd = ex.findtext("t:Command", namespaces=ns) or ""
        out.append([cmd, *_ms_split(ex.findtext("t:Arguments", namespaces=ns) or "")])
    return out


def plist_argvs(files: list[targets.File]) -> list[list[str]]:
    return [list(plistlib.loads(f.data())["ProgramArguments"]) for f in files]


PARSERS = {
    "cron": lambda files: cron_argvs(files[0].content),
    "systemd": systemd_argvs,
    "taskscheduler": task_argvs,
    "launchd": plist_argvs,
}


def _refusable(value: str, target: str, is_exe: bool) -> bool:
    if re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", value):
        return True
    if target == "cron" and ("\\%" in value or "#" in value):
        return True
    return target == "systemd" and is_exe and any(c in value for c in "\"'\\")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=segment, b=segment, c=segment)
@pytest.mark.parametrize("target", ["cron", "systemd", "taskscheduler", "launchd"])
def test_hostile_values_are_refused_or_round_trip(target: str, a: str, b: str, c: str) -> None:
    values = {"config": f"/home/ada/{a}/osched.toml", "state": f"/var/tmp/{b}", "exe": f"/opt/{c}/bin/osched-start"}
    cfg = Config(path=Path(values["config"]), timezone="UTC", jobs={"agent": CFG_JOB})
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    try:
        ctx = RenderContext(
            config_path=Path(values["config"]), state_dir=Path(values["state"]), now=now, host_zone="UTC",
            start_exe=values["exe"], stop_exe=values["exe"].replace("start", "stop"), user="ada",
        )
        files = targets.render(target, cfg, ctx)
    except UsageError as e:
        assert "\n" not in str(e)
        assert any(_refusable(v, target, k == "exe") for k, v in values.items()), (str(e), values)
        return
    assert not any(_refusable(v, target, k == "exe") for k, v in values.items()), values
    got = PARSERS[target](files)
    want = [ctx.start_argv("agent", "day", foreground=True) if target == "systemd" else ctx.start_argv("agent", "day"),
            ctx.stop_argv("agent", "day"),
            ctx.resume_argv("user") if target == "systemd" else ctx.resume_argv()]
    assert all(list(g) in want for g in got), (got, want)  # every entry is one of ours, argv intact
    assert {tuple(w) for w in want} <= set(map(tuple, got))  # and each of ours is there


def test_the_parsers_read_what_they_should() -> None:
    assert _ms_split('a "b c" d\\"e "f\\\\" \\\\x') == ["a", "b c", 'd"e', "f\\", "\\\\x"]
    assert _systemd_words('"/bin/x" "a b" "100%%" "$$HOME" "q\\"q"') == ["/bin/x", "a b", "100%", "$HOME", 'q"q']
    assert _systemd_words('"/opt/$$/x" "$$"') == ["/opt/$$/x", "$"]
    ctx = RenderContext(config_path=Path("/c/o.toml"), state_dir=Path("/s"), now=datetime(2026, 1, 1, tzinfo=UTC),
                        host_zone="UTC", start_exe="/b/osched-start", stop_exe="/b/osched-stop", user="ada")
    cfg = Config(path=Path("/c/o.toml"), timezone="UTC", jobs={"agent": CFG_JOB})
    for target, parse in PARSERS.items():
        assert ctx.stop_argv("agent", "day") in parse(targets.render(target, cfg, replace(ctx)))
