"""A newcomer's first hour: each mistake from the issue, typed as a user types it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from runtime_helpers import Env, wait_for

from osched.cli import cli

TUE_NOON = "2026-11-24T12:00:00+00:00"
DAY = {"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}


def run(*args: str, **kw: Any) -> Any:
    return CliRunner().invoke(cli, list(args), **kw)


def init(env: Env) -> None:
    assert run("init", "--timezone", "UTC").exit_code == 0


# -- 1. a command that runs from the shell runs from the timer ------------------------------------------
def test_a_command_on_your_path_is_stored_absolute_and_runs_under_a_bare_path(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "home-bin"
    bindir.mkdir()
    agent = bindir / "my-agent"
    agent.write_text(f"#!/bin/sh\necho started > {tmp_path}/ran\nsleep 30\n")
    agent.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    init(env)
    r = run("job", "add", "pathjob", "--", "my-agent", "--flag")
    assert r.exit_code == 0, r.output
    assert f"Added job 'pathjob': {agent} --flag" in r.output
    assert f"Note: my-agent resolved to {agent} (timers run with PATH=/usr/bin:/bin)" in r.output
    assert run("schedule", "add", "pathjob", "--start", "10:00", "--duration", "4h", "--days", "tue",
               "--id", "day", "--no-start").exit_code == 0
    # the entrypoint as cron runs it: PATH=/usr/bin:/bin only
    argv = [sys.executable, "-m", "osched.entry", "start", "pathjob", "--schedule", "day", "--config",
            str(env.config), "--state-dir", str(env.state)]
    bare = {"PATH": "/usr/bin:/bin", "OSCHED_NOW": TUE_NOON, "HOME": str(tmp_path)}
    r2 = subprocess.run(argv, capture_output=True, text=True, env=bare, timeout=30)
    assert r2.returncode == 0, r2.stderr
    wait_for((tmp_path / "ran").exists, 5, "the job to run from a bare PATH")
    st = json.loads((env.state / "jobs" / "pathjob" / "state.json").read_text())
    env.started += [st["pid"], st["supervisor_pid"]]
    subprocess.run([sys.executable, "-m", "osched.entry", "stop", "pathjob", "--config", str(env.config),
                    "--state-dir", str(env.state)], env={**bare, "OSCHED_NOW": "2026-11-24T14:00:00+00:00"},
                   timeout=30)


def test_a_command_that_does_not_exist_is_refused(env: Env) -> None:
    init(env)
    r = run("job", "add", "ghost", "--", "definitely-not-a-command")
    assert r.exit_code == 2
    assert "command 'definitely-not-a-command' is not found on your PATH; give its full path" in r.output
    r = run("job", "add", "ghost", "--", "/nonexistent/tool")
    assert r.exit_code == 2 and "/nonexistent/tool is not an executable file" in r.output
    assert "ghost" not in env.config.read_text()


def test_doctor_finds_a_command_the_timer_cannot_run(env: Env) -> None:
    env.write([DAY], command=["my-agent-not-on-timer-path"])
    r = run("doctor")
    assert r.exit_code == 1
    assert "FAIL  job agent: program 'my-agent-not-on-timer-path' is not on the timer's PATH (/usr/bin:/bin)" in r.output


# -- on_failure --------------------------------------------------------------------------------------
def test_on_failure_runs_when_the_job_gives_up(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    hook = [sys.executable, "-c",
            f"import os; open({str(out)!r}, 'w').write(' '.join(os.environ[k] for k in "
            "('OSCHED_JOB', 'OSCHED_SCHEDULE', 'OSCHED_EVENT', 'OSCHED_EXIT_CODE')))"]
    env.write([DAY], agent_args=["--work", "0.05", "--crash-after", "1"],
              restart={"retries": 1, "backoff": [0.1]}, on_failure=hook)
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("on_failure", timeout=20)
    assert out.read_text() == "agent day gave_up 1"
    kinds = env.kinds()
    assert kinds[kinds.index("gave_up"):] == ["gave_up", "on_failure"]
    assert "restarted" in kinds and kinds.count("restarted") == 1  # the hook restarts nothing


def test_on_failure_runs_when_the_job_cannot_start_and_its_failure_is_an_event(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    hook = ["/bin/sh", "-c", f'echo "$OSCHED_EVENT:$OSCHED_EXIT_CODE" > {out}']
    env.write([DAY], command=[str(tmp_path / "missing-program")], on_failure=hook)
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1
    env.wait_event("on_failure", timeout=10)
    assert out.read_text() == "start_failed:\n"
    env.write([DAY], command=[str(tmp_path / "missing-program")], on_failure=[str(tmp_path / "no-hook")])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    env.wait_event("on_failure_failed", timeout=10)
    log = (env.state / "jobs" / "agent" / "output.log").read_text()
    assert "--- osched: could not start: " in log and "started at" not in log


def test_job_set_on_failure_is_resolved_and_removable(env: Env) -> None:
    init(env)
    assert run("job", "add", "agent", "--", "true").exit_code == 0
    r = run("job", "set", "agent", "--on-failure", "notify-send-missing 'agent failed'")
    assert r.exit_code == 2 and "--on-failure: command 'notify-send-missing' is not found" in r.output
    r = run("job", "set", "agent", "--on-failure", "sh -c 'echo failed'")
    assert r.exit_code == 0, r.output
    assert json.loads(run("list", "--json").output)["jobs"][0]["on_failure"] == [shutil.which("sh"), "-c", "echo failed"]
    assert run("job", "set", "agent", "--on-failure", "").exit_code == 0
    assert "on_failure" not in env.config.read_text()
    assert stat.S_IMODE(env.config.stat().st_mode) == 0o600


# -- 2. bare groups print their help ---------------------------------------------------------------
@pytest.mark.parametrize("args", [[], ["job"], ["schedule"], ["override"]])
def test_a_bare_group_prints_its_help(env: Env, args: list[str]) -> None:
    r = run(*args)
    assert r.exit_code == 0 and r.output.startswith("Usage: ") and "Commands:" in r.output
    assert "Error" not in r.output


# -- 3. a umask-002 config with the user's private group installs and fires -------------------------
def test_a_group_writable_config_of_a_private_group_is_fine_everywhere(env: Env, tmp_path: Path) -> None:
    env.write([DAY], agent_args=["--work", "5"])
    env.config.chmod(0o664)  # Ubuntu's umask 002; root's group is private here
    tab = tmp_path / "crontab"
    tab.write_text("")
    r = run("install", "--target", "cron", "--no-start", env={"OSCHED_CRONTAB_FILE": str(tab)})
    assert r.exit_code == 0, r.output
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    assert "started" in env.kinds()


# -- 4. numbers --------------------------------------------------------------------------------------
def test_numbers_mean_what_a_user_expects(env: Env) -> None:
    init(env)
    assert run("job", "add", "agent", "--", "true").exit_code == 0
    r = run("schedule", "add", "agent", "--start", "22:00", "--duration", "8", "--days", "mon")
    assert r.exit_code == 2 and "--duration: '8' has no unit: did you mean 8h or 8m?" in r.output
    r = run("job", "set", "agent", "--stop-timeout", "5", "--backoff", "10,20")
    assert r.exit_code == 0, r.output
    job = json.loads(run("list", "--json").output)["jobs"][0]
    assert job["stop_timeout_seconds"] == 5 and job["restart"]["backoff_seconds"] == [10, 20]


# -- 5. forgetting -- ----------------------------------------------------------------------------------
def test_forgetting_the_double_dash_gives_a_hint(env: Env) -> None:
    init(env)
    r = run("job", "add", "x", "python3", "-m", "foo")
    assert r.exit_code == 2
    assert "No such option '-m'" in r.output and "go after --: osched job add NAME -- COMMAND" in r.output


# -- 6, 8. status tells the truth, like list-timers ------------------------------------------------------
def test_status_shows_the_start_a_stop_override_skips(env: Env) -> None:
    env.write([DAY, {"id": "eve", "start": "18:00", "duration": "1h", "days": ["tue"]}], agent_args=["--work", "5"])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    r = run("stop", "agent", "--until", "19:30")
    assert r.exit_code == 0
    assert r.output.startswith("Stopping agent (pid ") and "SIGTERM to its process group" in r.output
    assert "no scheduled start before Tue 2026-11-24 19:30 UTC" in r.output  # one time format
    r = run("status")
    lines = r.output.splitlines()
    assert lines[0].split() == ["JOB", "NEXT", "LEFT", "LAST", "RESULT", "WINDOW", "ENDS"]
    assert lines[1].startswith("agent  Tue 2026-11-24 18:00 UTC (skipped)  in 6h 00m  Tue 2026-11-24 12:00 UTC")
    assert "stopped" in lines[1] and "Tue 2026-11-24 14:00 UTC" in lines[1]
    assert "  agent: in window, not running: stop override until Tue 2026-11-24 19:30 UTC" in lines
    assert any("it skips the start at Tue 2026-11-24 18:00 UTC" in ln for ln in lines)
    data = json.loads(run("status", "--json").output)["jobs"][0]
    assert data["next_run"]["suppressed_by_override"] is True and data["next_run"]["schedule"] == "eve"


def test_status_after_a_failure_points_at_the_logs_and_takes_a_zone(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "0.05", "--crash-after", "1"], restart={"retries": 0, "backoff": [0.1]})
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("gave_up", timeout=10)
    r = run("status", "--timezone", "Asia/Tokyo")
    assert "gave up (exit 1)" in r.output and "Tue 2026-11-24 21:00 JST" in r.output
    assert "see its output: osched logs agent" in r.output and "times in Asia/Tokyo" in r.output
    r = run("events", "--timezone", "Asia/Tokyo")
    assert "Tue 2026-11-24 21:00:00 JST" in r.output
    assert "JST" in run("next", "--timezone", "Asia/Tokyo").output
    assert "in Asia/Tokyo" in run("calendar", "--timezone", "Asia/Tokyo").output
    r = run("status", "--timezone", "Mars/Base")
    assert r.exit_code == 2 and "--timezone: unknown time zone 'Mars/Base'" in r.output


# -- 9. overlaps, install's choice, an edit the OS has not seen -------------------------------------------
def test_overlaps_install_choice_and_unsynced_edits_are_said(env: Env, tmp_path: Path) -> None:
    init(env)
    assert run("job", "add", "agent", "--", "true").exit_code == 0
    assert run("schedule", "add", "agent", "--start", "22:00", "--duration", "8h", "--days", "mon-fri",
               "--id", "nights", "--no-start").exit_code == 0
    r = run("schedule", "add", "agent", "--start", "23:00", "--duration", "1h", "--days", "tue", "--id", "late",
            "--no-start")
    assert "Note: its windows overlap those of agent/nights (e.g. Tue 2026-11-24 22:00 UTC)" in r.output
    assert "Overlap: agent/late and agent/nights" in run("calendar").output
    tab = tmp_path / "crontab"
    tab.write_text("")
    r = run("install", "--no-start", env={"OSCHED_CRONTAB_FILE": str(tab), "PATH": "/nonexistent"})
    assert "Target: cron (no systemd manager answers; --target chooses another)." in r.output
    text = env.config.read_text().replace('start = "22:00"', 'start = "21:00"')
    env.config.write_text(text)
    r = run("next", env={"OSCHED_CRONTAB_FILE": str(tab)})
    assert "the OS still fires the old times until you run osched install" in r.output


def test_install_warns_when_no_cron_daemon_runs(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from osched.targets import cron

    monkeypatch.setattr(cron, "daemon_pids", lambda names=("cron", "crond"): [])
    env.write([DAY])
    tab = tmp_path / "crontab"
    tab.write_text("")
    r = run("install", "--target", "cron", "--no-start", env={"OSCHED_CRONTAB_FILE": str(tab)})
    assert r.exit_code == 0 and "Warning: no cron daemon is running (start it: systemctl start cron" in r.output


# -- 10. completion ------------------------------------------------------------------------------------
def test_completion_scripts_and_completed_words(env: Env) -> None:
    env.write([DAY])
    for shell in ("bash", "zsh", "fish"):
        r = run("completion", shell)
        assert r.exit_code == 0 and "_OSCHED_COMPLETE" in r.output
    from click.shell_completion import ShellComplete

    from osched.cli import cli as group

    def complete(args: list[str], incomplete: str) -> list[str]:
        return [c.value for c in ShellComplete(group, {}, "osched", "_OSCHED_COMPLETE").get_completions(args, incomplete)]

    assert complete(["logs"], "a") == ["agent"]
    assert complete(["schedule", "set", "agent"], "d") == ["day"]
    assert "systemd" in complete(["install", "--target"], "")
    assert complete(["schedule", "add", "agent", "--days"], "week") == ["weekdays", "weekends"]
    # the words before the last of a list are kept (issue 24, 3); job set/remove complete jobs
    assert complete(["schedule", "add", "agent", "--days"], "mon-fri,sa") == ["mon-fri,sat"]
    assert complete(["job", "set"], "a") == ["agent"] and complete(["job", "remove"], "a") == ["agent"]
    assert "Europe/Berlin" in complete(["status", "--timezone"], "Europe/Be")


# -- 11. the small ones --------------------------------------------------------------------------------
def test_the_small_answers(env: Env) -> None:
    init(env)
    r = run("job", "add", "agént", "--", "true")
    assert r.exit_code == 2 and "ASCII letters" in r.output
    r = run("init", "--timezone", "Europe/Berln", "--force")
    assert r.exit_code == 2 and "did you mean 'Europe/Berlin' or " in r.output
    r = run("init", "--timezone", "EST", "--force")
    assert r.exit_code == 0 and "Note: 'EST' is a legacy zone name (a fixed offset, no daylight saving time)" in r.output
    assert run("job", "add", "agent", "--", "true").exit_code == 0
    assert run("schedule", "add", "agent", "--start", "10:00", "--duration", "4h", "--days", "tue", "--id", "day",
                "--timezone", "UTC", "--no-start").exit_code == 0
    assert run("stop", "agent").exit_code == 0
    r = run("override", "clear", "agent", "--kind", "start")
    assert r.output.startswith("agent has no start override; its stop override until Tue 2026-11-24 14:00 UTC stays")
    r = run("doctor")
    assert "(1 job)" in r.output
    env.config.write_text(env.config.read_text().replace('start = "10:00"', 'start = "10:61"'))
    r = run("list")
    assert "jobs.agent.schedules[day].start: invalid time '10:61'" in r.output


def test_render_cron_shows_the_header_install_writes_and_uninstall_leaves_no_empty_crontab(
    env: Env, tmp_path: Path
) -> None:
    env.write([DAY])
    r = run("render", "--target", "cron")
    assert "# osched: the lines ending in 'osched:" in r.output
    calls: list[list[str]] = []
    table = {"text": ""}

    def fake_crontab(argv: list[str], input: str | None = None) -> Any:
        from osched.runner import Result

        calls.append(argv)
        if argv == ["crontab", "-l"]:
            return Result(0, table["text"], "") if table["text"] else Result(1, "", "no crontab for root")
        if argv[0] == "crontab" and argv[1] not in ("-l", "-r"):  # a complete file, never a pipe
            table["text"] = Path(argv[1]).read_text()
        if argv == ["crontab", "-r"]:
            table["text"] = ""
        return Result(0, "", "")

    from osched.app import App

    assert CliRunner().invoke(cli, ["install", "--target", "cron", "--no-start"], obj=App(runner=fake_crontab)).exit_code == 0
    assert table["text"].startswith("# osched: the lines ending in")
    assert CliRunner().invoke(cli, ["uninstall"], obj=App(runner=fake_crontab)).exit_code == 0
    assert calls[-1] == ["crontab", "-r"] and table["text"] == ""


def test_a_relative_command_is_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``job add rel -- ./ticker.sh`` stores the path from where it was typed, and says so
    (issue 24, 4): a timer does not run in that folder."""
    cfg = tmp_path / "osched.toml"
    monkeypatch.setenv("OSCHED_CONFIG", str(cfg))
    work = tmp_path / "work"
    work.mkdir()
    ticker = work / "ticker.sh"
    ticker.write_text("#!/bin/sh\necho tick\n")
    ticker.chmod(0o755)
    monkeypatch.chdir(work)
    assert CliRunner().invoke(cli, ["init", "--timezone", "UTC"]).exit_code == 0
    r = CliRunner().invoke(cli, ["job", "add", "rel", "--", "./ticker.sh", "--fast"])
    assert r.exit_code == 0, r.output
    assert f"./ticker.sh stored as {ticker}" in r.output
    assert f'command = ["{ticker}", "--fast"]' in cfg.read_text()
    r = CliRunner().invoke(cli, ["job", "add", "missing", "--", "./nope.sh"])
    assert r.exit_code == 2 and "./nope.sh is not an executable file" in r.output


