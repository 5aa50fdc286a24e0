"""The `artify` command: parses options, resolves `--model` once, calls one job, prints its report.

What each command does lives in `frontends/jobs.py` (and the trainer, engines); how reports look,
in `frontends/render.py`. Known errors become one line and an exit code here.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

if __name__ == "__main__" or Path(sys.argv[0]).name == "artify":
    # Until main() takes over, Ctrl-C just ends the program: no traceback from a half-done import.
    signal.signal(signal.SIGINT, signal.SIG_DFL)

import contextlib  # noqa: E402
import functools  # noqa: E402
import logging  # noqa: E402
from typing import Annotated, Optional  # noqa: E402

import typer  # noqa: E402
from rich.logging import RichHandler  # noqa: E402

from artify_stream import signals  # noqa: E402
from artify_stream.geometry import MIN_SIDE  # noqa: E402
from artify_stream.live.session import LiveOptions  # noqa: E402
from artify_stream.media_io import EncoderSettings  # noqa: E402
from artify_stream.registry import resolve_model  # noqa: E402
from artify_stream.segments.cut import DEFAULT_SEGMENT_SECONDS  # noqa: E402
from artify_stream.video import GPU_BATCH, VideoOptions  # noqa: E402
from engines.formats import FORMATS, BackendChoice, PrecisionChoice, RtxTargets  # noqa: E402
from frontends import render  # noqa: E402
from frontends.engine_for import EngineChoice  # noqa: E402
from frontends.jobs import training_job  # noqa: E402
from frontends.options import (  # noqa: E402
    app, command, Preset, DistillPreset, Baseline, ModelOpt, EngineOpt, PrecisionOpt,
    DeviceOpt, EngineCacheOpt, KeepColoursOpt, FacesOpt, FaceModelOpt, EngineFileOpt, JsonOpt, PhotosOpt,
    OutRunOpt, SetOpt, EvalClipOpt, EvalPhotosOpt, TrainPrecisionOpt, ResumeOpt, DryRunOpt)
from frontends.render import console, say  # noqa: E402
from frontends.webapp.config import AppConfig  # noqa: E402
from trainer.config import PRESETS  # noqa: E402
from trainer.distill_config import DISTILL_PRESETS  # noqa: E402


@command()
def train(
    photos: PhotosOpt,
    cartoons: Annotated[Path, typer.Option(help="Folder of cartoon images/clips, or one cartoon clip.")],
    out: OutRunOpt,
    preset: Annotated[Preset, typer.Option(help="Starting configuration; the options below override it.")] = Preset("recommended"),
    epochs: Annotated[Optional[int], typer.Option(min=1)] = None,
    init_epochs: Annotated[Optional[int], typer.Option(min=0, help="Initialization epochs (no adversarial loss) first.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(min=1)] = None,
    crop_size: Annotated[Optional[int], typer.Option(min=8)] = None,
    lr: Annotated[Optional[float], typer.Option()] = None,
    content_weight: Annotated[Optional[float], typer.Option(help="w in L = L_adv + w * L_content.")] = None,
    residual_blocks: Annotated[Optional[int], typer.Option(min=0)] = None,
    first_kernel: Annotated[Optional[int], typer.Option(min=1)] = None,
    base_width: Annotated[Optional[int], typer.Option(min=1)] = None,
    setting: SetOpt = None,
    eval_clip: EvalClipOpt = None,
    eval_photos: EvalPhotosOpt = None,
    vgg_weights: Annotated[Optional[Path], typer.Option(help="torchvision VGG-16 state dict (for --set backbone=vgg16).")] = None,
    content_weights: Annotated[Optional[Path], typer.Option(help="EfficientNet-Lite0 state dict (default: the one its package ships).")] = None,
    precision: TrainPrecisionOpt = None,
    device: DeviceOpt = "auto",
    seed: Annotated[Optional[int], typer.Option()] = None,
    workers: Annotated[Optional[int], typer.Option(min=0)] = None,
    resume: ResumeOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Train an ArtifyGAN generator on unpaired photos and cartoons.

    Every epoch is evaluated on held-back photos (and --eval-clip clips); the run's
    model.safetensors is the best epoch by those figures.
    """
    options = dict(epochs=epochs, init_epochs=init_epochs, batch_size=batch_size, crop_size=crop_size, lr=lr,
                   content_weight=content_weight, residual_blocks=residual_blocks, first_kernel=first_kernel,
                   base_width=base_width, precision=precision, seed=seed, workers=workers)

    def build_run(config, progress, command_line):
        from trainer.gan_step import Training

        weights = vgg_weights if config.backbone == "vgg16" else content_weights
        return Training(config, photos, cartoons, out, content_weights=weights, device=device, command=command_line,
                        progress=progress, eval_clips=eval_clip or [], eval_photos=eval_photos)

    training_job(PRESETS[preset.value], options, setting, dry_run, build_run, resume)


