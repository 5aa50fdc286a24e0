"""The face-mode stylizer on frames, and `artify stylize --faces / --faces-only` through the CLI."""

import json

import numpy as np
import pytest

from artify_stream.face_mode import FaceOptions, FaceStylizer
from tests.face_mode.conftest import SAMPLE, frame_with, invert
from tests.test_cli_stylize import artify


def test_no_face_gives_exactly_the_whole_frame_cartoon_and_counts_zero():
    frame = frame_with([])[None]
    stylizer = FaceStylizer(invert)
    assert np.array_equal(stylizer(frame), invert(frame))
    assert stylizer.summary()["faces_stylized"] == 0


def test_each_face_is_stylized_from_its_own_aligned_crop_and_blended_in(head):
    calls = []

    def whole(frames):
        return np.zeros_like(frames)  # the frame's "cartoon": black

    def face_model(crops):
        calls.append(crops.shape)
        return np.full_like(crops, 200)  # the face's: light grey

    frame = frame_with([(head, 220, 80)])[None]
    out = FaceStylizer(whole, face_model)(frame)[0]
    assert calls == [(1, 256, 256, 3)]
    ys, xs = np.nonzero(out[..., 0] > 100)
    assert 220 <= xs.mean() <= 420 and 80 <= ys.mean() <= 280  # pasted where the face is
    edge = out[..., 0][(out[..., 0] > 0) & (out[..., 0] < 200)]
    assert edge.size > 200  # a feathered edge, not a hard cut


def _lined(shape, base, period: int, depth: int) -> np.ndarray:
    """`base` colour with a vertical dark line (`depth` grey levels darker) every `period` px."""
    out = np.empty(shape, np.int16)
    out[...] = base
    out[..., ::period, :] -= depth
    return np.clip(out, 0, 255).astype(np.uint8)


def _pasted(head, whole, face_model):
    """Face mode's output in YCrCb, and a function giving it at canonical-crop points."""
    import cv2

    stylizer = FaceStylizer(whole, face_model)
    out = stylizer(frame_with([(head, 220, 80)])[None])[0]
    inverse = cv2.invertAffineTransform(stylizer.last_faces[0].matrix)
    ycc = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb).astype(float)

    def at(points):
        xy = np.rint(points @ inverse[:, :2].T + inverse[:, 2]).astype(int)
        return ycc[xy[:, 1], xy[:, 0]]
    return at


def _line_strength(at, centre, radius=12) -> float:
    """Lightness spread along a short horizontal run of canonical points (crossing the face's lines)."""
    points = np.array([[centre[0] + dx * radius / 8, centre[1]] for dx in range(-8, 9)])
    return float(at(points)[:, 0].std())


def _ring_line_strength(at) -> float:
    """The same, averaged over the seam's inner ring (just inside the mask's edge)."""
    from artify_stream.evaluation.face_mode_figures import ring_points

    return float(np.mean([_line_strength(at, point) for point in ring_points(256)[0]]))


