"""`--ray` on a real two-node Ray cluster on 127.0.0.1 (ray.cluster_utils.Cluster): a folder of
clips and images, a worker process killed mid-job, an unreachable address."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import av
import pytest

from artify_stream.cluster.batch import ClusterOptions, RayBatch
from artify_stream.video import VideoOptions
from tests.conftest import write_pictures
from tests.media import write_clip

ray = pytest.importorskip("ray", reason="the cluster extra (ray) is not installed: pip install -e '.[cluster]'")
ENGINE = dict(backend="torch", precision="fp32")


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    two_nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    two_nodes.add_node(num_cpus=1)
    ray.init(address=two_nodes.address, log_to_driver=False)
    yield two_nodes
    ray.shutdown()
    two_nodes.shutdown()


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _folder(root: Path) -> Path:
    write_pictures(root / "in", 3)
    (root / "in" / "clips").mkdir()
    write_clip(root / "in" / "clips" / "a.mp4", frames=20, audio=True)
    write_clip(root / "in" / "clips" / "b.mp4", frames=25)
    (root / "in" / "clips" / "broken.mp4").write_bytes(b"not a clip")
    return root / "in"


def test_a_folder_runs_on_both_nodes_frame_exact_and_a_broken_file_fails_alone(cluster, tiny_model, tmp_path):
    source = _folder(tmp_path)
    batch = RayBatch(str(tiny_model), ENGINE, VideoOptions(), ClusterOptions(address="auto", workers=2))
    report = batch.run(source, tmp_path / "out")
    assert report.counts()["done"] == 5 and report.counts()["failed"] == 1
    broken = next(r for r in report.results if r.status == "failed")
    assert str(source / "clips" / "broken.mp4") in broken.message
    assert _frames(tmp_path / "out" / "clips" / "a.mp4") == 20 and _frames(tmp_path / "out" / "clips" / "b.mp4") == 25
    with av.open(str(tmp_path / "out" / "clips" / "a.mp4")) as container:
        assert container.streams.audio
    assert len(report.nodes) == 2  # two actors, one per node's CPU
    again = batch.run(source, tmp_path / "out")  # finished outputs are skipped
    assert again.counts()["skipped"] == 5


def test_a_worker_killed_mid_job_costs_only_its_file(cluster, tiny_model, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for i in range(6):
        write_clip(source / f"c{i}.mp4", frames=15)
    killed = []

    def kill_first_worker(result) -> None:
        if result.status == "done" and not killed:
            pid = int(result.message.rsplit(":", 1)[1].rstrip(")"))
            os.kill(pid, signal.SIGKILL)  # the worker process dies; Ray restarts it and retries its files
            killed.append(pid)

    batch = RayBatch(str(tiny_model), ENGINE, VideoOptions(), ClusterOptions(address="auto", workers=2, in_flight=2))
    report = batch.run(source, tmp_path / "out", on_file=kill_first_worker)
    assert killed and report.counts()["done"] == 6, [r.message for r in report.results]
    assert all(_frames(tmp_path / "out" / f"c{i}.mp4") == 15 for i in range(6))


def test_an_unreachable_cluster_is_one_clear_line_and_exit_1(tmp_path):
    import subprocess
    import sys

    write_pictures(tmp_path / "in", 1)
    artify = Path(sys.executable).with_name("artify")
    done = subprocess.run([str(artify), "stylize", str(tmp_path / "in"), str(tmp_path / "out"), "--ray", "127.0.0.1:9"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: --ray 127.0.0.1:9: cannot reach the cluster")
    assert not (tmp_path / "out").exists()
