"""The ArtifyGAN training loop: content-only initialization, then edge-promoting adversarial training."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from artify_stream.errors import ConfigError, InputError
from artify_stream.generator import Generator
from artify_stream.model_file import save_model_file
from trainer.checkpoint import load_checkpoint, restore_rng_state, rng_state, save_checkpoint
from trainer.config import TrainConfig
from trainer.content import build_content_features
from trainer.data import CartoonCrops, EdgeSmoothedCartoons, PhotoCrops, load_cartoon_source, load_photos
from trainer.discriminator import Discriminator
from trainer.losses import content_loss, discriminator_loss, generator_adversarial_loss
from trainer.monitor import SilentProgress, TrainingLog, sample_grid, save_grid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunPaths:
    """Where a run keeps what it writes."""

    root: Path

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoints" / "last.pt"

    @property
    def model(self) -> Path:
        return self.root / "model.safetensors"

    def epoch_model(self, epoch: int) -> Path:
        return self.root / "models" / f"epoch_{epoch:04d}.safetensors"

    def samples(self, epoch: int) -> Path:
        return self.root / "samples" / f"epoch_{epoch:04d}.png"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def content_backbone(self) -> Path:
        return self.root / "content_backbone.json"

    @property
    def edge_cache(self) -> Path:
        return self.root / "cache" / "edge_smoothed"


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def resolve_device(requested: str | None, dist: Distributed) -> torch.device:
    if requested in (None, "auto"):
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but no CUDA GPU is usable here")
        device = torch.device("cuda", dist.local_rank if dist.world_size > 1 else (device.index or 0))
        torch.cuda.set_device(device)
    return device


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """auto: bf16 autocast where the device has it (CUDA Ampere+, AVX-512 BF16 CPUs), else fp32."""
    if precision == "fp32":
        return torch.float32
    if precision == "fp16":
        if device.type != "cuda":
            raise ConfigError("fp16 training needs a CUDA GPU; use bf16 or fp32 on the CPU")
        return torch.float16
    if device.type == "cuda":
        has_bf16 = torch.cuda.is_bf16_supported()
    else:
        has_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if precision == "bf16" and not has_bf16:
        raise ConfigError(f"bf16 was asked for but {device} does not support it")
    return torch.bfloat16 if has_bf16 else torch.float32


class Training:
    """One training run in a run folder; `run()` trains (or resumes) to `config.epochs`."""

    def __init__(
        self,
        config: TrainConfig,
        photos: Path,
        cartoons: Path,
        run_dir: Path,
        content_weights: Path | None = None,
        device: str | None = None,
        command: str = "",
        progress=None,
    ) -> None:
        self.config = config
        self.paths = RunPaths(Path(run_dir))
        self.dist = Distributed.from_env()
        self.device = resolve_device(device, self.dist)
        self.amp_dtype = resolve_precision(config.precision, self.device)
        self.command = command
        self.progress = progress if (progress is not None and self.dist.is_main) else SilentProgress()
        self.photos_dir, self.cartoons_src = Path(photos), Path(cartoons)
        self.content_weights = content_weights

    # ---- set-up -------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.config
        if self.dist.world_size > 1 and not torch.distributed.is_initialized():
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend=backend)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)

        photos = load_photos(self.photos_dir)
        cartoons = load_cartoon_source(self.cartoons_src, cfg.video_frame_step)
        smoothed = EdgeSmoothedCartoons(self.paths.edge_cache, cfg.edge_kernel)(cartoons)
        self.dataset_sizes = {"photos": len(photos), "cartoons": len(cartoons)}
        self.photo_set = PhotoCrops(photos, cfg.crop_size, cfg.seed)
        self.cartoon_set = CartoonCrops(cartoons, smoothed, cfg.crop_size, cfg.seed)
        if len(self.photo_set) < cfg.batch_size * self.dist.world_size:
            raise InputError(
                f"{self.photos_dir}: {len(self.photo_set)} usable photos, fewer than one batch "
                f"({cfg.batch_size} x {self.dist.world_size} processes)"
            )

        self.content = build_content_features(cfg.backbone, self.content_weights).to(self.device)
        self.generator = Generator(cfg.generator).to(self.device)
        self.discriminator = Discriminator().to(self.device)
        if self.device.type == "cuda" or self.amp_dtype == torch.bfloat16:
            for module in (self.generator, self.discriminator, self.content):
                module.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, self._g_lr_factor)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, self._d_lr_factor)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)

        self.g_train, self.d_train = self.generator, self.discriminator
        if self.dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = DDP(self.generator, device_ids=ids, broadcast_buffers=False)
            self.d_train = DDP(self.discriminator, device_ids=ids, broadcast_buffers=False)

        n = min(cfg.sample_count, len(self.photo_set))
        self.sample_photos = torch.stack([self._center_crop(self.photo_set.photos[i]) for i in range(n)])
        self.log = TrainingLog(self.paths.root) if self.dist.is_main else None

    def _center_crop(self, rgb: np.ndarray) -> torch.Tensor:
        from trainer.data import to_tensor

        import cv2

        size = self.config.crop_size
        h, w = rgb.shape[:2]
        scale = size / min(h, w)
        rgb = cv2.resize(rgb, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=cv2.INTER_AREA)
        h, w = rgb.shape[:2]
        top, left = (h - size) // 2, (w - size) // 2
        return to_tensor(np.ascontiguousarray(rgb[top : top + size, left : left + size]))

    def _g_lr_factor(self, epoch: int) -> float:
        cfg = self.config
        if epoch < cfg.init_epochs:
            return cfg.init_lr / cfg.lr
        return self._d_lr_factor(epoch)

    def _d_lr_factor(self, epoch: int) -> float:
        cfg = self.config
        if cfg.schedule == "exponential":
            return cfg.lr_gamma ** max(0, epoch - cfg.init_epochs)
        return 1.0

    def _loaders(self, epoch: int) -> tuple[DataLoader, DataLoader]:
        cfg = self.config
        self.photo_set.set_epoch(epoch)
        self.cartoon_set.set_epoch(epoch)
        if self.dist.world_size > 1:
            photo_sampler = DistributedSampler(
                self.photo_set, self.dist.world_size, self.dist.rank, shuffle=True, seed=cfg.seed, drop_last=True
            )
            photo_sampler.set_epoch(epoch)
        else:
            photo_sampler = RandomSampler(self.photo_set, generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
        batches = len(self.photo_set) // (cfg.batch_size * self.dist.world_size)
        cartoon_sampler = RandomSampler(
            self.cartoon_set,
            replacement=True,
            num_samples=batches * cfg.batch_size,
            generator=torch.Generator().manual_seed((cfg.seed * 1000 + epoch) * 64 + self.dist.rank + 1),
        )
        pin = self.device.type == "cuda"
        kwargs = dict(batch_size=cfg.batch_size, drop_last=True, num_workers=cfg.workers, pin_memory=pin)
        return (
            DataLoader(self.photo_set, sampler=photo_sampler, **kwargs),
            DataLoader(self.cartoon_set, sampler=cartoon_sampler, **kwargs),
        )

    # ---- checkpoints ----------------------------------------------------------------------
    def _state(self, epoch: int) -> dict:
        return {
            "epoch": epoch,
            "config": self.config.to_dict(),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(),
            "dataset_sizes": self.dataset_sizes,
        }

    def _resume(self) -> int:
        state = load_checkpoint(self.paths.checkpoint)
        saved = TrainConfig.from_dict(state["config"])
        if saved.generator != self.config.generator or saved.seed != self.config.seed:
            raise ConfigError(
                f"{self.paths.checkpoint}: the run was made with {saved.generator} seed {saved.seed}; "
                "resume with the same architecture and seed"
            )
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        self.scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"])
        if self.log is not None:
            self.log.truncate_after(state["epoch"])
        return int(state["epoch"])

    def model_metadata(self, epoch: int) -> dict:
        return {
            "epoch": epoch,
            "dataset_sizes": self.dataset_sizes,
            "photos": str(self.photos_dir),
            "cartoons": str(self.cartoons_src),
            "content_backbone": self.content.info.to_dict(),
            "content_weight": self.config.content_weight,
            "crop_size": self.config.crop_size,
            "training_command": self.command,
            "train_config": self.config.to_dict(),
        }

    # ---- the loop ---------------------------------------------------------------------------
    def _autocast(self):
        if self.amp_dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _to_device(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(self.device, non_blocking=True)
        if self.device.type == "cuda" or self.amp_dtype == torch.bfloat16:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _step(self, photo: torch.Tensor, cartoon: torch.Tensor, smooth: torch.Tensor, adversarial: bool) -> dict:
        cfg = self.config
        losses: dict[str, float] = {}
        with self._autocast():
            fake = self.g_train(photo)
        if adversarial:
            with self._autocast():
                # One forward over all three kinds: DDP expects one forward per backward.
                logits = self.d_train(torch.cat([cartoon, smooth, fake.detach().to(cartoon.dtype)]))
                d_loss = discriminator_loss(*logits.chunk(3))
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(d_loss).backward()
            self.scaler.step(self.opt_d)
            losses["d"] = d_loss.item()
        with self._autocast():
            with torch.no_grad():
                target = self.content(photo)
            cont = content_loss(self.content(fake), target)
            if adversarial:
                adv = generator_adversarial_loss(self.d_train(fake))
                g_loss = adv + cfg.content_weight * cont
                losses["g_adv"] = adv.item()
            else:
                g_loss = cont
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        losses["content"] = cont.item()
        losses["g"] = g_loss.item()
        return losses

    def _write_samples(self, epoch: int) -> None:
        self.generator.eval()
        with torch.no_grad(), self._autocast():
            out = self.generator(self._to_device(self.sample_photos)).float().cpu()
        self.generator.train()
        grid = sample_grid(self.sample_photos, out)
        save_grid(self.paths.samples(epoch), grid)
        self.log.write_grid(grid, epoch)

    def run(self, resume: bool = False) -> list[dict]:
        """Train to `config.epochs`; returns the per-epoch records of this run folder."""
        self._setup()
        cfg = self.config
        start = 0
        if resume:
            start = self._resume()
        elif self.paths.checkpoint.exists():
            raise ConfigError(f"{self.paths.root}: holds a run already; pass --resume to continue it or pick a new --out")
        if self.dist.is_main:
            self.paths.root.mkdir(parents=True, exist_ok=True)
            cfg.save(self.paths.config)
            self.paths.content_backbone.write_text(json.dumps(self.content.info.to_dict(), indent=2) + "\n")
        self.generator.train()
        self.discriminator.train()
        try:
            with self.progress:
                for epoch in range(start, cfg.epochs):
                    self._run_epoch(epoch)
        finally:
            if self.log is not None:
                self.log.close()
            if self.dist.world_size > 1 and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()
        return self.log.read() if self.log is not None else []

    def _run_epoch(self, epoch: int) -> None:
        cfg = self.config
        adversarial = epoch >= cfg.init_epochs
        photos, cartoons = self._loaders(epoch)
        number = epoch + 1
        self.progress.epoch_started(number, cfg.epochs, len(photos), "adversarial" if adversarial else "init")
        totals: dict[str, float] = {}
        steps = 0
        t0 = time.perf_counter()
        for photo, (cartoon, smooth) in zip(photos, cartoons):
            losses = self._step(self._to_device(photo), self._to_device(cartoon), self._to_device(smooth), adversarial)
            steps += 1
            for k, v in losses.items():
                totals[k] = totals.get(k, 0.0) + v
            rate = steps * cfg.batch_size * self.dist.world_size / (time.perf_counter() - t0)
            self.progress.step(losses, rate)
        self.sched_g.step()
        with warnings.catch_warnings():  # D's optimizer has not stepped during the init phase
            warnings.simplefilter("ignore", UserWarning)
            self.sched_d.step()
        seconds = time.perf_counter() - t0
        record = {
            "epoch": number,
            "phase": "adversarial" if adversarial else "init",
            **{f"loss/{k}": v / max(steps, 1) for k, v in totals.items()},
            "lr/g": self.opt_g.param_groups[0]["lr"],
            "images_per_s": steps * cfg.batch_size * self.dist.world_size / seconds,
            "seconds": seconds,
        }
        if self.dist.is_main:
            self._write_samples(number)
            save_model_file(self.paths.epoch_model(number), self.generator, self.model_metadata(number))
            save_model_file(self.paths.model, self.generator, self.model_metadata(number))
            save_checkpoint(self.paths.checkpoint, self._state(number))
            self.log.write_epoch(record)
            self.progress.epoch_finished(record)
