"""`artify stylize` over one file or a folder tree: images and videos, going on past broken files.

A folder is mirrored into the output folder. An output that exists is finished work (outputs
only appear when complete) and is skipped unless --overwrite; a video with a NAME.partial.EXT
left by an interrupted run is continued. The first interruption ends the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from artify_stream.signals import stop_exit_code
from artify_stream.errors import ArtifyError, InputError, OutputError, OutputExists
from artify_stream.image_files import is_image_path
from artify_stream.output_lock import is_our_partial
from artify_stream.output_slot import OutputSlot
from artify_stream.outputs import check_output_folder, is_partial_path
from artify_stream.stylize_image import stylize_image_file
from artify_stream.video import VideoOptions, VideoPipeline, VideoReport, is_video_path

log = logging.getLogger(__name__)

STATUSES = ("done", "skipped", "failed", "interrupted", "incomplete")
FAILING = ("failed", "interrupted", "incomplete")  # a batch with any of these exits non-zero


@dataclass
class FileResult:
    source: Path
    output: Path
    status: str  # one of STATUSES
    message: str = ""
    video: dict | None = None  # the VideoReport as a dict, for videos

    def to_dict(self) -> dict:
        return {"source": str(self.source), "output": str(self.output), "status": self.status, "message": self.message}


@dataclass
class NodeFigures:
    """What one machine did in a batch (one entry when the batch ran in this process)."""

    frames: int = 0
    segments: int = 0
    images: int = 0
    busy_s: float = 0.0
    retries: int = 0

    def to_dict(self) -> dict:
        return {"frames": self.frames, "segments": self.segments, "images": self.images,
                "busy_s": round(self.busy_s, 3), "fps": round(self.frames / self.busy_s, 2) if self.busy_s else 0.0,
                "retries": self.retries}


@dataclass
class BatchReport:
    """What `artify stylize` did, here or on a Ray cluster (the same report, printed the same way)."""

    results: list[FileResult] = field(default_factory=list)
    engine: str = ""  # which engine ran and why
    workers: int = 1
    seconds: float = 0.0
    nodes: dict[str, NodeFigures] = field(default_factory=dict)  # filled by the cluster run
    faces: dict | None = None  # face mode's summary, when it was on

    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.results) for s in STATUSES}

    @property
    def interrupted(self) -> bool:
        return any(r.status == "interrupted" for r in self.results)

    @property
    def ok(self) -> bool:
        counts = self.counts()
        return not any(counts[s] for s in FAILING)

    @property
    def exit_code(self) -> int:
        """0 when every file is done or skipped; a stop's own code when interrupted; else 1."""
        if self.interrupted:
            return stop_exit_code()
        return 0 if self.ok else 1

    def to_dict(self) -> dict:
        extra = {"faces": self.faces} if self.faces is not None else {}
        return {"files": [r.to_dict() for r in self.results], "videos": [r.video for r in self.results if r.video],
                **self.counts(), "engine": self.engine, "workers": self.workers, "seconds": round(self.seconds, 3),
                "nodes": {k: v.to_dict() for k, v in self.nodes.items()}, **extra}

    def summary(self, single: bool) -> dict:
        """What `--json` prints: one file's own report (a clip's figures), else the whole batch's."""
        if single and self.results and self.results[0].video:
            return {**self.results[0].video, **({"faces": self.faces} if self.faces is not None else {})}
        return self.to_dict()


def is_media_path(path: Path) -> bool:
    return is_image_path(path) or is_video_path(path)


