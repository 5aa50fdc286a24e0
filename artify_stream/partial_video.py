"""An unfinished video output: where it is written, what of it a new run keeps, where it goes at the end.

A run writes NAME.partial.EXT; a run that continues one writes .NAME.partial.resume.EXT (the
kept GOPs first) until it can take the partial's place. Both the one-process pipeline
(`artify_stream.video`) and the cluster's segment joiner (`artify_stream.segments.join`) follow this.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from artify_stream.media_io import CompleteGops, check_video_encoder, finish_output
from artify_stream.outputs import partial_path

log = logging.getLogger(__name__)


def resume_path(output: Path) -> Path:
    """Where a run that continues a partial file writes until it can take the partial's place."""
    partial = partial_path(output)
    return partial.with_name(f".{partial.stem}.resume{partial.suffix}")


def keepable_gops(output: Path, size: tuple[int, int], codec: str) -> CompleteGops | None:
    """The complete GOPs of an earlier run's partial file (or of its unfinished continuation),
    when they were made with this encoder at this size."""
    partial, resume = partial_path(output), resume_path(output)
    found = [g for g in (CompleteGops.read(p) for p in (partial, resume) if p.exists()) if g is not None]
    if not found:
        return None
    best = max(found, key=lambda g: g.packets)
    if best.path == resume:
        os.replace(resume, partial)  # a continuation killed after it got further than the partial
        best = CompleteGops.read(partial)
    if best.codec != check_video_encoder(codec) or best.size != size:
        log.warning("%s was made with other settings (%s %dx%d); starting over", partial, best.codec, *best.size)
        return None
    return best


def working_path(output: Path, keep: CompleteGops | None) -> Path:
    return partial_path(output) if keep is None else resume_path(output)


def settle(working: Path, output: Path, interrupted: bool, frames: int, keep_partial: bool) -> Path | None:
    """Put the closed working file where it belongs; returns the partial file an interrupted run left."""
    partial = partial_path(output)
    if interrupted:
        if keep_partial and frames:
            if working != partial:
                os.replace(working, partial)
            return partial
        working.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
        return None
    finish_output(working, output)  # only now is an existing output replaced
    partial.unlink(missing_ok=True)
    return None
