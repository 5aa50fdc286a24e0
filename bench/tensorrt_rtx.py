"""TensorRT-RTX engines of the bundled models, built on this machine (no GPU needed): build time,
engine size and the exported graph's error against eager fp32, per model and precision.

    python bench/tensorrt_rtx.py [--shape 64x64:720x1280:1080x1920] [--batch 4] [--json]

Builds into a fresh temporary engine cache, so every row is a real build (export + TensorRT-RTX);
a second build of each checks that the engine's bytes repeat.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artify_stream.registry import bundled_models, load_model  # noqa: E402
from engines.cache import EngineCache  # noqa: E402
from engines.formats import RtxTargets  # noqa: E402
from engines.shapes import ShapeRange  # noqa: E402
from engines.tensorrt_rtx_build import build_or_load, rtx_version  # noqa: E402

SHIPPED = ("artify-draw", "artify-draw-lite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="64x64:720x1280:1080x1920")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--targets", default="portable", choices=[t.value for t in RtxTargets])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    shapes = ShapeRange.parse(args.shape, max_batch=args.batch)
    rows = []
    for name in [n for n in SHIPPED if n in bundled_models()]:
        model = load_model(name)
        for precision in ("fp16", "fp32"):
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                first = build_or_load(model, precision, shapes, RtxTargets(args.targets), EngineCache(a))
                second = build_or_load(model, precision, shapes, RtxTargets(args.targets), EngineCache(b))
                same = hashlib.sha256(first.path.read_bytes()).digest() == hashlib.sha256(second.path.read_bytes()).digest()
            parity = first.metadata["graph_error_levels"]  # measured on the export the build used
            rows.append({"model": name, "precision": precision, "shapes": shapes.label(), "targets": args.targets,
                         "export_s": first.timing["export_seconds"], "build_s": first.timing["build_seconds"],
                         "engine_mb": round(first.metadata["engine_bytes"] / 1e6, 2), "rebuild_same_bytes": same,
                         "parity_max_levels": parity["max"], "parity_p99_9_levels": parity["p99_9"],
                         "parity_mean_levels": parity["mean"]})
    if args.json:
        print(json.dumps({"tensorrt_rtx": rtx_version(), "rows": rows}, indent=2))
        return
    print(f"TensorRT-RTX {rtx_version()}, {shapes.label()}, targets {args.targets}")
    print("| model | precision | ONNX export s | build s | engine MB | rebuild same bytes | graph vs eager fp32: max / p99.9 / mean levels |")
    print("| --- | --- | ---: | ---: | ---: | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['precision']} | {r['export_s']} | {r['build_s']} | {r['engine_mb']} | "
              f"{'yes' if r['rebuild_same_bytes'] else 'NO'} | {r['parity_max_levels']} / {r['parity_p99_9_levels']} / "
              f"{r['parity_mean_levels']} |")


if __name__ == "__main__":
    main()
