"""Trust, round two (issue 22): every command that writes or deletes checks trust first, a
manifest never names what to delete outside a target's folders, init replaces only a config,
a log is never rotated through a link, and a removed job takes its state with it."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osched.cli import cli
from osched.core.store import Store

CONFIG = (
    'timezone = "UTC"\n\n[jobs.j]\ncommand = ["true"]\n\n'
    '[[jobs.j.schedules]]\nid = "day"\nstart = "10:00"\nduration = "4h"\ndays = ["tue"]\n'
)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="devices and another user's files need root")


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"OSCHED_NOW": "2026-11-24T08:00:00+00:00"})


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    cfg = tmp_path / "osched.toml"
    cfg.write_text(CONFIG)
    cfg.chmod(0o600)
    state = tmp_path / "state"
    monkeypatch.setenv("OSCHED_CONFIG", str(cfg))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(state))
    monkeypatch.setenv("OSCHED_SYSTEMD_DIR", str(tmp_path / "units"))
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tmp_path / "crontab"))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep me\n")
    return {"cfg": cfg, "state": state, "victim": victim, "root": tmp_path}


def test_override_clear_checks_trust_before_it_deletes(site: dict[str, Path]) -> None:
    state, victim = site["state"], site["victim"]
    state.mkdir(mode=0o700)
    (state / "jobs").symlink_to(victim)  # planted while the state dir was writable by others
    (victim / "j").mkdir()
    (victim / "j" / "override-start.json").write_text("{}")
    state.chmod(0o777)
    r = run("override", "clear", "j")
    assert r.exit_code != 0 and "refusing to run" in r.output and "writable by other users" in r.output
    assert (victim / "j" / "override-start.json").exists()
    state.chmod(0o700)  # the state dir is private again, the link is still there
    r = run("override", "clear", "j")
    assert r.exit_code != 0 and "refusing to run" in r.output
    assert (victim / "j" / "override-start.json").exists()


@pytest.mark.parametrize("artifact", [
    {"id": "precious", "path": "{victim}/precious", "sha256": "x"},
    {"id": "../victim/precious", "sha256": "x"},
])
def test_uninstall_never_deletes_outside_the_targets_folders(site: dict[str, Path], artifact: dict[str, str]) -> None:
    from osched.app import App
    from osched.runner import Result

    def fake(argv: list[str], input: str | None = None) -> Result:
        return Result(0, "", "")

    site["state"].mkdir(mode=0o700)
    (site["root"] / "units").mkdir()
    planted = {k: v.format(victim=site["victim"]) for k, v in artifact.items()}
    store = Store(site["state"])
    import tomli_w

    from osched.targets.base import config_id

    store.write(store.manifest(config_id(site["cfg"])), tomli_w.dumps(
        {"version": 1, "targets": {"systemd": {"system": False, "artifacts": [planted], "location": "x"}}}
    ).encode())
    r = CliRunner().invoke(cli, ["uninstall"], obj=App(runner=fake))
    assert r.exit_code != 0 and "refused" in r.output
    assert (site["victim"] / "precious").read_text() == "keep me\n"


def test_uninstall_checks_trust_before_it_deletes(site: dict[str, Path]) -> None:
    site["state"].mkdir(mode=0o777)
    site["state"].chmod(0o777)
    r = run("uninstall", "--target", "cron")
    assert r.exit_code != 0 and "refusing to run" in r.output


@needs_root
@pytest.mark.parametrize("what", ["device", "fifo", "directory", "symlink"])
def test_init_force_replaces_only_a_config_file(site: dict[str, Path], what: str) -> None:
    target = site["root"] / "not-a-config"
    if what == "device":  # a private copy of /dev/null: a failure here must not break the machine
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    elif what == "fifo":
        os.mkfifo(target)
    elif what == "directory":
        target.mkdir()
    else:
        target.symlink_to(site["victim"] / "precious")
    r = CliRunner().invoke(cli, ["--config", str(target), "init", "--force"])
    assert r.exit_code == 2 and "is not a regular file" in r.output
    assert len(r.output.strip().splitlines()) == 1
    if what == "device":
        assert stat.S_ISCHR(os.lstat(target).st_mode)
    assert (site["victim"] / "precious").read_text() == "keep me\n"


def test_log_rotation_never_writes_through_a_link(site: dict[str, Path]) -> None:
    from osched.state import StateDir

    sd = StateDir(site["state"])
    log = Path(sd.store.path(*sd.store.job("j", "output.log")))
    fd = sd.open_log("j", "x" * 200 + "\n", 1 << 20)
    os.close(fd)
    (log.parent / "output.log.1").symlink_to(site["victim"] / "precious")
    sd.rotate_log("j", 100)  # the copy-truncate of a running job's log
    assert (site["victim"] / "precious").read_text() == "keep me\n"
    rotated = log.parent / "output.log.1"
    assert not rotated.is_symlink() and stat.S_IMODE(rotated.stat().st_mode) == 0o600
    (log.parent / "output.log.1").unlink()
    log.write_text("y" * 300)
    (log.parent / "output.log.1").symlink_to(site["victim"] / "precious")
    os.close(sd.open_log("j", "z\n", 100))  # the rename at a start
    assert (site["victim"] / "precious").read_text() == "keep me\n"


def test_job_remove_takes_its_state_with_it(site: dict[str, Path]) -> None:
    """A new job of the same name inherits no start override and no last result."""
    assert run("start", "j", "--until", "2026-11-24T09:00:00+00:00").exit_code == 0
    store = Store(site["state"])
    assert store.exists(store.override("j", "start"))
    import time

    time.sleep(0.5)
    run("stop", "j")
    r = run("job", "remove", "j")
    assert r.exit_code == 0, r.output
    assert not os.path.exists(store.path("jobs", "j"))
    assert run("job", "add", "j", "--", "true").exit_code == 0
    assert not store.exists(store.override("j", "start")) and not store.exists(store.job("j", "state.json"))


def test_job_remove_is_refused_while_it_runs(site: dict[str, Path]) -> None:
    site["cfg"].write_text(CONFIG.replace('["true"]', '["sleep", "30"]'))
    assert run("start", "j", "--until", "2026-11-24T09:00:00+00:00").exit_code == 0
    try:
        r = run("job", "remove", "j")
        assert r.exit_code == 2 and "is running" in r.output and "osched stop j" in r.output
        assert "[jobs.j]" in site["cfg"].read_text()
    finally:
        run("stop", "j")


def test_parallel_installs_from_twelve_state_dirs_all_land(tmp_path: Path) -> None:
    """The lock is the crontab's, not the state dir's: 12 configs installing at once, each with
    its own state dir, all keep their lines (issue 22, 5)."""
    import subprocess
    import sys

    tab = tmp_path / "crontab"
    tab.write_text("MAILTO=me\n")
    procs = []
    for i in range(12):
        cfg = tmp_path / f"c{i}.toml"
        cfg.write_text(CONFIG)
        cfg.chmod(0o600)
        env = {**os.environ, "OSCHED_CRONTAB_FILE": str(tab), "OSCHED_CONFIG": str(cfg),
               "OSCHED_STATE_DIR": str(tmp_path / f"state{i}"), "OSCHED_NOW": "2026-11-24T08:00:00+00:00"}
        procs.append(subprocess.Popen([sys.executable, "-m", "osched", "install", "--target", "cron", "--no-start"],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    text = tab.read_text()
    from osched.targets.base import config_id

    assert text.startswith("MAILTO=me\n")
    for i in range(12):
        assert f"osched:{config_id(tmp_path / f'c{i}.toml')}" in text, i


def test_crontab_gets_a_complete_file_never_a_pipe(site: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed halfway, a pipe would leave crontab installing what it had read; a complete file
    is installed whole or not at all (issue 22, 6)."""
    from osched.app import App
    from osched.runner import Result

    monkeypatch.delenv("OSCHED_CRONTAB_FILE")
    table = {"text": "MAILTO=me\n# my own last line\n"}
    seen: list[list[str]] = []

    def fake(argv: list[str], input: str | None = None) -> Result:
        seen.append(argv)
        if argv == ["crontab", "-l"]:
            return Result(0, table["text"], "")
        assert input is None and argv[1] != "-", "a pipe"
        text = Path(argv[1]).read_text()
        assert stat.S_IMODE(os.stat(argv[1]).st_mode) == 0o600
        table["text"] = text
        return Result(0, "", "")

    r = CliRunner().invoke(cli, ["install", "--target", "cron", "--no-start"], obj=App(runner=fake))
    assert r.exit_code == 0, r.output
    assert table["text"].startswith("MAILTO=me\n# my own last line\n") and "osched:" in table["text"]
    assert not Path(seen[-1][1]).exists()  # the file is removed after


