"""The `artify` command: parses options, shows Rich progress, maps errors to one line + exit code."""

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
import os  # noqa: E402
import shlex  # noqa: E402
import time  # noqa: E402
from enum import Enum  # noqa: E402
from typing import Annotated, Optional  # noqa: E402

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.logging import RichHandler  # noqa: E402
from rich.markup import escape  # noqa: E402

from artify_stream import signals  # noqa: E402
from artify_stream.segments.cut import DEFAULT_SEGMENT_SECONDS  # noqa: E402
from artify_stream.errors import ArtifyError  # noqa: E402
from artify_stream.video import GPU_BATCH, VideoOptions  # noqa: E402
from engines.formats import FORMATS, BackendChoice, PrecisionChoice, RtxTargets  # noqa: E402
from trainer.config import PRESETS  # noqa: E402
from trainer.distill_config import DISTILL_PRESETS  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Cartoonize photos and video with ArtifyGAN.")
console = Console(stderr=True, soft_wrap=True)
DEBUG_ENV = "ARTIFY_DEBUG"


def command(*args, **kwargs):
    """`app.command`, with the error mapping every command shares: a known error is one line and
    its exit code (the traceback only with ARTIFY_DEBUG=1); Ctrl-C is 130, SIGTERM 143."""

    def register(fn):
        @functools.wraps(fn)
        def run(*a, **kw):
            try:
                return fn(*a, **kw)
            except ArtifyError as exc:
                if os.environ.get(DEBUG_ENV):
                    raise
                console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt as exc:
                console.print("interrupted")
                raise typer.Exit(signals.stop_exit_code(exc)) from None

        return app.command(*args, **kwargs)(run)

    return register


