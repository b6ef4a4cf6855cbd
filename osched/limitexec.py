"""``python -m osched.limitexec [--nice N] [--io CLASS] [--as BYTES] [--nproc N] [--cpu PCT]
[--scope JOB] -- ARGV...``: apply a job's limits to this process, then become the job
(``exec``): the supervisor path's limits (``limits``).  The niceness is absolute
(``setpriority``), the I/O class goes through ``ionice`` where it exists (Linux).

Memory, tasks and cpu (``--scope``): first a cgroup, as the systemd target has one: this
process asks the user's systemd manager (``busctl --user``, D-Bus ``StartTransientUnit``) for a
transient scope ``osched-JOB-PID.scope`` holding it, with ``MemoryMax=``, ``TasksMax=`` and
``CPUQuota=``, and checks in ``/proc/self/cgroup`` that it moved there.  Where no manager
answers, or it cannot move the process (cgroup v2 lets a process move only under an ancestor
the mover may write; the manager asks the system manager for that, where PID 1 is systemd),
memory and tasks fall back to ``RLIMIT_AS`` and ``RLIMIT_NPROC`` and cpu is not enforced.  One
line on stderr (the job's log) says which.  Standard library only; exits 127 when the job
cannot be executed."""

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
        if "--scope" in values and _scoped(values):
            values = {k: v for k, v in values.items() if k not in ("--as", "--nproc")}
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


def _scoped(values: dict[str, str]) -> bool:
    """Move this process into a transient scope with the cgroup limits; False (and a line on
    stderr) where that cannot be done."""
    pid = os.getpid()
    unit = f"osched-{values['--scope']}-{pid}.scope"
    props: list[tuple[str, ...]] = [("PIDs", "au", "1", str(pid))]
    props += [
        ("CollectMode", "s", "inactive-or-failed"),
        ("Description", "s", f"osched job {values['--scope']}"),
    ]
    if "--as" in values:
        props.append(("MemoryMax", "t", values["--as"]))
    if "--nproc" in values:
        props.append(("TasksMax", "t", values["--nproc"]))
    if "--cpu" in values:
        props.append(("CPUQuotaPerSecUSec", "t", str(int(values["--cpu"]) * 10_000)))
    why = _start_scope(unit, props)
    if why is None:
        sys.stderr.write(f"osched: limits in the cgroup of {unit} (your systemd user manager)\n")
        return True
    how = ["memory as RLIMIT_AS"] if "--as" in values else []
    how += ["tasks as RLIMIT_NPROC"] if "--nproc" in values else []
    how += ["cpu not enforced"] if "--cpu" in values else []
    sys.stderr.write(f"osched: no cgroup for the job's limits ({why}): {', '.join(how)}\n")
    return False


def _start_scope(unit: str, props: list[tuple[str, ...]]) -> str | None:
    """Ask the user manager for ``unit`` holding this process; None once it is there."""
    import subprocess
    import time

    if sys.platform == "win32":  # pragma: no cover - main() never asks there
        return "no systemd on Windows"
    busctl = shutil.which("busctl")
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    if busctl is None or not os.path.exists(os.path.join(runtime, "bus")):
        return "no systemd user manager answers"
    argv = [busctl, "--user", "--quiet", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1"]
    argv += ["org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))", unit, "fail"]
    argv += [str(len(props)), *(word for prop in props for word in prop), "0"]  # no auxiliary units
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime}
    try:
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"busctl: {e}"
    if r.returncode != 0:
        return f"busctl: {(r.stderr.strip().splitlines() or ['failed'])[-1]}"
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # the manager moves the process as the scope starts
        try:
            with open("/proc/self/cgroup", encoding="utf-8") as f:
                if f"/{unit}" in f.read():
                    return None
        except OSError:
            break
        time.sleep(0.02)
    return "the manager could not move the job into it"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
