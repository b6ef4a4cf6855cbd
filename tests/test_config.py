"""Config loading: each error names the file, the key path, and for syntax errors line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from osched.config import load
from osched.errors import ConfigError

GOOD = """\
timezone = "Europe/Berlin"

[jobs.nightly-agent]
command = ["python3", "-m", "agent", "--project", "demo"]
workdir = "~/projects/demo"
env = { MODEL = "opus" }
stop_signal = "SIGTERM"
stop_timeout = "30s"
restart = { retries = 3, backoff = ["10s", "30s", "90s"] }

[[jobs.nightly-agent.schedules]]
id = "weeknights"
start = "22:00"
duration = "8h"
days = ["mon-fri"]
timezone = "America/New_York"
enabled = true
args = ["--yolo"]
env = { MODEL = "sonnet" }
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_design_example_loads(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, GOOD))
    job = cfg.jobs["nightly-agent"]
    assert job.command[0] == "python3"
    assert job.backoff == (10, 30, 90)
    assert job.stop_timeout == 30
    s = job.schedules[0]
    assert (s.hour, s.minute, s.duration, s.timezone) == (22, 0, 480, "America/New_York")
    assert s.days == frozenset(range(5))
    assert s.args == ("--yolo",)
    assert s.env == {"MODEL": "sonnet"}


def test_schedule_zone_defaults_to_top_level(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, GOOD.replace('timezone = "America/New_York"\n', "")))
    assert cfg.jobs["nightly-agent"].schedules[0].timezone == "Europe/Berlin"


def test_missing_top_zone_uses_host(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, GOOD.replace('timezone = "Europe/Berlin"\n', "")), host_zone="Asia/Tokyo")
    assert cfg.timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('start = "22:00"', 'start = "25:00"', "jobs.nightly-agent.schedules[weeknights].start", "invalid time"),
        ('duration = "8h"', 'duration = "8 hours"', "jobs.nightly-agent.schedules[weeknights].duration", "invalid duration"),
        ('duration = "8h"', "duration = 0", "jobs.nightly-agent.schedules[weeknights].duration", "out of range"),
        ('duration = "8h"', 'duration = "25h"', "jobs.nightly-agent.schedules[weeknights].duration", "overlap"),
        ('days = ["mon-fri"]', "days = []", "jobs.nightly-agent.schedules[weeknights].days", "empty day set"),
        ('days = ["mon-fri"]', 'days = ["someday"]', "jobs.nightly-agent.schedules[weeknights].days", "invalid day"),
        ('timezone = "America/New_York"', 'timezone = "Mars/Base"', "jobs.nightly-agent.schedules[weeknights].timezone", "unknown time zone"),
        ('timezone = "Europe/Berlin"', 'timezone = "Nowhere"', "timezone", "unknown time zone"),
        ('id = "weeknights"', 'id = "week nights"', "jobs.nightly-agent.schedules[0].id", "invalid schedule id"),
        ("[jobs.nightly-agent]", '[jobs."bad name"]', 'jobs."bad name"', "invalid job name"),
        ("enabled = true", "enabled = 1", "jobs.nightly-agent.schedules[weeknights].enabled", "true or false"),
        ("enabled = true", "colour = 1", "jobs.nightly-agent.schedules[weeknights].colour", "unknown key"),
        ('stop_signal = "SIGTERM"', 'stop_signal = "SIGNOPE"', "jobs.nightly-agent.stop_signal", "invalid stop_signal"),
        ('command = ["python3", "-m", "agent", "--project", "demo"]', "command = []", "jobs.nightly-agent.command", "must name a program"),
        ('command = ["python3", "-m", "agent", "--project", "demo"]', 'command = "python3 agent"', "jobs.nightly-agent.command", "list of strings"),
        ("retries = 3", "retries = -1", "jobs.nightly-agent.restart.retries", "integer"),
        ('"10s", "30s"', '"10s", "soon"', "jobs.nightly-agent.restart.backoff[1]", "invalid delay"),
        ('env = { MODEL = "opus" }', 'env = { "1X" = "opus" }', "jobs.nightly-agent.env.1X", "variable name"),
        ('id = "weeknights"\n', "", "jobs.nightly-agent.schedules[0].id", "missing"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, old: str, new: str, key: str, words: str) -> None:
    assert old in GOOD
    p = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load(p)
    message = str(info.value)
    assert message.startswith(f"{p}: {key}: "), message
    assert words in message
    assert "\n" not in message


def test_duplicate_schedule_id(tmp_path: Path) -> None:
    extra = GOOD.split("[[jobs.nightly-agent.schedules]]")[1]
    p = write(tmp_path, GOOD + "\n[[jobs.nightly-agent.schedules]]" + extra)
    with pytest.raises(ConfigError, match=r"schedules\[1\]\.id: duplicate schedule id"):
        load(p)


def test_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD.replace('start = "22:00"', "start = 22:00:"))
    with pytest.raises(ConfigError) as info:
        load(p)
    assert str(info.value).startswith(f"{p}:13:")
    assert "TOML syntax error" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "nope.toml")


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_bytes(b'timezone = "UTC"\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=r"c.toml:2: config is not valid UTF-8"):
        load(p)
