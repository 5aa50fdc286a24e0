"""The face-mode stylizer: the whole-frame cartoon, with every face stylized as an aligned crop and
put back through a feathered mask. It has the engine interface, so the file pipeline, still images
and live mode take it as they take any engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from artify_stream.engine_api import as_engine
from artify_stream.engines_in_turn import EnginesInTurn
from artify_stream.face_mode.align import aligned_crop, alignment, feathered_mask, paste
from artify_stream.face_mode.detect import faces_missing
from artify_stream.face_mode.track import FaceTracker
from artify_stream.errors import ConfigError
from artify_stream.generator_config import LUMA

#: A frame whose small grey thumbnail differs from the previous one's by more than this (mean grey
#: levels) starts afresh: a cut in a clip, or the next picture of a batch of stills.
NEW_SCENE_CHANGE = 30.0
#: Weight of the edge band's overall colour offset where the band itself is far (the match's floor).
MATCH_FLOOR = 0.02
#: BT.601 luma weights as cv2.transform takes them (one output channel).
LUMA_ROW = np.array([LUMA], np.float32)
#: Window (Gaussian sigma, a fraction of the crop) over which the face's line contrast near its edge is
#: weighed against the frame's: about the width of a hair or jaw outline with its surroundings.
CONTRAST_WINDOW = 1 / 16


class PastedFace(NamedTuple):
    """One face of the last frame: its track's identity, the aligned cartoon crop, the frame -> crop matrix."""

    identity: int
    crop: np.ndarray
    matrix: np.ndarray


@dataclass
class FaceDrawing:
    """What `FaceStylizer.draw` leaves for `finish`: the whole-frame cartoons (N, H, W, 3), or their
    future while an engine in turn draws them, and, per frame, its faces as (identity, frame -> crop
    matrix) with their stylized crops (None: no face)."""

    canvases: np.ndarray | Future
    faces: list[tuple[list[tuple[int, np.ndarray]], np.ndarray | None]]


@dataclass(frozen=True)
class FaceOptions:
    crop_size: int = 256  # px: the aligned crop each face is stylized at (a 120 px webcam face, doubled)
    detect_every: int = 5  # frames between detections of a followed face, near it (a lost face: at once)
    scan_every: int = 30  # frames between searches of the whole frame for new faces (with no face: detect_every)
    upsample: int = 0  # the detector's search scale: 0 finds faces from ~80 px wide, 1 from ~40 px (4x slower)
    max_faces: int = 4  # faces stylized per frame, largest first (each costs one crop through the engine)
    min_cutoff: float = 1.0  # one-euro filter: Hz of smoothing at rest (lower: steadier, more lag)
    beta: float = 0.05  # one-euro filter: how fast the smoothing lets go when the face moves
    stream: bool = True  # frames follow each other (video, live): track and smooth; False: each on its own

    def __post_init__(self) -> None:
        if self.crop_size < 64 or self.crop_size % 4:
            raise ConfigError(f"face crop size {self.crop_size}: use a multiple of 4, at least 64")
        if min(self.detect_every, self.scan_every, self.max_faces) < 1 or self.upsample not in (0, 1, 2):
            raise ConfigError("face options: detect_every, scan_every and max_faces >= 1, upsample 0, 1 or 2")


