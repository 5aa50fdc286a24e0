"""Bundled models by name, and resolving `--model` (a name or a path) to a model file."""

from __future__ import annotations

import logging
from pathlib import Path

from artify_stream.errors import ModelFileError
from artify_stream.model_file import MODEL_SUFFIX, ModelFile, ModelRef, read_model_ref

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = "artify-draw"
#: Bundled names that were replaced: asking for one says by what.
RETIRED = {"artify-small": "artify-draw (retrained twice: it draws cartoons; artify-draw-lite is its real-time student)"}
#: Bundled models kept though no longer the choice: why (`artify info` and the README say it too).
SUPERSEDED = {
    "artify-toon": "soft (a smoothing, not a drawing); superseded by artify-draw, which is trained from it",
    "artify-toon-lite": "soft; superseded by artify-draw-lite-v1, which is distilled starting from it",
    "artify-draw-lite-v1": "the first drawing student (P(cartoon) 0.893, 26 fps on the AMD CPU); superseded by "
                           "artify-draw-lite-v2 (strided ends: faster, P(cartoon) 0.902), distilled starting from it",
    "artify-draw-v2": "draws, but paints every face and scene the cartoons' peach and darker skin as black and peach "
                      "patches; superseded by artify-draw (the photo's own colours), which is trained from it",
    "artify-draw-lite-v2": "artify-draw-v2's student (the same peach); superseded by artify-draw-lite, distilled "
                           "starting from it",
    "artify-draw-v4": "keeps the person's identity on 0.73 of held-back portraits; superseded by artify-draw (v5: "
                      "0.83, eyes drawn where the photo has them, colour that stops at edges); artify-face was "
                      "trained from it",
    "artify-draw-lite-v4": "artify-draw-v4's student (P(cartoon) 0.69 on ONNX Runtime, identity 0.75); superseded "
                           "by artify-draw-lite-v5 (v5's student: identity 0.90); artify-face-lite starts from it",
    "artify-draw-v5": "paints the darkest skin with lighter flat patches where the photo has highlights and loses "
                      "those faces' eyes; superseded by artify-draw (v6: trained with darkened portraits, eyes and "
                      "features drawn on every skin tone); artify-draw-lite-v5 is its student",
    "artify-draw-v6": "draws the scenes less than the faces (P(cartoon) 0.773 on the Kodak scenes, 0.875 on "
                      "portraits) and light skin 7.8 off its colour; superseded by artify-draw (v7: the scenes drawn "
                      "more often in training, 0.814; light skin 4.8 off); artify-draw-v6-student is its student",
    "artify-draw-v7": "draws the scenes less than the faces (P(cartoon) 0.813 on the Kodak scenes, bound 0.85; "
                      "0.881 on portraits); superseded by artify-draw (v8: the critic weighed 1.5x, 0.880 and 0.957, "
                      "identity rank-1 0.85 against v7's 0.94)",
    "artify-draw-lite-v7": "draws the scenes less than the faces (P(cartoon) 0.787 on the Kodak scenes, bound "
                           "0.80); superseded by artify-draw-lite (v8: trained on from it with the critic weighed "
                           "1.5x, 0.885 on scenes and 0.844 on portraits)",
    "artify-face-v2": "paints the darkest faces with lighter flat patches in face mode; superseded by artify-face "
                      "(v3: trained with darkened face crops)",
    "artify-face-lite-v2": "artify-face-v2's student: paints the darkest faces with lighter patches in face mode; "
                           "superseded by artify-face-lite (v3, artify-face v3's student)",
    "artify-draw-lite-v5": "the v5 default's distilled student: its teacher's faces (identity 0.90) but less drawn "
                           "(P(cartoon) 0.62 on ONNX Runtime); superseded by artify-draw-lite-v6 (adversarially trained "
                           "from it: 0.80, identity 0.85), itself superseded by artify-draw-lite",
    "artify-draw-lite-v6": "paints the darkest faces with lighter flat patches where the photo has highlights and "
                           "loses their eyes; superseded by artify-draw-lite-v7 (trained with darkened portraits "
                           "and the face-steps term), itself superseded by artify-draw-lite",
    "artify-draw-v6-student": "artify-draw v6's distilled student on the lite architecture: its teacher's even dark "
                              "faces but less drawn (P(cartoon) 0.59); artify-draw-lite-v7 is trained on from it",
}

#: The model `--faces` draws each aligned face with, for a bundled whole-frame model: trained on
#: aligned face crops at face mode's 256 px (README, "Face mode", has the figures). Any other model
#: draws its faces itself unless `--face-model` names one; `--face-model MODEL` overrides this.
FACE_MODELS = {"artify-draw": "artify-face", "artify-draw-lite": "artify-face-lite"}


def bundled_models() -> dict[str, Path]:
    """Name -> path of every model shipped inside the package."""
    return {p.name[: -len(MODEL_SUFFIX)]: p for p in sorted(BUNDLED_DIR.glob(f"*{MODEL_SUFFIX}"))}


def resolve_model_path(name_or_path: str | Path | None) -> Path:
    """A bundled model's name, or a path to a model file; None means the default model."""
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL
    candidate = Path(name_or_path)
    if candidate.suffix == MODEL_SUFFIX or candidate.exists() or "/" in str(name_or_path):
        if not candidate.is_file():
            raise ModelFileError(f"{candidate}: model file not found")
        return candidate
    models = bundled_models()
    if str(name_or_path) in RETIRED:
        raise ModelFileError(f"model {name_or_path!r} was replaced by {RETIRED[str(name_or_path)]}")
    if str(name_or_path) not in models:
        known = ", ".join(models) or "none"
        raise ModelFileError(f"unknown model {name_or_path!r}: pass a model file path or a bundled name ({known})")
    if str(name_or_path) in SUPERSEDED:
        log.info("model %s: %s", name_or_path, SUPERSEDED[str(name_or_path)])
    return models[str(name_or_path)]


def resolve_model(name_or_path: str | Path | ModelRef | None = None) -> ModelRef:
    """`--model` resolved once, at the edge: the file found, read, hashed and its header checked."""
    if isinstance(name_or_path, ModelRef):
        return name_or_path
    path = resolve_model_path(name_or_path)
    bundled = path.parent == BUNDLED_DIR
    return read_model_ref(path, name=path.name[: -len(MODEL_SUFFIX)] if bundled else str(name_or_path or path))


def load_model(name_or_path: str | Path | ModelRef | None = None) -> ModelFile:
    return resolve_model(name_or_path).load()


def face_model_for(model: ModelRef) -> ModelRef | None:
    """The bundled face model of a bundled whole-frame model (FACE_MODELS), or None."""
    name = FACE_MODELS.get(model.name)
    return resolve_model(name) if name is not None and name in bundled_models() else None
