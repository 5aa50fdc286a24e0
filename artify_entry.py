"""The `artify` command's first module, kept tiny on purpose.

Until `cli.main` installs the clean-stop handlers, Ctrl-C must simply end the process. Setting
SIGINT to its default here, before the large `cli` module is even compiled, closes the window in
which a Ctrl-C landed in a half-done import and printed a traceback.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_DFL)


def main() -> None:
    from cli import main as run

    run()


if __name__ == "__main__":
    main()
