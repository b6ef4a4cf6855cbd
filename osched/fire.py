"""The firing fast lane: what ``osched-start`` and ``osched-stop`` run first (POSIX).

A timer fires the entrypoints far more often than they act: cron's weekly lines of a
schedule whose window is shifted by DST, a stop firing after the job already finished.
Those firings must cost little more than starting the interpreter (DESIGN section 6), so
this module imports nothing beyond what the interpreter has loaded at startup (``os``,
``sys``, ``stat``, ``time``; ``fcntl`` to lock) and decides from a *fire file*: the job's
windows as UTC seconds for the next five weeks, written by the full path (``plans.py``).

It answers only the firings that skip, and only when every input is known to be fresh:

* ``osched-start JOB --schedule S``: S is disabled, or no window of S is open now or opens
  within a minute (``runtime.policy.start_precheck``; no lock, no state: the full path takes
  none there either);
* ``osched-stop JOB [--schedule S]``: a window of the job is open a minute from now
  ("window ... is open until ..."), or, under the job's lock, the job is not running: no
  override file, and a state file with no job or supervisor process and no process left in
  the last run's process group.

The trust checks of ``trust.py`` come first, made the same way; then the fire file must
match the config's identity (device, inode, size, times), the zone files its windows were
computed from, and cover the instant.  Anything else (another option, a refusal, a missing
or stale fire file, a window to open, a job to stop, a value it cannot write exactly as the
full path writes it) goes to ``entry.run``, the full path, which decides from scratch.  The
fast lane writes nothing but the same ``start_skipped``/``stop_skipped`` event, so the events
log cannot tell the two apart.
"""

import os
import stat
import sys
import time

FORMAT = "osched-fire 1"
EARLY = 60  # runtime.policy.EARLY, in seconds: a window opening within it counts as open
RACY_NS = 1_000_000_000  # plans.RACY_NS: a fire file written that close to the config's change is not used
EVENTS_MAX_BYTES = 5 * 1024 * 1024  # the events log is rotated above this (here and in state.py)
EVENTS_FILE = "events.jsonl"  # paths.EVENTS_FILE
LOCALTIME = "/etc/localtime"  # where the system zone is named (tzhost reads these too)
TIMEZONE_FILE = "/etc/timezone"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class _Fallback(Exception):
    """The fast lane cannot answer this firing: the full path will."""


def main(prog: str) -> int:
    """``osched-start`` / ``osched-stop``: the fast lane, else the full path."""
    argv = sys.argv[1:]
    try:
        said = _fast(prog, argv)
    except Exception:  # _Fallback, or anything unforeseen: the fast lane has written nothing
        from .entry import run

        return run(prog, argv)
    if said and sys.stdout is not None:  # -v, after the decision was logged: a failing
        try:  # stdout must not make a second decision
            sys.stdout.write(said)
            sys.stdout.flush()
        except OSError:
            return 1
    return 0


VALUED = frozenset({"--schedule", "--config", "--state-dir", "--systemd", "--until", "--reason"})
FLAGS = frozenset({"--resume", "--foreground", "--manual", "--adopt", "-v", "--verbose"})


def parse_args(argv: list[str]) -> tuple[list[str], dict[str, str | bool]]:
    """The entrypoints' options, parsed by hand (the full path's too: ``entry.parse_args``):
    (positionals, options).  ValueError names a usage error."""
    pos: list[str] = []
    opts: dict[str, str | bool] = {}
    it = iter(argv)
    for a in it:
        name, eq, value = a.partition("=")
        if name in VALUED:
            if not eq:
                value = next(it, "")
                if not value:
                    raise ValueError(f"{name} needs a value")
            opts[name] = value
        elif a in FLAGS:
            opts["--verbose" if a == "-v" else a] = True
        elif a in ("-h", "--help"):
            opts["--help"] = True
        elif a.startswith("-"):
            raise ValueError(f"unknown option {a}")
        else:
            pos.append(a)
    return pos, opts


