"""A resolved model reference -> the stylizer a front end runs: the one place engines are built.

The CLI, the web app and the Ray actors call `engine_for` (and `stylizer_for` for the wrappers
`--keep-colours` and `--faces` add) with a `ModelRef` they resolved once, at their edge.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path

from artify_stream.model_file import ModelRef
from artify_stream.registry import face_model_for
from engines.formats import BackendChoice, PrecisionChoice


@dataclass(frozen=True)
class EngineChoice:
    """What the user asked of the engine (each default is `artify stylize`'s)."""

    backend: BackendChoice = BackendChoice.auto
    precision: PrecisionChoice = PrecisionChoice.auto
    device: str = "auto"
    cache_dir: Path | None = None
    engine_file: Path | None = None
    threads: int | None = None  # CPU threads of an ONNX Runtime engine (None: one per core)

    def on(self, device: str) -> EngineChoice:
        return replace(self, device=device)


def engine_for(model: ModelRef, choice: EngineChoice = EngineChoice()):
    """The engine for `model` as `choice` asks: built, or opened from the engine cache."""
    from engines import create_engine

    engine = create_engine(model, backend=choice.backend.value, precision=choice.precision.value, device=choice.device,
                           cache_dir=choice.cache_dir, engine_file=choice.engine_file)
    if choice.threads is not None and engine.spec.device == "cpu" and engine.spec.backend == "onnx":
        engine.limit_threads(choice.threads)
    return engine


#: What `stylizer_for` says when face mode moved `auto` to ONNX Runtime (`face_mode_choice`).
FACE_MODE_ENGINES = ("face mode on the CPU: ONNX Runtime for the frame and the faces, drawn at once "
                     "(two torch engines would each take every core)")


#: CPU threads of face mode's face engine (ONNX Runtime) while the frame's engine, on every core,
#: draws at once: the frame's cartoon is the longer of the two and the faces' threads competing
#: for its cores lengthen it (`artify live` lite --faces, lbbc2a at 640x360, six pairs of runs
#: taken in turns: 29.1 / 29.4 / 26.8 / 28.9 / 23.8 / 23.4 fps out with one thread, 28.5 / 28.9 /
#: 23.8 / 28.0 / 22.2 / 22.9 with two; latency p50 41-64 ms against 53-66).
FACE_ENGINE_THREADS = 1


def face_mode_choice(choice: EngineChoice, engine) -> EngineChoice:
    """The choice for face mode's two engines, given the engine `choice` built for the frame alone.
    They draw the frame and its faces at once; on the CPU two torch engines would each take every
    core (`artify live` lite --faces, lbbc2a at 640x360: 23.6-25.8 fps on torch bf16 against
    29.2-29.3 on ONNX Runtime, though torch bf16 is the faster of the two alone), so `auto` takes
    ONNX Runtime there when it is installed. An explicit --engine is kept."""
    if (choice.backend is BackendChoice.auto and engine.spec.device == "cpu" and engine.spec.backend != "onnx"
            and importlib.util.find_spec("onnxruntime") is not None):
        return replace(choice, backend=BackendChoice.onnx)
    return choice


#: Live face mode on the CPU draws this many frames at once, each through an engine of the frame's
#: model on one thread (`artify_stream.engines_in_turn`), while the faces are drawn and the last
#: frame finished beside them (lite pair, lbbc2a at 640x360, 2 cores, unpaced: 34.9-35.0 fps against
#: 30.0-30.7 with one frame engine on both cores, two runs each).
LIVE_FRAMES_AT_ONCE = 2


def face_engine_choice(choice: EngineChoice) -> EngineChoice:
    """The choice for face mode's face engine, given the frame engine's (`face_mode_choice`)."""
    return replace(choice, threads=FACE_ENGINE_THREADS)


def describe(engine) -> str:
    """Which engine runs and why, in the words every front end shows."""
    from engines import engine_line

    return engine_line(engine)


@dataclass
class Stylizer:
    """The engine-shaped callable a job runs, and the lines that say what it is."""

    run: object
    lines: list[str]
    faces: object | None = None  # the FaceStylizer when face mode is on (its summary goes in the report)
    face_model: str | None = None  # the model its faces are drawn with, when not the frame's

    def face_summary(self) -> dict:
        return {**self.faces.summary(), "face_model": self.face_model}


def stylizer_for(model: ModelRef, choice: EngineChoice = EngineChoice(), keep_colours: bool = False,
                 faces: bool = False, face_model: ModelRef | None = None, live: bool = False) -> Stylizer:
    """`engine_for`, wrapped for `--keep-colours` and `--faces` (face crops through `face_model`, else
    the model's bundled face model, else the model itself). `live`: frames are finished while the
    next are drawn (`artify live`), so face mode on the CPU draws LIVE_FRAMES_AT_ONCE at once."""
    engine = engine_for(model, choice)
    lines = [describe(engine)]
    moved = face_mode_choice(choice, engine) if faces else choice
    if moved != choice:
        choice = moved
        engine = engine_for(model, choice)
        lines = [describe(engine), FACE_MODE_ENGINES]
    more_engines: list = []
    if faces and live and engine.spec.device == "cpu" and engine.spec.backend == "onnx":
        one_thread = replace(choice, threads=1)
        engine = engine_for(model, one_thread)
        more_engines = [engine_for(model, one_thread) for _ in range(LIVE_FRAMES_AT_ONCE - 1)]
        lines.append(f"live face mode: {LIVE_FRAMES_AT_ONCE} frames drawn at once, by engines on one thread each")
    stylizer = Stylizer(engine, lines)
    if keep_colours:
        from artify_stream.colour_transfer import KeepColours

        stylizer.run = KeepColours(stylizer.run)
        more_engines = [KeepColours(e) for e in more_engines]
        stylizer.lines.append("colours kept from the photo (--keep-colours): the model's light and dark, the photo's chroma")
    if faces:
        from artify_stream.face_mode import FaceStylizer
        from artify_stream.face_mode.detect import MIN_FACE_PX

        face_model = face_model or face_model_for(model)
        face_engine = engine_for(face_model, face_engine_choice(choice)) if face_model is not None else None
        if face_engine is None and engine.spec.device == "cpu":
            # A second engine of the same model for the faces: on the CPU the frame's cartoon and
            # the faces are then drawn at once (an ONNX or torch engine is not called twice at once).
            face_engine = engine_for(model, face_engine_choice(choice.on("cpu")))
        stylizer.run = stylizer.faces = FaceStylizer(stylizer.run, face_engine, more_frame_engines=more_engines)
        options = stylizer.faces.options
        if face_model is not None:
            stylizer.face_model = face_model.name
            stylizer.lines.append(f"face model: {face_model.name}, {describe(face_engine)}")
        stylizer.lines.append(f"face mode: faces aligned at {options.crop_size} px, detected near each face every "
                              f"{options.detect_every} frames and in the whole frame every {options.scan_every} (faces "
                              f"from about {MIN_FACE_PX} px wide), up to {options.max_faces} a frame")
    return stylizer
