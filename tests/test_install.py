"""install / uninstall / dry-run / drift / rollback / re-sync, without the daemons: a
file-backed crontab (OSCHED_CRONTAB_FILE), a real `crontab` command replaced by a script on
PATH for the failure case, unit and plist dirs in tmp, and the command runner replaced for
systemctl, schtasks and launchctl (the real daemons: tests/test_integration_*.py)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from osched.app import App
from osched.cli import cli
from osched.runner import Result as RunResult
from osched.runner import Runner

NOW = "2026-11-24T12:00:00+00:00"  # Tuesday
FOREIGN = (
    b"# my own crontab, hand written\r\n"
    b"SHELL=/bin/bash\n"
    b'MAILTO="me@example.com"\n'
    b"\n"
    b"*/5  *  * * *   /usr/bin/backup   --fast >/dev/null 2>&1 # keep\n"
    b'@daily\techo "tab  separated %s"\n'
    b"  # indented comment\n"
    b"0 3 * * 1-5 cmd with trailing spaces   \n"
    b"15 4 * * * other # osched:deadbeef:agent.x:start\n"  # another config's line
    b"# end, no newline at the end"
)


_runner: list[Runner] = []  # the fake command runner of the running test (see use())


@pytest.fixture(autouse=True)
def _no_fake_runner() -> Any:
    yield
    _runner.clear()


def use(runner: Runner) -> None:
    """Hand ``runner`` to every later ``run`` of this test (through the CLI's App, no global)."""
    _runner[:] = [runner]


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    obj = App(runner=_runner[0]) if _runner else None
    return CliRunner().invoke(cli, list(args), env={"OSCHED_NOW": NOW, **(env or {})}, obj=obj)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    cfg = tmp_path / "osched.toml"
    cfg.write_text(
        'timezone = "UTC"\n\n[jobs.agent]\ncommand = ["true"]\n\n'
        '[[jobs.agent.schedules]]\nid = "nights"\nstart = "22:00"\nduration = "8h"\ndays = ["mon-fri"]\n'
    )
    tab = tmp_path / "crontab"
    tab.write_bytes(FOREIGN)
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tab))
    monkeypatch.setenv("OSCHED_SYSTEMD_DIR", str(tmp_path / "units"))
    monkeypatch.setenv("OSCHED_LAUNCHD_DIR", str(tmp_path / "LaunchAgents"))
    return {"cfg": cfg, "tab": tab, "state": tmp_path / "state", "root": tmp_path}


class Recorder:
    """Stands in for subprocess: records argv, answers per command."""

    def __init__(self, fail_on: str | None = None, message: str = "Failed to enable unit: boom") -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self.message = message

    def __call__(self, argv: list[str], input: str | None = None) -> RunResult:
        if argv[-1] != "is-system-running" and argv[0] != "loginctl":  # queries (doctor's) change nothing
            self.calls.append(list(argv))
        if self.fail_on and self.fail_on in argv:
            return RunResult(1, "", self.message)
        if argv[-1] == "is-system-running":
            return RunResult(0, "running\n", "")
        return RunResult(0, "", "")


def manifest(state: Path) -> dict[str, Any]:
    import tomllib

    (path,) = (state / "install").glob("*.toml")
    return tomllib.loads(path.read_text())


# -- cron ------------------------------------------------------------------------------------------
def test_cron_install_keeps_foreign_lines_byte_for_byte_and_uninstall_restores(
    setup: dict[str, Path],
) -> None:
    tab = setup["tab"]
    r = run("install", "--target", "cron", "--no-start")
    assert r.exit_code == 0, r.output
    text = tab.read_bytes()
    assert text.startswith(FOREIGN + b"\n")  # foreign part untouched, our block after it
    ours = text[len(FOREIGN) + 1 :].decode().splitlines()
    assert ours[0].startswith("# osched: the lines ending in") and all("# osched:" in ln for ln in ours)
    assert any(ln.startswith("0 22 * * 1-5 ") and ln.endswith(":agent.nights:start") for ln in ours)
    assert any(ln.startswith("@reboot ") for ln in ours)
    m = manifest(setup["state"])
    assert m["targets"]["cron"]["location"] == str(tab)
    assert len(m["targets"]["cron"]["artifacts"]) == len(ours)
    # re-install with nothing changed: nothing written (same inode, same mtime)
    before = tab.stat()
    mbefore = next((setup["state"] / "install").glob("*.toml")).stat()
    r = run("install", "--target", "cron", "--no-start")
    assert r.exit_code == 0 and "nothing to change" in r.output
    after = tab.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert next((setup["state"] / "install").glob("*.toml")).stat().st_mtime_ns == mbefore.st_mtime_ns
    r = run("uninstall")
    assert r.exit_code == 0, r.output
    assert tab.read_bytes() == FOREIGN + b"\n"  # only the missing final newline was added
    assert not list((setup["state"] / "install").glob("*.toml"))
    # uninstall again: nothing to do, nothing written
    mtime = tab.stat().st_mtime_ns
    r = run("uninstall")
    assert r.exit_code == 0 and r.output.startswith("Nothing is installed for ")
    r = run("uninstall", "--target", "cron")
    assert r.exit_code == 0 and "nothing to change" in r.output
    assert tab.stat().st_mtime_ns == mtime


