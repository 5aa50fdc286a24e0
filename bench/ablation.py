"""The recipe ablation: the paper's losses, then each addition on top, same data and same budget.

    python bench/ablation.py --photos ../shared/data/photos --cartoons ../shared/data/cartoons \
        --out runs/ablation [--epochs 12 --init-epochs 8] [--only 0,1] [--clip CLIP]
    python bench/ablation.py --set draw ... --epochs 2   # issue 17: the adversarial signal that draws

`--set draw` fine-tunes the previous bundled model (`init_from=artify-toon`, no initialization)
with each change of the `draw` recipe added in turn to `toon`'s adversarial phase.

Every row trains the small CPU generator (4 blocks, width 32, 128 crops, batch 8) for the same
number of epochs and reports the validation figures of the epoch the selection rule picks, and
the wall time. Rows already finished in --out are read back, not retrained (so it resumes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.config import PRESETS  # noqa: E402
from trainer.gan_step import Training  # noqa: E402
from trainer.selection import best_epoch  # noqa: E402

PAPER = PRESETS["paper"]
REC = PRESETS["toon"]  # `recommended` when this chain was measured
# Each step adds to the one before; the last of the chain is `recommended` (at the ablation's budget).
STEPS: list[tuple[str, dict]] = [
    ("paper", {}),
    ("+resize-conv", {"generator": replace(PAPER.generator, upsample="resize")}),
    ("+lsgan,sn,ema", {"gan_loss": "lsgan", "spectral_norm": True, "ema_decay": REC.ema_decay, "d_width": REC.d_width}),
    ("+white-box texture D (for the RGB D)", {"adversarial_weight": 0.0, "texture_weight": REC.texture_weight}),
    ("+temporal", {"temporal_weight": REC.temporal_weight}),
    ("+toon init+anchor", {"init_loss": "toon", "init_lr": REC.init_lr, "toon_weight": REC.toon_weight,
                           "content_weight": REC.content_weight, "content_layer": REC.content_layer}),
    ("+mean-shift structure (= toon, then recommended)", {"structure_weight": REC.structure_weight, "superpixel": REC.superpixel,
                                              "structure_space": REC.structure_space}),
]
# Measured on top of `recommended`, left out of it (each row: recommended + this alone).
EXTRAS: list[tuple[str, dict]] = [
    ("rec +surface D", {"surface_weight": 0.2}),
    ("rec, SLIC structure in features (White-box's)", {"superpixel": "slic", "structure_space": "features",
                                                       "structure_weight": 1.0}),
    ("rec +AnimeGANv2 colour, gray style", {"colour_weight": 0.3, "gray_style_weight": 0.3}),
    ("rec +total variation", {"tv_weight": 0.5}),
]
DRAW = PRESETS["draw"]
DRAW_STEPS: list[tuple[str, dict]] = [
    ("toon's adversarial phase (texture D, pixel toon anchor, structure)", {}),
    ("+projected D on EfficientNet-Lite0 features (for the texture D), hinge",
     {"texture_weight": 0.0, "projected_weight": DRAW.projected_weight, "gan_loss": DRAW.gan_loss}),
    ("+DiffAugment", {"diff_augment": DRAW.diff_augment}),
    ("feature anchors for the pixel toon anchor and structure",
     {"toon_weight": DRAW.toon_weight, "toon_feature_weight": DRAW.toon_feature_weight,
      "structure_weight": DRAW.structure_weight, "content_weight": DRAW.content_weight,
      "temporal_weight": DRAW.temporal_weight}),
    ("+region colour anchor (= draw)", {"region_colour_weight": DRAW.region_colour_weight}),
]
DRAW_EXTRAS: list[tuple[str, dict]] = [
    ("draw +temporal", {"temporal_weight": REC.temporal_weight}),
    ("draw, region colour anchor x4 (20)", {"region_colour_weight": 4 * DRAW.region_colour_weight}),
]
FIGURES = ("p_cartoon", "kid_cartoons", "kid_photos", "edge_f1", "faces_kept", "face_lightness_shift", "colours_vs_cartoons",
           "flatness_vs_cartoons", "checkerboard", "flicker_ratio", "targets_met")


def draw_configs(epochs: int, crop: int) -> list[tuple[str, object]]:
    out = []
    config = REC.with_overrides(epochs=epochs, init_epochs=0, crop_size=crop, init_from="artify-toon")
    for name, change in DRAW_STEPS:
        config = replace(config, **change)
        out.append((name, config))
    assert config == DRAW.with_overrides(epochs=epochs, init_epochs=0, crop_size=crop, init_from="artify-toon"), \
        "the chain must end at draw"
    out += [(name, replace(config, **change)) for name, change in DRAW_EXTRAS]
    return out


def configs(epochs: int, init_epochs: int) -> list[tuple[str, object]]:
    out, config = [], PAPER.with_overrides(epochs=epochs, init_epochs=init_epochs)
    for name, change in STEPS:
        config = replace(config, **change)
        out.append((name, config))
    recommended = config
    assert recommended == REC.with_overrides(epochs=epochs, init_epochs=init_epochs), "the chain must end at toon"
    out += [(name, replace(recommended, **change)) for name, change in EXTRAS]
    return out


def seed_caches(source: Path | None, run: Path) -> None:
    """Rendered targets are cached by content: copying another run's saves minutes per row, changes nothing."""
    import shutil

    if source is not None and (source / "cache").is_dir() and not (run / "cache").exists():
        shutil.copytree(source / "cache", run / "cache")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--cartoons", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--init-epochs", type=int, default=8)
    ap.add_argument("--clip", type=Path, action="append", default=[])
    ap.add_argument("--set", dest="which", choices=("paper", "draw"), default="paper")
    ap.add_argument("--crop", type=int, default=128, help="crop size of the draw rows")
    ap.add_argument("--only", default=None, help="comma-separated row numbers (0 = paper), e.g. 7,8,9,10")
    ap.add_argument("--seed-cache", type=Path, default=None,
                    help="a run folder whose cache/ (toon targets, edge-smoothed cartoons) the runs may copy")
    args = ap.parse_args()
    rows = []
    rows_to_run = draw_configs(args.epochs, args.crop) if args.which == "draw" else configs(args.epochs, args.init_epochs)
    for index, (name, config) in enumerate(rows_to_run):
        if args.only and str(index) not in args.only.split(","):
            continue
        run = args.out / f"{index}"
        done = run / "ablation.json"
        seed_caches(args.seed_cache, run)
        if done.exists():
            rows.append(json.loads(done.read_text()))
            continue
        start = time.perf_counter()
        records = Training(config, args.photos, args.cartoons, run, eval_clips=args.clip).run(
            resume=(run / "checkpoints" / "last.pt").exists())
        picked = best_epoch(records, config.first_ranked_epoch)
        record = next(r for r in records if r["epoch"] == picked)
        row = {"step": name, "epoch": picked, "minutes": round((time.perf_counter() - start) / 60, 1),
               **{k: round(record.get(f"eval/{k}", float("nan")), 3) for k in FIGURES}}
        done.write_text(json.dumps(row) + "\n")
        rows.append(row)
        print(json.dumps(row), flush=True)
    header = ["step", "epoch", *FIGURES, "minutes"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(r.get(h, "")) for h in header) + " |" for r in rows]
    (args.out / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