def _args(prog: str, argv: list[str]) -> tuple[str, str | None, str, str, bool]:
    """(job, schedule, config, state dir, verbose) of a plain firing, or _Fallback."""
    pos, parsed = parse_args(argv)  # a usage error: the full path reports it
    if not set(parsed) <= {"--schedule", "--config", "--state-dir", "--verbose"}:
        raise _Fallback  # --resume, --foreground, --manual, --help ...
    opts = {k: v for k, v in parsed.items() if isinstance(v, str)}
    verbose = bool(parsed.get("--verbose"))
    env = os.environ
    config = opts.get("--config") or env.get("OSCHED_CONFIG")
    state = opts.get("--state-dir") or env.get("OSCHED_STATE_DIR")
    sid = opts.get("--schedule")
    if len(pos) != 1 or not config or not state or (prog == "osched-start" and not sid):
        raise _Fallback  # default dirs need platformdirs; usage errors are the full path's
    if not _is_id(pos[0]) or (sid is not None and not _is_id(sid)):
        raise _Fallback  # not a name osched gives (it becomes part of a path here)
    return pos[0], sid, _absolute(config), _absolute(state), verbose


def _is_id(name: str) -> bool:
    """parse.ID_RE: a letter or digit, then letters, digits, ``_`` and ``-``; 50 at most."""
    return 0 < len(name) <= 50 and name[0] not in "_-" and _ID_CHARS.issuperset(name)


def _absolute(p: str) -> str:
    return os.path.abspath(os.path.expanduser(p))


def _now() -> float:
    raw = os.environ.get("OSCHED_NOW")
    if not raw:
        return time.time()
    from datetime import datetime

    t = datetime.fromisoformat(raw)  # ValueError: the full path reports it
    if t.tzinfo is None:
        raise _Fallback
    return t.timestamp()


# -- the trust checks (trust.py; a refusal is the full path's to report) -------------------------
def _owned(st: os.stat_result, uid: int) -> bool:
    return st.st_uid == uid and not others_write(st)


def others_write(st: os.stat_result) -> bool:
    """Writable by another user: by others, or by a group that is not the user's own private
    group (``trust.writable_by_others``)."""
    if st.st_mode & stat.S_IWOTH:
        return True
    if not st.st_mode & stat.S_IWGRP:
        return False
    from .osdep import private_group

    return not private_group(st.st_gid)


def bad_folder(path: str, uid: int) -> tuple[str, os.stat_result] | None:
    """The first folder above ``path`` (resolved) that another user could change: owned by
    someone other than the user or root, or writable by others and not sticky.  None if
    there is none (missing folders are skipped).  ``trust.check_folders`` words the refusal."""
    d = os.path.realpath(path)
    while True:
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
        try:
            st = os.stat(d)
        except FileNotFoundError:
            continue
        if st.st_uid not in (0, uid) or (others_write(st) and not st.st_mode & stat.S_ISVTX):
            return d, st


def _folders(path: str, uid: int) -> None:
    if bad_folder(path, uid) is not None:
        raise _Fallback


def _trusted_config(path: str, uid: int) -> list[int]:
    """trust.open_config: the config's identity, from the descriptor that was checked."""
    real = path
    link = os.lstat(path)
    if stat.S_ISLNK(link.st_mode):
        if link.st_uid not in (0, uid):
            raise _Fallback
        real = os.path.realpath(path)
    _folders(real, uid)
    fd = os.open(real, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode) or not _owned(st, uid):
        raise _Fallback
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _trusted_state(root: str, uid: int) -> None:
    """trust.check_state_dir, for a state dir that exists (the full path creates one)."""
    _folders(root, uid)
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode) or not _owned(st, uid):
        raise _Fallback