def test_cron_reinstall_replaces_only_its_block_in_place(setup: dict[str, Path]) -> None:
    tab = setup["tab"]
    run("install", "--target", "cron", "--no-start")
    tab.write_bytes(tab.read_bytes() + b"# a line the user added later\n")
    r = run(
        "schedule",
        "add",
        "agent",
        "--start",
        "06:00",
        "--duration",
        "1h",
        "--days",
        "sat",
        "--id",
        "sat",
        "--no-start",
    )
    assert r.exit_code == 0 and "Re-synced cron" in r.output
    text = tab.read_text()
    assert text.endswith("# a line the user added later\n")
    assert ":agent.sat:start" in text and ":agent.nights:start" in text
    run("schedule", "remove", "agent", "sat")
    assert ":agent.sat:" not in tab.read_text()
    run("uninstall", "--target", "cron")
    assert tab.read_bytes() == FOREIGN + b"\n# a line the user added later\n"


def test_dry_run_prints_a_diff_and_changes_nothing(setup: dict[str, Path]) -> None:
    r = run("install", "--target", "cron", "--dry-run")
    assert r.exit_code == 0
    assert f"--- {setup['tab']}" in r.output and "\n+0 22 * * 1-5 " in r.output
    assert "dry run, nothing changed" in r.output
    assert setup["tab"].read_bytes() == FOREIGN
    assert not (setup["state"] / "install").exists()
    run("install", "--target", "cron", "--no-start")
    r = run("uninstall", "--dry-run")
    assert "\n-0 22 * * 1-5 " in r.output
    assert b"agent.nights" in setup["tab"].read_bytes()


def test_uninstall_after_the_toml_changed_removes_what_was_installed(setup: dict[str, Path]) -> None:
    run("install", "--target", "cron", "--no-start")
    # the user edits the TOML by hand (no re-sync): the job is gone from the config
    setup["cfg"].write_text('timezone = "UTC"\n')
    r = run("status")
    assert "the config changed since install" in r.output
    r = run("uninstall")
    assert r.exit_code == 0, r.output
    assert setup["tab"].read_bytes() == FOREIGN + b"\n"


def test_crontab_refusal_rolls_back_and_quotes_the_tool(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = setup["root"] / "bin"
    bindir.mkdir()
    store = setup["root"] / "real-crontab"
    store.write_bytes(FOREIGN)
    script = bindir / "crontab"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-l" ]; then cat {store}; exit 0; fi\n'
        'echo "crontab: installing new crontab" >&2\n'
        'echo "\\"-\\":9: bad day-of-week" >&2\n'
        'echo "errors in crontab file, can\'t install." >&2\n'
        "exit 1\n"
    )
    script.chmod(0o755)
    monkeypatch.delenv("OSCHED_CRONTAB_FILE")
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    r = run("install", "--target", "cron", "--no-start")
    assert r.exit_code == 1
    assert r.output.strip() == (
        "Error: crontab refused the new table (exit 1): errors in crontab file, can't install."
    )
    assert store.read_bytes() == FOREIGN
    assert not (setup["state"] / "install").exists()


def test_cron_drift_is_reported_by_status_and_doctor(setup: dict[str, Path]) -> None:
    run("install", "--target", "cron", "--no-start")
    text = setup["tab"].read_text().replace("0 22 * * 1-5", "5 22 * * 1-5")
    setup["tab"].write_text(text)
    r = run("status", "--json")
    (installed,) = json.loads(r.output)["installed"]
    assert installed["target"] == "cron"
    assert installed["drift"][0].startswith("1 crontab line(s) missing or edited (e.g. osched:")
    r = run("doctor")
    assert r.exit_code == 1
    assert "FAIL  cron: 1 crontab line(s) missing or edited" in r.output
    assert "-> osched install" in r.output
    run("install", "--target", "cron", "--no-start")
    assert json.loads(run("status", "--json").output)["installed"][0]["drift"] == []


