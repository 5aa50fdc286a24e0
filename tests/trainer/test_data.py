import logging
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from artify_stream.errors import InputError
from trainer.data import (CartoonCrops, EdgeSmoothedCartoons, PhotoCrops, balanced_weights, edge_smooth, load_cartoon_source,
                          load_cartoons, load_photos, split_photos)
from tests.conftest import make_picture, write_pictures


def write_clip(path, frames=12, size=(48, 64)):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(make_picture(*size, seed=i), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def test_photos_are_found_recursively_and_broken_ones_skipped_by_name(tmp_path, caplog):
    write_pictures(tmp_path / "a", 2, suffix=".png")
    write_pictures(tmp_path / "a" / "b", 2, suffix=".jpg")
    (tmp_path / "a" / "b" / "corrupt.jpg").write_bytes(b"nope")
    with caplog.at_level(logging.WARNING):
        paths, photos = load_photos(tmp_path / "a")
    assert len(photos) == 4 == len(paths) and not any(p.name == "corrupt.jpg" for p in paths)
    assert "corrupt.jpg" in caplog.text


def test_folder_without_usable_images_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hi")
    with pytest.raises(InputError, match="no usable photo"):
        load_photos(tmp_path / "empty")
    with pytest.raises(InputError, match="not found"):
        load_photos(tmp_path / "missing")


def test_cartoon_frames_are_sampled_from_a_clip(tmp_path):
    clip = tmp_path / "toon.mp4"
    write_clip(clip, frames=12)
    frames = load_cartoon_source(clip, frame_step=5)
    assert len(frames) == 3 and frames[0].shape == (48, 64, 3)
    # a folder mixing a clip and images uses both
    write_pictures(tmp_path, 2)
    assert len(load_cartoon_source(tmp_path, frame_step=4)) == 3 + 2


def test_edge_smoothing_blurs_only_near_edges():
    img = np.zeros((40, 40, 3), np.uint8)
    img[:, 20:] = 255  # one vertical edge
    img[5, 5] = 0
    out = edge_smooth(img, kernel=5)
    changed = np.argwhere((out != img).any(-1))
    assert len(changed) > 0
    assert np.all(np.abs(changed[:, 1] - 20) <= 5)  # nothing far from the edge moved


def test_edge_smoothed_cartoons_are_cached(tmp_path):
    cartoons = [make_picture(32, 32, seed=s) for s in range(3)]
    smoother = EdgeSmoothedCartoons(tmp_path / "cache", kernel=5)
    first = smoother(cartoons)
    files = sorted((tmp_path / "cache").glob("*.png"))
    assert len(files) == 3
    mtimes = [f.stat().st_mtime_ns for f in files]
    second = smoother(cartoons)
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_crops_are_deterministic_per_epoch_and_pair_aligned():
    photos = [make_picture(40, 50, seed=i) for i in range(3)]
    ds = PhotoCrops(photos, 16, seed=7)
    a = ds[1].photo
    assert a.shape == (3, 16, 16) and 0 <= a.min() and a.max() <= 1
    assert (ds[1].photo == a).all()
    ds.set_epoch(1)
    assert not (ds[1].photo == a).all()
    cartoons = [make_picture(40, 50, seed=i) for i in range(2)]
    pair = CartoonCrops(cartoons, [c.copy() for c in cartoons], 16, seed=0)[0]
    assert (pair[0] == pair[1]).all()  # same crop and flip of cartoon and its smoothed copy


def test_small_images_are_upscaled_to_the_crop():
    ds = PhotoCrops([make_picture(10, 12)], 32, seed=0)
    assert ds[0].photo.shape == (3, 32, 32)


def test_validation_split_is_seeded_disjoint_and_needs_enough_photos(tmp_path):
    train, val = split_photos(50, 32, 8, seed=0, root=tmp_path)
    assert len(val) == 32 and len(train) == 18 and not set(train) & set(val)
    assert (train, val) == split_photos(50, 32, 8, seed=0, root=tmp_path)
    assert val != split_photos(50, 32, 8, seed=1, root=tmp_path)[1]
    with pytest.raises(InputError, match="fewer than 32 held back"):
        split_photos(39, 32, 8, seed=0, root=tmp_path)


def test_a_balanced_validation_split_holds_the_small_groups_and_leaves_each_half_to_train_on(tmp_path):
    """32 drawn at random from the kit hold about one of its 26 scenes; drawn in turn from each group,
    the pick sees scenes and dark skin, and no group gives up more than half its photos."""
    groups = ["light"] * 60 + ["no face"] * 6 + ["brown-dark"] * 10 + ["tan"] * 2
    train, val = split_photos(len(groups), 12, 4, seed=0, root=tmp_path, groups=groups)
    held = [groups[i] for i in val]
    assert len(val) == 12 and not set(train) & set(val) and len(train) + len(val) == len(groups)
    assert held.count("no face") == 3 and held.count("brown-dark") == 4 and held.count("tan") == 1  # half of 6, 4 in turn, half of 2
    assert (train, val) == split_photos(len(groups), 12, 4, seed=0, root=tmp_path, groups=groups)
    random_val = split_photos(len(groups), 12, 4, seed=0, root=tmp_path)[1]
    assert [groups[i] for i in random_val].count("light") > held.count("light")
    with pytest.raises(InputError, match="half its photos"):
        split_photos(len(groups), 42, 4, seed=0, root=tmp_path, groups=groups)  # 30 + 3 + 5 + 1 = 39 can be given


def test_balanced_skin_tones_weigh_each_group_alike(tmp_path):
    """Three photos of one light-skinned face, one darkened copy and two pictures without a face: the
    lone dark-skinned photo is drawn as often as the three light ones together (dlib's real models)."""
    from artify_stream.evaluation.fidelity import faces_problem
    from artify_stream.image_files import read_image
    from trainer.data import NO_FACE, skin_tone_group, skin_tone_weights
    from tests.conftest import make_picture

    if faces_problem():
        pytest.skip(faces_problem())
    sample = Path(__file__).resolve().parents[2] / "artify_stream" / "samples" / "astronaut-eileen-collins.jpg"
    face = read_image(sample).rgb
    dark = (face.astype(np.float32) * np.array([0.42, 0.3, 0.22])).astype(np.uint8)  # deep brown skin
    photos = [face, face[:, ::-1].copy(), face[:, 10:].copy(), dark, make_picture(96, 96, seed=1), make_picture(96, 96, seed=2)]
    assert skin_tone_group(face) != skin_tone_group(dark) and skin_tone_group(photos[4]) == NO_FACE
    weights, counts = skin_tone_weights(photos, tmp_path / "cache")
    assert sorted(counts.values()) == [1, 2, 3]
    assert weights[3] == pytest.approx(sum(weights[:3])) == pytest.approx(weights[4] + weights[5])
    assert len(list((tmp_path / "cache").iterdir())) == 6  # one cached group per photo, read back next time
    assert skin_tone_weights(photos, tmp_path / "cache") == (weights, counts)
    # scene_weight: the pictures without a face weigh that many times one skin-tone group.
    scenes_up, _ = skin_tone_weights(photos, tmp_path / "cache", scene_weight=2.5)
    assert scenes_up[4] + scenes_up[5] == pytest.approx(2.5 * scenes_up[3]) and scenes_up[:4] == weights[:4]


def test_a_share_of_draws_of_a_photo_with_a_face_is_its_aligned_face_crop():
    photos = [make_picture(64, 64, seed=i) for i in range(2)]
    eyes = [np.array([[24.0, 28.0], [40.0, 28.0]], np.float32), None]  # only the first "has a face"
    ds = PhotoCrops(photos, 32, seed=0, eyes=eyes, face_share=1.0)
    faces = [bool(ds[0].face) for _ in range(1)] + [bool(ds[1].face)]
    assert faces == [True, False]
    plain = PhotoCrops(photos, 32, seed=0)
    assert not (ds[0].photo == plain[0].photo).all() and (ds[1].photo.shape == plain[1].photo.shape)
    half = PhotoCrops(photos * 20, 32, seed=0, eyes=eyes * 20, face_share=0.5)
    shares = [bool(half[i].face) for i in range(0, 40, 2)]
    assert 4 <= sum(shares) <= 16  # about half of the face photos' draws


def test_a_draw_is_a_scene_only_when_faces_were_looked_for_and_none_found():
    photos = [make_picture(64, 64, seed=i) for i in range(2)]
    eyes = [np.array([[24.0, 28.0], [40.0, 28.0]], np.float32), None]
    looked = PhotoCrops(photos, 32, seed=0, eyes=eyes, face_share=0.5)
    assert [bool(looked[i].scene) for i in range(2)] == [False, True]
    unknown = PhotoCrops(photos, 32, seed=0)  # no face detection: nothing is known to be a scene
    assert [bool(unknown[i].scene) for i in range(2)] == [False, False]


def test_scene_scale_shrinks_only_the_draws_of_photos_without_a_face():
    """At `scene_scale` 0.5 a 64 px scene is drawn whole into a 32 px crop (its detail twice as dense);
    the portrait's draws are the same crops as without the switch."""
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::8] = 255  # a line every 8 px
    eyes = [np.array([[24.0, 28.0], [40.0, 28.0]], np.float32), None]
    photos = [stripes, stripes]
    plain = PhotoCrops(photos, 32, seed=0, eyes=eyes, face_share=0.0001)
    shrunk = PhotoCrops(photos, 32, seed=0, eyes=eyes, face_share=0.0001, scene_scale=(0.5, 0.5))
    assert (shrunk[0].photo == plain[0].photo).all()
    lines = lambda t: int((t[0, 16] > 0.25).sum())  # noqa: E731 - bright columns along a row (halved by the resize)
    assert lines(plain[1].photo) == 4 and lines(shrunk[1].photo) >= 7


