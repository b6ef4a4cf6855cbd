"""``python -m osched.limitexec [--nice N] [--io CLASS] [--as BYTES] [--nproc N] -- ARGV...``:
apply a job's limits to this process, then become the job (``exec``): the supervisor path's
stand-in for a cgroup (``limits``).  The niceness is absolute (``setpriority``), the I/O class
goes through ``ionice`` where it exists (Linux), memory and tasks are ``RLIMIT_AS`` and
``RLIMIT_NPROC``.  Standard library only; exits 127 when the job cannot be executed."""

from __future__ import annotations

import os
import shutil
import sys


def main(argv: list[str]) -> int:
    if "--" not in argv:
        sys.stderr.write("usage: osched.limitexec [--nice N] [--io CLASS] [--as BYTES] [--nproc N] -- ARGV\n")
        return 2
    i = argv.index("--")
    opts, job = argv[:i], argv[i + 1 :]
    values = dict(zip(opts[::2], opts[1::2], strict=False))
    if sys.platform != "win32":  # the supervisor path on Windows applies no limits (limits.py)
        import resource

        if "--nice" in values:
            os.setpriority(os.PRIO_PROCESS, 0, int(values["--nice"]))

        if "--as" in values:
            n = int(values["--as"])
            resource.setrlimit(resource.RLIMIT_AS, (n, n))
        if "--nproc" in values:
            n = int(values["--nproc"])
            resource.setrlimit(resource.RLIMIT_NPROC, (n, n))
    io = values.get("--io")
    if io and sys.platform.startswith("linux") and shutil.which("ionice"):
        klass = ["-c", "3"] if io == "idle" else ["-c", "2", "-n", io.split(":")[1]]
        job = ["ionice", *klass, "--", *job]
    try:
        os.execvp(job[0], job)
    except OSError as e:
        sys.stderr.write(f"osched: cannot run {job[0]}: {e.strerror}\n")
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
