"""A few real training steps on tiny generated images."""

import json
from dataclasses import replace
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from artify_stream.errors import ConfigError, InputError
from artify_stream.evaluation.fidelity import faces_problem
from artify_stream.model_file import load_model_file
from trainer.config import PRESETS, TrainConfig, preset
from trainer.gan_step import Training
from trainer.selection import best_epoch
from tests.conftest import TINY, make_picture, write_pictures
from tests.media import write_clip_of
from tests.waiting import wait_until

FAST = TrainConfig(generator=TINY, epochs=2, init_epochs=1, batch_size=2, crop_size=24, precision="fp32", sample_count=2,
                   validation_photos=2, eval_size=32)
#: Every switch beyond the paper on, so each runs for real once.
EVERYTHING = FAST.with_overrides(
    upsample="resize", init_loss="pixel", gan_loss="lsgan", spectral_norm=True, ema_decay=0.5, surface_weight=0.1,
    texture_weight=1.0, structure_weight=0.5, superpixel="felzenszwalb", tv_weight=0.1, colour_weight=0.5,
    gray_style_weight=0.5, temporal_weight=0.5, content_layer=4, d_width=8)


@pytest.fixture
def data(tmp_path):
    write_pictures(tmp_path / "photos", 6, size=(28, 32))
    write_pictures(tmp_path / "cartoons", 3, size=(30, 30), seed=50)
    return tmp_path / "photos", tmp_path / "cartoons"


def test_run_leaves_checkpoint_logs_samples_and_a_model_file(data, tmp_path):
    run = tmp_path / "run"
    records = Training(FAST, *data, run, command="artify train ...").run()
    assert [r["phase"] for r in records] == ["init", "adversarial"]
    assert "loss/d_rgb" not in records[0] and "loss/d_rgb" in records[1]
    assert all(r["images_per_s"] > 0 for r in records)
    assert all({"eval/edge_f1", "eval/p_cartoon", "eval/kid_cartoons", "eval/kid_photos", "eval/targets_met"} <= set(r)
               for r in records)
    assert (run / "checkpoints" / "last.pt").exists()
    assert len(list((run / "samples").glob("*.png"))) == 2
    assert list((run / "tensorboard").glob("events.*"))
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
    assert json.loads((run / "content_backbone.json").read_text())["layer"] == "_blocks.10"
    split = json.loads((run / "split.json").read_text())
    assert len(split["validation"]) == 2 and len(split["train"]) == 4 and not set(split["train"]) & set(split["validation"])
    model = load_model_file(run / "model.safetensors")
    assert model.config == TINY
    assert model.metadata["epoch"] == 2  # the only adversarial epoch is the best one
    evaluation = model.metadata["evaluation"]
    assert 0 <= evaluation["p_cartoon"] <= 1 and evaluation["targets"] >= 4  # P(cartoon), KID, edge F1, checkerboard
    assert "trained towards a cartoon" in model.metadata["selection_rule"]
    assert model.metadata["dataset_sizes"] == {"photos": 4, "validation_photos": 2, "cartoons": 3}
    assert model.metadata["content_backbone"]["name"] == "efficientnet-lite0"
    assert model.metadata["training_command"] == "artify train ..."
    assert (run / "models" / "epoch_0001.safetensors").exists()
    # no temp files left by the atomic writes
    assert not list(run.rglob("*.tmp*"))


@pytest.mark.skipif(faces_problem() is not None, reason=str(faces_problem()))
def test_a_balanced_validation_set_holds_portraits_and_scenes_alike(data, tmp_path):
    """Drawn at random, a validation set of the kit holds about one scene in 32 and the pick cannot
    see a run losing the scenes; balanced, each kind (and skin tone) is drawn in turn."""
    from PIL import Image

    from artify_stream.image_files import read_image

    photos, cartoons = data
    portrait = read_image(Path(__file__).resolve().parents[2] / "artify_stream/samples/astronaut-eileen-collins.jpg").rgb
    for i, rgb in enumerate((portrait, portrait[:, ::-1])):
        Image.fromarray(rgb).save(photos / f"portrait_{i}.png")
    run = tmp_path / "run"
    Training(FAST.with_overrides(balance_validation=True, epochs=1, init_epochs=0), photos, cartoons, run).run()
    held = [Path(p).name for p in json.loads((run / "split.json").read_text())["validation"]]
    assert len(held) == 2 and sum(name.startswith("portrait") for name in held) == 1
    groups = load_model_file(run / "model.safetensors").metadata["dataset_sizes"]["validation_groups"]
    assert groups["no face"] == 1 and sum(groups.values()) == 2


