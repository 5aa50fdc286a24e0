"""Generator-only model files: safetensors weights + architecture config + metadata.

Loading never runs code from the file: safetensors holds tensors and a str->str header only.
torch is imported where tensors are read or written, so finding and hashing a model file
(what a cached engine needs, see engines.light) stays free of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artify_stream.atomic import atomic_path
from artify_stream.errors import ConfigError, ModelFileError, OutputError
from artify_stream.generator_config import GeneratorConfig

if TYPE_CHECKING:
    import torch

    from artify_stream.generator import Generator

FORMAT = "artify-stream.generator/1"
MODEL_SUFFIX = ".safetensors"


@dataclass
class ModelFile:
    """A loaded model file: its generator config, metadata and weights."""

    path: Path | None
    config: GeneratorConfig
    metadata: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    sha256: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def build_generator(self, device: str | torch.device = "cpu") -> Generator:
        """A generator in eval mode, fp32, with these weights."""
        from artify_stream.generator import Generator

        generator = Generator(self.config)
        weights = {k: v.float() if v.is_floating_point() else v for k, v in self.state_dict.items()}
        try:
            generator.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise ModelFileError(f"{self.path}: weights do not match its config {self.config}: {exc}") from exc
        return generator.eval().to(device)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model_file(
    path: Path,
    generator: Generator,
    metadata: dict[str, Any],
    half: bool = False,
) -> Path:
    """Write the generator's weights, config and metadata atomically (temp file + rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    state = {}
    for name, tensor in generator.state_dict().items():
        tensor = tensor.detach().to("cpu").contiguous()
        if half and tensor.is_floating_point():
            tensor = tensor.half()
        state[name] = tensor
    header = {
        "format": FORMAT,
        "config": json.dumps(generator.config.to_dict()),
        "metadata": json.dumps(metadata, default=str),
        "dtype": "float16" if half else "float32",
    }
    try:
        with atomic_path(path) as tmp:
            save_file(state, str(tmp), metadata=header)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    return path


@dataclass(frozen=True)
class ModelRef:
    """A model file read once, where the user named it: its bytes, hash, architecture and metadata.

    Front ends resolve `--model` into one of these and hand it down; engines, the face mode, Ray
    actors and the web app take it as it is, so nothing below opens or hashes the file again.
    """

    name: str  # as the user knows it: a bundled name or the file's name
    path: Path
    sha256: str
    config: GeneratorConfig
    metadata: dict[str, Any]
    data: bytes = field(repr=False, compare=False)

    def load(self) -> ModelFile:
        """The weights, read from the bytes in hand (no file access, no hash)."""
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            state = load(self.data)
        except (SafetensorError, ValueError) as exc:
            raise ModelFileError(f"{self.path}: not a readable safetensors model file ({exc})") from exc
        broken = [name for name, t in state.items() if t.is_floating_point() and not torch.isfinite(t).all()]
        if broken:
            raise ModelFileError(f"{self.path}: weights hold NaN or Inf values ({', '.join(broken[:3])}"
                                 f"{'...' if len(broken) > 3 else ''}): the file is damaged or its training diverged")
        return ModelFile(path=self.path, config=self.config, metadata=self.metadata, state_dict=state, sha256=self.sha256)


def _header(path: Path, data: bytes) -> dict[str, str]:
    """The safetensors header's str->str metadata (8-byte little-endian length, then JSON)."""
    if len(data) < 8:
        raise ModelFileError(f"{path}: not a readable safetensors model file (only {len(data)} bytes)")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise ModelFileError(f"{path}: not a readable safetensors model file (its header runs past the end)")
    try:
        header = json.loads(data[8:8 + size])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: not a readable safetensors model file ({exc})") from exc
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def read_model_ref(path: Path, name: str | None = None) -> ModelRef:
    """Open the file once: hash it and read its header; errors name the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return model_ref_from_bytes(path, data, hashlib.sha256(data).hexdigest(), name)


def model_ref_from_bytes(path: Path, data: bytes, sha256: str, name: str | None = None) -> ModelRef:
    """A model file's bytes already in hand (a child process, a Ray actor) with the hash its reader took."""
    path = Path(path)
    header = _header(path, data)
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an artify-stream generator file (format={header.get('format')!r})")
    try:
        config = GeneratorConfig.from_dict(json.loads(header["config"]))
        metadata = json.loads(header.get("metadata", "{}"))
    except (KeyError, ValueError, TypeError, ConfigError) as exc:
        raise ModelFileError(f"{path}: damaged model header ({exc})") from exc
    stem = path.name[: -len(MODEL_SUFFIX)] if path.name.endswith(MODEL_SUFFIX) else path.name
    return ModelRef(name or stem, path, sha256, config, metadata, data)


def load_model_file(path: Path) -> ModelFile:
    """Read a model file written by `save_model_file`; errors name the file and what is wrong."""
    return read_model_ref(path).load()
