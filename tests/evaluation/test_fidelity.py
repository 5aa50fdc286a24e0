"""Fidelity: does the output still show the person and the scene (colour, identity, features, skin)?

The faces are real: the bundled sample portrait (a NASA photo in artify_stream/samples) and dlib's
real detector, landmarks and recogniser (the faces extra, which `make test` installs).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from artify_stream.evaluation import EvaluationSet, evaluate
from artify_stream.evaluation.fidelity import (ITA_GROUPS, colour_error, dominant_hue, faces_problem, fidelity_figures,
                                               hue_kept, ita_degrees, ita_group, main_face, rank1_share,
                                               same_person)
from artify_stream.image_files import read_image
from tests.conftest import make_picture

needs_dlib = pytest.mark.skipif(faces_problem() is not None, reason=str(faces_problem()))


@pytest.fixture(scope="module")
def portrait():
    from pathlib import Path

    return read_image(Path(__file__).resolve().parents[2] / "artify_stream/samples/astronaut-eileen-collins.jpg").rgb


def flat_peach(rgb: np.ndarray) -> np.ndarray:
    """What issue 30 saw: every region painted one peach tone, kept only as light and dark."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)[..., None] / 255.0
    return (gray * np.array([255, 205, 170], np.float32)).astype(np.uint8)


def test_colour_error_and_the_dominant_hue_see_a_repainted_scene():
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 200
    red[16:48, 16:48] = (40, 160, 40)  # a green square on red: red dominates
    assert colour_error(red, red) == 0.0 and hue_kept(red, red)
    assert dominant_hue(red) is not None and hue_kept(red, flat_peach(red)) is False
    assert colour_error(red, flat_peach(red)) > 15
    assert hue_kept(np.full((32, 32, 3), 128, np.uint8), red) is None  # a grey photo has no hue to keep
    scene = make_picture(96, 96, seed=3)
    assert colour_error(scene, cv2.GaussianBlur(scene, (5, 5), 0)) < colour_error(scene, flat_peach(scene))


def test_ita_groups_run_light_to_dark():
    assert [name for name, _ in ITA_GROUPS] == ["light", "intermediate", "tan", "brown-dark"]
    assert ita_group(ita_degrees(np.array([75.0, 8.0, 14.0]))) == "light"  # pale skin: L* 75
    assert ita_group(ita_degrees(np.array([40.0, 12.0, 20.0]))) == "brown-dark"  # dark skin: L* 40


