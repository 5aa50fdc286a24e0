"""A generator's architecture as plain data (no torch): model-file headers and configs read it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from artify_stream.errors import ConfigError

UPSAMPLING = ("transposed", "resize")
PHOTO_CHROMA_BLOCKS = (0, 4, 8, 16)  # block sides in pixels (a frame's last blocks may be partial)
#: Rec. 601 luma weights: what "lightness" means to a drawing with photo_chroma, and what the photo's
#: chroma is taken against (the generator's graph and face mode's colour hand-over both use them).
LUMA = (0.299, 0.587, 0.114)
#: Bounds a model file's header must respect (a damaged or hostile header must not allocate terabytes).
MAX_WIDTH, MAX_BLOCKS, MAX_KERNEL = 1024, 64, 15


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of a generator; Table I of the paper varies the first three."""

    residual_blocks: int = 10
    first_kernel: int = 7
    base_width: int = 64
    upsample: str = "transposed"
    separable: bool = False
    last_kernel: int = 7
    #: The first conv has stride 2 and the last is a 4x4 stride-2 transposed conv, so that no conv
    #: runs at full resolution (a CPU-speed switch for lite students; last_kernel is then unused).
    strided_ends: bool = False
    #: 0: the network paints its own colours. n (4, 8 or 16): it draws lightness only (shading,
    #: borders, ink) and the colour (chroma) is the photo's, averaged over n x n blocks: the person's
    #: skin tone and the scene's hues cannot drift to the cartoons' palette. Coarser blocks read
    #: more as flat cartoon colour (the judge's P(cartoon) 0.82 at 4, 0.86 at 8, 0.90 at 16 on
    #: artify-draw's held-back portraits) at the same colour error.
    photo_chroma: int = 0
    #: With photo_chroma: the photo's colour flattened over windows of about n x n that stop at its
    #: edges (a guided filter on its lightness) instead of over square blocks, so colour does not
    #: bleed from one object onto the next.
    chroma_edges: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.residual_blocks <= MAX_BLOCKS:
            raise ConfigError(f"residual_blocks must be in [0, {MAX_BLOCKS}], got {self.residual_blocks}")
        for name in ("first_kernel", "last_kernel"):
            k = getattr(self, name)
            if not (1 <= k <= MAX_KERNEL and k % 2 == 1):
                raise ConfigError(f"{name} must be odd and in [1, {MAX_KERNEL}], got {k}")
        if not 1 <= self.base_width <= MAX_WIDTH:
            raise ConfigError(f"base_width must be in [1, {MAX_WIDTH}], got {self.base_width}")
        if self.photo_chroma not in PHOTO_CHROMA_BLOCKS:
            raise ConfigError(f"photo_chroma must be one of {PHOTO_CHROMA_BLOCKS}, got {self.photo_chroma}")
        if self.upsample not in UPSAMPLING:
            raise ConfigError(f"upsample must be one of {UPSAMPLING}, got {self.upsample!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def same_weights_as(self, other: GeneratorConfig) -> bool:
        """Whether a state dict of one loads into the other (photo_chroma adds no weights)."""
        return replace(self, photo_chroma=0, chroma_edges=False) == replace(other, photo_chroma=0, chroma_edges=False)

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorConfig:
        types = {f.name: f.type for f in fields(cls)}
        unknown = set(data) - set(types)
        if unknown:
            raise ConfigError(f"unknown generator config keys: {sorted(unknown)}")
        expected = {"int": int, "str": str, "bool": bool}
        for key, value in data.items():
            kind = expected[types[key]]
            # bool is an int in Python: check it both ways so true/1 never stand in for each other.
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"generator config {key}={value!r} is not a {kind.__name__}")
        return cls(**data)
