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
from artify_stream.errors import OutputError
from artify_stream.evaluation.faces import face_figures
from artify_stream.evaluation.face_mode_figures import FaceModeFigures
from artify_stream.evaluation.fidelity import FidelityFigures, faces_problem, fidelity_figures, main_face
from artify_stream.evaluation.targets import CartoonTargets
from artify_stream.evaluation.flicker import ClipMotion, read_clip_frames
from artify_stream.evaluation.judge import CartoonJudge, load_judge
from artify_stream.evaluation.measures import IMAGE_MEASURES, edge_f1

Stylizer = Callable[[torch.Tensor], torch.Tensor]
#: Photo rows of a contact sheet (clips add one row each).
SHEET_ROWS = 8


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
    """Means over the photos (input and output), edge F1, the judge's figures, faces and each clip's flicker."""

    photos: int
    input: dict[str, float]
    output: dict[str, float]
    edge_f1: float
    clips: list[ClipFigures] = field(default_factory=list)
    judge: dict[str, float] = field(default_factory=dict)  # the outputs' JudgeFigures (empty without a judge)
    judge_input: dict[str, float] = field(default_factory=dict)  # the inputs' own
    cartoon_stats: dict[str, float] = field(default_factory=dict)  # the cartoon set's palette and flatness
    faces_found: int = 0  # in the inputs
    faces_kept: int = 0  # of those, found again in the outputs
    face_lightness_shift: float = 0.0  # L* of the face centres, output - input (> 0: paler skin)
    face_colour_shift: float = 0.0  # CIE76 delta E of the face centres
    fidelity: FidelityFigures | None = None  # colour, identity, landmarks, skin per group (fidelity.py)
    face_mode: FaceModeFigures | None = None  # seam and aligned crops, for a face-mode column (face_mode_figures.py)
    # What drew the column (the engine and why `auto` took it): bf16 and fp32 engines differ by about
    # 0.01 in P(cartoon) on 23 photos, and auto's pick can differ between machines and runs.
    engine: str = ""

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
    def face_share(self) -> float | None:
        return self.faces_kept / self.faces_found if self.faces_found else None

    @property
    def flicker_ratio(self) -> float | None:
        """The worst clip's ratio (None without clips)."""
        return max((c.flicker_ratio for c in self.clips), default=None)

    def _margins(self, targets: CartoonTargets) -> dict[str, float]:
        """By how much each target is met (> 0) or missed (< 0), in units of a typical spread."""
        margins = {}
        if self.judge:
            margins["p_cartoon"] = (self.judge["p_cartoon"] - targets.p_cartoon_min) / 0.1
            if "p_cartoon_scenes" in self.judge:  # the scenes drawn too, not only the faces most sets hold
                worst = min(self.judge["p_cartoon_scenes"], self.judge["p_cartoon_portraits"])
                margins["p_cartoon_worst_kind"] = (worst - targets.p_cartoon_min) / 0.1
            kc, kp = self.judge["kid_cartoons"], self.judge["kid_photos"]
            margins["kid"] = (kp - kc) / max(abs(kp) + abs(kc), 1e-9) * 2  # >0: closer to the cartoons
        margins["edge_f1"] = (self.edge_f1 - targets.edge_f1_min) / 0.5
        if self.face_share is not None:
            margins["faces"] = (self.face_share - targets.faces_kept_min) / 0.1
        margins["checkerboard"] = (targets.checkerboard_excess_max - self.checkerboard_excess) / 0.5
        if self.clips:
            margins["flicker"] = (targets.flicker_ratio_max - self.flicker_ratio) / 0.5
        if self.fidelity is not None:
            margins.update(self._fidelity_margins(targets, self.fidelity.summary()))
        return margins

    @staticmethod
    def _fidelity_margins(targets: CartoonTargets, f: dict[str, float]) -> dict[str, float]:
        """Each fidelity target's margin where its figure was measured (faces need dlib and faces)."""
        bounds = {  # figure: (bound, higher is better, typical spread)
            "colour_error": (targets.colour_error_max, False, 2.0),
            "hue_kept": (targets.hue_kept_min, True, 0.1),
            "faces_detected": (targets.faces_detected_min, True, 0.1),
            "identity_rank1": (targets.identity_rank1_min, True, 0.1),
            "landmark_error": (targets.landmark_error_max, False, 0.02),
            # Every skin tone keeps its features, not just the mean (a run lost the darkest faces' eyes
            # at landmark error 0.048 overall, 0.062 in the brown-dark group).
            "landmark_error_worst_group": (targets.landmark_error_max, False, 0.02),
            "skin_error_worst": (targets.skin_error_max, False, 2.0),
            "skin_spread_ratio_worst": (targets.skin_spread_ratio_max, False, 0.25),
        }
        return {name: ((f[name] - bound) if higher else (bound - f[name])) / spread
                for name, (bound, higher, spread) in bounds.items() if name in f}

    def targets_met(self, targets: CartoonTargets = CartoonTargets()) -> dict[str, bool]:
        return {k: v >= 0 for k, v in self._margins(targets).items()}

    def target_margins(self, targets: CartoonTargets = CartoonTargets()) -> dict[str, float]:
        """Each target's margin clipped to +-1."""
        return {k: max(-1.0, min(1.0, v)) for k, v in self._margins(targets).items()}

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
            **self.judge,
        }
        if self.cartoon_stats:
            figures["colours_vs_cartoons"] = self.output["colours_per_kpx"] / self.cartoon_stats["colours_per_kpx"]
            figures["flatness_vs_cartoons"] = self.output["flatness"] - self.cartoon_stats["flatness"]
        if self.face_share is not None:
            figures["faces_kept"] = self.face_share
            figures["face_lightness_shift"] = self.face_lightness_shift
            figures["face_colour_shift"] = self.face_colour_shift
        if self.clips:
            figures["flicker_ratio"] = self.flicker_ratio
        if self.fidelity is not None:
            figures.update(self.fidelity.summary())
        figures["targets_met"] = float(sum(self.targets_met().values()))
        figures["targets"] = float(len(self.targets_met()))
        figures["cartoon_score"] = self.cartoon_score()
        return figures

    def to_dict(self) -> dict:
        return {
            "photos": self.photos,
            "engine": self.engine,
            "input": self.input | {f"judge_{k}": v for k, v in self.judge_input.items()},
            "output": self.output | {f"judge_{k}": v for k, v in self.judge.items()},
            "edge_f1": self.edge_f1,
            "faces": {"found_in_inputs": self.faces_found, "kept_in_outputs": self.faces_kept,
                      "lightness_shift": self.face_lightness_shift, "colour_shift": self.face_colour_shift},
            "cartoon_stats": self.cartoon_stats,
            "fidelity": self.fidelity.to_dict() if self.fidelity is not None else None,
            "face_mode": self.face_mode.to_dict() if self.face_mode is not None else None,
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
    judge: CartoonJudge | None = None  # None: the figures that need it are left out
    fidelity_faces: bool = True  # the face figures of fidelity.py (when dlib's models are installed)
    _input_judge: dict | None = field(default=None, repr=False)
    _shows_face: list[bool] | None = field(default=None, repr=False)

    def input_judge(self) -> dict[str, float]:
        if self._input_judge is None:
            self._input_judge = self.judge.judge(self.photos, self.shows_face()).to_dict() if self.judge else {}
        return self._input_judge

    def shows_face(self) -> list[bool] | None:
        """Which photos show a face (dlib's detector, as the fidelity figures look), worked out once;
        None without dlib's models or the face figures."""
        if self._shows_face is None and self.fidelity_faces and faces_problem() is None:
            self._shows_face = [main_face(np.ascontiguousarray(p)) is not None for p in self.photos]
        return self._shows_face

    @classmethod
    def load(cls, photos: list[np.ndarray], clip_paths: list[Path] = (), clip_frames: int = 48,
             clip_long_side: int | None = 360, judge: CartoonJudge | Path | None | str = "bundled") -> EvaluationSet:
        """`judge`: "bundled" (the shipped judge file), a judge file's path, a loaded judge, or None."""
        clips = {Path(p).name: ClipMotion.from_frames(read_clip_frames(p, clip_frames, clip_long_side))
                 for p in clip_paths}
        if isinstance(judge, str) and judge == "bundled":
            judge = load_judge()
        elif isinstance(judge, (str, Path)):
            judge = load_judge(str(judge))
        return cls(list(photos), clips, judge)


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
    faces = face_figures(data.photos, outputs)
    judged = data.judge.judge(outputs, data.shows_face()).to_dict() if data.judge else {}
    report = EvaluationReport(len(data.photos), means_in, means_out, f1, clips, judged, data.input_judge(),
                              data.judge.cartoon_stats if data.judge else {}, faces.found, faces.kept,
                              faces.lightness_shift, faces.colour_shift,
                              fidelity_figures(data.photos, outputs, faces=data.fidelity_faces))
    kept = {"photos": outputs, "clips": clip_outputs} if keep_outputs else {}
    return report, kept


def square_tile(rgb: np.ndarray, tile: int) -> np.ndarray:
    """The centre square of an image, scaled to `tile` px: every cell of a sheet the same size, nothing padded."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return cv2.resize(rgb[top:top + side, left:left + side], (tile, tile), interpolation=cv2.INTER_AREA)


def contact_sheet(columns: list[list[np.ndarray]], tile: int = 192, rows: int = SHEET_ROWS) -> np.ndarray:
    """A grid with one row per image: input | output (| more columns), each cell a `tile` px square."""
    return np.vstack([np.hstack([square_tile(im, tile) for im in row]) for row in list(zip(*columns))[:rows]])


def save_png(path: Path, rgb: np.ndarray) -> Path:
    ok, png = cv2.imencode(Path(path).suffix or ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"{path}: OpenCV could not encode the picture")
    with atomic_path(path) as tmp:
        tmp.write_bytes(png.tobytes())
    return path


def save_json(path: Path, data: dict) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
    return path


def compare(stylizers: dict[str, Stylizer], data: EvaluationSet, sheet: Path | None = None) -> dict[str, EvaluationReport]:
    """Evaluate several stylizers on the same data; with `sheet`, a contact sheet input | each of them.

    The sheet has a row per photo (up to SHEET_ROWS) and one per clip (its middle frame).
    """
    reports, columns = {}, []
    for name, stylizer in stylizers.items():
        reports[name], outputs = evaluate(stylizer, data, keep_outputs=sheet is not None)
        if sheet is not None:
            middle = {clip: frames[len(frames) // 2] for clip, frames in outputs["clips"].items()}
            columns.append(outputs["photos"][:SHEET_ROWS] + [middle[c] for c in data.clips])
    if sheet is not None:
        inputs = data.photos[:SHEET_ROWS] + [m.frames[len(m.frames) // 2] for m in data.clips.values()]
        save_png(sheet, contact_sheet([inputs, *columns], rows=len(inputs)))
    return reports
