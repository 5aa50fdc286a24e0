"""What a bundled model must reach (torch-free: `artify evaluate --help` is written from it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CartoonTargets:
    """What a bundled model must reach on held-back photos and talking-face clips.

    The look is judged by a photo-vs-cartoon classifier and by distances to the kit's cartoons and
    photos (`judge.py`), not by ratios to the input that smoothing alone can meet."""

    p_cartoon_min: float = 0.9  # mean P(cartoon) of the outputs
    kid_closer_to_cartoons: bool = True  # KID to the cartoons below KID to the photos
    edge_f1_min: float = 0.5
    faces_kept_min: float = 0.9  # share of the input's detected faces still detected
    checkerboard_excess_max: float = 0.5  # grey levels above the input's own
    flicker_ratio_max: float = 1.5

    def describe(self) -> str:
        """One line, for --help and the README."""
        return (f"P(cartoon) >= {self.p_cartoon_min}, KID to cartoons < KID to photos, edge F1 >= {self.edge_f1_min}, "
                f"faces kept >= {self.faces_kept_min:.0%}, checkerboard <= input + {self.checkerboard_excess_max}, "
                f"flicker ratio <= {self.flicker_ratio_max}")