def test_messages_that_help(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo gets a did-you-mean, a zone abbreviation the zone people mean, a folder that
    cannot be made a line naming it, and an edit says what it did before what it re-synced
    (issue 24, 11 in part)."""
    cfg = tmp_path / "osched.toml"
    tab = tmp_path / "crontab"
    monkeypatch.setenv("OSCHED_CONFIG", str(cfg))
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tab))
    monkeypatch.setenv("OSCHED_NOW", "2026-11-24T08:00:00+00:00")

    def call(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args))

    assert call("init", "--timezone", "UTC").exit_code == 0
    assert call("job", "add", "ticker", "--", "true").exit_code == 0
    r = call("schedule", "add", "tickr", "--start", "10:00", "--duration", "1h", "--days", "mon")
    assert r.exit_code == 2 and "did you mean 'ticker'?" in r.output
    r = call("schedule", "add", "ticker", "--start", "10:00", "--duration", "1h", "--days", "mon",
             "--timezone", "PST")
    assert r.exit_code == 2 and "did you mean 'America/Los_Angeles'?" in r.output
    assert call("schedule", "add", "ticker", "--start", "10:00", "--duration", "1h", "--days", "mon",
                "--id", "day", "--no-start").exit_code == 0
    assert call("install", "--target", "cron", "--no-start").exit_code == 0
    r = call("schedule", "remove", "ticker", "day")
    assert r.exit_code == 0 and r.output.index("Removed schedule") < r.output.index("Re-synced cron")
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = call("render", "--target", "cron", "--output", str(blocker / "dir"))
    assert r.exit_code == 2 and f"cannot write the files into {blocker}/dir/cron" in r.output


def test_a_failed_firing_is_said_by_status_and_doctor(env: Env) -> None:
    """A hand-edit typo makes a firing fail: it exits non-zero (the scheduler's own reporting
    sees it), and status and doctor say it in one line until a later firing goes through
    (issue 24, 5)."""
    env.write([DAY])
    good = env.config.read_text()
    env.config.write_text(good.replace('duration = "4h"', 'duraton = "4h"'))
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 2 and "duraton" in r.stderr
    env.config.write_text(good)
    out = run("status").output
    assert "agent: the last firing failed at" in out and "config_error" in out and "duraton" in out
    doc = run("doctor").output
    assert "FAIL  agent: the last firing failed" in doc
    status = json.loads(run("status", "--json").output)["jobs"][0]
    assert status["last_failure"]["event"] == "config_error"
    env.entry("stop", "agent", "--schedule", "day", now=TUE_NOON)  # a later firing goes through
    assert "last firing failed" not in run("status").output


# -- 10. the crontab reads by hand ----------------------------------------------------------------------------
def test_each_crontab_line_says_which_window_and_offset_it_serves(cfg_path: Path) -> None:
    cfg_path.write_text(
        'timezone = "Europe/Berlin"\n[jobs.agent]\ncommand = ["/bin/true"]\n'
        '[[jobs.agent.schedules]]\nid = "night"\nstart = "22:00"\nduration = "8h"\ndays = ["mon-fri"]\n'
    )
    r = run("render", "--target", "cron", env={"OSCHED_HOST_TZ": "UTC", "OSCHED_NOW": TUE_NOON})
    assert r.exit_code == 0, r.output
    starts = {ln.split()[1]: ln for ln in r.output.splitlines() if "osched-start agent" in ln and ln.split()[2] == "*"}
    assert set(starts) == {"20", "21"}
    assert "# agent/night start 22:00 Europe/Berlin, while this host's clock is 2h00 behind it # osched:" in starts["20"]
    assert "# agent/night start 22:00 Europe/Berlin, while this host's clock is 1h00 behind it # osched:" in starts["21"]
    ours = [ln for ln in r.output.splitlines() if "# osched:" in ln and not ln.startswith(("#", "@"))]
    assert ours and all(" # agent/night " in ln for ln in ours)


# -- 11. another user's state dir: status says whose it is ---------------------------------------------------
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_status_on_another_users_state_dir_names_its_owner(tmp_path: Path, cfg_path: Path) -> None:
    cfg_path.write_text('timezone = "UTC"\n[jobs.agent]\ncommand = ["/bin/true"]\n')
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    owner = f"state dir {theirs} is owned by uid 65534, not by uid 0 (chown it, or run osched as its owner)"
    r = run("--state-dir", str(theirs), "status")  # read-only: shown without the state dir
    assert r.exit_code == 0 and f"Not shown: where it is installed and what ran (refusing to run: {owner})." in r.output
    assert "Permission denied" not in r.output
    st = json.loads(run("--state-dir", str(theirs), "status", "--json").output)
    assert st["state_refusal"] == f"refusing to run: {owner}" and st["installed"] == []
    mine = json.loads(run("status", "--json").output)
    assert mine["state_refusal"] is None
    r = run("--state-dir", str(theirs), "start", "agent")
    assert r.exit_code == 1 and r.output.strip() == f"Error: refusing to run: {owner}", r.output
