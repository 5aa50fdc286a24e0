"""Flicker on clips with known motion, the report's targets, and `artify evaluate` end to end."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from artify_stream.evaluation import CartoonTargets, EvaluationSet, evaluate
from artify_stream.evaluation.flicker import ClipMotion, read_clip_frames
from tests.conftest import make_picture
from tests.media import write_clip, write_pan_clip


def panning(frames=6, size=(64, 80), step=2):
    """A picture sliding right by `step` px a frame: the flow is known and nothing flickers."""
    wide = make_picture(size[0], size[1] + frames * step, seed=5)
    wide = np.ascontiguousarray(np.repeat(np.repeat(wide, 1, 0), 1, 1))
    return [np.ascontiguousarray(wide[:, (frames - i) * step : (frames - i) * step + size[1]]) for i in range(frames)]


def identity(frames: torch.Tensor) -> torch.Tensor:
    return frames.clone()


def test_a_pan_warps_onto_itself_and_noise_is_flicker():
    frames = panning()
    motion = ClipMotion.from_frames(frames)
    assert len(motion.pairs) == len(frames) - 1
    floor = motion.warping_error(frames)
    assert floor < 3.0  # the input explains its own motion
    rng = np.random.default_rng(0)
    noisy = [np.clip(f.astype(np.int16) + rng.integers(-30, 31, f.shape), 0, 255).astype(np.uint8) for f in frames]
    assert motion.warping_error(noisy) > 4 * floor
    still = [frames[0]] * len(frames)  # output that ignores the motion
    assert motion.warping_error(still) > 2 * floor


def test_a_hard_cut_is_left_out_and_a_clip_of_cuts_is_an_error():
    a, b = make_picture(64, 64, seed=1), make_picture(64, 64, seed=99)
    motion = ClipMotion.from_frames([a, a, b, b])
    assert 1 in motion.pairs or 0 in motion.pairs
    with pytest.raises(Exception, match="at least 2 frames"):
        ClipMotion.from_frames([a])


def test_evaluate_identity_meets_structure_and_not_style(tmp_path):
    clip = tmp_path / "pan.mp4"
    write_pan_clip(clip, frames=8, size=(64, 80))
    photos = [make_picture(64, 64, seed=s) for s in range(3)]
    data = EvaluationSet.load(photos, [clip], clip_frames=8)
    report, _ = evaluate(identity, data)
    assert report.edge_f1 == 1.0 and report.colour_ratio == 1.0 and report.flatness_gain == 0.0
    assert report.flicker_ratio == pytest.approx(1.0)
    met = report.targets_met()
    assert {"p_cartoon", "kid", "edge_f1", "checkerboard", "flicker"} <= set(met)
    assert met["edge_f1"] and met["checkerboard"] and met["flicker"]
    assert report.judge["p_cartoon"] == pytest.approx(report.judge_input["p_cartoon"])  # the judge sees the input
    blank, _ = evaluate(lambda f: torch.full_like(f, 128), data)
    assert not blank.targets_met()["edge_f1"] and blank.cartoon_score() < report.cartoon_score()


def test_clip_frames_are_read_bounded_and_in_multiples_of_four(tmp_path):
    clip = tmp_path / "c.mp4"
    write_clip(clip, frames=10, size=(50, 70))
    frames = read_clip_frames(clip, max_frames=4, long_side=35)
    assert len(frames) == 4 and frames[0].shape[1] == 32 and frames[0].shape[0] % 4 == 0


def test_cli_evaluate_writes_sheet_and_json(tiny_model, tmp_path):
    from PIL import Image

    from cli import app

    photos = tmp_path / "photos"
    photos.mkdir()
    for s in range(2):
        Image.fromarray(make_picture(48, 64, seed=s)).save(photos / f"p{s}.png")
    clip = tmp_path / "c.mp4"
    write_pan_clip(clip, frames=6, size=(48, 64))
    out = tmp_path / "eval"
    r = CliRunner().invoke(app, ["evaluate", str(tiny_model), "--photos", str(photos), "--clip", str(clip),
                                 "--out", str(out), "--baseline", "opencv-stylization", "--engine", "torch", "--json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert set(result) == {str(tiny_model), "opencv-stylization"}
    ours = result[str(tiny_model)]
    assert ours["photos"] == 2 and len(ours["clips"]) == 1 and "flicker_ratio" in ours["summary"]
    assert ours["engine"].startswith("engine: torch ") and result["opencv-stylization"]["engine"] == ""  # bf16 or fp32: the CPU's
    assert {"p_cartoon", "kid", "edge_f1", "checkerboard", "flicker"} <= set(ours["targets_met"])
    assert 0 <= ours["summary"]["p_cartoon"] <= 1 and "kid_cartoons" in ours["summary"] and "judge_p_cartoon" in ours["input"]
    assert json.loads((out / "evaluation.json").read_text()) == result
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.size[1] == 3 * 192  # two photos and one clip frame, a row each
    r = CliRunner().invoke(app, ["evaluate", str(tiny_model), "--photos", str(tmp_path / "none")])
    assert r.exit_code == 1 and "none" in r.output


def test_targets_are_the_issue_figures():
    t = CartoonTargets()
    assert (t.p_cartoon_min, t.kid_closer_to_cartoons, t.edge_f1_min, t.faces_kept_min, t.checkerboard_excess_max,
            t.flicker_ratio_max) == (0.9, True, 0.5, 0.9, 0.5, 1.5)
    assert "P(cartoon) >= 0.9" in t.describe()
