"""A stand-in for a long-running agent: prints a heartbeat, exits on SIGTERM.

    python3 fake_agent.py [--work SECONDS_PER_STEP] [--crash-after N] [--exit-after N]
                          [--pidfile PATH] [--child PATH] [--ignore-term] [--verbose]

--pidfile appends its own pid; --child starts a grandchild (same process group) that
sleeps and appends its pid to PATH; --ignore-term makes it ignore SIGTERM (so only
SIGKILL ends it).  The test suite uses these to watch osched's process handling.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=float, default=1.0, help="seconds per step")
    ap.add_argument("--crash-after", type=int, default=0, help="exit 1 after N steps")
    ap.add_argument("--exit-after", type=int, default=0, help="exit 0 after N steps")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--pidfile", help="append this process's pid to PATH")
    ap.add_argument("--child", metavar="PATH", help="start a sleeping grandchild, its pid to PATH")
    ap.add_argument("--ignore-term", action="store_true", help="ignore SIGTERM")
    a = ap.parse_args()
    if a.pidfile:
        with open(a.pidfile, "a") as fh:
            fh.write(f"{os.getpid()}\n")
    if a.child:
        import subprocess

        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        with open(a.child, "a") as fh:
            fh.write(f"{child.pid}\n")

    def on_term(signum: int, _frame: object) -> None:
        print(f"fake_agent {os.getpid()}: got signal {signum}, stopping", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, signal.SIG_IGN if a.ignore_term else on_term)
    print(f"fake_agent {os.getpid()}: start, MODEL={os.environ.get('MODEL')}", flush=True)
    step = 0
    while True:
        time.sleep(a.work)
        step += 1
        if a.verbose:
            print(f"fake_agent {os.getpid()}: step {step}", flush=True)
        if a.crash_after and step >= a.crash_after:
            print(f"fake_agent {os.getpid()}: crashing", flush=True)
            return 1
        if a.exit_after and step >= a.exit_after:
            print(f"fake_agent {os.getpid()}: done", flush=True)
            return 0


if __name__ == "__main__":
    sys.exit(main())
