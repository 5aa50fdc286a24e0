"""artify-stream runtime: the ArtifyGAN generator, model files, images and the video pipeline.

Scripting a job::

    from artify_stream import stylize_video, VideoOptions
    from engines import create_engine

    engine = create_engine("artify-draw")
    report = stylize_video("in.mp4", "out.mp4", engine, VideoOptions(long_side=720))

The names below load on first use, so `import artify_stream.errors` (the CLI's start) stays light.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "ArtifyError": "artify_stream.errors",
    "Generator": "artify_stream.generator",
    "GeneratorConfig": "artify_stream.generator",
    "load_model_file": "artify_stream.model_file",
    "save_model_file": "artify_stream.model_file",
    "load_model": "artify_stream.registry",
    "VideoOptions": "artify_stream.video",
    "VideoPipeline": "artify_stream.video",
    "VideoReport": "artify_stream.video",
    "stylize_video": "artify_stream.video",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'artify_stream' has no attribute {name!r}")
