"""Every engine and precision on this machine, for the paper's generator and the bundled models.

    python bench/engine_speed.py [--sizes 256,720p] [--engines all] [--seconds 3] [--json]

The paper generator's weights are random (speed does not depend on them). All records come from
one run on one machine, so the speed-ups over eager fp32 are like-for-like ratios.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from artify_stream.generator import Generator, GeneratorConfig
from artify_stream.model_file import load_model_file, save_model_file
from artify_stream.registry import bundled_models
from artify_stream.devices import resolve_device
from engines.auto import MachineFacts
from engines.benchmark import bench_specs, run_benchmark
from engines.formats import BACKENDS
from engines.cache import EngineCache
from engines.shapes import parse_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,720p")
    ap.add_argument("--engines", default="all")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    facts = MachineFacts.gather()
    device = resolve_device(args.device, facts.cuda)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    engines = list(BACKENDS) if args.engines == "all" else args.engines.split(",")
    specs = bench_specs(engines, device, facts)
    with tempfile.TemporaryDirectory() as tmp:
        paper = load_model_file(save_model_file(f"{tmp}/paper.safetensors", Generator(GeneratorConfig()).eval(), {"note": "random weights"}))
        results = []
        models = {"paper generator (10 blocks, width 64)": paper,
                  **{f"{n} (bundled)": load_model_file(p) for n, p in bundled_models().items()}}
        for name, model in models.items():
            for record in run_benchmark(model, sizes, specs, device, EngineCache(), batch=args.batch, seconds=args.seconds):
                row = {"model": name, **record.__dict__}
                results.append(row)
                if not args.json:
                    speed = f"{record.speedup_vs_eager_fp32:.2f}x" if record.speedup_vs_eager_fp32 else record.error
                    print(f"{name:40} {record.engine:8} {record.precision:5} {record.size:6} "
                          f"{record.ms_per_frame or 0:9.1f} ms {record.fps or 0:7.2f} fps {speed}", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
