"""`--ray` on a real Ray cluster of two nodes on 127.0.0.1 (ray.cluster_utils.Cluster): a folder of
clips and images, a long clip cut into segments and joined frame-exact, a worker process killed
and a node removed mid-job, Ctrl-C on the driver and the run that continues, an unreachable address.
Nothing is mocked: the workers are real Ray actors in their own processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from artify_stream.registry import resolve_model
from engines.formats import BackendChoice, PrecisionChoice
from frontends.engine_for import EngineChoice
from pathlib import Path

import av
import pytest

from frontends.cluster.driver import ClusterOptions, RayBatch
from artify_stream.media_io import CompleteGops
from artify_stream.outputs import partial_path
from artify_stream.video import VideoOptions, VideoPipeline
from engines import create_engine
from tests.conftest import write_pictures
from tests.media import probe, write_clip

ray = pytest.importorskip("ray", reason="the cluster extra (ray) is not installed: pip install -e '.[cluster]'")
ENGINE = EngineChoice(BackendChoice.torch, PrecisionChoice.fp32)  # no CPU timing probe: fast to build
ARTIFY = Path(sys.executable).with_name("artify")


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    two_nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    two_nodes.add_node(num_cpus=1)
    ray.init(address=two_nodes.address, log_to_driver=False)
    yield two_nodes
    ray.shutdown()
    two_nodes.shutdown()


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """60 s at 10 fps with audio, a keyframe every 2 s."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    write_clip(path, frames=600, audio=True, gop=20)
    return path


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _busy_worker_pids() -> list[int]:
    """The processes of StylizeWorker actors stylizing a segment now (Ray names the method in the
    command line; an actor of an earlier run that is still exiting has none)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::StylizeWorker.stylize_segment"):
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


def _batch(model: Path, **cluster) -> RayBatch:
    return RayBatch(resolve_model(model), ENGINE, VideoOptions(), ClusterOptions(address="auto", workers=2, **cluster))


def test_a_folder_runs_on_both_nodes_and_a_broken_file_fails_alone(cluster, tiny_model, tmp_path):
    source = tmp_path / "in"
    write_pictures(source, 3)
    (source / "clips").mkdir()
    write_clip(source / "clips" / "a.mp4", frames=40, audio=True, gop=10)
    write_clip(source / "clips" / "b.mp4", frames=25, gop=30)
    (source / "clips" / "broken.mp4").write_bytes(b"not a clip")
    seen = []
    report = _batch(tiny_model, segment_seconds=1).run(source, tmp_path / "out", on_frames=lambda n, node: seen.append(n))
    assert report.counts()["done"] == 5 and report.counts()["failed"] == 1
    broken = next(r for r in report.results if r.status == "failed")
    assert str(source / "clips" / "broken.mp4") in broken.message
    a = probe(tmp_path / "out" / "clips" / "a.mp4")
    assert a["video_pts"] == probe(source / "clips" / "a.mp4")["video_pts"] and a["audio_packets"]
    assert _frames(tmp_path / "out" / "clips" / "b.mp4") == 25
    assert all((tmp_path / "out" / p.name).is_file() for p in source.glob("*.png"))
    assert len(report.nodes) == 2 and sum(seen) == 3 + 40 + 25  # both nodes worked; the bar counted every frame
    assert sum(n.segments for n in report.nodes.values()) == 4 + 1  # a.mp4 in 1 s segments, b.mp4 one keyframe
    assert _batch(tiny_model).run(source, tmp_path / "out").counts()["skipped"] == 5  # finished outputs are skipped


def test_a_60_s_clip_cut_into_segments_joins_frame_exact(cluster, tiny_model, long_clip, tmp_path):
    report = _batch(tiny_model, segment_seconds=10).run(long_clip, tmp_path / "joined.mp4")
    VideoPipeline(create_engine(tiny_model, "torch", "fp32", "cpu")).run(long_clip, tmp_path / "whole.mp4")
    joined, whole, source = probe(tmp_path / "joined.mp4"), probe(tmp_path / "whole.mp4"), probe(long_clip)
    assert report.counts()["done"] == 1
    assert sum(n.segments for n in report.nodes.values()) == 6 and len(report.nodes) == 2
    assert len(joined["video_pts"]) == 600
    assert joined["video_pts"] == whole["video_pts"] == source["video_pts"]  # nothing lost or repeated at a seam
    assert joined["audio_packets"] == source["audio_packets"]  # copied once
    assert joined["duration"] == pytest.approx(whole["duration"], abs=0.05)


def test_a_worker_killed_mid_job_costs_only_its_segment(cluster, tiny_model, long_clip, tmp_path):
    killed: list[int] = []

    def kill_a_worker(count: int, node: str) -> None:
        if not killed and (pids := _busy_worker_pids()):
            os.kill(pids[0], signal.SIGKILL)  # mid-segment: each worker holds work while segments are left
            killed.append(pids[0])

    report = _batch(tiny_model, segment_seconds=1).run(long_clip, tmp_path / "out.mp4", on_frames=kill_a_worker)
    assert killed and report.counts()["done"] == 1, [r.message for r in report.results]
    assert sum(n.retries for n in report.nodes.values()) >= 1
    assert probe(tmp_path / "out.mp4")["video_pts"] == probe(long_clip)["video_pts"]


@pytest.mark.timeout(600)  # two full CLI runs on a cluster: minutes on a loaded 2-core machine, never a hang
def test_ctrl_c_on_the_driver_leaves_a_playable_partial_and_the_next_run_continues(cluster, tiny_model, tmp_path):
    source, output = tmp_path / "long.mp4", tmp_path / "out.mp4"
    # 20 segments: work is left when the first finished one stops the run (800 frames took over
    # 5 minutes under a CPU hog and other jobs, and hit the suite's time-out).
    write_clip(source, frames=400, size=(96, 128), gop=20, audio=True)
    command = [str(ARTIFY), "stylize", str(source), str(output), "--model", str(tiny_model), "--engine", "torch",
               "--precision", "fp32", "--ray", cluster.address, "--workers", "2", "--segment-seconds", "2"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while CompleteGops.read(partial_path(output)) is None and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr
    assert not output.exists()
    kept = len(probe(partial_path(output))["video_pts"])
    assert 0 < kept < 400  # playable, the frames so far
    again = subprocess.run(command, capture_output=True, text=True, timeout=450)
    assert again.returncode == 0, again.stderr
    assert probe(output)["video_pts"] == probe(source)["video_pts"]
    assert probe(output)["audio_packets"] == probe(source)["audio_packets"]
    assert not partial_path(output).exists()


def test_an_unreachable_cluster_is_one_clear_line_and_exit_1(tmp_path):
    write_pictures(tmp_path / "in", 1)
    done = subprocess.run([str(ARTIFY), "stylize", str(tmp_path / "in"), str(tmp_path / "out"), "--ray", "127.0.0.1:9"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: --ray 127.0.0.1:9: cannot reach the cluster")
    assert not (tmp_path / "out").exists()


def test_a_node_removed_mid_job_costs_only_its_segments(cluster, tiny_model, long_clip, tmp_path):
    """Last in this module: it takes a node away (a spare one joins first, so the workers have room)."""
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    head = cluster.head_node.node_id[:8]
    removed: list[str] = []

    def remove_a_worker_node(count: int, node: str) -> None:
        if removed or node.endswith("/" + head):
            return
        lost = next(n for n in cluster.worker_nodes if node.endswith("/" + n.node_id[:8]))
        cluster.remove_node(lost)  # its raylet and every process on it go: a machine lost
        removed.append(node)

    report = _batch(tiny_model, segment_seconds=1).run(long_clip, tmp_path / "out.mp4", on_frames=remove_a_worker_node)
    assert removed and report.counts()["done"] == 1, [r.message for r in report.results]
    assert report.nodes[removed[0]].retries >= 1
    assert probe(tmp_path / "out.mp4")["video_pts"] == probe(long_clip)["video_pts"]
