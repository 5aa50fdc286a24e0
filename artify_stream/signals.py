"""Ctrl-C and SIGTERM end a job the same way: as a KeyboardInterrupt in the main thread.

SIGTERM (docker stop, systemd, `timeout`, CI time-outs) is raised as `Terminated`, a
KeyboardInterrupt, so every clean-up path written for Ctrl-C (finish the partial file, keep the
last checkpoint, close the sinks) runs for it too; the exit code then says which it was.
"""

from __future__ import annotations

import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_received: int | None = None
#: > 0 while the main thread is inside a `held` call; a stop arriving meanwhile waits in `_pending`.
_holding = 0
_pending: int | None = None


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT). A class of our own, unlike KeyboardInterrupt, can be watched by weak reference."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C."""


#: A stop is sent again after this long when it was lost: raised inside an import (where it can be
#: swallowed by an import callback that ignores exceptions: the Ctrl-C lost, the job going on, 7 of
#: 111 tries during `import torch`; inside a native library's import it is the likely cause of the
#: one start-up Ctrl-C the suite saw end by abort, exit -6) it waits until the import is over; raised
#: and then dropped unhandled (a library callback that only prints "Exception ignored in ..."), it
#: is raised again.
REDELIVER_S = 0.02

#: The stop last raised, watched until code that acts on it calls `handled`: if it is freed before
#: that, something swallowed it, and it is sent again.
_watched: weakref.ref | None = None


def _send_again(signum: int) -> None:
    timer = threading.Timer(REDELIVER_S, signal.pthread_kill, (threading.main_thread().ident, signum))
    timer.daemon = True
    try:
        timer.start()
    except RuntimeError:  # interpreter shutdown: nothing is left to stop
        pass


def _stop(signum: int) -> KeyboardInterrupt:
    global _watched
    stop = Terminated() if signum == signal.SIGTERM else Interrupted()
    # The callback runs only while its weak reference lives: `handled` (or the next stop) drops it.
    _watched = weakref.ref(stop, lambda _ref: _send_again(signum))
    return stop


def handled() -> None:
    """Code that acts on a stop (the CLI's edge, a pipeline finishing its file) says so: from here
    on the stop is the caller's, and it is not sent again when it is freed."""
    global _watched
    _watched = None


def _in_import(frame) -> bool:
    """Whether the main thread is inside an `import` (its machinery's frames are on the stack)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_signal(signum: int, frame) -> None:
    global _received, _pending
    _received = signum
    if _holding:  # inside a held call: raised as it returns (see `held`)
        _pending = signum
        return
    if _in_import(frame):
        _send_again(signum)
        return
    _pending = None
    raise _stop(signum)


def held(call: Callable, *args, **kwargs):
    """`call(*args, **kwargs)` with a Ctrl-C or SIGTERM that arrives meanwhile raised right after it
    returns, not inside it. For the main thread's queue puts and gets: a stop raised just as a
    queue's lock is taken (between the acquire and the `with` block that releases it) leaves the
    lock held, and the next put on that queue (the end marker, as the stage unwinds) waits forever.
    Other threads never get the stop, so for them this is a plain call."""
    global _holding, _pending
    if threading.current_thread() is not threading.main_thread():
        return call(*args, **kwargs)
    _holding += 1
    try:
        return call(*args, **kwargs)
    finally:
        _holding -= 1
        if _pending is not None and not _holding:
            signum, _pending = _pending, None
            raise _stop(signum)


def _on_unraisable(unraisable) -> None:
    """A stop raised inside a callback whose errors Python can only print and drop (a `__del__`, a
    weakref or garbage-collector callback: CI saw "Exception ignored in: 'Path'" and its traceback
    on a Ctrl-C at start-up) is not an error to show: it prints nothing, and it is sent again once
    freed (see `_watched`). Anything else goes to the hook that was there before."""
    if isinstance(stop_behind(unraisable.exc_value), (Interrupted, Terminated)):
        return
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


def install() -> None:
    """Call from the main thread of the program (the CLI does, first thing)."""
    global _previous_unraisablehook
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if sys.unraisablehook is not _on_unraisable:
        _previous_unraisablehook, sys.unraisablehook = sys.unraisablehook, _on_unraisable


@contextmanager
def deferred() -> Iterator[None]:
    """A short write that must not be cut in the middle (a checkpoint: torch.save turns an
    interrupt inside its zip writer into a RuntimeError): a Ctrl-C or SIGTERM arriving meanwhile
    takes effect, as usual, right after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: pending.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            signal.raise_signal(pending[0])


def finished(code: int) -> None:
    """The command is done (its files are closed): a Ctrl-C or SIGTERM during interpreter shutdown
    (joining threads, flushing) ends the process at once with the command's own exit code,
    instead of a KeyboardInterrupt escaping into shutdown and killing it by signal."""
    import os

    def _exit_now(signum: int, frame) -> None:
        os._exit(code)

    signal.signal(signal.SIGINT, _exit_now)
    signal.signal(signal.SIGTERM, _exit_now)


def stop_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind an error, if one is: a stop that lands inside an import or a
    library can come out re-raised as another error (Python 3.11 wraps one raised while `import
    torch` sets up a class in a RuntimeError), and it is still a stop, not a failure."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def stop_exit_code(exc: BaseException | None = None) -> int:
    """128 + the signal that stopped us: 130 for Ctrl-C, 143 for SIGTERM."""
    if isinstance(exc, Terminated) or _received == signal.SIGTERM:
        return 128 + signal.SIGTERM
    return 128 + signal.SIGINT
