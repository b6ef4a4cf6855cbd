"""The CLI end to end through click's runner: exact exit codes, one-line errors, files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from osched.cli import cli

NOW = "2026-11-24T12:00:00+00:00"  # a Tuesday


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"OSCHED_NOW": NOW, **(env or {})})


@pytest.fixture
def ready(cfg_path: Path) -> Path:
    assert run("init", "--timezone", "Europe/Berlin").exit_code == 0
    assert run("job", "add", "agent", "--", "python3", "-c", "print(1)").exit_code == 0
    r = run("schedule", "add", "agent", "--start", "22:00", "--duration", "8h",
            "--days", "mon-fri", "--id", "nights", "--no-start")
    assert r.exit_code == 0, r.output
    r = run("schedule", "add", "agent", "--start", "04:00", "--duration", "4h",
            "--days", "daily", "--timezone", "America/New_York", "--no-start")
    assert r.exit_code == 0, r.output
    return cfg_path


def test_init_writes_commented_config_with_zone(cfg_path: Path) -> None:
    r = run("init", "--timezone", "Asia/Tokyo")
    assert r.exit_code == 0
    text = cfg_path.read_text()
    assert 'timezone = "Asia/Tokyo"' in text
    assert text.count("#") > 10
    assert oct(cfg_path.stat().st_mode & 0o777) == "0o600"
    r = run("init")
    assert r.exit_code == 2
    assert r.stderr == f"Error: {cfg_path} already exists (use --force to overwrite it)\n"
    assert run("init", "--force").exit_code == 0


def test_init_uses_host_zone(cfg_path: Path) -> None:
    assert run("init", env={"TZ": "America/Chicago"}).exit_code == 0
    assert 'timezone = "America/Chicago"' in cfg_path.read_text()


def test_two_overlapping_schedules_next_status_calendar(ready: Path) -> None:
    r = run("list", "--json")
    data = json.loads(r.stdout)
    assert [s["id"] for s in data["jobs"][0]["schedules"]] == ["nights", "s1"]
    assert data["jobs"][0]["schedules"][1]["timezone"] == "America/New_York"

    r = run("next", "--count", "3", "--json", env={"TZ": "Europe/Berlin"})
    windows = json.loads(r.stdout)["windows"]
    assert [(w["schedule"], w["start"], w["end"]) for w in windows] == [
        ("nights", "2026-11-24T22:00:00+01:00", "2026-11-25T06:00:00+01:00"),
        ("s1", "2026-11-25T10:00:00+01:00", "2026-11-25T14:00:00+01:00"),
        ("nights", "2026-11-25T22:00:00+01:00", "2026-11-26T06:00:00+01:00"),
    ]
    r = run("next", "-n", "1", env={"TZ": "Europe/Berlin"})
    assert r.stdout == "Tue 2026-11-24 22:00 CET  ->  Wed 2026-11-25 06:00 CET  agent/nights\n"

    # 10:30 UTC Tuesday: 'nights' closed, s1 (04:00-08:00 New York = 09:00-13:00 UTC) open
    r = run("status", "--json", env={"OSCHED_NOW": "2026-11-24T10:30:00+00:00"})
    job = json.loads(r.stdout)["jobs"][0]
    assert job["in_window"] is True
    assert job["active_schedules"] == 1
    assert job["window_end"] == "2026-11-24T13:00:00+00:00"
    assert job["next_start"] is None

    r = run("status", env={"OSCHED_NOW": "2026-11-24T15:00:00+00:00"})
    assert r.stdout == ("JOB    NEXT                      LEFT       LAST  RESULT  WINDOW ENDS\n"
                        "agent  Tue 2026-11-24 21:00 UTC  in 6h 00m  -     -       -\n"
                        "\n1 job listed; times in UTC.\n"
                        "Not installed in any scheduler (osched install).\n")

    r = run("calendar", env={"TZ": "Europe/Berlin"})
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("7 days from Tue 2026-11-24 in Europe/Berlin")  # today first
    tue = lines[2].split()
    assert tue[:2] == ["Tue", "24"]
    cells = tue[2:]
    assert cells[0] == "#" and cells[6] == "." and cells[10] == "#" and cells[22] == "#"
    # calendar --json: Saturday 04:00-06:00 Berlin -> Friday's night window only ...
    grid = json.loads(run("calendar", "--json", env={"TZ": "Europe/Berlin"}).stdout)
    assert grid["days"][4]["date"] == "2026-11-28" and grid["days"][4]["hours"][:7] == [1, 1, 1, 1, 1, 1, 0]


def test_calendar_marks_overlaps(ready: Path) -> None:
    # make the New York window overlap the night window: 23:00 NY = 05:00 Berlin
    r = run("schedule", "set", "agent", "s1", "--start", "23:00")
    assert r.exit_code == 0, r.output
    grid = json.loads(run("calendar", "--json", env={"TZ": "Europe/Berlin"}).stdout)
    # Wednesday 05:00 Berlin: Tuesday's night window (22-06) and Tuesday 23:00 NY (05-09 Berlin)
    assert grid["days"][1]["date"] == "2026-11-25" and grid["days"][1]["hours"][5] == 2
    text = run("calendar", env={"TZ": "Europe/Berlin"}).stdout
    assert " 2" in text.splitlines()[3]


def test_calendar_counts_only_windows_that_really_overlap(cfg_path: Path) -> None:
    """17:36-17:39 and 17:42-17:46 share the 17:00 cell but never overlap (issue 24, 7)."""
    cfg_path.write_text(
        'timezone = "UTC"\n[jobs.a]\ncommand = ["true"]\n'
        '[[jobs.a.schedules]]\nid = "one"\nstart = "17:36"\nduration = "3m"\ndays = ["daily"]\n'
        '[[jobs.a.schedules]]\nid = "two"\nstart = "17:42"\nduration = "4m"\ndays = ["daily"]\n'
        '[[jobs.a.schedules]]\nid = "three"\nstart = "17:45"\nduration = "10m"\ndays = ["daily"]\n'
    )
    grid = json.loads(run("calendar", "--json", env={"TZ": "UTC"}).stdout)
    assert grid["days"][0]["date"] == "2026-11-24"  # today first, not Monday
    assert [d["hours"][17] for d in grid["days"]] == [2] * 7  # two and three share 17:45
    cfg_path.write_text(cfg_path.read_text().replace('start = "17:45"', 'start = "17:50"'))
    grid = json.loads(run("calendar", "--json", env={"TZ": "UTC"}).stdout)
    assert [d["hours"][17] for d in grid["days"]] == [1] * 7


def test_show(ready: Path) -> None:
    r = run("show", "agent")
    assert r.exit_code == 0
    python3 = shutil.which("python3")  # resolved on PATH when the job was added (DESIGN section 2)
    assert f"command:         {python3} -c 'print(1)'" in r.stdout
    assert "nights: 22:00 for 8h on mon-fri (Europe/Berlin)" in r.stdout
    data = json.loads(run("show", "agent", "--json").stdout)
    assert data["restart"] == {"retries": 3, "backoff_seconds": [10.0, 30.0, 90.0]}
    assert data["status"]["in_window"] is True  # s1: 04:00-08:00 New York = 09-13 UTC
    assert data["status"]["active_schedules"] == 1


def test_edit_commands_keep_comments(ready: Path) -> None:
    text = ready.read_text().replace("[jobs.agent]", "# my agent\n[jobs.agent]  # inline note")
    ready.write_text(text)
    assert run("schedule", "disable", "agent", "nights").exit_code == 0
    assert run("job", "set", "agent", "--env", "MODEL=opus", "--retries", "5").exit_code == 0
    assert run("schedule", "set", "agent", "s1", "--arg", "--yolo", "--env", "A=b").exit_code == 0
    after = ready.read_text()
    assert "# my agent\n[jobs.agent]  # inline note" in after
    data = json.loads(run("list", "--json").stdout)["jobs"][0]
    assert data["env"] == {"MODEL": "opus"}
    assert data["restart"]["retries"] == 5
    assert data["schedules"][0]["enabled"] is False
    assert data["schedules"][1]["args"] == ["--yolo"]
    assert data["schedules"][1]["env"] == {"A": "b"}
    assert run("schedule", "enable", "agent", "nights").exit_code == 0
    assert json.loads(run("list", "--json").stdout)["jobs"][0]["schedules"][0]["enabled"]
    assert run("schedule", "remove", "agent", "s1").exit_code == 0
    assert run("job", "set", "agent", "--", "sleep", "5").exit_code == 0
    data = json.loads(run("list", "--json").stdout)["jobs"][0]
    assert data["command"] == [shutil.which("sleep"), "5"]  # resolved on PATH
    assert [s["id"] for s in data["schedules"]] == ["nights"]
    run("stop", "agent")  # started by the live enable above: a running job is not removed
    assert run("job", "remove", "agent").exit_code == 0
    assert json.loads(run("list", "--json").stdout)["jobs"] == []
    assert "# osched configuration" in ready.read_text()


def test_schedule_added_inside_its_window_says_so(ready: Path) -> None:
    r = run("schedule", "add", "agent", "--start", "11:00", "--duration", "2h", "--days",
            "tue", "--timezone", "UTC", "--id", "now")
    assert r.exit_code == 0
    assert "Its window is open now, until Tue 2026-11-24 13:00 UTC." in r.stdout


# -- bad input: exit 2, one line on stderr, file unchanged ------------------------------------
BAD_EDITS = [
    (["schedule", "add", "agent", "--start", "25:00", "--duration", "1h", "--days", "mon"],
     "--start: invalid time '25:00'"),
    (["schedule", "add", "agent", "--start", "10:00", "--duration", "1h", "--days", "mon",
      "--timezone", "Mars/Base"], "--timezone: unknown time zone 'Mars/Base'"),
    (["schedule", "add", "agent", "--start", "10:00", "--duration", "1h", "--days", "someday"],
     "--days: invalid day 'someday'"),
    (["schedule", "add", "agent", "--start", "10:00", "--duration", "8d", "--days", "mon"],
     "--duration: duration '8d' is out of range"),
    (["schedule", "add", "agent", "--start", "10:00", "--duration", "2d", "--days", "daily"],
     "windows would overlap"),
    (["schedule", "add", "agent", "--start", "10:00", "--duration", "1h", "--days", "mon",
      "--id", "bad id"], "--id: invalid schedule id 'bad id'"),
    (["schedule", "add", "agent", "--start", "10:00", "--duration", "1h", "--days", "mon",
      "--id", "nights"], "already has a schedule with id 'nights'"),
    (["schedule", "add", "ghost", "--start", "10:00", "--duration", "1h", "--days", "mon"],
     "no job named 'ghost'"),
    (["schedule", "set", "agent", "nope", "--start", "10:00"], "has no schedule with id 'nope'"),
    (["schedule", "set", "agent", "nights"], "nothing to change"),
    (["job", "add", "bad/name", "--", "x"], "NAME: invalid job name 'bad/name'"),
    (["job", "add", "agent", "--", "x"], "job 'agent' already exists"),
    (["job", "set", "agent", "--stop-signal", "SIGNOPE"], "--stop-signal: invalid stop_signal"),
    (["job", "set", "agent", "--env", "novalue"], "--env: expected NAME=VALUE"),
    (["job", "remove", "ghost"], "no job named 'ghost'"),
    (["schedule", "add", "agent", "--duration", "1h", "--days", "mon"],
     "Missing option '--start'"),
    (["frobnicate"], "No such command 'frobnicate'"),
]


@pytest.mark.parametrize(("args", "words"), BAD_EDITS)
def test_bad_edits_exit_2_and_change_nothing(ready: Path, args: list[str], words: str) -> None:
    before = ready.read_bytes()
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: "), r.stderr
    assert words in r.stderr
    assert r.stdout == ""
    assert ready.read_bytes() == before


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda t: t.replace('start = "22:00"', 'start = "22:60"'),
         "jobs.agent.schedules[nights].start: invalid time '22:60'"),
        (lambda t: t.replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Nowhere"'),
         "timezone: unknown time zone 'Europe/Nowhere'"),
        (lambda t: t.replace('days = ["mon-fri"]', 'days = ["mon-fry"]'),
         "jobs.agent.schedules[nights].days: invalid day 'mon-fry'"),
        (lambda t: t.replace('duration = "8h"', 'duration = "8 h 3"'),
         "jobs.agent.schedules[nights].duration: invalid duration"),
        (lambda t: t.replace('id = "nights"', 'id = "-nights"'),
         "jobs.agent.schedules[0].id: invalid schedule id '-nights'"),
        (lambda t: t + "\nsurprise = 1\n", "surprise: unknown key"),
        (lambda t: t.replace('duration = "8h"', 'duration = "8h'), ":31:15: TOML syntax error"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [["list"], ["status"], ["next"], ["calendar"], ["show", "agent"],
     ["schedule", "disable", "agent", "nights"], ["job", "add", "x", "--", "y"]],
)
def test_bad_config_every_command(
    ready: Path, mutate: object, words: str, command: list[str]
) -> None:
    ready.write_text(mutate(ready.read_text()))  # type: ignore[operator]
    before = ready.read_bytes()
    r = run(*command)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"Error: {ready}")
    assert words in r.stderr
    assert r.stderr.count("\n") == 1
    assert ready.read_bytes() == before


def test_missing_config(cfg_path: Path) -> None:
    for command in (["list"], ["status"], ["next"], ["calendar"], ["job", "add", "a", "--", "b"]):
        r = run(*command)
        assert r.exit_code == 2
        assert r.stderr == (
            f"Error: {cfg_path}: config file not found (run 'osched init' or pass --config PATH)\n"
        )
    assert not cfg_path.exists()


def test_config_flag_beats_env(tmp_path: Path, cfg_path: Path) -> None:
    other = tmp_path / "other.toml"
    assert run("--config", str(other), "init", "--timezone", "UTC").exit_code == 0
    assert other.exists() and not cfg_path.exists()


def test_debug_shows_traceback(cfg_path: Path) -> None:
    r = run("--debug", "list")
    assert r.exit_code == 2
    assert "Traceback" in r.stderr


def test_every_command_has_help() -> None:
    from osched.cli import cli as group

    def walk(cmd: object, path: list[str]) -> None:
        import click

        assert isinstance(cmd, click.Command)
        assert cmd.help or cmd.short_help, f"{' '.join(path)} has no help text"
        r = run(*path, "--help")
        assert r.exit_code == 0
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(group, [])


def test_read_commands_create_no_state(ready: Path, tmp_path: Path) -> None:
    for args in (["status"], ["status", "--json"], ["show", "agent"], ["override", "list"], ["events"]):
        assert run(*args).exit_code == 0
    assert not (tmp_path / "state").exists()


def test_show_lists_every_key_of_a_job(cfg_path: Path) -> None:
    """One function (views.job_dict) lists a job's keys; show's text and JSON are made from it,
    so on_failure (and every later key) is shown."""
    from dataclasses import fields

    from osched.model import Job
    from osched.views import job_dict

    cfg_path.write_text(
        'timezone = "UTC"\n[jobs.a]\ncommand = ["true"]\non_failure = ["notify-send", "a failed"]\n'
    )
    r = CliRunner().invoke(cli, ["show", "a"])
    assert r.exit_code == 0, r.output
    assert "on failure:      notify-send 'a failed'" in r.output
    keys = set(job_dict(Job(name="a", command=("true",))))
    alias = {"stop_timeout": "stop_timeout_seconds", "retries": "restart", "backoff": "restart"}
    alias["skip_items"] = "skip"
    assert {alias.get(f.name, f.name) for f in fields(Job)} <= keys


@pytest.mark.parametrize("command", [["render", "--target", "all"], ["install", "--target", "cron"], ["status"]])
@pytest.mark.parametrize("via", ["--config", "OSCHED_CONFIG", "--state-dir"])
def test_a_path_that_is_not_utf8_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], via: str
) -> None:
    """A file name with bytes that are not UTF-8 reaches Python as a lone surrogate: it cannot
    go into a unit, a crontab line or a plist (all text).  Exit 2 and one line naming the
    path, nothing written (it was a traceback, exit 1)."""
    import os

    from conftest import EXAMPLES

    example = EXAMPLES / "osched.toml"
    good = tmp_path / "osched.toml"
    shutil.copy(example, good)
    bad = os.fsdecode(os.fsencode(str(tmp_path)) + b"/a\xff")
    tab = tmp_path / "crontab"
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tab))
    args: list[str] = []
    if via == "--config":
        shutil.copy(example, bad + ".toml")
        args = ["--config", bad + ".toml"]
    elif via == "OSCHED_CONFIG":
        shutil.copy(example, bad + ".toml")
        monkeypatch.setenv("OSCHED_CONFIG", bad + ".toml")
    else:
        monkeypatch.setenv("OSCHED_CONFIG", str(good))
        args = ["--state-dir", bad + "-state"]
    r = CliRunner().invoke(cli, [*args, *command])
    assert r.exit_code == 2, r.output
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert "UTF-8" in r.stderr and "a\\xff" in r.stderr
    assert not tab.exists() and not os.path.exists(bad + "-state")
