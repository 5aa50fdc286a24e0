"""The work behind each of the page's buttons, without Gradio: checks, stylizing, result files.

Every function takes the upload's path on disk (Gradio has already stored it) and returns
arrays or the path of a result file; a bad upload raises `UploadError`, which the page shows
as a message while it keeps serving.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from artify_stream.errors import ArtifyError, InputError
from artify_stream.geometry import fit_long_side
from artify_stream.image_files import is_image_path, read_image, write_image, LoadedImage
from artify_stream.video import VideoOptions, VideoPipeline, is_video_path
from frontends.webapp.config import AppConfig
from frontends.webapp.shelf import ModelShelf

COMPARE_BASELINE = "cv2.stylization"


class UploadError(InputError):
    """An upload the app cannot use: the page shows this message and goes on serving."""


class JobFolders:
    """Result files live in one temporary folder per job under one root, removed on close;
    only the most recent `keep` job folders stay on disk while the app runs."""

    def __init__(self, keep: int, root: Path | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="artify-app-", dir=root))
        self.keep = keep
        self._recent: deque[Path] = deque()
        self._lock = threading.Lock()

    def new(self) -> Path:
        with self._lock:
            folder = Path(tempfile.mkdtemp(dir=self.root))
            self._recent.append(folder)
            while len(self._recent) > self.keep:
                shutil.rmtree(self._recent.popleft(), ignore_errors=True)
            return folder

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _name(path: Path) -> str:
    """What the user uploaded, by its file name (Gradio keeps it), not our temporary path."""
    return Path(path).name


def check_upload(path: str | Path | None, config: AppConfig, kind: str) -> Path:
    """The upload exists, is not too big and has a suffix of `kind` ("image" or "video")."""
    if not path:
        raise UploadError(f"no {kind} uploaded: choose a file first")
    path = Path(path)
    if not path.is_file():
        raise UploadError(f"{_name(path)}: the upload did not arrive; try again")
    size = path.stat().st_size
    if size > config.max_upload_bytes:
        raise UploadError(f"{_name(path)}: {size / 2**20:.0f} MiB is over this app's {config.max_upload_mib} MiB limit")
    accepts = is_image_path if kind == "image" else is_video_path
    if not accepts(path):
        raise UploadError(f"{_name(path)}: not a{'n' if kind == 'image' else ''} {kind} file this app reads "
                          f"(suffix {path.suffix or 'none'})")
    return path


def read_photo(path: Path, config: AppConfig) -> LoadedImage:
    """Decode an uploaded photo; refuse a huge one from its header, before decoding it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError) as exc:
        raise UploadError(f"{_name(path)}: not a readable image ({exc.__class__.__name__})") from None
    if width * height > config.max_image_pixels:
        raise UploadError(f"{_name(path)}: {width}x{height} is {width * height / 1e6:.0f} megapixels, over this app's "
                          f"{config.max_image_pixels / 1e6:.0f} MP limit")
    try:
        return read_image(path)
    except InputError as exc:
        raise UploadError(f"{_name(path)}: {str(exc).removeprefix(str(path) + ': ')}") from None


def faces_line(face_stylizer) -> str:
    """Face mode's part of a result line: how many faces it stylized (0 is an answer, not an error)."""
    summary = face_stylizer.summary()
    count = summary["identities"] if face_stylizer.options.stream else summary["faces_stylized"]
    return f"face mode: {count} face{'' if count == 1 else 's'}"


def _stylizer(shelf: ModelShelf, model: str, faces: bool, stream: bool):
    """The engine the job runs: the model's, or the model's in face mode."""
    if not faces:
        return shelf.engine(model).engine
    if (problem := shelf.faces_problem) is not None:
        raise UploadError(f"face mode is not available on this server: {problem}")
    return shelf.face_stylizer(model, stream)


@dataclass
class PhotoResult:
    before: np.ndarray  # the input at the output's size, for the before/after view
    after: np.ndarray
    file: Path  # the cartoon as PNG, for download
    engine_line: str
    seconds: float


def stylize_photo(shelf: ModelShelf, model: str, upload: str | Path | None, long_side: int, config: AppConfig,
                  folders: JobFolders, faces: bool = False) -> PhotoResult:
    from artify_stream.stylize_image import stylize_image

    path = check_upload(upload, config, "image")
    image = read_photo(path, config)
    built = shelf.engine(model)
    stylizer = _stylizer(shelf, model, faces, stream=False)
    start = time.perf_counter()
    with shelf.run_lock:
        try:
            out = stylize_image(stylizer, image, long_side, name=_name(path))
        except InputError as exc:
            raise UploadError(str(exc)) from None
    seconds = time.perf_counter() - start
    file = folders.new() / f"{Path(_name(path)).stem}-{model.replace('/', '-')}{'-faces' if faces else ''}.png"
    write_image(file, out)
    line = built.line + (f"; {faces_line(stylizer)}" if faces else "")
    return PhotoResult(fit_long_side(image.rgb, long_side), out.rgb, file, line, seconds)


