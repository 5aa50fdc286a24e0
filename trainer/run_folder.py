"""A run folder: where a training or distillation run keeps what it writes, and the check before any work."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from artify_stream.errors import OutputError


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

    @property
    def toon_cache(self) -> Path:
        return self.root / "cache" / "toon"

    @property
    def split(self) -> Path:
        return self.root / "split.json"


def check_run_folder(root: Path) -> None:
    """Before any work: the run folder must be a folder we can write."""
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: is a file; --out names the run folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{root}: cannot create the run folder ({exc.strerror or exc})") from exc
    if not os.access(root, os.W_OK):
        raise OutputError(f"{root}: the run folder is not writable")
