"""Time, round three: installed artifacts that stay right for years (renewal from the firings,
a system-zone change, a tzdata update), ``simulate`` of what is installed, the host zone found
by content.  Each numbered case of the issue on its exact config and instants."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osched import entry
from osched.cli import cli

BERLIN_NIGHT = (
    'timezone = "Europe/Berlin"\n\n[jobs.agent]\ncommand = ["true"]\n\n'
    '[[jobs.agent.schedules]]\nid = "night"\nstart = "02:30"\nduration = "8h"\ndays = ["sun"]\n'
)
INSTALLED = "2026-11-29T12:00:00+00:00"
# 2028-03-26 is Berlin's spring-forward Sunday: the window opens 03:00 CEST = 01:00Z =
# Saturday 21:00 in New York.  A render of 2026-11-29 has no line for it (its DST-day lines
# cover 400 days): the weekly lines fire 20:30 and 21:30, 30 minutes late.
LATE_DAY = "0 21 25 3 *"


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env or {})


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    cfg = tmp_path / "osched.toml"
    cfg.write_text(BERLIN_NIGHT)
    tab = tmp_path / "crontab"
    tab.write_text("# mine\n0 3 * * * my-backup\n")
    monkeypatch.setenv("OSCHED_CONFIG", str(cfg))
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tab))
    monkeypatch.setenv("OSCHED_HOST_TZ", "America/New_York")
    monkeypatch.setenv("OSCHED_NOW", INSTALLED)
    r = run("install", "--target", "cron", "--no-start")
    assert r.exit_code == 0, r.output
    return {"cfg": cfg, "tab": tab, "state": tmp_path / "state"}


def manifest(state: Path) -> dict[str, Any]:
    import tomllib

    (path,) = (state / "install").glob("*.toml")
    return tomllib.loads(path.read_text())


def events(state: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in (state / "events.jsonl").read_text().splitlines()]


def fire_stop(state: Path, now: str, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    """An ``osched-stop`` firing through the full path, as the scheduler runs it."""
    monkeypatch.setenv("OSCHED_NOW", now)
    return entry.run("osched-stop", ["agent", "--state-dir", str(state), *extra])


# -- 2. dated firings expire: the firings renew the install ----------------------------------------------
def test_a_firing_renews_an_install_before_its_dst_day_lines_run_out(
    site: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert LATE_DAY not in site["tab"].read_text()
    # 300 days on: not due, nothing rewritten
    before = site["tab"].read_text()
    assert fire_stop(site["state"], "2027-09-25T12:00:00+00:00", monkeypatch) == 0
    assert site["tab"].read_text() == before
    assert manifest(site["state"])["targets"]["cron"]["installed_at"] == INSTALLED
    # 337 days on (the firing before 2027-11-07's window): due, renewed by the firing, quietly
    assert fire_stop(site["state"], "2027-11-01T12:00:00+00:00", monkeypatch) == 0
    assert capsys.readouterr().err == ""
    tab = site["tab"].read_text()
    assert LATE_DAY in tab and tab.startswith("# mine\n0 3 * * * my-backup\n")
    entry_ = manifest(site["state"])["targets"]["cron"]
    assert entry_["installed_at"] == "2027-11-01T12:00:00+00:00"
    (renewed,) = [e for e in events(site["state"]) if e["event"] == "renewed"]
    assert renewed["target"] == "cron" and "run out on 2028-01-03" in renewed["reason"]
    # the next firing finds nothing due
    assert fire_stop(site["state"], "2027-11-02T12:00:00+00:00", monkeypatch) == 0
    assert [e["event"] for e in events(site["state"])].count("renewed") == 1


def test_doctor_and_status_say_an_install_is_due_and_that_the_firings_renew_it(site: dict[str, Path]) -> None:
    late = {"OSCHED_NOW": "2027-11-01T12:00:00+00:00"}
    r = run("doctor", "--json", env=late)
    (f,) = [f for f in json.loads(r.output)["findings"] if "run out" in f["message"]]
    assert f["level"] == "warn" and "(the next firing does it)" in f["fix"]
    st = json.loads(run("status", "--json", env=late).output)
    assert any("run out on 2028-01-03" in r for r in st["installed"][0]["renew"])


def test_a_renewal_leaves_a_hand_edited_crontab_alone_and_says_so(
    site: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = site["tab"].read_text().replace("30 20 * * 6", "45 20 * * 6")
    site["tab"].write_text(edited)
    assert (
        fire_stop(site["state"], "2027-11-01T12:00:00+00:00", monkeypatch) == 0
    )  # the firing's answer stands
    assert site["tab"].read_text() == edited
    err = capsys.readouterr().err
    assert "osched: the cron install needs `osched install --target cron`" in err
    assert "changed by hand" in err
    (failed,) = [e for e in events(site["state"]) if e["event"] == "renew_failed"]
    assert failed["target"] == "cron"


def test_a_renewal_does_not_write_where_the_install_did_not(
    site: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the firing's environment names another crontab than the installing shell did
    other = tmp_path / "other-crontab"
    other.write_text("")
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(other))
    before = site["tab"].read_text()
    assert fire_stop(site["state"], "2027-11-01T12:00:00+00:00", monkeypatch) == 0
    assert other.read_text() == "" and site["tab"].read_text() == before
    assert "needs `osched install --target cron`" in capsys.readouterr().err


# -- 4. a system-zone change after install -----------------------------------------------------------------
def test_a_system_zone_change_is_reported_and_renewed_by_the_next_firing(
    site: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    soon = "2026-12-05T12:00:00+00:00"
    monkeypatch.setenv("OSCHED_HOST_TZ", "Europe/Berlin")  # /etc/localtime relinked
    r = run("doctor", env={"OSCHED_NOW": soon})
    assert "cron: the system zone is now Europe/Berlin; it was rendered for America/New_York" in r.output
    st = json.loads(run("status", "--json", env={"OSCHED_NOW": soon}).output)
    assert st["installed"][0]["renew"] == [
        "the system zone is now Europe/Berlin; it was rendered for America/New_York"
    ]
    assert "30 20 * * 6" in site["tab"].read_text()
    assert fire_stop(site["state"], soon, monkeypatch) == 0
    tab = site["tab"].read_text()
    assert "30 2 * * 0" in tab and "30 20 * * 6" not in tab  # Berlin wall time on a Berlin host
    assert manifest(site["state"])["targets"]["cron"]["host_timezone"] == "Europe/Berlin"
    assert "system zone" not in run("doctor", env={"OSCHED_NOW": soon}).output


def test_a_tzdata_update_is_noticed_and_renewed(
    site: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import zoneinfo

    # a private zoneinfo tree, as an update would leave it: same names, new files
    tree = tmp_path / "zoneinfo"
    for key in ("Europe/Berlin", "America/New_York", "UTC"):
        src = next(Path(r, key) for r in zoneinfo.TZPATH if Path(r, key).exists())
        (tree / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, tree / key)
    monkeypatch.setenv("PYTHONTZPATH", str(tree))  # the fire files' stamps record it
    zoneinfo.reset_tzpath([str(tree)])
    try:
        assert run("install", "--target", "cron", "--no-start").exit_code == 0  # records the tree's files
        assert "zone rules" not in run("doctor").output
        berlin = tree / "Europe/Berlin"
        os.utime(berlin, ns=(berlin.stat().st_atime_ns, berlin.stat().st_mtime_ns + 10**9))
        assert (
            "cron: the zone rules changed since install (tzdata update: Europe/Berlin)"
            in run("doctor").output
        )
        assert fire_stop(site["state"], INSTALLED, monkeypatch) == 0
        assert [e["event"] for e in events(site["state"])].count("renewed") == 1
        assert "zone rules" not in run("doctor").output
    finally:
        monkeypatch.delenv("PYTHONTZPATH")
        zoneinfo.reset_tzpath()


# -- 3. simulate replays what is installed ----------------------------------------------------------------
def test_simulate_replays_the_installed_crontab_and_finds_the_late_window(site: dict[str, Path]) -> None:
    env = {"OSCHED_NOW": "2028-03-20T12:00:00+00:00"}
    r = run("simulate", "--to", "14d", "--json", env=env)
    assert r.exit_code == 1, r.output
    out = json.loads(r.output)
    assert out["artifacts"] == "installed 2026-11-29"
    (late,) = [w for w in out["windows"] if w["late_open"]]
    assert late["start"] == "2028-03-26T01:00:00+00:00" and late["opened"] == "2028-03-26T01:30:00+00:00"
    text = run("simulate", "--to", "14d", "-q", env=env).output
    assert text.startswith("cron as installed 2026-11-29, on a host in America/New_York")
    assert "LATE  agent/night window" in text and "opens 30 min late" in text
    # a render made now has the line: nothing late
    fresh = run("simulate", "--to", "14d", "--fresh", "-q", env=env)
    assert fresh.exit_code == 0 and fresh.output.startswith("cron rendered now")
    assert "0 open or close late" in fresh.output


def test_simulate_replays_the_installed_lines_in_todays_system_zone(
    site: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSCHED_HOST_TZ", "Europe/Berlin")  # relinked after the install
    r = run("simulate", "--to", "8d", "--json", env={"OSCHED_NOW": "2026-12-01T12:00:00+00:00"})
    out = json.loads(r.output)
    assert r.exit_code == 1 and out["host_timezone"] == "Europe/Berlin"
    (late,) = [w for w in out["windows"] if w["late_open"]]
    # the Saturday 20:30 line fires at 20:30 Berlin, 18 hours early... and Sunday's 02:30 never
    assert late["start"] == "2026-12-06T01:30:00+00:00" and late["opened"] is None


def test_simulate_says_when_it_cannot_replay_what_is_installed(site: dict[str, Path]) -> None:
    site["cfg"].write_text(BERLIN_NIGHT.replace('"02:30"', '"02:45"'))
    r = run("simulate", "--to", "7d", env={"OSCHED_NOW": "2026-12-01T12:00:00+00:00"})
    assert (
        "note: replaying a fresh render, not what is installed: the config changed since it was installed"
        in r.output
    )
    assert r.output.startswith("cron rendered now")


# -- 5. the host zone by content -----------------------------------------------------------------------------
def _zone_file(key: str) -> Path:
    import zoneinfo

    return next(Path(r, key) for r in zoneinfo.TZPATH if Path(r, key).exists())


@pytest.fixture
def etc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private /etc/localtime and /etc/timezone (osched reads these two paths only)."""
    from osched.core import cache as core_cache

    d = tmp_path / "etc"
    d.mkdir()
    monkeypatch.setattr(core_cache, "LOCALTIME", str(d / "localtime"))
    monkeypatch.setattr(core_cache, "TIMEZONE_FILE", str(d / "timezone"))
    monkeypatch.delenv("OSCHED_HOST_TZ", raising=False)
    return d


