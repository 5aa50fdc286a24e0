"""The Gradio page: four tabs over `jobs`, its API names, and `serve`.

API (also for `gradio_client`): /stylize_image (photo, model, size, faces) -> ((before, after),
cartoon PNG, engine line) and /stylize_video (clip, model, size, faces) -> (cartoon clip, summary);
`faces` (default off) is face mode, as `artify stylize --faces`. Every event shares one queue
slot ("engine"), so one engine is never run by two requests at once; uploads reach the functions
unprocessed (`preprocess=False`) so that a bad file gets our message, not a Gradio traceback.
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path

from artify_stream.errors import ArtifyError
from frontends.webapp import jobs
from frontends.webapp.config import AppConfig
from frontends.webapp.shelf import ModelShelf

log = logging.getLogger(__name__)

ENGINE_QUEUE = "engine"
TITLE = "artify-stream"
# System fonts only: the machine may be offline, and a font from the web would stall the page.
FONTS = ("ui-sans-serif", "system-ui", "sans-serif")
MONO_FONTS = ("ui-monospace", "monospace")


def _upload_path(payload) -> str | None:
    """The stored upload's path from Gradio's unprocessed file payload (a dict, or a path from the API)."""
    if payload is None:
        return None
    if isinstance(payload, (str, Path)):
        return str(payload)
    return payload.get("path")  # Gradio stores an upload under the user's file name, which messages show


def build_page(config: AppConfig, shelf: ModelShelf, folders: jobs.JobFolders):
    import gradio as gr

    def shown(fn):
        """A job's own errors become a message in the page (gr.Error), the app goes on."""
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except ArtifyError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
        run.__name__ = fn.__name__
        return run

    @shown
    def stylize_image(photo, model: str, size: int, faces: bool = False):
        result = jobs.stylize_photo(shelf, model, _upload_path(photo), int(size), config, folders, bool(faces))
        return (result.before, result.after), str(result.file), f"{result.engine_line}; {1000 * result.seconds:.0f} ms"

    @shown
    def stylize_video(clip, model: str, size: int, faces: bool = False, progress=gr.Progress()):
        def update(done: int, total: int | None) -> None:
            progress((done, total) if total else done, desc="frames", unit="frames")

        result = jobs.stylize_clip(shelf, model, _upload_path(clip), int(size), config, folders, update, bool(faces))
        return str(result.file), result.summary()

    @shown
    def compare(photo, size: int):
        rows = jobs.compare_photo(shelf, _upload_path(photo), int(size), config)
        gallery = [(row.image, f"{row.name}: P(cartoon) {row.figures['p_cartoon']:.2f}") for row in rows]
        table = [[row.name, *row.figures.values()] for row in rows]
        return gallery, table

    webcam = jobs.WebcamStylizer(shelf)
    models = gr.Dropdown(choices=[(shelf.label(n), n) for n in shelf.names], value=shelf.default, label="Model")
    sizes = gr.Dropdown(choices=list(config.output_sizes), value=config.default_size, label="Output long side (px)")
    faces_problem = shelf.faces_problem
    faces = gr.Checkbox(value=False, label="Face mode", elem_id="faces", interactive=faces_problem is None,
                        info=faces_problem or "each face aligned, stylized at 256 px and put back (tracked in clips "
                                              "and on the webcam)")
    engine_kw = dict(concurrency_id=ENGINE_QUEUE, concurrency_limit=1)

    with gr.Blocks(title=TITLE, delete_cache=(300, 600), analytics_enabled=False) as page:
        gr.Markdown(f"# {TITLE}\nCartoonize a photo, a clip or your webcam. Runs on this machine; nothing leaves it.")
        with gr.Row():
            models.render()
            sizes.render()
            faces.render()
        with gr.Tab("Photo"):
            with gr.Row():
                photo_in = gr.Image(type="filepath", sources=["upload", "clipboard", "webcam"], label="Photo",
                                    elem_id="photo-in")
                photo_view = gr.ImageSlider(label="Before / after", elem_id="photo-out", interactive=False)
            photo_button = gr.Button("Cartoonize", variant="primary", elem_id="photo-go")
            with gr.Row():
                photo_file = gr.File(label="Download", elem_id="photo-file", interactive=False)
                photo_engine = gr.Textbox(label="Engine", elem_id="photo-engine", interactive=False)
        with gr.Tab("Clip"):
            with gr.Row():
                clip_in = gr.Video(sources=["upload"], label="Clip", elem_id="clip-in")
                clip_out = gr.Video(label="Cartoon", elem_id="clip-out", interactive=False)
            clip_button = gr.Button("Cartoonize clip", variant="primary", elem_id="clip-go")
            clip_summary = gr.Textbox(label="Result", elem_id="clip-summary", interactive=False)
        with gr.Tab("Webcam"):
            with gr.Row():
                cam_in = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Camera", elem_id="cam-in")
                cam_out = gr.Image(label="Cartoon", elem_id="cam-out", interactive=False, streaming=True)
            cam_stats = gr.Textbox(label="Speed", elem_id="cam-stats", interactive=False)
        with gr.Tab("Compare"):
            compare_in = gr.Image(type="filepath", sources=["upload", "clipboard"], label="Photo", elem_id="compare-in")
            compare_button = gr.Button("Compare every model", elem_id="compare-go")
            compare_gallery = gr.Gallery(label="Outputs", columns=3, elem_id="compare-out")
            compare_table = gr.Dataframe(headers=["name", "P(cartoon)", "edge F1", "flatness", "colours / kpx"],
                                         label="Figures (as `artify evaluate` measures them, on this one photo)")

        photo_button.click(stylize_image, [photo_in, models, sizes, faces], [photo_view, photo_file, photo_engine],
                           preprocess=False, api_name="stylize_image", **engine_kw)
        clip_button.click(stylize_video, [clip_in, models, sizes, faces], [clip_out, clip_summary], preprocess=False,
                          api_name="stylize_video", **engine_kw)
        cam_in.stream(webcam, [cam_in, models, sizes, faces], [cam_out, cam_stats], stream_every=config.webcam_every_s,
                      time_limit=600, api_visibility="private", **engine_kw)
        compare_button.click(compare, [compare_in, sizes], [compare_gallery, compare_table], preprocess=False,
                             api_visibility="private", **engine_kw)
    return page


def serve(config: AppConfig, shelf: ModelShelf, block: bool = True):
    """Start the page on config.host:config.port (never a share link); returns the Gradio app."""
    folders = jobs.JobFolders(config.recent_jobs)
    atexit.register(folders.close)
    # Gradio's own copies of uploads and results go under our folder too, so one removal clears all.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(folders.root / "gradio"))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    page = build_page(config, shelf, folders)
    page.queue(max_size=64)
    theme = gr.themes.Soft(font=list(FONTS), font_mono=list(MONO_FONTS))
    page.launch(server_name=config.host, server_port=config.port, share=False, max_file_size=config.max_upload_bytes,
                allowed_paths=[str(folders.root)], prevent_thread_lock=not block, quiet=False, theme=theme,
                show_error=True, ssr_mode=False, footer_links=["api"])
    page.artify_folders = folders
    page.artify_shelf = shelf
    return page
