"""Model-free measures of a cartoonization (`artify evaluate` and the trainer's per-epoch check)."""

from artify_stream.evaluation.flicker import ClipMotion, read_clip_frames
from artify_stream.evaluation.report import (
    CartoonTargets, ClipFigures, EvaluationReport, EvaluationSet, compare, contact_sheet, evaluate,
)

__all__ = ["CartoonTargets", "ClipFigures", "ClipMotion", "EvaluationReport", "EvaluationSet", "compare",
           "contact_sheet", "evaluate", "read_clip_frames"]
