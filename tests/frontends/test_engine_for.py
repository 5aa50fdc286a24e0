"""frontends/engine_for.py: the engines a front end's stylizer is built on."""

from engines import EngineCache
from engines.auto import MachineFacts, cpu_candidates
from engines.formats import BackendChoice
from engines.light import cpu_probe_key
from frontends.engine_for import FACE_ENGINE_THREADS, LIVE_FRAMES_AT_ONCE, EngineChoice, stylizer_for


def threads(engine) -> int:
    """An ONNX Runtime engine's intra-op threads as its session was opened with (0: one per core)."""
    return engine.session.get_session_options().intra_op_num_threads


def seed_probe_with_torch_faster(cache: EngineCache, model) -> None:
    """`auto`'s cached CPU timings for `model`, made up so that torch is 10x faster than ONNX Runtime."""
    labels = [spec.label() for spec in cpu_candidates("auto", MachineFacts.gather())]
    cache.write_json(cpu_probe_key(model.sha256, "auto"), "timings.json",
                     {label: 5.0 if label.startswith("torch") else 50.0 for label in labels})


def test_face_mode_on_the_cpu_draws_frame_and_faces_on_onnx_runtime_where_torch_is_faster_alone(tiny_model, tmp_path):
    """Face mode runs two engines at once; two torch engines would each take every core, so `auto`
    takes ONNX Runtime for both even where its probe (seeded here: torch timed 10x faster) says torch."""
    from artify_stream.model_file import read_model_ref

    model, cache = read_model_ref(tiny_model), EngineCache(tmp_path / "cache")
    seed_probe_with_torch_faster(cache, model)
    choice = EngineChoice(device="cpu", cache_dir=cache.root)
    assert stylizer_for(model, choice).run.spec.backend == "torch"  # alone: the probe's pick
    faced = stylizer_for(model, choice, faces=True)
    assert faced.faces.engine.spec.backend == "onnx" and faced.faces.face_engine.spec.backend == "onnx"
    assert faced.faces.engine is not faced.faces.face_engine  # two engines, drawn at once
    # the faces' engine on one thread, the frame's on every core: the frame's cartoon is the longer
    assert threads(faced.faces.face_engine) == FACE_ENGINE_THREADS == 1 and threads(faced.faces.engine) == 0
    assert any("ONNX Runtime for the frame and the faces" in line for line in faced.lines)
    # live, frames are finished while the next are drawn: two frame engines on one thread each, in turn
    live = stylizer_for(model, choice, faces=True, live=True)
    frame_engines = live.faces._frame_turns.engines
    assert len(frame_engines) == LIVE_FRAMES_AT_ONCE == 2 and frame_engines[0] is live.faces.engine
    assert [threads(e) for e in frame_engines] == [1, 1] and frame_engines[0] is not frame_engines[1]
    assert any("2 frames drawn at once" in line for line in live.lines)
    explicit = stylizer_for(model, EngineChoice(BackendChoice.torch, device="cpu", cache_dir=cache.root), faces=True)
    assert explicit.faces.engine.spec.backend == "torch"  # what the user asked for is kept


def test_the_app_draws_a_bundled_model_and_its_face_model_at_once_on_onnx_runtime(tmp_path):
    """The web app's face mode (its own engine shelf) takes the same choice as `--faces`."""
    from artify_stream.registry import resolve_model
    from frontends.webapp.shelf import ModelShelf

    cache = EngineCache(tmp_path / "cache")
    for name in ("artify-draw-lite", "artify-face-lite"):
        seed_probe_with_torch_faster(cache, resolve_model(name))
    shelf = ModelShelf(engine_choice=EngineChoice(device="cpu", cache_dir=cache.root))
    assert shelf.engine("artify-draw-lite").engine.spec.backend == "torch"  # a plain picture: the probe's pick
    faces = shelf.face_stylizer("artify-draw-lite", stream=True)
    assert faces.engine.spec.backend == "onnx" and faces.face_engine.spec.backend == "onnx"
    assert threads(faces.face_engine) == 1 and threads(faces.engine) == 0
    # the face model picked as the frame's model elsewhere on the page keeps every core
    assert threads(shelf.engine("artify-face-lite", EngineChoice(BackendChoice.onnx, device="cpu", cache_dir=cache.root)).engine) == 0