def test_near_its_edge_the_pasted_face_takes_the_frames_colour_and_line_strength(head):
    from artify_stream.evaluation.face_mode_figures import ring_points

    def whole(frames):  # the frame's cartoon: grey with faint lines every 8 px
        return _lined(frames.shape, 128, 8, 12)

    def face_model(crops):  # the face's: 8 px colour blocks (red, teal) of one lightness, strong dark lines every 4 px
        out = np.empty(crops.shape, np.int16)
        out[...] = (200, 110, 110)
        checker = (np.add.outer(np.arange(crops.shape[1]) // 8, np.arange(crops.shape[2]) // 8) % 2).astype(bool)
        out[:, checker] = (100, 155, 155)
        out[:, :, ::4] -= 80  # a line is darker, not another colour
        return out.astype(np.uint8)

    at = _pasted(head, whole, face_model)
    inner, _ = ring_points(256)
    centre = at(np.array([[120.0 + dx, 128.0] for dx in range(1, 16, 2)]))
    assert np.ptp(centre[:, 1]) > 40  # inside, the face's own colours
    assert np.abs(at(inner)[:, 1:] - 128).mean() < 8  # at the edge, the frame's grey (the colour match alone: 17)
    assert _line_strength(at, (128, 110)) > 20  # inside, the face's strong lines untouched
    # Just inside the edge, the face's lines are brought down to about the frame's strength (the
    # frame's own there: about 3 grey levels; the face's unsoftened: about 25).
    assert _ring_line_strength(at) < 8


def test_the_face_s_lines_are_never_strengthened_at_the_edge():
    # On the crops themselves: a face drawn more faintly than the frame there comes back as it was.
    stylizer = FaceStylizer(invert)
    faint = _lined((256, 256, 3), 128, 4, 12).astype(np.float32)
    strong = _lined((256, 256, 3), 128, 8, 90).astype(np.float32)
    assert np.abs(stylizer._soften_lines(faint, strong) - faint).max() < 1e-3
    softened = stylizer._soften_lines(strong, faint)  # the other way round: softened at the edge only
    assert np.abs(softened - strong)[128, 100:156].max() < 1e-3  # the face's middle untouched
    assert np.ptp(softened[128, 4:24, 0]) < 0.5 * np.ptp(strong[128, 4:24, 0])


def test_a_face_cut_by_the_border_and_the_face_limit(head):
    stylizer = FaceStylizer(invert, options=FaceOptions(max_faces=2))
    cut = frame_with([(head, -60, 80)])  # part of the head outside the frame
    assert stylizer(cut[None]).shape == (1, 360, 640, 3)
    assert stylizer.summary()["faces_stylized"] == 1  # found and pasted back (the crop's outside reflected)
    three = frame_with([(head, 0, 80), (head, 230, 80), (head, 460, 80)], size=(360, 660))
    stylizer = FaceStylizer(invert, options=FaceOptions(max_faces=2))
    stylizer(three[None])
    assert stylizer.summary()["faces_stylized"] == 2


def test_a_batch_of_frames_gives_what_the_frames_one_by_one_give(head):
    """A video batch (4 frames on a GPU): each frame's faces are pasted where that frame has them."""
    frames = np.stack([frame_with([(head, 200 + 12 * i, 80)]) for i in range(3)])
    batched = FaceStylizer(invert)(frames)
    single = FaceStylizer(invert)
    one_by_one = np.concatenate([single(frames[i:i + 1]) for i in range(3)])
    assert np.array_equal(batched, one_by_one)


def test_two_engines_drawing_frame_and_faces_at_once_give_what_one_engine_gives(head):
    """On the CPU `--faces` builds a second engine for the faces and draws the frame on a worker
    meanwhile: the frames must come out as one engine, one step after the other, draws them."""
    frames = [frame_with([(head, 200 + 12 * i, 80)]) for i in range(4)] + [frame_with([])]
    second = lambda crops: invert(crops)  # noqa: E731 (another engine of the same "model")
    together, alone = FaceStylizer(invert, second), FaceStylizer(invert)
    assert together._frame_turns is not None and alone._frame_turns is None
    for frame in frames:
        assert np.array_equal(together(frame[None]), alone(frame[None]))
    assert together.summary() == alone.summary()


def test_frames_drawn_ahead_by_engines_in_turn_come_out_as_one_by_one(head):
    """Live mode draws frame N+1 before it finishes (pastes the faces of) frame N, and on the CPU
    draws the frames' cartoons by two engines in turn: each frame must come out as face mode draws
    it alone, one frame after the other, and the engines must take turns."""
    frames = [frame_with([(head, 200 + 12 * i, 80)]) for i in range(4)] + [frame_with([]), frame_with([(head, 250, 80)])]
    drawn_by = []

    def engine(name):
        def draw(batch):
            drawn_by.append(name)
            return invert(batch)
        return draw

    ahead = FaceStylizer(engine("a"), invert, more_frame_engines=[engine("b")])
    alone = FaceStylizer(invert)
    previous, out = None, []
    for frame in frames:
        buffer = frame[None].copy()
        drawing = ahead.draw(buffer)
        buffer[...] = 0  # the caller reuses its buffer at once (live mode resizes the next frame into it)
        if previous is not None:
            out.append(ahead.finish(previous)[0])
        previous = drawing
    out.append(ahead.finish(previous)[0])
    for frame, got in zip(frames, out):
        assert np.array_equal(got, alone(frame[None])[0])
    assert drawn_by == ["a", "b"] * 3
    assert ahead.summary() == alone.summary()


def test_cli_faces_and_faces_only(tiny_model, tmp_path):
    r = artify("stylize", SAMPLE, tmp_path / "out.png", "--model", tiny_model, "--faces", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["faces"]["faces_stylized"] == 1 and (tmp_path / "out.png").exists()
    plain = tmp_path / "plain.png"
    from PIL import Image

    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(plain)
    r = artify("stylize", plain, tmp_path / "plain-out.png", "--model", tiny_model, "--faces", "--json")
    assert r.returncode == 0 and json.loads(r.stdout.strip().splitlines()[-1])["faces"]["faces_stylized"] == 0
    r = artify("stylize", SAMPLE, tmp_path / "avatars", "--model", tiny_model, "--faces-only")
    assert r.returncode == 0, r.stderr
    (crop,) = (tmp_path / "avatars").iterdir()
    assert crop.name == "astronaut-eileen-collins.face-0.png" and np.asarray(Image.open(crop)).shape == (256, 256, 3)
    r = artify("stylize", SAMPLE, tmp_path / "avatars", "--model", tiny_model, "--faces-only")
    assert r.returncode == 1 and "face-0.png" in r.stderr  # nothing overwritten without --overwrite


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_cli_live_in_face_mode_tracks_one_face(tiny_model, tmp_path, head, engine):
    """On ONNX Runtime on the CPU, live face mode draws two frames at once (engines in turn)."""
    import av

    clip = tmp_path / "cam.mp4"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i in range(30):  # the head drifting right, 1 px a frame (a dropped frame or ten stays a small step)
            frame = av.VideoFrame.from_ndarray(frame_with([(head, 200 + i, 80)]), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    r = artify("live", clip, "--to", tmp_path / "rec.mp4", "--model", tiny_model, "--engine", engine, "--faces",
               "--json")  # played at its own pace (2 s), as a camera would
    assert r.returncode == 0, r.stderr
    assert ("2 frames drawn at once" in r.stderr) == (engine == "onnx")
    faces = json.loads(r.stdout.strip().splitlines()[-1])["faces"]
    # How many frames are stylized depends on the CPU's load; each has the one face, one identity.
    assert faces["identities"] == 1 and faces["faces_stylized"] == faces["frames"] > 0


def test_a_bundled_model_draws_faces_with_its_bundled_face_model(tmp_path):
    from PIL import Image

    outputs = {}
    for name, extra in (("own", ()), ("itself", ("--face-model", "artify-draw-lite"))):
        out = tmp_path / f"{name}.png"
        r = artify("stylize", SAMPLE, out, "--model", "artify-draw-lite", "--engine", "onnx", "--faces", "--json", *extra)
        assert r.returncode == 0, r.stderr
        outputs[name] = (json.loads(r.stdout.strip().splitlines()[-1])["faces"], np.asarray(Image.open(out), np.int16))
    (own_faces, own), (itself_faces, itself) = outputs["own"], outputs["itself"]
    assert own_faces["face_model"] == "artify-face-lite" and itself_faces["face_model"] == "artify-draw-lite"
    assert np.array_equal(own[-40:, -40:], itself[-40:, -40:])  # far from the face: the frame's cartoon alike
    assert np.abs(own[61:133, 133:205] - itself[61:133, 133:205]).mean() > 1  # the face (dlib: 133,61-205,133): another model
