"""The core: the state store's checks, the window rule, and the fast lane against the full path
over random *states* (state, override and fire files, tampered ones included)."""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from osched import cache, fastlane
from osched.core import cache as core_cache
from osched.core import rule
from osched.core.store import Store
from osched.core.trust import Untrusted
from osched.runtime import Runtime
from osched.runtime.clock import Clock
from osched.runtime.context import Reply
from osched.state import StateDir

from conftest import ROOT

OTHER = 65534  # nobody
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in [root, *root.rglob("*")]}


# -- the store ---------------------------------------------------------------------------------------
def test_under_umask_000_every_folder_is_0700_and_every_file_0600(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = Store(tmp_path / "a" / "b" / "state")
        store.write(store.cache("/c.toml", "config.json"), b"{}")
        store.write(store.job("agent", "state.json"), b"{}")
        os.close(store.lock_fd("agent"))
        store.append_event(b"{}\n")
        os.close(store.open_append(store.job("agent", "output.log")))
    finally:
        os.umask(old)
    modes = _modes(tmp_path / "a")
    assert {m for p, m in modes.items() if (tmp_path / "a" / p).is_dir()} == {0o700}
    assert {m for p, m in modes.items() if (tmp_path / "a" / p).is_file()} == {0o600}


def test_an_existing_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    store.write(store.job("agent", "state.json"), b"{}")
    (tmp_path / "state" / "jobs").chmod(0o777)  # made by an older osched under umask 000
    with pytest.raises(Untrusted, match=r"state dir folder .*/jobs is writable by other users \(chmod -R go-w"):
        store.read(store.job("agent", "state.json"), "state")
    with pytest.raises(Untrusted):
        store.write(store.job("agent", "state.json"), b"{}")


@pytest.mark.parametrize("how", ["symlink", "fifo", "directory", "group-writable", "too large"])
def test_a_file_that_is_not_a_private_regular_file_is_refused(tmp_path: Path, how: str) -> None:
    store = Store(tmp_path / "state")
    store.ensure("jobs", "agent")
    path = Path(store.path(*store.job("agent", "state.json")))
    if how == "symlink":
        (tmp_path / "victim").write_text("{}")
        path.symlink_to(tmp_path / "victim")
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "directory":
        path.mkdir()
    elif how == "group-writable":
        path.write_text("{}")
        path.chmod(0o666)
    else:
        with path.open("wb") as fh:
            fh.truncate(200 << 20)  # sparse: 200 MB that cost nothing to refuse
    started = time.monotonic()
    with pytest.raises((Untrusted, OSError)):
        store.read(store.job("agent", "state.json"), "state")
    assert time.monotonic() - started < 1.0


@needs_root
def test_a_file_of_another_user_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    store.write(store.override("agent", "start"), b"{}")
    os.chown(store.path(*store.override("agent", "start")), OTHER, OTHER)
    with pytest.raises(Untrusted, match="is owned by uid 65534"):
        store.read(store.override("agent", "start"), "override")


def test_names_never_leave_the_state_dir(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    for bad in ("..", "a/b", "", "."):
        with pytest.raises(ValueError):
            store.path("jobs", bad)


# -- the window rule -----------------------------------------------------------------------------------
def test_the_rule_prefers_the_open_window_and_the_latest_stop() -> None:
    w = [(100.0, 200.0), (150.0, 400.0)]
    assert rule.start_index(w, 160) == 1  # both open: the latest start
    assert rule.start_index(w, 30) is None and rule.start_index(w, 40) == 0  # 60 s early counts
    assert rule.start_index([(100.0, 130.0)], 80) is None  # opens within a minute but ends before it
    assert rule.latest_open([w, [(0.0, 500.0)]], [160.0]) == (1, 0)
    assert rule.latest_open([[(0.0, 400.0)], [(100.0, 400.0)]], [160.0]) == (0, 0)  # a tie: the first
    assert rule.next_start(w, 120) == 150 and rule.next_start(w, 150) is None


# -- planted caches: never believed, always rebuilt -------------------------------------------------
CONFIG = """\
timezone = "UTC"

[jobs.agent]
command = ["sh", "-c", "echo configured >> {out}"]

[[jobs.agent.schedules]]
id = "day"
start = "10:00"
duration = "4h"
days = ["daily"]
"""


def _fire(config: Path, state: Path, prog: str, *args: str, now: str, umask: int | None = None) -> Any:
    env = {**os.environ, "OSCHED_NOW": now}
    argv = [sys.executable, str(ROOT / "scripts" / prog), *args, "--config", str(config), "--state-dir", str(state)]
    pre = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, preexec_fn=pre)


def _site(tmp_path: Path) -> tuple[Path, Path, Path]:
    out = tmp_path / "out.txt"
    config = tmp_path / "osched.toml"
    config.write_text(CONFIG.format(out=out))
    config.chmod(0o600)
    time.sleep(1.1)  # caches are written only once the config is older than the racy margin
    return config, tmp_path / "state", out


def _wait_for(path: Path, text: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return path.read_text()
        time.sleep(0.05)
    return path.read_text() if path.exists() else ""


def test_a_firing_under_umask_000_creates_only_private_files(tmp_path: Path) -> None:
    config, state, out = _site(tmp_path)
    r = _fire(config, state, "osched-start", "agent", "--schedule", "day", now="2026-11-24T12:00:00+00:00", umask=0)
    assert r.returncode == 0, r.stderr
    assert _wait_for(out, "configured")
    time.sleep(0.3)
    modes = _modes(state)
    assert {m for p, m in modes.items() if (state / p).is_dir()} == {0o700}, modes
    assert {m for p, m in modes.items() if (state / p).is_file()} == {0o600}, modes
    assert any(p.endswith("agent.fire") for p in modes) and any(p.endswith("_config.json") for p in modes)


@needs_root
@pytest.mark.parametrize("how", ["another owner", "others can write"])
def test_a_planted_plan_is_ignored_and_rebuilt(tmp_path: Path, how: str) -> None:
    """Another user's plan whose command writes elsewhere: the configured command runs, and the
    plan is written anew by the user."""
    config, state, out = _site(tmp_path)
    now = "2026-11-24T09:00:00+00:00"  # outside the window: the firing only builds the caches
    assert _fire(config, state, "osched-start", "agent", "--schedule", "day", now=now).returncode == 0
    store = Store(state)
    plan = Path(store.path(*store.cache(str(config), "agent.json")))
    assert plan.exists()
    data = json.loads(plan.read_text())
    pwned = tmp_path / "pwned"
    data["job"]["command"] = ["sh", "-c", f"echo pwned > {pwned}"]
    plan.write_text(json.dumps(data))
    if how == "another owner":
        os.chown(plan, OTHER, OTHER)
    else:
        plan.chmod(0o666)
    r = _fire(config, state, "osched-start", "agent", "--schedule", "day", now="2026-11-24T12:00:00+00:00")
    assert r.returncode == 0, r.stderr
    assert _wait_for(out, "configured") and not pwned.exists()
    st = plan.lstat()
    assert st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o600
    assert "pwned" not in plan.read_text()


@needs_root
def test_a_planted_fire_file_cannot_make_the_fast_lane_skip_a_start(tmp_path: Path) -> None:
    """Another user's fire file that moves the window away: the full path decides, and starts."""
    config, state, out = _site(tmp_path)
    assert _fire(config, state, "osched-start", "agent", "--schedule", "day",
                 now="2026-11-24T09:00:00+00:00").returncode == 0
    store = Store(state)
    path = Path(store.path(*store.cache(str(config), "agent.fire")))
    fire = core_cache.parse_fire(path.read_text())
    fire.schedules = [(s, on, [(a + 6 * 3600, b + 6 * 3600) for a, b in w]) for s, on, w in fire.schedules]
    path.write_text(core_cache.format_fire(fire) or "")
    os.chown(path, OTHER, OTHER)
    r = _fire(config, state, "osched-start", "agent", "--schedule", "day", now="2026-11-24T12:00:00+00:00")
    assert r.returncode == 0, r.stderr
    assert _wait_for(out, "configured")
    events = [json.loads(line) for line in (state / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e["event"] in ("started", "start_skipped")] == ["start_skipped", "started"]


# -- the fast lane against the full path, over random states ---------------------------------------
class _Recorder:
    """The launcher, as far as a decision goes: what the full path would start or adopt."""

    def __init__(self) -> None:
        self.acted: list[str] = []

    def launch(self, job: Any, s: Any, until: Any, st: Any, held: Any, reason: str) -> Reply:
        self.acted.append("start")
        return Reply(0, "started")

    def adopt(self, job: Any, st: Any, held: Any) -> Reply:
        self.acted.append("adopt")
        return Reply(0, "adopted")


DEAD = 4_194_400  # above the kernel's largest pid: never a live process or group


def _random_schedules(rng: random.Random) -> str:
    out = []
    for i in range(rng.randint(1, 3)):
        days = rng.sample(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], rng.randint(1, 3))
        out.append(
            f'[[jobs.agent.schedules]]\nid = "s{i}"\nstart = "{rng.randint(0, 23):02d}:{rng.choice([0, 15, 30, 59]):02d}"\n'
            f'duration = "{rng.choice(["1m", "30m", "2h", "9h"])}"\ndays = {json.dumps(days)}\n'
            f'timezone = "{rng.choice(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])}"\n'
            f"enabled = {rng.choice(['true', 'true', 'false'])}\n"
        )
    return "\n".join(out)


def _random_state(rng: random.Random, store: Store, now: datetime) -> str:
    """Write a random state file and overrides; maybe tamper with one file.  What was done."""
    what = []
    if rng.random() < 0.7:
        pid = rng.choice([None, None, DEAD])
        st = {
            "pid": pid, "pid_start": "123" if pid else None, "supervisor_pid": rng.choice([None, None, DEAD]),
            "pgid": rng.choice([None, DEAD]), "pgid_start": rng.choice([None, "456"]),
            "outcome": rng.choice([None, "running", "backoff", "finished", "stopped", "failed", "gave_up"]),
            "crashes": rng.choice([0, 1, "x"]), "schedule": "s0", "finished_at": None,
        }
        store.write(store.job("agent", "state.json"), json.dumps(st).encode())
        what.append(f"state {st}")
    for kind in ("start", "stop"):
        if rng.random() < 0.15:
            expires = now + timedelta(hours=rng.choice([-1, 1]))
            body = {"kind": kind, "created": now.isoformat(), "expires": expires.isoformat(), "reason": "t"}
            store.write(store.override("agent", kind), json.dumps(body).encode())
            what.append(f"override {kind} {expires}")
    return "; ".join(what)


def _tamper(rng: random.Random, path: Path) -> str:
    if not path.exists() and not path.is_symlink():
        return ""
    how = rng.choice(["another owner", "group-writable", "fifo", "directory", "truncated", "200 MB", "symlink"])
    if how == "another owner":
        if os.geteuid() != 0:
            return ""
        os.chown(path, OTHER, OTHER)
    elif how == "group-writable":
        path.chmod(0o666)
    elif how in ("fifo", "directory", "symlink"):
        path.unlink()
        {"fifo": lambda: os.mkfifo(path), "directory": path.mkdir,
         "symlink": lambda: path.symlink_to("/etc/hostname")}[how]()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[: rng.randint(0, 40)])
    else:
        with path.open("ab") as fh:
            fh.truncate(200 << 20)
    return f"{path.name}: {how}"


def test_the_fast_lane_answers_as_the_full_path_over_random_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(21)
    monkeypatch.setattr(core_cache, "RACY_NS", 0)  # the margin, injected: no sleeping
    base = datetime(2026, 3, 27, 12, tzinfo=UTC)  # DST changes in Berlin and New York nearby
    answered = fell_back = 0
    for n in range(160):
        root = tmp_path / f"c{n}"
        root.mkdir()
        config = root / "osched.toml"
        config.write_text('[jobs.agent]\ncommand = ["true"]\n\n' + _random_schedules(rng))
        config.chmod(0o600)
        state = root / "state"
        store = Store(state)
        store.ensure()
        now = base + timedelta(minutes=rng.randint(-5 * 1440, 5 * 1440), seconds=rng.choice([0, 30, 59]))
        when = now.isoformat()
        monkeypatch.setenv("OSCHED_NOW", when)
        cfg = cache.for_firing(store, config, "agent", now)  # plans and the fire file, as a firing leaves them
        done = _random_state(rng, store, now)
        if rng.random() < 0.3:
            victim = rng.choice(["agent.fire", "state.json", "override-stop.json"])
            folder = Path(store.path("plans", store.cache_key(str(config)))) if victim.endswith(".fire") else \
                Path(store.path("jobs", "agent"))
            done += "; " + _tamper(rng, folder / victim)
        job = cfg.jobs["agent"]
        sid = rng.choice([s.id for s in job.schedules])
        prog = rng.choice(["osched-start", "osched-stop"])
        argv = ["agent", "--config", str(config), "--state-dir", str(state)]
        argv += ["--schedule", sid] if prog == "osched-start" else []
        events = state / "events.jsonl"
        before = events.read_bytes() if events.exists() else b""
        try:
            fastlane.answer(prog, argv)
            fast = json.loads(events.read_bytes()[len(before):].decode())
        except fastlane.Fallback:
            fast = None
        # the full path, from scratch, on the same state (its launcher only records)
        rt = Runtime(cfg, StateDir(state), clock=Clock(now))
        recorder = _Recorder()
        rt._launcher = recorder  # type: ignore[assignment]
        try:
            full = rt.start_firing("agent", sid) if prog == "osched-start" else rt.stop_firing("agent", None)
        except Exception as e:  # a refusal of a tampered file: never a skip the fast lane may take
            full = Reply(1, str(e))
        last = [json.loads(x) for x in events.read_text().splitlines()][-1] if events.exists() else {}
        if fast is None:
            fell_back += 1
            continue
        answered += 1
        context = (prog, when, sid, done, fast, full, last)
        assert recorder.acted == [] and full.code == 0, context  # never a skip where the full path acts
        assert "stopped" not in full.message, context
        assert (last["event"], last.get("schedule"), last["reason"]) == (
            fast["event"], fast.get("schedule"), fast["reason"]), context
    assert answered > 50 and fell_back > 20, (answered, fell_back)


@pytest.mark.parametrize("where", ["events.jsonl", "fire file", "state.json"])
def test_a_fifo_in_the_state_dir_never_hangs_a_firing(tmp_path: Path, where: str) -> None:
    config, state, _ = _site(tmp_path)
    now = "2026-11-24T09:00:00+00:00"
    assert _fire(config, state, "osched-stop", "agent", now=now).returncode == 0  # builds the caches
    store = Store(state)
    path = {"events.jsonl": Path(store.path("events.jsonl")),
            "fire file": Path(store.path(*store.cache(str(config), "agent.fire"))),
            "state.json": Path(store.path(*store.job("agent", "state.json")))}[where]
    path.unlink(missing_ok=True)
    os.mkfifo(path, 0o600)
    started = time.monotonic()
    r = _fire(config, state, "osched-stop", "agent", now=now)
    assert time.monotonic() - started < 20 and "Traceback" not in r.stderr, r.stderr
