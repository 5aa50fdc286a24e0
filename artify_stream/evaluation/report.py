"""Evaluate a stylizer on photos and clips: the mean figures, the targets, a contact sheet.

A stylizer is anything with the engine interface: uint8 frames (N, H, W, 3) in, the same out.
The trainer passes its generator wrapped that way; `artify evaluate` passes a built engine.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch

from artify_stream.atomic import atomic_path
from artify_stream.evaluation.flicker import ClipMotion, read_clip_frames
from artify_stream.evaluation.measures import IMAGE_MEASURES, edge_f1

Stylizer = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class CartoonTargets:
    """What a bundled model must reach on held-back photos and talking-face clips."""

    edge_f1_min: float = 0.5
    colour_ratio_max: float = 0.6  # output colours / input colours
    flatness_gain_min: float = 0.05  # output flatness - input flatness
    saturation_ratio_min: float = 0.9
    checkerboard_excess_max: float = 0.5  # grey levels above the input's own
    flicker_ratio_max: float = 1.5


@dataclass
class ClipFigures:
    clip: str
    frames: int
    pairs: int  # consecutive pairs measured (cuts left out)
    input_error: float
    output_error: float

    @property
    def flicker_ratio(self) -> float:
        return self.output_error / self.input_error if self.input_error > 0 else math.inf


@dataclass
class EvaluationReport:
    """Means over the photos (input and output), edge F1, and each clip's flicker."""

    photos: int
    input: dict[str, float]
    output: dict[str, float]
    edge_f1: float
    clips: list[ClipFigures] = field(default_factory=list)

    @property
    def colour_ratio(self) -> float:
        return self.output["colours_per_kpx"] / max(self.input["colours_per_kpx"], 1e-9)

    @property
    def flatness_gain(self) -> float:
        return self.output["flatness"] - self.input["flatness"]

    @property
    def saturation_ratio(self) -> float:
        return self.output["saturation"] / max(self.input["saturation"], 1e-9)

    @property
    def contrast_ratio(self) -> float:
        return self.output["contrast"] / max(self.input["contrast"], 1e-9)

    @property
    def checkerboard_excess(self) -> float:
        return self.output["checkerboard"] - self.input["checkerboard"]

    @property
    def flicker_ratio(self) -> float | None:
        """The worst clip's ratio (None without clips)."""
        return max((c.flicker_ratio for c in self.clips), default=None)

    def targets_met(self, targets: CartoonTargets = CartoonTargets()) -> dict[str, bool]:
        met = {
            "edge_f1": self.edge_f1 >= targets.edge_f1_min,
            "colours": self.colour_ratio <= targets.colour_ratio_max,
            "flatness": self.flatness_gain >= targets.flatness_gain_min,
            "saturation": self.saturation_ratio >= targets.saturation_ratio_min,
            "checkerboard": self.checkerboard_excess <= targets.checkerboard_excess_max,
        }
        if self.clips:
            met["flicker"] = self.flicker_ratio <= targets.flicker_ratio_max
        return met

    def target_margins(self, targets: CartoonTargets = CartoonTargets()) -> dict[str, float]:
        """By how much each target is met (> 0) or missed (< 0), in units of a typical spread, clipped to +-1."""
        margins = {
            "edge_f1": (self.edge_f1 - targets.edge_f1_min) / 0.5,
            "colours": (targets.colour_ratio_max - self.colour_ratio) / 0.6,
            "flatness": (self.flatness_gain - targets.flatness_gain_min) / 0.05,
            "saturation": (self.saturation_ratio - targets.saturation_ratio_min) / 0.1,
            "checkerboard": (targets.checkerboard_excess_max - self.checkerboard_excess) / 0.5,
        }
        if self.clips:
            margins["flicker"] = (targets.flicker_ratio_max - self.flicker_ratio) / 0.5
        return {k: max(-1.0, min(1.0, v)) for k, v in margins.items()}

    def cartoon_score(self) -> float:
        """Tie-break between models meeting as many targets: the sum of the clipped margins, so no
        single figure (a blank image is perfectly flat) can buy a model its place."""
        return float(sum(self.target_margins().values()))

    def summary(self) -> dict[str, float]:
        """The figures a training log and a model card carry, flat."""
        figures = {
            "edge_f1": self.edge_f1,
            "colour_ratio": self.colour_ratio,
            "flatness_gain": self.flatness_gain,
            "saturation_ratio": self.saturation_ratio,
            "contrast_ratio": self.contrast_ratio,
            "checkerboard": self.output["checkerboard"],
            "checkerboard_input": self.input["checkerboard"],
            "targets_met": float(sum(self.targets_met().values())),
            "cartoon_score": self.cartoon_score(),
        }
        if self.clips:
            figures["flicker_ratio"] = self.flicker_ratio
        return figures

    def to_dict(self) -> dict:
        return {
            "photos": self.photos,
            "input": self.input,
            "output": self.output,
            "edge_f1": self.edge_f1,
            "clips": [asdict(c) | {"flicker_ratio": c.flicker_ratio} for c in self.clips],
            "summary": self.summary(),
            "targets_met": self.targets_met(),
            "targets": asdict(CartoonTargets()),
        }


