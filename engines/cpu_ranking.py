"""How `auto` ranks the CPU engines it timed (a policy, so not in the backend table)."""

from __future__ import annotations

from engines.formats import FORMATS, EngineSpec

#: `auto` on a CPU takes the fastest measured engine, except that a torch-free one (ONNX Runtime)
#: wins when it is within this share of the fastest: the difference is probe noise, and its cached
#: graph runs without importing torch, a process ~600 MiB smaller (the CUDA build of torch alone is ~610 MiB).
TORCH_FREE_MARGIN = 0.25


def rank_cpu_engines(timings: dict[str, float | None], specs: list[EngineSpec]) -> tuple[list[EngineSpec], str]:
    """CPU engines best first by measured ms/frame (None: did not build), and why the first."""
    built = sorted((s for s in specs if timings.get(s.label()) is not None), key=lambda s: timings[s.label()])
    if not built:
        return [], "no CPU engine could be built"
    fastest = timings[built[0].label()]
    light = [s for s in built if FORMATS[s.backend].torch_free and timings[s.label()] <= fastest * (1 + TORCH_FREE_MARGIN)]
    summary = ", ".join(f"{s.backend} {s.precision} {timings[s.label()]:.0f} ms" for s in built)
    if light and light[0] != built[0]:
        built.remove(light[0])
        built.insert(0, light[0])
        return built, (f"within {TORCH_FREE_MARGIN:.0%} of the fastest and runs without torch "
                       f"(a much smaller process) ({summary})")
    return built, f"fastest measured on this CPU ({summary})"
