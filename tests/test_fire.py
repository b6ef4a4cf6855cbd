"""The entrypoints' fast lane (osched/fastlane.py): it answers only the skips, exactly as the full
path answers them, and hands everything else to the full path.

Whether a run took the fast lane is seen from outside: ``python -X importtime`` lists every
module imported, and the full path imports ``osched.entry``.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osched import cache, fastlane
from osched import state as state_mod
from osched.core import cache as core_cache
from osched.core import events as core_events
from osched.core import ids, rule
from osched.core.store import EVENTS_MAX_BYTES, Store
from osched.model import Job, Schedule
from osched.runtime import policy
from osched.windows import next_window

from conftest import ROOT

SCRIPTS = ROOT / "scripts"
NOW = "2026-11-24T12:00:00+00:00"  # a Tuesday

CONFIG = """\
timezone = "Europe/Berlin"

[jobs.agent]
command = ["true"]

[[jobs.agent.schedules]]
id = "night"
start = "03:00"
duration = "1m"
days = ["mon"]

[[jobs.agent.schedules]]
id = "off"
start = "12:00"
duration = "2h"
days = ["daily"]
enabled = false

[jobs.busy]
command = ["true"]

[[jobs.busy.schedules]]
id = "noon"
start = "12:30"
duration = "2h"
days = ["tue"]

[[jobs.busy.schedules]]
id = "late"
start = "12:00"
duration = "4h"
days = ["tue"]

[jobs.done]
command = ["true"]

