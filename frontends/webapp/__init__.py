"""`artify app`: a local web page (Gradio) for photos, clips, the webcam and a side-by-side comparison.

    config.py   AppConfig: where it listens, what it accepts (upload limits)
    shelf.py    which models the page offers (bundled + --models DIR), one engine each, one job at a time
    jobs.py     the work behind each button, free of Gradio (tested directly)
    page.py     the Gradio page and its API names; `serve` starts it

Only `page.py` imports Gradio, so the rest is usable (and testable) without the `app` extra.
"""
