"""artify-stream runtime: the ArtifyGAN generator, model files, images and the video pipeline.

Scripting a job::

    from artify_stream import stylize_video, VideoOptions
    from engines import create_engine

    engine = create_engine("artify-small", precision="bf16")
    report = stylize_video("in.mp4", "out.mp4", engine, VideoOptions(long_side=720))
"""

from artify_stream.errors import ArtifyError
from artify_stream.generator import Generator, GeneratorConfig
from artify_stream.model_file import load_model_file, save_model_file
from artify_stream.registry import load_model
from artify_stream.video import VideoOptions, VideoPipeline, VideoReport, stylize_video

__all__ = [
    "ArtifyError", "Generator", "GeneratorConfig", "VideoOptions", "VideoPipeline", "VideoReport",
    "load_model", "load_model_file", "save_model_file", "stylize_video",
]
