"""Edits that touch one job parse and re-emit only that job's tables (a 10,000-schedule file is
edited in well under a second): the rest of the file stays byte for byte, and whatever the
cut cannot see safely falls back to editing the whole file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osched.cli import cli
from osched.edit import _job_part

HEAD = """# my schedules
timezone = "UTC"   # the default zone

[jobs.a]   # first
command = ["/bin/true"]

[[jobs.a.schedules]]
id = "x"
start = "10:00"    # aligned   comment
duration = "1h"
days = ["mon"]

# a comment between jobs
[jobs.b]
command = ["/bin/true"]
env = { K = "v" }

[[jobs.b.schedules]]
id = "y"
start = "11:00"
duration = "2h"
days = ["tue"]

[jobs.c]
command = ["/bin/true"]
"""


def run(cfg: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(cfg), *args])


def test_an_edit_of_one_job_leaves_every_other_byte(tmp_path: Path) -> None:
    cfg = tmp_path / "osched.toml"
    cfg.write_text(HEAD)
    assert _job_part(HEAD, "b") == (HEAD.index("[jobs.b]"), HEAD.index("[jobs.c]"))
    r = run(cfg, "schedule", "set", "b", "y", "--start", "12:30", "--no-start")
    assert r.exit_code == 0, r.output
    assert cfg.read_text() == HEAD.replace('start = "11:00"', 'start = "12:30"')
    r = run(cfg, "schedule", "add", "c", "--start", "08:00", "--duration", "30m", "--days", "fri", "--id", "z",
            "--no-start")
    assert r.exit_code == 0, r.output
    text = cfg.read_text()
    assert text.startswith(HEAD.replace('start = "11:00"', 'start = "12:30"'))  # jobs a and b untouched
    assert '[[jobs.c.schedules]]\nid = "z"\nstart = "08:00"\nduration = "30m"\ndays = ["fri"]\n' in text
    assert run(cfg, "job", "remove", "a").exit_code == 0  # tomlkit counts the comment after a as a's
    assert cfg.read_text().startswith('# my schedules\ntimezone = "UTC"   # the default zone\n\n[jobs.b]')


@pytest.mark.parametrize(
    "text",
    [
        'timezone = "UTC"\n[jobs]\nb.command = ["/bin/true"]\n',  # a job as dotted keys
        'timezone = "UTC"\njobs.b.command = ["/bin/true"]\n',
        'timezone = "UTC"\n[jobs.b]\ncommand = ["/bin/true"]\nenv = { N = """\n[jobs.x]\n""" }\n',
    ],
)
def test_what_cannot_be_cut_safely_is_not_cut(text: str) -> None:
    assert _job_part(text, "b") is None


def test_a_multi_line_string_is_edited_whole(tmp_path: Path) -> None:
    text = 'timezone = "UTC"\n[jobs.b]\ncommand = ["/bin/true"]\nenv = { N = """\n[jobs.x]\n""" }\n'
    cfg = tmp_path / "osched.toml"
    cfg.write_text(text)
    r = run(cfg, "schedule", "add", "b", "--start", "08:00", "--duration", "30m", "--days", "fri", "--no-start")
    assert r.exit_code == 0, r.output
    assert "[[jobs.b.schedules]]" in cfg.read_text()


def test_a_job_split_in_two_places_or_a_quoted_header_falls_back(tmp_path: Path) -> None:
    split = HEAD + '\n[jobs.b.extra]\nx = 1\n'
    assert _job_part(split, "b") is None  # not together: the whole file
    quoted = 'timezone = "UTC"\n[jobs."b"]\ncommand = ["/bin/true"]\n'
    cfg = tmp_path / "osched.toml"
    cfg.write_text(quoted)  # the cut does not see "b": add appends a second [jobs.b], save fails, whole edit
    r = run(cfg, "job", "add", "b", "--", "/bin/true")
    assert r.exit_code == 2 and "job 'b' already exists" in r.output
    assert cfg.read_text() == quoted
    r = run(cfg, "schedule", "add", "b", "--start", "08:00", "--duration", "30m", "--days", "fri", "--no-start")
    assert r.exit_code == 0, r.output


def test_a_broken_config_is_still_refused_and_left_alone(tmp_path: Path) -> None:
    cfg = tmp_path / "osched.toml"
    broken = HEAD.replace('days = ["mon"]', 'days = ["someday"]')
    cfg.write_text(broken)
    r = run(cfg, "schedule", "set", "b", "y", "--start", "12:30", "--no-start")
    assert r.exit_code == 2 and "jobs.a.schedules[x].days: invalid day 'someday'" in r.output
    assert cfg.read_text() == broken


EDITS: list[tuple[str, Any]] = [
    ("a", lambda e: e.set_schedule("a", "x", {"start": "11:00"})),
    ("b", lambda e: e.add_schedule("b", {"start": "08:00", "duration": "30m", "days": ["fri"], "id": "n"})),
    ("c", lambda e: e.add_schedule("c", {"start": "08:00", "duration": "30m", "days": ["fri"], "id": "n"})),
    ("a", lambda e: e.remove_job("a")),
    ("b", lambda e: e.remove_job("b")),
    ("c", lambda e: e.remove_job("c")),
    ("b", lambda e: e.remove_schedule("b", "y")),
    ("d", lambda e: e.add_job("d", ["/bin/true"])),
    ("b", lambda e: e.set_job("b", env={"Z": "1"}, unset_env=["K"])),
    ("a", lambda e: e.set_job("a", command=["/bin/false"], stop_timeout=5)),
]


@pytest.mark.parametrize("text", [HEAD, HEAD.rstrip("\n"), HEAD + "\n\n# tail comment\n"])
@pytest.mark.parametrize(("job", "change"), EDITS)
def test_editing_one_job_writes_what_editing_the_whole_file_writes(
    tmp_path: Path, text: str, job: str, change: Any
) -> None:
    from osched.edit import Editor

    cfg = tmp_path / "osched.toml"
    outs = []
    for scoped in (None, job):
        cfg.write_text(text)
        editor = Editor(cfg, scoped)
        assert editor.partial == (scoped is not None)
        change(editor)
        outs.append(editor.render())
    assert outs[0] == outs[1]