def test_doctor_asks_to_renew_an_old_install_and_a_no_change_install_renews(setup: dict[str, Path]) -> None:
    # dated DST-day firings cover 400 days from the render; after 330 days doctor says so
    assert run("install", "--target", "cron", "--no-start").exit_code == 0
    first = manifest(setup["state"])["targets"]["cron"]["installed_at"]
    soon, late = "2027-01-01T12:00:00+00:00", "2027-11-01T12:00:00+00:00"
    assert "run out" not in run("doctor", env={"OSCHED_NOW": soon}).output
    r = run("doctor", "--json", env={"OSCHED_NOW": late})
    (warn,) = [f for f in json.loads(r.output)["findings"] if "firings for DST days run out" in f["message"]]
    ends = (datetime.fromisoformat(first) + timedelta(days=400)).date()
    assert warn["level"] == "warn" and warn["message"].startswith(f"cron: installed {first[:10]}")
    assert warn["message"].endswith(f"run out on {ends}") and "the next firing does it" in warn["fix"]
    # nothing to change (a UTC schedule on a UTC host has no dated lines), yet the date renews
    before = setup["tab"].read_bytes()
    r = run("install", "--target", "cron", "--no-start", env={"OSCHED_NOW": late})
    assert r.exit_code == 0 and "nothing to change" in r.output
    assert setup["tab"].read_bytes() == before
    assert manifest(setup["state"])["targets"]["cron"]["installed_at"] == late
    assert "run out" not in run("doctor", env={"OSCHED_NOW": late}).output


