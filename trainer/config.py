"""Training configuration: one typed dataclass, the paper's Table I rounds as presets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from artify_stream.errors import ConfigError
from artify_stream.generator import GeneratorConfig

BACKBONES = ("efficientnet-lite0", "vgg16")
SCHEDULES = ("constant", "exponential")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Defaults are the recommended preset."""

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    epochs: int = 100
    init_epochs: int = 10  # content loss only (CartoonGAN's initialization phase)
    batch_size: int = 16
    crop_size: int = 256
    lr: float = 2e-4
    init_lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    content_weight: float = 1.0
    schedule: str = "constant"
    lr_gamma: float = 0.98  # per-epoch decay for the exponential schedule
    backbone: str = "efficientnet-lite0"
    precision: str = "auto"  # auto: bf16/fp16 autocast where the device runs it fast
    seed: int = 0
    workers: int = 0
    edge_kernel: int = 5  # dilation and blur size for edge-smoothed cartoons
    video_frame_step: int = 10  # every n-th frame of a cartoon video is a sample
    sample_count: int = 4  # photos in the per-epoch sample grid

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (0 <= self.init_epochs <= self.epochs, f"init_epochs must be in [0, epochs], got {self.init_epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.crop_size >= 8 and self.crop_size % 4 == 0, f"crop_size must be a multiple of 4 >= 8, got {self.crop_size}"),
            (self.lr > 0 and self.init_lr > 0, "learning rates must be positive"),
            (self.content_weight >= 0, f"content_weight must be >= 0, got {self.content_weight}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (0 < self.lr_gamma <= 1, f"lr_gamma must be in (0, 1], got {self.lr_gamma}"),
            (self.backbone in BACKBONES, f"backbone must be one of {BACKBONES}, got {self.backbone!r}"),
            (self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}, got {self.precision!r}"),
            (self.workers >= 0, "workers must be >= 0"),
            (self.edge_kernel >= 1 and self.edge_kernel % 2 == 1, "edge_kernel must be odd and positive"),
            (self.video_frame_step >= 1, "video_frame_step must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["betas"] = list(self.betas)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown training options: {sorted(unknown)}")
        if "generator" in data:
            data["generator"] = GeneratorConfig.from_dict(data["generator"])
        if "betas" in data:
            data["betas"] = tuple(data["betas"])
        return cls(**data)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def with_overrides(self, **overrides) -> TrainConfig:
        gen_keys = {f.name for f in fields(GeneratorConfig)}
        gen = {k: v for k, v in overrides.items() if k in gen_keys and v is not None}
        rest = {k: v for k, v in overrides.items() if k not in gen_keys and v is not None}
        return replace(self, generator=replace(self.generator, **gen), **rest)


def _paper_round(blocks: int, kernel: int, lr: float, w: float, schedule: str = "constant") -> TrainConfig:
    return TrainConfig(
        generator=GeneratorConfig(residual_blocks=blocks, first_kernel=kernel),
        lr=lr, init_lr=lr, content_weight=w, batch_size=16, schedule=schedule,
        epochs=240 if blocks == 8 else 210,
    )


#: Table I of the paper, taken literally (its w values go with its own loss scaling, which
#: the paper does not give), a recommended default, and the small CPU config of the bundled model.
PRESETS: dict[str, TrainConfig] = {
    "recommended": TrainConfig(),
    "paper-round1": _paper_round(8, 7, 0.005, 10.0),
    "paper-round2": _paper_round(10, 3, 0.1, 0.0, schedule="exponential"),
    "paper-round3": _paper_round(10, 7, 0.001, 1e-5),
    "small-cpu": TrainConfig(
        generator=GeneratorConfig(residual_blocks=4, first_kernel=7, base_width=32),
        epochs=25, init_epochs=3, batch_size=8, crop_size=128,
    ),
}


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
