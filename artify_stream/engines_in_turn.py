"""Frames drawn by one or more engines of the same model in turn, each on its own thread.

Frame N goes to engine N % k, so up to k frames are drawn at once: on a 2-core CPU two engines on
one thread each draw more frames a second than one engine on both cores, which loses time waking
its second thread for every layer while other work (face mode's tracking and faces) holds the
core. With k = 1 it is simply the frame's engine on a worker, beside the caller's own work.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np


class EnginesInTurn:
    def __init__(self, engines: Sequence) -> None:
        if not engines:
            raise ValueError("EnginesInTurn needs at least one engine")
        self.engines = list(engines)
        self._workers = [ThreadPoolExecutor(1, f"artify-frame-{i}") for i in range(len(self.engines))]
        self._last: list[Future | None] = [None] * len(self.engines)
        self._turn = 0

    def submit(self, frames: np.ndarray) -> Future:
        """The frames' cartoons, drawn by the engine whose turn it is: a future of an array of their
        own (copied out of the engine's reused buffer). Waits while that engine still draws its last
        frames, so at most k batches are in flight; the input is copied, so the caller may reuse its
        buffer at once."""
        turn = self._turn
        self._turn = (turn + 1) % len(self.engines)
        previous = self._last[turn]
        if previous is not None:
            previous.result()  # also raises that batch's error here, if its own caller never asked
        engine, frames = self.engines[turn], frames.copy()
        self._last[turn] = future = self._workers[turn].submit(lambda: np.array(engine(frames)))
        return future
