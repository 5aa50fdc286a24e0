"""`artify distill` for real, a few steps on tiny generated data: the student learns the teacher."""

import json

import pytest
import torch
from typer.testing import CliRunner

from artify_stream.errors import ConfigError
from artify_stream.generator import GeneratorConfig
from artify_stream.model_file import load_model_file
from trainer.distill import Distillation
from trainer.distill_config import DISTILL_PRESETS, DistillConfig
from tests.conftest import write_pictures
from tests.media import write_pan_clip

STUDENT = GeneratorConfig(residual_blocks=1, first_kernel=3, base_width=8, upsample="resize", separable=True, last_kernel=3)
FAST = DistillConfig(generator=STUDENT, epochs=2, batch_size=2, crop_size=24, precision="fp32", validation_photos=2,
                     eval_size=32, sample_count=2, ema_decay=0.5)


def test_distillation_leaves_a_run_folder_like_train_and_resumes_exactly(tiny_model, tmp_path):
    photos = tmp_path / "photos"
    write_pictures(photos, 6, size=(28, 32))
    clip = tmp_path / "clips" / "pan.mp4"
    clip.parent.mkdir()
    write_pan_clip(clip, frames=10, size=(32, 32))
    run = tmp_path / "run"
    records = Distillation(FAST, tiny_model, photos, run, clips=clip.parent, eval_clips=[clip]).run()
    assert [r["phase"] for r in records] == ["distill", "distill"]
    assert {"loss/pixel", "loss/feature", "loss/temporal", "eval/edge_f1", "eval/flicker_ratio", "eval/teacher_gap"} <= set(records[-1])
    assert records[-1]["loss/pixel"] < records[0]["loss/pixel"] * 1.5  # learning, not diverging
    model = load_model_file(run / "model.safetensors")
    assert model.config == STUDENT and model.metadata["teacher"]["sha256"] == load_model_file(tiny_model).sha256
    assert "edge_f1" in model.metadata["teacher"]["evaluation"] and "closest to its teacher" in model.metadata["selection_rule"]
    assert model.metadata["dataset_sizes"]["clip_frames"] == 2  # every 5th of 10 frames
    assert (run / "checkpoints" / "last.pt").exists() and list((run / "tensorboard").glob("events.*"))
    assert len(json.loads((run / "split.json").read_text())["validation"]) == 2
    split = tmp_path / "split"
    Distillation(FAST.with_overrides(epochs=1), tiny_model, photos, split, clips=clip.parent).run()
    Distillation(FAST, tiny_model, photos, split, clips=clip.parent).run(resume=True)
    a = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    b = torch.load(split / "checkpoints" / "last.pt", weights_only=False)
    assert all(torch.equal(t, b["generator"][k]) for k, t in a["generator"].items())


def test_a_cosine_schedule_lowers_the_students_lr_each_epoch_to_its_floor(tiny_model, tmp_path):
    from trainer.config import COSINE_FLOOR

    photos = tmp_path / "photos"
    write_pictures(photos, 6, size=(28, 32))
    config = FAST.with_overrides(epochs=3, schedule="cosine", lr=1e-3)
    records = Distillation(config, tiny_model, photos, tmp_path / "run").run()
    lrs = [r["lr/g"] for r in records]
    assert lrs[0] == pytest.approx(1e-3) and lrs[0] > lrs[1] > lrs[2]
    assert lrs[2] == pytest.approx(1e-3 * COSINE_FLOOR)


def test_distill_cli_presets_and_dry_run(tiny_model, tmp_path):
    from cli import app

    r = CliRunner().invoke(app, ["distill", str(tiny_model), "--photos", str(tmp_path), "--out", str(tmp_path / "r"),
                                 "--preset", "lite", "--base-width", "24", "--set", "feature_weight=0.5", "--dry-run"])
    assert r.exit_code == 0, r.output
    config = json.loads(r.stdout)
    assert config["generator"]["separable"] and config["generator"]["base_width"] == 24
    assert config["feature_weight"] == 0.5 and set(DISTILL_PRESETS) >= {"lite"}
    r = CliRunner().invoke(app, ["distill", "no-such-model", "--photos", str(tmp_path), "--out", str(tmp_path / "r")])
    assert r.exit_code == 1 and "unknown model" in r.output


