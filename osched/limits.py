"""A job's resource limits (``limits = { nice = 10, io = "idle", cpu = "50%", memory = "4G",
tasks = 256 }``): the one vocabulary, parsed once, and what each target makes of it.

* systemd: the service's ``Nice=``, ``IOSchedulingClass=``/``IOSchedulingPriority=``,
  ``CPUQuota=``, ``MemoryMax=``, ``TasksMax=`` (a cgroup: exact);
* cron, launchd (and a manual start): the supervisor starts the job through
  ``osched.limitexec``, which sets the niceness and the I/O class (``ionice``), and stands in
  for a cgroup with ``RLIMIT_AS`` (memory: the address space, so an allocation past it fails)
  and ``RLIMIT_NPROC`` (tasks: counted over all of the user's processes); cpu is not enforced
  there; launchd's plists also get ``Nice``/``LowPriorityIO``;
* Task Scheduler: the task's ``Priority`` from nice;
* Kubernetes: ``resources`` (requests = limits) from cpu and memory.

Standard library only."""

from __future__ import annotations

import re

KEYS = ("nice", "io", "cpu", "memory", "tasks")
NICE = (-20, 19)
TASKS = (1, 4_194_304)
MIN_MEMORY = 1 << 20
# text values, each fullmatched after strip() (the config's JSON Schema is built from these)
IO_RE = re.compile(r"idle|best-effort(?::([0-7]))?")
CPU_RE = re.compile(r"0*([1-9][0-9]*)%")
SIZE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([KMGTkmgt]?)(?:[iI]?[bB]?)")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse(raw: object) -> dict[str, object]:
    """The ``limits`` table, normalized: nice (int), io ("idle" or "best-effort:N"), cpu (percent
    of one CPU, int), memory (bytes), tasks (int).  ValueError names the key."""
    if not isinstance(raw, dict):
        raise ValueError('must be a table such as { nice = 10, memory = "4G" }')
    out: dict[str, object] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise ValueError(f"unknown limit {key!r} (known: {', '.join(KEYS)})")
        out[key] = _one(key, value)
    return out


def _one(key: str, value: object) -> object:
    if key in ("nice", "tasks"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key}: must be an integer")
        low, high = NICE if key == "nice" else TASKS
        if not low <= value <= high:
            raise ValueError(f"{key}: must be from {low} to {high}")
        return value
    if key == "io":
        m = IO_RE.fullmatch(str(value).strip())
        if m is None:
            raise ValueError(
                'io: "idle", or "best-effort" with a level 0 (first) to 7 (last): "best-effort:7"'
            )
        return "idle" if m.group(0) == "idle" else f"best-effort:{m.group(1) or 4}"
    if key == "cpu":
        m = CPU_RE.fullmatch(str(value).strip())
        if m is None:
            raise ValueError('cpu: a percentage of one CPU, such as "50%" or "200%"')
        return int(m.group(1))
    # memory
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        m = SIZE_RE.fullmatch(str(value).strip())
        if m is None:
            raise ValueError('memory: bytes, or a size such as "512M" or "4G" (powers of 1024)')
        size = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if size < MIN_MEMORY:
        raise ValueError("memory: at least 1M")
    return size


def size_text(n: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if n % _UNITS[unit] == 0:
            return f"{n // _UNITS[unit]}{unit}"
    return str(n)


def text(limits: dict[str, object]) -> str:
    """One line: ``nice 10, io idle, cpu 50%, memory 4G, tasks 256``."""
    parts = []
    for key in KEYS:
        if key in limits:
            v = limits[key]
            shown = size_text(int(str(v))) if key == "memory" else f"{v}%" if key == "cpu" else str(v)
            parts.append(f"{key} {shown}")
    return ", ".join(parts)


# -- what each target makes of them ------------------------------------------------------------
def systemd_lines(limits: dict[str, object]) -> list[str]:
    out = []
    if "nice" in limits:
        out.append(f"Nice={limits['nice']}")
    if "io" in limits:
        io = str(limits["io"])
        if io == "idle":
            out.append("IOSchedulingClass=idle")
        else:
            out += ["IOSchedulingClass=best-effort", f"IOSchedulingPriority={io.split(':')[1]}"]
    if "cpu" in limits:
        out.append(f"CPUQuota={limits['cpu']}%")
    if "memory" in limits:
        out.append(f"MemoryMax={limits['memory']}")
    if "tasks" in limits:
        out.append(f"TasksMax={limits['tasks']}")
    return out


def kube_resources(limits: dict[str, object]) -> dict[str, str]:
    out = {}
    if "cpu" in limits:
        out["cpu"] = f"{int(str(limits['cpu'])) * 10}m"
    if "memory" in limits:
        out["memory"] = str(limits["memory"])
    return out


def task_priority(limits: dict[str, object]) -> int | None:
    """Task Scheduler's ``Priority`` (0 realtime .. 10 idle; 7 its default) from nice."""
    if "nice" not in limits:
        return None
    nice = int(str(limits["nice"]))
    return 5 if nice < 0 else 7 if nice == 0 else 8 if nice < 10 else 9


def exec_argv(limits: dict[str, object], argv: list[str], python: str, job: str = "") -> list[str]:
    """The job's argv on the supervisor path: through ``osched.limitexec`` when a limit
    applies there; with ``job``, memory, tasks and cpu go into a transient scope of the user's
    systemd manager when one answers (else RLIMIT_AS, RLIMIT_NPROC, and cpu unenforced)."""
    opts = []
    pairs = (("nice", "--nice"), ("io", "--io"), ("memory", "--as"), ("tasks", "--nproc"), ("cpu", "--cpu"))
    for key, flag in pairs:
        if key in limits:
            opts += [flag, str(limits[key])]
    if job and any(k in limits for k in ("memory", "tasks", "cpu")):
        opts += ["--scope", job]  # a cgroup of the user's manager first (limitexec)
    return [python, "-m", "osched.limitexec", *opts, "--", *argv] if opts else argv


def supervisor_notes(limits: dict[str, object]) -> list[str]:
    """How the supervisor path enforces each limit, where it differs from the systemd target."""
    if not any(k in limits for k in ("memory", "tasks", "cpu")):
        return []
    out = ["memory, tasks and cpu in a transient scope of your systemd user manager when one answers"]
    if "memory" in limits:
        size = size_text(int(str(limits["memory"])))
        out.append(f"else memory {size} as RLIMIT_AS (the address space: an allocation past it fails)")
    if "tasks" in limits:
        out.append(f"else tasks {limits['tasks']} as RLIMIT_NPROC (counted over all of the user's processes)")
    if "cpu" in limits:
        out.append(f"else cpu {limits['cpu']}% is not enforced (the systemd target always enforces it)")
    return out


def exit_note(limits: dict[str, object], code: int | None) -> str:
    """Said with a failed exit of a job under a memory limit on the supervisor path."""
    if code in (0, None) or "memory" not in limits:
        return ""
    return f" (under its memory limit {size_text(int(str(limits['memory'])))}: an allocation past it fails)"
