"""artify_stream/engines_in_turn.py: frames drawn by engines in turn, each on its own thread."""

import threading

import numpy as np
import pytest

from artify_stream.engines_in_turn import EnginesInTurn

DEADLINE_S = 10


class GatedEngine:
    """An engine that draws (adds 1) only once the test opens its gate, into one reused buffer as
    real engines do; it records which frames it was given."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.seen: list[int] = []
        self._out: np.ndarray | None = None

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        self.started.set()
        assert self.gate.wait(DEADLINE_S)
        self.seen.append(int(frames[0, 0, 0, 0]))
        if self._out is None:
            self._out = np.empty_like(frames)
        np.add(frames, 1, out=self._out)
        return self._out


def frame(value: int) -> np.ndarray:
    return np.full((1, 2, 2, 3), value, np.uint8)


def test_frames_go_to_the_engines_in_turn_and_come_out_as_arrays_of_their_own():
    a, b = GatedEngine(), GatedEngine()
    a.gate.set(), b.gate.set()
    turns = EnginesInTurn([a, b])
    futures = [turns.submit(frame(v)) for v in range(5)]
    results = [f.result(DEADLINE_S)[0, 0, 0, 0] for f in futures]
    assert results == [1, 2, 3, 4, 5]  # each its own array, though each engine reuses its buffer
    assert a.seen == [0, 2, 4] and b.seen == [1, 3]


def test_the_caller_may_reuse_its_buffer_as_soon_as_submit_returns():
    engine = GatedEngine()
    turns = EnginesInTurn([engine])
    buffer = frame(7)
    future = turns.submit(buffer)
    buffer[...] = 0  # live mode resizes the next frame into the same buffer
    engine.gate.set()
    assert future.result(DEADLINE_S)[0, 0, 0, 0] == 8


def test_at_most_one_batch_per_engine_is_in_flight():
    """A third frame for two busy engines waits until the first engine is done with its frame:
    frames never pile up behind an engine that falls behind the camera."""
    a, b = GatedEngine(), GatedEngine()
    turns = EnginesInTurn([a, b])
    first, second = turns.submit(frame(1)), turns.submit(frame(2))
    assert a.started.wait(DEADLINE_S) and b.started.wait(DEADLINE_S)
    returned = threading.Event()
    third: list = []

    def submit_third() -> None:
        third.append(turns.submit(frame(3)))
        returned.set()

    waiter = threading.Thread(target=submit_third)
    waiter.start()
    assert not returned.wait(0.3)  # a's frame is not drawn: the third waits for it
    assert not first.done()
    a.gate.set()
    assert returned.wait(DEADLINE_S)
    assert first.result(DEADLINE_S)[0, 0, 0, 0] == 2 and third[0].result(DEADLINE_S)[0, 0, 0, 0] == 4
    b.gate.set()
    assert second.result(DEADLINE_S)[0, 0, 0, 0] == 3
    waiter.join(DEADLINE_S)


def test_an_engine_error_reaches_the_caller():
    def broken(frames):
        raise RuntimeError("engine exploded")

    turns = EnginesInTurn([broken])
    future = turns.submit(frame(1))
    with pytest.raises(RuntimeError, match="engine exploded"):
        future.result(DEADLINE_S)
    with pytest.raises(RuntimeError, match="engine exploded"):  # also from the next submit to that engine
        turns.submit(frame(2))