# -- one line, exit 2, bounded time and memory (issue 22, low) -----------------------------------------
def _one_line(r: Any, code: int = 2) -> str:
    out = r.output.strip()
    assert r.exit_code == code, out
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    return out


@pytest.mark.parametrize("until", ["9999999d", "10000000000000000000h"])
def test_an_absurd_until_is_one_line(site: dict[str, Path], until: str) -> None:
    assert "too far away" in _one_line(run("start", "j", "--until", until))


def test_a_manifest_of_the_wrong_shape_is_one_line(site: dict[str, Path]) -> None:
    from osched.targets.base import config_id

    store = Store(site["state"])
    store.write(store.manifest(config_id(site["cfg"])), b"targets = 5\n")
    assert "install manifest is unreadable" in _one_line(run("status"))


def test_a_far_osched_now_is_one_line(site: dict[str, Path]) -> None:
    r = CliRunner().invoke(cli, ["next"], env={"OSCHED_NOW": "9999-12-31T23:59:00+00:00"})
    assert "out of range" in _one_line(r)


def test_an_edit_of_a_deeply_nested_config_is_one_line(site: dict[str, Path]) -> None:
    site["cfg"].write_text(CONFIG + "x = " + "[" * 600 + "]" * 600 + "\n")
    assert "nested too deeply" in _one_line(run("schedule", "add", "j", "--start", "01:00", "--duration", "1h",
                                                "--days", "mon"))


