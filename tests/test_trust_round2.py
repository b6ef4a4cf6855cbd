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
