"""A model's first CPU run on a machine, prepared in a child process.

What the first run needs, timing the CPU engines (`engines.auto`) and exporting the ONNX graph,
imports torch, whose CUDA build alone is ~700 MiB resident. Later runs open the cached graph
without torch (`engines.light`). So a process that has not imported torch does that work in a
child, `python -m engines.first_run`, which fills the engine cache and exits; the run itself then
opens the cached graph like any later run, and never holds torch's memory.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from artify_stream.model_file import ModelRef

log = logging.getLogger(__name__)


def worth_a_child() -> bool:
    """Only a process without torch saves anything (one that has it would pay the import twice)."""
    return "torch" not in sys.modules


def prepare_in_child(model: ModelRef, backend: str, precision: str, cache_root: Path) -> bool:
    """Probe and export in a child process, the model's bytes on its stdin (the file is not read
    again); False (with a warning) when it failed."""
    log.info("first run of %s on this machine: timing the CPU engines and exporting its ONNX graph "
             "in a child process (later runs start from the engine cache, without torch)", model.name)
    command = [sys.executable, "-m", "engines.first_run", str(model.path), model.sha256, backend, precision, str(cache_root)]
    child = subprocess.run(command, input=model.data, capture_output=True)
    if child.returncode != 0:
        said = (child.stderr.decode(errors="replace").strip().splitlines() or [f"exit {child.returncode}"])[-1]
        log.warning("preparing %s in a child process failed (%s); doing it in this one", model.name, said)
        return False
    return True


def main(argv: list[str]) -> int:
    """The child: the full path of `create_engine` (probe, export, cache) for one model."""
    from artify_stream.errors import ArtifyError
    from artify_stream.model_file import model_ref_from_bytes
    from engines import built_engine
    from engines.cache import EngineCache

    model_path, sha256, backend, precision, cache_root = argv
    try:
        model = model_ref_from_bytes(Path(model_path), sys.stdin.buffer.read(), sha256)
        built_engine(model.load(), backend, precision, "cpu", EngineCache(cache_root))
    except ArtifyError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