@dataclass
class ClipResult:
    file: Path
    frames: int
    fps: float
    engine_line: str
    faces: str = ""  # face mode's line, when it was on

    def summary(self) -> str:
        return f"{self.frames} frames at {self.fps:.1f} fps; {self.engine_line}" + (f"; {self.faces}" if self.faces else "")


def clip_seconds(path: Path) -> float | None:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UploadError(f"{_name(path)}: has no video stream")
            duration = container.duration
    except av.error.FFmpegError as exc:
        raise UploadError(f"{_name(path)}: not a readable video ({exc.__class__.__name__})") from None
    return None if duration is None else duration / 1_000_000


def stylize_clip(shelf: ModelShelf, model: str, upload: str | Path | None, long_side: int, config: AppConfig,
                 folders: JobFolders, progress: Callable[[int, int | None], None] | None = None,
                 faces: bool = False) -> ClipResult:
    """An MP4 (H.264, the source's audio kept) the browser can play; in face mode faces are tracked."""
    path = check_upload(upload, config, "video")
    seconds = clip_seconds(path)
    if seconds is not None and seconds > config.max_clip_seconds:
        raise UploadError(f"{_name(path)}: {seconds:.0f} s is longer than this app's {config.max_clip_seconds:.0f} s "
                          "limit; use `artify stylize` for long clips")
    built = shelf.engine(model)
    stylizer = _stylizer(shelf, model, faces, stream=True)
    output = folders.new() / f"{path.stem}-{model.replace('/', '-')}{'-faces' if faces else ''}.mp4"
    options = VideoOptions(long_side=long_side, keep_partial=False)
    with shelf.run_lock:
        try:
            report = VideoPipeline(stylizer, options, progress).run(path, output)
        except ArtifyError as exc:
            raise UploadError(str(exc).replace(str(path), _name(path))) from None
    if report.status != "done":
        raise UploadError(report.message().replace(str(path), _name(path)).split("; wrote")[0])
    return ClipResult(output, report.frames, report.fps, built.line, faces_line(stylizer) if faces else "")


@dataclass
class CompareRow:
    name: str
    image: np.ndarray
    figures: dict[str, float]


def compare_photo(shelf: ModelShelf, upload: str | Path | None, long_side: int, config: AppConfig) -> list[CompareRow]:
    """The photo through every model and cv2.stylization, with evaluate's single-image figures."""
    from artify_stream.evaluation.baselines import opencv_stylization
    from artify_stream.evaluation.judge import load_judge
    from artify_stream.evaluation.measures import colours_per_kpx, edge_f1, flatness
    from artify_stream.stylize_image import stylize_image

    path = check_upload(upload, config, "image")
    image = read_photo(path, config)
    photo = fit_long_side(image.rgb, long_side)
    outputs = {"photo": photo}
    for name in shelf.names:
        built = shelf.engine(name)
        with shelf.run_lock:
            outputs[name] = stylize_image(built.engine, LoadedImage(photo), name=_name(path)).rgb
    outputs[COMPARE_BASELINE] = opencv_stylization(photo)
    p_cartoon = load_judge().p_cartoon(list(outputs.values()))
    return [CompareRow(name, rgb, {"p_cartoon": round(float(p), 3), "edge_f1": round(edge_f1(photo, rgb), 3),
                                   "flatness": round(flatness(rgb), 3), "colours_per_kpx": round(colours_per_kpx(rgb), 1)})
            for (name, rgb), p in zip(outputs.items(), p_cartoon)]


class WebcamStylizer:
    """Frames from the browser's camera through one model; keeps the fps and latency it shows."""

    def __init__(self, shelf: ModelShelf, window: int = 30) -> None:
        self.shelf = shelf
        self._arrivals: deque[float] = deque(maxlen=window)
        self._latencies: deque[float] = deque(maxlen=window)
        self._face_mode: dict[str, object] = {}  # model -> its face stylizer: tracks follow the camera's frames
        self._faces_on = False

    def __call__(self, frame: np.ndarray | None, model: str, long_side: int,
                 faces: bool = False) -> tuple[np.ndarray | None, str]:
        if frame is None:
            return None, "waiting for the camera"
        if faces and model not in self._face_mode:
            self._face_mode[model] = _stylizer(self.shelf, model, True, stream=True)
        stylizer = self._face_mode[model] if faces else self.shelf.engine(model).engine
        self._faces_on = faces
        start = time.perf_counter()
        rgb = np.ascontiguousarray(fit_long_side(frame[..., :3], long_side))
        with self.shelf.run_lock:
            out = np.asarray(stylizer(rgb[None]))[0].copy()
        self._latencies.append(time.perf_counter() - start)
        self._arrivals.append(start)
        if faces:
            return out, f"{self.stats()}; {len(stylizer.last_faces)} face{'' if len(stylizer.last_faces) == 1 else 's'} in view"
        return out, self.stats()

    def stats(self) -> str:
        if not self._latencies:
            return "waiting for the camera"
        span = self._arrivals[-1] - self._arrivals[0]
        fps = (len(self._arrivals) - 1) / span if span > 0 else 0.0
        where = "in the model and face mode" if self._faces_on else "in the model"
        return f"{fps:.1f} fps, {1000 * float(np.mean(self._latencies)):.0f} ms per frame {where}"
