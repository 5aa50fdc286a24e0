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
from rich.markup import escape

from artify_stream.errors import ArtifyError, OutputError
from artify_stream.video import VideoOptions

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Cartoonize photos and video with ArtifyGAN.")
console = Console(stderr=True, soft_wrap=True)


EngineOpt = Annotated[str, typer.Option("--engine", help="auto (fastest here, says why), torch, compile, onnx or tensorrt.")]
PrecisionOpt = Annotated[str, typer.Option("--precision", help="auto, fp32, fp16 (CUDA) or bf16.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N (a GPU asked for and missing is an error).")]
EngineCacheOpt = Annotated[Optional[Path], typer.Option("--engine-cache", help="Engine cache folder (default: $ARTIFY_ENGINE_CACHE or the user cache).")]


def _make_engine(model: str | None, engine: str, precision: str, device: str, engine_cache: Path | None, quiet: bool = False):
    """Build the engine and say which one runs and why."""
    from engines import create_engine

    built = create_engine(model, backend=engine, precision=precision, device=device, cache_dir=engine_cache)
    if not quiet:
        console.print(f"engine: {built.spec.label()} ({escape(built.reason)})", highlight=False)
    return built


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
    engine: EngineOpt = "auto",
    precision: PrecisionOpt = "auto",
    device: DeviceOpt = "auto",
    engine_cache: EngineCacheOpt = None,
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
    if not source.exists():
        raise InputError(f"{source}: not found")
    options = VideoOptions(long_side=size, codec=codec, crf=crf, bitrate=bitrate, preset=preset, batch=batch,
                           overwrite=overwrite, keep_partial=partial)
    stylizer = _make_engine(model, engine, precision, device, engine_cache)

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
            console.print(f"[{style}]{result.status:7}[/] {escape(detail)}", highlight=False)
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
            console.print(f"[red]failed[/] {escape(failed.message)}", highlight=False)
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
def live(
    source: Annotated[str, typer.Argument(help="Webcam index or /dev/videoN, rtsp/rtmp/http/udp URL, or a video file.")],
    to: Annotated[list[str], typer.Option("--to", help="Sink (repeatable): vcam[:DEVICE], preview, rtsp://, rtmp://, udp:// URL, or a file.")],
    model: Annotated[Optional[str], typer.Option(help="Model file path or bundled model name.")] = None,
    size: Annotated[Optional[int], typer.Option(min=4, help="Bound the stylized long side (default from LiveOptions).")] = None,
    width: Annotated[Optional[int], typer.Option(help="Webcam: requested capture width.")] = None,
    height: Annotated[Optional[int], typer.Option(help="Webcam: requested capture height.")] = None,
    fps: Annotated[Optional[float], typer.Option(help="Webcam: requested frame rate.")] = None,
    pixel_format: Annotated[Optional[str], typer.Option(help="Webcam: FourCC such as MJPG or YUYV.")] = None,
    realtime: Annotated[bool, typer.Option(help="File source: play at the clip's own pace.")] = True,
    loop: Annotated[bool, typer.Option(help="File source: start again at the end.")] = False,
    transport: Annotated[str, typer.Option(help="RTSP source transport: tcp or udp.")] = "tcp",
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds without data before a network source counts as lost.")] = 5.0,
    duration: Annotated[Optional[float], typer.Option(min=0.0, help="Stop after this many seconds.")] = None,
    codec: Annotated[str, typer.Option(help="Encoder for stream and file sinks.")] = "libx264",
    bitrate: Annotated[Optional[int], typer.Option(help="Bits/s for stream and file sinks.")] = None,
    vcam_backend: Annotated[Optional[str], typer.Option(help="pyvirtualcam backend (v4l2loopback, obs, unitycapture).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a file sink that exists.")] = False,
    engine: EngineOpt = "auto",
    precision: PrecisionOpt = "auto",
    device: DeviceOpt = "auto",
    engine_cache: EngineCacheOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the final statistics as JSON.")] = False,
) -> None:
    """Cartoonize a live source into a virtual camera, network streams, a preview and/or a file."""
    import json

    from artify_stream.live import LiveOptions, run_live
    from artify_stream.live.sinks import make_sink
    from artify_stream.live.sources import open_source

    options = LiveOptions(duration=duration, **({"long_side": size} if size else {}))
    src = open_source(source, transport=transport, timeout=timeout, realtime=realtime, loop=loop, width=width,
                      height=height, fps=fps, pixel_format=pixel_format)
    sinks = [make_sink(t, codec, bitrate, vcam_backend, overwrite) for t in to]
    stylizer = _make_engine(model, engine, precision, device, engine_cache)
    if json_out:
        stats = run_live(src, sinks, stylizer, options)
        typer.echo(json.dumps(stats))
        return
    from rich.live import Live

    with Live(console=console, refresh_per_second=2, transient=False) as display:
        stats = run_live(src, sinks, stylizer, options, on_stats=lambda s: display.update(s.line()))
        display.update(_final_line(stats))


def _final_line(stats: dict) -> str:
    lat = stats["latency_ms"] or {"p50": 0, "p95": 0, "p99": 0}
    return (f"{stats['frames_out']} frames out of {stats['frames_in']} in {stats['seconds']:.0f} s; "
            f"latency p50 {lat['p50']:.0f} / p95 {lat['p95']:.0f} / p99 {lat['p99']:.0f} ms; "
            f"dropped {stats['dropped']}, repeated {stats['repeated']}, reconnects {stats['reconnects']}")


