"""The Ray actor: one engine, built once from the driver's model reference, stylizing shipped images and clip segments."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from artify_stream.model_file import ModelRef
from artify_stream.clip_plan import ClipPlan
from artify_stream.segments.cut import EncodedSegment, Segment
from frontends.engine_for import EngineChoice

INPUT = "<input>"  # stands for the driver's path in a worker's messages; the driver puts it back


@dataclass
class StylizedImage:
    """What a worker sends back for one image: the output file's bytes."""

    data: bytes
    seconds: float
    node: str
    worker: str


@dataclass
class Failed:
    """The work failed for a reason of its own (a broken file): the message names INPUT."""

    message: str


def node_name() -> str:
    """The host and Ray's node id (one machine can run several nodes)."""
    try:
        import ray

        node_id = ray.get_runtime_context().get_node_id()[:8]
    except Exception:  # outside Ray (the worker's own tests)
        node_id = "-"
    return f"{socket.gethostname()}/{node_id}"


class StylizeWorker:
    """Wrapped by `ray.remote` in `batch.py` (so this module imports without Ray)."""

    def __init__(self, model: ModelRef, engine_choice: EngineChoice, image_long_side: int | None,
                 side_by_side: bool) -> None:
        from frontends.engine_for import describe, engine_for

        self.folder = Path(tempfile.mkdtemp(prefix="artify-worker-"))
        self.device = engine_choice.device
        # The driver's resolved reference, bytes and hash inside: no file to read, nothing to hash.
        self.engine = engine_for(model, engine_choice)  # the engine cache is per node
        self.line = describe(self.engine)
        self.image_long_side = image_long_side
        self.side_by_side = side_by_side
        self.node = node_name()
        self.name = f"{self.node} pid {os.getpid()}"

    def engine_line(self) -> str:
        return self.line

    def stylize_segment(self, spec: ClipPlan, segment: Segment) -> EncodedSegment | Failed:
        from artify_stream.segments.stylize import stylize_segment
        from artify_stream.errors import ArtifyError

        try:
            encoded = stylize_segment(self.engine, spec, segment, self.device)
        except ArtifyError as exc:
            return Failed(str(exc))
        encoded.node, encoded.worker = self.node, self.name
        return encoded

    def stylize_image(self, name: str, data: bytes, overwrite: bool) -> StylizedImage | Failed:
        """`name` is the image's file name (its suffix says how to read and write it); `data` its bytes."""
        from artify_stream.errors import ArtifyError
        from artify_stream.stylize_image import stylize_image_file

        start = time.perf_counter()
        job = Path(tempfile.mkdtemp(dir=self.folder))
        source, output = job / "in" / name, job / "out" / name
        source.parent.mkdir()
        source.write_bytes(data)
        try:
            stylize_image_file(self.engine, source, output, self.image_long_side, overwrite, self.side_by_side)
            return StylizedImage(output.read_bytes(), time.perf_counter() - start, self.node, self.name)
        except ArtifyError as exc:
            return Failed(str(exc).replace(str(source), INPUT))
        finally:
            shutil.rmtree(job, ignore_errors=True)
