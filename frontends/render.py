"""Every report the `artify` command prints, as Rich tables and lines or as JSON: one renderer.

A command gets a report from one library call and hands it here; `--json` prints the report's own
`to_dict()`, anything else a table or a line. Progress bars live here too (they draw on the same
console, stderr, so stdout stays for JSON and paths).
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from artify_stream.batch import FAILING

console = Console(stderr=True, soft_wrap=True)


def say(line: str) -> None:
    console.print(escape(line), highlight=False)


def print_json(data, indent: int | None = 2) -> None:
    typer.echo(json.dumps(data, indent=indent))


# ---- artify stylize --------------------------------------------------------------------------------
def file_line(single: bool, quiet: bool):
    """What is printed as each file ends: its message (one file) or its status and name (a folder)."""
    def show(result) -> None:
        if quiet:
            return
        if single:
            style = "red" if result.status in FAILING else "green"
            console.print(f"[{style}]{escape(result.message)}[/]", highlight=False)
            return
        style = {"done": "green", "skipped": "yellow"}.get(result.status, "red")
        detail = result.message if result.status != "done" else str(result.source)
        console.print(f"[{style}]{result.status:11}[/] {escape(detail)}", highlight=False)
    return show


@contextlib.contextmanager
def video_progress(source: Path):
    """A Rich bar per clip with frames, fps and ETA."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[fps]} fps"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(source.name, total=None, fps="-")
        start = time.perf_counter()

        def update(done: int, total: int | None) -> None:
            rate = done / max(time.perf_counter() - start, 1e-9)
            progress.update(task, completed=done, total=total, fps=f"{rate:5.1f}")

        yield update