def _stylize_all(stylizer: Stylizer, images: list[np.ndarray], batch: int = 8) -> list[np.ndarray]:
    """Run the stylizer over images, batching those of one size."""
    out: list[np.ndarray | None] = [None] * len(images)
    by_shape: dict[tuple, list[int]] = {}
    for i, im in enumerate(images):
        by_shape.setdefault(im.shape, []).append(i)
    for indices in by_shape.values():
        for start in range(0, len(indices), batch):
            chunk = indices[start : start + batch]
            frames = torch.from_numpy(np.stack([images[i] for i in chunk]))
            result = stylizer(frames).cpu().numpy()  # (a trainer's stylizer may answer on its GPU)
            for i, rgb in zip(chunk, result):
                out[i] = rgb.copy()  # engines reuse their output buffer
    return out  # type: ignore[return-value]


@dataclass
class EvaluationSet:
    """Photos and clips to evaluate on, read (and the clips' flow computed) once, reused every epoch."""

    photos: list[np.ndarray]
    clips: dict[str, ClipMotion] = field(default_factory=dict)

    @classmethod
    def load(cls, photos: list[np.ndarray], clip_paths: list[Path] = (), clip_frames: int = 48,
             clip_long_side: int | None = 360) -> EvaluationSet:
        clips = {Path(p).name: ClipMotion.from_frames(read_clip_frames(p, clip_frames, clip_long_side))
                 for p in clip_paths}
        return cls(list(photos), clips)


def evaluate(stylizer: Stylizer, data: EvaluationSet, keep_outputs: bool = False) -> tuple[EvaluationReport, dict]:
    """Figures of `stylizer` on `data`; also returns the outputs (for a contact sheet) if asked."""
    outputs = _stylize_all(stylizer, data.photos)
    means_in = {name: float(np.mean([f(p) for p in data.photos])) for name, f in IMAGE_MEASURES.items()}
    means_out = {name: float(np.mean([f(o) for o in outputs])) for name, f in IMAGE_MEASURES.items()}
    f1 = float(np.mean([edge_f1(p, o) for p, o in zip(data.photos, outputs)]))
    clips, clip_outputs = [], {}
    for name, motion in data.clips.items():
        stylized = _stylize_all(stylizer, motion.frames, batch=4)
        clips.append(ClipFigures(name, len(motion.frames), len(motion.pairs),
                                 motion.warping_error(motion.frames), motion.warping_error(stylized)))
        if keep_outputs:
            clip_outputs[name] = stylized
    report = EvaluationReport(len(data.photos), means_in, means_out, f1, clips)
    kept = {"photos": outputs, "clips": clip_outputs} if keep_outputs else {}
    return report, kept


def contact_sheet(columns: list[list[np.ndarray]], tile: int = 192, rows: int = 8) -> np.ndarray:
    """A grid with one row per image: input | output (| more columns), each scaled to `tile` px high."""
    lines = []
    for row in list(zip(*columns))[:rows]:
        cells = []
        for im in row:
            h, w = im.shape[:2]
            cells.append(cv2.resize(im, (max(1, round(w * tile / h)), tile), interpolation=cv2.INTER_AREA))
        lines.append(np.hstack(cells))
    width = max(line.shape[1] for line in lines)
    lines = [np.pad(line, ((0, 0), (0, width - line.shape[1]), (0, 0))) for line in lines]
    return np.vstack(lines)


def save_png(path: Path, rgb: np.ndarray) -> Path:
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    with atomic_path(path) as tmp:
        tmp.write_bytes(png.tobytes())
    return path


def save_json(path: Path, data: dict) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
    return path


def compare(stylizers: dict[str, Stylizer], data: EvaluationSet, sheet: Path | None = None) -> dict[str, EvaluationReport]:
    """Evaluate several stylizers on the same data; with `sheet`, a contact sheet input | each of them.

    The sheet has a row per photo (up to 8) and one per clip (its middle frame).
    """
    reports, columns = {}, []
    for name, stylizer in stylizers.items():
        reports[name], outputs = evaluate(stylizer, data, keep_outputs=sheet is not None)
        if sheet is not None:
            middle = {clip: frames[len(frames) // 2] for clip, frames in outputs["clips"].items()}
            columns.append(outputs["photos"][:8] + [middle[c] for c in data.clips])
    if sheet is not None:
        inputs = data.photos[:8] + [m.frames[len(m.frames) // 2] for m in data.clips.values()]
        save_png(sheet, contact_sheet([inputs, *columns], rows=len(inputs)))
    return reports