[[jobs.done.schedules]]
id = "morning"
start = "06:00"
duration = "1h"
days = ["daily"]
"""


class Fired:
    def __init__(self, r: subprocess.CompletedProcess[str]) -> None:
        self.code = r.returncode
        self.stdout = r.stdout
        lines = r.stderr.splitlines()
        self.fast = not any(
            line.endswith(" osched.entry") for line in lines if line.startswith("import time:")
        )
        self.stderr = "\n".join(line for line in lines if not line.startswith("import time:"))


class Site:
    """A config, a state dir, and the two scripts run as a timer runs them."""

    def __init__(self, root: Path, text: str = CONFIG) -> None:
        self.root = root
        self.config = root / "osched.toml"
        self.state = root / "state"
        self.config.write_text(text)
        self.config.chmod(0o600)

    def run(self, prog: str, *args: str, now: str | None = NOW, env: dict[str, str] | None = None) -> Fired:
        e = {**os.environ, **(env or {})}
        e.pop("OSCHED_NOW", None)
        if now:
            e["OSCHED_NOW"] = now
        argv = [
            sys.executable,
            "-X",
            "importtime",
            str(SCRIPTS / prog),
            *args,
            "--config",
            str(self.config),
            "--state-dir",
            str(self.state),
            "-v",
        ]
        return Fired(subprocess.run(argv, capture_output=True, text=True, env=e, timeout=60))

    def fire_file(self, job: str) -> Path:
        return Path(Store(self.state).path(*Store.cache(str(self.config), f"{job}.fire")))

    def last_event(self) -> dict[str, Any]:
        lines = (self.state / "events.jsonl").read_text().splitlines()
        rec = json.loads(lines[-1])
        return {k: v for k, v in rec.items() if k != "time"}

    def ready(self) -> None:
        """Plans and fire files that serve: written more than a second after the config."""
        time.sleep(1.1)
        for job, sid in (("agent", "night"), ("busy", "noon"), ("done", "morning")):
            self.run("osched-start", job, "--schedule", sid, now="2026-11-24T00:00:00+00:00")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    s = Site(tmp_path_factory.mktemp("fire"))
    s.ready()
    # "done" ran and finished: its state names a process group that is gone
    gone = subprocess.Popen(["true"])
    gone.wait()
    (s.state / "jobs" / "done").mkdir(parents=True, exist_ok=True)
    (s.state / "jobs" / "done" / "state.json").write_text(
        json.dumps({"outcome": "finished", "pgid": gone.pid, "pgid_start": "1", "last_exit": 0, "crashes": 0})
        + "\n"
    )
    return s


SKIPS = [
    ("osched-start", "agent", "night", "outside the window of night (next start 2026-11-30T02:00:00+00:00)"),
    ("osched-start", "agent", "off", "schedule 'off' is disabled"),
    ("osched-stop", "busy", "noon", "window busy/late is open until 2026-11-24T15:00:00+00:00"),
    ("osched-stop", "agent", "night", "not running"),
    ("osched-stop", "done", None, "not running"),
]


@pytest.mark.parametrize(("prog", "job", "sid", "reason"), SKIPS)
def test_a_skip_is_answered_by_the_fast_lane_as_the_full_path_answers_it(
    site: Site, prog: str, job: str, sid: str | None, reason: str
) -> None:
    args = [job, *(["--schedule", sid] if sid else [])]
    site.fire_file(job).unlink()
    full = site.run(prog, *args)  # no fire file: the full path answers, and writes it
    assert not full.fast and full.code == 0, full.stderr
    full_event = site.last_event()
    fast = site.run(prog, *args)
    assert fast.fast, "the fast lane did not answer"
    assert (fast.code, fast.stdout, fast.stderr) == (0, f"{job}: {reason}\n", "")
    assert fast.stdout == full.stdout
    assert site.last_event() == full_event
    assert full_event["reason"] == reason and full_event.get("schedule") == sid


def test_a_firing_that_acts_takes_the_full_path(site: Site) -> None:
    # "busy" has no state here, and its window is open: a start to decide (it starts `true`)
    r = site.run("osched-start", "busy", "--schedule", "noon", now="2026-11-24T13:00:00+00:00")
    assert not r.fast and r.code == 0, r.stderr
    assert "started" in r.stdout or "running" in r.stdout or "finished" in r.stdout


@pytest.mark.parametrize("change", ["override", "pid", "option", "beyond the horizon", "garbage", "lock"])
def test_the_fast_lane_hands_over_what_it_cannot_read_exactly(site: Site, change: str) -> None:
    prog, args, now = "osched-stop", ["agent", "--schedule", "night"], NOW
    jobdir = site.state / "jobs" / "agent"
    for d in (site.state / "jobs", jobdir):  # made by an earlier firing, or (another test order) now
        d.mkdir(mode=0o700, exist_ok=True)
    undo: list[Any] = []
    if change == "override":  # an expired stop override: the full path clears it, with an event
        (jobdir / "override-stop.json").write_text(
            json.dumps(
                {
                    "kind": "stop",
                    "created": "2026-11-20T00:00:00+00:00",
                    "expires": "2026-11-21T00:00:00+00:00",
                    "reason": "manual stop",
                }
            )
        )
    elif change == "pid":  # a state with a job process: only the full path checks it
        (jobdir / "state.json").write_text(
            json.dumps({"pid": 2**22 + 7, "pid_start": "1", "outcome": "running"})
        )
        undo.append((jobdir / "state.json").unlink)
    elif change == "option":
        args = [*args, "--foreground"]
        prog = "osched-start"
    elif change == "beyond the horizon":
        now = (datetime.fromisoformat(NOW) + timedelta(days=60)).isoformat()
    elif change == "garbage":
        site.fire_file("agent").write_text("osched-fire 1\nconfig /elsewhere\n")
    elif change == "lock":  # another decision holds the job's lock: the full path waits for it
        fd = os.open(jobdir / "lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        threading.Timer(1.0, os.close, [fd]).start()
    r = site.run(prog, *args, now=now)
    for u in undo:
        u()
    assert not r.fast
    if change == "override":
        assert site.last_event()["event"] == "stop_skipped"
        assert not (jobdir / "override-stop.json").exists()
        kinds = [json.loads(x)["event"] for x in (site.state / "events.jsonl").read_text().splitlines()[-2:]]
        assert kinds == ["override_expired", "stop_skipped"]
    elif change == "option":
        assert r.code == 0  # --foreground outside the window: the full path skips too
    else:
        assert r.code == 0 and site.last_event()["event"] == "stop_skipped", r.stderr


def test_a_closed_stdout_does_not_make_a_second_decision(site: Site) -> None:
    args = [
        "agent",
        "--schedule",
        "night",
        "--config",
        str(site.config),
        "--state-dir",
        str(site.state),
        "-v",
    ]
    site.run("osched-start", *args[:3])  # the fire file serves
    before = len((site.state / "events.jsonl").read_text().splitlines())
    script = f"{sys.executable} {SCRIPTS / 'osched-start'} {' '.join(args)} >&-"
    r = subprocess.run(
        ["bash", "-c", script], env={**os.environ, "OSCHED_NOW": NOW}, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert len((site.state / "events.jsonl").read_text().splitlines()) == before + 1


def test_an_edited_config_is_read_again(tmp_path: Path) -> None:
    site = Site(tmp_path)
    site.ready()
    assert site.run("osched-start", "agent", "--schedule", "night").fast
    site.config.write_text(CONFIG.replace('start = "03:00"', 'start = "04:00"'))
    r = site.run("osched-start", "agent", "--schedule", "night")
    assert not r.fast and "next start 2026-11-30T03:00:00+00:00" in r.stdout
    r = site.run("osched-start", "agent", "--schedule", "night")  # within a second of the edit
    assert not r.fast
    time.sleep(1.1)
    site.run("osched-start", "agent", "--schedule", "night")  # writes a fire file that serves
    r = site.run("osched-start", "agent", "--schedule", "night")
    assert r.fast and "next start 2026-11-30T03:00:00+00:00" in r.stdout


def test_new_zone_rules_are_read_again(tmp_path: Path) -> None:
    """The windows were computed with the zone files of that moment: tzdata updated since
    (the file's mtime or size) sends the firing to the full path."""
    zones = tmp_path / "zoneinfo"
    (zones / "Europe").mkdir(parents=True)
    shutil.copy(Path("/usr/share/zoneinfo/Europe/Berlin"), zones / "Europe" / "Berlin")
    tz = {"PYTHONTZPATH": str(zones)}
    (tmp_path / "site").mkdir()
    site = Site(tmp_path / "site")
    time.sleep(1.1)
    site.run("osched-start", "agent", "--schedule", "night", env=tz)
    assert str(zones) in site.fire_file("agent").read_text()
    assert site.run("osched-start", "agent", "--schedule", "night", env=tz).fast
    assert not site.run("osched-start", "agent", "--schedule", "night").fast  # zoneinfo would read /usr/share
    site.run("osched-start", "agent", "--schedule", "night", env=tz)
    assert site.run("osched-start", "agent", "--schedule", "night", env=tz).fast
    os.utime(zones / "Europe" / "Berlin", ns=(0, 10**18))
    assert not site.run("osched-start", "agent", "--schedule", "night", env=tz).fast


@pytest.mark.parametrize("what", ["config", "state dir"])
def test_the_trust_check_still_comes_first(tmp_path: Path, what: str) -> None:
    site = Site(tmp_path)
    site.ready()
    assert site.run("osched-start", "agent", "--schedule", "night").fast
    before = (site.state / "events.jsonl").read_bytes()
    (site.config if what == "config" else site.state).chmod(0o666 if what == "config" else 0o777)
    r = site.run("osched-start", "agent", "--schedule", "night")
    assert r.code == 1 and "refusing to run" in r.stderr, r.stderr
    assert (site.state / "events.jsonl").read_bytes() == before  # a refusal writes nothing


def test_without_a_state_dir_the_full_path_creates_it(tmp_path: Path) -> None:
    site = Site(tmp_path)
    r = site.run("osched-start", "agent", "--schedule", "night")
    assert not r.fast and r.code == 0 and (site.state / "events.jsonl").exists()


# -- the decisions, in-process, against runtime.policy ------------------------------------------
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Nuuk",
    "UTC",
    "Asia/Kolkata",
]


