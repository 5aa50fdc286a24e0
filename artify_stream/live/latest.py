"""A one-slot mailbox: the writer replaces what the reader has not taken yet, and counts it.

Its lock is taken through `signals.held`: a Ctrl-C landing in the main thread's put or take is
raised after it, so it cannot leave the lock held for the `close` that follows.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from artify_stream import signals

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        signals.held(self._put, item)

    def _put(self, item: T) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1  # never taken: the reader was busy, a newer one replaces it
            self._item = item
            self._cond.notify()

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item, or None after `timeout` (or once closed and empty). In the main thread
        a stop waits for this to return, so give it a timeout there."""
        return signals.held(self._take, timeout)

    def _take(self, timeout: float | None) -> T | None:
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        signals.held(self._close)

    def _close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
