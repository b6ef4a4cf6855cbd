"""Every shell example in README.md and docs/ is run, in a sandbox, page by page in the order
the page shows it: every ``osched`` (and ``osched-start``/``osched-stop``) command line must
exit as the page implies (0, unless the line's comment says ``exits N``), and where the page
shows the output (``$ command`` then its lines) the output must be that.

The sandbox: a home of its own (``/home/ada`` in the pages), the platform dirs under it, the
crontab a file, unit and plist folders under it, fake ``systemctl``, ``loginctl``,
``launchctl`` and ``kubectl`` first on PATH (a daemon's answers, recorded), the clock at
``OSCHED_NOW`` and the host in a zone.  A block may say, in an HTML comment just before it,
what its sandbox holds::

    <!-- sandbox: config=examples/osched.toml now=2026-11-24T21:30:00+00:00 tz=Europe/Berlin -->

``config`` is copied to the default config path before the block (a page that starts with
``osched init`` makes its own); ``now`` and ``tz`` hold from that block on; ``state=fresh``
ends what earlier blocks started and gives the block an empty state dir; ``lines=alternatives``
(a block of ways to do one thing) gives each of its lines a fresh state dir.  In shown output,
a line ``...`` stands for any lines, ``...`` inside a line for any text, pid ``4242`` for
any pid, and the seconds of a ``HH:MM:SS`` time for any seconds.  Commands that are not osched's (``crontab -l``, ``systemctl``) are left to the
per-target tests; the README's first two lines are run by CI and tests/test_readme_walk.py."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_kubernetes import FAKE_KUBECTL

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"^<!-- sandbox: (.*) -->\s*$")
SYNOPSIS = re.compile(r"\[--|\|\.\.\.|<[a-z ]+>|\bauto\|")
HOME_IN_DOCS = "/home/ada"
DEFAULTS = {"now": "2026-11-24T21:30:00+00:00", "tz": "Europe/Berlin"}


@dataclass
class Step:
    line: int
    argv: list[str]
    exit: int = 0
    shown: list[str] | None = None  # the output the page shows, if it shows one
    sandbox: dict[str, str] = field(default_factory=dict)
    root: bool = False  # shown with sudo: run only when the tests run as root


def _command(text: str) -> tuple[list[str], int, bool] | None:
    """An osched command line (its first osched piece), the exit its comment names, and
    whether it is shown with sudo."""
    body, _, comment = text.partition("  #")
    m = re.search(r"\bexits (\d)", comment)
    for raw in re.split(r"\s&&\s|\s;\s", body):
        piece = raw.strip()
        sudo = piece.startswith("sudo osched")
        piece = piece.removeprefix("sudo ")
        if re.match(r"osched(-start|-stop)?\s", piece) and not SYNOPSIS.search(piece):
            return shlex.split(piece), int(m.group(1)) if m else 0, sudo
    return None


def steps(page: Path) -> list[Step]:
    out: list[Step] = []
    lang: str | None = None
    directive: dict[str, str] = {}
    pending: dict[str, str] = {}
    current: Step | None = None
    lines = page.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if m:
            if lang is None:
                lang, directive, pending = m.group(1), pending, {}
            else:
                lang, current = None, None
            continue
        if lang is None:
            d = DIRECTIVE.match(line)
            if d:
                pending = dict(kv.split("=", 1) for kv in d.group(1).split())
            continue
        if line.startswith("$ "):
            found = _command(line[2:])
            current = None
            if found:
                current = Step(n, found[0], found[1], [], directive, found[2])
                out.append(current)
                directive = {}
            continue
        if current is not None and current.shown is not None:
            current.shown.append(line)
            continue
        if lang in ("sh", "bash", "console"):
            found = _command(line)
            if found:
                out.append(Step(n, found[0], found[1], None, directive, found[2]))
                directive = {"state": "fresh"} if directive.get("lines") == "alternatives" else {}
    if page.name == "README.md":  # its first two lines are CI's and the walk test's
        out = [s for s in out if s.line > 6]
    return out


def _matches(shown: list[str], actual: list[str]) -> bool:
    """``shown`` (with ``...`` lines and pieces) against ``actual``."""

    def line_ok(want: str, got: str) -> bool:
        pattern = ".*".join(re.escape(p) for p in want.rstrip().split("..."))
        pattern = pattern.replace("4242", r"\d+")
        pattern = re.sub(r"(\d\d:\d\d):\d\d", r"\1:\\d\\d", pattern)  # the seconds a command took
        return re.fullmatch(pattern, got.rstrip()) is not None

    def walk(i: int, j: int) -> bool:
        if i == len(shown):
            return j == len(actual)
        if shown[i].strip() == "...":
            return any(walk(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and line_ok(shown[i], actual[j]) and walk(i + 1, j + 1)

    return walk(0, 0)


FAKES = {
    "systemctl": """#!/bin/sh
echo "systemctl $*" >> "$HOME/fakes.log"
case "$*" in *is-system-running*) echo running ;; *is-enabled*) echo enabled ;; esac
exit 0
""",
    "loginctl": """#!/bin/sh
