"""What each `artify` command does, as one call that returns a report (the CLI parses and prints).

Every job takes the model as a `ModelRef` the front end resolved once, and builds its stylizer
through `engine_for`: the same engines, wrappers and rules for the CLI, the web app and Ray.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from artify_stream.batch import BatchReport
from artify_stream.errors import ConfigError
from artify_stream.model_file import ModelRef
from artify_stream.registry import face_model_for
from artify_stream.video import VideoOptions
from frontends.engine_for import EngineChoice, describe, engine_for, stylizer_for


@dataclass(frozen=True)
class FaceChoice:
    """What `--keep-colours`, `--faces`, `--faces-only` and `--face-model` asked for."""

    keep_colours: bool = False
    faces: bool = False
    faces_only: bool = False
    face_model: ModelRef | None = None

    @property
    def any(self) -> bool:
        return self.keep_colours or self.faces or self.faces_only


def stylize_job(source: Path, output: Path, model: ModelRef, choice: EngineChoice, options: VideoOptions,
                wrappers: FaceChoice = FaceChoice(), side_by_side: bool = False, cluster=None,
                say: Callable[[str], None] = lambda line: None, on_file=None, video_progress=None, cluster_progress=None):
    """`artify stylize`: a file or a folder tree, here or on a Ray cluster (`cluster`: ClusterOptions);
    a BatchReport either way (an AvatarReport for `--faces-only`)."""
    if cluster is not None:
        if wrappers.any:
            raise ConfigError("--faces, --faces-only and --keep-colours run in this process, not with --ray")
        from frontends.cluster.driver import RayBatch

        batch = RayBatch(model, choice, options, cluster, side_by_side=side_by_side)
        with cluster_progress() as (on_frames, on_start):
            return batch.run(source, output, on_file=on_file, on_frames=on_frames, on_start=on_start)
    stylizer = stylizer_for(model, choice, wrappers.keep_colours, wrappers.faces or wrappers.faces_only, wrappers.face_model)
    for line in stylizer.lines:
        say(line)
    if wrappers.faces_only:
        from artify_stream.face_mode.avatars import write_face_crops

        return write_face_crops(source, output, stylizer.run, options.overwrite, options.long_side)  # a tracker per image
    from artify_stream.batch import BatchStylizer

    runner = BatchStylizer(stylizer.run, options, side_by_side=side_by_side, video_progress=video_progress)
    report: BatchReport = runner.run(source, output, on_file=on_file)
    report.engine = stylizer.lines[0]
    if stylizer.faces is not None:
        report.faces = stylizer.face_summary()
    return report


def evaluate_job(model: ModelRef, photos: Path, choice: EngineChoice, clips: list[Path] = (), out: Path | None = None,
                 limit: int | None = None, size: int | None = None, clip_frames: int = 48, baselines: list[str] = (),
                 judge: Path | None = None, faces: bool = False, keep_colours: bool = False,
                 say: Callable[[str], None] = lambda line: None, face_model: ModelRef | None = None):
    """`artify evaluate`: (reports by column name, the evaluation set); writes the contact sheet and
    JSON into `out` when given."""
    from artify_stream.evaluation import EvaluationSet, compare
    from artify_stream.evaluation.baselines import BASELINES
    from artify_stream.evaluation.inputs import load_photos
    from artify_stream.evaluation.report import save_json

    _, images = load_photos(photos, limit, size)
    data = EvaluationSet.load(images, list(clips), clip_frames=clip_frames, clip_long_side=size,
                              judge=judge if judge is not None else "bundled")
    plain = stylizer_for(model, choice)
    say(plain.lines[0])
    stylizers = {model.name: plain.run}
    face_model = (face_model or face_model_for(model)) if faces else None
    face_engine = engine_for(face_model, choice) if face_model is not None else plain.run
    face_column = f"{model.name} --faces" + (f" --face-model {face_model.name}" if face_model is not None else "")
    if faces:
        from artify_stream.face_mode import FaceOptions, FaceStylizer

        stylizers[face_column] = FaceStylizer(plain.run, face_engine, options=FaceOptions(stream=False))
    if keep_colours:
        from artify_stream.colour_transfer import KeepColours

        stylizers[f"{model.name} --keep-colours"] = KeepColours(plain.run)
    stylizers.update({name: BASELINES[name] for name in baselines})
    reports = compare(stylizers, data, out / "contact_sheet.png" if out else None)
    for name in stylizers.keys() - set(baselines):
        reports[name].engine = plain.lines[0]
    if faces:
        from artify_stream.evaluation.face_mode_figures import face_mode_figures

        if face_model is not None:
            reports[face_column].engine += f"; faces: {face_model.name}, {describe(face_engine)}"
        reports[face_column].face_mode = face_mode_figures(plain.run, data.photos, data.judge, face_engine)
    if out:
        save_json(out / "evaluation.json", {name: r.to_dict() for name, r in reports.items()})
    return reports, data


def live_job(source, sinks: list, model: ModelRef, choice: EngineChoice, options, wrappers: FaceChoice = FaceChoice(),
             say: Callable[[str], None] = lambda line: None, on_stats=None) -> dict:
    """`artify live`: the session's statistics (with face mode's summary when it was on)."""
    from artify_stream.live import run_live

    stylizer = stylizer_for(model, choice, wrappers.keep_colours, wrappers.faces, wrappers.face_model, live=True)
    for line in stylizer.lines:
        say(line)
    stats = run_live(source, sinks, stylizer.run, options, on_stats=on_stats)
    if stylizer.faces is not None:
        stats["faces"] = stylizer.face_summary()
    return stats


def training_job(preset_config, options: dict, settings: list[str] | None, dry_run: bool, build_run, resume: bool) -> None:
    """What `train` and `distill` share: the config from the preset, the options and --set; --dry-run;
    the run; the line naming the model file and the epoch it holds."""
    options = {k: getattr(v, "value", v) for k, v in options.items()}  # Enum choices as their values
    config = preset_config.resolved(options, settings or [])
    if dry_run:
        from frontends.render import print_json

        print_json(config.to_dict())
        return
    import shlex
    import sys

    from frontends.render import console
    from trainer.distributed import leave
    from trainer.monitor import RichTrainingProgress

    run = build_run(config, RichTrainingProgress(console), "artify " + shlex.join(sys.argv[1:]))
    if run.run(resume=resume) and run.dist.is_main:
        console.print(f"model file: {run.paths.model} (epoch {run.shipped_epoch()})")
    leave(run.dist)  # a torchrun worker ends here, before the interpreter's teardown