def mirrored_outputs(source_dir: Path, output_dir: Path) -> list[tuple[Path, Path]]:
    """(input, output) pairs for every image and video under source_dir, keeping the tree.

    The output folder may sit inside the input folder; what is under it is never an input.
    """
    source_dir, output_dir = Path(source_dir), Path(output_dir)
    if not source_dir.is_dir():
        raise InputError(f"{source_dir}: not a folder")
    check_output_folder(source_dir, output_dir)
    resolved_out = output_dir.resolve()
    pairs = []
    for path in sorted(source_dir.rglob("*")):
        if not (path.is_file() and is_media_path(path)) or path.resolve().is_relative_to(resolved_out):
            continue
        if is_partial_path(path) and is_our_partial(path):
            log.warning("skipped %s: an unfinished output of an earlier artify job (its job continues it)", path)
            continue
        pairs.append((path, output_dir / path.relative_to(source_dir)))
    if not pairs:
        raise InputError(f"{source_dir}: no image or video files found")
    return pairs


def batch_pairs(source: Path, output: Path) -> list[tuple[Path, Path]]:
    """(input, output) pairs for a file or a folder tree, or an InputError for what cannot be an input."""
    source, output = Path(source), Path(output)
    if not source.exists():
        raise InputError(f"{source}: not found")
    if source.is_file():
        if not (is_image_path(source) or is_video_path(source)):
            raise InputError(f"{source}: not an image or video file this tool reads")
        return [(source, output)]
    return mirrored_outputs(source, output)


def settled_already(source: Path, output: Path, overwrite: bool) -> FileResult | None:
    """The result a file has before any work, by its output slot's rule: 'failed' when its output is
    the input itself, 'skipped' when its output exists and is not to be overwritten; else None."""
    settled = OutputSlot(source, output, overwrite).settled()
    return FileResult(source, output, *settled) if settled is not None else None


class BatchStylizer:
    """Stylizes files with one engine; `video_progress(source)` is a context giving a per-clip progress callback."""

    def __init__(self, engine: Callable, options: VideoOptions, image_long_side: int | None = None,
                 side_by_side: bool = False, video_progress: Callable | None = None) -> None:
        self.engine = engine
        self.options = options
        self.image_long_side = image_long_side if image_long_side is not None else options.long_side
        self.side_by_side = side_by_side
        self.video_progress = video_progress

    def one(self, source: Path, output: Path) -> FileResult:
        """Stylize one file; an existing output (without --overwrite) is a 'skipped'."""
        overwrite = self.options.overwrite
        if (settled := settled_already(source, output, overwrite)) is not None:
            if settled.status == "failed":
                raise OutputError(settled.message)
            return settled
        if is_video_path(source):  # continues its NAME.partial.EXT if an interrupted run left one
            try:
                report = self._video(source, output)
            except OutputExists as exc:  # another job finished it while this one got here
                return FileResult(source, output, "skipped", str(exc))
            return FileResult(source, output, report.status, report.message(), report.to_dict())
        stylize_image_file(self.engine, source, output, self.image_long_side, overwrite, self.side_by_side)
        return FileResult(source, output, "done", f"wrote {output}")

    def _video(self, source: Path, output: Path) -> VideoReport:
        pipeline = lambda progress: VideoPipeline(self.engine, self.options, progress)  # noqa: E731
        if self.video_progress is None:
            return pipeline(None).run(source, output)
        with self.video_progress(source) as progress:
            return pipeline(progress).run(source, output)

    def run(self, source: Path, output: Path, on_file: Callable[[FileResult], None] | None = None) -> BatchReport:
        """A file or a folder tree. Errors of single files are results ('failed'); the first
        interruption ends the batch."""
        source, output = Path(source), Path(output)
        pairs = batch_pairs(source, output)
        report, start = BatchReport(), time.perf_counter()
        if source.is_file():
            result = self.one(source, output)
            if result.status == "skipped":
                raise OutputError(result.message)
            report.results.append(result)
            if on_file:
                on_file(result)
            report.seconds = time.perf_counter() - start
            return report
        for src, dst in pairs:
            try:
                result = self.one(src, dst)
            except ArtifyError as exc:
                result = FileResult(src, dst, "failed", str(exc))
            report.results.append(result)
            if on_file:
                on_file(result)
            if result.status == "interrupted":
                break
        report.seconds = time.perf_counter() - start
        return report