def read_nofollow(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes, never through a symlink (``state.read_nofollow``)."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# -- the fire file ------------------------------------------------------------------------------
def fire_path(state: str, config: str, job: str) -> str:
    """``<state>/plans/<crc32 of the config path>/<job>.fire`` (beside the job's plan)."""
    import zlib

    return os.path.join(state, "plans", f"{zlib.crc32(config.encode('utf-8')):08x}", f"{job}.fire")


class Fire:
    """A parsed fire file: its stamp and each schedule's windows, ``(id, enabled, [(start,
    end), ...])`` in the job's order, windows in start order, UTC seconds."""

    __slots__ = ("config", "horizon", "identity", "schedules", "system_zone", "tzpath", "written", "zones")

    def __init__(self, text: str) -> None:
        lines = text.split("\n")
        if lines[0] != FORMAT or not lines[1].startswith("config "):
            raise ValueError("not a fire file")
        self.config = lines[1][7:]
        head = [line.split(" ") for line in lines[2:5]]
        if [h[0] for h in head] != ["identity", "written", "horizon"]:
            raise ValueError("not a fire file")
        self.identity = [int(x) for x in head[0][1:]]
        self.written = int(head[1][1])
        self.horizon = (int(head[2][1]), int(head[2][2]))
        self.zones: list[tuple[str, int, int]] = []
        self.tzpath = ""
        self.system_zone = ""
        self.schedules: list[tuple[str, bool, list[tuple[int, int]]]] = []
        windows: list[tuple[int, int]] = []
        for line in lines[5:]:
            if not line:
                continue
            kind, _, rest = line.partition(" ")
            if kind == "w":
                a, b = rest.split(" ")
                windows.append((int(a), int(b)))
            elif kind == "schedule":
                sid, enabled = rest.split(" ")
                windows = []
                self.schedules.append((sid, enabled == "1", windows))
            elif kind == "zone":
                zpath, mtime, size = rest.rsplit(" ", 2)
                self.zones.append((zpath, int(mtime), int(size)))
            elif kind == "tzpath":
                self.tzpath = rest
            elif kind == "systemzone":
                self.system_zone = rest
            else:
                raise ValueError(f"unknown line {kind!r}")

    def fresh(self, config: str, identity: list[int], now: float) -> bool:
        """Usable for a decision at ``now`` about the config with ``identity``."""
        if self.config != config or self.identity != identity:
            return False
        if max(identity[3], identity[4]) >= self.written - RACY_NS:
            return False  # racily clean: an edit in the same tick could keep the identity
        if not self.horizon[0] <= now or not now + EARLY < self.horizon[1]:
            return False
        if os.environ.get("PYTHONTZPATH", "") != self.tzpath:
            return False  # zoneinfo would look for the zones elsewhere
        if system_zone_key() != self.system_zone:
            return False  # a config without `timezone` means the system zone, which changed
        for zpath, mtime, size in self.zones:  # the zone rules the windows were computed with
            try:
                st = os.stat(zpath)
            except OSError:
                return False
            if st.st_mtime_ns != mtime or st.st_size != size:
                return False
        return True


def system_zone_key() -> str:
    """What names the system zone, as it stands (the link /etc/localtime and the identity of
    the file it leads to, /etc/timezone's size and mtime): a config without ``timezone``
    means that zone, so the plans and fire files made with one are stale when it changes."""
    parts = []
    try:
        parts.append(os.readlink(LOCALTIME))
    except OSError:
        parts.append("")
    for path in (LOCALTIME, TIMEZONE_FILE):
        try:
            st = os.stat(path)
        except OSError:
            parts.append("")
            continue
        parts.append(f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}")
    return "|".join(parts).replace("\n", "?")


def _iso(t: int) -> str:
    """state.iso of a whole UTC second."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


# -- decisions ----------------------------------------------------------------------------------
def _start(fire: Fire, sid: str, now: float) -> str:
    """runtime.policy.start_precheck when it skips: the reason."""
    for s, enabled, windows in fire.schedules:
        if s != sid:
            continue
        if not enabled:
            return f"schedule '{sid}' is disabled"
        nxt = None
        for a, b in windows:
            if a <= now < b or (now < a <= now + EARLY < b):
                raise _Fallback  # open, or opening within a minute: a start to decide
            if nxt is None and a > now:
                nxt = a
        if nxt is None:
            raise _Fallback  # beyond the horizon (fresh() makes this rare)
        return f"outside the window of {sid} (next start {_iso(nxt)})"
    raise _Fallback  # no such schedule: the full path says so


def _window_open(fire: Fire, job: str, now: float) -> str | None:
    """runtime.policy.keep_running for a stop firing: the window open at now + EARLY that ends
    last (the first such, in the job's order), as the skip reason."""
    t = now + EARLY
    best: tuple[int, str] | None = None
    for sid, enabled, windows in fire.schedules:
        if not enabled:
            continue
        for a, b in reversed(windows):  # open_windows: latest start first
            if a <= t < b and (best is None or b > best[0]):
                best = (b, sid)
    if best is None:
        return None
    return f"window {job}/{best[1]} is open until {_iso(best[0])}"


def _no_overrides(state: str, job: str) -> None:
    """Neither override file exists (the full path reads them, and clears an expired one with
    an event)."""
    for kind in ("stop", "start"):
        try:
            os.lstat(os.path.join(state, "jobs", job, f"override-{kind}.json"))
        except FileNotFoundError:
            continue
        raise _Fallback


def _not_running(state: str, job: str) -> bool:
    """Under the job's lock: no process of the job's (decide.stop_job's "not running").  Only
    what can be read exactly; anything else is the full path's."""
    try:
        raw = read_nofollow(os.path.join(state, "jobs", job, "state.json"))
    except FileNotFoundError:
        return True
    st = _json_object(raw.decode("utf-8"))
    if not isinstance(st.get("crashes", 0), int):  # what JobState.from_dict checks: a corrupt
        return False  # state file is the full path's to move aside
    for name in ("pid", "pgid", "supervisor_pid"):
        value = st.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return False
    if st.get("pid") is not None or st.get("supervisor_pid") is not None:
        return False
    if st.get("outcome") in ("running", "backoff"):
        return False
    pgid, since = st.get("pgid"), st.get("pgid_start")
    if not pgid or not isinstance(since, str) or not since.isdigit():
        return True  # proc.leftovers finds nothing either
    assert isinstance(pgid, int)
    if sys.platform == "win32":  # pragma: no cover - the fast lane is POSIX only
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True  # no process is left in that group
    except OSError:
        pass
    return False


def _json_object(text: str) -> dict[str, object]:
    """A JSON object, with the C scanner ``json`` itself uses (``json.decoder`` would import
    ``re``, the largest import on this path)."""
    import _json

    class _Context:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int

        @staticmethod
        def parse_constant(name: str) -> float:
            raise ValueError(name)

    obj, end = _json.make_scanner(_Context())(text, 0)  # type: ignore[arg-type]
    if not isinstance(obj, dict) or text[end:].strip():
        raise ValueError("not a JSON object")
    return obj


def _lock(state: str, job: str) -> int:
    """The job's lock (state.StateDir.lock), taken without waiting: a busy lock means another
    decision is under way, and the full path waits for it."""
    from .osdep import try_lock  # fcntl.flock; osdep imports nothing else

    jobdir = os.path.join(state, "jobs", job)
    if not os.path.isdir(jobdir):
        raise _Fallback
    fd = os.open(os.path.join(jobdir, "lock"), os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o600)
    try:
        held = try_lock(fd, blocking=False)
    except BaseException:
        os.close(fd)
        raise
    if not held:
        os.close(fd)
        raise _Fallback
    return fd


# -- the events log (state.StateDir.event, byte for byte) ---------------------------------------
_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def json_string(s: str) -> str:
    """``json.dumps(s, ensure_ascii=False)``."""
    out = []
    for c in s:
        o = ord(c)
        if c in _ESC:
            out.append(_ESC[c])
        elif o < 0x20:
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            raise _Fallback  # not UTF-8 encodable: the full path handles it
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def event_line(now: float, job: str, event: str, schedule: str | None, reason: str) -> bytes:
    fields = [("time", _iso(int(now))), ("job", job), ("event", event)]
    if schedule is not None:
        fields.append(("schedule", schedule))
    fields.append(("reason", reason))
    body = ", ".join(f"{json_string(k)}: {json_string(v)}" for k, v in fields)
    return ("{" + body + "}\n").encode("utf-8")


def append_event(state: str, line: bytes) -> None:
    """Append one line to the events log (rotated above EVENTS_MAX_BYTES): one ``write`` in
    append mode, never through a symlink.  Never raises (``state.StateDir.event`` uses it too)."""
    path = os.path.join(state, EVENTS_FILE)
    try:
        try:
            if os.stat(path).st_size > EVENTS_MAX_BYTES:
                os.replace(path, path + ".1")
        except FileNotFoundError:
            pass
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass  # as the full path: a full disk must not turn a decision into a crash


def _fast(prog: str, argv: list[str]) -> str:
    """The skip's decision, logged: what ``-v`` prints ("" without it)."""
    if sys.platform == "win32" or os.name != "posix" or prog not in ("osched-start", "osched-stop"):
        raise _Fallback
    job, sid, config, state, verbose = _args(prog, argv)
    now = _now()
    uid = os.geteuid()
    _trusted_state(state, uid)  # the trust check comes first, as on the full path
    ident = _trusted_config(config, uid)
    fire = Fire(read_nofollow(fire_path(state, config, job)).decode("utf-8"))
    if not fire.fresh(config, ident, now):
        raise _Fallback
    lock = -1
    try:
        if prog == "osched-start":
            assert sid is not None
            reason, event = _start(fire, sid, now), "start_skipped"
        else:
            event = "stop_skipped"
            _no_overrides(state, job)
            found = _window_open(fire, job, now)
            if found is None:
                lock = _lock(state, job)
                if not _not_running(state, job):
                    raise _Fallback  # a job to stop (or leftovers to look for)
                found = "not running"
            reason = found
        line = event_line(now, job, event, sid, reason)
        append_event(state, line)
    finally:
        if lock >= 0:
            os.close(lock)
    return f"{job}: {reason}\n" if verbose else ""
