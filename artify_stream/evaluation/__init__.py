"""Model-free measures of a cartoonization (`artify evaluate` and the trainer's per-epoch check).

The names below load on first use, so the torch-free parts (the measures, the OpenCV baselines)
can be imported without torch.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "ClipMotion": "artify_stream.evaluation.flicker",
    "read_clip_frames": "artify_stream.evaluation.flicker",
    "CartoonTargets": "artify_stream.evaluation.targets",
    "CartoonJudge": "artify_stream.evaluation.judge",
    "load_judge": "artify_stream.evaluation.judge",
    **{name: "artify_stream.evaluation.report" for name in (
        "ClipFigures", "EvaluationReport", "EvaluationSet", "compare", "contact_sheet", "evaluate")},
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'artify_stream.evaluation' has no attribute {name!r}")
