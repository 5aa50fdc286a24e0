"""`artify stylize IN OUT --ray ADDRESS`: images and clip segments fanned out to engine-holding Ray actors.

Same inputs, outputs and rules as `artify_stream.batch`: a folder is mirrored, finished outputs
are skipped (unless --overwrite), each output appears only when complete, a broken file fails
alone, Ctrl-C ends the batch with each open clip's frames so far in its NAME.partial.EXT, and
the next run continues from there. Clips are cut at keyframes (`segments`), the segments
stylized and encoded on the workers and joined on the driver by stream copy (`join`).

Back-pressure: at most `in_flight` tasks per worker travel at once, and segments that arrive
early wait (bounded) for the one before them, so the driver's memory is flat for any length.
A worker process or node that dies costs only the tasks it held: the driver sends them to
another worker (at most `retries` times each) and sends the dead one work again once Ray has
restarted it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av

from artify_stream.batch import BatchReport, FileResult, NodeFigures, batch_pairs, settled_already
from frontends.cluster.connect import ClusterError, connect
from artify_stream.segments.join import SegmentJoiner
from artify_stream.segments.cut import (DEFAULT_SEGMENT_SECONDS, EncodedSegment, Segment, SegmentPlan,
                                            check_frames)
from frontends.cluster.worker import INPUT, Failed, StylizedImage, StylizeWorker
from frontends.engine_for import EngineChoice
from artify_stream.errors import ArtifyError, OutputError
from artify_stream.media_io import expected_frames, open_input
from artify_stream.clip_plan import ClipPlan, plan_clip
from artify_stream.model_file import ModelRef
from artify_stream.output_slot import OutputSlot
from artify_stream.timeline import Retiming
from artify_stream.video import VideoOptions, VideoReport, is_video_path

_WAIT_S = 2.0  # how often the driver looks up from waiting (Ctrl-C, a worker that does not come back)


@dataclass(frozen=True)
class ClusterOptions:
    address: str = "local"
    workers: int | None = None  # None: one per GPU on GPU clusters, else one per CPU the cluster has
    cpus_per_worker: float = 1.0
    in_flight: int = 2  # tasks in flight per worker: one working, one on its way
    retries: int = 3  # times a task is sent again after its worker died; also Ray's actor restarts
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS  # 0: each clip whole
    revive_timeout_s: float = 180.0  # with work left and no worker answering for this long: give up
    local_cpus: int | None = None  # for `local`: CPUs the in-process cluster gets

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ClusterError(f"--workers must be >= 1, got {self.workers}")
        if self.segment_seconds < 0:
            raise ClusterError(f"--segment-seconds must be >= 0, got {self.segment_seconds}")


@dataclass
class _Clip:
    """One video being done: its segments are cut lazily and joined in order."""

    source: Path
    output: Path
    plan: ClipPlan
    segments: SegmentPlan
    joiner: SegmentJoiner
    report: VideoReport
    started: float
    cut_done: bool = False
    over: bool = False  # finished or failed

    def take(self, segment: Segment, encoded: EncodedSegment) -> None:
        """A worker's segment into the joined file (in order); raises ArtifyError for one that lost frames."""
        check_frames(self.source, segment, encoded)
        self.report.damaged_at.extend(encoded.damaged_at)  # skipped, as one process does; said in the summary
        self.joiner.write(encoded)


@dataclass
class _Task:
    source: Path
    output: Path
    clip: _Clip | None = None
    segment: Segment | None = None
    tries: int = 0


