"""`artify app`: a local web page (Gradio) for photos, clips, the webcam and a side-by-side comparison.

    config.py   AppConfig: where it listens, what it accepts (upload limits)
    shelf.py    which models the page offers (bundled + --models DIR), one engine each, one job at a time
    jobs.py     the work behind each button, free of Gradio (tested directly)
    page.py     the Gradio page and its API names; `serve` starts it

Only `page.py` imports Gradio, so the rest is usable (and testable) without the `app` extra.
"""


def run_app(config, engine_choice, say=lambda line: None) -> None:
    """`artify app`: check the extra and the models folder, then serve the page until Ctrl-C."""
    from artify_stream.errors import ArtifyError
    from frontends.webapp.shelf import ModelShelf, check_models_dir

    try:
        import gradio  # noqa: F401
    except ImportError:
        raise ArtifyError("`artify app` needs Gradio: pip install 'artify-stream[app]'") from None
    check_models_dir(config.models_dir)
    shelf = ModelShelf(config.models_dir, engine_choice)
    from frontends.webapp.page import serve

    say(f"models: {', '.join(shelf.names)}")
    say(f"open http://{config.host}:{config.port} (Ctrl-C stops it)")
    serve(config, shelf)
