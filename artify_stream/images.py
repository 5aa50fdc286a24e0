"""Reading and writing still images as uint8 RGB (+ optional alpha) arrays.

Pillow does the decoding: it honours EXIF orientation and converts grayscale, palette, CMYK
and 16-bit images, which OpenCV's imread does not all do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.Image import DecompressionBombError

from artify_stream.atomic import atomic_path
from artify_stream.errors import InputError, OutputError

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


def read_image(path: Path, keep_alpha: bool = True) -> LoadedImage:
    """Decode an image file, upright (EXIF), as 8-bit RGB plus alpha if it had one."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image = _to_8bit(image)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
            if has_alpha and keep_alpha:
                rgba = np.array(image.convert("RGBA"))
                return LoadedImage(rgb=np.ascontiguousarray(rgba[..., :3]), alpha=np.ascontiguousarray(rgba[..., 3]))
            # RGB conversion handles L, P, CMYK, YCbCr, 1 and 48-bit RGB (Pillow reduces it).
            return LoadedImage(rgb=np.array(image.convert("RGB")))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found") from exc
    except DecompressionBombError as exc:
        raise InputError(f"{path}: too many pixels to decode safely ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from exc


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
