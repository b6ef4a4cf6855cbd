"""The firing fast lane: the skips ``osched-start`` and ``osched-stop`` can answer from the
job's fire file, for little more than the interpreter's own start (DESIGN section 6).

A thin adapter over the core: the trust checks (``core.trust``), the state store
(``core.store``), the fire file and its freshness (``core.cache``), the window rule
(``core.rule``) and the events line (``core.events``) are the ones the full path uses.  It
imports nothing of the full path; ``firing.main`` runs it first and the full path
(``entry.run``) whenever it raises ``Fallback``.  It answers only:

* ``osched-start JOB --schedule S``: S is disabled, or no window of S is open now or opens
  within a minute (no lock, no state: the full path takes none there either);
* ``osched-stop JOB``: a window of the job is open a minute from now, or, under the job's lock,
  no override file exists and the state file records nothing running and no process is left
  in the last run's process group.

Anything else (another option, a refusal, a file the store will not vouch for, a missing or
stale fire file, a window to open, a job to stop) is the full path's.
"""

from __future__ import annotations

import os
import sys

from .core import cache, events, ids, jobstate, rule
from .core.argv import parse_args
from .core.store import Store, try_lock
from .core.timefmt import NOW_ENV, iso_utc, parse_now
from .core.trust import Untrusted, open_config


class Fallback(Exception):
    """The fast lane cannot answer this firing: the full path will."""


def _args(prog: str, argv: list[str]) -> tuple[str, str | None, str, str, bool]:
    """(job, schedule, config, state dir, verbose) of a plain firing, or Fallback."""
    pos, parsed = parse_args(argv)  # a usage error: the full path reports it
    if not set(parsed) <= {"--schedule", "--config", "--state-dir", "--verbose"}:
        raise Fallback  # --resume, --foreground, --manual, --help ...
    opts = {k: v for k, v in parsed.items() if isinstance(v, str)}
    config = opts.get("--config") or os.environ.get("OSCHED_CONFIG")
    state = opts.get("--state-dir") or os.environ.get("OSCHED_STATE_DIR")
    sid = opts.get("--schedule")
    if len(pos) != 1 or not config or not state or (prog == "osched-start" and not sid):
        raise Fallback  # default dirs need platformdirs; usage errors are the full path's
    if not ids.is_id(pos[0]) or (sid is not None and not ids.is_id(sid)):
        raise Fallback  # not a name osched gives (it becomes part of a path)
    absolute = [os.path.abspath(os.path.expanduser(p)) for p in (config, state)]
    return pos[0], sid, absolute[0], absolute[1], bool(parsed.get("--verbose"))


def _now() -> float:
    raw = os.environ.get(NOW_ENV)
    if not raw:
        import time

        return time.time()
    return parse_now(raw)  # ValueError: the full path's clock reports it


def _fire(store: Store, config: str, job: str, now: float) -> cache.Fire:
    """The job's fire file, from the store, fresh for the config's checked descriptor."""
    fd, st = open_config(config, store.uid)
    os.close(fd)
    ident = cache.identity(st)
    raw = store.read(store.cache(config, f"{job}.fire"), "fire")
    fire = cache.parse_fire(raw.decode("utf-8"))
    if not cache.fresh(fire.stamp, config, ident) or not fire.covers(now, rule.EARLY):
        raise Fallback
    return fire


def _start(fire: cache.Fire, sid: str, now: float) -> str:
    """The start firing's skip reason (``runtime.policy.start_precheck`` when it skips)."""
    for s, enabled, windows in fire.schedules:
        if s != sid:
            continue
        if not enabled:
            return f"schedule '{sid}' is disabled"
        if rule.start_index(windows, now) is not None:
            raise Fallback  # open, or opening within a minute: a start to decide
        if rule.start_index(fire.skipped.get(sid, ()), now) is not None:
            raise Fallback  # a window its dates skip: the full path names the date
        nxt = rule.next_start(windows, now)
        if nxt is None:
            raise Fallback  # beyond the horizon
        return f"outside the window of {sid} (next start {iso_utc(nxt)})"
    raise Fallback  # no such schedule: the full path says so


def _stop(store: Store, fire: cache.Fire, job: str, now: float) -> str:
    """The stop firing's skip reason (``runtime.policy.stop_decision`` when it skips, and
    ``decide.stop_job``'s "not running")."""
    if any(store.exists(store.override(job, kind)) for kind in ("stop", "start")):
        raise Fallback  # the full path reads them (and clears an expired one, with an event)
    found = _window_open(fire, job, now)
    if found is not None:
        return found
    if not os.path.isdir(store.path("jobs", job)):
        raise Fallback
    fd = store.lock_fd(job)
    try:
        if not try_lock(fd, blocking=False):
            raise Fallback  # another decision is under way: the full path waits for it
        try:
            st = jobstate.parse(store.read(store.job(job, "state.json"), "state"))
        except FileNotFoundError:
            return "not running"
        if not jobstate.idle(st) or _leftovers(st):
            raise Fallback  # a job to stop, or leftovers to look for
        return "not running"
    finally:
        os.close(fd)


def _window_open(fire: cache.Fire, job: str, now: float) -> str | None:
    """``runtime.policy.keep_running`` for a stop firing, as the skip's reason."""
    enabled = [(s, w) for s, on, w in fire.schedules if on]
    found = rule.latest_open([w for _, w in enabled], (now + rule.EARLY,))
    if found is None:
        return None
    sid, windows = enabled[found[0]]
    return f"window {job}/{sid} is open until {iso_utc(windows[found[1]][1])}"


def _leftovers(st: dict[str, object]) -> bool:
    """A process may be left in the last run's group (the full path looks closer)."""
    pgid, since = st.get("pgid"), st.get("pgid_start")
    if not isinstance(pgid, int) or not isinstance(since, str) or not since.isdigit():
        return False  # the process layer finds nothing either
    if sys.platform == "win32":  # pragma: no cover - the fast lane is POSIX only
        return True
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


def answer(prog: str, argv: list[str]) -> str:
    """Decide and log a skip: what ``-v`` prints ("" without it).  Fallback otherwise."""
    if sys.platform == "win32" or prog not in ("osched-start", "osched-stop"):
        raise Fallback
    try:
        job, sid, config, state, verbose = _args(prog, argv)
        now = _now()
    except ValueError:
        raise Fallback from None
    store = Store(state)
    if store.refusal() is not None or not os.path.isdir(state):
        raise Fallback  # the trust check comes first, and the full path words a refusal
    try:
        fire = _fire(store, config, job, now)
        if prog == "osched-start":
            assert sid is not None
            event, reason = "start_skipped", _start(fire, sid, now)
        else:
            event, reason = "stop_skipped", _stop(store, fire, job, now)
    except (OSError, Untrusted, ValueError, IndexError, UnicodeDecodeError):
        raise Fallback from None
    store.append_event(events.encode(events.record(now, job, event, schedule=sid, reason=reason)))
    return f"{job}: {reason}\n" if verbose else ""
