"""`artify stylize IN OUT --ray ADDRESS`: whole files fanned out to engine-holding Ray actors.

Same inputs, outputs and rules as `artify_stream.batch`: a folder is mirrored, finished outputs
are skipped (unless --overwrite), each output appears only when complete (the driver writes it
atomically), a broken file fails alone, the first Ctrl-C ends the batch and the next run goes
on from what is finished. At most `in_flight` files per worker travel at once (back-pressure:
the driver holds only those files' bytes). A worker process or node that dies costs only the
files it held: Ray restarts the actor and retries them (bounded by `retries`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from artify_stream.atomic import atomic_path
from artify_stream.batch import BatchReport, FileResult, mirrored_outputs
from artify_stream.errors import InputError, OutputError
from artify_stream.images import is_image_path
from artify_stream.outputs import check_output, same_file
from artify_stream.registry import resolve_model_path
from artify_stream.video import VideoOptions, is_video_path
from artify_stream.cluster.connect import ClusterError, connect
from artify_stream.cluster.worker import INPUT, FileOutcome, StylizeWorker


@dataclass(frozen=True)
class ClusterOptions:
    address: str = "local"
    workers: int | None = None  # None: one per GPU on GPU clusters, else one per CPU the cluster has
    cpus_per_worker: float = 1.0
    in_flight: int = 2  # files in flight per worker
    retries: int = 3  # actor restarts and task retries after a worker dies
    local_cpus: int | None = None  # for `local`: CPUs the in-process cluster gets

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ClusterError(f"--workers must be >= 1, got {self.workers}")


@dataclass
class NodeFigures:
    files: int = 0
    frames: int = 0
    busy_s: float = 0.0

    def to_dict(self) -> dict:
        return {"files": self.files, "frames": self.frames, "busy_s": round(self.busy_s, 3),
                "fps": round(self.frames / self.busy_s, 2) if self.busy_s else 0.0}


@dataclass
class ClusterReport(BatchReport):
    nodes: dict[str, NodeFigures] = field(default_factory=dict)
    engine: str = ""

    def to_dict(self) -> dict:
        return {**super().to_dict(), "engine": self.engine, "nodes": {k: v.to_dict() for k, v in self.nodes.items()}}


class RayBatch:
    def __init__(self, model: str | None, engine_options: dict, options: VideoOptions, cluster: ClusterOptions,
                 image_long_side: int | None = None, side_by_side: bool = False) -> None:
        self.model_path = resolve_model_path(model)
        self.engine_options = engine_options
        self.options = options
        self.cluster = cluster
        self.image_long_side = image_long_side if image_long_side is not None else options.long_side
        self.side_by_side = side_by_side

    def _pairs(self, source: Path, output: Path) -> list[tuple[Path, Path]]:
        if not source.exists():
            raise InputError(f"{source}: not found")
        if source.is_file():
            if not (is_image_path(source) or is_video_path(source)):
                raise InputError(f"{source}: not an image or video file this tool reads")
            if output.exists() and not self.options.overwrite:
                raise OutputError(f"{output}: exists (pass --overwrite to replace it)")
            return [(source, output)]
        return mirrored_outputs(source, output)

    def _workers(self, ray):
        gpus = int(ray.cluster_resources().get("GPU", 0))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = self.cluster.workers or (gpus or max(1, int(cpus // self.cluster.cpus_per_worker)))
        resources = {"num_gpus": 1} if gpus else {"num_cpus": self.cluster.cpus_per_worker}
        actor = ray.remote(max_restarts=self.cluster.retries, max_task_retries=self.cluster.retries,
                           **resources)(StylizeWorker)
        # Once; each node fetches it once. Kept referenced for the whole run: a restarted actor needs it again.
        self._model_ref = model = ray.put(self.model_path.read_bytes())
        options = dict(self.engine_options, device="cuda" if gpus else "cpu")
        return [actor.remote(model, self.model_path.name, options, self.options, self.image_long_side,
                             self.side_by_side) for _ in range(count)]

    def run(self, source: Path, output: Path, on_file: Callable[[FileResult], None] | None = None,
            on_frames: Callable[[int], None] | None = None) -> ClusterReport:
        source, output = Path(source), Path(output)
        pairs = self._pairs(source, output)
        report = ClusterReport()

        def record(result: FileResult) -> None:
            report.results.append(result)
            if on_file:
                on_file(result)

        todo = []
        for src, dst in pairs:
            if dst.exists() and same_file(src, dst):
                record(FileResult(src, dst, "failed", f"{dst}: is the input {src}; choose another output"))
            elif dst.exists() and not self.options.overwrite:
                record(FileResult(src, dst, "skipped", f"{dst}: exists (pass --overwrite to replace it)"))
            else:
                todo.append((src, dst))
        if not todo:
            return report
        ray = connect(self.cluster.address, self.cluster.local_cpus)
        workers = self._workers(ray)
        try:
            report.engine = ray.get(workers[0].engine_line.remote())
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"the workers could not build the engine: {exc}") from None
        pending: dict = {}  # object ref -> (source, output)
        free = [w for w in workers for _ in range(self.cluster.in_flight)]
        queue = list(todo)
        tries: dict[Path, int] = {}
        try:
            while queue or pending:
                while queue and free:
                    src, dst = queue.pop(0)
                    try:
                        check_output(dst, self.options.overwrite, inputs=[src], min_free=0)
                        data = src.read_bytes()
                    except (OutputError, OSError) as exc:
                        record(FileResult(src, dst, "failed", str(exc)))
                        continue
                    worker = free.pop(0)
                    pending[worker.stylize.remote(src.name, data)] = (src, dst, worker)
                if not pending:
                    break
                ready, _ = ray.wait(list(pending), num_returns=1)
                src, dst, worker = pending.pop(ready[0])
                free.append(worker)
                try:
                    outcome: FileOutcome = ray.get(ready[0])
                except ray.exceptions.RayError as exc:
                    # Ray retries a task on a restarted actor; past that, the driver requeues the file.
                    tries[src] = tries.get(src, 0) + 1
                    if tries[src] <= self.cluster.retries:
                        queue.append((src, dst))
                    else:
                        record(FileResult(src, dst, "failed", f"{src}: the worker failed {tries[src]} times "
                                                              f"({exc.__class__.__name__})"))
                    continue
                if outcome.status == "done":
                    with atomic_path(dst) as tmp:
                        tmp.write_bytes(outcome.data)
                    figures = report.nodes.setdefault(outcome.node, NodeFigures())
                    figures.files += 1
                    figures.frames += outcome.frames
                    figures.busy_s += outcome.seconds
                    if on_frames:
                        on_frames(outcome.frames)
                    record(FileResult(src, dst, "done", f"wrote {dst} ({outcome.frames} frames on {outcome.node})"))
                else:
                    record(FileResult(src, dst, "failed", outcome.message.replace(INPUT, str(src))))
        except KeyboardInterrupt:
            for src, dst, _ in pending.values():
                record(FileResult(src, dst, "interrupted", f"{src}: interrupted; run again to continue"))
            for src, dst in queue:
                record(FileResult(src, dst, "interrupted", f"{src}: not started; run again to continue"))
        finally:
            for worker in workers:
                ray.kill(worker)
        return report


