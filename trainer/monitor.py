"""What a run shows and leaves behind: TensorBoard scalars, a JSON log, sample grids, Rich progress."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class TrainingLog:
    """Per-epoch records: one JSON object per line in log.jsonl, and TensorBoard scalars."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / "log.jsonl"
        self.tensorboard_dir = Path(run_dir) / "tensorboard"
        self._writer = None

    def _tb(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.tensorboard_dir))
        return self._writer

    def write_epoch(self, record: dict) -> None:
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        writer = self._tb()
        for key, value in record.items():
            if key != "epoch" and isinstance(value, (int, float)):
                writer.add_scalar(key, value, record["epoch"])
        writer.flush()

    def write_grid(self, grid: np.ndarray, epoch: int) -> None:
        self._tb().add_image("samples", grid, epoch, dataformats="HWC")

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def truncate_after(self, epoch: int) -> None:
        """On resume, drop records of epochs that the checkpoint does not include."""
        kept = [r for r in self.read() if r["epoch"] <= epoch]
        self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def sample_grid(photos: torch.Tensor, outputs: torch.Tensor) -> np.ndarray:
    """Rows of photo | output, uint8 HWC."""
    rows = []
    for photo, out in zip(photos, outputs):
        pair = torch.cat([photo, out.to(photo.dtype)], dim=2)
        rows.append(pair)
    grid = torch.cat(rows, dim=1).clamp(0, 1).mul(255).round().byte()
    return grid.permute(1, 2, 0).cpu().numpy()


def save_grid(path: Path, grid: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


class RichTrainingProgress:
    """One bar per epoch with the running losses and images/s."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}[/] {task.fields[phase]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"),
            TextColumn("{task.fields[speed]}"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = None
        self._t0 = 0.0

    def __enter__(self) -> RichTrainingProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def epoch_started(self, epoch: int, epochs: int, batches: int, phase: str) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(
            "train", total=batches, epoch=f"{epoch}/{epochs}", phase=phase, losses="", speed=""
        )
        self._t0 = time.perf_counter()

    def step(self, losses: dict[str, float], images_per_s: float) -> None:
        text = " ".join(f"{k}={v:.4f}" for k, v in losses.items())
        self.progress.update(self.task, advance=1, losses=text, speed=f"{images_per_s:.1f} img/s")

    def epoch_finished(self, record: dict) -> None:
        losses = " ".join(f"{k}={v:.4f}" for k, v in record.items() if k.startswith("loss/"))
        self.console.print(
            f"epoch {record['epoch']}: {losses} {record['images_per_s']:.1f} img/s ({record['seconds']:.0f} s)"
        )


class SilentProgress:
    """For tests and non-rank-0 processes."""

    def __enter__(self) -> SilentProgress:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def epoch_started(self, *args) -> None:
        pass

    def step(self, *args) -> None:
        pass

    def epoch_finished(self, *args) -> None:
        pass
