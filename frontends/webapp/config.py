"""What `artify app` listens on and what it accepts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from artify_stream.errors import ConfigError

MIB = 1 << 20


@dataclass(frozen=True)
class AppConfig:
    """Defaults are safe: loopback only, no share link, bounded uploads."""

    host: str = "127.0.0.1"  # another address only when asked (`--host 0.0.0.0` serves the network)
    port: int = 7860
    models_dir: Path | None = None  # extra model files offered beside the bundled ones
    max_upload_mib: int = 200  # any one upload; Gradio refuses bigger files before they reach us
    max_image_pixels: int = 40_000_000  # a 8000x5000 photo; bigger is refused before decoding
    max_clip_seconds: float = 600.0
    output_sizes: tuple[int, ...] = (256, 480, 720, 1080)  # long-side choices in the page
    default_size: int = 720
    recent_jobs: int = 16  # result folders kept on disk; older ones are removed
    webcam_every_s: float = 0.1  # the browser sends a webcam frame this often

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"--port must be in 1..65535, got {self.port}")
        if self.models_dir is not None and not Path(self.models_dir).is_dir():
            raise ConfigError(f"--models {self.models_dir}: not a folder")
        if self.default_size not in self.output_sizes:
            raise ConfigError(f"default size {self.default_size} is not one of {self.output_sizes}")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mib * MIB
