"""Training throughput (images/s) at a given crop size for the paper's generator and the bundled config.

    python bench/training.py [--crop 256] [--photos 32]

Runs one adversarial epoch (the slower phase) per config on generated images, in one process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import write_pictures  # noqa: E402
from trainer.config import preset  # noqa: E402
from trainer.gan_step import Training  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--precision", default="auto")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_pictures(tmp / "p", args.photos, size=(args.crop, args.crop))
        write_pictures(tmp / "c", 8, size=(args.crop, args.crop), seed=99)
        for name, batch in (("paper-round3", 4), ("paper", 8), ("recommended", 8)):
            for phase, init in (("init", 1), ("adversarial", 0)):
                cfg = preset(name).with_overrides(epochs=1, init_epochs=init, crop_size=args.crop, batch_size=batch,
                                                  precision=args.precision, sample_count=1, validation_photos=4)
                rec = Training(cfg, tmp / "p", tmp / "c", tmp / f"run-{name}-{phase}").run()[0]
                rows.append({"config": name, "phase": phase, "crop": args.crop, "batch": batch,
                             "images_per_s": round(rec["images_per_s"], 2)})
                print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
