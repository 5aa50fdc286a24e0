"""The epoch loop every training run shares (`artify train` and `artify distill`): the photo
split, checkpoints and resume, the per-epoch evaluation, logs and the best-epoch pick. Where the
files go is `trainer.run_folder`'s; ranks and devices are `trainer.distributed`'s.

A subclass says how to build its networks (`_setup_models`), what a batch is (`_batches`),
what one step does (`_step`) and what else its checkpoint holds (`_extra_state`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from artify_stream.atomic import atomic_path
from artify_stream.errors import ConfigError, InputError
from artify_stream.evaluation import EvaluationSet, evaluate
from artify_stream.evaluation.inputs import evaluation_image, load_photos_or_stills
from artify_stream.evaluation.report import square_tile
from artify_stream.generator import Generator
from artify_stream.model_file import save_model_file
from artify_stream.devices import cpu_has_bf16
from artify_stream.fused import FusedStylizer
from trainer.checkpoint import load_checkpoint, restore_rng_state, rng_state, save_checkpoint
from trainer.data import load_photos, skin_tone_groups, split_photos
from trainer.distributed import (Distributed, data_parallel_wrapper, end_process_group, start_process_group, training_device,
                                 wait_for_every_rank)
from trainer.monitor import SilentProgress, TrainingLog, sample_grid, save_grid
from trainer.run_folder import RunPaths, check_run_folder
from trainer.selection import SELECTION_RULE, best_epoch


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """auto: bf16 autocast where the device has it natively (CUDA Ampere+, AVX-512 BF16 CPUs), else fp32."""
    if precision == "fp32":
        return torch.float32
    if precision == "fp16":
        if device.type != "cuda":
            raise ConfigError("fp16 training needs a CUDA GPU; use bf16 or fp32 on the CPU")
        return torch.float16
    has_bf16 = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_bf16()
    if precision == "bf16" and not has_bf16:
        raise ConfigError(f"bf16 was asked for but {device} does not support it")
    return torch.bfloat16 if has_bf16 else torch.float32


class EpochRun:
    """One run in a run folder; `run()` trains (or resumes) to `config.epochs`.

    The config must have the common fields: epochs, batch_size, crop_size, lr, betas, seed,
    precision, workers, validation_photos, eval_size, sample_count, ema_decay, generator.
    """

    def __init__(self, config, photos: Path, run_dir: Path, device: str | None = None, command: str = "",
                 progress=None, eval_clips: list[Path] = (), eval_photos: Path | None = None) -> None:
        self.config = config
        self.paths = RunPaths(Path(run_dir))
        self.dist = Distributed.from_env()
        self.device = training_device(device, self.dist)
        self.amp_dtype = resolve_precision(config.precision, self.device)
        self.command = command
        self.progress = progress if (progress is not None and self.dist.is_main) else SilentProgress()
        self.photos_dir = Path(photos)
        self.eval_clips = [Path(p) for p in eval_clips]
        self.eval_photos = Path(eval_photos) if eval_photos else None

    # ---- what a subclass provides ----------------------------------------------------------
    first_ranked_epoch = 0  # epochs up to this one are never shipped (CartoonGAN's init phase)
    selection_rule = SELECTION_RULE

    def _setup_models(self, train_photos: list[np.ndarray]) -> None:
        raise NotImplementedError

    def _batches(self, epoch: int) -> Iterable[tuple]:
        raise NotImplementedError

    def _step(self, batch: tuple, epoch: int) -> dict[str, float]:
        raise NotImplementedError

    def _phase(self, epoch: int) -> str:
        return "train"

    def _after_epoch(self) -> None:
        """Per-epoch schedules (the generator's here; subclasses add their critics')."""
        self.sched_g.step()

    def _extra_state(self) -> dict:
        return {}

    def _load_extra_state(self, state: dict) -> None:
        pass

    def _extra_metadata(self) -> dict:
        return {}

    def _write_run_files(self) -> None:
        pass

    def _load_initial_weights(self, name_or_path: str) -> None:
        """Start G from a model file (config `init_from`): fine-tuning. Its architecture must be this
        run's, unless `init_matching` is set: then every tensor whose name and shape match is taken
        (a new student keeps what its predecessor learned in the layers they share)."""
        from artify_stream.registry import load_model

        start = load_model(name_or_path)
        weights = start.build_generator(self.device).state_dict()
        if start.config.same_weights_as(self.config.generator):
            self.generator.load_state_dict(weights)
            taken = len(weights)
        elif self.config.init_matching:
            own = self.generator.state_dict()
            matching = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
            self.generator.load_state_dict(matching, strict=False)
            taken = len(matching)
        else:
            raise ConfigError(f"init_from {name_or_path}: its generator {start.config} is not this run's "
                              f"{self.config.generator}; pass --set init_matching=true to take the tensors "
                              "that match, or --set init_from= to train from scratch")
        self.started_from = {"model": str(start.path), "sha256": start.sha256,
                             "tensors_taken": taken, "tensors": len(self.generator.state_dict())}

    def _judge(self, figures: dict) -> dict:
        """More figures for the log and the pick (a student's distance to its teacher)."""
        return {}

    # ---- set-up -------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.config
        start_process_group(self.dist, self.device)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        photo_paths, photos = load_photos(self.photos_dir)
        # read before the skin-tone groups (a minute of dlib on a first run): a wrong path fails at once
        extra_paths, extra = (load_photos_or_stills(self.eval_photos, long_side=cfg.eval_size)
                              if self.eval_photos is not None else ([], []))
        groups = (skin_tone_groups(photos, self.paths.root / "cache" / "skin_tones", "balance_validation")
                  if cfg.balance_validation else None)
        train_idx, val_idx = split_photos(len(photos), cfg.validation_photos, cfg.batch_size * self.dist.world_size,
                                          cfg.seed, self.photos_dir, groups)
        self.split = {"train": [str(photo_paths[i]) for i in train_idx], "validation": [str(photo_paths[i]) for i in val_idx]}
        self.dataset_sizes = {"photos": len(train_idx), "validation_photos": len(val_idx)}
        if groups is not None:
            self.dataset_sizes["validation_groups"] = {g: sum(groups[i] == g for i in val_idx) for g in sorted(set(groups))}
        val_images = [evaluation_image(photos[i], cfg.eval_size) for i in val_idx]
        if self.eval_photos is not None:  # more photos to pick by, never trained on
            training = {photo_paths[i].resolve() for i in train_idx}
            if clash := [p for p in extra_paths if p.resolve() in training]:
                raise InputError(f"{self.eval_photos}: {clash[0]} is also a training photo under {self.photos_dir}; "
                                 "evaluation photos must be ones the run never trains on")
            val_images += extra
            self.split["evaluation_photos"] = [str(p) for p in extra_paths]
            self.dataset_sizes["evaluation_photos"] = len(extra)
        if self.dist.is_main:
            self.eval_set = EvaluationSet.load(val_images, self.eval_clips, clip_frames=32, clip_long_side=cfg.eval_size)
        self.wrap = data_parallel_wrapper(self.dist, self.device)
        torch.manual_seed(cfg.seed)  # G's initial weights depend on the seed alone, not on the evaluation set
        self.generator = Generator(cfg.generator).to(self.device)
        if self.channels_last:
            self.generator.to(memory_format=torch.channels_last)
        if cfg.init_from:
            self._load_initial_weights(cfg.init_from)
        self._setup_models([photos[i] for i in train_idx])
        self.ema = None
        if cfg.ema_decay > 0:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

            self.ema = AveragedModel(self.generator, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.g_train = self.wrap(self.generator)
        # Set-up may draw random numbers (reading --eval-clip clips; a backbone built once per process
        # and cached): seed again, so that the steps depend on the seed alone.
        torch.manual_seed(cfg.seed + 1)
        np.random.seed(cfg.seed + 1)
        self.log = TrainingLog(self.paths.root) if self.dist.is_main else None

    @property
    def channels_last(self) -> bool:
        return self.device.type == "cuda" or self.amp_dtype == torch.bfloat16

    def _autocast(self):
        if self.amp_dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _to_device(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(self.device, non_blocking=True)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _update_generator(self, loss: torch.Tensor) -> None:
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update_parameters(self.generator)

    # ---- checkpoints ----------------------------------------------------------------------
    def _state(self, epoch: int) -> dict:
        return {
            "epoch": epoch,
            "config": self.config.to_dict(),
            "generator": self.generator.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(),
            "dataset_sizes": self.dataset_sizes,
            **self._extra_state(),
        }

    def _resume(self) -> int:
        state = load_checkpoint(self.paths.checkpoint)
        saved = type(self.config).from_dict(state["config"])
        if saved.generator != self.config.generator or saved.seed != self.config.seed:
            raise ConfigError(
                f"{self.paths.checkpoint}: the run was made with {saved.generator} seed {saved.seed}; "
                "resume with the same architecture and seed"
            )
        self.generator.load_state_dict(state["generator"])
        if self.ema is not None:
            if state.get("ema") is None:
                raise ConfigError(f"{self.paths.checkpoint}: the run kept no EMA of G; resume with ema_decay 0")
            self.ema.load_state_dict(state["ema"])
        self._load_extra_state(state)
        self.opt_g.load_state_dict(state["opt_g"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"])
        if self.log is not None:
            self.log.truncate_after(state["epoch"])
        return int(state["epoch"])

    def model_metadata(self, epoch: int, evaluation: dict | None = None) -> dict:
        return {
            "epoch": epoch,
            "started_from": getattr(self, "started_from", None),
            "dataset_sizes": self.dataset_sizes,
            "photos": str(self.photos_dir),
            "crop_size": self.config.crop_size,
            "weights": "ema" if self.ema is not None else "generator",
            "evaluation": evaluation or {},
            "selection_rule": self.selection_rule,
            "training_command": self.command,
            "train_config": self.config.to_dict(),
            **self._extra_metadata(),
        }

    # ---- evaluation ---------------------------------------------------------------------------
    def _shipped_generator(self) -> Generator:
        """What a model file of this epoch holds: the EMA of G when it is kept, else G."""
        return self.ema.module if self.ema is not None else self.generator

    def _evaluate(self) -> tuple[dict, np.ndarray]:
        generator = self._shipped_generator()
        generator.eval()
        stylizer = FusedStylizer(generator)
        with torch.no_grad(), self._autocast():
            report, outputs = evaluate(lambda frames: stylizer(frames.to(self.device)), self.eval_set, keep_outputs=True)
        generator.train()
        n = min(self.config.sample_count, len(self.eval_set.photos))
        tile = self.config.eval_size  # photos of any shape, each cell the same square (centre crop)

        def cells(images: list[np.ndarray]) -> torch.Tensor:
            return torch.stack([torch.from_numpy(square_tile(i, tile)).permute(2, 0, 1) for i in images[:n]]).float() / 255

        return report.summary(), sample_grid(cells(self.eval_set.photos), cells(outputs["photos"]))

    def _best_epoch(self, records: list[dict]) -> int | None:
        return best_epoch(records, self.first_ranked_epoch)

    def shipped_epoch(self) -> int | None:
        """The epoch the run's model file holds (by the run's own selection rule)."""
        return self._best_epoch(self.log.read()) if self.log is not None else None

    def _write_models(self, number: int, figures: dict) -> None:
        save_model_file(self.paths.epoch_model(number), self._shipped_generator(), self.model_metadata(number, figures))
        best = self._best_epoch(self.log.read())
        if best is None or best == number:
            with atomic_path(self.paths.model) as tmp:
                shutil.copyfile(self.paths.epoch_model(number), tmp)

    # ---- the loop ---------------------------------------------------------------------------
    def run(self, resume: bool = False) -> list[dict]:
        """Train to `config.epochs`; returns the per-epoch records of this run folder."""
        if self.dist.is_main:
            check_run_folder(self.paths.root)
        self._setup()
        start = 0
        if resume:
            start = self._resume()
        elif self.paths.checkpoint.exists():
            raise ConfigError(f"{self.paths.root}: holds a run already; pass --resume to continue it or pick a new --out")
        if self.dist.is_main:
            self.config.save(self.paths.config)
            self.paths.split.write_text(json.dumps(self.split, indent=1) + "\n")
            self._write_run_files()
        self.generator.train()
        try:
            with self.progress:
                for epoch in range(start, self.config.epochs):
                    self._run_epoch(epoch)
            wait_for_every_rank(self.dist)  # rank 0 evaluates and saves the last epoch alone
        finally:
            if self.log is not None:
                self.log.close()
            end_process_group(self.dist)
        return self.log.read() if self.log is not None else []

    def _run_epoch(self, epoch: int) -> None:
        cfg = self.config
        batches = self._batches(epoch)
        number = epoch + 1
        phase = self._phase(epoch)
        self.progress.epoch_started(number, cfg.epochs, len(batches), phase)
        totals: dict[str, float] = {}
        steps = 0
        lr = self.opt_g.param_groups[0]["lr"]  # this epoch's, before the schedule steps at its end
        t0 = time.perf_counter()
        for batch in batches:
            losses = self._step(batch, epoch)
            steps += 1
            for k, v in losses.items():
                totals[k] = totals.get(k, 0.0) + v
            rate = steps * cfg.batch_size * self.dist.world_size / (time.perf_counter() - t0)
            self.progress.step(losses, rate)
        self._after_epoch()
        seconds = time.perf_counter() - t0
        record = {
            "epoch": number,
            "phase": phase,
            **{f"loss/{k}": v / max(steps, 1) for k, v in totals.items()},
            "lr/g": lr,
            "images_per_s": steps * cfg.batch_size * self.dist.world_size / seconds,
            "seconds": seconds,
        }
        if self.dist.is_main:
            t_eval = time.perf_counter()
            training_rng = rng_state()  # what is evaluated (clips or not) must not change the training
            figures, grid = self._evaluate()
            restore_rng_state(training_rng)
            figures.update(self._judge(figures))
            record.update({f"eval/{k}": v for k, v in figures.items()})
            record["eval_seconds"] = time.perf_counter() - t_eval
            save_grid(self.paths.samples(number), grid)
            self.log.write_grid(grid, number)
            self.log.write_epoch(record)
            self._write_models(number, figures)
            save_checkpoint(self.paths.checkpoint, self._state(number))
            self.progress.epoch_finished(record)
