"""Threads joined by bounded queues: a stop event, an end-of-stream marker, the first error kept.

Every stage loops `for item in stages.items(in_q)` and ends inside `with stages.stage(...)`,
so a stop is quiet, the first error (typed) is kept for the caller, and the next stage always
gets the end marker. Producers block on full queues but wake up to a stop; `drain` empties a
queue so a blocked producer can finish. A Ctrl-C or SIGTERM is raised in the main thread after
its put or get, never inside one (`signals.held`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator

from artify_stream import signals
from artify_stream.errors import ArtifyError

END = object()  # end-of-stream marker
_POLL_S = 0.1


class Stopped(Exception):
    """Raised inside a stage when the pipeline stops; `stage()` swallows it."""


class Stages:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._ended: set[int] = set()  # the queues that got their end marker (by id)

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = exc
        self.stop.set()

    def put(self, q: queue.Queue, item) -> None:
        while True:
            if self.stop.is_set() and item is not END:
                raise Stopped
            try:
                signals.held(q.put, item, timeout=_POLL_S)
                return
            except queue.Full:
                if item is END and self.error is not None:
                    return  # after an error the consumers stop by themselves

    def get(self, q: queue.Queue):
        while True:
            try:
                return signals.held(q.get, timeout=_POLL_S)
            except queue.Empty:
                if self.stop.is_set() and self.error is not None:
                    raise Stopped from None

    def items(self, q: queue.Queue) -> Iterator:
        """Everything put on `q` up to the end marker."""
        while (item := self.get(q)) is not END:
            yield item

    @contextlib.contextmanager
    def stage(self, as_error: Callable[[Exception], ArtifyError], out_q: queue.Queue | None = None) -> Iterator[None]:
        """How a stage ends: quietly on a stop, keeping the first error (unexpected ones typed by
        `as_error`), always passing the end marker on."""
        try:
            yield
        except Stopped:
            pass
        except ArtifyError as exc:
            self.fail(exc)
        except Exception as exc:
            self.fail(as_error(exc))
        finally:
            if out_q is not None:
                self.end(out_q)

    def end(self, q: queue.Queue) -> None:
        """Put the end marker on `q`, once: the stage's own, or its caller's for a stage that was
        stopped before it began (a Ctrl-C just after a thread started), so the next stage still ends."""
        if id(q) in self._ended:
            return
        self.put(q, END)
        self._ended.add(id(q))

    @staticmethod
    def start(threads: list[threading.Thread]) -> None:
        """Start each thread; a Ctrl-C arriving meanwhile is raised after a start, never inside one,
        so every thread is either running (and joined by `join`) or never started."""
        for thread in threads:
            signals.held(thread.start)

    def join(self, threads: list[threading.Thread], draining: queue.Queue | None = None) -> None:
        """Wait for every thread that was started, emptying `draining` meanwhile (after a stop its
        consumer is gone, and its producer's end marker needs room). A pipeline's files are closed
        only after this: closing one under a thread still inside FFmpeg crashes the process."""
        for thread in threads:
            while thread.ident is not None and thread.is_alive():
                if draining is not None:
                    self.drain(draining)
                thread.join(timeout=_POLL_S)

    @staticmethod
    def drain(q: queue.Queue) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                q.get_nowait()