def _random_job(rng: random.Random, n: int) -> Job:
    schedules = tuple(
        Schedule(
            id=f"s{i}",
            job="j",
            hour=rng.randrange(24),
            minute=rng.randrange(0, 60, 15),
            duration=rng.choice([1, 30, 90, 240, 1440, 2000]),
            days=frozenset(rng.sample(range(7), rng.randint(1, 7))),
            timezone=rng.choice(ZONES),
            enabled=rng.random() > 0.15,
            index=i,
        )
        for i in range(n)
    )
    return Job(name="j", command=("true",), schedules=schedules)


def test_the_decisions_match_the_policy_on_dst_days() -> None:
    """Random schedules in zones with DST (30-minute, 45-minute and midnight changes), at
    instants near the 2026 changes: every skip of the policy is the fast lane's, with the same
    reason, and every firing that acts goes to the full path."""
    rng = random.Random(15)
    changes = [
        datetime(2026, 3, 8, 7, tzinfo=UTC),
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 4, 4, 15, tzinfo=UTC),
        datetime(2026, 10, 25, 1, tzinfo=UTC),
        datetime(2026, 3, 28, 0, tzinfo=UTC),
        datetime(2026, 9, 26, 14, tzinfo=UTC),
    ]
    answered = handed = 0
    for _ in range(150):
        job = _random_job(rng, rng.randint(1, 4))
        written = rng.choice(changes) - timedelta(days=rng.uniform(0, 25))
        f = cache.fire_for(Path("/c.toml"), [1, 2, 3, 4, 5], job, written, 10**19)
        assert (
            f is not None and core_cache.parse_fire(core_cache.format_fire(f) or "").schedules == f.schedules
        )
        gone = [(sid, w) for sid, ws in f.skipped.items() for w in ws]
        for _ in range(12):
            now = rng.choice(changes) + timedelta(
                minutes=rng.randint(-26 * 60, 26 * 60), seconds=rng.choice([0, 30])
            )
            s = rng.choice(job.schedules)
            if gone and rng.random() < 0.3:  # a firing of a window a date skips
                sid, (a, b) = rng.choice(gone)
                now = datetime.fromtimestamp(rng.randint(a - 50, b - 1), UTC)
                s = next(x for x in job.schedules if x.id == sid)
            if not f.horizon[0] <= now.timestamp() < f.horizon[1] - 60:
                continue
            pre = policy.start_precheck(job, "j", s.id, Path("/c.toml"), now)
            try:
                reason = fastlane._start(f, s.id, now.timestamp())
            except fastlane.Fallback:
                if pre.action == policy.Action.SKIP:  # only when the next start is past the horizon
                    assert next_window(s, now).start.timestamp() >= f.horizon[1], pre.reason
                else:
                    handed += 1
            else:
                assert pre.action == policy.Action.SKIP and pre.reason == reason
                answered += 1
            until, why = policy.keep_running(job, now, None)
            assert fastlane._window_open(f, "j", now.timestamp()) == (why if until is not None else None)
    assert answered > 300 and handed > 20, (answered, handed)


