"""Stylizing still images: one file, or a folder mirrored into an output folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch

from artify_stream.errors import ArtifyError, InputError, OutputError
from artify_stream.images import LoadedImage, fit_long_side, is_image_path, read_image, write_image

Stylizer = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class FileResult:
    source: Path
    output: Path
    status: str  # "done", "skipped" or "failed"
    message: str = ""


@dataclass
class BatchReport:
    results: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]


def stylize_image(
    engine: Stylizer, image: LoadedImage, long_side: int | None = None, side_by_side: bool = False
) -> LoadedImage:
    """Stylize RGB; the alpha channel (if any) is kept, resized with the image.

    side_by_side puts the (resized) input left of the output, for previews and demos.
    """
    rgb = fit_long_side(image.rgb, long_side)
    out = engine(torch.from_numpy(np.ascontiguousarray(rgb))[None])[0].cpu().numpy()
    alpha = image.alpha
    if alpha is not None and alpha.shape[:2] != out.shape[:2]:
        alpha = cv2.resize(alpha, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_AREA)
    if side_by_side:
        out = np.hstack([rgb, out])
        alpha = None if alpha is None else np.hstack([alpha, alpha])
    return LoadedImage(rgb=out, alpha=alpha)


def stylize_image_file(
    engine: Stylizer,
    source: Path,
    output: Path,
    long_side: int | None = None,
    overwrite: bool = False,
    side_by_side: bool = False,
) -> FileResult:
    source, output = Path(source), Path(output)
    if output.exists() and not overwrite:
        return FileResult(source, output, "skipped", "output exists (use --overwrite)")
    image = read_image(source)
    write_image(output, stylize_image(engine, image, long_side, side_by_side), overwrite=overwrite)
    return FileResult(source, output, "done")


def mirrored_outputs(source_dir: Path, output_dir: Path, accept: Callable[[Path], bool] = is_image_path) -> list[tuple[Path, Path]]:
    """(input, output) pairs for every accepted file under source_dir, keeping the tree."""
    source_dir, output_dir = Path(source_dir), Path(output_dir)
    if not source_dir.is_dir():
        raise InputError(f"{source_dir}: not a folder")
    pairs = []
    for path in sorted(source_dir.rglob("*")):
        if path.is_file() and accept(path):
            pairs.append((path, output_dir / path.relative_to(source_dir)))
    if output_dir.resolve().is_relative_to(source_dir.resolve()):
        resolved = output_dir.resolve()
        pairs = [(s, o) for s, o in pairs if not s.resolve().is_relative_to(resolved)]
    return pairs


def stylize_image_folder(
    engine: Stylizer,
    source_dir: Path,
    output_dir: Path,
    long_side: int | None = None,
    overwrite: bool = False,
    side_by_side: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
) -> BatchReport:
    """Every image under source_dir into output_dir, going on past broken files."""
    pairs = mirrored_outputs(source_dir, output_dir)
    if not pairs:
        raise InputError(f"{source_dir}: no image files found")
    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{output_dir}: cannot create output folder ({exc})") from exc
    report = BatchReport()
    for source, output in pairs:
        try:
            result = stylize_image_file(engine, source, output, long_side, overwrite, side_by_side)
        except ArtifyError as exc:
            result = FileResult(source, output, "failed", str(exc))
        report.results.append(result)
        if on_file:
            on_file(result)
    return report
