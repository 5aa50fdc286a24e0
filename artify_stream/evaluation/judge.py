"""The cartoon judge: does a stranger's classifier call the output a drawing, and how far is it from cartoons?

A photo-vs-cartoon logistic regression on frozen EfficientNet-Lite0 head features (pooled 1280-d),
fitted on the data kit (`trainer/judge_fit.py`, `artify fit-judge`), shipped as a small
safetensors file beside the models. The same file carries reference features of the kit's
cartoons and photos, so KID (Binkowski et al. 2018) to each set needs no data at run time, and
the cartoon set's own palette and flatness, so those are measured against cartoons, not the input.
"""

from __future__ import annotations

import json  # torch loads on first use: `artify --help` reads this module's constants
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from artify_stream.errors import InputError

#: Side the judge sees (EfficientNet-Lite0's ImageNet size).
JUDGE_SIZE = 224
#: The bundled judge, fitted on the data kit (see its "validation" metadata).
BUNDLED_JUDGE = Path(__file__).resolve().parent.parent / "judges" / "photo-vs-cartoon.safetensors"
#: KID subsets: the unbiased MMD^2 is averaged over this many random subsets of this size (capped by the sets).
KID_SUBSETS, KID_SUBSET_SIZE = 20, 100


def _preprocess(images: list[np.ndarray]):
    import torch

    resized = [cv2.resize(im, (JUDGE_SIZE, JUDGE_SIZE), interpolation=cv2.INTER_AREA) for im in images]
    return torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2).float().div_(255.0)


def kid(features: np.ndarray, reference: np.ndarray, seed: int = 0) -> float:
    """Kernel Inception Distance with the cubic polynomial kernel, unbiased, mean over random subsets.

    Reported x1000 by convention elsewhere; here in its own units (0 for the same distribution)."""
    x, y = np.asarray(features, np.float64), np.asarray(reference, np.float64)
    if len(x) < 2 or len(y) < 2:
        raise InputError(f"KID needs at least 2 images on each side, got {len(x)} and {len(y)}")
    d = x.shape[1]
    rng = np.random.default_rng(seed)
    m = min(len(x), len(y), KID_SUBSET_SIZE)
    values = []
    for _ in range(KID_SUBSETS):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        kaa, kbb, kab = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
        values.append((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
                      - 2 * kab.mean())
    return float(np.mean(values))


def head_features(backbone, images: list[np.ndarray], batch: int = 32) -> np.ndarray:
    """The judge's features of uint8 RGB images: `backbone` (FrozenFeatures with the "head" tap) at JUDGE_SIZE."""
    import torch

    with torch.no_grad():
        out = [backbone(_preprocess(images[i:i + batch]))[0].double().numpy() for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros((0, 1280))


@dataclass
class JudgeFigures:
    """What the judge says of a set of images."""

    p_cartoon: float  # mean probability that an image is a cartoon
    cartoon_share: float  # share of images called cartoons (p > 0.5)
    kid_cartoons: float
    kid_photos: float
    # The mean over the images without a face and over those with one, where a set holds both: a
    # model can be judged a cartoon on the faces that fill most sets and not on the scenes.
    p_cartoon_scenes: float | None = None
    p_cartoon_portraits: float | None = None

    def to_dict(self) -> dict[str, float]:
        kinds = {k: v for k, v in (("p_cartoon_scenes", self.p_cartoon_scenes),
                                   ("p_cartoon_portraits", self.p_cartoon_portraits)) if v is not None}
        return {"p_cartoon": self.p_cartoon, "cartoon_share": self.cartoon_share,
                "kid_cartoons": self.kid_cartoons, "kid_photos": self.kid_photos, **kinds}


class CartoonJudge:
    """Loads a judge file; `features` and `p_cartoon` take uint8 RGB images of any size."""

    def __init__(self, tensors: dict, metadata: dict) -> None:
        from artify_stream.features import FrozenFeatures

        self.metadata = metadata
        self.weight = tensors["weight"].double().numpy()
        self.bias = float(tensors["bias"].double().item())
        self.mean = tensors["feature_mean"].double().numpy()
        self.std = tensors["feature_std"].double().numpy()
        self.ref_cartoons = tensors["ref_cartoons"].float().numpy()
        self.ref_photos = tensors["ref_photos"].float().numpy()
        self.cartoon_stats: dict[str, float] = metadata.get("cartoon_stats", {})
        self.backbone = FrozenFeatures(taps=("head",))

    @classmethod
    def load(cls, path: Path = BUNDLED_JUDGE) -> CartoonJudge:
        from safetensors import SafetensorError
        from safetensors.torch import load_file, safe_open

        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: judge file not found; fit one with `artify fit-judge` or pass --judge PATH")
        try:
            tensors = load_file(path)
            with safe_open(path, "pt") as f:
                metadata = json.loads((f.metadata() or {}).get("judge", "{}"))
        except (SafetensorError, OSError, ValueError) as exc:
            raise InputError(f"{path}: not a judge file ({exc})") from exc
        missing = {"weight", "bias", "feature_mean", "feature_std", "ref_cartoons", "ref_photos"} - set(tensors)
        if missing:
            raise InputError(f"{path}: not a judge file (missing {sorted(missing)})")
        return cls(tensors, metadata)

    def features(self, images: list[np.ndarray]) -> np.ndarray:
        return head_features(self.backbone, images)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        logits = ((features - self.mean) / self.std) @ self.weight + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def p_cartoon(self, images: list[np.ndarray]) -> np.ndarray:
        return self.probabilities(self.features(images))

    def judge(self, images: list[np.ndarray], shows_face: list[bool] | None = None) -> JudgeFigures:
        """`shows_face` (one per image): also the means over the scenes and the portraits, if both are there."""
        features = self.features(images)
        p = self.probabilities(features)
        figures = JudgeFigures(float(p.mean()), float((p > 0.5).mean()),
                               kid(features, self.ref_cartoons), kid(features, self.ref_photos))
        if shows_face is not None and 0 < sum(shows_face) < len(shows_face):
            face = np.asarray(shows_face, dtype=bool)
            figures.p_cartoon_scenes, figures.p_cartoon_portraits = float(p[~face].mean()), float(p[face].mean())
        return figures


@lru_cache(maxsize=4)
def load_judge(path: str = str(BUNDLED_JUDGE)) -> CartoonJudge:
    """The judge at `path`, loaded once per process (the trainer asks every epoch)."""
    return CartoonJudge.load(Path(path))
