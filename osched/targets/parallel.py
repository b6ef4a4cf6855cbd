"""``render --target all`` at scale: the targets rendered in two processes, their text written
in order, straight to the output.

For a big config on POSIX with two or more CPUs, the targets are split in two halves of about
equal cost (``Target.cost``) and a forked child renders one half while this process renders
the other (the child inherits the loaded config; the exact host-local firings that Task
Scheduler and launchd share are computed by the one that renders both).

Nothing is written until both halves rendered without error: a failure prints nothing but
its message.  Then the text goes out in target order, each process writing its own targets'
text to the shared output descriptor in turn (a byte on a pipe passes the turn), so 100 MB of
text is never copied from one process to the other.  An output without a descriptor (a test's
in-memory stream) gets the child's text through unlinked temporary files instead.  The bytes
are the same as rendering one by one (tests/test_render.py checks both ways).
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

from ..core.collect import paused_collection
from .base import File, RenderContext

if TYPE_CHECKING:
    from ..model import Config

# the text to print for one target's files (``render``'s ``==>`` headers, or --output's paths)
Emit = Callable[[str, list[File]], Iterable[str]]
Render = Callable[[str, "Config", RenderContext], list[File]]

PARALLEL_MIN = 2000  # schedules; below this a second process costs more than it saves
CHUNK = 1 << 20  # characters encoded and written at a time: no 100 MB string is ever built


def write_text(out: IO[bytes], pieces: Iterable[str]) -> None:
    """``pieces`` to ``out`` as UTF-8 (``encoded``)."""
    for chunk in encoded(pieces):
        out.write(chunk)


def encoded(pieces: Iterable[str]) -> Iterator[bytes]:
    """``pieces`` as UTF-8, a chunk of about a megabyte at a time (joining 80,000 files into
    one string, then one bytes object, costs more than rendering some of them)."""
    chunk: list[str] = []
    size = 0
    for piece in pieces:
        chunk.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(chunk).encode()
            chunk.clear()
            size = 0
    if chunk:
        yield "".join(chunk).encode()


def render_each(
    names: tuple[str, ...],
    cfg: Config,
    ctx: RenderContext,
    render: Render,
    emit: Emit,
    out: IO[bytes],
    cost: dict[str, int],
    meanwhile: Callable[[], object] = lambda: None,
) -> None:
    """Write ``emit(name, render(name, cfg, ctx))`` for each target of ``names`` to ``out``,
    in order; in two processes for a big config (the module's docstring), split by ``cost``
    (each target's relative render cost).  ``meanwhile`` runs in this process once its own
    targets are rendered, before any text is written (while the child may still render)."""
    count = sum(len(j.enabled_schedules) for j in cfg.jobs.values())
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def text(name: str) -> Iterable[str]:
        return emit(name, render(name, cfg, ctx))

    with _no_collection(count):
        if sys.platform == "win32" or len(names) < 2 or count < PARALLEL_MIN or cpus < 2:
            texts = [text(n) for n in names]  # all rendered before a byte goes out
            meanwhile()
            for t in texts:
                write_text(out, t)
            return
        _render_forked(names, text, out, cost, meanwhile)


@contextmanager
def _no_collection(count: int) -> Iterator[None]:
    """Rendering makes no reference cycles worth collecting, but hundreds of thousands of
    short-lived objects: at scale the cyclic collector's full passes over the loaded config
    cost a tenth of the time, and in a forked child they dirty every page it shares.  So the
    loaded objects are frozen (out of the collector's sight) and collection paused."""
    if count < PARALLEL_MIN:
        yield
        return
    with paused_collection(freeze=True):
        yield


def _descriptor(out: IO[bytes]) -> bool:
    try:
        out.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return True


def _render_forked(
    names: tuple[str, ...],
    text: Callable[[str], Iterable[str]],
    out: IO[bytes],
    cost: dict[str, int],
    meanwhile: Callable[[], object],
) -> None:
    """``render_each`` in two processes: ``text(name)`` renders a target and gives its text."""
    if sys.platform == "win32":  # pragma: no cover - render_each renders serially there
        raise NotImplementedError

    mine, theirs = halves(names, cost)
    theirs = [n for n in names if n in theirs]  # the child writes its targets in output order
    # no descriptor to share: the child's text comes back through files (closed below)
    sinks: dict[str, IO[bytes]] = {}
    if not _descriptor(out):
        sinks = {n: tempfile.TemporaryFile() for n in theirs}  # noqa: SIM115 - closed below
    from_parent, to_child = os.pipe()  # (read end, write end)
    from_child, to_parent = os.pipe()
    out.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (its output is compared with the serial one)
        os.close(to_child)
        os.close(from_child)
        _child(theirs, text, out, sinks, from_parent, to_parent)
    os.close(from_parent)
    os.close(to_parent)
    done = False
    try:
        texts = {n: text(n) for n in mine}
        meanwhile()
        ready = {n: list(encoded(texts.pop(n))) for n in mine}  # while the child may still render
        _answer(from_child, b"r", theirs)  # the child rendered its half: nothing failed
        for n in names:
            if n in ready:
                for chunk in ready.pop(n):
                    out.write(chunk)
                continue
            out.flush()
            os.write(to_child, b"g")  # the child's turn: it writes n
            _answer(from_child, b"d", theirs)
            if n in sinks:
                sinks[n].seek(0)
                out.write(sinks[n].read())
        done = True
    finally:
        os.close(to_child)  # the child's end of turns (it exits)
        if not done:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(from_child)
        for fh in sinks.values():
            fh.close()


def _answer(fd: int, expected: bytes, theirs: list[str]) -> None:
    """Read the child's answer: ``expected``, or the exception it failed with (raised here,
    as the same exception: a usage error in the child reads as one in this process)."""
    first = os.read(fd, 1)
    if first == expected:
        return
    if first == b"x":  # then the pickled exception, until the child exits
        data = b"".join(iter(lambda: os.read(fd, 1 << 16), b""))
        try:
            error = pickle.loads(data)
        except Exception:
            error = None
        if isinstance(error, BaseException):
            raise error
    raise RuntimeError(f"rendering {', '.join(theirs)} in a child process failed")


def _child(  # pragma: no cover - runs in the forked child
    theirs: list[str],
    text: Callable[[str], Iterable[str]],
    out: IO[bytes],
    sinks: dict[str, IO[bytes]],
    turns: int,
    answers: int,
) -> None:
    code = 1
    try:
        try:
            ready = [(n, _writable(text(n))) for n in theirs]
            os.write(answers, b"r")
            ahead = _encode_until_turn(ready, turns)
            for n, chunks in ready:
                if not os.read(turns, 1):
                    break  # the parent failed: nothing more to write
                dest = sinks.get(n, out)
                for chunk in ahead.pop(n, ()):
                    dest.write(chunk)
                for chunk in chunks:
                    dest.write(chunk)
                dest.flush()
                os.write(answers, b"d")
            code = 0
        except BaseException as e:
            try:
                data = pickle.dumps(e)
            except Exception:
                data = pickle.dumps(RuntimeError(f"{type(e).__name__}: {e}"))
            os.write(answers, b"x" + data)
    finally:
        os._exit(code)


def _writable(pieces: Iterable[str]) -> Iterator[bytes]:
    """The child's text for one target as chunks to write in its turn.  ASCII text (the usual
    case: ``str.isascii`` reads a flag, it does not scan) cannot fail to encode, so it is
    encoded a megabyte at a time when there is time for it (``_encode_until_turn``) or as it
    is written; other text is encoded now, so an error in it is raised before anything is
    written."""
    text = list(pieces)
    if all(p.isascii() for p in text):
        return encoded(text)
    return iter(list(encoded(text)))


def _encode_until_turn(ready: list[tuple[str, Iterator[bytes]]], turns: int) -> dict[str, list[bytes]]:
    """Encode the child's text ahead while its turn has not come (the parent may still be
    rendering, or writing its own text), and no further: what is left is encoded as it is
    written.  So the child, which renders the larger half, spends no time on 80 MB of bytes
    while the parent waits for it, and none in its turn when the parent kept it waiting."""
    if sys.platform == "win32":  # pragma: no cover - render_each renders serially there
        raise NotImplementedError
    import select

    ahead: dict[str, list[bytes]] = {}
    waiting = select.poll()
    waiting.register(turns, select.POLLIN)
    for n, chunks in ready:
        done = ahead.setdefault(n, [])
        while not waiting.poll(0):
            chunk = next(chunks, None)
            if chunk is None:
                break
            done.append(chunk)
        else:
            break  # the turn came (or the parent ended)
    return ahead


def halves(names: tuple[str, ...], cost: dict[str, int]) -> tuple[list[str], list[str]]:
    """``names`` in two parts of about equal ``cost``: (this process's, the child's)."""
    a: list[str] = []
    b: list[str] = []
    for n in sorted(names, key=lambda n: -cost.get(n, 1)):
        (a if sum(cost.get(x, 1) for x in a) <= sum(cost.get(x, 1) for x in b) else b).append(n)
    return a, b
