"""Which epoch a run ships: picked by the validation figures, not by eye and not simply the last."""

from __future__ import annotations

SELECTION_RULE = (
    "among the epochs trained towards a cartoon (not an initialization towards the photo): the most "
    "evaluate targets met on the validation photos (and clips), ties broken by the highest cartoon score "
    "(the sum of each target's margin, clipped to +-1); before such an epoch, the latest epoch"
)


def best_epoch(records: list[dict], first_ranked: int) -> int | None:
    """The epoch number SELECTION_RULE picks from log records (epochs after `first_ranked` compete),
    or None if no record has figures yet."""
    judged = [r for r in records if "eval/targets_met" in r]
    if not judged:
        return None
    ranked = [r for r in judged if r["epoch"] > first_ranked]
    if not ranked:
        return max(r["epoch"] for r in judged)
    best = max(ranked, key=lambda r: (r["eval/targets_met"], r["eval/cartoon_score"], -r["epoch"]))
    return best["epoch"]


STUDENT_RULE = (
    "among epochs meeting the most evaluate targets: the one closest to its teacher, by the largest relative "
    "gap over P(cartoon), edge F1, colour ratio, flatness gain and saturation ratio (flicker counting only "
    "when worse than the teacher's)"
)
COMPARED = ("p_cartoon", "edge_f1", "colour_ratio", "flatness_gain", "saturation_ratio")


def teacher_gap(figures: dict, teacher: dict) -> float:
    """The largest relative difference between a student's figures and its teacher's."""
    gaps = [abs(figures[k] - teacher[k]) / max(abs(teacher[k]), 1e-9) for k in COMPARED if k in figures and k in teacher]
    if "flicker_ratio" in figures and "flicker_ratio" in teacher:
        gaps.append(max(0.0, figures["flicker_ratio"] - teacher["flicker_ratio"]) / teacher["flicker_ratio"])
    return max(gaps)


def closest_to_teacher(records: list[dict]) -> int | None:
    """The epoch number STUDENT_RULE picks from log records (with `eval/teacher_gap`)."""
    judged = [r for r in records if "eval/teacher_gap" in r]
    if not judged:
        return None
    most = max(r["eval/targets_met"] for r in judged)
    return min((r for r in judged if r["eval/targets_met"] == most), key=lambda r: (r["eval/teacher_gap"], r["epoch"]))["epoch"]