@needs_root
@pytest.mark.parametrize("what", ["fifo", "zero"])
def test_a_config_that_is_not_a_file_is_one_line_at_once(site: dict[str, Path], what: str) -> None:
    import time

    path = site["root"] / "c"
    if what == "fifo":
        os.mkfifo(path)
    else:  # a private /dev/zero: endless bytes
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    started = time.monotonic()
    r = CliRunner().invoke(cli, ["--config", str(path), "list"])
    assert "not a regular file" in _one_line(r) and time.monotonic() - started < 5


def test_the_full_path_with_stdout_closed_and_verbose_exits_cleanly(site: dict[str, Path]) -> None:
    import subprocess
    import sys

    r = subprocess.run(
        f'"{sys.executable}" -m osched.entry start j --schedule day -v >&-', shell=True, capture_output=True,
        text=True, env={**os.environ, "OSCHED_NOW": "2026-11-24T08:00:00+00:00"}, timeout=60,
    )
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def test_a_state_dir_under_a_file_is_refused_as_such(site: dict[str, Path]) -> None:
    r = CliRunner().invoke(cli, ["--state-dir", str(site["cfg"] / "x"), "start", "j"])
    out = r.output
    assert "is not a folder" in out and "chmod" not in out


def test_kubernetes_refuses_what_yaml_cannot_print(site: dict[str, Path], tmp_path: Path) -> None:
    site["cfg"].write_text(CONFIG.replace('command = ["true"]', 'command = ["echo", "a\\ufffeb"]')
                           + '\n[jobs.j.kubernetes]\nimage = "busybox"\n')
    r = CliRunner().invoke(cli, ["render", "--target", "kubernetes"])
    assert r.exit_code == 2 and "U+FFFE" in r.output


def test_render_output_of_kubernetes_manifests_is_private(site: dict[str, Path], tmp_path: Path) -> None:
    site["cfg"].write_text(CONFIG.replace('command = ["true"]', 'command = ["true"]\nenv = { TOKEN = "s3cret" }')
                           + '\n[jobs.j.kubernetes]\nimage = "busybox"\n')
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["render", "--target", "kubernetes", "--output", str(out)])
    assert r.exit_code == 0, r.output
    files = [f for f in out.rglob("*") if f.is_file()]
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_an_edit_cleans_up_what_a_killed_edit_left(site: dict[str, Path]) -> None:
    import time

    litter = site["cfg"].with_name(f".{site['cfg'].name}.abc123.tmp")
    litter.write_text("half")
    os.utime(litter, (time.time() - 3600, time.time() - 3600))
    assert run("schedule", "add", "j", "--start", "01:00", "--duration", "1h", "--days", "mon").exit_code == 0
    assert not litter.exists()