def test_a_student_of_another_architecture_starts_from_the_tensors_that_match(tiny_model, tmp_path):
    """init_matching: the layers two students share are taken, the rest start fresh; without it, an error."""
    from artify_stream.errors import ConfigError
    from artify_stream.model_file import save_model_file
    from artify_stream.generator import Generator

    torch.manual_seed(3)
    start = tmp_path / "start.safetensors"
    save_model_file(start, Generator(STUDENT).eval(), {})
    photos = tmp_path / "photos"
    write_pictures(photos, 6, size=(28, 32))
    other = GeneratorConfig(**{**STUDENT.to_dict(), "strided_ends": True})
    config = FAST.with_overrides(epochs=1, strided_ends=True, init_from=str(start))
    with pytest.raises(ConfigError, match="init_matching"):
        Distillation(config, tiny_model, photos, tmp_path / "refused").run()
    run = Distillation(config.with_overrides(init_matching=True, lr=1e-12), tiny_model, photos, tmp_path / "run")
    run.run()
    taken = run.started_from
    assert 0 < taken["tensors_taken"] < taken["tensors"]
    theirs = load_model_file(start).state_dict
    ours = load_model_file(tmp_path / "run" / "models" / "epoch_0001.safetensors")
    assert ours.config == other and ours.metadata["started_from"]["tensors_taken"] == taken["tensors_taken"]
    shared = "residual.0.body.0.0.weight"
    assert torch.allclose(ours.state_dict[shared].float(), theirs[shared].float(), atol=1e-3)


def test_distill_refuses_an_option_given_twice(tiny_model, tmp_path):
    from cli import app

    r = CliRunner().invoke(app, ["distill", str(tiny_model), "--photos", str(tmp_path), "--out", str(tmp_path / "r"),
                                 "--epochs", "3", "--set", "epochs=4", "--dry-run"])
    assert r.exit_code != 0 and "epochs given twice" in r.output


def test_a_set_field_that_also_has_an_option_left_unset_takes_the_set_value():
    from trainer.config import preset

    # `train` has a --residual-blocks option; left unset it must not collide with --set residual_blocks
    config = preset("keep").resolved({"residual_blocks": None, "epochs": None}, ["residual_blocks=5", "separable=true"])
    assert config.generator.residual_blocks == 5 and config.generator.separable and config.epochs == 12


def test_the_edge_term_costs_a_blurred_line_and_not_a_flat_shade():
    """Why a student gets `edge_weight`: pixel L1 finds a blurred line cheaper than a slightly lighter
    fill; the edge term finds the blur dear and the shade free."""
    import torch.nn.functional as F

    from trainer.losses import edge_loss

    drawn = torch.ones(1, 3, 32, 32)
    drawn[..., :, 15:17] = 0.0  # a 2 px black line
    blurred = F.avg_pool2d(F.pad(drawn, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    shaded = torch.where(drawn > 0.5, 0.88, 0.0)  # the fill a little darker, the line as sharp
    l1 = lambda a: (a - drawn).abs().mean().item()  # noqa: E731
    assert l1(blurred) < l1(shaded)
    assert edge_loss(blurred, drawn).item() > 4 * edge_loss(shaded, drawn).item()
    assert edge_loss(drawn, drawn).item() == 0.0


def test_distillation_logs_the_edge_term_when_switched_on(tiny_model, tmp_path):
    photos = tmp_path / "photos"
    write_pictures(photos, 6, size=(28, 32))
    records = Distillation(FAST.with_overrides(epochs=1, edge_weight=0.5), tiny_model, photos, tmp_path / "run").run()
    assert records[-1]["loss/edge"] > 0
    with pytest.raises(ConfigError, match="loss weights"):
        FAST.with_overrides(edge_weight=-1.0)
