"""The trust boundary and concurrency (issue: a runner left alone at 3 a.m.).  Each test
reproduces one way osched could run what it should not, write where it should not, or lose
an edit; another local user is played by uid 65534 (nobody), which needs root to chown."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from runtime_helpers import Env, alive, wait_for

from osched.cli import cli
from osched.state import LockBusy, StateDir

TUE_NOON = "2026-11-24T12:00:00+00:00"
DAY = {"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}
OTHER = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="playing another user needs root to chown")


def cli_run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def start_with(env: Env, config: Path) -> subprocess.CompletedProcess[str]:
    """``osched-start agent --schedule day`` on another config file than the env's."""
    argv = [sys.executable, "-m", "osched.entry", "start", "agent", "--schedule", "day", "--config", str(config),
            "--state-dir", str(env.state), "-v"]
    return subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "OSCHED_NOW": TUE_NOON}, timeout=60)


# -- 1. a refusal writes nothing, and never through a symlink -------------------------------------
@needs_root
def test_refusal_writes_nothing_into_another_users_state_dir(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    victim = tmp_path / "victim.sh"
    victim.write_text("echo hi\n")
    env.state.mkdir(mode=0o700)
    (env.state / "events.jsonl").symlink_to(victim)
    os.chown(env.state, OTHER, OTHER)
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1 and r.stderr.startswith("Error: refusing to run: state dir ")
    assert r.stderr.count("\n") == 1
    assert victim.read_text() == "echo hi\n" and env.agent_pids() == []


def test_events_are_never_appended_through_a_symlink(env: Env, tmp_path: Path) -> None:
    env.config.write_text('timezone = "Mars/Olympus"\n')
    env.config.chmod(0o600)
    victim = tmp_path / "victim.sh"
    victim.write_text("echo hi\n")
    env.state.mkdir(mode=0o700)
    (env.state / "events.jsonl").symlink_to(victim)
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 2 and "Mars/Olympus" in r.stderr  # the config error is still reported
    assert victim.read_text() == "echo hi\n"


def test_output_log_is_never_written_through_a_symlink(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (env.state / "jobs" / "agent").mkdir(parents=True, mode=0o700)
    env.state.chmod(0o700)
    (env.state / "jobs" / "agent" / "output.log").symlink_to(victim)
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1 and "could not start" in r.stderr
    assert victim.read_text() == "keep\n" and env.agent_pids() == []


# -- 2. a crash restart re-checks the config --------------------------------------------------------
def test_crash_restart_does_not_run_a_command_from_a_config_others_can_write(env: Env, tmp_path: Path) -> None:
    env.write([DAY], agent_args=["--work", "1", "--crash-after", "1"], restart={"retries": 3, "backoff": [0.2]})
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    pwned = tmp_path / "pwned"
    env.write([DAY], command=["touch", str(pwned)], restart={"retries": 3, "backoff": [0.2]})
    env.config.chmod(0o666)
    env.wait_event("crashed", timeout=15)
    time.sleep(1.0)
    kinds = env.kinds()
    assert "refused" in kinds and "restarted" not in kinds and not pwned.exists()
    crashed = [e for e in env.events() if e["event"] == "crashed"][-1]
    assert "no restart: the config is refused" in crashed["reason"] and "writable by other users" in crashed["reason"]


# -- 3. nothing rendered holds a line separator -------------------------------------------------------
@pytest.mark.parametrize("sep", ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r", "\t", "\x7f"])
def test_a_separator_in_the_state_dir_is_refused_on_every_target(env: Env, tmp_path: Path, sep: str) -> None:
    env.write([DAY])
    state = tmp_path / f"st{sep}* * * * * touch pwned #"
    for target in ("cron", "systemd", "taskscheduler", "launchd"):
        r = cli_run("--state-dir", str(state), "render", "--target", target)
        assert r.exit_code == 2, (target, r.output)
        assert r.output.startswith("Error: state dir ") and "which no scheduler file may hold" in r.output
        assert r.output.count("\n") == 1
    tab = tmp_path / "crontab"
    tab.write_text("# mine\n")
    r = CliRunner().invoke(
        cli, ["--state-dir", str(state), "install", "--target", "cron"], env={"OSCHED_CRONTAB_FILE": str(tab)}
    )
    assert r.exit_code == 2 and tab.read_text() == "# mine\n" and not state.exists()


def test_cron_refuses_a_backslash_before_percent(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    r = cli_run("--state-dir", str(tmp_path / "a\\%b"), "render", "--target", "cron")
    assert r.exit_code == 2 and "backslash before '%'" in r.output


def test_uninstall_of_a_crontab_with_foreign_separators_keeps_them(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    tab = tmp_path / "crontab"
    foreign = "# form feed \f here\n0 1 * * * echo \u2028 x\n"
    tab.write_text(foreign)
    run_env = {"OSCHED_CRONTAB_FILE": str(tab)}
    assert CliRunner().invoke(cli, ["install", "--target", "cron", "--no-start"], env=run_env).exit_code == 0
    assert CliRunner().invoke(cli, ["uninstall"], env=run_env).exit_code == 0
    assert tab.read_text() == foreign


# -- 4. the config is read from the file that was checked, in folders only its owner controls ------------
def test_config_in_a_folder_others_can_write_is_refused(env: Env, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    cfg = shared / "osched.toml"
    env.write([DAY])
    cfg.write_bytes(env.config.read_bytes())
    cfg.chmod(0o600)
    r = start_with(env, cfg)
    assert r.returncode == 1 and f"folder {shared} of the config file is writable by other users" in r.stderr
    assert env.agent_pids() == []
    shared.chmod(0o1777)  # sticky, like /tmp: others cannot replace our file
    r = start_with(env, cfg)
    assert r.returncode == 0, r.stderr


@needs_root
def test_a_symlinked_config_is_followed_only_to_a_file_of_ours(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    theirs = tmp_path / "theirs.toml"
    theirs.write_bytes(env.config.read_bytes())
    os.chown(theirs, OTHER, OTHER)
    link = tmp_path / "link.toml"
    link.symlink_to(theirs)
    r = start_with(env, link)
    assert r.returncode == 1 and "is owned by uid 65534" in r.stderr
    os.chown(theirs, 0, 0)
    theirs.chmod(0o600)
    r = start_with(env, link)
    assert r.returncode == 0, r.stderr


@needs_root
def test_group_write_is_accepted_only_for_the_users_private_group(env: Env) -> None:
    from osched.core.trust import private_group
    from osched.trust import InsecureError, check_private

    env.write([DAY])
    env.config.chmod(0o660)
    assert private_group(0)  # root's group "root" has no other members here
    os.chown(env.config, 0, 0)
    check_private(env.config, "config file")  # umask 002 with a private group: fine
    os.chown(env.config, 0, OTHER)  # a group others are in
    with pytest.raises(InsecureError, match="writable by other users"):
        check_private(env.config, "config file")


def test_a_fifo_as_config_is_refused_without_hanging(env: Env, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo, 0o600)
    r = start_with(env, fifo)
    assert r.returncode == 1 and "is not a regular file" in r.stderr


def test_install_refuses_what_the_entrypoints_would_refuse(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    env.config.chmod(0o666)
    tab = tmp_path / "crontab"
    tab.write_text("")
    r = CliRunner().invoke(cli, ["install", "--target", "cron"], env={"OSCHED_CRONTAB_FILE": str(tab)})
    assert r.exit_code == 1 and "writable by other users (chmod go-w" in r.output
    assert tab.read_text() == ""


# -- 5. concurrent edits and installs all land ---------------------------------------------------------
def test_parallel_schedule_adds_all_land(env: Env) -> None:
    env.write([])
    base = [sys.executable, "-m", "osched", "--config", str(env.config), "--state-dir", str(env.state)]
    procs = [
        subprocess.Popen(
            [*base, "schedule", "add", "agent", "--start", f"{i % 24:02d}:{(i * 7) % 60:02d}", "--duration", "10m",
             "--days", "mon", "--id", f"s{i}", "--no-start"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for i in range(24)
    ]
    codes = [p.wait(60) for p in procs]
    assert codes == [0] * 24, [p.stderr.read() for p in procs if p.stderr]  # type: ignore[union-attr]
    text = env.config.read_text()
    assert sorted(int(line.split('"s')[1].rstrip('"')) for line in text.splitlines() if line.startswith('id = "s')) == list(range(24))


def test_parallel_installs_of_two_configs_keep_both_blocks(env: Env, tmp_path: Path) -> None:
    tab = tmp_path / "crontab"
    tab.write_text("# mine\n")
    configs = []
    for name in ("a", "b"):
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(f'timezone = "UTC"\n[jobs.{name}]\ncommand = ["true"]\n[[jobs.{name}.schedules]]\n'
                       'id = "day"\nstart = "10:00"\nduration = "4h"\ndays = ["tue"]\n')
        cfg.chmod(0o600)
        configs.append(cfg)
    run_env = {**os.environ, "OSCHED_CRONTAB_FILE": str(tab)}
    for _ in range(3):
        procs = [
            subprocess.Popen([sys.executable, "-m", "osched", "--config", str(c), "--state-dir", str(env.state),
                              "install", "--target", "cron", "--no-start"], env=run_env, stderr=subprocess.PIPE)
            for c in configs for _ in range(2)
        ]
        assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
        text = tab.read_text()
        assert text.startswith("# mine\n")
        assert ":a.day:start" in text and ":b.day:start" in text


def test_a_crontab_edit_during_install_is_merged_not_lost(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from osched.targets.cron import CronTable

    env.write([DAY])
    tab = tmp_path / "crontab"
    tab.write_text("# mine\n")
    real_read = CronTable.read
    calls = []

    def read_and_race(self: CronTable) -> str:
        text = real_read(self)
        calls.append(1)
        if len(calls) == 2:  # the user's `crontab -e` lands between osched's read and write
            tab.write_text(tab.read_text() + "5 5 * * * user-line\n")
        return text

    monkeypatch.setattr(CronTable, "read", read_and_race)
    r = CliRunner().invoke(cli, ["install", "--target", "cron", "--no-start"], env={"OSCHED_CRONTAB_FILE": str(tab)})
    assert r.exit_code == 0, r.output
    text = tab.read_text()
    assert "5 5 * * * user-line\n" in text and ":agent.day:start" in text


# -- 6. nothing of the job outlives its window ----------------------------------------------------------
def _sleepers(tag: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if (d / "cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", tag.encode()] and alive(int(d.name)):
                    out.append(int(d.name))
    return out


def _kill_sleepers(tag: str) -> None:
    for pid in _sleepers(tag):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_background_child_is_ended_at_the_window_end(env: Env) -> None:
    env.write([DAY], command=["sh", "-c", "sleep 3031 & exit 0"])
    try:
        env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
        env.wait_event("finished", timeout=10)
        assert len(_sleepers("3031")) == 1
        r = env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T14:00:00+00:00")
        assert r.returncode == 0 and "stopped 1 leftover process" in r.stdout
        wait_for(lambda: not _sleepers("3031"), 5, "the background child to end")
    finally:
        _kill_sleepers("3031")


def test_crash_restarts_leave_one_copy_at_a_time(env: Env) -> None:
    env.write([DAY], command=["sh", "-c", "sleep 3032 & sleep 0.2; exit 1"], restart={"retries": 2, "backoff": [0.2]})
    try:
        env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
        env.wait_event("gave_up", timeout=15)
        assert len(_sleepers("3032")) == 1
    finally:
        _kill_sleepers("3032")


# -- 7. a dead launcher does not stop supervision; an unrecorded job does not run -----------------------
LAUNCHER = """
import os, sys, time
from pathlib import Path
from osched.runtime import Runtime, load_checked
from osched.runtime.proc import PosixProcs
from osched.state import StateDir

class Slow(PosixProcs):
    def spawn(self, *a, **k):
        time.sleep(1.0)  # the launcher is killed meanwhile
        return super().spawn(*a, **k)

state = StateDir(Path(sys.argv[2]))
rt = Runtime(load_checked(Path(sys.argv[1]), state), state, procs=Slow())
print("forking", flush=True)
rt.start_firing("agent", "day")
"""


def test_killing_the_launcher_after_the_fork_keeps_the_job_supervised(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "0.3", "--crash-after", "2"], restart={"retries": 1, "backoff": [0.2]})
    p = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(env.config), str(env.state)],
                         stdout=subprocess.PIPE, env={**os.environ, "OSCHED_NOW": TUE_NOON})
    assert p.stdout is not None and p.stdout.readline() == b"forking\n"
    time.sleep(0.4)
    p.kill()
    p.wait()
    env.wait_event("restarted", timeout=15)  # the supervisor lived on: it saw the crash and restarted
    assert "supervisor_error" not in env.kinds()


def test_a_failed_state_write_ends_the_job(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from osched.runtime import Runtime, load_checked

    hooked = env.root / "hook.out"
    env.write([DAY], agent_args=["--work", "5"], on_failure=["/bin/sh", "-c", f'echo "$OSCHED_EVENT" > {hooked}'])
    state = StateDir(env.state)
    writes = []

    def failing_write(self: StateDir, job: str, st: Any) -> None:
        writes.append(st.pid)
        raise OSError(28, "No space left on device")

    rt = Runtime(load_checked(env.config, state), state, foreground=True)
    monkeypatch.setattr(StateDir, "write_state", failing_write)
    out = rt.start_firing("agent", "day")
    assert out.code == 1 and "could not record the started job (No space left on device)" in out.message
    assert writes and writes[0] is not None and not alive(writes[0])
    assert hooked.read_text() == "start_failed\n"  # every start_failed runs on_failure (issue 22, 11)


# -- 8. a corrupt manifest is an error, and a failed rollback says what is left ------------------------
def test_a_corrupt_manifest_is_an_error_everywhere(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    tab = tmp_path / "crontab"
    tab.write_text("")
    run_env = {"OSCHED_CRONTAB_FILE": str(tab)}
    assert CliRunner().invoke(cli, ["install", "--target", "cron", "--no-start"], env=run_env).exit_code == 0
    (manifest,) = (env.state / "install").glob("*.toml")
    manifest.write_text("not [ toml")
    for args in (["status"], ["uninstall"], ["schedule", "set", "agent", "day", "--start", "11:00", "--no-start"]):
        r = CliRunner().invoke(cli, args, env=run_env)
        # bad input (exit 2) where the manifest is read; 1 where an edit was saved and its re-sync failed
        assert r.exit_code == (1 if args[0] == "schedule" else 2), (args, r.output)
        assert "install manifest is unreadable" in r.output, (args, r.output)
    r = CliRunner().invoke(cli, ["doctor"], env=run_env)
    assert r.exit_code == 1 and "FAIL  " in r.output and "manifest is unreadable" in r.output
    assert ":agent.day:start" in tab.read_text()  # still installed, and said so


def test_a_failed_rollback_is_reported() -> None:
    from osched.plan import Plan
    from osched.runner import ToolError

    def boom() -> None:
        raise ToolError("step two failed")

    def undo_fails() -> None:
        raise OSError("cannot restore /x")

    plan = Plan("t")
    plan.add(lambda: None, undo_fails)
    plan.add(boom, lambda: None)
    with pytest.raises(ToolError, match=r"step two failed; rollback incomplete: cannot restore /x"):
        plan.apply()


# -- 9. the smaller holes ---------------------------------------------------------------------------------
def test_a_job_name_is_never_a_path(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "override-stop.json").write_text("{}")
    for args in (["override", "clear", "../../victim"], ["override", "list", "../x"], ["logs", "../x"],
                 ["events", "../x"]):
        r = cli_run(*args)
        assert r.exit_code == 2 and "invalid job name" in r.output, args
    assert (victim / "override-stop.json").exists()
    r = cli_run("events", "nosuch")
    assert r.exit_code == 2 and "no job named 'nosuch'" in r.output


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[jobs."agent\\n"]\ncommand = ["x"]\n', "invalid job name"),
        ('[jobs.agent]\ncommand = ["x"]\nenv = { "A\\n" = "1" }\n', "invalid environment variable name"),
        ('[jobs.agent]\ncommand = ["x"]\nstop_timeout = nan\n', "finite"),
        ('[jobs.agent]\ncommand = ["x"]\nstop_timeout = inf\n', "finite"),
        ('[jobs.agent]\ncommand = ["x"]\nrestart = { backoff = [-inf] }\n', "finite"),
        ("x = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
    ],
)
def test_hostile_config_values_are_one_line_errors(env: Env, toml: str, message: str) -> None:
    env.config.write_text('timezone = "UTC"\n' + toml)
    env.config.chmod(0o600)
    r = cli_run("list")
    assert r.exit_code == 2 and message in r.output and r.output.count("\n") == 1, r.output
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_damaged_state_and_events_give_no_traceback(env: Env) -> None:
    env.write([DAY])
    (env.state / "jobs" / "agent" / "state.json").mkdir(parents=True)
    env.state.chmod(0o700)
    r = cli_run("status")
    assert r.exit_code == 0 and (env.state / "jobs" / "agent" / "state.json").is_dir()  # status moved nothing
    (env.state / "events.jsonl").write_text(json.dumps({"time": 5, "job": "agent", "event": "started"}) + "\n")
    r = cli_run("events")
    assert r.exit_code == 0 and "agent  started" in r.output
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "state_corrupt" in env.kinds()


def test_a_busy_lock_gives_up_instead_of_waiting_for_ever(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    with state.lock("agent"):
        t0 = time.monotonic()
        with pytest.raises(LockBusy, match="is busy"), state.lock("agent", timeout=0.3):
            pass
        assert time.monotonic() - t0 < 2


def test_the_lock_is_released_once() -> None:
    from osched.state import Held

    r, w = os.pipe()
    held = Held(r)
    held.release()
    r2, w2 = os.pipe()  # likely reuses the number just closed
    held.release()  # must not close the new descriptor
    os.write(w2, b"x")
    assert os.read(r2, 1) == b"x"
    for fd in (w, r2, w2):
        os.close(fd)


def test_cron_d_user_must_be_a_login_name(env: Env, tmp_path: Path) -> None:
    env.write([DAY], user="root\n* * * * * root x")
    r = CliRunner().invoke(cli, ["render", "--target", "cron", "--system"])
    assert r.exit_code == 2 and "jobs.agent.user: invalid user" in r.output
    # $USER and $LOGNAME are not who osched runs as: the real uid is (sudo leaves them naming
    # someone else), so they reach no artifact
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    env.write([DAY], user=me)
    r = CliRunner().invoke(cli, ["render", "--target", "cron", "--system"], env={"USER": "root\n* * * * * root x", "LOGNAME": "x"})
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if "osched-start" in ln]
    assert lines and all(f" {me} " in ln for ln in lines) and "root x" not in r.output


# -- compiled plans (scale): used only for the very file they were made from -----------------------------
def test_a_plan_stands_in_for_the_config_only_while_the_file_is_unchanged(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from osched import cache
    from osched import config as config_mod
    from osched.core import cache as core_cache
    from osched.core.store import Store

    env.write([DAY])
    env.state.mkdir(mode=0o700)
    parses: list[int] = []
    real = config_mod.parse_toml
    monkeypatch.setattr(config_mod, "parse_toml", lambda text, path: parses.append(1) or real(text, path))
    store = Store(env.state)
    load = lambda: cache.for_firing(store, env.config, "agent", None)  # noqa: E731
    assert load().job("agent") is not None and len(parses) == 1  # just written: racy, parsed
    time.sleep(1.1)
    load()  # parsed again, and its plan is now older than the file by more than a second
    assert len(parses) == 2
    cfg = load()
    assert len(parses) == 2 and list(cfg.jobs) == ["agent"]  # from the plan
    env.write([{**DAY, "start": "11:00"}])  # an edit: a new identity, parsed again
    assert load().jobs["agent"].schedules[0].hour == 11 and len(parses) == 3
    plan = Path(store.path(*store.cache(str(env.config), "agent.json")))
    assert cache.read_plan(store, env.config, core_cache.identity(env.config.stat()), "agent") is None
    before = plan.read_bytes()
    load()  # within a second of the edit: no plan is written, as none would be used
    assert plan.read_bytes() == before and len(parses) == 4
    env.config.chmod(0o666)  # a refusal is never hidden by a plan
    with pytest.raises(Exception, match="writable by other users"):
        load()


def test_a_command_writes_one_plan_and_a_firing_adds_its_jobs_own(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that parses writes the whole config's plan only (one file, not one per job);
    a firing then reads its job from it, without parsing, and writes that job's plan."""
    from osched import cache
    from osched import config as config_mod
    from osched.core import cache as core_cache
    from osched.core.store import Store

    env.write([DAY])
    with env.config.open("a") as fh:
        fh.write('\n[jobs.other]\ncommand = ["true"]\n')
    env.state.mkdir(mode=0o700)
    time.sleep(1.1)
    assert cli_run("next").exit_code == 0
    store = Store(env.state)
    d = Path(store.path(*store.cache(str(env.config), "_config.json"))).parent
    assert sorted(p.name for p in d.iterdir()) == ["_config.json"]
    ident = core_cache.identity(env.config.stat())
    assert cache.read_plan(store, env.config, ident, "agent") is None
    monkeypatch.setattr(config_mod, "parse_toml", lambda text, path: pytest.fail("parsed"))
    cfg = cache.for_firing(store, env.config, "agent", None)
    assert "agent" in cfg.jobs and (d / "agent.json").exists() and not (d / "other.json").exists()
    assert cache.read_plan(store, env.config, ident, "agent") is not None


@needs_root
def test_cli_reads_never_use_or_write_plans_in_a_state_dir_of_another_user(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    victim = tmp_path / "victim"
    victim.mkdir()
    env.state.mkdir(mode=0o700)
    (env.state / "plans").symlink_to(victim)  # planted by the state dir's owner
    os.chown(env.state, OTHER, OTHER)
    r = cli_run("next")  # root reading a config whose state dir belongs to someone else
    assert r.exit_code == 0, r.output
    assert list(victim.iterdir()) == []