def test_the_decisions_match_the_policy_with_skipped_dates_and_one_off_windows() -> None:
    """The same, with dates (issue 27): random skipped dates and one-off windows near the DST
    changes.  The fast lane never answers where the policy starts, every answer is the
    policy's reason, and a firing on a skipped window goes to the full path (which names the
    date)."""
    from dataclasses import replace

    rng = random.Random(27)
    changes = [
        datetime(2026, 3, 8, 7, tzinfo=UTC),
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 10, 25, 1, tzinfo=UTC),
        datetime(2026, 9, 26, 14, tzinfo=UTC),
    ]
    answered = handed = dated = 0
    for _ in range(120):
        job = _random_job(rng, rng.randint(1, 3))
        base = rng.choice(changes).date()
        schedules = []
        for s in job.schedules:
            if rng.random() < 0.3:  # a one-off window on a day near the change
                on = base + timedelta(days=rng.randint(-2, 2))
                schedules.append(
                    replace(s, on=on, days=frozenset({on.weekday()}), duration=min(s.duration, 600))
                )
            else:
                skip = {base + timedelta(days=rng.randint(-3, 3)) for _ in range(rng.randint(1, 4))}
                schedules.append(replace(s, skip=frozenset(skip)))
        job = replace(job, schedules=tuple(schedules))
        written = rng.choice(changes) - timedelta(days=rng.uniform(0, 10))
        f = cache.fire_for(Path("/c.toml"), [1, 2, 3, 4, 5], job, written, 10**19)
        assert f is not None
        back = core_cache.parse_fire(core_cache.format_fire(f) or "")
        assert back.schedules == f.schedules and back.skipped == f.skipped
        gone = [(sid, w) for sid, ws in f.skipped.items() for w in ws]
        for _ in range(12):
            now = rng.choice(changes) + timedelta(
                minutes=rng.randint(-26 * 60, 26 * 60), seconds=rng.choice([0, 30])
            )
            s = rng.choice(job.schedules)
            if gone and rng.random() < 0.3:  # a firing of a window a date skips
                sid, (a, b) = rng.choice(gone)
                now = datetime.fromtimestamp(rng.randint(a - 50, b - 1), UTC)
                s = next(x for x in job.schedules if x.id == sid)
            if not f.horizon[0] <= now.timestamp() < f.horizon[1] - 60:
                continue
            pre = policy.start_precheck(job, "j", s.id, Path("/c.toml"), now)
            try:
                reason = fastlane._start(f, s.id, now.timestamp())
            except fastlane.Fallback:
                if pre.action == policy.Action.SKIP:
                    nxt = next_window(s, now)
                    dated += "skipped date" in pre.reason
                    assert (
                        "skipped date" in pre.reason or nxt is None or nxt.start.timestamp() >= f.horizon[1]
                    ), pre.reason
                else:
                    handed += 1
            else:
                assert pre.action == policy.Action.SKIP and pre.reason == reason
                answered += 1
            until, why = policy.keep_running(job, now, None)
            assert fastlane._window_open(f, "j", now.timestamp()) == (why if until is not None else None)
    assert answered > 200 and handed > 10 and dated > 3, (answered, handed, dated)


