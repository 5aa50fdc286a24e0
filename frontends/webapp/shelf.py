"""The models the page offers, and one engine per model, run by one request at a time.

The page sends a model's *name*; only names listed here are accepted, so a path typed into the
page (or an API call) can never make the app open a file of its choice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from artify_stream.errors import ConfigError, InputError
from artify_stream.model_file import MODEL_SUFFIX, read_model_ref
from artify_stream.registry import DEFAULT_MODEL, SUPERSEDED, bundled_models
from frontends.engine_for import EngineChoice, describe, engine_for, face_engine_choice, face_mode_choice


@dataclass(frozen=True)
class ShelfEngine:
    engine: object  # an `engines.Engine`
    line: str  # which engine runs and why, as `artify stylize` prints it


class ModelShelf:
    """Bundled models first (the default on top), then the model files in `models_dir`."""

    def __init__(self, models_dir: Path | None = None, engine_choice: EngineChoice = EngineChoice()) -> None:
        self.paths: dict[str, Path] = {}
        bundled = bundled_models()
        for name in sorted(bundled, key=lambda n: (n != DEFAULT_MODEL, n in SUPERSEDED, n)):
            self.paths[name] = bundled[name]
        if models_dir is not None:
            for path in sorted(Path(models_dir).glob(f"*{MODEL_SUFFIX}")):
                name = path.name[: -len(MODEL_SUFFIX)]
                self.paths[name if name not in self.paths else f"{Path(models_dir).name}/{name}"] = path
        self.engine_choice = engine_choice
        self._engines: dict[tuple[str, EngineChoice], ShelfEngine] = {}
        self._build_lock = threading.Lock()
        #: Held for every engine call: engines reuse their buffers, so two requests must never share one.
        self.run_lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self.paths)

    @property
    def default(self) -> str:
        return self.names[0]

    def label(self, name: str) -> str:
        return f"{name} (superseded)" if name in SUPERSEDED else name

    def path(self, name: str) -> Path:
        if name not in self.paths:
            raise InputError(f"model {name!r} is not offered here (choose one of: {', '.join(self.paths)})")
        return self.paths[name]

    @property
    def faces_problem(self) -> str | None:
        """Why face mode cannot run here (dlib's models missing), or None."""
        from artify_stream.face_mode.detect import faces_missing

        return faces_missing()

    def face_stylizer(self, name: str, stream: bool):
        """The model's engine in face mode (faces aligned, stylized and put back): `stream` for a clip
        or the webcam (faces tracked and smoothed across frames), else each picture on its own; a
        picture's faces are searched at twice its size (from about 40 px wide: the page's sizes are small).
        The faces go through the model's bundled face model when the page offers it."""
        from artify_stream.face_mode import FaceOptions, FaceStylizer
        from artify_stream.registry import FACE_MODELS

        options = FaceOptions(stream=stream, upsample=0 if stream else 1)
        face_name = FACE_MODELS.get(name)
        if face_name not in self.paths:  # no face model offered: one engine draws frame and faces
            return FaceStylizer(self.engine(name).engine, options=options)
        choice = face_mode_choice(self.engine_choice, self.engine(name).engine)  # two engines, at once
        return FaceStylizer(self.engine(name, choice).engine, self.engine(face_name, face_engine_choice(choice)).engine,
                            options=options)

    def engine(self, name: str, choice: EngineChoice | None = None) -> ShelfEngine:
        """The model's engine (for `choice`, default the page's), built on first use (and cached on
        disk by the engine cache); the model file is read and hashed once, here, when the page
        first asks for it."""
        path = self.path(name)
        choice = choice or self.engine_choice
        with self._build_lock:
            if (name, choice) not in self._engines:
                built = engine_for(read_model_ref(path, name), choice)
                self._engines[name, choice] = ShelfEngine(built, describe(built))
            return self._engines[name, choice]


def check_models_dir(models_dir: Path | None) -> None:
    if models_dir is not None and not any(Path(models_dir).glob(f"*{MODEL_SUFFIX}")):
        raise ConfigError(f"--models {models_dir}: no {MODEL_SUFFIX} model files in it")
