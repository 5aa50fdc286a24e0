"""Reading and writing still images as uint8 RGB (+ optional alpha) arrays.

Pillow does the decoding: it honours EXIF orientation and converts grayscale, palette, CMYK
and 16-bit images, which OpenCV's imread does not all do.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError
from PIL.Image import DecompressionBombError

from artify_stream.atomic import atomic_path
from artify_stream.errors import InputError, OutputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".tga"}
)


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


@dataclass
class LoadedImage:
    """RGB pixels (H, W, 3) uint8 and, where the file had one, its alpha (H, W) uint8."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None


def _to_8bit(image: Image.Image) -> Image.Image:
    # 16-bit and 32-bit integer modes: scale to 8 bits instead of clipping.
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if image.mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        top = 1.0 if arr.max() <= 1.0 else 255.0
        return Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return image


#: Formats that hold an animation; an animated input goes only to one of these.
ANIMATED_SUFFIXES = frozenset({".gif", ".webp"})
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, rgb: Image.Image) -> Image.Image:
    """Pixels in the file's embedded colour profile (Adobe RGB, ProPhoto, Display P3, CMYK...)
    converted to sRGB, as image viewers show them; the model and every output are sRGB."""
    icc = image.info.get("icc_profile")
    if not icc:
        return rgb
    source = image if image.mode in ("RGB", "CMYK", "L") else rgb
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(source, profile, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return rgb  # a broken profile: the numbers as they are, as browsers do


def _loaded(image: Image.Image, keep_alpha: bool) -> LoadedImage:
    image = _to_8bit(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    # RGB conversion handles L, P, CMYK, YCbCr, 1 and 48-bit RGB (Pillow reduces it).
    rgb = np.array(_to_srgb(image, image.convert("RGB")))
    if has_alpha and keep_alpha:
        alpha = np.array(image.convert("RGBA"))[..., 3]
        return LoadedImage(rgb=np.ascontiguousarray(rgb), alpha=np.ascontiguousarray(alpha))
    return LoadedImage(rgb=rgb)


def read_image(path: Path, keep_alpha: bool = True) -> LoadedImage:
    """Decode an image file, upright (EXIF), in sRGB, as 8-bit RGB plus alpha if it had one."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            return _loaded(ImageOps.exif_transpose(image), keep_alpha)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found") from exc
    except DecompressionBombError as exc:
        raise InputError(f"{path}: too many pixels to decode safely ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from exc


def find_images(root: Path) -> list[Path]:
    """Every image file under `root`, recursively, in a stable order."""
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and is_image_path(p))


def read_images(paths: list[Path], what: str, where: Path,
                fit: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[list[Path], list[np.ndarray]]:
    """Decode every image as RGB (then `fit`), skipping unreadable ones with a warning naming them;
    (paths, images) of the rest, or an InputError naming `where` when none can be read. The one
    reader of photo and cartoon sets, for the evaluation and the trainer."""
    kept, images = [], []
    for path in paths:
        try:
            rgb = read_image(path, keep_alpha=False).rgb
        except InputError as exc:
            log.warning("skipping %s", exc)
            continue
        try:
            images.append(fit(rgb) if fit else rgb)
        except InputError as exc:  # the fit's own words, about this file
            raise InputError(f"{path}: {exc}") from None
        kept.append(path)
    if not images:
        raise InputError(f"{where}: no usable {what} image (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return kept, images


@dataclass
class Animation:
    """An animated GIF or WebP: whole frames (each composited over the ones before), their times."""

    frames: list[LoadedImage]
    durations_ms: list[int] = field(default_factory=list)
    loop: int = 0  # 0: for ever


def frame_count(path: Path) -> int:
    """How many frames an image file holds (1 for a still); 0 when it cannot be read."""
    try:
        with Image.open(path) as image:
            return getattr(image, "n_frames", 1)
    except DecompressionBombError:
        return 1  # `read_image` says so, naming the file
    except (OSError, ValueError, SyntaxError):
        return 0


def read_animation(path: Path) -> Animation:
    path = Path(path)
    try:
        with Image.open(path) as image:
            frames, durations = [], []
            for frame in ImageSequence.Iterator(image):
                frames.append(_loaded(frame.convert("RGBA"), keep_alpha=True))
                durations.append(int(frame.info.get("duration", 100)))
            return Animation(frames, durations, int(image.info.get("loop", 0)))
    except DecompressionBombError as exc:
        raise InputError(f"{path}: too many pixels to decode safely ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{path}: not a readable animation ({exc})") from exc


def write_animation(path: Path, animation: Animation) -> None:
    """All frames, their times and the loop count, atomically."""
    path = Path(path)
    pictures = [Image.fromarray(np.dstack([f.rgb, f.alpha]) if f.alpha is not None else f.rgb) for f in animation.frames]
    try:
        with atomic_path(path) as tmp:
            pictures[0].save(tmp, format=Image.registered_extensions()[path.suffix.lower()], save_all=True,
                             append_images=pictures[1:], duration=animation.durations_ms, loop=animation.loop,
                             disposal=2)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc})") from exc


def write_image(path: Path, image: LoadedImage) -> None:
    """Encode atomically (temp file + rename), so a failed write leaves nothing behind and an
    existing file is replaced only by a complete one (callers apply `outputs.check_output` first)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise OutputError(f"{path}: unknown image format {suffix!r}")
    if image.alpha is not None and suffix in (".png", ".webp", ".tif", ".tiff", ".gif", ".tga"):
        pil = Image.fromarray(np.dstack([image.rgb, image.alpha]))
    else:
        pil = Image.fromarray(image.rgb)
    options = {"quality": 95} if suffix in (".jpg", ".jpeg", ".webp") else {}
    try:
        with atomic_path(path) as tmp:
            pil.save(tmp, format=Image.registered_extensions()[suffix], **options)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc})") from exc
