"""`artify train`'s GAN step: CartoonGAN's initialization phase, then adversarial training.

One step is a critic update (`_critic_step`: every discriminator of `TrainConfig`, edge-smoothed
cartoons as fakes) then a generator update (`_generator_loss`: adversarial terms plus the anchors).
The epochs, run folder, checkpoints, evaluation and best-epoch pick are `trainer.epoch_loop.EpochRun`'s.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, WeightedRandomSampler

from artify_stream.errors import ConfigError
from trainer import losses as L
from trainer.config import TrainConfig
from trainer.content import build_content_features
from trainer.critics import build_critics, frozen
from trainer.data import (CartoonCrops, EdgeSmoothedCartoons, PhotoCrops, ToonTargets, balanced_weights, face_eyes,
                          load_cartoons, skin_tone_weights)
from trainer.representations import random_gray_weights, superpixel_flatten
from trainer.epoch_loop import EpochRun
from trainer.temporal import FrameChange, RandomFrameChange


class Training(EpochRun):
    """One `artify train` run in a run folder; `run()` trains (or resumes) to `config.epochs`."""

    def __init__(self, config: TrainConfig, photos: Path, cartoons: Path, run_dir: Path,
                 content_weights: Path | None = None, device: str | None = None, command: str = "", progress=None,
                 eval_clips: list[Path] = (), eval_photos: Path | None = None) -> None:
        super().__init__(config, photos, run_dir, device, command, progress, eval_clips, eval_photos)
        self.cartoons_src = Path(cartoons)
        self.content_weights = content_weights
        self.first_ranked_epoch = config.first_ranked_epoch

    # ---- set-up -------------------------------------------------------------------------
    def _setup_models(self, train_photos: list[np.ndarray]) -> None:
        cfg = self.config
        cartoons, families = load_cartoons(self.cartoons_src, cfg.video_frame_step)
        self.cartoon_weights = None
        if cfg.balance_cartoon_families:
            self.cartoon_weights, self.dataset_sizes["cartoon_families"] = balanced_weights(families)
        smoothed = EdgeSmoothedCartoons(self.paths.edge_cache, cfg.edge_kernel)(cartoons)
        self.dataset_sizes["cartoons"] = len(cartoons)
        toons = ToonTargets(self.paths.toon_cache)(train_photos) if cfg.uses_toon_targets else None
        eyes = face_eyes(train_photos, self.paths.root / "cache" / "face_eyes") if cfg.face_share else None
        if eyes is not None:
            self.dataset_sizes["photos_with_a_face"] = sum(e is not None for e in eyes)
        self.photo_set = PhotoCrops(train_photos, cfg.crop_size, cfg.seed, toons, eyes, cfg.face_share,
                                    cfg.darken_share, cfg.darken_gamma, cfg.darken_scope, tuple(cfg.scene_scale))
        self.photo_weights = None
        if cfg.balance_skin_tones:
            self.photo_weights, counts = skin_tone_weights(train_photos, self.paths.root / "cache" / "skin_tones",
                                                             cfg.scene_weight)
            self.dataset_sizes["skin_tone_groups"] = counts
        self.cartoon_set = CartoonCrops(cartoons, smoothed, cfg.crop_size, cfg.seed,
                                        cfg.darken_share if cfg.darken_cartoons else 0.0, cfg.darken_gamma)
        self.content = build_content_features(cfg.backbone, self.content_weights, cfg.content_layer).to(self.device)
        self.critics = build_critics(cfg.discriminators, cfg.d_width, cfg.spectral_norm, cfg.d_lr or cfg.lr,
                                     cfg.betas, self.device, self.wrap, cfg.diff_augment, cfg.projected_taps,
                                     self.content_weights, lightness_only=cfg.critic_colour == "lightness")
        if self.channels_last:
            for module in (self.content, *(c.module for c in self.critics.values())):
                module.to(memory_format=torch.channels_last)
        for critic in self.critics.values():
            critic.module.train()
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, self._g_lr_factor)
        self.sched_d = {name: torch.optim.lr_scheduler.LambdaLR(c.optimizer, self._d_lr_factor)
                        for name, c in self.critics.items()}
        self.frame_change = FrameChange()

    def _g_lr_factor(self, epoch: int) -> float:
        cfg = self.config
        if epoch < cfg.init_epochs:
            return cfg.init_lr / cfg.lr
        return self._d_lr_factor(epoch)

    def _d_lr_factor(self, epoch: int) -> float:
        return self.config.lr_factor(epoch, first_epoch=self.config.init_epochs)

    def _batches(self, epoch: int) -> Iterable[tuple]:
        """Photo batches (with their toon targets when used) paired with cartoon batches."""
        cfg = self.config
        self.photo_set.set_epoch(epoch)
        self.cartoon_set.set_epoch(epoch)
        if self.photo_weights is not None:  # each rank its own weighted draw, each group alike (with replacement)
            seed = cfg.seed * 1000 + epoch if self.dist.world_size == 1 else (cfg.seed * 1000 + epoch) * 64 + self.dist.rank
            photo_sampler = WeightedRandomSampler(self.photo_weights, len(self.photo_set) // self.dist.world_size,
                                                  generator=torch.Generator().manual_seed(seed))
        elif self.dist.world_size > 1:
            photo_sampler = DistributedSampler(
                self.photo_set, self.dist.world_size, self.dist.rank, shuffle=True, seed=cfg.seed, drop_last=True
            )
            photo_sampler.set_epoch(epoch)
        else:
            photo_sampler = RandomSampler(self.photo_set, generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
        batches = len(self.photo_set) // (cfg.batch_size * self.dist.world_size)
        cartoon_seed = torch.Generator().manual_seed((cfg.seed * 1000 + epoch) * 64 + self.dist.rank + 1)
        if self.cartoon_weights is not None:
            cartoon_sampler = WeightedRandomSampler(self.cartoon_weights, batches * cfg.batch_size, generator=cartoon_seed)
        else:
            cartoon_sampler = RandomSampler(self.cartoon_set, replacement=True, num_samples=batches * cfg.batch_size,
                                            generator=cartoon_seed)
        pin = self.device.type == "cuda"
        kwargs = dict(batch_size=cfg.batch_size, drop_last=True, num_workers=cfg.workers, pin_memory=pin)
        return _Zipped(DataLoader(self.photo_set, sampler=photo_sampler, **kwargs),
                       DataLoader(self.cartoon_set, sampler=cartoon_sampler, **kwargs))

    def _phase(self, epoch: int) -> str:
        return "adversarial" if epoch >= self.config.init_epochs else "init"

    def _after_epoch(self) -> None:
        super()._after_epoch()
        with warnings.catch_warnings():  # D's optimizer has not stepped during the init phase
            warnings.simplefilter("ignore", UserWarning)
            for scheduler in self.sched_d.values():
                scheduler.step()

    # ---- checkpoints and metadata ---------------------------------------------------------
    def _extra_state(self) -> dict:
        return {
            "discriminators": {n: c.module.state_dict() for n, c in self.critics.items()},
            "opt_d": {n: c.optimizer.state_dict() for n, c in self.critics.items()},
            "sched_d": {n: s.state_dict() for n, s in self.sched_d.items()},
        }

    def _load_extra_state(self, state: dict) -> None:

        if set(state.get("discriminators", {})) != set(self.critics):
            raise ConfigError(f"{self.paths.checkpoint}: the run trained discriminators {sorted(state.get('discriminators', {}))}; "
                              f"this config has {sorted(self.critics)}")
        for name, critic in self.critics.items():
            critic.module.load_state_dict(state["discriminators"][name])
            critic.optimizer.load_state_dict(state["opt_d"][name])
            self.sched_d[name].load_state_dict(state["sched_d"][name])

    def _extra_metadata(self) -> dict:
        return {"cartoons": str(self.cartoons_src), "content_backbone": self.content.info.to_dict(),
                "content_weight": self.config.content_weight}

    def _write_run_files(self) -> None:
        self.paths.content_backbone.write_text(json.dumps(self.content.info.to_dict(), indent=2) + "\n")

    # ---- the step -------------------------------------------------------------------------------
    def _critic_step(self, cartoon: torch.Tensor, smooth: torch.Tensor, fake: torch.Tensor, gray: torch.Tensor) -> dict:
        """One update of every discriminator: cartoons real; edge-smoothed cartoons and G(photo) fake."""
        cfg = self.config
        losses = {}
        kinds = [cartoon, smooth, fake] if cfg.edge_promoting else [cartoon, fake]
        for name, critic in self.critics.items():
            with self._autocast():
                # One forward over every kind: DDP expects one forward per backward.
                views = [critic.view(images, gray) for images in kinds]
                logits = critic.train_module(torch.cat(views)).chunk(len(kinds))
                d_loss = L.discriminator_loss(logits[0], *logits[1:], kind=cfg.gan_loss)
            critic.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(d_loss).backward()
            self.scaler.step(critic.optimizer)
            losses[f"d_{name}"] = d_loss.item()
        return losses

    def _generator_loss(self, photo: torch.Tensor, toon: torch.Tensor | None, cartoon: torch.Tensor, fake: torch.Tensor,
                        gray: torch.Tensor, adversarial: bool, temporal: tuple | None,
                        face: torch.Tensor | None = None, scene: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        cfg = self.config
        terms: dict[str, torch.Tensor] = {}
        if not adversarial and cfg.init_loss in ("pixel", "toon"):
            target = photo if cfg.init_loss == "pixel" else toon
            terms[cfg.init_loss] = (fake.float() - target.float()).abs().mean()
            return terms[cfg.init_loss], {k: v.item() for k, v in terms.items()}
        with torch.no_grad():
            target = self.content(photo)
        fake_features = self.content(fake)
        terms["content"] = cfg.content_weight * L.content_loss(fake_features, target) if adversarial else \
            L.content_loss(fake_features, target)
        if adversarial:
            for name, critic in self.critics.items():
                with frozen(critic.module):
                    logits = critic.module(critic.view(fake, gray))
                terms[f"g_{name}"] = critic.weight * L.generator_adversarial_loss(logits, cfg.gan_loss)
            if cfg.structure_weight:
                terms["structure"] = self._structure_term(fake, fake_features, scene)
            if cfg.gray_style_weight:
                gray_fake = fake.float().mul(gray.view(1, 3, 1, 1)).sum(1, keepdim=True).expand(-1, 3, -1, -1)
                gray_toon = cartoon.float().mul(gray.view(1, 3, 1, 1)).sum(1, keepdim=True).expand(-1, 3, -1, -1)
                with torch.no_grad():
                    toon_features = self.content(gray_toon.contiguous())
                terms["gray_style"] = cfg.gray_style_weight * L.gray_style_loss(self.content(gray_fake.contiguous()), toon_features)
            if cfg.toon_weight:
                terms["toon"] = cfg.toon_weight * (fake.float() - toon.float()).abs().mean()
            if cfg.toon_feature_weight:  # the toon rendering as a feature-space anchor: lines may move a pixel
                with torch.no_grad():
                    toon_features = self.content(toon)
                terms["toon_features"] = cfg.toon_feature_weight * L.content_loss(fake_features, toon_features)
            if cfg.tv_weight:
                terms["tv"] = cfg.tv_weight * L.total_variation(fake)
            if cfg.colour_weight:
                terms["colour"] = cfg.colour_weight * L.colour_loss(fake, photo)
            if cfg.region_colour_weight:
                terms["region_colour"] = cfg.region_colour_weight * L.region_colour_loss(fake, photo)
            if cfg.blotch_weight:
                terms["blotch"] = cfg.blotch_weight * L.blotch_loss(fake, photo)
            if cfg.face_detail_weight or cfg.face_spread_weight or cfg.face_marks_weight or cfg.face_steps_weight:
                terms.update(self._face_terms(photo, fake, face))
            if temporal is not None:
                change, output_of_changed = temporal
                terms["temporal"] = cfg.temporal_weight * L.temporal_loss(output_of_changed, change.warp(fake))
        total = sum(terms.values())
        return total, {k: v.item() for k, v in terms.items()}

    def _structure_term(self, fake: torch.Tensor, fake_features: torch.Tensor, scene: torch.Tensor | None) -> torch.Tensor:
        """G's output pulled towards its own flattened copy: on every draw, or (scope "scenes") on the
        draws of photos without a face only (zero when the batch has none)."""
        cfg = self.config
        if cfg.structure_scope == "scenes":
            if scene is None or not bool(scene.any()):
                return fake.float().sum() * 0.0
            fake, fake_features = fake[scene], fake_features[scene]
        flat = superpixel_flatten(fake, cfg.superpixel, cfg.superpixel_segments, cfg.superpixel_colour)
        if cfg.structure_space == "pixels":  # flat regions with hard borders, pixel for pixel
            return cfg.structure_weight * (fake.float() - flat).abs().mean()
        with torch.no_grad():
            flat_features = self.content(flat.to(memory_format=torch.channels_last))
        return cfg.structure_weight * L.content_loss(fake_features, flat_features)

    def _face_terms(self, photo: torch.Tensor, fake: torch.Tensor, face: torch.Tensor) -> dict[str, torch.Tensor]:
        """The face-kept terms on the batch's aligned face crops (zero when it has none)."""
        cfg = self.config
        if not bool(face.any()):
            zero = fake.float().sum() * 0.0
            return {name: zero for name, w in (("face_detail", cfg.face_detail_weight), ("face_spread", cfg.face_spread_weight),
                                                ("face_marks", cfg.face_marks_weight), ("face_steps", cfg.face_steps_weight)) if w}
        photo, fake = photo[face], fake[face]
        terms = {}
        if cfg.face_detail_weight:
            fake_view, photo_view = L.contrast_stretched(fake, photo)
            with torch.no_grad():
                target = self.content(photo_view.to(photo.dtype).contiguous(memory_format=torch.channels_last))
            features = self.content(fake_view.to(fake.dtype).contiguous(memory_format=torch.channels_last))
            terms["face_detail"] = cfg.face_detail_weight * L.content_loss(features, target)
        if cfg.face_spread_weight:
            terms["face_spread"] = cfg.face_spread_weight * L.face_spread_loss(fake, photo)
        if cfg.face_marks_weight:
            terms["face_marks"] = cfg.face_marks_weight * L.face_marks_loss(fake, photo)
        if cfg.face_steps_weight:
            terms["face_steps"] = cfg.face_steps_weight * L.face_steps_loss(fake, photo)
        return terms

    def _step(self, batch: tuple, epoch: int) -> dict:
        sample, (cartoon, smooth) = batch
        photo, cartoon, smooth = self._to_device(sample.photo), self._to_device(cartoon), self._to_device(smooth)
        toon = self._to_device(sample.target) if sample.target.numel() else None
        face, scene = sample.face.to(self.device), sample.scene.to(self.device)
        adversarial = epoch >= self.config.init_epochs
        losses: dict[str, float] = {}
        gray = random_gray_weights().to(self.device)
        temporal = None
        with self._autocast():
            if adversarial and self.config.temporal_weight:
                # The photo and its changed copy in one forward (one forward per backward under DDP).
                change = RandomFrameChange(photo, self.frame_change)
                both = torch.cat([photo, change.changed_input(photo).to(photo.dtype)])
                fake, output_of_changed = self.g_train(both.contiguous(memory_format=torch.channels_last)).chunk(2)
                temporal = (change, output_of_changed)
            else:
                fake = self.g_train(photo)
        if adversarial:
            losses.update(self._critic_step(cartoon, smooth, fake.detach().to(cartoon.dtype), gray))
        with self._autocast():
            g_loss, terms = self._generator_loss(photo, toon, cartoon, fake, gray, adversarial, temporal, face, scene)
        self._update_generator(g_loss)
        losses.update(terms)
        losses["g"] = g_loss.item()
        return losses


class _Zipped:
    """Two loaders stepped together, with a length (for the progress bar)."""

    def __init__(self, photos: DataLoader, cartoons: DataLoader) -> None:
        self.photos, self.cartoons = photos, cartoons

    def __len__(self) -> int:
        return min(len(self.photos), len(self.cartoons))

    def __iter__(self):
        return zip(self.photos, self.cartoons)