@pytest.mark.parametrize(
    ("how", "written", "expected"),
    [
        ("copy", None, "Europe/Berlin"),  # a container's copy, no /etc/timezone
        ("copy", "Etc/UTC\n", "Europe/Berlin"),  # a stale /etc/timezone
        ("copy", "Europe/Berlin\n", "Europe/Berlin"),
        ("link", "Etc/UTC\n", "Europe/Berlin"),  # Debian's link wins over a stale name
        ("copy-utc", None, "UTC"),
        ("none", None, "UTC"),  # no /etc/localtime: the C library's UTC
    ],
)
def test_the_system_zone_is_known_by_its_content(
    etc: Path, how: str, written: str | None, expected: str
) -> None:
    from osched.tzhost import system_zone_doubt, system_zone_name

    if how == "copy":
        shutil.copyfile(_zone_file("Europe/Berlin"), etc / "localtime")
    elif how == "copy-utc":
        shutil.copyfile(_zone_file("Etc/UTC"), etc / "localtime")
    elif how == "link":
        (etc / "localtime").symlink_to(_zone_file("Europe/Berlin"))
    if written is not None:
        (etc / "timezone").write_text(written)
    assert system_zone_name() == expected
    assert system_zone_doubt() is None


def test_a_name_without_a_localtime_is_not_believed(etc: Path) -> None:
    from osched.tzhost import system_zone_doubt, system_zone_name

    (etc / "timezone").write_text("America/Santiago\n")  # the C library never reads it
    assert system_zone_name() == "UTC"
    assert (
        system_zone_doubt()
        == f"{etc}/localtime is missing (cron runs in UTC); {etc}/timezone says America/Santiago"
    )