def test_darkened_draws_keep_hue_and_highlights_and_darken_photo_and_target_alike():
    """A darken_share of the draws goes through `darkened`: midtones fall most, white stays white,
    the channels keep their ratios (the hue), and the photo and its target get the same gamma."""
    from trainer.data import darkened

    skin = np.array([[[200, 150, 120], [120, 90, 72], [255, 255, 255]]], np.uint8)
    dark = darkened(skin, 2.5).astype(np.float32)
    assert (dark[0, :2] < skin[0, :2] * 0.75).all() and (dark[0, 2] == 255).all()
    assert dark[0, 1].sum() / skin[0, 1].sum() < dark[0, 0].sum() / skin[0, 0].sum()  # darker midtones fall more
    assert np.allclose(dark[0, 0] / dark[0, 0, 0], skin[0, 0] / 200.0, atol=0.02)  # hue kept
    assert (darkened(skin, 1.0) == skin).all()
    photos = [make_picture(48, 48, seed=i) for i in range(40)]
    plain = PhotoCrops(photos, 32, seed=0, targets=photos)
    some = PhotoCrops(photos, 32, seed=0, targets=photos, darken_share=0.5, darken_gamma=(2.0, 2.0))
    changed = [i for i in range(40) if not (some[i].photo == plain[i].photo).all()]
    assert 8 <= len(changed) <= 32  # about half
    for i in changed:
        assert (some[i].photo == some[i].target).all() and some[i].photo.mean() < plain[i].photo.mean()
    cartoons = CartoonCrops(photos, [p.copy() for p in photos], 32, seed=0, darken_share=0.5, darken_gamma=(2.0, 2.0))
    plain_cartoons = CartoonCrops(photos, [p.copy() for p in photos], 32, seed=0)
    dark = [i for i in range(40) if not (cartoons[i][0] == plain_cartoons[i][0]).all()]
    assert 8 <= len(dark) <= 32 and all((cartoons[i][0] == cartoons[i][1]).all() for i in dark)


