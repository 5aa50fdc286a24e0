"""One writer per video output, and a mark that says which `.partial` files are ours.

A job writing OUT holds an exclusive lock on `.OUT_NAME.partial.EXT.artify` beside it (flock: the
kernel drops it when the process dies, even by SIGKILL). A second job for the same output is
told that another job is writing it, before it touches anything; two jobs can no longer
remove each other's work or both report success over one short file.

The same file marks NAME.partial.EXT as an unfinished output of ours: it stays while the partial
does (so a later run can continue it) and goes with it. A file that merely has `.partial` in its
name, with no mark beside it, is the user's own and is treated as any other input.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from artify_stream.errors import OutputError
from artify_stream.outputs import partial_path

MARK_SUFFIX = ".artify"


def mark_path(output: Path) -> Path:
    partial = partial_path(output)
    return partial.with_name(f".{partial.name}{MARK_SUFFIX}")


def is_our_partial(path: Path) -> bool:
    """True for NAME.partial.EXT that one of our jobs wrote (its mark is beside it)."""
    path = Path(path)
    return path.with_name(f".{path.name}{MARK_SUFFIX}").exists()


class OutputLock:
    """Held while a job writes `output`; `with OutputLock(out):` or acquire()/release()."""

    def __init__(self, output: Path) -> None:
        self.output = Path(output)
        self.mark = mark_path(self.output)
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        while True:
            fd = os.open(self.mark, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputError(f"{self.output}: another artify job is writing it now; wait for it to finish "
                                  "or choose another output") from None
            try:
                current = os.stat(self.mark).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(fd).st_ino:
                self._fd = fd
                return self
            os.close(fd)  # the job before us finished and removed the mark after we opened it: again

    def release(self) -> None:
        """The mark stays while an unfinished partial does (it is ours), else it goes."""
        if self._fd is None:
            return
        try:
            if not partial_path(self.output).exists():
                self.mark.unlink(missing_ok=True)  # still holding the lock, so no one is between
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
