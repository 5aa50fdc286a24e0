"""On-disk cache of built engines (ONNX graphs, TensorRT programs, compile caches, CPU probes).

An entry is a folder named by the digest of its CacheKey: the model file's hash, backend,
precision, shape range, device name and library versions. `entry.json` is written last and
records the key and the artifact's SHA-256, so a half-written, stale or corrupt entry is
detected, removed and rebuilt instead of trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from artify_stream.atomic import atomic_path
from artify_stream.model_file import file_sha256

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

CACHE_ENV = "ARTIFY_ENGINE_CACHE"
ENTRY_FILE = "entry.json"
# Bump when the fused graph (artify_stream/fused.py) changes meaning, so old entries stop matching.
GRAPH_VERSION = 3  # 2: casts before the transposes (TensorRT-RTX); 3: the uint8 conversion in fp32


def default_engine_cache() -> Path:
    """$ARTIFY_ENGINE_CACHE, else the user's cache directory (~/.cache/artify-stream/engines on Linux)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("artify-stream")) / "engines"


@lru_cache(maxsize=None)
def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device | str) -> str:
    """What the built engine is specific to: the CPU model, or the GPU, its compute capability and
    the CUDA version torch was built with. A CPU's name needs no torch (see engines.light)."""
    if str(device).startswith("cuda"):
        import torch

        device = torch.device(device)
        index = device.index if device.index is not None else torch.cuda.current_device()
        major, minor = torch.cuda.get_device_capability(index)
        return f"{torch.cuda.get_device_name(index)} (sm_{major}{minor}, CUDA {torch.version.cuda})"
    return _cpu_name()


def library_versions(*modules: str) -> dict[str, str]:
    """Versions an engine depends on: torch, the graph version, and the backend's own libraries
    (read from the installed packages' metadata, so a cache lookup needs no torch import)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"artify-graph": str(GRAPH_VERSION)}
    for name in ("torch", *modules):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "missing"
    return versions


@dataclass(frozen=True)
class CacheKey:
    model_sha256: str
    backend: str
    precision: str
    shapes: str
    device: str
    versions: dict[str, str] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict:
        return asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:24]


class EngineCache:
    """Built engines on disk. A cache folder that cannot be used (a file, read-only, a full disk)
    is not an error: a warning says why and engines are built into a temporary folder instead."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_engine_cache()
        self.problem = self._check_usable()
        if self.problem:
            import tempfile

            log.warning("engine cache %s is not usable (%s); running without a cache", self.root, self.problem)
            self._scratch = tempfile.TemporaryDirectory(prefix="artify-engines-")
            self.root = Path(self._scratch.name)

    def _check_usable(self) -> str | None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return exc.strerror or exc.__class__.__name__
        if not os.access(self.root, os.W_OK | os.X_OK):
            return "not writable"
        return None

    def entry_dir(self, key: CacheKey) -> Path:
        return self.root / key.backend / key.digest()

    def lookup(self, key: CacheKey, artifact: str) -> Path | None:
        """The cached artifact for `key`, or None (after removing it) when missing, stale or corrupt."""
        folder = self.entry_dir(key)
        entry_file, path = folder / ENTRY_FILE, folder / artifact
        if not folder.exists():
            return None
        problem = None
        try:
            entry = json.loads(entry_file.read_text())
            if entry.get("key") != key.to_dict():
                problem = "was built for a different key"
            elif not path.is_file():
                problem = f"has no {artifact}"
            elif entry.get("sha256") != file_sha256(path):
                problem = f"{artifact} does not match its recorded checksum"
        except (OSError, ValueError) as exc:
            problem = f"has an unreadable {ENTRY_FILE} ({exc.__class__.__name__})"
        if problem is None:
            return path
        log.warning("engine cache entry %s %s; rebuilding it", folder, problem)
        self.invalidate(key)
        return None

    def store(self, key: CacheKey, artifact: str, build: Callable[[Path], None],
              extra: Callable[[], dict] | None = None) -> Path:
        """Run `build(tmp_path)`, then move the artifact into place and record it (entry.json last,
        with `extra()`'s fields: a backend's build metadata)."""
        folder = self.entry_dir(key)
        self.invalidate(key)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / artifact
        with atomic_path(path) as tmp:
            build(tmp)
        self._write_entry(key, folder, {"artifact": artifact, "sha256": file_sha256(path), "bytes": path.stat().st_size,
                                        **(extra() if extra else {})})
        return path

    def why_missing(self, key: CacheKey) -> str:
        """Why `key` has no entry, in words: the nearest entry of the same model and backend and
        what differs in it (another precision, shape range, target or library version), or none."""
        nearest = None
        for entry_file in sorted((self.root / key.backend).glob(f"*/{ENTRY_FILE}")):
            try:
                other = json.loads(entry_file.read_text())["key"]
            except (OSError, ValueError, KeyError):
                continue
            if other.get("model_sha256") != key.model_sha256:
                continue
            mine = key.to_dict()
            changed = [f"{field} {other.get(field)} -> {mine[field]}" for field in ("precision", "shapes", "device")
                       if other.get(field) != mine[field]]
            versions = other.get("versions", {})
            changed += [f"{name} {versions.get(name, 'none')} -> {value}" for name, value in mine["versions"].items()
                        if versions.get(name) != value]
            if nearest is None or len(changed) < len(nearest):
                nearest = changed
        if nearest is None:
            return "not built before for this model"
        return "the cached one differs: " + ", ".join(nearest)

    def workdir(self, key: CacheKey) -> Path:
        """A folder a backend manages itself (torch.compile's Inductor cache) under `key`. A new one is
        recorded only by `commit_workdir`, once the backend's build has been verified."""
        folder = self.entry_dir(key)
        try:
            if json.loads((folder / ENTRY_FILE).read_text()).get("key") == key.to_dict():
                return folder
        except (OSError, ValueError):
            pass
        self.invalidate(key)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def commit_workdir(self, key: CacheKey) -> None:
        """Record a verified workdir (a no-op when it is recorded already)."""
        folder = self.entry_dir(key)
        if not (folder / ENTRY_FILE).exists():
            self._write_entry(key, folder, {"artifact": None})

    def invalidate(self, key: CacheKey) -> None:
        shutil.rmtree(self.entry_dir(key), ignore_errors=True)

    def entries(self) -> list[dict]:
        """Every recorded entry with its size on disk, for `artify info`."""
        found = []
        for entry_file in sorted(self.root.glob(f"*/*/{ENTRY_FILE}")):
            try:
                entry = json.loads(entry_file.read_text())
            except (OSError, ValueError):
                continue
            size = sum(p.stat().st_size for p in entry_file.parent.rglob("*") if p.is_file())
            found.append({"path": str(entry_file.parent), "bytes": size, **entry})
        return found

    def read_json(self, key: CacheKey, name: str) -> dict | None:
        path = self.lookup(key, name)
        if path is None:
            return None
        try:
            return json.loads(path.read_text())
        except ValueError:
            self.invalidate(key)
            return None

    def write_json(self, key: CacheKey, name: str, data: dict) -> Path:
        return self.store(key, name, lambda tmp: tmp.write_text(json.dumps(data, indent=2)))

    def _write_entry(self, key: CacheKey, folder: Path, extra: dict) -> None:
        record = {"key": key.to_dict(), "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra}
        with atomic_path(folder / ENTRY_FILE) as tmp:
            tmp.write_text(json.dumps(record, indent=2))
