"""Frame sizes an engine is built for: named sizes (720p) and static or ranged shapes.

Static-shape backends (TensorRT) build for a ShapeRange; dynamic ones (ONNX, eager) take any size.
Shapes are raw frame sizes: padding to a multiple of 4 happens inside the engine's graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from artify_stream.errors import ConfigError

NAMED_SIZES = {"256": (256, 256), "480p": (480, 854), "720p": (720, 1280), "1080p": (1080, 1920), "4k": (2160, 3840)}
_HW = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """'720p', '256' (square) or 'HxW' -> (height, width)."""
    key = text.strip().lower()
    if key in NAMED_SIZES:
        return NAMED_SIZES[key]
    if key.isdigit():
        return int(key), int(key)
    match = _HW.match(key)
    if not match:
        raise ConfigError(f"bad size {text!r}: use HxW (720x1280), a square side (256) or one of {', '.join(NAMED_SIZES)}")
    h, w = int(match[1]), int(match[2])
    if h < 4 or w < 4:
        raise ConfigError(f"bad size {text!r}: height and width must be at least 4")
    return h, w


def size_label(hw: tuple[int, int]) -> str:
    for name, value in NAMED_SIZES.items():
        if value == hw:
            return name
    return f"{hw[0]}x{hw[1]}"


@dataclass(frozen=True)
class ShapeRange:
    """Frame batches an engine accepts: N in [1, max_batch], H x W between min and max; opt is tuned for."""

    min_hw: tuple[int, int]
    opt_hw: tuple[int, int]
    max_hw: tuple[int, int]
    max_batch: int = 4
    opt_batch: int = 1

    def __post_init__(self) -> None:
        if not (self.min_hw[0] <= self.opt_hw[0] <= self.max_hw[0] and self.min_hw[1] <= self.opt_hw[1] <= self.max_hw[1]):
            raise ConfigError(f"shape range {self}: need min <= opt <= max in both height and width")
        if not 1 <= self.opt_batch <= self.max_batch:
            raise ConfigError(f"shape range {self}: need 1 <= opt batch <= max batch")

    @classmethod
    def static(cls, hw: tuple[int, int], max_batch: int = 4) -> ShapeRange:
        return cls(hw, hw, hw, max_batch, opt_batch=max_batch)

    @classmethod
    def parse(cls, text: str, max_batch: int = 4) -> ShapeRange:
        """'720x1280' (static) or 'MIN:OPT:MAX' sizes such as '256x256:720x1280:1080x1920'."""
        parts = text.split(":")
        if len(parts) == 1:
            return cls.static(parse_size(parts[0]), max_batch)
        if len(parts) != 3:
            raise ConfigError(f"bad shape {text!r}: use HxW for a static shape or MIN:OPT:MAX for a range")
        lo, opt, hi = (parse_size(p) for p in parts)
        return cls(lo, opt, hi, max_batch, opt_batch=1)

    @property
    def is_static(self) -> bool:
        return self.min_hw == self.max_hw

    def covers(self, batch: int, height: int, width: int) -> bool:
        return (1 <= batch <= self.max_batch and self.min_hw[0] <= height <= self.max_hw[0]
                and self.min_hw[1] <= width <= self.max_hw[1])

    def nhwc(self) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int], tuple[int, int, int, int]]:
        """(min, opt, max) input shapes of the uint8 NHWC frames."""
        return ((1, *self.min_hw, 3), (self.opt_batch, *self.opt_hw, 3), (self.max_batch, *self.max_hw, 3))

    def label(self) -> str:
        sizes = [f"{h}x{w}" for h, w in (self.min_hw, self.opt_hw, self.max_hw)]
        core = sizes[0] if self.is_static else ":".join(sizes)
        return f"{core}@b{self.max_batch}"