class FaceStylizer:
    """`engine` stylizes the frame; `face_engine` (default: the same) the aligned face crops.
    `more_frame_engines`, more engines of the frame's model (host engines, a face engine of their
    own): the frames are drawn by each in turn, as many at once, when frames are drawn ahead of
    being finished (`draw` and `finish`, as live mode does)."""

    def __init__(self, engine, face_engine=None, options: FaceOptions = FaceOptions(),
                 more_frame_engines: Sequence = ()) -> None:
        problem = faces_missing()
        if problem:
            raise ConfigError(problem)
        self.engine = as_engine(engine)
        self.face_engine = as_engine(face_engine) if face_engine is not None else self.engine
        if more_frame_engines and self.face_engine is self.engine:
            raise ConfigError("face mode: more frame engines need a face engine of their own")
        # Two engines on the host: the frame's cartoon is drawn on a worker (the engine lets go of the
        # GIL) while the faces are found and drawn on the calling thread (bench/face_mode.py, lite,
        # lbbc2a at 640x360, 2 cores: 32-35 fps in three runs, against 22-26 fps one after the other).
        self._frame_turns = (EnginesInTurn([self.engine, *map(as_engine, more_frame_engines)])
                             if self.face_engine is not self.engine else None)
        self.options = options
        self.spec = self.engine.spec
        self.reason = f"{self.engine.reason}; face mode: faces aligned at {options.crop_size} px"
        self.tracker = FaceTracker(detect_every=options.detect_every, scan_every=options.scan_every,
                                   upsample=options.upsample, max_faces=options.max_faces,
                                   min_cutoff=options.min_cutoff, beta=options.beta)
        self.mask = feathered_mask(options.crop_size)
        # The colour match works at half size (it is smooth anyway) over the feathered edge and a
        # little inside it, where the pasted face meets the frame's cartoon; the band's blurred weight
        # is the same every frame, so it is made here.
        size = options.crop_size
        self._small = (size // 2, size // 2)
        band = ((self.mask > 0.1) & (feathered_mask(size, 0.02, 0.8) < 0.5)).astype(np.float32)
        self._band = cv2.resize(band, self._small, interpolation=cv2.INTER_AREA)[..., None]
        self._sigma = self._small[0] / 96  # about 2.7 px of the crop: the match follows the edge closely
        self._band_weight = cv2.GaussianBlur(self._band[..., 0], (0, 0), self._sigma)[..., None] + MATCH_FLOOR
        # The match is whole over the edge and fades out inside an ellipse 0.75x the mask's, before
        # the eyes and mouth: the face keeps its own drawing (held-back portraits: seam 0.998-0.999x
        # the whole frame's with the face models; a quarter-size match, fading at 0.7x, gave 0.999-1.001x).
        self._edge_weight = (1.0 - feathered_mask(size, feather=0.15, scale=0.75))[..., None]
        self._contrast_sigma = self._small[0] * CONTRAST_WINDOW
        self._thumb: np.ndarray | None = None
        self.frames = 0  # frames finished
        self.face_frames = 0  # faces stylized, summed over frames
        self.last_faces: list[PastedFace] = []  # the last frame's faces

    def input_buffer(self, shape: tuple[int, int, int, int]) -> np.ndarray:
        return self.engine.input_buffer(shape)

    @property
    def identities(self) -> int:
        """Distinct faces seen so far (a face that left and came back counts again)."""
        return self.tracker.next_id

    def __call__(self, frames):
        if isinstance(frames, np.ndarray):
            return self.finish(self.draw(frames, own=False))
        # A device's tensors, one engine: faces first, then the frame (the engine reuses its output).
        drawn = [self._faces_drawn(np.ascontiguousarray(frame)) for frame in frames.cpu().numpy()]
        out = self.engine(frames)
        if not any(faces for faces, _ in drawn):
            self.last_faces = []
            self.frames += len(drawn)
            return out  # no face: the whole-frame cartoon as the engine gave it
        import torch

        return torch.from_numpy(self.finish(FaceDrawing(out.cpu().numpy().copy(), drawn))).to(out.device)

    def draw(self, frames: np.ndarray, own: bool = True) -> FaceDrawing:
        """The engines' half of a call (host frames): the whole-frame cartoons, each frame's faces and
        their stylized crops, not yet put together (`finish` does that). With engines in turn the
        cartoons may still be being drawn on their worker as this returns (the next frame's can start
        at once). `own`: the cartoons are arrays of their own, which outlive the engine's next call
        (live mode finishes frame N on another thread while this draws frame N+1)."""
        if self._frame_turns is not None:
            canvases = self._frame_turns.submit(frames)  # an array of its own, when done
            drawn = [self._faces_drawn(np.ascontiguousarray(frame)) for frame in frames]
            return FaceDrawing(canvases, drawn)
        # One engine: faces first, then the frame (the engine reuses its output).
        drawn = [self._faces_drawn(np.ascontiguousarray(frame)) for frame in frames]
        out = self.engine(frames)
        # With faces the cartoons are pasted into, so they are a copy: the engine's buffer is its own.
        return FaceDrawing(out.copy() if own or any(faces for faces, _ in drawn) else out, drawn)

    def finish(self, drawing: FaceDrawing) -> np.ndarray:
        """Each face's crop pasted into its frame's cartoon (in place); the cartoons."""
        canvases = drawing.canvases
        if isinstance(canvases, Future):
            canvases = canvases.result()
        self.last_faces = []
        self.frames += len(drawing.faces)  # counted as they come out (live mode drops some drawn ones)
        if any(faces for faces, _ in drawing.faces):
            for canvas, (faces, crops) in zip(canvases, drawing.faces):
                self._paste_faces(canvas, faces, crops)
        return canvases

    def _tracks_in(self, frame: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """This frame's faces as (identity, smoothed eye centres), followed from the last frame or
        found afresh after a cut or a new picture. A copy: the tracker moves on with the next frame."""
        thumb = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
        if (not self.options.stream or self._thumb is None or self._thumb.shape != thumb.shape
                or np.abs(thumb - self._thumb).mean() > NEW_SCENE_CHANGE):
            self.tracker.reset()
        self._thumb = thumb
        return [(track.id, track.eyes.copy()) for track in self.tracker.update(frame)]

    def _faces_drawn(self, frame: np.ndarray) -> tuple[list[tuple[int, np.ndarray]], np.ndarray | None]:
        """This frame's faces as (identity, frame -> crop matrix), and their aligned crops stylized."""
        size = self.options.crop_size
        faces = [(identity, alignment(eyes, size)) for identity, eyes in self._tracks_in(frame)]
        if not faces:
            return faces, None
        crops = np.stack([aligned_crop(frame, matrix, size) for _, matrix in faces])
        return faces, np.array(self.face_engine(crops))  # a copy: the engine's next call reuses its buffer

    def _paste_faces(self, canvas: np.ndarray, faces: list[tuple[int, np.ndarray]], crops: np.ndarray | None) -> None:
        self.last_faces = []  # the last frame's
        for (identity, matrix), crop in zip(faces, crops if crops is not None else []):
            crop = self._match_edges(crop, aligned_crop(canvas, matrix, crop.shape[0]))
            paste(canvas, crop, self.mask, matrix)
            self.last_faces.append(PastedFace(identity, crop, matrix))
        self.face_frames += len(faces)

    def _match_edges(self, crop: np.ndarray, under: np.ndarray) -> np.ndarray:
        """The face crop's colour moved towards the whole-frame cartoon around its feathered edge, by
        the local difference over that band (smoothed along it: hair on one side, a collar on the
        other), fading to nothing inside the face: the two stylizations of the same pixels differ a
        little, and that difference would show as a ring. Worked out at half size (smooth anyway)."""
        size = crop.shape[0]
        crop, under = crop.astype(np.float32), under.astype(np.float32)
        diff = cv2.resize(under - crop, self._small, interpolation=cv2.INTER_AREA)
        banded = diff * self._band
        local = cv2.GaussianBlur(banded, (0, 0), self._sigma)
        overall = banded.sum((0, 1)) / max(float(self._band.sum()), 1e-6)
        offset = (local + MATCH_FLOOR * overall) / self._band_weight  # far from the band: its overall mean
        # Colour itself is handed over to the frame's over the same band: the models draw in lightness
        # (their colour is the photo's, in blocks the size of the picture they see), so the face's
        # finer colour blocks would meet the frame's coarser ones at the edge; the drawing (lightness)
        # stays the face model's, its lines softened to the frame's strength at the edge (below) (seam
        # on two clips: 1.0056 -> 1.0021x, 1.0017 -> 1.0002x; with the softening, see _soften_lines).
        offset = cv2.resize(offset, (size, size), interpolation=cv2.INTER_LINEAR)
        matched = crop + offset * self._edge_weight
        towards = under - matched
        towards -= _lightness(towards)[..., None]  # the colour part of the difference
        matched += towards * self._edge_weight
        matched = self._soften_lines(matched, under)
        np.clip(matched, 0, 255, out=matched)
        matched += 0.5
        return matched.astype(np.uint8)

    def _soften_lines(self, matched: np.ndarray, under: np.ndarray) -> np.ndarray:
        """Over the same band, the face's lines (lightness about its local mean) made no stronger than
        the frame's there: the face model, drawing the face at 256 px, outlines hair and jaw a little
        more strongly than the frame's cartoon does, and that step in line strength is what remained of
        the ring (held-back portraits and four clips: seam 1.0003-1.0046x -> 0.996-0.999x). Inside
        the face, past the fade, its drawing is untouched. The local statistics are weighed at half
        size from full-size lightness and its square, so the finest lines still count."""
        face_lines = _lightness(matched)
        face_mean, face_strength = self._local_mean_and_spread(face_lines)
        _, frame_strength = self._local_mean_and_spread(_lightness(under))
        # Softened, never sharpened; the gain itself smoothed so it adds no pattern of its own.
        gain = cv2.GaussianBlur(np.minimum(frame_strength / face_strength, 1.0), (0, 0), self._contrast_sigma)
        size = (matched.shape[1], matched.shape[0])
        face_mean, gain = (cv2.resize(x, size, interpolation=cv2.INTER_LINEAR) for x in (face_mean, gain))
        return matched + ((face_lines - face_mean) * (gain - 1.0))[..., None] * self._edge_weight

    def _local_mean_and_spread(self, lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Half-size Gaussian-weighted local mean and standard deviation of full-size `lightness`
        (plus one grey level, so flat areas divide safely)."""
        mean, square = (cv2.GaussianBlur(cv2.resize(x, self._small, interpolation=cv2.INTER_AREA), (0, 0),
                                         self._contrast_sigma) for x in (lightness, lightness * lightness))
        return mean, np.sqrt(np.maximum(square - mean * mean, 0.0)) + 1.0

    def summary(self) -> dict:
        return {"frames": self.frames, "faces_stylized": self.face_frames, "identities": self.identities,
                "detector_runs": self.tracker.detections, "whole_frame_searches": self.tracker.scans}


def _lightness(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of a float32 RGB image (cv2.transform: a few times faster than a numpy matmul)."""
    return cv2.transform(rgb, LUMA_ROW)