def test_a_group_that_is_another_users_primary_group_is_not_private(monkeypatch: pytest.MonkeyPatch) -> None:
    """/etc/group lists no members for a group that is someone's primary group: that user is a
    member all the same, so group write by it is writable by others."""
    import grp
    import pwd

    from osched.core import trust

    me = pwd.getpwuid(os.geteuid())
    group = grp.struct_group((me.pw_name, "x", me.pw_gid, []))
    other = pwd.struct_passwd(("mallory", "x", 4242, me.pw_gid, "", "/home/m", "/bin/sh"))
    monkeypatch.setattr(grp, "getgrgid", lambda gid: group)
    assert trust.private_group(me.pw_gid)
    monkeypatch.setattr(pwd, "getpwall", lambda: [me, other])
    assert not trust.private_group(me.pw_gid)


def test_a_hooks_background_children_end_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime_helpers import Env, alive, wait_for

    e = Env(tmp_path)
    monkeypatch.setenv("OSCHED_CONFIG", str(e.config))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(e.state))
    pidfile = tmp_path / "bg.pid"
    hook = ["/bin/sh", "-c", f"sleep 3091 & echo $! > {pidfile}; exit 0"]
    try:
        e.write([{"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}],
                command=[str(tmp_path / "missing-program")], on_failure=hook)
        e.entry("start", "agent", "--schedule", "day", now="2026-11-24T12:00:00+00:00")
        e.wait_event("on_failure", timeout=15)
        bg = int(wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 5, "the hook's child"))
        e.started.append(bg)
        wait_for(lambda: not alive(bg), 10, "the hook's background child to end")
    finally:
        e.cleanup()


def test_events_and_logs_reach_a_terminal_without_escape_sequences(site: dict[str, Path]) -> None:
    """Job output and argv in ``osched logs`` and ``osched events`` cannot move the cursor or
    retitle the window of the terminal that reads them; a pipe gets the bytes as they are."""
    import json
    import pty
    import subprocess
    import sys

    store = Store(site["state"])
    evil = "\x1b]0;pwned\x07\x1b[2J"
    store.append_event((json.dumps({"time": "2026-11-24T07:00:00+00:00", "job": "j", "event": "started",
                                    "reason": f"argv {evil}"}) + "\n").encode())
    store.write(store.job("j", "output.log"), f"line one\n{evil}line two\n".encode())
    for args in (["events"], ["logs", "j"]):
        primary, secondary = pty.openpty()
        p = subprocess.Popen([sys.executable, "-m", "osched", *args], stdout=secondary, stderr=secondary,
                             env={**os.environ, "OSCHED_NOW": "2026-11-24T08:00:00+00:00"})
        os.close(secondary)
        out = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        p.wait(timeout=30)
        os.close(primary)
        assert b"\x1b" not in out and b"\\x1b" in out, (args, out)
        piped = subprocess.run([sys.executable, "-m", "osched", *args], capture_output=True,
                               env={**os.environ, "OSCHED_NOW": "2026-11-24T08:00:00+00:00"}, timeout=30)
        assert b"\x1b" in piped.stdout, args


def test_a_key_of_50000_dotted_parts_is_one_line_at_once(site: dict[str, Path]) -> None:
    import time

    site["cfg"].write_text(CONFIG + ".".join(["a"] * 50_000) + " = 1\n")
    for args in (["schedule", "add", "j", "--start", "01:00", "--duration", "1h", "--days", "mon"], ["list"]):
        started = time.monotonic()
        assert "dotted key of more than 64 parts" in _one_line(run(*args))
        assert time.monotonic() - started < 5


def test_uninstall_says_what_still_runs_and_what_stays_and_purge_removes_it(site: dict[str, Path]) -> None:
    """issue 24, 9: a job started by hand keeps running after uninstall: say so, and what stays
    in the state dir; --purge stops it and removes its state."""
    site["cfg"].write_text(CONFIG.replace('["true"]', '["sleep", "30"]'))
    assert run("install", "--target", "cron", "--no-start").exit_code == 0
    assert run("start", "j", "--until", "2026-11-24T09:00:00+00:00").exit_code == 0
    try:
        r = run("uninstall")
        assert r.exit_code == 0, r.output
        assert "Still running: j (pid" in r.output and "osched stop j" in r.output
        assert f"Kept in {site['state']}" in r.output
        assert run("install", "--target", "cron", "--no-start").exit_code == 0
        r = run("uninstall", "--purge")
        assert r.exit_code == 0, r.output
        assert "j: stopped" in r.output and "Removed the state of j" in r.output
        assert not (site["state"] / "jobs" / "j").exists()
    finally:
        run("stop", "j")