def test_evaluation_photos_join_every_epochs_figures_and_must_not_be_training_photos(data, tmp_path):
    """A user's own frames (the kit's scenes are close-ups; the scenes a user cares about may not be)
    are judged every epoch beside the held-back split, so the pick sees them; never trained on."""
    photos, cartoons = data
    extra = write_pictures(tmp_path / "mine", 3, size=(36, 44), seed=90)
    run = tmp_path / "run"
    records = Training(FAST.with_overrides(epochs=1, init_epochs=0), photos, cartoons, run, eval_photos=tmp_path / "mine").run()
    split = json.loads((run / "split.json").read_text())
    assert split["evaluation_photos"] == [str(p) for p in extra] and not set(split["train"]) & set(split["evaluation_photos"])
    assert load_model_file(run / "model.safetensors").metadata["dataset_sizes"]["evaluation_photos"] == 3
    # the figures are over 2 split photos and the 3 others: a photo-sized mean, not the split's alone
    split_only = Training(FAST.with_overrides(epochs=1, init_epochs=0), photos, cartoons, tmp_path / "b").run()
    assert records[-1]["eval/edge_f1"] != split_only[-1]["eval/edge_f1"]
    trained_on = json.loads((tmp_path / "b" / "split.json").read_text())["train"][0]
    listed = tmp_path / "list.txt"
    listed.write_text(trained_on + "\n")
    with pytest.raises(InputError, match="also a training photo"):
        Training(FAST, photos, cartoons, tmp_path / "c", eval_photos=listed).run()
    with pytest.raises(InputError, match="nope: not found"):
        Training(FAST, photos, cartoons, tmp_path / "d", eval_photos=tmp_path / "nope").run()
    clip = tmp_path / "walk.mp4"  # a clip: 8 stills spread over it, no extraction step
    write_clip_of(clip, [make_picture(48, 64, seed=i) for i in range(10)])
    Training(FAST.with_overrides(epochs=1, init_epochs=0), photos, cartoons, tmp_path / "e", eval_photos=clip).run()
    split = json.loads((tmp_path / "e" / "split.json").read_text())
    assert split["evaluation_photos"] == [f"{clip}#{i}" for i in (0, 1, 2, 3, 5, 6, 7, 8)]


