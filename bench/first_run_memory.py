"""Peak memory of a model's first and second `artify stylize` on this machine (issue 19).

Each run is a fresh process on a fresh engine cache (the first) and then on the same cache (the
second). Printed: the run's own peak resident memory and, separately, the peak of the child
process a first run starts for the CPU probe and ONNX export (`engines.first_run`).

    python bench/first_run_memory.py [--model artify-draw-lite] [--picture PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN is the largest child that was waited for.
WRAPPER = """import atexit, resource, sys
def said():
    own, child = (resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"PEAK {own} {child}", file=sys.stderr)
atexit.register(said)
sys.argv = ["artify"] + sys.argv[1:]
import artify_entry
artify_entry.main()
"""


def measure(args: list[str]) -> tuple[float, float, str]:
    run = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, cwd=REPO)
    line = [x for x in run.stderr.splitlines() if x.startswith("PEAK ")][-1].split()
    engine = next((x for x in (run.stdout + run.stderr).splitlines() if x.startswith("engine:")), "?")
    return int(line[1]) / 1024, int(line[2]) / 1024, engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="artify-draw")
    parser.add_argument("--picture", default=str(REPO / "artify_stream/samples/astronaut-eileen-collins.jpg"))
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "out.png"
        command = ["stylize", opts.picture, str(out), "--model", opts.model, "--engine-cache", str(cache), "--overwrite"]
        print("| run | the run's peak (MiB) | its child's peak (MiB) | engine |")
        print("| --- | ---: | ---: | --- |")
        for name in ("first", "second"):
            own, child, engine = measure(command)
            print(f"| {name} | {own:.0f} | {child:.0f} | {engine} |")


if __name__ == "__main__":
    main()