def test_darkening_settings_are_checked():
    from artify_stream.errors import ConfigError
    from trainer.config import TrainConfig

    with pytest.raises(ConfigError, match="darken_share"):
        TrainConfig(darken_share=1.5)
    with pytest.raises(ConfigError, match="darken_gamma"):
        TrainConfig(darken_gamma=(0.5, 2.0))  # would lighten
    assert TrainConfig(darken_share=0.3, darken_cartoons=True).darken_gamma == (1.5, 3.0)
    with pytest.raises(ConfigError, match="needs balance_skin_tones"):
        TrainConfig(scene_weight=2.5)  # would be ignored silently
    assert TrainConfig(scene_weight=2.5, balance_skin_tones=True, face_share=0.5).scene_weight == 2.5


def test_darken_scope_picks_which_draws_may_be_darkened():
    photos = [make_picture(64, 64, seed=i) for i in range(40)]
    eyes = [np.array([[24.0, 28.0], [40.0, 28.0]], np.float32) if i % 2 else None for i in range(40)]  # odd ones "have a face"

    def darkened_draws(scope, face_share):
        plain = PhotoCrops(photos, 32, seed=0, eyes=eyes, face_share=face_share)
        dark = PhotoCrops(photos, 32, seed=0, eyes=eyes, face_share=face_share, darken_share=1.0,
                          darken_gamma=(2.0, 2.0), darken_scope=scope)
        return {i for i in range(40) if not (dark[i].photo == plain[i].photo).all()}, plain

    assert darkened_draws("all", 0.5)[0] == set(range(40))
    assert darkened_draws("portraits", 0.5)[0] == set(range(1, 40, 2))  # whole photos and face crops of the faces
    face_crops, plain = darkened_draws("face-crops", 0.5)
    assert face_crops == {i for i in range(40) if bool(plain[i].face)} and 0 < len(face_crops) < 20
    assert darkened_draws("faces", 0.5)[0] == set(range(1, 40, 2))


