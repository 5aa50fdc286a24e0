"""Rules every output path follows, whatever writes it (images, videos, recordings, model files).

- An output that is one of the inputs (the same file, through links too) is refused.
- An existing output is replaced only with --overwrite, and only once the new one is complete
  (writers go through a temp or `.partial` file and rename).
- Work in progress sits in `NAME.partial.EXT` beside the target, so an interrupted or killed
  job is never mistaken for a finished one, and a later run can find it and continue.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from artify_stream.errors import OutputError, OutputExists

MIN_FREE_BYTES = 64 << 20
PARTIAL_TAG = ".partial"


def partial_path(output: Path) -> Path:
    """Where an unfinished `output` is written: NAME.partial.EXT beside it."""
    output = Path(output)
    return output.with_name(f"{output.stem}{PARTIAL_TAG}{output.suffix}")


def is_partial_path(path: Path) -> bool:
    return Path(path).stem.endswith(PARTIAL_TAG)


def same_file(a: Path, b: Path) -> bool:
    """True when both paths name one file (hard or symbolic links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(output: Path, overwrite: bool, inputs: Iterable[Path] = (), min_free: int = MIN_FREE_BYTES) -> None:
    """Fail before any work: an output that is an input, that exists (without overwrite), whose
    folder cannot be made or written, or whose disk is nearly full."""
    output = Path(output)
    for source in inputs:
        if output.exists() and same_file(source, output):
            raise OutputError(f"{output}: is the input {source}; choose another output")
    if output.is_dir():
        raise OutputError(f"{output}: is a folder; give a file name")
    if output.exists() and not overwrite:
        raise OutputExists(f"{output}: exists (pass --overwrite to replace it)")
    folder = output.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{output}: cannot create its folder ({exc.strerror or exc})") from exc
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{output}: folder {folder} is not writable")
    if min_free and shutil.disk_usage(folder).free < min_free:
        raise OutputError(f"{output}: less than {min_free >> 20} MB free on its disk")


def check_output_folder(source_dir: Path, output_dir: Path) -> None:
    """A mirrored output tree must not be its own input tree."""
    if Path(output_dir).exists() and same_file(source_dir, output_dir):
        raise OutputError(f"{output_dir}: is the input folder; choose another output folder")
    if Path(output_dir).exists() and not Path(output_dir).is_dir():
        raise OutputError(f"{output_dir}: is a file; the output of a folder is a folder")
