"""Faces followed across video frames: search the whole frame for faces now and then, detect each
followed face again every few frames (or when it is lost) in its own neighbourhood, follow it by its
landmarks in between, smooth its eye positions with a one-euro filter, keep identities apart by
where each face is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from artify_stream.face_mode.align import aligned_crop, alignment
from artify_stream.face_mode.detect import Landmarks, detect_faces, landmarks_in
from artify_stream.geometry import box_iou

MATCH_IOU = 0.3
#: A followed face whose small aligned crop changes by more than this (mean grey levels) from one
#: frame to the next is lost (a cut, an occlusion): it is detected afresh on that frame.
LOST_CHANGE = 40.0
PROBE = 24  # px: the small crop the change is measured on
#: A followed face is detected again within its box grown by this share of its width on every side:
#: room for a quick move, a quarter or less of a 640x360 frame's detection time.
NEIGHBOURHOOD = 0.6
#: ... and at a scale that makes it about this wide (px; the detector's window is 80): a big face is
#: searched for in a smaller copy of its neighbourhood, as fast as a small one.
NEAR_FACE_PX = 120


class OneEuroFilter:
    """Casiez et al.'s one-euro filter: heavy smoothing when still (no jitter), little when moving
    fast (no lag). `min_cutoff` Hz at rest, plus `beta` x speed."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.value: np.ndarray | None = None
        self.speed: np.ndarray | None = None
        self.time: float | None = None

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.value is None or self.time is None or t <= self.time:
            self.value, self.speed, self.time = x, np.zeros_like(x), t
            return x.astype(np.float32)
        dt = t - self.time
        speed = (x - self.value) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        self.speed = a_d * speed + (1 - a_d) * self.speed
        cutoff = self.min_cutoff + self.beta * np.abs(self.speed)
        a = 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff * dt))
        self.value = a * x + (1 - a) * self.value
        self.time = t
        return self.value.astype(np.float32)


@dataclass
class Track:
    id: int
    face: Landmarks
    smoother: OneEuroFilter
    eyes: np.ndarray  # smoothed (2, 2)
    probe: np.ndarray | None = None
    lost: bool = False


@dataclass
class FaceTracker:
    detect_every: int = 5  # frames between detections of each followed face near it (a lost one: at once)
    scan_every: int = 30  # frames between searches of the whole frame for new faces (with none: detect_every)
    upsample: int = 0
    max_faces: int = 4
    min_cutoff: float = 1.0
    beta: float = 0.05
    rate: float = 30.0  # frames per second, for the filter's time
    tracks: list[Track] = field(default_factory=list)
    frame_index: int = 0
    next_id: int = 0
    shape: tuple[int, int] | None = None
    detections: int = 0  # detector runs (the costly part), for the statistics
    scans: int = 0  # of which over the whole frame

    def reset(self) -> None:
        self.tracks, self.frame_index, self.shape = [], 0, None

    def update(self, rgb: np.ndarray) -> list[Track]:
        """The faces in this frame (a new frame of the same stream), smoothed."""
        if self.shape != rgb.shape[:2]:
            self.reset()
            self.shape = rgb.shape[:2]
        t = self.frame_index / self.rate
        scan = self.frame_index % self.scan_every == 0 or (not self.tracks and self.frame_index % self.detect_every == 0)
        near = not scan and bool(self.tracks) and self.frame_index % self.detect_every == 0
        if not scan and not near:
            for track in self.tracks:
                self._follow(rgb, track)
            near = any(track.lost for track in self.tracks)
        if scan:
            self._detect(rgb)
        elif near:
            self._detect(rgb, [self._neighbourhood(track.face, rgb.shape) for track in self.tracks])
        for track in self.tracks:
            track.eyes = track.smoother(track.face.eyes, t)
        self.frame_index += 1
        return self.tracks

    @staticmethod
    def _neighbourhood(face: Landmarks, shape: tuple[int, ...]) -> tuple[tuple[int, int, int, int], float]:
        """Where a followed face is searched for again, and at what scale."""
        x0, y0, x1, y1 = face.box
        margin = int(NEIGHBOURHOOD * face.width)
        region = max(x0 - margin, 0), max(y0 - margin, 0), min(x1 + margin, shape[1]), min(y1 + margin, shape[0])
        return region, min(1.0, NEAR_FACE_PX / max(face.width, 1))

    def _follow(self, rgb: np.ndarray, track: Track) -> None:
        """Landmarks in the face's box shifted by its last motion; lost if they jump or the crop changes."""
        face = landmarks_in(rgb, track.face.box)
        shift = face.eyes.mean(0) - track.face.eyes.mean(0)
        x0, y0, x1, y1 = track.face.box
        face.box = (int(x0 + shift[0]), int(y0 + shift[1]), int(x1 + shift[0]), int(y1 + shift[1]))
        probe = self._probe(rgb, face)
        spacing = np.linalg.norm(face.eyes[1] - face.eyes[0]) / max(track.face.width, 1)
        changed = track.probe is not None and float(np.abs(probe - track.probe).mean()) > LOST_CHANGE
        track.lost = changed or not 0.15 < spacing < 0.8
        track.face, track.probe = face, probe

    @staticmethod
    def _probe(rgb: np.ndarray, face: Landmarks) -> np.ndarray:
        crop = aligned_crop(rgb, alignment(face.eyes, PROBE), PROBE)
        return cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)

    def _detect(self, rgb: np.ndarray, regions: list[tuple[tuple[int, int, int, int], float]] | None = None) -> None:
        """Detect faces in the whole frame, or only in `regions` (the followed faces' neighbourhoods,
        each with its search scale), and match them to the tracks; a track whose face is not found
        again is dropped."""
        self.detections += 1
        if regions is None:
            self.scans += 1
            found = detect_faces(rgb, self.upsample, self.max_faces)
        else:
            found = []
            for region, scale in regions:
                found += [face for face in detect_faces(rgb, self.upsample, self.max_faces, region, scale)
                          if all(box_iou(face.box, other.box) < 0.5 for other in found)]  # neighbourhoods overlap
        kept, unmatched = [], list(found)
        for track in sorted(self.tracks, key=lambda tr: tr.id):
            best = max(unmatched, key=lambda f: box_iou(f.box, track.face.box), default=None)
            if best is not None and box_iou(best.box, track.face.box) >= MATCH_IOU:
                unmatched.remove(best)
                track.face, track.lost, track.probe = best, False, self._probe(rgb, best)
                kept.append(track)
        for face in unmatched:  # new faces (a face that was lost comes back as a new identity)
            kept.append(Track(self.next_id, face, OneEuroFilter(self.min_cutoff, self.beta), face.eyes,
                              self._probe(rgb, face)))
            self.next_id += 1
        self.tracks = sorted(kept, key=lambda tr: tr.id)[: self.max_faces]
