"""One output file's slot: every rule about where a result goes, in one object.

Before any work: is the output the input itself (a failure), is it there already (finished work:
skipped unless overwriting), can it be written. Then the writer's lock (one writer per output),
the partial file an interrupted run left and which of its GOPs to keep, the working file, and the
atomic finish: the output appears only when complete; an interrupted run leaves NAME.partial.EXT.
Videos (the local pipeline, the Ray driver's joiner), stills, face crops and the batch walk all go
through it; live recordings keep their own (a stream has no input file to compare with).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from artify_stream.atomic import atomic_path
from artify_stream.errors import OutputError
from artify_stream.media_io import CompleteGops
from artify_stream.output_lock import OutputLock
from artify_stream.outputs import MIN_FREE_BYTES, check_output, partial_path, same_file
from artify_stream.partial_video import keepable_gops, settle, working_path


@dataclass
class OutputSlot:
    source: Path
    output: Path
    overwrite: bool = False
    keep_partial: bool = True  # an interrupted run keeps its frames in NAME.partial.EXT
    keep: CompleteGops | None = field(default=None, init=False)  # an earlier run's frames, continued
    working: Path | None = field(default=None, init=False)  # the file being written
    lock: OutputLock | None = field(default=None, init=False)

    def settled(self) -> tuple[str, str] | None:
        """('failed', why) when the output is the input itself, ('skipped', why) when it exists and
        is not to be overwritten; None when there is work to do."""
        if self.output.exists() and same_file(self.source, self.output):  # before "exists": never a silent skip
            return "failed", f"{self.output}: is the input {self.source}; choose another output"
        if self.output.exists() and not self.overwrite and not self.output.is_dir():
            return "skipped", f"{self.output}: exists (pass --overwrite to replace it)"
        return None

    def check(self, min_free: int = MIN_FREE_BYTES) -> None:
        """Fail before any work (OutputError, OutputExists): see `outputs.check_output`."""
        check_output(self.output, self.overwrite, inputs=[self.source], min_free=min_free)
        if same_file(self.source, partial_path(self.output)):
            raise OutputError(f"{self.output}: its work-in-progress file {partial_path(self.output).name} is the input; "
                              "choose another output")

    def write_bytes(self, data: bytes) -> None:
        """A whole file at once (an image from a Ray worker): checked again, then written atomically."""
        self.check(min_free=0)
        with atomic_path(self.output) as tmp:
            tmp.write_bytes(data)

    def claim(self, size: tuple[int, int], codec: str) -> CompleteGops | None:
        """Take the writer's lock and decide the working file: the partial's complete GOPs of this
        size and encoder are kept (returned), the rest is written anew."""
        self.lock = OutputLock(self.output).acquire()  # before the partial is read: one writer per output
        try:
            self.check(min_free=0)  # again under the lock: another job may have finished it meanwhile
            self.keep = keepable_gops(self.output, size, codec)
            self.working = working_path(self.output, self.keep)
        except BaseException:
            self.release()
            raise
        return self.keep

    def finish(self, interrupted: bool, frames: int) -> Path | None:
        """The closed working file into place (complete) or kept as the partial (interrupted); returns
        the partial file left, if any. The lock goes."""
        try:
            return settle(self.working, self.output, interrupted, frames, self.keep_partial)
        finally:
            self.working = None
            self.release()

    def abandon(self) -> None:
        """After an error: this run's fresh working file goes, an earlier run's partial stays."""
        if self.working is not None:
            self.working.unlink(missing_ok=True)
            self.working = None
        self.release()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None