@given(st.text(max_size=60) | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,55}", fullmatch=True))
def test_names_are_checked_as_the_config_checks_them(name: str) -> None:
    from osched.parse import ID_RE

    assert ids.is_id(name) == bool(ID_RE.fullmatch(name))


def test_a_job_name_is_never_a_path(site: Site) -> None:
    """The job name becomes part of the fire file's path: one that is not a name osched gives
    goes to the full path, which says there is no such job."""
    (site.state / "plans" / "agent.fire").write_text(site.fire_file("agent").read_text())
    r = site.run("osched-start", "../agent", "--schedule", "night")
    assert not r.fast and r.code == 0 and "no job '../agent'" in r.stdout


@given(st.text())
def test_event_strings_are_encoded_as_json_encodes_them(s: str) -> None:
    got = core_events.string(s)
    assert json.loads(got) == s
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in s):  # json.dumps leaves those unencodable
        assert got == json.dumps(s, ensure_ascii=False)


def test_an_event_line_is_the_state_dirs_byte_for_byte(tmp_path: Path) -> None:
    sd = state_mod.StateDir(tmp_path / "s")
    t = datetime(2026, 11, 24, 12, 0, 7, 900000, tzinfo=UTC)
    for sid in ("night", None):
        sd.event(t, "agent", "stop_skipped", schedule=sid, reason='window "x"\n é')
        want = (tmp_path / "s" / "events.jsonl").read_bytes().splitlines(keepends=True)[-1]
        rec = {"time": "2026-11-24T12:00:07+00:00", "job": "agent", "event": "stop_skipped"}
        rec.update({"schedule": sid} if sid else {})
        rec["reason"] = 'window "x"\n é'
        assert (json.dumps(rec, ensure_ascii=False) + "\n").encode() == want


