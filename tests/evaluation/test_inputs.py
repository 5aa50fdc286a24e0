"""What the evaluation (and the trainer's --eval-photos) reads: photos, or stills of a clip."""

from __future__ import annotations

import numpy as np
import pytest

from artify_stream.errors import InputError
from artify_stream.evaluation.inputs import STILLS_PER_CLIP, load_photos_or_stills
from tests.media import write_clip_of


def _grey_clip(path, levels):
    """A clip whose frame i is one flat grey level, so a still says which frame it is."""
    write_clip_of(path, [np.full((48, 64, 3), level, np.uint8) for level in levels])


def test_a_clip_gives_stills_spread_evenly_over_it_named_by_their_frame(tmp_path):
    levels = [10 * i + 20 for i in range(20)]  # 20 frames, grey 20, 30, ..., 210
    _grey_clip(tmp_path / "walk.mp4", levels)
    names, stills = load_photos_or_stills(tmp_path / "walk.mp4", long_side=32)
    picked = [i * 20 // STILLS_PER_CLIP for i in range(STILLS_PER_CLIP)]  # 0, 2, 5, 7, 10, 12, 15, 17
    assert [n.name for n in names] == [f"walk.mp4#{i}" for i in picked]
    assert [abs(float(s.mean()) - levels[i]) < 3 for s, i in zip(stills, picked)] == [True] * STILLS_PER_CLIP
    assert {s.shape for s in stills} == {(24, 32, 3)}  # sized as photos are: long side bounded, multiples of 4


def test_a_short_clip_gives_each_frame_once_and_a_broken_one_is_named(tmp_path):
    _grey_clip(tmp_path / "short.mp4", [40, 120, 200])
    names, stills = load_photos_or_stills(tmp_path / "short.mp4")
    assert [n.name for n in names] == ["short.mp4#0", "short.mp4#1", "short.mp4#2"] and len(stills) == 3
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError, match="broken.mp4"):
        load_photos_or_stills(tmp_path / "broken.mp4")