class RayBatch:
    def __init__(self, model: ModelRef, engine_choice: EngineChoice, options: VideoOptions, cluster: ClusterOptions,
                 image_long_side: int | None = None, side_by_side: bool = False) -> None:
        self.model = model
        self.engine_choice = engine_choice
        self.options = options
        self.cluster = cluster
        self.image_long_side = image_long_side if image_long_side is not None else options.long_side
        self.side_by_side = side_by_side

    # ---- the pieces ---------------------------------------------------------------------------
    def start_workers(self, ray) -> list:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = self.cluster.workers or (gpus or max(1, int(cpus // self.cluster.cpus_per_worker)))
        resources = {"num_gpus": 1} if gpus else {"num_cpus": self.cluster.cpus_per_worker}
        # Retries are the driver's (it sends the task to any worker); Ray only restarts the actor.
        actor = ray.remote(max_restarts=self.cluster.retries, max_task_retries=0, scheduling_strategy="SPREAD",
                           **resources)(StylizeWorker)
        # Once; each node fetches it once. Kept referenced for the whole run: a restarted actor needs it again
        # (what Ray's warning about constructor arguments in the object store is about).
        self._model_in_store = model = ray.put(self.model)  # the resolved reference, its bytes inside
        choice = self.engine_choice.on("cuda" if gpus else "cpu")
        return [actor.remote(model, choice, self.image_long_side, self.side_by_side) for _ in range(count)]

    def open_clip(self, source: Path, output: Path) -> _Clip:
        """Raises ArtifyError for a clip that cannot be read or written."""
        slot = OutputSlot(source, output, self.options.overwrite, self.options.keep_partial)
        slot.check(min_free=0)
        with open_input(source) as container:
            plan = plan_clip(container, source, output, self.options.long_side, self.options.encoder, self.options.batch)
            # The streams the one-process pipeline demuxes together: the same re-timing, exactly.
            copied = [container.streams.video[0], *container.streams.audio, *container.streams.subtitles]
            retiming = Retiming.scan(container, copied)
        keep = slot.claim(plan.size, plan.encoder.codec)  # the joiner settles or abandons the slot
        try:
            skip_before = round(keep.restart_pts * keep.time_base / plan.time_base) if keep else None  # source pts
            report = VideoReport(source, output, expected_frames=plan.expected_frames, retimed_at=retiming.jumps)
        except BaseException:
            slot.release()
            raise
        joiner = SegmentJoiner(slot, plan, report, retiming)
        plan_segments = SegmentPlan(source, self.cluster.segment_seconds, skip_before, retiming)
        return _Clip(source, output, plan, plan_segments, joiner, report, time.perf_counter())

    @staticmethod
    def planned_frames(pairs: list[tuple[Path, Path]]) -> int:
        """What the progress bar counts to: each clip's frames as its header says, one per image."""
        total = 0
        for source, _ in pairs:
            if not is_video_path(source):
                total += 1
                continue
            try:
                with av.open(str(source)) as container:
                    total += expected_frames(container.streams.video[0]) or 0
            except (av.error.FFmpegError, IndexError, OSError):
                pass
        return total

    # ---- the run ----------------------------------------------------------------------------------
    def run(self, source: Path, output: Path, on_file: Callable[[FileResult], None] | None = None,
            on_frames: Callable[[int, str], None] | None = None,
            on_start: Callable[[int], None] | None = None) -> BatchReport:
        """`on_start(total frames)` once the work is known; `on_frames(n, node)` as a node finishes frames."""
        source, output = Path(source), Path(output)
        pairs = batch_pairs(source, output)
        return _Run(self, pairs, source.is_file(), on_file, on_frames, on_start).go()


class _Run:
    """One `RayBatch.run`: the dispatch loop and its bookkeeping."""

    def __init__(self, batch: RayBatch, pairs, single: bool, on_file, on_frames, on_start) -> None:
        self.batch, self.options, self.cluster = batch, batch.options, batch.cluster
        self.pairs, self.single = pairs, single
        self.on_file, self.on_frames, self.on_start = on_file, on_frames, on_start
        self.report = BatchReport()
        self.clips: list[_Clip] = []
        self.not_started: deque[tuple[Path, Path]] = deque()
        self.pending_images: list[tuple[Path, Path]] = []  # sent, not back: for the Ctrl-C summary

    def record(self, result: FileResult) -> None:
        self.report.results.append(result)
        if self.on_file:
            self.on_file(result)

    def frames_done(self, count: int, node: str) -> None:
        if self.on_frames and count:
            self.on_frames(count, node)

    def go(self) -> BatchReport:
        start = time.perf_counter()
        for src, dst in self.pairs:
            if (settled := settled_already(src, dst, self.options.overwrite)) is None:
                self.not_started.append((src, dst))
            elif self.single and settled.status == "skipped":
                raise OutputError(settled.message)
            else:
                self.record(settled)
        if not self.not_started:
            return self.report
        if self.on_start:
            self.on_start(self.batch.planned_frames(list(self.not_started)))
        ray = connect(self.cluster.address, self.cluster.local_cpus)
        workers = self.batch.start_workers(ray)
        self.report.workers = len(workers)
        try:
            try:
                self.report.engine = ray.get(workers[0].engine_line.remote())
            except ray.exceptions.RayError as exc:
                raise ClusterError(f"the workers could not build the engine: {exc}") from None
            self._dispatch(ray, workers)
        except KeyboardInterrupt:
            self._interrupted()
        finally:
            for clip in self.clips:
                if not clip.over:  # an error of the whole run: no half-written output left behind
                    clip.joiner.abandon()
            for worker in workers:
                ray.kill(worker)
            self.report.seconds = time.perf_counter() - start
        return self.report

    # ---- tasks ---------------------------------------------------------------------------------
    def _tasks(self) -> Iterator[_Task]:
        """Tasks in file order, clips opened and cut only as their segments are asked for."""
        while self.not_started:
            src, dst = self.not_started[0]
            if not is_video_path(src):
                self.not_started.popleft()
                yield _Task(src, dst)
                continue
            try:
                clip = self.batch.open_clip(src, dst)
            except ArtifyError as exc:
                self.not_started.popleft()
                self.record(FileResult(src, dst, "failed", str(exc)))
                continue
            self.clips.append(clip)
            self.not_started.popleft()
            try:
                for segment in clip.segments:
                    yield _Task(src, dst, clip, segment)
                    if clip.over:
                        break
            except ArtifyError as exc:
                self._fail(clip, str(exc))
                continue
            clip.cut_done = True
            self._finish_if_complete(clip)

    def _fail(self, clip: _Clip, message: str) -> None:
        if clip.over:
            return
        clip.over = True
        clip.joiner.abandon()
        self.record(FileResult(clip.source, clip.output, "failed", message))

    def _finish_if_complete(self, clip: _Clip) -> None:
        if clip.over or not clip.cut_done or clip.joiner.next_index < clip.segments.count:
            return
        clip.over = True
        try:
            clip.joiner.close()
        except ArtifyError as exc:
            self.record(FileResult(clip.source, clip.output, "failed", str(exc)))
            return
        report = clip.report
        report.seconds = time.perf_counter() - clip.started
        report.hidden_frames = clip.segments.hidden
        self.record(FileResult(clip.source, clip.output, report.status, report.message(), report.to_dict()))

    def _interrupted(self) -> None:
        for clip in self.clips:
            if not clip.over:
                clip.over = True
                clip.joiner.close(interrupted=True)
                clip.report.seconds = time.perf_counter() - clip.started
                self.record(FileResult(clip.source, clip.output, "interrupted", clip.report.message(),
                                       clip.report.to_dict()))
        for src, dst in self.pending_images + list(self.not_started):
            self.record(FileResult(src, dst, "interrupted", f"{src}: not finished; run again to continue"))

    # ---- the loop -----------------------------------------------------------------------------
    def _dispatch(self, ray, workers: list) -> None:
        cluster = self.cluster
        capacity = len(workers) * cluster.in_flight
        free: list[int] = [i for i in range(len(workers)) for _ in range(cluster.in_flight)]
        held: dict[int, int] = {}  # worker -> slots it had when it died, given back when it answers again
        reviving: dict = {}  # ping ref -> worker
        pending: dict = {}  # task ref -> (task, worker)
        node_of: dict[int, str] = {}
        retry: deque[_Task] = deque()
        tasks = self._tasks()
        exhausted = False
        quiet_since = time.perf_counter()

        def buffered() -> int:
            return sum(c.joiner.buffered for c in self.clips if not c.over)

        while True:
            while free and (retry or not exhausted) and len(pending) + buffered() < 2 * capacity:
                task = retry.popleft() if retry else next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                if task.clip is not None and task.clip.over:
                    continue
                worker = free.pop(0)
                pending[self._send(workers[worker], task)] = (task, worker)
            self.pending_images = [(t.source, t.output) for t, _ in pending.values() if t.clip is None]
            if not pending and (exhausted and not retry):
                return
            if not pending and not reviving:
                raise ClusterError("every worker died and none could be restarted; the rest of the batch was not done")
            ready, _ = ray.wait([*pending, *reviving], num_returns=1, timeout=_WAIT_S)
            if not ready:
                if not pending and time.perf_counter() - quiet_since > cluster.revive_timeout_s:
                    raise ClusterError(f"no worker came back within {cluster.revive_timeout_s:.0f} s "
                                       "(a lost node, and no room for its workers elsewhere?)")
                continue
            quiet_since = time.perf_counter()
            ref = ready[0]
            if ref in reviving:
                worker = reviving.pop(ref)
                try:
                    ray.get(ref)
                    free.extend([worker] * held.pop(worker, 0))
                except ray.exceptions.RayError:
                    held.pop(worker, None)  # past its restarts: it gets no more work
                continue
            task, worker = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as exc:
                # The worker process or its node died: the task goes to another worker, and this
                # worker gets work again once Ray has restarted it (a ping answers).
                held[worker] = held.get(worker, 0) + 1
                if worker not in reviving.values():
                    reviving[workers[worker].engine_line.remote()] = worker
                node = node_of.get(worker, "?")
                self.report.nodes.setdefault(node, NodeFigures()).retries += 1
                task.tries += 1
                if task.tries <= cluster.retries:
                    retry.appendleft(task)  # first: a clip's next segment holds up the ones after it
                else:
                    message = f"{task.source}: its worker died {task.tries} times ({exc.__class__.__name__})"
                    self._task_failed(task, message)
                continue
            free.append(worker)
            node_of[worker] = getattr(outcome, "node", node_of.get(worker, "?"))
            self._take(task, outcome)

    def _send(self, worker, task: _Task):
        if task.clip is not None:
            return worker.stylize_segment.remote(task.clip.plan, task.segment)
        return worker.stylize_image.remote(task.source.name, task.source.read_bytes(), self.options.overwrite)

    def _task_failed(self, task: _Task, message: str) -> None:
        if task.clip is not None:
            self._fail(task.clip, message)
        else:
            self.record(FileResult(task.source, task.output, "failed", message))

    def _take(self, task: _Task, outcome) -> None:
        if isinstance(outcome, Failed):
            self._task_failed(task, outcome.message.replace(INPUT, str(task.source)))
            return
        figures = self.report.nodes.setdefault(outcome.node, NodeFigures())
        figures.busy_s += outcome.seconds
        if isinstance(outcome, StylizedImage):
            try:
                OutputSlot(task.source, task.output, self.options.overwrite).write_bytes(outcome.data)
            except (OutputError, OSError) as exc:
                self.record(FileResult(task.source, task.output, "failed", str(exc)))
                return
            figures.images += 1
            figures.frames += 1
            self.frames_done(1, outcome.node)
            self.record(FileResult(task.source, task.output, "done", f"wrote {task.output} (on {outcome.node})"))
            return
        clip = task.clip
        if clip.over:
            return
        assert isinstance(outcome, EncodedSegment)
        try:
            clip.take(task.segment, outcome)
        except ArtifyError as exc:
            self._fail(clip, str(exc))
            return
        figures.segments += 1
        figures.frames += outcome.frames
        self.frames_done(outcome.frames, outcome.node)
        self._finish_if_complete(clip)
