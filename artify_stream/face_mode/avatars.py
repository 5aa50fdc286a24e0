"""`--faces-only`: just the aligned cartoon faces of each image, one PNG per face, for an avatar
preview. Videos are not taken (a clip would give a file per face per frame)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from artify_stream.errors import InputError
from artify_stream.face_mode.stylizer import FaceStylizer
from artify_stream.geometry import fit_long_side
from artify_stream.image_files import LoadedImage, find_images, is_image_path, read_image, write_image
from artify_stream.output_slot import OutputSlot


@dataclass
class AvatarReport:
    images: int = 0
    faces: int = 0
    files: list[str] = field(default_factory=list)
    without_faces: list[str] = field(default_factory=list)  # images with no face found (not an error)

    def to_dict(self) -> dict:
        return {"images": self.images, "faces": self.faces, "files": self.files, "without_faces": self.without_faces}


def write_face_crops(source: Path, output: Path, stylizer: FaceStylizer, overwrite: bool = False,
                     long_side: int | None = None) -> AvatarReport:
    """For each image under `source`, OUTPUT/NAME.face-K.png per face K (largest first)."""
    source, output = Path(source), Path(output)
    if source.is_file():
        if not is_image_path(source):
            raise InputError(f"{source}: --faces-only takes images (a clip would give a file per face per frame)")
        images = [source]
    else:
        images = find_images(source)
        if not images:
            raise InputError(f"{source}: no images for --faces-only")
    report = AvatarReport()
    for path in images:
        rgb = fit_long_side(read_image(path, keep_alpha=False).rgb, long_side)
        stylizer.tracker.reset()  # every picture on its own
        stylizer(np.ascontiguousarray(rgb)[None])
        report.images += 1
        if not stylizer.last_faces:
            report.without_faces.append(str(path))
        relative = path.relative_to(source) if source.is_dir() else Path(path.name)
        for k, (_, crop, _) in enumerate(stylizer.last_faces):
            target = output / relative.parent / f"{relative.stem}.face-{k}.png"
            OutputSlot(path, target, overwrite).check()
            target.parent.mkdir(parents=True, exist_ok=True)
            write_image(target, LoadedImage(crop, None))
            report.files.append(str(target))
            report.faces += 1
    return report
