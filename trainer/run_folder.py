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


def pack_model(source: Path, output: Path, half: bool = True, overwrite: bool = False) -> Path:
    """`artify pack-model`: a run folder's model (or a model file) as a standalone file to ship."""
    from artify_stream.model_file import MODEL_SUFFIX, load_model_file, save_model_file
    from artify_stream.outputs import check_output

    source, output = Path(source), Path(output)
    model_path = source / "model.safetensors" if source.is_dir() else source
    if output.suffix != MODEL_SUFFIX:
        raise OutputError(f"{output}: a model file's name ends in {MODEL_SUFFIX}")
    check_output(output, overwrite, inputs=[model_path], min_free=0)
    model = load_model_file(model_path)
    return save_model_file(output, model.build_generator(), model.metadata, half=half)