@command()
def distill(
    teacher: Annotated[str, typer.Argument(help="The teacher: a model file or a bundled model name.")],
    photos: PhotosOpt,
    out: OutRunOpt,
    clips: Annotated[Optional[Path], typer.Option(help="A clip or a folder of clips whose frames train too.")] = None,
    preset: Annotated[DistillPreset, typer.Option(help="Student architecture and schedule; options override it.")] = DistillPreset("lite"),
    epochs: Annotated[Optional[int], typer.Option(min=1)] = None,
    base_width: Annotated[Optional[int], typer.Option(min=1, help="Student width.")] = None,
    residual_blocks: Annotated[Optional[int], typer.Option(min=0, help="Student residual blocks.")] = None,
    setting: SetOpt = None,
    eval_clip: EvalClipOpt = None,
    eval_photos: EvalPhotosOpt = None,
    precision: TrainPrecisionOpt = None,
    device: DeviceOpt = "auto",
    resume: ResumeOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Distill a small, fast student (separable convs) from a teacher model, for real time on a CPU.

    Same run folder, checkpoints, resume, per-epoch evaluation and best-epoch pick as `train`.
    """
    options = dict(epochs=epochs, base_width=base_width, residual_blocks=residual_blocks, precision=precision)

    def build_run(config, progress, command_line):
        from trainer.distill import Distillation

        return Distillation(config, teacher, photos, out, clips=clips, device=device, command=command_line,
                            progress=progress, eval_clips=eval_clip or [], eval_photos=eval_photos)

    training_job(DISTILL_PRESETS[preset.value], options, setting, dry_run, build_run, resume)


@command()
def stylize(
    source: Annotated[Path, typer.Argument(help="An image, a video, or a folder of them.")],
    output: Annotated[Path, typer.Argument(help="Output file, or output folder (the tree is mirrored).")],
    model: ModelOpt = None,
    size: Annotated[Optional[int], typer.Option(min=MIN_SIDE, help="Bound the output's long side (downscale only).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace outputs that exist (only once the new one is complete).")] = False,
    side_by_side: Annotated[bool, typer.Option(help="Images: write input | output side by side.")] = False,
    engine: EngineOpt = BackendChoice.auto,
    precision: PrecisionOpt = PrecisionChoice.auto,
    device: DeviceOpt = "auto",
    engine_cache: EngineCacheOpt = None,
    engine_file: EngineFileOpt = None,
    keep_colours: KeepColoursOpt = False,
    faces: FacesOpt = False,
    faces_only: Annotated[bool, typer.Option("--faces-only", help="Write only the aligned cartoon faces, OUTPUT/NAME.face-K.png per face of each image (an avatar preview).")] = False,
    face_model: FaceModelOpt = None,
    batch: Annotated[Optional[int], typer.Option(min=1, help="Video frames per engine call (default: 1 on the CPU, 4 on a GPU).")] = VideoOptions.batch,
    codec: Annotated[str, typer.Option(help="Video encoder (libx264, libx265, libsvtav1, h264_nvenc...).")] = VideoOptions.codec,
    crf: Annotated[Optional[int], typer.Option(help="Constant quality for x264/x265/VP9/AV1.")] = VideoOptions.crf,
    bitrate: Annotated[Optional[int], typer.Option(help="Target bits/s (replaces --crf).")] = None,
    preset: Annotated[Optional[str], typer.Option(help="Encoder preset (x264/x265).")] = VideoOptions.preset,
    partial: Annotated[bool, typer.Option(help="On Ctrl-C keep the frames so far in NAME.partial.EXT, continued by the next run (--no-partial removes it).")] = True,
    json_summary: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of progress.")] = False,
    ray: Annotated[Optional[str], typer.Option("--ray", help="Run on a Ray cluster: auto, HOST:PORT, ray://HOST:10001, or local (a cluster in this process). Needs the cluster extra.")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="--ray: engine actors (default: one per GPU, else per CPU).")] = None,
    segment_seconds: Annotated[float, typer.Option(min=0, help="--ray: cut clips at keyframes into segments of about this long, one per task (0: each clip whole).")] = DEFAULT_SEGMENT_SECONDS,
) -> None:
    """Cartoonize an image or video, or every image and video in a folder.

    Outputs appear only when complete; an interrupted video is left as NAME.partial.EXT and the
    same command continues it.
    """
    from artify_stream.media_io import check_video_encoder
    from frontends.cluster.driver import ClusterOptions
    from frontends.jobs import FaceChoice, stylize_job

    options = VideoOptions(long_side=size, codec=codec, crf=crf, bitrate=bitrate, preset=preset, batch=batch,
                           overwrite=overwrite, keep_partial=partial)
    check_video_encoder(codec)
    cluster = ClusterOptions(address=ray, workers=workers, segment_seconds=segment_seconds) if ray is not None else None
    single = source.is_file()
    wrappers = FaceChoice(keep_colours, faces, faces_only, resolve_model(face_model) if face_model else None)
    report = stylize_job(source, output, resolve_model(model), EngineChoice(engine, precision, device, engine_cache, engine_file),
                         options, wrappers, side_by_side, cluster, say=(lambda line: None) if json_summary else say,
                         on_file=render.file_line(single, json_summary),
                         video_progress=None if json_summary else render.video_progress,
                         cluster_progress=lambda: render.cluster_progress(ray or "", json_summary))
    if faces_only:
        render.avatars_report(report, output, json_summary)
        return
    render.batch_report(report, source, output, single, json_summary)
    raise typer.Exit(report.exit_code)


@command(help=render.evaluate_help())
def evaluate(
    model: Annotated[str, typer.Argument(help="Model file path or bundled model name.")],
    photos: Annotated[Path, typer.Option(help="Folder of photos, a file listing them, or a run's split.json (its validation photos).")],
    clip: Annotated[Optional[list[Path]], typer.Option("--clip", help="A clip to measure flicker on (repeatable).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder for contact_sheet.png and evaluation.json.")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Use the first N photos.")] = None,
    size: Annotated[Optional[int], typer.Option(min=16, help="Bound the long side of photos and clip frames.")] = None,
    clip_frames: Annotated[int, typer.Option(min=2, help="Frames of each clip to measure.")] = 48,
    baseline: Annotated[Optional[list[Baseline]], typer.Option("--baseline", help="Also measure an OpenCV filter on the same data (repeatable).")] = None,
    judge: Annotated[Optional[Path], typer.Option(help="A judge file from `artify fit-judge` (default: the bundled one).")] = None,
    faces: Annotated[bool, typer.Option("--faces", help="Also measure the model in face mode (each photo on its own), as a column 'MODEL --faces'.")] = False,
    keep_colours: Annotated[bool, typer.Option("--keep-colours", help="Also measure the model with the photo's colours kept, as a column 'MODEL --keep-colours'.")] = False,
    face_model: FaceModelOpt = None,
    engine: EngineOpt = BackendChoice.auto,
    precision: PrecisionOpt = PrecisionChoice.auto,
    device: DeviceOpt = "auto",
    engine_cache: EngineCacheOpt = None,
    json_out: JsonOpt = False,
) -> None:
    from frontends.jobs import evaluate_job

    reports, data = evaluate_job(resolve_model(model), photos, EngineChoice(engine, precision, device, engine_cache), clip or [],
                                 out, limit, size, clip_frames, [b.value for b in baseline or []], judge, faces,
                                 keep_colours, say=(lambda line: None) if json_out else say,
                                 face_model=resolve_model(face_model) if face_model else None)
    if json_out:
        render.print_json({name: r.to_dict() for name, r in reports.items()})
        return
    render.evaluation_table(reports, data)
    if out:
        say(f"wrote {out / 'contact_sheet.png'} and {out / 'evaluation.json'}")


@command("fit-judge")
def fit_judge(
    photos: Annotated[Path, typer.Option(help="Folder of photos.")],
    cartoons: Annotated[Path, typer.Option(help="Folder of cartoons (file-name prefixes name their styles).")],
    out: Annotated[Path, typer.Option(help="The judge file to write (.safetensors).")],
    exclude: Annotated[Optional[Path], typer.Option(help="A run's split.json: its validation photos are never fitted on.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the validation as JSON.")] = False,
) -> None:
    """Fit the photo-vs-cartoon judge `artify evaluate` uses, validated leave-one-style-out."""
    from trainer.judge_fit import fit_judge as fit

    validation = fit(photos, cartoons, out, exclude=exclude, log=(lambda *a: None) if json_out else console.print)
    render.print_json(validation) if json_out else render.judge_validation(validation, out)


@command("pack-model")
def pack_model(
    source: Annotated[Path, typer.Argument(help="A run folder (its model.safetensors) or a model file.")],
    output: Annotated[Path, typer.Argument(help="Where to write the packed model file (.safetensors).")],
    half: Annotated[bool, typer.Option(help="Store weights as fp16 (half the size).")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace the output if it exists.")] = False,
) -> None:
    """Copy a trained generator into a standalone (by default fp16) model file for shipping."""
    from trainer.run_folder import pack_model as pack

    written = pack(source, output, half, overwrite)
    console.print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")


@command()
def live(
    source: Annotated[str, typer.Argument(help="Webcam index or /dev/videoN, rtsp/rtmp/http/udp URL, or a video file.")],
    to: Annotated[list[str], typer.Option("--to", help="Sink (repeatable): vcam[:DEVICE], preview, rtsp://, rtmp://, udp:// URL, or a file.")],
    model: ModelOpt = None,
    size: Annotated[Optional[int], typer.Option(min=MIN_SIDE, help="Bound the stylized long side.")] = LiveOptions.long_side,
    width: Annotated[Optional[int], typer.Option(help="Webcam: requested capture width.")] = None,
    height: Annotated[Optional[int], typer.Option(help="Webcam: requested capture height.")] = None,
    fps: Annotated[Optional[float], typer.Option(help="Webcam: requested frame rate.")] = None,
    pixel_format: Annotated[Optional[str], typer.Option(help="Webcam: FourCC such as MJPG or YUYV.")] = None,
    realtime: Annotated[bool, typer.Option(help="File source: play at the clip's own pace.")] = True,
    loop: Annotated[bool, typer.Option(help="File source: start again at the end.")] = False,
    transport: Annotated[str, typer.Option(help="RTSP source transport: tcp or udp.")] = "tcp",
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds without data before a network source counts as lost.")] = 5.0,
    duration: Annotated[Optional[float], typer.Option(min=0.0, help="Stop after this many seconds.")] = None,
    codec: Annotated[str, typer.Option(help="Encoder for stream and file sinks.")] = EncoderSettings.codec,
    bitrate: Annotated[Optional[int], typer.Option(help="Bits/s for stream and file sinks.")] = None,
    vcam_backend: Annotated[Optional[str], typer.Option(help="pyvirtualcam backend (v4l2loopback, obs, unitycapture).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a file sink that exists.")] = False,
    engine: EngineOpt = BackendChoice.auto,
    precision: PrecisionOpt = PrecisionChoice.auto,
    device: DeviceOpt = "auto",
    engine_cache: EngineCacheOpt = None,
    engine_file: EngineFileOpt = None,
    keep_colours: KeepColoursOpt = False,
    faces: FacesOpt = False,
    face_model: FaceModelOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the final statistics as JSON.")] = False,
) -> None:
    """Cartoonize a live source into a virtual camera, network streams, a preview and/or a file."""
    from artify_stream.live.sinks import make_sink
    from artify_stream.live.sources import open_source
    from frontends.jobs import FaceChoice, live_job

    options = LiveOptions(long_side=size, duration=duration)
    src = open_source(source, transport=transport, timeout=timeout, realtime=realtime, loop=loop, width=width,
                      height=height, fps=fps, pixel_format=pixel_format)
    sinks = [make_sink(t, codec, bitrate, vcam_backend, overwrite) for t in to]
    job = functools.partial(live_job, src, sinks, resolve_model(model), EngineChoice(engine, precision, device, engine_cache, engine_file),
                            options, FaceChoice(keep_colours, faces, face_model=resolve_model(face_model) if face_model else None))
    if json_out:
        render.print_json(job(say=say), indent=None)
        return
    from rich.live import Live

    with Live(console=console, refresh_per_second=2, transient=False) as display:
        stats = job(say=say, on_stats=lambda s: display.update(s.line()))
        display.update(render.live_line(stats))
    if "faces" in stats:
        say(render.live_faces_line(stats["faces"]))


@command()
def export(
    model: Annotated[str, typer.Argument(help="Model file path or bundled model name.")],
    engine: EngineOpt = BackendChoice.tensorrt,
    precision: PrecisionOpt = PrecisionChoice.auto,
    device: DeviceOpt = "auto",
    shape: Annotated[str, typer.Option(help="Frame size HxW (static) or MIN:OPT:MAX, e.g. 256x256:720x1280:1080x1920.")] = "720x1280",
    batch: Annotated[int, typer.Option(min=1, help="Largest batch the engine takes.")] = GPU_BATCH,
    engine_cache: EngineCacheOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", dir_okay=False, help="tensorrt-rtx: also write the engine, its build metadata inside, to this file to ship.")] = None,
    rtx_targets: Annotated[RtxTargets, typer.Option("--rtx-targets", help="tensorrt-rtx: GPUs to build for: portable (compute capability 8.0 and later RTX) or portable-turing (adds 7.5).")] = RtxTargets.portable,
) -> None:
    """Build an engine ahead of time into the engine cache and print where it went.

    tensorrt-rtx engines build on any machine, GPU or not, and run on GeForce/RTX GPUs.
    """
    from engines.cache import EngineCache
    from engines.export import export as build
    from engines.shapes import ShapeRange

    shapes = ShapeRange.parse(shape, max_batch=batch)
    with console.status(f"building {engine.value} for {shapes.label()}..."):
        path, line = build(resolve_model(model).load(), engine.value, precision.value, device, EngineCache(engine_cache), shapes,
                           rtx_targets, out)
    say(line)
    typer.echo(str(path))


@command()
def bench(
    model: ModelOpt = None,
    sizes: Annotated[str, typer.Option(help="Comma-separated sizes: 256, 480p, 720p, 1080p or HxW.")] = "256,480p,720p,1080p",
    engines: Annotated[str, typer.Option(help=f"all, or a comma-separated list of {', '.join(FORMATS)}.")] = "all",
    device: DeviceOpt = "auto",
    batch: Annotated[int, typer.Option(min=1, help="Frames per engine call.")] = 1,
    seconds: Annotated[float, typer.Option(min=0.0, help="Time spent per engine and size (after warm-up).")] = 2.0,
    engine_cache: EngineCacheOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list of records instead of a table.")] = False,
) -> None:
    """Time every engine and precision at each size on this machine (speed-up over eager fp32)."""
    from artify_stream.devices import resolve_device
    from engines.benchmark import benchmark, engine_names, records_as_dicts
    from engines.cache import EngineCache
    from engines.shapes import parse_size

    names, ref, dev = engine_names(engines), resolve_model(model), resolve_device(device)
    if not json_out:
        say(f"model {ref.path.name}, {dev}, batch {batch}; warming each engine up before timing")
    with console.status("benchmarking...") if not json_out else contextlib.nullcontext():
        records = benchmark(ref.load(), [parse_size(s) for s in sizes.split(",") if s.strip()], names, dev,
                            EngineCache(engine_cache), batch, seconds)
    render.print_json(records_as_dicts(records)) if json_out else render.bench_table(records, f"{ref.path.name} on {dev}")


@command()
def info(
    engine_cache: EngineCacheOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print everything as JSON (full codec lists).")] = False,
) -> None:
    """What this machine has: GPU, library versions, ONNX Runtime providers, FFmpeg codecs, engine cache."""
    from engines.cache import EngineCache
    from engines.machine import machine_report

    report = machine_report(EngineCache(engine_cache))
    render.print_json(report) if json_out else render.machine_table(report)


@command("app")
def web_app(
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 serves your network (no share link, ever).")] = AppConfig.host,
    port: Annotated[int, typer.Option(help="Port of the page.")] = AppConfig.port,
    models: Annotated[Optional[Path], typer.Option("--models", help="A folder of model files offered beside the bundled ones.")] = None,
    engine: EngineOpt = BackendChoice.auto,
    precision: PrecisionOpt = PrecisionChoice.auto,
    device: DeviceOpt = "auto",
    engine_cache: EngineCacheOpt = None,
) -> None:
    """A local web page for photos, clips, the webcam and a comparison of every model (needs the `app` extra)."""
    from frontends.webapp import run_app

    run_app(AppConfig(host=host, port=port, models_dir=models), EngineChoice(engine, precision, device, engine_cache), say)


@command()
def version() -> None:
    """Print the artify-stream version."""
    from importlib.metadata import version as pkg_version

    typer.echo(pkg_version("artify-stream"))


def main() -> None:
    """Entry point: Ctrl-C and SIGTERM become clean stops; errors are mapped by each command."""
    signals.install()
    try:
        logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console, show_path=False)])
        app()
    except (KeyboardInterrupt, Exception) as exc:  # outside a command (while Typer parses, say)
        stop = signals.stop_behind(exc)
        if stop is None:
            raise
        signals.handled()
        console.print("interrupted")
        sys.exit(signals.stop_exit_code(stop))
    except SystemExit as done:  # Typer ends every command this way
        signals.finished(done.code if isinstance(done.code, int) else (0 if done.code is None else 1))
        raise


if __name__ == "__main__":
    main()
