"""The state store: the only door to the state dir.  Every path in it is built here, and every
byte read from it or written to it passes the same checks, whoever reads: a command, a firing,
the fast lane, a supervisor.

Layout (``$OSCHED_STATE_DIR``)::

    events.jsonl                      every decision, one JSON object per line (rotated by size)
    jobs/<job>/lock                   flock'ed around every decision about the job
    jobs/<job>/state.json             pid and start time, supervisor, window, crashes, outcome
    jobs/<job>/override-<kind>.json   a manual start or stop and when it expires
    jobs/<job>/output.log             the job's output (rotated by size)
    plans/<key>/_config.json, <job>.json, <job>.fire   caches of the config (``cache``)
    install/<config id>.toml          the install manifest of one config
    <target>/                         files a target keeps for its OS tool

The rules (POSIX; on Windows mode bits mean nothing and only the layout applies):

* every folder is created 0700, one level at a time, whatever the umask; an existing folder
  must be a real directory (no symlink), the user's, and writable by nobody else, or the
  store refuses it (``Untrusted``);
* every file is opened ``O_NOFOLLOW | O_NONBLOCK`` (no symlink is followed, a FIFO cannot hang
  a firing) and checked on the open descriptor: a regular file, the user's, writable by nobody
  else, no larger than its kind's cap; new files are 0600;
* writes go to a new file beside the old one, then ``rename``: a reader sees the old or the new
  bytes, never a mix.

A state, override or manifest file that fails a check is refused (the caller says so); a cache
file that fails one is not believed: ``cache`` treats it as missing and writes it anew.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from .trust import Untrusted, folder_refusal, owned, stat_refusal

EVENTS = "events.jsonl"
JOBS = "jobs"
PLANS = "plans"
INSTALL = "install"
OVERRIDE_KINDS = ("start", "stop")
EVENTS_MAX_BYTES = 5 * 1024 * 1024  # the events log is rotated above this

# the largest file of each kind the store reads: a planted 200 MB file costs nothing
CAPS = {
    "state": 1 << 20,
    "override": 1 << 16,
    "plan": 256 << 20,  # a whole config of 10,000 schedules is a few MB
    "fire": 64 << 20,
    "names": 16 << 20,  # job names and schedule ids, for shell completion
    "manifest": 256 << 20,
    "events": 64 << 20,
    "log": 1 << 40,
    "work": 64 << 20,
}

WINDOWS = sys.platform == "win32"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _part(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise ValueError(f"not a name in the state dir: {name!r}")
    return name


class Store:
    """The state dir at ``root`` (an absolute path), for the user ``uid`` (this process's)."""

    def __init__(self, root: str | os.PathLike[str], uid: int | None = None) -> None:
        self.root = os.fspath(root)
        if uid is not None:
            self.uid = uid
        elif sys.platform == "win32":
            self.uid = 0
        else:
            self.uid = os.geteuid()

    # -- layout: the only place state-dir paths are built -----------------------------------------
    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *(_part(p) for p in parts))

    @staticmethod
    def job(job: str, name: str) -> tuple[str, str, str]:
        return (JOBS, job, name)

    @staticmethod
    def override(job: str, kind: str) -> tuple[str, str, str]:
        if kind not in OVERRIDE_KINDS:
            raise ValueError(f"unknown override kind {kind!r}")
        return (JOBS, job, f"override-{kind}.json")

    @staticmethod
    def cache_key(config: str) -> str:
        """The caches' one key: the config's absolute path, as crc32 (no hashlib on the fast
        lane; a cache records its config path, so a collision costs only a rebuild)."""
        import zlib

        return f"{zlib.crc32(config.encode('utf-8', 'surrogateescape')):08x}"

    @classmethod
    def cache(cls, config: str, name: str) -> tuple[str, str, str]:
        return (PLANS, cls.cache_key(config), name)

    @staticmethod
    def manifest(config_id: str) -> tuple[str, str]:
        return (INSTALL, f"{config_id}.toml")

    # -- checks ------------------------------------------------------------------------------------
    def refusal(self) -> Untrusted | None:
        """Why the state dir itself must not be used (None: it may, or it does not exist yet)."""
        if WINDOWS:  # pragma: no cover
            return None
        bad = folder_refusal(self.root, self.uid, "state dir")
        if bad is not None:
            return bad
        try:
            st = os.lstat(self.root)
        except FileNotFoundError:
            return None
        return self._bad_dir(self.root, st)

    def _bad_dir(self, path: str, st: os.stat_result) -> Untrusted | None:
        what = "state dir" if path == self.root else "state dir folder"
        if not stat.S_ISDIR(st.st_mode):  # lstat: a symlink is not a directory here
            return Untrusted(f"{what} {path} is not a directory (a symlink or a file)")
        if st.st_uid != self.uid:
            return Untrusted(
                f"{what} {path} is owned by uid {st.st_uid}, not by uid {self.uid} "
                "(chown it, or run osched as its owner)"
            )
        if not owned(st, self.uid):
            fix = f"chmod go-w {path}" if path == self.root else f"chmod -R go-w {self.root}"
            return Untrusted(f"{what} {path} is writable by other users ({fix})")
        return None

    def ensure(self, *parts: str) -> str:
        """The folder ``root/parts...``: every level created 0700 when missing (the root's
        missing parents too), and every level checked, the root included."""
        bad = self.refusal()
        if bad is not None:
            raise bad
        if not os.path.isabs(self.root):
            raise ValueError(f"the state dir must be an absolute path: {self.root}")
        missing = []
        d = self.root
        while not os.path.lexists(d):
            missing.append(d)
            d = os.path.dirname(d)
        for level in reversed(missing):
            self._mkdir(level)
        d = self.root
        self._checked_dir(d)
        for p in parts:
            d = os.path.join(d, _part(p))
            if not os.path.lexists(d):
                self._mkdir(d)
            else:
                self._checked_dir(d)
        return d

    def _mkdir(self, d: str) -> None:
        try:  # noqa: SIM105 - contextlib is not loaded on the fast lane
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        if not WINDOWS:
            st = os.lstat(d)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == self.uid and st.st_mode & 0o777 != 0o700:
                os.chmod(d, 0o700)  # made by us under an umask that left bits of 0700 off
        self._checked_dir(d)

    def _checked_dir(self, d: str) -> None:
        if WINDOWS:  # pragma: no cover
            return
        bad = self._bad_dir(d, os.lstat(d))
        if bad is not None:
            raise bad

    def check_dirs(self, parts: tuple[str, ...]) -> None:
        """The folders holding ``root/parts``: each below the root the user's alone (raises
        Untrusted; FileNotFoundError when one is missing)."""
        if WINDOWS:  # pragma: no cover
            return
        d = self.root
        for p in parts[:-1]:
            d = os.path.join(d, _part(p))
            bad = self._bad_dir(d, os.lstat(d))
            if bad is not None:
                raise bad

    def _check_file(self, path: str, st: os.stat_result, kind: str) -> None:
        if not stat.S_ISREG(st.st_mode):
            raise Untrusted(f"{kind} file {path} is not a regular file")
        if not WINDOWS:
            bad = stat_refusal(st, path, self.uid, f"{kind} file")
            if bad is not None:
                raise bad
        if st.st_size > CAPS[kind]:
            raise Untrusted(f"{kind} file {path} is larger than it can be ({st.st_size} bytes)")

    # -- reading -----------------------------------------------------------------------------------
    def read(self, parts: tuple[str, ...], kind: str) -> bytes:
        """The bytes of ``root/parts``, read from the descriptor that was checked.
        FileNotFoundError when it is missing; Untrusted when it fails a check."""
        path = self.path(*parts)
        self.check_dirs(parts)
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _BINARY)
        try:
            st = os.fstat(fd)
            self._check_file(path, st, kind)
            chunks = []
            left = CAPS[kind] + 1
            while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
                chunks.append(chunk)
                left -= len(chunk)
            if left <= 0:
                raise Untrusted(f"{kind} file {path} is larger than it can be")
            return b"".join(chunks)
        except OSError as e:
            if e.errno == errno.ELOOP:  # the last part is a symlink
                raise Untrusted(f"{kind} file {path} is a symlink") from None
            raise
        finally:
            os.close(fd)

    def exists(self, parts: tuple[str, ...]) -> bool:
        """Something is at ``root/parts`` (not following a symlink)."""
        try:
            os.lstat(self.path(*parts))
        except FileNotFoundError:
            return False
        return True

    def listdir(self, *parts: str) -> list[str]:
        try:
            self.check_dirs((*parts, "x"))
            return sorted(os.listdir(self.path(*parts)))
        except (FileNotFoundError, NotADirectoryError):
            return []

    # -- writing -----------------------------------------------------------------------------------
    def write(self, parts: tuple[str, ...], data: bytes, *, durable: bool = True) -> None:
        """Replace ``root/parts`` with ``data`` (0600): a new file beside it, then a rename."""
        folder = self.ensure(*parts[:-1])
        path = os.path.join(folder, _part(parts[-1]))
        tmp = os.path.join(folder, f".{parts[-1]}.{os.urandom(6).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if not WINDOWS:
                os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            try:  # noqa: SIM105
                os.unlink(tmp)
            except OSError:
                pass
            raise
        if durable and not WINDOWS:
            dfd = os.open(folder, os.O_RDONLY | _CLOEXEC)
            try:
                os.fsync(dfd)
            except OSError:
                pass
            finally:
                os.close(dfd)

    def open_append(self, parts: tuple[str, ...], kind: str = "log") -> int:
        """A descriptor appending to ``root/parts`` (created 0600), checked like a read."""
        folder = self.ensure(*parts[:-1])
        path = os.path.join(folder, _part(parts[-1]))
        fd = os.open(
            path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _BINARY, 0o600
        )
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or (not WINDOWS and not owned(st, self.uid)):
                raise Untrusted(f"{kind} file {path} is not a regular file of the user's alone")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def append_event(self, line: bytes) -> None:
        """Append one line to the events log (rotated above EVENTS_MAX_BYTES): one ``write`` in
        append mode.  Never raises: a full disk or a refused folder must not turn a decision
        into a crash (the caller's stderr says what it could)."""
        try:
            path = self.path(EVENTS)
            try:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and st.st_size > EVENTS_MAX_BYTES:
                    os.replace(path, path + ".1")
            except FileNotFoundError:
                pass
            fd = self.open_append((EVENTS,), "events")
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except (OSError, Untrusted):
            pass

    def rotate(self, parts: tuple[str, ...], above: int, keep: int = 1) -> bool:
        """Move ``root/parts`` to ``<name>.1`` when it is larger than ``above``, ``.1`` to
        ``.2`` and so on, keeping ``keep`` old files (regular files of the user's only: a
        rename replaces a planted link, never writes through it)."""
        path = self.path(*parts)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(st.st_mode) or st.st_size <= above:
            return False
        for n in range(max(keep, 1), 1, -1):
            try:  # noqa: SIM105 - contextlib is not imported on the fast lane's path
                os.replace(f"{path}.{n - 1}", f"{path}.{n}")
            except FileNotFoundError:
                pass
        os.replace(path, path + ".1")
        return True

    def remove(self, parts: tuple[str, ...]) -> bool:
        """Remove ``root/parts`` (never what a symlink points to); False when it was missing."""
        try:
            self.check_dirs(parts)
            os.unlink(self.path(*parts))
        except FileNotFoundError:
            return False
        return True

    def remove_job(self, job: str) -> bool:
        """Remove the job's folder and what is in it (state, overrides, lock, logs): entries
        are unlinked, never followed.  False when there was none."""
        d = self.path(JOBS, job)
        try:
            self.check_dirs((JOBS, job, "x"))
            names = os.listdir(d)
        except FileNotFoundError:
            return False
        for name in names:
            path = os.path.join(d, name)
            if stat.S_ISDIR(os.lstat(path).st_mode):
                raise Untrusted(f"state dir folder {path} is not osched's (a folder in a job's folder)")
            os.unlink(path)
        os.rmdir(d)
        return True

    def lock_fd(self, job: str) -> int:
        """The job's lock file, opened (created 0600); the caller locks and closes it."""
        return self.open_append((JOBS, job, "lock"), "state")

    def install_lock_fd(self, config_id: str) -> int:
        """A config's install lock (a renewal holds it), opened like ``lock_fd``."""
        return self.open_append((INSTALL, f"{config_id}.lock"), "state")


if sys.platform == "win32":  # pragma: no cover - exercised through fakes
    import msvcrt

    def try_lock(fd: int, blocking: bool) -> bool:
        """An exclusive lock on the first byte of ``fd`` (``msvcrt.locking``; it retries for
        about 10 s when ``blocking``, so a blocking caller loops)."""
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                if not blocking:
                    return False
                import time

                time.sleep(0.05)
                continue
            return True

else:

    def try_lock(fd: int, blocking: bool) -> bool:
        """An exclusive ``flock`` on ``fd``; False when ``blocking`` is off and it is held."""
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
