"""Stylizing still images: one file at a time, alpha and EXIF orientation kept."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from artify_stream.errors import OutputError
from artify_stream.geometry import check_stylizable, fit_long_side
from artify_stream.image_files import (ANIMATED_SUFFIXES, Animation, LoadedImage, frame_count, read_animation, read_image,
                                  write_animation, write_image)
from artify_stream.output_slot import OutputSlot

Stylizer = Callable  # engine interface: uint8 (N, H, W, 3) array in and out


def stylize_image(engine: Stylizer, image: LoadedImage, long_side: int | None = None, side_by_side: bool = False,
                  name: str = "image") -> LoadedImage:
    """Stylize RGB; the alpha channel (if any) is kept, resized with the image.

    side_by_side puts the (resized) input left of the output, for previews and demos.
    """
    rgb = fit_long_side(image.rgb, long_side)
    check_stylizable(name, (rgb.shape[1], rgb.shape[0]), (image.rgb.shape[1], image.rgb.shape[0]), long_side)
    out = engine(np.ascontiguousarray(rgb)[None])[0].copy()
    alpha = image.alpha
    if alpha is not None and alpha.shape[:2] != out.shape[:2]:
        alpha = cv2.resize(alpha, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_AREA)
    if side_by_side:
        out = np.hstack([rgb, out])
        alpha = None if alpha is None else np.hstack([alpha, alpha])
    return LoadedImage(rgb=out, alpha=alpha)


def stylize_image_file(engine: Stylizer, source: Path, output: Path, long_side: int | None = None,
                       overwrite: bool = False, side_by_side: bool = False) -> None:
    """Read, stylize, write atomically; the output is checked (not the input, exists?) before any work."""
    source, output = Path(source), Path(output)
    OutputSlot(source, output, overwrite).check(min_free=0)
    frames = frame_count(source)
    if frames > 1:  # an animated GIF or WebP: every frame, or a clear no
        if output.suffix.lower() not in ANIMATED_SUFFIXES:
            raise OutputError(f"{output}: {source.name} is an animation of {frames} frames and {output.suffix} holds "
                              f"one picture; write it to {' or '.join(sorted(ANIMATED_SUFFIXES))}")
        animation = read_animation(source)
        styled = [stylize_image(engine, f, long_side, side_by_side, name=str(source)) for f in animation.frames]
        write_animation(output, Animation(styled, animation.durations_ms, animation.loop))
        return
    image = read_image(source)
    write_image(output, stylize_image(engine, image, long_side, side_by_side, name=str(source)))
