"""Regression tests for each DST-day loss found in the rendering (issue: every window fires on
every target on DST days), on the exact configs and instants reported, and for the host-zone
rule.  Each case is shown with the rendered lines, with ``osched simulate`` (cron under Debian
cron's rules, the real decision code) and, for systemd, with ``systemd-analyze calendar``."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from osched import targets
from osched.cli import cli
from osched.model import Config, Job, Schedule
from osched.scheduler_models import cron_fires, systemd_fires
from osched.simulate import simulate
from osched.targets.base import RenderContext
from osched.targets.cron import lines
from osched.targets.systemd_calendar import start_specs, stop_specs

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def setup(h: int, m: int, dur: int, days: set[int], zone: str, host: str, now: str) -> tuple[Config, RenderContext]:
    s = Schedule(id="s", job="j", hour=h, minute=m, duration=dur, days=frozenset(days), timezone=zone)
    cfg = Config(Path("/c.toml"), zone, {"j": Job(name="j", command=("x",), schedules=(s,))})
    ctx = RenderContext(config_path=Path("/c.toml"), state_dir=Path("/s"), now=datetime.fromisoformat(now),
                        host_zone=host, start_exe="/x/osched-start", stop_exe="/x/osched-stop")
    return cfg, ctx


def cron_whens(cfg: Config, ctx: RenderContext, kind: str) -> list[str]:
    return [ln.when for ln in lines(cfg, ctx) if ln.marker.endswith(f":{kind}")]


def fires(cfg: Config, ctx: RenderContext, kind: str, a: datetime, b: datetime) -> set[datetime]:
    return {t for w in cron_whens(cfg, ctx, kind) for t in cron_fires(w, ctx.host_tz, a, b)}


def no_late_windows(target: str, cfg: Config, ctx: RenderContext) -> None:
    r = simulate(target, cfg, ctx, ctx.now, ctx.now + timedelta(days=366))
    assert r.verdicts and r.problems == [], [(v.window.start, v.opened, v.closed) for v in r.problems]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- cron: the host's repeated hour -----------------------------------------------------------
def test_cron_start_in_the_hosts_repeated_hour_fires_on_its_second_pass() -> None:
    # UTC 01:30 for 30m daily on a Berlin host: on 2026-10-25 01:30Z is 02:30 CET, the second
    # pass; a fixed-time line fires only on the first (00:30Z).  A wildcard-hour line is dated.
    cfg, ctx = setup(1, 30, 30, set(range(7)), "UTC", "Europe/Berlin", "2026-10-01T00:00:00+00:00")
    assert "30 * 25 10 *" in cron_whens(cfg, ctx, "start")
    day = (utc("2026-10-25T00:00"), utc("2026-10-25T03:00"))
    assert utc("2026-10-25T01:30") in fires(cfg, ctx, "start", *day)
    assert utc("2026-10-25T02:00") in fires(cfg, ctx, "stop", *day)
    no_late_windows("cron", cfg, ctx)


def test_cron_end_in_the_hosts_repeated_hour_stops_on_time() -> None:
    # UTC 01:00 for 45m: the end 01:45Z is 02:45 CET (second pass): not 60 minutes late
    cfg, ctx = setup(1, 0, 45, set(range(7)), "UTC", "Europe/Berlin", "2026-10-01T00:00:00+00:00")
    assert "45 * 25 10 *" in cron_whens(cfg, ctx, "stop")
    assert utc("2026-10-25T01:45") in fires(cfg, ctx, "stop", utc("2026-10-25T00:00"), utc("2026-10-25T03:00"))
    no_late_windows("cron", cfg, ctx)


def test_cron_repeated_hour_across_midnight_in_the_schedules_zone() -> None:
    # host Antarctica/Troll, schedule America/Nuuk 00:45 for 30m on Sundays: the window of the
    # day after Nuuk's change was never scanned and got no line
    cfg, ctx = setup(0, 45, 30, {6}, "America/Nuuk", "Antarctica/Troll", "2026-10-01T00:00:00+00:00")
    no_late_windows("cron", cfg, ctx)
    for target in ("taskscheduler", "launchd"):
        no_late_windows(target, cfg, ctx)


@pytest.mark.parametrize(
    ("zone", "host", "start_line"),
    [
        ("Europe/London", "Europe/Dublin", "0 21 * * *"),
        ("Europe/London", "Europe/Berlin", "0 22 * * *"),
        ("Europe/Berlin", "Europe/Paris", "0 21 * * *"),
        ("America/New_York", "America/Toronto", "0 21 * * *"),
    ],
)
def test_cron_zones_with_the_same_rules_get_one_start_line(zone: str, host: str, start_line: str) -> None:
    # both clocks change at the same instant: one combined change, no invented +-60 lines
    # (a "0 23" line fired inside every window, every night)
    cfg, ctx = setup(21, 0, 120, set(range(7)), zone, host, "2026-01-10T00:00:00+00:00")
    assert cron_whens(cfg, ctx, "start") == [start_line]
    r = simulate("cron", cfg, ctx, ctx.now, ctx.now + timedelta(days=366))
    assert r.problems == []
    assert all(d.action == "start" for d in r.decided if d.firing.kind == "start")  # no repeat firings


# -- systemd ------------------------------------------------------------------------------------
def test_systemd_gap_before_local_midnight_gets_a_dated_start() -> None:
    # America/Nuuk 23:30 for 1h on Saturdays; the 2026-03-28/29 gap is Saturday 23:00-23:59,
    # so 23:30 opens at the gap's end, 01:00Z on the 29th (Sunday local)
    cfg, ctx = setup(23, 30, 60, {5}, "America/Nuuk", "UTC", "2026-01-01T00:00:00+00:00")
    s = cfg.jobs["j"].schedules[0]
    specs = start_specs(s, ctx.now)
    assert "2026-03-29 01:00:00 UTC" in specs
    assert "2026-03-29 02:00:00 UTC" in stop_specs(s, ctx.now)
    no_late_windows("systemd", cfg, ctx)
    if SYSTEMD_ANALYZE:  # systemd's own engine elapses at the dated instant
        base = int(utc("2026-03-22T00:00").timestamp())
        out = subprocess.run(
            [SYSTEMD_ANALYZE, "calendar", "--iterations=3", f"--base-time=@{base}", *specs],
            env={"TZ": "UTC", "LANG": "C", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True,
        ).stdout
        assert "Sun 2026-03-29 01:00:00 UTC" in out


def test_systemd_end_in_the_repeated_hour_gets_a_dated_stop() -> None:
    # Berlin 01:30 for 90m on 2026-10-25: the end 02:00Z is 02:00 CET, the second pass
    cfg, ctx = setup(1, 30, 90, set(range(7)), "Europe/Berlin", "UTC", "2026-10-01T00:00:00+00:00")
    s = cfg.jobs["j"].schedules[0]
    assert "2026-10-25 01:00:00 UTC" in stop_specs(s, ctx.now)
    assert utc("2026-10-25T01:00") in {t for spec in stop_specs(s, ctx.now) for t in
                                        systemd_fires(spec, utc("2026-10-24T00:00"), utc("2026-10-26T00:00"))}
    no_late_windows("systemd", cfg, ctx)


def test_systemd_window_open_at_render_time_keeps_its_dated_stop() -> None:
    # Berlin 02:30 for 3h on Sundays; rendered at 02:00Z on 2026-03-29, inside the window the
    # gap moved to 03:00 CEST (01:00Z): it ends at 04:00Z (06:00 CEST), not at 05:30 CEST
    cfg, ctx = setup(2, 30, 180, {6}, "Europe/Berlin", "UTC", "2026-03-29T02:00:00+00:00")
    s = cfg.jobs["j"].schedules[0]
    assert "2026-03-29 04:00:00 UTC" in stop_specs(s, ctx.now)
    no_late_windows("systemd", cfg, ctx)


# -- the host zone ----------------------------------------------------------------------------------
def test_cron_renders_for_the_system_zone_not_for_tz(monkeypatch: pytest.MonkeyPatch, cfg_path: Path) -> None:
    from osched import tzhost

    cfg_path.write_text('timezone = "UTC"\n[jobs.j]\ncommand = ["true"]\n[[jobs.j.schedules]]\nid = "s"\n'
                        'start = "12:00"\nduration = "1h"\ndays = "daily"\n')
    monkeypatch.delenv("OSCHED_HOST_TZ")
    monkeypatch.setattr(tzhost, "_system_candidates", lambda: ["Asia/Kolkata"])
    env = {"TZ": "Europe/Berlin", "OSCHED_NOW": "2026-11-24T12:00:00+00:00"}
    r = CliRunner().invoke(cli, ["render", "--target", "cron"], env=env)
    assert r.exit_code == 0, r.output
    assert "30 17 * * *" in r.stdout  # 12:00 UTC is 17:30 in Kolkata, not 13:00 in Berlin
    assert "Warning: $TZ is Europe/Berlin, but cron, Task Scheduler and launchd run in the system " \
           "zone Asia/Kolkata" in r.stderr
    # doctor says it too; OSCHED_HOST_TZ names the scheduler's zone and silences it
    doc = json.loads(CliRunner().invoke(cli, ["doctor", "--json"], env=env).stdout)
    assert any(f["level"] == "warn" and "$TZ is Europe/Berlin" in f["message"] for f in doc["findings"])
    r = CliRunner().invoke(cli, ["render", "--target", "cron"], env={**env, "OSCHED_HOST_TZ": "Europe/Berlin"})
    assert "0 13 * * *" in r.stdout and "Warning" not in r.stderr
    # systemd carries the zone itself: no warning
    r = CliRunner().invoke(cli, ["render", "--target", "systemd"], env=env)
    assert "Warning" not in r.stderr


def test_render_says_when_systemd_gets_an_equivalent_zone(cfg_path: Path) -> None:
    cfg_path.write_text('timezone = "Pacific/Chatham"\n[jobs.j]\ncommand = ["true"]\n[[jobs.j.schedules]]\n'
                        'id = "s"\nstart = "02:50"\nduration = "1h"\ndays = ["sun"]\n')
    r = CliRunner().invoke(cli, ["render", "--target", "systemd"], env={"OSCHED_NOW": "2026-11-24T12:00:00+00:00"})
    assert r.exit_code == 0
    assert "OnCalendar=Sun *-*-* 02:05:00 Pacific/Auckland" in r.stdout
    assert "note: j/s: systemd 252 cannot compute 02:50 Pacific/Chatham" in r.stderr


def test_simulate_cli_flags_a_late_window_and_exits_1(cfg_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an old render (a fixed-time line in the repeated hour) is what simulate exists to catch
    from osched import hostfirings

    cfg_path.write_text('timezone = "UTC"\n[jobs.j]\ncommand = ["true"]\n[[jobs.j.schedules]]\nid = "s"\n'
                        'start = "01:30"\nduration = "30m"\ndays = "daily"\n')
    env = {"OSCHED_NOW": "2026-10-01T00:00:00+00:00"}
    args = ["simulate", "--target", "cron", "--host-timezone", "Europe/Berlin", "--from", "2026-10-24", "--to", "3d"]
    good = CliRunner().invoke(cli, args, env=env)
    assert good.exit_code == 0, good.output
    assert "3 windows, 0 open or close late or never" in good.stdout
    assert "Sun 2026-10-25 02:30 CET  j/s  start  start" in good.stdout
    js = json.loads(CliRunner().invoke(cli, [*args, "--json"], env=env).stdout)
    assert js["problems"] == 0 and len(js["windows"]) == 3
    monkeypatch.setattr(hostfirings, "_dated_firing", lambda *a, **k: None)  # no dated lines
    hostfirings._host_firings.cache_clear()
    try:
        bad = CliRunner().invoke(cli, args, env=env)
    finally:
        hostfirings._host_firings.cache_clear()
    assert bad.exit_code == 1
    assert "LATE  j/s window Sun 2026-10-25 02:30 CET -> Sun 2026-10-25 03:00 CET: opens never" in bad.stdout


def test_simulate_rejects_bad_input(cfg_path: Path) -> None:
    cfg_path.write_text('timezone = "UTC"\n[jobs.j]\ncommand = ["true"]\n')
    for args, message in (
        (["--to", "soon"], "--to: 'soon' is not an ISO 8601 date or instant"),
        (["--from", "2027-01-01", "--to", "2026-01-01"], "is not after --from"),
        (["--host-timezone", "Mars/Base"], "--host-timezone"),
    ):
        r = CliRunner().invoke(cli, ["simulate", *args])
        assert r.exit_code == 2 and message in r.stderr, (args, r.output)
        assert len(r.stderr.strip().splitlines()) == 1


def test_every_target_renders_every_issue_case_without_a_late_window() -> None:
    cases = [
        (1, 30, 30, set(range(7)), "UTC", "Europe/Berlin", "2026-10-01T00:00:00+00:00"),
        (0, 45, 30, {6}, "America/Nuuk", "Antarctica/Troll", "2026-10-01T00:00:00+00:00"),
        (23, 30, 60, {5}, "America/Nuuk", "Europe/Berlin", "2026-01-01T00:00:00+00:00"),
        (2, 50, 60, {6}, "Pacific/Chatham", "Australia/Lord_Howe", "2026-01-01T00:00:00+00:00"),
    ]
    for case in cases:
        cfg, ctx = setup(*case)
        for target in ("cron", "systemd", "taskscheduler", "launchd"):
            assert target in targets.names()
            no_late_windows(target, cfg, ctx)


@pytest.mark.oracle
def test_task_scheduler_dated_triggers_are_schema_valid_one_time_utc_triggers() -> None:
    import os
    import xml.etree.ElementTree as ET

    schema_path = Path(__file__).resolve().parents[2] / "shared/oracles/TaskSchedulerV2Schema.xsd"
    if not schema_path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{schema_path} is missing under CI")
        pytest.skip(f"{schema_path} not found beside the checkout")
    import xmlschema

    cfg, ctx = setup(1, 30, 30, set(range(7)), "UTC", "Europe/Berlin", "2026-10-01T00:00:00+00:00")
    files = {f.name: f for f in targets.render("taskscheduler", cfg, ctx)}
    text = files[f"{ctx.config_id}.j.s.start.xml"].data().decode("utf-16")
    xmlschema.XMLSchema(str(schema_path)).validate(text)
    ns = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"
    once = [t.findtext(f"{ns}StartBoundary") for t in ET.fromstring(text.encode("utf-16")).iter(f"{ns}TimeTrigger")]
    assert "2026-10-25T01:30:00Z" in once  # the second pass of Berlin's 02:30, as a UTC instant


def test_simulate_replays_the_target_the_config_is_installed_in(cfg_path: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cfg_path.write_text('timezone = "UTC"\n[jobs.j]\ncommand = ["true"]\n[[jobs.j.schedules]]\nid = "s"\n'
                        'start = "01:30"\nduration = "30m"\ndays = "daily"\n')
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tmp_path / "crontab"))
    monkeypatch.setenv("OSCHED_SYSTEMD_DIR", str(tmp_path / "units"))
    env = {"OSCHED_NOW": "2026-10-01T00:00:00+00:00"}
    assert CliRunner().invoke(cli, ["install", "--target", "cron", "--no-start"], env=env).exit_code == 0
    r = CliRunner().invoke(cli, ["simulate", "--json", "--to", "2d"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["target"] == "cron"


def test_windows_system_zone_comes_from_tzlocal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from osched import tzhost

    fake = types.ModuleType("tzlocal")
    fake.get_localzone_name = lambda: "Europe/Berlin"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tzlocal", fake)
    monkeypatch.delenv("OSCHED_HOST_TZ")
    monkeypatch.setattr(tzhost, "_system_candidates", list)  # no /etc/localtime on Windows
    monkeypatch.setattr(tzhost.sys, "platform", "win32")
    assert tzhost.system_zone_name() == "Europe/Berlin"
    fake.get_localzone_name = lambda: (_ for _ in ()).throw(LookupError("unknown zone"))  # type: ignore[attr-defined]
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    assert tzhost.system_zone_name() == "Asia/Kolkata"  # then $TZ, then UTC


@pytest.mark.parametrize(
    "zone",
    ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Africa/Casablanca",
     "America/Sao_Paulo", "Asia/Tehran", "UTC", "Europe/Dublin", "America/Godthab"],
)
@pytest.mark.parametrize("start_day", [3000, 13500, 20422, 24500])  # 1978, 2006, 2025, 2037
def test_offset_changes_are_those_an_hourly_sample_finds(zone: str, start_day: int) -> None:
    """``transitions`` steps a UTC wall time an hour at a time (fast); its answer is the plain
    definition's: the offset sampled every hour, each change located to the second."""
    from zoneinfo import ZoneInfo

    from osched.zonechanges import HORIZON_DAYS, LOOKBACK_DAYS, transitions

    tz = ZoneInfo(zone)

    def offset(ts: int) -> int:
        off = datetime.fromtimestamp(ts, tz).utcoffset()
        assert off is not None
        return int(off.total_seconds()) // 60

    t = (start_day - LOOKBACK_DAYS) * 86400
    first = prev = offset(t)
    expected = []
    while t < (start_day + HORIZON_DAYS) * 86400:
        if offset(t + 3600) != prev:
            lo, hi = t, t + 3600
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == prev else (lo, mid)
            expected.append((hi, prev, offset(hi)))
            prev = offset(hi)
        t += 3600
    got_first, got = transitions(zone, start_day)
    assert (got_first, [(x.at, x.before, x.after) for x in got]) == (first, expected)
    if start_day == 20422 and zone in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"):
        assert len(expected) >= 2  # not vacuous: these change twice a year


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "UTC"])
def test_systemd_dated_lines_checked_only_where_needed_are_those_of_checking_every_window(zone: str) -> None:
    """systemd's specs check only the starts and ends near a change that a weekly spec may not
    elapse at (``_missable``); the specs are those of checking every window near a change."""
    import random
    from zoneinfo import ZoneInfo

    from osched.targets import systemd_calendar as sc

    def plain(hour: int, minute: int, duration: int, days: frozenset[int], now: datetime, start: bool) -> tuple:
        weekly: dict[int, set[int]] = {}
        near = hostfirings.near_change_spans(hour, minute, duration, days, zone, (zone,), int(now.timestamp()) // 86400)
        if start:
            weekly[hour * 60 + minute] = set(days)
        else:
            hostfirings.add_days(weekly, days, hour * 60 + minute + duration)
        points = [p[0 if start else 1] for p in near if p[0 if start else 1] >= now]
        return tuple(sc._with_dated(sc._specs(weekly, zone), weekly, points, ZoneInfo(zone)))

    from osched import hostfirings

    rng = random.Random(zone)
    dated = 0
    for _ in range(200):
        hour, minute = rng.randrange(24), rng.choice([0, 1, 15, 30, 45, 59])
        duration = rng.choice([1, 30, 60, 61, 90, 120, 600, 1439, 1440, 2000])
        days = frozenset(rng.sample(range(7), rng.randint(1, 7)))
        now = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randrange(24), tzinfo=UTC)
        for start in (True, False):
            got = sc._timer_specs(hour, minute, duration, days, zone, now, start)
            assert got == plain(hour, minute, duration, days, now, start), (hour, minute, duration, sorted(days), now)
            dated += any(spec.endswith(" UTC") for spec in got)
    assert dated or zone == "UTC"  # not vacuous where the zone changes its offset
