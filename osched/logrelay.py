"""``python -m osched.logrelay STATE_DIR JOB MAX_BYTES KEEP [--tee]``: the job's output, read
from a pipe on stdin, written to its ``output.log`` a line at a time, each line stamped with
the UTC time it arrived; the log rotated above MAX_BYTES, KEEP old files kept
(``output.log.1`` newest).  ``--tee``: each line also to stderr, as it came (under systemd
that is the service's journal, which stamps it itself).

A process of its own, not the supervisor: a supervisor that dies (or is killed) takes nothing
with it, and the job never waits on it.  It ends when every writer of the pipe has (the job
and anything it left running).  The log is opened through the state store (``core.store``),
like every byte osched writes there.  Standard library and the core only."""

from __future__ import annotations

import os
import sys
import time

from .core.store import Store
from .core.timefmt import iso_utc

PARTIAL_AFTER = 64 * 1024  # a line this long without a newline is written as it is


def stamp(line: bytes) -> bytes:
    return iso_utc(time.time()).encode() + b" " + line


class Relay:
    def __init__(self, state: str, job: str, max_bytes: int, keep: int, tee: bool) -> None:
        self.store, self.parts = Store(state), Store.job(job, "output.log")
        self.max_bytes, self.keep, self.tee = max_bytes, keep, tee
        self.fd = self.store.open_append(self.parts)

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)
        if self.tee:
            try:
                os.write(2, data.split(b" ", 1)[1])
            except OSError:
                self.tee = False
        if os.fstat(self.fd).st_size > self.max_bytes:
            try:
                os.close(self.fd)
                self.store.rotate(self.parts, self.max_bytes, self.keep)
            finally:
                self.fd = self.store.open_append(self.parts)

    def run(self, source: int) -> None:
        pending = b""
        while True:
            chunk = os.read(source, 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self.write(stamp(line + b"\n"))
            if len(pending) >= PARTIAL_AFTER:
                self.write(stamp(pending + b"\n"))
                pending = b""
        if pending:
            self.write(stamp(pending + b"\n"))


def main(argv: list[str]) -> int:
    try:
        state, job, max_bytes, keep = argv[0], argv[1], int(argv[2]), int(argv[3])
    except (IndexError, ValueError):
        sys.stderr.write("usage: python -m osched.logrelay STATE_DIR JOB MAX_BYTES KEEP [--tee]\n")
        return 2
    relay = Relay(state, job, max_bytes, keep, "--tee" in argv[4:])
    relay.run(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