def test_cron_system_writes_cron_d_file(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    crond = setup["root"] / "cron.d"
    crond.mkdir()
    monkeypatch.setenv("OSCHED_CRON_D", str(crond))
    r = run("install", "--target", "cron", "--system", "--no-start")
    assert r.exit_code == 2 and "jobs.agent.user: a --system install needs the user" in r.output
    assert list(crond.iterdir()) == []  # nothing half-written
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    cfg = Path(os.environ["OSCHED_CONFIG"])
    cfg.write_text(cfg.read_text().replace("[jobs.agent]\n", f'[jobs.agent]\nuser = "{me}"\n'))
    r = run("install", "--target", "cron", "--system", "--no-start")
    assert r.exit_code == 0, r.output
    (f,) = crond.iterdir()
    assert f.name.startswith("osched-") and oct(f.stat().st_mode & 0o777) == "0o644"
    assert "SHELL=/bin/sh" in f.read_text()
    assert setup["tab"].read_bytes() == FOREIGN
    r = run("install", "--target", "cron", "--no-start")
    assert r.exit_code == 2 and "installed system-wide" in r.output
    run("uninstall")
    assert list(crond.iterdir()) == []


# -- systemd (command runner replaced; the real user manager: test_integration_systemd.py) ---------------
def test_systemd_install_enables_timers_and_removes_unwanted_units(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder()
    use(rec)
    units = setup["root"] / "units"
    r = run("install", "--target", "systemd", "--no-start")
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in units.iterdir())
    assert "osched-agent.nights.timer" in names and "osched-agent.nights.stop.service" in names
    resume = [n for n in names if n.startswith("osched-resume-")]
    assert rec.calls == [
        ["systemctl", "--user", "daemon-reload"],
        [
            "systemctl",
            "--user",
            "enable",
            "--now",
            "osched-agent.nights.stop.timer",
            "osched-agent.nights.timer",
        ],
        ["systemctl", "--user", "enable", *resume],
    ]
    rec.calls.clear()
    assert "nothing to change" in run("install", "--target", "systemd", "--no-start").output
    assert rec.calls == []
    # a new schedule, the old one removed: old timers disabled and their files deleted
    run(
        "schedule",
        "add",
        "agent",
        "--start",
        "06:00",
        "--duration",
        "1h",
        "--days",
        "sat",
        "--id",
        "sat",
        "--no-start",
    )
    rec.calls.clear()
    r = run("schedule", "remove", "agent", "nights")
    assert r.exit_code == 0, r.output
    assert rec.calls[0] == [
        "systemctl",
        "--user",
        "disable",
        "--now",
        "osched-agent.nights.stop.timer",
        "osched-agent.nights.timer",
    ]
    assert not any("nights" in p.name for p in units.iterdir())
    rec.calls.clear()
    run("uninstall")
    assert list(units.iterdir()) == []
    assert rec.calls[0][:4] == ["systemctl", "--user", "disable", "--now"]


def test_systemd_failure_rolls_back_written_units(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder(fail_on="enable")
    use(rec)
    r = run("install", "--target", "systemd", "--no-start")
    assert r.exit_code == 1
    assert r.output.startswith("Error: systemctl --user enable --now osched-agent.nights.stop.timer")
    assert r.output.rstrip().endswith("failed (exit 1): Failed to enable unit: boom")
    units = setup["root"] / "units"
    assert not units.exists() or list(units.iterdir()) == []
    assert not (setup["state"] / "install").exists()
    assert rec.calls[-1] == ["systemctl", "--user", "daemon-reload"]  # the rollback reloaded


def test_systemd_drift_edited_and_missing_units(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    use(Recorder())
    run("install", "--target", "systemd", "--no-start")
    units = setup["root"] / "units"
    (units / "osched-agent.nights.timer").write_text("[Timer]\nOnCalendar=daily\n")
    (units / "osched-agent.nights.stop.timer").unlink()
    drift = json.loads(run("status", "--json").output)["installed"][0]["drift"]
    assert f"{units}/osched-agent.nights.timer was edited" in drift
    assert f"{units}/osched-agent.nights.stop.timer is missing" in drift


# -- Task Scheduler and launchd (cannot run on Linux: the runner is replaced) -------------------------------
def test_taskscheduler_install_and_uninstall_argv(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder()
    use(rec)
    r = run("install", "--target", "taskscheduler", "--no-start")
    assert r.exit_code == 0, r.output
    xml_dir = setup["state"] / "taskscheduler"
    creates = [c for c in rec.calls if c[:2] == ["schtasks", "/Create"]]
    names = sorted(c[3] for c in creates)
    cid = next(iter((setup["state"] / "install").glob("*.toml"))).stem
    assert names == [f"\\osched\\{cid}.agent.nights.start", f"\\osched\\{cid}.agent.nights.stop",
                     f"\\osched\\{cid}.resume"]
    for c in creates:
        assert c[4] == "/XML" and c[6] == "/F"
        data = Path(c[5]).read_bytes()
        assert Path(c[5]).parent == xml_dir and data.startswith(b"\xff\xfe")
        assert "<Task " in data.decode("utf-16")
    rec.calls.clear()
    assert "nothing to change" in run("install", "--target", "taskscheduler", "--no-start").output
    assert rec.calls == []
    run("uninstall")
    assert sorted(c[3] for c in rec.calls) == names
    assert all(c[:2] == ["schtasks", "/Delete"] and c[4] == "/F" for c in rec.calls)
    assert list(xml_dir.iterdir()) == []


def test_taskscheduler_failure_deletes_the_tasks_it_created(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def runner(argv: list[str], input: str | None = None) -> RunResult:
        calls.append(argv)
        if argv[:2] == ["schtasks", "/Create"] and argv[3].endswith(".stop"):
            return RunResult(1, "", "ERROR: Access is denied.")
        return RunResult(0, "SUCCESS", "")

    use(runner)
    r = run("install", "--target", "taskscheduler", "--no-start")
    assert r.exit_code == 1 and r.output.rstrip().endswith("failed (exit 1): ERROR: Access is denied.")
    assert calls[-1][:3] == ["schtasks", "/Delete", "/TN"] and calls[-1][3].endswith(".agent.nights.start")


def test_launchd_install_and_uninstall_argv(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    use(rec)
    r = run("install", "--target", "launchd", "--no-start")
    assert r.exit_code == 0, r.output
    agents = setup["root"] / "LaunchAgents"
    plists = sorted(agents.iterdir())
    domain = f"gui/{os.getuid()}"
    # one launchctl process loads every agent, however many
    assert rec.calls == [["launchctl", "bootstrap", domain, *map(str, plists)]]
    import plistlib

    labels = [plistlib.loads(p.read_bytes())["Label"] for p in plists]
    assert [p.name for p in plists] == [f"{lbl}.plist" for lbl in labels]
    # a changed schedule: its two agents are unloaded, rewritten and loaded again, together
    rec.calls.clear()
    setup["cfg"].write_text(setup["cfg"].read_text().replace('"22:00"', '"21:00"'))
    assert run("install", "--target", "launchd", "--no-start").exit_code == 0
    moved = [str(p) for p in plists if ".nights." in p.name]
    assert rec.calls == [["launchctl", "bootout", domain, *moved], ["launchctl", "bootstrap", domain, *moved]]
    rec.calls.clear()
    run("uninstall")
    assert rec.calls == [["launchctl", "bootout", domain, *map(str, plists)]]
    assert list(agents.iterdir()) == []


def test_launchd_failed_bootstrap_rolls_back_files(setup: dict[str, Path]) -> None:
    use(Recorder(fail_on="bootstrap", message="Bootstrap failed: 5: Input/output error"))
    r = run("install", "--target", "launchd", "--no-start")
    assert r.exit_code != 0 and "Bootstrap failed" in r.output
    assert not (setup["root"] / "LaunchAgents").exists() or list((setup["root"] / "LaunchAgents").iterdir()) == []


# -- doctor ------------------------------------------------------------------------------------------------
def test_doctor_reports_permissions_and_missing_scheduler(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    use(Recorder())
    setup["cfg"].chmod(0o666)
    r = run("doctor", "--json")
    assert r.exit_code == 1
    findings = json.loads(r.output)["findings"]
    bad = [f for f in findings if f["level"] == "fail"]
    assert any(
        "writable by other users" in f["message"] and f["fix"] == f"chmod go-w {setup['cfg']}" for f in bad
    )
    setup["cfg"].chmod(0o600)
    r = run("doctor")
    lines = r.output.splitlines()
    assert all(ln.split()[0] in ("ok", "warn", "FAIL") for ln in lines)
    assert any(ln.startswith("ok    config ") for ln in lines)


def test_a_plan_creates_new_files_in_place_and_replaces_changed_ones_atomically(tmp_path: Path) -> None:
    """``Plan.write``: a new file is one create (no temp file, no rename); an existing file, or a
    symlink where the file goes, is replaced by a rename, never written through."""
    from osched.fsutil import create_new
    from osched.plan import Plan

    old = os.umask(0o077)
    try:
        plan = Plan("t")
        new = tmp_path / "units" / "a.timer"
        plan.write(new, b"one\n", 0o644)()
        assert new.read_bytes() == b"one\n" and new.stat().st_mode & 0o777 == 0o644  # the umask did not narrow it
        ino = new.stat().st_ino
        plan.write(new, b"two\n", 0o644)()
        assert new.read_bytes() == b"two\n" and new.stat().st_ino != ino  # replaced by a rename
        target = tmp_path / "elsewhere"
        target.write_bytes(b"keep")
        link = tmp_path / "units" / "b.timer"
        link.symlink_to(target)
        assert not create_new(link, b"x", 0o644)
        plan.write(link, b"three\n", 0o644)()
        assert target.read_bytes() == b"keep" and not link.is_symlink() and link.read_bytes() == b"three\n"
        assert sorted(p.name for p in new.parent.iterdir()) == ["a.timer", "b.timer"]  # no temp files left
    finally:
        os.umask(old)


def test_an_edit_of_an_installed_config_loads_it_once(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``schedule add`` on an installed config (re-synced, and started inside its window)
    validates the config once, opens it through the trust check once (its edit; the install
    and the start use that load) and reads the install manifest once; the manifest's hash is
    of the bytes the edit wrote."""
    import hashlib

    from osched import config as config_mod
    from osched import manifest as manifest_mod
    from osched.core import trust as core_trust

    assert run("install", "--target", "cron", "--no-start").exit_code == 0
    counts = {"validate": 0, "open": 0, "manifest": 0}

    def counting(name: str, real: Any) -> Any:
        def f(*a: Any, **k: Any) -> Any:
            counts[name] += 1
            return real(*a, **k)
        return f

    monkeypatch.setattr(config_mod, "validate", counting("validate", config_mod.validate))
    monkeypatch.setattr(core_trust, "open_config", counting("open", core_trust.open_config))
    monkeypatch.setattr(manifest_mod, "read_manifest", counting("manifest", manifest_mod.read_manifest))
    r = run("schedule", "add", "agent", "--start", "11:00", "--duration", "1h", "--days", "daily", "--id", "noon",
            "--no-start")
    assert r.exit_code == 0, r.output
    assert "Re-synced cron" in r.output
    assert counts == {"validate": 1, "open": 1, "manifest": 1}, counts
    written = setup["cfg"].read_bytes()
    assert manifest(setup["state"])["targets"]["cron"]["config_sha256"] == hashlib.sha256(written).hexdigest()
