"""`artify distill`: a small, fast student generator trained on a teacher model's outputs.

The student (depthwise-separable convolutions, resize-convolution up-sampling, width and blocks
configurable) learns the teacher's cartoon from photos (and frames of clips, when given) with
three terms: pixel L1 to the teacher's output, L1 between backbone features of both outputs,
and the compound-regularization temporal term, so it flickers no more than the teacher. The
teacher is a model file read through the runtime (`artify_stream.model_file`), like any engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from artify_stream.errors import InputError
from artify_stream.model_file import ModelFile, load_model_file
from artify_stream.registry import resolve_model_path
from trainer import losses as L
from trainer.content import build_content_features
from trainer.data import PhotoCrops, PhotoSample, face_eyes, sample_video_frames
from trainer.distill_config import DistillConfig
from trainer.epoch_loop import EpochRun
from trainer.selection import STUDENT_RULE, closest_to_teacher, teacher_gap
from trainer.temporal import FrameChange, RandomFrameChange

def clip_frames(folder: Path, step: int) -> list[np.ndarray]:
    """Every `step`-th frame of every clip under `folder` (unreadable clips skipped with a warning)."""
    import logging

    from trainer.data import CLIP_SUFFIXES

    folder = Path(folder)
    if not folder.exists():
        raise InputError(f"{folder}: clip folder not found")
    clips = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.suffix.lower() in CLIP_SUFFIXES)
    frames: list[np.ndarray] = []
    for clip in clips:
        try:
            frames.extend(sample_video_frames(clip, step))
        except InputError as exc:
            logging.getLogger(__name__).warning("skipping %s", exc)
    if not frames:
        raise InputError(f"{folder}: no readable clip frames")
    return frames


class Distillation(EpochRun):
    """One `artify distill` run in a run folder; `run()` trains (or resumes) to `config.epochs`."""

    def __init__(self, config: DistillConfig, teacher: str | Path, photos: Path, run_dir: Path,
                 clips: Path | None = None, device: str | None = None, command: str = "", progress=None,
                 eval_clips: list[Path] = (), content_weights: Path | None = None,
                 eval_photos: Path | None = None) -> None:
        super().__init__(config, photos, run_dir, device, command, progress, eval_clips, eval_photos)
        self.teacher_file: ModelFile = load_model_file(resolve_model_path(teacher))
        self.clips = Path(clips) if clips else None
        self.content_weights = content_weights

    selection_rule = STUDENT_RULE

    def _setup_models(self, train_photos: list[np.ndarray]) -> None:
        cfg = self.config
        extra = clip_frames(self.clips, cfg.clip_frame_step) if self.clips else []
        self.dataset_sizes["clip_frames"] = len(extra)
        photos = train_photos + extra
        eyes = face_eyes(photos, self.paths.root / "cache" / "face_eyes") if cfg.face_share else None
        self.photo_set = PhotoCrops(photos, cfg.crop_size, cfg.seed, eyes=eyes, face_share=cfg.face_share)
        self.teacher = self.teacher_file.build_generator(self.device).requires_grad_(False)
        self.content = build_content_features(cfg.backbone, self.content_weights, cfg.content_layer).to(self.device)
        if self.channels_last:
            for module in (self.teacher, self.content):
                module.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=cfg.betas)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, cfg.lr_factor)
        self.frame_change = FrameChange()
        self.teacher_figures = self._teacher_figures() if self.dist.is_main else {}

    def _teacher_figures(self) -> dict:
        """The teacher's own figures on the validation set: what the student is measured against."""
        from artify_stream.evaluation import evaluate
        from artify_stream.fused import FusedStylizer

        stylizer = FusedStylizer(self.teacher)
        with torch.no_grad(), self._autocast():
            report, _ = evaluate(lambda frames: stylizer(frames.to(self.device)), self.eval_set)
        return report.summary()

    def _judge(self, figures: dict) -> dict:
        return {"teacher_gap": teacher_gap(figures, self.teacher_figures)}

    def _best_epoch(self, records: list[dict]) -> int | None:
        return closest_to_teacher(records)

    def _batches(self, epoch: int) -> Iterable[tuple]:
        cfg = self.config
        self.photo_set.set_epoch(epoch)
        sampler = RandomSampler(self.photo_set, generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
        return DataLoader(self.photo_set, batch_size=cfg.batch_size, sampler=sampler, drop_last=True,
                          num_workers=cfg.workers, pin_memory=self.device.type == "cuda")

    def _phase(self, epoch: int) -> str:
        return "distill"

    def _step(self, batch: PhotoSample, epoch: int) -> dict:
        cfg = self.config
        photo = self._to_device(batch.photo)
        terms: dict[str, torch.Tensor] = {}
        with self._autocast():
            with torch.no_grad():
                target = self.teacher(photo)
            if cfg.temporal_weight:
                change = RandomFrameChange(photo, self.frame_change)
                both = torch.cat([photo, change.changed_input(photo).to(photo.dtype)])
                out, out_of_changed = self.g_train(both.contiguous(memory_format=torch.channels_last)).chunk(2)
                terms["temporal"] = cfg.temporal_weight * L.temporal_loss(out_of_changed, change.warp(out))
            else:
                out = self.g_train(photo)
            if cfg.pixel_weight:
                terms["pixel"] = cfg.pixel_weight * (out.float() - target.float()).abs().mean()
            if cfg.edge_weight:
                terms["edge"] = cfg.edge_weight * L.edge_loss(out, target)
            if cfg.feature_weight:
                with torch.no_grad():
                    target_features = self.content(target)
                terms["feature"] = cfg.feature_weight * L.content_loss(self.content(out), target_features)
        loss = sum(terms.values())
        self._update_generator(loss)
        return {**{k: v.item() for k, v in terms.items()}, "g": loss.item()}

    def _extra_metadata(self) -> dict:
        return {"teacher": {"path": str(self.teacher_file.path), "sha256": self.teacher_file.sha256,
                            "config": self.teacher_file.config.to_dict(), "evaluation": self.teacher_figures},
                "clips": str(self.clips) if self.clips else None}