def test_face_darkening_darkens_the_face_and_leaves_the_rest_of_the_picture():
    """`darken_scope=faces`: a grey portrait with a face found gets a darker face (eyes 32 px apart:
    the face mode's ellipse round them) and the same corners and background."""
    from trainer.data import darkened_face

    grey = np.full((128, 128, 3), 180, np.uint8)
    out = darkened_face(grey, np.array([[48.0, 56.0], [80.0, 56.0]], np.float32), 2.5).astype(int)
    assert out[60, 64].mean() < 180 - 40  # between and below the eyes
    assert (out[:8, :8] == 180).all() and (out[-8:, -8:] == 180).all() and (out[60, :4] == 180).all()


def test_cartoon_families_come_from_file_names_and_weigh_alike(tmp_path):
    """Nine avatars and one illustrated scene: each cartoon knows its family (a clip's frames the
    clip's), and balanced weights draw the scene as often as all the avatars together."""
    names = [f"dicebear-adventurer-{i:03d}" for i in range(9)] + ["kde-plasma-illustration-altai"]
    for i, name in enumerate(names):
        Image.fromarray(make_picture(32, 32, seed=i)).save(tmp_path / f"{name}.png")
    write_clip(tmp_path / "bbb-frames.mp4", frames=8)
    frames, families = load_cartoons(tmp_path, frame_step=4)
    assert len(frames) == len(families) == 12
    assert families.count("dicebear") == 9 and families.count("kde") == 1 and families.count("bbb") == 2
    weights, _ = balanced_weights(families)
    share = {f: sum(w for w, g in zip(weights, families) if g == f) for f in set(families)}
    assert share["kde"] == pytest.approx(share["dicebear"]) == pytest.approx(share["bbb"])
