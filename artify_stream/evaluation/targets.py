"""What a bundled model must reach (torch-free: `artify evaluate --help` is written from it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CartoonTargets:
    """What a bundled model must reach on held-back photos and talking-face clips.

    The look is judged by a photo-vs-cartoon classifier and by distances to the kit's cartoons and
    photos (`judge.py`), not by ratios to the input that smoothing alone can meet."""

    p_cartoon_min: float = 0.9  # mean P(cartoon) of the outputs (and of the scenes and the portraits apart, in a set with both)
    kid_closer_to_cartoons: bool = True  # KID to the cartoons below KID to the photos
    edge_f1_min: float = 0.5
    faces_kept_min: float = 0.9  # share of the input's detected faces still detected
    checkerboard_excess_max: float = 0.5  # grey levels above the input's own
    flicker_ratio_max: float = 1.5
    # Fidelity (issue 30): the person and the scene kept (evaluation/fidelity.py measures them).
    colour_error_max: float = 8.0  # CIEDE2000 of 16x16 block means (portraits; scenes are allowed 10)
    hue_kept_min: float = 0.9  # share of photos whose dominant hue survives
    faces_detected_min: float = 0.95  # share of photo faces dlib's detector finds in the output
    identity_rank1_min: float = 0.8  # output faces nearest (dlib's recogniser) to their own photo
    landmark_error_max: float = 0.05  # 68-point error / inter-ocular distance, overall and in every skin-tone group
    skin_error_max: float = 8.0  # CIEDE2000 of the mean skin colour, in every skin-tone group
    skin_spread_ratio_max: float = 1.0  # lightness spread over the skin, output / photo, in every group

    def describe(self) -> str:
        """One line, for --help and the README."""
        return (f"P(cartoon) >= {self.p_cartoon_min} (overall, and on the photos with and without a face apart "
                f"where a set holds both), KID to cartoons < KID to photos, edge F1 >= {self.edge_f1_min}, "
                f"faces kept >= {self.faces_kept_min:.0%}, checkerboard <= input + {self.checkerboard_excess_max}, "
                f"flicker ratio <= {self.flicker_ratio_max}; fidelity: colour error <= {self.colour_error_max:g}, "
                f"dominant hue kept >= {self.hue_kept_min:.0%}, faces detected >= {self.faces_detected_min:.0%}, "
                f"identity rank-1 >= {self.identity_rank1_min:g}, landmark error <= {self.landmark_error_max:g} "
                f"(overall and in every skin-tone group), "
                f"skin colour error <= {self.skin_error_max:g} and skin lightness spread <= "
                f"{self.skin_spread_ratio_max:g}x the photo's in every skin-tone group")
