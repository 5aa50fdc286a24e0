"""The `artify` command's shared pieces: the app, its error mapping, and the options several commands take.

Every choice comes from its table: the presets, the baselines, the engine formats, the precisions.
"""

from __future__ import annotations

import functools
import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from artify_stream import signals
from artify_stream.errors import ArtifyError
from artify_stream.evaluation.baselines import BASELINES
from engines.formats import FORMATS, BackendChoice, PrecisionChoice
from frontends.render import console
from trainer.config import PRESETS, TRAIN_PRECISIONS
from trainer.distill_config import DISTILL_PRESETS

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Cartoonize photos and video with ArtifyGAN.")
DEBUG_ENV = "ARTIFY_DEBUG"

# Every choice comes from its table: the presets, the baselines, the engine formats, the precisions.
Preset = Enum("Preset", {name: name for name in PRESETS}, type=str)
DistillPreset = Enum("DistillPreset", {name: name for name in DISTILL_PRESETS}, type=str)
Baseline = Enum("Baseline", {name: name for name in BASELINES}, type=str)
TrainPrecision = Enum("TrainPrecision", {name: name for name in TRAIN_PRECISIONS}, type=str)


def command(*args, **kwargs):
    """`app.command`, with the error mapping every command shares: a known error is one line and
    its exit code (the traceback only with ARTIFY_DEBUG=1); Ctrl-C is 130, SIGTERM 143."""

    def register(fn):
        @functools.wraps(fn)
        def run(*a, **kw):
            try:
                return fn(*a, **kw)
            except (KeyboardInterrupt, Exception) as exc:
                stop = signals.stop_behind(exc)
                if stop is not None:
                    signals.handled()
                    console.print("interrupted")
                    raise typer.Exit(signals.stop_exit_code(stop)) from None
                if not isinstance(exc, ArtifyError) or os.environ.get(DEBUG_ENV):
                    raise
                console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
                raise typer.Exit(exc.exit_code) from None

        return app.command(*args, **kwargs)(run)

    return register


ModelOpt = Annotated[Optional[str], typer.Option(help="Model file path or bundled model name.")]
EngineOpt = Annotated[BackendChoice, typer.Option("--engine", help="auto (fastest here, says why), or one of: " + "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values()) + ".")]
PrecisionOpt = Annotated[PrecisionChoice, typer.Option("--precision", help="auto (the engine's best here) or a precision the engine runs on this device.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N (a GPU asked for and missing is an error).")]
EngineCacheOpt = Annotated[Optional[Path], typer.Option("--engine-cache", help="Engine cache folder (default: $ARTIFY_ENGINE_CACHE or the user cache).")]
KeepColoursOpt = Annotated[bool, typer.Option("--keep-colours", help="The model draws, the photo colours: the output's luma with the photo's flattened chroma (keeps skin tones, red birds, blue skies).")]
FacesOpt = Annotated[bool, typer.Option("--faces", help="Face mode: detect every face (dlib), stylize it as an aligned 256 px crop and put it back with a feathered mask; tracked and smoothed in video (needs the faces extra).")]
FaceModelOpt = Annotated[Optional[str], typer.Option("--face-model", help="Face mode: the model for the face crops (default: --model).")]
EngineFileOpt = Annotated[Optional[Path], typer.Option("--engine-file", exists=True, dir_okay=False, help="A TensorRT-RTX engine file written by `artify export --out` (checked against --model first).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
PhotosOpt = Annotated[Path, typer.Option(help="Folder of photos (searched recursively); 32 are held back for validation.")]
OutRunOpt = Annotated[Path, typer.Option(help="Run folder: checkpoints, logs, samples, model files.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Any other config field, KEY=VALUE (repeatable), e.g. --set tv_weight=0.5; --dry-run lists them all.")]
EvalPhotosOpt = Annotated[Optional[Path], typer.Option("--eval-photos", help="More photos (a folder, a list file, or a clip: 8 frames spread over it) to evaluate every epoch and pick the epoch by, beside the held-back split; never trained on.")]
EvalClipOpt = Annotated[Optional[list[Path]], typer.Option("--eval-clip", help="A clip to measure flicker on every epoch (repeatable).")]
TrainPrecisionOpt = Annotated[Optional[TrainPrecision], typer.Option(help="Training precision (auto: bf16/fp16 autocast where the device runs it fast).")]
ResumeOpt = Annotated[bool, typer.Option(help="Continue the run in --out from its last checkpoint.")]
DryRunOpt = Annotated[bool, typer.Option(help="Print the resolved config and exit.")]