@app.command()
def export(
    model: Annotated[str, typer.Argument(help="Model file path or bundled model name.")],
    engine: EngineOpt = "tensorrt",
    precision: PrecisionOpt = "auto",
    device: DeviceOpt = "auto",
    shape: Annotated[str, typer.Option(help="Frame size HxW (static) or MIN:OPT:MAX, e.g. 256x256:720x1280:1080x1920.")] = "720x1280",
    batch: Annotated[int, typer.Option(min=1, help="Largest batch the engine takes.")] = VideoOptions.batch,
    engine_cache: EngineCacheOpt = None,
) -> None:
    """Build an engine ahead of time into the engine cache and print where it went."""
    from artify_stream.registry import load_model
    from engines.auto import MachineFacts, explicit_choice
    from engines.cache import EngineCache
    from engines.export import export_engine
    from engines.shapes import ShapeRange

    shapes = ShapeRange.parse(shape, max_batch=batch)
    spec = explicit_choice(engine, precision, device, MachineFacts.gather()).spec
    with console.status(f"building {spec.label()} for {shapes.label()}..."):
        path = export_engine(load_model(model), spec, EngineCache(engine_cache), shapes)
    console.print(f"built {spec.label()} for {shapes.label()}")
    typer.echo(str(path))


@app.command()
def bench(
    model: Annotated[Optional[str], typer.Option(help="Model file path or bundled model name.")] = None,
    sizes: Annotated[str, typer.Option(help="Comma-separated sizes: 256, 480p, 720p, 1080p or HxW.")] = "256,480p,720p,1080p",
    engines: Annotated[str, typer.Option(help="all, or a comma-separated list of torch, compile, onnx, tensorrt.")] = "all",
    device: DeviceOpt = "auto",
    batch: Annotated[int, typer.Option(min=1, help="Frames per engine call.")] = 1,
    seconds: Annotated[float, typer.Option(min=0.0, help="Time spent per engine and size (after warm-up).")] = 2.0,
    engine_cache: EngineCacheOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list of records instead of a table.")] = False,
) -> None:
    """Time every engine and precision at each size on this machine (speed-up over eager fp32)."""
    import json

    from artify_stream.registry import load_model
    from engines.auto import MachineFacts, resolve_device
    from engines.base import BACKENDS
    from engines.benchmark import records_as_dicts, run_benchmark
    from engines.cache import EngineCache
    from engines.shapes import parse_size

    size_list = [parse_size(s) for s in sizes.split(",") if s.strip()]
    names = list(BACKENDS) if engines.strip() == "all" else [e.strip() for e in engines.split(",") if e.strip()]
    dev = resolve_device(device, MachineFacts.gather())
    model_file = load_model(model)
    if not json_out:
        console.print(f"model {model_file.path.name}, {dev}, batch {batch}; warming each engine up before timing")
    with console.status("benchmarking...") if not json_out else contextlib.nullcontext():
        records = run_benchmark(model_file, size_list, names, dev, EngineCache(engine_cache), batch=batch, seconds=seconds)
    if json_out:
        typer.echo(json.dumps(records_as_dicts(records), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{model_file.path.name} on {dev}")
    for column, justify in (("engine", "left"), ("precision", "left"), ("size", "left"), ("ms/frame", "right"),
                            ("frames/s", "right"), ("vs eager fp32", "right")):
        table.add_column(column, justify=justify)
    for r in records:
        if r.error:
            table.add_row(r.engine, r.precision, r.size, "[red]failed[/]", "", r.error[:60])
        else:
            speedup = f"{r.speedup_vs_eager_fp32:.2f}x" if r.speedup_vs_eager_fp32 else "-"
            table.add_row(r.engine, r.precision, r.size, f"{r.ms_per_frame:.1f}", f"{r.fps:.2f}", speedup)
    Console(soft_wrap=True).print(table)


@app.command()
def info(
    engine_cache: EngineCacheOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print everything as JSON (full codec lists).")] = False,
) -> None:
    """What this machine has: GPU, library versions, ONNX Runtime providers, FFmpeg codecs, engine cache."""
    import json

    from artify_stream.media_info import media_report
    from engines.cache import EngineCache
    from engines.machine import engine_report

    report = {**engine_report(EngineCache(engine_cache)), **media_report()}
    if json_out:
        typer.echo(json.dumps(report, indent=2))
        return
    out = Console(soft_wrap=True)
    gpus = ", ".join(f"{g['name']} {g['memory_gib']} GiB" for g in report["cuda_gpus"]) or "none usable"
    rows = [
        ("CPU", f"{report['cpu']} ({report['cpu_threads']} threads, native bf16: {'yes' if report['cpu_bf16'] else 'no'})"),
        ("CUDA GPUs", gpus),
        ("torch", f"{report['torch']} (CUDA {report['torch_cuda'] or 'none'}), torchvision {report['torchvision']}"),
        ("torch-tensorrt", report["torch_tensorrt"] or "not installed"),
        ("TensorRT usable", "yes" if report["tensorrt_usable"] else f"no: {report['tensorrt_problem']}"),
        ("ONNX Runtime", f"{report['onnxruntime'] or 'not installed'}; providers: {', '.join(report['onnxruntime_providers'] or []) or '-'}"),
        ("PyAV / FFmpeg", f"{report['pyav']} / {report['ffmpeg']}; OpenCV {report['opencv']}"),
        ("video encoders", ", ".join(report["video_encoders"])),
        ("video decoders", f"{len(report['video_decoders'])} (artify info --json lists them)"),
        ("audio encoders", f"{len(report['audio_encoders'])}; decoders {len(report['audio_decoders'])}"),
    ]
    cache = report["engine_cache"]
    rows.append(("engine cache", f"{cache['path']}: {cache['entries']} entries, {cache['bytes'] / 1e6:.1f} MB"))
    for item in cache["items"]:
        rows.append(("", f"{item['backend']} {item['precision']} {item['shapes']} ({item['bytes'] / 1e6:.1f} MB)"))
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in row))
    out.print(table)


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
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
