"""A stand-in for a long-running agent: prints a heartbeat, exits on SIGTERM.

    python3 fake_agent.py [--work SECONDS_PER_STEP] [--crash-after N] [--exit-after N]
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
    a = ap.parse_args()

    def on_term(signum: int, _frame: object) -> None:
        print(f"fake_agent {os.getpid()}: got signal {signum}, stopping", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
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
