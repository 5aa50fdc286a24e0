"""The `artify` command: parses options, shows Rich progress, maps errors to one line + exit code."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler

from artify_stream.errors import ArtifyError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Cartoonize photos and video with ArtifyGAN.")
console = Console(stderr=True)


class Preset(str, Enum):
    recommended = "recommended"
    paper_round1 = "paper-round1"
    paper_round2 = "paper-round2"
    paper_round3 = "paper-round3"
    small_cpu = "small-cpu"


class Backbone(str, Enum):
    efficientnet_lite0 = "efficientnet-lite0"
    vgg16 = "vgg16"


@app.command()
def train(
    photos: Annotated[Path, typer.Option(help="Folder of photos (searched recursively).")],
    cartoons: Annotated[Path, typer.Option(help="Folder of cartoon images/clips, or one cartoon clip.")],
    out: Annotated[Path, typer.Option(help="Run folder: checkpoints, logs, samples, model files.")],
    preset: Annotated[Preset, typer.Option(help="Starting configuration; options below override it.")] = Preset.recommended,
    epochs: Annotated[Optional[int], typer.Option(min=1)] = None,
    init_epochs: Annotated[Optional[int], typer.Option(min=0, help="Content-only epochs first.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(min=1)] = None,
    crop_size: Annotated[Optional[int], typer.Option(min=8)] = None,
    lr: Annotated[Optional[float], typer.Option()] = None,
    content_weight: Annotated[Optional[float], typer.Option(help="w in L = L_adv + w * L_content.")] = None,
    residual_blocks: Annotated[Optional[int], typer.Option(min=0)] = None,
    first_kernel: Annotated[Optional[int], typer.Option(min=1)] = None,
    base_width: Annotated[Optional[int], typer.Option(min=1)] = None,
    backbone: Annotated[Optional[Backbone], typer.Option(help="Content-loss features.")] = None,
    vgg_weights: Annotated[Optional[Path], typer.Option(help="torchvision VGG-16 state dict (for --backbone vgg16).")] = None,
    content_weights: Annotated[Optional[Path], typer.Option(help="EfficientNet-Lite0 state dict (default: the one its package ships).")] = None,
    precision: Annotated[Optional[str], typer.Option(help="auto, fp32, bf16 or fp16.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    seed: Annotated[Optional[int], typer.Option()] = None,
    workers: Annotated[Optional[int], typer.Option(min=0)] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out from its last checkpoint.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the resolved config and exit.")] = False,
) -> None:
    """Train an ArtifyGAN generator on unpaired photos and cartoons."""
    from trainer.config import preset as get_preset
    from trainer.loop import Training
    from trainer.monitor import RichTrainingProgress

    config = get_preset(preset.value).with_overrides(
        epochs=epochs, init_epochs=init_epochs, batch_size=batch_size, crop_size=crop_size, lr=lr,
        init_lr=lr, content_weight=content_weight, residual_blocks=residual_blocks, first_kernel=first_kernel,
        base_width=base_width, backbone=backbone.value if backbone else None, precision=precision, seed=seed,
        workers=workers,
    )
    if dry_run:
        import json

        typer.echo(json.dumps(config.to_dict(), indent=2))
        return
    weights = vgg_weights if config.backbone == "vgg16" else content_weights
    command = "artify " + shlex.join(sys.argv[1:])
    training = Training(config, photos, cartoons, out, content_weights=weights, device=device, command=command,
                        progress=RichTrainingProgress(console))
    records = training.run(resume=resume)
    if training.dist.is_main and records:
        console.print(f"model file: {training.paths.model}")


@app.command()
def version() -> None:
    """Print the artify-stream version."""
    from importlib.metadata import version as pkg_version

    typer.echo(pkg_version("artify-stream"))


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console, show_path=False)])


def main() -> None:
    """Entry point: known errors become one line and exit 1; ARTIFY_DEBUG=1 shows tracebacks."""
    _setup_logging()
    try:
        app()
    except ArtifyError as exc:
        if os.environ.get("ARTIFY_DEBUG"):
            raise
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
