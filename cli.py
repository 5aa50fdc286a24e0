"""The `artify` command: parses options, shows Rich progress, maps errors to one line + exit code."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler

from artify_stream.errors import ArtifyError, OutputError
from artify_stream.video import VideoOptions

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Cartoonize photos and video with ArtifyGAN.")
console = Console(stderr=True, soft_wrap=True)


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
def stylize(
    source: Annotated[Path, typer.Argument(help="An image, a video, or a folder of them.")],
    output: Annotated[Path, typer.Argument(help="Output file, or output folder (the tree is mirrored).")],
    model: Annotated[Optional[str], typer.Option(help="Model file path or bundled model name.")] = None,
    size: Annotated[Optional[int], typer.Option(min=4, help="Bound the output's long side (downscale only).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace outputs that exist.")] = False,
    side_by_side: Annotated[bool, typer.Option(help="Images: write input | output side by side.")] = False,
    engine: Annotated[str, typer.Option(help="Inference engine.")] = "torch",
    precision: Annotated[str, typer.Option(help="fp32, fp16 (CUDA) or bf16.")] = "fp32",
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    batch: Annotated[int, typer.Option(min=1, help="Video frames per engine call.")] = VideoOptions.batch,
    codec: Annotated[str, typer.Option(help="Video encoder (libx264, libx265, libsvtav1, h264_nvenc...).")] = VideoOptions.codec,
    crf: Annotated[Optional[int], typer.Option(help="Constant quality for x264/x265/VP9/AV1.")] = VideoOptions.crf,
    bitrate: Annotated[Optional[int], typer.Option(help="Target bits/s (replaces --crf).")] = None,
    preset: Annotated[Optional[str], typer.Option(help="Encoder preset (x264/x265).")] = VideoOptions.preset,
    partial: Annotated[bool, typer.Option(help="On Ctrl-C keep the frames written so far as a playable file (--no-partial removes it).")] = True,
    json_summary: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of progress.")] = False,
) -> None:
    """Cartoonize an image or video, or every image and video in a folder."""
    import json

    from artify_stream.errors import InputError
    from artify_stream.images import is_image_path
    from artify_stream.still_images import FileResult, mirrored_outputs, stylize_image_file
    from artify_stream.video import VideoPipeline, is_video_path
    from engines import create_engine

    if not source.exists():
        raise InputError(f"{source}: not found")
    options = VideoOptions(long_side=size, codec=codec, crf=crf, bitrate=bitrate, preset=preset, batch=batch,
                           overwrite=overwrite, keep_partial=partial)
    stylizer = create_engine(model, backend=engine, precision=precision, device=device)

    def one(src: Path, dst: Path) -> tuple[FileResult, dict | None]:
        if is_video_path(src):
            if dst.exists() and not overwrite:
                return FileResult(src, dst, "skipped", "output exists (use --overwrite)"), None
            with _video_progress(src, json_summary) as on_progress:
                report = VideoPipeline(stylizer, options, on_progress).run(src, dst)
            status = "interrupted" if report.interrupted else "done"
            return FileResult(src, dst, status), report.to_dict()
        return stylize_image_file(stylizer, src, dst, size, overwrite, side_by_side), None

    if source.is_file():
        result, summary = one(source, output)
        if result.status == "skipped":
            raise OutputError(f"{output}: exists (pass --overwrite to replace it)")
        if json_summary:
            typer.echo(json.dumps(summary or {"source": str(source), "output": str(output)}))
        else:
            console.print(f"wrote {output}")
        if result.status == "interrupted":
            raise typer.Exit(130)
        return

    accept = lambda p: is_image_path(p) or is_video_path(p)  # noqa: E731
    pairs = mirrored_outputs(source, output, accept)
    if not pairs:
        raise InputError(f"{source}: no image or video files found")
    results, summaries = [], []
    for src, dst in pairs:
        try:
            result, summary = one(src, dst)
        except ArtifyError as exc:
            result, summary = FileResult(src, dst, "failed", str(exc)), None
        results.append(result)
        if summary:
            summaries.append(summary)
        if not json_summary:
            style = {"done": "green", "skipped": "yellow", "failed": "red", "interrupted": "red"}[result.status]
            detail = result.message if result.status == "failed" else str(result.source)
            console.print(f"[{style}]{result.status:7}[/] {detail}", highlight=False)
        if result.status == "interrupted":
            break
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    if json_summary:
        typer.echo(json.dumps({"files": [r.__dict__ | {"source": str(r.source), "output": str(r.output)} for r in results],
                               "videos": summaries, **counts}))
    else:
        from rich.table import Table

        table = Table(title=f"{source} -> {output}")
        for column in counts:
            table.add_column(column, justify="right")
        table.add_row(*(str(v) for v in counts.values()))
        for failed in (r for r in results if r.status == "failed"):
            console.print(f"[red]failed[/] {failed.message}", highlight=False)
        console.print(table)
    if any(r.status == "interrupted" for r in results):
        raise typer.Exit(130)
    if counts["failed"]:
        raise typer.Exit(1)


@contextlib.contextmanager
def _video_progress(source: Path, quiet: bool):
    """A Rich bar per file with frames, fps and ETA; nothing when --json is on."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[fps]} fps"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(source.name, total=None, fps="-")
        start = time.perf_counter()

        def update(done: int, total: int | None) -> None:
            rate = done / max(time.perf_counter() - start, 1e-9)
            progress.update(task, completed=done, total=total, fps=f"{rate:5.1f}")

        yield update


@app.command("pack-model")
def pack_model(
    source: Annotated[Path, typer.Argument(help="A run folder (its model.safetensors) or a model file.")],
    output: Annotated[Path, typer.Argument(help="Where to write the packed model file.")],
    half: Annotated[bool, typer.Option(help="Store weights as fp16 (half the size).")] = True,
) -> None:
    """Copy a trained generator into a standalone (by default fp16) model file for shipping."""
    from artify_stream.model_file import load_model_file, save_model_file

    model = load_model_file(source / "model.safetensors" if source.is_dir() else source)
    save_model_file(output, model.build_generator(), model.metadata, half=half)
    console.print(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB)")


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
