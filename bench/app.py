"""`artify app`: seconds from the command to the first page, and memory over many photo requests.

    python bench/app.py [--requests 100] [--model artify-draw-lite] [--port 7870]

Starts the real command (a child process), polls the page until it answers, then sends photo
requests through `gradio_client` and samples the server's resident memory (VmRSS) as it goes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "artify_stream" / "samples" / "astronaut-eileen-collins.jpg"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for_page(url: str, process: subprocess.Popen, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise SystemExit(f"artify app ended with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and b"<html" in response.read(4096).lower():
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--model", default="artify-draw-lite")
    ap.add_argument("--size", type=int, default=480)
    ap.add_argument("--port", type=int, default=7870)
    args = ap.parse_args()
    from gradio_client import Client, handle_file

    url = f"http://127.0.0.1:{args.port}/"
    artify = Path(sys.executable).with_name("artify")
    process = subprocess.Popen([str(artify), "app", "--port", str(args.port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        first_page_s = wait_for_page(url, process)
        client = Client(url, verbose=False)
        with tempfile.TemporaryDirectory() as tmp:
            photo = Path(tmp) / "photo.jpg"
            Image.open(SAMPLE).convert("RGB").save(photo)
            start = time.perf_counter()
            client.predict(handle_file(str(photo)), args.model, args.size, api_name="/stylize_image")
            first_request_s = time.perf_counter() - start  # builds the engine (and on a new machine, times the CPU)
            samples = [rss_mib(process.pid)]
            start = time.perf_counter()
            for i in range(args.requests):
                client.predict(handle_file(str(photo)), args.model, args.size, api_name="/stylize_image")
                if (i + 1) % 10 == 0:
                    samples.append(rss_mib(process.pid))
            per_request_ms = 1000 * (time.perf_counter() - start) / args.requests
            temp_files = sum(1 for _ in Path(tempfile.gettempdir()).glob("artify-app-*/**/*"))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    print(json.dumps({"first_page_s": round(first_page_s, 2), "first_request_s": round(first_request_s, 2),
                      "requests": args.requests, "per_request_ms": round(per_request_ms, 1),
                      "rss_mib_every_10": [round(s) for s in samples],
                      "rss_growth_mib": round(samples[-1] - samples[0], 1),
                      "files_left_in_app_temp_while_running": temp_files,
                      "app_temp_removed_on_exit": not any(Path(tempfile.gettempdir()).glob("artify-app-*")),
                      "cpu": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    main()