@needs_dlib
def test_identity_landmarks_and_skin_on_a_real_portrait(portrait):
    face = main_face(portrait)
    assert face is not None and face.landmarks.shape == (68, 2) and face.inter_ocular > 20
    same = fidelity_figures([portrait], [portrait])
    assert same.faces_in_photos == 1 and same.identity_distance == 0 and same.landmark_error == 0
    assert same.faces_detected == 1 and same.identity_rank1 == 1
    (group,) = same.skin_groups
    assert same.skin_groups[group]["skin_error"] == 0 and same.skin_groups[group]["spread_ratio"] == 1
    # A cartoon-like smoothing keeps her; a peach repaint with blotches does not keep her skin.
    smooth = cv2.bilateralFilter(portrait, 9, 60, 9)
    kept = fidelity_figures([portrait], [smooth])
    assert kept.identity_distance < 0.45 and kept.landmark_error < 0.05
    rng = np.random.default_rng(0)
    blotched = flat_peach(portrait).astype(np.int16)
    blocks = rng.integers(-60, 61, (portrait.shape[0] // 16, portrait.shape[1] // 16, 1))
    blotched = np.clip(blotched + np.kron(blocks, np.ones((16, 16, 1), np.int16)), 0, 255).astype(np.uint8)
    lost = fidelity_figures([portrait], [blotched])
    assert lost.skin_groups[group]["skin_error"] > kept.skin_groups[group]["skin_error"] + 3
    assert lost.skin_groups[group]["spread_ratio"] > 1.1 > kept.skin_groups[group]["spread_ratio"]
    assert lost.colour_error > kept.colour_error


@needs_dlib
def test_each_skin_tone_group_says_whether_its_faces_keep_their_features(portrait):
    """The portrait and a darkened copy fall in two skin-tone groups; wiping the darker face's
    features shows in that group's landmark error and faces found, and in the report's worst-group
    target, while the other group stays perfect."""
    from artify_stream.evaluation import EvaluationSet, evaluate

    dark = (portrait.astype(np.float32) * 0.4).astype(np.uint8)
    x0, y0, x1, y1 = main_face(dark).box
    wiped = dark.copy()
    wiped[y0:y1, x0:x1] = cv2.GaussianBlur(dark[y0:y1, x0:x1], (0, 0), 6)
    figures = fidelity_figures([portrait, dark], [portrait, wiped])
    assert set(figures.skin_groups) == {"intermediate", "brown-dark"}
    kept, lost = figures.skin_groups["intermediate"], figures.skin_groups["brown-dark"]
    assert kept["landmark_error"] == 0 and kept["faces_detected"] == 1 and kept["identity_rank1"] == 1
    assert lost["landmark_error"] > 0.05 and lost["faces_detected"] == 0
    assert figures.summary()["landmark_error_worst_group"] == lost["landmark_error"]
    import torch

    data = EvaluationSet.load([portrait, dark], judge=None)
    outputs = {portrait.tobytes(): portrait, dark.tobytes(): wiped}
    report, _ = evaluate(lambda frames: torch.from_numpy(np.stack([outputs[f.tobytes()] for f in frames.numpy()])), data)
    assert report.targets_met()["landmark_error_worst_group"] is False
    same, _ = evaluate(lambda frames: frames.clone(), data)
    assert same.targets_met()["landmark_error_worst_group"] is True


def test_rank1_counts_outputs_nearest_their_own_photo():
    gallery = np.eye(3, 128, dtype=np.float32)  # three people's photos
    assert rank1_share(gallery, gallery + 0.1) == 1.0
    assert rank1_share(gallery, gallery[[1, 0, 2]]) == pytest.approx(1 / 3)  # two outputs look like each other's photo


def test_rank1_among_people_takes_the_same_persons_other_photo():
    neutral = np.zeros(128)
    smiling = neutral.copy()
    smiling[0] = 0.3  # the same sitter's other photo: within dlib's 0.6
    other = neutral.copy()
    other[1] = 1.5  # someone else
    gallery = np.stack([neutral, smiling, other])
    probes = np.stack([smiling + 0.01, neutral + 0.01, smiling])  # each output nearest the wrong photo
    same = same_person(gallery)
    assert same.tolist() == [[True, True, False], [True, True, False], [False, False, True]]
    assert rank1_share(gallery, probes) == 0.0  # none nearest its own photo
    assert rank1_share(gallery, probes, same) == pytest.approx(2 / 3)  # two show the right person; the third does not


@needs_dlib
def test_the_report_carries_fidelity_and_its_targets(portrait):
    data = EvaluationSet.load([portrait], judge=None)
    report, _ = evaluate(lambda frames: frames.clone(), data)
    summary = report.summary()
    assert summary["colour_error"] == 0 and summary["identity_rank1"] == 1 and summary["hue_kept"] == 1
    met = report.targets_met()
    assert all(met[k] for k in ("colour_error", "hue_kept", "identity_rank1", "landmark_error", "skin_error_worst"))
    import torch

    peach, _ = evaluate(lambda frames: torch.from_numpy(np.stack([flat_peach(f) for f in frames.numpy()])), data)
    assert not peach.targets_met()["colour_error"] and peach.to_dict()["fidelity"]["skin_groups"]


def test_without_dlib_the_face_figures_are_left_out_saying_why(monkeypatch):
    import artify_stream.evaluation.fidelity as fidelity

    monkeypatch.setattr(fidelity, "faces_problem", lambda: "dlib's face models are not installed: pip install ...")
    scene = make_picture(64, 64, seed=1)
    figures = fidelity_figures([scene], [scene])
    assert figures.identity_rank1 is None and "not installed" in figures.problem
    assert set(figures.summary()) == {"colour_error", "hue_kept"}