def test_resume_continues_exactly(data, tmp_path):
    straight = tmp_path / "straight"
    Training(FAST, *data, straight).run()
    split = tmp_path / "split"
    Training(FAST.with_overrides(epochs=1), *data, split).run()
    Training(FAST, *data, split).run(resume=True)
    a = torch.load(straight / "checkpoints" / "last.pt", weights_only=False)
    b = torch.load(split / "checkpoints" / "last.pt", weights_only=False)
    for name, tensor in a["generator"].items():
        assert torch.equal(tensor, b["generator"][name]), name
    for name, tensor in a["discriminators"]["rgb"].items():
        assert torch.equal(tensor, b["discriminators"]["rgb"][name]), name
    logs = [json.loads(ln) for ln in (split / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in logs] == [1, 2]


def test_existing_run_needs_resume(data, tmp_path):
    run = tmp_path / "run"
    Training(FAST.with_overrides(epochs=1, init_epochs=1), *data, run).run()
    with pytest.raises(ConfigError, match="--resume"):
        Training(FAST, *data, run).run()


def test_too_few_photos_for_validation_and_a_batch(data, tmp_path):
    with pytest.raises(Exception, match="held back for validation plus one batch of 8"):
        Training(FAST.with_overrides(batch_size=8), *data, tmp_path / "r").run()


def test_every_switch_trains_and_resumes_exactly(data, tmp_path):
    """All additions on at once: two real epochs, then the same run split by a resume is identical."""
    from tests.media import write_pan_clip

    clip = tmp_path / "pan.mp4"
    write_pan_clip(clip, frames=4, size=(32, 32))
    straight = Training(EVERYTHING.with_overrides(epochs=3), *data, tmp_path / "a", eval_clips=[clip]).run()
    terms = {"loss/d_rgb", "loss/d_surface", "loss/d_texture", "loss/g_texture", "loss/structure", "loss/tv",
             "loss/colour", "loss/gray_style", "loss/temporal"}
    assert terms <= set(straight[-1]) and "loss/pixel" in straight[0]
    assert "eval/flicker_ratio" in straight[-1]
    assert all(v == v for r in straight for k, v in r.items() if k.startswith("loss/"))  # no NaN
    Training(EVERYTHING.with_overrides(epochs=2), *data, tmp_path / "b", eval_clips=[clip]).run()
    Training(EVERYTHING.with_overrides(epochs=3), *data, tmp_path / "b", eval_clips=[clip]).run(resume=True)
    a = torch.load(tmp_path / "a" / "checkpoints" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", weights_only=False)
    for name, tensor in a["ema"].items():
        assert torch.equal(tensor, b["ema"][name]), name
    assert load_model_file(tmp_path / "a" / "model.safetensors").metadata["weights"] == "ema"


def test_presets_follow_table_one():
    r3 = preset("paper-round3")
    assert (r3.generator.residual_blocks, r3.generator.first_kernel, r3.lr, r3.content_weight, r3.batch_size) == (
        10, 7, 0.001, 1e-5, 16)
    assert preset("paper-round1").generator.residual_blocks == 8
    assert preset("paper-round2").schedule == "exponential"
    assert set(PRESETS) >= {"recommended", "paper", "small-cpu", "toon", "draw", "keep"}
    assert preset("draw").init_from == "artify-toon"
    keep = preset("recommended")  # the fidelity recipe: colour from the photo, lightness-only critics
    assert keep == preset("keep-bold") and keep.init_from == "artify-draw-v2" and keep.generator.photo_chroma == 16
    assert keep.scene_weight > 1 and keep.balance_validation  # v7: the scenes drawn more often, and seen by the pick
    assert keep.projected_weight > preset("keep").projected_weight  # v8: the critic's pull stronger
    assert keep == replace(preset("keep-scenes"), projected_weight=keep.projected_weight)
    assert preset("keep-scenes") == replace(preset("keep"), scene_weight=keep.scene_weight, balance_validation=True)
    assert keep.critic_colour == "lightness" and keep.balance_skin_tones and keep.blotch_weight > 0
    assert keep.face_share == 0.5 and keep.face_spread_weight > 0  # face crops, no patches over the skin
    assert keep.face_marks_weight > 0 and keep.generator.chroma_edges  # eyes where the photo has them; colour stops at edges
    with pytest.raises(ConfigError):
        preset("nope")
    with pytest.raises(ConfigError):
        FAST.with_overrides(init_epochs=5)


def test_lr_sets_both_phases_unless_init_lr_is_given_too():
    from trainer.config import PRESETS

    preset = PRESETS["recommended"]
    assert preset.resolved({"lr": 0.01}).init_lr == 0.01
    both = preset.resolved({"lr": 0.01}, ["init_lr=0.5"])
    assert (both.lr, both.init_lr) == (0.01, 0.5)
    assert preset.resolved({}).init_lr == preset.init_lr


def test_fine_tuning_a_model_of_another_architecture_says_how_to_start_from_scratch(data, tmp_path):
    config = FAST.with_overrides(init_from="artify-toon")
    with pytest.raises(ConfigError, match="init_from="):
        Training(config, *data, tmp_path / "run").run()


def test_cli_train_then_stylize_with_the_exported_model(data, tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = [sys.executable, "-m", "cli", "train", "--photos", data[0], "--cartoons", data[1], "--out", run,
            "--epochs", "1", "--init-epochs", "1", "--batch-size", "2", "--crop-size", "24",
            "--residual-blocks", "1", "--base-width", "8", "--precision", "fp32", "--set", "validation_photos=2",
            "--set", "eval_size=32", "--set", "init_from="]
    r = subprocess.run(list(map(str, args)), capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "epoch 1" in r.stderr
    out = tmp_path / "o.png"
    r = subprocess.run([sys.executable, "-m", "cli", "stylize", str(data[0] / "img_000.png"), str(out),
                        "--model", str(run / "model.safetensors"), "--engine", "torch"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and out.exists(), r.stderr


def test_torchrun_two_gloo_processes(data, tmp_path):
    run = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "cli", "train", "--photos", data[0], "--cartoons", data[1], "--out", run,
            "--epochs", "2", "--init-epochs", "1", "--batch-size", "1", "--crop-size", "24",
            "--residual-blocks", "1", "--base-width", "8", "--precision", "fp32", "--device", "cpu",
            "--set", "validation_photos=2", "--set", "eval_size=32", "--set", "init_from="]
    r = subprocess.run(list(map(str, args)), capture_output=True, text=True, env=env, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    logs = [json.loads(ln) for ln in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in logs] == [1, 2]  # written once, by rank 0
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    assert load_model_file(run / "model.safetensors").metadata["epoch"] == best_epoch(logs, config.first_ranked_epoch)


def test_sigterm_stops_training_like_ctrl_c_and_the_run_resumes(data, tmp_path):
    """SIGTERM (docker stop, systemd, CI time-outs) to a real `artify train`: exit 143, the last checkpoint intact."""
    import signal

    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "cli", "train", "--photos", data[0], "--cartoons", data[1], "--out", run,
            "--epochs", "200", "--init-epochs", "1", "--batch-size", "2", "--crop-size", "24", "--residual-blocks", "1",
            "--base-width", "8", "--precision", "fp32", "--set", "validation_photos=2", "--set", "eval_size=32", "--set", "init_from="]
    proc = subprocess.Popen(list(map(str, args)), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Signalled mid-run: once epoch 1's checkpoint is in place (written whole, then renamed), while
    # later epochs train.
    wait_until(lambda: (run / "checkpoints" / "last.pt").exists() or proc.poll() is not None, 120,
               "epoch 1's checkpoint")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err
    done = torch.load(run / "checkpoints" / "last.pt", weights_only=False)["epoch"]
    assert done >= 1 and not list(run.rglob("*.tmp*"))
    saved = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    resumed = Training(saved.with_overrides(epochs=done + 1), *data, run).run(resume=True)
    assert resumed[-1]["epoch"] == done + 1
