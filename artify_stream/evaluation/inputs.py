"""What to evaluate on: photos from a folder, a list file or a run's split.json, sized alike."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from artify_stream.errors import InputError
from artify_stream.geometry import fit_long_side
from artify_stream.image_files import find_images, read_images

log = logging.getLogger(__name__)


def evaluation_image(rgb: np.ndarray, long_side: int | None) -> np.ndarray:
    """A photo as evaluated: long side at most `long_side`, sides cut to multiples of 4 (no padding)."""
    rgb = fit_long_side(rgb, long_side)
    h, w = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    if h == 0 or w == 0:
        raise InputError(f"a {rgb.shape[1]}x{rgb.shape[0]} image is too small to evaluate (4x4 at least)")
    return np.ascontiguousarray(rgb[:h, :w])


def photo_paths(source: Path) -> list[Path]:
    """A folder (recursively), a text file with one path per line, or a run's split.json (its validation photos)."""
    source = Path(source)
    if source.is_dir():
        paths = find_images(source)
    elif source.suffix.lower() == ".json":
        try:
            paths = [Path(p) for p in json.loads(source.read_text())["validation"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{source}: not a run's split.json with a 'validation' list ({exc})") from exc
    elif source.is_file():
        paths = [Path(line.strip()) for line in source.read_text().splitlines() if line.strip()]
    else:
        raise InputError(f"{source}: not found")
    if not paths:
        raise InputError(f"{source}: no photos to evaluate on")
    return paths


def load_photos(source: Path, limit: int | None = None, long_side: int | None = None) -> tuple[list[Path], list[np.ndarray]]:
    """Decode the photos (unreadable ones are skipped with a warning naming them)."""
    return read_images(photo_paths(source)[:limit], "photo", source, fit=lambda rgb: evaluation_image(rgb, long_side))


#: Stills taken from a clip given where photos are asked for: enough to follow a kind of scene
#: through a run (the kit's cockatoo clip: 8 tracked the Kodak scenes, README rows D16-D20).
STILLS_PER_CLIP = 8


def load_photos_or_stills(source: Path, long_side: int | None = None) -> tuple[list[Path], list[np.ndarray]]:
    """Photos as `load_photos` reads them, or, where `source` is a clip, STILLS_PER_CLIP frames
    spread evenly over it, each named CLIP#INDEX."""
    from artify_stream.media_io import evenly_spaced_frames
    from artify_stream.video import is_video_path

    source = Path(source)
    if not (source.is_file() and is_video_path(source)):
        return load_photos(source, long_side=long_side)
    stills = evenly_spaced_frames(source, STILLS_PER_CLIP)
    return ([Path(f"{source}#{index}") for index, _ in stills],
            [evaluation_image(rgb, long_side) for _, rgb in stills])
