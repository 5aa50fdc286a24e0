"""Face mode's evaluation figures: the seam across the pasted face's edge, on dlib's real detections."""

import numpy as np

from artify_stream.evaluation.face_mode_figures import across_ring, face_mode_figures, ring_points
from artify_stream.face_mode.align import aligned_crop, alignment, feathered_mask, paste
from tests.face_mode.conftest import frame_with, invert


def test_a_face_stylized_like_its_frame_adds_no_seam(head):
    frames = [frame_with([(head, 220, 80)]), frame_with([])]
    figures = face_mode_figures(invert, frames)
    assert figures.photos == 2 and figures.faces == 1 and figures.crop_p_cartoon is None
    assert figures.seam_whole_frame > 1  # the ring crosses the head's own edges
    assert 0.9 <= figures.seam_ratio <= 1.1


def crops_brighter(frames):
    """A stand-in whose aligned 256 px crops come out far lighter than the frame does."""
    frames = np.asarray(frames)
    return np.minimum(frames.astype(int) + (120 if frames.shape[1:3] == (256, 256) else 0), 255).astype(np.uint8)


def test_a_face_pasted_unlike_its_frame_measures_as_a_seam():
    frame = frame_with([])  # an even grey: nothing to see across any ring
    matrix = alignment(np.array([[290.0, 160.0], [350.0, 160.0]]), 256)
    crop = crops_brighter(aligned_crop(frame, matrix, 256)[None])[0]
    pasted = paste(frame.copy(), crop, feathered_mask(256), matrix)  # no colour match
    assert across_ring(frame, matrix, 256).mean() < 0.5 and across_ring(pasted, matrix, 256).mean() > 20


def test_face_mode_matches_a_crop_drawn_lighter_to_its_frame(head):
    figures = face_mode_figures(crops_brighter, [frame_with([(head, 220, 80)])])
    assert figures.faces == 1 and figures.seam_ratio < 1.1


def test_the_ring_straddles_the_masks_edge():
    mask = feathered_mask(256)
    inner, outer = (np.rint(p).astype(int) for p in ring_points(256))
    ok_in = [(0 <= x < 256 and 0 <= y < 256) for x, y in inner]
    assert all(mask[y, x] > 0.9 for (x, y), ok in zip(inner, ok_in) if ok)
    assert all(mask[y, x] < 0.1 for x, y in outer if 0 <= x < 256 and 0 <= y < 256)


def test_cli_evaluate_in_face_mode_with_a_face_model(tiny_model, tmp_path):
    import json
    import shutil

    from tests.face_mode.conftest import SAMPLE
    from tests.test_cli_stylize import artify

    photos = tmp_path / "photos"
    photos.mkdir()
    for k in range(2):  # KID needs two
        shutil.copy(SAMPLE, photos / f"{k}-{SAMPLE.name}")
    r = artify("evaluate", tiny_model, "--photos", photos, "--faces", "--face-model", tiny_model, "--engine", "torch",
               "--json")
    assert r.returncode == 0, r.stderr
    reports = json.loads(r.stdout)
    (column,) = [name for name in reports if "--faces" in name]
    assert column == f"{tiny_model} --faces --face-model {tiny_model}"
    face_mode = reports[column]["face_mode"]
    assert face_mode["faces"] == 2 and 0 <= face_mode["crop_p_cartoon"] <= 1 and face_mode["seam_ratio"] > 0
    assert reports[str(tiny_model)]["face_mode"] is None  # the whole-frame column has no face-mode figures
    assert reports[column]["engine"].startswith("engine: torch ") and f"faces: {tiny_model}, engine: torch " in reports[column]["engine"]
