"""Stylization latency per image (ms) for the paper's generator and the bundled model, eager engine.

    python bench/stylize.py [--sizes 256,720p] [--precisions fp32,bf16]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from artify_stream.generator import Generator, GeneratorConfig
from artify_stream.model_file import ModelFile
from artify_stream.registry import load_model
from engines import create_engine

SIZES = {"256": (256, 256), "480p": (480, 854), "720p": (720, 1280), "1080p": (1080, 1920)}


def measure(engine, hw: tuple[int, int], repeats: int) -> float:
    frames = torch.randint(0, 256, (1, *hw, 3), dtype=torch.uint8)
    engine(frames)
    t0 = time.perf_counter()
    for _ in range(repeats):
        engine(frames)
    return (time.perf_counter() - t0) / repeats * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,720p")
    ap.add_argument("--precisions", default="fp32,bf16")
    args = ap.parse_args()
    bundled = load_model(None)
    paper = ModelFile(path=None, config=GeneratorConfig(), metadata={}, state_dict=Generator().state_dict())
    for name, model in (("paper (10 blocks, width 64)", paper), ("artify-small (bundled)", bundled)):
        for precision in args.precisions.split(","):
            engine = create_engine(model, precision=precision)
            for size in args.sizes.split(","):
                hw = SIZES[size]
                repeats = 3 if hw[0] * hw[1] > 300_000 else 10
                ms = measure(engine, hw, repeats)
                print(json.dumps({"model": name, "precision": precision, "size": size, "ms_per_image": round(ms, 1),
                                  "fps": round(1000 / ms, 2)}), flush=True)


if __name__ == "__main__":
    main()
