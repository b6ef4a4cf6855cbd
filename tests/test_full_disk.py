"""A stop always stops (issue 22, 2, 3, 12): on a full disk (the signal first, the record after;
a restart that cannot be recorded is ended at once), and under Ctrl-C.  The full-disk cases put
the config and state dir on a real 1 MB tmpfs, filled up while the job runs."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_helpers import Env, alive, wait_for

TUE_NOON = "2026-11-24T12:00:00+00:00"
DAY = {"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    root = tmp_path / "small"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(root)], check=True)
    e = Env(root)
    monkeypatch.setenv("OSCHED_CONFIG", str(e.config))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(e.state))
    monkeypatch.setenv("OSCHED_NOW", TUE_NOON)
    try:
        yield e
    finally:
        e.cleanup()
        subprocess.run(["umount", "-l", str(root)], check=False)


def fill(root: Path) -> None:
    """Take every free byte of the file system."""
    with contextlib.suppress(OSError), (root / "ballast").open("wb") as fh:
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
    with contextlib.suppress(OSError):  # and the last few blocks
        for i in range(10_000):
            (root / f"b{i}").write_bytes(b"\0" * 512)


def started(e: Env) -> int:
    e.write([DAY], agent_args=["--work", "0.2"])
    r = e.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    assert "started" in r.stdout
    (pid,) = e.agents(1)
    return pid


def test_the_stop_firing_stops_a_job_on_a_full_disk(disk: Env) -> None:
    pid = started(disk)
    fill(disk.root)
    r = disk.entry("stop", "agent", "--schedule", "day", now="2026-11-24T14:00:00+00:00")
    assert "Traceback" not in r.stderr
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not alive(pid), 10, "the job to end")
    assert "could not be recorded" in r.stderr


def test_osched_stop_stops_a_job_on_a_full_disk(disk: Env) -> None:
    pid = started(disk)
    fill(disk.root)
    r = subprocess.run([sys.executable, "-m", "osched", "stop", "agent"], capture_output=True, text=True,
                       env={**os.environ}, timeout=60)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not alive(pid), 10, "the job to end")
    assert "stopped" in r.stdout and "could not be written" in r.stdout


def test_a_restart_that_cannot_be_recorded_is_ended(disk: Env, tmp_path: Path) -> None:
    """After a recorded crash the disk fills: the restarted copy runs (its pid file is on
    another disk) but cannot be recorded, so it is ended at once; nothing of the job runs
    unsupervised, and the next firing can start it."""
    pids = tmp_path / "pids"
    disk.write([DAY], agent_args=["--pidfile", str(pids), "--work", "0.3", "--crash-after", "2"],
               restart={"retries": 5, "backoff": [1.5]})
    disk.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    disk.wait_event("crashed")
    fill(disk.root)  # during the backoff
    wait_for(lambda: {"restart_failed", "supervisor_error"} & set(disk.kinds()), 10, "the restart")
    time.sleep(1)
    copies = [p for p in _with_arg(str(pids)) if alive(p)]
    disk.started.extend(copies)
    assert copies == [], "a restarted copy runs unrecorded and unsupervised"
    assert "restart_failed" in disk.kinds()


def _with_arg(arg: str) -> list[int]:
    """Live processes whose command line holds ``arg``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if arg.encode() in Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0"):
                    found.append(int(name))
    return found


def test_ctrl_c_during_osched_stop_finishes_the_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that ignores SIGTERM: Ctrl-C while ``osched stop`` waits out stop_timeout neither
    aborts it nor leaves the job running (issue 22, 12)."""
    import signal

    e = Env(tmp_path)
    monkeypatch.setenv("OSCHED_CONFIG", str(e.config))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(e.state))
    monkeypatch.setenv("OSCHED_NOW", TUE_NOON)
    try:
        e.write([DAY], agent_args=["--work", "0.2", "--ignore-term"], stop_timeout="2s")
        e.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
        (pid,) = e.agents(1)
        p = subprocess.Popen([sys.executable, "-m", "osched", "stop", "agent"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(0.8)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert "aborted" not in out + err and "stopped" in out
        wait_for(lambda: not alive(pid), 5, "the job to end")
    finally:
        e.cleanup()