def test_every_option_of_the_entry_module_still_parses() -> None:
    """One parser serves both paths: what the launcher and the units pass must parse."""
    from osched.entry import parse_args

    pos, opts = parse_args(
        [
            "agent",
            "--adopt",
            "--schedule",
            "s",
            "--until=2026-01-01T00:00:00+00:00",
            "--reason",
            "r",
            "--foreground",
            "--manual",
            "--resume",
            "--systemd",
            "user",
            "-v",
        ]
    )
    assert pos == ["agent"] and opts == {
        "--adopt": True,
        "--schedule": "s",
        "--until": "2026-01-01T00:00:00+00:00",
        "--reason": "r",
        "--foreground": True,
        "--manual": True,
        "--resume": True,
        "--systemd": "user",
        "--verbose": True,
    }


def test_the_constants_are_the_full_paths() -> None:
    assert policy.EARLY.total_seconds() == rule.EARLY


def test_a_large_events_log_is_rotated_by_the_fast_lane_too(tmp_path: Path) -> None:
    site = Site(tmp_path)
    site.ready()
    log = site.state / "events.jsonl"
    with log.open("ab") as fh:
        fh.truncate(EVENTS_MAX_BYTES + 1)
    assert site.run("osched-start", "agent", "--schedule", "night").fast
    assert (site.state / "events.jsonl.1").stat().st_size > EVENTS_MAX_BYTES
    assert len(log.read_text().splitlines()) == 1


