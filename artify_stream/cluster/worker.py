"""The Ray actor: one engine, built once from the model's bytes, stylizing one shipped file at a time."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


INPUT = "<input>"


@dataclass
class FileOutcome:
    """What a worker sends back for one file: the output's bytes when it worked."""

    status: str  # "done" or "failed"
    message: str
    data: bytes | None = None
    frames: int = 0
    seconds: float = 0.0
    node: str = ""


class StylizeWorker:
    """Wrapped by `ray.remote` in `batch.py` (so this module imports without Ray)."""

    def __init__(self, model_bytes: bytes, model_name: str, engine_options: dict, video_options, image_long_side,
                 side_by_side: bool) -> None:
        from engines import create_engine, engine_line

        self.folder = Path(tempfile.mkdtemp(prefix="artify-worker-"))
        model_path = self.folder / model_name
        model_path.write_bytes(model_bytes)
        self.engine = create_engine(model_path, **engine_options)  # the engine cache is per node
        self.line = engine_line(self.engine)
        self.video_options = video_options
        self.image_long_side = image_long_side
        self.side_by_side = side_by_side
        self.node = f"{socket.gethostname()}:{os.getpid()}"

    def engine_line(self) -> str:
        return self.line

    @staticmethod
    def _mine(message: str, source: Path) -> str:
        """The worker's temporary path in a message becomes INPUT (the driver puts the real one back)."""
        return message.replace(str(source), INPUT)

    def stylize(self, name: str, data: bytes) -> FileOutcome:
        """`name` is the file's name (its suffix says image or video); `data` its bytes."""
        from artify_stream.batch import BatchStylizer
        from artify_stream.errors import ArtifyError

        start = time.perf_counter()
        job = Path(tempfile.mkdtemp(dir=self.folder))
        source, output = job / "in" / name, job / "out" / name
        source.parent.mkdir()
        source.write_bytes(data)
        try:
            stylizer = BatchStylizer(self.engine, self.video_options, self.image_long_side, self.side_by_side)
            result = stylizer.one(source, output)
            if result.status != "done":
                return FileOutcome("failed", self._mine(result.message, source), node=self.node)
            frames = (result.video or {}).get("frames", 1)
            return FileOutcome("done", result.message, output.read_bytes(), frames,
                               time.perf_counter() - start, self.node)
        except ArtifyError as exc:
            return FileOutcome("failed", self._mine(str(exc), source), node=self.node)
        finally:
            import shutil

            shutil.rmtree(job, ignore_errors=True)