echo "loginctl $*" >> "$HOME/fakes.log"
case "$*" in *show-user*) echo "Linger=no" ;; esac
exit 0
""",
    "launchctl": """#!/bin/sh
echo "launchctl $*" >> "$HOME/fakes.log"
exit 0
""",
    "kubectl": f"#!{sys.executable}\n{FAKE_KUBECTL}",
}


class Sandbox:
    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.bin = root / "bin"
        for d in (self.home / ".config", self.home / ".local/state", self.bin, root / "kube"):
            d.mkdir(parents=True, mode=0o700)
        for name, text in FAKES.items():
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        self.env = {
            "HOME": str(self.home),
            "USER": "ada",
            "LOGNAME": "ada",
            "LANG": "C.UTF-8",
            "PATH": f"{self.bin}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_STATE_HOME": str(self.home / ".local/state"),
            "OSCHED_CRONTAB_FILE": str(self.home / "crontab"),
            "OSCHED_CRON_D": str(self.home / "cron.d"),
            "OSCHED_SYSTEMD_DIR": str(self.home / ".config/systemd/user"),
            "OSCHED_LAUNCHD_DIR": str(self.home / "Library/LaunchAgents"),
            "FAKE_KUBECTL_LOG": str(root / "kube/log"),
            "FAKE_KUBECTL_FIXTURES": str(root / "kube"),
            "PYTHONPATH": str(ROOT),
        }
        self.fresh = 0
        self.settings(DEFAULTS)

    def settings(self, d: dict[str, str]) -> None:
        if d.get("state") == "fresh" or d.get("lines") == "alternatives":  # what earlier blocks started and recorded is gone
            kill_sandbox(self.home)
            self.fresh += 1
            self.env["OSCHED_STATE_DIR"] = str(self.home / f".local/state/osched-{self.fresh}")
        if "now" in d:
            self.env["OSCHED_NOW"] = d["now"]
        if "tz" in d:
            self.env["TZ"] = self.env["OSCHED_HOST_TZ"] = d["tz"]
        if "config" in d:
            cfg = self.home / ".config/osched/osched.toml"
            cfg.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            cfg.write_text((ROOT / d["config"]).read_text())
            cfg.chmod(0o600)

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        prog, *args = argv
        if prog == "osched":
            cmd = [sys.executable, "-m", "osched", *args]
        else:
            cmd = [sys.executable, str(ROOT / "scripts" / prog), *args]
        return subprocess.run(cmd, env=self.env, cwd=self.home, capture_output=True, text=True, timeout=120)

    def docs_view(self, text: str) -> list[str]:
        """The output as the pages show it: the user is ada, the home /home/ada, osched
        installed by pipx."""
        text = text.replace(str(Path(sys.executable).parent), f"{HOME_IN_DOCS}/.local/pipx/venvs/osched/bin")
        if self.fresh:
            text = text.replace(self.env["OSCHED_STATE_DIR"], str(self.home / ".local/state/osched"))
        import pwd

        text = text.replace(str(self.home), HOME_IN_DOCS)
        me = pwd.getpwuid(os.getuid()).pw_name  # osched names the user by the real uid
        return (re.sub(rf"\b{re.escape(me)}\b", "ada", text) if me != "ada" else text).splitlines()


def kill_sandbox(home: Path) -> None:
    """End what the page started (a job, its supervisor): every process whose environment has
    the sandbox's HOME, by pid."""
    mark = f"HOME={home}".encode() + b"\0"
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            with contextlib.suppress(OSError):
                if mark in (d / "environ").read_bytes():
                    os.kill(int(d.name), signal.SIGKILL)


CASES = [(p, steps(p)) for p in PAGES if p.name != "cli.md"]


def test_the_pages_show_commands_and_output() -> None:
    count = sum(len(s) for _, s in CASES)
    shown = sum(1 for _, ss in CASES for s in ss if s.shown)
    assert count > 40 and shown >= 8, (count, shown)


@pytest.mark.parametrize(
    ("page", "page_steps"), [c for c in CASES if c[1]], ids=[p.name for p, s in CASES if s]
)
def test_every_example_runs_as_the_page_says(page: Path, page_steps: list[Step], tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    if page_steps[0].argv[:2] != ["osched", "init"] and "config" not in page_steps[0].sandbox:
        box.settings({"config": "examples/osched.toml"})
    try:
        for step in page_steps:
            if step.root and os.geteuid() != 0:
                continue  # --system writes for every user: the sandbox redirects it, but only root may
            box.settings(step.sandbox)
            r = box.run(step.argv)
            where = f"{page.name}:{step.line}: {shlex.join(step.argv)}"
            assert r.returncode == step.exit, f"{where}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
            if step.shown:
                got = box.docs_view(r.stdout + r.stderr)
                assert _matches(step.shown, got), (
                    f"{where}: the page shows\n"
                    + "\n".join(step.shown)
                    + "\nbut it prints\n"
                    + "\n".join(got)
                )
    finally:
        kill_sandbox(box.home)