def test_a_copy_no_zone_file_matches_is_a_guess_that_doctor_and_render_name(
    etc: Path, cfg_path: Path
) -> None:
    from osched.tzhost import system_zone_doubt, system_zone_name

    data = bytearray(_zone_file("Europe/Berlin").read_bytes())
    data[-2:-1] = b"9"  # another footer: no zone file has these bytes
    (etc / "localtime").write_bytes(bytes(data))
    (etc / "timezone").write_text("Europe/Paris\n")
    assert system_zone_name() == "Europe/Paris"
    doubt = system_zone_doubt()
    assert doubt is not None and "matches no zone file; assuming Europe/Paris" in doubt
    cfg_path.write_text(BERLIN_NIGHT)
    r = CliRunner().invoke(cli, ["doctor"])
    assert "warn  the system zone is a guess:" in r.output and "ln -sf /usr/share/zoneinfo/" in r.output
    r = CliRunner().invoke(cli, ["render", "--target", "cron"])
    assert "Warning: " in r.output and "matches no zone file" in r.output


def test_a_copied_localtime_puts_berlin_lines_on_berlin_wall_time(etc: Path, cfg_path: Path) -> None:
    # the case: a stale /etc/timezone saying Etc/UTC must not move Berlin's lines
    shutil.copyfile(_zone_file("Europe/Berlin"), etc / "localtime")
    (etc / "timezone").write_text("Etc/UTC\n")
    cfg_path.write_text(BERLIN_NIGHT)
    r = CliRunner().invoke(cli, ["render", "--target", "cron"], env={"OSCHED_NOW": INSTALLED})
    lines = [ln for ln in r.output.splitlines() if "osched-start agent" in ln]
    weekly = [ln.split()[:5] for ln in lines if ln.split()[2] == "*"]
    assert weekly == [["30", "2", "*", "*", "0"]], r.output
    assert (
        "host-local schedulers run in Europe/Berlin"
        in CliRunner().invoke(cli, ["doctor"], env={"TZ": None}).output
    )


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare (a private /etc)"
)
def test_the_real_etc_localtime_copied_in_a_mount_namespace(tmp_path: Path) -> None:
    """The real paths, not patched: /etc/localtime replaced by a copy of Berlin's file and
    /etc/timezone saying Etc/UTC, in a private mount namespace."""
    import subprocess
    import sys

    copy, stale = tmp_path / "localtime", tmp_path / "timezone"
    shutil.copyfile(_zone_file("Europe/Berlin"), copy)
    stale.write_text("Etc/UTC\n")
    script = (  # a private copy of /etc over /etc: its localtime a copy, not the usual link
        f"set -e; cp -a /etc {tmp_path}/etc; rm -f {tmp_path}/etc/localtime; "
        f"cp {copy} {tmp_path}/etc/localtime; cp {stale} {tmp_path}/etc/timezone; "
        f"mount --make-rprivate /; mount --bind {tmp_path}/etc /etc; "
        f"{sys.executable} -c 'from osched.tzhost import system_zone_name as n; print(n())'"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OSCHED_HOST_TZ", "TZ")}
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Europe/Berlin"


# -- 6. no reliance on a scheduler's behaviour in a repeated hour --------------------------------------------
def _launchd_case() -> tuple[Any, Any]:
    from osched.model import Config, Job, Schedule
    from osched.targets.base import RenderContext

    # the case: UTC 06:59 for 30m on Sundays, on a New York host; 2027-11-07 06:59Z is
    # 01:59 EST, the second pass of New York's repeated hour
    s = Schedule(id="s", job="j", hour=6, minute=59, duration=30, days=frozenset({6}), timezone="UTC")
    cfg = Config(Path("/c.toml"), "UTC", {"j": Job(name="j", command=("x",), schedules=(s,))})
    ctx = RenderContext(
        config_path=Path("/c.toml"),
        state_dir=Path("/s"),
        now=datetime.fromisoformat(INSTALLED),
        host_zone="America/New_York",
        start_exe="/x/osched-start",
        stop_exe="/x/osched-stop",
    )
    return cfg, ctx


@pytest.mark.parametrize("engine", ["osched", "launchd-second", "launchd-both"])
def test_launchd_is_on_time_whichever_pass_of_a_repeated_hour_it_fires(engine: str) -> None:
    from osched.simulate import simulate

    cfg, ctx = _launchd_case()
    r = simulate("launchd", cfg, ctx, ctx.now, ctx.now + timedelta(days=400), engine)
    assert r.problems == [] and len(r.verdicts) > 50
    (nov7,) = [v for v in r.verdicts if v.window.start == datetime(2027, 11, 7, 6, 59, tzinfo=UTC)]
    assert nov7.opened == nov7.window.start


def test_launchd_fires_before_a_repeated_hour_and_the_entrypoint_waits() -> None:
    import plistlib

    from osched import targets

    cfg, ctx = _launchd_case()
    files = {f.name: plistlib.loads(f.content.encode()) for f in targets.render("launchd", cfg, ctx)}
    (wait,) = [p for n, p in files.items() if n.endswith(".j.s.start-wait.plist")]
    argv = wait["ProgramArguments"]
    assert argv[argv.index("--wait") + 1] == "121"
    # 00:59 EDT, the minute before the repeated hour (01:00-02:00) begins: it occurs once
    assert {"Month": 11, "Day": 7, "Hour": 0, "Minute": 59} in wait["StartCalendarInterval"]
    plain = files[next(n for n in files if n.endswith(".j.s.start.plist"))]
    assert all("Hour" in iv for iv in plain["StartCalendarInterval"])  # no wildcard-hour interval


def test_wait_decides_at_the_edge_holding_no_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "osched.toml"
    cfg.write_text(
        'timezone = "UTC"\n[jobs.j]\ncommand = ["true"]\n'
        '[[jobs.j.schedules]]\nid = "s"\nstart = "06:59"\nduration = "30m"\ndays = ["sun"]\n'
    )
    state = tmp_path / "state"
    monkeypatch.setenv("OSCHED_CONFIG", str(cfg))
    monkeypatch.setenv("OSCHED_NOW", "2027-11-07T06:00:00+00:00")
    # a stop firing an hour before the window ends is a skip; with --wait it decides at the end
    assert entry.run("osched-stop", ["j", "--schedule", "s", "--state-dir", str(state), "--wait", "121"]) == 0
    (ev,) = [e for e in events(state) if e["event"] == "stop_skipped"]
    assert ev["time"] == "2027-11-07T07:29:00+00:00" and ev["reason"] == "not running"
    # nothing within the wait: decided at once
    assert entry.run("osched-stop", ["j", "--schedule", "s", "--state-dir", str(state), "--wait", "5"]) == 0
    assert events(state)[-1]["time"].startswith("2027-11-07T06:00")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["j", "--wait", "5"], "--wait needs --schedule ID"),
        (["j", "--schedule", "s", "--wait", "soon"], "--wait takes whole minutes, 1 to 1440, not 'soon'"),
        (["j", "--schedule", "s", "--wait", "0"], "--wait takes whole minutes"),
    ],
)
def test_a_bad_wait_is_a_usage_error(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert entry.run("osched-stop", argv) == 2
    assert message in capsys.readouterr().err


def test_a_launchd_firing_does_not_reload_its_own_agent_but_says_an_install_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "osched.toml"
    cfg.write_text(BERLIN_NIGHT)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "launchctl.calls"
    fake = bindir / "launchctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("OSCHED_CONFIG", str(cfg))
    monkeypatch.setenv("OSCHED_LAUNCHD_DIR", str(tmp_path / "LaunchAgents"))
    monkeypatch.setenv("OSCHED_NOW", INSTALLED)
    assert run("install", "--target", "launchd", "--no-start").exit_code == 0
    calls.unlink()
    state = tmp_path / "state"
    assert fire_stop(state, "2027-11-01T12:00:00+00:00", monkeypatch) == 0
    assert not calls.exists()  # no bootout of the agent this firing would run in
    err = capsys.readouterr().err
    assert "the launchd install needs `osched install --target launchd`" in err
    assert "a firing cannot reload the agent it runs in" in err
    st = json.loads(run("status", "--json").output)["installed"][0]
    assert st["renew"] and st["renewed_by_firings"] is False
    r = run("doctor", "--json")
    (f,) = [f for f in json.loads(r.output)["findings"] if "run out" in f["message"]]
    assert f["fix"] == "osched install --target launchd"
