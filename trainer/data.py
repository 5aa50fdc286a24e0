"""Unpaired training data: photo folders, cartoon folders or clips, and edge-smoothed cartoons.

Randomness (crops, flips) comes from a generator seeded by (seed, epoch, index), so an epoch
draws the same samples whatever the worker count and after a resume.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from artify_stream.atomic import atomic_path
from artify_stream.errors import InputError
from artify_stream.image_files import find_images, read_images
from artify_stream.media_io import read_frames
from artify_stream.video import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

#: What the trainer samples frames from: the runtime's video files, and animated GIFs (cartoon loops).
CLIP_SUFFIXES = VIDEO_SUFFIXES | {".gif"}


def sample_video_frames(path: Path, step: int) -> list[np.ndarray]:
    """Every `step`-th decoded frame of a clip as RGB uint8."""
    return read_frames(path, step=step)


def load_cartoon_source(source: Path, frame_step: int) -> list[np.ndarray]:
    """Cartoons from a folder (images and clips, recursively) or from one clip."""
    return load_cartoons(source, frame_step)[0]


def cartoon_family(path: Path) -> str:
    """A cartoon's source family: its file name's first word (the kit names files by source:
    dicebear-..., twemoji-..., tuxpaint-..., kde-..., bbb-...)."""
    return path.stem.split("-")[0].split("_")[0].lower()


def load_cartoons(source: Path, frame_step: int) -> tuple[list[np.ndarray], list[str]]:
    """Cartoons from a folder (images and clips, recursively) or from one clip, with each one's
    `cartoon_family` (a clip's frames: the clip's)."""
    source = Path(source)
    if not source.exists():
        raise InputError(f"{source}: cartoon source not found")
    if source.is_file():
        if source.suffix.lower() in CLIP_SUFFIXES:
            frames = sample_video_frames(source, frame_step)
        else:
            frames = read_images([source], "cartoon", source)[1]
        if not frames:
            raise InputError(f"{source}: no usable cartoon frame")
        return frames, [cartoon_family(source)] * len(frames)
    images = [p for p in find_images(source) if p.suffix.lower() != ".gif"]
    clips = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES)
    frames: list[np.ndarray] = []
    families: list[str] = []
    for clip in clips:
        try:
            clip_frames = sample_video_frames(clip, frame_step)
        except InputError as exc:
            log.warning("skipping %s", exc)
            continue
        frames.extend(clip_frames)
        families.extend([cartoon_family(clip)] * len(clip_frames))
    if images:
        try:
            kept, read = read_images(images, "cartoon", source)
            frames.extend(read)
            families.extend(cartoon_family(p) for p in kept)
        except InputError:
            pass
    if not frames:
        raise InputError(f"{source}: no usable cartoon image or video")
    return frames, families


def balanced_weights(groups: list[str]) -> tuple[list[float], dict[str, int]]:
    """Sampling weights under which every group weighs alike (each item 1 / its group's size), and
    the groups' sizes."""
    counts = {g: groups.count(g) for g in sorted(set(groups))}
    return [1.0 / counts[g] for g in groups], counts


def edge_smooth(rgb: np.ndarray, kernel: int = 5) -> np.ndarray:
    """CartoonGAN's edge-smoothed cartoon: find edges, dilate them, blur only inside that mask."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(gray, 100, 200)
    mask = cv2.dilate(edges, np.ones((kernel, kernel), np.uint8)) > 0
    blurred = cv2.GaussianBlur(rgb, (kernel, kernel), 0)
    out = rgb.copy()
    out[mask] = blurred[mask]
    return out


class CachedRendering:
    """A per-image rendering made once and cached on disk as PNG, keyed by the image's content."""

    def __init__(self, cache_dir: Path, render, tag: str) -> None:
        self.cache_dir = Path(cache_dir)
        self.render = render
        self.tag = tag  # part of the key: a change of settings makes new entries

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return [self._one(rgb) for rgb in images]

    def _one(self, rgb: np.ndarray) -> np.ndarray:
        key = hashlib.sha1(rgb.tobytes() + f"{rgb.shape}|{self.tag}".encode()).hexdigest()
        path = self.cache_dir / f"{key}.png"
        if path.exists():
            cached = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if cached is not None and cached.shape == rgb.shape:
                return cv2.cvtColor(cached, cv2.COLOR_BGR2RGB)
        rendered = self.render(rgb)
        ok, png = cv2.imencode(".png", cv2.cvtColor(rendered, cv2.COLOR_RGB2BGR))
        with atomic_path(path) as tmp:
            tmp.write_bytes(png.tobytes())
        return rendered


class EdgeSmoothedCartoons(CachedRendering):
    """Edge-smoothed copies of the cartoons (CartoonGAN's fakes for D), made once and cached."""

    def __init__(self, cache_dir: Path, kernel: int) -> None:
        super().__init__(cache_dir, lambda rgb: edge_smooth(rgb, kernel), f"k{kernel}")


class ToonTargets(CachedRendering):
    """The photos' classical toon renderings (`init_loss="toon"`), made once and cached."""

    def __init__(self, cache_dir: Path) -> None:
        from trainer.representations import toon_rendering

        super().__init__(cache_dir, toon_rendering, "cel1")


NO_FACE = "no face"


def skin_tone_group(rgb: np.ndarray) -> str:
    """The ITA group of the photo's largest face (dlib, as `artify evaluate` groups them), or NO_FACE."""
    from artify_stream.evaluation import fidelity

    scale = min(1.0, 512 / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    face = fidelity.main_face(small)
    if face is None:
        return NO_FACE
    skin = fidelity.lab(small)[fidelity.skin_mask(small.shape[:2], face)]
    return fidelity.ita_group(fidelity.ita_degrees(skin.mean(0))) if len(skin) else NO_FACE


def cached_per_photo(photos: list[np.ndarray], cache_dir: Path, compute) -> list[str]:
    """`compute(rgb) -> str` of each photo, kept as a text file named by the photo's content (dlib's
    answers cost ~50 ms a photo; a run's second start reads them)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    texts = []
    for rgb in photos:
        path = cache_dir / f"{hashlib.sha1(rgb.tobytes() + str(rgb.shape).encode()).hexdigest()}.txt"
        if not path.exists():
            with atomic_path(path) as tmp:
                tmp.write_text(compute(rgb))
        texts.append(path.read_text())
    return texts


def skin_tone_groups(photos: list[np.ndarray], cache_dir: Path, setting: str) -> list[str]:
    """Each photo's `skin_tone_group`, cached per photo content; `setting` names what needs them."""
    from artify_stream.evaluation.fidelity import faces_problem

    if (problem := faces_problem()) is not None:
        raise InputError(f"{setting} needs dlib's face models: {problem}")
    return cached_per_photo(photos, cache_dir, skin_tone_group)


def skin_tone_weights(photos: list[np.ndarray], cache_dir: Path, scene_weight: float = 1.0) -> tuple[list[float], dict[str, int]]:
    """Sampling weights under which every skin-tone group weighs alike (the kit has ten light-skinned
    sitters for every dark-skinned one), and the photos without a face `scene_weight` times one
    group; cached per photo content."""
    groups = skin_tone_groups(photos, cache_dir, "balance_skin_tones")
    weights, counts = balanced_weights(groups)
    return [w * scene_weight if g == NO_FACE else w for w, g in zip(weights, groups)], counts


def face_eyes(photos: list[np.ndarray], cache_dir: Path) -> list[np.ndarray | None]:
    """The eye centres (image-left first) of each photo's largest face (dlib, as face mode finds them),
    or None; cached per photo content. Upsampled once: the kit's 256 px portraits hold faces of 60-130 px."""
    from artify_stream.face_mode.detect import detect_faces, faces_missing

    if (problem := faces_missing()) is not None:
        raise InputError(f"face crops need dlib's face models: {problem}")

    def eyes_text(rgb: np.ndarray) -> str:
        found = detect_faces(rgb, upsample=1, limit=1)
        return " ".join(f"{v:.2f}" for v in found[0].eyes.ravel()) if found else NO_FACE

    texts = cached_per_photo(photos, cache_dir, eyes_text)
    return [None if text == NO_FACE else np.array(text.split(), np.float32).reshape(2, 2) for text in texts]


def _face_crop(images: list[np.ndarray], eyes: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The same aligned face crop (face mode's canonical crop), jittered in scale, angle and place,
    and flip, of equally sized images."""
    from artify_stream.face_mode.align import aligned_crop, alignment

    matrix = np.vstack([alignment(eyes, size), [0, 0, 1]])
    scale, angle = rng.uniform(0.8, 1.2), np.radians(rng.uniform(-10, 10))
    shift = rng.uniform(-0.05, 0.05, 2) * size
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    centre = np.array([size / 2, size / 2])
    jitter = np.eye(3)
    jitter[:2, :2] = [[c, -s], [s, c]]
    jitter[:2, 2] = centre + shift - jitter[:2, :2] @ centre
    matrix = (jitter @ matrix)[:2].astype(np.float32)
    flip = bool(rng.integers(0, 2))
    crops = [aligned_crop(im, matrix, size) for im in images]
    return [np.ascontiguousarray(c[:, ::-1] if flip else c) for c in crops]


def _scaled(images: list[np.ndarray], factor: float, least: int) -> list[np.ndarray]:
    """Equally sized images resized alike by `factor`, the short side kept at `least` or more."""
    h, w = images[0].shape[:2]
    factor = max(factor, least / min(h, w))
    new = (max(least, round(w * factor)), max(least, round(h * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return [cv2.resize(im, new, interpolation=interpolation) for im in images]


def _random_crop(images: list[np.ndarray], size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The same random crop (and flip) of equally sized images; upscale if smaller than the crop."""
    if min(images[0].shape[:2]) < size:
        images = _scaled(images, 1.0, size)
    h, w = images[0].shape[:2]
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    flip = bool(rng.integers(0, 2))
    out = []
    for im in images:
        crop = im[top : top + size, left : left + size]
        out.append(np.ascontiguousarray(crop[:, ::-1] if flip else crop))
    return out


def darkened(rgb: np.ndarray, gamma: float) -> np.ndarray:
    """`rgb` with its lightness (BT.601 luma) raised to `gamma` and each pixel's RGB scaled alike, so
    hue and the ratios between channels stay: midtones fall most, highlights least, as on darker skin."""
    from artify_stream.generator_config import LUMA

    x = rgb.astype(np.float32) / 255.0
    y = np.maximum(x @ np.asarray(LUMA, np.float32), 1e-4)[..., None]
    return np.clip(x * y ** (gamma - 1.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def darkened_face(rgb: np.ndarray, eyes: np.ndarray, gamma: float) -> np.ndarray:
    """`rgb` `darkened` only over its face (face mode's feathered ellipse, put back from the canonical
    crop by the eyes), the rest of the picture as it was: dark skin in a picture that is not dark."""
    from artify_stream.face_mode.align import alignment, feathered_mask

    size = 128  # the mask's resolution in the canonical crop; warped to the picture's own size below
    inverse = cv2.invertAffineTransform(alignment(eyes, size))
    h, w = rgb.shape[:2]
    mask = cv2.warpAffine(feathered_mask(size), inverse, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    dark = darkened(rgb, gamma).astype(np.float32)
    return np.clip(rgb + mask * (dark - rgb) + 0.5, 0, 255).astype(np.uint8)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0)


class _SeededCrops(Dataset):
    def __init__(self, crop_size: int, seed: int) -> None:
        self.crop_size = crop_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])


class PhotoSample(NamedTuple):
    """One training photo crop; `target` is empty when the run has no per-photo target, `face` says
    whether the crop is an aligned face (the face terms apply to those), `scene` whether the photo
    is known to show no face (False when faces were not looked for)."""

    photo: torch.Tensor
    target: torch.Tensor
    face: torch.Tensor
    scene: torch.Tensor


class PhotoCrops(_SeededCrops):
    """Random crops and flips of the photos, as float tensors in [0, 1]; with `targets` (the same
    size as the photos), the same crop of each photo's target too. With `eyes` (per photo, None
    where no face) a `face_share` of the draws of a photo with a face is its aligned face crop. A
    `darken_share` of the draws in `darken_scope` (all; of photos with a face; face crops only; or only
    the face in a photo with one) is `darkened`, photo and target alike, by a gamma in `darken_gamma`.
    The draws of a photo without a face (known only with `eyes`) are first resized by a factor from
    `scene_scale`."""

    def __init__(self, photos: list[np.ndarray], crop_size: int, seed: int, targets: list[np.ndarray] | None = None,
                 eyes: list[np.ndarray | None] | None = None, face_share: float = 0.0, darken_share: float = 0.0,
                 darken_gamma: tuple[float, float] = (1.0, 1.0), darken_scope: str = "all",
                 scene_scale: tuple[float, float] = (1.0, 1.0)) -> None:
        super().__init__(crop_size, seed)
        self.photos = photos
        self.targets = targets
        self.eyes = eyes
        self.face_share = face_share
        self.darken_share = darken_share
        self.darken_gamma = darken_gamma
        self.darken_scope = darken_scope
        self.scene_scale = scene_scale

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, index: int) -> PhotoSample:
        images = [self.photos[index]] + ([self.targets[index]] if self.targets is not None else [])
        rng = self._rng(index)
        eyes = self.eyes[index] if self.eyes is not None else None
        face = eyes is not None and rng.random() < self.face_share
        scene = self.eyes is not None and eyes is None
        if scene and self.scene_scale != (1.0, 1.0):
            images = _scaled(images, rng.uniform(*self.scene_scale), self.crop_size)
        # The face is darkened where the eyes were found, before the crop; other scopes darken the crop.
        if self.darken_share and self.darken_scope == "faces" and eyes is not None and rng.random() < self.darken_share:
            gamma = rng.uniform(*self.darken_gamma)
            images = [darkened_face(im, eyes, gamma) for im in images]
        crops = _face_crop(images, eyes, self.crop_size, rng) if face else _random_crop(images, self.crop_size, rng)
        in_scope = {"all": True, "portraits": eyes is not None, "face-crops": face, "faces": False}[self.darken_scope]
        if self.darken_share and in_scope and rng.random() < self.darken_share:
            gamma = rng.uniform(*self.darken_gamma)
            crops = [darkened(c, gamma) for c in crops]
        crops = [to_tensor(c) for c in crops]
        return PhotoSample(crops[0], crops[1] if self.targets is not None else torch.empty(0), torch.tensor(face),
                           torch.tensor(scene))


class CartoonCrops(_SeededCrops):
    """The same random crop of a cartoon and of its edge-smoothed copy; a `darken_share` of them
    `darkened` alike (as the photos are)."""

    def __init__(self, cartoons: list[np.ndarray], smoothed: list[np.ndarray], crop_size: int, seed: int,
                 darken_share: float = 0.0, darken_gamma: tuple[float, float] = (1.0, 1.0)) -> None:
        super().__init__(crop_size, seed + 1)
        self.cartoons = cartoons
        self.smoothed = smoothed
        self.darken_share = darken_share
        self.darken_gamma = darken_gamma

    def __len__(self) -> int:
        return len(self.cartoons)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = self._rng(index)
        crops = _random_crop([self.cartoons[index], self.smoothed[index]], self.crop_size, rng)
        if self.darken_share and rng.random() < self.darken_share:
            gamma = rng.uniform(*self.darken_gamma)
            crops = [darkened(c, gamma) for c in crops]
        return to_tensor(crops[0]), to_tensor(crops[1])


def load_photos(root: Path) -> tuple[list[Path], list[np.ndarray]]:
    """Every usable photo under `root`: (paths, RGB images)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: photo folder not found")
    return read_images(find_images(root), "photo", root)


def split_photos(count: int, validation: int, batch: int, seed: int, root: Path,
                 groups: list[str] | None = None) -> tuple[list[int], list[int]]:
    """A seeded split into (train, validation) indices; the validation photos never train. With
    `groups` (one per photo), the validation photos are drawn in turn from each group, none giving
    up more than half its photos, so that a small group (scenes, dark skin) is seen by the pick."""
    if count < validation + batch:
        raise InputError(
            f"{root}: {count} usable photos, fewer than {validation} held back for validation plus one batch of {batch}"
        )
    rng = np.random.default_rng([seed, 0x5EED])
    if groups is None:
        order = rng.permutation(count)
        return sorted(order[validation:].tolist()), sorted(order[:validation].tolist())
    members = {g: rng.permutation([i for i, h in enumerate(groups) if h == g]).tolist() for g in sorted(set(groups))}
    givable = {g: m[: len(m) // 2] for g, m in members.items()}
    held: list[int] = []
    for turn in range(max(map(len, givable.values()), default=0)):
        held += [m[turn] for m in givable.values() if turn < len(m)][: validation - len(held)]
    if len(held) < validation:
        raise InputError(f"{root}: {count} usable photos in {len(members)} groups cannot give {validation} "
                         "validation photos while each group keeps half its photos; lower validation_photos")
    chosen = set(held)
    return [i for i in range(count) if i not in chosen], sorted(held)
