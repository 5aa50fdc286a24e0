"""Alignment to the canonical crop and back, the one-euro filter, and tracking across frames."""

import numpy as np
import pytest

from artify_stream.face_mode.align import CANONICAL_EYES, aligned_crop, alignment, feathered_mask, paste
from artify_stream.face_mode.detect import detect_faces
from artify_stream.face_mode.track import FaceTracker, OneEuroFilter
from artify_stream.geometry import box_iou
from tests.face_mode.conftest import frame_with


def test_alignment_puts_the_eyes_level_at_their_canonical_places_and_paste_undoes_it():
    eyes = np.array([[300.0, 120.0], [340.0, 110.0]])  # a tilted face
    matrix = alignment(eyes, 256)
    mapped = eyes @ matrix[:, :2].T + matrix[:, 2]
    assert np.allclose(mapped, CANONICAL_EYES * 256, atol=1e-3)
    frame = np.random.default_rng(0).integers(0, 256, (240, 480, 3), dtype=np.uint8)
    crop = aligned_crop(frame, matrix, 256)
    canvas = frame.copy()
    paste(canvas, crop, np.ones((256, 256), np.float32), matrix)
    inside = (slice(100, 130), slice(305, 335))  # near the eyes: well inside the crop
    assert np.abs(canvas[inside].astype(int) - frame[inside].astype(int)).mean() < 25  # resampled twice, same place
    mask = feathered_mask(256)
    assert mask[120, 128] == pytest.approx(1.0) and mask[2, 2] == 0.0 and 0 < mask[128, 22] < 1  # soft edge


def test_one_euro_filter_steadies_a_still_point_and_follows_a_moving_one():
    rng = np.random.default_rng(1)
    still, f = [], OneEuroFilter(min_cutoff=1.0, beta=0.05)
    for i in range(60):
        still.append(f(np.array([100.0]) + rng.normal(0, 1.0, 1), i / 30))
    assert np.std(still[10:]) < 0.4  # jitter of 1 px cut to well under half
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    moving = [f(np.array([4.0 * i]), i / 30)[0] for i in range(60)]  # 120 px/s
    assert abs(moving[-1] - 4.0 * 59) < 12  # follows within a few frames' motion, no runaway lag


def test_faces_are_detected_with_landmarks_and_tiny_ones_need_upsampling(head):
    (face,) = detect_faces(frame_with([(head, 220, 80)]))
    assert face.points.shape == (5, 2) and face.width > 60
    left, right = face.eyes
    assert left[0] < right[0] and abs(left[1] - right[1]) < 8
    small = frame_with([(head[::2, ::2].copy(), 300, 150)])  # a face about 45 px wide
    assert detect_faces(small) == [] and len(detect_faces(small, upsample=2)) == 1


def test_tracking_follows_a_moving_face_smoothly_and_keeps_two_people_apart(head):
    tracker = FaceTracker(detect_every=5)
    mirrored = np.ascontiguousarray(head[:, ::-1])
    ids, eye_x = [], []
    for i in range(15):
        frame = frame_with([(head, 20 + 3 * i, 80), (mirrored, 420 - 3 * i, 80)])
        tracks = tracker.update(frame)
        assert len(tracks) == 2
        ids.append([t.id for t in tracks])
        eye_x.append(sorted(t.eyes[:, 0].mean() for t in tracks))
    assert all(i == [0, 1] for i in ids)  # the same two identities throughout
    steps = np.diff(np.array(eye_x)[:, 0])
    assert tracker.detections <= 4  # followed by landmarks between detections (15 frames, every 5th)
    assert steps[3:].min() > 1.0 and steps[3:].max() < 5.0  # moves at ~3 px/frame without jumps


def test_a_face_that_leaves_is_dropped_and_one_that_comes_is_a_new_identity(head):
    tracker = FaceTracker(detect_every=2)
    assert len(tracker.update(frame_with([(head, 220, 80)]))) == 1
    empty = frame_with([])
    for _ in range(3):
        tracks = tracker.update(empty)
    assert tracks == []
    (back,) = tracker.update(frame_with([(head, 220, 80)]))
    assert back.id == 1


def test_a_search_within_a_region_finds_the_face_in_frame_coordinates_and_nothing_elsewhere(head):
    frame = frame_with([(head, 220, 80)])
    (whole,) = detect_faces(frame)
    (near,) = detect_faces(frame, region=(160, 20, 480, 340))
    # The detector's window grid starts at the region's corner: the box may differ by a few px.
    assert box_iou(near.box, whole.box) > 0.6 and np.abs(near.eyes - whole.eyes).max() < 3
    assert detect_faces(frame, region=(0, 0, 200, 360)) == []


def test_followed_faces_are_detected_near_them_and_the_whole_frame_only_every_scan(head):
    tracker = FaceTracker(detect_every=5, scan_every=10)
    mirrored = np.ascontiguousarray(head[:, ::-1])
    counts = []
    for i in range(12):
        newcomer = [(mirrored, 420, 80)] if i >= 3 else []  # walks in at frame 3, far from the first face
        counts.append(len(tracker.update(frame_with([(head, 40, 80)] + newcomer))))
    assert counts == [1] * 10 + [2, 2]  # found by the whole-frame search at frame 10, not near the first face
    assert (tracker.scans, tracker.detections) == (2, 3)  # frames 0 and 10 whole, frame 5 near the face