@contextlib.contextmanager
def cluster_progress(address: str, quiet: bool):
    """One bar for the frames done anywhere on the cluster: yields (on_frames, on_start)."""
    columns = (TextColumn(f"cluster {escape(address)}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("frames"), TaskProgressColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=quiet) as progress:
        task = progress.add_task("frames", total=None)
        yield (lambda n, _node: progress.update(task, advance=n),
               lambda total: progress.update(task, total=total or None))


def batch_report(report, source: Path, output: Path, single: bool, as_json: bool) -> None:
    """The end of `artify stylize`, the same for a run here and on a Ray cluster."""
    if as_json:
        typer.echo(json.dumps(report.summary(single)))
        return
    if report.faces is not None:
        f = report.faces
        say(f"face mode: {f['faces_stylized']} faces stylized in {f['frames']} frames "
            f"({f['identities']} identities, {f['detector_runs']} detector runs)")
    if report.nodes:
        say(f"{report.workers} workers: {report.engine}")
        table = Table(title="nodes")
        for column in ("node", "frames", "segments", "images", "busy s", "fps", "retries"):
            table.add_column(column, justify="right")
        for node, figures in report.nodes.items():
            table.add_row(node, *(str(v) for v in figures.to_dict().values()))
        console.print(table)
    if single and not report.nodes:
        return  # the file's own line said it all
    counts = report.counts()
    table = Table(title=f"{source} -> {output}" + (f" in {report.seconds:.1f} s" if report.nodes else ""))
    for column in counts:
        table.add_column(column, justify="right")
    table.add_row(*(str(v) for v in counts.values()))
    for failed in (r for r in report.results if r.status == "failed"):
        console.print(f"[red]failed[/] {escape(failed.message)}", highlight=False)
    console.print(table)


def avatars_report(avatars, output: Path, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(avatars.to_dict()))
        return
    say(f"{avatars.faces} faces from {avatars.images} images -> {output}"
        + (f"; no face found in {len(avatars.without_faces)}" if avatars.without_faces else ""))


# ---- artify live -------------------------------------------------------------------------------------
def live_line(stats: dict) -> str:
    lat = stats["latency_ms"] or {"p50": 0, "p95": 0, "p99": 0}
    return (f"{stats['frames_out']} frames out of {stats['frames_in']} in {stats['seconds']:.0f} s; "
            f"latency p50 {lat['p50']:.0f} / p95 {lat['p95']:.0f} / p99 {lat['p99']:.0f} ms; "
            f"dropped {stats['dropped']}, repeated {stats['repeated']}, reconnects {stats['reconnects']}")


def live_faces_line(faces: dict) -> str:
    return f"face mode: {faces['faces_stylized']} faces stylized in {faces['frames']} frames ({faces['identities']} identities)"


# ---- artify evaluate ---------------------------------------------------------------------------------
def evaluate_help() -> str:
    from artify_stream.evaluation.faces import CASCADE, MATCH_IOU
    from artify_stream.evaluation.judge import JUDGE_SIZE
    from artify_stream.evaluation.measures import CANNY_HIGH, CANNY_LOW, EDGE_TOLERANCE_PX, FLAT_GRADIENT
    from artify_stream.evaluation.targets import CartoonTargets

    return f"""Measure how much of a cartoon a model makes, on photos and clips, beside the input.

Each figure is the mean over the photos, for the input and the output:

- P(cartoon): a photo-vs-cartoon logistic regression on frozen EfficientNet-Lite0 features
  (pooled head, {JUDGE_SIZE} px), fitted on the data kit and validated on cartoon styles it never saw
  (`artify fit-judge`; the bundled judge's validation is in its file). Also the share called cartoons.

- P(cartoon) of the photos with a face and without one (dlib), apart, where the set holds both.

- KID to cartoons / to photos: kernel inception distance (cubic kernel) of the outputs' features
  to the kit's cartoons and photos, whose features the judge file carries. A cartoon is nearer the cartoons.

- faces kept: share of the faces OpenCV's Haar cascade ({CASCADE}) finds in the input that it
  finds again in the output (IoU >= {MATCH_IOU}); and how far the face centres' colour moved
  (CIELAB: L* shift, > 0 paler; delta E), since a cartoon must not change a person's skin tone.

- edge F1: Canny edges (3x3 Gaussian, thresholds {CANNY_LOW}/{CANNY_HIGH}) of output vs input, an edge
  matching within {EDGE_TOLERANCE_PX} px; F1 of precision and recall. Structure kept.

- colours per 1000 px (distinct colours at 5 bits per channel) and flatness (share of pixels whose
  luminance gradient, Sobel / 8, is below {FLAT_GRADIENT:g} grey levels per pixel), also against the
  cartoon set's own means.

- saturation (mean HSV S) and contrast (std of luma): out vs in; a cartoon is not washed out.

- checkerboard: amplitude in grey levels of the period-2/4 pattern stride-2 up-convolutions
  leave (phase means of luma minus its 4x4 box mean, per 32 px tile, noise subtracted); ~0 clean.

- flicker (clips): warping error of the output along the input's DIS optical flow, occluded
  pixels masked by a forward-backward check; the same on the input is the floor; ratio out/in.

- fidelity (does it still show the person and the scene?): colour error (CIEDE2000 of 16x16 block
  means, photo vs output) and the share of photos whose dominant hue survives (within 30 degrees);
  with dlib's models (the faces extra): faces dlib's HOG detector still finds, identity (dlib's
  ResNet recogniser: distance of each output face to its photo's, and rank-1 identification among
  the evaluation photos' faces), 68-point landmark error / inter-ocular distance, and per skin-tone
  group (ITA of the photo's cheeks and forehead) the skin colour error, the lightness spread over
  the skin relative to the photo's (blotches > 1), and that group's landmark error, rank-1 and
  faces found (a model may keep faces on average and lose the darkest faces' eyes).

Targets (the bundled model's): {CartoonTargets().describe()}.
"""


_FIDELITY_ROWS = (("colour error (CIEDE2000)", "colour_error", 0.0), ("dominant hue kept", "hue_kept", 1.0),
                  ("faces detected (dlib)", "faces_detected", 1.0), ("identity rank-1, people (dlib)", "identity_rank1", 1.0),
                  ("identity rank-1, own photo", "identity_rank1_photo", 1.0),
                  ("identity distance", "identity_distance", 0.0), ("landmark error / IOD", "landmark_error", 0.0),
                  ("landmark error, worst group", "landmark_error_worst_group", 0.0),
                  ("identity rank-1, worst group", "identity_rank1_worst_group", 1.0),
                  ("skin colour error, worst group", "skin_error_worst", 0.0),
                  ("skin lightness spread, worst group", "skin_spread_ratio_worst", 1.0))


def _group_cell(g: dict) -> str:
    """One skin-tone group's figures: skin colour error, lightness spread, and its faces' features kept."""
    return f"{g['skin_error']:.1f} / {g['spread_ratio']:.2f}x / {g['landmark_error']:.3f} / {g['identity_rank1']:.2f}"


def evaluation_table(reports: dict, data) -> None:
    first = next(iter(reports.values()))
    table = Table(title=f"{len(data.photos)} photos" + (f", {len(data.clips)} clips" if data.clips else ""))
    table.add_column("figure")
    table.add_column("input", justify="right")
    for name in reports:
        table.add_column(name, justify="right")
    rows = []
    if first.judge:
        rows += [("P(cartoon)", "judge_p_cartoon", lambda r: r.judge["p_cartoon"]),
                 ("called cartoons", "judge_cartoon_share", lambda r: r.judge["cartoon_share"]),
                 ("KID to cartoons", "judge_kid_cartoons", lambda r: r.judge["kid_cartoons"]),
                 ("KID to photos", "judge_kid_photos", lambda r: r.judge["kid_photos"])]
        if "p_cartoon_scenes" in first.judge:
            rows += [("P(cartoon), photos with a face", "judge_p_cartoon_portraits",
                      lambda r: r.judge.get("p_cartoon_portraits", float("nan"))),
                     ("P(cartoon), photos without one", "judge_p_cartoon_scenes",
                      lambda r: r.judge.get("p_cartoon_scenes", float("nan")))]
    rows += [("faces kept", None, lambda r: r.face_share if r.face_share is not None else float("nan")),
             ("face lightness shift (L*)", None, lambda r: r.face_lightness_shift),
             ("edge F1", None, lambda r: r.edge_f1), ("colours / 1000 px", "colours_per_kpx", None),
             ("flatness", "flatness", None), ("saturation", "saturation", None), ("contrast", "contrast", None),
             ("checkerboard", "checkerboard", None)]
    inputs = first.to_dict()["input"]
    for label, key, get in rows:
        cells = [f"{inputs[key]:.3f}" if key else "1.000"]
        cells += [f"{(get(r) if get else r.output[key]):.3f}" for r in reports.values()]
        table.add_row(label, *cells)
    if first.cartoon_stats:
        table.add_row("(kit cartoons: colours / 1000 px, flatness)", f"{first.cartoon_stats['colours_per_kpx']:.3f}, "
                      f"{first.cartoon_stats['flatness']:.3f}", *("" for _ in reports))
    summaries = [r.fidelity.summary() if r.fidelity else {} for r in reports.values()]
    for label, key, identity in _FIDELITY_ROWS:
        if any(key in f for f in summaries):
            table.add_row(label, f"{identity:.3f}", *(f"{f[key]:.3f}" if key in f else "-" for f in summaries))
    groups = first.fidelity.skin_groups if first.fidelity else {}
    for group, figures in groups.items():
        cells = [_group_cell(r.fidelity.skin_groups[group]) if r.fidelity and group in r.fidelity.skin_groups else "-"
                 for r in reports.values()]
        table.add_row(f"skin {group} ({figures['count']}): error / spread / landmarks / rank-1", "0.0 / 1.00x / 0 / 1", *cells)
    if first.fidelity and first.fidelity.problem:
        table.add_row("(face fidelity not measured)", first.fidelity.problem, *("" for _ in reports))
    if any(r.face_mode for r in reports.values()):
        modes = [r.face_mode for r in reports.values()]
        table.add_row("face mode: faces stylized", "", *(f"{m.faces}" if m else "" for m in modes))
        table.add_row("face mode: seam across the mask's edge (x the whole frame's)", "",
                      *(f"{m.seam_face_mode:.2f} ({m.seam_ratio:.2f}x)" if m else "" for m in modes))
        table.add_row("face mode: P(cartoon) of the aligned crops", "",
                      *(f"{m.crop_p_cartoon:.3f}" if m and m.crop_p_cartoon is not None else "" for m in modes))
    for i, clip_name in enumerate(data.clips):
        clips = [r.clips[i] for r in reports.values()]
        table.add_row(f"flicker {clip_name}", f"{clips[0].input_error:.2f}",
                      *(f"{c.output_error:.2f} ({c.flicker_ratio:.2f}x)" for c in clips))
    lines = []
    for name, r in reports.items():
        met = r.targets_met()
        missed = [k for k, ok in met.items() if not ok]
        lines.append(f"{name}: {sum(met.values())}/{len(met)} targets met" + (f"; missed: {', '.join(missed)}" if missed else ""))
    table.caption = "\n".join(lines)
    Console(soft_wrap=True).print(table)


def judge_validation(validation: dict, out: Path) -> None:
    console.print(f"held-out photos called photos: {validation['held_out_photo_accuracy']:.3f} "
                  f"({validation['held_out_photos']}); held-out cartoons called cartoons: "
                  f"{validation['held_out_cartoon_accuracy']:.3f} ({validation['held_out_cartoons']})")
    for family, figures in validation["leave_one_style_out"].items():
        console.print(f"  style never seen, {family}: {figures['accuracy']:.3f} of {figures['images']}")
    console.print(f"wrote {out}")


# ---- artify bench / info -------------------------------------------------------------------------------
def bench_table(records, title: str) -> None:
    table = Table(title=title)
    for column, justify in (("engine", "left"), ("precision", "left"), ("size", "left"), ("ms/frame", "right"),
                            ("frames/s", "right"), ("vs eager fp32", "right")):
        table.add_column(column, justify=justify)
    for r in records:
        if r.build:
            b = r.build
            table.add_row(r.engine, r.precision, r.size, "built, not run", "",
                          f"TensorRT-RTX {b['tensorrt_rtx']}: {b['engine_mb']} MB in {b['build_seconds']} s; graph vs "
                          f"eager fp32: max {b['parity_max_levels']}, p99.9 {b['parity_p99_9_levels']} levels")
        elif r.error:
            table.add_row(r.engine, r.precision, r.size, "[red]failed[/]", "", r.error[:60])
        else:
            speedup = f"{r.speedup_vs_eager_fp32:.2f}x" if r.speedup_vs_eager_fp32 else "-"
            table.add_row(r.engine, r.precision, r.size, f"{r.ms_per_frame:.1f}", f"{r.fps:.2f}", speedup)
    Console(soft_wrap=True).print(table)


def machine_table(report: dict) -> None:
    gpus = ", ".join(f"{g['name']} {g['memory_gib']} GiB" for g in report["cuda_gpus"]) or "none usable"
    rows = [
        ("CPU", f"{report['cpu']} ({report['cpu_threads']} threads, native bf16: {'yes' if report['cpu_bf16'] else 'no'})"),
        ("CUDA GPUs", gpus),
        ("torch", f"{report['torch']} (CUDA {report['torch_cuda'] or 'none'}), torchvision {report['torchvision']}"),
        ("torch-tensorrt", report["torch_tensorrt"] or "not installed"),
        ("TensorRT usable", "yes" if report["tensorrt_usable"] else f"no: {report['tensorrt_problem']}"),
        ("TensorRT-RTX", f"{report['tensorrt_rtx'] or 'not installed'}; builds engines here: "
                         f"{'yes' if report['tensorrt_rtx'] else 'no'}; runs them here: "
                         f"{'yes' if report['tensorrt_rtx_runs_here'] else 'no, ' + report['tensorrt_rtx_problem']}"),
        ("ONNX Runtime", f"{report['onnxruntime'] or 'not installed'}; providers: {', '.join(report['onnxruntime_providers'] or []) or '-'}"),
        ("PyAV / FFmpeg", f"{report['pyav']} / {report['ffmpeg']}; OpenCV {report['opencv']}"),
        ("video encoders", ", ".join(report["video_encoders"])),
        ("video decoders", f"{len(report['video_decoders'])} (artify info --json lists them)"),
        ("audio encoders", f"{len(report['audio_encoders'])}; decoders {len(report['audio_decoders'])}"),
    ]
    cache = report["engine_cache"]
    rows.append(("engine cache", f"{cache['path']}: {cache['entries']} entries, {cache['bytes'] / 1e6:.1f} MB"))
    for item in cache["items"]:
        built = f", built in {item['build_seconds']} s" if "build_seconds" in item else ""
        rows.append(("", f"{item['backend']} {item['precision']} {item['shapes']} ({item['bytes'] / 1e6:.1f} MB{built})"))
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in row))
    Console(soft_wrap=True).print(table)
