"""Distillation configuration: one typed dataclass (no torch), the student presets."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from artify_stream.generator_config import GeneratorConfig
from trainer.config import LITE, REAL_TIME, RunConfigFile


@dataclass(frozen=True)
class DistillConfig(RunConfigFile):
    """Everything that decides a distillation run. Defaults are the `lite` preset."""

    KIND = "distillation"

    generator: GeneratorConfig = field(default_factory=lambda: LITE)  # the student
    epochs: int = 25
    batch_size: int = 8
    crop_size: int = 128
    lr: float = 1e-3
    schedule: str = "constant"  # or exponential (lr_gamma per epoch) or cosine (to 5% of lr at the last epoch)
    lr_gamma: float = 0.98
    betas: tuple[float, float] = (0.9, 0.999)
    pixel_weight: float = 1.0
    feature_weight: float = 0.1  # L1 between backbone features of student and teacher outputs
    edge_weight: float = 0.0  # L1 between lightness steps of student and teacher outputs (sharp lines)
    temporal_weight: float = 4.0  # 1.0 left the student flickering more than its teacher
    content_layer: int = 4
    backbone: str = "efficientnet-lite0"
    clip_frame_step: int = 5  # every n-th frame of --clips becomes a training photo
    face_share: float = 0.0  # that share of draws of a photo with a face (dlib) is its aligned face crop
    ema_decay: float = 0.99
    init_from: str = ""  # a student model file or bundled name to start from (fine-tuning); "": from scratch
    init_matching: bool = False  # init_from of another architecture: take the tensors whose name and shape match
    precision: str = "auto"
    seed: int = 0
    workers: int = 0
    validation_photos: int = 32
    balance_validation: bool = False  # as TrainConfig's: scenes and every skin tone in the validation set
    eval_size: int = 256
    sample_count: int = 4

    def __post_init__(self) -> None:
        self._raise_first_failed(self._common_checks() + [
            (min(self.pixel_weight, self.feature_weight, self.edge_weight, self.temporal_weight) >= 0,
             "loss weights must be >= 0"),
            (self.pixel_weight + self.feature_weight > 0, "pixel_weight or feature_weight must be > 0"),
            (self.clip_frame_step >= 1, "clip_frame_step must be >= 1"),
            (0.0 <= self.face_share <= 1.0, f"face_share must be in [0, 1], got {self.face_share}"),
        ])


DISTILL_PRESETS: dict[str, DistillConfig] = {
    "lite": DistillConfig(),
    "lite-wide": DistillConfig(generator=replace(LITE, base_width=24, residual_blocks=4)),
    # artify-draw-lite-v1: the previous student (same architecture) re-taught by the drawing teacher
    "draw-lite": DistillConfig(epochs=16, init_from="artify-toon-lite"),
    # no full-resolution conv (stride-2 first conv, transposed last): the 30 fps student at 640x360
    "draw-fast": DistillConfig(generator=replace(LITE, strided_ends=True), epochs=20,
                               init_from="artify-draw-lite-v1", init_matching=True),
    # draw-fast (0.883 at its best epoch) with two more residual blocks at 1/4 resolution (cheap there)
    # and a cosine schedule over a longer run: artify-draw-lite is its epoch 10 (see its model card)
    "draw-fast-long": DistillConfig(generator=replace(LITE, strided_ends=True, residual_blocks=5), epochs=36,
                                    schedule="cosine", init_from="artify-draw-lite-v1", init_matching=True),
    # the fidelity issue's student (of v5: artify-draw-lite-v5; of v6: artify-draw-v6-student, which
    # `train --preset keep-lite-gan` goes on from): the real-time architecture with the photo's colour
    # in 16 px blocks, re-taught starting from artify-draw-lite-v2; half the draws of a portrait its
    # aligned face crop, as the teacher's
    "keep-lite": DistillConfig(generator=REAL_TIME, epochs=12, schedule="cosine", init_from="artify-draw-lite-v2",
                               face_share=0.5),
}
#: `artify-face-lite`, the lite face model (`artify distill artify-face --preset keep-faces-lite`):
#: `artify-draw-lite-v4` (the lite it was made beside) taught on aligned face crops only, at face mode's 256 px.
DISTILL_PRESETS["keep-faces-lite"] = replace(DISTILL_PRESETS["keep-lite"], init_from="artify-draw-lite-v4", face_share=1.0,
                                             crop_size=256, epochs=4)


