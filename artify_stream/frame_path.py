"""One frame's path, shared by every pipeline: a decoded frame -> an upright RGB picture -> the engine
(in batches) -> a picture in its destination (an encoder's frame, or a live sink's array).

The one-process video pipeline, the Ray segment worker and live all use `FrameBatcher`, so the
copies a frame makes are the same everywhere: none in (batch 1) or one stacking copy (batch > 1),
and one copy out of the engine's reused output buffer straight into the destination.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import av
import numpy as np

from artify_stream.engine_api import as_engine

Tag = TypeVar("Tag")  # what travels with a picture (its pts, its capture time)


def upright_picture(frame: av.VideoFrame, stored_size: tuple[int, int], rotation: int) -> np.ndarray:
    """swscale converts to RGB at the stored (unrotated) size, into a new frame (`to_ndarray` is a view);
    a rotation tag turns it (a copy, only then)."""
    rgb = frame.reformat(width=stored_size[0], height=stored_size[1], format="rgb24").to_ndarray()
    return np.ascontiguousarray(np.rot90(rgb, k=rotation // 90)) if rotation else rgb


def encoder_frame(width: int, height: int) -> tuple[av.VideoFrame, np.ndarray]:
    """A new rgb24 frame for an encoder and a writable view of its plane."""
    frame = av.VideoFrame(width, height, "rgb24")
    return frame, frame.to_ndarray()


def new_array(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    array = np.empty((height, width, 3), np.uint8)
    return array, array


class FrameBatcher(Generic[Tag]):
    """Pictures in, `batch` at a time through the engine, stylized pictures out with their tags."""

    def __init__(self, engine: Callable, size: tuple[int, int], batch: int,
                 into: Callable[[int, int], tuple[object, np.ndarray]] = encoder_frame) -> None:
        self.engine = as_engine(engine)
        self.size = size
        self.batch = batch
        self.into = into
        # The engine's own host buffer (pinned on CUDA) where it has one; NumPy in, NumPy out.
        self.buffer = self.engine.input_buffer((batch, size[1], size[0], 3))
        self.pending: list[tuple[np.ndarray, Tag]] = []

    def add(self, rgb: np.ndarray, tag: Tag) -> list[tuple[object, Tag]]:
        """Queue one picture; a full batch is stylized and returned."""
        self.pending.append((rgb, tag))
        return self.flush() if len(self.pending) == self.batch else []

    def flush(self) -> list[tuple[object, Tag]]:
        """Stylize what is queued (also a short last batch)."""
        n = len(self.pending)
        if not n:
            return []
        if n == 1:  # nothing to stack: the decoded picture goes in as it is
            frames = self.pending[0][0][None]
        else:
            for i, (rgb, _) in enumerate(self.pending):
                self.buffer[i] = rgb  # the stacking copy (into pinned memory on CUDA)
            frames = self.buffer[:n]
        out = self.engine(frames)
        done = []
        for i, (_, tag) in enumerate(self.pending):
            # The engine reuses its output buffer: each picture is copied once, into its destination.
            destination, pixels = self.into(*self.size)
            pixels[...] = out[i]
            done.append((destination, tag))
        self.pending.clear()
        return done
