"""Does the cartoon still show the person and the scene? Colour, identity, facial features, skin.

What a user notices, measured photo against output:

- **colour**: CIEDE2000 between the 16x16-block mean colours of photo and output, and whether the
  image's dominant hue survives (the hue, weighted by chroma, with the most weight; kept when the
  output's is within 30 degrees of the photo's);
- **identity**: dlib's face recogniser (the ResNet of `face-recognition-models`, 128-d
  descriptors, 0.6 is its "same person" threshold): each output face's distance to its own
  photo, and rank-1 identification of every output face among the evaluation set's people (its
  nearest photo face shows the same person: its own photo, or another photo the recogniser puts
  within 0.6 of it, as the kit's London sitters' neutral and smiling photos); the stricter
  per-photo share (nearest to its own photo, not the same person's other one) is kept beside it;
- **facial features**: dlib's 68-point landmarks on the output against the photo's, mean error
  over the points normalised by the inter-ocular distance; and how many photo faces a real face
  detector (dlib's HOG) still finds in the output;
- **skin tone per group**: photos grouped by the Individual Typology Angle (ITA) of their cheeks
  and forehead (from the landmarks: no labels needed), and per group the CIEDE2000 of the mean
  skin colour and the lightness spread over the skin relative to the photo's (blotches > 1).

The weights (dlib's detector ships in dlib; the recogniser and shape predictors in the
`face-recognition-models` wheel) are read from the installed packages, never downloaded: the
`faces` extra installs them; without it the face figures are left out, saying why.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from functools import lru_cache
import cv2
import numpy as np

from artify_stream.face_mode.detect import faces_missing, models_dir
from artify_stream.geometry import box_iou

log = logging.getLogger(__name__)

BLOCK = 16  # px: block means compared for the colour error
HUE_KEPT_DEG = 30.0
CHROMA_MIN = 12.0  # Lab chroma below this is grey: it has no hue to keep
FACE_MIN_PX = 40  # dlib's HOG detector misses faces smaller than about 40 px (its 80x80 window, upsampled once)
#: ITA groups (degrees), light to dark; the boundaries of Chardon et al., merged to four groups so
#: each holds enough faces in an evaluation set of a few dozen portraits.
ITA_GROUPS = (("light", 41.0), ("intermediate", 28.0), ("tan", 10.0), ("brown-dark", -90.0))
#: 68-point indices: the eyes' points (for the inter-ocular distance) and skin patches' anchors.
LEFT_EYE, RIGHT_EYE = range(36, 42), range(42, 48)


# ---- colour ---------------------------------------------------------------------------------------
def lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB with L in 0-100 (OpenCV's float path)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def block_means(rgb: np.ndarray, block: int = BLOCK) -> np.ndarray:
    h, w = rgb.shape[0] // block * block, rgb.shape[1] // block * block
    if h == 0 or w == 0:
        return rgb.reshape(1, -1, 3).astype(np.float32).mean(1, keepdims=True)
    x = rgb[:h, :w].astype(np.float32).reshape(h // block, block, w // block, block, 3)
    return x.mean((1, 3))


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    from skimage.color import deltaE_ciede2000

    return deltaE_ciede2000(lab1, lab2)


def colour_error(photo: np.ndarray, output: np.ndarray) -> float:
    """Mean CIEDE2000 between the 16x16-block mean colours of photo and output."""
    a = lab(block_means(photo).round().astype(np.uint8))
    b = lab(block_means(output).round().astype(np.uint8))
    return float(ciede2000(a, b).mean())


def _hue_and_chroma(rgb: np.ndarray) -> tuple[float, float] | None:
    """(dominant hue in degrees, mean chroma of the coloured pixels): the hue angle (Lab a/b) with
    the most chroma weight, smoothed over 10-degree bins; None for an image without colour."""
    x = lab(rgb).reshape(-1, 3)
    chroma = np.hypot(x[:, 1], x[:, 2])
    coloured = chroma > CHROMA_MIN
    if coloured.mean() < 0.02:
        return None
    hue = np.degrees(np.arctan2(x[coloured, 2], x[coloured, 1])) % 360
    hist, _ = np.histogram(hue, bins=36, range=(0, 360), weights=chroma[coloured])
    smooth = hist + np.roll(hist, 1) + np.roll(hist, -1)
    return float(np.argmax(smooth) * 10 + 5), float(chroma[coloured].mean())


def dominant_hue(rgb: np.ndarray) -> float | None:
    found = _hue_and_chroma(rgb)
    return None if found is None else found[0]


def hue_kept(photo: np.ndarray, output: np.ndarray) -> bool | None:
    """Whether the output's dominant hue is within 30 degrees of the photo's and at least half as
    vivid (a red painted dull peach is 20 degrees away, at a fifth of the chroma); None: a grey photo."""
    before = _hue_and_chroma(photo)
    if before is None:
        return None
    after = _hue_and_chroma(output)
    if after is None:
        return False
    near = abs((after[0] - before[0] + 180) % 360 - 180) <= HUE_KEPT_DEG
    return near and after[1] >= 0.5 * before[1]


# ---- faces --------------------------------------------------------------------------------------------
def faces_problem() -> str | None:
    """Why the face figures cannot be measured here; None when dlib and its models are installed."""
    return faces_missing()


@lru_cache(maxsize=1)
def _detector():
    import dlib

    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _dlib():
    """(shape predictor, recogniser, dlib): loaded once a face is found (about 130 MB of weights)."""
    import dlib

    folder = models_dir()
    return (dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat")),
            dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat")), dlib)


@dataclass
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom
    landmarks: np.ndarray  # (68, 2) float
    descriptor: np.ndarray  # (128,)

    @property
    def inter_ocular(self) -> float:
        return float(np.linalg.norm(self.landmarks[list(LEFT_EYE)].mean(0) - self.landmarks[list(RIGHT_EYE)].mean(0)))


def _face_at(rgb: np.ndarray, rect) -> Face:
    predictor, recogniser, _ = _dlib()
    shape = predictor(rgb, rect)
    points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    descriptor = np.array(recogniser.compute_face_descriptor(rgb, shape), dtype=np.float32)
    return Face((rect.left(), rect.top(), rect.right(), rect.bottom()), points, descriptor)


def detect(rgb: np.ndarray) -> list:
    """dlib HOG face rectangles, upsampled once (faces down to about 40 px), largest first."""
    rects = list(_detector()(np.ascontiguousarray(rgb), 1))
    return sorted(rects, key=lambda r: -r.area())


def main_face(rgb: np.ndarray) -> Face | None:
    rects = detect(rgb)
    return _face_at(np.ascontiguousarray(rgb), rects[0]) if rects else None


def skin_mask(shape: tuple[int, int], face: Face) -> np.ndarray:
    """Cheeks and forehead from the 68 landmarks: skin, not eyes, brows, nose shadow or mouth."""
    p = face.landmarks
    mask = np.zeros(shape, np.uint8)
    eye_h = max(2.0, face.inter_ocular * 0.18)
    for cheek in ((1, 2, 3, 31, 40, 41), (15, 14, 13, 35, 47, 46)):
        hull = cv2.convexHull(p[list(cheek)].astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
    brows = p[17:27]
    top = brows[:, 1].min() - 2.5 * eye_h
    forehead = np.array([[brows[1, 0], brows[:, 1].min() - eye_h * 0.5], [brows[8, 0], brows[:, 1].min() - eye_h * 0.5],
                         [brows[8, 0], top], [brows[1, 0], top]], np.int32)
    cv2.fillConvexPoly(mask, forehead, 1)
    return mask.astype(bool)


def ita_degrees(skin_lab: np.ndarray) -> float:
    """Individual Typology Angle of a mean skin colour: atan((L - 50) / b) in degrees."""
    L, b = float(skin_lab[0]), float(skin_lab[2])
    return float(np.degrees(np.arctan2(L - 50.0, max(b, 1e-6))))


def ita_group(ita: float) -> str:
    for name, lower in ITA_GROUPS:
        if ita > lower:
            return name
    return ITA_GROUPS[-1][0]


@dataclass
class FidelityFigures:
    """Photo-vs-output fidelity over an evaluation set (face figures None without dlib)."""

    colour_error: float  # mean CIEDE2000 of 16x16 block means
    hue_kept: float | None  # share of coloured photos whose dominant hue survives
    faces_in_photos: int = 0
    faces_detected: float | None = None  # share of photo faces a real detector finds in the output
    identity_distance: float | None = None  # mean dlib descriptor distance, output face to its photo's
    identity_rank1: float | None = None  # share of output faces whose nearest photo face is the same person
    identity_rank1_photo: float | None = None  # share of output faces nearest to their own photo's face
    landmark_error: float | None = None  # mean 68-point error / inter-ocular distance
    skin_groups: dict[str, dict] = field(default_factory=dict)  # per ITA group: count, skin_error, spread_ratio
    problem: str | None = None  # why the face figures are missing

    def summary(self) -> dict[str, float]:
        """Flat figures for a training log, a card and the selection rule (worst skin group too)."""
        out = {"colour_error": self.colour_error}
        if self.hue_kept is not None:
            out["hue_kept"] = self.hue_kept
        for name in ("faces_detected", "identity_distance", "identity_rank1", "identity_rank1_photo", "landmark_error"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.skin_groups:
            out["skin_error_worst"] = max(g["skin_error"] for g in self.skin_groups.values())
            out["skin_spread_ratio_worst"] = max(g["spread_ratio"] for g in self.skin_groups.values())
            out["landmark_error_worst_group"] = max(g["landmark_error"] for g in self.skin_groups.values())
            out["identity_rank1_worst_group"] = min(g["identity_rank1"] for g in self.skin_groups.values())
            for group, g in self.skin_groups.items():
                out[f"skin_error/{group}"] = g["skin_error"]
                out[f"skin_spread_ratio/{group}"] = g["spread_ratio"]
                for name in ("landmark_error", "identity_rank1", "faces_detected"):
                    out[f"{name}/{group}"] = g[name]
        return out

    def to_dict(self) -> dict:
        return asdict(self)


def fidelity_figures(photos: list[np.ndarray], outputs: list[np.ndarray], faces: bool = True) -> FidelityFigures:
    """Every fidelity figure of `outputs` against their `photos` (the same order)."""
    errors = [colour_error(p, o) for p, o in zip(photos, outputs)]
    kept = [k for k in (hue_kept(p, o) for p, o in zip(photos, outputs)) if k is not None]
    figures = FidelityFigures(float(np.mean(errors)) if errors else 0.0, float(np.mean(kept)) if kept else None)
    problem = faces_problem() if faces else "not asked for"
    if problem:
        figures.problem = problem
        return figures
    _face_figures(figures, photos, outputs)
    return figures


def _face_figures(figures: FidelityFigures, photos: list[np.ndarray], outputs: list[np.ndarray]) -> None:
    pairs = []  # (photo face, output face at the photo's box, detected in the output?, photo, output)
    for photo, output in zip(photos, outputs):
        photo, output = np.ascontiguousarray(photo), np.ascontiguousarray(output)
        face = main_face(photo)
        if face is None or face.box[2] - face.box[0] < FACE_MIN_PX:
            continue
        found = detect(output)
        rect = _dlib()[2].rectangle(*face.box)
        detected = any(box_iou(face.box, (r.left(), r.top(), r.right(), r.bottom())) >= 0.3 for r in found)
        # Landmarks and descriptor of the output at the photo's face box: what a recogniser given
        # the cartoon where the face is would see (even where the detector no longer finds it).
        pairs.append((face, _face_at(output, rect), detected, photo, output))
    figures.faces_in_photos = len(pairs)
    if not pairs:
        return
    figures.faces_detected = float(np.mean([d for _, _, d, _, _ in pairs]))
    gallery = np.stack([p.descriptor for p, _, _, _, _ in pairs])
    distances = [float(np.linalg.norm(o.descriptor - p.descriptor)) for p, o, _, _, _ in pairs]
    figures.identity_distance = float(np.mean(distances))
    probes = np.stack([o.descriptor for _, o, _, _, _ in pairs])
    recognised = rank1_hits(gallery, probes, same_person(gallery))
    figures.identity_rank1 = float(recognised.mean())
    figures.identity_rank1_photo = float(rank1_hits(gallery, probes).mean())
    landmark_errors = [float(np.linalg.norm(o.landmarks - p.landmarks, axis=1).mean() / max(p.inter_ocular, 1.0))
                       for p, o, _, _, _ in pairs]
    figures.landmark_error = float(np.mean(landmark_errors))
    # Per skin-tone group: skin colour error, lightness spread (photo, output), and whether that
    # group's faces keep their features (landmarks, identity, found at all): a model can keep the
    # person on average and lose the eyes of the darkest faces only.
    groups: dict[str, list[tuple[float, ...]]] = {}
    for (face, _, detected, photo, output), hit, landmarks in zip(pairs, recognised, landmark_errors):
        mask = skin_mask(photo.shape[:2], face)
        if mask.sum() < 20:
            continue
        skin_in, skin_out = lab(photo)[mask], lab(output)[mask]
        mean_in, mean_out = skin_in.mean(0), skin_out.mean(0)
        group = ita_group(ita_degrees(mean_in))
        error = float(ciede2000(mean_in[None], mean_out[None])[0])
        spread_in, spread_out = float(skin_in[:, 0].std()), float(skin_out[:, 0].std())
        groups.setdefault(group, []).append((error, spread_in, spread_out, landmarks, float(hit), float(detected)))
    for name, _ in ITA_GROUPS:
        if name in groups:
            rows = np.array(groups[name])
            figures.skin_groups[name] = {"count": len(rows), "skin_error": float(rows[:, 0].mean()),
                                         "spread_photo": float(rows[:, 1].mean()), "spread_output": float(rows[:, 2].mean()),
                                         "spread_ratio": float(rows[:, 2].mean() / max(rows[:, 1].mean(), 1e-6)),
                                         "landmark_error": float(rows[:, 3].mean()), "identity_rank1": float(rows[:, 4].mean()),
                                         "faces_detected": float(rows[:, 5].mean())}


#: dlib's recogniser: two faces whose descriptors are nearer than this are the same person (its docs).
SAME_PERSON = 0.6


def same_person(gallery: np.ndarray) -> np.ndarray:
    """(n, n) bool: photo faces i and j show the same person, as the recogniser judges the photos."""
    return np.linalg.norm(gallery[:, None, :] - gallery[None, :, :], axis=2) < SAME_PERSON


def rank1_hits(gallery: np.ndarray, probes: np.ndarray, same: np.ndarray | None = None) -> np.ndarray:
    """Per probe (row i: the output of photo i): is its nearest gallery descriptor row i's, or with
    `same` (from `same_person`) any photo of the same person."""
    distances = np.linalg.norm(probes[:, None, :] - gallery[None, :, :], axis=2)
    nearest = np.argmin(distances, axis=1)
    if same is None:
        return nearest == np.arange(len(probes))
    return same[np.arange(len(probes)), nearest]


def rank1_share(gallery: np.ndarray, probes: np.ndarray, same: np.ndarray | None = None) -> float:
    """Share of `rank1_hits`."""
    return float(np.mean(rank1_hits(gallery, probes, same)))
