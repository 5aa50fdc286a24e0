"""Front ends: the programs people run, above the runtime.

    cli.py (top level)  the `artify` command: parses options, prints reports
    engine_for.py       a resolved model reference -> an engine (the only code that builds engines)
    render.py           any report as a Rich table or JSON
    webapp/             `artify app`: the local Gradio page
    cluster/            `artify stylize --ray`: the Ray driver and its actors

The runtime (`artify_stream`) never imports this package or `engines`.
"""
