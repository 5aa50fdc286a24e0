"""One writer per output: two real `artify stylize` processes on one output, or on one folder,
never leave a short file reported as done; only our own `.partial` files are passed over."""

import logging

import pytest

from artify_stream.batch import mirrored_outputs
from artify_stream.errors import OutputError
from artify_stream.output_lock import OutputLock, is_our_partial, mark_path
from artify_stream.outputs import partial_path
from tests.media import probe, write_clip
from tests.test_stops import start, stylize


def test_a_second_lock_on_one_output_is_a_clear_error_and_the_mark_goes_with_the_work(tmp_path):
    out = tmp_path / "out.mp4"
    with OutputLock(out):
        assert mark_path(out).exists()
        with pytest.raises(OutputError, match=r"out\.mp4: another artify job is writing it"):
            OutputLock(out).acquire()
    assert not mark_path(out).exists()  # no partial left: nothing to mark
    partial_path(out).write_bytes(b"frames so far")
    with OutputLock(out):
        pass
    assert is_our_partial(partial_path(out))  # an interrupted job's partial stays marked as ours
    with OutputLock(out):  # free again: a later run may take it over
        pass


def test_a_job_whose_output_another_process_is_writing_says_so_and_touches_nothing(tiny_model, tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=30, size=(96, 128), fps=30, audio=True)
    partial_path(dst).write_bytes(b"the other job's frames so far")
    with OutputLock(dst):  # held by this (other) process, as a running job holds it
        job = stylize(tiny_model, src, dst)
        _, err = job.communicate(timeout=120)
    assert job.returncode == 1 and "out.mp4: another artify job is writing it" in err, err
    assert partial_path(dst).read_bytes() == b"the other job's frames so far" and not dst.exists()
    job = stylize(tiny_model, src, dst)  # once it is free, the next run takes over
    _, err = job.communicate(timeout=120)
    assert job.returncode == 0, err
    assert probe(dst)["video_pts"] == probe(src)["video_pts"]
    assert not partial_path(dst).exists() and not mark_path(dst).exists()


def test_two_folder_jobs_into_one_folder_never_leave_a_short_file(tiny_model, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a", "b", "c"):
        write_clip(src / f"{name}.mp4", frames=150, size=(96, 128), fps=30, audio=True)
    jobs = [start("stylize", src, out, "--model", tiny_model, "--engine", "torch", "--precision", "fp32") for _ in range(2)]
    results = [(job.wait(timeout=240), job.communicate()[1]) for job in jobs]
    for code, err in results:  # each either did its part or said which files the other was writing
        assert code == 0 or (code == 1 and "another artify job is writing it" in err), err
    for name in ("a", "b", "c"):
        expected = probe(src / f"{name}.mp4")
        assert probe(out / f"{name}.mp4")["video_pts"] == expected["video_pts"]
        assert probe(out / f"{name}.mp4")["audio_packets"] == expected["audio_packets"]
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "c.mp4"]


def test_only_our_partials_are_passed_over_in_an_input_folder(tmp_path, caplog):
    src = tmp_path / "in"
    src.mkdir()
    write_clip(src / "interview.partial.mp4", frames=5)  # the user's own file, named so
    write_clip(src / "talk.partial.mp4", frames=5)  # an earlier job's unfinished output (marked)
    mark_path(src / "talk.mp4").touch()
    with caplog.at_level(logging.WARNING):
        pairs = mirrored_outputs(src, tmp_path / "out")
    assert [p.name for p, _ in pairs] == ["interview.partial.mp4"]
    assert "talk.partial.mp4" in caplog.text and "unfinished output of an earlier artify job" in caplog.text


def test_the_cli_stylizes_a_users_file_named_partial(tiny_model, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_clip(src / "interview.partial.mp4", frames=5)
    job = start("stylize", src, tmp_path / "out", "--model", tiny_model, "--engine", "torch")
    _, err = job.communicate(timeout=120)
    assert job.returncode == 0, err
    assert len(probe(tmp_path / "out" / "interview.partial.mp4")["video_pts"]) == 5