EngineOpt = Annotated[BackendChoice, typer.Option("--engine", help="auto (fastest here, says why), or one of: " + "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values()) + ".")]
PrecisionOpt = Annotated[PrecisionChoice, typer.Option("--precision", help="auto (the engine's best here) or a precision the engine runs on this device.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N (a GPU asked for and missing is an error).")]
EngineCacheOpt = Annotated[Optional[Path], typer.Option("--engine-cache", help="Engine cache folder (default: $ARTIFY_ENGINE_CACHE or the user cache).")]
KeepColoursOpt = Annotated[bool, typer.Option("--keep-colours", help="The model draws, the photo colours: the output's luma with the photo's flattened chroma (keeps skin tones, red birds, blue skies).")]
FacesOpt = Annotated[bool, typer.Option("--faces", help="Face mode: detect every face (dlib), stylize it as an aligned 256 px crop and put it back with a feathered mask; tracked and smoothed in video (needs the faces extra).")]
FaceModelOpt = Annotated[Optional[str], typer.Option("--face-model", help="Face mode: the model for the face crops (default: --model).")]
EngineFileOpt = Annotated[Optional[Path], typer.Option("--engine-file", exists=True, dir_okay=False, help="A TensorRT-RTX engine file written by `artify export --out` (checked against --model first).")]


def _keep_colours(stylizer, quiet: bool = False):
    from artify_stream.colour_transfer import KeepColours

    if not quiet:
        console.print("colours kept from the photo (--keep-colours): the model's light and dark, the photo's chroma",
                      highlight=False)
    return KeepColours(stylizer)


def _face_mode(stylizer, face_model: str | None, engine: BackendChoice, precision: PrecisionChoice, device: str,
               engine_cache: Path | None, quiet: bool = False):
    """The stylizer wrapped in face mode (its face crops through --face-model, else the same engine)."""
    from artify_stream.face_mode import FaceStylizer
    from artify_stream.face_mode.detect import MIN_FACE_PX

    face_engine = _make_engine(face_model, engine, precision, device, engine_cache, quiet=True) if face_model else None
    wrapped = FaceStylizer(stylizer, face_engine)
    if not quiet:
        console.print(f"face mode: faces aligned at {wrapped.options.crop_size} px, detected every "
                      f"{wrapped.options.detect_every} frames (faces from about {MIN_FACE_PX} px wide), up to "
                      f"{wrapped.options.max_faces} a frame",
                      highlight=False)
    return wrapped


def _make_engine(model: str | None, engine: BackendChoice, precision: PrecisionChoice, device: str,
                 engine_cache: Path | None, quiet: bool = False, engine_file: Path | None = None):
    """Build the engine and say which one runs and why."""
    from engines import create_engine, engine_line

    built = create_engine(model, backend=engine.value, precision=precision.value, device=device, cache_dir=engine_cache,
                          engine_file=engine_file)
    if not quiet:
        console.print(escape(engine_line(built)), highlight=False)
    return built


Preset = Enum("Preset", {name: name for name in PRESETS}, type=str)  # the CLI's choices are the table's keys


def _run_training(preset_config, options: dict, settings: list[str] | None, dry_run: bool, build_run, resume: bool) -> None:
    """What `train` and `distill` share: the config from the preset, the options and --set; --dry-run;
    the run; the line naming the model file and the epoch it holds."""
    config = preset_config.resolved(options, settings or [])
    if dry_run:
        import json

        typer.echo(json.dumps(config.to_dict(), indent=2))
        return
    from trainer.monitor import RichTrainingProgress

    from trainer.distributed import leave

    run = build_run(config, RichTrainingProgress(console), "artify " + shlex.join(sys.argv[1:]))
    if run.run(resume=resume) and run.dist.is_main:
        console.print(f"model file: {run.paths.model} (epoch {run.shipped_epoch()})")
    leave(run.dist)  # a torchrun worker ends here, before the interpreter's teardown


@command()
def train(
    photos: Annotated[Path, typer.Option(help="Folder of photos (searched recursively); 32 are held back for validation.")],
    cartoons: Annotated[Path, typer.Option(help="Folder of cartoon images/clips, or one cartoon clip.")],
    out: Annotated[Path, typer.Option(help="Run folder: checkpoints, logs, samples, model files.")],
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
    setting: Annotated[Optional[list[str]], typer.Option("--set", help="Any other config field, KEY=VALUE (repeatable), e.g. --set tv_weight=0.5; --dry-run lists them all.")] = None,
    eval_clip: Annotated[Optional[list[Path]], typer.Option("--eval-clip", help="A clip to measure flicker on every epoch (repeatable).")] = None,
    vgg_weights: Annotated[Optional[Path], typer.Option(help="torchvision VGG-16 state dict (for --set backbone=vgg16).")] = None,
    content_weights: Annotated[Optional[Path], typer.Option(help="EfficientNet-Lite0 state dict (default: the one its package ships).")] = None,
    precision: Annotated[Optional[str], typer.Option(help="auto, fp32, bf16 or fp16.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    seed: Annotated[Optional[int], typer.Option()] = None,
    workers: Annotated[Optional[int], typer.Option(min=0)] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out from its last checkpoint.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the resolved config and exit.")] = False,
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
                        progress=progress, eval_clips=eval_clip or [])

    _run_training(PRESETS[preset.value], options, setting, dry_run, build_run, resume)


DistillPreset = Enum("DistillPreset", {name: name for name in DISTILL_PRESETS}, type=str)


@command()
def distill(
    teacher: Annotated[str, typer.Argument(help="The teacher: a model file or a bundled model name.")],
    photos: Annotated[Path, typer.Option(help="Folder of photos (searched recursively); 32 are held back for validation.")],
    out: Annotated[Path, typer.Option(help="Run folder: checkpoints, logs, samples, model files.")],
    clips: Annotated[Optional[Path], typer.Option(help="A clip or a folder of clips whose frames train too.")] = None,
    preset: Annotated[DistillPreset, typer.Option(help="Student architecture and schedule; options override it.")] = DistillPreset("lite"),
    epochs: Annotated[Optional[int], typer.Option(min=1)] = None,
    base_width: Annotated[Optional[int], typer.Option(min=1, help="Student width.")] = None,
    residual_blocks: Annotated[Optional[int], typer.Option(min=0, help="Student residual blocks.")] = None,
    setting: Annotated[Optional[list[str]], typer.Option("--set", help="Any other config field, KEY=VALUE (repeatable); --dry-run lists them.")] = None,
    eval_clip: Annotated[Optional[list[Path]], typer.Option("--eval-clip", help="A clip to measure flicker on every epoch (repeatable).")] = None,
    precision: Annotated[Optional[str], typer.Option(help="auto, fp32, bf16 or fp16.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    resume: Annotated[bool, typer.Option(help="Continue the run in --out from its last checkpoint.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the resolved config and exit.")] = False,
) -> None:
    """Distill a small, fast student (separable convs) from a teacher model, for real time on a CPU.

    Same run folder, checkpoints, resume, per-epoch evaluation and best-epoch pick as `train`.
    """
    options = dict(epochs=epochs, base_width=base_width, residual_blocks=residual_blocks, precision=precision)

    def build_run(config, progress, command_line):
        from trainer.distill import Distillation

        return Distillation(config, teacher, photos, out, clips=clips, device=device, command=command_line,
                            progress=progress, eval_clips=eval_clip or [])

    _run_training(DISTILL_PRESETS[preset.value], options, setting, dry_run, build_run, resume)


@command()
def stylize(
    source: Annotated[Path, typer.Argument(help="An image, a video, or a folder of them.")],
    output: Annotated[Path, typer.Argument(help="Output file, or output folder (the tree is mirrored).")],
    model: Annotated[Optional[str], typer.Option(help="Model file path or bundled model name.")] = None,
    size: Annotated[Optional[int], typer.Option(min=4, help="Bound the output's long side (downscale only).")] = None,
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
    batch: Annotated[Optional[int], typer.Option(min=1, help="Video frames per engine call (default: 1 on the CPU, "
                                                 "4 on a GPU).")] = VideoOptions.batch,
    codec: Annotated[str, typer.Option(help="Video encoder (libx264, libx265, libsvtav1, h264_nvenc...).")] = VideoOptions.codec,
    crf: Annotated[Optional[int], typer.Option(help="Constant quality for x264/x265/VP9/AV1.")] = VideoOptions.crf,
    bitrate: Annotated[Optional[int], typer.Option(help="Target bits/s (replaces --crf).")] = None,
    preset: Annotated[Optional[str], typer.Option(help="Encoder preset (x264/x265).")] = VideoOptions.preset,
    partial: Annotated[bool, typer.Option(help="On Ctrl-C keep the frames so far in NAME.partial.EXT, continued by the next run (--no-partial removes it).")] = True,
    json_summary: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of progress.")] = False,
    ray: Annotated[Optional[str], typer.Option("--ray", help="Run on a Ray cluster: auto, HOST:PORT, ray://HOST:10001, "
                                               "or local (a cluster in this process). Needs the cluster extra.")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="--ray: engine actors (default: one per GPU, else per CPU).")] = None,
    segment_seconds: Annotated[float, typer.Option(min=0, help="--ray: cut clips at keyframes into segments of about "
                                                   "this long, one per task (0: each clip whole).")] = DEFAULT_SEGMENT_SECONDS,
) -> None:
    """Cartoonize an image or video, or every image and video in a folder.

    Outputs appear only when complete; an interrupted video is left as NAME.partial.EXT and the
    same command continues it.
    """
    import json

    from artify_stream.batch import BatchStylizer
    from artify_stream.media_io import check_video_encoder

    options = VideoOptions(long_side=size, codec=codec, crf=crf, bitrate=bitrate, preset=preset, batch=batch,
                           overwrite=overwrite, keep_partial=partial)
    check_video_encoder(codec)
    single = source.is_file()
    if ray is not None and (faces or faces_only or keep_colours):
        raise typer.BadParameter("--faces, --faces-only and --keep-colours run in this process, not with --ray")
    if ray is not None:
        from frontends.cluster.driver import ClusterOptions

        cluster = ClusterOptions(address=ray, workers=workers, segment_seconds=segment_seconds)
        _stylize_on_ray(source, output, model, options, cluster, side_by_side, json_summary,
                        dict(backend=engine.value, precision=precision.value, cache_dir=engine_cache))
        return
    stylizer = _make_engine(model, engine, precision, device, engine_cache, quiet=json_summary, engine_file=engine_file)
    if keep_colours:
        stylizer = _keep_colours(stylizer, quiet=json_summary)
    if faces or faces_only:
        stylizer = _face_mode(stylizer, face_model, engine, precision, device, engine_cache, quiet=json_summary)
    if faces_only:
        from artify_stream.face_mode.avatars import write_face_crops

        avatars = write_face_crops(source, output, stylizer, overwrite, size)  # resets its tracker per image
        if json_summary:
            typer.echo(json.dumps(avatars.to_dict()))
        else:
            console.print(f"{avatars.faces} faces from {avatars.images} images -> {output}"
                          + (f"; no face found in {len(avatars.without_faces)}" if avatars.without_faces else ""))
        return
    runner = BatchStylizer(stylizer, options, side_by_side=side_by_side,
                           video_progress=None if json_summary else _video_progress)
    report = runner.run(source, output, on_file=_file_line(single, json_summary))
    if faces and json_summary:
        summary = report.results[0].video or report.to_dict() if single else report.to_dict()
        typer.echo(json.dumps({**summary, "faces": stylizer.summary()}))
        _batch_exit(report)
        return
    if faces and not json_summary:
        f = stylizer.summary()
        console.print(f"face mode: {f['faces_stylized']} faces stylized in {f['frames']} frames "
                      f"({f['identities']} identities, {f['detector_runs']} detector runs)", highlight=False)
    if json_summary:
        typer.echo(json.dumps(report.results[0].video or report.to_dict() if single else report.to_dict()))
    elif not single:
        _print_counts(report, f"{source} -> {output}")
    _batch_exit(report)


def _file_line(single: bool, quiet: bool):
    """What is printed as each file ends: its message (one file) or its status and name (a folder)."""
    def show(result) -> None:
        if quiet:
            return
        if single:
            style = "red" if result.status in ("failed", "interrupted", "incomplete") else "green"
            console.print(f"[{style}]{escape(result.message)}[/]", highlight=False)
            return
        style = {"done": "green", "skipped": "yellow"}.get(result.status, "red")
        detail = result.message if result.status != "done" else str(result.source)
        console.print(f"[{style}]{result.status:11}[/] {escape(detail)}", highlight=False)
    return show


def _print_counts(report, title: str) -> None:
    from rich.table import Table

    counts = report.counts()
    table = Table(title=title)
    for column in counts:
        table.add_column(column, justify="right")
    table.add_row(*(str(v) for v in counts.values()))
    for failed in (r for r in report.results if r.status == "failed"):
        console.print(f"[red]failed[/] {escape(failed.message)}", highlight=False)
    console.print(table)


def _batch_exit(report) -> None:
    if report.interrupted:
        raise typer.Exit(signals.stop_exit_code())
    if not report.ok:
        raise typer.Exit(1)


def _stylize_on_ray(source: Path, output: Path, model, options, cluster, side_by_side: bool, json_summary: bool,
                    engine_options: dict) -> None:
    """The same batch on a Ray cluster: one bar for the frames done anywhere, a line per node at the end."""
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from frontends.cluster.driver import RayBatch

    batch = RayBatch(model, engine_options, options, cluster, side_by_side=side_by_side)
    show = _file_line(single=False, quiet=json_summary)
    columns = (TextColumn(f"cluster {escape(cluster.address)}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("frames"), TaskProgressColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=json_summary) as progress:
        task = progress.add_task("frames", total=None)
        report = batch.run(source, output, on_file=show, on_frames=lambda n, _node: progress.update(task, advance=n),
                           on_start=lambda total: progress.update(task, total=total or None))
    if json_summary:
        typer.echo(json.dumps(report.to_dict()))
    else:
        if report.engine:
            console.print(f"{report.workers} workers: {escape(report.engine)}", highlight=False)
        if report.nodes:
            table = Table(title="nodes")
            for column in ("node", "frames", "segments", "images", "busy s", "fps", "retries"):
                table.add_column(column, justify="right")
            for node, figures in report.nodes.items():
                table.add_row(node, *(str(v) for v in figures.to_dict().values()))
            console.print(table)
        _print_counts(report, f"{source} -> {output} in {report.seconds:.1f} s")
    _batch_exit(report)


@contextlib.contextmanager
def _video_progress(source: Path):
    """A Rich bar per clip with frames, fps and ETA."""
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


def _evaluate_help() -> str:
    from artify_stream.evaluation.faces import CASCADE, MATCH_IOU
    from artify_stream.evaluation.judge import JUDGE_SIZE
    from artify_stream.evaluation.measures import CANNY_HIGH, CANNY_LOW, EDGE_TOLERANCE_PX, FLAT_GRADIENT
    from artify_stream.evaluation.targets import CartoonTargets

    return f"""Measure how much of a cartoon a model makes, on photos and clips, beside the input.

Each figure is the mean over the photos, for the input and the output:

- P(cartoon): a photo-vs-cartoon logistic regression on frozen EfficientNet-Lite0 features
  (pooled head, {JUDGE_SIZE} px), fitted on the data kit and validated on cartoon styles it never saw
  (`artify fit-judge`; the bundled judge's validation is in its file). Also the share called cartoons.

- KID to cartoons / to photos: kernel inception distance (cubic kernel) of the outputs' features
  to the kit's cartoons and photos, whose features the judge file carries. A cartoon is nearer the cartoons.

- faces kept: share of the faces OpenCV's Haar cascade ({CASCADE}) finds in the input that it
  finds again in the output (IoU >= {MATCH_IOU}); and how far the face centres' colour moved
  (CIELAB: L* shift, > 0 paler; delta E), since a cartoon must not change a person's skin tone.

- edge F1: Canny edges (3x3 Gaussian, thresholds {CANNY_LOW}/{CANNY_HIGH}) of output vs input, an edge
  matching within {EDGE_TOLERANCE_PX} px; F1 of precision and recall. Structure kept.

- colours per 1000 px (distinct colours at 5 bits per channel) and flatness (share of pixels whose
  luminance gradient, Sobel / 8, is below {FLAT_GRADIENT:g} grey levels per pixel), also against the
  cartoon set's own means.

- saturation (mean HSV S) and contrast (std of luma): out vs in; a cartoon is not washed out.

- checkerboard: amplitude in grey levels of the period-2/4 pattern stride-2 up-convolutions
  leave (phase means of luma minus its 4x4 box mean, per 32 px tile, noise subtracted); ~0 clean.

- flicker (clips): warping error of the output along the input's DIS optical flow, occluded
  pixels masked by a forward-backward check; the same on the input is the floor; ratio out/in.

- fidelity (does it still show the person and the scene?): colour error (CIEDE2000 of 16x16 block
  means, photo vs output) and the share of photos whose dominant hue survives (within 30 degrees);
  with dlib's models (the faces extra): faces dlib's HOG detector still finds, identity (dlib's
  ResNet recogniser: distance of each output face to its photo's, and rank-1 identification among
  the evaluation photos' faces), 68-point landmark error / inter-ocular distance, and per skin-tone
  group (ITA of the photo's cheeks and forehead) the skin colour error and the lightness spread over
  the skin relative to the photo's (blotches > 1).

Targets (the bundled model's): {CartoonTargets().describe()}.
"""


class Baseline(str, Enum):
    opencv_stylization = "opencv-stylization"
    opencv_bilateral = "opencv-bilateral"


@command(help=_evaluate_help())
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
    engine: EngineOpt = BackendChoice.auto,
    precision: PrecisionOpt = PrecisionChoice.auto,
    device: DeviceOpt = "auto",
    engine_cache: EngineCacheOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print every figure as JSON.")] = False,
) -> None:
    import json

    from artify_stream.evaluation import EvaluationSet, compare
    from artify_stream.evaluation.baselines import BASELINES
    from artify_stream.evaluation.inputs import load_photos
    from artify_stream.evaluation.report import save_json

    _, images = load_photos(photos, limit, size)
    data = EvaluationSet.load(images, clip or [], clip_frames=clip_frames, clip_long_side=size,
                              judge=judge if judge is not None else "bundled")
    stylizers = {model: _make_engine(model, engine, precision, device, engine_cache, quiet=json_out)}
    if faces:
        from artify_stream.face_mode import FaceOptions, FaceStylizer

        stylizers[f"{model} --faces"] = FaceStylizer(stylizers[model], options=FaceOptions(stream=False))
    if keep_colours:
        from artify_stream.colour_transfer import KeepColours

        stylizers[f"{model} --keep-colours"] = KeepColours(stylizers[model])
    stylizers.update({b.value: BASELINES[b.value] for b in baseline or []})
    sheet = out / "contact_sheet.png" if out else None
    reports = compare(stylizers, data, sheet)
    result = {name: r.to_dict() for name, r in reports.items()}
    if out:
        save_json(out / "evaluation.json", result)
    if json_out:
        typer.echo(json.dumps(result, indent=2))
        return
    _print_evaluation(reports, data)
    if out:
        console.print(f"wrote {sheet} and {out / 'evaluation.json'}")


def _print_evaluation(reports: dict, data) -> None:
    from rich.table import Table

    first = next(iter(reports.values()))
    table = Table(title=f"{len(data.photos)} photos" + (f", {len(data.clips)} clips" if data.clips else ""))
    table.add_column("figure")
    table.add_column("input", justify="right")
    for name in reports:
        table.add_column(name, justify="right")
    judged = bool(first.judge)
    rows = []
    if judged:
        rows += [("P(cartoon)", "judge_p_cartoon", lambda r: r.judge["p_cartoon"]),
                 ("called cartoons", "judge_cartoon_share", lambda r: r.judge["cartoon_share"]),
                 ("KID to cartoons", "judge_kid_cartoons", lambda r: r.judge["kid_cartoons"]),
                 ("KID to photos", "judge_kid_photos", lambda r: r.judge["kid_photos"])]
    rows += [("faces kept", None, lambda r: r.face_share if r.face_share is not None else float("nan")),
             ("face lightness shift (L*)", None, lambda r: r.face_lightness_shift),
             ("edge F1", None, lambda r: r.edge_f1), ("colours / 1000 px", "colours_per_kpx", None),
             ("flatness", "flatness", None), ("saturation", "saturation", None), ("contrast", "contrast", None),
             ("checkerboard", "checkerboard", None)]
    inputs = first.to_dict()["input"]
    for label, key, get in rows:
        cells = [f"{inputs[key]:.3f}" if key else "1.000"]
        cells += [f"{(get(r) if get else r.output[key]):.3f}" for r in reports.values()]
        table.add_row(label, *cells)
    if first.cartoon_stats:
        table.add_row("(kit cartoons: colours / 1000 px, flatness)", f"{first.cartoon_stats['colours_per_kpx']:.3f}, "
                      f"{first.cartoon_stats['flatness']:.3f}", *("" for _ in reports))
    fidelity_rows = [("colour error (CIEDE2000)", "colour_error", 0.0), ("dominant hue kept", "hue_kept", 1.0),
                     ("faces detected (dlib)", "faces_detected", 1.0), ("identity rank-1 (dlib)", "identity_rank1", 1.0),
                     ("identity distance", "identity_distance", 0.0), ("landmark error / IOD", "landmark_error", 0.0),
                     ("skin colour error, worst group", "skin_error_worst", 0.0),
                     ("skin lightness spread, worst group", "skin_spread_ratio_worst", 1.0)]
    summaries = [r.fidelity.summary() if r.fidelity else {} for r in reports.values()]
    for label, key, identity in fidelity_rows:
        if any(key in f for f in summaries):
            table.add_row(label, f"{identity:.3f}", *(f"{f[key]:.3f}" if key in f else "-" for f in summaries))
    groups = first.fidelity.skin_groups if first.fidelity else {}
    for group, figures in groups.items():
        cells = [f"{r.fidelity.skin_groups[group]['skin_error']:.1f} / {r.fidelity.skin_groups[group]['spread_ratio']:.2f}x"
                 if r.fidelity and group in r.fidelity.skin_groups else "-" for r in reports.values()]
        table.add_row(f"skin {group} ({figures['count']}): error / spread", "0.0 / 1.00x", *cells)
    if first.fidelity and first.fidelity.problem:
        table.add_row("(face fidelity not measured)", first.fidelity.problem, *("" for _ in reports))
    for i, clip_name in enumerate(data.clips):
        clips = [r.clips[i] for r in reports.values()]
        table.add_row(f"flicker {clip_name}", f"{clips[0].input_error:.2f}",
                      *(f"{c.output_error:.2f} ({c.flicker_ratio:.2f}x)" for c in clips))
    lines = []
    for name, r in reports.items():
        met = r.targets_met()
        missed = [k for k, ok in met.items() if not ok]
        lines.append(f"{name}: {sum(met.values())}/{len(met)} targets met" + (f"; missed: {', '.join(missed)}" if missed else ""))
    table.caption = "\n".join(lines)
    Console(soft_wrap=True).print(table)


@command("fit-judge")
def fit_judge(
    photos: Annotated[Path, typer.Option(help="Folder of photos.")],
    cartoons: Annotated[Path, typer.Option(help="Folder of cartoons (file-name prefixes name their styles).")],
    out: Annotated[Path, typer.Option(help="The judge file to write (.safetensors).")],
    exclude: Annotated[Optional[Path], typer.Option(help="A run's split.json: its validation photos are never fitted on.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the validation as JSON.")] = False,
) -> None:
    """Fit the photo-vs-cartoon judge `artify evaluate` uses, validated leave-one-style-out."""
    import json

    from trainer.judge_fit import fit_judge as fit

    validation = fit(photos, cartoons, out, exclude=exclude, log=(lambda *a: None) if json_out else console.print)
    if json_out:
        typer.echo(json.dumps(validation, indent=2))
        return
    console.print(f"held-out photos called photos: {validation['held_out_photo_accuracy']:.3f} "
                  f"({validation['held_out_photos']}); held-out cartoons called cartoons: "
                  f"{validation['held_out_cartoon_accuracy']:.3f} ({validation['held_out_cartoons']})")
    for family, figures in validation["leave_one_style_out"].items():
        console.print(f"  style never seen, {family}: {figures['accuracy']:.3f} of {figures['images']}")
    console.print(f"wrote {out}")


@command("pack-model")
def pack_model(
    source: Annotated[Path, typer.Argument(help="A run folder (its model.safetensors) or a model file.")],
    output: Annotated[Path, typer.Argument(help="Where to write the packed model file (.safetensors).")],
    half: Annotated[bool, typer.Option(help="Store weights as fp16 (half the size).")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace the output if it exists.")] = False,
) -> None:
    """Copy a trained generator into a standalone (by default fp16) model file for shipping."""
    from artify_stream.errors import OutputError
    from artify_stream.model_file import MODEL_SUFFIX, load_model_file, save_model_file
    from artify_stream.outputs import check_output

    model_path = source / "model.safetensors" if source.is_dir() else source
    if output.suffix != MODEL_SUFFIX:
        raise OutputError(f"{output}: a model file's name ends in {MODEL_SUFFIX}")
    check_output(output, overwrite, inputs=[model_path], min_free=0)
    model = load_model_file(model_path)
    save_model_file(output, model.build_generator(), model.metadata, half=half)
    console.print(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB)")


@command()
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
    import json

    from artify_stream.live import LiveOptions, run_live
    from artify_stream.live.sinks import make_sink
    from artify_stream.live.sources import open_source

    options = LiveOptions(duration=duration, **({"long_side": size} if size else {}))
    src = open_source(source, transport=transport, timeout=timeout, realtime=realtime, loop=loop, width=width,
                      height=height, fps=fps, pixel_format=pixel_format)
    sinks = [make_sink(t, codec, bitrate, vcam_backend, overwrite) for t in to]
    stylizer = _make_engine(model, engine, precision, device, engine_cache, engine_file=engine_file)
    if keep_colours:
        stylizer = _keep_colours(stylizer, quiet=json_out)
    if faces:
        stylizer = _face_mode(stylizer, face_model, engine, precision, device, engine_cache, quiet=json_out)
    if json_out:
        stats = run_live(src, sinks, stylizer, options)
        if faces:
            stats["faces"] = stylizer.summary()
        typer.echo(json.dumps(stats))
        return
    from rich.live import Live

    with Live(console=console, refresh_per_second=2, transient=False) as display:
        stats = run_live(src, sinks, stylizer, options, on_stats=lambda s: display.update(s.line()))
        display.update(_final_line(stats))
    if faces and not json_out:
        f = stylizer.summary()
        console.print(f"face mode: {f['faces_stylized']} faces stylized in {f['frames']} frames ({f['identities']} identities)",
                      highlight=False)


def _final_line(stats: dict) -> str:
    lat = stats["latency_ms"] or {"p50": 0, "p95": 0, "p99": 0}
    return (f"{stats['frames_out']} frames out of {stats['frames_in']} in {stats['seconds']:.0f} s; "
            f"latency p50 {lat['p50']:.0f} / p95 {lat['p95']:.0f} / p99 {lat['p99']:.0f} ms; "
            f"dropped {stats['dropped']}, repeated {stats['repeated']}, reconnects {stats['reconnects']}")


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
    from artify_stream.registry import load_model
    from engines.auto import MachineFacts, explicit_choice
    from engines.cache import EngineCache
    from engines.export import export_engine
    from engines.shapes import ShapeRange

    shapes = ShapeRange.parse(shape, max_batch=batch)
    fmt = FORMATS.get(engine.value)
    if fmt is not None and fmt.builds_without_device:
        from engines.export import export_rtx_engine
        from engines.tensorrt_rtx_build import metadata_summary

        rtx_precision = fmt.default_precision["cuda"] if precision is PrecisionChoice.auto else precision.value
        with console.status(f"building {fmt.name} {rtx_precision} for {shapes.label()}..."):
            built = export_rtx_engine(load_model(model), rtx_precision, EngineCache(engine_cache), shapes, rtx_targets, out)
        console.print(f"{'cached' if built.cache_hit else 'built'} {fmt.name}: {metadata_summary(built.metadata, built.timing)}")
        typer.echo(str(out if out is not None else built.path))
        return
    if out is not None:
        raise typer.BadParameter(f"--out writes a tensorrt-rtx engine file; --engine {engine.value} is kept in the cache only")
    spec = explicit_choice(engine.value, precision.value, device, MachineFacts.gather()).spec
    with console.status(f"building {spec.label()} for {shapes.label()}..."):
        path = export_engine(load_model(model), spec, EngineCache(engine_cache), shapes)
    console.print(f"built {spec.label()} for {shapes.label()}")
    typer.echo(str(path))


@command()
def bench(
    model: Annotated[Optional[str], typer.Option(help="Model file path or bundled model name.")] = None,
    sizes: Annotated[str, typer.Option(help="Comma-separated sizes: 256, 480p, 720p, 1080p or HxW.")] = "256,480p,720p,1080p",
    engines: Annotated[str, typer.Option(help=f"all, or a comma-separated list of {', '.join(FORMATS)}.")] = "all",
    device: DeviceOpt = "auto",
    batch: Annotated[int, typer.Option(min=1, help="Frames per engine call.")] = 1,
    seconds: Annotated[float, typer.Option(min=0.0, help="Time spent per engine and size (after warm-up).")] = 2.0,
    engine_cache: EngineCacheOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list of records instead of a table.")] = False,
) -> None:
    """Time every engine and precision at each size on this machine (speed-up over eager fp32)."""
    import json

    from artify_stream.registry import load_model
    from artify_stream.devices import resolve_device
    from engines.auto import MachineFacts
    from engines.benchmark import bench_specs, records_as_dicts, run_benchmark, unavailable_records
    from engines.cache import EngineCache
    from engines.shapes import parse_size

    size_list = [parse_size(s) for s in sizes.split(",") if s.strip()]
    names = list(FORMATS) if engines.strip() == "all" else [e.strip() for e in engines.split(",") if e.strip()]
    facts = MachineFacts.gather()
    dev = resolve_device(device, facts.cuda)
    model_file = load_model(model)
    if not json_out:
        console.print(f"model {model_file.path.name}, {dev}, batch {batch}; warming each engine up before timing")
    specs = bench_specs(names, dev, facts)
    with console.status("benchmarking...") if not json_out else contextlib.nullcontext():
        records = unavailable_records(names, size_list, dev, facts, specs)
        if "tensorrt-rtx" in names and facts.tensorrt_rtx_problem is not None:
            from engines.benchmark import rtx_build_records
            from engines.tensorrt_rtx_build import rtx_version

            if rtx_version() is not None:  # it builds here though it cannot run: report the builds
                records = [r for r in records if r.engine != "tensorrt-rtx"]
                records += rtx_build_records(model_file, size_list, EngineCache(engine_cache), batch)
        records += run_benchmark(model_file, size_list, specs, dev, EngineCache(engine_cache), batch=batch, seconds=seconds)
    if json_out:
        typer.echo(json.dumps(records_as_dicts(records), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{model_file.path.name} on {dev}")
    for column, justify in (("engine", "left"), ("precision", "left"), ("size", "left"), ("ms/frame", "right"),
                            ("frames/s", "right"), ("vs eager fp32", "right")):
        table.add_column(column, justify=justify)
    for r in records:
        if r.build:
            b = r.build
            table.add_row(r.engine, r.precision, r.size, "built, not run", "",
                          f"TensorRT-RTX {b['tensorrt_rtx']}: {b['engine_mb']} MB in {b['build_seconds']} s; graph vs "
                          f"eager fp32: max {b['parity_max_levels']}, p99.9 {b['parity_p99_9_levels']} levels")
        elif r.error:
            table.add_row(r.engine, r.precision, r.size, "[red]failed[/]", "", r.error[:60])
        else:
            speedup = f"{r.speedup_vs_eager_fp32:.2f}x" if r.speedup_vs_eager_fp32 else "-"
            table.add_row(r.engine, r.precision, r.size, f"{r.ms_per_frame:.1f}", f"{r.fps:.2f}", speedup)
    Console(soft_wrap=True).print(table)


@command()
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
        ("TensorRT-RTX", f"{report['tensorrt_rtx'] or 'not installed'}; builds engines here: "
                         f"{'yes' if report['tensorrt_rtx'] else 'no'}; runs them here: "
                         f"{'yes' if report['tensorrt_rtx_runs_here'] else 'no, ' + report['tensorrt_rtx_problem']}"),
        ("ONNX Runtime", f"{report['onnxruntime'] or 'not installed'}; providers: {', '.join(report['onnxruntime_providers'] or []) or '-'}"),
        ("PyAV / FFmpeg", f"{report['pyav']} / {report['ffmpeg']}; OpenCV {report['opencv']}"),
        ("video encoders", ", ".join(report["video_encoders"])),
        ("video decoders", f"{len(report['video_decoders'])} (artify info --json lists them)"),
        ("audio encoders", f"{len(report['audio_encoders'])}; decoders {len(report['audio_decoders'])}"),
    ]
    cache = report["engine_cache"]
    rows.append(("engine cache", f"{cache['path']}: {cache['entries']} entries, {cache['bytes'] / 1e6:.1f} MB"))
    for item in cache["items"]:
        built = f", built in {item['build_seconds']} s" if "build_seconds" in item else ""
        rows.append(("", f"{item['backend']} {item['precision']} {item['shapes']} ({item['bytes'] / 1e6:.1f} MB{built})"))
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in row))
    out.print(table)


@command("app")
def web_app(
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 serves your network (no share link, ever).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the page.")] = 7860,
    models: Annotated[Optional[Path], typer.Option("--models", help="A folder of model files offered beside the bundled ones.")] = None,
    engine: EngineOpt = BackendChoice.auto,
    precision: PrecisionOpt = PrecisionChoice.auto,
    device: DeviceOpt = "auto",
    engine_cache: EngineCacheOpt = None,
) -> None:
    """A local web page for photos, clips, the webcam and a comparison of every model (needs the `app` extra)."""
    from frontends.webapp.config import AppConfig
    from frontends.webapp.shelf import ModelShelf, check_models_dir

    try:
        import gradio  # noqa: F401
    except ImportError:
        raise ArtifyError("`artify app` needs Gradio: pip install 'artify-stream[app]'") from None
    config = AppConfig(host=host, port=port, models_dir=models)
    check_models_dir(models)
    shelf = ModelShelf(models, dict(backend=engine.value, precision=precision.value, device=device, cache_dir=engine_cache))
    from frontends.webapp.page import serve

    console.print(f"models: {', '.join(shelf.names)}", highlight=False)
    console.print(f"open http://{host}:{port} (Ctrl-C stops it)", highlight=False)
    serve(config, shelf)


@command()
def version() -> None:
    """Print the artify-stream version."""
    from importlib.metadata import version as pkg_version

    typer.echo(pkg_version("artify-stream"))


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console, show_path=False)])


def main() -> None:
    """Entry point: Ctrl-C and SIGTERM become clean stops; errors are mapped by each command."""
    signals.install()
    try:
        _setup_logging()
        app()
    except KeyboardInterrupt as exc:  # outside a command (while Typer parses, say)
        console.print("interrupted")
        sys.exit(signals.stop_exit_code(exc))
    except SystemExit as done:  # Typer ends every command this way
        signals.finished(done.code if isinstance(done.code, int) else (0 if done.code is None else 1))
        raise


if __name__ == "__main__":
    main()
