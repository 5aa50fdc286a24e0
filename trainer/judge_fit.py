"""Fit the cartoon judge (`artify fit-judge`): photos vs cartoons on frozen features, validated on styles it never saw.

The judge is a class-balanced, L2-regularized logistic regression on the pooled EfficientNet-Lite0
head features. Its validation, stored in the file's metadata:
- held-out photos and held-out cartoons (a seeded share of each, never fitted on);
- leave-one-style-out: for each cartoon family (file-name prefix), a judge fitted without that
  family scores it, so we know how it treats a style it has never seen (a model's output is one).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from artify_stream.evaluation.inputs import load_photos
from artify_stream.evaluation.judge import head_features
from artify_stream.features import FrozenFeatures
from artify_stream.evaluation.measures import colours_per_kpx, flatness
from artify_stream.atomic import atomic_path
from artify_stream.errors import InputError


@dataclass(frozen=True)
class JudgeFitConfig:
    held_out_share: float = 0.2  # of photos and of each cartoon family
    l2: float = 1e-2  # on the standardized features' weights
    reference_cartoons: int = 600  # KID reference features kept in the file
    reference_photos: int = 600
    seed: int = 0


def cartoon_family(path: Path) -> str:
    """The style a kit cartoon belongs to, from its file name (dicebear styles are families of their own)."""
    name = path.stem
    match = re.match(r"(dicebear-[a-z-]+?)-\d+$", name)
    if match:
        return match.group(1)
    for prefix in ("twemoji", "fluentflat", "tuxpaint", "bbb", "kde-plasma-illustration"):
        if name.startswith(prefix):
            return prefix
    return name.split("-")[0]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Balanced logistic regression by L-BFGS; x standardized already. Returns (weights, bias)."""
    xt, yt = torch.from_numpy(x).double(), torch.from_numpy(y).double()
    sample_weight = torch.where(yt > 0.5, 0.5 / yt.mean(), 0.5 / (1 - yt.mean()))
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = xt @ w + b
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, yt, reduction="none") * sample_weight).mean()
        loss = loss + l2 * w.pow(2).sum() / 2
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), float(b.detach().item())


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(0), x.std(0) + 1e-6


def _accuracy(p: np.ndarray, cartoon: bool) -> float:
    return float(((p > 0.5) == cartoon).mean())


def fit_judge(photos_dir: Path, cartoons_dir: Path, out: Path, config: JudgeFitConfig = JudgeFitConfig(),
              exclude: Path | None = None, log=print) -> dict:
    """Fit, validate and write a judge file; returns its validation figures."""
    from safetensors.torch import save_file

    photo_paths, photos = load_photos(photos_dir, long_side=256)
    cartoon_paths, cartoons = load_photos(cartoons_dir, long_side=256)
    held_photo = set()
    if exclude is not None:  # a training run's validation photos: never fitted on, never a reference
        try:
            held_photo = {Path(p).name for p in json.loads(Path(exclude).read_text())["validation"]}
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{exclude}: not a run's split.json ({exc})") from exc
    rng = np.random.default_rng(config.seed)
    photo_held = np.array([p.name in held_photo for p in photo_paths]) | (rng.random(len(photos)) < config.held_out_share)
    families = np.array([cartoon_family(p) for p in cartoon_paths])
    cartoon_held = rng.random(len(cartoons)) < config.held_out_share
    log(f"features of {len(photos)} photos and {len(cartoons)} cartoons ({len(set(families))} styles)")

    backbone = FrozenFeatures(taps=("head",))
    fp, fc = head_features(backbone, photos), head_features(backbone, cartoons)

    def fit(photo_mask: np.ndarray, cartoon_mask: np.ndarray):
        x = np.concatenate([fp[photo_mask], fc[cartoon_mask]])
        y = np.concatenate([np.zeros(photo_mask.sum()), np.ones(cartoon_mask.sum())])
        mean, std = _standardize(x)
        w, b = fit_logistic((x - mean) / std, y, config.l2)
        return lambda f: 1 / (1 + np.exp(-(((f - mean) / std) @ w + b))), (mean, std, w, b)

    predict, (mean, std, w, b) = fit(~photo_held, ~cartoon_held)
    validation = {
        "held_out_photos": int(photo_held.sum()),
        "held_out_photo_accuracy": _accuracy(predict(fp[photo_held]), False),
        "held_out_photo_p_cartoon": float(predict(fp[photo_held]).mean()),
        "held_out_cartoons": int(cartoon_held.sum()),
        "held_out_cartoon_accuracy": _accuracy(predict(fc[cartoon_held]), True),
        "leave_one_style_out": {},
    }
    groups = {family: families == family for family in sorted(set(families))}
    groups["dicebear (all 12 styles at once)"] = np.char.startswith(families.astype(str), "dicebear-")
    for family, left_out in groups.items():
        predict_without, _ = fit(~photo_held, ~cartoon_held & ~left_out)
        p = predict_without(fc[left_out])
        validation["leave_one_style_out"][family] = {"images": int(left_out.sum()), "accuracy": _accuracy(p, True),
                                                     "p_cartoon": float(p.mean())}
        log(f"  without {family}: {validation['leave_one_style_out'][family]}")
    fit_c, fit_p = np.flatnonzero(~cartoon_held), np.flatnonzero(~photo_held)
    ref_c = fc[rng.choice(fit_c, min(config.reference_cartoons, fit_c.size), replace=False)]
    ref_p = fp[rng.choice(fit_p, min(config.reference_photos, fit_p.size), replace=False)]
    metadata = {
        "features": backbone.info.to_dict() | {"input": "RGB resized to 224x224, pooled head (1280)"},
        "photos": str(photos_dir), "cartoons": str(cartoons_dir), "config": config.__dict__,
        "validation": validation,
        "cartoon_stats": {"colours_per_kpx": float(np.mean([colours_per_kpx(c) for c in cartoons])),
                          "flatness": float(np.mean([flatness(c) for c in cartoons]))},
        "held_out_photo_names": sorted(p.name for p, held in zip(photo_paths, photo_held) if held),
    }
    tensors = {"weight": torch.from_numpy(w).float(), "bias": torch.tensor([b], dtype=torch.float32),
               "feature_mean": torch.from_numpy(mean).float(), "feature_std": torch.from_numpy(std).float(),
               "ref_cartoons": torch.from_numpy(ref_c).half(), "ref_photos": torch.from_numpy(ref_p).half()}
    with atomic_path(Path(out)) as tmp:
        save_file(tensors, str(tmp), metadata={"judge": json.dumps(metadata)})
    return validation
