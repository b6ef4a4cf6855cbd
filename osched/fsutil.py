"""Atomic file writes: temp file in the same directory, fsync, rename, fsync the directory."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from .osdep import WINDOWS, try_lock


def atomic_write(
    path: Path, data: bytes, mode: int | None = None, durable: bool = True
) -> os.stat_result | None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a mix.

    The file keeps its current permission bits unless ``mode`` is given; a new file gets
    ``mode`` or 0o644 (0o600 is the caller's choice for private state).  ``durable=False``
    skips the fsyncs (a cache that is rebuilt when lost).  Returns the new file's stat once
    it is in place (None if another file took its name meanwhile).
    """
    path = Path(path)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    import tempfile  # not on the entrypoints' skip path, which writes nothing

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
            inode = os.fstat(fh.fileno()).st_ino
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(directory)
    st = os.lstat(path)
    return st if st.st_ino == inode else None


def create_new(path: Path, data: bytes, mode: int) -> bool:
    """Create ``path`` with ``data`` if it does not exist (False if it does): one file
    system operation instead of a temp file and a rename, for files no reader looks at until
    the writer says so.  Never follows a symlink; a failed write removes the file again."""
    try:
        fd = os.open(
            path,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
            | getattr(os, "O_BINARY", 0),
            mode,
        )
    except FileExistsError:
        return False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return create_new(path, data, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(path, mode)  # whatever the umask took away
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    return True


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    if WINDOWS:  # pragma: no cover - Windows cannot open directories
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked_file(path: Path) -> Iterator[None]:
    """An exclusive lock on the file at ``path`` that survives atomic replacement: the lock is
    taken on the open file, and retaken when ``path`` was renamed over meanwhile (so a waiting
    editor locks the file the previous editor wrote).  A missing file is not created.  POSIX
    only; elsewhere no lock is taken (the caller's compare-before-rename still holds)."""
    if WINDOWS:  # pragma: no cover - a file open elsewhere cannot be renamed over there
        yield
        return
    while True:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            try_lock(fd, blocking=True)
            st, now = os.fstat(fd), os.stat(path)
        except BaseException:
            os.close(fd)
            raise
        if (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino):
            break
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def lock_path(path: Path) -> Iterator[None]:
    """An exclusive lock on a lock file at ``path`` (created 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(
        path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o600
    )
    try:
        try_lock(fd, blocking=True)
        yield
    finally:
        os.close(fd)


def read_fd(fd: int, limit: int | None = None) -> bytes:
    """Everything left to read from ``fd``; with ``limit``, OSError(EFBIG) past that many bytes."""
    chunks = []
    size = 0
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            import errno

            raise OSError(errno.EFBIG, f"larger than {limit} bytes")
    return b"".join(chunks)


def sync_dirs(directories: set[Path] | list[Path]) -> None:
    """Make what was written into ``directories`` durable with one sync per file system
    (``syncfs`` on Linux, ``sync`` elsewhere) instead of an fsync per file: files written with
    ``atomic_write(durable=False)``, then this once."""
    seen: set[int] = set()
    for d in directories:
        try:
            dev = os.stat(d).st_dev
        except OSError:
            continue
        if dev in seen:
            continue
        seen.add(dev)
        _syncfs(d)


def _syncfs(directory: Path) -> None:
    if sys.platform != "linux":  # pragma: no cover
        if hasattr(os, "sync"):
            os.sync()
        return
    import ctypes

    fd = os.open(directory, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