def test_windows_tasks_run_the_entry_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripts cannot run by name on Windows: its tasks run ``python -m osched.entry``."""
    from osched.targets import base

    monkeypatch.setattr(sys, "platform", "win32")
    ctx = base.RenderContext(
        config_path=Path("/c.toml"), state_dir=Path("/s"), now=datetime.now(UTC), host_zone="UTC", user="ada"
    )
    assert ctx.start_argv("agent", "night")[:5] == [
        str(Path(sys.executable).absolute()),
        "-m",
        "osched.entry",
        "start",
        "agent",
    ]
    assert ctx.stop_argv("agent", "night")[1:4] == ["-m", "osched.entry", "stop"]
    assert ctx.resume_argv()[1:5] == ["-m", "osched.entry", "start", "--resume"]


def test_the_fast_lane_imports_almost_nothing(site: Site) -> None:
    """What a skip imports after the interpreter's own startup (``site``): osched's two small
    modules and C modules; no ``re``, ``json``, ``pathlib``, ``typing``, ``dataclasses``."""
    core = {
        f"osched.core.{m}"
        for m in ("argv", "cache", "events", "ids", "jobstate", "rule", "store", "timefmt", "trust")
    }
    allowed = {
        "osched",
        "osched.firing",
        "osched.fastlane",
        "osched.core",
        *core,
        "__future__",
        "zlib",
        "_json",
        "fcntl",
        "pwd",
        "grp",
        "errno",
    }
    # a disabled schedule: a skip whatever the real clock says (night starts at 02:00 UTC)
    for prog, args in (("osched-start", ["agent", "--schedule", "off"]), ("osched-stop", ["done"])):
        e = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
        e.pop("OSCHED_NOW", None)  # the real clock, as a timer fires it (OSCHED_NOW imports datetime)
        argv = [
            sys.executable,
            str(SCRIPTS / prog),
            *args,
            "--config",
            str(site.config),
            "--state-dir",
            str(site.state),
        ]
        subprocess.run(argv, capture_output=True, env=e, timeout=60)  # renews the fire file for today
        r = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=60)
        lines = [x for x in r.stderr.splitlines() if x.startswith("import time:") and "|" in x]
        names = [x.rsplit("|", 1)[1].strip() for x in lines]
        after_site = set(names[names.index("site") + 1 :])
        assert r.returncode == 0 and after_site <= allowed, after_site - allowed


def test_a_changed_system_zone_makes_plans_and_fire_files_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config without ``timezone`` means the system zone: a plan or fire file made while
    /etc/localtime named another zone is not used (the full path parses again)."""
    from osched import tzhost

    zones = Path("/usr/share/zoneinfo")
    localtime = tmp_path / "localtime"
    localtime.symlink_to(zones / "Europe" / "Berlin")
    monkeypatch.setattr(core_cache, "LOCALTIME", str(localtime))
    monkeypatch.setattr(core_cache, "TIMEZONE_FILE", str(tmp_path / "timezone"))
    monkeypatch.setattr(core_cache, "RACY_NS", 0)  # the margin, injected: no sleep
    assert tzhost.system_zone_name(override=False) == "Europe/Berlin"
    site = Site(tmp_path, CONFIG.replace('timezone = "Europe/Berlin"\n', ""))
    site.state.mkdir(mode=0o700)
    now = datetime.fromisoformat(NOW)
    store = Store(site.state)
    cfg = cache.for_firing(store, site.config, "agent", now)
    assert cfg.jobs["agent"].schedules[0].timezone == "Europe/Berlin"
    ident = core_cache.identity(site.config.stat())
    f = core_cache.parse_fire(site.fire_file("agent").read_text())
    assert core_cache.fresh(f.stamp, str(site.config), ident) and f.covers(now.timestamp(), 60)
    assert cache.read_plan(store, site.config, ident, "agent") is not None

    localtime.unlink()
    localtime.symlink_to(zones / "America" / "New_York")  # the admin moved the machine
    assert not core_cache.fresh(f.stamp, str(site.config), ident)
    assert cache.read_plan(store, site.config, ident, "agent") is None
    assert cache.read_plan(store, site.config, ident) is None
    cfg = cache.for_firing(store, site.config, "agent", now)
    assert cfg.jobs["agent"].schedules[0].timezone == "America/New_York"
    f = core_cache.parse_fire(site.fire_file("agent").read_text())
    assert core_cache.fresh(f.stamp, str(site.config), ident)


@pytest.mark.parametrize("example", ["osched.toml", "dates.toml", "operations.toml", "system.toml"])
def test_a_plan_gives_back_the_config_it_was_made_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: str
) -> None:
    """Every field of every job and schedule (sets, dates, one-off windows, limits, hooks)
    comes back from the plan as the parse made it; a plan whose job has a key that is no
    field, whose schedule row is longer, or which names other schedule fields, is not
    believed."""
    from osched.config import load

    from conftest import EXAMPLES

    monkeypatch.setattr(core_cache, "RACY_NS", 0)
    config = tmp_path / "c.toml"
    shutil.copy(EXAMPLES / example, config)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    store, cfg = Store(state), load(config)
    ident = core_cache.identity(config.stat())
    cache.remember(store, cfg, ident)
    back = cache.read_plan(store, config, ident)
    assert back is not None and back.jobs == cfg.jobs and back.timezone == cfg.timezone

    (plan,) = state.rglob("_config.json")
    good = plan.read_text()
    for tamper in (
        lambda d: next(iter(d["jobs"].values())).update(surprise=1),
        lambda d: next(iter(d["jobs"].values()))["schedules"][0].append(1),
        lambda d: d["schedule_fields"].reverse(),
    ):
        data = json.loads(good)
        tamper(data)
        plan.write_text(json.dumps(data))
        assert cache.read_plan(store, config, ident) is None
    plan.write_text(good)
    assert cache.read_plan(store, config, ident) is not None
