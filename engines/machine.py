"""What this machine offers the engines (GPU, libraries, providers, bf16, cache), for `artify info`."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import torch

from engines.auto import MachineFacts
from engines.cache import EngineCache, device_name


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def engine_report(cache: EngineCache) -> dict:
    facts = MachineFacts.gather()
    gpus = [{"index": i, "name": device_name(torch.device("cuda", i)),
             "memory_gib": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1)}
            for i in range(torch.cuda.device_count())] if facts.cuda else []
    providers = None
    if facts.onnxruntime:
        import onnxruntime

        providers = onnxruntime.get_available_providers()
    entries = cache.entries()
    return {
        "python": platform.python_version(),
        "cpu": device_name(torch.device("cpu")),
        "cpu_threads": torch.get_num_threads(),
        "cpu_bf16": facts.cpu_bf16,
        "cuda_gpus": gpus,
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "torchvision": _version("torchvision"),
        "torch_tensorrt": _version("torch-tensorrt"),
        "tensorrt_usable": facts.tensorrt_problem is None,
        "tensorrt_problem": facts.tensorrt_problem,
        "tensorrt_rtx": _version("tensorrt_rtx"),
        "tensorrt_rtx_runs_here": facts.tensorrt_rtx_problem is None,
        "tensorrt_rtx_problem": facts.tensorrt_rtx_problem,
        "onnxruntime": _version("onnxruntime") or _version("onnxruntime-gpu"),
        "onnxruntime_providers": providers,
        "engine_cache": {"path": str(cache.root), "entries": len(entries),
                         "bytes": sum(e["bytes"] for e in entries),
                         "items": [{"backend": e["key"]["backend"], "precision": e["key"]["precision"],
                                    "shapes": e["key"]["shapes"], "device": e["key"]["device"],
                                    "created": e.get("created"), "bytes": e["bytes"], "path": e["path"],
                                    **({"build_seconds": e["timing"]["build_seconds"]} if "build_seconds" in e.get("timing", {}) else {})}
                                   for e in entries]},
    }


def machine_report(cache: EngineCache) -> dict:
    """`artify info`: the engines' facts and the media libraries' (FFmpeg codecs) in one report."""
    from artify_stream.ffmpeg_report import media_report

    return {**engine_report(cache), **media_report()}
